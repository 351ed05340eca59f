// Tests for algorithms/cluster/graph_degree_linkage.h: the affinity against a hand computation,
// the step loss by hand, the initial clusters of a small line of points, and the priority-queue
// engine against a brute-force agglomeration that recomputes every affinity from W at every
// step (same merges, same affinities and losses, for K_c = 5, K_c = 1, and K_c = 5 switching to
// plain GDL part-way, k_c_above).
#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "cake/algorithms/cluster/graph_degree_linkage.h"
#include "helpers.h"

using namespace cake;
using namespace cake::cluster;
using cake::testing::error_message;

namespace {

// Four samples, C_a = {0, 1}, C_b = {2, 3}, weights chosen by hand.
neighbors::SparseGraph hand_graph() {
  return neighbors::SparseGraph::from_triplets(4, {0, 0, 1, 1, 2, 2, 2, 3, 3}, {1, 2, 0, 2, 0, 1, 3, 0, 2},
                                               {0.9, 0.5, 0.8, 0.3, 0.4, 0.2, 0.7, 0.6, 0.1});
}

// The brute-force reference: every step recomputes all cluster affinities from W with the
// reference formula, takes the cluster of smallest step loss (ties: smaller node id) and merges
// it with its nearest cluster (ties: smaller node id). K_c counts while more than k_c_above
// clusters are alive, then 1.
std::vector<GdlMerge> brute_force(const GdlGraph& g, std::vector<std::int64_t> nodes, std::int64_t leaves,
                                  std::int64_t target, GdlMergeOptions o) {
  std::vector<GdlMerge> merges;
  std::int64_t next = leaves;
  while (true) {
    std::set<std::int64_t> alive(nodes.begin(), nodes.end());
    if (static_cast<std::int64_t>(alive.size()) <= target) break;
    double best_loss = 0.0;
    std::int64_t best = -1, partner = -1;
    double partner_affinity = 0.0;
    for (std::int64_t a : alive) {
      std::vector<std::pair<double, std::int64_t>> aff;  // (affinity, node)
      for (std::int64_t b : alive)
        if (b != a) aff.emplace_back(gdl_affinity(g.weights, nodes, a, b), b);
      std::sort(aff.begin(), aff.end(), [](const auto& p, const auto& q) {
        return p.first != q.first ? p.first > q.first : p.second < q.second;
      });
      if (aff.empty() || aff[0].first <= 0.0) continue;
      std::vector<double> sorted;
      for (const auto& [v, b] : aff) sorted.push_back(v);
      const std::int64_t k_c = static_cast<std::int64_t>(alive.size()) > o.k_c_above ? o.k_c : 1;
      const double loss = jule_step_loss(sorted, k_c, o.lambda);
      if (best < 0 || loss < best_loss) best = a, best_loss = loss, partner = aff[0].second, partner_affinity = aff[0].first;
    }
    if (best < 0) break;
    merges.push_back({.a = std::min(best, partner), .b = std::max(best, partner), .node = next,
                      .affinity = partner_affinity, .loss = best_loss});
    for (auto& v : nodes)
      if (v == best || v == partner) v = next;
    ++next;
  }
  return merges;
}

}  // namespace

TEST_CASE("gdl_affinity: against a hand computation") {
  const neighbors::SparseGraph w = hand_graph();
  const std::vector<std::int64_t> labels{0, 0, 1, 1};
  // A(a -> b) = 1/|a|^2 sum_{k in b} in_a(k) out_a(k):
  //   k = 2: in_a = w02 + w12 = 0.8, out_a = w20 + w21 = 0.6;  k = 3: in_a = 0.
  //   = 0.48 / 4 = 0.12 (= 1' W_ab W_ba 1 / 4 with W_ab = [.5 0; .3 0], W_ba = [.4 .2; .6 0]).
  CHECK(gdl_directed_affinity(w, labels, 0, 1) == doctest::Approx(0.12));
  // A(b -> a): k = 0: in_b = w20 + w30 = 1.0, out_b = w02 + w03 = 0.5; k = 1: in_b = w21 = 0.2,
  //   out_b = w12 = 0.3; (0.5 + 0.06) / 4 = 0.14.
  CHECK(gdl_directed_affinity(w, labels, 1, 0) == doctest::Approx(0.14));
  CHECK(gdl_affinity(w, labels, 0, 1) == doctest::Approx(0.26));
  // The engine's kept sums give the same.
  const GdlGraph g = gdl_graph(w);
  GdlAgglomeration engine(g, labels);
  CHECK(engine.affinity(0, 1) == doctest::Approx(0.26));
  CHECK(engine.affinity(1, 0) == doctest::Approx(0.26));
  // Singletons: A({0} -> {2}) = w02 w20 = 0.2, A({2} -> {0}) = w20 w02 = 0.2.
  GdlAgglomeration singles(g, {0, 1, 2, 3});
  CHECK(singles.affinity(0, 2) == doctest::Approx(0.4));
  CHECK(singles.affinity(1, 3) == 0.0);  // no edge 1 -> 3 and no edge 3 -> 1
  // The nearest sample of each: 0 -> 1 (0.9), 1 -> 0 (0.8), 2 -> 3 (0.7), 3 -> 0 (0.6).
  CHECK(g.nearest == std::vector<std::int64_t>{1, 0, 3, 0});
  CHECK(nearest_neighbor_clusters(g) == std::vector<std::int64_t>{0, 0, 0, 0});
}

