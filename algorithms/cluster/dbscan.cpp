#include "cake/algorithms/cluster/dbscan.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>

#include "cake/algorithms/detail/common.h"
#include "cake/tensor/pairwise.h"
#include "cake/algorithms/neighbors/kd_tree.h"
#include "cake/tensor/creation.h"
#include "cake/tensor/parallel.h"

namespace cake::cluster {

namespace detail = algorithms::detail;  // the shared kernels (algorithms/detail/)
using neighbors::KDTree;  // the radius queries (algorithms/neighbors/)

using index_t = std::int64_t;

NeighborAlgorithm parse_neighbor_algorithm(const std::string& name) {
  if (name == "auto") return NeighborAlgorithm::Auto;
  if (name == "kd_tree") return NeighborAlgorithm::KDTree;
  if (name == "brute") return NeighborAlgorithm::Brute;
  CAKE_FAIL("DBSCAN: unknown algorithm '", name, "' (expected auto, kd_tree or brute)");
}

namespace {

// Above this dimension the k-d tree's boxes stop pruning (most of them touch the ball).
constexpr index_t kMaxTreeDimension = 8;

NeighborAlgorithm resolve(NeighborAlgorithm algorithm, index_t d) {
  if (algorithm != NeighborAlgorithm::Auto) return algorithm;
  return d <= kMaxTreeDimension ? NeighborAlgorithm::KDTree : NeighborAlgorithm::Brute;
}

// Flattens per-sample lists into the CSR form: the offsets first (a prefix sum), then every list
// copied into its slot in parallel. (The brute-force lists are built in increasing order.)
Neighborhoods flatten(std::vector<std::vector<index_t>>& lists) {
  const index_t n = static_cast<index_t>(lists.size());
  Neighborhoods out;
  out.indptr.assign(static_cast<std::size_t>(n + 1), 0);
  for (index_t i = 0; i < n; ++i) out.indptr[i + 1] = out.indptr[i] + static_cast<index_t>(lists[i].size());
  out.indices.resize(static_cast<std::size_t>(out.indptr[n]));
  parallel_for(0, n, 64, [&](index_t lo, index_t hi) {
    for (index_t i = lo; i < hi; ++i) {
      std::vector<index_t>& l = lists[i];
      std::copy(l.begin(), l.end(), out.indices.begin() + out.indptr[i]);
      std::vector<index_t>().swap(l);
    }
  });
  return out;
}

// Two passes with the tree and no per-sample lists: count every |N(i)| (a box inside the ball
// counts its points at once), prefix-sum the counts into indptr, then write each neighbourhood
// straight into its slot (and sort it, if asked). Queries run in the tree's leaf order, so that
// consecutive queries walk the same nodes. (Growing one vector per sample and copying them all
// into the CSR arrays took half the time of this step.)
template <class T>
Neighborhoods tree_neighborhoods(const T* x, index_t n, index_t d, T eps_sq, index_t leaf_size, bool sort_results) {
  const KDTree<T> tree(x, n, d, leaf_size);
  const std::vector<index_t>& order = tree.leaf_order();
  Neighborhoods out;
  out.indptr.assign(static_cast<std::size_t>(n + 1), 0);
  parallel_for(0, n, 256, [&](index_t lo, index_t hi) {
    for (index_t p = lo; p < hi; ++p) out.indptr[order[p] + 1] = tree.count_within(x + order[p] * d, eps_sq);
  });
  for (index_t i = 0; i < n; ++i) out.indptr[i + 1] += out.indptr[i];
  out.indices.resize(static_cast<std::size_t>(out.indptr[n]));
  parallel_for(0, n, 256, [&](index_t lo, index_t hi) {
    for (index_t p = lo; p < hi; ++p) {
      const index_t i = order[p];
      index_t* slot = out.indices.data() + out.indptr[i];
      index_t filled = 0;
      tree.for_each_within(x + i * d, eps_sq, [&](index_t j) { slot[filled++] = j; });
      if (sort_results) std::sort(slot, slot + filled);
    }
  });
  return out;
}

// Blocked GEMM distances; pairs whose expanded distance lies within rounding of eps^2 are
// recomputed exactly, so membership never depends on cancellation.
template <class T>
void brute_neighborhoods(const T* x, index_t n, index_t d, T eps_sq, std::vector<std::vector<index_t>>& lists) {
  std::vector<T> norms(static_cast<std::size_t>(n));
  detail::row_squared_norms(x, n, d, norms.data());
  const index_t block_rows = std::max<index_t>(1, std::min<index_t>(n, (index_t{1} << 22) / n));
  auto block = std::make_unique_for_overwrite<T[]>(static_cast<std::size_t>(block_rows * n));
  const T rounding = T(16) * std::numeric_limits<T>::epsilon();
  for (index_t row0 = 0; row0 < n; row0 += block_rows) {
    const index_t rows = std::min(block_rows, n - row0);
    pairwise::squared_distances(x + row0 * d, rows, norms.data() + row0, x, n, norms.data(), d, block.get());
    parallel_for(0, rows, 8, [&](index_t lo, index_t hi) {
      for (index_t r = lo; r < hi; ++r) {
        const index_t i = row0 + r;
        const T* dist = block.get() + r * n;
        for (index_t j = 0; j < n; ++j) {
          const T band = rounding * (norms[i] + norms[j]);
          if (dist[j] > eps_sq + band) continue;
          if (dist[j] >= eps_sq - band && detail::squared_distance(x + i * d, x + j * d, d) > eps_sq) continue;
          lists[i].push_back(j);
        }
      }
    });
  }
}

}  // namespace

Neighborhoods radius_neighborhoods(const Tensor& input, double eps, NeighborAlgorithm algorithm,
                                   std::int64_t leaf_size, bool sort_results) {
  Tensor x = detail::data_matrix(input, "radius_neighborhoods");
  CAKE_CHECK(eps > 0 && std::isfinite(eps), "DBSCAN: eps must be a positive number, got ", eps);
  const index_t n = x.size(0), d = x.size(1);
  algorithm = resolve(algorithm, d);
  Neighborhoods out;
  visit_floating(x.dtype(), "radius_neighborhoods", [&]<class T>() {
    const T eps_sq = static_cast<T>(eps * eps);
    if (algorithm == NeighborAlgorithm::KDTree) {
      out = tree_neighborhoods<T>(x.data_ptr<T>(), n, d, eps_sq, leaf_size, sort_results);
    } else {
      std::vector<std::vector<index_t>> lists(static_cast<std::size_t>(n));
      brute_neighborhoods<T>(x.data_ptr<T>(), n, d, eps_sq, lists);
      out = flatten(lists);
    }
  });
  return out;
}

namespace {

// expand_clusters, with the neighbourhood of core point i supplied by
// for_each_neighbor(i, visit), which calls visit(j) for every j in N_eps(i).
template <class ForEachNeighbor>
std::vector<std::int64_t> expand_from(const std::vector<char>& is_core, const ForEachNeighbor& for_each_neighbor) {
  const index_t n = static_cast<index_t>(is_core.size());
  std::vector<std::int64_t> labels(static_cast<std::size_t>(n), -1);
  std::vector<index_t> stack;
  std::int64_t label = 0;
  for (index_t start = 0; start < n; ++start) {
    if (labels[start] != -1 || !is_core[start]) continue;
    // Depth-first search from `start`: a core point spreads the label to its neighbourhood, a
    // border point takes the label and stops. Points are labelled as they are pushed, so each
    // enters the stack at most once.
    labels[start] = label;
    stack.push_back(start);
    while (!stack.empty()) {
      const index_t i = stack.back();
      stack.pop_back();
      if (!is_core[i]) continue;
      for_each_neighbor(i, [&](index_t v) {
        if (labels[v] != -1) return;
        labels[v] = label;
        stack.push_back(v);
      });
    }
    ++label;
  }
  return labels;
}

// Low dimension: no neighbourhood lists at all, so memory is O(n) instead of O(sum |N_eps|)
// (for the 10,000 blobs of the benchmark the lists are a million entries, and page-faulting
// their fresh 8 MB cost more than the search). The tree counts every |N_eps(p)| in parallel (a
// box inside the ball counts its points at once); the search then asks it for the
// neighbourhood of each core point it reaches, once per core point.
template <class T>
void fit_with_tree(const T* x, index_t n, index_t d, T eps_sq, const DBSCANOptions& o, std::vector<char>& is_core,
                   std::vector<std::int64_t>& labels) {
  const KDTree<T> tree(x, n, d, o.leaf_size);
  is_core.assign(static_cast<std::size_t>(n), 0);
  parallel_for(0, n, 256, [&](index_t lo, index_t hi) {
    for (index_t i = lo; i < hi; ++i) is_core[i] = tree.count_within(x + i * d, eps_sq) >= o.min_samples;
  });
  labels = expand_from(is_core, [&](index_t i, const auto& visit) { tree.for_each_within(x + i * d, eps_sq, visit); });
}

}  // namespace

std::vector<std::int64_t> expand_clusters(const Neighborhoods& neighborhoods, const std::vector<char>& is_core) {
  return expand_from(is_core, [&](index_t i, const auto& visit) {
    for (index_t e = neighborhoods.indptr[i]; e < neighborhoods.indptr[i + 1]; ++e) visit(neighborhoods.indices[e]);
  });
}

DBSCAN::DBSCAN(DBSCANOptions options) : options_(options) {
  CAKE_CHECK(options_.eps > 0 && std::isfinite(options_.eps), "DBSCAN: eps must be a positive number, got ",
             options_.eps);
  CAKE_CHECK(options_.min_samples >= 1, "DBSCAN: min_samples must be at least 1, got ", options_.min_samples);
  CAKE_CHECK(options_.leaf_size >= 1, "DBSCAN: leaf_size must be at least 1, got ", options_.leaf_size);
}

DBSCAN& DBSCAN::fit(const Tensor& input) {
  Tensor x = detail::data_matrix(input, "DBSCAN.fit");
  const index_t n = x.size(0), d = x.size(1);
  std::vector<char> is_core;
  std::vector<std::int64_t> labels;
  if (resolve(options_.algorithm, d) == NeighborAlgorithm::KDTree) {
    visit_floating(x.dtype(), "DBSCAN.fit", [&]<class T>() {
      fit_with_tree<T>(x.data_ptr<T>(), n, d, static_cast<T>(options_.eps * options_.eps), options_, is_core, labels);
    });
  } else {
    // The labels do not depend on the order within a neighbourhood (each cluster is expanded
    // completely before the next starts), so the lists are left unsorted.
    const Neighborhoods hoods = radius_neighborhoods(x, options_.eps, NeighborAlgorithm::Brute, options_.leaf_size,
                                                     /*sort_results=*/false);
    is_core.resize(static_cast<std::size_t>(n));
    for (index_t i = 0; i < n; ++i) is_core[i] = hoods.size(i) >= options_.min_samples;
    labels = expand_clusters(hoods, is_core);
  }
  std::vector<std::int64_t> core;
  for (index_t i = 0; i < n; ++i)
    if (is_core[i]) core.push_back(i);
  n_clusters_ = labels.empty() ? 0 : *std::max_element(labels.begin(), labels.end()) + 1;
  labels_ = detail::to_tensor(labels);
  core_sample_indices_ = detail::to_tensor(core);
  components_ = empty({static_cast<index_t>(core.size()), d}, x.dtype());
  const std::size_t row_bytes = static_cast<std::size_t>(d) * x.element_size();
  for (std::size_t c = 0; c < core.size(); ++c)
    std::copy_n(static_cast<const char*>(x.raw_data()) + static_cast<std::size_t>(core[c]) * row_bytes, row_bytes,
                static_cast<char*>(components_.raw_data()) + c * row_bytes);
  return *this;
}

Tensor DBSCAN::fit_predict(const Tensor& x) { return fit(x).labels(); }

const Tensor& DBSCAN::labels() const {
  CAKE_CHECK(labels_.defined(), "DBSCAN: labels() before fit()");
  return labels_;
}
const Tensor& DBSCAN::core_sample_indices() const {
  CAKE_CHECK(core_sample_indices_.defined(), "DBSCAN: core_sample_indices() before fit()");
  return core_sample_indices_;
}
const Tensor& DBSCAN::components() const {
  CAKE_CHECK(components_.defined(), "DBSCAN: components() before fit()");
  return components_;
}

}  // namespace cake::cluster
