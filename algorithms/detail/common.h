// detail/common.h: what every classical algorithm does before and around its maths: checking
// and fetching the data matrix, seeding, drawing random numbers through Cake's generator,
// parallel loops with a deterministic reduction order. BLAS calls go through tensor/blas.h
// (cake::blas::gemm, ...), pairwise distances through tensor/pairwise.h.
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

#include "cake/tensor/blas.h"
#include "cake/tensor/creation.h"
#include "cake/tensor/pairwise.h"
#include "cake/tensor/parallel.h"
#include "cake/tensor/random.h"
#include "cake/tensor/tensor.h"

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

// The blocked distance routine and row norms live in tensor/pairwise.h (shared with
// cake::cdist_squared); the algorithms call them by these names.
using pairwise::for_each_distance_block;
using pairwise::row_squared_norms;

}  // namespace cake::algorithms::detail
