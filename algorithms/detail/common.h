// detail/common.h: what every classical algorithm does before and around its maths: checking
// and fetching the data matrix, seeding, drawing random numbers through Cake's generator,
// parallel loops with a deterministic reduction order, and pairwise squared distances computed
// one block of rows at a time.
//
//   Tensor X = detail::data_matrix(input, "KMeans.fit", /*min_rows=*/n_clusters);
//   detail::SeedScope seed(options.random_state);    // a fixed seed, or the global stream
//   detail::for_each_distance_block(x, x_sq, n, d, c, c_sq, k,
//       [&](int thread, std::int64_t lo, std::int64_t hi, const float* dist) { ... });
#pragma once

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <vector>

#include "algorithms/detail/dense.h"
#include "tensor/creation.h"
#include "tensor/parallel.h"
#include "tensor/random.h"
#include "tensor/tensor.h"

namespace cake::algorithms::detail {

// Checks that `x` is a 2-D float32/float64 matrix with at least `min_rows` rows, at least one
// column, only finite values, and magnitudes M small enough that squared distances summed over
// the rows cannot overflow its type (4 D N M^2 <= max: about 1e15 in float32 for 70000 x 784),
// and returns it contiguous on the CPU (a copy only when needed). `who` names the calling
// method in the error ("KMeans.fit"), which asks to rescale the data.
Tensor data_matrix(const Tensor& x, const char* who, std::int64_t min_rows = 1);
// The same, and the column count must be `features` (data seen by fit).
Tensor data_matrix(const Tensor& x, const char* who, std::int64_t min_rows, std::int64_t features);

// A fixed seed for the lifetime of the scope, as scikit-learn's random_state: with a value,
// draws come from a generator seeded with it and the global stream is restored afterwards, so
// the result depends on the seed alone; without one, draws come from the global stream
// (cake::manual_seed makes them reproducible).
class SeedScope {
 public:
  explicit SeedScope(std::optional<std::uint64_t> seed) {
    if (seed) {
      saved_ = get_rng_state();
      manual_seed(*seed);
    }
  }
  ~SeedScope() {
    if (saved_) set_rng_state(*saved_);
  }
  SeedScope(const SeedScope&) = delete;
  SeedScope& operator=(const SeedScope&) = delete;

 private:
  std::optional<GeneratorState> saved_;
};

// Draws through cake's generator (see SeedScope), returned as plain vectors.
std::vector<double> uniform_draws(std::int64_t count);                      // [0, 1)
std::vector<double> normal_draws(std::int64_t count);                       // N(0, 1)
std::vector<std::int64_t> integer_draws(std::int64_t low, std::int64_t high, std::int64_t count);  // [low, high)
std::vector<std::int64_t> permutation(std::int64_t n);

// A std::vector as a new tensor of its element type, 1-D or of the given shape (int64 labels,
// float64 distances, ...).
template <class T>
Tensor to_tensor(const std::vector<T>& v, const Shape& shape = {}) {
  return tensor(v, shape.empty() ? Shape{static_cast<std::int64_t>(v.size())} : shape);
}

// The number of threads cake::parallel_for may use, and the calling thread's index inside it.
inline int max_threads() { return omp_get_max_threads(); }
inline int thread_index() { return omp_in_parallel() ? omp_get_thread_num() : 0; }

// The number of loop items each thread must get before a loop is worth running in parallel,
// for items of `work` operations each: starting a parallel region costs tens of microseconds
// (far more on a busy machine, where the second thread may wait for a time slice), so each
// thread should get at least ~100k operations. Use as the grain of cake::parallel_for.
inline std::int64_t grain_for(std::int64_t work) {
  return std::max<std::int64_t>(1, (std::int64_t{1} << 17) / std::max<std::int64_t>(work, 1));
}

// Sums per-thread partial results in thread order, so that a fixed thread count gives the same
// rounding on every run: out[j] = sum over t of partial[t][j].
void reduce_partials(const std::vector<std::vector<double>>& partials, double* out, std::int64_t size);

template <class T>
inline T squared_distance(const T* a, const T* b, std::int64_t d) {
  T s = 0;
#pragma omp simd reduction(+ : s)
  for (std::int64_t j = 0; j < d; ++j) {
    const T diff = a[j] - b[j];
    s += diff * diff;
  }
  return s;
}

template <class T>
void row_squared_norms(const T* x, std::int64_t n, std::int64_t d, T* out) {
  parallel_for(0, n, grain_for(d), [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t i = lo; i < hi; ++i) {
      const T* row = x + i * d;
      T s = 0;
#pragma omp simd reduction(+ : s)
      for (std::int64_t j = 0; j < d; ++j) s += row[j] * row[j];
      out[i] = s;
    }
  });
}

