// linalg.h: matrix decompositions and solvers (LAPACK through OpenBLAS), for the algorithms
// that need them: PCA (eigh, svd, randomized_svd), Gaussian mixtures (cholesky,
// solve_triangular, slogdet), spectral clustering (eigh, pivoted_qr_order), ICA (eigh for
// whitening, singular_values_and_right_vectors), NMF's initialisation (randomized_svd).
// Algorithms reach LAPACK only through this header (raw BLAS through tensor/blas.h).
//
//   cake::Tensor A = cake::randn({5, 5}, cake::kFloat64);
//   cake::Tensor S = cake::matmul(A, A.t()) + cake::eye(5, -1, cake::kFloat64);   // s.p.d.
//   auto [w, V] = cake::linalg::eigh(S);          // S = V diag(w) V^T, w ascending
//   auto [U, s, Vh] = cake::linalg::svd(A);       // A = U diag(s) Vh, s descending
//   auto top = cake::linalg::randomized_svd(A, 2); // the 2 leading triplets, by sketching
//   cake::Tensor L = cake::linalg::cholesky(S);   // S = L L^T, L lower triangular
//   cake::Tensor x = cake::linalg::solve(S, cake::ones({5}, cake::kFloat64));   // S x = 1
//
// Conventions (those of torch.linalg):
//   * float32 and float64; other dtypes are an error. Inputs may have any layout (views,
//     transposes): they are copied into the layout LAPACK wants, which it overwrites anyway.
//   * A leading batch [..., m, n] is allowed everywhere and is looped over, one LAPACK call
//     per matrix; the two operands of solve/solve_triangular broadcast their batch dims.
//   * Not differentiable: the results never require a gradient.
//   * CPU tensors are computed in place. eigh has a kernel per device (native::eigh_stub: LAPACK
//     on the CPU, cuSOLVER on CUDA), so a CUDA matrix is decomposed on the GPU. The others copy
//     a tensor on another device to the CPU, compute there, and copy the results back (these
//     are small matrices: D x D, k x k).
//   * A matrix that has no answer (not positive definite, singular) is a cake::Error naming
//     the problem, the shape and, in a batch, which matrix.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "cake/tensor/tensor.h"

