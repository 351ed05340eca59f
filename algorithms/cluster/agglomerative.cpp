#include "cake/algorithms/cluster/agglomerative.h"

#include <algorithm>
#include <cstdlib>
#include <cmath>
#include <limits>
#include <memory>
#include <numeric>
#include <queue>

#include <sys/mman.h>

#include "cake/algorithms/detail/common.h"
#include "cake/tensor/pairwise.h"
#include "cake/tensor/creation.h"
#include "cake/tensor/parallel.h"

namespace cake::cluster {

namespace detail = algorithms::detail;  // the shared kernels (algorithms/detail/)
using neighbors::SparseGraph;  // the connectivity graph (algorithms/neighbors/)
using neighbors::connected_components;
using neighbors::kneighbors_graph;

using index_t = std::int64_t;

Linkage parse_linkage(const std::string& name) {
  if (name == "ward") return Linkage::Ward;
  if (name == "complete") return Linkage::Complete;
  if (name == "average") return Linkage::Average;
  if (name == "single") return Linkage::Single;
  CAKE_FAIL("AgglomerativeClustering: unknown linkage '", name, "' (expected ward, complete, average or single)");
}

const char* linkage_name(Linkage linkage) {
  switch (linkage) {
    case Linkage::Ward: return "ward";
    case Linkage::Complete: return "complete";
    case Linkage::Average: return "average";
    case Linkage::Single: return "single";
  }
  return "?";
}

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// ---- The tree in scipy's layout ----------------------------------------------------------------

// A merge as the NN-chain and Prim find it: the two clusters are named by any sample they
// contain, the order is that of discovery, not yet of distance.
struct SampleMerge {
  index_t a, b;
  double distance;
};

// scipy's `label` (and scikit-learn's _single_linkage_label): sort the merges by distance
// (stably, so ties keep discovery order), then replay them with a union-find; merge i creates
// node n + i from the current roots of its two samples.
MergeTree label_merges(std::vector<SampleMerge> merges, index_t n, bool smaller_first) {
  std::stable_sort(merges.begin(), merges.end(),
                   [](const SampleMerge& p, const SampleMerge& q) { return p.distance < q.distance; });
  std::vector<index_t> parent(static_cast<std::size_t>(std::max<index_t>(2 * n - 1, 1)));
  std::iota(parent.begin(), parent.end(), index_t{0});
  auto root = [&](index_t v) {
    index_t r = v;
    while (parent[r] != r) r = parent[r];
    while (parent[v] != r) v = std::exchange(parent[v], r);  // path compression
    return r;
  };
  MergeTree tree;
  tree.n_leaves = n;
  index_t next = n;
  for (const SampleMerge& m : merges) {
    index_t ra = root(m.a), rb = root(m.b);
    if (smaller_first && ra > rb) std::swap(ra, rb);
    tree.children.push_back({ra, rb});
    tree.distances.push_back(m.distance);
    parent[ra] = parent[rb] = next++;
  }
  return tree;
}

// ---- Unconstrained ward / complete / average: the nearest-neighbour chain -----------------------

// The Lance-Williams update d(K, L) for K = I u J (Müllner 2011, Table 1). Ward is applied to
// squared distances, where its update is linear (and equals scipy's, which squares and takes
// the root at every update).
template <Linkage L>
inline double lance_williams(double d_il, double d_jl, double d_ij, double n_i, double n_j, double n_l) {
  if constexpr (L == Linkage::Ward) {
    return ((n_i + n_l) * d_il + (n_j + n_l) * d_jl - n_l * d_ij) / (n_i + n_j + n_l);
  } else if constexpr (L == Linkage::Complete) {
    return std::max(d_il, d_jl);
  } else {
    return (n_i * d_il + n_j * d_jl) / (n_i + n_j);
  }
}

// The dense [n, n] distance matrix of the rows of X (squared for ward), +inf on the diagonal.
// NOTE [Dense, not condensed]: a condensed (upper-triangle) matrix halves the memory, but then
// half of every nearest-neighbour scan walks a column with a stride of ~n doubles, one cache
// miss per element. The full matrix makes every scan one contiguous, vectorised row; the price
// is writing each updated row into its column too.
// A large uninitialised buffer of doubles on transparent huge pages where the OS offers them:
// the n^2 matrix is touched once per row and once per column per merge, and with 4 KiB pages
// every column access would be a TLB miss (and the first touch 50,000 page faults for n = 5000).
struct FreeDeleter {
  void operator()(double* p) const { std::free(p); }
};
using MatrixBuffer = std::unique_ptr<double[], FreeDeleter>;

MatrixBuffer huge_page_buffer(std::size_t count) {
  constexpr std::size_t kHugePage = std::size_t{2} << 20;
  const std::size_t bytes = (count * sizeof(double) + kHugePage - 1) / kHugePage * kHugePage;
  void* p = std::aligned_alloc(kHugePage, bytes);
  CAKE_CHECK(p != nullptr, "AgglomerativeClustering: cannot allocate the ", bytes >> 20,
             " MiB distance matrix (n^2 doubles; use a connectivity graph or fewer samples)");
#ifdef MADV_HUGEPAGE
  madvise(p, bytes, MADV_HUGEPAGE);  // a hint; without huge pages everything still works
#endif
  return MatrixBuffer(static_cast<double*>(p));
}

MatrixBuffer dense_distances(const double* x, index_t n, index_t d, bool squared) {
  MatrixBuffer dist = huge_page_buffer(static_cast<std::size_t>(n * n));
  std::vector<double> norms(static_cast<std::size_t>(n));
  detail::row_squared_norms(x, n, d, norms.data());
  pairwise::squared_distances(x, n, norms.data(), x, n, norms.data(), d, dist.get());
  parallel_for(0, n, 64, [&](index_t lo, index_t hi) {
    for (index_t i = lo; i < hi; ++i) {
      double* row = dist.get() + i * n;
      if (!squared)
        for (index_t j = 0; j < n; ++j) row[j] = std::sqrt(row[j]);
      row[i] = kInf;
    }
  });
  return dist;
}

// Müllner 2011, Fig. 4 (as scipy's nn_chain): merges of a reducible linkage in O(n^2).
// Retired clusters have +inf in every row and column, so a scan needs no activity test.
// The smallest entry of a row (one vectorised pass; the index is found by a second, cheaper one).
inline double row_minimum(const double* row, index_t n) {
  double m = kInf;
#pragma omp simd reduction(min : m)
  for (index_t i = 0; i < n; ++i) m = std::min(m, row[i]);
  return m;
}

template <Linkage L>
std::vector<SampleMerge> nn_chain(double* dist, index_t n) {
  std::vector<double> size(static_cast<std::size_t>(n), 1.0);
  std::vector<index_t> chain;
  chain.reserve(static_cast<std::size_t>(n));
  std::vector<SampleMerge> merges;
  merges.reserve(static_cast<std::size_t>(n - 1));
  index_t first_active = 0;
  for (index_t step = 0; step < n - 1; ++step) {
    if (chain.empty()) {
      while (size[first_active] == 0) ++first_active;
      chain.push_back(first_active);
    }
    // Follow nearest neighbours until two clusters are mutual nearest neighbours. The previous
    // chain element wins ties, which guarantees the chain cannot cycle.
    index_t x = 0, y = 0;
    double nearest = kInf;
    while (true) {
      x = chain.back();
      const double* row = dist + x * n;
      const bool has_previous = chain.size() > 1;
      const index_t previous = has_previous ? chain[chain.size() - 2] : -1;
      nearest = row_minimum(row, n);
      if (has_previous && row[previous] == nearest) break;  // mutual nearest neighbours
      y = std::find(row, row + n, nearest) - row;
      chain.push_back(y);
    }
    y = chain[chain.size() - 2];
    chain.resize(chain.size() - 2);
    if (x > y) std::swap(x, y);  // the merged cluster lives in slot y (fastcluster's convention)
    merges.push_back({x, y, nearest});
    // d(x u y, l) into row y and column y; row and column x retire.
    const double n_x = size[x], n_y = size[y];
    double* row_x = dist + x * n;
    double* row_y = dist + y * n;
    for (index_t l = 0; l < n; ++l) row_y[l] = lance_williams<L>(row_x[l], row_y[l], nearest, n_x, n_y, size[l]);
    row_y[y] = kInf;
    row_y[x] = kInf;
    for (index_t l = 0; l < n; ++l) {
      if (size[l] == 0) continue;  // a retired row is never scanned again
      dist[l * n + y] = row_y[l];
      dist[l * n + x] = kInf;
    }
    std::fill(row_x, row_x + n, kInf);
    size[y] = n_x + n_y;
    size[x] = 0;
  }
  return merges;
}

// ---- Unconstrained single linkage: Prim's minimum spanning tree --------------------------------

// Müllner 2011, Fig. 6 (MST-LINKAGE-CORE, as scikit-learn's mst_linkage_core): grow the tree
// from sample 0, keeping for each outside sample its distance to the tree. The edge recorded
// for a new sample names the sample added just before it; after sorting, the union-find of
// label_merges turns these into the single-linkage hierarchy (Müllner's Theorem 6).
std::vector<SampleMerge> prim_mst(const double* x, index_t n, index_t d) {
  std::vector<double> to_tree(static_cast<std::size_t>(n), kInf);
  std::vector<char> in_tree(static_cast<std::size_t>(n), 0);
  std::vector<SampleMerge> merges;
  merges.reserve(static_cast<std::size_t>(n - 1));
  index_t current = 0;
  for (index_t step = 0; step < n - 1; ++step) {
    in_tree[current] = 1;
    const double* xc = x + current * d;
    parallel_for(0, n, 1024, [&](index_t lo, index_t hi) {
      for (index_t j = lo; j < hi; ++j) {
        if (in_tree[j]) continue;
        const double dj = std::sqrt(detail::squared_distance(xc, x + j * d, d));
        if (dj < to_tree[j]) to_tree[j] = dj;
      }
    });
    index_t next = 0;
    double nearest = kInf;
    for (index_t j = 0; j < n; ++j) {
      if (!in_tree[j] && to_tree[j] < nearest) {
        nearest = to_tree[j];
        next = j;
      }
    }
    merges.push_back({current, next, nearest});
    current = next;
  }
  return merges;
}

// ---- With a connectivity graph --------------------------------------------------------------------

// The symmetric neighbour lists of the graph without self loops; components the graph leaves
// apart are joined by the closest pair of samples of every pair of components (scikit-learn's
// _fix_connected_components), so that the tree reaches a single root.
std::vector<std::vector<index_t>> connected_neighbors(const double* x, index_t n, index_t d,
                                                      const SparseGraph& graph, index_t& n_components) {
  CAKE_CHECK(graph.n == n, "AgglomerativeClustering: the connectivity graph is ", graph.n, " x ", graph.n,
             " but the data has ", n, " samples");
  std::vector<std::vector<index_t>> adjacent(static_cast<std::size_t>(n));
  for (index_t i = 0; i < n; ++i) {
    for (index_t e = graph.indptr[i]; e < graph.indptr[i + 1]; ++e) {
      const index_t j = graph.indices[e];
      if (j == i) continue;
      adjacent[i].push_back(j);
      adjacent[j].push_back(i);
    }
  }
  auto [count, component] = connected_components(graph);
  n_components = count;
  if (count > 1) {
    std::vector<std::vector<index_t>> members(static_cast<std::size_t>(count));
    for (index_t i = 0; i < n; ++i) members[component[i]].push_back(i);
    for (index_t a = 0; a < count; ++a) {
      for (index_t b = 0; b < a; ++b) {
        double best = kInf;
        index_t best_i = -1, best_j = -1;
        for (index_t i : members[a])
          for (index_t j : members[b]) {
            const double dij = detail::squared_distance(x + i * d, x + j * d, d);
            if (best_i < 0 || dij < best) best = dij, best_i = i, best_j = j;  // a pair even if dij is NaN
          }
        adjacent[best_i].push_back(best_j);
        adjacent[best_j].push_back(best_i);
      }
    }
  }
  for (auto& list : adjacent) {
    std::sort(list.begin(), list.end());
    list.erase(std::unique(list.begin(), list.end()), list.end());
  }
  return adjacent;
}

// A candidate merge; the heap pops the smallest (distance, a, b), a > b, as scikit-learn's
// heap of (inertia, i, j) tuples does.
struct Edge {
  double distance;
  index_t a, b;
  bool operator>(const Edge& o) const {
    if (distance != o.distance) return distance > o.distance;
    if (a != o.a) return a > o.a;
    return b > o.b;
  }
};
using EdgeHeap = std::priority_queue<Edge, std::vector<Edge>, std::greater<Edge>>;

// Ward's merge cost between clusters p and q from their sizes and coordinate sums:
// |P||Q| / (|P| + |Q|) ||mean(P) - mean(Q)||^2, half the squared ward distance.
double ward_inertia(const std::vector<double>& size, const std::vector<double>& sums, index_t d, index_t p,
                    index_t q) {
  const double* sp = sums.data() + p * d;
  const double* sq = sums.data() + q * d;
  double s = 0;
  for (index_t k = 0; k < d; ++k) {
    const double diff = sp[k] / size[p] - sq[k] / size[q];
    s += diff * diff;
  }
  return s * size[p] * size[q] / (size[p] + size[q]);
}

// Greedy merging of the closest connected pair (scikit-learn's ward_tree and linkage_tree with
// connectivity): merge i creates node n + i, so the tree needs no relabelling. Cluster
// distances to the new node: ward from sizes and sums; complete / average / single from the
// two merged neighbour lists (max, size-weighted mean, min where both have the neighbour,
// the one value where only one has it).
MergeTree connectivity_tree(const double* x, index_t n, index_t d, Linkage linkage, const SparseGraph& graph,
                            index_t& n_components) {
  const std::vector<std::vector<index_t>> adjacent = connected_neighbors(x, n, d, graph, n_components);
  const index_t n_nodes = 2 * n - 1;
  std::vector<double> size(static_cast<std::size_t>(n_nodes), 0.0);
  std::vector<char> active(static_cast<std::size_t>(n_nodes), 0);
  std::fill(size.begin(), size.begin() + n, 1.0);
  std::fill(active.begin(), active.begin() + n, 1);
  std::vector<double> sums;
  if (linkage == Linkage::Ward) {
    sums.assign(static_cast<std::size_t>(n_nodes * d), 0.0);
    std::copy(x, x + n * d, sums.begin());
  }
  // Each node's neighbours with the linkage distance, sorted by node id.
  std::vector<std::vector<std::pair<index_t, double>>> neighbors(static_cast<std::size_t>(n_nodes));
  std::vector<Edge> initial;
  for (index_t i = 0; i < n; ++i) {
    for (index_t j : adjacent[i]) {
      const double dij = linkage == Linkage::Ward ? 0.5 * detail::squared_distance(x + i * d, x + j * d, d)
                                                  : std::sqrt(detail::squared_distance(x + i * d, x + j * d, d));
      neighbors[i].push_back({j, dij});
      if (j < i) initial.push_back({dij, i, j});
    }
  }
  EdgeHeap heap(std::greater<Edge>{}, std::move(initial));
  MergeTree tree;
  tree.n_leaves = n;
  std::vector<std::pair<index_t, double>> merged;
  for (index_t k = n; k < n_nodes; ++k) {
    Edge edge{};
    do {
      CAKE_CHECK(!heap.empty(), "AgglomerativeClustering: the connectivity graph ran out of edges");
      edge = heap.top();
      heap.pop();
    } while (!active[edge.a] || !active[edge.b]);
    const index_t i = edge.a, j = edge.b;
    tree.children.push_back({j, i});
    tree.distances.push_back(linkage == Linkage::Ward ? std::sqrt(2.0 * edge.distance) : edge.distance);
    active[i] = active[j] = 0;
    size[k] = size[i] + size[j];
    active[k] = 1;
    if (linkage == Linkage::Ward)
      for (index_t c = 0; c < d; ++c) sums[k * d + c] = sums[i * d + c] + sums[j * d + c];
    // Merge the two sorted neighbour lists, keeping active neighbours only.
    merged.clear();
    const auto& ni = neighbors[i];
    const auto& nj = neighbors[j];
    std::size_t p = 0, q = 0;
    while (p < ni.size() || q < nj.size()) {
      const index_t key_p = p < ni.size() ? ni[p].first : n_nodes;
      const index_t key_q = q < nj.size() ? nj[q].first : n_nodes;
      const index_t key = std::min(key_p, key_q);
      double value = 0;
      if (key_p == key_q) {
        const double dp = ni[p++].second, dq = nj[q++].second;
        if (linkage == Linkage::Complete) value = std::max(dp, dq);
        else if (linkage == Linkage::Average) value = (size[i] * dp + size[j] * dq) / (size[i] + size[j]);
        else value = std::min(dp, dq);
      } else if (key_p < key_q) {
        value = ni[p++].second;
      } else {
        value = nj[q++].second;
      }
      if (!active[key]) continue;
      if (linkage == Linkage::Ward) value = ward_inertia(size, sums, d, k, key);
      merged.push_back({key, value});
    }
    for (const auto& [c, value] : merged) {
      neighbors[c].push_back({k, value});  // k is the largest id so far: the list stays sorted
      heap.push({value, k, c});
    }
    neighbors[k] = merged;
    std::vector<std::pair<index_t, double>>().swap(neighbors[i]);
    std::vector<std::pair<index_t, double>>().swap(neighbors[j]);
  }
  return tree;
}

// ---- Cutting the tree ------------------------------------------------------------------------------

// CPython's heapq on a list of ints (_siftdown, _siftup, heappush, heappushpop), so that the
// order of the final heap, which numbers the clusters, is scikit-learn's.
void heap_sift_down(std::vector<index_t>& heap, std::size_t start, std::size_t pos) {
  const index_t item = heap[pos];
  while (pos > start) {
    const std::size_t parent = (pos - 1) >> 1;
    if (item < heap[parent]) {
      heap[pos] = heap[parent];
      pos = parent;
      continue;
    }
    break;
  }
  heap[pos] = item;
}
void heap_sift_up(std::vector<index_t>& heap, std::size_t pos) {
  const std::size_t end = heap.size(), start = pos;
  const index_t item = heap[pos];
  std::size_t child = 2 * pos + 1;
  while (child < end) {
    const std::size_t right = child + 1;
    if (right < end && !(heap[child] < heap[right])) child = right;
    heap[pos] = heap[child];
    pos = child;
    child = 2 * pos + 1;
  }
  heap[pos] = item;
  heap_sift_down(heap, start, pos);
}
void heap_push(std::vector<index_t>& heap, index_t item) {
  heap.push_back(item);
  heap_sift_down(heap, 0, heap.size() - 1);
}
void heap_push_pop(std::vector<index_t>& heap, index_t item) {
  if (!heap.empty() && heap[0] < item) {
    heap[0] = item;
    heap_sift_up(heap, 0);
  }
}

}  // namespace

