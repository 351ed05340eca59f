// bench_common.h: what the Google Benchmark programs share: the thread count and the
// registration of a case whose repetitions' median bench/run_pair.sh reads.
#pragma once

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <utility>

namespace cake::bench {

// 2 threads, the peers' setting (torch.set_num_threads(2)), unless CAKE_BENCH_THREADS says
// otherwise.
inline int threads() {
  const char* env = std::getenv("CAKE_BENCH_THREADS");
  return env ? std::max(1, std::atoi(env)) : 2;
}

// Registers `fn(benchmark::State&)` as `name`: wall time in milliseconds, `repetitions` runs of
// at least `min_seconds` each, only their aggregates (mean, median, spread) reported.
template <class Fn>
benchmark::internal::Benchmark* register_median(const std::string& name, Fn&& fn, double min_seconds = 0.5,
                                               int repetitions = 5) {
  return benchmark::RegisterBenchmark(name.c_str(), std::forward<Fn>(fn))
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime()
      ->MinTime(min_seconds)
      ->Repetitions(repetitions)
      ->ReportAggregatesOnly(true);
}

}  // namespace cake::bench
