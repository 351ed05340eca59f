#include "cake/algorithms/detail/lanczos.h"

#include <algorithm>
#include <cmath>

#include "cake/algorithms/detail/common.h"
#include "cake/algorithms/detail/one_thread.h"
#include "cake/tensor/creation.h"
#include "cake/tensor/linalg.h"

namespace cake::algorithms::detail {

using index_t = std::int64_t;

namespace {

// NOTE [ Lanczos's sums in a fixed order ]
// The vector operations below are plain loops, one thread, in index order, not BLAS calls: an
// OpenBLAS dot product or GEMV splits its sums across as many threads as it runs, so the
// rounding, and from it the eigenvectors' last bits, would depend on the thread count, and so
// would everything started from them (UMAP's spectral layout, whose SGD turns a last-bit
// difference into another layout). The matrix-vector product `apply` is the caller's and runs in
// parallel; these are O(m n) per product against its O(nnz), and O(m^2 n) per restart. The
// small eigenproblem of each restart runs on one thread too (detail/one_thread.h).

double dot(const double* a, const double* b, index_t n) {
  double sum = 0.0;
  for (index_t i = 0; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

// y += alpha x
void add_scaled(double alpha, const double* x, double* y, index_t n) {
  for (index_t i = 0; i < n; ++i) y[i] += alpha * x[i];
}

void scale(double alpha, double* x, index_t n) {
  for (index_t i = 0; i < n; ++i) x[i] *= alpha;
}

// The basis: rows of a [capacity, n] buffer, so that each vector is contiguous.
struct Basis {
  index_t n;
  std::vector<double> rows;
  double* row(index_t i) { return rows.data() + i * n; }
  const double* row(index_t i) const { return rows.data() + i * n; }
};

// q <- (I - Z Z^T)(I - V V^T) q for the first `count` basis vectors, done twice (classical
// Gram-Schmidt twice: orthogonal to working precision). Returns ||q||.
double orthogonalize(double* q, const Basis& v, index_t count, const std::vector<double>& z, index_t n_z,
                     std::vector<double>& coeffs) {
  const index_t n = v.n;
  coeffs.resize(static_cast<std::size_t>(std::max(count, n_z)));
  for (int pass = 0; pass < 2; ++pass) {
    if (n_z > 0) {  // Z is [n, n_z] row-major
      std::fill(coeffs.begin(), coeffs.begin() + n_z, 0.0);
      for (index_t i = 0; i < n; ++i)  // Z^T q
        for (index_t c = 0; c < n_z; ++c) coeffs[c] += z[i * n_z + c] * q[i];
      for (index_t i = 0; i < n; ++i)  // q -= Z (Z^T q)
        for (index_t c = 0; c < n_z; ++c) q[i] -= z[i * n_z + c] * coeffs[c];
    }
    if (count > 0) {
      for (index_t r = 0; r < count; ++r) coeffs[r] = dot(v.row(r), q, n);  // V q
      for (index_t r = 0; r < count; ++r) add_scaled(-coeffs[r], v.row(r), q, n);  // q -= V^T (V q)
    }
  }
  return std::sqrt(dot(q, q, n));
}

// A random unit vector orthogonal to Z and the first `count` basis vectors (the start, and the
// way out when the Krylov space closes: an invariant subspace was found).
bool random_direction(double* q, const Basis& v, index_t count, const std::vector<double>& z, index_t n_z,
                      std::vector<double>& coeffs) {
  for (int attempt = 0; attempt < 5; ++attempt) {
    const std::vector<double> draw = detail::normal_draws(v.n);
    std::copy(draw.begin(), draw.end(), q);
    const double norm = orthogonalize(q, v, count, z, n_z, coeffs);
    if (norm > 1e-8 * std::sqrt(static_cast<double>(v.n))) {
      scale(1.0 / norm, q, v.n);
      return true;
    }
  }
  return false;
}

}  // namespace

LanczosResult lanczos_largest(std::int64_t n, const std::function<void(const double*, double*)>& apply,
                              const LanczosOptions& options, const std::vector<double>& deflation,
                              std::int64_t n_deflation) {
  const index_t k = options.n_eigenpairs;
  const index_t space = n - n_deflation;
  CAKE_CHECK(n_deflation >= 0 && static_cast<index_t>(deflation.size()) == n * n_deflation,
             "lanczos_largest: deflation must hold n * n_deflation = ", n * n_deflation, " values, got ",
             deflation.size());
  CAKE_CHECK(k >= 1 && k <= space, "lanczos_largest: n_eigenpairs must be in [1, ", space, "] (order ", n, " minus ",
             n_deflation, " deflated), got ", k);
  CAKE_CHECK(options.tol > 0, "lanczos_largest: tol must be positive, got ", options.tol);
  index_t m = options.max_basis > 0 ? options.max_basis : std::max(2 * k + 1, k + 24);
  m = std::min(std::max(m, k + 1), space);
  if (m < k + 1) m = k;  // the whole space: one Rayleigh-Ritz is exact

  Basis v{n, std::vector<double>(static_cast<std::size_t>((m + 1) * n))};
  Basis av{n, std::vector<double>(static_cast<std::size_t>(m * n))};
  std::vector<double> coeffs;
  LanczosResult result;
  {
    detail::SeedScope seed(options.random_state);
    CAKE_CHECK(random_direction(v.row(0), v, 0, deflation, n_deflation, coeffs),
               "lanczos_largest: cannot find a start vector outside the deflated space");
  }
  index_t j = 0;  // products M v_i are known for i < j; v_j is the next direction
  for (index_t restart = 0;; ++restart) {
    // 1. Expand the basis to m vectors.
    while (j < m) {
      apply(v.row(j), av.row(j));
      ++result.n_matvec;
      ++j;
      if (j == space) break;  // the basis spans everything there is
      double* next = v.row(j);
      std::copy(av.row(j - 1), av.row(j - 1) + n, next);
      const double before = std::sqrt(dot(next, next, n));
      const double norm = orthogonalize(next, v, j, deflation, n_deflation, coeffs);
      if (norm > 1e-10 * std::max(before, 1e-300)) {
        scale(1.0 / norm, next, n);
      } else if (!random_direction(next, v, j, deflation, n_deflation, coeffs)) {
        break;
      }
    }
    // 2. Rayleigh-Ritz: H = V^T M V from the stored products, symmetrised.
    Tensor h = empty({j, j}, kFloat64);
    double* ph = h.data_ptr<double>();
    for (index_t a = 0; a < j; ++a)
      for (index_t b = 0; b < j; ++b) ph[a * j + b] = dot(v.row(a), av.row(b), n);
    for (index_t a = 0; a < j; ++a)
      for (index_t b = 0; b < a; ++b) ph[a * j + b] = ph[b * j + a] = 0.5 * (ph[a * j + b] + ph[b * j + a]);
    // On one thread for the same reason: OpenBLAS's threaded products inside the symmetric
    // eigensolver round by the thread count (a j x j problem, j ~ 30, needs no threads).
    auto [theta, y] = on_one_thread([&] { return linalg::eigh(h); });
    const double* pt = theta.data_ptr<double>();
    const double* py = y.data_ptr<double>();
    // The wanted Ritz pairs, largest first: Y_k^T V and Y_k^T (M V).
    const index_t keep = std::max(k, std::min(j - 1, k + (m - k) / 2));
    const index_t take = std::min(keep, j);
    std::vector<double> yk(static_cast<std::size_t>(j * take));
    for (index_t a = 0; a < j; ++a)
      for (index_t c = 0; c < take; ++c) yk[a * take + c] = py[a * j + (j - 1 - c)];
    std::vector<double> x(static_cast<std::size_t>(take * n)), ax(static_cast<std::size_t>(take * n));
    for (index_t c = 0; c < take; ++c)
      for (index_t a = 0; a < j; ++a) {
        add_scaled(yk[a * take + c], v.row(a), &x[c * n], n);
        add_scaled(yk[a * take + c], av.row(a), &ax[c * n], n);
      }
    // 3. Residuals of the k wanted pairs.
    result.residuals.assign(static_cast<std::size_t>(k), 0.0);
    bool converged = true;
    for (index_t c = 0; c < k; ++c) {
      const double value = pt[j - 1 - c];
      double sq = 0;
      for (index_t i = 0; i < n; ++i) {
        const double r = ax[c * n + i] - value * x[c * n + i];
        sq += r * r;
      }
      result.residuals[c] = std::sqrt(sq);
      converged = converged && result.residuals[c] <= options.tol;
    }
    const bool exhausted = j == space || j < m;  // the whole space, or no new direction exists
    if (converged || exhausted || restart >= options.max_restarts) {
      result.converged = converged || exhausted;
      result.n_restarts = restart;
      result.eigenvalues.resize(static_cast<std::size_t>(k));
      result.vectors.resize(static_cast<std::size_t>(n * k));
      for (index_t c = 0; c < k; ++c) {
        result.eigenvalues[c] = pt[j - 1 - c];
        for (index_t i = 0; i < n; ++i) result.vectors[i * k + c] = x[c * n + i];
      }
      return result;
    }
    // Thick restart: the best `take` Ritz vectors (and their products) become the basis; the
    // pending direction v_j, orthogonal to all of them, follows.
    std::copy(v.row(j), v.row(j) + n, v.row(take));
    std::copy(x.begin(), x.end(), v.rows.begin());
    std::copy(ax.begin(), ax.end(), av.rows.begin());
    j = take;
  }
}

}  // namespace cake::algorithms::detail
