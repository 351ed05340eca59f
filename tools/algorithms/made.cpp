// made.cpp: `cake run made`, MADE, the masked autoencoder for distribution estimation
// (algorithms/generative/made.h): an exact density model of binarised images, trained by
// maximum likelihood (the lecture's density modelling).
//
//   cake run made --data fashion-mnist:train --set hidden=500 epochs=50
//
// The images are binarised once, each grey level the probability of a 1 (a fixed draw from the
// run's seed, so a resumed run sees the same bits), and split into training and validation rows
// as every network command splits them. With masks=K the network trains one of K masks per
// mini-batch and the model is their mixture (the paper's connectivity-agnostic training;
// order_agnostic also draws each mask's pixel order). The run leaves model.safetensors, log.jsonl and
// loss_curve.png (the negative log-likelihood per image, in nats), the log-likelihood of the
// (binarised) test images in metrics.json, and samples.png: 64 images drawn pixel by pixel.
#include "cake/algorithms/detail/common.h"
#include "cake/algorithms/generative/made.h"
#include "cake/autograd/grad_mode.h"
#include "cake/nn/checkpoint.h"
#include "cake/optim/adam.h"
#include "tools/algorithms/network_runs.h"
#include "tools/errors.h"

namespace cake::cli::made_command {
namespace {

using namespace networks;

// Each value replaced by a 0/1 draw with it as the probability, from a stream fixed by `seed`.
Tensor binarized(const Tensor& images, std::uint64_t seed) {
  if (!images.defined()) return images;
  algorithms::detail::SeedScope scope(seed);
  return images.bernoulli();
}

// Mean log p(x) over the rows, in nats (the mixture over every mask), in batches of 1000 without a graph.
double mean_log_likelihood(generative::MADE& model, const Tensor& images) {
  NoGradGuard no_grad;
  model.eval();
  double total = 0;
  for (std::int64_t start = 0; start < images.size(0); start += 1000) {
    const Tensor batch = images.narrow(0, start, std::min<std::int64_t>(1000, images.size(0) - start));
    total += model.ensemble_log_prob(batch).to(kFloat64).sum().item<double>();
  }
  return total / static_cast<double>(images.size(0));
}

void run_made(RunContext& ctx) {
  RunImages images = run_images(ctx);
  for (const std::int64_t size : ctx.params.get_int_list("hidden"))
    if (size < 1) throw UsageError("made: every hidden layer needs at least one unit, got " + std::to_string(size));
  // One fixed binarisation per split, each from its own stream of the run's seed.
  images.train = binarized(images.train, ctx.seed * 4 + 1);
  images.val = binarized(images.val, ctx.seed * 4 + 2);
  images.test = binarized(images.test, ctx.seed * 4 + 3);
  const std::int64_t pixels = shape_numel(images.image_shape);
  const std::int64_t n_masks = ctx.params.get_int("masks");
  if (n_masks < 1) throw UsageError("made: masks must be at least 1, got " + std::to_string(n_masks));
  auto made = std::make_shared<generative::MADE>(pixels, generative::MADEOptions{.hidden = ctx.params.get_int_list("hidden"),
                                                                                  .mask_seed = ctx.seed,
                                                                                  .n_masks = n_masks,
                                                                                  .order_agnostic = ctx.params.get_bool("order_agnostic")});
  made->to(ctx.device);
  optim::Adam adam(made->parameters(),
                   optim::AdamOptions().lr(ctx.params.get_float("lr")).weight_decay(ctx.params.get_float("weight_decay")));
  const Device device = ctx.device;
  const algorithms::BatchLoss loss = [&, device](const data::Batch& batch) {
    return -made->log_prob(batch.x.to(device)).mean();
  };
  algorithms::Trainer trainer(*made, adam, loss, trainer_options(ctx));
  // One mask per mini-batch, cycling (the paper's connectivity-agnostic training); a function of
  // the step alone, so a resumed run uses the same masks. The validation loss of an epoch is
  // that of the mask of its last batch.
  trainer.on_batch_begin([&](const train::BatchInfo& b) { made->set_mask(b.step % n_masks); });
  train_and_log(ctx, trainer, images, "negative log-likelihood per image (nats)");
  save(*made, ctx.path("model.safetensors").string());

  ctx.progress->message("made: the log-likelihood of the held-out images, then 64 samples (" + std::to_string(pixels) +
                        " passes)");
  if (images.val.defined()) ctx.metrics["val_log_likelihood"] = mean_log_likelihood(*made, images.val);
  if (images.test.defined()) ctx.metrics["test_log_likelihood"] = mean_log_likelihood(*made, images.test);
  const Tensor samples = made->sample(64).reshape({64, images.image_shape[0], images.image_shape[1], images.image_shape[2]});
  std::vector<Tensor> rows;
  for (std::int64_t r = 0; r < 8; ++r) rows.push_back(samples.narrow(0, 8 * r, 8));
  save_image_rows(ctx, "samples.png", rows);
}

std::vector<ParamSpec> params() {
  return with_training_params({{"hidden", ParamType::IntList, "500", "hidden layer sizes (the paper's MNIST MADE: 500)"},
                               {"masks", ParamType::Int, "1", "masks the model mixes over, one per mini-batch in training (1: single-mask MADE)"},
                               {"order_agnostic", ParamType::Bool, "false", "each mask draws its own order of the pixels"}},
                              {.epochs = 50, .batch_size = 100, .lr = 1e-3, .weight_decay = 0.0, .patience = 10});
}

}  // namespace

CAKE_REGISTER_ALGORITHM({
    .name = "made",
    .summary = "MADE: an exact density model of binarised images, masked so that pixel d sees pixels before it only",
    .reference = "Germain, Gregor, Murray & Larochelle 2015",
    .params = params(),
    .run = run_made,
});

}  // namespace cake::cli::made_command
