// Tests for algorithms/cluster/graph_agglomerative.h: the path-integral and zeta descriptors against
// dense inverses of I - z P; pairs linked one way only get no increment; the whole agglomeration
// against a brute-force one that scores every pair with dense inverses; two interleaved moons,
// which k-means cannot split and every descriptor splits exactly; fit_graph on a hand-made graph;
// progress, the factory, determinism and errors.
#include <cmath>
#include <numbers>
#include <set>

#include "cake/algorithms/cluster/clusterer.h"
#include "cake/algorithms/cluster/graph_agglomerative.h"
#include "cake/algorithms/cluster/graph_degree_linkage.h"
#include "cake/algorithms/metrics/metrics.h"
#include "cake/tensor/creation.h"
#include "cake/tensor/linalg.h"
#include "cake/tensor/random.h"
#include "helpers.h"

using namespace cake;
using namespace cake::cluster;
using cake::testing::values;
using neighbors::SparseGraph;

namespace {

// A random directed graph on n nodes, each with `degree` out-edges of random positive weight, as a walk
// (rows summing to 1).
SparseGraph random_walk_graph(std::int64_t n, std::int64_t degree, std::uint64_t seed) {
  manual_seed(seed);
  std::vector<std::int64_t> rows, cols;
  std::vector<double> weights;
  for (std::int64_t i = 0; i < n; ++i) {
    const std::vector<double> order = values(randperm(n).to(kFloat64));
    std::int64_t taken = 0;
    for (double j : order) {
      if (static_cast<std::int64_t>(j) == i || taken == degree) continue;
      rows.push_back(i);
      cols.push_back(static_cast<std::int64_t>(j));
      weights.push_back(0.1 + rand({1}, kFloat64).item<double>());
      ++taken;
    }
  }
  SparseGraph g = SparseGraph::from_triplets(n, rows, cols, weights);
  for (std::int64_t i = 0; i < n; ++i) {
    double total = 0.0;
    for (std::int64_t e = g.indptr[i]; e < g.indptr[i + 1]; ++e) total += g.values[e];
    for (std::int64_t e = g.indptr[i]; e < g.indptr[i + 1]; ++e) g.values[e] /= total;
  }
  return g;
}

// (I - z P_S)^-1 - I for the samples S (in that order), densely.
Tensor walks_within(const SparseGraph& walk, const std::vector<std::int64_t>& s, double z) {
  const Tensor dense = walk.to_dense();
  const Tensor index = tensor(s, {static_cast<std::int64_t>(s.size())});
  const Tensor p = dense.index_select(0, index).index_select(1, index);
  const std::int64_t m = static_cast<std::int64_t>(s.size());
  return linalg::inv(eye(m, -1, kFloat64) - p * z) - eye(m, -1, kFloat64);
}

// The dense reference of path_descriptor and zeta_descriptor: members first in `within_order`.
double dense_path(const SparseGraph& walk, const std::vector<std::int64_t>& members, const std::vector<std::int64_t>& rest, double z) {
  std::vector<std::int64_t> s = members;
  s.insert(s.end(), rest.begin(), rest.end());
  const std::int64_t m = static_cast<std::int64_t>(members.size());
  const double n = static_cast<double>(m);
  return walks_within(walk, s, z).narrow(0, 0, m).narrow(1, 0, m).sum().item<double>() / (n * n);
}

double dense_zeta(const SparseGraph& walk, const std::vector<std::int64_t>& members, const std::vector<std::int64_t>& rest, double z) {
  std::vector<std::int64_t> s = members;
  s.insert(s.end(), rest.begin(), rest.end());
  const std::int64_t m = static_cast<std::int64_t>(members.size());
  return (walks_within(walk, s, z).diagonal().narrow(0, 0, m) + 1.0).log().sum().item<double>() / static_cast<double>(m);
}

// The agglomeration done the slow way: every pair of clusters scored with dense inverses, the largest merged.
std::vector<std::int64_t> brute_force(const SparseGraph& walk, const std::vector<std::int64_t>& start, std::int64_t n_clusters,
                                      bool zeta, double z) {
  std::vector<std::vector<std::int64_t>> clusters(static_cast<std::size_t>(*std::max_element(start.begin(), start.end()) + 1));
  for (std::size_t i = 0; i < start.size(); ++i) clusters[static_cast<std::size_t>(start[i])].push_back(static_cast<std::int64_t>(i));
  auto descriptor = [&](const std::vector<std::int64_t>& a, const std::vector<std::int64_t>& rest) {
    return zeta ? dense_zeta(walk, a, rest, z) : dense_path(walk, a, rest, z);
  };
  while (static_cast<std::int64_t>(clusters.size()) > n_clusters) {
    double best = -1.0;
    std::size_t best_a = 0, best_b = 0;
    for (std::size_t a = 0; a < clusters.size(); ++a)
      for (std::size_t b = a + 1; b < clusters.size(); ++b) {
        const double gain = descriptor(clusters[a], clusters[b]) - descriptor(clusters[a], {}) +
                            descriptor(clusters[b], clusters[a]) - descriptor(clusters[b], {});
        if (gain > best) {
          best = gain;
          best_a = a;
          best_b = b;
        }
      }
    clusters[best_a].insert(clusters[best_a].end(), clusters[best_b].begin(), clusters[best_b].end());
    clusters.erase(clusters.begin() + static_cast<std::ptrdiff_t>(best_b));
  }
  std::vector<std::int64_t> labels(start.size());
  for (std::size_t c = 0; c < clusters.size(); ++c)
    for (std::int64_t i : clusters[c]) labels[static_cast<std::size_t>(i)] = static_cast<std::int64_t>(c);
  return labels;
}

// Two interleaved half circles ("moons") of `per_moon` points each, with Gaussian noise.
Tensor moons(std::int64_t per_moon, double noise, std::vector<std::int64_t>& truth) {
  std::vector<double> xy;
  truth.clear();
  for (int moon = 0; moon < 2; ++moon)
    for (std::int64_t i = 0; i < per_moon; ++i) {
      const double t = std::numbers::pi * static_cast<double>(i) / static_cast<double>(per_moon - 1);
      xy.push_back(moon == 0 ? std::cos(t) : 1.0 - std::cos(t));
      xy.push_back(moon == 0 ? std::sin(t) : 0.5 - std::sin(t));
      truth.push_back(moon);
    }
  manual_seed(21);
  return tensor(xy, {2 * per_moon, 2}) + randn({2 * per_moon, 2}, kFloat64) * noise;
}

}  // namespace

