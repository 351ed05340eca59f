// Tests for algorithms/cluster/kmeans.h and kmeans_steps.h: known answers on separated blobs, agreement
// with scikit-learn 1.2 (fixtures/classical_fixtures.h), Elkan == Lloyd, the naive references
// of the distance kernels, the empty-cluster policy, and the error messages.
#include <set>

#include "cake/algorithms/detail/common.h"
#include "cake/algorithms/cluster/kmeans.h"
#include "cake/algorithms/cluster/kmeans_steps.h"
#include "algorithms/fixtures/classical_fixtures.h"
#include "algorithms/classical_helpers.h"

using namespace cake;
using namespace cake::algorithms;
using cake::testing::best_match_accuracy;
using cake::testing::check_close;
using cake::testing::int_values;
using cake::testing::matrix;
namespace fx = cake::testing::fixtures;

namespace {
Tensor blobs(DType dtype = kFloat64) { return matrix(fx::blobs_x, 300, 2, dtype); }
Tensor overlap(DType dtype = kFloat64) { return matrix(fx::overlap_x, 400, 5, dtype); }
}  // namespace

TEST_CASE("distance blocks: small kernel and GEMM path match the naive loop") {
  manual_seed(0);
  // m <= 8 and 9 <= m <= 16 take the two widths of the few-centre kernel, m > 16 GEMM; rows
  // in blocks of eight and a remainder; d below and above a vector's width.
  for (std::int64_t m : {1, 3, 4, 7, 8, 9, 16, 17, 40})
    for (std::int64_t d : {1, 13, 50})
      for (std::int64_t n : {1, 5, 255, 257, 600}) {
        Tensor x = randn({n, d}, kFloat64), c = randn({m, d}, kFloat64);
        const double* xp = x.data_ptr<double>();
        const double* cp = c.data_ptr<double>();
        std::vector<double> xs(static_cast<std::size_t>(n)), cs(static_cast<std::size_t>(m));
        algorithms::detail::row_squared_norms(xp, n, d, xs.data());
        algorithms::detail::row_squared_norms(cp, m, d, cs.data());
        std::vector<double> got(static_cast<std::size_t>(n * m), -1.0);
        algorithms::detail::for_each_distance_block(xp, xs.data(), n, d, cp, cs.data(), m,
                                                    [&](int, std::int64_t lo, std::int64_t hi, const double* dist) {
                                                      std::copy(dist, dist + (hi - lo) * m, got.begin() + lo * m);
                                                    });
        for (std::int64_t i = 0; i < n; ++i)
          for (std::int64_t j = 0; j < m; ++j) {
            double ref = 0.0;
            for (std::int64_t f = 0; f < d; ++f) ref += (xp[i * d + f] - cp[j * d + f]) * (xp[i * d + f] - cp[j * d + f]);
            REQUIRE(got[static_cast<std::size_t>(i * m + j)] == doctest::Approx(ref).epsilon(1e-10).scale(1.0));
          }
      }
}

TEST_CASE("Lloyd step: labels, sums and counts match a naive assignment") {
  manual_seed(1);
  const std::int64_t n = 500, d = 6, k = 5;
  Tensor x = randn({n, d}, kFloat32);
  const float* xp = x.data_ptr<float>();
  cake::cluster::kmeans::Dataset<float> data(xp, n, d);
  std::vector<float> centers(xp, xp + k * d);
  cake::cluster::kmeans::Clustering<float> state(n, k, d, centers);
  cake::cluster::kmeans::LloydStep<float> step;
  CHECK(step.assign(data, state) == n);  // every label changed from -1
  std::vector<double> sums(static_cast<std::size_t>(k * d), 0.0);
  std::vector<std::int64_t> counts(static_cast<std::size_t>(k), 0);
  for (std::int64_t i = 0; i < n; ++i) {
    std::int64_t best = 0;
    double best_d = 1e300;
    for (std::int64_t j = 0; j < k; ++j) {
      double s = 0.0;
      for (std::int64_t f = 0; f < d; ++f) s += (double(xp[i * d + f]) - centers[static_cast<std::size_t>(j * d + f)]) * (double(xp[i * d + f]) - centers[static_cast<std::size_t>(j * d + f)]);
      if (s < best_d) best_d = s, best = j;
    }
    REQUIRE(state.labels[static_cast<std::size_t>(i)] == best);
    ++counts[static_cast<std::size_t>(best)];
    for (std::int64_t f = 0; f < d; ++f) sums[static_cast<std::size_t>(best * d + f)] += xp[i * d + f];
  }
  CHECK(state.counts == counts);
  for (std::size_t t = 0; t < sums.size(); ++t) CHECK(state.sums[t] == doctest::Approx(sums[t]).epsilon(1e-12));
  CHECK(step.assign(data, state) == 0);  // same centres: nothing moves
}

