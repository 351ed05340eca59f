// graph_agglomerative.cpp: agglomerative clustering by maximum incremental path integral or zeta
// descriptor, and graph degree linkage through its own engine (graph_agglomerative.h).
#include "cake/algorithms/cluster/graph_agglomerative.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <queue>
#include <utility>

#include "cake/algorithms/cluster/graph_degree_linkage.h"
#include "cake/algorithms/detail/common.h"
#include "cake/autograd/grad_mode.h"
#include "cake/tensor/creation.h"
#include "cake/tensor/linalg.h"

namespace cake::cluster {

GraphDescriptor parse_graph_descriptor(const std::string& name) {
  if (name == "path") return GraphDescriptor::PathIntegral;
  if (name == "zeta") return GraphDescriptor::Zeta;
  if (name == "gdl") return GraphDescriptor::DegreeLinkage;
  CAKE_FAIL("GraphAgglomerativeClustering: descriptor must be path, zeta or gdl, got '", name, "'");
}

namespace {

using neighbors::SparseGraph;

// P = D^-1 W: each row of the weights divided by its sum (rows without edges stay empty).
SparseGraph random_walk(const SparseGraph& weights) {
  SparseGraph walk = weights;
  for (std::int64_t i = 0; i < walk.n; ++i) {
    double total = 0.0;
    for (std::int64_t e = walk.indptr[i]; e < walk.indptr[i + 1]; ++e) total += walk.values[e];
    if (total > 0)
      for (std::int64_t e = walk.indptr[i]; e < walk.indptr[i + 1]; ++e) walk.values[e] /= total;
  }
  return walk;
}

// The walk sums of the descriptors for sets of samples, with scratch reused by every call (no
// allocation once warm). A call marks a set S = A u B (stamps, so nothing is cleared between calls),
// then sums the terms k >= 1 of the series until the next one is below kRelative of the sum.
class WalkSums {
 public:
  WalkSums(const SparseGraph& walk, double z)
      : walk_(walk), z_(z), stamp_(static_cast<std::size_t>(walk.n), 0), position_(static_cast<std::size_t>(walk.n), 0),
        current_(static_cast<std::size_t>(walk.n), 0.0), next_(static_cast<std::size_t>(walk.n), 0.0),
        in_next_(static_cast<std::size_t>(walk.n), 0) {
    // The k-th term's mass is at most z^k times the first's (the rows of P sum to at most 1).
    max_terms_ = static_cast<std::int64_t>(std::ceil(std::log(kRelative * 1e-2) / std::log(z))) + 2;
  }

  // {1_A' [(I - z P_S)^-1 - I] 1_A, the same for B}, S = A u B (B may be empty).
  std::pair<double, double> path(const std::vector<std::int64_t>& a, const std::vector<std::int64_t>& b) {
    mark(a, b);
    const std::size_t size = set_.size(), split = a.size();
    // walks_[2p + c]: the weighted walks of length k from set_[p] that end in A (c = 0) or in B (c = 1).
    walks_.assign(2 * size, 0.0);
    for (std::size_t p = 0; p < size; ++p) walks_[2 * p + (p < split ? 0 : 1)] = 1.0;
    double sum_a = 0.0, sum_b = 0.0;
    for (std::int64_t k = 1; k <= max_terms_; ++k) {
      longer_.assign(2 * size, 0.0);
      double mass = 0.0;
      for (std::size_t p = 0; p < size; ++p) {
        const std::int64_t i = set_[p];
        double to_a = 0.0, to_b = 0.0;
        for (std::int64_t e = walk_.indptr[i]; e < walk_.indptr[i + 1]; ++e) {
          const std::int64_t j = walk_.indices[e];
          if (!inside(j)) continue;
          const std::size_t q = position_[static_cast<std::size_t>(j)];
          to_a += walk_.values[e] * walks_[2 * q];
          to_b += walk_.values[e] * walks_[2 * q + 1];
        }
        longer_[2 * p] = z_ * to_a;
        longer_[2 * p + 1] = z_ * to_b;
        mass += longer_[2 * p] + longer_[2 * p + 1];
        if (p < split) {
          sum_a += longer_[2 * p];
        } else {
          sum_b += longer_[2 * p + 1];
        }
      }
      walks_.swap(longer_);
      if (mass <= kRelative * (sum_a + sum_b)) break;
    }
    return {sum_a, sum_b};
  }

