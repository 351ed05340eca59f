// <cake/cake.h> alone is enough for every public estimator: this file includes nothing else of
// Cake's (only the test framework) and uses each one once, by its family namespace.
#include <cmath>

#include <doctest/doctest.h>

#include <cake/cake.h>

using namespace cake;

namespace {
// Two groups of 20 points in 4-D, non-negative (for NMF), float64.
Tensor two_groups() {
  manual_seed(1);
  Tensor x = rand({40, 4}, kFloat64);
  return cat({x.narrow(0, 0, 20), x.narrow(0, 20, 20) + 5.0}, 0);
}
}  // namespace

TEST_CASE("the clusterers, through cake/cake.h") {
  const Tensor x = two_groups();
  CHECK(cluster::KMeans({.n_clusters = 2, .random_state = 0}).fit_predict(x).sizes() == Shape{40});
  CHECK(cluster::LloydKMeans({.n_clusters = 2, .random_state = 0}).fit_predict(x).sizes() == Shape{40});
  CHECK(cluster::MiniBatchKMeans({.n_clusters = 2, .batch_size = 16, .random_state = 0}).fit_predict(x).sizes() ==
        Shape{40});
  CHECK(cluster::AgglomerativeClustering({.n_clusters = 2}).fit_predict(x).sizes() == Shape{40});
  CHECK(cluster::SpectralClustering({.n_clusters = 2, .gamma = 0.1, .random_state = 0}).fit_predict(x).sizes() ==
        Shape{40});
  CHECK(cluster::LandmarkSpectralClustering({.n_clusters = 2, .n_landmarks = 10, .random_state = 0})
            .fit_predict(x)
            .sizes() == Shape{40});
  CHECK(cluster::SparseSubspaceClustering({.n_clusters = 2, .random_state = 0}).fit_predict(x).sizes() == Shape{40});
  CHECK(cluster::GraphAgglomerativeClustering({.n_clusters = 2, .n_neighbors = 5}).fit_predict(x).sizes() == Shape{40});
  CHECK(cluster::DBSCAN({.eps = 2.0, .min_samples = 3}).fit_predict(x).sizes() == Shape{40});
  CHECK(mixture::GaussianMixture({.n_components = 2, .random_state = 0}).fit_predict(x).sizes() == Shape{40});
  CHECK(cluster::make_clusterer("gmm", {{"n_clusters", 2}, {"random_state", 0}})->fit_predict(x).sizes() == Shape{40});
  CHECK(deep_clustering::cluster_codes(x, {.n_clusters = 2, .n_init = 1}).sizes() == Shape{40});
}

TEST_CASE("decompositions and embeddings, through cake/cake.h") {
  const Tensor x = two_groups();
  CHECK(decomposition::PCA({.n_components = 2}).fit_transform(x).sizes() == Shape{40, 2});
  CHECK(decomposition::NMF({.n_components = 2, .random_state = 0}).fit_transform(x).sizes() == Shape{40, 2});
  CHECK(decomposition::DeepSemiNMF({.layers = {3, 2}, .random_state = 0}).fit_transform(x).sizes() == Shape{40, 2});
  CHECK(cluster::NMFClustering({.n_clusters = 2, .random_state = 0}).fit_predict(x).sizes() == Shape{40});
  CHECK(decomposition::FastICA({.n_components = 2, .random_state = 0}).fit_transform(x).sizes() == Shape{40, 2});
  decomposition::DictionaryLearning dictionary({.n_components = 3, .max_iter = 5, .random_state = 0});
  CHECK(dictionary.fit_transform(x).sizes() == Shape{40, 3});
  CHECK(decomposition::SparseCoder(dictionary.components()).transform(x).sizes() == Shape{40, 3});
  CHECK(manifold::TSNE({.perplexity = 5.0, .n_iter = 250, .random_state = 0}).fit_transform(x).sizes() == Shape{40, 2});
  CHECK(neighbors::kneighbors_graph(x, 3).n == 40);
  const Tensor probabilities = x / 6.0;  // in [0, 1], as the RBM's binary visible units need
  CHECK(generative::RBM({.n_components = 3, .n_iter = 2, .random_state = 0}).fit(probabilities).transform(probabilities).sizes() ==
        Shape{40, 3});
  generative::DBNOptions dbn_options{.layer_sizes = {3, 2}, .random_state = 0};
  dbn_options.rbm.n_iter = 2;
  CHECK(generative::DeepBeliefNetwork(dbn_options).fit(probabilities).transform(probabilities).sizes() == Shape{40, 2});
  generative::MADE made(4, {.hidden = {8}});
  CHECK(made.log_prob((probabilities.narrow(1, 0, 4) > Scalar(0.5)).to(kFloat32)).sizes() == Shape{40});
  generative::DBMOptions dbm_options{.layer_sizes = {3, 2}, .n_iter = 2, .random_state = 0};
  dbm_options.pretraining.n_iter = 2;
  CHECK(generative::DeepBoltzmannMachine(dbm_options).fit(probabilities).transform(probabilities).sizes() == Shape{40, 2});
  generative::RBM small_rbm({.n_components = 3, .n_iter = 2, .random_state = 0});
  small_rbm.fit(probabilities);
  CHECK(std::isfinite(generative::ais_log_partition(small_rbm, {.n_runs = 5, .betas = generative::ais_schedule(30)}).log_partition));
}

