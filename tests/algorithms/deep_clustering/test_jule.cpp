// Tests for algorithms/deep_clustering/jule.h: the network's shape and unit features, the
// triplets of a batch and the triplet loss against hand computations (and a float64 gradient
// check), the period schedule, a tiny run that recovers two kinds of images, and a resumed run
// that ends bit for bit where an uninterrupted one does (weights, merges and labels).
#include <filesystem>
#include <set>

#include "cake/algorithms/deep_clustering/jule.h"
#include "cake/algorithms/metrics/metrics.h"
#include "cake/autograd/ops.h"
#include "algorithms/fixtures/half_images.h"
#include "helpers.h"

using namespace cake;
using namespace cake::deep_clustering;
using cake::testing::error_message;
using cake::testing::values;

namespace {

using cake::testing::Images;
// The shared toy set (algorithms/fixtures/half_images.h) at this test's noise and contrast.
Images jule_images(std::int64_t n, std::uint64_t seed) { return testing::half_images(n, seed, {.noise = 0.3, .brightness = 0.7}); }

JuleNetOptions tiny_jule_net() { return {.in_channels = 1, .image_size = 8, .channels = 4, .kernel = 3, .feature_dim = 8}; }

// Four-pixel images: group A (0-9) near (1, 0, 0, 0), group B (10-19) near (0.8, 0.6, 0, 0),
// and a pair of outliers (20, 21) near (0, 0.15, 1, 0).
Tensor two_groups_and_a_pair() {
  std::vector<float> pixels;
  for (int i = 0; i < 10; ++i) pixels.insert(pixels.end(), {1.0f, 0.01f * static_cast<float>(i), 0.0f, 0.005f * static_cast<float>(i % 2)});
  for (int i = 0; i < 10; ++i) pixels.insert(pixels.end(), {0.8f, 0.6f, 0.01f * static_cast<float>(i), 0.005f * static_cast<float>(i % 2)});
  pixels.insert(pixels.end(), {0.0f, 0.15f, 1.0f, 0.0f, 0.0f, 0.15f, 1.0f, 0.02f});
  return tensor(pixels, {22, 1, 2, 2});
}

}  // namespace

TEST_CASE("JuleNet: conv-bn-relu-pool, conv-bn-relu, inner product, unit rows") {
  manual_seed(0);
  JuleNet net(tiny_jule_net());
  const Tensor f = net.forward(rand({5, 1, 8, 8}));
  CHECK(f.sizes() == Shape{5, 8});
  for (double norm : values(f.square().sum(1).sqrt())) CHECK(norm == doctest::Approx(1.0));
  // The released MNIST network: 28 -> 24 -> 12 -> 8, 50 * 8 * 8 = 3200 -> 160.
  JuleNet mnist;
  std::int64_t weights = 0;
  for (const Tensor& p : mnist.parameters()) weights += p.numel();
  CHECK(weights == 50 * 25 + 2 * 50 + 50 * 50 * 25 + 2 * 50 + 3200 * 160 + 160);
  CHECK(error_message([&] { net.forward(rand({2, 1, 9, 9})); }).find("[N, 1, 8, 8]") != std::string::npos);
  CHECK(error_message([] { JuleNet({.image_size = 12}); }).find("too small") != std::string::npos);
}

TEST_CASE("batch_triplets: every same-cluster pair with its negatives of smallest key") {
  const std::vector<std::int64_t> labels{0, 0, 1, 1, 2};
  REQUIRE(count_pairs(labels) == 2);  // (0, 1) and (2, 3)
  // Row 0 (pair 0-1) chooses among 2, 3, 4 by key: 3 (0.1), 4 (0.5). Row 1 (pair 2-3) among
  // 0, 1, 4: 4 (0.1), 1 (0.2).
  const Tensor keys = tensor({0.0, 0.0, 0.9, 0.1, 0.5, 0.3, 0.2, 0.0, 0.0, 0.1}, {2, 5}, kFloat64);
  const Triplets t = batch_triplets(labels, 2, keys);
  CHECK(t.anchor == std::vector<std::int64_t>{0, 0, 2, 2});
  CHECK(t.positive == std::vector<std::int64_t>{1, 1, 3, 3});
  CHECK(t.negative == std::vector<std::int64_t>{3, 4, 4, 1});
  // More negatives than candidates: all of them.
  CHECK(batch_triplets(labels, 20, keys).size() == 6);
  CHECK(batch_triplets({0, 1, 2}, 20, Tensor()).size() == 0);  // no pair, no keys needed
  CHECK(error_message([&] { batch_triplets(labels, 2, zeros({3, 5})); }).find("[2, 5]") != std::string::npos);
}

