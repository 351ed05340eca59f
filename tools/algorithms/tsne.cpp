// tsne.cpp: t-distributed stochastic neighbour embedding (algorithms/manifold/tsne.h), registered as
// `tsne`.
//
//   cake run tsne --data fashion-mnist:test --set perplexity=30 method=barnes_hut angle=0.5
//   cake run tsne --data fashion-mnist:train --set method=fft      # FIt-SNE, for large N
//
// Parameters carry scikit-learn's names and defaults (sklearn.manifold.TSNE, 1.2; van der
// Maaten & Hinton 2008; Barnes-Hut gradients after van der Maaten 2014; method=fft, not in
// scikit-learn, is FIt-SNE's interpolation gradient after Linderman et al. 2019, with its
// parameter names and defaults). The embedding goes to
// embedding.npy (and embedding.png coloured by class); metrics.json gets the final KL(P || Q)
// and the trustworthiness T(5) of the embedding (Venna & Kaski 2001).
// With `--device cuda`, method=exact computes its O(N^2) gradient on the GPU each step
// (TSNEOptions::device); barnes_hut and fft have no CUDA path and run on the CPU, with a warning.
#include <iostream>
#include <string>

#include "cake/algorithms/metrics/metrics.h"
#include "cake/algorithms/manifold/tsne.h"
#include "tools/errors.h"
#include "tools/library_defaults.h"
#include "tools/registry.h"

