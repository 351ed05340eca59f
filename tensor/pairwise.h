// pairwise.h: squared Euclidean distances between the rows of two matrices, one block of rows
// at a time through GEMM: the one distance routine behind cake::cdist_squared, k-means, t-SNE's
// affinities, DBSCAN, spectral and agglomerative clustering and the distance-based metrics.
//
//   // Stream: visit each block of rows of the N x M distance matrix, never storing it whole.
//   cake::pairwise::for_each_distance_block(x, x_sq, n, d, c, c_sq, m,
//       [&](int thread, std::int64_t lo, std::int64_t hi, const float* dist) { nearest(thread, lo, hi, dist); });
//   // Or fill a caller-owned N x M matrix.
//   cake::pairwise::squared_distances(a, na, a_sq, b, nb, b_sq, d, out);
//
// The expansion |x_i - c_j|^2 = |x_i|^2 - 2 x_i . c_j + |c_j|^2 turns a block's cross terms into
// one matrix product, which runs near the machine's peak, instead of rows * m * d scalar
// differences. It loses relative precision when |x| is much larger than |x - c|
// (cancellation): results are clamped at zero, and callers that need exact small distances
// centre the data first or recompute them directly.
//
// Two products per block, chosen by the number m of columns (centres):
//   * m > 16: BLAS GEMM (tensor/blas.h);
//   * m <= 16: a fused broadcast-FMA kernel (few_centre_dot_products below). For a thin product
//     (256 x 784 times 784 x 10) OpenBLAS spends more time packing the block into its panel
//     layout than multiplying (perf: 26% of k-means in sgemm_oncopy).
// Blocks are spread over threads with cake::parallel_for, BLAS single-threaded inside
// (NOTE [ BLAS inside parallel regions ] in tensor/blas.h).
//
// Raw row-major CPU buffers of float or double; the tensor-level entry point is
// cake::native::cdist_squared (tensor/native/linalg.h), whose CPU kernel calls this.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "cake/tensor/blas.h"
#include "cake/tensor/parallel.h"

namespace cake::pairwise {

// out[i] = |x_i|^2 for the n rows of X [n x d]. Defined in pairwise.cpp (float and double), where
// the compiler may vectorise the sum.
template <class T>
void row_squared_norms(const T* x, std::int64_t n, std::int64_t d, T* out);
extern template void row_squared_norms<float>(const float*, std::int64_t, std::int64_t, float*);
extern template void row_squared_norms<double>(const double*, std::int64_t, std::int64_t, double*);

// Rows per streamed block for a distance block of `m` columns: at most 256 (enough for GEMM to
// run at speed) and small enough that the block (rows x m) stays near 256 KiB of floats.
inline std::int64_t distance_block_rows(std::int64_t m) {
  return std::clamp<std::int64_t>((std::int64_t{1} << 16) / std::max<std::int64_t>(m, 1), 16, 256);
}

// Up to this many columns, dot products are computed by few_centre_dot_products, not GEMM.
inline constexpr std::int64_t kSmallDotMaxColumns = 16;

// The m <= 16 centres c [m x d] transposed to [d x W] and zero-padded to W = 8 or 16 columns:
// the layout few_centre_dot_products reads.
template <class T>
std::vector<T> transpose_few_centres(const T* c, std::int64_t m, std::int64_t d, std::int64_t width) {
  std::vector<T> ct(static_cast<std::size_t>(d * width), T(0));
  for (std::int64_t j = 0; j < m; ++j)
    for (std::int64_t f = 0; f < d; ++f) ct[static_cast<std::size_t>(f * width + j)] = c[j * d + f];
  return ct;
}

// out[r * m + j] = x_r . c_j for exactly R rows of x [R x d], given ct = c transposed and padded
// to W columns (transpose_few_centres). The W dot products of a row live in W / L vector
// registers of L lanes; each feature f adds x_r[f] (broadcast) times row f of ct to them, so no
// horizontal sum is needed at the end, and the R rows share each load of ct. With R = 8 and
// W = 16 floats that is 16 accumulators, all of AVX2's registers: 2-3x the speed of a dot
// product per (row, centre) pair when d is small (50), and still ahead at d = 784.
template <class T, int W, int R>
void few_centre_dot_products_rows(const T* x, std::int64_t d, const T* ct, std::int64_t m, T* out) {
  typedef T Vec __attribute__((vector_size(32), aligned(sizeof(T))));  // unaligned loads allowed
  constexpr int kLanes = 32 / sizeof(T), kVecs = W / kLanes;
  Vec acc[R][kVecs] = {};
  for (std::int64_t f = 0; f < d; ++f) {
    const Vec* ct_f = reinterpret_cast<const Vec*>(ct + f * W);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const T xf = x[r * d + f];
#pragma GCC unroll 4
      for (int v = 0; v < kVecs; ++v) acc[r][v] += xf * ct_f[v];
    }
  }
  for (int r = 0; r < R; ++r)
    for (std::int64_t j = 0; j < m; ++j) out[r * m + j] = acc[r][j / kLanes][j % kLanes];
}

