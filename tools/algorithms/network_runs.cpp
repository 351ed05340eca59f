// network_runs.cpp: the shared parts of the network algorithms' wrappers (see network_runs.h).
#include "tools/algorithms/network_runs.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <sstream>

#include "algorithms/deep_clustering/latent_clustering.h"
#include "algorithms/train/linear_probe.h"
#include "algorithms/manifold/tsne.h"
#include "algorithms/networks/vae.h"
#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "data/transforms.h"
#include "nn/checkpoint.h"
#include "optim/adam.h"
#include "tensor/creation.h"
#include "tools/figures.h"

namespace cake::cli::networks {

namespace {

std::string number_text(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

// The first index of each class 0..count-1 (in order), or evenly spaced indices without labels.
std::vector<std::int64_t> example_indices(std::int64_t n, const Tensor& labels, std::int64_t count) {
  std::vector<std::int64_t> picks;
  if (labels.defined()) {
    const Tensor y = labels.to(kCPU, kInt64).contiguous();
    const std::int64_t* v = y.data_ptr<std::int64_t>();
    for (std::int64_t c = 0; c < count; ++c)
      for (std::int64_t i = 0; i < n; ++i)
        if (v[i] == c) {
          picks.push_back(i);
          break;
        }
  }
  if (static_cast<std::int64_t>(picks.size()) < count) {  // fewer classes than asked: evenly spaced
    picks.clear();
    for (std::int64_t j = 0; j < std::min(count, n); ++j) picks.push_back(j * n / std::min(count, n));
  }
  return picks;
}

}  // namespace

// ---- parameters -------------------------------------------------------------------------------------

std::vector<ParamSpec> with_training_params(std::vector<ParamSpec> own, const TrainingDefaults& d) {
  own.push_back({"epochs", ParamType::Int, std::to_string(d.epochs), "the most epochs to train (seed 004: 150)"});
  own.push_back({"batch_size", ParamType::Int, std::to_string(d.batch_size), "samples per mini-batch"});
  own.push_back({"lr", ParamType::Float, number_text(d.lr), "Adam's learning rate (seed 004: 1e-3)"});
  own.push_back({"weight_decay", ParamType::Float, number_text(d.weight_decay),
                 "L2 weight decay added to the gradient (seed 004: 1e-5)"});
  own.push_back({"patience", ParamType::Int, std::to_string(d.patience),
                 "early stopping: epochs without a validation improvement before stopping (0: never)"});
  own.push_back({"val_fraction", ParamType::Float, "0.1", "fraction of the training rows held out for validation"});
  own.push_back({"resume", ParamType::String, "",
                 "continue from this checkpoint.safetensors of an earlier run (same parameters); exact"});
  return own;
}

std::vector<ParamSpec> analysis_params() {
  return {{"tsne_samples", ParamType::Int, "2000", "test codes embedded with t-SNE for embedding_tsne.png (0: none)"},
          {"probe", ParamType::Bool, "true", "fit a linear probe (logistic regression) from codes to classes"}};
}

std::vector<ParamSpec> autoencoder_params(const std::string& model, std::int64_t latent_dim, const std::string& hidden) {
  std::vector<ParamSpec> params{{"latent_dim", ParamType::Int, std::to_string(latent_dim), "size of the code z"}};
  if (!model.empty())
    params.push_back({"model", ParamType::String, model, "conv: seed 004's convolutional network; mlp: fully connected",
                      {"conv", "mlp"}});
  if (!hidden.empty())
    params.push_back({"hidden", ParamType::IntList, hidden, "hidden layer sizes of the fully connected encoder"});
  return params;
}

// ---- data ---------------------------------------------------------------------------------------------

RunImages run_images(const RunContext& ctx) {
  CAKE_CHECK(ctx.image_shape.has_value(), ctx.algorithm, " trains on images: use a named data set (fashion-mnist:train) ",
             "or an .npy of [N, H, W] or [N, C, H, W] images; ", ctx.data_name, " holds plain feature rows");
  RunImages images;
  images.image_shape = *ctx.image_shape;
  auto as_images = [&](const Tensor& rows) {
    Shape shape{rows.size(0)};
    shape.insert(shape.end(), images.image_shape.begin(), images.image_shape.end());
    return rows.reshape(shape);
  };
  images.all = as_images(ctx.data);
  images.all_labels = ctx.labels;
  const auto [train_rows, val_rows] =
      algorithms::train_validation_split(ctx.data.size(0), ctx.params.get_float("val_fraction"), ctx.seed);
  images.train = index_select(images.all, 0, train_rows.to(ctx.device));
  if (val_rows.numel() > 0) images.val = index_select(images.all, 0, val_rows.to(ctx.device));
  if (ctx.labels.defined()) {
    images.train_labels = index_select(ctx.labels, 0, train_rows);
    if (val_rows.numel() > 0) images.val_labels = index_select(ctx.labels, 0, val_rows);
  }
  if (ctx.test_data.defined()) {
    images.test = as_images(ctx.test_data);
    images.test_labels = ctx.test_labels;
  }
  return images;
}

std::shared_ptr<const data::TensorDataset> dataset(const Tensor& images, const Tensor& labels) {
  return std::make_shared<const data::TensorDataset>(images.cpu(), labels.defined() ? labels.cpu() : Tensor());
}

algorithms::TrainerOptions trainer_options(const RunContext& ctx) {
  return {.epochs = ctx.params.get_int("epochs"),
          .batch_size = ctx.params.get_int("batch_size"),
          .patience = ctx.params.get_int("patience"),
          .seed = ctx.seed,
          .checkpoint_path = ctx.path("checkpoint.safetensors").string(),
          .resume_from = ctx.params.get_string("resume")};
}

// ---- training -------------------------------------------------------------------------------------------

algorithms::TrainResult train_and_log(RunContext& ctx, algorithms::Trainer& trainer, const RunImages& images,
                                      const std::string& loss_name) {
  auto log_epoch = [&](const algorithms::EpochStats& s, bool from_checkpoint) {
    nlohmann::json record = {{"epoch", s.epoch}, {"train_loss", s.train_loss}, {"epoch_time_s", s.seconds}};
    record["val_loss"] = std::isnan(s.val_loss) ? nlohmann::json(nullptr) : nlohmann::json(s.val_loss);
    if (from_checkpoint) record["from_checkpoint"] = true;
    ctx.log(record);
  };
  ctx.progress->start("epoch", trainer.options().epochs);
  trainer.on_epoch_end([&](const algorithms::EpochStats& s) {
    log_epoch(s, false);
    std::vector<std::pair<std::string, double>> shown{{"train", s.train_loss}};
    if (!std::isnan(s.val_loss)) shown.emplace_back("val", s.val_loss);
    ctx.progress->update(s.epoch, shown);
  });
  const algorithms::TrainResult result =
      trainer.fit(dataset(images.train, images.train_labels),
                  images.val.defined() ? dataset(images.val, images.val_labels) : nullptr);
  ctx.progress->finish();
  if (result.resumed_from_epoch > 0) {
    ctx.progress->message("resumed from epoch " + std::to_string(result.resumed_from_epoch) + " of " +
                          trainer.options().resume_from);
    for (const algorithms::EpochStats& s : result.history)
      if (s.epoch <= result.resumed_from_epoch) log_epoch(s, true);
  }

  std::vector<double> train_curve, val_curve, seconds;
  for (const algorithms::EpochStats& s : result.history) {
    train_curve.push_back(s.train_loss);
    val_curve.push_back(s.val_loss);
    seconds.push_back(s.seconds);
  }
  if (!result.history.empty()) {
    figures::Series series{{"train", train_curve}};
    if (images.val.defined()) series.emplace_back("validation", val_curve);
    ctx.save_curve("loss_curve.png", ctx.algorithm + ": " + loss_name + " per epoch", series, "epoch");
  }
  ctx.log({{"event", "training_stopped"}, {"reason", algorithms::to_string(result.stop_reason)},
           {"message", result.message}});
  if (result.stop_reason == algorithms::StopReason::NonFiniteLoss) CAKE_FAIL(ctx.algorithm, ": ", result.message);
  ctx.progress->message(result.message);

  // The metrics of the model that was kept: the best validation epoch's (trainer.h, restore_best).
  const std::int64_t kept = std::max<std::int64_t>(result.best_epoch, 1);
  const algorithms::EpochStats& best = result.history.at(static_cast<std::size_t>(kept - 1));
  ctx.metrics["train_loss"] = best.train_loss;
  if (!std::isnan(best.val_loss)) ctx.metrics["val_loss"] = best.val_loss;
  ctx.metrics["best_epoch"] = kept;
  ctx.metrics["epochs_run"] = result.history.size();
  ctx.metrics["stop_reason"] = algorithms::to_string(result.stop_reason);
  // Mean wall time of the epochs this process ran (a resumed run's earlier epochs excluded).
  double total = 0.0;
  std::int64_t counted = 0;
  for (const algorithms::EpochStats& s : result.history)
    if (s.epoch > result.resumed_from_epoch) total += s.seconds, ++counted;
  if (counted > 0) ctx.metrics["epoch_time_s"] = total / static_cast<double>(counted);
  return result;
}

// ---- figures ------------------------------------------------------------------------------------------

void write_figure(const RunContext& ctx, const std::string& file, const image::Canvas& canvas) {
  if (!image::png_available()) return;  // RunContext's own figures already warned once
  image::write_png(ctx.path(file), canvas);
}

void save_image_rows(RunContext& ctx, const std::string& file, const std::vector<Tensor>& rows) {
  CAKE_CHECK(!rows.empty(), "save_image_rows: no rows");
  std::vector<Tensor> parts;
  for (const Tensor& row : rows) parts.push_back(row.detach().to(kCPU, kFloat32));
  ctx.save_image_grid(file, cat(parts, 0), rows.front().size(0));
}

Tensor pick_examples(const Tensor& images, const Tensor& labels, std::int64_t count) {
  const std::vector<std::int64_t> picks = example_indices(images.size(0), labels, count);
  return index_select(images, 0, tensor(picks, {static_cast<std::int64_t>(picks.size())}).to(images.device()));
}

void save_latent_space(RunContext& ctx, const Tensor& train_codes, const Tensor& test_codes, const Tensor& test_labels) {
  ctx.save_embedding(train_codes, "embedding");
  const std::int64_t wanted = ctx.params.get_int("tsne_samples");
  if (wanted <= 0) return;
  // t-SNE on the test codes when there are some (the points the model never trained on), else
  // on the first training rows.
  const bool on_test = test_codes.defined();
  const Tensor codes = on_test ? test_codes : train_codes;
  const Tensor labels = on_test ? test_labels : ctx.labels;
  const std::int64_t n = std::min(wanted, codes.size(0));
  if (n < 10) return;  // too few points for a perplexity of 30 to mean anything
  ctx.progress->message("t-SNE of " + std::to_string(n) + (on_test ? " test" : " training") + " codes ...");
  algorithms::TSNE tsne({.perplexity = std::min(30.0, (static_cast<double>(n) - 1.0) / 3.0), .random_state = ctx.seed});
  const Tensor points = tsne.fit_transform(codes.narrow(0, 0, n).detach().to(kCPU, kFloat64));
  ctx.metrics["tsne_kl_divergence"] = tsne.kl_divergence();
  figures::ScatterOptions options{.names = ctx.class_names, .x_label = "t-SNE 1", .y_label = "t-SNE 2"};
  const std::string title = ctx.algorithm + ": t-SNE of " + std::to_string(n) + (on_test ? " test" : "") + " codes";
  write_figure(ctx, "embedding_tsne.png",
               figures::scatter_plot(title, points, labels.defined() ? labels.narrow(0, 0, n) : Tensor(), options));
}

void linear_probe_metric(RunContext& ctx, const Tensor& train_codes, const Tensor& train_labels,
                         const Tensor& test_codes, const Tensor& test_labels) {
  if (!ctx.params.get_bool("probe") || !train_labels.defined() || !test_codes.defined() || !test_labels.defined()) return;
  // 10000 training codes are plenty for a linear model on a few dozen features, and keep the
  // full-batch L-BFGS to seconds.
  const std::int64_t n = std::min<std::int64_t>(train_codes.size(0), 10000);
  const Tensor x = train_codes.narrow(0, 0, n).detach().to(kCPU, kFloat64);
  const Tensor x_test = test_codes.detach().to(kCPU, kFloat64);
  metrics::LogisticRegression probe({.l2 = 1e-4, .max_iter = 500});
  probe.fit(x, train_labels.narrow(0, 0, n));
  ctx.metrics["probe_accuracy"] = probe.score(x_test, test_labels);
  ctx.metrics["probe_train_samples"] = n;
}

void save_confusion_matrix(RunContext& ctx, const std::string& file, const std::string& title,
                           const Tensor& true_labels, const Tensor& predicted, std::int64_t num_classes) {
  const Tensor counts = metrics::confusion_matrix(true_labels, predicted, num_classes).contiguous();
  const std::int64_t* n = counts.data_ptr<std::int64_t>();
  auto name = [&](std::int64_t k) {
    return k < static_cast<std::int64_t>(ctx.class_names.size()) ? ctx.class_names[static_cast<std::size_t>(k)]
                                                                  : std::to_string(k);
  };
  const int cell = 44;
  int name_w = 0;
  for (std::int64_t k = 0; k < num_classes; ++k) name_w = std::max(name_w, image::text_width(name(k)));
  const int left = 40 + name_w + 8, top = 48 + name_w + 8, grid = cell * static_cast<int>(num_classes);
  image::Canvas canvas(std::max(left + grid + 20, image::text_width(title, 2) + 40), top + grid + 36);
  canvas.draw_text(20, 14, title, image::kBlack, 2);
  canvas.draw_text(left + (grid - image::text_width("predicted class")) / 2, 38, "predicted class", image::kBlack);
  canvas.draw_text_up(12, top + (grid - image::text_width("true class")) / 2, "true class", image::kBlack);
  for (std::int64_t r = 0; r < num_classes; ++r) {
    const int y = top + static_cast<int>(r) * cell;
    canvas.draw_text(left - 8 - image::text_width(name(r)), y + (cell - image::text_height()) / 2, name(r), image::kBlack);
    canvas.draw_text_up(left + static_cast<int>(r) * cell + (cell - image::text_height()) / 2,
                        top - 6 - image::text_width(name(r)), name(r), image::kBlack);
    std::int64_t row_total = 0;
    for (std::int64_t c = 0; c < num_classes; ++c) row_total += n[r * num_classes + c];
    for (std::int64_t c = 0; c < num_classes; ++c) {
      const std::int64_t count = n[r * num_classes + c];
      const double fraction = row_total > 0 ? static_cast<double>(count) / static_cast<double>(row_total) : 0.0;
      const int x = left + static_cast<int>(c) * cell;
      canvas.fill_rect(x, y, cell, cell, image::sequential(fraction));
      const std::string text = std::to_string(count);
      if (count > 0)
        canvas.draw_text(x + (cell - image::text_width(text)) / 2, y + (cell - image::text_height()) / 2, text,
                         fraction > 0.5 ? image::kWhite : image::kBlack);
    }
  }
  canvas.draw_rect(left - 1, top - 1, grid + 2, grid + 2, image::kGray);
  canvas.draw_text(left, top + grid + 14, "colour: fraction of the true class; numbers: counts", image::kGray);
  write_figure(ctx, file, canvas);
}

// ---- autoencoders ----------------------------------------------------------------------------------------

std::shared_ptr<algorithms::Autoencoder> make_autoencoder(const RunContext& ctx, const std::string& model,
                                                          const Shape& image_shape) {
  const std::int64_t latent_dim = ctx.params.get_int("latent_dim");
  if (model == "conv") return std::make_shared<algorithms::ConvAutoencoder>(latent_dim, image_shape);
  CAKE_CHECK(model == "mlp", ctx.algorithm, ": model must be conv or mlp, got ", model);
  return std::make_shared<algorithms::MLPAutoencoder>(ctx.params.get_int_list("hidden"), latent_dim, image_shape);
}

AutoencoderRun run_autoencoder(RunContext& ctx, const ObjectiveOptions& objective) {
  AutoencoderRun run;
  run.images = run_images(ctx);
  run.model = make_autoencoder(ctx, objective.model, run.images.image_shape);
  run.model->to(ctx.device);
  algorithms::Autoencoder& model = *run.model;
  optim::Adam adam(model.parameters(),
                   {.lr = ctx.params.get_float("lr"), .weight_decay = ctx.params.get_float("weight_decay")});
  const Device device = ctx.device;
  const algorithms::BatchLoss loss = [&, device](const data::Batch& batch) {
    const Tensor x = batch.x.to(device);
    switch (objective.objective) {
      case Objective::Denoising: return algorithms::denoising_loss(model, x, objective.denoising);
      case Objective::Masked: return algorithms::masked_loss(model, x, objective.masking);
      case Objective::Reconstruction: break;
    }
    return algorithms::reconstruction_loss(model, x);
  };
  const char* loss_name = objective.objective == Objective::Masked ? "MSE per hidden pixel" : "MSE per pixel";
  algorithms::Trainer trainer(model, adam, loss, trainer_options(ctx));
  run.result = train_and_log(ctx, trainer, run.images, loss_name);
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
    // so these are mostly not images (seed 004, figure 3), the gap the VAE closes.
    save_image_rows(ctx, "random_codes.png", {model.decode(randn({10, model.latent_dim()}).to(device))});
  }

