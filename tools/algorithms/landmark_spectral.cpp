// landmark_spectral.cpp: `cake run landmark-spectral`, spectral clustering through p landmarks
// after Chen & Cai 2011 (algorithms/cluster/landmark_spectral.h): no n x n affinity, so it runs
// on all 70,000 Fashion-MNIST images in seconds.
//
//   cake run landmark-spectral --data fashion-mnist:all --set n_clusters=10
//
// The run leaves labels.npy, the spectral embedding (embedding.npy, the rows of B), the
// landmarks (landmarks.npy, and landmarks.png for image data), the singular values and the
// kernel width h in metrics.json, and the usual scores and figures when labels are known.
#include <algorithm>

#include "cake/algorithms/cluster/landmark_spectral.h"
#include "cake/data/npy.h"
#include "tools/algorithms/sample_count.h"
#include "tools/errors.h"
#include "tools/library_defaults.h"
#include "tools/registry.h"

namespace cake::cli::landmark_spectral_command {
namespace {

void run_landmark_spectral(RunContext& ctx) {
  using namespace cake::cluster;
  const std::int64_t p = count_up_to_samples(ctx, "landmark-spectral", "n_landmarks");
  LandmarkSpectralClustering model(
      {.n_clusters = ctx.params.get_int("n_clusters"),
       .n_landmarks = p,
       .n_nearest_landmarks = ctx.params.get_int("n_nearest_landmarks"),
       .landmark_selection = parse_landmark_selection(ctx.params.get_string("landmark_selection")),
       .landmark_max_iter = ctx.params.get_int("landmark_max_iter"),
       .normalize_rows = ctx.params.get_bool("normalize_rows"),
       .n_init = ctx.params.get_int("n_init"),
       .random_state = ctx.seed});
  ctx.progress->message("landmark-spectral: " + std::to_string(p) + " landmarks (" +
                        ctx.params.get_string("landmark_selection") + "), each point through its " +
                        std::to_string(model.options().n_nearest_landmarks) + " nearest");
  ctx.progress->start("landmark spectral clustering", 1);
  const Tensor labels = model.fit_predict(ctx.data.cpu());
  ctx.progress->update(1);
  ctx.progress->finish();

  const Tensor sigma = model.singular_values().contiguous();
  const double* s = sigma.data_ptr<double>();
  ctx.metrics["singular_values"] = std::vector<double>(s, s + sigma.numel());
  ctx.metrics["bandwidth"] = model.bandwidth();
  ctx.save_labels(labels);
  ctx.save_embedding(model.embedding(), "spectral_embedding");
  data::write_npy(ctx.path("landmarks.npy"), model.landmarks());
  if (ctx.image_shape)
    ctx.save_image_grid("landmarks.png", model.landmarks().slice(0, 0, std::min<std::int64_t>(p, 100)), 10);
}

const std::vector<std::string> kSelections = {"kmeans", "random"};
using O = cluster::LandmarkSpectralClusteringOptions;

}  // namespace

CAKE_REGISTER_ALGORITHM({
    .name = "landmark-spectral",
    .summary = "landmark-based spectral clustering: each point through its r nearest of p landmarks, a p x p "
               "eigenproblem, k-means",
    .reference = "Chen & Cai 2011, Large Scale Spectral Clustering with Landmark-Based Representation (AAAI)",
    .params = {{"n_clusters", ParamType::Int, library_default(&O::n_clusters), "number of clusters"},
               {"n_landmarks", ParamType::Int, library_default(&O::n_landmarks), "p, the landmarks"},
               {"n_nearest_landmarks", ParamType::Int, library_default(&O::n_nearest_landmarks),
                "r, the landmarks each point is written through"},
               {"landmark_selection", ParamType::String,
                library_choice(&O::landmark_selection, cluster::parse_landmark_selection, kSelections),
                "how the landmarks are chosen", kSelections},
               {"landmark_max_iter", ParamType::Int, library_default(&O::landmark_max_iter),
                "iterations of the landmarks' k-means"},
               {"normalize_rows", ParamType::Bool, library_default(&O::normalize_rows),
                "unit rows of the embedding before k-means (Ng, Jordan & Weiss)"},
               {"n_init", ParamType::Int, library_default(&O::n_init), "restarts of the final k-means"}},
    .run = run_landmark_spectral,
});

}  // namespace cake::cli::landmark_spectral_command
