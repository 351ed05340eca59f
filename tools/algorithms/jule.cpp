// jule.cpp: `cake run jule`, joint unsupervised learning of representations and image clusters
// (Yang, Parikh & Batra 2016): agglomerative clustering by graph degree linkage on the features
// of a CNN that is retrained on the clusters after every period of merges.
//
//   cake run jule --data fashion-mnist:test --out runs/jule --seed 0
//   cake run jule --out runs/jule --resume                 # continue after Ctrl-C
//
// log.jsonl has a row per period (clusters left, merges, the summed step loss of the forward
// pass, NMI/ACC when labels are known) and a row per CNN epoch (triplet loss, triplets per
// batch, lr). labels.npy holds the final clusters (with nmi/ari/acc in metrics.json),
// merges.npy the merge tree ([T, 3]: child, child, new node over the initial clusters, whose
// ids are in leaves.npy), features.npy the learned unit features. Figures: jule_periods.png
// (NMI/ACC per period), clusters_per_period.png, loss_curve.png, dendrogram.png (the last
// merges), embedding_tsne.png, cluster_samples.png, confusion_matrix.png.
#include <algorithm>
#include <cmath>
#include <functional>
#include <map>

#include "cake/algorithms/deep_clustering/jule.h"
#include "cake/algorithms/metrics/metrics.h"
#include "cake/distributed/data_parallel.h"
#include "cake/data/npy.h"
#include "cake/nn/checkpoint.h"
#include "cake/tensor/creation.h"
#include "tools/algorithms/deep_clustering_runs.h"
#include "tools/algorithms/network_runs.h"
#include "tools/errors.h"
#include "tools/figures.h"

