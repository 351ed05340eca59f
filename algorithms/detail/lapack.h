// algorithms/detail/lapack.h: the dense decompositions the classical algorithms need, on
// row-major Tensors (float32 or float64, CPU), through LAPACK.
//
//   auto [w, V] = cake::algorithms::detail::eigh(A);     // A = V diag(w) V^T, w ascending
//   auto [U, S, Vh] = cake::algorithms::detail::svd(X);  // thin: X = U diag(S) Vh
//
// A stand-in with the shapes of tensor/linalg.h (cake::linalg::eigh/svd/qr) until that layer is
// merged; then the call sites switch to it and this file keeps only what linalg does not
// provide: singular_values_and_right_vectors and pivoted_qr_order.
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

// The singular values S [k] (descending) and right singular vectors Vh [k, n] of X [m, n],
// without the left ones. For a tall X (m >= 2n) through the R factor of X = Q R (LAPACK gelqf
// on the transposed view, Q never formed) and the SVD of the small R: X = Q R = (Q U) S Vh has
// R's S and Vh (Chan 1982, "An improved algorithm for computing the singular value
// decomposition"). About a third of the work of a thin SVD that also forms U [m, k].
// With overwrite_input the (contiguous) x is used as the workspace instead of a copy.
std::pair<Tensor, Tensor> singular_values_and_right_vectors(const Tensor& x, bool overwrite_input = false);

// Rows of X [n, k] in the order QR with column pivoting of X^T picks them (LAPACK geqp3):
// the first k are the best-conditioned set of rows (Businger & Golub 1965). Used by the
// CPQR label assignment of spectral clustering (Damle, Minden & Ying 2019).
std::vector<std::int64_t> pivoted_qr_order(const Tensor& x);

}  // namespace cake::algorithms::detail
