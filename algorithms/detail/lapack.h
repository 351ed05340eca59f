// algorithms/detail/lapack.h: the two LAPACK calls the classical algorithms need beyond
// tensor/linalg.h (cake::linalg::eigh, svd, qr, ...), on row-major float32/float64 CPU tensors.
//
//   auto [s, vh] = cake::algorithms::detail::singular_values_and_right_vectors(X);  // X tall
//   std::vector<std::int64_t> rows = cake::algorithms::detail::pivoted_qr_order(Y);
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "tensor/tensor.h"

namespace cake::algorithms::detail {

// The singular values S [k] (descending) and right singular vectors Vh [k, n] of X [m, n],
// without the left ones. For a tall X (m >= 2n) through the R factor of X = Q R (LAPACK geqrf,
// Q never formed) and the SVD of the small R: X = Q R = (Q U) S Vh has
// R's S and Vh (Chan 1982, "An improved algorithm for computing the singular value
// decomposition"). About a third of the work of a thin SVD that also forms U [m, k] (FastICA's
// whitening needs only S and Vh). geqrf reads X column-major: pass x = xt.t() for a contiguous
// xt [n, m] to spare a transposing copy; with overwrite_input that buffer is the workspace.
std::pair<Tensor, Tensor> singular_values_and_right_vectors(const Tensor& x, bool overwrite_input = false);

// Rows of X [n, k] in the order QR with column pivoting of X^T picks them (LAPACK geqp3):
// the first k are the best-conditioned set of rows (Businger & Golub 1965). Used by the
// CPQR label assignment of spectral clustering (Damle, Minden & Ying 2019).
std::vector<std::int64_t> pivoted_qr_order(const Tensor& x);

}  // namespace cake::algorithms::detail