  // {sum_{i in A} log [(I - z P_S)^-1]_ii, the same over B}: each member's returning walks.
  std::pair<double, double> zeta(const std::vector<std::int64_t>& a, const std::vector<std::int64_t>& b) {
    mark(a, b);
    const std::size_t size = set_.size();
    if (size > kDenseZetaFrom && size <= kDenseZetaTo) return dense_zeta(a.size());
    double sum_a = 0.0, sum_b = 0.0;
    for (std::size_t p = 0; p < size; ++p) (p < a.size() ? sum_a : sum_b) += std::log1p(returning_walks(p));
    return {sum_a, sum_b};
  }

 private:
  static constexpr double kRelative = 1e-16;
  // One walk per member costs about K |S| scattered operations per term once the walk has spread, so
  // K |S|^2 per set; one dense inverse costs 2 |S|^3 flops in LAPACK's blocked kernels, less for every
  // set of more than a few dozen samples (a merge of two 1,000-image clusters: about 0.3 s against
  // several). Above kDenseZetaTo the dense matrix (|S|^2 doubles) would pass 128 MiB.
  static constexpr std::size_t kDenseZetaFrom = 64, kDenseZetaTo = 4096;

  std::pair<double, double> dense_zeta(std::size_t split) {
    const std::int64_t m = static_cast<std::int64_t>(set_.size());
    Tensor system = eye(m, -1, kFloat64);  // I - z P_S
    double* entry = system.data_ptr<double>();
    for (std::int64_t p = 0; p < m; ++p) {
      const std::int64_t i = set_[static_cast<std::size_t>(p)];
      for (std::int64_t e = walk_.indptr[i]; e < walk_.indptr[i + 1]; ++e) {
        const std::int64_t j = walk_.indices[e];
        if (inside(j)) entry[p * m + static_cast<std::int64_t>(position_[static_cast<std::size_t>(j)])] -= z_ * walk_.values[e];
      }
    }
    const Tensor inverse = linalg::inv(system).contiguous();
    const double* d = inverse.data_ptr<double>();
    double sum_a = 0.0, sum_b = 0.0;
    for (std::int64_t p = 0; p < m; ++p) (static_cast<std::size_t>(p) < split ? sum_a : sum_b) += std::log(d[p * m + p]);
    return {sum_a, sum_b};
  }

  bool inside(std::int64_t j) const { return stamp_[static_cast<std::size_t>(j)] == current_stamp_; }

  void mark(const std::vector<std::int64_t>& a, const std::vector<std::int64_t>& b) {
    ++current_stamp_;
    set_.clear();
    for (const auto* part : {&a, &b})
      for (std::int64_t i : *part) {
        stamp_[static_cast<std::size_t>(i)] = current_stamp_;
        position_[static_cast<std::size_t>(i)] = set_.size();
        set_.push_back(i);
      }
  }

  // [(I - z P_S)^-1]_ii - 1 = sum_{k >= 1} z^k (e_i' P_S^k)_i for i = set_[start]: a row vector pushed
  // along the out-edges, over the positions it has reached (current_ and next_ are zero between calls).
  double returning_walks(std::size_t start) {
    active_.assign(1, start);
    current_[start] = 1.0;
    double returned = 0.0;
    for (std::int64_t k = 1; k <= max_terms_; ++k) {
      next_active_.clear();
      for (std::size_t q : active_) {
        const double u = z_ * current_[q];
        const std::int64_t i = set_[q];
        for (std::int64_t e = walk_.indptr[i]; e < walk_.indptr[i + 1]; ++e) {
          const std::int64_t j = walk_.indices[e];
          if (!inside(j)) continue;
          const std::size_t r = position_[static_cast<std::size_t>(j)];
          if (!in_next_[r]) {
            in_next_[r] = 1;
            next_active_.push_back(r);
          }
          next_[r] += u * walk_.values[e];
        }
      }
      for (std::size_t q : active_) current_[q] = 0.0;
      double mass = 0.0;
      for (std::size_t r : next_active_) {
        current_[r] = next_[r];
        next_[r] = 0.0;
        in_next_[r] = 0;
        mass += current_[r];
      }
      active_.swap(next_active_);
      returned += current_[start];
      if (mass <= kRelative * (1.0 + returned)) break;
    }
    for (std::size_t q : active_) current_[q] = 0.0;
    return returned;
  }

