// network_runs_autoencoders.cpp: the runs of the autoencoder family (network_runs.h): plain,
// denoising and masked autoencoders, and clustering on their codes (ae-kmeans, ae-gmm).
#include <algorithm>

#include "cake/algorithms/cluster/clusterer.h"
#include "cake/algorithms/deep_clustering/latent_clustering.h"
#include "cake/algorithms/mixture/gaussian_mixture.h"
#include "cake/autograd/grad_mode.h"
#include "cake/data/transforms.h"
#include "cake/distributed/data_parallel.h"
#include "cake/nn/checkpoint.h"
#include "cake/optim/adam.h"
#include "cake/tensor/creation.h"
#include "tools/algorithms/network_runs.h"
#include "cake/optim/sgd.h"
#include "tools/errors.h"
#include "tools/library_defaults.h"
#include "tools/params.h"

namespace cake::cli::networks {

std::vector<ParamSpec> autoencoder_params(const std::string& model, std::int64_t latent_dim, const std::string& hidden) {
  std::vector<ParamSpec> params{{"latent_dim", ParamType::Int, std::to_string(latent_dim), "size of the code z"}};
  if (!model.empty())
    params.push_back({"model", ParamType::String, model,
                      "conv: the convolutional network of Bortoletto 2021 (section 2); mlp: fully connected (sizes from "
                      "hidden); dec: DEC's fully connected d-500-500-2000-latent_dim with a linear output and Keras' "
                      "VarianceScaling init (Xie et al. 2016; leave hidden at its default); n2d: the same sizes and "
                      "linear output with Keras' default Glorot-uniform init, as N2D's code (McConville et al. 2020)",
                      {"conv", "mlp", "dec", "n2d"}});
  if (!hidden.empty())
    params.push_back({"hidden", ParamType::IntList, hidden, "hidden layer sizes of the fully connected encoder"});
  params.push_back({"optimizer", ParamType::String, "adam",
                    "adam (Bortoletto 2021) or sgd with momentum (DEC's pretraining: lr 1, momentum 0.9)", {"adam", "sgd"}});
  params.push_back({"momentum", ParamType::Float, "0.9", "momentum of optimizer=sgd"});
  params.push_back({"min_batches", ParamType::Int, "50",
                    "at least this many steps per epoch: a smaller training set gets a smaller batch_size (not below 16; "
                    "0: never)"});
  params.push_back({"output_bias", ParamType::String, "mean",
                    "start of the output layer's bias: mean (on the mean training image, the plateau guard of "
                    "autoencoder.h) or layer (the layer's own initialisation: zeros in model=dec and n2d, as Keras)",
                    {"mean", "layer"}});
  params.push_back(sync_bn_param());
  return params;
}

void set_default(std::vector<ParamSpec>& params, const std::string& name, const std::string& value) {
  const auto spec = std::find_if(params.begin(), params.end(), [&](const ParamSpec& p) { return p.name == name; });
  CAKE_CHECK(spec != params.end(), "set_default: no parameter named ", name);
  spec->default_value = value;
}

// ---- autoencoders ----------------------------------------------------------------------------------------

std::shared_ptr<algorithms::Autoencoder> make_autoencoder(const RunContext& ctx, const std::string& model,
                                                          const Shape& image_shape) {
  const std::int64_t latent_dim = ctx.params.get_int("latent_dim");
  if (model == "conv") return std::make_shared<algorithms::ConvAutoencoder>(latent_dim, image_shape);
  if (model == "dec" || model == "n2d") {
    // DEC's network has its own hidden sizes: a `hidden` set by the user would be ignored, so refuse it.
    const auto& specs = algorithms().at(ctx.algorithm).params;
    const auto hidden = std::find_if(specs.begin(), specs.end(), [](const ParamSpec& s) { return s.name == "hidden"; });
    if (hidden != specs.end() && ctx.params.json().at("hidden") != parse_param_text(ctx.algorithm, *hidden, hidden->default_value) &&
        ctx.params.get_int_list("hidden") != cake::networks::kDECHidden)
      throw UsageError(ctx.algorithm + ": model=" + model + " has the hidden sizes 500,500,2000 of Xie et al. (2016); drop "
                       "--set hidden or use model=mlp");
    return model == "dec" ? cake::networks::dec_autoencoder(latent_dim, image_shape)
                          : cake::networks::n2d_autoencoder(latent_dim, image_shape);
  }
  CAKE_CHECK(model == "mlp", ctx.algorithm, ": model must be conv, mlp, dec or n2d, got ", model);
  return std::make_shared<algorithms::MLPAutoencoder>(ctx.params.get_int_list("hidden"), latent_dim, image_shape);
}

namespace {

// The end of every autoencoder run: the codes of every training row and of the test split,
// embedding.npy and its figures, and the linear probe.
void describe_codes(RunContext& ctx, AutoencoderRun& run) {
  run.train_codes = algorithms::encode_all(*run.model, run.images.all);
  if (run.images.test.defined()) run.test_codes = algorithms::encode_all(*run.model, run.images.test);
  save_latent_space(ctx, run.train_codes, run.test_codes, run.images.test_labels);
  linear_probe_metric(ctx, run.train_codes, run.images.all_labels, run.test_codes, run.images.test_labels);
}

}  // namespace

AutoencoderRun run_autoencoder(RunContext& ctx, const ObjectiveOptions& objective) {
  AutoencoderRun run;
  run.images = run_images(ctx);
  run.model = objective.make_model ? objective.make_model(run.images)
                                   : make_autoencoder(ctx, objective.model, run.images.image_shape);
  run.model->to(ctx.device);
  algorithms::Autoencoder& model = *run.model;
  // NOTE [ The mean-image plateau ] (algorithms/networks/autoencoder.h): start the output on the
  // mean training image, unless asked to keep the layer's own initialisation. A resumed run
  // replaces these weights with the checkpoint's.
  if (ctx.params.get_string("output_bias") == "mean") model.init_output_bias(cake::networks::mean_image(run.images.train));
  std::unique_ptr<optim::Optimizer> optimizer;
  const double lr = ctx.params.get_float("lr"), weight_decay = ctx.params.get_float("weight_decay");
  if (ctx.params.get_string("optimizer") == "sgd")
    optimizer = std::make_unique<optim::SGD>(
        model.parameters(), optim::SGDOptions{.lr = lr, .momentum = ctx.params.get_float("momentum"), .weight_decay = weight_decay});
  else
    optimizer = std::make_unique<optim::Adam>(model.parameters(), optim::AdamOptions{.lr = lr, .weight_decay = weight_decay});
  const Device device = ctx.device;
  const algorithms::BatchLoss loss = [&, device](const data::Batch& batch) {
    const Tensor x = batch.x.to(device);
    switch (objective.objective) {
      case Objective::Denoising: return algorithms::denoising_loss(model, x, objective.denoising);
      case Objective::Masked: return algorithms::masked_loss(model, x, objective.masking);
      case Objective::CrossEntropy: return algorithms::cross_entropy_reconstruction_loss(model, x);
      case Objective::Reconstruction: break;
    }
    return algorithms::reconstruction_loss(model, x);
  };
  const char* loss_name = objective.objective == Objective::Masked         ? "MSE per hidden pixel"
                          : objective.objective == Objective::CrossEntropy ? "cross-entropy per pixel"
                                                                           : "MSE per pixel";
  algorithms::TrainerOptions options = trainer_options(ctx);
  // On a small training set a batch of 256 leaves a handful of steps per epoch, too few to leave
  // the mean-image plateau (NOTE [ The mean-image plateau ]): give each epoch at least
  // min_batches steps by shrinking the batch (not below 16), and say so.
  if (const std::int64_t min_batches = ctx.params.get_int("min_batches"); min_batches > 0) {
    const std::int64_t cap = std::max<std::int64_t>(16, run.images.train.size(0) / min_batches);
    if (options.batch_size > cap) {
      ctx.progress->message("batch_size " + std::to_string(options.batch_size) + " -> " + std::to_string(cap) + " so that each of the " +
                            std::to_string(run.images.train.size(0)) + " training images' epochs has at least " +
                            std::to_string(min_batches) + " steps (min_batches)");
      ctx.log({{"event", "batch_size_reduced"}, {"from", options.batch_size}, {"to", cap}, {"min_batches", min_batches}});
      options.batch_size = cap;
    }
  }
  ctx.metrics["batch_size_used"] = options.batch_size;
  const auto ddp = data_parallel(ctx, model, options, run.images.train.size(0));
  algorithms::Trainer trainer(model, *optimizer, loss, options);
  // The loss of rebuilding every image as the mean image: a loss that stays near it is the plateau.
  const double mean_mse = cake::networks::mean_image_mse(run.images.val.defined() ? run.images.val : run.images.train);
  // The plateau is measured in squared error: the other objectives have no such baseline.
  const bool squared_error = objective.objective == Objective::Reconstruction || objective.objective == Objective::Denoising;
  run.result = train_and_log(ctx, trainer, run.images, loss_name, squared_error ? mean_mse : 0.0);
  save(model, ctx.path("model.safetensors").string());

  const RunImages& images = run.images;
  if (images.test.defined()) {
    ctx.metrics["test_loss"] = trainer.evaluate(*dataset(images.test), loss);
    ctx.metrics["test_mse"] = algorithms::reconstruction_mse(model, images.test);
  }

  // Figures: ten examples (one per class) from the test split, else from the validation part.
  const Tensor& shown_from = images.test.defined() ? images.test : (images.val.defined() ? images.val : images.train);
  const Tensor& shown_labels = images.test.defined() ? images.test_labels : images.val_labels;
  const Tensor examples = pick_examples(shown_from, shown_labels, 10);
  {
    NoGradGuard no_grad;
    model.eval();
    save_image_rows(ctx, "reconstructions.png", {examples, model.forward(examples)});
    if (objective.objective == Objective::Denoising) {
      const Tensor noisy = data::GaussianNoise(objective.denoising.sigma, objective.denoising.clip)(examples);
      save_image_rows(ctx, "denoising.png", {examples, noisy, model.forward(noisy)});
    }
    if (objective.objective == Objective::Masked) {
      const Tensor masked = data::RandomMask(objective.masking.patch, objective.masking.ratio).apply(examples).masked;
      save_image_rows(ctx, "masked_reconstructions.png", {examples, masked, model.forward(masked)});
    }
    // Decoded N(0, I) codes: an autoencoder's code space has no reason to look like N(0, I),
    // so these are mostly not images (Bortoletto 2021, figure 3), the gap the VAE closes.
    save_image_rows(ctx, "random_codes.png", {model.decode(randn({10, model.latent_dim()}).to(device))});
  }

  describe_codes(ctx, run);
  return run;
}

ParamSpec pretrained_param() {
  return {"pretrained", ParamType::String, "",
          "an autoencoder file to start from (model.safetensors or checkpoint.safetensors of an autoencoder, ae-kmeans, "
          "ae-gmm, n2d or dec run) instead of pretraining one; the training parameters are then unused"};
}

AutoencoderRun load_pretrained_autoencoder(RunContext& ctx, const std::string& path) {
  // Nothing would train data-parallel: the rest of the run would repeat on every rank.
  if (const int p = distributed::default_group().world_size(); p > 1)
    throw UsageError(ctx.algorithm + " with pretrained=" + path + " runs in one process only (only the "
                     "autoencoder's pretraining uses several ranks), but it was started on " + std::to_string(p) +
                     " ranks: run it without mpirun");
  AutoencoderRun run;
  run.images = run_images(ctx);
  run.model = algorithms::load_autoencoder(path, run.images.image_shape);
  run.model->to(ctx.device);
  ctx.progress->message("loaded the autoencoder " + path);
  ctx.metrics["pretrained"] = path;
  return run;
}

AutoencoderRun trained_or_pretrained_autoencoder(RunContext& ctx, const ObjectiveOptions& objective) {
  const std::string& pretrained = ctx.params.get_string("pretrained");
  if (pretrained.empty()) return run_autoencoder(ctx, objective);
  AutoencoderRun run = load_pretrained_autoencoder(ctx, pretrained);
  describe_codes(ctx, run);
  return run;
}

namespace {

bool clusterer_takes(const std::string& method, const std::string& parameter) {
  const std::vector<std::string> accepted = cluster::clusterer_parameters(method);
  return std::find(accepted.begin(), accepted.end(), parameter) != accepted.end();
}

}  // namespace

std::vector<ParamSpec> clustering_params(const std::string& method, std::int64_t n_init) {
  std::vector<ParamSpec> p{{"n_clusters", ParamType::Int, "10", "number of clusters"},
                           {"n_init", ParamType::Int, std::to_string(n_init),
                            "restarts of the clusterer; the best objective wins"}};
  if (clusterer_takes(method, "covariance_type"))
    p.push_back({"covariance_type", ParamType::String, library_default(&mixture::GaussianMixtureOptions::covariance_type),
                 "covariance of each Gaussian", {"full", "diag", "tied", "spherical"}});
  return p;
}

void run_autoencoder_clustering(RunContext& ctx, const std::string& method) {
  cluster_autoencoder_codes(ctx, trained_or_pretrained_autoencoder(ctx, {.model = ctx.params.get_string("model")}), method);
}

void cluster_autoencoder_codes(RunContext& ctx, const AutoencoderRun& run, const std::string& method) {
  ctx.progress->message("clustering " + std::to_string(run.train_codes.size(0)) + " codes with " + method + " ...");
  // The clustering parameters of this command (clustering_params) go to the clusterer by name
  // (cluster/clusterer.h): no method-specific branches here.
  deep_clustering::LatentClusteringOptions options{.method = method,
                                                   .n_clusters = ctx.params.get_int("n_clusters"),
                                                   .n_init = ctx.params.get_int("n_init"),
                                                   .seed = ctx.seed};
  for (const ParamSpec& spec : clustering_params(method)) {
    const nlohmann::json& value = ctx.params.json().at(spec.name);
    const std::string& name = spec.name;
    if (value.is_string()) options.params.emplace(name, value.get<std::string>());
    else if (value.is_boolean()) options.params.emplace(name, value.get<bool>());
    else if (value.is_number_integer()) options.params.emplace(name, value.get<std::int64_t>());
    else if (value.is_number_float()) options.params.emplace(name, value.get<double>());
  }
  ctx.save_labels(deep_clustering::cluster_codes(run.train_codes, options));
}

}  // namespace cake::cli::networks