TEST_CASE("k-means++ seeds one centre per well-separated blob") {
  const Tensor X = blobs();
  cake::cluster::kmeans::Dataset<double> data(X.data_ptr<double>(), 300, 2);
  for (std::uint64_t seed = 0; seed < 5; ++seed) {
    manual_seed(seed);
    const std::vector<double> c = cake::cluster::kmeans::init_kmeans_plus_plus(data, 3);
    std::set<int> blob;
    for (int j = 0; j < 3; ++j) {
      const double cx = c[static_cast<std::size_t>(2 * j)], cy = c[static_cast<std::size_t>(2 * j + 1)];
      blob.insert(cy < 5.0 ? 0 : (cx > 0 ? 1 : 2));
    }
    CHECK(blob.size() == 3);
  }
}

TEST_CASE("k-means++ returns the rows it chose: centre c is row indices[c], the draws of init_kmeans_plus_plus") {
  const Tensor X = blobs();
  const double* x = X.data_ptr<double>();
  cake::cluster::kmeans::Dataset<double> data(x, 300, 2);
  for (std::uint64_t seed = 0; seed < 3; ++seed) {
    manual_seed(seed);
    const cluster::kmeans::Seeding<double> seeding = cluster::kmeans::kmeans_plus_plus(data, 4);
    manual_seed(seed);
    const std::vector<double> centers = cake::cluster::kmeans::init_kmeans_plus_plus(data, 4);
    CHECK(seeding.centers == centers);
    REQUIRE(seeding.indices.size() == 4);
    for (std::size_t c = 0; c < 4; ++c) {
      const std::int64_t row = seeding.indices[c];
      REQUIRE((row >= 0 && row < 300));
      CHECK(x[row * 2] == centers[2 * c]);
      CHECK(x[row * 2 + 1] == centers[2 * c + 1]);
    }
    CHECK(std::set<std::int64_t>(seeding.indices.begin(), seeding.indices.end()).size() == 4);
  }
}

TEST_CASE("KMeans recovers separated blobs exactly, float32 and float64, Lloyd and Elkan") {
  for (DType dtype : {kFloat64, kFloat32}) {
    for (const char* algorithm : {"lloyd", "elkan"}) {
      CAPTURE(algorithm);
      KMeans km({.n_clusters = 3, .n_init = 3, .random_state = 0, .algorithm = algorithm});
      const Tensor labels = km.fit_predict(blobs(dtype));
      CHECK(labels.dtype() == kInt64);
      CHECK(km.cluster_centers().dtype() == dtype);
      CHECK(best_match_accuracy(fx::blobs_y, int_values(labels), 3) == 1.0);
      // Centres land within a few standard errors (sigma 1, 100 points) of the true means.
      std::vector<double> c = testing::values(km.cluster_centers());
      std::set<int> found;
      for (int j = 0; j < 3; ++j) {
        const double cx = c[static_cast<std::size_t>(2 * j)], cy = c[static_cast<std::size_t>(2 * j + 1)];
        const double tx = cy < 5 ? 0.0 : (cx > 0 ? 10.0 : -10.0), ty = cy < 5 ? 0.0 : 10.0;
        CHECK(std::hypot(cx - tx, cy - ty) < 0.4);
        found.insert(static_cast<int>(tx));
      }
      CHECK(found.size() == 3);
      CHECK(km.inertia() > 0.0);
      CHECK(km.inertia() < 300 * 2 * 1.3);  // about N * D * sigma^2
    }
  }
}

