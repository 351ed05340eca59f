// algorithms/detail/lapack.h: the dense decompositions the classical algorithms need, on
// row-major Tensors (float32 or float64, CPU), through LAPACK.
//
//   auto [w, V] = cake::algorithms::detail::eigh(A);     // A = V diag(w) V^T, w ascending
//   auto [U, S, Vh] = cake::algorithms::detail::svd(X);  // thin: X = U diag(S) Vh
//
// A stand-in with the shapes of tensor/linalg.h (cake::linalg::eigh/svd/qr) until that layer is
// merged; then the call sites switch to it and this file keeps only pivoted_qr_order, which
// linalg does not provide.
#pragma once

#include <tuple>
#include <utility>
#include <vector>

#include "tensor/tensor.h"

namespace cake::algorithms::detail {

// Symmetric eigendecomposition of A [n, n]: eigenvalues ascending, eigenvectors as the columns
// of V (LAPACK syevd, divide and conquer).
std::pair<Tensor, Tensor> eigh(const Tensor& a);

// Thin SVD of X [m, n]: U [m, k], S [k] descending, Vh [k, n], k = min(m, n) (LAPACK gesdd).
std::tuple<Tensor, Tensor, Tensor> svd(const Tensor& x);

// Thin QR of X [m, n], m >= n: Q [m, n] with orthonormal columns and R [n, n] upper triangular.
std::pair<Tensor, Tensor> qr(const Tensor& x);

// Rows of X [n, k] in the order QR with column pivoting of X^T picks them (LAPACK geqp3):
// the first k are the best-conditioned set of rows (Businger & Golub 1965). Used by the
// CPQR label assignment of spectral clustering (Damle, Minden & Ying 2019).
std::vector<std::int64_t> pivoted_qr_order(const Tensor& x);

}  // namespace cake::algorithms::detail
