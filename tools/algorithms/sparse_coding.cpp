// sparse_coding.cpp: `cake run sparse-coding`, dictionary learning with sparse codes
// (algorithms/decomposition/dictionary_learning.h): learns the atoms by lasso coding and block coordinate
// descent, then encodes the data with the transform_* coder. The codes are saved as the
// embedding; the atoms are shown as images for image data.
#include "cake/algorithms/decomposition/dictionary_learning.h"
#include "tools/algorithms/component_images.h"
#include "tools/library_defaults.h"
#include "tools/registry.h"

namespace cake::cli::sparse_coding_command {
namespace {

void run_sparse_coding(RunContext& ctx) {
  using namespace cake::decomposition;
  const std::int64_t nonzero = ctx.params.get_int("transform_n_nonzero_coefs");
  const double transform_alpha = ctx.params.get_float("transform_alpha");
  DictionaryLearning model({
      .n_components = ctx.params.get_int("n_components"),
      .alpha = ctx.params.get_float("alpha"),
      .max_iter = ctx.params.get_int("max_iter"),
      .tol = ctx.params.get_float("tol"),
      .transform_algorithm = parse_sparse_coding_algorithm(ctx.params.get_string("transform_algorithm")),
      .transform_n_nonzero_coefs = nonzero > 0 ? std::optional<std::int64_t>(nonzero) : std::nullopt,
      .transform_alpha = transform_alpha >= 0 ? std::optional<double>(transform_alpha) : std::nullopt,
      .split_sign = ctx.params.get_bool("split_sign"),
      .random_state = ctx.seed,
      .positive_code = ctx.params.get_bool("positive_code"),
      .positive_dict = ctx.params.get_bool("positive_dict"),
  });
  ctx.progress->start("dictionary learning", 1);
  const Tensor code = model.fit_transform(ctx.data.cpu());
  ctx.progress->update(1, {{"cost", model.error().empty() ? 0.0 : model.error().back()}});
  ctx.progress->finish();
  ctx.metrics["n_iter"] = model.n_iter();
  ctx.metrics["cost"] = model.error().back();
  const Tensor nonzero_codes = (code != 0.0).to(kFloat64).sum({1}).mean();
  ctx.metrics["mean_nonzero_coefs"] = nonzero_codes.item<double>();
  ctx.save_embedding(code, "code");
  ctx.save_curve("cost.png", "dictionary learning cost per iteration", {{"cost", model.error()}});
  save_component_images(ctx, "atoms.png", model.components());
}

const std::vector<std::string> kCoders = {"omp", "lasso_cd", "threshold"};
using O = decomposition::DictionaryLearningOptions;

}  // namespace

CAKE_REGISTER_ALGORITHM({
    .name = "sparse-coding",
    .summary = "dictionary learning and sparse coding (lasso CD while learning; OMP, lasso CD or threshold codes)",
    .reference = "Olshausen & Field 1997; Mairal, Bach, Ponce & Sapiro 2009; Rubinstein et al. 2008 (Batch-OMP)",
    // n_components and max_iter are the command line's own (32 atoms to look at, a short run);
    // the library's are 0 (as many atoms as features) and 1000.
    .params = {{"n_components", ParamType::Int, "32", "dictionary atoms (0: as many as features)"},
               {"alpha", ParamType::Float, library_default(&O::alpha), "lasso weight while learning"},
               {"max_iter", ParamType::Int, "100", "most learning iterations"},
               {"tol", ParamType::Float, library_default(&O::tol),
                "stop when the cost drops by less than this fraction"},
               {"fit_algorithm", ParamType::String, "cd", "coder while learning (lasso by coordinate descent)",
                {"cd"}},
               {"transform_algorithm", ParamType::String,
                library_choice(&O::transform_algorithm, decomposition::parse_sparse_coding_algorithm, kCoders),
                "coder of the output codes", kCoders},
               {"transform_n_nonzero_coefs", ParamType::Int, library_default(&O::transform_n_nonzero_coefs, "0"),
                "OMP atoms per sample (0: features / 10)"},
               {"transform_alpha", ParamType::Float, library_default(&O::transform_alpha, "-1"),
                "lasso / threshold weight of the codes (< 0: alpha)"},
               {"split_sign", ParamType::Bool, library_default(&O::split_sign), "codes as [max(c, 0), max(-c, 0)]"},
               {"positive_code", ParamType::Bool, library_default(&O::positive_code),
                "non-negative codes (lasso_cd, threshold)"},
               {"positive_dict", ParamType::Bool, library_default(&O::positive_dict), "non-negative atoms"}},
    .run = run_sparse_coding,
});

}  // namespace cake::cli::sparse_coding_command
