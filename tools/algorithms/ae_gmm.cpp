// ae_gmm.cpp: `cake run ae-gmm`, a Gaussian mixture on an autoencoder's codes.
//
//   cake run ae-gmm --data fashion-mnist:train --out runs/ae-gmm --set epochs=10
//
// The "AE (GMM)" row of the poster 'Unsupervised Visual Learning' (91.2% accuracy on MNIST): an autoencoder (784 -> 128 -> 12 by
// default), then EM for a mixture of n_clusters Gaussians on the standardised codes, each point
// labelled by its most responsible component. metrics.json gets nmi, ari, acc.
#include "tools/algorithms/network_runs.h"

namespace cake::cli::ae_gmm_command {
namespace {

using namespace networks;

std::vector<ParamSpec> params() {
  std::vector<ParamSpec> p = autoencoder_params("mlp", 12, "128");
  for (ParamSpec& spec : clustering_params("gmm", /*n_init=*/3)) p.push_back(spec);
  p.push_back(pretrained_param());
  for (ParamSpec& spec : analysis_params()) p.push_back(spec);
  return with_training_params(p, {.epochs = 10, .batch_size = 256, .lr = 1e-3, .weight_decay = 1e-5, .patience = 10});
}

CAKE_REGISTER_ALGORITHM({
    .name = "ae-gmm",
    .summary = "Gaussian mixture (EM) on the codes of a trained autoencoder",
    .reference = "poster 'Unsupervised Visual Learning' (AE + GMM, 91.2% on MNIST); Dempster, Laird & Rubin 1977",
    .params = params(),
    .run = [](RunContext& ctx) { run_autoencoder_clustering(ctx, "gmm"); },
    .multi_rank = MultiRank::DataParallelPretraining,
});

}  // namespace
}  // namespace cake::cli::ae_gmm_command