  run.train_codes = algorithms::encode_all(model, images.all);
  if (images.test.defined()) run.test_codes = algorithms::encode_all(model, images.test);
  save_latent_space(ctx, run.train_codes, run.test_codes, images.test_labels);
  linear_probe_metric(ctx, run.train_codes, images.all_labels, run.test_codes, images.test_labels);
  return run;
}

std::vector<ParamSpec> clustering_params(const std::string& method) {
  std::vector<ParamSpec> p{{"n_clusters", ParamType::Int, "10", "number of clusters"},
                           {"n_init", ParamType::Int, method == "gmm" ? "3" : "10",
                            "restarts of the clusterer; the best objective wins"}};
  if (method == "gmm")
    p.push_back({"covariance_type", ParamType::String, "full", "covariance of each Gaussian",
                 {"full", "diag", "tied", "spherical"}});
  return p;
}

void run_autoencoder_clustering(RunContext& ctx, const std::string& method) {
  const AutoencoderRun run = run_autoencoder(ctx, {.model = ctx.params.get_string("model")});
  ctx.progress->message("clustering " + std::to_string(run.train_codes.size(0)) + " codes with " + method + " ...");
  const Tensor labels = algorithms::cluster_codes(
      run.train_codes, {.method = method,
                        .n_clusters = ctx.params.get_int("n_clusters"),
                        .n_init = ctx.params.get_int("n_init"),
                        .covariance_type = method == "gmm" ? ctx.params.get_string("covariance_type") : "full",
                        .seed = ctx.seed});
  ctx.save_labels(labels);
}

// ---- VAEs --------------------------------------------------------------------------------------------

std::vector<ParamSpec> vae_params(const std::string& model, std::int64_t latent_dim, const std::string& likelihood) {
  std::vector<ParamSpec> p{{"latent_dim", ParamType::Int, std::to_string(latent_dim), "size of the code z"}};
  if (model == "mlp") p.push_back({"hidden", ParamType::IntList, "400", "hidden layer sizes of the encoder"});
  p.push_back({"beta", ParamType::Float, "1", "weight of the KL term (1: VAE, > 1: beta-VAE)"});
  p.push_back({"likelihood", ParamType::String, likelihood,
               "bernoulli: summed binary cross-entropy; gaussian: summed squared error (seed 004, eq. 1)",
               {"bernoulli", "gaussian"}});
  return p;
}

namespace {

// The ELBO's terms on a whole set, per image: (total, reconstruction, kl), one eps draw each.
std::array<double, 3> vae_terms(algorithms::VariationalAutoencoder& model, const Tensor& images,
                                const algorithms::VAELossOptions& options) {
  const bool was_training = model.is_training();
  model.eval();
  const Tensor sums = algorithms::map_batches(
      [&](const Tensor& x) {
        const algorithms::VAELoss l = algorithms::vae_loss(model, x, options);
        const double n = static_cast<double>(x.size(0));
        return tensor({l.total.item<double>() * n, l.reconstruction.item<double>() * n, l.kl.item<double>() * n}, {1, 3},
                      kFloat64);
      },
      images);
  model.train(was_training);
  const Tensor total = sums.sum({0}) / static_cast<double>(images.size(0));
  return {total[0].item<double>(), total[1].item<double>(), total[2].item<double>()};
}

}  // namespace

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
  algorithms::Trainer trainer(model, adam, loss, trainer_options(ctx));
  train_and_log(ctx, trainer, images, "negative ELBO per image");
  save(model, ctx.path("model.safetensors").string());

  if (images.test.defined()) {
    const auto [total, reconstruction, kl] = vae_terms(model, images.test, options);
    ctx.metrics["test_loss"] = total;
    ctx.metrics["test_reconstruction"] = reconstruction;
    ctx.metrics["test_kl"] = kl;
    model.eval();
    const Tensor sums = algorithms::map_batches(
        [&](const Tensor& x) { return (model.decode(model.encode(x).mean) - x).square().sum().reshape({1}).to(kFloat64); },
        images.test);
    ctx.metrics["test_mse"] = sums.sum().item<double>() / static_cast<double>(images.test.numel());
  }

  const Tensor& shown_from = images.test.defined() ? images.test : (images.val.defined() ? images.val : images.train);
  const Tensor& shown_labels = images.test.defined() ? images.test_labels : images.val_labels;
  const Tensor examples = pick_examples(shown_from, shown_labels, 10);
  {
    NoGradGuard no_grad;
    model.eval();
    save_image_rows(ctx, "reconstructions.png", {examples, model.decode(model.encode(examples).mean)});
    // 64 decoded draws of the prior as an 8 x 8 grid (seed 004, figure 6).
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
