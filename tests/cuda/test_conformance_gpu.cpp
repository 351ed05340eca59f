// CPU vs CUDA, op by op: every op with a CUDA kernel runs on both devices on the same inputs
// and the results must agree, in float32 and float64, on contiguous, non-contiguous (transposed,
// stepped, offset so that the vectorised path's alignment check fails), broadcast, empty and
// odd-sized operands. Needs a GPU: without one the program exits 77 and CTest reports it
// skipped (tests/cuda/cuda_testing.h). tools/cuda-check.sh runs it on the GPU machine.
#include <doctest/doctest.h>

#include <vector>

#include "cake/cuda/cuda.h"
#include "cuda/cuda_testing.h"
#include "helpers.h"
#include "cake/tensor/creation.h"
#include "cake/tensor/native/elementwise.h"
#include "cake/tensor/native/linalg.h"
#include "cake/tensor/native/op_tables.h"
#include "cake/tensor/native/reduce.h"

using namespace cake;
using cake::testing::check_close;

namespace {

const Device kCuda = Device::cuda(0);

// float32 results may differ in the last bits (fused multiply-add, another summation order).
double rtol_for(DType t) { return t == kFloat32 ? 1e-5 : 1e-12; }
double atol_for(DType t) { return t == kFloat32 ? 1e-5 : 1e-12; }

// Compares a CUDA result with the CPU one: same shape, dtype and values.
void check_same(const Tensor& cuda_result, const Tensor& cpu_result, double rtol, double atol) {
  REQUIRE(cuda_result.device() == kCuda);
  CHECK(cuda_result.dtype() == cpu_result.dtype());
  check_close(cuda_result.cpu(), cpu_result, rtol, atol);
}

// The operand layouts every elementwise op is run on: {cpu tensor, the same on the GPU}.
struct Case {
  const char* name;
  Tensor cpu, gpu;
};
std::vector<Case> layouts(DType dtype) {
  std::vector<Case> cases;
  auto add = [&](const char* name, const Tensor& base, auto view) {
    cases.push_back({name, view(base), view(base.to(kCuda))});
  };
  auto same = [](const Tensor& t) { return t; };
  add("empty", randn({0, 5}, dtype), same);
  add("scalar", randn({}, dtype), same);
  add("one", randn({1}, dtype), same);
  add("odd", randn({7, 13}, dtype), same);                        // 91: a partial vector at the end
  add("large", randn({4099}, dtype), same);                       // several blocks, a tail
  add("transposed", randn({33, 17}, dtype), [](const Tensor& t) { return t.t(); });
  add("stepped", randn({40, 9}, dtype), [](const Tensor& t) { return t.slice(0, 1, 40, 3); });
  add("offset", randn({1001}, dtype), [](const Tensor& t) { return t.narrow(0, 1, 1000); });  // misaligned
  add("3d-permuted", randn({4, 5, 6}, dtype), [](const Tensor& t) { return t.permute({2, 0, 1}); });
  return cases;
}

}  // namespace

TEST_CASE("host <-> device copies round-trip exactly, pinned staging in chunks included") {
  for (DType dtype : {kFloat32, kFloat64, kInt64, kUInt8, kBool}) {
    for (const Shape& shape : std::vector<Shape>{{0}, {}, {1}, {7, 13}, {3, 1 << 20}}) {  // 12 MiB > a 4 MiB chunk
      const Tensor x = dtype == kBool ? randn(shape) > 0.0 : randn(shape).to(dtype);
      const Tensor back = x.to(kCuda).cpu();
      CHECK(back.dtype() == dtype);
      check_close(back, x, 0, 0);
    }
  }
  // Non-contiguous sources and destinations on either side.
  const Tensor x = randn({6, 8}, kFloat64);
  check_close(x.t().to(kCuda).cpu(), x.t(), 0, 0);
  check_close(x.to(kCuda).t().cpu(), x.t(), 0, 0);
  Tensor dst = zeros({8, 6}, {kFloat64, kCuda});
  native::copy_(dst.t(), x);
  check_close(dst.cpu(), x.t(), 0, 0);
}

TEST_CASE("fill and dtype conversion") {
  for (DType dtype : {kFloat32, kFloat64, kInt64, kUInt8, kBool}) {
    const Tensor f = full({3, 5}, 2.5, {dtype, kCuda});
    check_close(f.cpu(), full({3, 5}, 2.5, dtype), 0, 0);
    Tensor strided = zeros({6, 4}, {dtype, kCuda});
    native::fill_(strided.slice(0, 0, 6, 2), 1);
    Tensor expect = zeros({6, 4}, dtype);
    native::fill_(expect.slice(0, 0, 6, 2), 1);
    check_close(strided.cpu(), expect, 0, 0);
  }
  // In [0, 100): converting a negative or too large float to uint8 is undefined behaviour in
  // C++, and x86 and the GPU do resolve it differently.
  const Tensor x = rand({9, 11}, kFloat64) * 100.0;
  for (DType to : {kFloat32, kFloat64, kInt64, kUInt8, kBool}) {
    check_same(x.to(kCuda).to(to), x.to(to), 1e-7, 0);
    check_same(x.to(kCuda).t().to(to), x.t().to(to), 1e-7, 0);
  }
}

