// Tests for algorithms/mixture/gaussian_mixture.h: EM from fixed parameters reproduces scikit-learn 1.2
// iteration for iteration (all four covariance types), k-means initialisation reaches its
// likelihood, separated blobs are recovered, sampling, warm starts, float32, and errors.
#include <map>

#include "cake/algorithms/mixture/gaussian_mixture.h"
#include "algorithms/fixtures/classical_fixtures.h"
#include "algorithms/classical_helpers.h"

using namespace cake;
using namespace cake::algorithms;
using cake::testing::best_match_accuracy;
using cake::testing::check_close;
using cake::testing::int_values;
using cake::testing::matrix;
using cake::testing::values;
namespace fx = cake::testing::fixtures;

namespace {
struct ExpectedMixture {
  double lower_bound, n_iter, score, bic, aic;
  const std::vector<double>&means, &weights, &covariances, &score_samples_head;
};
const std::map<std::string, ExpectedMixture>& expected() {
  static const std::map<std::string, ExpectedMixture> table = {
      {"full", {fx::overlap_gmm_full_fixed_lower_bound, fx::overlap_gmm_full_fixed_n_iter, fx::overlap_gmm_full_fixed_score,
                fx::overlap_gmm_full_fixed_bic, fx::overlap_gmm_full_fixed_aic, fx::overlap_gmm_full_fixed_means,
                fx::overlap_gmm_full_fixed_weights, fx::overlap_gmm_full_fixed_covariances,
                fx::overlap_gmm_full_fixed_score_samples_head}},
      {"tied", {fx::overlap_gmm_tied_fixed_lower_bound, fx::overlap_gmm_tied_fixed_n_iter, fx::overlap_gmm_tied_fixed_score,
                fx::overlap_gmm_tied_fixed_bic, fx::overlap_gmm_tied_fixed_aic, fx::overlap_gmm_tied_fixed_means,
                fx::overlap_gmm_tied_fixed_weights, fx::overlap_gmm_tied_fixed_covariances,
                fx::overlap_gmm_tied_fixed_score_samples_head}},
      {"diag", {fx::overlap_gmm_diag_fixed_lower_bound, fx::overlap_gmm_diag_fixed_n_iter, fx::overlap_gmm_diag_fixed_score,
                fx::overlap_gmm_diag_fixed_bic, fx::overlap_gmm_diag_fixed_aic, fx::overlap_gmm_diag_fixed_means,
                fx::overlap_gmm_diag_fixed_weights, fx::overlap_gmm_diag_fixed_covariances,
                fx::overlap_gmm_diag_fixed_score_samples_head}},
      {"spherical", {fx::overlap_gmm_spherical_fixed_lower_bound, fx::overlap_gmm_spherical_fixed_n_iter,
                     fx::overlap_gmm_spherical_fixed_score, fx::overlap_gmm_spherical_fixed_bic,
                     fx::overlap_gmm_spherical_fixed_aic, fx::overlap_gmm_spherical_fixed_means,
                     fx::overlap_gmm_spherical_fixed_weights, fx::overlap_gmm_spherical_fixed_covariances,
                     fx::overlap_gmm_spherical_fixed_score_samples_head}},
  };
  return table;
}

Tensor precisions_init(const std::string& type) {
  if (type == "full") return (eye(5, -1, kFloat64) * 0.2).unsqueeze(0).expand({4, 5, 5}).contiguous();
  if (type == "tied") return eye(5, -1, kFloat64) * 0.2;
  if (type == "diag") return full({4, 5}, 0.2, kFloat64);
  return full({4}, 0.2, kFloat64);
}

void check_values(const Tensor& got, const std::vector<double>& want, double rtol, double atol) {
  const std::vector<double> g = values(got);
  REQUIRE(g.size() == want.size());
  for (std::size_t i = 0; i < g.size(); ++i) CHECK(g[i] == doctest::Approx(want[i]).epsilon(rtol).scale(atol / rtol));
}
}  // namespace

