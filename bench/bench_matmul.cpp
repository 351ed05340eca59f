// bench_matmul.cpp: cake::matmul against the raw OpenBLAS call on the same buffers.
//
//   cmake -B build -DCAKE_BUILD_BENCH=ON && ninja -C build bench_matmul
//   ./build/bench/bench_matmul --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
//
// Each pair times the same product twice: once through cake::matmul (argument checks, layout
// choice, output allocation from the caching allocator, dispatch) and once as a bare
// cblas_sgemm into a preallocated output. The ratio of their GFLOP/s is Cake's overhead; the
// target is >= 0.95. Cases: square n x n for n = 256 ... 2048 (A @ B), the same with B a
// transposed view (A @ Bt.t(), passed to BLAS as CblasTrans, no copy), matrix @ vector (Cake
// takes gemv, the baseline is sgemm with N = 1), and a batch of small matrices (one GEMM per
// matrix; split across threads for 40^3 <= M*N*K <= 64^3). Runs on 2 threads, as the peers do.
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <cake/cake.h>

#include "bench/bench_common.h"

namespace {

void set_flops(benchmark::State& state, double flops) {
  state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

// ---- square products ------------------------------------------------------------------------

void BM_CakeMatmul(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  cake::manual_seed(0);
  const cake::Tensor a = cake::randn({n, n}), b = cake::randn({n, n});
  for (auto _ : state) benchmark::DoNotOptimize(cake::matmul(a, b));
  set_flops(state, 2.0 * n * n * n);
}

void BM_RawSgemm(benchmark::State& state) {
  const auto n = static_cast<blasint>(state.range(0));
  cake::manual_seed(0);
  const cake::Tensor a = cake::randn({n, n}), b = cake::randn({n, n});
  cake::Tensor c = cake::empty({n, n});
  for (auto _ : state) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a.data_ptr<float>(), n,
                b.data_ptr<float>(), n, 0.0f, c.data_ptr<float>(), n);
    benchmark::ClobberMemory();
  }
  set_flops(state, 2.0 * n * n * n);
}

// ---- B a transposed view (x @ w.t(), the nn.Linear layout) ----------------------------------------

void BM_CakeMatmulTransposed(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  cake::manual_seed(0);
  const cake::Tensor a = cake::randn({n, n}), bt = cake::randn({n, n});
  for (auto _ : state) benchmark::DoNotOptimize(cake::matmul(a, bt.t()));
  set_flops(state, 2.0 * n * n * n);
}

void BM_RawSgemmTransposed(benchmark::State& state) {
  const auto n = static_cast<blasint>(state.range(0));
  cake::manual_seed(0);
  const cake::Tensor a = cake::randn({n, n}), bt = cake::randn({n, n});
  cake::Tensor c = cake::empty({n, n});
  for (auto _ : state) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, n, 1.0f, a.data_ptr<float>(), n,
                bt.data_ptr<float>(), n, 0.0f, c.data_ptr<float>(), n);
    benchmark::ClobberMemory();
  }
  set_flops(state, 2.0 * n * n * n);
}

// ---- matrix @ vector (taken by gemv, not gemm) ---------------------------------------------------

void BM_CakeMatVec(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  cake::manual_seed(0);
  const cake::Tensor a = cake::randn({n, n}), x = cake::randn({n});
  for (auto _ : state) benchmark::DoNotOptimize(cake::matmul(a, x));
  set_flops(state, 2.0 * n * n);
}

void BM_RawSgemmMatVec(benchmark::State& state) {
  const auto n = static_cast<blasint>(state.range(0));
  cake::manual_seed(0);
  const cake::Tensor a = cake::randn({n, n}), x = cake::randn({n});
  cake::Tensor y = cake::empty({n});
  for (auto _ : state) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, 1, n, 1.0f, a.data_ptr<float>(), n, x.data_ptr<float>(),
                1, 0.0f, y.data_ptr<float>(), 1);
    benchmark::ClobberMemory();
  }
  set_flops(state, 2.0 * n * n);
}

// ---- a batch of small matrices [B, n, n] @ [B, n, n] -------------------------------------------

constexpr std::int64_t kBatch = 512;

void BM_CakeBatchedSmall(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  cake::manual_seed(0);
  const cake::Tensor a = cake::randn({kBatch, n, n}), b = cake::randn({kBatch, n, n});
  for (auto _ : state) benchmark::DoNotOptimize(cake::matmul(a, b));
  set_flops(state, 2.0 * kBatch * n * n * n);
}

// The plain loop of one GEMM per matrix on the calling thread (OpenBLAS stays single-threaded
// at these sizes), the baseline for Cake's threaded batch loop.
void BM_RawSgemmBatchLoop(benchmark::State& state) {
  const auto n = static_cast<blasint>(state.range(0));
  cake::manual_seed(0);
  const cake::Tensor a = cake::randn({kBatch, n, n}), b = cake::randn({kBatch, n, n});
  cake::Tensor c = cake::empty({kBatch, n, n});
  for (auto _ : state) {
    for (std::int64_t i = 0; i < kBatch; ++i)
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a.data_ptr<float>() + i * n * n, n,
                  b.data_ptr<float>() + i * n * n, n, 0.0f, c.data_ptr<float>() + i * n * n, n);
    benchmark::ClobberMemory();
  }
  set_flops(state, 2.0 * kBatch * n * n * n);
}

// Square cases interleaved (raw, Cake) so that both see the same machine load.
BENCHMARK(BM_RawSgemm)->Arg(256)->Arg(512)->Arg(1024)->Arg(2048)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_CakeMatmul)->Arg(256)->Arg(512)->Arg(1024)->Arg(2048)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_RawSgemmTransposed)->Arg(1024)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_CakeMatmulTransposed)->Arg(1024)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_RawSgemmMatVec)->Arg(1024)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_CakeMatVec)->Arg(1024)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_RawSgemmBatchLoop)->Arg(8)->Arg(32)->Arg(48)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_CakeBatchedSmall)->Arg(8)->Arg(32)->Arg(48)->Unit(benchmark::kMicrosecond)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  // 2 threads, the peers' setting; CAKE_BENCH_THREADS=1 makes the CPU-time column a fair
  // measure on a loaded machine.
  cake::set_num_threads(cake::bench::threads());
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
