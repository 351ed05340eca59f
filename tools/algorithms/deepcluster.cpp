// deepcluster.cpp: `cake run deepcluster`, DeepCluster (Caron et al. 2018) on a convnet.
//
//   cake run deepcluster --data fashion-mnist:test --out runs/dc --seed 0
//   cake run deepcluster --out runs/dc --resume            # continue after Ctrl-C
//   cake run deepcluster --data fashion-mnist:train --set epochs=20 n2d=true   # the best pipeline
//
// Every epoch clusters the features of all images (PCA-whitening, L2, k-means with n_clusters)
// and trains the network one epoch to predict those pseudo-labels, sampling uniformly over
// them (algorithms/deep_clustering/deepcluster.h). After training: k-means with as many
// clusters as classes (eval_clusters) on the final PCA-whitened features (eval_whiten=false: the
// L2-normalised ones) gives labels.npy and nmi/ari/acc, and test_nmi/test_acc/test_ari on the
// test split when --data names a training split; the frozen features give knn_accuracy,
// probe_accuracy and features.npy. n2d=true adds N2D's UMAP + GMM on the same rows (joined with
// the pixels' first n2d_pixel_pca principal components) of every image, training and test split
// together (n2d_nmi/n2d_acc/n2d_ari). log.jsonl has a row per
// epoch (NMI between consecutive assignments, NMI/ACC against the labels, k-means objective,
// cluster sizes, the time split); figures: nmi.png, loss_curve.png, cluster_sizes.png,
// pseudo_label_samples.png, cluster_samples.png, confusion_matrix.png.
#include <algorithm>
#include <cmath>

#include "cake/algorithms/cluster/kmeans.h"
#include "cake/algorithms/deep_clustering/deepcluster.h"
#include "cake/autograd/ops.h"
#include "cake/distributed/data_parallel.h"
#include "cake/data/npy.h"
#include "cake/nn/checkpoint.h"
#include "tools/algorithms/deep_clustering_runs.h"
#include "tools/errors.h"
#include "tools/algorithms/network_runs.h"
#include "tools/figures.h"

