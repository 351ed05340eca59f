// lloyd_kmeans.cpp: the teaching k-means (algorithms/cluster/lloyd_kmeans.h), registered as
// `kmeans-lloyd`.
//
//   cake run kmeans-lloyd --data X.npy --set n_clusters=3
//
// The plain loop of the intro lecture (Lloyd 1982, "Least squares quantization in PCM"; MIT
// 6.390 lecture 12): random initial centres, then assign and update until no label changes.
// The classical suite's `kmeans` adds k-means++ seeding, restarts by default and Elkan's steps;
// this one stays the textbook algorithm, written in Cake tensor ops (so it runs on --device), so
// the whole command-line path has a small, readable algorithm to run. Each iteration goes to the
// progress bar and log.jsonl; the run leaves labels.npy, centroids.npy and objective.png.
#include <algorithm>
#include <string>

#include "cake/algorithms/cluster/lloyd_kmeans.h"
#include "cake/algorithms/detail/common.h"
#include "cake/data/npy.h"
#include "tools/algorithms/sample_count.h"
#include "tools/errors.h"
#include "tools/library_defaults.h"
#include "tools/registry.h"

namespace cake::cli::lloyd_kmeans_command {
namespace {

void run_lloyd_kmeans(RunContext& ctx) {
  const std::int64_t k = count_up_to_samples(ctx, "kmeans-lloyd", "n_clusters");
  const std::int64_t max_iter = ctx.params.get_int("max_iter");
  const std::int64_t n_init = ctx.params.get_int("n_init");
  const Tensor& x = ctx.data;  // [N, D] float32 on ctx.device
  if (max_iter < 1 || n_init < 1) throw UsageError("kmeans-lloyd: max_iter and n_init must be at least 1");
  // The classical suite's checks (finite, and small enough that the expanded squared distances
  // |x|^2 - 2 x.c + |c|^2 cannot overflow float32 nor lose every digit to cancellation).
  (void)algorithms::detail::data_matrix(x, "kmeans-lloyd", k);

  // No random_state: the centres come from cake's global generator, which the CLI seeded with --seed.
  cluster::LloydKMeans model({.n_clusters = k, .max_iter = max_iter, .n_init = n_init});
  const auto phase = [&](std::int64_t restart) {
    return n_init > 1 ? "restart " + std::to_string(restart + 1) + "/" + std::to_string(n_init) + ", iteration"
                      : std::string("iteration");
  };
  std::int64_t current_restart = -1;
  model.on_iteration = [&](const cluster::LloydIteration& it) {
    if (it.restart != current_restart) {
      if (current_restart >= 0) ctx.progress->finish();
      ctx.progress->start(phase(it.restart), max_iter);
      current_restart = it.restart;
    }
    ctx.log({{"restart", it.restart}, {"iteration", it.iteration}, {"inertia", it.inertia}, {"changed", it.changed}});
    ctx.progress->update(it.iteration, {{"inertia", it.inertia}, {"changed", static_cast<double>(it.changed)}});
  };
  model.fit(x);
  ctx.progress->finish();

  ctx.metrics["inertia"] = model.inertia();
  ctx.metrics["n_iter"] = model.n_iter();
  ctx.metrics["best_restart"] = model.best_restart();
  ctx.save_labels(model.labels());
  data::write_npy(ctx.path("centroids.npy"), model.cluster_centers());
  ctx.save_curve("objective.png", "k-means objective per iteration", {{"inertia", model.inertia_history()}}, "iteration");
  if (ctx.image_shape) ctx.save_image_grid("centroids.png", model.cluster_centers(), std::min<std::int64_t>(k, 10));
}

using O = cluster::LloydKMeansOptions;

}  // namespace

CAKE_REGISTER_ALGORITHM({
    .name = "kmeans-lloyd",
    .summary = "plain Lloyd k-means, the teaching version; the classical suite's kmeans has k-means++ and restarts",
    .reference = "Lloyd 1982, Least squares quantization in PCM (the loop of MIT 6.390 lecture 12)",
    .params = {{"n_clusters", ParamType::Int, library_default(&O::n_clusters), "number of clusters k"},
               {"max_iter", ParamType::Int, library_default(&O::max_iter),
                "most assignment/update rounds; stops earlier when labels stop changing"},
               {"n_init", ParamType::Int, library_default(&O::n_init),
                "independent random starts; the lowest inertia wins (1: the textbook loop)"}},
    .run = run_lloyd_kmeans,
});

}  // namespace cake::cli::lloyd_kmeans_command
