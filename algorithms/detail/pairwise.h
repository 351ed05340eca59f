// algorithms/detail/pairwise.h: squared Euclidean distances between blocks of rows through one
// GEMM, the workhorse of the brute-force neighbour searches.
//
//   std::vector<double> norms = detail::row_squared_norms(X, n, d);
//   detail::squared_distances(X + i0 * d, rows, norms.data() + i0, X, n, norms.data(), d, block);
//
// ||a - b||^2 = ||a||^2 + ||b||^2 - 2 a.b: the cross terms of a whole block are one GEMM, which
// runs near the machine's peak, instead of rows * n * d scalar differences. The expansion loses
// relative accuracy when a and b are close (catastrophic cancellation), so results are clamped
// at zero; callers that need exact small distances recompute them directly.
#pragma once

#include <algorithm>
#include <vector>

#include "algorithms/detail/blas.h"
#include "tensor/parallel.h"

namespace cake::algorithms::detail {

template <class T>
std::vector<T> row_squared_norms(const T* x, index_t n, index_t d) {
  std::vector<T> norms(static_cast<std::size_t>(n));
  for (index_t i = 0; i < n; ++i) {
    T s = 0;
    const T* row = x + i * d;
    for (index_t j = 0; j < d; ++j) s += row[j] * row[j];
    norms[static_cast<std::size_t>(i)] = s;
  }
  return norms;
}

// out[i, j] = ||a_i - b_j||^2 for a [na, d], b [nb, d]; out is [na, nb] row-major.
template <class T>
void squared_distances(const T* a, index_t na, const T* a_norms, const T* b, index_t nb, const T* b_norms, index_t d,
                       T* out) {
  gemm<T>(false, true, na, nb, d, T(-2), a, d, b, d, T(0), out, nb);
  parallel_for(0, na, std::max<index_t>(1, 65536 / std::max<index_t>(nb, 1)), [&](index_t lo, index_t hi) {
    for (index_t i = lo; i < hi; ++i) {
      T* row = out + i * nb;
      const T ai = a_norms[i];
      for (index_t j = 0; j < nb; ++j) row[j] = std::max(row[j] + ai + b_norms[j], T(0));
    }
  });
}

// The exact squared distance, for the few pairs where cancellation matters.
template <class T>
T squared_distance(const T* a, const T* b, index_t d) {
  T s = 0;
  for (index_t j = 0; j < d; ++j) {
    const T diff = a[j] - b[j];
    s += diff * diff;
  }
  return s;
}

}  // namespace cake::algorithms::detail
