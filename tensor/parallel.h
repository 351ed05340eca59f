// parallel.h: how Cake's own CPU kernels use threads, and the one knob for all of them,
// set_num_threads, which also sets OpenBLAS's and oneDNN's thread counts.
//
//   cake::set_num_threads(2);
//   cake::parallel_for(0, n, 4096, [&](int64_t lo, int64_t hi) { for (int64_t i = lo; i < hi; ++i) y[i] = 2 * x[i]; });
//
// The threads are OpenMP's, but only tensor/parallel.cpp knows it: this header passes the loop
// body through a function pointer, so a program that includes Cake's headers needs neither
// <omp.h> nor -fopenmp, and its -Wall sees no OpenMP pragma.
#pragma once

#include <cstdint>

namespace cake {

void set_num_threads(int n);
int get_num_threads();

// The index of the calling thread inside a parallel_for body, 0 to get_num_threads() - 1; 0
// outside one. Kernels keep per-thread partial results (sums, histograms) indexed by it.
int thread_index();

namespace detail {
using ChunkBody = void (*)(const void* body, std::int64_t lo, std::int64_t hi);
// Splits [begin, end) into one contiguous chunk per thread and calls run(body, lo, hi) on each;
// inline on the calling thread when the range is at most `grain`, when called from inside
// another parallel region, or when one thread is configured.
void run_parallel_chunks(std::int64_t begin, std::int64_t end, std::int64_t grain, ChunkBody run,
                         const void* body);
}  // namespace detail

// Calls f(lo, hi) on disjoint chunks covering [begin, end). Runs inline on one thread when
// the range is smaller than `grain` (starting threads costs more than it saves) or when called
// from inside another parallel region.
template <class F>
void parallel_for(std::int64_t begin, std::int64_t end, std::int64_t grain, const F& f) {
  if (end - begin <= 0) return;
  if (end - begin <= grain) {
    f(begin, end);
    return;
  }
  detail::run_parallel_chunks(
      begin, end, grain,
      [](const void* body, std::int64_t lo, std::int64_t hi) { (*static_cast<const F*>(body))(lo, hi); }, &f);
}

}  // namespace cake
