// Tests of N2D (algorithms/deep_clustering/n2d.h; McConville et al. 2020): on data whose clusters
// are not round blobs (two interleaved half-moons, lifted to 10-D) the UMAP + GMM pipeline
// recovers them where k-means on the raw coordinates cannot; the autoencoder entry point is the
// codes entry point on encode_all's codes; options are checked.
#include <cmath>

#include "cake/algorithms/cluster/kmeans.h"
#include "cake/algorithms/deep_clustering/n2d.h"
#include "cake/algorithms/metrics/metrics.h"
#include "cake/tensor/creation.h"
#include "cake/tensor/random.h"
#include "helpers.h"

using namespace cake;

namespace {

// Two interleaving half-circles (scikit-learn's make_moons) with Gaussian noise, in the first
// two of d coordinates (the others small noise), and the moon of each point.
std::pair<Tensor, Tensor> moons(std::int64_t per_moon, std::int64_t d, double noise, std::uint64_t seed) {
  manual_seed(seed);
  Tensor x = randn({2 * per_moon, d}, kFloat64) * noise;
  double* px = x.data_ptr<double>();
  std::vector<std::int64_t> labels;
  for (std::int64_t m = 0; m < 2; ++m)
    for (std::int64_t i = 0; i < per_moon; ++i) {
      const double t = M_PI * static_cast<double>(i) / static_cast<double>(per_moon - 1);
      const std::int64_t row = m * per_moon + i;
      px[row * d] += m == 0 ? std::cos(t) : 1.0 - std::cos(t);
      px[row * d + 1] += m == 0 ? std::sin(t) : 0.5 - std::sin(t);
      labels.push_back(m);
    }
  return {x, tensor(labels, {2 * per_moon})};
}

}  // namespace

TEST_CASE("N2D: UMAP + GMM separates two moons that k-means on the coordinates cannot") {
  auto [x, labels] = moons(250, 10, 0.05, 11);
  const double kmeans_acc =
      metrics::acc(labels, cluster::KMeans({.n_clusters = 2, .n_init = 10, .random_state = 0}).fit_predict(x));
  deep_clustering::N2D n2d({.n_clusters = 2, .n_epochs = 200, .random_state = 0});
  const Tensor found = n2d.fit_predict(x);
  const double n2d_acc = metrics::acc(labels, found);
  MESSAGE("two moons: k-means ACC " << kmeans_acc << ", N2D ACC " << n2d_acc);
  CHECK(kmeans_acc < 0.9);
  CHECK(n2d_acc > 0.98);
  CHECK(n2d.manifold().sizes() == Shape{500, 2});  // umap_dim 0: n_clusters dimensions
  CHECK(n2d.umap().options().n_neighbors == 20);
  CHECK(n2d.umap().options().min_dist == 0.0);
  CHECK(n2d.mixture().options().covariance_type == "full");
  CHECK(equal(n2d.labels(), found));
}

TEST_CASE("N2D: the autoencoder entry point clusters encode_all's codes") {
  // Four blobs of 4x4 "images" and an (untrained) MLP autoencoder: the codes are a fixed
  // nonlinear map of the images, and both entry points must agree exactly.
  manual_seed(12);
  Tensor images = rand({200, 1, 4, 4}) * 0.1;
  float* p = images.data_ptr<float>();
  for (std::int64_t i = 0; i < 200; ++i) p[i * 16 + (i % 4) * 4] += 0.9f;
  networks::MLPAutoencoder ae({16}, 3, {1, 4, 4});
  deep_clustering::N2D a({.n_clusters = 4, .n_neighbors = 10, .n_epochs = 50, .random_state = 1});
  deep_clustering::N2D b({.n_clusters = 4, .n_neighbors = 10, .n_epochs = 50, .random_state = 1});
  const Tensor from_model = a.fit_predict(ae, images);
  const Tensor from_codes = b.fit_predict(networks::encode_all(ae, images));
  CHECK(from_model.sizes() == Shape{200});
  CHECK(equal(from_model, from_codes));
  CHECK(a.manifold().sizes() == Shape{200, 4});
}

TEST_CASE("N2D: bad options and use before fitting") {
  CHECK_THROWS_WITH_AS(deep_clustering::N2D({.n_clusters = 0}), doctest::Contains("n_clusters"), Error);
  CHECK_THROWS_WITH_AS(deep_clustering::N2D({.n_neighbors = 1}), doctest::Contains("n_neighbors"), Error);
  CHECK_THROWS_WITH_AS(deep_clustering::N2D().manifold(), doctest::Contains("not fitted"), Error);
  CHECK_THROWS_WITH_AS(deep_clustering::N2D({.n_clusters = 5}).fit_predict(randn({3, 2})), doctest::Contains("3 codes"),
                       Error);
}

TEST_CASE("join_views: each view scaled to unit root-mean-square row length, then side by side") {
  // View a: rows (3, 4) and (0, 0): squared lengths 25 and 0, mean 12.5, RMS sqrt(12.5).
  // View b: rows (1) and (-1) times 10: RMS 10.
  const Tensor a = tensor(std::vector<double>{3, 4, 0, 0}, {2, 2});
  const Tensor b = tensor(std::vector<double>{10, -10}, {2, 1});
  const Tensor joined = deep_clustering::join_views({a, b});
  REQUIRE(joined.sizes() == Shape{2, 3});
  const double s = std::sqrt(12.5);
  const std::vector<double> expected{3 / s, 4 / s, 1, 0, 0, -1};
  for (std::size_t i = 0; i < expected.size(); ++i) CHECK(joined.data_ptr<double>()[i] == doctest::Approx(expected[i]));
  // After the scaling every view has mean squared row length 1.
  CHECK(joined.narrow(1, 0, 2).square().sum().item<double>() / 2 == doctest::Approx(1.0));

  CHECK_THROWS_WITH_AS(deep_clustering::join_views({}), doctest::Contains("no views"), Error);
  CHECK_THROWS_WITH_AS(deep_clustering::join_views({a, randn({3, 2})}), doctest::Contains("[3, 2]"), Error);
  CHECK_THROWS_WITH_AS(deep_clustering::join_views({a, zeros({2, 4})}), doctest::Contains("cannot be scaled"), Error);
}
