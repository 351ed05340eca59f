// sparse_graph.h: a weighted graph on the samples in compressed sparse row (CSR) form, the
// k-nearest-neighbour graph built on it, and the graph algorithms the classical methods share
// (connected components, symmetrisation, sparse matrix-vector product).
//
//   cake::Tensor X = cake::randn({500, 10});
//   auto knn = cake::neighbors::kneighbors_graph(X, 10);      // 10 edges per row, weight 1
//   auto affinity = cake::neighbors::symmetrize(knn);          // (A + A^T) / 2
//   auto [count, component] = cake::neighbors::connected_components(affinity);
//
// Row i's neighbours are indices[indptr[i] .. indptr[i + 1]) with weights values[...], each row
// sorted by column index, as in scipy.sparse.csr_matrix. Used for the connectivity constraint of
// agglomerative clustering and the k-NN affinity of spectral clustering.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "cake/tensor/tensor.h"

namespace cake::neighbors {

struct SparseGraph {
  std::int64_t n = 0;  // the graph is n x n
  std::vector<std::int64_t> indptr{0};
  std::vector<std::int64_t> indices;
  std::vector<double> values;

  std::int64_t nnz() const { return static_cast<std::int64_t>(indices.size()); }
  std::int64_t degree(std::int64_t row) const { return indptr[row + 1] - indptr[row]; }
  // The dense [n, n] float64 matrix (for tests and small graphs).
  Tensor to_dense() const;
  // The nonzeros of a dense square matrix (any floating dtype).
  static SparseGraph from_dense(const Tensor& dense);
  // From (row, col, value) triplets; duplicates are summed.
  static SparseGraph from_triplets(std::int64_t n, const std::vector<std::int64_t>& rows,
                                   const std::vector<std::int64_t>& cols, const std::vector<double>& values);
};

// What an edge of the k-NN graph carries (sklearn's kneighbors_graph `mode`).
enum class NeighborWeight { Connectivity, Distance };

// The directed k-nearest-neighbour graph of the rows of X [n, d] (Euclidean), as
// sklearn.neighbors.kneighbors_graph: row i has edges to its k nearest samples; with
// include_self the sample itself counts as its own nearest neighbour (distance 0), otherwise it
// is left out. Brute force in row blocks, one GEMM per block.
SparseGraph kneighbors_graph(const Tensor& x, std::int64_t n_neighbors, bool include_self = false,
                             NeighborWeight weight = NeighborWeight::Connectivity);

// (A + A^T) / 2: the symmetric affinity sklearn's SpectralClustering builds from a k-NN graph.
SparseGraph symmetrize(const SparseGraph& a);

// Connected components of the undirected graph (an edge in either direction joins): the
// number of components and each vertex's component, numbered in order of first vertex.
std::pair<std::int64_t, std::vector<std::int64_t>> connected_components(const SparseGraph& graph);

// y = A x.
void spmv(const SparseGraph& a, const double* x, double* y);

}  // namespace cake::neighbors

// Compatibility: the spellings from before algorithms/ was split into family namespaces
// (docs/architecture.md, "The algorithms: families and namespaces"). They name the same
// entities; new code uses cake::neighbors.
namespace cake::algorithms {
using ::cake::neighbors::SparseGraph;
using ::cake::neighbors::NeighborWeight;
using ::cake::neighbors::kneighbors_graph;
using ::cake::neighbors::symmetrize;
using ::cake::neighbors::connected_components;
using ::cake::neighbors::spmv;
}  // namespace cake::algorithms