TEST_CASE("path and zeta descriptors equal their dense forms, for small and large z") {
  const SparseGraph walk = random_walk_graph(14, 4, 1);
  const std::vector<std::int64_t> a{0, 3, 5, 6, 9}, b{1, 2, 11, 13};
  for (double z : {0.01, 0.3, 0.9}) {
    CAPTURE(z);
    std::vector<std::int64_t> both = a;
    both.insert(both.end(), b.begin(), b.end());
    CHECK(path_descriptor(walk, a, {}, z) == doctest::Approx(dense_path(walk, a, {}, z)).epsilon(1e-12));
    CHECK(path_descriptor(walk, a, both, z) == doctest::Approx(dense_path(walk, a, b, z)).epsilon(1e-12));
    CHECK(zeta_descriptor(walk, a, {}, z) == doctest::Approx(dense_zeta(walk, a, {}, z)).epsilon(1e-12));
    CHECK(zeta_descriptor(walk, b, both, z) == doctest::Approx(dense_zeta(walk, b, a, z)).epsilon(1e-12));
    // More room for walks never lowers a descriptor.
    CHECK(path_descriptor(walk, a, both, z) >= path_descriptor(walk, a, {}, z));
    CHECK(zeta_descriptor(walk, a, both, z) >= zeta_descriptor(walk, a, {}, z));
  }
}

