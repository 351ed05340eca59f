#include "cake/algorithms/cluster/sparse_subspace.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "cake/algorithms/cluster/spectral.h"
#include "cake/algorithms/detail/common.h"
#include "cake/algorithms/detail/sparse_codes.h"

namespace cake::cluster {

namespace detail = algorithms::detail;
using neighbors::SparseGraph;
using index_t = std::int64_t;

SubspaceSolver parse_subspace_solver(const std::string& name) {
  if (name == "lasso") return SubspaceSolver::Lasso;
  if (name == "omp") return SubspaceSolver::OMP;
  CAKE_FAIL("SparseSubspaceClustering: unknown solver '", name, "' (expected lasso or omp)");
}

std::int64_t max_subspace_samples(std::int64_t bytes) {
  return static_cast<std::int64_t>(std::sqrt(static_cast<double>(std::int64_t{8} << 30) / static_cast<double>(bytes)));
}

namespace {

// Step 1: unit rows (a zero row stays zero; it gets an empty code and no links).
template <class T>
void scale_rows_to_unit(std::vector<T>& x, index_t n, index_t d) {
  for (index_t i = 0; i < n; ++i) {
    const T norm = std::sqrt(blas::dot<T>(d, &x[i * d], &x[i * d]));
    if (norm > 0)
      for (index_t j = 0; j < d; ++j) x[i * d + j] /= norm;
  }
}

// The codes' sparse rows: point i's nonzero coefficients.
struct SparseCodes {
  std::vector<std::vector<index_t>> index;
  std::vector<std::vector<double>> value;
};

// Step 2 for every point, in parallel over points (each code is independent, so the result does
// not depend on the thread count). alpha_lasso is 1 / lambda.
template <class T>
SparseCodes self_expressive_codes(const std::vector<T>& gram, index_t n, const SparseSubspaceClusteringOptions& o,
                                  double alpha_lasso) {
  SparseCodes codes{std::vector<std::vector<index_t>>(static_cast<std::size_t>(n)),
                    std::vector<std::vector<double>>(static_cast<std::size_t>(n))};
  const index_t n_nonzero = std::min(o.n_nonzero, n - 1);
  parallel_for(0, n, 8, [&](index_t lo, index_t hi) {
    std::vector<T> code(static_cast<std::size_t>(n)), work, lower, gamma;
    std::vector<index_t> active;
    for (index_t i = lo; i < hi; ++i) {
      const T* b = gram.data() + i * n;  // X x_i: the dictionary is the data itself
      if (o.solver == SubspaceSolver::OMP) {
        detail::omp_code<T>(gram.data(), b, n, n_nonzero, code.data(), lower, active, gamma, work, i);
      } else {
        std::fill(code.begin(), code.end(), T(0));
        detail::lasso_code<T>(gram.data(), b, n, static_cast<T>(alpha_lasso), /*positive=*/false, b[i], o.max_iter,
                              o.tol, code.data(), work, /*excluded=*/i, /*active_set=*/true);
      }
      for (index_t j = 0; j < n; ++j)
        if (code[j] != 0) codes.index[i].push_back(j), codes.value[i].push_back(static_cast<double>(code[j]));
    }
  });
  return codes;
}

template <class T>
SparseCodes fit_codes(const Tensor& input, const SparseSubspaceClusteringOptions& o, double& lambda) {
  const index_t n = input.size(0), d = input.size(1);
  std::vector<T> x(input.data_ptr<T>(), input.data_ptr<T>() + n * d);
  if (o.normalize) scale_rows_to_unit(x, n, d);
  std::vector<T> gram(static_cast<std::size_t>(n * n));
  blas::gemm<T>(false, true, n, n, d, T(1), x.data(), d, x.data(), d, T(0), gram.data(), n);
  lambda = 0.0;
  if (o.solver == SubspaceSolver::Lasso) {
    // mu = min_i max_{j != i} |x_i . x_j| over the points with any correlation at all.
    double mu = 0.0;
    for (index_t i = 0; i < n; ++i) {
      double largest = 0;
      for (index_t j = 0; j < n; ++j)
        if (j != i) largest = std::max(largest, std::abs(static_cast<double>(gram[i * n + j])));
      if (largest > 0) mu = mu == 0 ? largest : std::min(mu, largest);
    }
    CAKE_CHECK(mu > 0, "SparseSubspaceClustering: every point is orthogonal to every other; nothing can code them");
    lambda = o.alpha / mu;
  }
  return self_expressive_codes(gram, n, o, lambda > 0 ? 1.0 / lambda : 0.0);
}

// C as a graph (row i: the code of x_i), or step 3's W = |C| + |C|^T with each code first scaled
// to a largest |entry| of 1 (from_triplets sums the two halves).
SparseGraph coefficient_graph(const SparseCodes& codes, index_t n, bool scaled_and_symmetric) {
  std::vector<std::int64_t> rows, cols;
  std::vector<double> vals;
  for (index_t i = 0; i < n; ++i) {
    double largest = 0;
    for (const double v : codes.value[i]) largest = std::max(largest, std::abs(v));
    for (std::size_t t = 0; t < codes.index[i].size(); ++t) {
      const index_t j = codes.index[i][t];
      if (!scaled_and_symmetric) {
        rows.push_back(i), cols.push_back(j), vals.push_back(codes.value[i][t]);
        continue;
      }
      const double weight = std::abs(codes.value[i][t]) / largest;
      rows.push_back(i), cols.push_back(j), vals.push_back(weight);
      rows.push_back(j), cols.push_back(i), vals.push_back(weight);
    }
  }
  return SparseGraph::from_triplets(n, rows, cols, vals);
}

}  // namespace

SparseSubspaceClustering::SparseSubspaceClustering(SparseSubspaceClusteringOptions options) : options_(options) {
  const auto& o = options_;
  CAKE_CHECK(o.n_clusters >= 1, "SparseSubspaceClustering: n_clusters must be at least 1, got ", o.n_clusters);
  CAKE_CHECK(o.alpha > 1, "SparseSubspaceClustering: alpha must be > 1 (with alpha <= 1 some points get an empty "
             "code), got ", o.alpha);
  CAKE_CHECK(o.n_nonzero >= 1, "SparseSubspaceClustering: n_nonzero must be at least 1, got ", o.n_nonzero);
  CAKE_CHECK(o.max_iter >= 1, "SparseSubspaceClustering: max_iter must be at least 1, got ", o.max_iter);
  CAKE_CHECK(o.tol > 0, "SparseSubspaceClustering: tol must be positive, got ", o.tol);
  CAKE_CHECK(o.n_init >= 1, "SparseSubspaceClustering: n_init must be at least 1, got ", o.n_init);
}

SparseSubspaceClustering& SparseSubspaceClustering::fit(const Tensor& input) {
  const auto& o = options_;
  const Tensor x = detail::data_matrix(input, "SparseSubspaceClustering.fit", std::max<std::int64_t>(2, o.n_clusters));
  const index_t n = x.size(0);
  const std::int64_t limit = max_subspace_samples(static_cast<std::int64_t>(x.element_size()));
  CAKE_CHECK(n <= limit, "SparseSubspaceClustering: ", n, " samples need a ", n, " x ", n, " Gram matrix; at most ",
             limit, " of this dtype fit the 8 GiB limit (subsample, or use LandmarkSpectralClustering)");
  // Steps 1-2.
  const SparseCodes codes =
      x.dtype() == kFloat32 ? fit_codes<float>(x, o, lambda_) : fit_codes<double>(x, o, lambda_);

  // Step 3.
  coefficients_ = coefficient_graph(codes, n, /*scaled_and_symmetric=*/false);
  affinity_ = coefficient_graph(codes, n, /*scaled_and_symmetric=*/true);

  // Step 4.
  SpectralClustering spectral({.n_clusters = o.n_clusters, .n_init = o.n_init, .random_state = o.random_state});
  labels_ = spectral.fit_affinity(affinity_).labels();
  return *this;
}

Tensor SparseSubspaceClustering::fit_predict(const Tensor& x) { return fit(x).labels(); }

void SparseSubspaceClustering::check_fitted(const char* who) const {
  CAKE_CHECK(labels_.defined(), "SparseSubspaceClustering: ", who, "() before fit()");
}
const Tensor& SparseSubspaceClustering::labels() const {
  check_fitted("labels");
  return labels_;
}
const SparseGraph& SparseSubspaceClustering::coefficients() const {
  check_fitted("coefficients");
  return coefficients_;
}
const SparseGraph& SparseSubspaceClustering::affinity_graph() const {
  check_fitted("affinity_graph");
  return affinity_;
}

}  // namespace cake::cluster