  const SparseGraph& walk_;
  double z_;
  std::int64_t max_terms_ = 0;
  std::uint64_t current_stamp_ = 0;
  std::vector<std::uint64_t> stamp_;
  std::vector<std::size_t> position_;
  std::vector<std::int64_t> set_;
  std::vector<double> walks_, longer_;            // path: two columns per position
  std::vector<double> current_, next_;            // zeta: the row vector, by position
  std::vector<char> in_next_;
  std::vector<std::size_t> active_, next_active_;
};

// When the merging stops: at n_clusters clusters or, with a minimum size, as soon as the clusters of
// at least min_size samples, having once outnumbered n_clusters, are n_clusters again (the smaller
// ones are outlying groups, joined afterwards by join_small_clusters).
class StopRule {
 public:
  StopRule(std::int64_t n_clusters, std::int64_t min_size, const std::vector<std::int64_t>& sizes)
      : n_clusters_(n_clusters), min_size_(min_size), alive_(static_cast<std::int64_t>(sizes.size())) {
    for (std::int64_t size : sizes) large_ += size >= min_size_;
    exceeded_ = large_ > n_clusters_;
  }
  void merged(std::int64_t size_a, std::int64_t size_b) {
    --alive_;
    large_ += (size_a + size_b >= min_size_) - (size_a >= min_size_) - (size_b >= min_size_);
    exceeded_ = exceeded_ || large_ > n_clusters_;
  }
  bool done() const { return alive_ <= n_clusters_ || (min_size_ > 1 && exceeded_ && large_ <= n_clusters_); }
  std::int64_t alive() const { return alive_; }

 private:
  std::int64_t n_clusters_, min_size_, alive_, large_ = 0;
  bool exceeded_ = false;
};

// The agglomeration by a descriptor D: each cluster keeps D (its walk part), each pair of clusters
// linked both ways its increment in a max-queue, stale entries skipped by version.
class DescriptorMerger {
 public:
  DescriptorMerger(const SparseGraph& walk, const SparseGraph& in_edges, const std::vector<std::int64_t>& initial,
                   const GraphAgglomerativeClusteringOptions& options)
      : walk_(walk), in_edges_(in_edges), options_(options), sums_(walk, options.z),
        slot_of_sample_(initial) {
    const std::int64_t clusters = *std::max_element(initial.begin(), initial.end()) + 1;
    members_.resize(static_cast<std::size_t>(clusters));
    for (std::size_t i = 0; i < initial.size(); ++i) members_[static_cast<std::size_t>(initial[i])].push_back(static_cast<std::int64_t>(i));
    slot_mark_.assign(static_cast<std::size_t>(clusters), 0);
    version_.assign(static_cast<std::size_t>(clusters), 0);
    alive_ = clusters;
    for (std::int64_t s = 0; s < clusters; ++s) descriptor_.push_back(own_descriptor(s));
    for (std::int64_t s = 0; s < clusters; ++s)
      for (std::int64_t t : linked_slots(s))
        if (t > s) push(s, t);
  }

  std::vector<std::int64_t> sizes() const {
    std::vector<std::int64_t> out;
    for (const std::vector<std::int64_t>& m : members_) out.push_back(static_cast<std::int64_t>(m.size()));
    return out;
  }

