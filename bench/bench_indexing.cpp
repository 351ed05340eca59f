// bench_indexing.cpp: the indexing / joining / sorting family at sizes where its kernels
// matter (k-means cluster sums, embedding lookups, cross-entropy picks, top-k, scans).
//
//   ./build/bench/bench_indexing --benchmark_filter=index_add
#include <benchmark/benchmark.h>

#include <cake/cake.h>

using namespace cake;

namespace {

// `lookups` rows of a [rows, width] table picked at random: embedding's forward (a large
// table, memory-latency bound) and each point's centroid in k-means (a table in cache).
void index_select_rows(benchmark::State& state) {
  manual_seed(0);
  const std::int64_t rows = state.range(0), lookups = state.range(1), width = state.range(2);
  const Tensor table = randn({rows, width});
  const Tensor ids = randint(0, rows, {lookups});
  for (auto _ : state) benchmark::DoNotOptimize(index_select(table, 0, ids));
  state.SetBytesProcessed(state.iterations() * lookups * width * 4);
}
BENCHMARK(index_select_rows)->Args({100000, 100000, 64})->Args({16, 1000000, 3})->Unit(benchmark::kMillisecond);

// Per-cluster sums of points (k-means' M step; embedding's backward).
void index_add_rows(benchmark::State& state) {
  manual_seed(0);
  const std::int64_t points = state.range(0), width = state.range(1), clusters = 64;
  const Tensor x = randn({points, width});
  const Tensor cluster = randint(0, clusters, {points});
  for (auto _ : state) benchmark::DoNotOptimize(index_add(zeros({clusters, width}), 0, cluster, x));
  state.SetBytesProcessed(state.iterations() * points * width * 4);
}
BENCHMARK(index_add_rows)->Args({200000, 64})->Args({1000000, 3})->Unit(benchmark::kMillisecond);

// One value per row along the last dim (a cross-entropy pick), and its adjoint.
void gather_last_dim(benchmark::State& state) {
  manual_seed(0);
  const Tensor x = randn({2048, 1024});
  const Tensor index = randint(0, 1024, {2048, 1024});
  for (auto _ : state) benchmark::DoNotOptimize(gather(x, 1, index));
  state.SetItemsProcessed(state.iterations() * index.numel());
}
BENCHMARK(gather_last_dim)->Unit(benchmark::kMillisecond);

void scatter_add_last_dim(benchmark::State& state) {
  manual_seed(0);
  const Tensor x = randn({2048, 1024}), src = randn({2048, 1024});
  const Tensor index = randint(0, 1024, {2048, 1024});
  for (auto _ : state) benchmark::DoNotOptimize(scatter_add(x, 1, index, src));
  state.SetItemsProcessed(state.iterations() * index.numel());
}
BENCHMARK(scatter_add_last_dim)->Unit(benchmark::kMillisecond);

void cat_many(benchmark::State& state) {
  manual_seed(0);
  std::vector<Tensor> parts;
  for (int i = 0; i < 64; ++i) parts.push_back(randn({4096, 16}));
  const std::int64_t dim = state.range(0);
  for (auto _ : state) benchmark::DoNotOptimize(cat(parts, dim));
  state.SetBytesProcessed(state.iterations() * 64 * 4096 * 16 * 4);
}
BENCHMARK(cat_many)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

void sort_rows(benchmark::State& state) {
  manual_seed(0);
  const Tensor x = randn({512, 4096});
  for (auto _ : state) benchmark::DoNotOptimize(sort(x, -1));
  state.SetItemsProcessed(state.iterations() * x.numel());
}
BENCHMARK(sort_rows)->Unit(benchmark::kMillisecond);

void topk_rows(benchmark::State& state) {
  manual_seed(0);
  const Tensor x = randn({512, 4096});
  for (auto _ : state) benchmark::DoNotOptimize(topk(x, 16));
  state.SetItemsProcessed(state.iterations() * x.numel());
}
BENCHMARK(topk_rows)->Unit(benchmark::kMillisecond);

void cumsum_dim(benchmark::State& state) {
  manual_seed(0);
  const Tensor x = randn({2048, 1024});
  const std::int64_t dim = state.range(0);
  for (auto _ : state) benchmark::DoNotOptimize(cumsum(x, dim));
  state.SetItemsProcessed(state.iterations() * x.numel());
}
BENCHMARK(cumsum_dim)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

void masked_select_half(benchmark::State& state) {
  manual_seed(0);
  const Tensor x = randn({2048, 1024});
  const Tensor mask = x > 0;
  for (auto _ : state) benchmark::DoNotOptimize(masked_select(x, mask));
  state.SetItemsProcessed(state.iterations() * x.numel());
}
BENCHMARK(masked_select_half)->Unit(benchmark::kMillisecond);

void unique_ints(benchmark::State& state) {
  manual_seed(0);
  const Tensor x = randint(0, 1000, {1000000});
  for (auto _ : state) benchmark::DoNotOptimize(unique(x, true, true));
  state.SetItemsProcessed(state.iterations() * x.numel());
}
BENCHMARK(unique_ints)->Unit(benchmark::kMillisecond);

void bincount_ints(benchmark::State& state) {
  manual_seed(0);
  const Tensor x = randint(0, 1000, {1000000});
  for (auto _ : state) benchmark::DoNotOptimize(bincount(x));
  state.SetItemsProcessed(state.iterations() * x.numel());
}
BENCHMARK(bincount_ints)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
