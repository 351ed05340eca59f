// tsne.h: t-distributed stochastic neighbour embedding (van der Maaten & Hinton 2008) with
// scikit-learn's interface (sklearn.manifold.TSNE), exact, Barnes-Hut (van der Maaten 2014) and
// FFT-accelerated interpolation (FIt-SNE, Linderman et al. 2019).
//
//   cake::manifold::TSNE tsne({.perplexity = 30, .random_state = 0});
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
//
// method="fft" (FIt-SNE: Linderman, Rachh, Hoskins, Steinerberger & Kluger 2019, "Fast
// interpolation-based t-SNE for improved visualization of single-cell RNA-seq data", Nature
// Methods 16:243, Online Methods; the derivation and error bound in arXiv:1712.09005): P and the
// attractive forces as barnes_hut, the repulsive forces and Z (1-D and 2-D embeddings) as
// sums over all points of one smooth kernel K(y, z) = (1 + |y - z|^2)^-2 with d + 2 charges:
//     phi_c(y_i) = sum_j K(y_i, y_j) v_c(y_j),   v = (1, y_j (d coordinates), |y_j|^2),
//     repulsion_i = sum_j K (y_i - y_j) = y_i phi_1 - phi_y,
//     Z = sum_i [(1 + |y_i|^2) phi_1 - 2 y_i . phi_y + phi_|y|^2] - N,
// the last because (1 + |y - z|^2)^-1 = K(y, z) (1 + |y|^2 - 2 y.z + |z|^2) (the -N removes the
// i = j terms; Cake removes the interpolated self-terms instead, see tsne_fft.cpp). Each sum is
// a convolution, made cheap in three steps: the bounding box (a square in 2-D) is cut into
// max(min_num_intervals, extent / intervals_per_integer) intervals per dimension, each with
// n_interpolation_points equispaced Lagrange nodes, so that all nodes form one equispaced grid;
// every charge is spread onto the nodes of its point's interval with the Lagrange weights
// (interpolation of K in its second argument), the grid values are convolved with K at the node
// spacings (a Toeplitz product, done as a circular convolution of twice the length by FFT,
// detail/fft.h), and the potentials are interpolated back to the points with the same weights
// (K in its first argument). Cost O(N p^d + M^d log M) for p nodes per interval and M grid
// points per dimension, against Barnes-Hut's O(N log N): the grid's cost depends on the
// embedding's extent, not on N, so FFT pays off for large N only. Accuracy
// (tests/algorithms/manifold/test_tsne.cpp): relative error ~1e-4 of the forces when intervals are
// narrow (the minimum 50 over a small box), ~0.2% (norm) on clustered embeddings with intervals
// of width ~0.4, and up to ~10% on the force between an isolated close pair when intervals are
// as wide as the kernel (width 1, a sparse embedding); the error falls geometrically with
// n_interpolation_points.
// Defaults and schedule follow scikit-learn 1.2: learning_rate "auto" = max(N / 12 / 4, 50),
// momentum 0.5 then 0.8, gains +0.2 / x0.8 floored at 0.01, PCA initialisation scaled to
// standard deviation 1e-4, convergence checked every 50 iterations.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cake/tensor/tensor.h"

