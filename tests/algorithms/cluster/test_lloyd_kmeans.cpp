// Tests for algorithms/cluster/lloyd_kmeans.h, the teaching k-means: a known answer, agreement
// with the fast KMeans from the same initial centres, restarts, the objective's monotone descent,
// and the error messages.
#include <set>

#include "algorithms/classical_helpers.h"
#include "cake/algorithms/cluster/kmeans.h"
#include "cake/algorithms/cluster/lloyd_kmeans.h"

using namespace cake;
using cake::cluster::KMeans;
using cake::cluster::LloydKMeans;
using cake::testing::check_close;
using cake::testing::error_message;
using cake::testing::int_values;
using cake::testing::matrix;

TEST_CASE("LloydKMeans: three separated groups give their means, labels and inertia") {
  // Groups around (0, 0), (10, 0), (0, 10); the centres must end at the group means and the
  // inertia be the sum of squared distances to them (worked out by hand below).
  const Tensor x = matrix({0, 0, 1, 0, 0, 1,  //
                           10, 0, 11, 0, 10, 1,  //
                           0, 10, 1, 10, 0, 11},
                          9, 2);
  LloydKMeans km({.n_clusters = 3, .init_centers = matrix({0, 0, 10, 0, 0, 10}, 3, 2)});
  const std::vector<std::int64_t> labels = int_values(km.fit_predict(x));
  CHECK(labels == std::vector<std::int64_t>{0, 0, 0, 1, 1, 1, 2, 2, 2});
  const double third = 1.0 / 3.0;
  check_close(km.cluster_centers(), matrix({third, third, 10 + third, third, third, 10 + third}, 3, 2), 1e-12, 1e-12);
  // Per group: |(-1/3, -1/3)|^2 + |(2/3, -1/3)|^2 + |(-1/3, 2/3)|^2 = 2/9 + 5/9 + 5/9 = 4/3.
  CHECK(km.inertia() == doctest::Approx(3 * 4.0 / 3.0).epsilon(1e-12));
  CHECK(km.n_iter() == 2);  // the second assignment changes nothing
  CHECK(int_values(km.predict(matrix({1, 8, 12, -1}, 2, 2))) == std::vector<std::int64_t>{2, 1});
}

TEST_CASE("LloydKMeans agrees with the fast KMeans from the same initial centres") {
  manual_seed(7);
  for (const DType dtype : {kFloat64, kFloat32}) {
    // Four loose groups in 5 dimensions, so the loop needs several iterations.
    const Tensor offsets = randn({4, 5}, kFloat64) * 3.0;
    const Tensor x = (randn({400, 5}, kFloat64) + index_select(offsets, 0, randint(0, 4, {400}))).to(dtype);
    const Tensor start = x.narrow(0, 0, 4).clone();
    LloydKMeans teaching({.n_clusters = 4, .init_centers = start});
    KMeans fast({.n_clusters = 4, .init_centers = start, .n_init = 1, .tol = 0.0, .algorithm = "lloyd"});
    const Tensor a = teaching.fit_predict(x), b = fast.fit_predict(x);
    CHECK(int_values(a) == int_values(b));
    const double tol = dtype == kFloat64 ? 1e-9 : 1e-4;
    check_close(teaching.cluster_centers(), fast.cluster_centers(), tol, tol);
    CHECK(teaching.inertia() == doctest::Approx(fast.inertia()).epsilon(tol));
    CHECK(teaching.n_iter() > 1);
  }
}

TEST_CASE("LloydKMeans: the objective never rises, restarts keep the best, random_state fixes the result") {
  manual_seed(3);
  const Tensor x = randn({300, 3}, kFloat64);
  LloydKMeans one({.n_clusters = 6, .random_state = 11});
  one.fit(x);
  const std::vector<double>& history = one.inertia_history();
  REQUIRE(!history.empty());
  for (std::size_t i = 1; i < history.size(); ++i) CHECK(history[i] <= history[i - 1] + 1e-9);
  CHECK(one.inertia() <= history.back() + 1e-9);

  LloydKMeans again({.n_clusters = 6, .random_state = 11});
  CHECK(int_values(again.fit_predict(x)) == int_values(one.labels()));

  std::set<std::int64_t> restarts;
  LloydKMeans many({.n_clusters = 6, .n_init = 5, .random_state = 11});
  many.on_iteration = [&](const cluster::LloydIteration& it) { restarts.insert(it.restart); };
  many.fit(x);
  CHECK(restarts.size() == 5);
  CHECK(many.inertia() <= one.inertia() + 1e-9);  // the first start is `one`'s, the best is kept
}

TEST_CASE("LloydKMeans: clear errors") {
  const Tensor x = matrix({0, 1, 2, 3}, 2, 2);
  CHECK(error_message([&] { LloydKMeans({.n_clusters = 3}).fit(x); }).find("between 1 and the number of samples (2)") !=
        std::string::npos);
  CHECK(error_message([&] { LloydKMeans({.n_clusters = 1}).predict(x); }).find("not fitted") != std::string::npos);
  CHECK(error_message([&] { LloydKMeans({.n_clusters = 2, .init_centers = matrix({0, 1, 2}, 1, 3)}).fit(x); })
            .find("init_centers must be [n_clusters, features] = [2, 2]") != std::string::npos);
}
