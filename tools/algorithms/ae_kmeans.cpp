// ae_kmeans.cpp: `cake run ae-kmeans`, k-means on an autoencoder's codes.
//
//   cake run ae-kmeans --data fashion-mnist:train --out runs/ae-kmeans --set epochs=10
//
// Trains an autoencoder (by default the fully connected 784 -> 128 -> 12 of the poster
// 'Unsupervised Visual Learning'), encodes every training image, standardises the codes and clusters them with k-means (k-means++ seeding,
// n_init restarts). metrics.json gets nmi, ari, acc against the true classes; the run also
// leaves everything an autoencoder run does (algorithms/deep_clustering/latent_clustering.h says why).
#include "tools/algorithms/network_runs.h"

namespace cake::cli::ae_kmeans_command {
namespace {

using namespace networks;

std::vector<ParamSpec> params() {
  std::vector<ParamSpec> p = autoencoder_params("mlp", 12, "128");
  for (ParamSpec& spec : clustering_params("kmeans")) p.push_back(spec);
  p.push_back(pretrained_param());
  for (ParamSpec& spec : analysis_params()) p.push_back(spec);
  return with_training_params(p, {.epochs = 10, .batch_size = 256, .lr = 1e-3, .weight_decay = 1e-5, .patience = 10});
}

CAKE_REGISTER_ALGORITHM({
    .name = "ae-kmeans",
    .summary = "k-means on the codes of a trained autoencoder",
    .reference = "poster 'Unsupervised Visual Learning' (AE + clustering); Lloyd 1982; Arthur & Vassilvitskii 2007",
    .params = params(),
    .run = [](RunContext& ctx) { run_autoencoder_clustering(ctx, "kmeans"); },
    .multi_rank = MultiRank::DataParallelPretraining,
});

}  // namespace
}  // namespace cake::cli::ae_kmeans_command
