#include "cake/algorithms/cluster/spectral.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "cake/algorithms/detail/common.h"
#include "cake/tensor/pairwise.h"
#include "cake/algorithms/detail/lanczos.h"
#include "cake/algorithms/cluster/kmeans.h"
#include "cake/algorithms/neighbors/nn_descent.h"
#include "cake/tensor/creation.h"
#include "cake/tensor/linalg.h"
#include "cake/tensor/parallel.h"

namespace cake::cluster {

namespace detail = algorithms::detail;  // the shared kernels (algorithms/detail/)
using neighbors::SparseGraph;  // the affinity graphs (algorithms/neighbors/)
using neighbors::connected_components;
using neighbors::kneighbors_graph;
using neighbors::symmetrize;
using detail::LanczosResult;
using detail::lanczos_largest;

using index_t = std::int64_t;

SpectralAffinity parse_spectral_affinity(const std::string& name) {
  if (name == "rbf") return SpectralAffinity::RBF;
  if (name == "nearest_neighbors") return SpectralAffinity::NearestNeighbors;
  CAKE_FAIL("SpectralClustering: unknown affinity '", name, "' (expected rbf or nearest_neighbors)");
}
EigenSolver parse_eigen_solver(const std::string& name) {
  if (name == "auto") return EigenSolver::Auto;
  if (name == "dense") return EigenSolver::Dense;
  if (name == "lanczos") return EigenSolver::Lanczos;
  CAKE_FAIL("SpectralClustering: unknown eigen_solver '", name, "' (expected auto, dense or lanczos)");
}
AssignLabels parse_assign_labels(const std::string& name) {
  if (name == "kmeans") return AssignLabels::KMeans;
  if (name == "cluster_qr") return AssignLabels::ClusterQR;
  if (name == "discretize") return AssignLabels::Discretize;
  CAKE_FAIL("SpectralClustering: unknown assign_labels '", name, "' (expected kmeans, cluster_qr or discretize)");
}

// ---- Step 1: affinities ------------------------------------------------------------------------------

namespace {
// |x_i - x_j|^2 for every pair, [n, n] float64 (blocked GEMM, tensor/pairwise.h).
Tensor squared_distance_matrix(const Tensor& input, const char* who) {
  Tensor x = detail::data_matrix(input, who).to(kFloat64).contiguous();
  const index_t n = x.size(0), d = x.size(1);
  Tensor a = empty({n, n}, kFloat64);
  const double* px = x.data_ptr<double>();
  std::vector<double> norms(static_cast<std::size_t>(n));
  detail::row_squared_norms(px, n, d, norms.data());
  pairwise::squared_distances(px, n, norms.data(), px, n, norms.data(), d, a.data_ptr<double>());
  return a;
}
}  // namespace

Tensor rbf_affinity(const Tensor& input, double gamma) {
  CAKE_CHECK(gamma > 0 && std::isfinite(gamma), "rbf_affinity: gamma must be positive, got ", gamma);
  Tensor a = squared_distance_matrix(input, "rbf_affinity");
  const index_t n = a.size(0);
  double* pa = a.data_ptr<double>();
  parallel_for(0, n * n, 1 << 16, [&](index_t lo, index_t hi) {
    for (index_t i = lo; i < hi; ++i) pa[i] = std::exp(-gamma * pa[i]);
  });
  return a;
}

SparseGraph knn_affinity(const Tensor& x, std::int64_t n_neighbors) {
  return symmetrize(kneighbors_graph(x, n_neighbors, /*include_self=*/true));
}

namespace {
void check_scaling_neighbor(std::int64_t scaling_neighbor, std::int64_t n) {
  CAKE_CHECK(scaling_neighbor >= 1 && scaling_neighbor < n, "local_scales: the scaling neighbour K must be in [1, ",
             n - 1, "] (K-th nearest of ", n, " samples), got ", scaling_neighbor);
}
// Position K of each point's nearest (itself among them, at distance 0), from a search of k > K.
std::vector<double> scales_from(const neighbors::KnnResult& knn, std::int64_t scaling_neighbor) {
  std::vector<double> sigma(static_cast<std::size_t>(knn.n));
  for (index_t i = 0; i < knn.n; ++i) sigma[i] = knn.distances[i * knn.k + scaling_neighbor];
  return sigma;
}
}  // namespace

std::vector<double> local_scales(const Tensor& x, std::int64_t scaling_neighbor) {
  check_scaling_neighbor(scaling_neighbor, x.size(0));
  return scales_from(neighbors::exact_knn(x, scaling_neighbor + 1), scaling_neighbor);
}

namespace {
// exp(-d^2 / (sigma_i sigma_j)); 1 for coincident points, 0 when a scale is 0 and the points differ.
double self_tuned_kernel(double squared_distance, double sigma_i, double sigma_j) {
  if (squared_distance <= 0) return 1.0;
  const double scale = sigma_i * sigma_j;
  return scale > 0 ? std::exp(-squared_distance / scale) : 0.0;
}
}  // namespace

Tensor local_scaling_affinity(const Tensor& input, std::int64_t scaling_neighbor) {
  const std::vector<double> sigma = local_scales(input, scaling_neighbor);
  Tensor a = squared_distance_matrix(input, "local_scaling_affinity");
  const index_t n = a.size(0);
  double* pa = a.data_ptr<double>();
  parallel_for(0, n, detail::grain_for(n), [&](index_t lo, index_t hi) {
    for (index_t i = lo; i < hi; ++i)
      for (index_t j = 0; j < n; ++j)
        pa[i * n + j] = i == j ? 1.0 : self_tuned_kernel(pa[i * n + j], sigma[i], sigma[j]);
  });
  return a;
}

SparseGraph local_scaling_knn_affinity(const Tensor& x, std::int64_t n_neighbors, std::int64_t scaling_neighbor) {
  CAKE_CHECK(n_neighbors >= 1 && n_neighbors < x.size(0), "local_scaling_knn_affinity: n_neighbors must be in [1, ",
             x.size(0) - 1, "], got ", n_neighbors);
  check_scaling_neighbor(scaling_neighbor, x.size(0));
  // One search serves both: the graph's edges and the scales.
  const neighbors::KnnResult knn = neighbors::exact_knn(x, std::max(n_neighbors, scaling_neighbor) + 1);
  const std::vector<double> sigma = scales_from(knn, scaling_neighbor);
  std::vector<std::int64_t> rows, cols;
  std::vector<double> values;
  for (index_t i = 0; i < knn.n; ++i) {
    index_t kept = 0;
    for (index_t t = 0; t < knn.k && kept < n_neighbors; ++t) {
      const index_t j = knn.indices[i * knn.k + t];
      if (j == i) continue;
      const double dist = knn.distances[i * knn.k + t];
      rows.push_back(i), cols.push_back(j), values.push_back(self_tuned_kernel(dist * dist, sigma[i], sigma[j]));
      ++kept;
    }
  }
  return symmetrize(SparseGraph::from_triplets(knn.n, rows, cols, values));
}

namespace {

// ---- Step 2: the normalised affinity as an operator ----------------------------------------------------

// Degrees without self loops, and s = D^-1/2 (0 for an isolated sample, whose row of M is 0).
std::vector<double> inverse_sqrt_degrees(const std::vector<double>& degree) {
  std::vector<double> s(degree.size());
  for (std::size_t i = 0; i < degree.size(); ++i) s[i] = degree[i] > 0 ? 1.0 / std::sqrt(degree[i]) : 0.0;
  return s;
}

struct DenseGraph {
  const double* a;  // [n, n]
  index_t n;
  std::vector<double> degree, s;