TEST_CASE("networks, training and metrics, through cake/cake.h") {
  manual_seed(0);
  auto ae = std::make_shared<networks::MLPAutoencoder>(std::vector<std::int64_t>{8}, 2, Shape{1, 4, 4});
  const Tensor images = rand({6, 1, 4, 4});
  CHECK(networks::encode_all(*ae, images).sizes() == Shape{6, 2});
  networks::MLPVAE vae({8}, 2, Shape{1, 4, 4});
  CHECK(networks::vae_loss(vae, images).total.dim() == 0);
  train::EncoderClassifier classifier(ae->encoder(), 2, 3);
  CHECK(classifier.forward(images).sizes() == Shape{6, 3});
  const Tensor truth = tensor(std::vector<std::int64_t>{0, 0, 1, 1});
  CHECK(metrics::nmi(truth, truth) == doctest::Approx(1.0));
  CHECK(metrics::linear_sum_assignment(tensor({1.0, 0.0, 0.0, 1.0}, {2, 2}, kFloat64)).total == 0.0);
  const Tensor features = tensor({0.0, 0.1, 1.0, 1.1}, {4, 1}, kFloat64);
  CHECK(train::LogisticRegression().fit(features, truth).score(features, truth) == 1.0);
}

TEST_CASE("spatial ops, attention, the deep families and distributed, through cake/cake.h") {
  manual_seed(0);
  const Tensor identity = tensor({1.0, 0.0, 0.0, 0.0, 1.0, 0.0}, {1, 2, 3}, kFloat32);
  const Tensor image = rand({1, 1, 4, 4});
  CHECK(grid_sample(image, affine_grid(identity, Shape{1, 1, 4, 4})).sizes() == Shape{1, 1, 4, 4});
  nn::MultiheadAttention attention(nn::MultiheadAttentionOptions(8, 2));
  CHECK(attention.forward(rand({2, 3, 8})).sizes() == Shape{2, 3, 8});
  CHECK(capsules::pose_to_affine(rand({5, 6})).sizes() == Shape{5, 6});

  const Tensor points = cat({rand({12, 2}, kFloat64), rand({12, 2}, kFloat64) + 10.0}, 0);
  CHECK(cluster::gdl_graph(points, {.n_neighbors = 4}).nearest.size() == 24);

  contrastive::KeyQueue queue(4, 3);
  queue.enqueue(rand({3, 3}));
  CHECK(queue.pointer() == 3);
  CHECK(generative::sample_latent(generative::LatentSpec{}, 5, std::uint64_t{7}).noise.sizes() == Shape{5, 62});

  distributed::ProcessGroup& group = distributed::default_group();
  CHECK(group.world_size() >= 1);
  if (group.world_size() == 1) {
    const Tensor classes = tensor(std::vector<std::int64_t>{0, 0, 1, 1});
    CHECK(distributed::clustering_scores(group, classes, classes).nmi == doctest::Approx(1.0));
    auto net = std::make_shared<nn::Sequential>(nn::Conv2d(1, 2, 3), nn::BatchNorm2d(2));
    CHECK(distributed::convert_sync_batchnorm(*net, group) == 1);
  }
}
