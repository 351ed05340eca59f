// jule.cpp: JULE's network, triplet loss and recurrent loop (jule.h).
#include "cake/algorithms/deep_clustering/jule.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <limits>
#include <numeric>
#include <optional>
#include <unordered_map>

#include "cake/algorithms/metrics/metrics.h"
#include "cake/algorithms/networks/autoencoder.h"
#include "cake/algorithms/train/running_fit.h"
#include "cake/autograd/grad_mode.h"
#include "cake/autograd/ops.h"
#include "cake/nn/activation.h"
#include "cake/nn/conv.h"
#include "cake/nn/functional.h"
#include "cake/nn/init.h"
#include "cake/nn/linear.h"
#include "cake/nn/normalization.h"
#include "cake/nn/pooling.h"
#include "cake/optim/sgd.h"
#include "cake/tensor/creation.h"

namespace cake::deep_clustering {

using index_t = std::int64_t;

// ---- The network --------------------------------------------------------------------------------------

JuleNet::JuleNet(JuleNetOptions options) : options_(options) {
  const index_t k = options_.kernel;
  CAKE_CHECK(options_.in_channels > 0 && options_.channels > 0 && options_.feature_dim > 0 && k > 0,
             "JuleNet: channels, kernel and feature_dim must be positive");
  // conv (no padding) -> 2x2 pool -> conv (no padding): the side of the last feature maps.
  const index_t side = (options_.image_size - k + 1) / 2 - k + 1;
  CAKE_CHECK(side >= 1, "JuleNet: images of ", options_.image_size, "x", options_.image_size,
             " are too small for two ", k, "x", k, " convolutions and a 2x2 pooling");
  body_ = register_module("body", std::make_shared<nn::Sequential>());
  auto conv = [&](index_t in) {
    auto c = std::make_shared<nn::Conv2d>(in, options_.channels, k, nn::Conv2dOptions{.bias = false});
    nn::init::normal_(c->weight, 0.0, 0.01);  // the released code's initialisation (train.lua, NetInit)
    body_->push_back(c);
    body_->push_back(std::make_shared<nn::BatchNorm2d>(options_.channels));
    body_->push_back(std::make_shared<nn::ReLU>());
  };
  conv(options_.in_channels);
  body_->push_back(std::make_shared<nn::MaxPool2d>(2));
  conv(options_.channels);
  body_->push_back(std::make_shared<nn::Flatten>());
  auto ip = std::make_shared<nn::Linear>(options_.channels * side * side, options_.feature_dim);
  nn::init::normal_(ip->weight, 0.0, 0.01);
  nn::init::zeros_(ip->bias);
  body_->push_back(ip);
}

Tensor JuleNet::forward(const Tensor& images) {
  CAKE_CHECK(images.dim() == 4 && images.size(1) == options_.in_channels && images.size(2) == options_.image_size &&
                 images.size(3) == options_.image_size,
             "JuleNet: expected images [N, ", options_.in_channels, ", ", options_.image_size, ", ",
             options_.image_size, "], got shape ", images.sizes());
  // y / sqrt(|y|^2 + eps) rather than y / max(|y|, eps): the same on any row that is not ~0,
  // and a finite gradient on a row of zeros (which a ReLU network can output; the norm's
  // derivative there is 0/0).
  const Tensor y = body_->forward(images);
  return y / (y.square().sum(1, true) + 1e-12).sqrt();
}

Tensor jule_features(JuleNet& net, const Tensor& images, std::int64_t batch_size) {
  const bool was_training = net.is_training();
  net.eval();
  Tensor out = networks::map_batches([&](const Tensor& x) { return net.forward(x); }, images, batch_size);
  net.train(was_training);
  return out;
}

// ---- The triplet loss ---------------------------------------------------------------------------------

std::int64_t count_pairs(const std::vector<index_t>& labels) {
  std::unordered_map<index_t, index_t> size;
  for (index_t l : labels) ++size[l];
  index_t pairs = 0;
  for (const auto& [label, s] : size) pairs += s * (s - 1) / 2;
  return pairs;
}

Triplets batch_triplets(const std::vector<index_t>& labels, std::int64_t negatives, const Tensor& keys_in) {
  CAKE_CHECK(negatives >= 1, "batch_triplets: negatives must be at least 1, got ", negatives);
  const index_t m = static_cast<index_t>(labels.size()), pairs = count_pairs(labels);
  Triplets out;
  if (pairs == 0) return out;
  CAKE_CHECK(keys_in.defined() && keys_in.dim() == 2 && keys_in.size(0) == pairs && keys_in.size(1) == m,
             "batch_triplets: expected keys [", pairs, ", ", m, "] (pairs x batch), got ",
             keys_in.defined() ? shape_str(keys_in.sizes()) : "an undefined tensor");
  const Tensor keys = keys_in.to(kCPU, kFloat64).contiguous();
  const double* key = keys.data_ptr<double>();
  std::vector<index_t> candidates;
  candidates.reserve(static_cast<std::size_t>(m));
  index_t p = 0;
  for (index_t i = 0; i < m; ++i)
    for (index_t j = i + 1; j < m; ++j) {
      if (labels[i] != labels[j]) continue;
      const double* row = key + p * m;
      candidates.clear();
      for (index_t k = 0; k < m; ++k)
        if (labels[k] != labels[i]) candidates.push_back(k);
      const auto take = static_cast<std::ptrdiff_t>(std::min<index_t>(negatives, static_cast<index_t>(candidates.size())));
      std::partial_sort(candidates.begin(), candidates.begin() + take, candidates.end(),
                        [&](index_t a, index_t b) { return row[a] != row[b] ? row[a] < row[b] : a < b; });
      for (std::ptrdiff_t t = 0; t < take; ++t) {
        out.anchor.push_back(i);
        out.positive.push_back(j);
        out.negative.push_back(candidates[static_cast<std::size_t>(t)]);
      }
      ++p;
    }
  return out;
}

Tensor jule_triplet_loss(const Tensor& features, const Triplets& triplets, double gamma, double margin) {
  CAKE_CHECK(features.defined() && features.dim() == 2, "jule_triplet_loss: expected features [m, d], got ",
             features.defined() ? shape_str(features.sizes()) : "an undefined tensor");
  if (triplets.size() == 0) return (features * 0.0).sum();  // nothing to learn, but a graph to walk back
  const index_t t = triplets.size();
  auto rows = [&](const std::vector<index_t>& index) {
    return features.index_select(0, tensor(index, {t}).to(features.device()));
  };
  const Tensor anchor = rows(triplets.anchor);
  const Tensor positive = (anchor - rows(triplets.positive)).square().sum(1);
  const Tensor negative = (anchor - rows(triplets.negative)).square().sum(1);
  return (gamma * positive - negative + margin).relu().mean();
}

Tensor jule_triplet_loss_part(const Tensor& mine, const JuleBatch& batch, const std::vector<index_t>& labels,
                              std::int64_t negatives, const Tensor& keys, double gamma, double margin,
                              std::int64_t* triplet_count) {
  const index_t total = batch.features.size(0), p = batch.ranks, m = mine.size(0);
  CAKE_CHECK(p >= 1 && total == m * p && static_cast<index_t>(labels.size()) == total && batch.rank >= 0 &&
                 batch.rank < p,
             "jule_triplet_loss_part: rank ", batch.rank, " of ", p, " with ", m, " rows of a batch of ", total,
             " features and ", labels.size(), " labels (every rank's part must be equal)");
  // Triplets over the batch in one process's order, then moved to the gathered (rank-major) rows.
  Triplets triplets = batch_triplets(labels, negatives, keys);
  const auto gathered_row = [&](index_t position) { return (position % p) * m + position / p; };
  for (auto* list : {&triplets.anchor, &triplets.positive, &triplets.negative})
    for (index_t& i : *list) i = gathered_row(i);
  if (triplet_count) *triplet_count = triplets.size();
  // The gathered features with this rank's rows replaced by the live ones.
  std::vector<Tensor> parts;
  const index_t begin = batch.rank * m;
  if (begin > 0) parts.push_back(batch.features.narrow(0, 0, begin).detach());
  parts.push_back(mine);
  if (begin + m < total) parts.push_back(batch.features.narrow(0, begin + m, total - begin - m).detach());
  const Tensor loss = jule_triplet_loss(cat(parts, 0), triplets, gamma, margin);
  return loss * static_cast<double>(p) - loss.detach() * static_cast<double>(p - 1);
}

// ---- The merge state ------------------------------------------------------------------------------------

namespace {

// Each sample's current node (scipy ids): its leaf, followed up through the merges so far.
std::vector<index_t> current_nodes(const std::vector<index_t>& leaf_of_sample, index_t n_leaves,
                                   const std::vector<cluster::GdlMerge>& merges) {
  std::vector<index_t> up(static_cast<std::size_t>(n_leaves) + merges.size());
  std::iota(up.begin(), up.end(), index_t{0});
  for (const cluster::GdlMerge& m : merges) up[m.a] = up[m.b] = m.node;
  // Nodes are created in increasing order, so one pass from the top resolves every chain.
  for (index_t v = static_cast<index_t>(up.size()) - 1; v >= 0; --v) up[v] = up[up[v]];
  std::vector<index_t> out(leaf_of_sample.size());
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = up[leaf_of_sample[i]];
  return out;
}

// Rows of doubles with a leading row that holds the count: a checkpoint table that is never
// empty (the first checkpoint has no merges yet).
Tensor table(const std::vector<std::vector<double>>& rows, index_t columns) {
  Tensor out = zeros({static_cast<index_t>(rows.size()) + 1, columns}, kFloat64);
  double* t = out.data_ptr<double>();
  t[0] = static_cast<double>(rows.size());
  for (std::size_t r = 0; r < rows.size(); ++r) std::copy(rows[r].begin(), rows[r].end(), t + (r + 1) * columns);
  return out;
}
std::vector<std::vector<double>> rows_of(const Tensor& in, index_t columns, const char* what) {
  CAKE_CHECK(in.defined() && in.dim() == 2 && in.size(1) == columns && in.size(0) >= 1, "JULE: the checkpoint's ",
             what, " table must be [rows + 1, ", columns, "], got ", in.defined() ? shape_str(in.sizes()) : "nothing");
  const Tensor t = in.to(kCPU, kFloat64).contiguous();
  const double* v = t.data_ptr<double>();
  const auto count = static_cast<index_t>(v[0]);
  CAKE_CHECK(count == t.size(0) - 1, "JULE: the checkpoint's ", what, " table says ", count, " rows but holds ",
             t.size(0) - 1);
  std::vector<std::vector<double>> rows;
  for (index_t r = 1; r <= count; ++r) rows.emplace_back(v + r * columns, v + (r + 1) * columns);
  return rows;
}

std::vector<index_t> compact(const std::vector<index_t>& labels) {
  std::unordered_map<index_t, index_t> id;
  std::vector<index_t> out(labels.size());
  for (std::size_t i = 0; i < labels.size(); ++i) out[i] = id.try_emplace(labels[i], static_cast<index_t>(id.size())).first->second;
  return out;
}

Tensor as_tensor(const std::vector<index_t>& v) { return tensor(v, {static_cast<index_t>(v.size())}); }

}  // namespace

// ---- The algorithm --------------------------------------------------------------------------------------

Jule::Jule(JuleNet& net, JuleOptions options, train::TrainerOptions trainer)
    : net_(net), options_(options), trainer_options_(std::move(trainer)) {
  CAKE_CHECK(options_.n_clusters >= 1, "JULE: n_clusters must be at least 1, got ", options_.n_clusters);
  CAKE_CHECK(options_.eta > 0.0 && options_.eta <= 1.0, "JULE: the unrolling rate eta must be in (0, 1], got ",
             options_.eta);
  CAKE_CHECK(options_.k_s >= 1 && options_.k_c >= 1 && options_.negatives >= 1 && options_.epochs_per_period >= 1,
             "JULE: K_s, K_c, negatives and epochs_per_period must be at least 1");
  CAKE_CHECK(options_.gamma > 0.0 && options_.margin >= 0.0 && options_.lambda >= 0.0 && options_.lr > 0.0,
             "JULE: gamma and lr must be positive, margin and lambda non-negative");
  CAKE_CHECK(options_.k_c_above >= 0, "JULE: k_c_above must be non-negative, got ", options_.k_c_above);
  CAKE_CHECK(options_.min_cluster_fraction >= 0.0 && options_.min_cluster_fraction <= 1.0,
             "JULE: min_cluster_fraction must be in [0, 1], got ", options_.min_cluster_fraction);
}

std::int64_t Jule::planned_periods(std::int64_t initial, std::int64_t n_clusters, double eta) {
  index_t periods = 0;
  for (index_t n = initial; n > n_clusters; ++periods)
    n -= std::min<index_t>(static_cast<index_t>(std::ceil(eta * static_cast<double>(n))), n - n_clusters);
  return periods;
}

std::vector<index_t> Jule::current_labels() const { return compact(current_nodes(leaf_of_sample_, n_leaves_, merges_)); }

Tensor Jule::labels() const {
  CAKE_CHECK(n_leaves_ > 0, "JULE: labels() before fit()");
  return as_tensor(current_labels());
}

Tensor Jule::labels_at(std::int64_t k) const {
  CAKE_CHECK(n_leaves_ > 0, "JULE: labels_at() before fit()");
  const index_t left = n_leaves_ - static_cast<index_t>(merges_.size());
  CAKE_CHECK(k >= left && k <= n_leaves_, "JULE: the merge tree can be cut at ", left, " to ", n_leaves_,
             " clusters, not ", k);
  return as_tensor(cluster::labels_after(leaf_of_sample_, n_leaves_, merges_, n_leaves_ - k));
}

Tensor Jule::features(const Tensor& images) {
  const Device device = net_.parameters().front().device();
  if (options_.all_features) return options_.all_features(net_, images.to(device));
  return jule_features(net_, images.to(device), options_.eval_batch_size);
}

void Jule::set_checkpoint_path(std::string path) {
  trainer_options_.checkpoint_path = path;
  if (active_trainer_) active_trainer_->set_checkpoint_path(std::move(path));
}

namespace {

// The current clusters' mean features, for the merges JULE makes by the closest centroids
// (merge_by_centroids, merge_isolated); slot a is the a-th cluster of compact() labels.
struct ClusterCentroids {
  index_t d = 0;
  std::vector<index_t> node, size;  // the merge-tree node and the number of images of each slot
  std::vector<double> mean;         // [c, d]
  std::vector<bool> alive;