TEST_CASE("jule_step_loss: the talk's L^t by hand") {
  // A = (0.5, 0.3, 0.2), K_c = 5, lambda = 1: the margins 0.2 + 0.3 + 0.5 + 0.5 (missing ones
  // count as 0) = 1.5, so L = -0.5 - 1.5 / 4.
  CHECK(jule_step_loss({0.5, 0.3, 0.2}, 5, 1.0) == doctest::Approx(-0.875));
  CHECK(jule_step_loss({0.5, 0.3, 0.2}, 3, 2.0) == doctest::Approx(-0.5 - 2.0 / 2.0 * (0.2 + 0.3)));
  CHECK(jule_step_loss({0.5, 0.3, 0.2}, 1, 1.0) == -0.5);  // plain GDL
  CHECK(jule_step_loss({0.5, 0.3, 0.2}, 5, 0.0) == -0.5);
  CHECK(error_message([] { (void)jule_step_loss({0.5}, 0, 1.0); }).find("K_c") != std::string::npos);
}

TEST_CASE("gdl_graph and nearest_neighbor_clusters: points on a line") {
  // 0, 1, 1.5 | 10, 10.2 | 30, 31: nearest neighbours stay inside each group.
  const Tensor x = tensor({0.0, 1.0, 1.5, 10.0, 10.2, 30.0, 31.0}, {7, 1}, kFloat64);
  const GdlGraph g = gdl_graph(x, {.n_neighbors = 2, .a = 1.0});
  CHECK(g.weights.nnz() == 14);
  CHECK(nearest_neighbor_clusters(g) == std::vector<std::int64_t>{0, 0, 0, 1, 1, 2, 2});
  // sigma^2 is the mean squared distance to the 2 neighbours (a = 1), and w = exp(-d^2 / sigma^2).
  double total = 0.0;
  const double d2[7][2] = {{1, 2.25}, {0.25, 1}, {0.25, 2.25}, {0.04, 8.5 * 8.5}, {0.04, 8.7 * 8.7}, {1, 19.8 * 19.8},
                           {1, 20.8 * 20.8}};
  for (const auto& row : d2) total += row[0] + row[1];
  CHECK(g.sigma2 == doctest::Approx(total / 14));
  CHECK(cake::testing::values(g.weights.to_dense())[1] == doctest::Approx(std::exp(-1.0 / g.sigma2)));  // w_01
  CHECK(error_message([&] { gdl_graph(x, {.n_neighbors = 7}); }).find("K_s") != std::string::npos);
}

