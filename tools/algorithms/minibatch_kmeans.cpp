// minibatch_kmeans.cpp: mini-batch k-means (algorithms/cluster/minibatch_kmeans.h), registered as
// `minibatch-kmeans`.
//
//   cake run minibatch-kmeans --data fashion-mnist:train --set n_clusters=10 batch_size=1024
//
// Parameters carry scikit-learn's names and defaults (sklearn.cluster.MiniBatchKMeans, 1.2;
// Sculley 2010). The run leaves labels.npy, centroids.npy and the inertia of the whole data.
#include <algorithm>
#include <string>

#include "cake/algorithms/cluster/minibatch_kmeans.h"
#include "cake/data/npy.h"
#include "tools/algorithms/sample_count.h"
#include "tools/errors.h"
#include "tools/library_defaults.h"
#include "tools/registry.h"

namespace cake::cli::minibatch_kmeans_command {
namespace {

void run_minibatch_kmeans(RunContext& ctx) {
  const Tensor x = ctx.data.cpu();
  const std::int64_t k = count_up_to_samples(ctx, "minibatch-kmeans", "n_clusters");
  cluster::MiniBatchKMeans model({.n_clusters = k,
                                  .init = ctx.params.get_string("init"),
                                  .max_iter = ctx.params.get_int("max_iter"),
                                  .batch_size = ctx.params.get_int("batch_size"),
                                  .tol = ctx.params.get_float("tol"),
                                  .max_no_improvement = ctx.params.get_int("max_no_improvement"),
                                  .init_size = ctx.params.get_int("init_size"),
                                  .n_init = ctx.params.get_int("n_init"),
                                  .reassignment_ratio = ctx.params.get_float("reassignment_ratio")});
  ctx.progress->start("minibatch-kmeans", 1);
  const Tensor labels = model.fit_predict(x);
  ctx.progress->update(1, {{"inertia", model.inertia()}});
  ctx.progress->finish();

  ctx.metrics["inertia"] = model.inertia();
  ctx.metrics["n_iter"] = model.n_iter();
  ctx.metrics["n_steps"] = model.n_steps();
  ctx.log({{"inertia", model.inertia()}, {"n_iter", model.n_iter()}, {"n_steps", model.n_steps()}});
  ctx.save_labels(labels);
  data::write_npy(ctx.path("centroids.npy"), model.cluster_centers());
  if (ctx.image_shape) ctx.save_image_grid("centroids.png", model.cluster_centers(), std::min<std::int64_t>(k, 10));
}

using O = cluster::MiniBatchKMeansOptions;

}  // namespace

CAKE_REGISTER_ALGORITHM({
    .name = "minibatch-kmeans",
    .summary = "mini-batch k-means: k-means++ seeding, per-centre learning rates, low-count reassignment",
    .reference = "Sculley 2010, Web-scale k-means clustering",
    .params = {{"n_clusters", ParamType::Int, library_default(&O::n_clusters), "number of clusters k"},
               {"init", ParamType::String, library_default(&O::init), "initialisation", {"k-means++", "random"}},
               {"max_iter", ParamType::Int, library_default(&O::max_iter), "most passes over the data"},
               {"batch_size", ParamType::Int, library_default(&O::batch_size), "samples per mini-batch"},
               {"tol", ParamType::Float, library_default(&O::tol), "stop on a small centre shift of one batch (relative to variance); 0: off"},
               {"max_no_improvement", ParamType::Int, library_default(&O::max_no_improvement), "stop after this many batches without a better smoothed inertia; 0: off"},
               {"init_size", ParamType::Int, library_default(&O::init_size), "samples the initialisation sees; -1: 3 x batch_size"},
               {"n_init", ParamType::Int, library_default(&O::n_init), "initialisations tried; the best on a held-out sample wins"},
               {"reassignment_ratio", ParamType::Float, library_default(&O::reassignment_ratio), "centres with fewer than this fraction of the largest count are moved"}},
    .run = run_minibatch_kmeans,
});

}  // namespace cake::cli::minibatch_kmeans_command
