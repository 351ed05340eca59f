// FastICA: three mixed sources (sine, square wave, sawtooth) are recovered up to sign, scale and
// order (|corr| > 0.99) by every contrast function, both algorithms and both whitening
// solvers; unit-variance sources; mixing inverts components; transform / inverse_transform.
#include "cake/algorithms/decomposition/fastica.h"
#include "algorithms/classical2_testing.h"

#include <cmath>

using namespace cake;
using namespace cake::algorithms;
using namespace cake::testing;

namespace {

// The sources of scikit-learn's "blind source separation" example, without the noise, and
// their mixture X = S A^T.
struct Mixture {
  Tensor sources, x;
};
Mixture make_mixture(std::int64_t n = 2000) {
  std::vector<double> s(static_cast<std::size_t>(n * 3)), x(static_cast<std::size_t>(n * 3));
  const double a[3][3] = {{1, 1, 1}, {0.5, 2, 1}, {1.5, 1, 2}};
  for (std::int64_t i = 0; i < n; ++i) {
    const double t = 8.0 * static_cast<double>(i) / static_cast<double>(n - 1);
    s[i * 3 + 0] = std::sin(2 * t);
    s[i * 3 + 1] = std::sin(3 * t) >= 0 ? 1.0 : -1.0;
    s[i * 3 + 2] = 2 * (t - std::floor(t)) - 1;  // sawtooth
    for (int r = 0; r < 3; ++r) x[i * 3 + r] = a[r][0] * s[i * 3] + a[r][1] * s[i * 3 + 1] + a[r][2] * s[i * 3 + 2];
  }
  return {tensor(s, {n, 3}, kFloat64), tensor(x, {n, 3}, kFloat64)};
}

double abs_correlation(const std::vector<double>& a, const std::vector<double>& b) {
  const double n = static_cast<double>(a.size());
  double ma = 0, mb = 0;
  for (std::size_t i = 0; i < a.size(); ++i) ma += a[i] / n, mb += b[i] / n;
  double sab = 0, saa = 0, sbb = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) * (a[i] - ma);
    sbb += (b[i] - mb) * (b[i] - mb);
  }
  return std::abs(sab) / std::sqrt(saa * sbb);
}

std::vector<double> column(const Tensor& m, std::int64_t j) { return values(m.select(1, j)); }

// Every true source has an estimated source with |corr| > threshold, one-to-one.
void check_recovered(const Tensor& estimated, const Tensor& truth, double threshold = 0.99) {
  REQUIRE(estimated.sizes() == truth.sizes());
  std::vector<bool> used(static_cast<std::size_t>(estimated.size(1)), false);
  for (std::int64_t i = 0; i < truth.size(1); ++i) {
    double best = 0;
    std::int64_t best_j = -1;
    for (std::int64_t j = 0; j < estimated.size(1); ++j) {
      const double c = abs_correlation(column(truth, i), column(estimated, j));
      if (!used[j] && c > best) best = c, best_j = j;
    }
    CAPTURE(i);
    CHECK(best > threshold);
    if (best_j >= 0) used[best_j] = true;
  }
}

}  // namespace

TEST_CASE("fastica: mixed sources are recovered by every contrast and both algorithms") {
  const Mixture m = make_mixture();
  for (ICAFunction fun : {ICAFunction::LogCosh, ICAFunction::Exp, ICAFunction::Cube}) {
    for (ICAAlgorithm algorithm : {ICAAlgorithm::Parallel, ICAAlgorithm::Deflation}) {
      CAPTURE(static_cast<int>(fun));
      CAPTURE(static_cast<int>(algorithm));
      FastICA ica({.n_components = 3, .algorithm = algorithm, .fun = fun, .max_iter = 400, .random_state = 0});
      const Tensor s = ica.fit_transform(m.x);
      check_recovered(s, m.sources);
      CHECK(ica.n_iter() < 400);  // converged
      // Unit variance sources.
      for (std::int64_t j = 0; j < 3; ++j) CHECK(s.select(1, j).var({}, false, 0).item<double>() == doctest::Approx(1.0));
    }
  }
}

TEST_CASE("fastica: whitening by eigh equals whitening by SVD; float32; logcosh alpha") {
  const Mixture m = make_mixture();
  FastICA by_svd({.n_components = 3, .random_state = 1});
  FastICA by_eigh({.n_components = 3, .whiten_solver = WhitenSolver::Eigh, .random_state = 1});
  const Tensor s1 = by_svd.fit_transform(m.x);
  const Tensor s2 = by_eigh.fit_transform(m.x);
  check_close(by_eigh.whitening(), by_svd.whitening(), 1e-6, 1e-8);
  check_close(s2, s1, 1e-5, 1e-6);
  FastICA single({.n_components = 3, .fun_alpha = 1.5, .random_state = 1});
  const Tensor s3 = single.fit_transform(m.x.to(kFloat32));
  CHECK(s3.dtype() == kFloat32);
  check_recovered(s3.to(kFloat64), m.sources);
}