  // Merges the pair of largest increment until `rule` says stop; false if no linked pair is left first.
  bool merge_until(StopRule& rule) {
    const std::int64_t total = alive_ - options_.n_clusters;
    std::int64_t done = 0;
    while (!rule.done()) {
      if (queue_.empty()) return false;
      const Entry top = queue_.top();
      queue_.pop();
      if (version_[static_cast<std::size_t>(top.a)] != top.version_a || version_[static_cast<std::size_t>(top.b)] != top.version_b) continue;
      rule.merged(static_cast<std::int64_t>(members_[static_cast<std::size_t>(top.a)].size()),
                  static_cast<std::int64_t>(members_[static_cast<std::size_t>(top.b)].size()));
      merge(top.a, top.b);
      if (options_.on_merge) options_.on_merge(++done, total);
    }
    return true;
  }

  std::int64_t alive() const { return alive_; }
  const std::vector<std::int64_t>& slot_of_sample() const { return slot_of_sample_; }

 private:
  struct Entry {
    double affinity;
    std::int64_t a, b;  // slots, a < b
    std::uint64_t version_a, version_b;
    // The largest affinity first; among equals the smallest slots, so the order never depends on the heap.
    bool operator<(const Entry& o) const {
      if (affinity != o.affinity) return affinity < o.affinity;
      return a != o.a ? a > o.a : b > o.b;
    }
  };
  static constexpr std::uint64_t kDead = std::numeric_limits<std::uint64_t>::max();

  bool zeta() const { return options_.descriptor == GraphDescriptor::Zeta; }

  // D(C) without the identity's term: walk sums / |C|^2 (path) or log sums / |C| (zeta).
  double normalised(double sum, std::size_t size) const {
    const double n = static_cast<double>(size);
    return zeta() ? sum / n : sum / (n * n);
  }

  double own_descriptor(std::int64_t s) {
    const std::vector<std::int64_t>& m = members_[static_cast<std::size_t>(s)];
    return normalised((zeta() ? sums_.zeta(m, {}) : sums_.path(m, {})).first, m.size());
  }

  // A(C_s, C_t) = (D(C_s | C_s u C_t) - D(C_s)) + (D(C_t | C_s u C_t) - D(C_t)).
  double increment(std::int64_t s, std::int64_t t) {
    const std::vector<std::int64_t>&ms = members_[static_cast<std::size_t>(s)], &mt = members_[static_cast<std::size_t>(t)];
    const auto [in_s, in_t] = zeta() ? sums_.zeta(ms, mt) : sums_.path(ms, mt);
    return (normalised(in_s, ms.size()) - descriptor_[static_cast<std::size_t>(s)]) +
           (normalised(in_t, mt.size()) - descriptor_[static_cast<std::size_t>(t)]);
  }

  // The clusters that C_s has an edge to AND an edge from (the only ones whose increment is not 0).
  std::vector<std::int64_t> linked_slots(std::int64_t s) {
    ++mark_;
    std::vector<std::int64_t> both;
    for (std::int64_t i : members_[static_cast<std::size_t>(s)])
      for (std::int64_t e = walk_.indptr[i]; e < walk_.indptr[i + 1]; ++e) {
        const std::int64_t t = slot_of_sample_[static_cast<std::size_t>(walk_.indices[e])];
        if (t != s) slot_mark_[static_cast<std::size_t>(t)] = mark_;
      }
    const std::uint64_t out_mark = mark_++;
    for (std::int64_t i : members_[static_cast<std::size_t>(s)])
      for (std::int64_t e = in_edges_.indptr[i]; e < in_edges_.indptr[i + 1]; ++e) {
        const std::int64_t t = slot_of_sample_[static_cast<std::size_t>(in_edges_.indices[e])];
        if (slot_mark_[static_cast<std::size_t>(t)] == out_mark) {
          slot_mark_[static_cast<std::size_t>(t)] = mark_;  // once
          both.push_back(t);
        }
      }
    std::sort(both.begin(), both.end());
    return both;
  }

  void push(std::int64_t s, std::int64_t t) {
    if (s > t) std::swap(s, t);
    queue_.push({increment(s, t), s, t, version_[static_cast<std::size_t>(s)], version_[static_cast<std::size_t>(t)]});
  }

