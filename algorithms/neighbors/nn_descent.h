// nn_descent.h: the k nearest neighbours of every sample, exactly (all distances, blocked GEMM)
// or approximately by NN-descent (Dong, Moses & Li 2011, "Efficient k-nearest neighbor graph
// construction for generic similarity measures", WWW 2011).
//
//   cake::Tensor X = cake::randn({20000, 10});
//   cake::neighbors::KnnResult exact = cake::neighbors::exact_knn(X, 15);
//   cake::neighbors::KnnResult approx = cake::neighbors::nn_descent(X, 15, {.random_state = 0});
//   double r = cake::neighbors::knn_recall(approx, exact);   // ~0.99
//   cake::neighbors::KnnResult near = cake::neighbors::exact_knn_query(cake::randn({5, 10}), X, 3);  // other points'
//
// Both list each sample itself as its own first neighbour (distance 0), the convention of
// UMAP's reference implementation (umap-learn's n_neighbors counts the point), then the others
// nearest first. Metrics: "euclidean" |x - y| and "cosine" 1 - x.y / (|x| |y|).
//
// NN-descent rests on one observation, "a neighbour of a neighbour is likely a neighbour"
// (Dong et al., section 3): start from any graph (here k random neighbours per point), and
// repeatedly compare every pair of points that share a neighbour (the "local join", their
// Algorithm 2), keeping for each point the k closest seen so far. Three refinements of the
// paper make it cheap:
//   * reverse neighbours: the join of v runs over v's neighbours and the points that list v
//     (section 3.2), so information flows both ways along an edge;
//   * incremental search: each neighbour is flagged "new" until it has taken part in a join
//     once; only pairs with at least one new member are compared (section 3.3);
//   * sampling: at most max_candidates new and old candidates per point per iteration, chosen
//     at random (section 3.4, rho);
// and it stops when fewer than delta * n * k neighbour lists changed in an iteration (the
// paper's early termination, section 3.5), or after n_iters iterations.
//
// Reproducible: for a random_state the result is the same whatever the number of threads. The
// local joins of a block of points run in parallel against a frozen copy of the lists and only
// propose updates; the updates are then applied in the order of the points.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cake/tensor/tensor.h"

namespace cake::neighbors {

// k neighbours per row, row-major [n, k]: indices[i * k + t] is row i's t-th nearest sample
// (t = 0 is i itself), distances[i * k + t] its distance.
struct KnnResult {
  std::int64_t n = 0, k = 0;
  std::vector<std::int64_t> indices;
  std::vector<double> distances;
};

// Exact k-NN (k includes the sample itself, 1 <= k <= n): all squared distances a block of
// rows at a time by GEMM (tensor/pairwise.h), a partial selection per row, then the k chosen
// distances recomputed directly from the coordinates for precision. O(n^2 d).
KnnResult exact_knn(const Tensor& x, std::int64_t k, const std::string& metric = "euclidean");

// Exact k-NN of other points: for each row of `queries` [m, d], its k nearest rows of
// `reference` [n, d] (1 <= k <= n; a query is not left out of the reference, so a query that is
// also a reference row finds itself at distance 0), nearest first, ties by reference index.
// KnnResult.n is m. Blocked GEMM as exact_knn; O(m n d). (UMAP::transform's search.)
KnnResult exact_knn_query(const Tensor& queries, const Tensor& reference, std::int64_t k,
                          const std::string& metric = "euclidean");

struct NNDescentOptions {
  std::string metric = "euclidean";   // "euclidean" | "cosine"
  std::int64_t max_candidates = 0;    // 0: min(60, k), pynndescent's default
  std::int64_t n_iters = 0;           // 0: max(5, round(log2 n)), pynndescent's default
  double delta = 0.001;               // stop when fewer than delta * n * k updates were made
  std::optional<std::uint64_t> random_state = std::nullopt;
};

// Approximate k-NN by NN-descent (see the header comment); k includes the sample itself.
// O(n k^2 d) per iteration.
KnnResult nn_descent(const Tensor& x, std::int64_t k, const NNDescentOptions& options = {});

// The fraction of exact neighbours that `approx` found: sum_i |N_approx(i) & N_exact(i)| / (n k).
double knn_recall(const KnnResult& approx, const KnnResult& exact);

}  // namespace cake::neighbors