MergeTree linkage_tree(const Tensor& input, Linkage linkage, const SparseGraph* connectivity) {
  index_t components = 1;
  Tensor x = detail::data_matrix(input, "linkage_tree").to(kFloat64).contiguous();
  const index_t n = x.size(0), d = x.size(1);
  const double* px = x.data_ptr<double>();
  if (n == 1) return MergeTree{1, {}, {}};
  if (connectivity != nullptr) return connectivity_tree(px, n, d, linkage, *connectivity, components);
  if (linkage == Linkage::Single) return label_merges(prim_mst(px, n, d), n, /*smaller_first=*/false);
  MatrixBuffer dist = dense_distances(px, n, d, /*squared=*/linkage == Linkage::Ward);
  std::vector<SampleMerge> merges;
  switch (linkage) {
    case Linkage::Ward: merges = nn_chain<Linkage::Ward>(dist.get(), n); break;
    case Linkage::Complete: merges = nn_chain<Linkage::Complete>(dist.get(), n); break;
    default: merges = nn_chain<Linkage::Average>(dist.get(), n); break;
  }
  dist.reset();
  if (linkage == Linkage::Ward)
    for (SampleMerge& m : merges) m.distance = std::sqrt(m.distance);
  return label_merges(std::move(merges), n, /*smaller_first=*/true);
}

