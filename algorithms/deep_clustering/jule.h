// jule.h: JULE, joint unsupervised learning of deep representations and image clusters (Yang,
// Parikh & Batra 2016, CVPR): agglomerative clustering in the forward pass, a CNN update in the
// backward pass, the two alternating until the requested number of clusters is left.
//
//   cake::deep_clustering::JuleNet net({.in_channels = 1, .image_size = 28});
//   cake::deep_clustering::Jule jule(net, {.n_clusters = 10}, {.batch_size = 100, .seed = 0});
//   cake::train::TrainResult result = jule.fit(images, labels);    // labels only for the log
//   cake::Tensor clusters = jule.labels();                         // [N] int64, 0 .. 9
//   cake::Tensor at_20 = jule.labels_at(20);                       // the merge tree cut at 20
//
// The recurrent process (the talk's "Approach: Recurrent Framework" and Algorithm 1 slides):
//   1. Start from an over-segmentation of the raw images (L2-normalised pixels): the connected
//      components of the nearest-neighbour graph, about four samples per cluster.
//   2. Train the CNN for `epochs_per_period` epochs on the clusters so far, with the
//      sample-level loss below (backward pass, cluster labels fixed). The talk says "about 20";
//      the default is 3, chosen by measurement (docs/algorithms/jule.md: 3 reaches the
//      published NMI on Fashion-MNIST, 5 did no better, 20 would take about 6x as long).
//   3. Forward pass, CNN fixed: the K_s-NN graph of the CNN's features, and ceil(eta n_c)
//      merges of the n_c current clusters by graph degree linkage with JULE's criterion
//      (algorithms/cluster/graph_degree_linkage.h) — "partial unrolling": one CNN update per
//      period of merges, eta the unrolling rate. Then back to 2, until n_clusters are left (the
//      last period merges to exactly n_clusters and is not followed by training). When no two
//      clusters have a graph affinity left (GDL needs paths both ways between them, and a k-NN
//      graph can fall apart into pieces) the period's remaining merges join the clusters of
//      closest mean feature, as the released code does for such clusters. Cake's one addition
//      (min_cluster_fraction): a group far smaller than an even share does not count towards a
//      period's target; the merges go on, and such groups then join their closest cluster.
// With eta = 0.9 the number of clusters falls tenfold per period (1,146 -> 114 -> 11 -> 10 on
// the 10,000 Fashion-MNIST test images): three periods of CNN training.
//
// The losses. The forward pass's per-step loss is the talk's
//   L^t = -A(C_i, N[1]) - lambda / (K_c - 1) sum_{k=2}^{K_c} (A(C_i, N[1]) - A(C_i, N[k]))
// (graph_degree_linkage.h); a period's loss is the sum over its merges. For the CNN the talk
// turns it into a sample-level loss over triplets: x_i, x_j in one cluster, x_k in another,
//   L(theta) = -sum_{i,j,k} (gamma A(x_i, x_j) - A(x_i, x_k)),
// with the affinity of unit feature vectors A(x, y) = x.y = 1 - |x - y|^2 / 2. As the released
// code does (github.com/jwyang/JULE.torch, criterions/TripletEmbedding.lua, train.lua), each
// term becomes a hinge with a margin on the squared distances,
//   l(i, j, k) = max(0, gamma |f_i - f_j|^2 - |f_i - f_k|^2 + margin),
// averaged over the triplets of a mini-batch: every pair (i, j) of the batch in one cluster,
// with up to `negatives` samples k of the batch from other clusters drawn at random.
//
// The network (the talk's per-data-set table, MNIST column; "set the layer numbers so that the
// output feature map is about 10x10"): conv5x5-50, batch norm, ReLU, 2x2 max-pool, conv5x5-50,
// batch norm, ReLU, inner product to 160, L2 normalisation. On 28x28 images the last maps are
// 8x8. Widths, kernel sizes and the optimiser (SGD, lr 0.01, momentum 0.9, weight decay 5e-5,
// lr_t = lr (1 + 1e-4 t)^-0.75 at step t, batches of 100, weights N(0, 0.01^2)) are the
// released code's (models_def/MNIST-test.lua, train.lua).
//
// Resuming: the merge state (the initial clusters, every merge so far, the per-period record)
// travels in the Trainer's checkpoint (trainer.add_state), so a resumed run is the same run.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <vector>