  ClusterCentroids(const std::vector<index_t>& nodes, const std::vector<index_t>& local, index_t c, const Tensor& feats)
      : d(feats.size(1)), node(static_cast<std::size_t>(c)), size(static_cast<std::size_t>(c), 0),
        mean(static_cast<std::size_t>(c * d), 0.0), alive(static_cast<std::size_t>(c), true) {
    const double* f = feats.data_ptr<double>();
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      node[local[i]] = nodes[i];
      ++size[local[i]];
      for (index_t k = 0; k < d; ++k) mean[local[i] * d + k] += f[static_cast<index_t>(i) * d + k];
    }
    for (index_t a = 0; a < c; ++a)
      for (index_t k = 0; k < d; ++k) mean[a * d + k] /= static_cast<double>(size[a]);
  }

  double squared_distance(index_t a, index_t b) const {
    double d2 = 0.0;
    for (index_t k = 0; k < d; ++k) d2 += (mean[a * d + k] - mean[b * d + k]) * (mean[a * d + k] - mean[b * d + k]);
    return d2;
  }

  // `gone` joins `keep`, whose slot holds the merged cluster (tree node `new_node`) from now on.
  void join(index_t keep, index_t gone, index_t new_node) {
    const double wk = static_cast<double>(size[keep]), wg = static_cast<double>(size[gone]);
    for (index_t k = 0; k < d; ++k) mean[keep * d + k] = (wk * mean[keep * d + k] + wg * mean[gone * d + k]) / (wk + wg);
    size[keep] += size[gone];
    node[keep] = new_node;
    alive[gone] = false;
  }
};

// Each cluster of `joining` (slots of `centroids`, in order) joins the live cluster of closest
// mean feature among those `may_receive` accepts, until `budget` merges are made; the merges go
// into the tree (`merges`, whose nodes follow n_leaves). Returns the number of merges.
index_t join_closest(ClusterCentroids& centroids, const std::vector<index_t>& joining, index_t budget,
                     const std::function<bool(index_t)>& may_receive, index_t n_leaves,
                     std::vector<cluster::GdlMerge>& merges) {
  const auto c = static_cast<index_t>(centroids.size.size());
  index_t merged = 0;
  for (const index_t a : joining) {
    if (merged == budget) break;
    index_t best_b = -1;
    double best = std::numeric_limits<double>::infinity();
    for (index_t b = 0; b < c; ++b) {
      if (b == a || !centroids.alive[b] || !may_receive(b)) continue;
      const double d2 = centroids.squared_distance(a, b);
      if (d2 < best) best = d2, best_b = b;
    }
    if (best_b < 0) break;
    // a joins best_b, whose slot holds the merged cluster from now on.
    const index_t new_node = n_leaves + static_cast<index_t>(merges.size());
    const index_t na = centroids.node[a], nb = centroids.node[best_b];
    merges.push_back({.a = std::min(na, nb), .b = std::max(na, nb), .node = new_node, .affinity = 0.0, .loss = 0.0});
    centroids.join(best_b, a, new_node);
    ++merged;
  }
  return merged;
}

}  // namespace

