// moco.cpp: `cake run moco`, Momentum Contrast (He et al. 2020, CVPR) on a small ConvNet, and
// `cake run moco-ablation`, the poster's grid over queue length and momentum.
//
//   cake run moco --data fashion-mnist:train --out runs/moco --seed 0
//   cake run moco --out runs/moco --resume                          # continue after Ctrl-C
//   cake run moco-ablation --data fashion-mnist:train:10000 --out runs/moco-grid --set epochs=2
//
// A query encoder learns by InfoNCE (eq. 1) to pick the key of its own image's second view out
// of a queue of keys of earlier batches; the key encoder follows it by momentum (eq. 2). After
// training, the frozen features of the training and test images are evaluated: a linear probe
// (logistic regression, trained on the training features, scored on the test features) and a
// weighted k-NN classifier (k = 20 as DINO; also k = 200, the MoCo demo's monitor) on the conv
// trunk under the FC layer (probe_features: the paper's linear protocol reads the layer under the
// 128-D output layer, He et al. 2020, sections 3.3 and 4.1), and k-means with K = the number of
// classes on the L2-normalised 128 FC features (cluster_features) of the test images (NMI, ACC, ARI);
// n2d=true adds N2D's UMAP + GMM on the same rows (joined with the pixels' first n2d_pixel_pca
// principal components) of every image (n2d_nmi, n2d_acc, n2d_ari).
// model.safetensors holds the query encoder. Figures: loss_curve.png, similarity.png,
// features_tsne.png (t-SNE of test features), confusion_matrix.png and cluster_samples.png
// (k-means on the training features). Every file is listed in docs/algorithms/moco.md.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "cake/algorithms/cluster/kmeans.h"
#include "cake/algorithms/contrastive/moco.h"
#include "cake/algorithms/decomposition/pca.h"
#include "cake/algorithms/manifold/tsne.h"
#include "cake/algorithms/metrics/metrics.h"
#include "cake/algorithms/train/linear_probe.h"
#include "cake/data/npy.h"
#include "cake/data/transforms.h"
#include "cake/distributed/data_parallel.h"
#include "cake/nn/checkpoint.h"
#include "cake/tensor/random.h"
#include "tools/algorithms/deep_clustering_runs.h"
#include "tools/algorithms/network_runs.h"
#include "tools/errors.h"
#include "tools/figures.h"
#include "tools/output.h"