TEST_CASE("GaussianMixture from fixed parameters reproduces scikit-learn's EM") {
  const Tensor X = matrix(fx::overlap_x, 400, 5);
  for (const char* type : {"full", "tied", "diag", "spherical"}) {
    const std::string config = type;
    CAPTURE(config);
    const ExpectedMixture& e = expected().at(type);
    GaussianMixture gmm({.n_components = 4, .covariance_type = type, .tol = 1e-6, .max_iter = 200,
                         .weights_init = tensor(fx::overlap_gmm_weights_init), .means_init = matrix(fx::overlap_gmm_means_init, 4, 5),
                         .precisions_init = precisions_init(type)});
    gmm.fit(X);
    CHECK(gmm.converged());
    CHECK(gmm.n_iter() == static_cast<std::int64_t>(e.n_iter));
    CHECK(gmm.lower_bound() == doctest::Approx(e.lower_bound).epsilon(1e-10));
    CHECK(gmm.score(X) == doctest::Approx(e.score).epsilon(1e-10));
    CHECK(gmm.bic(X) == doctest::Approx(e.bic).epsilon(1e-10));
    CHECK(gmm.aic(X) == doctest::Approx(e.aic).epsilon(1e-10));
    check_values(gmm.means(), e.means, 1e-7, 1e-7);
    check_values(gmm.weights(), e.weights, 1e-7, 1e-9);
    check_values(gmm.covariances(), e.covariances, 1e-6, 1e-7);
    check_values(gmm.score_samples(X.narrow(0, 0, 5)), e.score_samples_head, 1e-9, 1e-9);
    // precisions = P P^T is the inverse of the covariance.
    if (std::string(type) == "full") {
      const Tensor product = matmul(gmm.precisions(), gmm.covariances());
      check_close(product, eye(5, -1, kFloat64).unsqueeze(0).expand({4, 5, 5}), 1e-8, 1e-8);
    }
  }
}

TEST_CASE("GaussianMixture from k-means reaches scikit-learn's likelihood") {
  const Tensor X = matrix(fx::overlap_x, 400, 5);
  const std::map<std::string, double> sklearn = {{"full", fx::overlap_gmm_full_kmeans_score},
                                                 {"tied", fx::overlap_gmm_tied_kmeans_score},
                                                 {"diag", fx::overlap_gmm_diag_kmeans_score},
                                                 {"spherical", fx::overlap_gmm_spherical_kmeans_score}};
  for (const auto& [type, score] : sklearn) {
    CAPTURE(type);
    GaussianMixture gmm({.n_components = 4, .covariance_type = type, .n_init = 5, .random_state = 0});
    gmm.fit(X);
    CHECK(gmm.score(X) >= score - 1e-3);  // mean log-likelihood per sample, nats
  }
}

TEST_CASE("GaussianMixture recovers separated blobs with every covariance type") {
  const Tensor X = matrix(fx::blobs_x, 300, 2);
  for (const char* type : {"full", "tied", "diag", "spherical"}) {
    for (const char* init : {"kmeans", "k-means++"}) {
      const std::string config = std::string(type) + " / " + init;
      CAPTURE(config);
      GaussianMixture gmm({.n_components = 3, .covariance_type = type, .n_init = 3, .init_params = init, .random_state = 1});
      const Tensor labels = gmm.fit_predict(X);
      CHECK(best_match_accuracy(fx::blobs_y, int_values(labels), 3) == 1.0);
      CHECK(equal(gmm.predict(X), labels));
      const Tensor proba = gmm.predict_proba(X);
      check_close(proba.sum({1}), ones({300}, kFloat64), 1e-12, 1e-12);
      check_close(gmm.weights(), full({3}, 1.0 / 3.0, kFloat64), 1e-3, 1e-3);
    }
  }
}

TEST_CASE("GaussianMixture: random initialisations reach the k-means likelihood with restarts") {
  // One random start often merges two blobs (as in scikit-learn); the best of ten does not.
  const Tensor X = matrix(fx::blobs_x, 300, 2);
  GaussianMixture reference({.n_components = 3, .covariance_type = "full", .random_state = 0});
  reference.fit(X);
  for (const char* init : {"random", "random_from_data"}) {
    CAPTURE(std::string(init));
    GaussianMixture gmm({.n_components = 3, .covariance_type = "full", .n_init = 10, .init_params = init, .random_state = 0});
    gmm.fit(X);
    CHECK(gmm.lower_bound() >= reference.lower_bound() - 1e-3);
  }
}

