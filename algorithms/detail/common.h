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
// column and only finite values, and returns it contiguous on the CPU (a copy only when needed).
// `who` names the calling method in the error ("KMeans.fit").
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

// Up to this many centres, dot products are computed by small_dot_products below instead of
// GEMM. For a thin product (256 x 784 times 784 x 10) OpenBLAS spends more time packing the
// block of X into its panel layout than multiplying (perf: 26% of k-means in sgemm_oncopy);
// reading X in place with a 2 x 4 register block halves the time of a Lloyd pass.
inline constexpr std::int64_t kSmallDotMaxColumns = 16;

// out[r * m + j] = x_r . c_j for the `rows` rows of x [rows x d] and the m rows of c [m x d].
// Two rows times four centres per inner loop: each loaded element of x feeds four FMAs and
// each loaded element of c feeds two, with eight independent accumulators.
template <class T>
void small_dot_products(const T* x, std::int64_t rows, std::int64_t d, const T* c, std::int64_t m, T* out) {
  std::int64_t r = 0;
  for (; r + 2 <= rows; r += 2) {
    const T* x0 = x + r * d;
    const T* x1 = x0 + d;
    T* o0 = out + r * m;
    T* o1 = o0 + m;
    std::int64_t j = 0;
    for (; j + 4 <= m; j += 4) {
      const T *c0 = c + j * d, *c1 = c0 + d, *c2 = c1 + d, *c3 = c2 + d;
      T a0 = 0, a1 = 0, a2 = 0, a3 = 0, b0 = 0, b1 = 0, b2 = 0, b3 = 0;
#pragma omp simd reduction(+ : a0, a1, a2, a3, b0, b1, b2, b3)
      for (std::int64_t f = 0; f < d; ++f) {
        const T u = x0[f], v = x1[f];
        a0 += u * c0[f], a1 += u * c1[f], a2 += u * c2[f], a3 += u * c3[f];
        b0 += v * c0[f], b1 += v * c1[f], b2 += v * c2[f], b3 += v * c3[f];
      }
      o0[j] = a0, o0[j + 1] = a1, o0[j + 2] = a2, o0[j + 3] = a3;
      o1[j] = b0, o1[j + 1] = b1, o1[j + 2] = b2, o1[j + 3] = b3;
    }
    for (; j < m; ++j) {
      const T* cj = c + j * d;
      T a = 0, b = 0;
#pragma omp simd reduction(+ : a, b)
      for (std::int64_t f = 0; f < d; ++f) a += x0[f] * cj[f], b += x1[f] * cj[f];
      o0[j] = a, o1[j] = b;
    }
  }
  for (; r < rows; ++r) {
    const T* x0 = x + r * d;
    for (std::int64_t j = 0; j < m; ++j) {
      const T* cj = c + j * d;
      T a = 0;
#pragma omp simd reduction(+ : a)
      for (std::int64_t f = 0; f < d; ++f) a += x0[f] * cj[f];
      out[r * m + j] = a;
    }
  }
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
  BlasSingleThread single_threaded_blas;  // NOTE [ BLAS inside parallel regions ]
  parallel_for(0, blocks, grain_for(rows * m * d), [&](std::int64_t block_lo, std::int64_t block_hi) {
    const int thread = thread_index();
    std::vector<T> dist(static_cast<std::size_t>(rows * m));
    for (std::int64_t b = block_lo; b < block_hi; ++b) {
      const std::int64_t lo = b * rows, hi = std::min(n, lo + rows);
      if (m <= kSmallDotMaxColumns)
        small_dot_products(x + lo * d, hi - lo, d, c, m, dist.data());
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
