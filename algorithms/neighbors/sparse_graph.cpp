#include "cake/algorithms/neighbors/sparse_graph.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <numeric>

#include "cake/algorithms/detail/common.h"
#include "cake/tensor/pairwise.h"
#include "cake/tensor/creation.h"
#include "cake/tensor/parallel.h"

namespace cake::neighbors {

namespace detail = algorithms::detail;  // the shared kernels (algorithms/detail/)

using index_t = std::int64_t;

Tensor SparseGraph::to_dense() const {
  Tensor dense = zeros({n, n}, kFloat64);
  double* out = dense.data_ptr<double>();
  for (index_t i = 0; i < n; ++i)
    for (index_t e = indptr[i]; e < indptr[i + 1]; ++e) out[i * n + indices[e]] += values[e];
  return dense;
}

SparseGraph SparseGraph::from_dense(const Tensor& dense) {
  CAKE_CHECK(dense.dim() == 2 && dense.size(0) == dense.size(1),
             "SparseGraph::from_dense: expected a square matrix, got shape ", dense.sizes());
  Tensor d = dense.detach().cpu().to(kFloat64).contiguous();
  const double* p = d.data_ptr<double>();
  SparseGraph g;
  g.n = d.size(0);
  for (index_t i = 0; i < g.n; ++i) {
    for (index_t j = 0; j < g.n; ++j) {
      if (p[i * g.n + j] != 0.0) {
        g.indices.push_back(j);
        g.values.push_back(p[i * g.n + j]);
      }
    }
    g.indptr.push_back(g.nnz());
  }
  return g;
}

SparseGraph SparseGraph::from_triplets(std::int64_t n, const std::vector<std::int64_t>& rows,
                                       const std::vector<std::int64_t>& cols, const std::vector<double>& vals) {
  CAKE_CHECK(rows.size() == cols.size() && rows.size() == vals.size(),
             "SparseGraph::from_triplets: rows, cols and values differ in length (", rows.size(), ", ", cols.size(),
             ", ", vals.size(), ")");
  std::vector<std::size_t> order(rows.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  for (std::size_t e = 0; e < rows.size(); ++e)
    CAKE_CHECK(rows[e] >= 0 && rows[e] < n && cols[e] >= 0 && cols[e] < n, "SparseGraph::from_triplets: entry (",
               rows[e], ", ", cols[e], ") is outside a ", n, " x ", n, " graph");
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return rows[a] != rows[b] ? rows[a] < rows[b] : cols[a] < cols[b];
  });
  SparseGraph g;
  g.n = n;
  g.indptr.assign(static_cast<std::size_t>(n + 1), 0);
  for (std::size_t k = 0; k < order.size(); ++k) {
    const std::size_t e = order[k];
    if (k > 0 && rows[order[k - 1]] == rows[e] && cols[order[k - 1]] == cols[e]) {
      g.values.back() += vals[e];
      continue;
    }
    g.indices.push_back(cols[e]);
    g.values.push_back(vals[e]);
    ++g.indptr[static_cast<std::size_t>(rows[e] + 1)];
  }
  for (index_t i = 0; i < n; ++i) g.indptr[i + 1] += g.indptr[i];
  return g;
}

namespace {

// Rows [row0, row0 + rows) of the k-NN graph. Each row keeps its `candidates` smallest GEMM
// distances in a small sorted buffer (one comparison per sample once the buffer is full, so
// O(n) per row), then ranks those few by their exact distance, so that cancellation in the
// GEMM expansion cannot swap the k-th neighbour with the (k+1)-th.
template <class T>
void knn_rows(const T* x, index_t n, index_t d, const std::vector<T>& norms, index_t row0, index_t rows,
              index_t k, bool include_self, T* block, std::vector<index_t>& out_index,
              std::vector<double>& out_distance) {
  pairwise::squared_distances(x + row0 * d, rows, norms.data() + row0, x, n, norms.data(), d, block);
  const index_t wanted = include_self ? k : k + 1;  // without self: drop it afterwards
  const index_t candidates = std::min(n, wanted + 4);
  parallel_for(0, rows, 16, [&](index_t lo, index_t hi) {
    std::vector<std::pair<T, index_t>> best(static_cast<std::size_t>(candidates));
    for (index_t r = lo; r < hi; ++r) {
      const index_t i = row0 + r;
      const T* dist = block + r * n;
      // The `candidates` smallest (distance, index) pairs, kept sorted.
      index_t filled = 0;
      for (index_t j = 0; j < n; ++j) {
        const T v = dist[j];
        if (filled == candidates && !(v < best[filled - 1].first)) continue;
        index_t pos = filled == candidates ? candidates - 1 : filled++;
        while (pos > 0 && v < best[pos - 1].first) {
          best[pos] = best[pos - 1];
          --pos;
        }
        best[pos] = {v, j};
      }
      for (auto& [value, j] : best) value = j == i ? T(0) : detail::squared_distance(x + i * d, x + j * d, d);
      // The sample itself first among equals, then by index (sklearn's stable order).
      std::sort(best.begin(), best.end(), [&](const auto& a, const auto& b) {
        if (a.first != b.first) return a.first < b.first;
        if ((a.second == i) != (b.second == i)) return a.second == i;
        return a.second < b.second;
      });
      index_t written = 0;
      for (index_t c = 0; c < candidates && written < k; ++c) {
        const index_t j = best[c].second;
        if (!include_self && j == i) continue;
        out_index[i * k + written] = j;
        out_distance[i * k + written] = std::sqrt(static_cast<double>(best[c].first));
        ++written;
      }
    }
  });
}

}  // namespace

