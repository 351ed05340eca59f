// pca.h: principal component analysis with scikit-learn's interface (sklearn.decomposition.PCA).
//
//   cake::decomposition::PCA pca({.n_components = 50});
//   cake::Tensor Z = pca.fit_transform(X);              // X [N, D] -> Z [N, 50], X's dtype
//   cake::Tensor ratio = pca.explained_variance_ratio(); // [50] float64
//   cake::Tensor Xr = pca.inverse_transform(Z);          // back to [N, D]
//   // DeepCluster's preprocessing: PCA-whitening to 256 dimensions, then unit rows.
//   cake::Tensor F = cake::decomposition::pca_whiten_l2(features, 256);
//
// The principal directions of centred data X_c = X - mean are the right singular vectors of
// X_c = U S V^T, equivalently the eigenvectors of the covariance C = X_c^T X_c / (N - 1) =
// V (S^2 / (N - 1)) V^T (Pearson 1901; Jolliffe 2002, "Principal Component Analysis", ch. 1).
// Projections are Z = X_c V_k; with whiten, Z = X_c V_k diag(S_k)^-1 sqrt(N - 1), so every
// output column has unit variance.
//
// svd_solver picks how V is found:
//   "full"            thin SVD of X_c (LAPACK gesdd), O(N D min(N, D));
//   "covariance_eigh" eigendecomposition of the D x D covariance (LAPACK syevd), O(N D^2 + D^3):
//                     far cheaper when N >> D, at the price of squaring the condition number
//                     (small singular values lose relative precision);
//   "randomized"      Halko, Martinsson & Tropp 2011 ("Finding structure with randomness",
//                     Algorithms 4.3/4.4 and 5.1): a Gaussian sketch of the range, q power
//                     iterations each normalised by an LU (or QR) step, then the small SVD;
//                     O(N D (k + p) q), approximate;
//   "auto"            scikit-learn 1.5's rule: covariance_eigh when D <= 1000 and N >= 10 D;
//                     otherwise full when max(N, D) <= 500 or k >= 0.8 min(N, D); else
//                     randomized.
// Signs follow scikit-learn's svd_flip on the components (the largest-magnitude entry of each
// component is positive), so results do not depend on the solver or the LAPACK build.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "cake/tensor/tensor.h"

namespace cake::decomposition {

struct PCAOptions {
  std::int64_t n_components = -1;  // -1: min(N, D)
  bool whiten = false;
  std::string svd_solver = "auto";  // "auto" | "full" | "covariance_eigh" | "randomized"
  std::int64_t iterated_power = -1;  // randomized: power iterations; -1: 7 if k < 0.1 min(N, D) else 4
  std::int64_t n_oversamples = 10;   // randomized: extra sketch columns p
  std::string power_iteration_normalizer = "auto";  // "auto" (LU, or none for <= 2 iterations) | "QR" | "LU" | "none"
  std::optional<std::uint64_t> random_state = std::nullopt;
};

class PCA {
 public:
  explicit PCA(PCAOptions options = {});

  PCA& fit(const Tensor& X);
  Tensor fit_transform(const Tensor& X);
  Tensor transform(const Tensor& X) const;          // [N, k], X's dtype
  Tensor inverse_transform(const Tensor& Z) const;  // [N, D]

  const Tensor& components() const;                // [k, D], rows are unit principal directions
  const Tensor& explained_variance() const;        // [k] float64, S^2 / (N - 1)
  const Tensor& explained_variance_ratio() const;  // [k] float64, of the total variance
  const Tensor& singular_values() const;           // [k] float64
  const Tensor& mean() const;                      // [D], X's dtype
  double noise_variance() const;                   // mean variance of the discarded directions
  std::int64_t n_components() const;
  std::int64_t n_samples() const { return n_samples_; }
  const std::string& solver_used() const { return solver_; }  // what "auto" chose
  const PCAOptions& options() const { return options_; }

 private:
  void check_fitted(const char* who) const;
  PCAOptions options_;
  Tensor components_, explained_variance_, explained_variance_ratio_, singular_values_, mean_;
  double noise_variance_ = 0.0;
  std::int64_t n_samples_ = 0, n_features_ = 0;
  std::string solver_;
};

// PCA to `dim` dimensions with whitening, then every row scaled to unit Euclidean norm:
// DeepCluster's preprocessing of CNN features before k-means (Caron et al. 2018, section 3.2).
// Equivalent to PCA({.n_components = dim, .whiten = true}).fit_transform(X) followed by
// l2_normalize_rows.
Tensor pca_whiten_l2(const Tensor& X, std::int64_t dim, std::optional<std::uint64_t> random_state = std::nullopt);
// Each row divided by its Euclidean norm (rows of zeros stay zero).
Tensor l2_normalize_rows(const Tensor& X);

}  // namespace cake::decomposition

// Compatibility: the spellings from before algorithms/ was split into family namespaces
// (docs/architecture.md, "The algorithms: families and namespaces"). They name the same
// entities; new code uses cake::decomposition.
namespace cake::algorithms {
using ::cake::decomposition::PCAOptions;
using ::cake::decomposition::PCA;
using ::cake::decomposition::pca_whiten_l2;
using ::cake::decomposition::l2_normalize_rows;
}  // namespace cake::algorithms