  DenseGraph(const Tensor& affinity) : a(affinity.data_ptr<double>()), n(affinity.size(0)) {
    degree.assign(static_cast<std::size_t>(n), 0.0);
    parallel_for(0, n, 64, [&](index_t lo, index_t hi) {
      for (index_t i = lo; i < hi; ++i) {
        double sum = 0;
        for (index_t j = 0; j < n; ++j) sum += a[i * n + j];
        degree[i] = sum - a[i * n + i];
      }
    });
    s = inverse_sqrt_degrees(degree);
  }
  // y = D^-1/2 (A - diag A) D^-1/2 x: one GEMV on A and O(n) corrections, M never formed.
  void apply(const double* x, double* y, std::vector<double>& scaled) const {
    scaled.resize(static_cast<std::size_t>(n));
    for (index_t i = 0; i < n; ++i) scaled[i] = s[i] * x[i];
    blas::gemv<double>(false, n, n, 1.0, a, n, scaled.data(), 0.0, y);
    for (index_t i = 0; i < n; ++i) y[i] = s[i] * (y[i] - a[i * n + i] * scaled[i]);
  }
  std::pair<index_t, std::vector<std::int64_t>> components() const {
    std::vector<std::int64_t> rows, cols;
    std::vector<double> vals;
    for (index_t i = 0; i < n; ++i)
      for (index_t j = 0; j < i; ++j)
        if (a[i * n + j] > 0 || a[j * n + i] > 0) rows.push_back(i), cols.push_back(j), vals.push_back(1.0);
    return connected_components(SparseGraph::from_triplets(n, rows, cols, vals));
  }
  Tensor dense_normalized() const {
    Tensor m = empty({n, n}, kFloat64);
    double* pm = m.data_ptr<double>();
    for (index_t i = 0; i < n; ++i)
      for (index_t j = 0; j < n; ++j) pm[i * n + j] = i == j ? 0.0 : s[i] * a[i * n + j] * s[j];
    return m;
  }
};

struct CsrGraph {
  const SparseGraph& a;
  index_t n;
  std::vector<double> degree, s;

