// fastica.cpp: `cake run fastica`, independent component analysis by FastICA
// (algorithms/decomposition/fastica.h). The estimated sources are saved as the embedding; the unmixing
// filters are shown as images for image data.
#include "algorithms/decomposition/fastica.h"
#include "tools/algorithms/component_images.h"
#include "tools/registry.h"

namespace cake::cli {
namespace {

void run_fastica(RunContext& ctx) {
  using namespace cake::algorithms;
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

}  // namespace

CAKE_REGISTER_ALGORITHM({
    .name = "fastica",
    .summary = "independent component analysis by FastICA (parallel or deflation; logcosh, exp or cube)",
    .reference = "Hyvärinen 1999, Fast and robust fixed-point algorithms for independent component analysis",
    .params = {{"n_components", ParamType::Int, "0", "sources to estimate (0: min(samples, features))"},
               {"algorithm", ParamType::String, "parallel", "all sources at once or one by one",
                {"parallel", "deflation"}},
               {"whiten", ParamType::String, "unit-variance", "whitening and source scaling",
                {"unit-variance", "arbitrary-variance", "false"}},
               {"fun", ParamType::String, "logcosh", "contrast function G", {"logcosh", "exp", "cube"}},
               {"fun_alpha", ParamType::Float, "1.0", "alpha of logcosh, in [1, 2] (scikit-learn's fun_args)"},
               {"max_iter", ParamType::Int, "200", "most fixed-point iterations"},
               {"tol", ParamType::Float, "1e-4", "stop when no unmixing direction moves more than this"},
               {"whiten_solver", ParamType::String, "svd", "how the whitening is computed", {"svd", "eigh"}}},
    .run = run_fastica,
});

}  // namespace cake::cli