  // C_s u C_t into the slot of the larger (the smaller slot on a tie), then its pairs rescored.
  void merge(std::int64_t s, std::int64_t t) {
    std::size_t keep = static_cast<std::size_t>(s), gone = static_cast<std::size_t>(t);
    if (members_[gone].size() > members_[keep].size()) std::swap(keep, gone);
    for (std::int64_t i : members_[gone]) slot_of_sample_[static_cast<std::size_t>(i)] = static_cast<std::int64_t>(keep);
    members_[keep].insert(members_[keep].end(), members_[gone].begin(), members_[gone].end());
    members_[gone].clear();
    members_[gone].shrink_to_fit();
    version_[gone] = kDead;
    ++version_[keep];
    --alive_;
    descriptor_[keep] = own_descriptor(static_cast<std::int64_t>(keep));
    for (std::int64_t u : linked_slots(static_cast<std::int64_t>(keep))) push(static_cast<std::int64_t>(keep), u);
  }

  const SparseGraph& walk_;
  const SparseGraph& in_edges_;
  const GraphAgglomerativeClusteringOptions& options_;
  WalkSums sums_;
  std::vector<std::int64_t> slot_of_sample_;
  std::vector<std::vector<std::int64_t>> members_;
  std::vector<double> descriptor_;
  std::vector<std::uint64_t> version_, slot_mark_;
  std::uint64_t mark_ = 0;
  std::int64_t alive_ = 0;
  std::priority_queue<Entry> queue_;
};

// Each sample's cluster numbered 0, 1, ... in order of first sample.
Tensor first_sample_order(const std::vector<std::int64_t>& raw) {
  std::vector<std::int64_t> id(raw.size() + 1, -1), out(raw.size());
  std::int64_t next = 0;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    std::int64_t& c = id[static_cast<std::size_t>(raw[i])];
    if (c < 0) c = next++;
    out[i] = c;
  }
  return algorithms::detail::to_tensor(out);
}

SparseGraph transposed_structure(const SparseGraph& g) {
  std::vector<std::int64_t> rows, cols;
  std::vector<double> values;
  for (std::int64_t i = 0; i < g.n; ++i)
    for (std::int64_t e = g.indptr[i]; e < g.indptr[i + 1]; ++e) {
      rows.push_back(g.indices[e]);
      cols.push_back(i);
      values.push_back(g.values[e]);
    }
  return SparseGraph::from_triplets(g.n, rows, cols, values);
}

// Each cluster of fewer than min_size samples joins the large cluster (min_size or more) that its
// members' edges, out and in, give the most weight to; one with no edge to any large cluster joins
// the largest. labels: any ids; returned in order of first sample.
Tensor join_small_clusters(const std::vector<std::int64_t>& labels, const SparseGraph& weights, const SparseGraph& in_edges,
                           std::int64_t min_size) {
  const std::size_t ids = static_cast<std::size_t>(*std::max_element(labels.begin(), labels.end()) + 1);
  std::vector<std::int64_t> size(ids, 0);
  for (std::int64_t c : labels) ++size[static_cast<std::size_t>(c)];
  const std::int64_t largest = std::max_element(size.begin(), size.end()) - size.begin();
  std::vector<std::vector<std::int64_t>> members(ids);
  for (std::size_t i = 0; i < labels.size(); ++i) members[static_cast<std::size_t>(labels[i])].push_back(static_cast<std::int64_t>(i));
  std::vector<std::int64_t> joined = labels;
  std::vector<double> weight_to(ids, 0.0);
  for (std::size_t c = 0; c < ids; ++c) {
    if (size[c] == 0 || size[c] >= min_size) continue;
    std::fill(weight_to.begin(), weight_to.end(), 0.0);
    for (const SparseGraph* g : {&weights, &in_edges})
      for (std::int64_t i : members[c])
        for (std::int64_t e = g->indptr[i]; e < g->indptr[i + 1]; ++e) {
          const std::size_t d = static_cast<std::size_t>(labels[static_cast<std::size_t>(g->indices[e])]);
          if (size[d] >= min_size) weight_to[d] += g->values[e];
        }
    const std::int64_t best = std::max_element(weight_to.begin(), weight_to.end()) - weight_to.begin();
    const std::int64_t target = weight_to[static_cast<std::size_t>(best)] > 0 ? best : largest;
    for (std::int64_t i : members[c]) joined[static_cast<std::size_t>(i)] = target;
  }
  return first_sample_order(joined);
}

// The walk sum of `members` inside `within` (checked), for path_descriptor and zeta_descriptor.
double members_walk_sum(const SparseGraph& walk, const std::vector<std::int64_t>& members,
                        const std::vector<std::int64_t>& within, double z, bool zeta) {
  const char* who = zeta ? "zeta_descriptor" : "path_descriptor";
  CAKE_CHECK(!members.empty(), who, ": members must not be empty");
  CAKE_CHECK(z > 0 && z < 1, who, ": z must be in (0, 1), got ", z);
  std::vector<char> is_member(static_cast<std::size_t>(walk.n), 0);
  for (std::int64_t i : members) {
    CAKE_CHECK(i >= 0 && i < walk.n, who, ": member ", i, " is not a node of the ", walk.n, "-node graph");
    CAKE_CHECK(!is_member[static_cast<std::size_t>(i)], who, ": member ", i, " is listed twice");
    is_member[static_cast<std::size_t>(i)] = 1;
  }
  std::vector<std::int64_t> rest;
  for (std::int64_t i : within) {
    CAKE_CHECK(i >= 0 && i < walk.n, who, ": node ", i, " of `within` is not a node of the ", walk.n, "-node graph");
    if (!is_member[static_cast<std::size_t>(i)]) rest.push_back(i);
  }
  WalkSums sums(walk, z);
  return (zeta ? sums.zeta(members, rest) : sums.path(members, rest)).first;
}

}  // namespace