std::vector<std::int64_t> cut_tree(const MergeTree& tree, std::int64_t n_clusters) {
  const index_t n = tree.n_leaves;
  CAKE_CHECK(static_cast<index_t>(tree.children.size()) == n - 1, "cut_tree: the tree has ", tree.children.size(),
             " merges for ", n, " leaves (a full tree has n - 1)");
  CAKE_CHECK(n_clusters >= 1 && n_clusters <= n, "cut_tree: n_clusters must be in [1, ", n, "], got ", n_clusters);
  std::vector<std::int64_t> labels(static_cast<std::size_t>(n), 0);
  if (n == 1) return labels;
  // Undo the last n_clusters - 1 merges: a max-heap of node ids (min-heap of their negatives,
  // as scikit-learn's _hc_cut keeps it) replaces the newest node by its two children.
  std::vector<index_t> heap{-(std::max(tree.children.back()[0], tree.children.back()[1]) + 1)};
  for (index_t c = 0; c < n_clusters - 1; ++c) {
    const auto& kids = tree.children[static_cast<std::size_t>(-heap[0] - n)];
    heap_push(heap, -kids[0]);
    heap_push_pop(heap, -kids[1]);
  }
  std::vector<index_t> stack;
  for (std::size_t label = 0; label < heap.size(); ++label) {
    stack.assign(1, -heap[label]);
    while (!stack.empty()) {
      const index_t node = stack.back();
      stack.pop_back();
      if (node < n) {
        labels[node] = static_cast<std::int64_t>(label);
      } else {
        stack.push_back(tree.children[static_cast<std::size_t>(node - n)][0]);
        stack.push_back(tree.children[static_cast<std::size_t>(node - n)][1]);
      }
    }
  }
  return labels;
}

