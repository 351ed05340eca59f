// parallel.h: how Cake's own CPU kernels use threads (OpenMP), and the one knob for all of
// them, set_num_threads, which also sets OpenBLAS's and oneDNN's thread counts.
//
//   cake::set_num_threads(2);
//   cake::parallel_for(0, n, 4096, [&](int64_t lo, int64_t hi) { for (i = lo; i < hi; ++i) ... });
#pragma once

#include <omp.h>

#include <algorithm>
#include <cstdint>

namespace cake {

void set_num_threads(int n);
int get_num_threads();

// Calls f(lo, hi) on disjoint chunks covering [begin, end). Runs inline on one thread when
// the range is smaller than `grain` (starting threads costs more than it saves) or when called
// from inside another parallel region.
template <class F>
void parallel_for(std::int64_t begin, std::int64_t end, std::int64_t grain, const F& f) {
  const std::int64_t n = end - begin;
  if (n <= 0) return;
  if (n <= grain || omp_in_parallel() || omp_get_max_threads() == 1) {
    f(begin, end);
    return;
  }
#pragma omp parallel
  {
    const std::int64_t threads = omp_get_num_threads();
    const std::int64_t t = omp_get_thread_num();
    const std::int64_t chunk = (n + threads - 1) / threads;
    const std::int64_t lo = begin + std::min(n, t * chunk);
    const std::int64_t hi = begin + std::min(n, (t + 1) * chunk);
    if (lo < hi) f(lo, hi);
  }
}

}  // namespace cake
