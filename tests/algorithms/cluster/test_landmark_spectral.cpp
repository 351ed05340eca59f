// Landmark-based spectral clustering (Chen & Cai 2011) and the self-tuning affinity of spectral
// clustering (Zelnik-Manor & Perona 2004): the representation's weights by hand, the embedding
// against a dense SVD of D^-1/2 Z, known answers (blobs, concentric circles, clusters of
// different densities), predict, seeds, errors.
#include "cake/algorithms/cluster/landmark_spectral.h"
#include "cake/algorithms/cluster/spectral.h"
#include "algorithms/classical2_testing.h"
#include "cake/tensor/linalg.h"

using namespace cake;
using namespace cake::cluster;
using namespace cake::testing;
namespace lsc_fx = classical2_fixtures;

namespace {

// n points around each of the given 2-D centres (standard deviation `spread`), and their labels.
std::pair<Tensor, std::vector<std::int64_t>> lsc_blobs(const std::vector<std::pair<double, double>>& centres,
                                                       const std::vector<double>& spreads, std::int64_t n,
                                                       std::uint64_t seed) {
  manual_seed(seed);
  const std::int64_t k = static_cast<std::int64_t>(centres.size());
  std::vector<double> rows;
  std::vector<std::int64_t> truth;
  const std::vector<double> noise = values(randn({k * n, 2}, kFloat64));
  for (std::int64_t c = 0; c < k; ++c)
    for (std::int64_t i = 0; i < n; ++i) {
      rows.push_back(centres[c].first + spreads[c] * noise[(c * n + i) * 2]);
      rows.push_back(centres[c].second + spreads[c] * noise[(c * n + i) * 2 + 1]);
      truth.push_back(c);
    }
  return {tensor(rows, {k * n, 2}, kFloat64), truth};
}

}  // namespace

TEST_CASE("landmark_representation: Nadaraya-Watson weights over the r nearest landmarks, by hand") {
  // Landmarks at 0, 1, 3 on a line; points at 0.2 and 2.5; r = 2.
  const Tensor landmarks = tensor({0.0, 1.0, 3.0}, {3, 1}, kFloat64);
  const Tensor x = tensor({0.2, 2.5}, {2, 1}, kFloat64);
  double h = 0.0;
  const LandmarkCodes codes = landmark_representation(x, landmarks, 2, h);
  // Distances: point 0 -> 0.2 (landmark 0), 0.8 (landmark 1); point 1 -> 0.5 (landmark 2), 1.5 (landmark 1).
  CHECK(h == doctest::Approx((0.2 + 0.8 + 0.5 + 1.5) / 4).epsilon(1e-6));
  CHECK(codes.landmark == std::vector<std::int64_t>{0, 1, 2, 1});
  const auto weight = [&](double d) { return std::exp(-d * d / (2 * h * h)); };
  const double w00 = weight(0.2) / (weight(0.2) + weight(0.8)), w12 = weight(0.5) / (weight(0.5) + weight(1.5));
  // (The k-NN search computes distances in float32: agreement to float precision.)
  CHECK(codes.weight[0] == doctest::Approx(w00).epsilon(1e-6));
  CHECK(codes.weight[1] == doctest::Approx(1 - w00).epsilon(1e-6));
  CHECK(codes.weight[2] == doctest::Approx(w12).epsilon(1e-6));
  CHECK(codes.weight[3] == doctest::Approx(1 - w12).epsilon(1e-6));
  // A given width is used as it is; a point far from every landmark still gets weights summing to 1.
  double fixed = 0.1;
  const LandmarkCodes far = landmark_representation(tensor({100.0}, {1, 1}, kFloat64), landmarks, 3, fixed);
  CHECK(fixed == 0.1);
  CHECK(far.weight[0] + far.weight[1] + far.weight[2] == doctest::Approx(1.0));
  CHECK(far.weight[0] == doctest::Approx(1.0));  // the nearest landmark (3) dominates at that width
  CHECK(contains(error_message([&] { landmark_representation(x, landmarks, 4, h); }), "n_nearest_landmarks"));
}

