// network_runs.cpp: the run plumbing the network algorithms' wrappers share (network_runs.h):
// the training parameters, the images of a run, the training loop with its log, checkpoint
// folder and interruption, and the figures. The families live beside it:
// network_runs_autoencoders.cpp, network_runs_vaes.cpp and network_runs_probes.cpp.
#include "tools/algorithms/network_runs.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <sstream>

#include "cake/algorithms/manifold/tsne.h"
#include "cake/autograd/ops.h"
#include "cake/distributed/data_parallel.h"
#include "cake/distributed/sync_batchnorm.h"
#include "cake/tensor/creation.h"
#include "tools/figures.h"
#include "tools/output.h"

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

ParamSpec sync_bn_param() {
  return {"sync_bn", ParamType::Bool, "false",
          "under mpirun: BatchNorm layers normalise with the statistics of every rank's share of the batch "
          "(SyncBatchNorm: the same as one process, two all-reduces per layer and pass); false: each rank's own "
          "(docs/distributed.md)"};
}

std::vector<ParamSpec> with_training_params(std::vector<ParamSpec> own, const TrainingDefaults& d) {
  // The report these networks come from: Bortoletto 2021, "Unsupervised deep learning",
  // section 2.2 (Adam, lr 1e-3, weight decay 1e-5, up to 150 epochs with early stopping).
  own.push_back({"epochs", ParamType::Int, std::to_string(d.epochs),
                 "the most epochs to train, at least 1 (Bortoletto 2021 trains up to 150)"});
  own.push_back({"batch_size", ParamType::Int, std::to_string(d.batch_size), "samples per mini-batch"});
  own.push_back({"lr", ParamType::Float, number_text(d.lr),
                 "learning rate of the optimiser (default " + number_text(d.lr) + "; Bortoletto 2021: Adam at 1e-3)"});
  own.push_back({"weight_decay", ParamType::Float, number_text(d.weight_decay),
                 "L2 weight decay added to the gradient (default " + number_text(d.weight_decay) +
                     "; Bortoletto 2021 uses 1e-5 for its autoencoders)"});
  own.push_back({"patience", ParamType::Int, std::to_string(d.patience),
                 "early stopping: epochs without a validation improvement before stopping (0: never)"});
  own.push_back({"min_delta", ParamType::Float, number_text(d.min_delta),
                 "early stopping: the validation loss must fall by more than this to count as an improvement"});
  own.push_back({"val_fraction", ParamType::Float, "0.1", "fraction of the training rows held out for validation"});
  own.push_back({"resume", ParamType::String, "",
                 "start from this checkpoint.safetensors of another run (its weights, optimiser and epoch); "
                 "settings that differ from it are applied and listed in log.jsonl. To continue a run in its own "
                 "folder exactly, use --out RUN --resume instead"});
  for (ParamSpec& p : device_training_params()) own.push_back(std::move(p));
  return own;
}

std::vector<ParamSpec> analysis_params() {
  return {{"tsne_samples", ParamType::Int, "2000", "test codes embedded with t-SNE for embedding_tsne.png (0: none)"},
          {"probe", ParamType::Bool, "true", "fit a linear probe (logistic regression) from codes to classes"}};
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
  const std::int64_t epochs = ctx.params.get_int("epochs");
  if (epochs < 1) throw UsageError(ctx.algorithm + ": epochs must be at least 1, got " + std::to_string(epochs));
  const double min_delta = ctx.params.get_float("min_delta");
  if (!(min_delta >= 0.0)) throw UsageError(ctx.algorithm + ": min_delta must be non-negative, got " + number_text(min_delta));
  // With --resume the run continues from its own checkpoint. A resume=PATH among its parameters
  // is where it branched from when it started (config.json keeps it, and run.cpp refuses a
  // --resume that names another one), not a second starting point.
  const std::string& other_run = ctx.params.get_string("resume");
  std::function<bool()> stop = ctx.stop_requested;
  algorithms::TrainerOptions options{.epochs = epochs,
                                     .batch_size = ctx.params.get_int("batch_size"),
                                     .patience = ctx.params.get_int("patience"),
                                     .min_delta = min_delta,
                                     .seed = ctx.seed,
                                     .checkpoint_path = ctx.path("checkpoint.safetensors").string(),
                                     .resume_from = ctx.resume_checkpoint.empty() ? other_run : ctx.resume_checkpoint.string(),
                                     .should_stop = stop};
  apply_device_training_params(ctx, options);
  return options;
}

std::unique_ptr<distributed::DistributedDataParallel> data_parallel(RunContext& ctx, nn::Module& model,
                                                                    algorithms::TrainerOptions& options,
                                                                    std::int64_t train_size) {
  distributed::ProcessGroup& group = distributed::default_group();
  const int p = group.world_size();
  if (p == 1) return nullptr;
  if (options.batch_size % p != 0)
    throw UsageError(ctx.algorithm + ": batch_size " + std::to_string(options.batch_size) + " must be a multiple of the " +
                     std::to_string(p) + " ranks (each rank takes batch_size / ranks samples of every batch)");
  options.batch_size /= p;
  // (A network without batch norm has no sync_bn parameter: nothing to synchronise.)
  if (ctx.params.json().contains("sync_bn") && ctx.params.get_bool("sync_bn")) {
    const std::int64_t layers = distributed::convert_sync_batchnorm(model, group);
    ctx.progress->message(layers == 0 ? std::string("sync_bn: this network has no BatchNorm layer; nothing to synchronise")
                                      : "sync_bn: " + std::to_string(layers) +
                                            " BatchNorm layers normalise with the statistics of all ranks");
  }
  auto ddp = std::make_unique<distributed::DistributedDataParallel>(model, group);
  distributed::make_data_parallel(options, *ddp, train_size);
  ctx.progress->message(std::to_string(p) + " ranks, " + std::to_string(options.batch_size) + " samples of each batch per rank, " +
                        std::to_string(ddp->num_buckets()) + " gradient buckets");
  return ddp;
}

