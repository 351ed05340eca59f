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
#include <vector>

#include "cake/algorithms/cluster/kmeans.h"
#include "cake/algorithms/cluster/kmeans_steps.h"
#include "cake/algorithms/detail/device_steps.h"
#include "cake/autograd/ops.h"
#include "cake/tensor/creation.h"
#include "cake/data/npy.h"
#include "cake/distributed/kmeans.h"
#include "tools/errors.h"
#include "tools/library_defaults.h"
#include "tools/registry.h"

namespace cake::cli {
namespace {

struct DeviceFit {
  Tensor labels, centers;
  double inertia = 0.0;
  std::int64_t n_iter = 0;
};

// --device cuda: each of the n_init starts draws its seeds on the CPU (k-means++ or random, the
// same routines as KMeans), then iterates Lloyd's two steps on the device: the assignment is one
// GEMM plus a min, the update an index_add and a bincount. The stopping rule is KMeans's: no
// label changed, or the summed squared centre shift fell to tol x the mean feature variance.
// Unlike KMeans, an empty cluster keeps its centre instead of taking the farthest point.
DeviceFit fit_on_device(const Tensor& x_device, const cluster::KMeansOptions& options) {
  const Tensor host = x_device.to(kCPU, kFloat32).contiguous();
  const cluster::kmeans::Dataset<float> data(host.data_ptr<float>(), host.size(0), host.size(1));
  const double tol = cluster::kmeans::absolute_tolerance(data, options.tol);
  const Tensor x = x_device.to(kFloat32);
  DeviceFit best;
  for (std::int64_t start = 0; start < options.n_init; ++start) {
    const std::vector<float> seeds = options.init == "random"
                                         ? cluster::kmeans::init_random(data, options.n_clusters)
                                         : cluster::kmeans::init_kmeans_plus_plus(data, options.n_clusters);
    Tensor centres = tensor(seeds, {options.n_clusters, data.d}).to(x.device());
    Tensor labels;
    algorithms::detail::NearestCentres nearest;
    std::int64_t iterations = 0;
    for (std::int64_t t = 1; t <= options.max_iter; ++t) {
      iterations = t;
      nearest = algorithms::detail::nearest_centres(x, centres);
      const bool unchanged = labels.defined() && equal(nearest.labels, labels);
      labels = nearest.labels;
      if (unchanged) break;
      const Tensor moved = algorithms::detail::centre_means(x, labels, centres);
      const double shift = ((moved - centres) * (moved - centres)).sum().item<double>();
      centres = moved;
      if (shift <= tol) {
        nearest = algorithms::detail::nearest_centres(x, centres);  // the labels of the final centres
        labels = nearest.labels;
        break;
      }
    }
    const double inertia = nearest.sq_distances.to(kFloat64).sum().item<double>();
    if (start == 0 || inertia < best.inertia) best = {labels.cpu(), centres.cpu(), inertia, iterations};
  }
  return best;
}

void run_kmeans(RunContext& ctx) {
  const bool on_device = ctx.data.is_cuda();
  const Tensor x = on_device ? ctx.data : ctx.data.cpu();
  const std::int64_t k = ctx.params.get_int("n_clusters");
  if (k < 1 || k > x.size(0))
    throw UsageError("kmeans: n_clusters must be between 1 and the number of samples (" + std::to_string(x.size(0)) +
                     "), got " + std::to_string(k));
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
    const DeviceFit fit = fit_on_device(x, model.options());
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
    const distributed::Shard shard = distributed::shard_rows(x.size(0), group.rank(), group.world_size());
    const distributed::KMeansResult fit =
        distributed::fit_kmeans(group, x.narrow(0, shard.begin, shard.size()), model.options());
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
});

}  // namespace cake::cli