TEST_CASE("zeta on a set of more than 64 samples (one dense inverse) equals the walks of each member") {
  // Sets of up to 64 samples take one walk per member, larger ones one dense inverse of I - z P_S:
  // both equal the test's own dense form.
  const SparseGraph walk = random_walk_graph(120, 6, 4);
  std::vector<std::int64_t> a, b;
  for (std::int64_t i = 0; i < 60; ++i) a.push_back(i);
  for (std::int64_t i = 60; i < 110; ++i) b.push_back(i);
  std::vector<std::int64_t> both = a;
  both.insert(both.end(), b.begin(), b.end());
  for (double z : {0.01, 0.5}) {
    CAPTURE(z);
    CHECK(zeta_descriptor(walk, a, both, z) == doctest::Approx(dense_zeta(walk, a, b, z)).epsilon(1e-12));  // 110: dense
    CHECK(zeta_descriptor(walk, a, {}, z) == doctest::Approx(dense_zeta(walk, a, {}, z)).epsilon(1e-12));   // 60: walks
  }
}

TEST_CASE("a cluster linked to another one way only gains no walks from it") {
  // 0 <-> 1 and 2 <-> 3, plus edges 0 -> 2 and 1 -> 3 only: from {2, 3} nothing leads back to {0, 1}.
  const SparseGraph walk = SparseGraph::from_triplets(4, {0, 0, 1, 1, 2, 3}, {1, 2, 0, 3, 3, 2}, {0.5, 0.5, 0.5, 0.5, 1.0, 1.0});
  const std::vector<std::int64_t> a{0, 1}, b{2, 3}, all{0, 1, 2, 3};
  // Equal up to the series' last terms (the sums stop once the rest is below 1e-16 of them).
  CHECK(path_descriptor(walk, a, all, 0.2) == doctest::Approx(path_descriptor(walk, a, {}, 0.2)).epsilon(1e-14));
  CHECK(path_descriptor(walk, b, all, 0.2) == doctest::Approx(path_descriptor(walk, b, {}, 0.2)).epsilon(1e-14));
  CHECK(zeta_descriptor(walk, a, all, 0.2) == doctest::Approx(zeta_descriptor(walk, a, {}, 0.2)).epsilon(1e-14));
  CHECK(zeta_descriptor(walk, b, all, 0.2) == doctest::Approx(zeta_descriptor(walk, b, {}, 0.2)).epsilon(1e-14));
  // By hand: in {2, 3} every walk alternates, so 1' [(I - zP)^-1 - I] 1 = 2 (z + z^2 + ...) = 2z / (1 - z).
  CHECK(path_descriptor(walk, b, {}, 0.2) == doctest::Approx(2 * 0.2 / 0.8 / 4.0).epsilon(1e-14));
  // ... and each node returns after every even number of steps: [(I - zP)^-1]_ii = 1 / (1 - z^2).
  CHECK(zeta_descriptor(walk, b, {}, 0.2) == doctest::Approx(std::log(1.0 / (1.0 - 0.04))).epsilon(1e-14));
}

TEST_CASE("GraphAgglomerativeClustering: the same clusters as a brute-force agglomeration with dense inverses") {
  for (std::uint64_t seed : {1, 2}) {
    for (GraphDescriptor descriptor : {GraphDescriptor::PathIntegral, GraphDescriptor::Zeta}) {
      for (double z : {0.01, 0.2}) {
        CAPTURE(seed);
        CAPTURE(z);
        CAPTURE(static_cast<int>(descriptor));
        manual_seed(seed);
        Tensor x = randn({48, 2}, kFloat64);  // three blobs in the plane
        for (int c = 0; c < 3; ++c) x.narrow(0, 16 * c, 16).narrow(1, 0, 1).add_(3.0 * c);
        const GdlGraph g = gdl_graph(x, {.n_neighbors = 6});
        const std::vector<std::int64_t> start = nearest_neighbor_clusters(g);
        REQUIRE(*std::max_element(start.begin(), start.end()) + 1 > 6);
        GraphAgglomerativeClustering model({.n_clusters = 3, .descriptor = descriptor, .n_neighbors = 6, .z = z});
        CHECK(values(model.fit_predict(x)) == values(model.fit_graph(g.weights).labels()));  // the same graph
        SparseGraph walk = g.weights;
        for (std::int64_t i = 0; i < walk.n; ++i) {
          double total = 0.0;
          for (std::int64_t e = walk.indptr[i]; e < walk.indptr[i + 1]; ++e) total += walk.values[e];
          for (std::int64_t e = walk.indptr[i]; e < walk.indptr[i + 1]; ++e) walk.values[e] /= total;
        }
        const std::vector<std::int64_t> slow = brute_force(walk, start, 3, descriptor == GraphDescriptor::Zeta, z);
        const std::vector<double> fast = values(model.labels().to(kFloat64));
        // The same partition (the numbering may differ): every pair together in one iff in the other.
        for (std::size_t i = 0; i < slow.size(); ++i)
          for (std::size_t j = i + 1; j < slow.size(); ++j) CHECK((slow[i] == slow[j]) == (fast[i] == fast[j]));
      }
    }
  }
}