// ---- The estimator --------------------------------------------------------------------------------

AgglomerativeClustering::AgglomerativeClustering(AgglomerativeClusteringOptions options) : options_(options) {
  CAKE_CHECK(options_.n_clusters.has_value() != options_.distance_threshold.has_value(),
             "AgglomerativeClustering: exactly one of n_clusters and distance_threshold has to be set (set "
             "n_clusters = std::nullopt when using distance_threshold)");
  CAKE_CHECK(!options_.n_clusters || *options_.n_clusters >= 1,
             "AgglomerativeClustering: n_clusters must be at least 1, got ", options_.n_clusters.value_or(0));
  CAKE_CHECK(!options_.distance_threshold || std::isfinite(*options_.distance_threshold),
             "AgglomerativeClustering: distance_threshold must be finite");
  CAKE_CHECK(options_.connectivity_n_neighbors >= 0,
             "AgglomerativeClustering: connectivity_n_neighbors must be >= 0, got ", options_.connectivity_n_neighbors);
}

AgglomerativeClustering& AgglomerativeClustering::fit(const Tensor& x) {
  if (options_.connectivity_n_neighbors > 0) {
    const SparseGraph graph = kneighbors_graph(x, options_.connectivity_n_neighbors, /*include_self=*/false);
    return fit_tree(x, &graph);
  }
  return fit_tree(x, nullptr);
}