TEST_CASE("landmark spectral: B is the top right singular vectors of D^-1/2 Z (dense SVD)") {
  const auto [x, truth] = lsc_blobs({{0, 0}, {6, 0}, {0, 6}}, {1.0, 1.0, 1.0}, 40, 3);
  LandmarkSpectralClustering lsc({.n_clusters = 3, .n_landmarks = 25, .n_nearest_landmarks = 4,
                                  .normalize_rows = false, .random_state = 1});
  lsc.fit(x);
  // Z [p, n] and Zhat = D^-1/2 Z, built densely from the same landmarks and width.
  double h = lsc.bandwidth();
  const LandmarkCodes codes = landmark_representation(x, lsc.landmarks(), 4, h);
  const std::int64_t p = 25, n = 120, r = 4;
  std::vector<double> z(static_cast<std::size_t>(p * n), 0.0), degree(static_cast<std::size_t>(p), 0.0);
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t t = 0; t < r; ++t) {
      z[codes.landmark[i * r + t] * n + i] = codes.weight[i * r + t];
      degree[codes.landmark[i * r + t]] += codes.weight[i * r + t];
    }
  for (std::int64_t j = 0; j < p; ++j)
    for (std::int64_t i = 0; i < n; ++i) z[j * n + i] /= degree[j] > 0 ? std::sqrt(degree[j]) : 1.0;
  const linalg::SvdResult svd = linalg::svd(tensor(z, {p, n}, kFloat64));
  const std::vector<double> s = values(svd.S), sigma = values(lsc.singular_values());
  for (std::size_t c = 0; c < 3; ++c) CHECK(sigma[c] == doctest::Approx(s[c]).epsilon(1e-10));
  CHECK(sigma[0] == doctest::Approx(1.0).epsilon(1e-12));  // W 1 = 1: the trivial pair
  // B's columns span the top three right singular vectors (sigma = 1 repeats once per connected
  // component, so single vectors are not unique): V^T B is orthogonal, all its singular values 1.
  const Tensor b = lsc.embedding();
  const Tensor agreement = matmul_reference(svd.Vh.narrow(0, 0, 3).contiguous(), b);
  for (const double c : values(linalg::svd(agreement).S)) CHECK(c == doctest::Approx(1.0).epsilon(1e-9));
  // W 1 = 1, so the constant vector lies in that span.
  const std::vector<double> coefficients = values(matmul_reference(ones({1, n}, kFloat64), b));
  double norm2 = 0;
  for (const double c : coefficients) norm2 += c * c / static_cast<double>(n);
  CHECK(norm2 == doctest::Approx(1.0).epsilon(1e-9));
}

TEST_CASE("landmark spectral: known answers on blobs and concentric circles; predict; seeds") {
  SUBCASE("three blobs: every point right, and predict gives the fitted labels back") {
    const auto [x, truth] = lsc_blobs({{0, 0}, {8, 0}, {0, 8}}, {1.0, 1.0, 1.0}, 60, 4);
    for (const LandmarkSelection selection : {LandmarkSelection::KMeans, LandmarkSelection::Random}) {
      LandmarkSpectralClustering lsc({.n_clusters = 3, .n_landmarks = 30, .landmark_selection = selection,
                                      .random_state = 0});
      const std::vector<std::int64_t> labels = int_values(lsc.fit_predict(x));
      CHECK(best_match_accuracy(truth, labels, 3) == 1.0);
      CHECK(int_values(lsc.predict(x)) == labels);
      CHECK(lsc.centers().sizes() == Shape{3, 2});
      CHECK(lsc.embedding_centers().sizes() == Shape{3, 3});
      // New points near each centre take that blob's label.
      const std::vector<std::int64_t> fresh =
          int_values(lsc.predict(tensor({0.3, -0.2, 7.7, 0.4, -0.5, 8.2}, {3, 2}, kFloat64)));
      CHECK(fresh == std::vector<std::int64_t>{labels[0], labels[60], labels[120]});
      // The same seed, the same labels; float32 data gives the same clusters.
      LandmarkSpectralClustering again({.n_clusters = 3, .n_landmarks = 30, .landmark_selection = selection,
                                        .random_state = 0});
      CHECK(int_values(again.fit_predict(x)) == labels);
      CHECK(best_match_accuracy(truth, int_values(again.fit_predict(x.to(kFloat32))), 3) == 1.0);
    }
  }
  SUBCASE("concentric circles, which k-means on the points cannot separate") {
    const Tensor x = matrix(lsc_fx::spectral_circles_X, 2);
    const std::vector<std::int64_t>& truth = lsc_fx::spectral_circles_truth;
    LandmarkSpectralClustering lsc({.n_clusters = 2, .n_landmarks = 60, .n_nearest_landmarks = 3, .random_state = 0});
    CHECK(best_match_accuracy(truth, int_values(lsc.fit_predict(x)), 2) == 1.0);
    KMeans kmeans({.n_clusters = 2, .random_state = 0});
    CHECK(best_match_accuracy(truth, int_values(kmeans.fit_predict(x)), 2) < 0.7);
  }
}

