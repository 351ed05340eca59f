// Tests for algorithms/deep_clustering/deepcluster.h: each step on tiny data with a known
// answer (PCA-whitening + L2, k-means with the empty-cluster and giant-cluster rules, the
// pseudo-labels feeding the uniform sampler, the head re-initialised every epoch), the loss
// falling, and a resumed run ending bit for bit where an uninterrupted one does.
#include <cmath>
#include <filesystem>
#include <map>
#include <set>

#include "cake/algorithms/decomposition/pca.h"
#include "cake/algorithms/deep_clustering/deepcluster.h"
#include "cake/algorithms/metrics/metrics.h"
#include "cake/data/sampler.h"
#include "helpers.h"

using namespace cake;
using namespace cake::deep_clustering;
using cake::networks::ConvNet;
using cake::networks::ConvNetOptions;
using cake::testing::error_message;
using cake::testing::values;

namespace {

// Points of `sizes.size()` tight blobs around far-apart centres (blob b at 10 b on axis b % d).
struct FeatureBlobs {
  Tensor x, labels;
};
FeatureBlobs blobs(const std::vector<std::int64_t>& sizes, std::int64_t d, double spread, std::uint64_t seed) {
  manual_seed(seed);
  std::vector<Tensor> parts;
  std::vector<std::int64_t> labels;
  for (std::size_t b = 0; b < sizes.size(); ++b) {
    Tensor centre = zeros({1, d});
    centre.narrow(1, static_cast<std::int64_t>(b) % d, 1).fill_(10.0 * static_cast<double>(b + 1));
    parts.push_back(centre + randn({sizes[b], d}) * spread);
    for (std::int64_t i = 0; i < sizes[b]; ++i) labels.push_back(static_cast<std::int64_t>(b));
  }
  return {cat(parts, 0), tensor(labels, {static_cast<std::int64_t>(labels.size())})};
}

// n 8x8 images of 4 prototypes (bright quadrants), pixel (0, 0) holding the image's index / 1000
// so that a spy on the training batches can tell which images it saw.
struct QuadrantImages {
  Tensor x, labels;
};
QuadrantImages quadrant_images(std::int64_t n, std::uint64_t seed) {
  manual_seed(seed);
  Tensor x = rand({n, 1, 8, 8}) * 0.2;
  std::vector<std::int64_t> labels;
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t q = i % 4;
    labels.push_back(q);
    x.narrow(0, i, 1).narrow(2, (q / 2) * 4, 4).narrow(3, (q % 2) * 4, 4).add_(0.8);
    x.narrow(0, i, 1).narrow(2, 0, 1).narrow(3, 0, 1).fill_(static_cast<double>(i) / 1000.0);
  }
  return {x, tensor(labels, {n})};
}

std::int64_t index_of(const Tensor& image) {
  return static_cast<std::int64_t>(std::llround(image.narrow(2, 0, 1).narrow(3, 0, 1).item<double>() * 1000.0));
}

ConvNetOptions tiny_vgg(std::int64_t outputs) {
  return {.arch = "vgg", .sobel = false, .image_size = 8, .hidden = 16, .num_outputs = outputs};
}

}  // namespace