// Runs f on the CPU and on the GPU; both must agree, or both must refuse.
template <class F>
void both_devices(const char* what, F f, const Tensor& cpu_in, const Tensor& gpu_in, double rtol, double atol) {
  CAPTURE(what);
  Tensor expect;
  try {
    expect = f(cpu_in);
  } catch (const cake::Error&) {
    CHECK_THROWS_AS((void)f(gpu_in), cake::Error);
    return;
  }
  check_same(f(gpu_in), expect, rtol, atol);
}

TEST_CASE("every unary op of the op table, on every layout") {
  for (const native::UnaryOpInfo& row : native::kUnaryOps) {
    CAPTURE(row.name);
    // Parameters where the row takes some; positive inputs where the op's domain needs them.
    native::UnaryParams p;
    if (row.op == native::UnaryOp::Clamp) p = {-0.5, 0.5};
    if (row.op == native::UnaryOp::PowScalar) p = {1.5, 0};
    if (row.op == native::UnaryOp::LeakyRelu) p = {0.1, 0};
    if (row.op == native::UnaryOp::Elu) p = {1.0, 0};
    const bool positive = row.op == native::UnaryOp::Log || row.op == native::UnaryOp::Log1p ||
                          row.op == native::UnaryOp::Sqrt || row.op == native::UnaryOp::Rsqrt ||
                          row.op == native::UnaryOp::Reciprocal || row.op == native::UnaryOp::PowScalar;
    auto f = [&](const Tensor& x) { return native::unary(row.op, positive ? native::unary(native::UnaryOp::Abs, x) + 0.1 : x, p); };
    for (DType dtype : {kFloat32, kFloat64}) {
      // float32 transcendental functions: CUDA's are within 1-2 ulp, glibc's within 1 (CUDA C++
      // Programming Guide, "Mathematical Functions", Table 7), so allow a few float32 ulps.
      const double rtol = dtype == kFloat32 ? 4e-6 : 1e-14;
      for (const Case& c : layouts(dtype)) both_devices(c.name, f, c.cpu, c.gpu, rtol, rtol);
    }
    const Tensor i = randint(-20, 20, {6, 7});  // int64: promoted, computed, or refused alike
    both_devices("int64", f, i, i.to(kCuda), 4e-6, 4e-6);
    const Tensor u = randint(0, 200, {33}).to(kUInt8);
    both_devices("uint8", f, u, u.to(kCuda), 4e-6, 4e-6);
  }
}

TEST_CASE("every binary op of the op table: broadcast, non-contiguous, mixed layouts") {
  for (const native::BinaryOpInfo& row : native::kBinaryOps) {
    CAPTURE(row.name);
    for (DType dtype : {kFloat32, kFloat64, kInt64}) {
      const double rtol = dtype == kFloat32 ? 4e-6 : 1e-14;
      // b is positive so that div and pow stay finite; integer pow gets small exponents.
      const Tensor a = dtype == kInt64 ? randint(-9, 10, {5, 7}) : randn({5, 7}, dtype);
      const Tensor b = dtype == kInt64 ? randint(1, 4, {7}) : rand({7}, dtype) + 0.5;
      const std::vector<std::pair<Tensor, Tensor>> pairs = {
          {a, b},                                   // broadcast a row
          {a, b.unsqueeze(0).expand({5, 7})},       // stride-0 operand
          {a.t().contiguous().t(), a},              // transposed memory against contiguous
          {a.narrow(1, 1, 6), a.narrow(1, 0, 6)},   // offset views (misaligned for vectors)
          {a.slice(0, 0, 5, 2), b},                 // stepped rows
          {zeros({0, 7}, dtype), b},                // empty
          {a.select(0, 0).select(0, 0), a}};        // a 0-d operand
      for (const auto& [x, y] : pairs) {
        Tensor expect;
        try {
          expect = native::binary(row.op, x, y);
        } catch (const cake::Error&) {
          CHECK_THROWS_AS((void)native::binary(row.op, x.to(kCuda), y.to(kCuda)), cake::Error);
          continue;
        }
        check_same(native::binary(row.op, x.to(kCuda), y.to(kCuda)), expect, rtol, rtol);
      }
    }
  }
  // bool arithmetic and logic follow PyTorch on both devices.
  const Tensor p = randn({4, 9}) > 0.0, q = randn({9}) > 0.0;
  for (const native::BinaryOpInfo& row : native::kBinaryOps) {
    CAPTURE(row.name);
    Tensor expect;
    try {
      expect = native::binary(row.op, p, q);
    } catch (const cake::Error&) {
      continue;
    }
    check_same(native::binary(row.op, p.to(kCuda), q.to(kCuda)), expect, 0, 0);
  }
}

