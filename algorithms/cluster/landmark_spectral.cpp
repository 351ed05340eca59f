#include "cake/algorithms/cluster/landmark_spectral.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "cake/algorithms/cluster/kmeans.h"
#include "cake/algorithms/detail/common.h"
#include "cake/algorithms/neighbors/nn_descent.h"
#include "cake/tensor/creation.h"
#include "cake/tensor/linalg.h"

namespace cake::cluster {

namespace detail = algorithms::detail;
using index_t = std::int64_t;

LandmarkSelection parse_landmark_selection(const std::string& name) {
  if (name == "kmeans") return LandmarkSelection::KMeans;
  if (name == "random") return LandmarkSelection::Random;
  CAKE_FAIL("LandmarkSpectralClustering: unknown landmark_selection '", name, "' (expected kmeans or random)");
}

namespace {

// ---- Step 1: landmarks ---------------------------------------------------------------------------------

Tensor select_landmarks(const Tensor& x, const LandmarkSpectralClusteringOptions& o) {
  if (o.landmark_selection == LandmarkSelection::Random) {
    detail::SeedScope seed(o.random_state);
    const std::vector<std::int64_t> order = detail::permutation(x.size(0));
    const std::vector<std::int64_t> chosen(order.begin(), order.begin() + o.n_landmarks);
    return x.index_select(0, detail::to_tensor(chosen)).to(kFloat64).contiguous();
  }
  // k-means from random rows for a few iterations: the landmarks only need to cover the data.
  KMeans kmeans({.n_clusters = o.n_landmarks, .init = "random", .n_init = 1, .max_iter = o.landmark_max_iter,
                 .random_state = o.random_state});
  return kmeans.fit(x).cluster_centers().to(kFloat64).contiguous();
}

// Each cluster's mean point [k, d] in the data's dtype (an empty cluster's row stays 0).
Tensor cluster_means(const Tensor& x, const Tensor& labels, index_t k) {
  const Tensor x64 = x.to(kFloat64).contiguous();
  const index_t n = x64.size(0), d = x64.size(1);
  const double* px = x64.data_ptr<double>();
  const std::int64_t* label = labels.data_ptr<std::int64_t>();
  std::vector<double> sums(static_cast<std::size_t>(k * d), 0.0), counts(static_cast<std::size_t>(k), 0.0);
  for (index_t i = 0; i < n; ++i) {
    counts[label[i]] += 1;
    for (index_t j = 0; j < d; ++j) sums[label[i] * d + j] += px[i * d + j];
  }
  for (index_t c = 0; c < k; ++c)
    for (index_t j = 0; j < d; ++j) sums[c * d + j] /= std::max(counts[c], 1.0);
  return tensor(sums, {k, d}, kFloat64).to(x.dtype());
}

}  // namespace

// ---- Step 2: each point through its r nearest landmarks -------------------------------------------------

LandmarkCodes landmark_representation(const Tensor& x, const Tensor& landmarks, std::int64_t n_nearest,
                                      double& bandwidth) {
  CAKE_CHECK(n_nearest >= 1 && n_nearest <= landmarks.size(0), "landmark_representation: n_nearest_landmarks must be in [1, ",
             landmarks.size(0), "] (the number of landmarks), got ", n_nearest);
  const neighbors::KnnResult knn = neighbors::exact_knn_query(x, landmarks, n_nearest);
  const index_t m = knn.n, r = n_nearest;
  if (bandwidth <= 0) {
    double sum = 0;
    for (const double d : knn.distances) sum += d;
    bandwidth = sum / static_cast<double>(knn.distances.size());
    if (!(bandwidth > 0)) bandwidth = 1.0;  // every point sits on a landmark: any h gives the same weights
  }
  LandmarkCodes codes{.n = m, .r = r, .landmark = knn.indices, .weight = std::vector<double>(knn.distances.size())};
  const double two_h2 = 2.0 * bandwidth * bandwidth;
  for (index_t i = 0; i < m; ++i) {
    const double* d = &knn.distances[i * r];
    double* w = &codes.weight[i * r];
    // K(x, u_j) relative to the nearest landmark's: the same ratios, and no underflow far away.
    double total = 0;
    for (index_t t = 0; t < r; ++t) total += w[t] = std::exp(-(d[t] * d[t] - d[0] * d[0]) / two_h2);
    for (index_t t = 0; t < r; ++t) w[t] /= total;
  }
  return codes;
}

namespace {

// Step 3: the projection D^-1/2 A Sigma^-1 [p, k] that maps a point's codes to its row of B,
// from the top k eigenpairs of G = Zhat Zhat^T (sigma_c^2 and A's columns); the sigmas go to
// `singular_values`.
Tensor spectral_projection(const LandmarkCodes& codes, index_t p, index_t k, Tensor& singular_values) {
  const index_t r = codes.r;
  // s = D^-1/2 (0 for a landmark no point uses), G summed point by point.
  std::vector<double> degree(static_cast<std::size_t>(p), 0.0), s(static_cast<std::size_t>(p), 0.0);
  for (index_t e = 0; e < codes.n * r; ++e) degree[codes.landmark[e]] += codes.weight[e];
  for (index_t j = 0; j < p; ++j) s[j] = degree[j] > 0 ? 1.0 / std::sqrt(degree[j]) : 0.0;
  Tensor gram = zeros({p, p}, kFloat64);
  double* g = gram.data_ptr<double>();
  for (index_t i = 0; i < codes.n; ++i)
    for (index_t t = 0; t < r; ++t)
      for (index_t u = 0; u < r; ++u)
        g[codes.landmark[i * r + t] * p + codes.landmark[i * r + u]] += codes.weight[i * r + t] * codes.weight[i * r + u];
  for (index_t a = 0; a < p; ++a)
    for (index_t b = 0; b < p; ++b) g[a * p + b] *= s[a] * s[b];

  const linalg::EighResult eig = linalg::eigh(gram);  // ascending
  const double* w = eig.eigenvalues.data_ptr<double>();
  const double* v = eig.eigenvectors.data_ptr<double>();
  singular_values = empty({k}, kFloat64);
  Tensor projection = zeros({p, k}, kFloat64);
  double* proj = projection.data_ptr<double>();
  for (index_t c = 0; c < k; ++c) {
    const index_t col = p - 1 - c;
    const double sigma = std::sqrt(std::max(w[col], 0.0));
    singular_values.data_ptr<double>()[c] = sigma;
    if (sigma <= 1e-12) continue;  // rank below k: the column of B stays 0
    // A sign per column (largest |entry| positive), so a seed gives one embedding everywhere.
    index_t largest = 0;
    for (index_t j = 1; j < p; ++j)
      if (std::abs(v[j * p + col]) > std::abs(v[largest * p + col])) largest = j;
    const double sign = v[largest * p + col] < 0 ? -1.0 : 1.0;
    for (index_t j = 0; j < p; ++j) proj[j * k + c] = sign * s[j] * v[j * p + col] / sigma;
  }
  return projection;
}

}  // namespace

// ---- The estimator ------------------------------------------------------------------------------------

LandmarkSpectralClustering::LandmarkSpectralClustering(LandmarkSpectralClusteringOptions options)
    : options_(options) {
  const auto& o = options_;
  CAKE_CHECK(o.n_clusters >= 1, "LandmarkSpectralClustering: n_clusters must be at least 1, got ", o.n_clusters);
  CAKE_CHECK(o.n_landmarks >= o.n_clusters, "LandmarkSpectralClustering: n_landmarks = ", o.n_landmarks,
             " must be at least n_clusters = ", o.n_clusters, " (the embedding has rank at most n_landmarks)");
  CAKE_CHECK(o.n_nearest_landmarks >= 1 && o.n_nearest_landmarks <= o.n_landmarks,
             "LandmarkSpectralClustering: n_nearest_landmarks must be in [1, n_landmarks = ", o.n_landmarks, "], got ",
             o.n_nearest_landmarks);
  CAKE_CHECK(o.landmark_max_iter >= 1, "LandmarkSpectralClustering: landmark_max_iter must be at least 1, got ",
             o.landmark_max_iter);
  CAKE_CHECK(o.n_init >= 1, "LandmarkSpectralClustering: n_init must be at least 1, got ", o.n_init);
}

LandmarkSpectralClustering& LandmarkSpectralClustering::fit(const Tensor& input) {
  const auto& o = options_;
  const Tensor x = detail::data_matrix(input, "LandmarkSpectralClustering.fit", 1);
  CAKE_CHECK(o.n_landmarks <= x.size(0), "LandmarkSpectralClustering: n_landmarks = ", o.n_landmarks,
             " is more than the ", x.size(0), " samples");
  // Steps 1-3.
  landmarks_ = select_landmarks(x, o);
  bandwidth_ = 0.0;
  const LandmarkCodes codes = landmark_representation(x, landmarks_, o.n_nearest_landmarks, bandwidth_);
  projection_ = spectral_projection(codes, o.n_landmarks, o.n_clusters, singular_values_);

  // Step 4.
  embedding_ = embed(codes);
  kmeans_ = KMeans({.n_clusters = o.n_clusters, .n_init = o.n_init, .random_state = o.random_state});
  labels_ = kmeans_.fit_predict(embedding_);
  cluster_means_ = cluster_means(x, labels_, o.n_clusters);
  return *this;
}

Tensor LandmarkSpectralClustering::embed(const LandmarkCodes& codes) const {
  const index_t n = codes.n, r = codes.r, k = projection_.size(1);
  Tensor b = zeros({n, k}, kFloat64);
  double* pb = b.data_ptr<double>();
  const double* proj = projection_.data_ptr<double>();
  parallel_for(0, n, detail::grain_for(r * k), [&](index_t lo, index_t hi) {
    for (index_t i = lo; i < hi; ++i) {
      double* row = pb + i * k;
      for (index_t t = 0; t < r; ++t) {
        const double weight = codes.weight[i * r + t];
        const double* from = proj + codes.landmark[i * r + t] * k;
        for (index_t c = 0; c < k; ++c) row[c] += weight * from[c];
      }
      if (!options_.normalize_rows) continue;
      double norm = 0;
      for (index_t c = 0; c < k; ++c) norm += row[c] * row[c];
      if (norm > 0)
        for (index_t c = 0; c < k; ++c) row[c] /= std::sqrt(norm);
    }
  });
  return b;
}

Tensor LandmarkSpectralClustering::transform(const Tensor& input) const {
  check_fitted("transform");
  const Tensor x = detail::data_matrix(input, "LandmarkSpectralClustering.transform", 1, landmarks_.size(1));
  double h = bandwidth_;
  return embed(landmark_representation(x, landmarks_, options_.n_nearest_landmarks, h));
}

Tensor LandmarkSpectralClustering::predict(const Tensor& x) const { return kmeans_.predict(transform(x)); }

Tensor LandmarkSpectralClustering::fit_predict(const Tensor& x) { return fit(x).labels(); }

void LandmarkSpectralClustering::check_fitted(const char* who) const {
  CAKE_CHECK(labels_.defined(), "LandmarkSpectralClustering: ", who, "() before fit()");
}
const Tensor& LandmarkSpectralClustering::labels() const {
  check_fitted("labels");
  return labels_;
}
const Tensor& LandmarkSpectralClustering::landmarks() const {
  check_fitted("landmarks");
  return landmarks_;
}
const Tensor& LandmarkSpectralClustering::embedding() const {
  check_fitted("embedding");
  return embedding_;
}
const Tensor& LandmarkSpectralClustering::singular_values() const {
  check_fitted("singular_values");
  return singular_values_;
}
Tensor LandmarkSpectralClustering::centers() const {
  check_fitted("centers");
  return cluster_means_;
}
const Tensor& LandmarkSpectralClustering::embedding_centers() const {
  check_fitted("embedding_centers");
  return kmeans_.cluster_centers();
}

}  // namespace cake::cluster
