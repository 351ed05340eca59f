// masked_autoencoder.cpp: `cake run masked-autoencoder`.
//
//   cake run masked-autoencoder --data fashion-mnist:train --out runs/mae --set patch=4 --set mask_ratio=0.5
//
// Masked self-supervision (Shen 2024; He et al. 2021): a random mask_ratio of the patch x patch
// squares of every image is blanked, the autoencoder rebuilds the whole image, and the loss is
// the MSE over the hidden pixels (loss_on=hidden) or over all pixels (loss_on=all).
// masked_reconstructions.png shows originals, masked inputs and outputs, top to bottom.
#include "tools/algorithms/network_runs.h"

namespace cake::cli::masked_autoencoder_command {
namespace {

using namespace networks;

std::vector<ParamSpec> params() {
  std::vector<ParamSpec> p = autoencoder_params("conv", 16, "128");
  p.push_back({"patch", ParamType::Int, "4", "side of the square patches that are hidden"});
  p.push_back({"mask_ratio", ParamType::Float, "0.5", "fraction of each image's patches hidden"});
  p.push_back({"loss_on", ParamType::String, "hidden", "pixels the loss scores", {"hidden", "all"}});
  for (ParamSpec& spec : analysis_params()) p.push_back(spec);
  return with_training_params(p, {.epochs = 10, .batch_size = 256, .lr = 1e-3, .weight_decay = 1e-5, .patience = 10});
}

CAKE_REGISTER_ALGORITHM({
    .name = "masked-autoencoder",
    .summary = "autoencoder that rebuilds randomly masked patches (masked self-supervision, Shen 2024)",
    .reference = "He et al. 2021 (masked autoencoders); Shen 2024",
    .params = params(),
    .run =
        [](RunContext& ctx) {
          ObjectiveOptions objective{.model = ctx.params.get_string("model"), .objective = Objective::Masked};
          objective.masking = {.patch = ctx.params.get_int("patch"),
                               .ratio = ctx.params.get_float("mask_ratio"),
                               .hidden_only = ctx.params.get_string("loss_on") == "hidden"};
          run_autoencoder(ctx, objective);
        },
    .multi_rank = MultiRank::DataParallel,
});

}  // namespace
}  // namespace cake::cli::masked_autoencoder_command