TEST_CASE("fastica: mixing, transform, inverse_transform, whitening") {
  const Mixture m = make_mixture(1000);
  FastICA ica({.random_state = 2});
  const Tensor s = ica.fit_transform(m.x);
  CHECK(ica.components().sizes() == Shape{3, 3});
  CHECK(ica.mixing().sizes() == Shape{3, 3});
  // mixing is the inverse of components here (k = f).
  check_close(matmul_reference(ica.components(), ica.mixing()), eye(3, -1, kFloat64), 1e-9, 1e-9);
  check_close(ica.transform(m.x), s, 1e-9, 1e-9);
  check_close(ica.inverse_transform(s), m.x, 1e-9, 1e-9);
  // The whitened data K (x - mean) has identity covariance (times n).
  const Tensor centred = m.x - ica.mean().unsqueeze(0);
  const Tensor z = matmul_reference(centred, ica.whitening().t().contiguous());
  check_close(matmul_reference(z.t().contiguous(), z), eye(3, -1, kFloat64), 1e-9, 1e-9);

  // Fewer components than features: 2 of 3 directions.
  FastICA two({.n_components = 2, .random_state = 0});
  CHECK(two.fit_transform(m.x).sizes() == Shape{1000, 2});
  CHECK(two.mixing().sizes() == Shape{3, 2});
  // Same seed, same result.
  FastICA again({.n_components = 2, .random_state = 0});
  CHECK(equal(again.fit_transform(m.x), two.fit_transform(m.x)));
  // Without whitening the data is used as is (here already white enough to converge).
  FastICA raw({.whiten = ICAWhiten::None, .max_iter = 50, .random_state = 0});
  CHECK(raw.fit_transform(m.sources).sizes() == Shape{1000, 3});
}

TEST_CASE("fastica: errors") {
  CHECK_THROWS_AS(FastICA({.fun_alpha = 3.0}), Error);
  CHECK_THROWS_AS(FastICA({.tol = 0.0}), Error);
  CHECK_THROWS_AS(FastICA().fit(zeros({1, 3})), Error);
  CHECK_THROWS_AS(FastICA({.n_components = 2, .w_init = eye(3)}).fit(randn({50, 3})), Error);
  CHECK_THROWS_AS(FastICA().mixing(), Error);
  CHECK_THROWS_AS(parse_ica_function("tanh"), Error);
}

TEST_CASE("fastica: from scikit-learn's w_init, the same iterations and the same result") {
  namespace fx2 = classical2_fixtures;
  const Tensor x = matrix(fx2::ica_X, 3);
  const Tensor w_init = matrix(fx2::ica_w_init, 3);
  struct Case {
    ICAAlgorithm algorithm;
    ICAFunction fun;
    const std::vector<double>& components;
    const std::vector<double>& mixing;
    const std::vector<double>& head;
    std::int64_t n_iter;
  };
  const Case cases[] = {
      {ICAAlgorithm::Parallel, ICAFunction::LogCosh, fx2::ica_parallel_logcosh_components,
       fx2::ica_parallel_logcosh_mixing, fx2::ica_parallel_logcosh_sources_head, fx2::ica_parallel_logcosh_n_iter},
      {ICAAlgorithm::Deflation, ICAFunction::Exp, fx2::ica_deflation_exp_components, fx2::ica_deflation_exp_mixing,
       fx2::ica_deflation_exp_sources_head, fx2::ica_deflation_exp_n_iter},
      {ICAAlgorithm::Parallel, ICAFunction::Cube, fx2::ica_parallel_cube_components, fx2::ica_parallel_cube_mixing,
       fx2::ica_parallel_cube_sources_head, fx2::ica_parallel_cube_n_iter}};
  for (const Case& c : cases) {
    CAPTURE(static_cast<int>(c.fun));
    FastICA ica({.n_components = 3, .algorithm = c.algorithm, .fun = c.fun, .max_iter = 400, .tol = 1e-6,
                 .w_init = w_init});
    const Tensor s = ica.fit_transform(x);
    CHECK(ica.n_iter() == c.n_iter);
    check_close(ica.components(), matrix(c.components, 3), 1e-6, 1e-8);
    check_close(ica.mixing(), matrix(c.mixing, 3), 1e-6, 1e-8);
    check_close(s.narrow(0, 0, 5), matrix(c.head, 3), 1e-6, 1e-8);
  }
}
