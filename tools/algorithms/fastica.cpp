// fastica.cpp: `cake run fastica`, independent component analysis by FastICA
// (algorithms/decomposition/fastica.h). The estimated sources are saved as the embedding; the unmixing
// filters are shown as images for image data.
#include "cake/algorithms/decomposition/fastica.h"
#include "tools/algorithms/component_images.h"
#include "tools/library_defaults.h"
#include "tools/registry.h"

namespace cake::cli::fastica_command {
namespace {

void run_fastica(RunContext& ctx) {
  using namespace cake::decomposition;
  FastICA model({.n_components = ctx.params.get_int("n_components"),
                 .algorithm = parse_ica_algorithm(ctx.params.get_string("algorithm")),
                 .whiten = parse_ica_whiten(ctx.params.get_string("whiten")),
                 .fun = parse_ica_function(ctx.params.get_string("fun")),
                 .fun_alpha = ctx.params.get_float("fun_alpha"),
                 .max_iter = ctx.params.get_int("max_iter"),
                 .tol = ctx.params.get_float("tol"),
                 .whiten_solver = parse_whiten_solver(ctx.params.get_string("whiten_solver")),
                 .random_state = ctx.seed});
  ctx.progress->start("fastica", 1);
  const Tensor sources = model.fit_transform(ctx.data.cpu());
  ctx.progress->update(1);
  ctx.progress->finish();
  ctx.metrics["n_iter"] = model.n_iter();
  ctx.metrics["converged"] = model.n_iter() < ctx.params.get_int("max_iter");
  ctx.save_embedding(sources, "sources");
  save_component_images(ctx, "components.png", model.components());
}

const std::vector<std::string> kAlgorithms = {"parallel", "deflation"};
const std::vector<std::string> kWhitens = {"unit-variance", "arbitrary-variance", "false"};
const std::vector<std::string> kFunctions = {"logcosh", "exp", "cube"};
const std::vector<std::string> kWhitenSolvers = {"svd", "eigh"};
using O = decomposition::FastICAOptions;

}  // namespace

CAKE_REGISTER_ALGORITHM({
    .name = "fastica",
    .summary = "independent component analysis by FastICA (parallel or deflation; logcosh, exp or cube)",
    .reference = "Hyvärinen 1999, Fast and robust fixed-point algorithms for independent component analysis",
    .params = {{"n_components", ParamType::Int, library_default(&O::n_components),
                "sources to estimate (0: min(samples, features))"},
               {"algorithm", ParamType::String,
                library_choice(&O::algorithm, decomposition::parse_ica_algorithm, kAlgorithms),
                "all sources at once or one by one", kAlgorithms},
               {"whiten", ParamType::String, library_choice(&O::whiten, decomposition::parse_ica_whiten, kWhitens),
                "whitening and source scaling", kWhitens},
               {"fun", ParamType::String, library_choice(&O::fun, decomposition::parse_ica_function, kFunctions),
                "contrast function G", kFunctions},
               {"fun_alpha", ParamType::Float, library_default(&O::fun_alpha),
                "alpha of logcosh, in [1, 2] (scikit-learn's fun_args)"},
               {"max_iter", ParamType::Int, library_default(&O::max_iter), "most fixed-point iterations"},
               {"tol", ParamType::Float, library_default(&O::tol),
                "stop when no unmixing direction moves more than this"},
               {"whiten_solver", ParamType::String,
                library_choice(&O::whiten_solver, decomposition::parse_whiten_solver, kWhitenSolvers),
                "how the whitening is computed", kWhitenSolvers}},
    .run = run_fastica,
});

}  // namespace cake::cli::fastica_command
