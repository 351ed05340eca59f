// Spectral clustering: the thick-restart Lanczos solver agrees with the dense eigensolver
// (eigenvalues and invariant subspaces), deflation handles disconnected graphs, the k-NN
// affinity separates concentric circles (k-means could not) as scikit-learn does, RBF blobs
// are found, CPQR and k-means label assignment, errors.
#include "cake/algorithms/detail/lanczos.h"
#include "cake/algorithms/cluster/spectral.h"
#include "algorithms/classical2_testing.h"
#include "cake/tensor/linalg.h"

using namespace cake;
using namespace cake::algorithms;
using namespace cake::testing;
namespace fx2 = classical2_fixtures;

namespace {

// The smallest singular value of A^T B for [n, k] orthonormal bases: the cosine of the largest
// principal angle between their column spaces (1 when the spaces agree).
double subspace_agreement(const Tensor& a, const Tensor& b) {
  const Tensor m = matmul_reference(a.t().contiguous(), b);
  const std::vector<double> s = values(linalg::svd(m).S);
  return *std::min_element(s.begin(), s.end());
}

// A random symmetric matrix with a known spectrum: Q diag(values) Q^T.
Tensor symmetric_with_spectrum(const std::vector<double>& spectrum, std::uint64_t seed) {
  manual_seed(seed);
  const std::int64_t n = static_cast<std::int64_t>(spectrum.size());
  const Tensor q = linalg::qr(randn({n, n}, kFloat64)).Q;
  const Tensor scaled = q * tensor(spectrum, {1, n}, kFloat64);
  return matmul_reference(scaled, q.t().contiguous());
}

}  // namespace

TEST_CASE("lanczos: the largest eigenpairs of a dense symmetric matrix, against eigh") {
  std::vector<double> spectrum(300);
  for (std::size_t i = 0; i < spectrum.size(); ++i) spectrum[i] = std::cos(0.01 * static_cast<double>(i * i % 97)) - 0.001 * i;
  const Tensor m = symmetric_with_spectrum(spectrum, 3);
  const double* pm = m.data_ptr<double>();
  const auto apply = [&](const double* x, double* y) {
    for (std::int64_t i = 0; i < 300; ++i) {
      double s = 0;
      for (std::int64_t j = 0; j < 300; ++j) s += pm[i * 300 + j] * x[j];
      y[i] = s;
    }
  };
  const LanczosResult r = lanczos_largest(300, apply, {.n_eigenpairs = 6, .tol = 1e-10, .random_state = 0});
  CHECK(r.converged);
  auto [w, v] = linalg::eigh(m);
  const std::vector<double> all = values(w);
  for (int i = 0; i < 6; ++i) CHECK(r.eigenvalues[static_cast<std::size_t>(i)] == doctest::Approx(all[299 - i]).epsilon(1e-10));
  const Tensor lanczos_vectors = tensor(r.vectors, {300, 6}, kFloat64);
  CHECK(subspace_agreement(lanczos_vectors, v.narrow(1, 294, 6).contiguous()) > 1 - 1e-8);
  // Orthonormal columns.
  check_close(matmul_reference(lanczos_vectors.t().contiguous(), lanczos_vectors), eye(6, -1, kFloat64), 1e-10,
              1e-10);
  // Same seed, same result.
  const LanczosResult again = lanczos_largest(300, apply, {.n_eigenpairs = 6, .tol = 1e-10, .random_state = 0});
  CHECK(again.vectors == r.vectors);
}

TEST_CASE("lanczos: deflating a known invariant subspace, and a tiny operator") {
  // M = diag(1, 1, 0.9, 0.5, ...): with e0 deflated the top two are 1 (e1) and 0.9.
  const std::int64_t n = 50;
  auto apply = [&](const double* x, double* y) {
    for (std::int64_t i = 0; i < n; ++i) y[i] = (i < 2 ? 1.0 : i == 2 ? 0.9 : 0.5 / static_cast<double>(i)) * x[i];
  };
  std::vector<double> z(static_cast<std::size_t>(n), 0.0);
  z[0] = 1.0;
  const LanczosResult r = lanczos_largest(n, apply, {.n_eigenpairs = 2, .tol = 1e-12, .random_state = 1}, z, 1);
  CHECK(r.eigenvalues[0] == doctest::Approx(1.0));
  CHECK(r.eigenvalues[1] == doctest::Approx(0.9));
  CHECK(std::abs(r.vectors[0]) < 1e-12);  // nothing along the deflated e0
  // An operator smaller than the default basis: one exact Rayleigh-Ritz.
  const LanczosResult small = lanczos_largest(3, [](const double* x, double* y) {
    y[0] = 2 * x[0] + x[1];
    y[1] = x[0] + 2 * x[1];
    y[2] = 5 * x[2];
  }, {.n_eigenpairs = 2});
  CHECK(small.eigenvalues[0] == doctest::Approx(5.0));
  CHECK(small.eigenvalues[1] == doctest::Approx(3.0));
  CHECK_THROWS_AS(lanczos_largest(3, apply, {.n_eigenpairs = 4}), Error);
}

TEST_CASE("spectral: the eigenvalues of the normalised k-NN affinity, dense and Lanczos") {
  const Tensor x = matrix(fx2::spectral_circles_X, 2);
  const SparseGraph a = knn_affinity(x, 10);
  const SpectralEmbedding dense = spectral_embedding(a, 6, EigenSolver::Dense);
  const SpectralEmbedding lanczos = spectral_embedding(a, 6, EigenSolver::Lanczos, 1e-10, 0);
  const Tensor expected = tensor(fx2::spectral_circles_top_eigenvalues, {}, kFloat64);
  check_close(dense.eigenvalues, expected, 1e-10, 1e-10);
  check_close(lanczos.eigenvalues, expected, 1e-9, 1e-9);
  CHECK(lanczos.n_connected_components == 2);  // the two circles are two components of the graph
  // Unit rows.
  const auto norms = values(lanczos.embedding.square().sum({1}));
  for (double v : norms) CHECK(v == doctest::Approx(1.0));
}

