// conv_autoencoder.cpp: `cake run conv-autoencoder`, Bortoletto's (2021) convolutional autoencoder.
//
//   cake run conv-autoencoder --data fashion-mnist:train --out runs/cae --set epochs=10
//
// The network, layer for layer, is algorithms::ConvAutoencoder (algorithms/networks/autoencoder.h);
// training is Adam (lr 1e-3, weight decay 1e-5) on the per-pixel MSE with early stopping on a
// validation split, the report's best setting (Bortoletto 2021, section 2.2). The report trains up to
// 150 epochs; the default here is 10 so that a demo finishes in minutes on a laptop.
#include "tools/algorithms/network_runs.h"

namespace cake::cli::conv_autoencoder_command {
namespace {

using namespace networks;

std::vector<ParamSpec> params() {
  std::vector<ParamSpec> p = autoencoder_params("", 16, "");
  for (ParamSpec& spec : analysis_params()) p.push_back(spec);
  return with_training_params(p, {.epochs = 10, .batch_size = 256, .lr = 1e-3, .weight_decay = 1e-5, .patience = 10});
}

CAKE_REGISTER_ALGORITHM({
    .name = "conv-autoencoder",
    .summary = "convolutional autoencoder of Bortoletto 2021 (3 strided convs, 288-64-latent), MSE, early stopping",
    .reference = "Bortoletto 2021, section 2; Masci et al. 2011",
    .params = params(),
    .run = [](RunContext& ctx) { run_autoencoder(ctx, {.model = "conv", .objective = Objective::Reconstruction}); },
    .multi_rank = MultiRank::DataParallel,
});

}  // namespace
}  // namespace cake::cli::conv_autoencoder_command
