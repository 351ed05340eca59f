#include "cake/tensor/parallel.h"

#include <cblas.h>
#include <omp.h>

#include <algorithm>

#include "cake/tensor/error.h"

namespace cake {

namespace detail {
// oneDNN reads OpenMP's thread count; nothing more to do for it here.
void (*set_backend_threads)(int) = nullptr;

void run_parallel_chunks(std::int64_t begin, std::int64_t end, std::int64_t grain, ChunkBody run,
                         const void* body) {
  const std::int64_t n = end - begin;
  if (n <= 0) return;
  if (n <= grain || omp_in_parallel() || omp_get_max_threads() == 1) {
    run(body, begin, end);
    return;
  }
#pragma omp parallel
  {
    const std::int64_t threads = omp_get_num_threads();
    const std::int64_t t = omp_get_thread_num();
    const std::int64_t chunk = (n + threads - 1) / threads;
    const std::int64_t lo = begin + std::min(n, t * chunk);
    const std::int64_t hi = begin + std::min(n, (t + 1) * chunk);
    if (lo < hi) run(body, lo, hi);
  }
}
}  // namespace detail

void set_num_threads(int n) {
  CAKE_CHECK(n >= 1, "set_num_threads: expected a positive count, got ", n);
  omp_set_num_threads(n);
  openblas_set_num_threads(n);
  if (detail::set_backend_threads) detail::set_backend_threads(n);
}

int get_num_threads() { return omp_get_max_threads(); }

int thread_index() { return omp_in_parallel() ? omp_get_thread_num() : 0; }

}  // namespace cake