#include "cake/algorithms/cluster/graph_degree_linkage.h"
#include "cake/algorithms/train/trainer.h"
#include "cake/nn/module.h"
#include "cake/nn/sequential.h"
#include "cake/tensor/tensor.h"

namespace cake::deep_clustering {

struct JuleNetOptions {
  std::int64_t in_channels = 1;
  std::int64_t image_size = 28;   // height = width
  std::int64_t channels = 50;     // of both convolutions
  std::int64_t kernel = 5;        // no padding, as the released network
  std::int64_t feature_dim = 160; // the inner product's outputs
};

// conv-bn-relu-pool, conv-bn-relu, inner product, L2 normalisation: unit features [N, feature_dim].
class JuleNet : public nn::Module {
 public:
  explicit JuleNet(JuleNetOptions options = {});
  Tensor forward(const Tensor& images) override;
  const JuleNetOptions& options() const { return options_; }
  std::string name() const override { return "JuleNet"; }

 private:
  JuleNetOptions options_;
  std::shared_ptr<nn::Sequential> body_;
};

// The unit features of many images in batches, in evaluation mode, without a graph.
Tensor jule_features(JuleNet& net, const Tensor& images, std::int64_t batch_size = 512);

// Index triplets (anchor, positive, negative) of one mini-batch.
struct Triplets {
  std::vector<std::int64_t> anchor, positive, negative;
  std::int64_t size() const { return static_cast<std::int64_t>(anchor.size()); }
};
// A mini-batch's rows from every rank (JuleOptions::gather_batch): rank q's part of m = M /
// ranks rows is rows q m .. q m + m - 1 of `features` [M, d] and `indices` [M]. The distributed
// sampler gives rank q the batch positions q, q + ranks, q + 2 ranks, ...: row q m + j is
// position j ranks + q of the batch one process would take.
struct JuleBatch {
  Tensor features, indices;
  int rank = 0, ranks = 1;
};

// The data-parallel triplet loss of one rank: the triplets of the whole batch (labels in one
// process's order, the negatives drawn from `keys` as batch_triplets does) on the gathered
// features with this rank's rows `mine` [m, d] live and every other rank's held fixed. The sum
// over the ranks of these losses' gradients is the whole batch's (each row's partial
// derivatives come from its own rank), so the result is scaled to gradient ranks x dL (DDP
// takes the mean) with the value L, the same on every rank.
Tensor jule_triplet_loss_part(const Tensor& mine, const JuleBatch& batch, const std::vector<std::int64_t>& labels,
                              std::int64_t negatives, const Tensor& keys, double gamma, double margin,
                              std::int64_t* triplet_count = nullptr);

// Every pair i < j of equal labels, each with up to `negatives` samples of other labels: those
// with the smallest keys[p][k] for the pair's row p (keys [pairs, m], uniform draws), i.e. a
// uniform choice without replacement. pairs = number of same-label pairs (count_pairs).
std::int64_t count_pairs(const std::vector<std::int64_t>& labels);
Triplets batch_triplets(const std::vector<std::int64_t>& labels, std::int64_t negatives, const Tensor& keys);

// mean over triplets of max(0, gamma |f_a - f_p|^2 - |f_a - f_n|^2 + margin); zero (still
// attached to the graph) without triplets.
Tensor jule_triplet_loss(const Tensor& features, const Triplets& triplets, double gamma, double margin);

struct JuleOptions {
  std::int64_t n_clusters = 10;  // n_c*, the clusters to end with
  // The forward pass (the talk's hyper-parameter table).
  std::int64_t k_s = 20;    // K_s, neighbours of the sample graph
  double a = 1.0;           // sigma^2 = a times the mean squared neighbour distance
  std::int64_t k_c = 5;     // K_c, clusters the merge criterion looks at
  double lambda = 1.0;      // lambda, weight of the margin to the next K_c - 1 clusters
  // K_c applies while more than k_c_above clusters remain, then plain GDL (GdlMergeOptions).
  std::int64_t k_c_above = 0;
  double eta = 0.9;         // unrolling rate: a period merges ceil(eta n_c) of n_c clusters
  // The backward pass.
  double gamma = 2.0;       // gamma, weight of the intra-cluster term
  double margin = 0.2;      // hinge margin (released code)
  std::int64_t negatives = 20;  // negatives per positive pair (released code)
  // The talk: "train CNN for about 20 epochs"; 3 is the measured choice (docs/algorithms/jule.md).
  std::int64_t epochs_per_period = 3;
  double lr = 0.01, momentum = 0.9, weight_decay = 5e-5;
  double lr_gamma = 1e-4, lr_power = 0.75;  // lr_t = lr (1 + lr_gamma t)^-lr_power
  std::int64_t eval_batch_size = 512;
  // true: at the start of every period, each cluster with no graph affinity to any other (GDL
  // can never merge it) joins the cluster of closest mean feature, as the released code does
  // (affinity/affinity.lua, compute4cluster; there only while more than 20 n_clusters remain).
  // Off by default: on a Fashion-MNIST run it changed no final label (docs/algorithms/jule.md).
  bool merge_isolated = false;
  // Outlying groups. When a period merges down to `target` clusters, a cluster with fewer than
  // min_cluster_fraction x n / target images (a small part of an even share) is a group of
  // outlying images, not one of the target: the graph merges go on until `target` clusters of at
  // least that size exist, then each smaller one joins the cluster of closest mean feature.
  // Without it, Fashion-MNIST runs end with 2 to 7 "clusters" of 2 to 12 images that graph
  // degree linkage never merges (a large cluster always scores better), so only 3 to 8 real
  // clusters are left (docs/algorithms/jule.md, four seeds). 0: the talk's process as it is, every cluster counts.
  double min_cluster_fraction = 0.05;
  // false: no CNN at all, every merge on the graph of the L2-normalised pixels (the released
  // code's -updateCNN 0): graph degree linkage with JULE's criterion on raw images, a baseline.
  bool update_cnn = true;

