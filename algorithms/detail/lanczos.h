// lanczos.h: the largest eigenpairs of a large symmetric operator, known only through
// products y = M x, by the thick-restart Lanczos method with full reorthogonalisation
// (Lanczos 1950; Wu & Simon 2000, "Thick-restart Lanczos method for large symmetric
// eigenvalue problems"; Stewart 2001, Krylov-Schur).
//
//   auto apply = [&](const double* x, double* y) { spmv(graph, x, y); };
//   cake::algorithms::detail::LanczosResult r = cake::algorithms::detail::lanczos_largest(n, apply, {.n_eigenpairs = 10});
//   // r.eigenvalues[i] descending, r.vectors [n, 10] row-major (column i is eigenvector i)
//
// The method, as implemented:
//   1. Grow an orthonormal basis V of the Krylov space span{v0, M v0, M^2 v0, ...}: each new
//      vector M v_j is orthogonalised against all of V twice ("twice is enough", Giraud et al.
//      2005), so V stays orthonormal to rounding, which plain three-term Lanczos does not.
//   2. When the basis holds max_basis vectors, Rayleigh-Ritz: H = V^T M V (from the stored
//      products), H = Y diag(theta) Y^T; the Ritz pairs (theta_i, V y_i) approximate M's.
//   3. Converged when every wanted Ritz pair has ||M x - theta x|| <= tol. Otherwise restart
//      thick: keep the best Ritz vectors (they span a Krylov space again, Stewart 2001) plus the
//      next Krylov direction, and go back to 1.
// Deflation: orthonormal vectors Z known to span an invariant subspace (for spectral
// clustering, one per connected component of the graph) are projected out of every vector, so
// the method finds the largest eigenpairs of M on the complement of Z. A single Krylov space
// cannot resolve an eigenvalue of multiplicity > 1; deflating the known ones removes the only
// systematic source of multiplicity in graph problems.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

namespace cake::algorithms::detail {

struct LanczosOptions {
  std::int64_t n_eigenpairs = 1;
  std::int64_t max_basis = 0;     // 0: max(2 * n_eigenpairs + 1, n_eigenpairs + 24), capped by the size
  double tol = 1e-8;              // on ||M x - theta x|| (x of unit norm)
  std::int64_t max_restarts = 1000;
  std::optional<std::uint64_t> random_state = std::nullopt;  // the start vector
};

struct LanczosResult {
  std::vector<double> eigenvalues;  // [k], descending
  std::vector<double> vectors;      // [n, k] row-major, orthonormal columns
  std::vector<double> residuals;    // ||M x_i - theta_i x_i||
  std::int64_t n_matvec = 0;
  std::int64_t n_restarts = 0;
  bool converged = false;
};

// apply(x, y) must set y = M x for a symmetric M of order n. deflation: [n, n_deflation]
// row-major, orthonormal columns spanning an M-invariant subspace (may be empty).
LanczosResult lanczos_largest(std::int64_t n, const std::function<void(const double*, double*)>& apply,
                              const LanczosOptions& options, const std::vector<double>& deflation = {},
                              std::int64_t n_deflation = 0);

}  // namespace cake::algorithms::detail

// Compatibility: the spellings from before algorithms/ was split into family namespaces
// (docs/architecture.md, "The algorithms: families and namespaces"). They name the same
// entities; new code uses cake::algorithms::detail.
namespace cake::algorithms {
using ::cake::algorithms::detail::LanczosOptions;
using ::cake::algorithms::detail::LanczosResult;
using ::cake::algorithms::detail::lanczos_largest;
}  // namespace cake::algorithms
