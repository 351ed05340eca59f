// dbn.cpp: `cake run dbn`, a deep autoencoder pretrained as a deep belief network (Hinton &
// Salakhutdinov 2006; algorithms/generative/dbn.h), fine-tuned, and clustered on its codes.
//
//   cake run dbn --data fashion-mnist:train --out runs/dbn
//   cake run dbn --data fashion-mnist:train --out runs/dbn --set rbm_epochs=10 epochs=20
//
// Three phases in one command:
//   1. pretraining: RBMs 784-1000-500-250-30 (the paper's MNIST autoencoder), bottom up, with the
//      authors' settings (the top layer's units Gaussian); dbn_pretrained.safetensors holds the
//      stack, rbm_filters.png the first layer's weights, dbn_samples.png the generative model's
//      samples (top-level Gibbs chains from test images, brought down through the directed
//      layers) and dbn_reconstructions.png the images through the stack up and down before
//      fine-tuning;
//   2. fine-tuning: the stack unrolled into an autoencoder (logistic units, linear code) and
//      trained end to end on the cross-entropy per pixel (loss=bce, the paper's objective; the
//      paper used conjugate gradients, this command Adam), with everything an autoencoder run
//      leaves (docs/algorithms/autoencoders.md: model.safetensors, checkpoints, reconstructions,
//      the codes, the linear probe);
//   3. k-means on the codes (ae-kmeans' clustering: labels, nmi / acc / ari), and the paper's
//      comparison with PCA: test_squared_error_per_image of the autoencoder beside
//      pca_test_squared_error_per_image of PCA with as many components as the code.
// A --resume continues the fine-tuning from its checkpoint and reads the pretrained stack back
// instead of pretraining again (the RBMs keep no checkpoint of their own).
#include <filesystem>

#include "cake/algorithms/decomposition/pca.h"
#include "cake/algorithms/generative/dbn.h"
#include "cake/autograd/grad_mode.h"
#include "tools/algorithms/component_images.h"
#include "tools/algorithms/network_runs.h"
#include "tools/output.h"