TEST_CASE("GdlAgglomeration: the same merges as a brute-force agglomeration") {
  for (std::uint64_t seed : {1, 2, 3}) {
    for (const GdlMergeOptions o : {GdlMergeOptions{.k_c = 5, .lambda = 1.0}, GdlMergeOptions{.k_c = 1, .lambda = 0.0},
                                    GdlMergeOptions{.k_c = 5, .lambda = 1.0, .k_c_above = 8}}) {
      CAPTURE(seed);
      CAPTURE(o.k_c);
      CAPTURE(o.k_c_above);
      manual_seed(seed);
      // Three blobs in the plane, 25 points each.
      Tensor x = randn({75, 2}, kFloat64);
      for (int c = 0; c < 3; ++c) x.narrow(0, 25 * c, 25).narrow(1, 0, 1).add_(4.0 * c);
      const GdlGraph g = gdl_graph(x, {.n_neighbors = 6});
      const std::vector<std::int64_t> start = nearest_neighbor_clusters(g);
      const std::int64_t leaves = *std::max_element(start.begin(), start.end()) + 1;
      REQUIRE(leaves > 10);
      GdlAgglomeration engine(g, start, o);
      const std::vector<GdlMerge> fast = engine.merge_until(3);
      const std::vector<GdlMerge> slow = brute_force(g, start, leaves, 3, o);
      REQUIRE(fast.size() == slow.size());
      for (std::size_t t = 0; t < fast.size(); ++t) {
        CAPTURE(t);
        CHECK(fast[t].a == slow[t].a);
        CHECK(fast[t].b == slow[t].b);
        CHECK(fast[t].node == slow[t].node);
        CHECK(fast[t].affinity == doctest::Approx(slow[t].affinity).epsilon(1e-9));
        CHECK(fast[t].loss == doctest::Approx(slow[t].loss).epsilon(1e-9));
      }
      // The kept sums (with the cross terms of every merge) still equal the formula.
      const std::vector<std::int64_t> nodes = engine.labels();
      const std::set<std::int64_t> alive(nodes.begin(), nodes.end());
      for (std::int64_t a : alive)
        for (std::int64_t b : alive)
          if (a != b) CHECK(engine.affinity(a, b) == doctest::Approx(gdl_affinity(g.weights, nodes, a, b)).epsilon(1e-9));
      // The tree replays to the engine's clusters.
      CHECK(labels_after(start, leaves, fast, static_cast<std::int64_t>(fast.size())) == engine.compact_labels());
      CHECK(labels_after(start, leaves, fast, 0) == start);
    }
  }
}

TEST_CASE("GdlAgglomeration: bad labels are refused") {
  const GdlGraph g = gdl_graph(hand_graph());
  CHECK(error_message([&] { GdlAgglomeration(g, {0, 0, 2, 2}); }).find("missing") != std::string::npos);
  CHECK(error_message([&] { GdlAgglomeration(g, {0, 0, 1}); }).find("labels") != std::string::npos);
  CHECK(error_message([&] { GdlAgglomeration(g, {0, 0, 1, 1}, {.k_c = 0}); }).find("K_c") != std::string::npos);
  CHECK(error_message([&] { GdlAgglomeration(g, {0, 0, 1, 1}, {.k_c_above = -1}); }).find("k_c_above") != std::string::npos);
}

TEST_CASE("GdlAgglomeration: k_c_above hands the last merges to plain graph degree linkage") {
  manual_seed(4);
  Tensor x = randn({90, 2}, kFloat64);
  for (int c = 0; c < 3; ++c) x.narrow(0, 30 * c, 30).narrow(1, 0, 1).add_(3.0 * c);
  const GdlGraph g = gdl_graph(x, {.n_neighbors = 6});
  const std::vector<std::int64_t> start = nearest_neighbor_clusters(g);
  const std::int64_t leaves = *std::max_element(start.begin(), start.end()) + 1;
  const auto merges = [&](GdlMergeOptions o) { return GdlAgglomeration(g, start, o).merge_until(2); };
  const std::vector<GdlMerge> with_k_c = merges({.k_c = 5, .lambda = 1.0});
  const std::vector<GdlMerge> plain = merges({.k_c = 1, .lambda = 0.0});
  const std::vector<GdlMerge> switched = merges({.k_c = 5, .lambda = 1.0, .k_c_above = 12});
  const auto same_pairs = [](const std::vector<GdlMerge>& p, const std::vector<GdlMerge>& q, std::size_t from, std::size_t to) {
    for (std::size_t t = from; t < to; ++t)
      if (p[t].a != q[t].a || p[t].b != q[t].b) return false;
    return true;
  };
  REQUIRE(leaves > 12);
  const auto crossing = static_cast<std::size_t>(leaves - 12);  // merges made while more than 12 remain
  REQUIRE(switched.size() == with_k_c.size());
  // Before the threshold the K_c criterion decides, so the first merges are with_k_c's.
  CHECK(same_pairs(switched, with_k_c, 0, crossing));
  // From 12 clusters on every merge joins the pair of highest affinity, loss = -affinity.
  for (std::size_t t = crossing; t < switched.size(); ++t) CHECK(switched[t].loss == doctest::Approx(-switched[t].affinity));
  // With the threshold above every cluster count it is plain GDL throughout.
  const std::vector<GdlMerge> always_plain = merges({.k_c = 5, .lambda = 1.0, .k_c_above = leaves});
  CHECK(same_pairs(always_plain, plain, 0, plain.size()));
}
