// network_runs_vaes.cpp: the runs of the VAE family (network_runs.h): vae and conv-vae.
#include "cake/algorithms/networks/vae.h"
#include "cake/autograd/grad_mode.h"
#include "cake/distributed/data_parallel.h"
#include "cake/nn/checkpoint.h"
#include "cake/optim/adam.h"
#include "cake/tensor/creation.h"
#include "tools/algorithms/network_runs.h"

namespace cake::cli::networks {

// ---- VAEs --------------------------------------------------------------------------------------------

std::vector<ParamSpec> vae_params(const std::string& model, std::int64_t latent_dim, const std::string& likelihood) {
  std::vector<ParamSpec> p{{"latent_dim", ParamType::Int, std::to_string(latent_dim), "size of the code z"}};
  if (model == "mlp") p.push_back({"hidden", ParamType::IntList, "400", "hidden layer sizes of the encoder"});
  p.push_back({"beta", ParamType::Float, "1", "weight of the KL term (1: VAE, > 1: beta-VAE)"});
  p.push_back({"likelihood", ParamType::String, likelihood,
               "bernoulli: summed binary cross-entropy; gaussian: summed squared error (Bortoletto 2021, eq. 1)",
               {"bernoulli", "gaussian"}});
  p.push_back(sync_bn_param());
  return p;
}

void run_vae(RunContext& ctx, const std::string& kind) {
  const RunImages images = run_images(ctx);
  const std::int64_t latent_dim = ctx.params.get_int("latent_dim");
  std::shared_ptr<algorithms::VariationalAutoencoder> vae;
  if (kind == "conv") vae = std::make_shared<algorithms::ConvVAE>(latent_dim, images.image_shape);
  else vae = std::make_shared<algorithms::MLPVAE>(ctx.params.get_int_list("hidden"), latent_dim, images.image_shape);
  vae->to(ctx.device);
  algorithms::VariationalAutoencoder& model = *vae;
  const algorithms::VAELossOptions options{
      .beta = ctx.params.get_float("beta"),
      .likelihood = ctx.params.get_string("likelihood") == "gaussian" ? algorithms::Likelihood::Gaussian
                                                                      : algorithms::Likelihood::Bernoulli};
  CAKE_CHECK(options.beta >= 0.0, ctx.algorithm, ": beta must be non-negative, got ", options.beta);
  optim::Adam adam(model.parameters(),
                   {.lr = ctx.params.get_float("lr"), .weight_decay = ctx.params.get_float("weight_decay")});
  const Device device = ctx.device;
  const algorithms::BatchLoss loss = [&, device](const data::Batch& batch) {
    return algorithms::vae_loss(model, batch.x.to(device), options).total;
  };
  algorithms::TrainerOptions settings = trainer_options(ctx);
  const auto ddp = data_parallel(ctx, model, settings, images.train.size(0));  // under mpirun
  algorithms::Trainer trainer(model, adam, loss, settings);
  train_and_log(ctx, trainer, images, "negative ELBO per image");
  save(model, ctx.path("model.safetensors").string());

  if (images.test.defined()) {
    const cake::networks::VAEEvaluation test = cake::networks::evaluate_vae(model, images.test, options);
    ctx.metrics["test_loss"] = test.loss;
    ctx.metrics["test_reconstruction"] = test.reconstruction;
    ctx.metrics["test_kl"] = test.kl;
    ctx.metrics["test_mse"] = test.mse;
  }

  const Tensor& shown_from = images.test.defined() ? images.test : (images.val.defined() ? images.val : images.train);
  const Tensor& shown_labels = images.test.defined() ? images.test_labels : images.val_labels;
  const Tensor examples = pick_examples(shown_from, shown_labels, 10);
  {
    NoGradGuard no_grad;
    model.eval();
    save_image_rows(ctx, "reconstructions.png", {examples, model.decode(model.encode(examples).mean)});
    // 64 decoded draws of the prior as an 8 x 8 grid (Bortoletto 2021, figure 6).
    const Tensor samples = model.sample(64);
    std::vector<Tensor> rows;
    for (std::int64_t r = 0; r < 8; ++r) rows.push_back(samples.narrow(0, 8 * r, 8));
    save_image_rows(ctx, "samples.png", rows);
    // Five strips of 10 steps between the posterior means of two examples of different classes.
    std::vector<Tensor> strips;
    for (std::int64_t k = 0; k < 5; ++k)
      strips.push_back(model.interpolate(examples[(2 * k) % examples.size(0)], examples[(2 * k + 1) % examples.size(0)], 10));
    save_image_rows(ctx, "interpolation.png", strips);
  }

  const Tensor train_codes = algorithms::encode_mean_all(model, images.all);
  const Tensor test_codes = images.test.defined() ? algorithms::encode_mean_all(model, images.test) : Tensor();
  save_latent_space(ctx, train_codes, test_codes, images.test_labels);
  linear_probe_metric(ctx, train_codes, images.all_labels, test_codes, images.test_labels);
}

}  // namespace cake::cli::networks