TEST_CASE("jule_triplet_loss: max(0, gamma |a - p|^2 - |a - n|^2 + margin) by hand, and its gradient") {
  // f0 = (1, 0), f1 = (0.6, 0.8), f2 = (0, 1), f3 = (-1, 0).
  const Tensor f = tensor({1.0, 0.0, 0.6, 0.8, 0.0, 1.0, -1.0, 0.0}, {4, 2}, kFloat64);
  Triplets t;
  t.anchor = {0, 1, 2};
  t.positive = {1, 2, 3};
  t.negative = {2, 0, 1};
  // (0, 1, 2): 2 * 0.8 - 2 + 0.2 = -0.2 -> 0; (1, 2, 0): 2 * 0.4 - 0.8 + 0.2 = 0.2;
  // (2, 3, 1): 2 * 2 - 0.4 + 0.2 = 3.8. Mean 4 / 3.
  CHECK(jule_triplet_loss(f, t, 2.0, 0.2).item<double>() == doctest::Approx(4.0 / 3.0));
  // gamma = 1, margin = 0: (0.8 - 2), (0.4 - 0.8), (2 - 0.4) -> only the last, 1.6 / 3.
  CHECK(jule_triplet_loss(f, t, 1.0, 0.0).item<double>() == doctest::Approx(1.6 / 3.0));
  CHECK(jule_triplet_loss(f, Triplets{}, 2.0, 0.2).item<double>() == 0.0);
  // No hinge sits at its kink here, so finite differences apply.
  cake::testing::gradcheck([&](const std::vector<Tensor>& in) { return jule_triplet_loss(in[0], t, 2.0, 0.2); },
                           {f.clone().requires_grad_(true)});
}

TEST_CASE("jule_triplet_loss_part: the ranks' parts give the whole batch's loss and gradient") {
  // A batch of 6 in one process's order; 3 ranks of 2: rank q holds positions q and q + 3
  // (the distributed sampler's interleaving), gathered in rank order.
  manual_seed(4);
  const Tensor f = randn({6, 3}, kFloat64);
  const std::vector<std::int64_t> labels{0, 1, 0, 1, 0, 2};
  const Tensor keys = rand({count_pairs(labels), 6}, kFloat64);
  Tensor whole = f.clone().requires_grad_(true);
  const Tensor expected = jule_triplet_loss(whole, batch_triplets(labels, 2, keys), 2.0, 0.2);
  expected.backward();
  REQUIRE(expected.item<double>() > 0.0);

  const int p = 3;
  const Tensor gathered = cat({f.index_select(0, tensor(std::vector<std::int64_t>{0, 3})),
                               f.index_select(0, tensor(std::vector<std::int64_t>{1, 4})),
                               f.index_select(0, tensor(std::vector<std::int64_t>{2, 5}))}, 0);
  Tensor x = f.clone().requires_grad_(true);
  for (int q = 0; q < p; ++q) {
    const Tensor mine = x.index_select(0, tensor(std::vector<std::int64_t>{q, q + 3}));
    std::int64_t count = 0;
    const Tensor part = jule_triplet_loss_part(mine, {.features = gathered, .indices = Tensor(), .rank = q, .ranks = p},
                                               labels, 2, keys, 2.0, 0.2, &count);
    CHECK(part.item<double>() == doctest::Approx(expected.item<double>()).epsilon(1e-12));  // the same on every rank
    CHECK(count == batch_triplets(labels, 2, keys).size());
    (part / static_cast<double>(p)).backward();  // DDP's mean over the ranks
  }
  CHECK((x.grad() - whole.grad()).abs().max().item<double>() < 1e-12);
  CHECK(error_message([&] {
          jule_triplet_loss_part(f.narrow(0, 0, 4), {.features = gathered, .indices = {}, .rank = 0, .ranks = p}, labels, 2, keys, 2.0, 0.2);
        }).find("equal") != std::string::npos);
}

