// kmeans.cpp: the classical suite's k-means (algorithms/cluster/kmeans.h), registered as `kmeans`.
//
//   cake run kmeans --data fashion-mnist:test --set n_clusters=10 n_init=10 algorithm=elkan
//
// Parameters carry scikit-learn's names and defaults (sklearn.cluster.KMeans, 1.2), read from
// cake::cluster::KMeansOptions (tools/library_defaults.h). The run
// leaves labels.npy, centroids.npy, the inertia (sum of squared distances to the nearest
// centre, Lloyd 1982) in metrics.json, and the usual scores and figures when labels are known.
// Under `mpirun -np P cake run kmeans ...` the P ranks share the rows (distributed/kmeans.h).
// With `--device cuda` the seeds are drawn on the CPU as usual and Lloyd's steps run on the GPU
// in tensor operations (algorithms/detail/device_steps.h; docs/cuda.md); `algorithm=elkan`
// prunes distances on the CPU only, so the GPU always takes Lloyd's steps (same fixed point).
#include <algorithm>
#include <string>

#include "cake/algorithms/cluster/kmeans.h"
#include "cake/algorithms/detail/device_steps.h"
#include "cake/data/npy.h"
#include "cake/distributed/kmeans.h"
#include "tools/algorithms/sample_count.h"
#include "tools/errors.h"
#include "tools/library_defaults.h"
#include "tools/registry.h"

namespace cake::cli::kmeans_command {
namespace {

void run_kmeans(RunContext& ctx) {
  const bool on_device = ctx.data.is_cuda();
  const Tensor x = on_device ? ctx.data : ctx.data.cpu();
  const std::int64_t k = count_up_to_samples(ctx, "kmeans", "n_clusters");
  cluster::KMeans model({.n_clusters = k,
                         .init = ctx.params.get_string("init"),
                         .n_init = ctx.params.get_int("n_init"),
                         .max_iter = ctx.params.get_int("max_iter"),
                         .tol = ctx.params.get_float("tol"),
                         .algorithm = ctx.params.get_string("algorithm")});
  ctx.progress->message("kmeans: " + std::to_string(model.options().n_init) + " runs of " +
                        model.options().algorithm + " from " + model.options().init);
  ctx.progress->start("kmeans", 1);
  Tensor labels, centers;
  double inertia = 0.0;
  std::int64_t n_iter = 0;
  distributed::ProcessGroup& group = distributed::default_group();
  if (on_device) {
    if (group.world_size() != 1) throw UsageError("kmeans: --device cuda under mpirun is not supported; use --device cpu");
    const algorithms::detail::LloydFit fit = algorithms::detail::lloyd_kmeans_from_seeds(x, model.options());
    labels = fit.labels;
    centers = fit.centers;
    inertia = fit.inertia;
    n_iter = fit.n_iter;
  } else if (group.world_size() == 1) {
    labels = model.fit_predict(x);
    centers = model.cluster_centers();
    inertia = model.inertia();
    n_iter = model.n_iter();
  } else {
    // Under mpirun: each rank clusters its own rows (distributed/kmeans.h), the same draws
    // from the same --seed on every rank; the labels are gathered back in row order.
    const distributed::KMeansResult fit = distributed::fit_kmeans(group, ctx.local_rows(group).x, model.options());
    labels = group.all_gather(fit.labels);
    centers = fit.centers;
    inertia = fit.inertia;
    n_iter = fit.n_iter;
  }
  ctx.progress->update(1, {{"inertia", inertia}});
  ctx.progress->finish();

  ctx.metrics["inertia"] = inertia;
  ctx.metrics["n_iter"] = n_iter;
  ctx.log({{"inertia", inertia}, {"n_iter", n_iter}});
  ctx.save_labels(labels);
  data::write_npy(ctx.path("centroids.npy"), centers);
  if (ctx.image_shape) ctx.save_image_grid("centroids.png", centers, std::min<std::int64_t>(k, 10));
}

using O = cluster::KMeansOptions;

}  // namespace

CAKE_REGISTER_ALGORITHM({
    .name = "kmeans",
    .summary = "k-means clustering: k-means++ seeding, n_init restarts, Lloyd or Elkan steps",
    .reference = "Lloyd 1982; Arthur & Vassilvitskii 2007 (k-means++); Elkan 2003 (triangle-inequality steps)",
    .params = {{"n_clusters", ParamType::Int, library_default(&O::n_clusters), "number of clusters k"},
               {"init", ParamType::String, library_default(&O::init), "initialisation", {"k-means++", "random"}},
               {"n_init", ParamType::Int, library_default(&O::n_init), "independent starts; the lowest inertia wins"},
               {"max_iter", ParamType::Int, library_default(&O::max_iter), "most Lloyd/Elkan iterations per start"},
               {"tol", ParamType::Float, library_default(&O::tol),
                "stop when the squared centre shift falls below tol x mean variance"},
               {"algorithm", ParamType::String, library_default(&O::algorithm),
                "assignment step (same result, Elkan prunes distances)", {"lloyd", "elkan"}}},
    .run = run_kmeans,
    .multi_rank = MultiRank::Sharded,
});

}  // namespace cake::cli::kmeans_command
