// nmf.cpp: `cake run nmf`, non-negative matrix factorisation X ~ W H (algorithms/decomposition/nmf.h). W is
// saved as the embedding; the parts H are shown as images for image data.
#include "cake/algorithms/decomposition/nmf.h"
#include "tools/algorithms/component_images.h"
#include "tools/library_defaults.h"
#include "tools/registry.h"

namespace cake::cli::nmf_command {
namespace {

void run_nmf(RunContext& ctx) {
  using namespace cake::decomposition;
  const double alpha_h = ctx.params.get_float("alpha_H");
  NMF model({.n_components = ctx.params.get_int("n_components"),
             .init = parse_nmf_init(ctx.params.get_string("init")),
             .solver = parse_nmf_solver(ctx.params.get_string("solver")),
             .tol = ctx.params.get_float("tol"),
             .max_iter = ctx.params.get_int("max_iter"),
             .random_state = ctx.seed,
             .alpha_W = ctx.params.get_float("alpha_W"),
             .alpha_H = alpha_h < 0 ? std::nullopt : std::optional<double>(alpha_h),
             .l1_ratio = ctx.params.get_float("l1_ratio")});
  ctx.progress->start("nmf", 1);
  const Tensor w = model.fit_transform(ctx.data.cpu());
  ctx.progress->update(1, {{"reconstruction_err", model.reconstruction_err()}});
  ctx.progress->finish();
  ctx.metrics["reconstruction_err"] = model.reconstruction_err();
  ctx.metrics["n_iter"] = model.n_iter();
  ctx.metrics["n_components"] = model.n_components();
  ctx.save_embedding(w);
  save_component_images(ctx, "components.png", model.components());
}

const std::vector<std::string> kInits = {"auto", "nndsvd", "nndsvda", "nndsvdar", "random"};
const std::vector<std::string> kSolvers = {"cd", "mu"};
using O = decomposition::NMFOptions;

}  // namespace

CAKE_REGISTER_ALGORITHM({
    .name = "nmf",
    .summary = "non-negative matrix factorisation X ~ W H (coordinate descent or multiplicative updates)",
    .reference = "Lee & Seung 2001; Cichocki & Phan 2009 (HALS / CD); Boutsidis & Gallopoulos 2008 (NNDSVD)",
    // n_components is the command line's own (10 parts to look at); the library's 0 keeps all features.
    .params = {{"n_components", ParamType::Int, "10", "rank of the factorisation (0: all features)"},
               {"init", ParamType::String, library_choice(&O::init, decomposition::parse_nmf_init, kInits),
                "initial W, H", kInits},
               {"solver", ParamType::String, library_choice(&O::solver, decomposition::parse_nmf_solver, kSolvers),
                "cd: coordinate descent; mu: multiplicative updates", kSolvers},
               {"max_iter", ParamType::Int, library_default(&O::max_iter), "most iterations"},
               {"tol", ParamType::Float, library_default(&O::tol), "stopping tolerance (relative)"},
               {"alpha_W", ParamType::Float, library_default(&O::alpha_W), "penalty weight on W"},
               {"alpha_H", ParamType::Float, library_default(&O::alpha_H, "-1"),
                "penalty weight on H (< 0: the same as alpha_W)"},
               {"l1_ratio", ParamType::Float, library_default(&O::l1_ratio), "l1 share of the penalty (0: ridge, 1: lasso)"}},
    .run = run_nmf,
});

}  // namespace cake::cli::nmf_command
