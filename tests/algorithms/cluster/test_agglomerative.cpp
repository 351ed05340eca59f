// Agglomerative clustering: the merge tree (children, distances) and labels equal
// scikit-learn's for ward, complete, average and single linkage, with and without a k-NN
// connectivity graph; the NN-chain agrees with a naive O(n^3) reference; blobs are found.
#include "cake/algorithms/cluster/agglomerative.h"
#include "algorithms/classical2_testing.h"

#include <cmath>
#include <limits>

using namespace cake;
using namespace cake::algorithms;
using namespace cake::testing;
namespace fx2 = classical2_fixtures;

namespace {

struct ExpectedClustering {
  const std::vector<std::int64_t>& labels;
  const std::vector<std::int64_t>& children;
  const std::vector<double>& distances;
};

void check_against_sklearn(const AgglomerativeClustering& model, const ExpectedClustering& e, bool exact_labels = true) {
  CHECK(int_values(model.children()) == e.children);
  check_close(model.distances(), tensor(e.distances, {}, kFloat64), 1e-10, 1e-10);
  if (exact_labels) {
    CHECK(int_values(model.labels()) == e.labels);
  } else {
    CHECK(same_partition(int_values(model.labels()), e.labels));
  }
}

// Naive reference: merge the closest pair by recomputing linkage distances from the members
// (no Lance-Williams, no chain), O(n^3) and more. Returns the sorted merge heights.
std::vector<double> naive_heights(const std::vector<double>& x, std::int64_t d, Linkage linkage) {
  const std::int64_t n = static_cast<std::int64_t>(x.size()) / d;
  std::vector<std::vector<std::int64_t>> clusters(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) clusters[i] = {i};
  auto dist = [&](std::int64_t a, std::int64_t b) {
    double s = 0;
    for (std::int64_t k = 0; k < d; ++k) s += (x[a * d + k] - x[b * d + k]) * (x[a * d + k] - x[b * d + k]);
    return std::sqrt(s);
  };
  auto linkage_distance = [&](const std::vector<std::int64_t>& p, const std::vector<std::int64_t>& q) {
    if (linkage == Linkage::Ward) {
      double s = 0;
      for (std::int64_t k = 0; k < d; ++k) {
        double mp = 0, mq = 0;
        for (auto i : p) mp += x[i * d + k];
        for (auto j : q) mq += x[j * d + k];
        mp /= static_cast<double>(p.size()), mq /= static_cast<double>(q.size());
        s += (mp - mq) * (mp - mq);
      }
      const double np = static_cast<double>(p.size()), nq = static_cast<double>(q.size());
      return std::sqrt(2.0 * np * nq / (np + nq) * s);
    }
    double best = linkage == Linkage::Single ? std::numeric_limits<double>::infinity() : 0.0;
    for (auto i : p)
      for (auto j : q) {
        const double v = dist(i, j);
        if (linkage == Linkage::Single) best = std::min(best, v);
        else if (linkage == Linkage::Complete) best = std::max(best, v);
        else best += v / static_cast<double>(p.size() * q.size());
      }
    return best;
  };
  std::vector<double> heights;
  while (clusters.size() > 1) {
    double best = std::numeric_limits<double>::infinity();
    std::size_t bp = 0, bq = 0;
    for (std::size_t p = 0; p < clusters.size(); ++p)
      for (std::size_t q = p + 1; q < clusters.size(); ++q) {
        const double v = linkage_distance(clusters[p], clusters[q]);
        if (v < best) best = v, bp = p, bq = q;
      }
    heights.push_back(best);
    clusters[bp].insert(clusters[bp].end(), clusters[bq].begin(), clusters[bq].end());
    clusters.erase(clusters.begin() + static_cast<std::ptrdiff_t>(bq));
  }
  std::sort(heights.begin(), heights.end());
  return heights;
}

}  // namespace

TEST_CASE("agglomerative: unconstrained trees and labels equal scikit-learn's") {
  const Tensor x = matrix(fx2::agglo_X, 3);
  SUBCASE("ward") {
    AgglomerativeClustering m({.n_clusters = 4, .linkage = Linkage::Ward});
    m.fit(x);
    check_against_sklearn(m, {fx2::agglo_ward_labels, fx2::agglo_ward_children, fx2::agglo_ward_distances});
    CHECK(m.n_leaves() == 120);
    CHECK(m.n_clusters() == 4);
  }
  SUBCASE("complete") {
    AgglomerativeClustering m({.n_clusters = 4, .linkage = Linkage::Complete});
    check_against_sklearn(m.fit(x), {fx2::agglo_complete_labels, fx2::agglo_complete_children,
                                     fx2::agglo_complete_distances});
  }
  SUBCASE("average") {
    AgglomerativeClustering m({.n_clusters = 4, .linkage = Linkage::Average});
    check_against_sklearn(m.fit(x), {fx2::agglo_average_labels, fx2::agglo_average_children,
                                     fx2::agglo_average_distances});
  }
  SUBCASE("single") {
    AgglomerativeClustering m({.n_clusters = 4, .linkage = Linkage::Single});
    check_against_sklearn(m.fit(x), {fx2::agglo_single_labels, fx2::agglo_single_children,
                                     fx2::agglo_single_distances});
  }
  SUBCASE("float32 input gives the same ward labels") {
    AgglomerativeClustering m({.n_clusters = 4});
    CHECK(same_partition(int_values(m.fit_predict(matrix(fx2::agglo_X, 3, kFloat32))), fx2::agglo_ward_labels));
  }
}

