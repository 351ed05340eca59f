// pca.h: principal component analysis of data sharded by rows over the ranks of a group.
//
//   auto group = cake::distributed::init_process_group();
//   auto shard = cake::distributed::shard_rows(X.size(0), group->rank(), group->world_size());
//   cake::distributed::PCAResult pca = cake::distributed::fit_pca(*group, X.narrow(0, shard.begin, shard.size()), 5);
//   cake::Tensor V = pca.components;                 // [5, D], the same on every rank
//
// The principal directions are the eigenvectors of the covariance C = X_c^T X_c / (N - 1) of
// the centred data (Pearson 1901; Jolliffe 2002, "Principal Component Analysis", ch. 1), and
// both the mean and the Gram matrix X_c^T X_c are sums over rows: each rank sums its own (in
// float64), one all-reduce each gives the totals, and every rank solves the same D x D
// eigenproblem. So the result is cake::decomposition::PCA's svd_solver="covariance_eigh" on
// the concatenated rows, with the same sign rule (scikit-learn's svd_flip: the largest entry of
// each component positive), up to the rounding of the sums. Memory and traffic: D x D doubles,
// whatever N is; for D in the thousands prefer fewer features first.
#pragma once

#include <cstdint>

#include "cake/distributed/process_group.h"

namespace cake::distributed {

struct PCAResult {
  Tensor components;          // [k, D] float64, unit rows, largest variance first
  Tensor explained_variance;  // [k] float64, eigenvalues of C
  Tensor explained_variance_ratio;  // [k] float64, of the total variance
  Tensor mean;                // [D] float64, over all ranks' rows
  double total_variance = 0.0;  // trace of C
  double noise_variance = 0.0;  // mean eigenvalue of the min(N, D) - k discarded directions (0 if none)
  std::int64_t n_samples = 0;
};

// Every rank calls it with its rows X_local [n_r, D]; 1 <= k <= D.
PCAResult fit_pca(ProcessGroup& group, const Tensor& X_local, std::int64_t n_components);

// The projection of this rank's rows onto the components, (X_local - mean) V^T [n_r, k] float64,
// each column divided by sqrt(explained variance) when `whiten` (as decomposition::PCA's
// transform). Local: no communication.
Tensor pca_transform(const PCAResult& pca, const Tensor& X_local, bool whiten = false);

}  // namespace cake::distributed