  // ---- data-parallel training (tools/algorithms/jule.cpp sets these under mpirun) ----
  // The forward pass's features of all images [N, d]; empty: jule_features on every image.
  // Under mpirun each rank computes its shard of rows and the ranks all-gather them (after
  // copying rank 0's batch-norm statistics), so every rank makes the same merges.
  std::function<Tensor(JuleNet& net, const Tensor& images)> all_features = nullptr;
  // Every rank's part of a mini-batch, all-gathered in rank order: the features (without
  // graph) and the images' indices. The triplets are then drawn over the whole batch, in the
  // order one process sees it, and each rank's loss keeps only its own rows live (JuleBatch).
  std::function<JuleBatch(const Tensor& features, const Tensor& indices)> gather_batch = nullptr;
};

// One period: its merges (the forward pass) and the CNN training that followed (none after the
// last). Period 0 is the initial over-segmentation. NaN where it does not apply.
struct JulePeriod {
  std::int64_t period = 0;
  std::int64_t clusters = 0;  // after the period's merges
  std::int64_t merges = 0;
  double merge_loss = 0.0;    // sum of the merges' step losses L^t
  double sigma2 = 0.0;        // of the period's sample graph
  double nmi = std::numeric_limits<double>::quiet_NaN();  // the clusters against the labels
  double acc = std::numeric_limits<double>::quiet_NaN();
  double merge_seconds = 0.0; // features, graph and merges
  // Of `merges`, those joined by the closest centroids: isolated clusters (merge_isolated), or
  // the rest of the period when no two clusters had a graph affinity left (see Jule::fit).
  std::int64_t centroid_merges = 0;
};

// One CNN epoch (a row of the per-epoch log).
struct JuleEpoch {
  std::int64_t epoch = 0, period = 0;
  double loss = 0.0;               // mean of the batches' triplet losses, weighted by batch size
  double triplets_per_batch = 0.0;
  double lr = 0.0;                 // at the epoch's last step
  double seconds = 0.0;
};

class Jule {
 public:
  // trainer: batch_size, seed, checkpoint_path, resume_from, should_stop; `epochs` caps the
  // CNN epochs (the schedule fixes how many there are), patience and restore_best are ignored.
  Jule(JuleNet& net, JuleOptions options, train::TrainerOptions trainer);