SparseGraph kneighbors_graph(const Tensor& input, std::int64_t n_neighbors, bool include_self, NeighborWeight weight) {
  Tensor x = detail::data_matrix(input, "kneighbors_graph");
  const index_t n = x.size(0), d = x.size(1);
  const index_t available = include_self ? n : n - 1;
  CAKE_CHECK(n_neighbors >= 1 && n_neighbors <= available, "kneighbors_graph: n_neighbors must be in [1, ",
             available, "] for ", n, " samples", include_self ? "" : " (the sample itself excluded)", ", got ",
             n_neighbors);
  const index_t k = n_neighbors;
  std::vector<index_t> neighbor(static_cast<std::size_t>(n * k));
  std::vector<double> distance(static_cast<std::size_t>(n * k));
  visit_floating(x.dtype(), "kneighbors_graph", [&]<class T>() {
    const T* px = x.data_ptr<T>();
    std::vector<T> norms(static_cast<std::size_t>(n));
    detail::row_squared_norms(px, n, d, norms.data());
    // Row blocks of at most ~4M distances keep the buffer in a few tens of megabytes.
    const index_t block_rows = std::max<index_t>(1, std::min<index_t>(n, (index_t{1} << 22) / n));
    auto block = std::make_unique_for_overwrite<T[]>(static_cast<std::size_t>(block_rows * n));
    for (index_t row0 = 0; row0 < n; row0 += block_rows) {
      const index_t rows = std::min(block_rows, n - row0);
      knn_rows<T>(px, n, d, norms, row0, rows, k, include_self, block.get(), neighbor, distance);
    }
  });
  SparseGraph g;
  g.n = n;
  g.indptr.resize(static_cast<std::size_t>(n + 1));
  g.indices.resize(static_cast<std::size_t>(n * k));
  g.values.resize(static_cast<std::size_t>(n * k));
  std::vector<std::pair<index_t, double>> row(static_cast<std::size_t>(k));
  for (index_t i = 0; i < n; ++i) {
    g.indptr[static_cast<std::size_t>(i)] = i * k;
    for (index_t c = 0; c < k; ++c)
      row[static_cast<std::size_t>(c)] = {neighbor[static_cast<std::size_t>(i * k + c)],
                                          distance[static_cast<std::size_t>(i * k + c)]};
    std::sort(row.begin(), row.end());
    for (index_t c = 0; c < k; ++c) {
      g.indices[static_cast<std::size_t>(i * k + c)] = row[static_cast<std::size_t>(c)].first;
      g.values[static_cast<std::size_t>(i * k + c)] =
          weight == NeighborWeight::Connectivity ? 1.0 : row[static_cast<std::size_t>(c)].second;
    }
  }
  g.indptr[static_cast<std::size_t>(n)] = n * k;
  return g;
}

SparseGraph symmetrize(const SparseGraph& a) {
  std::vector<std::int64_t> rows, cols;
  std::vector<double> vals;
  rows.reserve(static_cast<std::size_t>(2 * a.nnz()));
  cols.reserve(rows.capacity());
  vals.reserve(rows.capacity());
  for (index_t i = 0; i < a.n; ++i) {
    for (index_t e = a.indptr[i]; e < a.indptr[i + 1]; ++e) {
      const double half = 0.5 * a.values[e];
      rows.push_back(i), cols.push_back(a.indices[e]), vals.push_back(half);
      rows.push_back(a.indices[e]), cols.push_back(i), vals.push_back(half);
    }
  }
  return SparseGraph::from_triplets(a.n, rows, cols, vals);
}

std::pair<std::int64_t, std::vector<std::int64_t>> connected_components(const SparseGraph& graph) {
  // Union-find with path halving over the edges (both directions join, so no transpose needed).
  const index_t n = graph.n;
  std::vector<index_t> parent(static_cast<std::size_t>(n));
  std::iota(parent.begin(), parent.end(), index_t{0});
  auto find = [&](index_t v) {
    while (parent[v] != v) v = parent[v] = parent[parent[v]];
    return v;
  };
  for (index_t i = 0; i < n; ++i) {
    for (index_t e = graph.indptr[i]; e < graph.indptr[i + 1]; ++e) {
      const index_t a = find(i), b = find(graph.indices[e]);
      if (a != b) parent[std::max(a, b)] = std::min(a, b);
    }
  }
  std::vector<std::int64_t> component(static_cast<std::size_t>(n), -1);
  std::vector<std::int64_t> id_of_root(static_cast<std::size_t>(n), -1);
  std::int64_t count = 0;
  for (index_t i = 0; i < n; ++i) {
    const index_t root = find(i);
    if (id_of_root[root] < 0) id_of_root[root] = count++;
    component[i] = id_of_root[root];
  }
  return {count, component};
}

void spmv(const SparseGraph& a, const double* x, double* y) {
  const index_t edges_per_row = a.indptr[a.n] / std::max<index_t>(a.n, 1);
  parallel_for(0, a.n, detail::grain_for(2 * edges_per_row), [&](index_t lo, index_t hi) {
    for (index_t i = lo; i < hi; ++i) {
      double s = 0;
      for (index_t e = a.indptr[i]; e < a.indptr[i + 1]; ++e) s += a.values[e] * x[a.indices[e]];
      y[i] = s;
    }
  });
}

}  // namespace cake::neighbors
