// device_steps.cpp: see device_steps.h. Every function is tensor operations only: no data_ptr,
// no host loop over samples, so each runs on whatever device its inputs are on.
#include "cake/algorithms/detail/device_steps.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <vector>

#include "cake/algorithms/cluster/kmeans_steps.h"
#include "cake/algorithms/detail/common.h"
#include "cake/autograd/grad_mode.h"
#include "cake/autograd/ops.h"
#include "cake/tensor/creation.h"
#include "cake/tensor/linalg.h"
#include "cake/tensor/native/linalg.h"
#include "cake/tensor/error.h"

namespace cake::algorithms::detail {

NearestCentres nearest_centres(const Tensor& x, const Tensor& centres) {
  CAKE_CHECK(x.dim() == 2 && centres.dim() == 2 && x.size(1) == centres.size(1),
             "nearest_centres: expected x [N, D] and centres [K, D], got ", x.shape(), " and ", centres.shape());
  NoGradGuard no_grad;
  // |x_i|^2 + |c_j|^2 - 2 x_i . c_j, the cross terms one GEMM, minimised over j (native::nearest_rows:
  // on CUDA the arg-min reads the GEMM's product once, without an [N, K] distance matrix).
  auto [nearest, labels] = native::nearest_rows(x.to(centres.dtype()), centres);
  return {labels, nearest};
}

Tensor centre_means(const Tensor& x, const Tensor& labels, const Tensor& centres) {
  NoGradGuard no_grad;
  const Tensor sums = index_add(zeros_like(centres), 0, labels, x);
  const Tensor counts = bincount(labels, {}, centres.size(0)).to(x.dtype()).unsqueeze(1);
  return where(counts > 0.0, sums / counts.clamp_min(1.0), centres);
}

LloydFit lloyd_kmeans_from_seeds(const Tensor& x_any, const cluster::KMeansOptions& options) {
  NoGradGuard no_grad;
  SeedScope seed(options.random_state);
  // As KMeans: the data centred on its column means (float64 means) before seeding, for the
  // precision of the GEMM distance form; the centres are shifted back at the end.
  // The classical suite's checks (finite, magnitudes that cannot overflow the distances) on
  // the CPU copy that the seeding needs anyway.
  const Tensor host = data_matrix(x_any, "kmeans (device)", options.n_clusters).to(kFloat32).contiguous();
  const std::int64_t n = host.size(0), d = host.size(1);
  const std::vector<double> column_mean = column_means(host.data_ptr<float>(), n, d);
  const Tensor centred = subtract_row<float>(host, column_mean);
  const cluster::kmeans::Dataset<float> data(centred.data_ptr<float>(), n, d);
  const double tol = cluster::kmeans::absolute_tolerance(data, options.tol);
  const Tensor offset = tensor(column_mean, {1, d}).to(x_any.device(), kFloat32);
  const Tensor x = x_any.to(kFloat32) - offset;
  LloydFit best;
  for (std::int64_t start = 0; start < options.n_init; ++start) {
    const std::vector<float> seeds = options.init == "random"
                                         ? cluster::kmeans::init_random(data, options.n_clusters)
                                         : cluster::kmeans::init_kmeans_plus_plus(data, options.n_clusters);
    Tensor centres = tensor(seeds, {options.n_clusters, data.d}).to(x.device());
    Tensor labels;
    NearestCentres nearest;
    std::int64_t iterations = 0;
    for (std::int64_t t = 1; t <= options.max_iter; ++t) {
      iterations = t;
      nearest = nearest_centres(x, centres);
      const bool unchanged = labels.defined() && equal(nearest.labels, labels);
      labels = nearest.labels;
      if (unchanged) break;
      const Tensor moved = centre_means(x, labels, centres);
      const double shift = ((moved - centres) * (moved - centres)).sum().item<double>();
      centres = moved;
      if (shift <= tol) {
        nearest = nearest_centres(x, centres);  // the labels of the final centres
        labels = nearest.labels;
        break;
      }
    }
    const double inertia = nearest.sq_distances.to(kFloat64).sum().item<double>();
    if (start == 0 || inertia < best.inertia) best = {labels.cpu(), (centres + offset).cpu(), inertia, iterations};
  }
  return best;
}

namespace {

// Every covariance type's Cholesky factors as K full [D, D] matrices (diagonal ones as
// diag(p) = I * p, tied ones broadcast), so one batched GEMM serves all four.
Tensor full_factors(const Tensor& pc, const std::string& type, std::int64_t k, std::int64_t d) {
  const Tensor identity = eye(d).to(pc.device(), pc.dtype());
  if (type == "full") return pc;                                    // [K, D, D]
  if (type == "tied") return pc.unsqueeze(0).expand({k, d, d});     // [D, D]
  if (type == "diag") return identity.unsqueeze(0) * pc.unsqueeze(1);  // [K, D] -> [K, D, D]
  if (type == "spherical") return identity.unsqueeze(0) * pc.reshape({k, 1, 1});
  CAKE_FAIL("gmm_log_responsibilities: covariance_type must be full, tied, diag or spherical, got '", type, "'");
}

}  // namespace

LogResponsibilities gmm_log_responsibilities(const Tensor& x, const Tensor& weights, const Tensor& means,
                                             const Tensor& precisions_cholesky, const std::string& covariance_type) {
  CAKE_CHECK(x.dim() == 2 && means.dim() == 2 && means.size(1) == x.size(1) && weights.numel() == means.size(0),
             "gmm_log_responsibilities: expected x [N, D], weights [K] and means [K, D], got ", x.shape(), ", ",
             weights.shape(), " and ", means.shape());
  NoGradGuard no_grad;
  const std::int64_t k = means.size(0), d = x.size(1);
  const Tensor p = full_factors(precisions_cholesky.to(x.device(), x.dtype()), covariance_type, k, d);  // [K, D, D]
  // log det P_k: the sum of the logs of its diagonal (P_k is triangular, or diagonal).
  const Tensor log_det = (p * eye(d).to(x.device(), x.dtype())).sum(Shape{2}).clamp_min(
      std::numeric_limits<double>::min()).log().sum(1);                                 // [K]
  // (x_i - mu_k)^T P_k = x_i^T P_k - mu_k^T P_k: [K, N, D] from one batched GEMM.
  const Tensor y = matmul(x.unsqueeze(0), p) - matmul(means.to(x.device(), x.dtype()).unsqueeze(1), p);
  const Tensor maha = (y * y).sum(Shape{2}).t();                                         // [N, K]
  const double log_2pi = std::log(2.0 * std::numbers::pi);
  const Tensor log_gauss = -0.5 * (static_cast<double>(d) * log_2pi + maha) + log_det.unsqueeze(0);
  const Tensor weighted = log_gauss + weights.to(x.device(), x.dtype()).log().unsqueeze(0);
  const Tensor norm = weighted.logsumexp(1);                                             // [N]
  return {weighted - norm.unsqueeze(1), norm};
}

PrincipalAxes principal_axes(const Tensor& x, std::int64_t n_components) {
  CAKE_CHECK(x.dim() == 2 && x.size(0) >= 2, "principal_axes: expected x [N, D] with N >= 2, got ", x.shape());
  const std::int64_t d = x.size(1);
  CAKE_CHECK(n_components >= 1 && n_components <= d, "principal_axes: n_components must be in [1, ", d, "], got ",
             n_components);
  NoGradGuard no_grad;
  const Tensor mean = x.mean(0);
  const Tensor centred = x - mean.unsqueeze(0);
  const Tensor cov = matmul(centred.t(), centred) / static_cast<double>(x.size(0) - 1);   // the GEMM, on x's device
  // The D x D eigenproblem in float64 on x's device (LAPACK on the CPU, cuSOLVER on CUDA):
  // float64 because the small variances at the tail of the spectrum are differences of large
  // sums. eigh returns ascending eigenvalues; the axes are wanted largest first.
  const linalg::EighResult eig = linalg::eigh(cov.to(kFloat64));
  const Tensor order = arange(static_cast<double>(d - 1), -1.0, -1.0, kInt64).to(x.device());
  const Tensor variances = index_select(eig.eigenvalues, 0, order).clamp_min(0.0).contiguous();
  Tensor axes = index_select(eig.eigenvectors, 1, order.narrow(0, 0, n_components)).t().contiguous();  // [k, D]
  // svd_flip: the largest-magnitude entry of each axis positive, so the sign is deterministic.
  const Tensor biggest = argmax(axes.abs(), 1, true);                                    // [k, 1]
  const Tensor sign = 1.0 - 2.0 * (gather(axes, 1, biggest) < 0.0).to(kFloat64);
  axes = axes * sign;
  // Only the D variances cross to the host (explained_variance and the noise variance read them).
  return {axes.to(x.dtype()), mean, variances.to(kCPU)};
}

TsneGradient tsne_exact_gradient(const Tensor& p, const Tensor& y) {
  CAKE_CHECK(y.dim() == 2 && p.dim() == 2 && p.size(0) == y.size(0) && p.size(1) == y.size(0),
             "tsne_exact_gradient: expected P [n, n] and y [n, dims], got ", p.shape(), " and ", y.shape());
  NoGradGuard no_grad;
  const std::int64_t n = y.size(0), dims = y.size(1);
  const double dof = std::max<double>(static_cast<double>(dims - 1), 1.0);
  const double eps = std::numeric_limits<double>::epsilon();
  const Tensor pp = p.to(y.device(), y.dtype());
  const Tensor y_sq = (y * y).sum(1, true);
  const Tensor d2 = (y_sq - 2.0 * matmul(y, y.t()) + y_sq.t()).clamp_min(0.0);       // [n, n]
  const Tensor off_diagonal = 1.0 - eye(n).to(y.device(), y.dtype());
  const Tensor w = (dof == 1.0 ? (1.0 + d2).reciprocal() : (1.0 + d2 / dof).pow(-(dof + 1.0) / 2.0)) * off_diagonal;
  const Tensor z = w.sum();
  const Tensor q = (w / z).clamp_min(eps);
  const Tensor m = (pp - q) * w;                          // the diagonal is 0 through w
  const double c = 2.0 * (dof + 1.0) / dof;
  const Tensor gradient = c * (m.sum(1, true) * y - matmul(m, y));
  // KL over the pairs i != j, p floored as in kl_gradient_exact.
  const Tensor kl = (pp * (pp.clamp_min(eps) / q).log() * off_diagonal).sum();
  return {gradient, kl};
}

}  // namespace cake::algorithms::detail
