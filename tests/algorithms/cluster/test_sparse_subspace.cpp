// Sparse subspace clustering (Elhamifar & Vidal 2013; SSC-OMP, You, Robinson & Vidal 2016): the
// lasso codes satisfy the lasso's optimality conditions with c_ii = 0, OMP codes rebuild each
// point exactly from points of its own subspace, the affinity is |C| + |C|^T with unit-peak
// codes, and a union of subspaces through the origin (where k-means fails) is recovered exactly.
#include "cake/algorithms/cluster/sparse_subspace.h"
#include "cake/algorithms/cluster/kmeans.h"
#include "algorithms/classical2_testing.h"
#include "cake/tensor/linalg.h"

using namespace cake;
using namespace cake::cluster;
using namespace cake::testing;

namespace {

// n points on each of k random `dim`-dimensional subspaces of R^ambient (independent when
// k dim <= ambient), with Gaussian coordinates in each subspace's orthonormal basis.
struct UnionOfSubspaces {
  Tensor x;
  std::vector<std::int64_t> truth;
};
UnionOfSubspaces union_of_subspaces(std::int64_t k, std::int64_t dim, std::int64_t ambient, std::int64_t n,
                                    std::uint64_t seed) {
  manual_seed(seed);
  std::vector<Tensor> parts;
  UnionOfSubspaces out;
  for (std::int64_t c = 0; c < k; ++c) {
    const Tensor basis = linalg::qr(randn({ambient, dim}, kFloat64)).Q;  // [ambient, dim]
    parts.push_back(matmul_reference(randn({n, dim}, kFloat64), basis.t().contiguous()));
    for (std::int64_t i = 0; i < n; ++i) out.truth.push_back(c);
  }
  out.x = cat(parts, 0);
  return out;
}

// Points i and j lie on the same subspace.
bool same_subspace(const UnionOfSubspaces& data, std::int64_t i, std::int64_t j) { return data.truth[i] == data.truth[j]; }

}  // namespace

TEST_CASE("sparse subspace clustering: a union of three subspaces through the origin, both solvers") {
  const UnionOfSubspaces data = union_of_subspaces(3, 3, 30, 40, 11);
  for (const SubspaceSolver solver : {SubspaceSolver::Lasso, SubspaceSolver::OMP}) {
    CAPTURE(static_cast<int>(solver));
    SparseSubspaceClustering ssc({.n_clusters = 3, .solver = solver, .n_nonzero = 3, .random_state = 0});
    const std::vector<std::int64_t> labels = int_values(ssc.fit_predict(data.x));
    CHECK(best_match_accuracy(data.truth, labels, 3) == 1.0);
    // No point codes itself, and (independent subspaces, noiseless points) every coefficient
    // links points of the same subspace: the codes are subspace-preserving (the paper's Theorem 1).
    const neighbors::SparseGraph& c = ssc.coefficients();
    CHECK(c.nnz() >= 120);
    for (std::int64_t i = 0; i < c.n; ++i)
      for (std::int64_t e = c.indptr[i]; e < c.indptr[i + 1]; ++e) {
        CHECK(c.indices[e] != i);
        if (std::abs(c.values[e]) > 1e-6) CHECK(same_subspace(data, i, c.indices[e]));
      }
    // The same seed, the same labels; through make_clusterer, the same too.
    SparseSubspaceClustering again({.n_clusters = 3, .solver = solver, .n_nonzero = 3, .random_state = 0});
    CHECK(int_values(again.fit_predict(data.x)) == labels);
    const auto made = make_clusterer("sparse-subspace", {{"n_clusters", 3},
                                                         {"solver", solver == SubspaceSolver::OMP ? "omp" : "lasso"},
                                                         {"n_nonzero", 3},
                                                         {"random_state", 0}});
    CHECK(int_values(made->fit_predict(data.x)) == labels);
  }
  // k-means on the points cannot tell the subspaces apart: they all meet at the origin.
  KMeans kmeans({.n_clusters = 3, .random_state = 0});
  CHECK(best_match_accuracy(data.truth, int_values(kmeans.fit_predict(data.x)), 3) < 0.8);
}

