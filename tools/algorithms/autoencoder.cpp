// autoencoder.cpp: `cake run autoencoder`, the fully connected autoencoder.
//
//   cake run autoencoder --data fashion-mnist:train --out runs/ae --set hidden=256,64 --set latent_dim=16
//
// algorithms::MLPAutoencoder: Linear + ReLU layers of the `hidden` sizes down to the code and
// the same sizes back up, a sigmoid output; the defaults are those of the poster 'Unsupervised Visual Learning' (784 -> 128 -> 12).
// Trained on the per-pixel MSE with Adam and early stopping like every network here.
// --set model=dec trains DEC's 784-500-500-2000-latent_dim network instead (docs/algorithms/dec.md).
#include "tools/algorithms/network_runs.h"

namespace cake::cli::autoencoder_command {
namespace {

using namespace networks;

std::vector<ParamSpec> params() {
  std::vector<ParamSpec> p = autoencoder_params("mlp", 12, "128");
  for (ParamSpec& spec : analysis_params()) p.push_back(spec);
  return with_training_params(p, {.epochs = 10, .batch_size = 256, .lr = 1e-3, .weight_decay = 1e-5, .patience = 10});
}

CAKE_REGISTER_ALGORITHM({
    .name = "autoencoder",
    .summary = "fully connected autoencoder (hidden sizes a parameter), MSE, early stopping",
    .reference = "Hinton & Salakhutdinov 2006; poster 'Unsupervised Visual Learning' (784-128-12); Shen 2024",
    .params = params(),
    .run = [](RunContext& ctx) { run_autoencoder(ctx, {.model = ctx.params.get_string("model"), .objective = Objective::Reconstruction}); },
    .multi_rank = MultiRank::DataParallel,
});

}  // namespace
}  // namespace cake::cli::autoencoder_command
