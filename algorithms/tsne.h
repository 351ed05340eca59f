// tsne.h: t-distributed stochastic neighbour embedding (van der Maaten & Hinton 2008) with
// scikit-learn's interface (sklearn.manifold.TSNE), exact and Barnes-Hut (van der Maaten 2014).
//
//   cake::algorithms::TSNE tsne({.perplexity = 30, .random_state = 0});
//   cake::Tensor Y = tsne.fit_transform(X);    // X [N, D] -> Y [N, 2], X's dtype
//   double kl = tsne.kl_divergence();
//
// High-dimensional similarities: a Gaussian around each point whose bandwidth sigma_i is set by
// binary search so that the conditional distribution has the requested perplexity,
//     p_{j|i} = exp(-|x_i - x_j|^2 beta_i) / sum_k exp(-|x_i - x_k|^2 beta_i),   beta_i = 1 / 2 sigma_i^2,
//     Perp(P_i) = 2^{H(P_i)} = perplexity                                       (2008, eq. 1 and 4)
// symmetrised p_ij = (p_{j|i} + p_{i|j}) / 2N (eq. in section 3.1). Low-dimensional similarities
// use a Student t with one degree of freedom, q_ij = (1 + |y_i - y_j|^2)^-1 / Z (eq. 4), and the
// embedding minimises KL(P || Q) = sum p_ij log(p_ij / q_ij) by gradient descent on
//     dC/dy_i = 4 sum_j (p_ij - q_ij)(1 + |y_i - y_j|^2)^-1 (y_i - y_j)            (eq. 5)
// with momentum, per-parameter gains (Jacobs 1988) and "early exaggeration" (P multiplied by 12
// for the first 250 iterations, which lets clusters form before they have to separate).
//
// method="barnes_hut" (van der Maaten 2014, "Accelerating t-SNE using tree-based algorithms"):
// P is computed on the k = min(N - 1, 3 perplexity + 1) nearest neighbours only (sparse), and the
// repulsive half of (5), sum_j q_ij^2 Z (y_i - y_j), is approximated with a space-partitioning
// tree (a quadtree in 2-D): a cell of points far enough away (cell width / distance < angle)
// acts as one point at its centre of mass (eq. 8-9). O(N log N) per iteration instead of O(N^2).
// Defaults and schedule follow scikit-learn 1.2: learning_rate "auto" = max(N / 12 / 4, 50),
// momentum 0.5 then 0.8, gains +0.2 / x0.8 floored at 0.01, PCA initialisation scaled to
// standard deviation 1e-4, convergence checked every 50 iterations.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace cake::algorithms {

struct TSNEOptions {
  std::int64_t n_components = 2;       // 1..3 for barnes_hut
  double perplexity = 30.0;
  double early_exaggeration = 12.0;
  double learning_rate = -1.0;         // -1: "auto", max(N / early_exaggeration / 4, 50)
  std::int64_t n_iter = 1000;          // total iterations (scikit-learn 1.2's name; max_iter later)
  std::int64_t n_iter_without_progress = 300;
  double min_grad_norm = 1e-7;
  std::string metric = "euclidean";    // "euclidean" | "sqeuclidean" | "cosine" | "precomputed"
  std::string init = "pca";            // "pca" | "random"
  Tensor init_embedding = {};          // [N, n_components]: start here instead
  std::string method = "barnes_hut";   // "barnes_hut" | "exact"
  double angle = 0.5;                  // Barnes-Hut's theta
  std::optional<std::uint64_t> random_state = std::nullopt;
};

class TSNE {
 public:
  explicit TSNE(TSNEOptions options = {});

  TSNE& fit(const Tensor& X);
  Tensor fit_transform(const Tensor& X);   // [N, n_components], X's dtype

  const Tensor& embedding() const;
  double kl_divergence() const;            // KL(P || Q) at the last iteration
  // KL(P || Q) every 50 iterations (the first 250 with the exaggerated P, as scikit-learn's
  // verbose output), for curves.
  const std::vector<double>& kl_history() const;
  std::int64_t n_iter() const;             // iterations run (index of the last one, as scikit-learn)
  double learning_rate() const;            // the rate used (after "auto")
  const TSNEOptions& options() const { return options_; }

 private:
  void check_fitted(const char* who) const;
  TSNEOptions options_;
  Tensor embedding_;
  double kl_divergence_ = 0.0, learning_rate_ = 0.0;
  std::vector<double> kl_history_;
  std::int64_t n_iter_ = 0;
};

// The steps of t-SNE, exposed for tests and for other embeddings.
namespace tsne {

// A sparse symmetric matrix in compressed rows (the joint probabilities of Barnes-Hut t-SNE).
struct SparseMatrix {
  std::int64_t n = 0;
  std::vector<std::int64_t> row_start;  // n + 1
  std::vector<std::int64_t> column;
  std::vector<double> value;
};

// Conditional probabilities p_{j|i} (row-normalised) for the squared distances of every point
// to k others (rows of sq_dist [n x k]), with beta_i found by binary search so that the entropy
// is log(perplexity) within 1e-5 (at most 100 halvings), as scikit-learn's
// _binary_search_perplexity. When `skip_diagonal` (dense, k = n), entry (i, i) is left at 0.
std::vector<double> binary_search_perplexity(const std::vector<double>& sq_dist, std::int64_t n, std::int64_t k,
                                             double perplexity, bool skip_diagonal);

// Dense joint probabilities P [n x n] from all squared distances: (P + P^T) / sum, floored at
// DBL_EPSILON (scikit-learn's _joint_probabilities).
std::vector<double> joint_probabilities(const std::vector<double>& sq_dist, std::int64_t n, double perplexity);

// Sparse joint probabilities from each point's k nearest neighbours (indices [n x k] and their
// squared distances): (P + P^T) / sum (scikit-learn's _joint_probabilities_nn).
SparseMatrix joint_probabilities_nn(const std::vector<std::int64_t>& neighbors, const std::vector<double>& sq_dist,
                                    std::int64_t n, std::int64_t k, double perplexity);

// KL(P || Q) and its gradient (eq. 5) for the embedding y [n x dims], exactly (dense P, O(n^2)).
// The error is computed only when `compute_error`; returns it (NaN otherwise).
double kl_gradient_exact(const std::vector<double>& p, const std::vector<double>& y, std::int64_t n,
                         std::int64_t dims, double* grad, bool compute_error);

// The same with sparse P and the Barnes-Hut approximation of the repulsive forces (`angle` = 0
// is exact: every cell is opened down to single points).
double kl_gradient_barnes_hut(const SparseMatrix& p, const std::vector<double>& y, std::int64_t n,
                              std::int64_t dims, double angle, double* grad, bool compute_error);

}  // namespace tsne

}  // namespace cake::algorithms