// Column means of X [n x d], accumulated in float64.
template <class T>
std::vector<double> column_means(const T* x, std::int64_t n, std::int64_t d) {
  std::vector<std::vector<double>> partial(static_cast<std::size_t>(max_threads()));
  parallel_for(0, n, grain_for(d), [&](std::int64_t lo, std::int64_t hi) {
    auto& acc = partial[static_cast<std::size_t>(thread_index())];
    acc.assign(static_cast<std::size_t>(d), 0.0);
    for (std::int64_t i = lo; i < hi; ++i)
      for (std::int64_t j = 0; j < d; ++j) acc[static_cast<std::size_t>(j)] += static_cast<double>(x[i * d + j]);
  });
  std::vector<double> mean(static_cast<std::size_t>(d));
  reduce_partials(partial, mean.data(), d);
  for (double& m : mean) m /= static_cast<double>(std::max<std::int64_t>(n, 1));
  return mean;
}

// X - shift (a row vector subtracted from every row), as a new contiguous tensor of X's dtype;
// X is a contiguous CPU matrix of element type T.
template <class T>
Tensor subtract_row(const Tensor& x, const std::vector<double>& shift) {
  const std::int64_t n = x.size(0), d = x.size(1);
  Tensor y = empty({n, d}, x.dtype());
  const T* src = x.data_ptr<T>();
  T* dst = y.data_ptr<T>();
  parallel_for(0, n, grain_for(d), [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t i = lo; i < hi; ++i)
      for (std::int64_t j = 0; j < d; ++j)
        dst[i * d + j] = static_cast<T>(static_cast<double>(src[i * d + j]) - shift[static_cast<std::size_t>(j)]);
  });
  return y;
}

// Rows per block for a distance block of `m` columns: at most 256 (enough for GEMM to run at
// speed) and small enough that the block (rows x m) stays near 256 KiB of floats.
inline std::int64_t distance_block_rows(std::int64_t m) {
  return std::clamp<std::int64_t>((std::int64_t{1} << 16) / std::max<std::int64_t>(m, 1), 16, 256);
}

// Up to this many centres, dot products are computed by few_centre_dot_products below instead
// of GEMM. For a thin product (256 x 784 times 784 x 10) OpenBLAS spends more time packing the
// block of X into its panel layout than multiplying (perf: 26% of k-means in sgemm_oncopy).
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

// Squared Euclidean distances from the rows of X [n x d] to the rows of C [m x d], one block of
// rows at a time: for each block [lo, hi) computes
//     dist[i][j] = |x_i|^2 - 2 x_i . c_j + |c_j|^2     (one GEMM per block)
// clamped at zero (the expansion can round slightly below it), then calls
// visit(thread, lo, hi, dist) on the thread that computed it. Blocks are spread over threads
// with cake::parallel_for; no n x m matrix is ever materialised. The expansion loses relative
// precision when |x| is much larger than |x - c|, which is why the callers centre X first.
template <class T, class Visit>
void for_each_distance_block(const T* x, const T* x_sq, std::int64_t n, std::int64_t d, const T* c,
                             const T* c_sq, std::int64_t m, const Visit& visit) {
  if (n == 0) return;
  const std::int64_t rows = distance_block_rows(m);
  const std::int64_t blocks = (n + rows - 1) / rows;
  const bool few_centres = m <= kSmallDotMaxColumns;
  const std::int64_t width = m <= 8 ? 8 : 16;
  const std::vector<T> centres_t = few_centres ? transpose_few_centres(c, m, d, width) : std::vector<T>();
  BlasSingleThread single_threaded_blas;  // NOTE [ BLAS inside parallel regions ]
  parallel_for(0, blocks, grain_for(rows * m * d), [&](std::int64_t block_lo, std::int64_t block_hi) {
    const int thread = thread_index();
    std::vector<T> dist(static_cast<std::size_t>(rows * m));
    for (std::int64_t b = block_lo; b < block_hi; ++b) {
      const std::int64_t lo = b * rows, hi = std::min(n, lo + rows);
      if (few_centres && width == 8)
        few_centre_dot_products<T, 8>(x + lo * d, hi - lo, d, centres_t.data(), m, dist.data());
      else if (few_centres)
        few_centre_dot_products<T, 16>(x + lo * d, hi - lo, d, centres_t.data(), m, dist.data());
      else
        gemm<T>(false, true, hi - lo, m, d, T(1), x + lo * d, d, c, d, T(0), dist.data(), m);
      for (std::int64_t i = lo; i < hi; ++i) {
        T* row = dist.data() + (i - lo) * m;
        const T xi = x_sq[i];
        for (std::int64_t j = 0; j < m; ++j) row[j] = std::max(T(0), xi - 2 * row[j] + c_sq[j]);
      }
      visit(thread, lo, hi, static_cast<const T*>(dist.data()));
    }
  });
}

}  // namespace cake::algorithms::detail