AgglomerativeClustering& AgglomerativeClustering::fit(const Tensor& x, const SparseGraph& connectivity) {
  return fit_tree(x, &connectivity);
}

AgglomerativeClustering& AgglomerativeClustering::fit_tree(const Tensor& x, const SparseGraph* connectivity) {
  const Tensor data = detail::data_matrix(x, "AgglomerativeClustering.fit");
  const index_t n = data.size(0);
  CAKE_CHECK(!options_.n_clusters || *options_.n_clusters <= n, "AgglomerativeClustering: n_clusters = ",
             *options_.n_clusters, " is more than the ", n, " samples");
  tree_ = linkage_tree(data, options_.linkage, connectivity);
  n_connected_components_ = 1;
  if (connectivity != nullptr) n_connected_components_ = connected_components(*connectivity).first;
  if (options_.distance_threshold) {
    // Every merge at or above the threshold is undone: one more cluster each.
    n_clusters_ = 1 + std::count_if(tree_.distances.begin(), tree_.distances.end(),
                                    [&](double v) { return v >= *options_.distance_threshold; });
  } else {
    n_clusters_ = *options_.n_clusters;
  }
  labels_ = detail::to_tensor(cut_tree(tree_, n_clusters_));
  std::vector<std::int64_t> flat;
  flat.reserve(2 * tree_.children.size());
  for (const auto& c : tree_.children) flat.insert(flat.end(), c.begin(), c.end());
  children_ = detail::to_tensor(flat, {static_cast<index_t>(tree_.children.size()), 2});
  distances_ = detail::to_tensor(tree_.distances);
  return *this;
}

Tensor AgglomerativeClustering::fit_predict(const Tensor& x) { return fit(x).labels(); }

const Tensor& AgglomerativeClustering::labels() const {
  CAKE_CHECK(labels_.defined(), "AgglomerativeClustering: labels() before fit()");
  return labels_;
}
const Tensor& AgglomerativeClustering::children() const {
  CAKE_CHECK(children_.defined(), "AgglomerativeClustering: children() before fit()");
  return children_;
}
const Tensor& AgglomerativeClustering::distances() const {
  CAKE_CHECK(distances_.defined(), "AgglomerativeClustering: distances() before fit()");
  return distances_;
}

}  // namespace cake::cluster