// Merges the current clusters with the closest centroids (of the unit features, so the mean
// direction) until `target` are left; returns the number of merges. Quadratic in the clusters:
// it only finishes what the graph could not.
std::int64_t Jule::merge_by_centroids(const Tensor& feats, std::int64_t target) {
  const std::vector<index_t> nodes = current_nodes(leaf_of_sample_, n_leaves_, merges_);
  const std::vector<index_t> local = compact(nodes);
  const index_t c = *std::max_element(local.begin(), local.end()) + 1;
  if (c <= target) return 0;
  ClusterCentroids centroids(nodes, local, c, feats);
  index_t merged = 0;
  for (index_t left = c; left > target; --left, ++merged) {
    index_t best_a = -1, best_b = -1;
    double best = std::numeric_limits<double>::infinity();
    for (index_t a = 0; a < c; ++a)
      for (index_t b = a + 1; b < c && centroids.alive[a]; ++b) {
        if (!centroids.alive[b]) continue;
        const double d2 = centroids.squared_distance(a, b);
        if (d2 < best) best = d2, best_a = a, best_b = b;
      }
    const index_t new_node = n_leaves_ + static_cast<index_t>(merges_.size());
    const index_t na = centroids.node[best_a], nb = centroids.node[best_b];
    merges_.push_back({.a = std::min(na, nb), .b = std::max(na, nb), .node = new_node, .affinity = 0.0, .loss = 0.0});
    centroids.join(best_a, best_b, new_node);
  }
  return merged;
}