TEST_CASE("where, with broadcasting") {
  for (DType dtype : {kFloat32, kFloat64}) {
    const Tensor c = randn({5, 1}) > 0.0, a = randn({5, 7}, dtype), b = randn({7}, dtype);
    check_same(native::where(c.to(kCuda), a.to(kCuda), b.to(kCuda)), native::where(c, a, b), 0, 0);
  }
}

TEST_CASE("reductions: sum, prod, max, min over any dims") {
  for (DType dtype : {kFloat32, kFloat64}) {
    for (const Case& c : layouts(dtype)) {
      CAPTURE(c.name);
      for (native::ReduceOp op : {native::ReduceOp::Sum, native::ReduceOp::Prod, native::ReduceOp::Max,
                                  native::ReduceOp::Min}) {
        if (c.cpu.numel() == 0 && (op == native::ReduceOp::Max || op == native::ReduceOp::Min)) continue;
        // A product of thousands of normal samples under- or overflows depending on the order.
        if (op == native::ReduceOp::Prod && c.cpu.numel() > 100) continue;
        const double rtol = op == native::ReduceOp::Prod ? 1e-4 : rtol_for(dtype) * 10;
        check_same(native::reduce(op, c.gpu, {}, false), native::reduce(op, c.cpu, {}, false), rtol, atol_for(dtype));
        for (std::int64_t d = 0; d < c.cpu.dim(); ++d)
          check_same(native::reduce(op, c.gpu, {d}, true), native::reduce(op, c.cpu, {d}, true), rtol,
                     atol_for(dtype));
      }
    }
    // Non-adjacent dims (the copy-to-canonical-layout path) and a long row (many warps).
    const Tensor x = randn({6, 7, 8}, dtype), long_row = randn({3, 100000}, dtype);
    check_same(native::sum(x.to(kCuda), {0, 2}), native::sum(x, {0, 2}), rtol_for(dtype) * 10, atol_for(dtype));
    check_same(native::sum(long_row.to(kCuda), {1}), native::sum(long_row, {1}), 1e-4, 1e-3);
    check_same(native::mean(long_row.to(kCuda), {0}), native::mean(long_row, {0}), rtol_for(dtype) * 10,
               atol_for(dtype));
  }
  // Integer sums run as int64 on both devices.
  const Tensor i = randint(0, 50, {5, 9});
  check_same(native::sum(i.to(kCuda), {1}), native::sum(i, {1}), 0, 0);
}

TEST_CASE("matmul on cuBLAS: plain, transposed views, batched, broadcast batch, vectors") {
  for (DType dtype : {kFloat32, kFloat64}) {
    const double rtol = dtype == kFloat32 ? 1e-4 : 1e-12;
    auto both = [&](const Tensor& a, const Tensor& b) {
      check_same(native::matmul(a.to(kCuda), b.to(kCuda)), native::matmul(a, b), rtol, rtol);
    };
    both(randn({7, 13}, dtype), randn({13, 5}, dtype));
    both(randn({13, 7}, dtype).t(), randn({13, 5}, dtype));
    both(randn({7, 13}, dtype), randn({5, 13}, dtype).t());
    both(randn({13, 7}, dtype).t(), randn({5, 13}, dtype).t());
    both(randn({3, 4, 6}, dtype), randn({3, 6, 2}, dtype));      // strided batch
    both(randn({3, 4, 6}, dtype), randn({6, 2}, dtype));         // broadcast right operand
    both(randn({2, 3, 4, 6}, dtype).permute({1, 0, 2, 3}), randn({6, 2}, dtype));  // non-uniform batch
    both(randn({6}, dtype), randn({6, 3}, dtype));               // vector @ matrix
    both(randn({4, 6}, dtype), randn({6}, dtype));               // matrix @ vector
    both(randn({0, 6}, dtype), randn({6, 3}, dtype));            // empty
    both(randn({4, 0}, dtype), randn({0, 3}, dtype));            // K = 0: zeros
    const Tensor c = randn({4, 3}, dtype), a = randn({4, 6}, dtype), b = randn({6, 3}, dtype);
    check_same(native::addmm(c.to(kCuda), a.to(kCuda), b.to(kCuda), 0.5, 2.0), native::addmm(c, a, b, 0.5, 2.0), rtol,
               rtol);
  }
  CHECK_THROWS_AS((void)native::matmul(ones({2, 2}, {kInt64, kCuda}), ones({2, 2}, {kInt64, kCuda})), cake::Error);
}

TEST_CASE("the caching allocator reuses freed device memory") {
  cake::cuda::empty_cache();
  const auto before = cake::cuda::memory_stats();
  {
    const Tensor a = zeros({1024, 1024}, {kFloat32, kCuda});
    CHECK(cake::cuda::memory_stats().allocated_bytes >= before.allocated_bytes + 4u * 1024 * 1024);
  }
  const auto after_free = cake::cuda::memory_stats();
  CHECK(after_free.allocated_bytes == before.allocated_bytes);
  CHECK(after_free.cached_bytes > 0);
  const Tensor b = zeros({1024, 1024}, {kFloat32, kCuda});
  CHECK(cake::cuda::memory_stats().reserved_bytes == after_free.reserved_bytes);  // no new segment
}