namespace cake::manifold {

struct TSNEOptions {
  std::int64_t n_components = 2;       // 1..3 for barnes_hut, 1..2 for fft
  double perplexity = 30.0;
  double early_exaggeration = 12.0;
  double learning_rate = -1.0;         // -1: "auto", max(N / early_exaggeration / 4, 50)
  std::int64_t n_iter = 1000;          // total iterations (scikit-learn 1.2's name; max_iter later)
  std::int64_t n_iter_without_progress = 300;
  double min_grad_norm = 1e-7;
  std::string metric = "euclidean";    // "euclidean" | "sqeuclidean" | "cosine" | "precomputed"
  std::string init = "pca";            // "pca" | "random"
  Tensor init_embedding = {};          // [N, n_components]: start here instead
  std::string method = "barnes_hut";   // "barnes_hut" | "exact" | "fft" (not in scikit-learn)
  double angle = 0.5;                  // Barnes-Hut's theta
  // method="fft": FIt-SNE's interpolation settings and defaults (see tsne::FftOptions).
  std::int64_t n_interpolation_points = 3;
  std::int64_t min_num_intervals = 50;
  double intervals_per_integer = 1.0;
  std::optional<std::uint64_t> random_state = std::nullopt;
  // Called after every gradient step with the 1-based iteration and n_iter (for a progress bar).
  std::function<void(std::int64_t iteration, std::int64_t n_iter)> on_iteration = nullptr;
  // method="exact": where the O(N^2) gradient (eq. 5) is computed. On a CUDA device each step
  // sends the embedding there, computes the gradient and KL in tensor operations
  // (algorithms/detail/device_steps.h) and brings the gradient back; the O(N) optimiser stays on
  // the CPU. Ignored by the other methods (their trees and grids are CPU code).
  Device device = kCPU;
};

// Limits on the FFT grid (method="fft"): at most this many intervals per dimension times
// interpolation points, so a grid never exceeds ~3000^2 complex values (~144 MB) per transform
// in 2-D; larger settings are refused by TSNE's constructor rather than run for minutes.
inline constexpr std::int64_t kTsneFftMaxNodes2d = 1500;
inline constexpr std::int64_t kTsneFftMaxNodes1d = 300000;

// The optimisation stops with a cake::Error naming the iteration as soon as the embedding or
// the KL divergence becomes non-finite (a learning rate far too large), instead of writing an
// embedding of NaN.
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

// The gradient (eq. 5) and KL(P || Q) from the repulsive forces of an approximation, the step
// Barnes-Hut and FFT share: the attractive half sum_j p_ij w_ij (y_i - y_j) exactly over the
// sparse P, then dC/dy_i = 4 (attraction_i - repulsion_i / Z) for the given
// repulsion [n x dims] = sum_j w_ij^2 (y_i - y_j) and Z = sum_{i != j} w_ij, where
// w_ij = (1 + |y_i - y_j|^2)^-1 (the Student t with dof = dims - 1 for dims = 3, as Barnes-Hut).
double kl_gradient_from_repulsion(const SparseMatrix& p, const std::vector<double>& y, std::int64_t n,
                                  std::int64_t dims, const double* repulsion, double z, double* grad,
                                  bool compute_error);

// The interpolation of the FFT gradient, FIt-SNE's names and defaults. The grid has
// intervals = max(min_num_intervals, extent / intervals_per_integer) intervals per dimension
// (FIt-SNE's formula: with the default 1, one interval per unit of the embedding's extent),
// rounded up to a length the FFT takes, each with n_interpolation_points nodes.
struct FftOptions {
  std::int64_t n_interpolation_points = 3;
  std::int64_t min_num_intervals = 50;
  double intervals_per_integer = 1.0;
};

// What the FFT gradient keeps from one call to the next: its grids, per-point interpolation
// weights and FFT plans, so that an optimisation allocates only when the grid grows. One
// workspace serves one caller at a time.
class FftWorkspace {
 public:
  FftWorkspace();
  ~FftWorkspace();
  FftWorkspace(FftWorkspace&&) noexcept;
  FftWorkspace& operator=(FftWorkspace&&) noexcept;

  struct State;  // defined in tsne_fft.cpp
  State& state() { return *state_; }

 private:
  std::unique_ptr<State> state_;
};

// KL(P || Q) and its gradient with sparse P and the repulsive forces and Z by FFT-accelerated
// interpolation (FIt-SNE, see the header comment), for dims 1 and 2. The error is computed only
// when `compute_error`; returns it (NaN otherwise). The second form uses a temporary workspace.
double kl_gradient_fft(const SparseMatrix& p, const std::vector<double>& y, std::int64_t n, std::int64_t dims,
                       const FftOptions& options, double* grad, bool compute_error, FftWorkspace& workspace);
double kl_gradient_fft(const SparseMatrix& p, const std::vector<double>& y, std::int64_t n, std::int64_t dims,
                       const FftOptions& options, double* grad, bool compute_error);

}  // namespace tsne

}  // namespace cake::manifold

// Compatibility: the spellings from before algorithms/ was split into family namespaces
// (docs/architecture.md, "The algorithms: families and namespaces"). They name the same
// entities; new code uses cake::manifold.
namespace cake::algorithms {
using ::cake::manifold::TSNEOptions;
using ::cake::manifold::TSNE;
namespace tsne {
using ::cake::manifold::tsne::SparseMatrix;
using ::cake::manifold::tsne::binary_search_perplexity;
using ::cake::manifold::tsne::joint_probabilities;
using ::cake::manifold::tsne::joint_probabilities_nn;
using ::cake::manifold::tsne::kl_gradient_exact;
using ::cake::manifold::tsne::kl_gradient_barnes_hut;
using ::cake::manifold::tsne::kl_gradient_from_repulsion;
using ::cake::manifold::tsne::FftOptions;
using ::cake::manifold::tsne::FftWorkspace;
using ::cake::manifold::tsne::kl_gradient_fft;
}  // namespace tsne
}  // namespace cake::algorithms
