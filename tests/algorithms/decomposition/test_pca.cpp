// Tests for algorithms/decomposition/pca.h: every solver against scikit-learn 1.2 on fixed data (components up
// to sign, explained variance), the sign convention, whitening, the inverse transform, float32,
// the automatic solver choice, DeepCluster's pca_whiten_l2, and the error messages.
#include "cake/algorithms/decomposition/pca.h"
#include "cake/tensor/linalg.h"
#include "algorithms/fixtures/classical_fixtures.h"
#include "algorithms/classical_helpers.h"

using namespace cake;
using namespace cake::algorithms;
using cake::testing::check_close;
using cake::testing::matrix;
using cake::testing::values;
namespace fx = cake::testing::fixtures;

namespace {
// Components equal up to the sign of each row.
void check_components(const Tensor& got, const std::vector<double>& expected, std::int64_t k, std::int64_t d, double tol) {
  REQUIRE(got.sizes() == (Shape{k, d}));
  const std::vector<double> g = values(got);
  for (std::int64_t i = 0; i < k; ++i) {
    double dot = 0.0;
    for (std::int64_t j = 0; j < d; ++j) dot += g[static_cast<std::size_t>(i * d + j)] * expected[static_cast<std::size_t>(i * d + j)];
    const double sign = dot < 0 ? -1.0 : 1.0;
    for (std::int64_t j = 0; j < d; ++j)
      CHECK(g[static_cast<std::size_t>(i * d + j)] * sign == doctest::Approx(expected[static_cast<std::size_t>(i * d + j)]).epsilon(tol).scale(1.0));
  }
}
void check_vector(const Tensor& got, const std::vector<double>& expected, double rtol) {
  const std::vector<double> g = values(got);
  REQUIRE(g.size() == expected.size());
  for (std::size_t i = 0; i < g.size(); ++i) CHECK(g[i] == doctest::Approx(expected[i]).epsilon(rtol));
}
}  // namespace

TEST_CASE("PCA full and covariance_eigh match scikit-learn's exact PCA") {
  const Tensor X = matrix(fx::aniso_x, 200, 8);
  for (const char* solver : {"full", "covariance_eigh"}) {
    CAPTURE(solver);
    PCA pca({.svd_solver = solver});
    pca.fit(X);
    CHECK(pca.solver_used() == solver);
    CHECK(pca.n_components() == 8);
    check_components(pca.components(), fx::aniso_components, 8, 8, 1e-7);
    check_vector(pca.explained_variance(), fx::aniso_explained_variance, 1e-9);
    check_vector(pca.explained_variance_ratio(), fx::aniso_explained_variance_ratio, 1e-9);
    check_vector(pca.singular_values(), fx::aniso_singular_values, 1e-9);
    PCA three({.n_components = 3, .svd_solver = solver});
    three.fit(X);
    CHECK(three.noise_variance() == doctest::Approx(fx::aniso_pca3_noise_variance).epsilon(1e-9));
  }
  PCA wide({.n_components = 10});
  wide.fit(matrix(fx::wide_x, 30, 50));
  CHECK(wide.solver_used() == "full");
  check_components(wide.components(), fx::wide_pca10_components, 10, 50, 1e-7);
  check_vector(wide.explained_variance(), fx::wide_pca10_explained_variance, 1e-9);
  check_vector(wide.explained_variance_ratio(), fx::wide_pca10_explained_variance_ratio, 1e-9);
}

TEST_CASE("singular_values_and_right_vectors: every layout gives linalg::svd's S and Vh") {
  manual_seed(3);
  // Tall (the QR path) given row-major, as the transposed view of a column-major buffer, and
  // with overwrite_input; wide (the plain SVD path). Vh rows agree up to sign.
  for (const auto& [m, n] : std::vector<std::pair<std::int64_t, std::int64_t>>{{300, 7}, {64, 32}, {9, 20}}) {
    CAPTURE(m);
    const Tensor x = randn({m, n}, kFloat64);
    const linalg::SvdResult reference = linalg::svd(x);
    const std::int64_t k = std::min(m, n);
    const Tensor column_major = x.t().contiguous().t();
    for (const auto& [input, overwrite] : std::vector<std::pair<Tensor, bool>>{
             {x, false}, {column_major, false}, {column_major.clone(), false}, {x.t().contiguous().t(), true}}) {
      const auto [s, vh] = linalg::singular_values_and_right_vectors(input, overwrite);
      check_vector(s, values(reference.S), 1e-10);
      check_components(vh, values(reference.Vh.narrow(0, 0, k)), k, n, 1e-8);
    }
    CHECK(values(x) == values(column_major));  // inputs without overwrite_input are left alone
  }
}

TEST_CASE("PCA randomized matches scikit-learn's randomized PCA, with every normaliser") {
  const Tensor X = matrix(fx::aniso_x, 200, 8);
  for (const char* normalizer : {"auto", "LU", "QR", "none"}) {
    CAPTURE(normalizer);
    PCA pca({.n_components = 3, .svd_solver = "randomized", .n_oversamples = 2, .power_iteration_normalizer = normalizer,
             .random_state = 0});
    pca.fit(X);
    check_components(pca.components(), fx::aniso_randomized3_components, 3, 8, 1e-6);
    check_vector(pca.explained_variance(), fx::aniso_randomized3_explained_variance, 1e-8);
    check_vector(pca.explained_variance_ratio(), fx::aniso_randomized3_explained_variance_ratio, 1e-8);
  }
}

