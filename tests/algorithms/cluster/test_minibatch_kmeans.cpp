// Tests for algorithms/cluster/minibatch_kmeans.h: recovery of separated blobs, inertia close to
// scikit-learn's MiniBatchKMeans and to full k-means, reproducibility, partial_fit.
#include "cake/algorithms/cluster/kmeans.h"
#include "cake/algorithms/cluster/minibatch_kmeans.h"
#include "algorithms/fixtures/classical_fixtures.h"
#include "algorithms/classical_helpers.h"

using namespace cake;
using namespace cake::algorithms;
using cake::testing::best_match_accuracy;
using cake::testing::int_values;
using cake::testing::matrix;
namespace fx = cake::testing::fixtures;

TEST_CASE("MiniBatchKMeans recovers separated blobs") {
  for (DType dtype : {kFloat64, kFloat32}) {
    MiniBatchKMeans km({.n_clusters = 3, .batch_size = 32, .random_state = 0});
    const Tensor labels = km.fit_predict(matrix(fx::blobs_x, 300, 2, dtype));
    CHECK(best_match_accuracy(fx::blobs_y, int_values(labels), 3) == 1.0);
    CHECK(km.cluster_centers().dtype() == dtype);
    CHECK(km.n_steps() >= 1);
    CHECK(km.n_iter() >= 1);
  }
}

TEST_CASE("MiniBatchKMeans: inertia within 3% of scikit-learn's and of full k-means") {
  const Tensor X = matrix(fx::overlap_x, 400, 5);
  MiniBatchKMeans mb({.n_clusters = 4, .batch_size = 64, .random_state = 0});
  mb.fit(X);
  CHECK(mb.inertia() <= fx::overlap_minibatch4_inertia * 1.03);
  CHECK(mb.inertia() <= fx::overlap_kmeans4_inertia * 1.03);
  CHECK(mb.inertia() >= fx::overlap_kmeans4_inertia * 0.999);  // cannot beat the optimum
  CHECK(equal(mb.predict(X), mb.labels()));
  CHECK(mb.score(X) == doctest::Approx(-mb.inertia()));
}

TEST_CASE("MiniBatchKMeans: same seed, same result; partial_fit converges on a stream") {
  const Tensor X = matrix(fx::overlap_x, 400, 5, kFloat32);
  MiniBatchKMeans a({.n_clusters = 4, .batch_size = 50, .random_state = 3}), b({.n_clusters = 4, .batch_size = 50, .random_state = 3});
  a.fit(X);
  b.fit(X);
  CHECK(equal(a.cluster_centers(), b.cluster_centers()));
  const Tensor blobs = matrix(fx::blobs_x, 300, 2);
  MiniBatchKMeans stream({.n_clusters = 3, .random_state = 0});
  manual_seed(0);
  for (int epoch = 0; epoch < 5; ++epoch) {
    const auto order = int_values(randperm(300));
    for (int start = 0; start < 300; start += 60) {
      Tensor batch = empty({60, 2}, kFloat64);
      for (int r = 0; r < 60; ++r) batch[r].copy_(blobs[order[static_cast<std::size_t>(start + r)]]);
      stream.partial_fit(batch);
    }
  }
  CHECK(stream.n_steps() == 25);
  CHECK(best_match_accuracy(fx::blobs_y, int_values(stream.predict(blobs)), 3) == 1.0);
  CHECK_THROWS_WITH_AS(stream.partial_fit(zeros({4, 3})), doctest::Contains("expected 2 features"), Error);
}

TEST_CASE("MiniBatchKMeans: bad options are refused") {
  CHECK_THROWS_WITH_AS(MiniBatchKMeans({.batch_size = 0}), doctest::Contains("batch_size"), Error);
  CHECK_THROWS_WITH_AS(MiniBatchKMeans({.reassignment_ratio = -1}), doctest::Contains("reassignment_ratio"), Error);
  CHECK_THROWS_WITH_AS(MiniBatchKMeans({.n_clusters = 2}).labels(), doctest::Contains("not fitted"), Error);
}

TEST_CASE("mini-batch k-means refuses values whose squared distances overflow float32 (it crashed on them)") {
  std::vector<float> v;
  for (int i = 0; i < 64; ++i) {
    v.push_back(i % 2 ? 2e19f : -2e19f);
    v.push_back(static_cast<float>(i));
  }
  const std::string message =
      cake::testing::error_message([&] { MiniBatchKMeans({.n_clusters = 2, .batch_size = 16}).fit(tensor(v, {64, 2})); });
  CHECK(message.find("MiniBatchKMeans") != std::string::npos);
  CHECK(message.find("rescale the data") != std::string::npos);
}