TEST_CASE("GaussianMixture: float32 data give the float64 answer; same seed, same answer") {
  const Tensor X = matrix(fx::overlap_x, 400, 5);
  GaussianMixture a({.n_components = 4, .covariance_type = "diag", .random_state = 3});
  GaussianMixture b({.n_components = 4, .covariance_type = "diag", .random_state = 3});
  a.fit(X);
  b.fit(X.to(kFloat32));
  CHECK(b.means().dtype() == kFloat64);
  CHECK(b.lower_bound() == doctest::Approx(a.lower_bound()).epsilon(1e-5));
  GaussianMixture c({.n_components = 4, .covariance_type = "diag", .random_state = 3});
  c.fit(X);
  CHECK(equal(a.means(), c.means()));
}

TEST_CASE("GaussianMixture: samples follow the fitted mixture") {
  const Tensor X = matrix(fx::blobs_x, 300, 2);
  for (const char* type : {"full", "tied", "diag", "spherical"}) {
    CAPTURE(type);
    GaussianMixture gmm({.n_components = 3, .covariance_type = type, .random_state = 0});
    gmm.fit(X);
    manual_seed(9);
    auto [samples, components] = gmm.sample(30000);
    CHECK(samples.sizes() == (Shape{30000, 2}));
    const auto comp = int_values(components);
    CHECK(std::is_sorted(comp.begin(), comp.end()));
    for (std::int64_t c = 0; c < 3; ++c) {
      const double count = static_cast<double>(std::count(comp.begin(), comp.end(), c));
      CHECK(count / 30000.0 == doctest::Approx(gmm.weights()[c].item<double>()).epsilon(0.05));
      std::int64_t first = std::find(comp.begin(), comp.end(), c) - comp.begin();
      const Tensor part = samples.narrow(0, first, static_cast<std::int64_t>(count));
      check_close(part.mean({0}), gmm.means()[c], 0, 0.06);
    }
    // The sampled data's likelihood under the model is close to the training data's.
    CHECK(gmm.score(samples) == doctest::Approx(gmm.score(X)).epsilon(0.05));
  }
}

TEST_CASE("GaussianMixture: warm_start continues from the previous fit") {
  const Tensor X = matrix(fx::overlap_x, 400, 5);
  GaussianMixture gmm({.n_components = 4, .covariance_type = "full", .random_state = 0, .warm_start = true});
  gmm.fit(X);
  const double first = gmm.lower_bound();
  gmm.fit(X);
  CHECK(gmm.n_iter() <= 2);
  CHECK(gmm.lower_bound() >= first - 1e-6);
}

TEST_CASE("GaussianMixture: bad input is refused with a clear message") {
  CHECK_THROWS_WITH_AS(GaussianMixture({.covariance_type = "banded"}), doctest::Contains("unknown covariance_type"), Error);
  CHECK_THROWS_WITH_AS(GaussianMixture({.init_params = "spectral"}), doctest::Contains("unknown init_params"), Error);
  CHECK_THROWS_WITH_AS(GaussianMixture({.reg_covar = -1}), doctest::Contains("reg_covar"), Error);
  CHECK_THROWS_WITH_AS(GaussianMixture({.n_components = 5}).fit(randn({3, 2})), doctest::Contains("at least 5 samples"), Error);
  // Two identical clusters of identical points: zero covariance without regularisation.
  Tensor collapsed = cat({zeros({10, 2}, kFloat64), ones({10, 2}, kFloat64)}, 0);
  CHECK_THROWS_WITH_AS(GaussianMixture({.n_components = 2, .reg_covar = 0.0, .random_state = 0}).fit(collapsed),
                       doctest::Contains("ill-defined empirical covariance"), Error);
  CHECK_NOTHROW(GaussianMixture({.n_components = 2, .random_state = 0}).fit(collapsed));  // reg_covar rescues it
  CHECK_THROWS_WITH_AS(GaussianMixture().predict(zeros({2, 2})), doctest::Contains("not fitted"), Error);
  CHECK_THROWS_WITH_AS(GaussianMixture({.n_components = 2, .means_init = zeros({3, 2})}).fit(randn({20, 2})),
                       doctest::Contains("means_init must have shape [2, 2]"), Error);
}