TEST_CASE("PCA: the largest entry of every component is positive, whatever the solver") {
  manual_seed(2);
  const Tensor X = randn({300, 12}, kFloat64) * linspace(3.0, 0.5, 12, kFloat64);
  for (const char* solver : {"full", "covariance_eigh", "randomized"}) {
    PCA pca({.n_components = 4, .svd_solver = solver, .random_state = 0});
    pca.fit(X);
    for (std::int64_t i = 0; i < 4; ++i) {
      const Tensor row = pca.components()[i];
      const std::int64_t j = row.abs().argmax().item<std::int64_t>();
      CHECK(row[j].item<double>() > 0.0);
    }
  }
}

TEST_CASE("PCA: transform, whitening and inverse_transform") {
  const Tensor X = matrix(fx::aniso_x, 200, 8);
  PCA all;
  const Tensor Z = all.fit_transform(X);
  check_close(all.inverse_transform(Z), X, 1e-9, 1e-9);  // all components: lossless
  check_close(Z.mean({0}), zeros({8}, kFloat64), 0, 1e-9);
  check_close(Z.var({0}), all.explained_variance(), 1e-9, 1e-12);
  PCA white({.n_components = 3, .whiten = true});
  const Tensor W = white.fit_transform(X);
  check_close(W.var({0}), ones({3}, kFloat64), 1e-9, 1e-9);  // unit variance per component
  const Tensor cov = matmul(W.t(), W) / 199.0;
  check_close(cov, eye(3, -1, kFloat64), 1e-9, 1e-9);  // and uncorrelated
  // Reconstruction from 3 whitened components equals the plain 3-component reconstruction.
  PCA plain({.n_components = 3});
  check_close(white.inverse_transform(W), plain.inverse_transform(plain.fit_transform(X)), 1e-9, 1e-9);
  // The mean squared residual per discarded direction is the noise variance (times (N-1)/N).
  const Tensor residual = X - plain.inverse_transform(plain.transform(X));
  const double per_direction = (residual * residual).sum().item<double>() / 199.0 / 5.0;
  CHECK(per_direction == doctest::Approx(plain.noise_variance()).epsilon(1e-9));
}

TEST_CASE("PCA on float32 agrees with float64") {
  const Tensor X = matrix(fx::aniso_x, 200, 8);
  for (const char* solver : {"full", "covariance_eigh", "randomized"}) {
    PCA a({.n_components = 3, .svd_solver = solver, .random_state = 0}), b({.n_components = 3, .svd_solver = solver, .random_state = 0});
    a.fit(X);
    b.fit(X.to(kFloat32));
    CHECK(b.components().dtype() == kFloat32);
    CHECK(b.transform(X.to(kFloat32)).dtype() == kFloat32);
    check_close(b.components().to(kFloat64), a.components(), 1e-3, 1e-4);
    check_close(b.explained_variance(), a.explained_variance(), 1e-4, 1e-6);
  }
}

TEST_CASE("PCA auto chooses the solver by shape") {
  manual_seed(4);
  PCA tall({.n_components = 5});
  tall.fit(randn({500, 20}));
  CHECK(tall.solver_used() == "covariance_eigh");
  PCA small({.n_components = 5});
  small.fit(randn({100, 40}));
  CHECK(small.solver_used() == "full");
  PCA big({.n_components = 5, .random_state = 0});
  big.fit(randn({1200, 600}));
  CHECK(big.solver_used() == "randomized");
}

TEST_CASE("pca_whiten_l2: DeepCluster's preprocessing gives unit rows") {
  manual_seed(6);
  const Tensor F = randn({400, 32}) * linspace(4.0, 0.1, 32);
  const Tensor out = pca_whiten_l2(F, 16);
  CHECK(out.sizes() == (Shape{400, 16}));
  check_close(out.norm(2.0, {1}), ones({400}), 1e-5, 1e-5);
  PCA pca({.n_components = 16, .whiten = true});
  check_close(out, l2_normalize_rows(pca.fit_transform(F)), 1e-5, 1e-6);
  check_close(l2_normalize_rows(zeros({2, 3})), zeros({2, 3}));  // zero rows stay zero
}

TEST_CASE("PCA: bad input is refused") {
  CHECK_THROWS_WITH_AS(PCA({.svd_solver = "arpack"}), doctest::Contains("unknown svd_solver"), Error);
  CHECK_THROWS_WITH_AS(PCA({.n_components = 0}), doctest::Contains("n_components"), Error);
  CHECK_THROWS_WITH_AS(PCA({.n_components = 5}).fit(zeros({4, 3})), doctest::Contains("at most min(n_samples, n_features) = 3"), Error);
  CHECK_THROWS_WITH_AS(PCA().transform(zeros({4, 3})), doctest::Contains("not fitted"), Error);
  PCA pca({.n_components = 2});
  pca.fit(randn({10, 3}));
  CHECK_THROWS_WITH_AS(pca.transform(zeros({4, 5})), doctest::Contains("expected 3 features"), Error);
  CHECK_THROWS_WITH_AS(pca.inverse_transform(zeros({4, 3})), doctest::Contains("expected [N, 2]"), Error);
}