// Joins each cluster that has no graph affinity to any other ("self-contained": graph degree
// linkage can never merge it) to the cluster of closest mean feature, at most `budget` of them;
// returns the number of merges. The released code does this before a period's merges
// (affinity/affinity.lua, compute4cluster): a few outlying images that point at others but are
// pointed at by none. (The small clusters that Fashion-MNIST runs end with are not of this kind:
// they have small affinities, docs/algorithms/jule.md.)
std::int64_t Jule::merge_isolated(const cluster::GdlGraph& graph, const Tensor& feats, std::int64_t budget) {
  const std::vector<index_t> nodes = current_nodes(leaf_of_sample_, n_leaves_, merges_);
  const std::vector<index_t> local = compact(nodes);
  const index_t c = *std::max_element(local.begin(), local.end()) + 1;
  std::vector<index_t> isolated;
  {
    const cluster::GdlAgglomeration engine(graph, local, {.k_c = options_.k_c, .lambda = options_.lambda, .k_c_above = options_.k_c_above});
    for (index_t a = 0; a < c; ++a)
      if (engine.nearest_clusters(a, 1).empty()) isolated.push_back(a);
  }
  if (isolated.empty() || budget <= 0) return 0;
  ClusterCentroids centroids(nodes, local, c, feats);
  return join_closest(centroids, isolated, budget, [](index_t) { return true; }, n_leaves_, merges_);
}