namespace cake::cli::dbn_command {
namespace {

using namespace networks;
namespace fs = std::filesystem;

std::vector<ParamSpec> params() {
  const generative::RBMOptions hinton = generative::hinton_rbm_options();
  const generative::DBNOptions dbn;
  auto number = [](double value) { return nlohmann::json(value).dump(); };
  std::vector<ParamSpec> p = autoencoder_params("", 30, "1000,500,250");
  // The decoder's last bias is the first RBM's visible biases: keep it.
  set_default(p, "output_bias", "layer");
  p.push_back({"loss", ParamType::String, "bce",
               "fine-tuning objective: bce (cross-entropy per pixel, the paper's) or mse (squared error per pixel)",
               {"bce", "mse"}});
  p.push_back({"rbm_epochs", ParamType::Int, std::to_string(hinton.n_iter), "pretraining epochs of each RBM (the paper: 50)"});
  p.push_back({"rbm_learning_rate", ParamType::Float, number(hinton.learning_rate), "the RBMs' learning rate"});
  p.push_back({"rbm_top_learning_rate", ParamType::Float, number(dbn.top_learning_rate),
               "the learning rate of the top RBM, whose hidden units are Gaussian"});
  p.push_back({"rbm_batch_size", ParamType::Int, std::to_string(hinton.batch_size), "rows per RBM update"});
  p.push_back({"rbm_momentum", ParamType::Float, number(hinton.momentum), "RBM momentum of the first 5 epochs"});
  p.push_back({"rbm_final_momentum", ParamType::Float, number(hinton.final_momentum), "RBM momentum after them"});
  p.push_back({"rbm_weight_decay", ParamType::Float, number(hinton.weight_decay), "L2 penalty on the RBM weights"});
  p.push_back({"rbm_init_std", ParamType::Float, number(hinton.init_std), "standard deviation of the initial RBM weights"});
  p.push_back({"cd_k", ParamType::Int, std::to_string(hinton.cd_k), "Gibbs steps of contrastive divergence"});
  p.push_back({"gaussian_top", ParamType::Bool, dbn.gaussian_top ? "true" : "false",
               "the top RBM's hidden units linear with Gaussian noise (a real-valued code, as the paper)"});
  p.push_back({"dream_steps", ParamType::Int, "1000", "steps of the top-level Gibbs chains in dbn_samples.png"});
  for (ParamSpec& spec : clustering_params("kmeans")) p.push_back(spec);
  for (ParamSpec& spec : analysis_params()) p.push_back(spec);
  return with_training_params(p, {.epochs = 30, .batch_size = 256, .lr = 1e-3, .weight_decay = 0.0, .patience = 10});
}

generative::DBNOptions dbn_options(const RunContext& ctx) {
  generative::DBNOptions options;
  std::vector<std::int64_t> sizes = ctx.params.get_int_list("hidden");
  sizes.push_back(ctx.params.get_int("latent_dim"));
  options.layer_sizes = sizes;
  options.rbm.n_iter = ctx.params.get_int("rbm_epochs");
  options.rbm.learning_rate = ctx.params.get_float("rbm_learning_rate");
  options.rbm.batch_size = ctx.params.get_int("rbm_batch_size");
  options.rbm.momentum = ctx.params.get_float("rbm_momentum");
  options.rbm.final_momentum = ctx.params.get_float("rbm_final_momentum");
  options.rbm.weight_decay = ctx.params.get_float("rbm_weight_decay");
  options.rbm.init_std = ctx.params.get_float("rbm_init_std");
  options.rbm.cd_k = ctx.params.get_int("cd_k");
  options.gaussian_top = ctx.params.get_bool("gaussian_top");
  options.top_learning_rate = ctx.params.get_float("rbm_top_learning_rate");
  options.random_state = ctx.seed;
  return options;
}

// Phase 1: the stack, pretrained here or (on a resume) read back; its figures; the unrolled network.
std::shared_ptr<algorithms::Autoencoder> pretrained_autoencoder(RunContext& ctx, const RunImages& images) {
  generative::DBNOptions options = dbn_options(ctx);
  const Tensor x = images.train.flatten(1).cpu();
  const fs::path saved = ctx.path("dbn_pretrained.safetensors");
  std::int64_t layer_epochs_done = 0;
  const std::int64_t total = static_cast<std::int64_t>(options.layer_sizes.size()) * options.rbm.n_iter;
  options.on_epoch = [&](std::size_t layer, std::int64_t epoch, double error) {
    ctx.progress->update(++layer_epochs_done, {{"layer", static_cast<std::int64_t>(layer)}, {"reconstruction_error", error}});
    ctx.log({{"event", "rbm_epoch"}, {"layer", layer}, {"epoch", epoch}, {"reconstruction_error", error}});
    if (ctx.stop_requested && ctx.stop_requested())
      throw RunInterrupted("dbn: interrupted while pretraining layer " + std::to_string(layer) +
                           " (the RBMs keep no checkpoint: the run starts again from the first layer)");
  };
  generative::DeepBeliefNetwork dbn(options);
  if (!ctx.resume_checkpoint.empty() && fs::exists(saved)) {
    dbn.load_state_dict(load_safetensors(saved.string()).tensors, saved.string());
    ctx.progress->message("dbn: read the pretrained stack back from " + saved.string());
  } else {
    ctx.progress->message("dbn: pretraining " + std::to_string(options.layer_sizes.size()) + " RBMs on " +
                          std::to_string(x.size(0)) + " images");
    ctx.progress->start("RBM epoch", total);
    dbn.fit(x);
    ctx.progress->finish();
    save_safetensors(saved.string(), dbn.state_dict(), {{"cake.module", "DeepBeliefNetwork"}});
  }
  {
    // Figures of the generative model before fine-tuning.
    NoGradGuard no_grad;
    const Tensor& shown_from = images.test.defined() ? images.test : images.train;
    const Tensor examples = pick_examples(shown_from, images.test.defined() ? images.test_labels : images.train_labels, 10);
    const Tensor flat = examples.flatten(1).cpu();
    const Tensor up_down = dbn.unroll(images.image_shape)->forward(examples.cpu());
    save_image_rows(ctx, "dbn_reconstructions.png", {examples.cpu(), up_down});
    const Tensor dreams = dbn.sample(flat, ctx.params.get_int("dream_steps")).to(kFloat32).reshape(examples.sizes());
    save_image_rows(ctx, "dbn_samples.png", {examples.cpu(), dreams});
    save_component_images(ctx, "rbm_filters.png", dbn.layers().front().components());
  }
  return dbn.unroll(images.image_shape);
}

// The paper's comparison (Hinton & Salakhutdinov 2006, Figure 2): PCA with as many components as
// the code, squared reconstruction error per test image, beside the autoencoder's.
void compare_with_pca(RunContext& ctx, const AutoencoderRun& run) {
  if (!run.images.test.defined()) return;
  const std::int64_t pixels = shape_numel(run.images.image_shape);
  const Tensor train = run.images.train.flatten(1).cpu(), test = run.images.test.flatten(1).cpu();
  decomposition::PCA pca({.n_components = ctx.params.get_int("latent_dim")});
  pca.fit(train);
  const Tensor rebuilt = pca.inverse_transform(pca.transform(test)).clamp(0.0, 1.0);
  const double pca_mse = (rebuilt.to(kFloat64) - test.to(kFloat64)).square().mean().item<double>();
  ctx.metrics["pca_test_squared_error_per_image"] = pca_mse * static_cast<double>(pixels);
  ctx.metrics["test_squared_error_per_image"] = ctx.metrics.at("test_mse").get<double>() * static_cast<double>(pixels);
}

void run_dbn(RunContext& ctx) {
  const ObjectiveOptions objective{
      .model = "dbn",
      .objective = ctx.params.get_string("loss") == "bce" ? Objective::CrossEntropy : Objective::Reconstruction,
      .make_model = [&](const RunImages& images) { return pretrained_autoencoder(ctx, images); }};
  const AutoencoderRun run = run_autoencoder(ctx, objective);
  compare_with_pca(ctx, run);
  cluster_autoencoder_codes(ctx, run, "kmeans");
}

}  // namespace

CAKE_REGISTER_ALGORITHM({
    .name = "dbn",
    .summary = "deep autoencoder pretrained as a deep belief network (stacked RBMs), fine-tuned, k-means on its codes",
    .reference = "Hinton & Salakhutdinov 2006 (Science); Hinton, Osindero & Teh 2006; Hinton 2002 (CD)",
    .params = params(),
    .run = run_dbn,
});

}  // namespace cake::cli::dbn_command