TEST_CASE("GraphAgglomerativeClustering: every descriptor splits two moons that k-means cannot") {
  std::vector<std::int64_t> truth;
  const Tensor x = moons(150, 0.05, truth);
  const Tensor truth_tensor = tensor(truth, {300});
  for (const char* name : {"path", "zeta", "gdl"}) {
    CAPTURE(name);
    GraphAgglomerativeClustering model({.n_clusters = 2, .descriptor = parse_graph_descriptor(name), .n_neighbors = 10});
    const Tensor labels = model.fit_predict(x);
    CHECK(metrics::ari(truth_tensor, labels) == doctest::Approx(1.0));
    CHECK(model.n_initial_clusters() > 20);
    CHECK(model.sigma2() > 0.0);
  }
  const Tensor kmeans = make_clusterer("kmeans", {{"n_clusters", 2}, {"random_state", 0}})->fit_predict(x);
  CHECK(metrics::ari(truth_tensor, kmeans) < 0.6);
}

TEST_CASE("GraphAgglomerativeClustering: a hand-made graph, progress, the factory, the same labels twice") {
  // Two groups of four: heavy pairs {0, 1}, {2, 3}, {4, 5}, {6, 7}, the pairs of a group joined both
  // ways by middling edges, the groups by one light pair of edges (3 <-> 4).
  const SparseGraph g = SparseGraph::from_triplets(
      8, {0, 0, 1, 1, 2, 2, 3, 3, 3, 4, 4, 4, 5, 5, 6, 6, 7, 7},
      {1, 2, 0, 3, 3, 0, 2, 1, 4, 5, 6, 3, 4, 7, 7, 4, 6, 5},
      {9, 5, 9, 5, 9, 5, 9, 5, 0.1, 9, 5, 0.1, 9, 5, 9, 5, 9, 5});
  for (const char* name : {"path", "zeta", "gdl"}) {
    CAPTURE(name);
    std::vector<std::pair<std::int64_t, std::int64_t>> progress;
    GraphAgglomerativeClustering model({.n_clusters = 2, .descriptor = parse_graph_descriptor(name),
                                        .on_merge = [&](std::int64_t done, std::int64_t total) {
                                          progress.emplace_back(done, total);
                                        }});
    model.fit_graph(g);
    CHECK(values(model.labels().to(kFloat64)) == std::vector<double>{0, 0, 0, 0, 1, 1, 1, 1});
    CHECK(model.n_initial_clusters() == 4);  // each node's nearest is its heavy partner
    CHECK(progress == std::vector<std::pair<std::int64_t, std::int64_t>>{{1, 2}, {2, 2}});
  }

  manual_seed(5);
  const Tensor x = randn({60, 3}, kFloat64);
  auto clusterer = make_clusterer("graph-agglomerative", {{"n_clusters", 4}, {"descriptor", "zeta"}, {"n_neighbors", 8}});
  const Tensor first = clusterer->fit_predict(x);
  CHECK(clusterer->name() == "graph-agglomerative");
  CHECK(values(first.to(kFloat64)) == values(clusterer->fit_predict(x).to(kFloat64)));
  const std::vector<double> first_values = values(first.to(kFloat64));
  CHECK(std::set<double>(first_values.begin(), first_values.end()).size() == 4);
  CHECK_FALSE(clusterer->can_predict());
}