namespace cake::cli::jule_command {
namespace {

using deep_clustering::JulePeriod;
using deep_clustering::JuleEpoch;

nlohmann::json number_or_null(double value) { return std::isfinite(value) ? nlohmann::json(value) : nlohmann::json(nullptr); }

std::vector<ParamSpec> params() {
  std::vector<ParamSpec> p{
      {"n_clusters", ParamType::Int, "10", "clusters to end with (the merges stop there)"},
      {"k_s", ParamType::Int, "20", "K_s: neighbours of each sample in the graph"},
      {"a", ParamType::Float, "1.0", "sigma^2 of the edge weights = a times the mean squared neighbour distance"},
      {"k_c", ParamType::Int, "5", "K_c: neighbouring clusters the merge criterion weighs (1: plain graph degree linkage)"},
      {"lambda", ParamType::Float, "1.0", "weight of the margin to the next K_c - 1 clusters in the merge criterion"},
      {"k_c_above", ParamType::Int, "0",
       "K_c applies while more than this many clusters remain, then plain graph degree linkage (released code: 100)"},
      {"eta", ParamType::Float, "0.9",
       "unrolling rate: each period merges ceil(eta n_c) of the n_c clusters, then retrains the CNN (0.2 for faces)"},
      {"gamma", ParamType::Float, "2.0", "weight of the same-cluster distance in the triplet loss"},
      {"margin", ParamType::Float, "0.2", "margin of the triplet hinge (released code)"},
      {"negatives", ParamType::Int, "20", "other-cluster samples of the batch per same-cluster pair"},
      {"epochs_per_period", ParamType::Int, "3",
       "CNN epochs after each period of merges (the talk: about 20, 6x the time; see docs/algorithms/jule.md)"},
      {"channels", ParamType::Int, "50", "channels of the two 5x5 convolutions"},
      {"feature_dim", ParamType::Int, "160", "units of the inner product (the learned representation)"},
      {"merge_isolated", ParamType::Bool, "false",
       "true: each period first joins clusters with no graph affinity to any other to the closest centroid (released code)"},
      {"min_cluster_fraction", ParamType::Float, "0.05",
       "when a period merges to T clusters, one with fewer than this fraction of n / T images is an outlying group: "
       "merging goes on until T larger ones exist, then it joins the closest (0: every cluster counts, the talk's process)"},
      {"update_cnn", ParamType::Bool, "true",
       "false: no CNN, all merges on the graph of the pixels (graph degree linkage with JULE's criterion, a baseline)"},
      {"probe", ParamType::Bool, "true", "fit a linear probe (logistic regression) on the frozen features"},
      {"tsne_samples", ParamType::Int, "2000", "features embedded with t-SNE for embedding_tsne.png (0: none)"},
      {"dendrogram_merges", ParamType::Int, "40", "the last merges drawn in dendrogram.png"}};
  // "epochs" caps the CNN epochs; the schedule (periods x epochs_per_period) decides.
  for (ParamSpec& spec : deep_runs::training_params(1000, 100, 0.01, 5e-5)) p.push_back(spec);
  p.push_back(networks::sync_bn_param());
  return p;
}

deep_clustering::JuleOptions jule_options(const RunContext& ctx) {
  const std::int64_t k = ctx.params.get_int("n_clusters");
  if (k < 1 || k > ctx.data.size(0))
    throw UsageError("jule: n_clusters must be in [1, " + std::to_string(ctx.data.size(0)) + "], got " + std::to_string(k));
  const double eta = ctx.params.get_float("eta");
  if (!(eta > 0.0 && eta <= 1.0)) throw UsageError("jule: eta must be in (0, 1], got " + std::to_string(eta));
  const std::int64_t k_s = ctx.params.get_int("k_s");
  if (k_s < 1 || k_s >= ctx.data.size(0))
    throw UsageError("jule: k_s must be in [1, " + std::to_string(ctx.data.size(0) - 1) + "], got " + std::to_string(k_s));
  return {.n_clusters = k,
          .k_s = k_s,
          .a = ctx.params.get_float("a"),
          .k_c = ctx.params.get_int("k_c"),
          .lambda = ctx.params.get_float("lambda"),
          .k_c_above = ctx.params.get_int("k_c_above"),
          .eta = eta,
          .gamma = ctx.params.get_float("gamma"),
          .margin = ctx.params.get_float("margin"),
          .negatives = ctx.params.get_int("negatives"),
          .epochs_per_period = ctx.params.get_int("epochs_per_period"),
          .lr = ctx.params.get_float("lr"),
          .weight_decay = ctx.params.get_float("weight_decay"),
          .merge_isolated = ctx.params.get_bool("merge_isolated"),
          .min_cluster_fraction = ctx.params.get_float("min_cluster_fraction"),
          .update_cnn = ctx.params.get_bool("update_cnn")};
}

// The top of the merge tree: the last `last` merges over the clusters they join, leaves at the
// bottom labelled by their number of samples, each merge drawn at the height of its step.
image::Canvas dendrogram(const std::vector<cluster::GdlMerge>& merges, std::int64_t n_leaves,
                         const std::vector<std::int64_t>& leaf_of_sample, std::int64_t last) {
  const auto total = static_cast<std::int64_t>(merges.size());
  last = std::min(last, total);
  const std::int64_t first_shown = n_leaves + total - last;  // nodes below this id are drawn as leaves
  std::vector<std::int64_t> size(static_cast<std::size_t>(n_leaves + total), 0);
  for (std::int64_t leaf : leaf_of_sample) ++size[static_cast<std::size_t>(leaf)];
  std::vector<bool> has_parent(size.size(), false);
  for (const auto& m : merges) {
    size[static_cast<std::size_t>(m.node)] = size[static_cast<std::size_t>(m.a)] + size[static_cast<std::size_t>(m.b)];
    has_parent[static_cast<std::size_t>(m.a)] = has_parent[static_cast<std::size_t>(m.b)] = true;
  }
  // Leaf order: depth first from each final cluster, so every merge joins neighbours.
  std::vector<std::int64_t> order;
  std::function<void(std::int64_t)> visit = [&](std::int64_t node) {
    if (node < first_shown) {
      order.push_back(node);
      return;
    }
    const auto& m = merges[static_cast<std::size_t>(node - n_leaves)];
    visit(m.a);
    visit(m.b);
  };
  for (std::int64_t node = 0; node < n_leaves + total; ++node)
    if (!has_parent[static_cast<std::size_t>(node)]) visit(node);
  const int leaf_step = 16, left = 50, bottom = 48, top = 40, plot_h = 300;
  const int width = std::min<int>(left + 20 + leaf_step * static_cast<int>(order.size()), 4000);
  image::Canvas canvas(width, top + plot_h + bottom);
  canvas.draw_text(10, 12, "jule: the last " + std::to_string(last) + " merges (height = merge step)", image::kBlack);
  std::map<std::int64_t, double> x;
  for (std::size_t i = 0; i < order.size(); ++i) x[order[i]] = left + leaf_step * (static_cast<double>(i) + 0.5);
  auto height = [&](std::int64_t node) {
    const double step = node < first_shown ? 0.0 : static_cast<double>(node - first_shown + 1);
    return top + plot_h - plot_h * step / static_cast<double>(std::max<std::int64_t>(last, 1));
  };
  for (std::int64_t node = first_shown; node < n_leaves + total; ++node) {
    const auto& m = merges[static_cast<std::size_t>(node - n_leaves)];
    const double xa = x.at(m.a), xb = x.at(m.b), y = height(node);
    canvas.draw_line(xa, height(m.a), xa, y, image::kBlack);
    canvas.draw_line(xb, height(m.b), xb, y, image::kBlack);
    canvas.draw_line(xa, y, xb, y, image::kBlack);
    x[node] = (xa + xb) / 2.0;
  }
  for (std::int64_t leaf : order) {
    const std::string text = std::to_string(size[static_cast<std::size_t>(leaf)]);
    canvas.draw_text_up(static_cast<int>(x.at(leaf)) - 3, top + plot_h + 4 + image::text_width(text), text, image::kGray);
  }
  return canvas;
}

Tensor merges_tensor(const std::vector<cluster::GdlMerge>& merges) {
  std::vector<std::int64_t> flat;
  for (const auto& m : merges) flat.insert(flat.end(), {m.a, m.b, m.node});
  return tensor(flat, {static_cast<std::int64_t>(merges.size()), 3});
}

void run(RunContext& ctx) {
  const Tensor images = deep_runs::run_images(ctx);
  const Shape& shape = *ctx.image_shape;
  if (shape[1] != shape[2])
    throw UsageError("jule: the network takes square images, got " + std::to_string(shape[1]) + "x" + std::to_string(shape[2]));
  deep_clustering::JuleOptions options = jule_options(ctx);
  deep_clustering::JuleNet net({.in_channels = shape[0],
                                .image_size = shape[1],
                                .channels = ctx.params.get_int("channels"),
                                .feature_dim = ctx.params.get_int("feature_dim")});
  net.to(ctx.device);
  train::TrainerOptions trainer = deep_runs::trainer_options(ctx);
  // Under mpirun: the CNN trains data-parallel; the forward pass's features are computed a shard
  // per rank and all-gathered (every rank makes the same merges), and each mini-batch's
  // triplets are drawn over the whole batch, each rank's own rows live.
  const auto ddp = networks::data_parallel(ctx, net, trainer, images.size(0));
  if (ddp) {
    options.all_features = [&ddp](deep_clustering::JuleNet& model, const Tensor& x) {
      return deep_runs::gather_sharded(*ddp, x, [&](const Tensor& rows) {
        return deep_clustering::jule_features(model, rows);
      });
    };
    options.gather_batch = [&group = ddp->group()](const Tensor& features, const Tensor& indices) {
      return deep_clustering::JuleBatch{.features = group.all_gather(features.cpu().contiguous()).to(features.device()),
                                        .indices = group.all_gather(indices.to(kCPU, kInt64).contiguous()),
                                        .rank = group.rank(),
                                        .ranks = group.world_size()};
    };
  }
  deep_clustering::Jule jule(net, options, trainer);

  auto log_period = [&](const JulePeriod& p, bool from_checkpoint) {
    nlohmann::json row = {{"period", p.period},         {"clusters", p.clusters}, {"merges", p.merges},
                          {"merge_loss", p.merge_loss}, {"sigma2", p.sigma2},     {"nmi", number_or_null(p.nmi)},
                          {"acc", number_or_null(p.acc)}, {"seconds", p.merge_seconds},
                          {"centroid_merges", p.centroid_merges}};
    if (from_checkpoint) row["from_checkpoint"] = true;
    ctx.log(row);
  };
  auto log_epoch = [&](const JuleEpoch& e, bool from_checkpoint) {
    nlohmann::json row = {{"epoch", e.epoch}, {"period", e.period}, {"loss", e.loss},
                          {"triplets_per_batch", e.triplets_per_batch}, {"lr", e.lr}, {"seconds", e.seconds}};
    if (from_checkpoint) row["from_checkpoint"] = true;
    ctx.log(row);
  };
  std::int64_t logged_periods = 0;
  jule.on_period_end([&](const JulePeriod& p) {
    if (p.period == 0) {
      const std::int64_t planned = deep_clustering::Jule::planned_periods(p.clusters, options.n_clusters, options.eta);
      ctx.metrics["initial_clusters"] = p.clusters;
      ctx.metrics["planned_periods"] = planned;
      ctx.progress->start("epoch", std::max<std::int64_t>(1, std::min(ctx.params.get_int("epochs"), planned * options.epochs_per_period)));
    }
    // On a resume the periods before the checkpoint come back from it (logged after fit).
    if (p.period < logged_periods) return;
    log_period(p, false);
    logged_periods = p.period + 1;
    std::string text = "period " + std::to_string(p.period) + ": " + std::to_string(p.clusters) + " clusters";
    if (std::isfinite(p.nmi)) text += ", NMI " + std::to_string(p.nmi);
    // Merges by the closest centroid: isolated clusters and outlying groups (min_cluster_fraction).
    if (p.centroid_merges > 0)
      text += " (" + std::to_string(p.centroid_merges) +
              (p.centroid_merges == 1 ? " small or isolated cluster" : " small or isolated clusters") + " joined the closest)";
    ctx.progress->message(text);
  });
  jule.on_epoch_end([&](const JuleEpoch& e) {
    log_epoch(e, false);
    deep_runs::epoch_done(ctx, e.epoch, {{"loss", e.loss}, {"period", static_cast<double>(e.period)}},
                          [&](const std::string& path) { jule.set_checkpoint_path(path); });
  });
  const train::TrainResult result = jule.fit(images, ctx.labels);
  if (result.resumed_from_epoch > 0) {
    for (const auto& p : jule.periods())
      if (p.period > 0 && p.period <= (result.resumed_from_epoch - 1) / options.epochs_per_period) log_period(p, true);
    for (const auto& e : jule.epochs())
      if (e.epoch <= result.resumed_from_epoch) log_epoch(e, true);
  }
  deep_runs::finish_training(ctx, result);
  save(net, ctx.path("model.safetensors").string());

  // The clusters, the tree, the time.
  const Tensor labels = jule.labels();
  ctx.save_labels(labels);
  ctx.metrics["periods"] = jule.periods().size();
  ctx.metrics["merges"] = jule.merges().size();
  double merge_seconds = 0.0, train_seconds = 0.0;
  for (const auto& p : jule.periods()) merge_seconds += p.merge_seconds;
  for (const auto& e : jule.epochs()) train_seconds += e.seconds;
  ctx.metrics["merge_seconds"] = merge_seconds;  // features, graphs and merges of every period
  ctx.metrics["train_seconds"] = train_seconds;  // CNN epochs
  std::int64_t centroid_merges = 0;
  for (const auto& p : jule.periods()) centroid_merges += p.centroid_merges;
  ctx.metrics["centroid_merges"] = centroid_merges;  // merges the graph could not make
  data::write_npy(ctx.path("merges.npy"), merges_tensor(jule.merges()));
  data::write_npy(ctx.path("leaves.npy"), tensor(jule.leaves(), {labels.numel()}));

  std::vector<double> nmi, acc, clusters, merge_loss, epoch_loss;
  for (const auto& p : jule.periods()) {
    nmi.push_back(p.nmi);
    acc.push_back(p.acc);
    clusters.push_back(std::log10(static_cast<double>(p.clusters)));
    if (p.period > 0) merge_loss.push_back(p.merge_loss);
  }
  for (const auto& e : jule.epochs()) epoch_loss.push_back(e.loss);
  if (ctx.labels.defined())
    ctx.save_curve("jule_periods.png", "jule: clusters against the classes after each period (0: the start)",
                   {{"NMI", nmi}, {"ACC", acc}}, "period + 1");
  ctx.save_curve("clusters_per_period.png", "jule: log10 of the clusters left after each period",
                 {{"log10 clusters", clusters}}, "period + 1");
  if (!epoch_loss.empty())
    ctx.save_curve("loss_curve.png", "jule: triplet loss per CNN epoch", {{"triplet loss", epoch_loss}}, "epoch");
  if (!merge_loss.empty())
    ctx.save_curve("merge_loss.png", "jule: summed step loss L^t of each period's merges", {{"merge loss", merge_loss}},
                   "period");
  if (!jule.merges().empty()) {
    networks::write_figure(ctx, "dendrogram.png", dendrogram(jule.merges(), jule.n_leaves(), jule.leaves(),
                                                             ctx.params.get_int("dendrogram_merges")));
  }

  // The representation: the talk's 1-NN error (Table 13) and trustworthiness T(12) against the
  // pixels (Table 14), k-NN accuracy and a linear probe, and a t-SNE picture.
  if (!options.update_cnn) return;  // no representation was learned
  const Tensor features = jule.features(images).cpu();
  data::write_npy(ctx.path("features.npy"), features);
  if (ctx.labels.defined()) {
    const std::int64_t n = std::min<std::int64_t>(features.size(0), 5000);
    ctx.metrics["one_nn_error"] = 1.0 - metrics::knn_accuracy(features.narrow(0, 0, n), ctx.labels.narrow(0, 0, n), 1);
    ctx.metrics["trustworthiness_12"] =
        metrics::trustworthiness(ctx.data.narrow(0, 0, n).cpu(), features.narrow(0, 0, n), std::min<std::int64_t>(12, n / 2 - 1));
    ctx.metrics["feature_metrics_samples"] = n;
  }
  deep_runs::feature_metrics(ctx, features, ctx.labels, Tensor(), Tensor());
  networks::save_latent_space(ctx, features, Tensor(), Tensor());
}

CAKE_REGISTER_ALGORITHM({
    .name = "jule",
    .summary = "JULE: agglomerative clustering (graph degree linkage) and CNN features learned together, period by period",
    .reference = "Yang, Parikh & Batra 2016 (CVPR), 'Joint Unsupervised Learning of Deep Representations and Image "
                 "Clusters'; Zhang, Wang, Zhao & Tang 2012 (ECCV), 'Graph Degree Linkage'",
    .params = params(),
    .run = run,
    .example = "cake run jule --data fashion-mnist:test:1000 --set epochs_per_period=1",
    .multi_rank = MultiRank::DataParallel,
});

}  // namespace
}  // namespace cake::cli::jule_command
