// graph_degree_linkage.cpp: the k-NN graph, the initial clusters, the GDL affinity and JULE's
// merge engine (graph_degree_linkage.h).
#include "cake/algorithms/cluster/graph_degree_linkage.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "cake/algorithms/neighbors/nn_descent.h"

namespace cake::cluster {

using neighbors::SparseGraph;
using index_t = std::int64_t;

namespace {

SparseGraph transpose(const SparseGraph& w) {
  std::vector<index_t> rows, cols;
  std::vector<double> values;
  rows.reserve(w.indices.size());
  cols.reserve(w.indices.size());
  values.reserve(w.indices.size());
  for (index_t i = 0; i < w.n; ++i)
    for (index_t e = w.indptr[i]; e < w.indptr[i + 1]; ++e) {
      rows.push_back(w.indices[e]);
      cols.push_back(i);
      values.push_back(w.values[e]);
    }
  return SparseGraph::from_triplets(w.n, rows, cols, values);
}

// Union-find root with path halving.
index_t find_root(std::vector<index_t>& parent, index_t v) {
  while (parent[v] != v) v = parent[v] = parent[parent[v]];
  return v;
}

// Renumbers labels to 0 .. C-1 in order of first appearance.
std::vector<index_t> compact(const std::vector<index_t>& labels) {
  std::unordered_map<index_t, index_t> id;
  std::vector<index_t> out(labels.size());
  for (std::size_t i = 0; i < labels.size(); ++i) {
    auto [it, fresh] = id.try_emplace(labels[i], static_cast<index_t>(id.size()));
    out[i] = it->second;
  }
  return out;
}

}  // namespace

// ---- The graph -------------------------------------------------------------------------------------

GdlGraph gdl_graph(const SparseGraph& weights) {
  CAKE_CHECK(weights.n >= 2, "gdl_graph: the graph needs at least 2 vertices, got ", weights.n);
  GdlGraph g;
  g.weights = weights;
  g.transposed = transpose(weights);
  g.nearest.assign(static_cast<std::size_t>(weights.n), -1);
  for (index_t i = 0; i < weights.n; ++i) {
    double best = -1.0;
    for (index_t e = weights.indptr[i]; e < weights.indptr[i + 1]; ++e) {
      CAKE_CHECK(weights.values[e] > 0.0 && std::isfinite(weights.values[e]), "gdl_graph: edge (", i, ", ",
                 weights.indices[e], ") has weight ", weights.values[e], "; weights must be positive and finite");
      if (weights.indices[e] != i && weights.values[e] > best) best = weights.values[e], g.nearest[i] = weights.indices[e];
    }
    CAKE_CHECK(g.nearest[i] >= 0, "gdl_graph: vertex ", i, " has no out-edge to another vertex");
  }
  return g;
}

GdlGraph gdl_graph(const Tensor& x, const GdlGraphOptions& options) {
  CAKE_CHECK(x.defined() && x.dim() == 2, "gdl_graph: expected samples [n, d], got ",
             x.defined() ? shape_str(x.sizes()) : "an undefined tensor");
  const index_t n = x.size(0), k = options.n_neighbors;
  CAKE_CHECK(k >= 1 && k < n, "gdl_graph: n_neighbors (K_s) must be in [1, ", n - 1, "] for ", n, " samples, got ", k);
  CAKE_CHECK(options.a > 0.0, "gdl_graph: a must be positive, got ", options.a);
  // k + 1: exact_knn lists each sample as its own first neighbour.
  const neighbors::KnnResult knn = neighbors::exact_knn(x, k + 1);
  std::vector<index_t> rows, cols;
  std::vector<double> d2;
  rows.reserve(static_cast<std::size_t>(n * k));
  cols.reserve(static_cast<std::size_t>(n * k));
  d2.reserve(static_cast<std::size_t>(n * k));
  double total = 0.0;
  for (index_t i = 0; i < n; ++i) {
    index_t taken = 0;
    for (index_t t = 0; t <= k && taken < k; ++t) {
      const index_t j = knn.indices[static_cast<std::size_t>(i * (k + 1) + t)];
      if (j == i) continue;  // (duplicates may put another sample first)
      const double d = knn.distances[static_cast<std::size_t>(i * (k + 1) + t)];
      rows.push_back(i);
      cols.push_back(j);
      d2.push_back(d * d);
      total += d * d;
      ++taken;
    }
  }
  // sigma^2 = a / (n K_s) sum of the squared neighbour distances (Zhang et al., section 2).
  double sigma2 = options.a * total / static_cast<double>(d2.size());
  if (!(sigma2 > 0.0)) sigma2 = 1.0;  // every neighbour at distance 0: all weights 1
  std::vector<double> w(d2.size());
  for (std::size_t e = 0; e < d2.size(); ++e) w[e] = std::max(std::exp(-d2[e] / sigma2), 1e-300);
  GdlGraph g = gdl_graph(SparseGraph::from_triplets(n, rows, cols, w));
  g.sigma2 = sigma2;
  return g;
}

std::vector<index_t> nearest_neighbor_clusters(const GdlGraph& graph) {
  const index_t n = graph.weights.n;
  std::vector<index_t> parent(static_cast<std::size_t>(n));
  std::iota(parent.begin(), parent.end(), index_t{0});
  for (index_t i = 0; i < n; ++i) parent[find_root(parent, i)] = find_root(parent, graph.nearest[i]);
  std::vector<index_t> roots(static_cast<std::size_t>(n));
  for (index_t i = 0; i < n; ++i) roots[i] = find_root(parent, i);
  return compact(roots);
}

// ---- Reference formulas ------------------------------------------------------------------------------

double gdl_directed_affinity(const SparseGraph& w, const std::vector<index_t>& labels, index_t a, index_t b) {
  CAKE_CHECK(static_cast<index_t>(labels.size()) == w.n, "gdl_directed_affinity: ", labels.size(),
             " labels for a graph of ", w.n, " vertices");
  // in_a(k) and out_a(k) for every k, then the sum over k in C_b.
  std::vector<double> in(static_cast<std::size_t>(w.n), 0.0), out(static_cast<std::size_t>(w.n), 0.0);
  double size_a = 0.0;
  for (index_t i = 0; i < w.n; ++i) {
    if (labels[i] == a) size_a += 1.0;
    for (index_t e = w.indptr[i]; e < w.indptr[i + 1]; ++e) {
      const index_t j = w.indices[e];
      if (labels[i] == a) in[j] += w.values[e];   // edge from C_a into j
      if (labels[j] == a) out[i] += w.values[e];  // edge from i into C_a
    }
  }
  CAKE_CHECK(size_a > 0.0, "gdl_directed_affinity: cluster ", a, " is empty");
  double s = 0.0;
  for (index_t k = 0; k < w.n; ++k)
    if (labels[k] == b) s += in[k] * out[k];
  return s / (size_a * size_a);
}

double gdl_affinity(const SparseGraph& w, const std::vector<index_t>& labels, index_t a, index_t b) {
  return gdl_directed_affinity(w, labels, a, b) + gdl_directed_affinity(w, labels, b, a);
}

double jule_step_loss(const std::vector<double>& affinities, std::int64_t k_c, double lambda) {
  CAKE_CHECK(k_c >= 1, "jule_step_loss: K_c must be at least 1, got ", k_c);
  const double first = affinities.empty() ? 0.0 : affinities[0];
  double margin = 0.0;
  for (index_t k = 1; k < k_c; ++k)
    margin += first - (static_cast<std::size_t>(k) < affinities.size() ? affinities[static_cast<std::size_t>(k)] : 0.0);
  return k_c == 1 ? -first : -first - lambda / static_cast<double>(k_c - 1) * margin;
}

// ---- The merge engine --------------------------------------------------------------------------------

GdlAgglomeration::GdlAgglomeration(const GdlGraph& graph, const std::vector<index_t>& labels, GdlMergeOptions options)
    : graph_(graph), options_(options) {
  n_samples_ = graph.weights.n;
  CAKE_CHECK(static_cast<index_t>(labels.size()) == n_samples_, "GdlAgglomeration: ", labels.size(),
             " labels for a graph of ", n_samples_, " samples");
  CAKE_CHECK(options_.k_c >= 1, "GdlAgglomeration: K_c must be at least 1, got ", options_.k_c);
  CAKE_CHECK(options_.lambda >= 0.0, "GdlAgglomeration: lambda must be non-negative, got ", options_.lambda);
  CAKE_CHECK(options_.k_c_above >= 0, "GdlAgglomeration: k_c_above must be non-negative, got ", options_.k_c_above);
  n_leaves_ = labels.empty() ? 0 : *std::max_element(labels.begin(), labels.end()) + 1;
  members_.resize(static_cast<std::size_t>(n_leaves_));
  for (index_t i = 0; i < n_samples_; ++i) {
    CAKE_CHECK(labels[i] >= 0, "GdlAgglomeration: sample ", i, " has the negative label ", labels[i]);
    members_[labels[i]].push_back(i);
  }
  for (index_t c = 0; c < n_leaves_; ++c)
    CAKE_CHECK(!members_[c].empty(), "GdlAgglomeration: labels must use every value 0 .. ", n_leaves_ - 1, "; ", c,
               " is missing");
  slot_of_sample_ = labels;
  node_of_slot_.resize(static_cast<std::size_t>(n_leaves_));
  std::iota(node_of_slot_.begin(), node_of_slot_.end(), index_t{0});
  for (index_t c = 0; c < n_leaves_; ++c) slot_of_node_[c] = c;
  n_alive_ = n_leaves_;
  next_node_ = n_leaves_;
  links_.resize(static_cast<std::size_t>(n_leaves_));
  version_.assign(static_cast<std::size_t>(n_leaves_), 0);
  sample_in_.assign(static_cast<std::size_t>(n_samples_), 0.0);
  sample_out_.assign(static_cast<std::size_t>(n_samples_), 0.0);
  slot_acc_.assign(static_cast<std::size_t>(2 * n_leaves_), 0.0);
  initial_sums();
  for (index_t c = 0; c < n_leaves_; ++c) rescore(c);
}

// S(a -> b) for all linked pairs in one pass over the samples k: group k's in-edges and out-edges
// by cluster; a cluster a that both sends to and receives from k adds in_a(k) out_a(k) to
// S(a -> cluster of k).
void GdlAgglomeration::initial_sums() {
  const SparseGraph& w = graph_.weights;
  const SparseGraph& wt = graph_.transposed;
  // slot_acc_ holds in_a(k) at [a] and out_a(k) at [n_leaves + a].
  for (index_t k = 0; k < n_samples_; ++k) {
    for (index_t e = wt.indptr[k]; e < wt.indptr[k + 1]; ++e) {
      const index_t a = slot_of_sample_[wt.indices[e]];
      if (slot_acc_[a] == 0.0 && slot_acc_[n_leaves_ + a] == 0.0) touched_slots_.push_back(a);
      slot_acc_[a] += wt.values[e];
    }
    for (index_t e = w.indptr[k]; e < w.indptr[k + 1]; ++e) {
      const index_t a = slot_of_sample_[w.indices[e]];
      if (slot_acc_[a] == 0.0 && slot_acc_[n_leaves_ + a] == 0.0) touched_slots_.push_back(a);
      slot_acc_[n_leaves_ + a] += w.values[e];
    }
    const index_t b = slot_of_sample_[k];
    for (index_t a : touched_slots_) {
      const double product = slot_acc_[a] * slot_acc_[n_leaves_ + a];
      if (a != b && product > 0.0) {
        links_[a][b].out += product;
        links_[b][a].in += product;
      }
      slot_acc_[a] = slot_acc_[n_leaves_ + a] = 0.0;
    }
    touched_slots_.clear();
  }
}

double GdlAgglomeration::slot_affinity(index_t a, index_t b, const Link& link) const {
  const double na = static_cast<double>(members_[a].size()), nb = static_cast<double>(members_[b].size());
  return link.out / (na * na) + link.in / (nb * nb);
}

void GdlAgglomeration::rescore(index_t slot) {
  ++version_[slot];
  if (links_[slot].empty()) return;  // nothing to merge with (until a neighbour links to it)
  std::vector<double>& affinities = affinities_;
  affinities.clear();
  for (const auto& [other, link] : links_[slot]) affinities.push_back(slot_affinity(slot, other, link));
  const index_t k_c = current_k_c();
  const auto top = static_cast<std::ptrdiff_t>(std::min<std::size_t>(affinities.size(), static_cast<std::size_t>(k_c)));
  std::partial_sort(affinities.begin(), affinities.begin() + top, affinities.end(), std::greater<>());
  affinities.resize(static_cast<std::size_t>(top));  // (jule_step_loss reads the first K_c only)
  queue_.push({jule_step_loss(affinities, k_c, options_.lambda), node_of_slot_[slot], slot, version_[slot]});
}

// X[i] = sum_{k in C_i} (in_m(k) out_n(k) + in_n(k) out_m(k)), from the graph around C_n only:
// in_n(k) > 0 only for k an out-neighbour of C_n, out_n(k) > 0 only for k an in-neighbour.
// Accumulated into slot_acc_[i], the slots listed in touched_slots_.
void GdlAgglomeration::cross_terms(index_t m, index_t n) {
  const SparseGraph& w = graph_.weights;
  const SparseGraph& wt = graph_.transposed;
  for (index_t j : members_[n]) {
    for (index_t e = w.indptr[j]; e < w.indptr[j + 1]; ++e) {  // j -> k: in_n(k) += w_jk
      const index_t k = w.indices[e];
      if (sample_in_[k] == 0.0) touched_in_.push_back(k);
      sample_in_[k] += w.values[e];
    }
    for (index_t e = wt.indptr[j]; e < wt.indptr[j + 1]; ++e) {  // k -> j: out_n(k) += w_kj
      const index_t k = wt.indices[e];
      if (sample_out_[k] == 0.0) touched_out_.push_back(k);
      sample_out_[k] += wt.values[e];
    }
  }
  auto add = [&](index_t k, double value) {
    const index_t i = slot_of_sample_[k];
    if (i == m || i == n || value == 0.0) return;  // inside the new cluster: no affinity
    if (slot_acc_[i] == 0.0) touched_slots_.push_back(i);
    slot_acc_[i] += value;
  };
  for (index_t k : touched_in_) {  // in_n(k) out_m(k), out_m(k) from k's out-edges
    double out_m = 0.0;
    for (index_t e = w.indptr[k]; e < w.indptr[k + 1]; ++e)
      if (slot_of_sample_[w.indices[e]] == m) out_m += w.values[e];
    add(k, sample_in_[k] * out_m);
    sample_in_[k] = 0.0;
  }
  for (index_t k : touched_out_) {  // in_m(k) out_n(k), in_m(k) from k's in-edges
    double in_m = 0.0;
    for (index_t e = wt.indptr[k]; e < wt.indptr[k + 1]; ++e)
      if (slot_of_sample_[wt.indices[e]] == m) in_m += wt.values[e];
    add(k, in_m * sample_out_[k]);
    sample_out_[k] = 0.0;
  }
  touched_in_.clear();
  touched_out_.clear();
}

// C = C_m u C_n in slot m (the larger), slot n retired. See the header for the sums.
void GdlAgglomeration::merge_slots(index_t m, index_t n) {
  cross_terms(m, n);  // before the members move: it tells C_m from C_n by slot
  // S(C -> i) += S(C_n -> i), S(i -> C) += S(i -> C_n), in both clusters' tables.
  for (const auto& [i, link] : links_[n]) {
    if (i == m) continue;
    Link& mine = links_[m][i];
    mine.out += link.out;
    mine.in += link.in;
    auto& theirs = links_[i];
    theirs.erase(n);
    Link& back = theirs[m];
    back.out += link.in;
    back.in += link.out;
  }
  links_[m].erase(n);
  links_[n].clear();
  for (index_t i : touched_slots_) {  // the cross terms
    links_[m][i].out += slot_acc_[i];
    links_[i][m].in += slot_acc_[i];
    slot_acc_[i] = 0.0;
  }
  touched_slots_.clear();
  for (index_t j : members_[n]) slot_of_sample_[j] = m;
  members_[m].insert(members_[m].end(), members_[n].begin(), members_[n].end());
  members_[n].clear();
  members_[n].shrink_to_fit();
  slot_of_node_.erase(node_of_slot_[m]);
  slot_of_node_.erase(node_of_slot_[n]);
  node_of_slot_[m] = next_node_;
  node_of_slot_[n] = -1;
  slot_of_node_[next_node_] = m;
  ++next_node_;
  --n_alive_;
  ++version_[n];
  if (n_alive_ == options_.k_c_above && options_.k_c > 1) {
    // The criterion just changed to plain GDL: every cluster's queued loss is out of date.
    for (index_t slot = 0; slot < static_cast<index_t>(node_of_slot_.size()); ++slot)
      if (node_of_slot_[slot] >= 0) rescore(slot);
    return;
  }
  rescore(m);
  for (const auto& [i, link] : links_[m]) rescore(i);
}

std::optional<GdlMerge> GdlAgglomeration::merge_once() {
  while (!queue_.empty()) {
    const Entry top = queue_.top();
    queue_.pop();
    if (node_of_slot_[top.slot] < 0 || version_[top.slot] != top.version) continue;  // stale
    // Its nearest cluster (ties: the smaller node id).
    index_t best = -1;
    double best_affinity = -1.0;
    for (const auto& [other, link] : links_[top.slot]) {
      const double a = slot_affinity(top.slot, other, link);
      if (a > best_affinity || (a == best_affinity && node_of_slot_[other] < node_of_slot_[best]))
        best = other, best_affinity = a;
    }
    GdlMerge merge{.a = node_of_slot_[top.slot], .b = node_of_slot_[best], .node = next_node_,
                   .affinity = best_affinity, .loss = top.loss};
    if (merge.a > merge.b) std::swap(merge.a, merge.b);
    index_t m = top.slot, n = best;
    if (members_[m].size() < members_[n].size()) std::swap(m, n);
    merge_slots(m, n);
    return merge;
  }
  return std::nullopt;
}

std::vector<GdlMerge> GdlAgglomeration::merge_until(std::int64_t n_clusters) {
  CAKE_CHECK(n_clusters >= 1, "GdlAgglomeration::merge_until: n_clusters must be at least 1, got ", n_clusters);
  std::vector<GdlMerge> merges;
  while (n_alive_ > n_clusters) {
    std::optional<GdlMerge> merge = merge_once();
    if (!merge) break;
    merges.push_back(*merge);
  }
  return merges;
}

std::vector<index_t> GdlAgglomeration::labels() const {
  std::vector<index_t> out(static_cast<std::size_t>(n_samples_));
  for (index_t i = 0; i < n_samples_; ++i) out[i] = node_of_slot_[slot_of_sample_[i]];
  return out;
}

std::vector<index_t> GdlAgglomeration::compact_labels() const { return compact(labels()); }

double GdlAgglomeration::affinity(index_t node_a, index_t node_b) const {
  const auto a = slot_of_node_.find(node_a), b = slot_of_node_.find(node_b);
  CAKE_CHECK(a != slot_of_node_.end() && b != slot_of_node_.end(), "GdlAgglomeration::affinity: node ",
             a == slot_of_node_.end() ? node_a : node_b, " is not a current cluster");
  const auto link = links_[a->second].find(b->second);
  return link == links_[a->second].end() ? 0.0 : slot_affinity(a->second, b->second, link->second);
}

std::vector<std::pair<index_t, double>> GdlAgglomeration::nearest_clusters(index_t node, index_t k) const {
  const auto a = slot_of_node_.find(node);
  CAKE_CHECK(a != slot_of_node_.end(), "GdlAgglomeration::nearest_clusters: node ", node, " is not a current cluster");
  std::vector<std::pair<index_t, double>> out;
  for (const auto& [other, link] : links_[a->second])
    out.emplace_back(node_of_slot_[other], slot_affinity(a->second, other, link));
  std::sort(out.begin(), out.end(), [](const auto& p, const auto& q) {
    return p.second != q.second ? p.second > q.second : p.first < q.first;
  });
  if (static_cast<index_t>(out.size()) > k) out.resize(static_cast<std::size_t>(k));
  return out;
}

std::vector<index_t> labels_after(const std::vector<index_t>& leaf_of_sample, index_t n_leaves,
                                  const std::vector<GdlMerge>& merges, index_t steps) {
  CAKE_CHECK(steps >= 0 && steps <= static_cast<index_t>(merges.size()), "labels_after: steps must be in [0, ",
             merges.size(), "], got ", steps);
  std::vector<index_t> parent(static_cast<std::size_t>(n_leaves + steps));
  std::iota(parent.begin(), parent.end(), index_t{0});
  for (index_t t = 0; t < steps; ++t) {
    const GdlMerge& m = merges[static_cast<std::size_t>(t)];
    CAKE_CHECK(m.node == n_leaves + t && m.a < m.node && m.b < m.node, "labels_after: merge ", t,
               " does not follow the tree layout (node ", m.node, " from ", m.a, " and ", m.b, ")");
    parent[m.a] = parent[m.b] = m.node;
  }
  std::vector<index_t> roots(leaf_of_sample.size());
  for (std::size_t i = 0; i < leaf_of_sample.size(); ++i) roots[i] = find_root(parent, leaf_of_sample[i]);
  return compact(roots);
}

}  // namespace cake::cluster
