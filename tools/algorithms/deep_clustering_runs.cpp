// deep_clustering_runs.cpp: the plumbing `cake run deepcluster` and `cake run dac` share
// (deep_clustering_runs.h).
#include "tools/algorithms/deep_clustering_runs.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "cake/algorithms/decomposition/pca.h"
#include "cake/algorithms/deep_clustering/n2d.h"
#include "cake/algorithms/metrics/metrics.h"
#include "cake/algorithms/train/linear_probe.h"
#include "cake/autograd/ops.h"
#include "cake/data/npy.h"
#include "cake/data/transforms.h"
#include "cake/distributed/process_group.h"
#include "cake/tensor/creation.h"
#include "tools/algorithms/device_training.h"
#include "tools/errors.h"
#include "tools/output.h"

namespace cake::cli::deep_runs {

namespace {
std::string number_text(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}
}  // namespace

std::vector<ParamSpec> convnet_params(const std::string& arch, bool sobel) {
  return {{"arch", ParamType::String, arch,
           "the convnet: vgg (3x3 conv blocks with batch norm) or alexnet (five conv layers, batch norm in place of "
           "LRN), both scaled down to 28x28, or dac (the all-convolutional MNIST network of DAC's released code, "
           "10 features; hidden and dropout do not apply) (algorithms/networks/convnets.h)",
           {"vgg", "alexnet", "dac"}},
          {"sobel", ParamType::Bool, sobel ? "true" : "false",
           "feed the Sobel gradients of the grey image (Caron et al. 2018, section 4.1) instead of the pixels"},
          {"hidden", ParamType::Int, "512", "width of the classifier's two Linear layers (the feature size)"},
          {"dropout", ParamType::Float, "0.5", "dropout in the classifier (AlexNet's and VGG's 0.5)"}};
}

std::vector<ParamSpec> augmentation_params(double crop_scale, bool jitter) {
  return {{"crop_scale", ParamType::Float, number_text(crop_scale),
           "random resized crop: the smallest fraction of the image area a crop keeps (1: no crop)"},
          {"hflip", ParamType::String, "auto",
           "random horizontal flips: auto flips Fashion-MNIST (clothes stay clothes) but not digits or other data",
           {"auto", "true", "false"}},
          {"jitter", ParamType::Bool, jitter ? "true" : "false",
           "small affine jitter: rotation up to 10 degrees, shift up to 0.1, zoom 0.95 to 1.05 (DAC's released code)"}};
}

std::vector<ParamSpec> training_params(std::int64_t epochs, std::int64_t batch_size, double lr, double weight_decay) {
  return {{"epochs", ParamType::Int, std::to_string(epochs), "the most epochs to train, at least 1"},
          {"batch_size", ParamType::Int, std::to_string(batch_size), "images per mini-batch"},
          {"lr", ParamType::Float, number_text(lr), "learning rate"},
          {"weight_decay", ParamType::Float, number_text(weight_decay), "L2 weight decay added to the gradient"},
          {"resume", ParamType::String, "",
           "start from this checkpoint.safetensors of another run; to continue a run in its own folder exactly, use "
           "--out RUN --resume instead"},
          device_training_params()[0], device_training_params()[1]};
}

cake::networks::ConvNetOptions convnet_options(const RunContext& ctx, std::int64_t num_outputs, bool head_norm,
                                         bool classifier_norm) {
  const Shape& shape = *ctx.image_shape;
  if (shape[1] != shape[2])
    throw UsageError(ctx.algorithm + ": the convnets take square images, got " + std::to_string(shape[1]) + "x" +
                     std::to_string(shape[2]));
  return {.arch = ctx.params.get_string("arch"),
          .sobel = ctx.params.get_bool("sobel"),
          .in_channels = shape[0],
          .image_size = shape[1],
          .hidden = ctx.params.get_int("hidden"),
          .num_outputs = num_outputs,
          .dropout = ctx.params.get_float("dropout"),
          .head_norm = head_norm,
          .classifier_norm = classifier_norm};
}

bool auto_flip(const std::string& data_name) { return data_name.rfind("fashion-mnist", 0) == 0; }

data::Transform augmentation(const RunContext& ctx) {
  std::vector<std::function<Tensor(Tensor)>> steps;
  const double scale = ctx.params.get_float("crop_scale");
  if (!(scale > 0.0 && scale <= 1.0))
    throw UsageError(ctx.algorithm + ": crop_scale must be in (0, 1], got " + number_text(scale));
  if (scale < 1.0) steps.push_back(data::RandomResizedCrop((*ctx.image_shape)[1], scale));
  const std::string& flip = ctx.params.get_string("hflip");
  if (flip == "true" || (flip == "auto" && auto_flip(ctx.data_name))) steps.push_back(data::RandomHorizontalFlip(0.5));
  if (ctx.params.get_bool("jitter")) steps.push_back(data::RandomAffine(10.0, 0.1, 0.95, 1.05));
  if (steps.empty()) return nullptr;
  return data::Compose(std::move(steps));
}

Tensor run_images(const RunContext& ctx) {
  CAKE_CHECK(ctx.image_shape.has_value(), ctx.algorithm, " trains on images: use a named data set (fashion-mnist:test) ",
             "or an .npy of [N, H, W] or [N, C, H, W] images; ", ctx.data_name, " holds plain feature rows");
  Shape shape{ctx.data.size(0)};
  shape.insert(shape.end(), ctx.image_shape->begin(), ctx.image_shape->end());
  return ctx.data.reshape(shape);
}

train::TrainerOptions trainer_options(const RunContext& ctx) {
  const std::int64_t epochs = ctx.params.get_int("epochs");
  if (epochs < 1) throw UsageError(ctx.algorithm + ": epochs must be at least 1, got " + std::to_string(epochs));
  const std::int64_t batch_size = ctx.params.get_int("batch_size");
  if (batch_size < 1) throw UsageError(ctx.algorithm + ": batch_size must be at least 1, got " + std::to_string(batch_size));
  // With --resume the run continues from its own checkpoint. A resume=PATH among its parameters
  // is where it branched from when it started (config.json keeps it, and run.cpp refuses a
  // --resume that names another one), not a second starting point.
  const std::string& other_run = ctx.params.get_string("resume");
  train::TrainerOptions options{.epochs = epochs,
                                .batch_size = batch_size,
                                .patience = 0,
                                .restore_best = false,
                                .seed = ctx.seed,
                                .checkpoint_path = ctx.path("checkpoint.safetensors").string(),
                                .resume_from = ctx.resume_checkpoint.empty() ? other_run : ctx.resume_checkpoint.string(),
                                .should_stop = ctx.stop_requested};
  apply_device_training_params(ctx, options);
  return options;
}

void epoch_done(RunContext& ctx, std::int64_t epoch, const std::vector<std::pair<std::string, double>>& shown,
                const std::function<void(const std::string&)>& set_checkpoint_path) {
  // The first checkpoint exists: the run takes its place in --out (tools/output.h), and the
  // checkpoints follow it there.
  if (ctx.publish) {
    ctx.publish();
    // Under mpirun only rank 0 writes checkpoints (distributed/data_parallel.h).
    if (distributed::default_group().rank() == 0) set_checkpoint_path(ctx.path("checkpoint.safetensors").string());
  }
  ctx.progress->update(epoch, shown);
}

void finish_training(RunContext& ctx, const train::TrainResult& result) {
  ctx.progress->finish();
  if (result.resumed_from_epoch > 0) {
    ctx.log({{"event", "resumed"}, {"checkpoint_epoch", result.resumed_from_epoch}, {"changes", result.resume_changes}});
    ctx.metrics["resumed_from_epoch"] = result.resumed_from_epoch;
    if (!result.resume_changes.empty()) ctx.metrics["resume_changes"] = result.resume_changes;
  }
  if (result.stop_reason == train::StopReason::Interrupted) throw RunInterrupted(result.message);
  ctx.log({{"event", "training_stopped"}, {"reason", train::to_string(result.stop_reason)}, {"message", result.message}});
  if (result.stop_reason == train::StopReason::NonFiniteLoss) CAKE_FAIL(ctx.algorithm, ": ", result.message);
  ctx.progress->message(result.message);
  ctx.metrics["epochs_run"] = result.history.size();
  ctx.metrics["stop_reason"] = train::to_string(result.stop_reason);
  double total = 0.0;
  std::int64_t counted = 0;
  for (const train::EpochStats& s : result.history)
    if (s.epoch > result.resumed_from_epoch) total += s.seconds, ++counted;
  if (counted > 0) ctx.metrics["epoch_time_s"] = total / static_cast<double>(counted);
}

void test_split_scores(RunContext& ctx, const Tensor& test_clusters) {
  ctx.metrics["test_nmi"] = metrics::nmi(ctx.test_labels, test_clusters);
  ctx.metrics["test_acc"] = metrics::acc(ctx.test_labels, test_clusters);
  ctx.metrics["test_ari"] = metrics::ari(ctx.test_labels, test_clusters);
  ctx.metrics["test_samples"] = test_clusters.size(0);
}

std::vector<ParamSpec> n2d_params(std::int64_t default_pixel_pca) {
  return {{"n2d", ParamType::Bool, "false",
           "also cluster the scoring rows as N2D does (UMAP to eval_clusters dimensions, 20 neighbours, min_dist 0, "
           "then a full-covariance GMM with 5 starts), over every image of the run (with a test split, the training "
           "and test images together) (n2d_nmi, n2d_acc, n2d_ari, n2d_labels.npy)"},
          {"n2d_pixel_pca", ParamType::Int, std::to_string(default_pixel_pca),
           "with n2d: join the rows with this many principal components of the pixels, each view scaled to unit "
           "RMS (0: the rows alone; docs/algorithms/umap_n2d.md)"}};
}

namespace {

// The images of `data` as rows [N, pixels], float32 on the CPU.
Tensor pixel_rows(const Tensor& data) { return data.detach().reshape({data.size(0), -1}).to(kCPU, kFloat32).contiguous(); }

}  // namespace

// The recipe needs only "a good representation": measured on Fashion-MNIST it adds about 0.05
// NMI to k-means on DeepCluster's rows and 0.055 on MoCo's; joining the pixels' principal
// components adds about 0.015 more to DeepCluster's, nothing to MoCo's (docs/algorithms/umap_n2d.md).
void check_n2d_params(const RunContext& ctx) {
  const std::int64_t pixel_pca = ctx.params.get_int("n2d_pixel_pca");
  if (pixel_pca < 0) throw UsageError(ctx.algorithm + ": n2d_pixel_pca must be >= 0, got " + std::to_string(pixel_pca));
}

void n2d_scores(RunContext& ctx, const Tensor& train_rows, const Tensor& test_rows, std::int64_t k) {
  check_n2d_params(ctx);
  const std::int64_t pixel_pca = ctx.params.get_int("n2d_pixel_pca");
  Tensor rows = test_rows.defined() ? cat({train_rows, test_rows}, 0) : train_rows;
  if (pixel_pca > 0) {
    const Tensor train_pixels = pixel_rows(ctx.data);
    decomposition::PCA pca({.n_components = std::min({pixel_pca, train_pixels.size(1), train_pixels.size(0)}),
                            .random_state = 0});
    pca.fit(train_pixels);
    Tensor components = pca.transform(train_pixels);
    if (test_rows.defined()) components = cat({components, pca.transform(pixel_rows(ctx.test_data))}, 0);
    rows = deep_clustering::join_views({rows, components});
  }
  Tensor truth;
  if (ctx.labels.defined() && (!test_rows.defined() || ctx.test_labels.defined()))
    truth = test_rows.defined() ? cat({ctx.labels.cpu(), ctx.test_labels.cpu()}, 0) : ctx.labels.cpu();
  ctx.progress->message("N2D: UMAP + GMM on " + std::to_string(rows.size(0)) + " rows of " +
                        std::to_string(rows.size(1)) + " ...");
  // Unit rows alone compare by angle (cosine); joined views by their scaled coordinates.
  deep_clustering::N2D n2d({.n_clusters = k,
                            .n_neighbors = 20,
                            .min_dist = 0.0,
                            .metric = pixel_pca > 0 ? "euclidean" : "cosine",
                            .n_init = 5,
                            .random_state = ctx.seed,
                            .on_message = [&](const std::string& text) { ctx.progress->message(text); }});
  const Tensor clusters = n2d.fit_predict(rows);
  data::write_npy(ctx.path("n2d_labels.npy"), clusters.contiguous());
  ctx.metrics["n2d_samples"] = rows.size(0);
  ctx.metrics["n2d_dim"] = rows.size(1);
  if (!truth.defined()) return;
  ctx.metrics["n2d_nmi"] = metrics::nmi(truth, clusters);
  ctx.metrics["n2d_acc"] = metrics::acc(truth, clusters);
  ctx.metrics["n2d_ari"] = metrics::ari(truth, clusters);
}

void feature_metrics(RunContext& ctx, const Tensor& features, const Tensor& labels, const Tensor& test_features,
                     const Tensor& test_labels, const std::string& prefix) {
  if (!labels.defined()) return;
  const Tensor x = features.detach().to(kCPU, kFloat64);
  // Leave-one-out 10-NN on unit rows (cosine neighbours), on up to 10000 rows: O(N^2) distances.
  const std::int64_t n_knn = std::min<std::int64_t>(x.size(0), 10000);
  ctx.metrics[prefix + "knn_accuracy"] =
      metrics::knn_accuracy(decomposition::l2_normalize_rows(x.narrow(0, 0, n_knn)), labels.narrow(0, 0, n_knn), 10);
  ctx.metrics[prefix + "knn_k"] = 10;
  if (!ctx.params.get_bool("probe")) return;
  // Standardised features: the logistic regression's L2 penalty then means the same per feature.
  Tensor train_x, train_y, test_x, test_y;
  if (test_features.defined() && test_labels.defined()) {
    const std::int64_t n = std::min<std::int64_t>(x.size(0), 10000);
    train_x = x.narrow(0, 0, n);
    train_y = labels.narrow(0, 0, n);
    test_x = test_features.detach().to(kCPU, kFloat64);
    test_y = test_labels;
  } else {
    const std::int64_t n = std::min<std::int64_t>(x.size(0), 12500);
    const std::int64_t cut = n * 4 / 5;
    if (cut < 2 || n - cut < 1) return;
    train_x = x.narrow(0, 0, cut);
    train_y = labels.narrow(0, 0, cut);
    test_x = x.narrow(0, cut, n - cut);
    test_y = labels.narrow(0, cut, n - cut);
  }
  const Tensor mean = train_x.mean(0, true);
  const Tensor scale = train_x.std(0, true).clamp(1e-8, std::nullopt);
  train::LogisticRegression probe({.l2 = 1e-4, .max_iter = 500});
  probe.fit((train_x - mean) / scale, train_y);
  ctx.metrics[prefix + "probe_accuracy"] = probe.score((test_x - mean) / scale, test_y);
  ctx.metrics[prefix + "probe_train_samples"] = train_x.size(0);
  ctx.metrics[prefix + "probe_test_samples"] = test_x.size(0);
}

// ---- under mpirun ----------------------------------------------------------------------------------

Tensor gather_sharded(distributed::DistributedDataParallel& ddp, const Tensor& images,
                      const std::function<Tensor(const Tensor& rows)>& compute) {
  ddp.broadcast_parameters();  // the same network on every rank, batch-norm statistics included
  distributed::ProcessGroup& group = ddp.group();
  const distributed::Shard mine = distributed::shard_rows(images.size(0), group.rank(), group.world_size());
  const Tensor part = compute(images.narrow(0, mine.begin, mine.size()));
  return group.all_gather(part.cpu().contiguous()).to(part.device());
}

std::function<Tensor(cake::networks::ConvNet&, const Tensor&)> sharded_features(distributed::DistributedDataParallel& ddp) {
  return [&ddp](cake::networks::ConvNet& net, const Tensor& images) {
    return gather_sharded(ddp, images, [&](const Tensor& rows) { return cake::networks::features_all(net, rows); });
  };
}

std::function<deep_clustering::GatheredBatch(const Tensor&)> gathered_batch(distributed::DistributedDataParallel& ddp) {
  return [&group = ddp.group()](const Tensor& mine) {
    // Where this rank's rows start: the part sizes of the lower ranks (all ranks' parts are
    // equal under the distributed sampler but for the padding of a short last batch).
    Tensor sizes = zeros({group.world_size()}, kFloat64);
    sizes.data_ptr<double>()[group.rank()] = static_cast<double>(mine.size(0));
    group.all_reduce(sizes, distributed::ReduceOp::Sum);
    std::int64_t offset = 0;
    for (int r = 0; r < group.rank(); ++r) offset += static_cast<std::int64_t>(sizes.data_ptr<double>()[r]);
    const Device device = mine.device();
    return deep_clustering::GatheredBatch{.all = group.all_gather(mine.detach().cpu().contiguous()).to(device),
                                          .offset = offset,
                                          .ranks = group.world_size()};
  };
}

}  // namespace cake::cli::deep_runs