// Each cluster of fewer than min_size images joins the cluster of closest mean feature among
// those of at least min_size (any cluster when there are none), smallest first, until `target`
// are left; returns the number of merges.
std::int64_t Jule::merge_small(const Tensor& feats, std::int64_t min_size, std::int64_t target) {
  const std::vector<index_t> nodes = current_nodes(leaf_of_sample_, n_leaves_, merges_);
  const std::vector<index_t> local = compact(nodes);
  const index_t c = *std::max_element(local.begin(), local.end()) + 1;
  ClusterCentroids centroids(nodes, local, c, feats);
  std::vector<index_t> small;
  bool any_large = false;
  for (index_t a = 0; a < c; ++a) {
    if (centroids.size[a] < min_size)
      small.push_back(a);
    else
      any_large = true;
  }
  std::stable_sort(small.begin(), small.end(), [&](index_t a, index_t b) { return centroids.size[a] < centroids.size[b]; });
  const auto may_receive = [&](index_t b) { return !any_large || centroids.size[b] >= min_size; };
  return join_closest(centroids, small, std::max<index_t>(c - target, 0), may_receive, n_leaves_, merges_);
}

std::int64_t Jule::min_cluster_size(std::int64_t n_images, std::int64_t target) const {
  return static_cast<index_t>(
      std::ceil(options_.min_cluster_fraction * static_cast<double>(n_images) / static_cast<double>(target)));
}

