// conv_vae.cpp: `cake run conv-vae`, Bortoletto's (2021) convolutional variational autoencoder.
//
//   cake run conv-vae --data fashion-mnist:train --out runs/cvae --set latent_dim=16
//
// algorithms::ConvVAE: two 4x4 stride-2 convolutions (64, 128 filters), linear heads for the
// mean and the log-variance, a mirrored decoder of transposed convolutions (Bortoletto 2021, section 5.1).
// The default likelihood is the report's: loss = ||x - x_hat||^2 + beta KL(N(mu, sigma) || N(0, I))
// (eq. 1); likelihood=bernoulli swaps in the summed binary cross-entropy.
#include "tools/algorithms/network_runs.h"

namespace cake::cli::conv_vae_command {
namespace {

using namespace networks;

std::vector<ParamSpec> params() {
  std::vector<ParamSpec> p = vae_params("conv", 16, "gaussian");
  for (ParamSpec& spec : analysis_params()) p.push_back(spec);
  return with_training_params(p, {.epochs = 10, .batch_size = 128, .lr = 1e-3, .weight_decay = 1e-5, .patience = 10});
}

CAKE_REGISTER_ALGORITHM({
    .name = "conv-vae",
    .summary = "convolutional VAE of Bortoletto 2021 (4x4 convs 64/128, mean and log-variance heads)",
    .reference = "Kingma & Welling 2014; Bortoletto 2021, section 5",
    .params = params(),
    .run = [](RunContext& ctx) { run_vae(ctx, "conv"); },
    .multi_rank = MultiRank::DataParallel,
});

}  // namespace
}  // namespace cake::cli::conv_vae_command