namespace cake::cli::tsne_command {
namespace {

// Trustworthiness needs all N^2 distances in the input space (computed a block at a time);
// beyond this many samples it would take longer than the embedding itself.
constexpr std::int64_t kTrustworthinessMaxSamples = 20000;
constexpr std::int64_t kTrustworthinessNeighbors = 5;  // sklearn.manifold.trustworthiness's default

// "auto" (scikit-learn's max(N / early_exaggeration / 4, 50)) or a number.
double parse_learning_rate(const std::string& text) {
  if (text == "auto") return -1.0;
  std::size_t used = 0;
  double rate = 0.0;
  try {
    rate = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || !(rate > 0.0))
    throw UsageError("tsne: learning_rate must be \"auto\" or a positive number, got \"" + text + "\"");
  return rate;
}

void run_tsne(RunContext& ctx) {
  const Tensor x = ctx.data.cpu();
  const std::string& method = ctx.params.get_string("method");
  if (ctx.data.is_cuda() && method != "exact")
    std::cerr << "cake: warning: tsne method=" << method << " has no CUDA path (its tree or grid is CPU code); it runs "
              << "on the CPU (method=exact computes its gradient on the GPU)\n";
  manifold::TSNE model({.n_components = ctx.params.get_int("n_components"),
                        .perplexity = ctx.params.get_float("perplexity"),
                        .early_exaggeration = ctx.params.get_float("early_exaggeration"),
                        .learning_rate = parse_learning_rate(ctx.params.get_string("learning_rate")),
                        .n_iter = ctx.params.get_int("n_iter"),
                        .n_iter_without_progress = ctx.params.get_int("n_iter_without_progress"),
                        .min_grad_norm = ctx.params.get_float("min_grad_norm"),
                        .metric = ctx.params.get_string("metric"),
                        .init = ctx.params.get_string("init"),
                        .method = ctx.params.get_string("method"),
                        .angle = ctx.params.get_float("angle"),
                        .n_interpolation_points = ctx.params.get_int("n_interpolation_points"),
                        .min_num_intervals = ctx.params.get_int("min_num_intervals"),
                        .intervals_per_integer = ctx.params.get_float("intervals_per_integer"),
                        .on_iteration = [&](std::int64_t iteration, std::int64_t) { ctx.progress->update(iteration); },
                        .device = method == "exact" ? ctx.data.device() : kCPU});
  ctx.progress->message("tsne: " + model.options().method + " on " + std::to_string(x.size(0)) + " samples");
  ctx.progress->start("iteration", model.options().n_iter);
  const Tensor embedding = model.fit_transform(x);
  ctx.progress->finish();

  const std::vector<double>& history = model.kl_history();
  for (std::size_t i = 0; i < history.size(); ++i)
    ctx.log({{"iteration", static_cast<std::int64_t>(50 * (i + 1))}, {"kl_divergence", history[i]}});
  ctx.metrics["kl_divergence"] = model.kl_divergence();
  ctx.metrics["n_iter"] = model.n_iter();
  ctx.metrics["learning_rate"] = model.learning_rate();
  if (x.size(0) <= kTrustworthinessMaxSamples && 2 * kTrustworthinessNeighbors < x.size(0)) {
    ctx.metrics["trustworthiness"] = metrics::trustworthiness(x, embedding, kTrustworthinessNeighbors);
  } else {
    ctx.progress->message("tsne: trustworthiness skipped (needs 10 < n_samples <= " +
                          std::to_string(kTrustworthinessMaxSamples) + ")");
  }
  ctx.save_embedding(embedding);
  ctx.save_curve("objective.png", "t-SNE KL divergence every 50 iterations (first 250 exaggerated)",
                 {{"KL divergence", history}}, "check (x50 iterations)");
}

using O = manifold::TSNEOptions;

// The library's learning_rate default as the command line spells it: a negative rate is "auto".
std::string tsne_learning_rate_default() {
  return O{}.learning_rate < 0 ? std::string("auto") : default_text(O{}.learning_rate);
}

}  // namespace

CAKE_REGISTER_ALGORITHM({
    .name = "tsne",
    .summary = "t-SNE embedding: exact, Barnes-Hut or FFT-interpolation gradients, perplexity-calibrated affinities",
    .reference = "van der Maaten & Hinton 2008 (t-SNE); van der Maaten 2014 (Barnes-Hut t-SNE); "
                 "Linderman et al. 2019 (FIt-SNE)",
    .params = {{"n_components", ParamType::Int, library_default(&O::n_components), "embedding dimension (1-3 for barnes_hut, 1-2 for fft)"},
               {"perplexity", ParamType::Float, library_default(&O::perplexity), "effective number of neighbours of each point"},
               {"early_exaggeration", ParamType::Float, library_default(&O::early_exaggeration), "P is multiplied by this for the first 250 iterations"},
               {"learning_rate", ParamType::String, tsne_learning_rate_default(), "gradient step; auto: max(N / early_exaggeration / 4, 50)"},
               {"n_iter", ParamType::Int, library_default(&O::n_iter), "total iterations"},
               {"n_iter_without_progress", ParamType::Int, library_default(&O::n_iter_without_progress), "stop after this many iterations without a lower KL"},
               {"min_grad_norm", ParamType::Float, library_default(&O::min_grad_norm), "stop when the gradient norm falls below this"},
               {"metric", ParamType::String, library_default(&O::metric), "input distance", {"euclidean", "sqeuclidean", "cosine"}},
               {"init", ParamType::String, library_default(&O::init), "initial embedding", {"pca", "random"}},
               {"method", ParamType::String, library_default(&O::method), "gradient computation", {"barnes_hut", "exact", "fft"}},
               {"angle", ParamType::Float, library_default(&O::angle), "Barnes-Hut opening angle theta (0: exact forces)"},
               {"n_interpolation_points", ParamType::Int, library_default(&O::n_interpolation_points), "fft: Lagrange nodes per interval and dimension"},
               {"min_num_intervals", ParamType::Int, library_default(&O::min_num_intervals), "fft: fewest grid intervals per dimension"},
               {"intervals_per_integer", ParamType::Float, library_default(&O::intervals_per_integer), "fft: intervals = max(min_num_intervals, extent / this)"}},
    .run = run_tsne,
});

}  // namespace cake::cli::tsne_command