TEST_CASE("preprocess_features: PCA-whitened to min(dim, D, N - 1) columns of unit rows") {
  manual_seed(0);
  const Tensor f = randn({50, 12}) * tensor({1.0, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, {1, 12});
  const Tensor x = preprocess_features(f, 5);
  CHECK(x.sizes() == Shape{50, 5});
  CHECK(x.dtype() == kFloat32);
  for (double norm : values(x.square().sum(1).sqrt())) CHECK(norm == doctest::Approx(1.0).epsilon(1e-5));
  CHECK(preprocess_features(f, 256).size(1) == 12);
  CHECK(preprocess_features(f.narrow(0, 0, 6), 256).size(1) == 5);
  CHECK(error_message([&] { preprocess_features(f.reshape({600}), 4); }).find("[N >= 2, D]") != std::string::npos);
}

TEST_CASE("cluster_features: well-separated blobs give the blobs, their means and the exact objective") {
  const FeatureBlobs data = blobs({30, 20, 10}, 3, 0.1, 1);
  manual_seed(5);
  const PseudoLabels result = cluster_features(data.x, {.n_clusters = 3});
  CHECK(metrics::nmi(data.labels, result.labels) == doctest::Approx(1.0));
  CHECK(result.empty_splits == 0);
  CHECK(result.giant_splits == 0);
  // Centroids are the clusters' means; the objective is the sum of squared distances to them.
  double objective = 0.0;
  const std::vector<double> label_values = values(result.labels);
  const std::vector<std::int64_t> y(label_values.begin(), label_values.end());
  for (std::int64_t c = 0; c < 3; ++c) {
    std::vector<std::int64_t> members;
    for (std::int64_t i = 0; i < 60; ++i)
      if (y[i] == c) members.push_back(i);
    const Tensor points = index_select(data.x, 0, tensor(members, {static_cast<std::int64_t>(members.size())}));
    const Tensor mean = points.mean(0, true);
    cake::testing::check_close(result.centroids.narrow(0, c, 1), mean, 1e-5, 1e-5);
    objective += (points - mean).square().sum().item<double>();
  }
  CHECK(result.objective == doctest::Approx(objective).epsilon(1e-5));
}

TEST_CASE("cluster_features: an empty cluster is refilled by splitting another (Caron et al. 2018, 3.3)") {
  // 30 copies of one point and 30 distinct points of a second blob: whenever two initial
  // centroids are copies of the same point, one cluster comes out empty; the copies cannot be
  // split, so the second blob must give half of itself.
  Tensor x = cat({zeros({30, 2}), full({30, 2}, 5.0) + randn({30, 2}) * 0.5}, 0);
  std::int64_t refilled = 0;
  for (std::uint64_t seed = 0; seed < 20; ++seed) {
    manual_seed(seed);
    const PseudoLabels r = cluster_features(x, {.n_clusters = 3, .max_iter = 5});
    refilled += r.empty_splits;
    const std::vector<double> y = values(r.labels);
    CHECK(std::set<double>(y.begin(), y.end()).size() == 3);  // no empty cluster in the end
    // The copies share one cluster that no point of the other blob is in.
    CHECK(std::set<double>(y.begin(), y.begin() + 30).size() == 1);
    CHECK(std::set<double>(y.begin() + 30, y.end()).count(y[0]) == 0);
  }
  CHECK(refilled > 0);
}

TEST_CASE("cluster_features: the giant-cluster guard splits a cluster holding more than giant_fraction") {
  const FeatureBlobs data = blobs({90, 5, 5}, 2, 1.0, 2);
  manual_seed(3);
  const PseudoLabels plain = cluster_features(data.x, {.n_clusters = 3, .giant_fraction = 1.0});
  CHECK(plain.giant_splits == 0);
  CHECK(bincount(plain.labels).max().item<std::int64_t>() == 90);
  manual_seed(3);
  const PseudoLabels guarded = cluster_features(data.x, {.n_clusters = 3, .giant_fraction = 0.5});
  CHECK(guarded.giant_splits > 0);
  CHECK(bincount(guarded.labels).max().item<std::int64_t>() < 90);
}

TEST_CASE("pseudo-labels from k-means feed the uniform sampler: every cluster is drawn equally often") {
  const FeatureBlobs data = blobs({60, 30, 9}, 3, 0.1, 4);
  manual_seed(0);
  const PseudoLabels r = cluster_features(data.x, {.n_clusters = 3});
  // 99 draws over 3 labels: 34 per label pooled (floor(99 / 3) + 1), shuffled, cut to 99.
  const Tensor order = data::UniformLabelSampler(r.labels, 99, 7)(0);
  const Tensor counts = bincount(index_select(r.labels, 0, order), {}, 3);
  for (double c : values(counts)) {
    CHECK(c >= 31);
    CHECK(c <= 34);
  }
}

TEST_CASE("DeepCluster: the training batches sample the pseudo-labels uniformly; the head is re-initialised") {
  const QuadrantImages toy = quadrant_images(64, 5);
  manual_seed(6);
  ConvNet net(tiny_vgg(8));
  std::vector<std::int64_t> seen;
  std::vector<double> head_std_at_epoch_start, head_bias_at_epoch_start;
  std::int64_t calls = 0;
  DeepClusterOptions options{.n_clusters = 8, .pca_dim = 8};
  options.augment = [&](Tensor x) {
    // Batch 16 of 64 images: calls 0, 4, 8 start an epoch, right after the head was reset.
    if (calls++ % 4 == 0) {
      head_std_at_epoch_start.push_back(net.head()->weight.to(kFloat64).std().item<double>());
      head_bias_at_epoch_start.push_back(net.head()->bias.abs().max().item<double>());
    }
    for (std::int64_t i = 0; i < x.size(0); ++i) seen.push_back(index_of(x.narrow(0, i, 1)));
    return x;
  };
  DeepCluster dc(net, options, {.epochs = 3, .batch_size = 16, .seed = 9});
  std::vector<Tensor> labels_per_epoch;
  dc.on_epoch_end([&](const DeepClusterEpoch&) { labels_per_epoch.push_back(dc.pseudo_labels().clone()); });
  dc.fit(toy.x, toy.labels);
  REQUIRE(labels_per_epoch.size() == 3);
  REQUIRE(seen.size() == 3 * 64);
  for (std::size_t e = 0; e < 3; ++e) {
    // The epoch's 64 draws spread over the non-empty pseudo-labels: 64 / K + 1 per label, cut.
    const std::vector<double> y = values(labels_per_epoch[e]);
    std::map<std::int64_t, std::int64_t> per_label;
    for (std::size_t i = e * 64; i < (e + 1) * 64; ++i) ++per_label[static_cast<std::int64_t>(y[seen[i]])];
    const std::int64_t k = static_cast<std::int64_t>(std::set<double>(y.begin(), y.end()).size());
    const std::int64_t cap = 64 / k + 1;
    CHECK(static_cast<std::int64_t>(per_label.size()) == k);
    for (const auto& [label, count] : per_label) {
      CHECK(count <= cap);
      CHECK(count >= cap - (k * cap - 64));
    }
    CHECK(head_std_at_epoch_start[e] == doctest::Approx(0.01).epsilon(0.3));
    CHECK(head_bias_at_epoch_start[e] == 0.0);
  }
  // The log: epoch 1 has no previous assignment; later epochs compare with it.
  const auto& h = dc.history();
  REQUIRE(h.size() == 3);
  CHECK(std::isnan(h[0].nmi_previous));
  CHECK(h[1].nmi_previous >= 0.0);
  CHECK(h[1].nmi_previous <= 1.0);
  CHECK(h[2].acc_classes > 0.0);
  CHECK(h[2].smallest_cluster >= 1);
  CHECK(dc.embed(toy.x).sizes() == Shape{64, 8});
}

TEST_CASE("DeepCluster: the score's k-means clusters step 2's whitened rows, or unit-length features") {
  const QuadrantImages toy = quadrant_images(40, 12);
  manual_seed(13);
  ConvNet net(tiny_vgg(4));
  const Tensor raw = networks::features_all(net, toy.x).to(kFloat64);
  REQUIRE(raw.pow(2.0).sum(1).min().item<double>() > 0.0);  // no row of zeros, so every row has a direction
  DeepCluster whitened(net, {.n_clusters = 4, .pca_dim = 3}, {.epochs = 1, .batch_size = 8, .seed = 1});
  CHECK(whitened.options().eval_whiten);  // the default: the space the pseudo-labels come from
  CHECK(whitened.evaluation_features(toy.x).sizes() == Shape{40, 3});
  CHECK((whitened.evaluation_features(toy.x) - whitened.embed(toy.x)).abs().max().item<double>() == 0.0);

  DeepCluster plain(net, {.n_clusters = 4, .pca_dim = 3, .eval_whiten = false}, {.epochs = 1, .batch_size = 8, .seed = 1});
  const Tensor scored = plain.evaluation_features(toy.x).to(kFloat64);
  REQUIRE(scored.sizes() == raw.sizes());  // every feature kept: no PCA
  CHECK(((scored.pow(2.0).sum(1).sqrt()) - 1.0).abs().max().item<double>() < 1e-5);
  // The same direction as the raw features: each row is its feature row over its length.
  const Tensor expected = raw / raw.pow(2.0).sum(1, true).sqrt();
  CHECK((scored - expected).abs().max().item<double>() < 1e-5);
}

TEST_CASE("evaluation_rows: held-out rows go through the whitening fitted on the training rows") {
  manual_seed(14);
  const Tensor scale = tensor({4.0, 3, 2, 1, 0.5, 0.25}, {1, 6});
  const Tensor train = randn({60, 6}) * scale + 1.0;
  const Tensor held_out = randn({20, 6}) * scale + 1.0;
  const Tensor rows = evaluation_rows(held_out, true, 3, train).to(kFloat64);
  REQUIRE(rows.sizes() == Shape{20, 3});
  // By hand: centre with the training mean, project on the training components, divide by
  // the training standard deviations, then unit rows.
  decomposition::PCA pca({.n_components = 3, .whiten = true, .random_state = 0});
  pca.fit(train);
  const Tensor z = (held_out - pca.mean().reshape({1, 6})).to(kFloat64).matmul(pca.components().to(kFloat64).t()) /
                   pca.explained_variance().sqrt().reshape({1, 3});
  const Tensor expected = z / z.pow(2.0).sum(1, true).sqrt();
  CHECK((rows - expected).abs().max().item<double>() < 1e-4);
  // Without training rows the whitening is the rows' own (step 2).
  CHECK((evaluation_rows(held_out, true, 3) - preprocess_features(held_out, 3)).abs().max().item<double>() == 0.0);
  // A whitening fitted on rows of another width is refused with both shapes named.
  const std::string message = error_message([&] { evaluation_rows(held_out, true, 3, randn({10, 5})); });
  CHECK(message.find("[10, 5]") != std::string::npos);
  CHECK(message.find("[N >= 2, 6]") != std::string::npos);
}

TEST_CASE("DeepCluster: the cross-entropy against the pseudo-labels falls over a few epochs on a tiny set") {
  const QuadrantImages toy = quadrant_images(128, 7);
  manual_seed(8);
  ConvNet net(tiny_vgg(4));
  DeepCluster dc(net, {.n_clusters = 4, .pca_dim = 8}, {.epochs = 4, .batch_size = 16, .seed = 1});
  dc.fit(toy.x, toy.labels);
  const auto& h = dc.history();
  REQUIRE(h.size() == 4);
  CHECK(h[0].loss > h[3].loss);
  CHECK(h[3].loss < std::log(4.0));
}

TEST_CASE("DeepCluster: N epochs equal N/2 epochs, a checkpoint and a resume, bit for bit") {
  const QuadrantImages toy = quadrant_images(48, 9);
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / "cake_test_deepcluster_resume";
  std::filesystem::remove_all(dir);
  auto run = [&](std::int64_t epochs, const std::string& checkpoint, const std::string& resume) {
    manual_seed(10);
    auto net = std::make_shared<ConvNet>(tiny_vgg(6));
    DeepClusterOptions options{.n_clusters = 6, .pca_dim = 8};
    options.augment = [](Tensor x) { return x + randn(x.sizes()) * 0.01; };  // draws from the generator
    DeepCluster dc(*net, options,
                   {.epochs = epochs, .batch_size = 16, .seed = 3, .checkpoint_path = checkpoint, .resume_from = resume});
    dc.fit(toy.x, toy.labels);
    return std::make_tuple(net, dc.pseudo_labels(), dc.history());
  };
  const auto [straight, straight_labels, straight_history] = run(4, (dir / "a.safetensors").string(), "");
  run(2, (dir / "b.safetensors").string(), "");
  const auto [resumed, resumed_labels, resumed_history] =
      run(4, (dir / "b.safetensors").string(), (dir / "b.safetensors").string());
  const auto a = straight->state_dict(), b = resumed->state_dict();
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    CAPTURE(a[i].first);
    CHECK(values(a[i].second) == values(b[i].second));
  }
  CHECK(values(straight_labels) == values(resumed_labels));
  REQUIRE(resumed_history.size() == 4);  // the first two epochs came from the checkpoint
  for (std::size_t e = 0; e < 4; ++e) {
    CHECK(straight_history[e].loss == resumed_history[e].loss);
    CHECK(straight_history[e].kmeans_objective == resumed_history[e].kmeans_objective);
  }
  std::filesystem::remove_all(dir);
}