TEST_CASE("agglomerative: the NN-chain heights equal a naive O(n^3) agglomeration") {
  std::vector<double> x(fx2::agglo_X.begin(), fx2::agglo_X.begin() + 40 * 3);
  for (Linkage linkage : {Linkage::Ward, Linkage::Complete, Linkage::Average, Linkage::Single}) {
    CAPTURE(linkage_name(linkage));
    const MergeTree tree = linkage_tree(matrix(x, 3), linkage);
    const std::vector<double> expected = naive_heights(x, 3, linkage);
    check_close(tensor(tree.distances, {}, kFloat64), tensor(expected, {}, kFloat64), 1e-10, 1e-10);
  }
}

TEST_CASE("agglomerative: with a 5-NN connectivity graph, as scikit-learn") {
  const Tensor x = matrix(fx2::agglo_X, 3);
  SUBCASE("ward") {
    AgglomerativeClustering m({.n_clusters = 4, .linkage = Linkage::Ward, .connectivity_n_neighbors = 5});
    check_against_sklearn(m.fit(x), {fx2::agglo_knn_ward_labels, fx2::agglo_knn_ward_children,
                                     fx2::agglo_knn_ward_distances});
  }
  SUBCASE("complete") {
    AgglomerativeClustering m({.n_clusters = 4, .linkage = Linkage::Complete, .connectivity_n_neighbors = 5});
    check_against_sklearn(m.fit(x), {fx2::agglo_knn_complete_labels, fx2::agglo_knn_complete_children,
                                     fx2::agglo_knn_complete_distances});
  }
  SUBCASE("average") {
    AgglomerativeClustering m({.n_clusters = 4, .linkage = Linkage::Average});
    m.fit(x, kneighbors_graph(x, 5));
    check_against_sklearn(m, {fx2::agglo_knn_average_labels, fx2::agglo_knn_average_children,
                              fx2::agglo_knn_average_distances});
  }
  SUBCASE("single: the same hierarchy (scikit-learn orders its MST children differently)") {
    AgglomerativeClustering m({.n_clusters = 4, .linkage = Linkage::Single, .connectivity_n_neighbors = 5});
    m.fit(x);
    check_close(m.distances(), tensor(fx2::agglo_knn_single_distances, {}, kFloat64), 1e-10, 1e-10);
    CHECK(same_partition(int_values(m.labels()), fx2::agglo_knn_single_labels));
  }
}

TEST_CASE("agglomerative: a disconnected connectivity graph is completed") {
  // Two 2-NN islands far apart: the tree still has one root.
  const Tensor x = tensor({0.0, 0.0, 0.1, 0.0, 0.0, 0.2, 9.0, 9.0, 9.1, 9.0, 9.0, 9.3}, {6, 2}, kFloat64);
  AgglomerativeClustering m({.n_clusters = 2, .connectivity_n_neighbors = 2});
  m.fit(x);
  CHECK(m.children().size(0) == 5);
  CHECK(int_values(m.labels()) == std::vector<std::int64_t>{1, 1, 1, 0, 0, 0});
  CHECK(m.n_connected_components() == 2);
}

TEST_CASE("agglomerative: distance_threshold, well-separated blobs, edge cases") {
  AgglomerativeClustering by_threshold({.n_clusters = std::nullopt, .distance_threshold = 6.0});
  by_threshold.fit(matrix(fx2::agglo_X, 3));
  CHECK(by_threshold.n_clusters() == fx2::agglo_threshold_n_clusters);
  CHECK(int_values(by_threshold.labels()) == fx2::agglo_threshold_labels);

  for (Linkage linkage : {Linkage::Ward, Linkage::Complete, Linkage::Average, Linkage::Single}) {
    CAPTURE(linkage_name(linkage));
    AgglomerativeClustering m({.n_clusters = 3, .linkage = linkage});
    CHECK(same_partition(int_values(m.fit_predict(matrix(fx2::separated_X, 2))), fx2::separated_truth));
  }

  AgglomerativeClustering one({.n_clusters = 1});
  CHECK(int_values(one.fit_predict(zeros({1, 2}))) == std::vector<std::int64_t>{0});
  CHECK(one.children().sizes() == Shape{0, 2});
  CHECK(int_values(AgglomerativeClustering({.n_clusters = 3}).fit_predict(matrix(fx2::separated_X, 2)))[0] >= 0);
  CHECK_THROWS_AS(AgglomerativeClustering({.n_clusters = 2, .distance_threshold = 1.0}), Error);
  CHECK_THROWS_AS(AgglomerativeClustering({.n_clusters = 0}), Error);
  CHECK_THROWS_AS(AgglomerativeClustering({.n_clusters = 5}).fit(zeros({3, 2})), Error);
  CHECK_THROWS_AS(parse_linkage("centroid"), Error);
  CHECK_THROWS_AS(cut_tree(MergeTree{3, {}, {}}, 2), Error);
}
