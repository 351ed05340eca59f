// bench_einsum.cpp: what einsum's contraction order buys (autograd/einsum.h): the same equation
// in the default order (greedy, where it is cheaper) and left to right (the path written out),
// and what planning the order costs on its own. Forward only, float32.
//
//   ./build/release/bench/bench_einsum
//   ./build/release/bench/bench_einsum --benchmark_filter=chain
#include <cake/cake.h>

#include "bench_common.h"

using namespace cake;

namespace {

// One equation, its operands' shapes, and the left-to-right path that einsum took before it
// planned an order.
struct Case {
  const char* name;
  const char* equation;
  std::vector<Shape> shapes;
  IntArrayRef left_to_right;
};

// A matrix chain ending in one column: greedy forms B C first (n^2 multiply-adds per product
// against n^3). And a chain of three matrices and a vector, which greedy contracts from the
// vector back: three matrix-vector products instead of two matrix products.
const Case kCases[] = {
    {"chain_ij,jk,kl->il_512", "ij,jk,kl->il", {{512, 512}, {512, 512}, {512, 1}}, {0, 1, 1, 0}},
    {"chain_ab,bc,cd,d->a_512", "ab,bc,cd,d->a", {{512, 512}, {512, 512}, {512, 512}, {512}}, {0, 1, 2, 0, 1, 0}},
};

void run(benchmark::State& state, const Case& c, bool default_order) {
  set_num_threads(bench::threads());
  manual_seed(0);
  std::vector<Tensor> operands;
  for (const Shape& shape : c.shapes) operands.push_back(randn(shape));
  for (auto _ : state) {
    const Tensor y = default_order ? einsum(c.equation, operands) : einsum(c.equation, operands, c.left_to_right);
    benchmark::DoNotOptimize(y.raw_data());
  }
}

// The planner alone (einsum_path: greedy and left to right costed) on an 8-matrix chain.
void run_planning(benchmark::State& state) {
  const std::vector<Shape> shapes(8, Shape{64, 64});
  for (auto _ : state) benchmark::DoNotOptimize(einsum_path("ab,bc,cd,de,ef,fg,gh,hi->ai", shapes).multiply_adds);
}

}  // namespace

int main(int argc, char** argv) {
  for (const Case& c : kCases) {
    bench::register_median(std::string(c.name) + "/default", [&c](benchmark::State& s) { run(s, c, true); });
    bench::register_median(std::string(c.name) + "/left_to_right", [&c](benchmark::State& s) { run(s, c, false); });
  }
  bench::register_median("plan_chain_of_8", run_planning);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
