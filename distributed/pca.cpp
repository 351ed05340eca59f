// pca.cpp: PCA over row shards: the mean and the Gram matrix all-reduced, one eigenproblem.
#include "cake/distributed/pca.h"

#include <algorithm>
#include <cmath>

#include "cake/autograd/ops.h"
#include "cake/tensor/creation.h"
#include "cake/tensor/linalg.h"

namespace cake::distributed {

PCAResult fit_pca(ProcessGroup& group, const Tensor& X_local, std::int64_t n_components) {
  CAKE_CHECK(X_local.defined() && X_local.dim() == 2, "distributed PCA: expected a matrix [rows, features], got shape ",
             X_local.defined() ? X_local.sizes() : Shape{});
  const Tensor X = X_local.detach().cpu().to(kFloat64).contiguous();
  const std::int64_t d = X.size(1);
  CAKE_CHECK(n_components >= 1 && n_components <= d, "distributed PCA: n_components must be in [1, ", d, "], got ",
             n_components);
  // The column sums and the row count, then the mean, over all ranks.
  Tensor sums = cat({X.sum(0), full({1}, static_cast<double>(X.size(0)), kFloat64)}, 0);
  group.all_reduce(sums, ReduceOp::Sum);
  const std::int64_t n = static_cast<std::int64_t>(sums[d].item<double>());
  CAKE_CHECK(n >= 2, "distributed PCA: needs at least 2 rows over all ranks, got ", n);
  PCAResult result;
  result.n_samples = n;
  result.mean = sums.narrow(0, 0, d) / static_cast<double>(n);
  // C = sum_r X_c,r^T X_c,r / (N - 1): each rank centres by the global mean.
  const Tensor centred = X - result.mean;
  Tensor gram = matmul(centred.t(), centred).contiguous();
  group.all_reduce(gram, ReduceOp::Sum);
  const linalg::EighResult eig = linalg::eigh(gram / static_cast<double>(n - 1));  // ascending
  const Tensor values = eig.eigenvalues.contiguous(), vectors = eig.eigenvectors.contiguous();
  result.components = empty({n_components, d}, kFloat64);
  result.explained_variance = empty({n_components}, kFloat64);
  const double* w = values.data_ptr<double>();
  const double* v = vectors.data_ptr<double>();  // eigenvectors in columns
  double* comp = result.components.data_ptr<double>();
  for (std::int64_t i = 0; i < n_components; ++i) {
    const std::int64_t col = d - 1 - i;  // largest first
    result.explained_variance.data_ptr<double>()[i] = std::max(w[col], 0.0);  // rounding can dip below 0
    double* row = comp + i * d;
    for (std::int64_t j = 0; j < d; ++j) row[j] = v[j * d + col];
    // svd_flip: the entry of largest magnitude positive.
    const std::int64_t big = std::max_element(row, row + d, [](double a, double b) { return std::abs(a) < std::abs(b); }) - row;
    if (row[big] < 0)
      for (std::int64_t j = 0; j < d; ++j) row[j] = -row[j];
  }
  // The variance left out: scikit-learn's total variance and noise variance over the
  // min(N, D) directions the data can span.
  for (std::int64_t i = 0; i < d; ++i) result.total_variance += std::max(w[i], 0.0);
  const std::int64_t r = std::min(n, d);
  double rest = 0.0;
  for (std::int64_t i = n_components; i < r; ++i) rest += std::max(w[d - 1 - i], 0.0);
  result.noise_variance = n_components < r ? rest / static_cast<double>(r - n_components) : 0.0;
  result.explained_variance_ratio = result.total_variance > 0.0 ? result.explained_variance / result.total_variance
                                                                 : zeros({n_components}, kFloat64);
  return result;
}

Tensor pca_transform(const PCAResult& pca, const Tensor& X_local, bool whiten) {
  CAKE_CHECK(pca.components.defined(), "distributed PCA transform: the PCAResult holds no components (call fit_pca first)");
  const std::int64_t d = pca.components.size(1);
  CAKE_CHECK(X_local.defined() && X_local.dim() == 2 && X_local.size(1) == d, "distributed PCA transform: expected [rows, ",
             d, "], got shape ", X_local.defined() ? X_local.sizes() : Shape{});
  const Tensor X = X_local.detach().cpu().to(kFloat64);
  Tensor z = matmul(X - pca.mean, pca.components.t());
  if (whiten) {
    // Directions of zero variance project to 0, as in decomposition::PCA.
    const Tensor ev = pca.explained_variance.contiguous();
    Tensor scale = empty({ev.size(0)}, kFloat64);
    for (std::int64_t j = 0; j < ev.size(0); ++j) {
      const double v = ev.data_ptr<double>()[j];
      scale.data_ptr<double>()[j] = v > 0.0 ? 1.0 / std::sqrt(v) : 0.0;
    }
    z = z * scale;
  }
  return z.contiguous();
}

}  // namespace cake::distributed
