// denoising_autoencoder.cpp: `cake run denoising-autoencoder`.
//
//   cake run denoising-autoencoder --data fashion-mnist:train --out runs/dae --set noise_sigma=0.3
//
// Bortoletto 2021, section 3: the convolutional autoencoder of section 2, trained on inputs corrupted
// by Gaussian noise, x + sigma eps, against the CLEAN images (Vincent et al. 2008). test_loss is
// that denoising loss on the test split (the report's 0.0269 on MNIST); denoising.png shows
// clean images, their noisy versions and the outputs, top to bottom.
#include "tools/algorithms/network_runs.h"

namespace cake::cli::denoising_autoencoder_command {
namespace {

using namespace networks;

std::vector<ParamSpec> params() {
  std::vector<ParamSpec> p = autoencoder_params("conv", 16, "128");
  p.push_back({"noise_sigma", ParamType::Float, "0.3", "standard deviation of the Gaussian noise on the input"});
  p.push_back({"noise_clip", ParamType::Bool, "true", "clamp the noisy input to [0, 1]"});
  for (ParamSpec& spec : analysis_params()) p.push_back(spec);
  return with_training_params(p, {.epochs = 10, .batch_size = 256, .lr = 1e-3, .weight_decay = 1e-5, .patience = 10});
}

CAKE_REGISTER_ALGORITHM({
    .name = "denoising-autoencoder",
    .summary = "autoencoder trained to remove Gaussian noise from its input (Bortoletto 2021, section 3)",
    .reference = "Vincent et al. 2008; Bortoletto 2021, section 3",
    .params = params(),
    .run =
        [](RunContext& ctx) {
          ObjectiveOptions objective{.model = ctx.params.get_string("model"), .objective = Objective::Denoising};
          objective.denoising = {.sigma = ctx.params.get_float("noise_sigma"), .clip = ctx.params.get_bool("noise_clip")};
          CAKE_CHECK(objective.denoising.sigma >= 0.0, "denoising-autoencoder: noise_sigma must be non-negative, got ",
                     objective.denoising.sigma);
          run_autoencoder(ctx, objective);
        },
    .multi_rank = MultiRank::DataParallel,
});

}  // namespace
}  // namespace cake::cli::denoising_autoencoder_command