namespace cake::linalg {

// ---- symmetric eigendecomposition (?syevd; cuSOLVER's syevd on CUDA) ---------------------
// A = V diag(eigenvalues) V^T for symmetric A [..., n, n]. Only the lower triangle is read.
// eigenvalues [..., n] ascending; eigenvectors [..., n, n] orthonormal, one per column (each
// determined up to sign, and within a repeated eigenvalue up to rotation: LAPACK and cuSOLVER
// may pick different ones). Both results on A's device.
struct EighResult {
  Tensor eigenvalues;
  Tensor eigenvectors;
};
EighResult eigh(const Tensor& a);

// ---- singular value decomposition (?gesdd) ----------------------------------------------
// A = U diag(S) Vh for A [..., m, n], k = min(m, n); S [..., k] descending, non-negative.
// Reduced (default): U [..., m, k], Vh [..., k, n]. full_matrices: U [..., m, m], Vh [..., n, n].
struct SvdResult {
  Tensor U;
  Tensor S;
  Tensor Vh;
};
SvdResult svd(const Tensor& a, bool full_matrices = false);

// ---- Cholesky (?potrf) -------------------------------------------------------------------
// L with A = L L^T (lower, reading A's lower triangle), or U with A = U^T U when `upper`
// (reading A's upper triangle). The other triangle of the result is 0. Error when A is not
// positive definite, naming the order of the first leading minor that is not positive.
Tensor cholesky(const Tensor& a, bool upper = false);

// ---- triangular solve (?trsm) ------------------------------------------------------------
// X with A X = B (left) or X A = B (right) for triangular A [..., n, n], B [..., n, k]
// (left) or [..., k, n] (right). Only the `upper` (or lower) triangle of A is read; with
// `unitriangular` its diagonal is taken as 1 and not read either.
Tensor solve_triangular(const Tensor& a, const Tensor& b, bool upper, bool left = true, bool unitriangular = false);

// ---- general solve, inverse, determinant (?gesv, ?getrf) --------------------------------
// X with A X = B for A [..., n, n], B [..., n, k] or a vector B [n] (then X is [n]).
// Error when A is singular.
Tensor solve(const Tensor& a, const Tensor& b);
// A^{-1} for A [..., n, n]; error when A is singular.
Tensor inv(const Tensor& a);
// det(A) [...] for A [..., n, n]; 0 for a singular matrix.
Tensor det(const Tensor& a);
// det(A) = sign * exp(logabsdet), without the overflow of det for large n. For a singular
// matrix sign = 0 and logabsdet = -inf.
struct SlogdetResult {
  Tensor sign;
  Tensor logabsdet;
};
SlogdetResult slogdet(const Tensor& a);

// ---- QR (?geqrf + ?orgqr) ----------------------------------------------------------------
// Reduced QR of A [..., m, n], k = min(m, n): Q [..., m, k] with orthonormal columns and
// R [..., k, n] upper triangular, A = Q R. (R's diagonal may be negative, as LAPACK's.)
struct QrResult {
  Tensor Q;
  Tensor R;
};
QrResult qr(const Tensor& a);

// ---- singular values and right vectors only (?geqrf + ?gesdd) ---------------------------
// S [k] (descending) and Vh [k, n] of a 2-D float32/float64 CPU matrix X [m, n], without U.
// For a tall X (m >= 2n) through the R factor of X = Q R (Q never formed) and the SVD of the
// small R: X = Q R = (Q U_R) S Vh has R's S and Vh (Chan 1982, "An improved algorithm for
// computing the singular value decomposition", ACM TOMS 8(1)). About a third of the work of a
// thin SVD that also forms U [m, k]. geqrf reads X column-major: pass x = xt.t() for a
// contiguous xt [n, m] to spare a transposing copy; with overwrite_input that buffer is the
// workspace (its values are destroyed).
std::pair<Tensor, Tensor> singular_values_and_right_vectors(const Tensor& x, bool overwrite_input = false);

// ---- QR with column pivoting (?geqp3) ----------------------------------------------------
// The rows of a 2-D float32/float64 CPU matrix X [n, k] in the order that QR with column
// pivoting of X^T picks them: the first k are the best-conditioned set of rows (Businger &
// Golub 1965, "Linear least squares solutions by Householder transformations"). Used by the
// CPQR label assignment of spectral clustering (Damle, Minden & Ying 2019).
std::vector<std::int64_t> pivoted_qr_order(const Tensor& x);

// ---- randomized truncated SVD (Halko, Martinsson & Tropp 2011) ---------------------------
// The k leading singular triplets of A [m, n] (2-D, float32/float64, 1 <= k <= min(m, n)),
// from a random sketch: Halko, Martinsson & Tropp 2011, "Finding structure with randomness:
// probabilistic algorithms for constructing approximate matrix decompositions", SIAM Review
// 53(2). Algorithm 4.4 (randomized subspace iteration) finds Q [m, l], l = k + oversamples,
// whose columns span the range of (A A^T)^q A Omega for a Gaussian Omega [n, l]; Algorithm 5.1
// then takes the SVD of the small B = Q^T A and lifts it back: U = Q U_B.
// Returns U [m, k] (undefined when !compute_u), S [k] descending, Vh [k, n], in A's dtype.
// Omega is drawn from Cake's global generator (cake::manual_seed makes the result
// reproducible). Accuracy grows with q: the error is within a small factor of
// sigma_{k+1} * (min(m, n) / l)^(1 / (2q + 1)) (section 10.4), so a matrix of rank <= l is
// recovered to rounding.
struct RandomizedSvdOptions {
  std::int64_t oversamples = 10;       // p: the sketch has l = min(k + p, min(m, n)) columns
  std::int64_t power_iterations = -1;  // q; -1: 7 when k < 0.1 min(m, n), else 4 (as scikit-learn)
  // Re-conditioning of the sketch between power iterations (section 4.5): "QR" (orthonormal
  // columns), "LU" (the permuted L factor, cheaper), "none", or "auto" (none for q <= 2, else LU).
  std::string normalizer = "auto";
  // Optional [n] row vector s: factor A - 1 s^T instead of A, without forming it (PCA's
  // centring: (A - 1 s^T) Q = A Q - 1 (s^T Q), and likewise for the transpose).
  Tensor column_shift = {};
  bool compute_u = true;  // false skips the m x l x k product that forms U
};
SvdResult randomized_svd(const Tensor& a, std::int64_t k, const RandomizedSvdOptions& options = {});

}  // namespace cake::linalg
