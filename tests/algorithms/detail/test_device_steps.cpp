// Tests for algorithms/detail/device_steps.h: each tensor-op step, run on CPU tensors, equals the
// CPU implementation it stands in for on a GPU: k-means assignments and centres (kmeans_steps.h),
// Gaussian-mixture responsibilities and log-likelihoods for all four covariance types
// (GaussianMixture::predict_proba / score_samples), PCA components up to sign and variances
// (PCA with the covariance solver), and the exact t-SNE gradient and KL (kl_gradient_exact).
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "cake/algorithms/cluster/kmeans_steps.h"
#include "cake/algorithms/decomposition/pca.h"
#include "cake/algorithms/detail/device_steps.h"
#include "cake/algorithms/manifold/tsne.h"
#include "cake/algorithms/mixture/gaussian_mixture.h"
#include "cake/autograd/ops.h"
#include "cake/tensor/creation.h"
#include "cake/tensor/random.h"

using namespace cake;
namespace steps = cake::algorithms::detail;

namespace {

// 0, 1, 2, 0, 1, 2, ... (n entries).
Tensor cycle3(std::int64_t n) {
  std::vector<std::int64_t> v(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) v[static_cast<std::size_t>(i)] = i % 3;
  return tensor(v, {n});
}

// Three separated blobs in `d` dimensions, 30 points each, float64.
Tensor blobs(std::int64_t d) {
  manual_seed(7);
  const Tensor centres = 6.0 * randn({3, d}, kFloat64);
  const Tensor labels = cycle3(90);
  return index_select(centres, 0, labels) + randn({90, d}, kFloat64);
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  return (a.to(kFloat64) - b.to(kFloat64)).abs().max().item<double>();
}

}  // namespace

TEST_CASE("k-means: one GEMM + min assigns as the CPU step; centre_means are the cluster means") {
  const Tensor x = blobs(5);
  const Tensor centres = index_select(x, 0, tensor(std::vector<std::int64_t>{0, 1, 2, 40}, {4}));
  double inertia = 0.0;
  const Tensor expected = cluster::kmeans::nearest_centers(x, centres, &inertia);
  const steps::NearestCentres got = steps::nearest_centres(x, centres);
  CHECK(equal(got.labels, expected));
  CHECK(got.sq_distances.sum().item<double>() == doctest::Approx(inertia).epsilon(1e-10));

  // Centre 3 is left empty by labelling every point 0..2: it must keep its position.
  const Tensor labels = cycle3(90);
  const Tensor moved = steps::centre_means(x, labels, centres);
  for (std::int64_t j = 0; j < 3; ++j) {
    const Tensor members = index_select(x, 0, arange(static_cast<double>(j), 90.0, 3.0, kInt64));
    CHECK(max_abs_diff(moved[j], members.mean(0)) < 1e-12);
  }
  CHECK(max_abs_diff(moved[3], centres[3]) == 0.0);
}

TEST_CASE("GMM E-step from GEMMs and log-sum-exp equals GaussianMixture for every covariance type") {
  const Tensor x = blobs(4);
  for (const char* type : {"full", "tied", "diag", "spherical"}) {
    CAPTURE(type);
    mixture::GaussianMixture gmm({.n_components = 3, .covariance_type = type, .random_state = 0});
    gmm.fit(x);
    const steps::LogResponsibilities got =
        steps::gmm_log_responsibilities(x, gmm.weights(), gmm.means(), gmm.precisions_cholesky(), type);
    CHECK(max_abs_diff(got.log_resp.exp(), gmm.predict_proba(x)) < 1e-10);
    CHECK(max_abs_diff(got.log_prob_norm, gmm.score_samples(x)) < 1e-9);
  }
  CHECK_THROWS_WITH_AS(steps::gmm_log_responsibilities(x, ones({3}, kFloat64) / 3.0, zeros({3, 4}, kFloat64),
                                                       ones({3}, kFloat64), "round"),
                       doctest::Contains("covariance_type"), cake::Error);
}

TEST_CASE("PCA from the covariance GEMM: components equal PCA's up to sign, variances equal") {
  const Tensor x = blobs(6);
  decomposition::PCA pca({.n_components = 3, .svd_solver = "covariance_eigh"});
  pca.fit(x);
  const steps::PrincipalAxes axes = steps::principal_axes(x, 3);
  const Tensor expected = pca.components().to(kFloat64);
  for (std::int64_t c = 0; c < 3; ++c) {
    CAPTURE(c);
    const double same = max_abs_diff(axes.components[c], expected[c]);
    const double flipped = max_abs_diff(axes.components[c], -expected[c]);
    CHECK(std::min(same, flipped) < 1e-9);
  }
  CHECK(max_abs_diff(axes.variances.narrow(0, 0, 3), pca.explained_variance()) < 1e-9);
  CHECK(max_abs_diff(axes.mean, x.mean(0)) < 1e-12);
}

TEST_CASE("exact t-SNE gradient in tensor ops equals kl_gradient_exact (2-D and 3-D embeddings)") {
  manual_seed(3);
  const std::int64_t n = 12;
  Tensor p = rand({n, n}, kFloat64) * (1.0 - eye(n, -1, kFloat64));
  p = p + p.t();
  p = p / p.sum();
  for (const std::int64_t dims : {2, 3}) {
    CAPTURE(dims);
    const Tensor y = randn({n, dims}, kFloat64);
    const Tensor pc = p.contiguous(), yc = y.contiguous();
    const std::vector<double> p_vec(pc.data_ptr<double>(), pc.data_ptr<double>() + n * n);
    const std::vector<double> y_vec(yc.data_ptr<double>(), yc.data_ptr<double>() + n * dims);
    std::vector<double> grad(static_cast<std::size_t>(n * dims));
    const double kl = manifold::tsne::kl_gradient_exact(p_vec, y_vec, n, dims, grad.data(), true);
    const steps::TsneGradient got = steps::tsne_exact_gradient(p, y);
    CHECK(max_abs_diff(got.gradient, tensor(grad, {n, dims})) < 1e-12);
    CHECK(got.kl.item<double>() == doctest::Approx(kl).epsilon(1e-12));
  }
}

TEST_CASE("k-means from KMeans's seeds with tensor-op Lloyd steps ends where KMeans (lloyd) ends") {
  const Tensor x = blobs(3).to(kFloat32);
  for (const char* init : {"k-means++", "random"}) {
    CAPTURE(init);
    const cluster::KMeansOptions options{.n_clusters = 3, .init = init, .n_init = 3, .random_state = 4, .algorithm = "lloyd"};
    cluster::KMeans reference(options);
    const Tensor labels = reference.fit_predict(x);
    const steps::LloydFit fit = steps::lloyd_kmeans_from_seeds(x, options);
    CHECK(equal(fit.labels, labels));
    CHECK(fit.inertia == doctest::Approx(reference.inertia()).epsilon(1e-5));
    CHECK(max_abs_diff(fit.centers, reference.cluster_centers()) < 1e-4);
  }
}