// The forward pass of one period: the graph of the current features, merges down to `target`.
void Jule::merge_period(const Tensor& images, std::int64_t period, std::int64_t target, const Tensor& truth) {
  const auto started = std::chrono::steady_clock::now();
  const Tensor feats = options_.update_cnn ? features(images).to(kCPU, kFloat64).contiguous()
                                           : nn::functional::normalize(images.reshape({images.size(0), -1}).to(kFloat64), 2.0, 1);
  CAKE_CHECK(std::isfinite(feats.sum().item<double>()), "JULE: the CNN's features are not finite before period ", period,
             " (the training diverged; try a smaller lr)");
  const cluster::GdlGraph graph = cluster::gdl_graph(feats, {.n_neighbors = options_.k_s, .a = options_.a});
  const index_t isolated_merges =
      options_.merge_isolated ? merge_isolated(graph, feats, n_leaves_ - static_cast<index_t>(merges_.size()) - target) : 0;
  // The engine numbers the current clusters 0 .. C-1 (in order of first sample) and its merges
  // C, C+1, ...; map both to the global tree's ids.
  const std::vector<index_t> nodes = current_nodes(leaf_of_sample_, n_leaves_, merges_);
  const std::vector<index_t> local = compact(nodes);
  std::vector<index_t> global(static_cast<std::size_t>(*std::max_element(local.begin(), local.end()) + 1));
  for (std::size_t i = 0; i < nodes.size(); ++i) global[local[i]] = nodes[i];
  cluster::GdlAgglomeration engine(graph, local, {.k_c = options_.k_c, .lambda = options_.lambda, .k_c_above = options_.k_c_above});
  JulePeriod record{.period = period, .sigma2 = graph.sigma2};
  // Outlying groups do not count towards the period's target (min_cluster_fraction): merge until
  // `target` clusters of at least min_size images exist. size[node] follows the engine's ids.
  const index_t min_size = min_cluster_size(images.size(0), target);
  std::vector<index_t> size(global.size(), 0);
  for (const index_t c : local) ++size[c];
  index_t large = 0;
  for (const index_t s : size) large += s >= min_size;
  while (engine.n_clusters() > target && (min_size <= 1 || large > target)) {
    const std::optional<cluster::GdlMerge> m = engine.merge_once();
    if (!m) break;
    size.push_back(size[m->a] + size[m->b]);
    large += (size.back() >= min_size) - (size[m->a] >= min_size) - (size[m->b] >= min_size);
    const index_t node = n_leaves_ + static_cast<index_t>(merges_.size());
    merges_.push_back({.a = global[m->a], .b = global[m->b], .node = node, .affinity = m->affinity, .loss = m->loss});
    global.push_back(node);  // local id m->node is global.size() - 1 now
    record.merge_loss += m->loss;
    ++record.merges;
  }
  record.clusters = engine.n_clusters();
  const index_t small_merges = min_size > 1 ? merge_small(feats, min_size, target) : 0;
  // Clusters with no affinity to any other (the graph can fall apart into pieces, and GDL
  // needs paths both ways): the rest of the merges join the closest centroids, as the released
  // code does for such "self-contained" clusters (affinity/affinity.lua, compute4cluster).
  const index_t late_merges = merge_by_centroids(feats, target);
  record.clusters -= small_merges + late_merges;
  record.merges += small_merges + late_merges + isolated_merges;
  record.centroid_merges = small_merges + late_merges + isolated_merges;
  batch_labels_ = current_labels();
  if (truth.defined()) {
    const Tensor predicted = as_tensor(batch_labels_);
    record.nmi = metrics::nmi(truth, predicted);
    record.acc = metrics::acc(truth, predicted);
  }
  record.merge_seconds = train::seconds_since(started);
  periods_.push_back(record);
}

