// algorithms/detail/pairwise.h: squared Euclidean distances between blocks of rows through one
// GEMM, the workhorse of the brute-force neighbour searches.
//
//   std::vector<double> norms(n);
//   detail::row_squared_norms(X, n, d, norms.data());                  // detail/common.h
//   detail::squared_distances(X + i0 * d, rows, norms.data() + i0, X, n, norms.data(), d, block);
//
// ||a - b||^2 = ||a||^2 + ||b||^2 - 2 a.b: the cross terms of a whole block are one GEMM, which
// runs near the machine's peak, instead of rows * n * d scalar differences. The expansion loses
// relative accuracy when a and b are close (catastrophic cancellation), so results are clamped
// at zero; callers that need exact small distances recompute them directly.
#pragma once

#include <algorithm>
#include <vector>

#include "algorithms/detail/common.h"
#include "tensor/parallel.h"

namespace cake::algorithms::detail {

// out[i, j] = ||a_i - b_j||^2 for a [na, d], b [nb, d]; out is [na, nb] row-major.
template <class T>
void squared_distances(const T* a, std::int64_t na, const T* a_norms, const T* b, std::int64_t nb, const T* b_norms,
                       std::int64_t d, T* out) {
  gemm<T>(false, true, na, nb, d, T(-2), a, d, b, d, T(0), out, nb);
  parallel_for(0, na, grain_for(nb), [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t i = lo; i < hi; ++i) {
      T* row = out + i * nb;
      const T ai = a_norms[i];
      for (std::int64_t j = 0; j < nb; ++j) row[j] = std::max(row[j] + ai + b_norms[j], T(0));
    }
  });
}

}  // namespace cake::algorithms::detail
