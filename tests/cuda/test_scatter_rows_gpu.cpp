// GPU test (skipped with exit 77 without a device): index_add of float32 rows into a few rows on
// CUDA (k-means' centroid sums), the privatised kernel of cuda/backend/scatter_rows_kernels.cu,
// against the CPU: every width of the last column slice, few and many target rows, alpha, an
// index out of range reported by name, and the shapes that keep the generic kernel.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <tuple>
#include <vector>

#include "cake/cake.h"
#include "cake/tensor/native/indexing.h"
#include "cuda/cuda_testing.h"

using namespace cake;

namespace {

const Device kGpu = parse_device("cuda");

// Largest |a - b| over max(|b|, scale): float32 sums taken in another order. A long sum's
// rounding grows with its partial sums (about sqrt(terms) for unit normals), not with its result,
// which may be near 0: pass scale = sqrt(terms) there.
double relative_difference(const Tensor& a, const Tensor& b, double scale = 1.0) {
  const Tensor diff = (a.cpu().to(kFloat64) - b.cpu().to(kFloat64)).abs();
  return (diff / b.cpu().to(kFloat64).abs().clamp_min(scale)).max().item<double>();
}

}  // namespace

TEST_CASE("index_add of float32 rows on CUDA equals the CPU's, for every column slice and row count") {
  manual_seed(8);
  for (auto [n, k, d] : {std::tuple{70000, 1024, 128}, {65536, 5, 3}, {100000, 10, 8}, {30000, 37, 9},
                         {200000, 1536, 1}, {8193, 1, 130}}) {
    const Tensor src = randn({n, d});
    const Tensor index = randint(0, k, {n});
    const Tensor start = randn({k, d});
    for (double alpha : {1.0, -0.5}) {
      const Tensor cpu = native::index_add(start, 0, index, src, alpha);
      const Tensor gpu = native::index_add(start.to(kGpu), 0, index.to(kGpu), src.to(kGpu), alpha);
      INFO("n " << n << " k " << k << " d " << d << " alpha " << alpha);
      // Sums of about n / k unit normals: the CPU's serial float32 sum is off by about sqrt(n / k)
      // ulps of its partial sums (of size ~sqrt(n / k)), also where the result is near 0.
      CHECK(relative_difference(gpu, cpu, std::max(1.0, std::sqrt(double(n) / double(k)))) < 1e-4);
    }
  }
}

TEST_CASE("index_add on CUDA: an index out of range is an error naming it; other shapes keep the generic kernel") {
  const Tensor src = ones({70000, 4}).to(kGpu);
  Tensor index = zeros({70000}, kInt64);
  index.index_put_({69999}, 7);
  CHECK_THROWS_AS((void)native::index_add(zeros({4, 4}).to(kGpu), 0, index.to(kGpu), src), Error);
  // float64, and a destination with more rows than the shared table holds: the generic kernel.
  const Tensor src64 = randn({70000, 3}, kFloat64), idx = randint(0, 3, {70000});
  CHECK(relative_difference(native::index_add(zeros({3, 3}, kFloat64).to(kGpu), 0, idx.to(kGpu), src64.to(kGpu)),
                            native::index_add(zeros({3, 3}, kFloat64), 0, idx, src64), std::sqrt(70000.0 / 3)) <
        1e-12);
  const Tensor many = randint(0, 5000, {70000});
  const Tensor src32 = randn({70000, 2});
  CHECK(relative_difference(native::index_add(zeros({5000, 2}).to(kGpu), 0, many.to(kGpu), src32.to(kGpu)),
                            native::index_add(zeros({5000, 2}), 0, many, src32)) < 1e-5);
  // Rows wider than the privatised kernel's grid can cover (65,535 slices of 8 columns): generic.
  const std::int64_t wide = 65535 * 8 + 1;
  const Tensor wide_src = randn({3, wide}), two = tensor(std::vector<std::int64_t>{1, 0, 1}, {3});
  CHECK(relative_difference(native::index_add(zeros({2, wide}).to(kGpu), 0, two.to(kGpu), wide_src.to(kGpu)),
                            native::index_add(zeros({2, wide}), 0, two, wide_src)) < 1e-6);
}