TEST_CASE("landmark spectral: clear errors") {
  const Tensor x = randn({20, 2}, kFloat64);
  CHECK(contains(error_message([] { LandmarkSpectralClustering({.n_clusters = 5, .n_landmarks = 4}); }),
                 "n_landmarks = 4 must be at least n_clusters = 5"));
  CHECK(contains(error_message([] { LandmarkSpectralClustering({.n_landmarks = 10, .n_nearest_landmarks = 11}); }),
                 "n_nearest_landmarks must be in [1, n_landmarks = 10]"));
  CHECK(contains(error_message([&] { LandmarkSpectralClustering({.n_clusters = 2, .n_landmarks = 30}).fit(x); }),
                 "n_landmarks = 30 is more than the 20 samples"));
  CHECK(contains(error_message([] { LandmarkSpectralClustering().labels(); }), "labels() before fit()"));
  LandmarkSpectralClustering fitted({.n_clusters = 2, .n_landmarks = 10, .random_state = 0});
  fitted.fit(x);
  CHECK(contains(error_message([&] { fitted.predict(randn({3, 5}, kFloat64)); }), "5"));
  CHECK(contains(error_message([] { parse_landmark_selection("grid"); }), "expected kmeans or random"));
}

TEST_CASE("self-tuning affinity: sigma_i is the distance to the K-th neighbour, A_ij = exp(-d^2 / sigma_i sigma_j)") {
  // Points 0, 1, 3, 7 on a line; K = 2: sigma = 3 (0 -> 3), 2 (1 -> 3), 3 (3 -> 0), 6 (7 -> 1).
  const Tensor x = tensor({0.0, 1.0, 3.0, 7.0}, {4, 1}, kFloat64);
  CHECK(local_scales(x, 2) == std::vector<double>{3.0, 2.0, 3.0, 6.0});
  const std::vector<double> a = values(local_scaling_affinity(x, 2));
  const std::vector<double> pos = {0, 1, 3, 7}, sigma = {3, 2, 3, 6};
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) {
      const double d = pos[i] - pos[j];
      CHECK(a[i * 4 + j] == doctest::Approx(i == j ? 1.0 : std::exp(-d * d / (sigma[i] * sigma[j]))).epsilon(1e-12));
    }
  // The k-NN version keeps the same weights on the 2-NN edges, symmetrised as (W + W^T) / 2:
  // 0 -> {1, 3}, 1 -> {0, 3}, 3 -> {1, 0}, 7 -> {3, 1}; so (0, 7) has no edge and (3, 7) half a weight.
  const Tensor sparse = local_scaling_knn_affinity(x, 2, 2).to_dense();
  const std::vector<double> s = values(sparse);
  CHECK(s[0 * 4 + 3] == 0.0);
  CHECK(s[0 * 4 + 1] == doctest::Approx(a[0 * 4 + 1]).epsilon(1e-12));
  CHECK(s[2 * 4 + 3] == doctest::Approx(a[2 * 4 + 3] / 2).epsilon(1e-12));
  CHECK(s[3 * 4 + 2] == doctest::Approx(a[2 * 4 + 3] / 2).epsilon(1e-12));
  // Coincident points: affinity 1, not 0 / 0.
  const Tensor twins = tensor({0.0, 0.0, 0.0, 5.0}, {4, 1}, kFloat64);
  CHECK(values(local_scaling_affinity(twins, 1))[1] == 1.0);
  CHECK(contains(error_message([&] { local_scales(x, 4); }), "must be in [1, 3]"));
}

TEST_CASE("self-tuning spectral clustering separates clusters of different densities") {
  // A tight cluster (sd 0.15) beside a wide one (sd 1.5) and a third of middling spread: one
  // global gamma suited to the wide cluster merges the tight one into its neighbour's kernel
  // tail, while the local scales adapt to each.
  const auto [x, truth] = lsc_blobs({{0, 0}, {3.5, 0}, {0, 9}}, {0.15, 1.5, 0.6}, 80, 7);
  for (const SpectralAffinity affinity : {SpectralAffinity::RBF, SpectralAffinity::NearestNeighbors}) {
    CAPTURE(static_cast<int>(affinity));
    SpectralClustering tuned({.n_clusters = 3, .affinity = affinity, .n_neighbors = 10, .local_scaling = 7,
                              .random_state = 0});
    CHECK(best_match_accuracy(truth, int_values(tuned.fit_predict(x)), 3) >= 0.99);
  }
  SpectralClustering global({.n_clusters = 3, .gamma = 0.1, .random_state = 0});
  CHECK(best_match_accuracy(truth, int_values(global.fit_predict(x)), 3) < 0.95);
  CHECK(contains(error_message([] { SpectralClustering({.local_scaling = -1}); }), "local_scaling must be >= 0"));
}