double path_descriptor(const SparseGraph& walk, const std::vector<std::int64_t>& members,
                       const std::vector<std::int64_t>& within, double z) {
  const double n = static_cast<double>(members.size());
  return members_walk_sum(walk, members, within, z, false) / (n * n);
}

double zeta_descriptor(const SparseGraph& walk, const std::vector<std::int64_t>& members,
                       const std::vector<std::int64_t>& within, double z) {
  return members_walk_sum(walk, members, within, z, true) / static_cast<double>(members.size());
}

GraphAgglomerativeClustering::GraphAgglomerativeClustering(GraphAgglomerativeClusteringOptions options)
    : options_(std::move(options)) {
  CAKE_CHECK(options_.n_clusters >= 1, "GraphAgglomerativeClustering: n_clusters must be >= 1, got ", options_.n_clusters);
  CAKE_CHECK(options_.n_neighbors >= 1, "GraphAgglomerativeClustering: n_neighbors must be >= 1, got ", options_.n_neighbors);
  CAKE_CHECK(options_.a > 0 && std::isfinite(options_.a), "GraphAgglomerativeClustering: a must be positive, got ", options_.a);
  CAKE_CHECK(options_.z > 0 && options_.z < 1, "GraphAgglomerativeClustering: z must be in (0, 1), got ", options_.z);
  CAKE_CHECK(options_.min_cluster_fraction >= 0 && options_.min_cluster_fraction <= 1,
             "GraphAgglomerativeClustering: min_cluster_fraction must be in [0, 1], got ", options_.min_cluster_fraction);
}

GraphAgglomerativeClustering& GraphAgglomerativeClustering::fit(const Tensor& x) {
  NoGradGuard no_grad;
  const Tensor data = algorithms::detail::data_matrix(x, "GraphAgglomerativeClustering.fit", options_.n_clusters);
  CAKE_CHECK(data.size(0) > options_.n_neighbors, "GraphAgglomerativeClustering.fit: needs more samples than n_neighbors (",
             options_.n_neighbors, "), got ", data.size(0));
  const GdlGraph graph = gdl_graph(data, {.n_neighbors = options_.n_neighbors, .a = options_.a});
  sigma2_ = graph.sigma2;
  cluster_graph(graph.weights, nearest_neighbor_clusters(graph));
  return *this;
}

