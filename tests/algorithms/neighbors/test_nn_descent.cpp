// Tests of the k-NN searches (algorithms/neighbors/nn_descent.h): the exact search (of the points
// themselves and of other query points) against a direct computation, NN-descent's recall against the exact search (Dong, Moses & Li 2011
// report recall above 0.9 on their data sets; random Gaussian data of moderate dimension is
// among the harder cases for it), its reproducibility for a seed and across thread counts.
#include <algorithm>
#include <cmath>

#include "cake/algorithms/neighbors/nn_descent.h"
#include "cake/tensor/creation.h"
#include "cake/tensor/parallel.h"
#include "cake/tensor/random.h"
#include "helpers.h"

using namespace cake;
using neighbors::KnnResult;

namespace {

double direct_distance(const float* a, const float* b, std::int64_t d, bool cosine) {
  double dot = 0, na = 0, nb = 0, sq = 0;
  for (std::int64_t j = 0; j < d; ++j) {
    dot += double(a[j]) * b[j], na += double(a[j]) * a[j], nb += double(b[j]) * b[j];
    sq += (double(a[j]) - b[j]) * (double(a[j]) - b[j]);
  }
  return cosine ? 1.0 - dot / std::sqrt(na * nb) : std::sqrt(sq);
}

}  // namespace

TEST_CASE("exact_knn: the point itself first, then the nearest others, with their distances") {
  for (const std::string metric : {"euclidean", "cosine"}) {
    manual_seed(1);
    const Tensor x = randn({60, 4});
    const std::int64_t n = 60, d = 4, k = 7;
    const KnnResult r = neighbors::exact_knn(x, k, metric);
    CHECK(r.n == n);
    CHECK(r.k == k);
    const float* px = x.data_ptr<float>();
    for (std::int64_t i = 0; i < n; ++i) {
      // Brute force, in double, directly from the definition.
      std::vector<std::pair<double, std::int64_t>> all;
      for (std::int64_t j = 0; j < n; ++j)
        if (j != i) all.emplace_back(direct_distance(px + i * d, px + j * d, d, metric == "cosine"), j);
      std::sort(all.begin(), all.end());
      CHECK(r.indices[i * k] == i);
      CHECK(r.distances[i * k] == 0.0);
      for (std::int64_t t = 1; t < k; ++t) {
        CHECK(r.indices[i * k + t] == all[t - 1].second);
        CHECK(r.distances[i * k + t] == doctest::Approx(all[t - 1].first).epsilon(1e-5));
      }
    }
  }
}

TEST_CASE("exact_knn_query: each query's nearest reference rows, against a direct computation; bad shapes") {
  for (const std::string metric : {"euclidean", "cosine"}) {
    manual_seed(2);
    // Queries far from the origin, so that the centring matters for the GEMM form's precision.
    const Tensor reference = randn({50, 3}) + 20.0, queries = randn({9, 3}) + 20.0;
    const std::int64_t m = 9, n = 50, d = 3, k = 6;
    const KnnResult r = neighbors::exact_knn_query(queries, reference, k, metric);
    CHECK(r.n == m);
    CHECK(r.k == k);
    const float *pq = queries.data_ptr<float>(), *pr = reference.data_ptr<float>();
    for (std::int64_t i = 0; i < m; ++i) {
      std::vector<std::pair<double, std::int64_t>> all;
      for (std::int64_t j = 0; j < n; ++j) all.emplace_back(direct_distance(pq + i * d, pr + j * d, d, metric == "cosine"), j);
      std::sort(all.begin(), all.end());
      for (std::int64_t t = 0; t < k; ++t) {
        CHECK(r.indices[i * k + t] == all[t].second);
        CHECK(r.distances[i * k + t] == doctest::Approx(all[t].first).epsilon(1e-5));
      }
    }
  }
  // A query that is also a reference row finds itself at distance 0, first.
  manual_seed(3);
  const Tensor points = randn({20, 4});
  const KnnResult self = neighbors::exact_knn_query(points.narrow(0, 5, 2), points, 3);
  CHECK(self.indices[0] == 5);
  CHECK(self.distances[0] == 0.0);
  CHECK(self.indices[3] == 6);
  CHECK_THROWS_WITH_AS(neighbors::exact_knn_query(randn({4, 3}), randn({10, 5}), 2),
                       doctest::Contains("the queries have shape [4, 3] and the reference [10, 5]"), Error);
  CHECK_THROWS_WITH_AS(neighbors::exact_knn_query(randn({4, 3}), randn({10, 3}), 11), doctest::Contains("k must be in [1, 10]"),
                       Error);
}

TEST_CASE("nn_descent: recall of at least 0.9 against the exact k-NN on random data") {
  manual_seed(2);
  const Tensor x = randn({3000, 8});
  const KnnResult exact = neighbors::exact_knn(x, 15);
  const KnnResult approx = neighbors::nn_descent(x, 15, {.random_state = 0});
  const double recall = neighbors::knn_recall(approx, exact);
  MESSAGE("NN-descent recall on 3000 x 8 Gaussian points, k = 15: " << recall);
  CHECK(recall >= 0.9);
  for (std::int64_t i = 0; i < 3000; ++i) {
    CHECK(approx.indices[i * 15] == i);
    CHECK(std::is_sorted(approx.distances.begin() + i * 15, approx.distances.begin() + (i + 1) * 15));
  }
  // Cosine distances (1 - cos).
  const KnnResult exact_cos = neighbors::exact_knn(x, 10, "cosine");
  const KnnResult approx_cos = neighbors::nn_descent(x, 10, {.metric = "cosine", .random_state = 0});
  CHECK(neighbors::knn_recall(approx_cos, exact_cos) >= 0.9);
}

TEST_CASE("nn_descent: the same seed gives the same graph, whatever the number of threads") {
  manual_seed(3);
  const Tensor x = randn({2000, 5});
  const int threads = get_num_threads();
  const KnnResult a = neighbors::nn_descent(x, 10, {.random_state = 7});
  set_num_threads(1);
  const KnnResult b = neighbors::nn_descent(x, 10, {.random_state = 7});
  set_num_threads(threads);
  CHECK(a.indices == b.indices);
  CHECK(a.distances == b.distances);
  const KnnResult c = neighbors::nn_descent(x, 10, {.n_iters = 1, .random_state = 8});
  CHECK(c.indices != a.indices);
}

TEST_CASE("nn_descent: tiny inputs and bad arguments") {
  manual_seed(4);
  const Tensor x = randn({5, 3});
  const KnnResult r = neighbors::nn_descent(x, 5, {.random_state = 0});  // every point
  CHECK(neighbors::knn_recall(r, neighbors::exact_knn(x, 5)) == 1.0);
  CHECK_THROWS_WITH_AS(neighbors::nn_descent(x, 6), doctest::Contains("k (which counts each sample itself)"), Error);
  CHECK_THROWS_WITH_AS(neighbors::exact_knn(x, 2, "manhattan"), doctest::Contains("unknown metric"), Error);
}