namespace cake::cli::moco_command {
namespace {

std::string number_text(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

// ---- parameters ---------------------------------------------------------------------------------

std::vector<ParamSpec> encoder_params() {
  return {{"backbone", ParamType::String, "small",
           "small: the poster's ConvNet (2 conv, 1 max-pool, 1 FC); vgg or alexnet: the convnets of DeepCluster/DAC "
           "(algorithms/networks/convnets.h)",
           {"small", "vgg", "alexnet"}},
          {"feature_dim", ParamType::Int, "128", "units of the backbone's last (FC) layer: the features evaluated"},
          {"dim", ParamType::Int, "128", "size of the normalised embedding q, k (He et al. 2020: 128)"},
          {"mlp_head", ParamType::Bool, "true", "projection head Linear-ReLU-Linear (MoCo v2); false: one Linear (v1)"},
          {"bn_splits", ParamType::Int, "8", "split batch norm into this many sub-batches (vgg/alexnet; demo: 8)"}};
}

std::vector<ParamSpec> moco_params(std::int64_t epochs) {
  std::vector<ParamSpec> p{
      {"queue", ParamType::Int, "4096", "queue length K (negatives), in the unit of queue_unit (demo: 4096 keys)"},
      {"queue_unit", ParamType::String, "samples", "what `queue` counts: samples (keys) or batches of keys",
       {"samples", "batches"}},
      {"momentum", ParamType::Float, "0.99", "m of the key encoder's update (demo: 0.99)"},
      {"temperature", ParamType::Float, "0.1", "tau of InfoNCE (demo: 0.1; paper: 0.07)"},
      {"cosine", ParamType::Bool, "true", "cosine learning-rate decay over the epochs (demo)"},
      {"shuffle_bn", ParamType::Bool, "true", "compute the keys on a shuffled batch (batch-norm backbones)"},
      {"crop_scale", ParamType::Float, "0.6", "random resized crop: smallest area fraction kept (1: no crop)"},
      {"hflip", ParamType::String, "auto", "random horizontal flips: auto flips Fashion-MNIST, not digits",
       {"auto", "true", "false"}},
      {"rotation", ParamType::Float, "10", "random rotation up to this many degrees (0: none)"},
      {"brightness", ParamType::Float, "0.4", "brightness jitter b ~ U(1 - x, 1 + x) (demo's ColorJitter 0.4)"},
      {"contrast", ParamType::Float, "0.4", "contrast jitter c ~ U(1 - x, 1 + x)"},
      {"jitter_p", ParamType::Float, "0.8", "probability of the brightness/contrast jitter (demo: 0.8)"},
      {"noise", ParamType::Float, "0.05", "Gaussian noise sigma added last, clipped to [0, 1] (0: none)"},
      {"probe_features", ParamType::String, "conv",
       "the layer the linear probe and k-NN read: conv (the trunk under the FC layer, the paper's linear protocol), "
       "fc (the backbone's 128 FC units) or head (the normalised embedding)",
       {"conv", "fc", "head"}},
      {"cluster_features", ParamType::String, "fc",
       "the layer k-means and t-SNE read: fc (the 128 FC units), conv (the trunk) or head (the normalised embedding)",
       {"fc", "conv", "head"}},
      {"probe", ParamType::Bool, "true", "fit the linear probe on the frozen features"},
      {"knn_k", ParamType::Int, "20",
       "neighbours of the weighted k-NN classifier (DINO: 20; metrics.json adds the MoCo demo's 200)"},
      {"kmeans_n_init", ParamType::Int, "50",
       "k-means restarts on the features (10 miss the lowest-inertia clustering about one seed in three)"},
      {"tsne_samples", ParamType::Int, "2000", "test features embedded with t-SNE for features_tsne.png (0: none)"}};
  // The pixels' view adds nothing to MoCo's rows (measured once, docs/algorithms/moco.md): off.
  for (ParamSpec& spec : deep_runs::n2d_params(0)) p.push_back(spec);
  for (ParamSpec& spec : encoder_params()) p.push_back(spec);
  for (ParamSpec& spec : deep_runs::training_params(epochs, 256, 0.03, 5e-4)) p.push_back(spec);
  return p;
}

contrastive::EncoderOptions encoder_options(const RunContext& ctx) {
  const Shape& shape = *ctx.image_shape;
  if (shape[1] != shape[2])
    throw UsageError(ctx.algorithm + ": the encoders take square images, got " + std::to_string(shape[1]) + "x" +
                     std::to_string(shape[2]));
  return {.backbone = ctx.params.get_string("backbone"),
          .in_channels = shape[0],
          .image_size = shape[1],
          .feature_dim = ctx.params.get_int("feature_dim"),
          .dim = ctx.params.get_int("dim"),
          .mlp_head = ctx.params.get_bool("mlp_head"),
          .bn_splits = ctx.params.get_int("bn_splits")};
}

// The two views' augmentation for 28x28 grey images (docs/algorithms/moco.md says why these).
data::Transform augmentation(const RunContext& ctx) {
  std::vector<std::function<Tensor(Tensor)>> steps;
  const double scale = ctx.params.get_float("crop_scale");
  if (!(scale > 0.0 && scale <= 1.0))
    throw UsageError(ctx.algorithm + ": crop_scale must be in (0, 1], got " + number_text(scale));
  if (scale < 1.0) steps.push_back(data::RandomResizedCrop((*ctx.image_shape)[1], scale));
  const std::string& flip = ctx.params.get_string("hflip");
  if (flip == "true" || (flip == "auto" && deep_runs::auto_flip(ctx.data_name)))
    steps.push_back(data::RandomHorizontalFlip(0.5));
  const double rotation = ctx.params.get_float("rotation");
  if (rotation > 0.0) steps.push_back(data::RandomAffine(rotation));
  const double brightness = ctx.params.get_float("brightness"), contrast = ctx.params.get_float("contrast");
  if (brightness > 0.0 || contrast > 0.0)
    steps.push_back(data::RandomBrightnessContrast(brightness, contrast, ctx.params.get_float("jitter_p")));
  const double noise = ctx.params.get_float("noise");
  if (noise > 0.0) steps.push_back(data::GaussianNoise(noise, true));
  if (steps.empty()) return nullptr;
  return data::Compose(std::move(steps));
}

contrastive::MoCoOptions moco_options(const RunContext& ctx, std::int64_t queue, double momentum) {
  if (queue < 1) throw UsageError(ctx.algorithm + ": queue must be at least 1, got " + std::to_string(queue));
  const bool batches = ctx.params.get_string("queue_unit") == "batches";
  return {.queue_size = batches ? queue * ctx.params.get_int("batch_size") : queue,
          .momentum = momentum,
          .temperature = ctx.params.get_float("temperature"),
          .lr = ctx.params.get_float("lr"),
          .weight_decay = ctx.params.get_float("weight_decay"),
          .cosine = ctx.params.get_bool("cosine"),
          .shuffle_bn = ctx.params.get_bool("shuffle_bn"),
          .augment = augmentation(ctx)};
}

Tensor test_images(const RunContext& ctx) {
  if (!ctx.test_data.defined()) return {};
  Shape shape{ctx.test_data.size(0)};
  shape.insert(shape.end(), ctx.image_shape->begin(), ctx.image_shape->end());
  return ctx.test_data.reshape(shape);
}

// ---- evaluation ---------------------------------------------------------------------------------

constexpr std::int64_t kDemoKnnK = 200;  // the MoCo demo's k-NN monitor

struct Scores {
  double probe = NAN, knn = NAN, knn_demo = NAN, nmi = NAN, acc = NAN, ari = NAN;
  std::int64_t probe_dim = 0, cluster_dim = 0;  // widths of the two layers read
  Tensor test_features, test_labels, test_clusters;
  Tensor cluster_features;  // the cluster layer's features of every training image (for labels.npy)
};

// The frozen features of images at a layer: "conv" the trunk's flattened output, "fc" the
// backbone's FC layer, "head" the normalised embedding the loss compares ("Which layer is
// evaluated" in docs/algorithms/moco.md).
Tensor frozen_features(contrastive::MoCo& moco, const Tensor& images, const std::string& layer) {
  if (layer == "conv") return moco.conv_features(images);
  if (layer == "head") return moco.embeddings(images);
  return moco.features(images);
}

// Train and test features of one layer: on the test split when there is one, else the first 80%
// of the rows train and the rest test. all_x: the features of every image given.
struct Split {
  Tensor train_x, train_y, test_x, test_y, all_x;
};
Split split_features(RunContext& ctx, contrastive::MoCo& moco, const Tensor& images, const Tensor& labels,
                     const std::string& layer) {
  Split s{frozen_features(moco, images, layer), labels.to(kCPU, kInt64), {}, {}, {}};
  s.all_x = s.train_x;
  const Tensor test = test_images(ctx);
  if (test.defined() && ctx.test_labels.defined()) {
    s.test_x = frozen_features(moco, test, layer);
    s.test_y = ctx.test_labels.to(kCPU, kInt64);
    return s;
  }
  const std::int64_t cut = images.size(0) * 4 / 5;
  s.test_x = s.train_x.narrow(0, cut, s.train_x.size(0) - cut);
  s.test_y = s.train_y.narrow(0, cut, s.train_y.size(0) - cut);
  s.train_x = s.train_x.narrow(0, 0, cut);
  s.train_y = s.train_y.narrow(0, 0, cut);
  return s;
}

// Logistic regression on standardised features (the L2 penalty then weighs every feature alike).
// The statistics come from the features as they are (float32) and the one float64 copy is scaled
// in place, which the solver then uses without copying: the conv features of 60000 images are
// 2.2 GB in float32, 4.4 GB in float64.
double probe_accuracy(const Split& f) {
  const Tensor mean = f.train_x.mean(0, true).to(kFloat64);
  const Tensor scale = f.train_x.std(0, true).to(kFloat64).clamp(1e-8, std::nullopt);
  const auto standardised = [&](const Tensor& t) {
    Tensor x = t.dtype() == kFloat64 ? t.clone() : t.to(kFloat64);
    x.sub_(mean).div_(scale);
    return x;
  };
  train::LogisticRegression lr({.l2 = 1e-4, .max_iter = 500});
  lr.fit(standardised(f.train_x), f.train_y);
  return lr.score(standardised(f.test_x), f.test_y);
}

// The frozen features against the labels: the probe and k-NN fitted on the training features
// and scored on the test features (layer probe_features), k-means (K = classes) on the
// L2-normalised test features (layer cluster_features).
Scores evaluate(RunContext& ctx, contrastive::MoCo& moco, const Tensor& images, const Tensor& labels, bool probe) {
  Scores s;
  if (!labels.defined()) return s;
  const std::string probe_layer = ctx.params.get_string("probe_features");
  const std::string cluster_layer = ctx.params.get_string("cluster_features");
  Split f = split_features(ctx, moco, images, labels, probe_layer);
  s.probe_dim = f.train_x.size(1);
  if (probe) s.probe = probe_accuracy(f);
  // Two k-NN protocols: k = knn_k (default 20, as DINO: Caron et al. 2021) and the
  // MoCo demo's monitor, k = 200 (after Wu et al. 2018), so figures compare with either literature.
  s.knn = contrastive::knn_accuracy(f.train_x, f.train_y, f.test_x, f.test_y, ctx.params.get_int("knn_k"));
  s.knn_demo = contrastive::knn_accuracy(f.train_x, f.train_y, f.test_x, f.test_y, kDemoKnnK);
  if (cluster_layer != probe_layer) f = split_features(ctx, moco, images, labels, cluster_layer);
  s.cluster_dim = f.train_x.size(1);
  s.cluster_features = f.all_x;
  const Tensor& test_x = f.test_x;
  const Tensor& test_y = f.test_y;
  const std::int64_t classes = std::max(f.train_y.max().item<std::int64_t>(), test_y.max().item<std::int64_t>()) + 1;
  // k-means on the unit sphere: the loss compares features by their cosine.
  cluster::KMeans km({.n_clusters = classes, .n_init = ctx.params.get_int("kmeans_n_init"), .random_state = ctx.seed});
  s.test_clusters = km.fit_predict(decomposition::l2_normalize_rows(test_x.to(kFloat64)));
  s.nmi = metrics::nmi(test_y, s.test_clusters);
  s.acc = metrics::acc(test_y, s.test_clusters);
  s.ari = metrics::ari(test_y, s.test_clusters);
  s.test_features = test_x;
  s.test_labels = test_y;
  return s;
}

void save_tsne(RunContext& ctx, const Scores& s, std::int64_t samples) {
  const std::int64_t n = std::min<std::int64_t>(samples, s.test_features.defined() ? s.test_features.size(0) : 0);
  if (n < 10) return;
  ctx.progress->message("t-SNE of " + std::to_string(n) + " test features ...");
  manifold::TSNE tsne({.perplexity = std::min(30.0, (static_cast<double>(n) - 1.0) / 3.0), .random_state = ctx.seed});
  const Tensor points = tsne.fit_transform(s.test_features.narrow(0, 0, n).to(kFloat64));
  ctx.metrics["tsne_kl_divergence"] = tsne.kl_divergence();
  figures::ScatterOptions options{.names = ctx.class_names, .x_label = "t-SNE 1", .y_label = "t-SNE 2"};
  networks::write_figure(ctx, "features_tsne.png",
                         figures::scatter_plot("moco: t-SNE of " + std::to_string(n) + " test features", points,
                                               s.test_labels.narrow(0, 0, n), options));
}

// ---- moco ---------------------------------------------------------------------------------------

void run(RunContext& ctx) {
  const Tensor images = deep_runs::run_images(ctx);
  deep_runs::check_n2d_params(ctx);
  auto encoder = std::make_shared<contrastive::ContrastiveEncoder>(encoder_options(ctx));
  encoder->to(ctx.device);
  contrastive::MoCoOptions options = moco_options(ctx, ctx.params.get_int("queue"), ctx.params.get_float("momentum"));
  train::TrainerOptions trainer = deep_runs::trainer_options(ctx);
  // Under mpirun: the query encoder trains data-parallel, and every rank enqueues the keys of
  // all ranks (He et al. 2020, Algorithm 1 on several GPUs), so the queues stay identical.
  const auto ddp = networks::data_parallel(ctx, *encoder, trainer, images.size(0));
  if (ddp) options.gather_keys = [&group = ddp->group()](const Tensor& keys) { return group.all_gather(keys); };
  contrastive::MoCo moco(*encoder, options, trainer);
  ctx.metrics["queue_keys"] = options.queue_size;

  auto record = [&](const contrastive::MoCoEpoch& e, bool from_checkpoint) {
    nlohmann::json row = {{"epoch", e.epoch},
                          {"loss", e.loss},
                          {"positive_similarity", e.positive_similarity},
                          {"negative_similarity", e.negative_similarity},
                          {"lr", e.lr},
                          {"seconds", e.seconds},
                          {"momentum_queue_seconds", e.momentum_seconds}};
    if (from_checkpoint) row["from_checkpoint"] = true;
    ctx.log(row);
  };
  ctx.progress->start("epoch", ctx.params.get_int("epochs"));
  moco.on_epoch_end([&](const contrastive::MoCoEpoch& e) {
    record(e, false);
    deep_runs::epoch_done(ctx, e.epoch, {{"loss", e.loss}, {"q.k+", e.positive_similarity}},
                          [&](const std::string& path) { moco.set_checkpoint_path(path); });
  });
  const train::TrainResult result = moco.fit(images);
  if (result.resumed_from_epoch > 0)
    for (const auto& e : moco.history())
      if (e.epoch <= result.resumed_from_epoch) record(e, true);
  deep_runs::finish_training(ctx, result);
  save(*encoder, ctx.path("model.safetensors").string());

  std::vector<double> loss, positive, negative;
  double seconds = 0.0, momentum_seconds = 0.0;
  for (const auto& e : moco.history()) {
    loss.push_back(e.loss);
    positive.push_back(e.positive_similarity);
    negative.push_back(e.negative_similarity);
    seconds += e.seconds;
    momentum_seconds += e.momentum_seconds;
  }
  if (seconds > 0.0) ctx.metrics["momentum_queue_fraction"] = momentum_seconds / seconds;
  if (!loss.empty()) ctx.metrics["final_loss"] = loss.back();
  ctx.save_curve("loss_curve.png", "moco: InfoNCE per epoch", {{"loss", loss}}, "epoch");
  ctx.save_curve("similarity.png", "moco: mean cosine of a query with its key and with the queue",
                 {{"q . k+ (positive)", positive}, {"q . k_i (queue)", negative}}, "epoch");

  ctx.progress->message("evaluating the frozen features ...");
  const Scores s = evaluate(ctx, moco, images, ctx.labels, ctx.params.get_bool("probe"));
  if (!ctx.labels.defined()) return;
  if (ctx.params.get_bool("probe")) ctx.metrics["probe_accuracy"] = s.probe;
  ctx.metrics["knn_accuracy"] = s.knn;
  ctx.metrics["knn_k"] = ctx.params.get_int("knn_k");
  ctx.metrics["probe_features"] = ctx.params.get_string("probe_features");
  ctx.metrics["cluster_features"] = ctx.params.get_string("cluster_features");
  ctx.metrics["probe_feature_dim"] = s.probe_dim;
  ctx.metrics["cluster_feature_dim"] = s.cluster_dim;
  ctx.metrics["knn_accuracy_k200"] = s.knn_demo;
  ctx.metrics["kmeans_test"] = {{"nmi", s.nmi}, {"acc", s.acc}, {"ari", s.ari}};
  // The cluster layer's frozen features, for clustering them with other tools.
  data::write_npy(ctx.path("features.npy"), s.cluster_features.contiguous());
  if (ctx.test_data.defined()) data::write_npy(ctx.path("test_features.npy"), s.test_features.contiguous());
  // k-means on the training features: labels.npy with nmi/ari/acc and the cluster figures.
  const Tensor train_features = decomposition::l2_normalize_rows(s.cluster_features.to(kFloat64));
  const std::int64_t classes = ctx.labels.max().item<std::int64_t>() + 1;
  cluster::KMeans km({.n_clusters = classes, .n_init = ctx.params.get_int("kmeans_n_init"), .random_state = ctx.seed});
  ctx.save_labels(km.fit_predict(train_features));
  if (ctx.params.get_bool("n2d")) {
    // The test split's rows after the training rows (without a test split, the evaluation's
    // held-out rows are training rows already clustered).
    const Tensor test_rows =
        ctx.test_data.defined() ? decomposition::l2_normalize_rows(s.test_features.to(kFloat64)) : Tensor();
    deep_runs::n2d_scores(ctx, train_features, test_rows, classes);
  }
  save_tsne(ctx, s, ctx.params.get_int("tsne_samples"));
}

CAKE_REGISTER_ALGORITHM({
    .name = "moco",
    .summary = "Momentum Contrast: contrastive features from a queue of keys and a momentum key encoder",
    .reference = "He, Fan, Wu, Xie & Girshick 2020 (CVPR), 'Momentum Contrast for Unsupervised Visual Representation "
                 "Learning', eq. (1)-(2), Algorithm 1",
    .params = moco_params(20),
    .run = run,
    .example = "cake run moco --data fashion-mnist:test:1000 --set epochs=1 queue=512",
    .multi_rank = MultiRank::DataParallel,
});

// ---- the ablation ---------------------------------------------------------------------------------

std::vector<ParamSpec> ablation_params() {
  std::vector<ParamSpec> p = moco_params(2);
  for (ParamSpec& spec : p) {
    if (spec.name == "batch_size") spec.default_value = "100";  // the MNIST demo the poster's network matches
  }
  p.push_back({"queues", ParamType::IntList, "16,32,64,128", "queue lengths of the grid (the poster's), in queue_unit"});
  p.push_back({"momenta", ParamType::FloatList, "0.9,0.99,0.999,0.9999", "momenta of the grid (the poster's)"});
  return p;
}

// A heat map of values [rows][columns] with the value written in each cell.
image::Canvas heat_map(const std::string& title, const std::vector<std::string>& row_names,
                       const std::vector<std::string>& column_names, const std::vector<std::vector<double>>& values,
                       const std::string& row_title, const std::string& column_title) {
  const int cell_w = 90, cell_h = 40, left = 110, top = 70;
  const int width = left + cell_w * static_cast<int>(column_names.size()) + 20;
  const int height = top + cell_h * static_cast<int>(row_names.size()) + 20;
  image::Canvas canvas(width, height);
  canvas.draw_text(10, 10, title, image::kBlack);
  canvas.draw_text(left, 30, column_title, image::kBlack);
  canvas.draw_text(10, top - 18, row_title, image::kBlack);
  double lo = INFINITY, hi = -INFINITY;
  for (const auto& row : values)
    for (double v : row)
      if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
  for (std::size_t c = 0; c < column_names.size(); ++c)
    canvas.draw_text(left + static_cast<int>(c) * cell_w + 8, top - 16, column_names[c], image::kBlack);
  for (std::size_t r = 0; r < row_names.size(); ++r) {
    const int y = top + static_cast<int>(r) * cell_h;
    canvas.draw_text(10, y + cell_h / 2 - 4, row_names[r], image::kBlack);
    for (std::size_t c = 0; c < column_names.size(); ++c) {
      const double v = values[r][c];
      const int x = left + static_cast<int>(c) * cell_w;
      const double t = (std::isfinite(v) && hi > lo) ? (v - lo) / (hi - lo) : 0.5;
      canvas.fill_rect(x, y, cell_w - 2, cell_h - 2, image::sequential(t));
      char text[32];
      std::snprintf(text, sizeof text, "%.4f", v);
      canvas.draw_text(x + 12, y + cell_h / 2 - 4, text, t > 0.6 ? image::kWhite : image::kBlack);
    }
  }
  return canvas;
}

void run_ablation(RunContext& ctx) {
  const Tensor images = deep_runs::run_images(ctx);
  const std::vector<std::int64_t> queues = ctx.params.get_int_list("queues");
  const std::vector<double> momenta = ctx.params.get_float_list("momenta");
  if (queues.empty() || momenta.empty()) throw UsageError("moco-ablation: queues and momenta must not be empty");
  if (!ctx.params.get_string("resume").empty() || !ctx.resume_checkpoint.empty())
    throw UsageError("moco-ablation: a grid is not resumable; run it again");
  train::TrainerOptions trainer = deep_runs::trainer_options(ctx);
  trainer.checkpoint_path.clear();
  trainer.resume_from.clear();
  std::vector<std::vector<double>> probe(momenta.size(), std::vector<double>(queues.size(), NAN));
  std::vector<std::vector<double>> knn = probe, nmi = probe;
  nlohmann::json cells = nlohmann::json::array();
  ctx.progress->start("cell", static_cast<std::int64_t>(queues.size() * momenta.size()));
  std::int64_t done = 0;
  for (std::size_t r = 0; r < momenta.size(); ++r) {
    for (std::size_t c = 0; c < queues.size(); ++c) {
      manual_seed(ctx.seed);  // every cell starts from the same weights and draws
      auto encoder = std::make_shared<contrastive::ContrastiveEncoder>(encoder_options(ctx));
      encoder->to(ctx.device);
      contrastive::MoCoOptions options = moco_options(ctx, queues[c], momenta[r]);
      // Under mpirun each cell trains data-parallel as `moco` does (keys gathered into one queue).
      train::TrainerOptions cell_trainer = trainer;
      const auto ddp = networks::data_parallel(ctx, *encoder, cell_trainer, images.size(0));
      if (ddp) options.gather_keys = [&group = ddp->group()](const Tensor& keys) { return group.all_gather(keys); };
      contrastive::MoCo moco(*encoder, options, cell_trainer);
      const train::TrainResult result = moco.fit(images);
      if (result.stop_reason == train::StopReason::Interrupted) throw RunInterrupted(result.message);
      const Scores s = evaluate(ctx, moco, images, ctx.labels, ctx.params.get_bool("probe"));
      probe[r][c] = s.probe;
      knn[r][c] = s.knn;
      nmi[r][c] = s.nmi;
      const nlohmann::json cell = {{"queue", queues[c]},
                                   {"queue_keys", options.queue_size},
                                   {"momentum", momenta[r]},
                                   {"final_loss", moco.history().empty() ? NAN : moco.history().back().loss},
                                   {"stop_reason", train::to_string(result.stop_reason)},
                                   {"probe_accuracy", s.probe},
                                   {"knn_accuracy", s.knn},
                                   {"kmeans_nmi", s.nmi},
                                   {"kmeans_acc", s.acc}};
      cells.push_back(cell);
      ctx.log(cell);
      ctx.progress->update(++done, {{"probe", s.probe}, {"knn", s.knn}});
    }
  }
  ctx.progress->finish();
  ctx.metrics["cells"] = cells;
  ctx.metrics["queue_unit"] = ctx.params.get_string("queue_unit");
  ctx.metrics["probe_accuracy_table"] = probe;  // rows: momenta, columns: queues
  ctx.metrics["knn_accuracy_table"] = knn;
  ctx.metrics["kmeans_nmi_table"] = nmi;
  std::vector<std::string> rows, columns;
  for (double m : momenta) rows.push_back("m = " + number_text(m));
  for (std::int64_t q : queues) columns.push_back(std::to_string(q));
  const std::string unit = ctx.params.get_string("queue_unit");
  if (ctx.labels.defined() && ctx.params.get_bool("probe"))
    networks::write_figure(ctx, "ablation_probe.png",
                           heat_map("moco-ablation: linear probe accuracy", rows, columns, probe, "momentum",
                                    "queue length (" + unit + ")"));
  if (ctx.labels.defined())
    networks::write_figure(ctx, "ablation_knn.png",
                           heat_map("moco-ablation: k-NN accuracy", rows, columns, knn, "momentum",
                                    "queue length (" + unit + ")"));
}

CAKE_REGISTER_ALGORITHM({
    .name = "moco-ablation",
    .summary = "MoCo's grid over queue length and momentum (the poster's ablation) with shortened training",
    .reference = "He et al. 2020 (CVPR), section 4.1 (ablations on K and m); the 'Unsupervised Visual Learning' poster's "
                 "MoCo ablation table",
    .params = ablation_params(),
    .run = run_ablation,
    .example = "cake run moco-ablation --data fashion-mnist:test:500 --set epochs=1 queues=4,8 momenta=0.9,0.99",
    .multi_rank = MultiRank::DataParallel,
});

}  // namespace
}  // namespace cake::cli::moco_command
