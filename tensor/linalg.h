// linalg.h: matrix decompositions and solvers (LAPACK through OpenBLAS), for the algorithms
// that need them: PCA (eigh, svd), Gaussian mixtures (cholesky, solve_triangular, slogdet),
// spectral clustering (eigh), ICA (eigh for whitening, svd).
//
//   cake::Tensor A = cake::randn({5, 5}, cake::kFloat64);
//   cake::Tensor S = cake::matmul(A, A.t()) + cake::eye(5, -1, cake::kFloat64);   // s.p.d.
//   auto [w, V] = cake::linalg::eigh(S);          // S = V diag(w) V^T, w ascending
//   auto [U, s, Vh] = cake::linalg::svd(A);       // A = U diag(s) Vh, s descending
//   cake::Tensor L = cake::linalg::cholesky(S);   // S = L L^T, L lower triangular
//   cake::Tensor x = cake::linalg::solve(S, cake::ones({5}, cake::kFloat64));   // S x = 1
//
// Conventions (those of torch.linalg):
//   * float32 and float64; other dtypes are an error. Inputs may have any layout (views,
//     transposes): they are copied into the layout LAPACK wants, which it overwrites anyway.
//   * A leading batch [..., m, n] is allowed everywhere and is looped over, one LAPACK call
//     per matrix; the two operands of solve/solve_triangular broadcast their batch dims.
//   * Not differentiable: the results never require a gradient.
//   * CPU tensors are computed in place; tensors on another device are copied to the CPU,
//     computed there, and the results copied back (these are small matrices: D x D, k x k).
//   * A matrix that has no answer (not positive definite, singular) is a cake::Error naming
//     the problem, the shape and, in a batch, which matrix.
#pragma once

#include "tensor/tensor.h"

namespace cake::linalg {

// ---- symmetric eigendecomposition (?syevd) ----------------------------------------------
// A = V diag(eigenvalues) V^T for symmetric A [..., n, n]. Only the lower triangle is read.
// eigenvalues [..., n] ascending; eigenvectors [..., n, n] orthonormal, one per column.
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

}  // namespace cake::linalg