GraphAgglomerativeClustering& GraphAgglomerativeClustering::fit_graph(const SparseGraph& weights) {
  CAKE_CHECK(weights.n >= options_.n_clusters, "GraphAgglomerativeClustering.fit_graph: ", weights.n,
             " samples cannot make ", options_.n_clusters, " clusters");
  for (double w : weights.values)
    CAKE_CHECK(w > 0 && std::isfinite(w), "GraphAgglomerativeClustering.fit_graph: edge weights must be positive, found ", w);
  sigma2_ = 0.0;
  cluster_graph(weights, nearest_neighbor_clusters(gdl_graph(weights)));
  return *this;
}

void GraphAgglomerativeClustering::cluster_graph(const SparseGraph& weights, const std::vector<std::int64_t>& initial) {
  n_initial_ = *std::max_element(initial.begin(), initial.end()) + 1;
  CAKE_CHECK(n_initial_ >= options_.n_clusters, "GraphAgglomerativeClustering: the nearest-neighbour graph already has only ",
             n_initial_, " components, fewer than n_clusters = ", options_.n_clusters);
  const auto unlinked = [&](std::int64_t left) {
    return std::string("GraphAgglomerativeClustering: ") + std::to_string(left) +
           " clusters remain and no two of them are linked both ways in the " + std::to_string(options_.n_neighbors) +
           "-NN graph, so none can merge into " + std::to_string(options_.n_clusters) + " (raise n_neighbors)";
  };
  // ceil(min_cluster_fraction n / n_clusters): below it a cluster is an outlying group.
  const std::int64_t min_size = static_cast<std::int64_t>(std::ceil(
      options_.min_cluster_fraction * static_cast<double>(initial.size()) / static_cast<double>(options_.n_clusters)));
  std::vector<std::int64_t> leaf_sizes(static_cast<std::size_t>(n_initial_), 0);
  for (std::int64_t c : initial) ++leaf_sizes[static_cast<std::size_t>(c)];
  StopRule rule(options_.n_clusters, min_size, leaf_sizes);
  std::vector<std::int64_t> clusters;
  if (options_.descriptor == GraphDescriptor::DegreeLinkage) {
    const GdlGraph graph = gdl_graph(weights);
    GdlAgglomeration engine(graph, initial, {.k_c = 1});
    std::vector<std::int64_t> node_size = leaf_sizes;  // by node id: the leaves, then merge t's node n_leaves + t
    const std::int64_t total = engine.n_clusters() - options_.n_clusters;
    for (std::int64_t done = 1; !rule.done(); ++done) {
      const std::optional<GdlMerge> merge = engine.merge_once();
      CAKE_CHECK(merge.has_value(), unlinked(engine.n_clusters()));
      const std::int64_t a = node_size[static_cast<std::size_t>(merge->a)], b = node_size[static_cast<std::size_t>(merge->b)];
      rule.merged(a, b);
      node_size.push_back(a + b);
      if (options_.on_merge) options_.on_merge(done, total);
    }
    clusters = engine.compact_labels();
  } else {
    const SparseGraph walk = random_walk(weights);
    const SparseGraph in_edges = transposed_structure(walk);
    DescriptorMerger merger(walk, in_edges, initial, options_);
    const bool reached = merger.merge_until(rule);
    CAKE_CHECK(reached, unlinked(merger.alive()));
    clusters = merger.slot_of_sample();
  }
  n_outlying_ = rule.alive() - std::min(rule.alive(), options_.n_clusters);
  labels_ = n_outlying_ > 0 ? join_small_clusters(clusters, weights, transposed_structure(weights), min_size)
                            : first_sample_order(clusters);
}

Tensor GraphAgglomerativeClustering::fit_predict(const Tensor& x) {
  fit(x);
  return labels_;
}

const Tensor& GraphAgglomerativeClustering::labels() const {
  CAKE_CHECK(labels_.defined(), "GraphAgglomerativeClustering.labels: the model is not fitted");
  return labels_;
}

}  // namespace cake::cluster
