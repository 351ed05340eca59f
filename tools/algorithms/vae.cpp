// vae.cpp: `cake run vae`, the fully connected variational autoencoder.
//
//   cake run vae --data fashion-mnist:train --out runs/vae --set latent_dim=20 --set beta=1
//
// algorithms::MLPVAE (784 -> 400 -> 2 x 20 and back, PyTorch's example sizes) with a Bernoulli
// likelihood (the summed binary cross-entropy of Kingma & Welling 2014), trained on the negative
// ELBO; samples.png shows decoded draws of the prior, interpolation.png straight lines in code
// space between pairs of test images.
#include "tools/algorithms/network_runs.h"

namespace cake::cli::vae_command {
namespace {

using namespace networks;

std::vector<ParamSpec> params() {
  std::vector<ParamSpec> p = vae_params("mlp", 20, "bernoulli");
  for (ParamSpec& spec : analysis_params()) p.push_back(spec);
  return with_training_params(p, {.epochs = 10, .batch_size = 128, .lr = 1e-3, .weight_decay = 0.0, .patience = 10});
}

CAKE_REGISTER_ALGORITHM({
    .name = "vae",
    .summary = "fully connected variational autoencoder, Bernoulli likelihood, reparameterisation trick",
    .reference = "Kingma & Welling 2014 (Auto-Encoding Variational Bayes); Bortoletto 2021, section 5",
    .params = params(),
    .run = [](RunContext& ctx) { run_vae(ctx, "mlp"); },
    .multi_rank = MultiRank::DataParallel,
});

}  // namespace
}  // namespace cake::cli::vae_command