TEST_CASE("Jule::planned_periods: ceil(eta n_c) merges per period down to the target") {
  // eta = 0.9: 2500 -> 250 -> 25 -> 10 (the last period stops at the target).
  CHECK(Jule::planned_periods(2500, 10, 0.9) == 3);
  // eta = 0.5: 20 -> 10 -> 5 -> 2.
  CHECK(Jule::planned_periods(20, 2, 0.5) == 3);
  CHECK(Jule::planned_periods(10, 10, 0.9) == 0);
  CHECK(Jule::planned_periods(11, 10, 0.2) == 1);
}

TEST_CASE("Jule: two kinds of images, found; the tree cuts at other numbers of clusters") {
  const Images toy = jule_images(60, 1);
  manual_seed(2);
  JuleNet net(tiny_jule_net());
  Jule jule(net, {.n_clusters = 2, .k_s = 5, .eta = 0.5, .epochs_per_period = 1}, {.batch_size = 20, .seed = 3});
  std::vector<JulePeriod> seen;
  jule.on_period_end([&](const JulePeriod& p) { seen.push_back(p); });
  jule.fit(toy.x, toy.labels);
  const Tensor labels = jule.labels();
  REQUIRE(labels.sizes() == Shape{60});
  const std::vector<double> found = values(labels);
  CHECK(std::set<double>(found.begin(), found.end()).size() == 2);
  CHECK(metrics::acc(toy.labels, labels) >= 0.95);
  // Every period was reported; the last one reached the target; merges form the tree.
  REQUIRE(seen.size() == jule.periods().size());
  CHECK(seen.front().period == 0);
  CHECK(seen.back().clusters == 2);
  CHECK(static_cast<std::int64_t>(jule.merges().size()) == jule.n_leaves() - 2);
  for (std::size_t p = 1; p < seen.size(); ++p) CHECK(seen[p].merge_loss < 0.0);
  const std::vector<double> at_5 = values(jule.labels_at(5));
  CHECK(std::set<double>(at_5.begin(), at_5.end()).size() == 5);
  CHECK(values(jule.labels_at(2)) == values(labels));
  CHECK(error_message([&] { (void)jule.labels_at(1); }).find("cut") != std::string::npos);
  CHECK(jule.epochs().size() == static_cast<std::size_t>(Jule::planned_periods(jule.n_leaves(), 2, 0.5)));
}

TEST_CASE("Jule merge_isolated: two outlying images join the closest group instead of ending as a cluster") {
  // Four-pixel images (L2-normalised for the graph): group A near (1, 0, 0, 0), group B near
  // (0.8, 0.6, 0, 0), 0.63 away, and a pair of outliers near (0, 0.15, 1, 0), 1.35 from B and
  // 1.41 from A. With K_s = 12 every A or B image points at the 9 of its group and 3 of the
  // other, never at the outliers, so the pair has no affinity with anything: graph degree
  // linkage cannot merge it, and at 2 clusters it joins A and B together and leaves the pair.
  const Tensor images = two_groups_and_a_pair();
  auto run = [&](bool merge_isolated, double min_cluster_fraction) {
    JuleNet net({.in_channels = 1, .image_size = 2, .channels = 2, .kernel = 1, .feature_dim = 2});
    Jule jule(net,
              {.n_clusters = 2, .k_s = 12, .merge_isolated = merge_isolated, .min_cluster_fraction = min_cluster_fraction,
               .update_cnn = false},
              {.seed = 0});
    jule.fit(images);
    return std::make_pair(values(jule.labels()), jule.periods().back().centroid_merges);
  };
  const auto [plain, plain_centroid] = run(false, 0.0);
  CHECK(plain[0] == plain[10]);   // A and B merged
  CHECK(plain[20] != plain[0]);   // the pair survived as the second cluster
  CHECK(plain_centroid == 0);
  const auto [joined, centroid] = run(true, 0.0);
  CHECK(joined[20] == joined[10]);  // the pair joined B, the closer centroid
  CHECK(joined[21] == joined[10]);
  CHECK(joined[0] != joined[10]);   // A and B stay apart
  CHECK(centroid == 1);
  // The default fraction (0.05 of 22 / 2 images: a minimum size of 1) changes nothing here.
  CHECK(run(false, 0.05).first == plain);
}