  CsrGraph(const SparseGraph& graph) : a(graph), n(graph.n) {
    degree.assign(static_cast<std::size_t>(n), 0.0);
    for (index_t i = 0; i < n; ++i)
      for (index_t e = a.indptr[i]; e < a.indptr[i + 1]; ++e)
        if (a.indices[e] != i) degree[i] += a.values[e];
    s = inverse_sqrt_degrees(degree);
  }
  // One Lanczos step's matrix-vector product, a few flops per edge. Below a million edges it
  // runs on one thread: the solver takes hundreds of steps, and a parallel region per step
  // cost more than it saved (5,000-sample 10-NN graph, 2 cores shared with other jobs: 1.8 s
  // with a region per step, 0.5 s without), because each region waits for the second thread
  // to be scheduled.
  void apply(const double* x, double* y, std::vector<double>&) const {
    constexpr index_t kParallelEdges = index_t{1} << 20;
    const index_t grain = a.indptr[n] < kParallelEdges ? std::max<index_t>(n, 1) : 1024;
    parallel_for(0, n, grain, [&](index_t lo, index_t hi) {
      for (index_t i = lo; i < hi; ++i) {
        double sum = 0;
        for (index_t e = a.indptr[i]; e < a.indptr[i + 1]; ++e) {
          const index_t j = a.indices[e];
          if (j != i) sum += a.values[e] * s[j] * x[j];
        }
        y[i] = s[i] * sum;
      }
    });
  }
  std::pair<index_t, std::vector<std::int64_t>> components() const { return connected_components(a); }
  Tensor dense_normalized() const {
    Tensor m = zeros({n, n}, kFloat64);
    double* pm = m.data_ptr<double>();
    for (index_t i = 0; i < n; ++i)
      for (index_t e = a.indptr[i]; e < a.indptr[i + 1]; ++e)
        if (a.indices[e] != i) pm[i * n + a.indices[e]] += s[i] * a.values[e] * s[a.indices[e]];
    return m;
  }
};

// ---- Steps 3-4: eigenvectors and row normalisation ------------------------------------------------------

// Eigenvalue-1 eigenvectors D^1/2 1_C / |D^1/2 1_C|, one per component with edges. [n, c].
std::vector<double> component_eigenvectors(const std::vector<double>& degree, index_t n_comp,
                                           const std::vector<std::int64_t>& component, index_t& count) {
  const index_t n = static_cast<index_t>(degree.size());
  std::vector<double> mass(static_cast<std::size_t>(n_comp), 0.0);
  for (index_t i = 0; i < n; ++i) mass[component[i]] += degree[i];
  std::vector<index_t> column(static_cast<std::size_t>(n_comp), -1);
  count = 0;
  for (index_t c = 0; c < n_comp; ++c)
    if (mass[c] > 0) column[c] = count++;
  std::vector<double> z(static_cast<std::size_t>(n * count), 0.0);
  for (index_t i = 0; i < n; ++i) {
    const index_t c = column[component[i]];
    if (c >= 0) z[i * count + c] = std::sqrt(degree[i] / mass[component[i]]);
  }
  return z;
}

void normalize_rows(Tensor& y) {
  const index_t n = y.size(0), k = y.size(1);
  double* p = y.data_ptr<double>();
  for (index_t i = 0; i < n; ++i) {
    const double norm = blas::nrm2<double>(k, p + i * k);
    if (norm > 0) blas::scal<double>(k, 1.0 / norm, p + i * k);
  }
}

template <class Graph>
SpectralEmbedding embed(const Graph& graph, index_t k, EigenSolver solver, double tol,
                        std::optional<std::uint64_t> random_state) {
  const index_t n = graph.n;
  CAKE_CHECK(k >= 1 && k <= n, "spectral_embedding: n_components must be in [1, ", n, "], got ", k);
  auto [n_comp, component] = graph.components();
  index_t known = 0;  // eigenvectors known in closed form: one per component with edges
  const std::vector<double> z = component_eigenvectors(graph.degree, n_comp, component, known);
  SpectralEmbedding out;
  out.n_connected_components = n_comp;
  if (solver == EigenSolver::Auto) solver = n <= 256 ? EigenSolver::Dense : EigenSolver::Lanczos;
  if (known >= k) {
    // As many components as clusters or more: the eigenvalue 1 has them all as eigenvectors.
    out.embedding = tensor(z, {n, known}, kFloat64);
    out.eigenvalues = ones({known}, kFloat64);
  } else if (solver == EigenSolver::Dense) {
    // All of M's eigenpairs (ascending); the last k, largest first.
    const linalg::EighResult eig = linalg::eigh(graph.dense_normalized());
    const double* w = eig.eigenvalues.data_ptr<double>();
    const double* v = eig.eigenvectors.data_ptr<double>();
    out.embedding = empty({n, k}, kFloat64);
    out.eigenvalues = empty({k}, kFloat64);
    for (index_t col = 0; col < k; ++col) {
      out.eigenvalues.data_ptr<double>()[col] = w[n - 1 - col];
      for (index_t i = 0; i < n; ++i) out.embedding.data_ptr<double>()[i * k + col] = v[i * n + (n - 1 - col)];
    }
  } else {
    std::vector<double> scratch;
    const auto apply = [&](const double* x, double* y) { graph.apply(x, y, scratch); };
    const LanczosResult r =
        lanczos_largest(n, apply, {.n_eigenpairs = k - known, .tol = tol, .random_state = random_state}, z, known);
    std::vector<double> u(static_cast<std::size_t>(n * k)), values(static_cast<std::size_t>(k), 1.0);
    for (index_t i = 0; i < n; ++i) {
      std::copy(z.begin() + i * known, z.begin() + (i + 1) * known, u.begin() + i * k);
      std::copy(r.vectors.begin() + i * (k - known), r.vectors.begin() + (i + 1) * (k - known),
                u.begin() + i * k + known);
    }
    std::copy(r.eigenvalues.begin(), r.eigenvalues.end(), values.begin() + known);
    out.embedding = tensor(u, {n, k}, kFloat64);
    out.eigenvalues = tensor(values, {k}, kFloat64);
  }
  normalize_rows(out.embedding);
  return out;
}

// Step 5 by k-means on the rows of Y (Ng, Jordan & Weiss's choice).
Tensor kmeans_labels(const Tensor& y, std::int64_t n_clusters, std::int64_t n_init,
                     std::optional<std::uint64_t> random_state) {
  KMeans kmeans({.n_clusters = n_clusters, .n_init = n_init, .random_state = random_state});
  return kmeans.fit_predict(y);
}

}  // namespace

SpectralEmbedding spectral_embedding(const Tensor& affinity, std::int64_t k, EigenSolver solver, double tol,
                                     std::optional<std::uint64_t> random_state) {
  CAKE_CHECK(affinity.dim() == 2 && affinity.size(0) == affinity.size(1),
             "spectral_embedding: the affinity must be a square matrix, got shape ", affinity.sizes());
  Tensor a = affinity.detach().cpu().to(kFloat64).contiguous();
  return embed(DenseGraph(a), k, solver, tol, random_state);
}

SpectralEmbedding spectral_embedding(const SparseGraph& affinity, std::int64_t k, EigenSolver solver, double tol,
                                     std::optional<std::uint64_t> random_state) {
  return embed(CsrGraph(affinity), k, solver, tol, random_state);
}

Tensor cluster_qr(const Tensor& embedding, std::int64_t k) {
  const index_t n = embedding.size(0), dims = embedding.size(1);
  CAKE_CHECK(k >= 1 && k <= std::min(n, dims), "cluster_qr: k must be in [1, ", std::min(n, dims), "], got ", k);
  Tensor y = embedding.to(kFloat64).contiguous();
  const std::vector<std::int64_t> order = linalg::pivoted_qr_order(y);
  // B = Y[pivots[:k]]^T [dims, k]; its polar factor Q = U V^T rotates the chosen rows onto the axes.
  Tensor b = empty({dims, k}, kFloat64);
  for (index_t c = 0; c < k; ++c)
    for (index_t j = 0; j < dims; ++j) b.data_ptr<double>()[j * k + c] = y.data_ptr<double>()[order[c] * dims + j];
  auto [u, s, vh] = linalg::svd(b);
  Tensor rotation = empty({dims, k}, kFloat64);
  blas::gemm<double>(false, false, dims, k, u.size(1), 1.0, u.data_ptr<double>(), u.size(1), vh.data_ptr<double>(),
                       k, 0.0, rotation.data_ptr<double>(), k);
  std::vector<double> rotated(static_cast<std::size_t>(n * k));
  blas::gemm<double>(false, false, n, k, dims, 1.0, y.data_ptr<double>(), dims, rotation.data_ptr<double>(), k, 0.0,
                       rotated.data(), k);
  std::vector<std::int64_t> labels(static_cast<std::size_t>(n));
  for (index_t i = 0; i < n; ++i) {
    index_t best = 0;
    for (index_t c = 1; c < k; ++c)
      if (std::abs(rotated[i * k + c]) > std::abs(rotated[i * k + best])) best = c;
    labels[i] = best;
  }
  return detail::to_tensor(labels);
}

Tensor discretize(const Tensor& embedding, std::int64_t k, std::optional<std::uint64_t> random_state,
                  std::int64_t max_iter) {
  const index_t n = embedding.size(0), dims = embedding.size(1);
  CAKE_CHECK(k >= 1 && k <= std::min(n, dims), "discretize: k must be in [1, ", std::min(n, dims), "], got ", k);
  CAKE_CHECK(max_iter >= 1, "discretize: max_iter must be at least 1, got ", max_iter);
  // The first k columns, rows scaled to unit length (Yu & Shi's normalised eigenvectors).
  Tensor y_tensor = embedding.narrow(1, 0, k).to(kFloat64).contiguous().clone();
  normalize_rows(y_tensor);
  const double* y = y_tensor.data_ptr<double>();

  // R's start: a random row, then each next row the one least aligned with those chosen so far
  // (the smallest sum of |cosines|), as columns of R.
  std::vector<double> rotation(static_cast<std::size_t>(k * k)), alignment(static_cast<std::size_t>(n), 0.0);
  index_t chosen = 0;
  {
    detail::SeedScope seed(random_state);
    chosen = detail::integer_draws(0, n, 1)[0];
  }
  for (index_t c = 0; c < k; ++c) {
    for (index_t j = 0; j < k; ++j) rotation[j * k + c] = y[chosen * k + j];
    if (c == k - 1) break;
    for (index_t i = 0; i < n; ++i) alignment[i] += std::abs(blas::dot<double>(k, y + i * k, y + chosen * k));
    chosen = std::min_element(alignment.begin(), alignment.end()) - alignment.begin();
  }

  std::vector<double> projected(static_cast<std::size_t>(n * k));
  std::vector<std::int64_t> labels(static_cast<std::size_t>(n));
  double last_objective = -1.0;
  for (index_t it = 0; it < max_iter; ++it) {
    // X: each row's largest entry of Y R.
    blas::gemm<double>(false, false, n, k, k, 1.0, y, k, rotation.data(), k, 0.0, projected.data(), k);
    for (index_t i = 0; i < n; ++i)
      labels[i] = std::max_element(projected.begin() + i * k, projected.begin() + (i + 1) * k) -
                  (projected.begin() + i * k);
    // X^T Y: the sums of each cluster's rows; R = V U^T maximises trace(X^T Y R) = trace(Omega).
    Tensor xty = zeros({k, k}, kFloat64);
    double* m = xty.data_ptr<double>();
    for (index_t i = 0; i < n; ++i)
      for (index_t j = 0; j < k; ++j) m[labels[i] * k + j] += y[i * k + j];
    auto [u, omega, vh] = linalg::svd(xty);
    double objective = 0;
    const Tensor sigma = omega.contiguous();
    for (index_t c = 0; c < sigma.numel(); ++c) objective += sigma.data_ptr<double>()[c];
    if (objective - last_objective <= 1e-12 * std::max(1.0, objective)) break;
    last_objective = objective;
    // R = V U^T = (U V^T)^T: R[j][c] = sum_t Vh[t][j] U[c][t].
    const double* pu = u.data_ptr<double>();
    const double* pv = vh.data_ptr<double>();
    for (index_t j = 0; j < k; ++j)
      for (index_t c = 0; c < k; ++c) {
        double sum = 0;
        for (index_t t = 0; t < k; ++t) sum += pv[t * k + j] * pu[c * k + t];
        rotation[j * k + c] = sum;
      }
  }
  return detail::to_tensor(labels);
}

// ---- The estimator --------------------------------------------------------------------------------------

SpectralClustering::SpectralClustering(SpectralClusteringOptions options) : options_(options) {
  CAKE_CHECK(options_.n_clusters >= 1, "SpectralClustering: n_clusters must be at least 1, got ", options_.n_clusters);
  CAKE_CHECK(options_.n_neighbors >= 1, "SpectralClustering: n_neighbors must be at least 1, got ",
             options_.n_neighbors);
  CAKE_CHECK(options_.gamma > 0, "SpectralClustering: gamma must be positive, got ", options_.gamma);
  CAKE_CHECK(options_.local_scaling >= 0, "SpectralClustering: local_scaling must be >= 0 (0: off), got ",
             options_.local_scaling);
  CAKE_CHECK(options_.n_components >= 0, "SpectralClustering: n_components must be >= 0, got ", options_.n_components);
  CAKE_CHECK(options_.eigen_tol > 0, "SpectralClustering: eigen_tol must be positive, got ", options_.eigen_tol);
  CAKE_CHECK(options_.n_init >= 1, "SpectralClustering: n_init must be at least 1, got ", options_.n_init);
}

SpectralClustering& SpectralClustering::fit(const Tensor& input) {
  Tensor x = detail::data_matrix(input, "SpectralClustering.fit", 2);
  CAKE_CHECK(options_.n_clusters <= x.size(0), "SpectralClustering: n_clusters = ", options_.n_clusters,
             " is more than the ", x.size(0), " samples");
  const std::int64_t scaling = options_.local_scaling;
  CAKE_CHECK(scaling < x.size(0), "SpectralClustering: local_scaling = ", scaling, " needs more than ", scaling,
             " samples, got ", x.size(0));
  if (options_.affinity == SpectralAffinity::RBF)
    return fit_affinity(scaling > 0 ? local_scaling_affinity(x, scaling) : rbf_affinity(x, options_.gamma));
  CAKE_CHECK(options_.n_neighbors <= x.size(0), "SpectralClustering: n_neighbors = ", options_.n_neighbors,
             " is more than the ", x.size(0), " samples");
  if (scaling > 0) {
    CAKE_CHECK(options_.n_neighbors < x.size(0), "SpectralClustering: n_neighbors = ", options_.n_neighbors,
               " leaves no other sample out of ", x.size(0), " (the self-tuned graph has no self-loops)");
    return fit_affinity(local_scaling_knn_affinity(x, options_.n_neighbors, scaling));
  }
  return fit_affinity(knn_affinity(x, options_.n_neighbors));
}

SpectralClustering& SpectralClustering::fit_affinity(const Tensor& affinity) {
  affinity_dense_ = affinity.detach().cpu().to(kFloat64).contiguous();
  has_sparse_ = false;
  const index_t k = options_.n_components > 0 ? options_.n_components : options_.n_clusters;
  return assign(spectral_embedding(affinity_dense_, k, options_.eigen_solver, options_.eigen_tol,
                                   options_.random_state));
}

SpectralClustering& SpectralClustering::fit_affinity(const SparseGraph& affinity) {
  affinity_sparse_ = affinity;
  affinity_dense_ = Tensor();
  has_sparse_ = true;
  const index_t k = options_.n_components > 0 ? options_.n_components : options_.n_clusters;
  return assign(spectral_embedding(affinity_sparse_, k, options_.eigen_solver, options_.eigen_tol,
                                   options_.random_state));
}

SpectralClustering& SpectralClustering::assign(SpectralEmbedding result) {
  embedding_ = result.embedding;
  eigenvalues_ = result.eigenvalues;
  n_connected_components_ = result.n_connected_components;
  CAKE_CHECK(options_.n_clusters <= embedding_.size(0), "SpectralClustering: n_clusters = ", options_.n_clusters,
             " is more than the ", embedding_.size(0), " samples");
  switch (options_.assign_labels) {
    case AssignLabels::ClusterQR:
      labels_ = cluster_qr(embedding_, std::min(options_.n_clusters, embedding_.size(1)));
      break;
    case AssignLabels::Discretize:
      labels_ = discretize(embedding_, std::min(options_.n_clusters, embedding_.size(1)), options_.random_state);
      break;
    case AssignLabels::KMeans:
      labels_ = kmeans_labels(embedding_, options_.n_clusters, options_.n_init, options_.random_state);
      break;
  }
  return *this;
}

Tensor SpectralClustering::fit_predict(const Tensor& x) { return fit(x).labels(); }

const Tensor& SpectralClustering::labels() const {
  CAKE_CHECK(labels_.defined(), "SpectralClustering: labels() before fit()");
  return labels_;
}
const Tensor& SpectralClustering::affinity_matrix() const {
  CAKE_CHECK(affinity_dense_.defined(), "SpectralClustering: no dense affinity matrix (fit with affinity = rbf, or "
             "use affinity_graph() for a nearest_neighbors fit)");
  return affinity_dense_;
}
const SparseGraph& SpectralClustering::affinity_graph() const {
  CAKE_CHECK(has_sparse_, "SpectralClustering: no sparse affinity graph (fit with affinity = nearest_neighbors, "
             "or use affinity_matrix() for an rbf fit)");
  return affinity_sparse_;
}
const Tensor& SpectralClustering::embedding() const {
  CAKE_CHECK(embedding_.defined(), "SpectralClustering: embedding() before fit()");
  return embedding_;
}
const Tensor& SpectralClustering::eigenvalues() const {
  CAKE_CHECK(eigenvalues_.defined(), "SpectralClustering: eigenvalues() before fit()");
  return eigenvalues_;
}

}  // namespace cake::cluster
