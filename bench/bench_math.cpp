// bench_math.cpp: the elementwise maths, scans, order statistics and sampling of
// autograd/ops/math.cpp, scan.cpp and sampling.cpp, float32 on 2 threads, forward only (no graph).
//
//   build/bench/bench_math                   # Cake alone
//   bench/run_pair.sh math                   # the same next to PyTorch (bench/peer_math.py)
//
// Inputs have the same distributions on both sides (not the same draws: the times do not depend
// on them, but for digamma's and lgamma's argument, which both sides draw from [0.1, 10)).
// Elementwise cases run over 4M elements (exp ... pow: the functions the C library has in vector
// form, tensor/cpu/vector_math.h); the scans, median and quantile along the rows of a
// 1024 x 1024 matrix; searchsorted puts 1M values into 1M sorted ones; multinomial draws from
// 1000 rows of 1000 weights.
#include <cake/cake.h>

#include <functional>
#include <string>
#include <vector>

#include "bench/bench_common.h"

namespace {

using namespace cake;

constexpr std::int64_t kElements = 1 << 22, kRows = 1024;

struct Case {
  std::string name;
  std::function<Tensor()> run;
};

std::vector<Case> cases() {
  manual_seed(0);
  const Tensor gamma_arguments = rand({kElements}) * 9.9 + 0.1;
  const Tensor inside_unit = rand({kElements}) * 1.98 - 0.99;
  const Tensor a = randn({kElements}), b = randn({kElements});
  const Tensor matrix = randn({kRows, kRows});
  const Tensor near_one = rand({kRows, kRows}) * 0.02 + 0.99;  // running products stay finite
  const Tensor sorted = std::get<0>(rand({1 << 20}).sort(0)), points = rand({1 << 20});
  const Tensor weights = rand({1000, 1000});
  const Tensor positive = rand({kElements}) + 0.5;
  return {
      {"exp", [=] { return exp(a); }},
      {"log", [=] { return log(positive); }},
      {"tanh", [=] { return tanh(a); }},
      {"sigmoid", [=] { return sigmoid(a); }},
      {"sin", [=] { return sin(a); }},
      {"pow", [=] { return pow(positive, b); }},
      {"softmax_rows", [=] { return softmax(matrix, 1); }},
      {"lgamma", [=] { return lgamma(gamma_arguments); }},
      {"digamma", [=] { return digamma(gamma_arguments); }},
      {"erfinv", [=] { return erfinv(inside_unit); }},
      {"tan", [=] { return tan(inside_unit); }},
      {"atan2", [=] { return atan2(a, b); }},
      {"logaddexp", [=] { return logaddexp(a, b); }},
      {"cumprod_rows", [=] { return cumprod(near_one, 1); }},
      {"cumprod_columns", [=] { return cumprod(near_one, 0); }},
      {"cummax_rows", [=] { return cummax(matrix, 1).first; }},
      {"logcumsumexp_rows", [=] { return logcumsumexp(matrix, 1); }},
      {"median_rows", [=] { return median(matrix, 1).first; }},
      {"quantile_rows", [=] { return quantile(matrix, 0.3, 1); }},
      {"tril", [=] { return tril(matrix); }},
      {"searchsorted", [=] { return searchsorted(sorted, points); }},
      {"multinomial_with_replacement", [=] { return multinomial(weights, 100, true); }},
      {"multinomial_without_replacement", [=] { return multinomial(weights, 10, false); }},
  };
}

}  // namespace

int main(int argc, char** argv) {
  set_num_threads(bench::threads());
  for (const Case& c : cases()) {
    bench::register_median(c.name, [run = c.run](benchmark::State& state) {
      NoGradGuard no_grad;
      for (auto _ : state) benchmark::DoNotOptimize(run().raw_data());
    });
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