TEST_CASE("Jule min_cluster_fraction: an outlying pair does not count as one of the final clusters") {
  // The data of the test above; here the pair is weakly linked rather than isolated in general,
  // and the rule looks at sizes only: with min_cluster_fraction 0.3 a final cluster needs
  // ceil(0.3 x 22 / 2) = 4 images, so the merges stop at A, B and the pair (two large
  // clusters), and the pair then joins B, the closer centroid.
  const Tensor images = two_groups_and_a_pair();
  JuleNet net({.in_channels = 1, .image_size = 2, .channels = 2, .kernel = 1, .feature_dim = 2});
  Jule jule(net, {.n_clusters = 2, .k_s = 12, .min_cluster_fraction = 0.3, .update_cnn = false}, {.seed = 0});
  jule.fit(images);
  const std::vector<double> labels = values(jule.labels());
  CHECK(labels[20] == labels[10]);
  CHECK(labels[21] == labels[10]);
  CHECK(labels[0] != labels[10]);
  for (int i = 1; i < 10; ++i) CHECK(labels[i] == labels[0]);
  for (int i = 11; i < 20; ++i) CHECK(labels[i] == labels[10]);
  CHECK(jule.periods().back().centroid_merges == 1);
  CHECK(jule.periods().back().clusters == 2);
  CHECK(error_message([&] { Jule(net, {.min_cluster_fraction = -0.1}, {}); }).find("min_cluster_fraction") != std::string::npos);
  // Refused when the Jule is made, not at the first period's merges after the first graph.
  CHECK(error_message([&] { Jule(net, {.k_c_above = -1}, {}); }).find("k_c_above") != std::string::npos);
}

TEST_CASE("Jule: N epochs equal N/2 epochs, a checkpoint and a resume, bit for bit") {
  const Images toy = jule_images(60, 4);
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / "cake_test_jule_resume";
  std::filesystem::remove_all(dir);
  auto run = [&](std::int64_t epochs, const std::string& checkpoint, const std::string& resume) {
    manual_seed(5);
    auto net = std::make_shared<JuleNet>(tiny_jule_net());
    Jule jule(*net, {.n_clusters = 2, .k_s = 5, .eta = 0.5, .epochs_per_period = 2},
              {.epochs = epochs, .batch_size = 20, .seed = 6, .checkpoint_path = checkpoint, .resume_from = resume});
    jule.fit(toy.x, toy.labels);
    return std::make_tuple(net, jule.merges(), values(jule.labels()), jule.epochs());
  };
  const auto [straight, straight_merges, straight_labels, straight_epochs] = run(100, (dir / "a.safetensors").string(), "");
  REQUIRE(straight_epochs.size() >= 4);
  // Stopped after 3 epochs: in the middle of the second period.
  run(3, (dir / "b.safetensors").string(), "");
  const auto [resumed, resumed_merges, resumed_labels, resumed_epochs] =
      run(100, (dir / "b.safetensors").string(), (dir / "b.safetensors").string());
  const auto a = straight->state_dict(), b = resumed->state_dict();
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    CAPTURE(a[i].first);
    CHECK(values(a[i].second) == values(b[i].second));
  }
  REQUIRE(straight_merges.size() == resumed_merges.size());
  for (std::size_t t = 0; t < straight_merges.size(); ++t) {
    CHECK(straight_merges[t].a == resumed_merges[t].a);
    CHECK(straight_merges[t].b == resumed_merges[t].b);
    CHECK(straight_merges[t].affinity == resumed_merges[t].affinity);
  }
  CHECK(straight_labels == resumed_labels);
  REQUIRE(straight_epochs.size() == resumed_epochs.size());
  for (std::size_t e = 0; e < straight_epochs.size(); ++e) CHECK(straight_epochs[e].loss == resumed_epochs[e].loss);
  std::filesystem::remove_all(dir);
}