train::TrainResult Jule::fit(const Tensor& images_in, const Tensor& true_labels) {
  CAKE_CHECK(images_in.defined() && images_in.dim() == 4, "JULE::fit: expected images [N, C, H, W], got ",
             images_in.defined() ? shape_str(images_in.sizes()) : "an undefined tensor");
  const index_t n = images_in.size(0);
  CAKE_CHECK(n > options_.k_s, "JULE::fit: ", n, " images are too few for K_s = ", options_.k_s, " neighbours");
  CAKE_CHECK(n >= options_.n_clusters, "JULE::fit: ", n, " images cannot make ", options_.n_clusters, " clusters");
  CAKE_CHECK(!true_labels.defined() || (true_labels.dim() == 1 && true_labels.size(0) == n), "JULE::fit: ", n,
             " images but labels of shape ", true_labels.sizes());
  const Tensor images = images_in.detach().to(kCPU, kFloat32).contiguous();
  const Tensor truth = true_labels.defined() ? true_labels.to(kCPU, kInt64).contiguous() : Tensor();
  const Device device = net_.parameters().front().device();

  // Period 0: the over-segmentation of the L2-normalised pixels (the released code's
  // -normalize 1), and its graph's sigma^2. Deterministic, so a resume recomputes the same.
  const auto started = std::chrono::steady_clock::now();
  {
    const Tensor pixels = nn::functional::normalize(images.reshape({n, -1}).to(kFloat64), 2.0, 1);
    const cluster::GdlGraph graph = cluster::gdl_graph(pixels, {.n_neighbors = options_.k_s, .a = options_.a});
    leaf_of_sample_ = cluster::nearest_neighbor_clusters(graph);
    n_leaves_ = *std::max_element(leaf_of_sample_.begin(), leaf_of_sample_.end()) + 1;
    merges_.clear();
    periods_.clear();
    epochs_.clear();
    batch_labels_ = leaf_of_sample_;
    JulePeriod initial{.period = 0, .clusters = n_leaves_, .sigma2 = graph.sigma2};
    if (truth.defined()) {
      initial.nmi = metrics::nmi(truth, as_tensor(batch_labels_));
      initial.acc = metrics::acc(truth, as_tensor(batch_labels_));
    }
    initial.merge_seconds = train::seconds_since(started);
    periods_.push_back(initial);
  }
  const index_t planned = planned_periods(n_leaves_, options_.n_clusters, options_.eta);
  const index_t epp = options_.epochs_per_period;

  optim::SGD sgd(net_.parameters(),
                 optim::SGDOptions{.lr = options_.lr, .momentum = options_.momentum, .weight_decay = options_.weight_decay});
  index_t triplets_seen = 0, batches = 0, samples = 0, batch_size_seen = 0;
  double loss_sum = 0.0;
  JuleEpoch current;
  std::chrono::steady_clock::time_point epoch_started;
  // Under mpirun: the whole batch's triplets, this rank's rows live (jule_triplet_loss_part).
  const auto data_parallel_loss = [&](const Tensor& x, const Tensor& index) {
    const Tensor mine = net_.forward(x);
    const JuleBatch whole = options_.gather_batch(mine.detach(), index);
    const index_t total = whole.indices.numel(), p = whole.ranks, m = index.numel();
    const Tensor all_indices = whole.indices.to(kCPU, kInt64).contiguous();
    std::vector<index_t> labels(static_cast<std::size_t>(total));
    for (index_t b = 0; b < total; ++b)  // batch position b is gathered row (b mod p) m + b / p
      labels[static_cast<std::size_t>(b)] =
          batch_labels_[static_cast<std::size_t>(all_indices.data_ptr<index_t>()[(b % p) * m + b / p])];
    const index_t pairs = count_pairs(labels);
    const Tensor keys = pairs > 0 ? rand({pairs, total}, kFloat64) : Tensor();  // one process's draw
    std::int64_t count = 0;
    Tensor value = jule_triplet_loss_part(mine, whole, labels, options_.negatives, keys, options_.gamma,
                                          options_.margin, &count);
    triplets_seen += count;
    return value;
  };
  const train::BatchLoss loss = [&](const data::Batch& batch) {
    const Tensor index = batch.indices.to(kCPU, kInt64).contiguous();
    const index_t m = index.numel();
    batch_size_seen = m;
    if (options_.gather_batch) return data_parallel_loss(batch.x.to(device), index);
    const index_t* idx = index.data_ptr<index_t>();
    std::vector<index_t> labels(static_cast<std::size_t>(m));
    for (index_t i = 0; i < m; ++i) labels[static_cast<std::size_t>(i)] = batch_labels_[static_cast<std::size_t>(idx[i])];
    const index_t pairs = count_pairs(labels);
    // The negatives are drawn from the global generator, which the checkpoint saves.
    const Tensor keys = pairs > 0 ? rand({pairs, m}, kFloat64) : Tensor();
    const Triplets triplets = batch_triplets(labels, options_.negatives, keys);
    triplets_seen += triplets.size();
    return jule_triplet_loss(net_.forward(batch.x.to(device)), triplets, options_.gamma, options_.margin);
  };
  train::TrainerOptions trainer_options = trainer_options_;
  trainer_options.epochs = std::min(trainer_options.epochs, planned * epp);
  trainer_options.patience = 0;
  trainer_options.restore_best = false;
  train::TrainResult result;
  if (options_.update_cnn && trainer_options.epochs >= 1) {
    train::Trainer trainer(net_, sgd, loss, trainer_options);
    trainer.add_state(
        "jule",
        [&](train::StateWriter& out) {
          std::vector<std::vector<double>> merges, periods, epochs;
          for (const auto& m : merges_)
            merges.push_back({static_cast<double>(m.a), static_cast<double>(m.b), static_cast<double>(m.node), m.affinity, m.loss});
          for (const auto& p : periods_)
            periods.push_back({static_cast<double>(p.period), static_cast<double>(p.clusters), static_cast<double>(p.merges),
                               p.merge_loss, p.sigma2, p.nmi, p.acc, p.merge_seconds, static_cast<double>(p.centroid_merges)});
          for (const auto& e : epochs_)
            epochs.push_back({static_cast<double>(e.epoch), static_cast<double>(e.period), e.loss, e.triplets_per_batch, e.lr,
                              e.seconds});
          out.integer("n_leaves", n_leaves_);
          out.tensor("leaves", as_tensor(leaf_of_sample_));
          out.tensor("merges", table(merges, 5));
          out.tensor("periods", table(periods, 9));
          out.tensor("epochs", table(epochs, 6));
        },
        [&](const train::StateReader& in) {
          const Tensor leaves = in.tensor("leaves").to(kInt64).contiguous();
          CAKE_CHECK(leaves.numel() == n && in.integer("n_leaves") == n_leaves_, "JULE: the checkpoint's initial ",
                     "clusters (", in.integer("n_leaves"), " over ", leaves.numel(), " images) are not this data's (",
                     n_leaves_, " over ", n, "): was it written for other images?");
          leaf_of_sample_.assign(leaves.data_ptr<index_t>(), leaves.data_ptr<index_t>() + n);
          merges_.clear();
          for (const auto& r : rows_of(in.tensor("merges"), 5, "merges"))
            merges_.push_back({.a = static_cast<index_t>(r[0]), .b = static_cast<index_t>(r[1]),
                               .node = static_cast<index_t>(r[2]), .affinity = r[3], .loss = r[4]});
          periods_.clear();
          for (const auto& r : rows_of(in.tensor("periods"), 9, "periods"))
            periods_.push_back({.period = static_cast<index_t>(r[0]), .clusters = static_cast<index_t>(r[1]),
                                .merges = static_cast<index_t>(r[2]), .merge_loss = r[3], .sigma2 = r[4], .nmi = r[5],
                                .acc = r[6], .merge_seconds = r[7],
                                .centroid_merges = static_cast<index_t>(r[8])});
          epochs_.clear();
          for (const auto& r : rows_of(in.tensor("epochs"), 6, "epochs"))
            epochs_.push_back({.epoch = static_cast<index_t>(r[0]), .period = static_cast<index_t>(r[1]), .loss = r[2],
                               .triplets_per_batch = r[3], .lr = r[4], .seconds = r[5]});
          batch_labels_ = current_labels();
        });
    trainer.on_epoch_begin([&](std::int64_t epoch) {
      const index_t period = (epoch - 1) / epp;  // the merge period this epoch's training follows
      if ((epoch - 1) % epp == 0 && period > 0) {
        const index_t clusters = n_leaves_ - static_cast<index_t>(merges_.size());
        const index_t step = std::min<index_t>(static_cast<index_t>(std::ceil(options_.eta * static_cast<double>(clusters))),
                                               clusters - options_.n_clusters);
        merge_period(images, period, clusters - step, truth);
        if (on_period_end_) on_period_end_(periods_.back());
      }
      current = JuleEpoch{.epoch = epoch, .period = period};
      triplets_seen = batches = samples = 0;
      loss_sum = 0.0;
      epoch_started = std::chrono::steady_clock::now();
    });
    trainer.on_batch_begin([&](const train::BatchInfo& info) {
      // The released code's "inv" policy (train.lua): lr_t = lr (1 + gamma t)^-power.
      sgd.set_lr(options_.lr * std::pow(1.0 + options_.lr_gamma * static_cast<double>(info.step), -options_.lr_power));
    });
    trainer.on_batch_end([&](std::int64_t batch, std::int64_t num_batches, double value) {
      loss_sum += value * static_cast<double>(batch_size_seen);
      samples += batch_size_seen;
      ++batches;
      if (batch != num_batches) return;
      current.loss = loss_sum / static_cast<double>(std::max<index_t>(samples, 1));
      current.triplets_per_batch = static_cast<double>(triplets_seen) / static_cast<double>(batches);
      current.lr = sgd.lr();
      current.seconds = train::seconds_since(epoch_started);
      epochs_.push_back(current);
      sgd.set_lr(options_.lr);  // the checkpoint keeps the base lr; on_batch_begin sets each step's
    });
    train::report_epochs(trainer, on_epoch_end_, epochs_);
    if (on_period_end_) on_period_end_(periods_.front());
    const train::RunningTrainer running(active_trainer_, trainer);
    result = trainer.fit(std::make_shared<const data::TensorDataset>(images));
    if (result.stop_reason == train::StopReason::Interrupted || result.stop_reason == train::StopReason::NonFiniteLoss)
      return result;
  } else if (on_period_end_) {
    on_period_end_(periods_.front());
  }
  // The last forward pass: merge to n_clusters, no training after it.
  const index_t clusters = n_leaves_ - static_cast<index_t>(merges_.size());
  if (clusters > options_.n_clusters) {
    merge_period(images, static_cast<index_t>(periods_.size()), options_.n_clusters, truth);
    if (on_period_end_) on_period_end_(periods_.back());
  }
  return result;
}

}  // namespace cake::deep_clustering
