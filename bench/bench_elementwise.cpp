// bench_elementwise: large contiguous elementwise ops and reductions against memory bandwidth.
//
// Target (issue 3): a large contiguous elementwise op reaches >= 0.8x of memcpy's bandwidth.
// Bandwidth counts bytes read + written: memcpy of n floats moves 2n*4 bytes, c = a + b moves
// 3n*4. Outputs are reused (the caching allocator hands the same block back every iteration),
// so page faults are not measured, as in a training loop.
#include <benchmark/benchmark.h>

#include <cake/cake.h>

#include <cstring>
#include <vector>

namespace {

constexpr std::int64_t kN = 1 << 24;  // 16M floats = 64 MiB per tensor, far beyond cache

void BM_memcpy(benchmark::State& state) {
  std::vector<float> a(kN, 1.0f), b(kN);
  for (auto _ : state) {
    std::memcpy(b.data(), a.data(), kN * sizeof(float));
    benchmark::DoNotOptimize(b.data());
  }
  state.SetBytesProcessed(state.iterations() * kN * 2 * sizeof(float));
}

void BM_add(benchmark::State& state) {
  cake::Tensor a = cake::rand({kN}), b = cake::rand({kN});
  for (auto _ : state) {
    cake::Tensor c = a + b;
    benchmark::DoNotOptimize(c.raw_data());
  }
  state.SetBytesProcessed(state.iterations() * kN * 3 * sizeof(float));
}

void BM_add_inplace(benchmark::State& state) {
  cake::Tensor a = cake::rand({kN}), b = cake::rand({kN});
  for (auto _ : state) {
    a.add_(b);
    benchmark::DoNotOptimize(a.raw_data());
  }
  state.SetBytesProcessed(state.iterations() * kN * 3 * sizeof(float));
}

void BM_mul_scalar(benchmark::State& state) {
  cake::Tensor a = cake::rand({kN});
  for (auto _ : state) {
    cake::Tensor c = a * 0.5;
    benchmark::DoNotOptimize(c.raw_data());
  }
  state.SetBytesProcessed(state.iterations() * kN * 2 * sizeof(float));
}

void BM_exp(benchmark::State& state) {
  cake::Tensor a = cake::rand({kN});
  for (auto _ : state) {
    cake::Tensor c = a.exp();
    benchmark::DoNotOptimize(c.raw_data());
  }
  state.SetBytesProcessed(state.iterations() * kN * 2 * sizeof(float));
}

void BM_sum(benchmark::State& state) {
  cake::Tensor a = cake::rand({kN});
  for (auto _ : state) benchmark::DoNotOptimize(a.sum().item<float>());
  state.SetBytesProcessed(state.iterations() * kN * sizeof(float));
}

void BM_sum_rows(benchmark::State& state) {  // [4096, 4096] -> sum over dim 0 (the bias-gradient shape)
  cake::Tensor a = cake::rand({4096, 4096});
  for (auto _ : state) {
    cake::Tensor s = a.sum({0});
    benchmark::DoNotOptimize(s.raw_data());
  }
  state.SetBytesProcessed(state.iterations() * 4096 * 4096 * sizeof(float));
}

void BM_transpose_copy(benchmark::State& state) {  // strided read, contiguous write
  cake::Tensor a = cake::rand({4096, 4096});
  for (auto _ : state) {
    cake::Tensor t = a.t().contiguous();
    benchmark::DoNotOptimize(t.raw_data());
  }
  state.SetBytesProcessed(state.iterations() * 4096 * 4096 * 2 * sizeof(float));
}

}  // namespace

BENCHMARK(BM_memcpy)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_add)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_add_inplace)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_mul_scalar)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_exp)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_sum)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_sum_rows)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_transpose_copy)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_MAIN();