TEST_CASE("KMeans: the same seed gives the same result; random init works too") {
  const Tensor X = overlap(kFloat32);
  KMeans a({.n_clusters = 4, .n_init = 2, .random_state = 7}), b({.n_clusters = 4, .n_init = 2, .random_state = 7});
  a.fit(X);
  b.fit(X);
  CHECK(equal(a.labels(), b.labels()));
  CHECK(equal(a.cluster_centers(), b.cluster_centers()));
  CHECK(a.inertia() == b.inertia());
  // random_state leaves the global stream alone; without it, manual_seed fixes the draws.
  manual_seed(3);
  const Tensor before = rand({4});
  manual_seed(3);
  KMeans({.n_clusters = 4, .random_state = 1}).fit(X);
  CHECK(equal(rand({4}), before));
  manual_seed(11);
  KMeans c({.n_clusters = 4, .init = "random", .n_init = 3});
  c.fit(X);
  manual_seed(11);
  KMeans d({.n_clusters = 4, .init = "random", .n_init = 3});
  d.fit(X);
  CHECK(equal(c.labels(), d.labels()));
}

TEST_CASE("KMeans from fixed centres matches scikit-learn step by step (Lloyd and Elkan)") {
  const Tensor init = matrix(fx::overlap_init4, 4, 5);
  for (const char* algorithm : {"lloyd", "elkan"}) {
    CAPTURE(algorithm);
    KMeans km({.n_clusters = 4, .init_centers = init, .tol = 1e-4, .algorithm = algorithm});
    km.fit(overlap());
    const bool lloyd = std::string(algorithm) == "lloyd";
    CHECK(km.n_iter() == static_cast<std::int64_t>(lloyd ? fx::overlap_fixed_lloyd_n_iter : fx::overlap_fixed_elkan_n_iter));
    CHECK(km.inertia() == doctest::Approx(lloyd ? fx::overlap_fixed_lloyd_inertia : fx::overlap_fixed_elkan_inertia).epsilon(1e-10));
    check_close(km.cluster_centers(), matrix(lloyd ? fx::overlap_fixed_lloyd_centers : fx::overlap_fixed_elkan_centers, 4, 5), 1e-9, 1e-9);
  }
}

TEST_CASE("KMeans with restarts reaches scikit-learn's inertia (within 0.1%)") {
  for (const char* algorithm : {"lloyd", "elkan"}) {
    KMeans km({.n_clusters = 4, .n_init = 10, .random_state = 0, .algorithm = algorithm});
    km.fit(overlap());
    CHECK(km.inertia() <= fx::overlap_kmeans4_inertia * 1.001);
  }
}

TEST_CASE("Elkan's step gives the same labels and centres as Lloyd's") {
  manual_seed(5);
  for (DType dtype : {kFloat64, kFloat32}) {
    const Tensor X = (randn({800, 8}, dtype) * 3.0) + randint(0, 6, {800, 1}).to(dtype) * 2.0;
    for (std::int64_t k : {2, 8, 20}) {
      CAPTURE(k);
      KMeans lloyd({.n_clusters = k, .n_init = 1, .tol = 0.0, .random_state = 42, .algorithm = "lloyd"});
      KMeans elkan({.n_clusters = k, .n_init = 1, .tol = 0.0, .random_state = 42, .algorithm = "elkan"});
      lloyd.fit(X);
      elkan.fit(X);
      CHECK(equal(lloyd.labels(), elkan.labels()));
      CHECK(lloyd.n_iter() == elkan.n_iter());
      check_close(elkan.cluster_centers(), lloyd.cluster_centers(), dtype == kFloat32 ? 1e-4 : 1e-10, 1e-5);
      CHECK(elkan.inertia() == doctest::Approx(lloyd.inertia()).epsilon(1e-6));
    }
  }
}

TEST_CASE("KMeans relocates an empty cluster to the farthest point") {
  // A starting centre far from all data receives no point in the first assignment.
  const Tensor X = blobs();
  const Tensor init = tensor({0.0, 0.0, 10.0, 10.0, 1e6, 1e6}, {3, 2}, kFloat64);
  for (const char* algorithm : {"lloyd", "elkan"}) {
    KMeans km({.n_clusters = 3, .init_centers = init, .algorithm = algorithm});
    km.fit(X);
    const auto labels = int_values(km.labels());
    for (std::int64_t j = 0; j < 3; ++j) CHECK(std::count(labels.begin(), labels.end(), j) > 0);
    CHECK(best_match_accuracy(fx::blobs_y, labels, 3) == 1.0);
    CHECK(km.cluster_centers().abs().max().item<double>() < 20.0);
  }
}