  void on_period_end(std::function<void(const JulePeriod&)> callback) { on_period_end_ = std::move(callback); }
  void on_epoch_end(std::function<void(const JuleEpoch&)> callback) { on_epoch_end_ = std::move(callback); }

  // Runs JULE on images [N, C, H, W] (labels, optional, only for the log).
  train::TrainResult fit(const Tensor& images, const Tensor& labels = {});

  // The final clusters [N] (0 .. n_clusters-1), the tree cut at k clusters (k at least the
  // number of clusters left, at most the number of initial ones), the learned features.
  Tensor labels() const;
  Tensor labels_at(std::int64_t k) const;
  Tensor features(const Tensor& images);

  // The merges so far in scipy's layout over the initial clusters (leaves 0 .. n_leaves-1).
  const std::vector<cluster::GdlMerge>& merges() const { return merges_; }
  std::int64_t n_leaves() const { return n_leaves_; }
  const std::vector<std::int64_t>& leaves() const { return leaf_of_sample_; }  // each sample's initial cluster
  const std::vector<JulePeriod>& periods() const { return periods_; }
  const std::vector<JuleEpoch>& epochs() const { return epochs_; }
  // The number of merge periods the schedule plans from `initial` clusters down to n_clusters.
  static std::int64_t planned_periods(std::int64_t initial, std::int64_t n_clusters, double eta);

  void set_checkpoint_path(std::string path);
  const JuleOptions& options() const { return options_; }

 private:
  std::vector<std::int64_t> current_labels() const;  // 0 .. C-1 over the samples
  void merge_period(const Tensor& images, std::int64_t period, std::int64_t target, const Tensor& truth);
  std::int64_t merge_by_centroids(const Tensor& feats, std::int64_t target);
  std::int64_t merge_isolated(const cluster::GdlGraph& graph, const Tensor& feats, std::int64_t budget);
  std::int64_t merge_small(const Tensor& feats, std::int64_t min_size, std::int64_t target);
  // ceil(min_cluster_fraction n_images / target): the size below which a cluster is an outlying group.
  std::int64_t min_cluster_size(std::int64_t n_images, std::int64_t target) const;

  JuleNet& net_;
  JuleOptions options_;
  train::TrainerOptions trainer_options_;
  train::Trainer* active_trainer_ = nullptr;
  std::function<void(const JulePeriod&)> on_period_end_;
  std::function<void(const JuleEpoch&)> on_epoch_end_;
  // The merge state.
  std::vector<std::int64_t> leaf_of_sample_;
  std::int64_t n_leaves_ = 0;
  std::vector<cluster::GdlMerge> merges_;
  std::vector<JulePeriod> periods_;
  std::vector<JuleEpoch> epochs_;
  std::vector<std::int64_t> batch_labels_;  // current_labels(), refreshed after every period
};

}  // namespace cake::deep_clustering