TEST_CASE("GraphAgglomerativeClustering: outlying pairs, which nothing links to, join the blob they point at") {
  // Three blobs of 40 points 10 apart, and four pairs of points far from everything: a pair's
  // points point at each other and at the nearest blob, but no blob point has them among its 10
  // nearest, so no pair is linked both ways to anything and the papers' process cannot merge them.
  manual_seed(9);
  Tensor x = randn({128, 2}, kFloat64) * 0.5;
  const double centres[3][2] = {{0, 0}, {10, 0}, {0, 10}};
  const double far[4][2] = {{-30, 0}, {40, 0}, {0, 40}, {30, 30}};  // nearest blob: 0, 1, 2, 1 (or 2)
  std::vector<std::int64_t> truth;
  for (std::int64_t i = 0; i < 128; ++i) {
    const double* c = i < 120 ? centres[i / 40] : far[(i - 120) / 2];
    x.narrow(0, i, 1).narrow(1, 0, 1).add_(c[0]);
    x.narrow(0, i, 1).narrow(1, 1, 1).add_(c[1]);
    if (i < 120) truth.push_back(i / 40);
  }
  for (const char* name : {"path", "zeta", "gdl"}) {
    CAPTURE(name);
    GraphAgglomerativeClustering papers({.n_clusters = 3, .descriptor = parse_graph_descriptor(name), .n_neighbors = 10,
                                         .min_cluster_fraction = 0.0});
    CHECK_THROWS_WITH(papers.fit(x), doctest::Contains("linked both ways"));
    GraphAgglomerativeClustering model({.n_clusters = 3, .descriptor = parse_graph_descriptor(name), .n_neighbors = 10});
    const std::vector<double> labels = values(model.fit_predict(x).to(kFloat64));
    CHECK(model.n_outlying_groups() == 4);
    for (std::int64_t i = 0; i < 120; ++i) CHECK(labels[static_cast<std::size_t>(i)] == static_cast<double>(truth[static_cast<std::size_t>(i)]));
    CHECK(labels[120] == labels[121]);
    CHECK(labels[120] == 0.0);  // the pair at (-30, 0) with the blob at the origin
    CHECK(labels[122] == 1.0);  // (40, 0) with the blob at (10, 0)
    CHECK(labels[124] == 2.0);  // (0, 40) with the blob at (0, 10)
  }
}

TEST_CASE("GraphAgglomerativeClustering: errors name the problem") {
  CHECK_THROWS_WITH(parse_graph_descriptor("cycles"), doctest::Contains("path, zeta or gdl"));
  CHECK_THROWS_WITH(GraphAgglomerativeClustering({.z = 1.0}), doctest::Contains("z must be in (0, 1)"));
  CHECK_THROWS_WITH(GraphAgglomerativeClustering({.n_clusters = 0}), doctest::Contains("n_clusters"));
  CHECK_THROWS_WITH(GraphAgglomerativeClustering({.min_cluster_fraction = 1.5}), doctest::Contains("min_cluster_fraction"));
  CHECK_THROWS_WITH(GraphAgglomerativeClustering().labels(), doctest::Contains("not fitted"));
  const SparseGraph small = SparseGraph::from_triplets(3, {0, 1}, {1, 0}, {1, 1});
  CHECK_THROWS_WITH(path_descriptor(small, {0, 5}, {}, 0.1), doctest::Contains("member 5 is not a node of the 3-node graph"));
  CHECK_THROWS_WITH(zeta_descriptor(small, {0, 0}, {}, 0.1), doctest::Contains("listed twice"));
  CHECK_THROWS_WITH(path_descriptor(small, {}, {}, 0.1), doctest::Contains("must not be empty"));
  // Two separate pairs: nothing links them, so they cannot become one cluster.
  const SparseGraph apart = SparseGraph::from_triplets(4, {0, 1, 2, 3}, {1, 0, 3, 2}, {1, 1, 1, 1});
  for (const char* name : {"path", "gdl"}) {
    CAPTURE(name);
    GraphAgglomerativeClustering model({.n_clusters = 1, .descriptor = parse_graph_descriptor(name)});
    CHECK_THROWS_WITH(model.fit_graph(apart), doctest::Contains("linked both ways"));
  }
  CHECK_THROWS_WITH(GraphAgglomerativeClustering({.n_clusters = 3}).fit_graph(apart), doctest::Contains("only 2"));
  CHECK_THROWS_WITH(GraphAgglomerativeClustering({.n_neighbors = 30}).fit(randn({20, 2})), doctest::Contains("n_neighbors"));
}