TEST_CASE("sparse subspace clustering: the lasso codes meet the lasso's optimality conditions with c_ii = 0") {
  // Noisy points, so that the codes are a real trade-off between fit and sparsity.
  UnionOfSubspaces data = union_of_subspaces(2, 4, 12, 25, 5);
  manual_seed(6);
  data.x = data.x + randn(data.x.sizes(), kFloat64) * 0.05;
  SparseSubspaceClustering ssc({.n_clusters = 2, .alpha = 5.0, .normalize = false, .max_iter = 100000, .tol = 1e-14,
                                .random_state = 0});
  ssc.fit(data.x);
  const std::int64_t n = 50, d = 12;
  const std::vector<double> x = values(data.x);
  // mu = min_i max_{j != i} |x_i . x_j|, lambda = alpha / mu.
  double mu = 1e300;
  for (std::int64_t i = 0; i < n; ++i) {
    double largest = 0;
    for (std::int64_t j = 0; j < n; ++j) {
      if (j == i) continue;
      double dot = 0;
      for (std::int64_t t = 0; t < d; ++t) dot += x[i * d + t] * x[j * d + t];
      largest = std::max(largest, std::abs(dot));
    }
    mu = std::min(mu, largest);
  }
  CHECK(ssc.lambda() == doctest::Approx(5.0 / mu).epsilon(1e-12));
  const double threshold = 1.0 / ssc.lambda();
  // KKT of min 1/2 |x_i - X^T c|^2 + threshold |c|_1 over c with c_i = 0: with r = x_i - X^T c,
  // x_j . r = threshold sign(c_j) where c_j != 0, and |x_j . r| <= threshold elsewhere.
  const neighbors::SparseGraph& c = ssc.coefficients();
  const std::vector<double> dense = values(c.to_dense());
  for (std::int64_t i = 0; i < n; ++i) {
    std::vector<double> r(x.begin() + i * d, x.begin() + (i + 1) * d);
    for (std::int64_t j = 0; j < n; ++j)
      for (std::int64_t t = 0; t < d; ++t) r[t] -= dense[i * n + j] * x[j * d + t];
    CHECK(dense[i * n + i] == 0.0);
    for (std::int64_t j = 0; j < n; ++j) {
      if (j == i) continue;
      double corr = 0;
      for (std::int64_t t = 0; t < d; ++t) corr += x[j * d + t] * r[t];
      if (dense[i * n + j] != 0) {
        CHECK(corr == doctest::Approx(threshold * (dense[i * n + j] > 0 ? 1 : -1)).epsilon(1e-6));
      } else {
        CHECK(std::abs(corr) <= threshold * (1 + 1e-6));
      }
    }
  }
  // The affinity is |C| + |C|^T after each code is scaled to a peak of 1.
  const std::vector<double> w = values(ssc.affinity_graph().to_dense());
  std::vector<double> peak(n, 0.0);
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = 0; j < n; ++j) peak[i] = std::max(peak[i], std::abs(dense[i * n + j]));
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = 0; j < n; ++j) {
      const double expected = (peak[i] > 0 ? std::abs(dense[i * n + j]) / peak[i] : 0) +
                              (peak[j] > 0 ? std::abs(dense[j * n + i]) / peak[j] : 0);
      CHECK(w[i * n + j] == doctest::Approx(expected).epsilon(1e-12));
    }
}

TEST_CASE("sparse subspace clustering: OMP codes rebuild each point from its own subspace") {
  const UnionOfSubspaces data = union_of_subspaces(4, 2, 20, 15, 8);
  SparseSubspaceClustering ssc({.n_clusters = 4, .solver = SubspaceSolver::OMP, .n_nonzero = 2, .normalize = false,
                                .random_state = 0});
  CHECK(best_match_accuracy(data.truth, int_values(ssc.fit_predict(data.x)), 4) == 1.0);
  CHECK(ssc.lambda() == 0.0);
  // Two points of a 2-D subspace span it: each code has two entries and reproduces its point.
  const Tensor rebuilt = matmul_reference(ssc.coefficients().to_dense(), data.x);
  check_close(rebuilt, data.x, 1e-9, 1e-9);
  for (std::int64_t i = 0; i < 60; ++i) CHECK(ssc.coefficients().degree(i) == 2);
}

TEST_CASE("sparse subspace clustering: clear errors") {
  CHECK(contains(error_message([] { SparseSubspaceClustering({.alpha = 1.0}); }), "alpha must be > 1"));
  CHECK(contains(error_message([] { SparseSubspaceClustering({.n_nonzero = 0}); }), "n_nonzero must be at least 1"));
  CHECK(contains(error_message([] { SparseSubspaceClustering().labels(); }), "labels() before fit()"));
  CHECK(contains(error_message([] { SparseSubspaceClustering({.n_clusters = 5}).fit(randn({4, 3}, kFloat64)); }),
                 "5"));
  CHECK(contains(error_message([] { SparseSubspaceClustering({.n_clusters = 2}).fit(zeros({6, 3}, kFloat64)); }),
                 "orthogonal to every other"));
  CHECK(contains(error_message([] { parse_subspace_solver("admm"); }), "expected lasso or omp"));
  CHECK(max_subspace_samples(4) == 46340);
}
