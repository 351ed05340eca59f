// device_steps.h: the inner steps of k-means, Gaussian mixtures, PCA and exact t-SNE written
// with Cake tensor operations only (GEMMs, reductions, index_add), so the same code runs on the
// CPU or on a GPU (`cake run ... --device cuda`; docs/cuda.md, "Which commands run on --device
// cuda"). The CPU implementations beside them (kmeans_steps.h, gaussian_mixture.cpp, pca.cpp,
// tsne.cpp) stay what the CPU runs: raw-pointer loops there are faster than these tensor
// expressions, and their results do not change. tests/algorithms/detail/test_device_steps.cpp
// checks each step here against its CPU twin on CPU tensors; tests/cuda/test_algorithms_gpu.cpp
// checks the CUDA results against the CPU ones on a GPU.
//
//   auto [labels, sq] = cake::algorithms::detail::nearest_centres(x, centres);   // one GEMM + min
//   cake::Tensor moved = cake::algorithms::detail::centre_means(x, labels, centres);
#pragma once

#include <cstdint>
#include <string>

#include "cake/algorithms/cluster/kmeans.h"
#include "cake/tensor/tensor.h"

namespace cake::algorithms::detail {

// ---- k-means (Lloyd 1982) ------------------------------------------------------------------
// Each row of x [N, D] to its nearest centre [K, D]: all squared distances from one GEMM,
// |x_i - c_j|^2 = |x_i|^2 - 2 x_i . c_j + |c_j|^2 (clamped at 0 against cancellation), then a
// min over the centres (ties to the lower j). labels int64 [N], sq_distances [N] in x's dtype.
struct NearestCentres {
  Tensor labels;
  Tensor sq_distances;
};
NearestCentres nearest_centres(const Tensor& x, const Tensor& centres);

// The update step: centre j = mean of the rows labelled j (index_add of the rows, bincount of
// the labels); an empty cluster keeps its centre. Same device and dtype as x.
Tensor centre_means(const Tensor& x, const Tensor& labels, const Tensor& centres);

// k-means on x's device (`kmeans --device cuda`): for each of options.n_init starts, seeds drawn
// on the CPU (k-means++ or random: the routines and draws of KMeans), then Lloyd's steps above
// on the device until no label changes or the summed squared centre shift falls to tol x the
// mean feature variance (KMeans's rule). Elkan's pruning is CPU only, so options.algorithm is
// not used (both reach the same fixed point). Unlike KMeans, an empty cluster keeps its centre.
// The start with the lowest inertia wins; labels and centres come back on the CPU.
struct LloydFit {
  Tensor labels;   // int64 [N], CPU
  Tensor centers;  // float32 [K, D], CPU
  double inertia = 0.0;
  std::int64_t n_iter = 0;
};
LloydFit lloyd_kmeans_from_seeds(const Tensor& x, const cluster::KMeansOptions& options);

// ---- Gaussian mixture E-step (Bishop 2006, section 9.2.2, eq. 9.23) ------------------------
// log N(x_i | mu_k, Sigma_k) + log pi_k normalised over k by log-sum-exp: log gamma_ik [N, K],
// and log p(x_i) [N]. The precisions are given as scikit-learn's Cholesky factors P_k
// (Sigma_k^-1 = P_k P_k^T), shaped by covariance_type as GaussianMixture::precisions_cholesky():
// [K, D, D] "full", [D, D] "tied", [K, D] "diag", [K] "spherical". Then
//   log N(x | mu_k, Sigma_k) = -D/2 log 2 pi + log det P_k - |(x - mu_k)^T P_k|^2 / 2,
// and (x - mu_k)^T P_k for every i and k is one batched GEMM, x P_k - mu_k^T P_k.
struct LogResponsibilities {
  Tensor log_resp;      // [N, K]
  Tensor log_prob_norm; // [N], log p(x_i); its mean is the EM lower bound
};
LogResponsibilities gmm_log_responsibilities(const Tensor& x, const Tensor& weights, const Tensor& means,
                                             const Tensor& precisions_cholesky, const std::string& covariance_type);

// ---- PCA from the covariance (Hotelling 1933) ------------------------------------------------
// The covariance S = (X - mean)^T (X - mean) / (N - 1) as one GEMM on x's device, then its
// symmetric eigendecomposition in float64, also on x's device (linalg::eigh: LAPACK ?syevd on the
// CPU, cuSOLVER's syevd on CUDA), so only the D variances come back to the host. The n_components
// leading axes, largest variance first, each signed so that its largest-magnitude entry is
// positive (scikit-learn's svd_flip on V). components [k, D] and mean [D] on x's device in x's
// dtype; the variances (all D, descending, float64 on the CPU) for explained_variance and the
// noise variance.
struct PrincipalAxes {
  Tensor components;   // [k, D]
  Tensor mean;         // [D]
  Tensor variances;    // [D] float64, CPU, descending
};
PrincipalAxes principal_axes(const Tensor& x, std::int64_t n_components);

// ---- exact t-SNE gradient (van der Maaten & Hinton 2008, eq. 5) ------------------------------
// For P [n, n] (symmetric joint probabilities, zero diagonal) and the embedding y [n, dims]:
// w_ij = (1 + |y_i - y_j|^2 / dof)^(-(dof + 1) / 2) with dof = max(dims - 1, 1), q_ij = w_ij / Z,
// and dC/dy_i = (2 (dof + 1) / dof) sum_j (p_ij - q_ij) w_ij (y_i - y_j), written as
// c (diag(M 1) y - M y) with M = (P - Q) * W: two reductions and one GEMM. q is floored at
// DBL_EPSILON as tsne.cpp's kl_gradient_exact does, whose result this equals. Also returns
// KL(P || Q) (a 0-d tensor). Same device and dtype as y.
struct TsneGradient {
  Tensor gradient;  // [n, dims]
  Tensor kl;        // 0-d
};
TsneGradient tsne_exact_gradient(const Tensor& p, const Tensor& y);

}  // namespace cake::algorithms::detail