TEST_CASE("spectral: concentric circles are separated by the k-NN affinity, as scikit-learn") {
  const Tensor x = matrix(fx2::spectral_circles_X, 2);
  for (AssignLabels assign : {AssignLabels::ClusterQR, AssignLabels::KMeans, AssignLabels::Discretize}) {
    SpectralClustering sc({.n_clusters = 2, .affinity = SpectralAffinity::NearestNeighbors, .n_neighbors = 10,
                           .assign_labels = assign, .random_state = 0});
    const auto labels = int_values(sc.fit_predict(x));
    CHECK(same_partition(labels, fx2::spectral_circles_truth));
    CHECK(same_partition(labels, fx2::spectral_circles_sklearn_labels));
    CHECK(sc.affinity_graph().n == 300);
    CHECK_THROWS_AS(sc.affinity_matrix(), Error);
  }
}

TEST_CASE("spectral: RBF affinity on three blobs, dense and Lanczos eigensolvers") {
  const Tensor x = matrix(fx2::separated_X, 2);
  for (EigenSolver solver : {EigenSolver::Dense, EigenSolver::Lanczos}) {
    SpectralClustering sc({.n_clusters = 3, .gamma = 0.5, .eigen_solver = solver,
                           .assign_labels = AssignLabels::ClusterQR, .random_state = 0});
    const auto labels = int_values(sc.fit_predict(x));
    CHECK(same_partition(labels, fx2::separated_truth));
    CHECK(same_partition(labels, fx2::spectral_blobs_sklearn_labels));
    check_close(sc.eigenvalues(), tensor(fx2::spectral_blobs_top_eigenvalues, {}, kFloat64).narrow(0, 0, 3), 1e-8,
                1e-8);
    CHECK(sc.affinity_matrix().sizes() == Shape{90, 90});
  }
}

TEST_CASE("spectral: disconnected graphs, isolated samples, cluster_qr, errors") {
  // Three cliques and an isolated sample: the three component vectors are the embedding.
  std::vector<std::int64_t> rows, cols;
  std::vector<double> vals;
  for (std::int64_t block = 0; block < 3; ++block)
    for (std::int64_t i = 0; i < 4; ++i)
      for (std::int64_t j = 0; j < 4; ++j)
        if (i != j) rows.push_back(block * 4 + i), cols.push_back(block * 4 + j), vals.push_back(1.0);
  const SparseGraph graph = SparseGraph::from_triplets(13, rows, cols, vals);
  SpectralClustering sc({.n_clusters = 3, .assign_labels = AssignLabels::ClusterQR});
  sc.fit_affinity(graph);
  const auto labels = int_values(sc.labels());
  CHECK(same_partition(std::vector<std::int64_t>(labels.begin(), labels.begin() + 12),
                       {0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2}));
  CHECK(sc.n_connected_components() == 4);
  CHECK(values(sc.eigenvalues()) == std::vector<double>{1, 1, 1});
  // The same graph as a dense matrix.
  SpectralClustering dense({.n_clusters = 3, .assign_labels = AssignLabels::ClusterQR});
  dense.fit_affinity(graph.to_dense());
  CHECK(int_values(dense.labels()) == labels);

  // cluster_qr on an exact indicator embedding returns the indicator's partition.
  const Tensor indicator = tensor({1.0, 0, 0, 1, 1, 0, 0, 1, 1, 0}, {5, 2}, kFloat64);
  CHECK(same_partition(int_values(cluster_qr(indicator, 2)), {0, 1, 0, 1, 0}));

  // discretize too, and on a noisy rotation of a partition matrix it finds the partition: the
  // rotation Yu & Shi's iteration solves for is exactly the one applied.
  CHECK(same_partition(int_values(discretize(indicator, 2, 0)), {0, 1, 0, 1, 0}));
  manual_seed(12);
  std::vector<std::int64_t> truth(90);
  for (std::size_t i = 0; i < truth.size(); ++i) truth[i] = static_cast<std::int64_t>(i % 3);
  const Tensor partition = one_hot(tensor(truth), 3).to(kFloat64);
  const Tensor rotation = linalg::qr(randn({3, 3}, kFloat64)).Q;
  const Tensor rotated = matmul_reference(partition, rotation) + randn({90, 3}, kFloat64) * 0.05;
  for (std::uint64_t seed : {0, 1, 2}) CHECK(same_partition(int_values(discretize(rotated, 3, seed)), truth));
  CHECK(contains(error_message([&] { discretize(rotated, 4); }), "k must be in [1, 3]"));
  CHECK(parse_assign_labels("discretize") == AssignLabels::Discretize);

  CHECK_THROWS_AS(SpectralClustering({.n_clusters = 0}), Error);
  CHECK_THROWS_AS(SpectralClustering({.gamma = -1.0}), Error);
  CHECK_THROWS_AS(SpectralClustering({.n_clusters = 20}).fit(randn({10, 2})), Error);
  CHECK_THROWS_AS(parse_eigen_solver("arpack"), Error);
  CHECK_THROWS_AS(spectral_embedding(zeros({3, 4}), 2), Error);
}