// ---- training -------------------------------------------------------------------------------------------

algorithms::TrainResult train_and_log(RunContext& ctx, algorithms::Trainer& trainer, const RunImages& images,
                                      const std::string& loss_name, double plateau_baseline) {
  // The loss of an epoch over the mean-image loss (the validation loss when there is one).
  auto vs_mean_image = [&](const algorithms::EpochStats& s) {
    return (std::isnan(s.val_loss) ? s.train_loss : s.val_loss) / plateau_baseline;
  };
  bool plateau_reported = false;
  auto log_epoch = [&](const algorithms::EpochStats& s, bool from_checkpoint) {
    nlohmann::json record = {{"epoch", s.epoch}, {"train_loss", s.train_loss}, {"epoch_time_s", s.seconds}};
    record["val_loss"] = std::isnan(s.val_loss) ? nlohmann::json(nullptr) : nlohmann::json(s.val_loss);
    if (plateau_baseline > 0.0) {
      const double ratio = vs_mean_image(s);
      record["loss_vs_mean_image"] = ratio;
      if (ratio >= cake::networks::kPlateauRatio) {
        record["plateau"] = true;
        if (!plateau_reported && !from_checkpoint)
          ctx.progress->message("epoch " + std::to_string(s.epoch) + ": the loss is " + number_text(ratio * 100.0) +
                                "% of the mean image's (" + number_text(plateau_baseline) +
                                "): the model still rebuilds every input as the mean image (plateau)");
        plateau_reported = true;
      }
    }
    if (from_checkpoint) record["from_checkpoint"] = true;
    ctx.log(record);
  };
  ctx.progress->start("epoch", trainer.options().epochs);
  trainer.on_epoch_end([&](const algorithms::EpochStats& s) {
    // The first checkpoint exists: the run takes its place in --out (tools/output.h), and the
    // checkpoints follow it there.
    if (ctx.publish) {
      ctx.publish();
      // (Under mpirun only rank 0 writes checkpoints: the others have no path to follow.)
      if (!trainer.options().checkpoint_path.empty())
        trainer.set_checkpoint_path(ctx.path("checkpoint.safetensors").string());
    }
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
    // Settings that differ from the checkpoint's were applied as asked: say which.
    std::vector<std::string> changes = result.resume_changes;
    const std::filesystem::path source_config = std::filesystem::path(trainer.options().resume_from).parent_path() / "config.json";
    if (ctx.resume_checkpoint.empty() && std::filesystem::exists(source_config)) {
      const nlohmann::json before = read_json_file(source_config);
      if (before.contains("data") && before["data"] != ctx.data_name)
        changes.push_back("data: " + before["data"].get<std::string>() + " -> " + ctx.data_name);
      const nlohmann::json& old_params = before.contains("params") ? before["params"] : nlohmann::json::object();
      for (const auto& item : ctx.params.json().items())
        if (item.key() != "resume" && old_params.contains(item.key()) && old_params[item.key()] != item.value() &&
            item.key() != "lr" && item.key() != "weight_decay" && item.key() != "batch_size")
          changes.push_back(item.key() + ": " + old_params[item.key()].dump() + " -> " + item.value().dump());
    }
    ctx.log({{"event", "resumed"}, {"from", trainer.options().resume_from}, {"checkpoint_epoch", result.resumed_from_epoch},
             {"changes", changes}});
    ctx.metrics["resumed_from_epoch"] = result.resumed_from_epoch;
    if (!changes.empty()) {
      ctx.metrics["resume_changes"] = changes;
      std::string list;
      for (const std::string& c : changes) list += (list.empty() ? "" : "; ") + c;
      ctx.progress->message("changed since the checkpoint, applied as asked: " + list);
    }
  }
  if (result.stop_reason == algorithms::StopReason::Interrupted) throw RunInterrupted(result.message);

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
  CAKE_CHECK(!result.history.empty(), ctx.algorithm, ": no epoch was trained (", result.message, ")");
  const std::int64_t kept = std::clamp<std::int64_t>(result.best_epoch, 1, static_cast<std::int64_t>(result.history.size()));
  const algorithms::EpochStats& best = result.history.at(static_cast<std::size_t>(kept - 1));
  ctx.metrics["train_loss"] = best.train_loss;
  if (!std::isnan(best.val_loss)) ctx.metrics["val_loss"] = best.val_loss;
  ctx.metrics["best_epoch"] = kept;
  if (plateau_baseline > 0.0) {
    // NOTE [ The mean-image plateau ] (algorithms/networks/autoencoder.h).
    const double ratio = vs_mean_image(best);
    const bool plateau = ratio >= cake::networks::kPlateauRatio;
    ctx.metrics["mean_image_mse"] = plateau_baseline;
    ctx.metrics["loss_vs_mean_image"] = ratio;
    ctx.metrics["plateau"] = plateau;
    if (plateau) {
      const std::string text = "the kept model's loss is " + number_text(ratio * 100.0) +
                               "% of the loss of rebuilding every image as the mean image: it sits on the mean-image "
                               "plateau and its codes carry little about the input (train longer, lower batch_size, or "
                               "change lr)";
      ctx.log({{"event", "plateau"}, {"loss_vs_mean_image", ratio}, {"mean_image_mse", plateau_baseline}, {"message", text}});
      ctx.progress->message("warning: " + text);
    }
  }
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

}  // namespace cake::cli::networks