namespace cake::cli::deepcluster_command {
namespace {

nlohmann::json number_or_null(double value) { return std::isfinite(value) ? nlohmann::json(value) : nlohmann::json(nullptr); }

std::vector<ParamSpec> params() {
  std::vector<ParamSpec> p{
      {"n_clusters", ParamType::Int, "100",
       "k of the k-means that makes the pseudo-labels (over-clustering: k = number of classes collapses on 10-class "
       "sets, see docs/algorithms/deepcluster_dac.md)"},
      {"pca_dim", ParamType::Int, "32",
       "PCA dimensions (whitened) before k-means (the original: 256 of 4096; 32 measured better than 128 on "
       "Fashion-MNIST)"},
      {"kmeans_iter", ParamType::Int, "20", "k-means iterations per epoch (the original's faiss niter)"},
      {"giant_fraction", ParamType::Float, "0.5",
       "split a pseudo-label cluster holding more than this fraction of the images (1: never)"},
      {"momentum", ParamType::Float, "0.9", "SGD momentum of the network body"},
      {"eval_clusters", ParamType::Int, "0", "clusters of the final k-means (0: the number of classes, or 10)"},
      {"eval_whiten", ParamType::Bool, "true",
       "score with k-means on the PCA-whitened rows the pseudo-labels come from (false: on the L2-normalised "
       "features; see docs/algorithms/deepcluster_dac.md)"},
      {"kmeans_n_init", ParamType::Int, "50", "restarts of the scoring k-means (the lowest inertia wins)"},
      {"probe", ParamType::Bool, "true", "fit a linear probe (logistic regression) on the frozen features"}};
  // The pixels' view adds about 0.015 NMI to DeepCluster's rows (docs/algorithms/umap_n2d.md).
  for (ParamSpec& spec : deep_runs::n2d_params(10)) p.push_back(spec);
  // Grey pixels rather than Sobel gradients: measured better on Fashion-MNIST (the docs page).
  for (ParamSpec& spec : deep_runs::convnet_params("vgg", false)) p.push_back(spec);
  for (ParamSpec& spec : deep_runs::augmentation_params(0.5, false)) p.push_back(spec);
  for (ParamSpec& spec : deep_runs::training_params(10, 256, 0.05, 1e-5)) p.push_back(spec);
  p.push_back(networks::sync_bn_param());
  return p;
}

void run(RunContext& ctx) {
  const Tensor images = deep_runs::run_images(ctx);
  const std::int64_t k = ctx.params.get_int("n_clusters");
  if (k < 2 || k > images.size(0))
    throw UsageError("deepcluster: n_clusters must be in [2, " + std::to_string(images.size(0)) + "], got " +
                     std::to_string(k));
  // Checked before training, so that a bad value does not cost a whole run.
  const std::int64_t n_init = ctx.params.get_int("kmeans_n_init");
  if (n_init < 1) throw UsageError("deepcluster: kmeans_n_init must be at least 1, got " + std::to_string(n_init));
  deep_runs::check_n2d_params(ctx);
  auto net = std::make_shared<cake::networks::ConvNet>(deep_runs::convnet_options(ctx, k, false));
  net->to(ctx.device);
  deep_clustering::DeepClusterOptions options{.n_clusters = k,
                                              .pca_dim = ctx.params.get_int("pca_dim"),
                                              .kmeans_iter = ctx.params.get_int("kmeans_iter"),
                                              .giant_fraction = ctx.params.get_float("giant_fraction"),
                                              .lr = ctx.params.get_float("lr"),
                                              .momentum = ctx.params.get_float("momentum"),
                                              .weight_decay = ctx.params.get_float("weight_decay"),
                                              .augment = deep_runs::augmentation(ctx),
                                              .eval_whiten = ctx.params.get_bool("eval_whiten")};
  train::TrainerOptions trainer = deep_runs::trainer_options(ctx);
  // Under mpirun: the network trains data-parallel, and each epoch's features are computed a
  // shard per rank and all-gathered, so every rank makes the same pseudo-labels.
  const auto ddp = networks::data_parallel(ctx, *net, trainer, images.size(0));
  if (ddp) options.all_features = deep_runs::sharded_features(*ddp);
  deep_clustering::DeepCluster dc(*net, options, trainer);
  auto record = [&](const deep_clustering::DeepClusterEpoch& e, bool from_checkpoint) {
    nlohmann::json row = {{"epoch", e.epoch},
                          {"loss", e.loss},
                          {"nmi_previous", number_or_null(e.nmi_previous)},
                          {"nmi_pseudo_labels", number_or_null(e.nmi_pseudo)},
                          {"nmi", number_or_null(e.nmi_classes)},
                          {"acc", number_or_null(e.acc_classes)},
                          {"kmeans_objective", e.kmeans_objective},
                          {"smallest_cluster", e.smallest_cluster},
                          {"largest_cluster", e.largest_cluster},
                          {"cluster_size_cv", e.cluster_size_cv},
                          {"empty_splits", e.empty_splits},
                          {"giant_splits", e.giant_splits},
                          {"seconds_features", e.seconds_features},
                          {"seconds_pca", e.seconds_pca},
                          {"seconds_kmeans", e.seconds_kmeans},
                          {"seconds_train", e.seconds_train}};
    if (from_checkpoint) row["from_checkpoint"] = true;
    ctx.log(row);
  };
  ctx.progress->start("epoch", ctx.params.get_int("epochs"));
  dc.on_epoch_end([&](const deep_clustering::DeepClusterEpoch& e) {
    record(e, false);
    std::vector<std::pair<std::string, double>> shown{{"loss", e.loss}};
    if (std::isfinite(e.nmi_previous)) shown.emplace_back("nmi_prev", e.nmi_previous);
    if (std::isfinite(e.nmi_classes)) shown.emplace_back("nmi", e.nmi_classes);
    deep_runs::epoch_done(ctx, e.epoch, shown, [&](const std::string& path) { dc.set_checkpoint_path(path); });
  });
  const train::TrainResult result = dc.fit(images, ctx.labels);
  if (result.resumed_from_epoch > 0)
    for (const auto& e : dc.history())
      if (e.epoch <= result.resumed_from_epoch) record(e, true);
  deep_runs::finish_training(ctx, result);
  save(*net, ctx.path("model.safetensors").string());

  // Curves over the whole run (a resumed run's earlier epochs included).
  const auto& history = dc.history();
  std::vector<double> loss, nmi_previous, nmi_pseudo, nmi_classes, acc_classes, objective;
  double features_s = 0, pca_s = 0, kmeans_s = 0, train_s = 0;
  for (const auto& e : history) {
    loss.push_back(e.loss);
    nmi_previous.push_back(e.nmi_previous);
    nmi_pseudo.push_back(e.nmi_pseudo);
    nmi_classes.push_back(e.nmi_classes);
    acc_classes.push_back(e.acc_classes);
    objective.push_back(e.kmeans_objective);
    features_s += e.seconds_features, pca_s += e.seconds_pca, kmeans_s += e.seconds_kmeans, train_s += e.seconds_train;
  }
  ctx.save_curve("loss_curve.png", "deepcluster: cross-entropy against the pseudo-labels", {{"loss", loss}}, "epoch");
  figures::Series nmi_series{{"NMI(previous, current assignment)", nmi_previous}};
  if (ctx.labels.defined()) {
    nmi_series.emplace_back("NMI(pseudo-labels, classes)", nmi_pseudo);
    nmi_series.emplace_back("NMI(k-means at #classes, classes)", nmi_classes);
    nmi_series.emplace_back("ACC(k-means at #classes, classes)", acc_classes);
  }
  ctx.save_curve("nmi.png", "deepcluster: stability and quality of the clusters per epoch", nmi_series, "epoch");
  ctx.save_curve("kmeans_objective.png", "deepcluster: k-means objective per epoch", {{"objective", objective}}, "epoch");
  const double total_s = features_s + pca_s + kmeans_s + train_s;
  if (total_s > 0) {
    ctx.metrics["time_split"] = {{"features", features_s / total_s},
                                 {"pca", pca_s / total_s},
                                 {"kmeans", kmeans_s / total_s},
                                 {"train", train_s / total_s}};
  }
  if (!history.empty()) {
    const auto& last = history.back();
    ctx.metrics["last_nmi_previous"] = number_or_null(last.nmi_previous);
    ctx.metrics["last_kmeans_objective"] = last.kmeans_objective;
    ctx.metrics["last_cluster_size_cv"] = last.cluster_size_cv;
  }

  // The last pseudo-labels: their sizes and samples.
  const Tensor pseudo = dc.pseudo_labels();
  if (pseudo.defined()) {
    data::write_npy(ctx.path("pseudo_labels.npy"), pseudo);
    const Tensor sizes = bincount(pseudo, {}, k).to(kFloat64).contiguous();
    std::vector<double> sorted(sizes.data_ptr<double>(), sizes.data_ptr<double>() + k);
    std::sort(sorted.begin(), sorted.end(), std::greater<>());
    ctx.save_curve("cluster_sizes.png", "deepcluster: pseudo-label cluster sizes, largest first", {{"images", sorted}},
                   "cluster (by size)");
    cli::networks::write_figure(ctx, "pseudo_label_samples.png",
                           figures::cluster_grid("deepcluster: samples of the largest pseudo-label clusters",
                                                 images.cpu(), pseudo, 10, 30));
  }

  // Evaluation: k-means at the number of classes on the final features (as the per-epoch log),
  // with restarts, then the frozen features' k-NN and probe accuracy.
  std::int64_t eval_k = ctx.params.get_int("eval_clusters");
  if (eval_k <= 0) eval_k = ctx.labels.defined() ? ctx.labels.max().item<std::int64_t>() + 1 : 10;
  ctx.progress->message("k-means with " + std::to_string(eval_k) + " clusters on the final features ...");
  const Tensor features = cake::networks::features_all(*net, images).cpu();
  const Tensor rows = deep_clustering::evaluation_rows(features, options.eval_whiten, options.pca_dim);
  cluster::KMeans kmeans({.n_clusters = eval_k, .n_init = n_init, .random_state = ctx.seed});
  ctx.save_labels(kmeans.fit_predict(rows));
  ctx.metrics["eval_inertia"] = kmeans.inertia();
  Tensor test_features;
  if (ctx.test_data.defined()) {
    Shape shape{ctx.test_data.size(0)};
    shape.insert(shape.end(), ctx.image_shape->begin(), ctx.image_shape->end());
    test_features = cake::networks::features_all(*net, ctx.test_data.reshape(shape)).cpu();
  }
  // The held-out split's rows: its features through the whitening fitted on the training
  // images' features.
  Tensor test_rows;
  if (test_features.defined())
    test_rows = deep_clustering::evaluation_rows(test_features, options.eval_whiten, options.pca_dim, features);
  if (test_rows.defined() && ctx.test_labels.defined()) {
    // k-means at the number of classes on the test images alone.
    cluster::KMeans test_kmeans({.n_clusters = eval_k, .n_init = n_init, .random_state = ctx.seed});
    deep_runs::test_split_scores(ctx, test_kmeans.fit_predict(test_rows));
  }
  if (ctx.params.get_bool("n2d")) deep_runs::n2d_scores(ctx, rows, test_rows, eval_k);
  // The frozen features before PCA, for clustering or probing them with other tools.
  data::write_npy(ctx.path("features.npy"), features.contiguous());
  if (test_features.defined()) data::write_npy(ctx.path("test_features.npy"), test_features.contiguous());
  deep_runs::feature_metrics(ctx, features, ctx.labels, test_features, ctx.test_labels);
}

CAKE_REGISTER_ALGORITHM({
    .name = "deepcluster",
    .summary = "DeepCluster: a convnet trained on the k-means clusters of its own features, re-clustered every epoch",
    .reference = "Caron, Bojanowski, Joulin & Douze 2018 (ECCV), 'Deep Clustering for Unsupervised Learning of Visual "
                 "Features'",
    .params = params(),
    .run = run,
    .example = "cake run deepcluster --data fashion-mnist:test:1000 --set epochs=1 n_clusters=20",
    .multi_rank = MultiRank::DataParallel,
});

}  // namespace
}  // namespace cake::cli::deepcluster_command