// out[r * m + j] = x_r . c_j for the `rows` rows of x [rows x d]; eight rows at a time, then one.
template <class T, int W>
void few_centre_dot_products(const T* x, std::int64_t rows, std::int64_t d, const T* ct, std::int64_t m, T* out) {
  std::int64_t r = 0;
  for (; r + 8 <= rows; r += 8) few_centre_dot_products_rows<T, W, 8>(x + r * d, d, ct, m, out + r * m);
  for (; r < rows; ++r) few_centre_dot_products_rows<T, W, 1>(x + r * d, d, ct, m, out + r * m);
}

// The routine itself. Splits the n rows of X into blocks of `rows` rows; for each block
// [lo, hi) computes
//     dist[i][j] = max(0, |x_i|^2 - 2 x_i . c_j + |c_j|^2)
// into `out + lo * m` when out is given (the caller's n x m matrix), else into a per-thread
// buffer, then calls visit(thread, lo, hi, dist) on the thread that computed it (`thread` is
// the index within cake::parallel_for, for per-thread partial results). x_sq and c_sq are the
// rows' squared norms (row_squared_norms).
template <class T, class Visit>
void distance_blocks(const T* x, const T* x_sq, std::int64_t n, std::int64_t d, const T* c, const T* c_sq,
                     std::int64_t m, std::int64_t rows, T* out, const Visit& visit) {
  if (n == 0) return;
  const std::int64_t blocks = (n + rows - 1) / rows;
  const bool few_centres = m <= kSmallDotMaxColumns;
  const std::int64_t width = m <= 8 ? 8 : 16;
  const std::vector<T> centres_t = few_centres ? transpose_few_centres(c, m, d, width) : std::vector<T>();
  const std::int64_t grain = std::max<std::int64_t>(1, (std::int64_t{1} << 17) / std::max<std::int64_t>(rows * m * d, 1));
  blas::SingleThreaded single_threaded_blas;  // NOTE [ BLAS inside parallel regions ]
  parallel_for(0, blocks, grain, [&](std::int64_t block_lo, std::int64_t block_hi) {
    const int thread = thread_index();
    std::vector<T> scratch(out == nullptr ? static_cast<std::size_t>(rows * m) : 0);
    for (std::int64_t b = block_lo; b < block_hi; ++b) {
      const std::int64_t lo = b * rows, hi = std::min(n, lo + rows);
      T* dist = out != nullptr ? out + lo * m : scratch.data();
      if (few_centres && width == 8)
        few_centre_dot_products<T, 8>(x + lo * d, hi - lo, d, centres_t.data(), m, dist);
      else if (few_centres)
        few_centre_dot_products<T, 16>(x + lo * d, hi - lo, d, centres_t.data(), m, dist);
      else if (d == 0)
        std::fill(dist, dist + (hi - lo) * m, T(0));  // an empty dot product (BLAS is not asked about k = 0)
      else
        blas::gemm<T>(false, true, hi - lo, m, d, T(1), x + lo * d, d, c, d, T(0), dist, m);
      for (std::int64_t i = lo; i < hi; ++i) {
        T* row = dist + (i - lo) * m;
        const T xi = x_sq[i];
        for (std::int64_t j = 0; j < m; ++j) row[j] = std::max(T(0), xi - 2 * row[j] + c_sq[j]);
      }
      visit(thread, lo, hi, dist);
    }
  });
}

// Streams the n x m distances from the rows of X [n x d] to the rows of C [m x d] in blocks of
// distance_block_rows(m) rows; no n x m matrix is ever materialised. `dist` is the block,
// (hi - lo) x m row-major, valid during the call (the visitor may overwrite it).
template <class T, class Visit>
void for_each_distance_block(const T* x, const T* x_sq, std::int64_t n, std::int64_t d, const T* c, const T* c_sq,
                             std::int64_t m, const Visit& visit) {
  distance_blocks(x, x_sq, n, d, c, c_sq, m, distance_block_rows(m), static_cast<T*>(nullptr), visit);
}

// out[i, j] = |a_i - b_j|^2 for a [na x d], b [nb x d]; out is [na x nb] row-major. One block
// per thread, so each GEMM is as large as the matrix allows.
template <class T>
void squared_distances(const T* a, std::int64_t na, const T* a_sq, const T* b, std::int64_t nb, const T* b_sq,
                       std::int64_t d, T* out) {
  const std::int64_t threads = get_num_threads();
  const std::int64_t rows = std::max(distance_block_rows(nb), (na + threads - 1) / threads);
  distance_blocks(a, a_sq, na, d, b, b_sq, nb, rows, out, [](int, std::int64_t, std::int64_t, T*) {});
}

}  // namespace cake::pairwise
