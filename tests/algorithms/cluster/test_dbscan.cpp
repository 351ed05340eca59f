// DBSCAN: labels and core samples equal scikit-learn's on blobs with noise, concentric circles
// and 12-D blobs; the k-d tree and the blocked-GEMM neighbourhoods agree with a naive search.
#include "cake/algorithms/cluster/dbscan.h"

#include <algorithm>

#include "cake/algorithms/neighbors/kd_tree.h"
#include "algorithms/classical2_testing.h"

using namespace cake;
using namespace cake::algorithms;
using namespace cake::testing;
namespace fx2 = classical2_fixtures;

namespace {
// Naive reference: N_eps by comparing every pair.
std::vector<std::vector<std::int64_t>> naive_neighborhoods(const std::vector<double>& x, std::int64_t d, double eps) {
  const std::int64_t n = static_cast<std::int64_t>(x.size()) / d;
  std::vector<std::vector<std::int64_t>> out(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = 0; j < n; ++j) {
      double s = 0;
      for (std::int64_t k = 0; k < d; ++k) s += (x[i * d + k] - x[j * d + k]) * (x[i * d + k] - x[j * d + k]);
      if (s <= eps * eps) out[i].push_back(j);
    }
  return out;
}

void check_neighborhoods(const std::vector<double>& x, std::int64_t d, double eps, NeighborAlgorithm algorithm) {
  const auto expected = naive_neighborhoods(x, d, eps);
  const Neighborhoods got = radius_neighborhoods(matrix(x, d), eps, algorithm, 5);
  const Neighborhoods unsorted = radius_neighborhoods(matrix(x, d), eps, algorithm, 5, /*sort_results=*/false);
  REQUIRE(got.indptr.size() == expected.size() + 1);
  REQUIRE(unsorted.indptr == got.indptr);
  for (std::size_t i = 0; i < expected.size(); ++i) {
    std::vector<std::int64_t> row(got.indices.begin() + got.indptr[i], got.indices.begin() + got.indptr[i + 1]);
    REQUIRE_MESSAGE(row == expected[i], "neighbourhood of sample " << i);
    std::vector<std::int64_t> any_order(unsorted.indices.begin() + unsorted.indptr[i],
                                        unsorted.indices.begin() + unsorted.indptr[i + 1]);
    std::sort(any_order.begin(), any_order.end());
    REQUIRE_MESSAGE(any_order == expected[i], "unsorted neighbourhood of sample " << i);
  }
}
}  // namespace

TEST_CASE("dbscan: neighbourhoods from the k-d tree and from GEMM equal the naive search") {
  check_neighborhoods(fx2::dbscan_blobs_X, 2, 0.5, NeighborAlgorithm::KDTree);
  check_neighborhoods(fx2::dbscan_blobs_X, 2, 0.5, NeighborAlgorithm::Brute);
  check_neighborhoods(fx2::dbscan_high_X, 12, 3.6, NeighborAlgorithm::KDTree);
  check_neighborhoods(fx2::dbscan_high_X, 12, 3.6, NeighborAlgorithm::Brute);
  // Duplicated points and a radius that takes whole boxes at once.
  std::vector<double> dup = {0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 5, 5, 0.5, 0.5};
  check_neighborhoods(dup, 2, 0.75, NeighborAlgorithm::KDTree);
  check_neighborhoods(dup, 2, 100.0, NeighborAlgorithm::KDTree);
  check_neighborhoods(dup, 2, 0.75, NeighborAlgorithm::Brute);
}

TEST_CASE("dbscan: blobs with uniform noise, labels and core samples equal scikit-learn's") {
  DBSCAN db({.eps = 0.5, .min_samples = 5});
  db.fit(matrix(fx2::dbscan_blobs_X, 2));
  CHECK(int_values(db.labels()) == fx2::dbscan_blobs_labels);
  CHECK(int_values(db.core_sample_indices()) == fx2::dbscan_blobs_core);
  CHECK(db.n_clusters() == 3);
  // The brute-force path (neighbourhood lists, then the search) labels exactly as the fused
  // k-d tree path that keeps no lists.
  DBSCAN brute({.eps = 0.5, .min_samples = 5, .algorithm = NeighborAlgorithm::Brute});
  CHECK(int_values(brute.fit_predict(matrix(fx2::dbscan_blobs_X, 2))) == fx2::dbscan_blobs_labels);
  CHECK(db.components().sizes() == Shape{static_cast<std::int64_t>(fx2::dbscan_blobs_core.size()), 2});
  // components() holds the core samples themselves.
  const auto comp = values(db.components());
  const std::int64_t c0 = fx2::dbscan_blobs_core[3];
  CHECK(comp[6] == fx2::dbscan_blobs_X[c0 * 2]);
  CHECK(comp[7] == fx2::dbscan_blobs_X[c0 * 2 + 1]);
}

TEST_CASE("dbscan: concentric circles are separated (k-means could not) and match scikit-learn") {
  const Tensor labels = DBSCAN({.eps = 0.15, .min_samples = 5}).fit_predict(matrix(fx2::circles_X, 2));
  CHECK(int_values(labels) == fx2::dbscan_circles_labels);
  CHECK(same_partition(int_values(labels), fx2::circles_truth));
}

TEST_CASE("dbscan: 12-D blobs through blocked GEMM distances, float64 and float32") {
  DBSCAN db({.eps = 3.6, .min_samples = 4});
  CHECK(int_values(db.fit_predict(matrix(fx2::dbscan_high_X, 12))) == fx2::dbscan_high_labels);
  CHECK(int_values(db.core_sample_indices()) == fx2::dbscan_high_core);
  DBSCAN tree({.eps = 3.6, .min_samples = 4, .algorithm = NeighborAlgorithm::KDTree});
  CHECK(int_values(tree.fit_predict(matrix(fx2::dbscan_high_X, 12))) == fx2::dbscan_high_labels);
  // float32 data: the same clusters (no sample sits within float32 rounding of eps here).
  CHECK(int_values(db.fit_predict(matrix(fx2::dbscan_high_X, 12, kFloat32))) == fx2::dbscan_high_labels);
}

TEST_CASE("dbscan: edge cases and errors") {
  // One sample: a core point of its own cluster when min_samples = 1, noise otherwise.
  CHECK(int_values(DBSCAN({.eps = 1.0, .min_samples = 1}).fit_predict(zeros({1, 3}, kFloat64))) ==
        std::vector<std::int64_t>{0});
  DBSCAN lonely({.eps = 1.0, .min_samples = 2});
  CHECK(int_values(lonely.fit_predict(zeros({1, 3}))) == std::vector<std::int64_t>{-1});
  CHECK(lonely.core_sample_indices().numel() == 0);
  CHECK(lonely.components().sizes() == Shape{0, 3});
  CHECK_THROWS_AS(DBSCAN({.eps = -1.0}), Error);
  CHECK_THROWS_AS(DBSCAN({.min_samples = 0}), Error);
  CHECK_THROWS_AS(DBSCAN().fit(zeros({4})), Error);
  CHECK_THROWS_AS(DBSCAN().fit(zeros({4, 2}, kInt64)), Error);
  CHECK_THROWS_AS(DBSCAN().labels(), Error);
  CHECK_THROWS_AS(parse_neighbor_algorithm("ball_tree"), Error);
  Tensor bad = zeros({3, 2}, kFloat64);
  bad.data_ptr<double>()[3] = std::nan("");
  CHECK_THROWS_AS(DBSCAN().fit(bad), Error);
}
