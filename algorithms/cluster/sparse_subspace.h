// sparse_subspace.h: sparse subspace clustering, SSC (Elhamifar & Vidal 2013, "Sparse Subspace
// Clustering: Algorithm, Theory, and Applications", IEEE TPAMI 35(11)), the "Subspace Clustering,
// Vidal et al." of the JULE talk's landscape, with the lasso codes of the paper or the greedy
// codes of SSC-OMP (You, Robinson & Vidal 2016, "Scalable Sparse Subspace Clustering by
// Orthogonal Matching Pursuit", CVPR).
//
//   cake::cluster::SparseSubspaceClustering ssc({.n_clusters = 3, .random_state = 0});
//   cake::Tensor labels = ssc.fit_predict(X);    // [n] int64: the subspace of each row
//   const cake::neighbors::SparseGraph& c = ssc.coefficients();  // row i: the code of x_i
//
// The model: the points lie near a union of linear subspaces, and each point is a combination of
// a few others from its own subspace (self-expressiveness, the paper's section 2). The steps:
//   1. Rows scaled to unit length (`normalize`; SSC-OMP's first step), so that every point's
//      code is on one scale.
//   2. A sparse code c_i of each x_i by the other points, c_ii = 0 (the paper's self-expressive program):
//        lasso: c_i = argmin 1/2 |x_i - sum_j c_ij x_j|^2 + (1 / lambda) |c_i|_1   (the noisy
//               program, one column at a time), lambda = alpha / mu with mu = min_i max_{j != i} |x_i . x_j|
//               (the paper's Proposition 1): any alpha > 1 gives every point a nonzero code;
//        omp:   up to n_nonzero points chosen greedily, each step the one most correlated with
//               the residual, the coefficients refitted by least squares (Batch-OMP).
//      Both run on the Gram matrix G = X X^T (algorithms/detail/sparse_codes.h, the coders of
//      decomposition/dictionary_learning.h with atom i excluded).
//   3. The affinity W = |C| + |C|^T (the paper's similarity graph), each code first divided by its largest |entry| so
//      that every point's strongest link weighs 1 (section 4 of the paper).
//   4. Spectral clustering of W (spectral.h: normalised affinity, unit rows, k-means).
// Memory and time: G holds n^2 numbers of the data's dtype (10,000 float32 images: 400 MB), and
// step 2 costs O(n^2) per sweep of all codes; for larger n, subsample, or use
// landmark_spectral.h, which never forms an n x n matrix.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "cake/algorithms/cluster/clusterer.h"
#include "cake/algorithms/neighbors/sparse_graph.h"
#include "cake/tensor/tensor.h"

namespace cake::cluster {

enum class SubspaceSolver { Lasso, OMP };
SubspaceSolver parse_subspace_solver(const std::string& name);  // "lasso", "omp"

struct SparseSubspaceClusteringOptions {
  std::int64_t n_clusters = 8;
  SubspaceSolver solver = SubspaceSolver::Lasso;
  double alpha = 20.0;             // lasso: lambda = alpha / mu (the paper's alpha_z, > 1; 20 for faces)
  std::int64_t n_nonzero = 10;     // omp: most points in a code (You et al.'s k_max)
  bool normalize = true;           // unit rows before coding (step 1)
  std::int64_t max_iter = 1000;    // lasso: coordinate-descent sweeps per code
  double tol = 1e-4;               // lasso: duality gap, relative to |x_i|^2
  std::int64_t n_init = 10;        // restarts of spectral clustering's k-means
  std::optional<std::uint64_t> random_state = std::nullopt;  // spectral clustering's draws
};

// The largest n whose Gram matrix SparseSubspaceClustering accepts, for elements of `bytes`
// bytes (8 GiB of Gram matrix).
std::int64_t max_subspace_samples(std::int64_t bytes);

// A Clusterer that labels only its training data (predict throws).
class SparseSubspaceClustering : public Clusterer {
 public:
  explicit SparseSubspaceClustering(SparseSubspaceClusteringOptions options = {});

  SparseSubspaceClustering& fit(const Tensor& x) override;
  Tensor fit_predict(const Tensor& x) override;
  std::string name() const override { return "sparse-subspace"; }

  const Tensor& labels() const override;                     // [n] int64
  const neighbors::SparseGraph& coefficients() const;        // C: row i holds c_i (step 2), no diagonal
  const neighbors::SparseGraph& affinity_graph() const;      // W of step 3, symmetric
  double lambda() const { return lambda_; }                  // lasso: alpha / mu (0 for omp)
  const SparseSubspaceClusteringOptions& options() const { return options_; }

 private:
  void check_fitted(const char* who) const;

  SparseSubspaceClusteringOptions options_;
  Tensor labels_;
  neighbors::SparseGraph coefficients_, affinity_;
  double lambda_ = 0.0;
};

}  // namespace cake::cluster