TEST_CASE("KMeans: predict, transform and score agree with the fit") {
  const Tensor X = overlap();
  KMeans km({.n_clusters = 4, .random_state = 0});
  const Tensor dist = km.fit_transform(X);
  CHECK(dist.sizes() == Shape{400, 4});
  CHECK(equal(km.predict(X), km.labels()));
  CHECK(equal(dist.argmin(1), km.labels()));
  CHECK(km.score(X) == doctest::Approx(-km.inertia()).epsilon(1e-10));
  // Distances to a centre are Euclidean: compare one entry with the direct formula.
  const Tensor diff = X[7] - km.cluster_centers()[2];
  CHECK(dist[7][2].item<double>() == doctest::Approx(std::sqrt((diff * diff).sum().item<double>())).epsilon(1e-9));
  // Non-contiguous input is accepted.
  CHECK(equal(km.predict(X.t().contiguous().t()), km.labels()));
}

TEST_CASE("KMeans: bad input is refused with a clear message") {
  CHECK_THROWS_WITH_AS(KMeans({.n_clusters = 0}), doctest::Contains("n_clusters"), Error);
  CHECK_THROWS_WITH_AS(KMeans({.algorithm = "fast"}), doctest::Contains("unknown algorithm"), Error);
  CHECK_THROWS_WITH_AS(KMeans({.init = "kmeans"}), doctest::Contains("unknown init"), Error);
  KMeans km({.n_clusters = 5});
  CHECK_THROWS_WITH_AS(km.fit(zeros({3, 2})), doctest::Contains("at least 5 samples"), Error);
  CHECK_THROWS_WITH_AS(km.fit(zeros({10})), doctest::Contains("2-D"), Error);
  CHECK_THROWS_WITH_AS(km.fit(zeros({10, 2}, kInt64)), doctest::Contains("int64"), Error);
  Tensor bad = zeros({10, 2});
  bad.data_ptr<float>()[3] = std::nanf("");
  CHECK_THROWS_WITH_AS(km.fit(bad), doctest::Contains("NaN"), Error);
  CHECK_THROWS_WITH_AS(km.predict(zeros({3, 2})), doctest::Contains("not fitted"), Error);
  km.fit(randn({20, 2}));
  CHECK_THROWS_WITH_AS(km.predict(zeros({3, 4})), doctest::Contains("expected 2 features"), Error);
  CHECK_THROWS_WITH_AS(KMeans({.n_clusters = 2, .init_centers = zeros({3, 2})}).fit(randn({20, 2})),
                       doctest::Contains("init_centers must have shape [2, 2]"), Error);
}

TEST_CASE("values whose squared distances overflow float32 are refused by every data_matrix user, not a crash") {
  // 1e19^2 = 1e38 and 4e38 > FLT_MAX: distances would be inf - inf = NaN, every run's inertia
  // NaN, and the best run never chosen (its centres were read from an empty vector).
  std::vector<float> v;
  for (int i = 0; i < 40; ++i) {
    v.push_back(i % 2 ? 1e19f : -1e19f);
    v.push_back(static_cast<float>(i));
  }
  const Tensor x = tensor(v, {40, 2});
  const std::string message = cake::testing::error_message([&] { KMeans({.n_clusters = 2}).fit(x); });
  CHECK(message.find("KMeans.fit") != std::string::npos);
  CHECK(message.find("rescale the data") != std::string::npos);
  CHECK(message.find("overflow float32") != std::string::npos);
  // The same values in float64 are far inside its range: fitted, two clusters found.
  KMeans km({.n_clusters = 2, .random_state = 0});
  const std::vector<std::int64_t> labels = int_values(km.fit_predict(x.to(kFloat64)));
  CHECK(std::isfinite(km.inertia()));
  CHECK(std::set<std::int64_t>(labels.begin(), labels.end()).size() == 2);
  // Just under the limit still runs in float32 (1e14 for 40 x 2).
  CHECK_NOTHROW(KMeans({.n_clusters = 2}).fit(x / 1e5));
}
