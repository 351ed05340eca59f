// CPU vs CUDA, op by op: every op with a CUDA kernel runs on both devices on the same inputs
// and the results must agree, in float32 and float64, on contiguous, non-contiguous (transposed,
// stepped, offset so that the vectorised path's alignment check fails), broadcast, empty and
// odd-sized operands. Needs a GPU: without one the program exits 77 and CTest reports it
// skipped (tests/cuda/cuda_testing.h). tools/cuda-check.sh runs it on the GPU machine.
//
// Two tables: every row of the gradient-check table (tests/autograd/gradcheck_cases_*.cpp,
// compiled into this program too) replayed on both devices, forward values and gradients, in
// float64 and float32; and the non-differentiable ops (sorting, counting, random streams, the
// fused optimiser steps, ...) with the inputs that exercise their rules: NaN, ties, duplicates,
// bad indices, empty and odd sizes.
//
// Tolerances: float64 results agree to 1e-10 (only the summation order differs); float32 to
// 1e-4 relative (summation order, fused multiply-adds in cuBLAS/cuDNN, CUDA's exp/log within
// 2 ulp). Where a kernel mirrors the CPU's operation order exactly (pooling, the fused
// optimiser steps, uniform random draws) the check is exact.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "cake/cuda/cuda.h"
#include "cuda/cuda_testing.h"
#include "helpers.h"
#include "cake/tensor/creation.h"
#include "cake/tensor/native/elementwise.h"
#include "cake/tensor/native/linalg.h"
#include "cake/tensor/native/op_tables.h"
#include "cake/tensor/native/reduce.h"
#include "cake/tensor/native/indexing.h"
#include "cake/tensor/native/nn_kernels.h"
#include "cake/tensor/random.h"
#include "cake/optim/fused.h"
#include "cake/autograd/engine.h"
#include "autograd/gradcheck_table.h"

namespace cake::testing {
// The gradient-check rows register into this table (test_gradcheck.cpp has its own).
std::vector<GradCase>& gradcheck_table() {
  static std::vector<GradCase> table;
  return table;
}
}  // namespace cake::testing

using namespace cake;
using cake::testing::check_close;

namespace {

const Device kCuda = Device::cuda(0);

// Every CUDA allocation of this program starts as 0xFF bytes (NaN, -1): an output element a
// kernel fails to write cannot match the CPU by luck.
[[maybe_unused]] const bool poisoned = [] {
  cake::cuda::set_poison_allocations(true);
  return true;
}();

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
    // Few outputs over long runs take the two-pass split (reduce_pieces): rows, and columns.
    const Tensor tall = randn({200000, 3}, dtype);
    check_same(native::sum(tall.to(kCuda), {0}), native::sum(tall, {0}), 1e-4, 1e-3);
    check_same(native::reduce(native::ReduceOp::Max, tall.to(kCuda), {0}, false),
               native::reduce(native::ReduceOp::Max, tall, {0}, false), 0, 0);
    check_same(native::sum(tall.to(kCuda), {}), native::sum(tall, {}), 1e-4, 1e-2);
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

// ---- the gradient-check table, replayed on both devices ---------------------------------------

namespace {

// A row's inputs as leaves on `device` in `dtype` (floating inputs only; index tensors keep
// theirs), floating ones requiring gradients.
std::vector<Tensor> leaves(const std::vector<Tensor>& base, DType dtype, Device device) {
  std::vector<Tensor> out;
  for (const Tensor& x : base) {
    Tensor t = x.is_floating_point() ? x.to(dtype) : x;
    t = t.to(device).detach();
    if (t.is_floating_point()) t.requires_grad_();
    out.push_back(t);
  }
  return out;
}

// The error of a row whose function builds CPU tensors of its own (a constant index, a mask,
// running statistics): such a row cannot run on another device as written.
bool is_device_mismatch(const std::string& message) {
  // "tensors are on different devices, cpu and cuda:0", "gemm: devices differ: cpu, ...",
  // "running statistic is on cpu but the input is on cuda:0", "CUDA kernel: operands on cpu and
  // cuda:0": each names the CPU. A CUDA runtime error never counts as one.
  return message.find("cpu") != std::string::npos && message.find("CUDA error") == std::string::npos &&
         message.find("cuDNN") == std::string::npos && message.find("cuBLAS") == std::string::npos;
}

}  // namespace

TEST_CASE("every row of the gradient-check table: values and gradients agree, CPU vs CUDA") {
  const auto& table = cake::testing::gradcheck_table();
  REQUIRE(table.size() > 100);
  std::vector<std::string> cpu_only_rows;
  for (const auto& row : table) {
    for (DType dtype : {kFloat64, kFloat32}) {
      CAPTURE(row.name);
      CAPTURE(dtype_name(dtype));
      const double tol = dtype == kFloat64 ? 1e-10 : 1e-4;
      manual_seed(1234);
      const std::vector<Tensor> base = row.make_inputs();
      const std::vector<Tensor> cpu_in = leaves(base, dtype, kCPU), gpu_in = leaves(base, dtype, kCuda);
      // The same seed before each run: rows that draw (dropout) draw the same numbers.
      Tensor cpu_out, gpu_out;
      try {
        manual_seed(99);
        cpu_out = row.function(cpu_in);
      } catch (const cake::Error&) {
        continue;  // e.g. a float64 constant inside a row run in float32: not a device question
      }
      try {
        manual_seed(99);
        gpu_out = row.function(gpu_in);
      } catch (const cake::Error& e) {
        if (is_device_mismatch(e.what())) {
          if (dtype == kFloat64) cpu_only_rows.push_back(row.name);
          continue;
        }
        FAIL_CHECK("threw on CUDA only: " << e.what());
        continue;
      }
      check_same(gpu_out, cpu_out, tol, tol);
      if (!cpu_out.requires_grad()) continue;
      manual_seed(7);
      const Tensor weights = randn(cpu_out.sizes(), cpu_out.dtype());
      std::vector<Tensor> cpu_leaves, gpu_leaves;
      for (std::size_t i = 0; i < cpu_in.size(); ++i)
        if (cpu_in[i].requires_grad()) cpu_leaves.push_back(cpu_in[i]), gpu_leaves.push_back(gpu_in[i]);
      const auto cpu_grads = autograd::grad({cpu_out}, cpu_leaves, {weights}, std::nullopt, false, true);
      const auto gpu_grads = autograd::grad({gpu_out}, gpu_leaves, {weights.to(kCuda)}, std::nullopt, false, true);
      REQUIRE(cpu_grads.size() == gpu_grads.size());
      for (std::size_t i = 0; i < cpu_grads.size(); ++i) {
        CAPTURE(i);
        REQUIRE(cpu_grads[i].defined() == gpu_grads[i].defined());
        if (cpu_grads[i].defined()) check_same(gpu_grads[i], cpu_grads[i], tol, tol);
      }
    }
  }
  // Rows that build CPU tensors inside their function are not device-generic as written; they
  // are listed, not failed (their ops are covered by the rows and tests below).
  std::string names;
  for (const std::string& n : cpu_only_rows) names += " [" + n + "]";
  MESSAGE(cpu_only_rows.size() << " of " << table.size() << " rows build CPU tensors inside and ran on the CPU only:" << names);
}

// ---- the non-differentiable ops -----------------------------------------------------------------

TEST_CASE("arg-max / arg-min: first extreme, NaN wins, every dtype and dim") {
  Tensor x = randn({7, 33, 5}, kFloat64);
  x.select(1, 3).select(0, 2).fill_(std::numeric_limits<double>::quiet_NaN());  // one NaN row
  const Tensor ties = randint(0, 3, {6, 40});                                      // many ties
  for (DType dtype : {kFloat32, kFloat64, kInt64, kUInt8}) {
    const Tensor in = dtype == kInt64 || dtype == kUInt8 ? ties.to(dtype) : x.to(dtype);
    for (std::int64_t d = 0; d < in.dim(); ++d) {
      for (bool is_max : {true, false}) {
        CAPTURE(dtype_name(dtype));
        CAPTURE(d);
        const auto [v, i] = is_max ? native::max_with_indices(in, d, true) : native::min_with_indices(in, d, true);
        const auto [gv, gi] = is_max ? native::max_with_indices(in.to(kCuda), d, true)
                                     : native::min_with_indices(in.to(kCuda), d, true);
        check_same(gv, v, 0, 0);
        check_same(gi, i, 0, 0);
      }
    }
  }
  const Tensor flags = randn({5, 9}) > 0.0;  // bool
  check_same(native::max_with_indices(flags.to(kCuda), 1, false).second, native::max_with_indices(flags, 1, false).second,
             0, 0);
}

// The CUDA nn kernels mirror Cake's own CPU kernels; with oneDNN compiled in, float32 would go
// to oneDNN on the CPU, so the references below switch it off (native::OneDnnGuard).

TEST_CASE("softmax and log_softmax: rows, columns, long rows, backward") {
  const native::OneDnnGuard cake_kernels(false);
  for (DType dtype : {kFloat32, kFloat64}) {
    const double tol = dtype == kFloat32 ? 1e-5 : 1e-12;
    for (const Shape& shape : std::vector<Shape>{{4, 10}, {3, 5, 7}, {2, 5000}, {1, 1}}) {
      const Tensor x = randn(shape, dtype) * 4.0, g = randn(shape, dtype);
      for (std::int64_t d = 0; d < x.dim(); ++d) {
        CAPTURE(d);
        const Tensor y = native::softmax(x, d), ly = native::log_softmax(x, d);
        check_same(native::softmax(x.to(kCuda), d), y, tol, tol);
        check_same(native::log_softmax(x.to(kCuda), d), ly, tol, tol);
        check_same(native::softmax_backward(g.to(kCuda), y.to(kCuda), d), native::softmax_backward(g, y, d), tol, tol);
        check_same(native::log_softmax_backward(g.to(kCuda), ly.to(kCuda), d), native::log_softmax_backward(g, ly, d),
                   tol, tol);
      }
    }
  }
}

TEST_CASE("batch norm (training), forward and backward, with and without affine parameters") {
  const native::OneDnnGuard cake_kernels(false);
  for (DType dtype : {kFloat32, kFloat64}) {
    const double tol = dtype == kFloat32 ? 1e-4 : 1e-11;
    const Tensor x = randn({8, 3, 5, 7}, dtype) * 3.0 + 10.0, w = randn({3}, dtype), b = randn({3}, dtype);
    const Tensor gy = randn({8, 3, 5, 7}, dtype);
    for (bool affine : {true, false}) {
      const Tensor weight = affine ? w : Tensor(), bias = affine ? b : Tensor();
      const auto cpu = native::batch_norm_training(x, weight, bias, {}, {}, 0.1, 1e-5);
      const auto gpu = native::batch_norm_training(x.to(kCuda), affine ? w.to(kCuda) : Tensor(),
                                                   affine ? b.to(kCuda) : Tensor(), {}, {}, 0.1, 1e-5);
      check_same(gpu.output, cpu.output, tol, tol);
      check_same(gpu.mean, cpu.mean, tol, tol);
      check_same(gpu.invstd, cpu.invstd, tol, tol);
      const auto cg = native::batch_norm_backward(gy, x, weight, cpu.mean, cpu.invstd, 1e-5, true, affine, affine);
      const auto gg = native::batch_norm_backward(gy.to(kCuda), x.to(kCuda), affine ? w.to(kCuda) : Tensor(),
                                                  cpu.mean.to(kCuda), cpu.invstd.to(kCuda), 1e-5, true, affine, affine);
      check_same(gg.grad_x, cg.grad_x, tol, tol);
      if (affine) {
        check_same(gg.grad_weight, cg.grad_weight, tol * 10, tol * 10);
        check_same(gg.grad_bias, cg.grad_bias, tol * 10, tol * 10);
      }
    }
  }
}

TEST_CASE("pooling: max (ties, NaN, overlapping windows), average, adaptive; exact") {
  const native::OneDnnGuard cake_kernels(false);
  for (DType dtype : {kFloat32, kFloat64}) {
    Tensor x = randint(0, 4, {2, 3, 9, 8}).to(dtype);  // ties inside windows
    x.select(0, 1).select(0, 2).select(0, 4).fill_(std::numeric_limits<double>::quiet_NaN());
    const std::vector<native::PoolOptions> options = {
        {.kernel = {2, 2}, .stride = {2, 2}},
        {.kernel = {3, 3}, .stride = {2, 2}, .padding = {1, 1}, .ceil_mode = true},
        {.kernel = {3, 2}, .stride = {1, 2}, .padding = {1, 0}, .count_include_pad = false}};
    for (const auto& o : options) {
      const native::PoolGeometry g = native::pool2d_geometry(x.sizes(), o, "conformance");
      const auto [y, idx] = native::max_pool2d_with_indices(x, g);
      const auto [gy_cuda, gidx] = native::max_pool2d_with_indices(x.to(kCuda), g);
      check_same(gy_cuda, y, 0, 0);
      check_same(gidx, idx, 0, 0);
      const Tensor grad = randn(y.sizes(), dtype);
      // Backward gathers in the CPU's order: equal to the bit.
      check_same(native::max_pool2d_backward(grad.to(kCuda), gidx, g), native::max_pool2d_backward(grad, idx, g), 0, 0);
      const Tensor clean = randn(x.sizes(), dtype);
      check_same(native::avg_pool2d(clean.to(kCuda), g), native::avg_pool2d(clean, g), 0, 0);
      check_same(native::avg_pool2d_backward(grad.to(kCuda), g), native::avg_pool2d_backward(grad, g), 0, 0);
    }
    const Tensor clean = randn({2, 3, 7, 5}, dtype);
    for (native::Int2 size : {native::Int2{3, 2}, native::Int2{1, 1}, native::Int2{7, 5}, native::Int2{4, 4}}) {
      const native::PoolGeometry g = native::adaptive_pool2d_geometry(clean.sizes(), size, "conformance");
      check_same(native::adaptive_avg_pool2d(clean.to(kCuda), g), native::adaptive_avg_pool2d(clean, g), 0, 0);
      const Tensor grad = randn(g.output_shape(), dtype);
      check_same(native::adaptive_avg_pool2d_backward(grad.to(kCuda), g), native::adaptive_avg_pool2d_backward(grad, g),
                 0, 0);
    }
  }
}

TEST_CASE("convolution on cuDNN: forward, backward-data, backward-weight, transposed; float32 without TF32") {
  struct Row {
    Shape x, w;
    native::ConvOptions o;
  };
  const std::vector<Row> rows = {
      {{2, 3, 9, 9}, {4, 3, 3, 3}, {}},
      {{2, 4, 8, 7}, {6, 2, 3, 2}, {.stride = {2, 1}, .padding = {1, 1}, .dilation = {1, 2}, .groups = 2}},
      {{1, 8, 5, 5}, {8, 1, 3, 3}, {.padding = {1, 1}, .groups = 8}},  // depthwise
      {{3, 16, 28, 28}, {32, 16, 3, 3}, {.stride = {2, 2}, .padding = {1, 1}}}};
  for (DType dtype : {kFloat32, kFloat64}) {
    const double tol = dtype == kFloat32 ? 1e-4 : 1e-11;
    for (const Row& r : rows) {
      const native::ConvGeometry g = native::conv2d_geometry(r.x, r.w, r.o, "conformance");
      const Tensor x = randn(r.x, dtype), w = randn(r.w, dtype), b = randn({r.w[0]}, dtype);
      const Tensor gy = randn(g.output_shape(), dtype);
      check_same(native::conv2d_forward(x.to(kCuda), w.to(kCuda), b.to(kCuda), g), native::conv2d_forward(x, w, b, g),
                 tol, tol);
      check_same(native::conv2d_backward_data(gy.to(kCuda), w.to(kCuda), g), native::conv2d_backward_data(gy, w, g), tol,
                 tol);
      const auto [gw, gb] = native::conv2d_backward_weight(x, gy, g, true);
      const auto [cw, cb] = native::conv2d_backward_weight(x.to(kCuda), gy.to(kCuda), g, true);
      check_same(cw, gw, tol * 10, tol * 10);
      check_same(cb, gb, tol * 10, tol * 10);
    }
    // Transposed, with output_padding (the geometry cuDNN describes) and with output_padding
    // >= stride (allowed when < dilation: cuDNN's descriptors cannot say it; the CPU fallback runs).
    for (const native::ConvOptions& o : {native::ConvOptions{.stride = {2, 2}, .padding = {1, 1}, .output_padding = {1, 1}},
                                         native::ConvOptions{.stride = {1, 1}, .dilation = {3, 3}, .output_padding = {2, 1}}}) {
      const Tensor x = randn({2, 4, 5, 6}, dtype), w = randn({4, 3, 3, 3}, dtype), b = randn({3}, dtype);
      const native::ConvGeometry g = native::conv_transpose2d_geometry(x.sizes(), w.sizes(), o, "conformance");
      check_same(native::conv_transpose2d_forward(x.to(kCuda), w.to(kCuda), b.to(kCuda), g),
                 native::conv_transpose2d_forward(x, w, b, g), tol, tol);
    }
  }
}

TEST_CASE("squared distances: cuBLAS cross terms, clamped at zero") {
  for (DType dtype : {kFloat32, kFloat64}) {
    const double tol = dtype == kFloat32 ? 1e-4 : 1e-11;
    const Tensor a = randn({37, 19}, dtype), b = randn({23, 19}, dtype);
    check_same(native::cdist_squared(a.to(kCuda), b.to(kCuda)), native::cdist_squared(a, b), tol, tol);
    check_same(native::cdist_squared(a.to(kCuda), a.to(kCuda)), native::cdist_squared(a, a), tol, tol);  // zeros
    check_same(native::cdist_squared(a.to(kCuda).t().contiguous().t(), b.to(kCuda)), native::cdist_squared(a, b), tol,
               tol);
    check_same(native::cdist_squared(zeros({0, 19}, {dtype, kCuda}), b.to(kCuda)), native::cdist_squared(zeros({0, 19}, dtype), b),
               0, 0);
    // k-means' assignment: labels equal, distances to rounding; one block, and many blocks of rows.
    for (const auto& [n, k] : {std::pair<std::int64_t, std::int64_t>{37, 23}, {70000, 1100}}) {
      const Tensor x = randn({n, 19}, dtype), c = randn({k, 19}, dtype);
      const auto [sq, labels] = native::nearest_rows(x.to(kCuda), c.to(kCuda));
      const auto [expected_sq, expected_labels] = native::nearest_rows(x, c);
      check_same(sq, expected_sq, tol, tol);
      // A label may differ only where two centres tie to rounding: the GPU's choice is then as near.
      const Tensor chosen = labels.to(kCPU);
      const Tensor to_chosen = native::sum(native::binary(native::BinaryOp::Pow,
          native::binary(native::BinaryOp::Sub, x, native::index_select(c, 0, chosen)), 2.0), {1}, false);
      cake::testing::check_close(to_chosen, expected_sq, tol, tol);
      const double same = native::sum(native::binary(native::BinaryOp::Eq, chosen, expected_labels).to(kInt64), {}, false)
                              .item<double>();
      CHECK(same >= 0.999 * static_cast<double>(n));
    }
  }
}

TEST_CASE("random streams: the same seed draws the same tensor on both devices") {
  for (DType dtype : {kFloat32, kFloat64}) {
    for (const Shape& shape : std::vector<Shape>{{1}, {7}, {1001}, {3, 333}}) {  // partial Philox groups
      manual_seed(42);
      const Tensor u = rand(shape, dtype), n = randn(shape, dtype);
      manual_seed(42);
      const Tensor gu = rand(shape, {dtype, kCuda}), gn = randn(shape, {dtype, kCuda});
      check_same(gu, u, 0, 0);  // uniforms: the same bits
      check_same(gn, n, dtype == kFloat32 ? 1e-5 : 1e-13, 1e-6);  // log/cos/sin within a few ulp
      manual_seed(5);
      Tensor bern = empty(shape, dtype);
      bern.bernoulli_(0.3);
      manual_seed(5);
      Tensor gbern = empty(shape, {dtype, kCuda});
      gbern.bernoulli_(0.3);
      check_same(gbern, bern, 0, 0);
    }
  }
  manual_seed(3);
  const Tensor r = randint(-5, 1000, {2049});
  manual_seed(3);
  check_same(randint(-5, 1000, {2049}, {kInt64, kCuda}), r, 0, 0);
  // The stream advances alike: the next draw after a CUDA draw is the CPU's next draw.
  manual_seed(9);
  (void)randn({10}, {kFloat32, kCuda});
  const Tensor after_gpu = randn({10});
  manual_seed(9);
  (void)randn({10});
  check_close(after_gpu, randn({10}), 0, 0);
}

TEST_CASE("fused Adam, AdamW, AMSGrad and SGD steps: equal to the CPU steps to the bit") {
  namespace fused = cake::optim::fused;
  for (DType dtype : {kFloat32, kFloat64}) {
    const std::int64_t n = 1037;
    const Tensor p0 = randn({n}, dtype), g = randn({n}, dtype), m0 = randn({n}, dtype) * 0.1,
                 v0 = rand({n}, dtype) * 0.01, vmax0 = rand({n}, dtype) * 0.02;
    for (const fused::AdamStep& step :
         {fused::AdamStep{0.9, 0.999, 1e-8, 0.01, 1.0, 1e-3 / (1 - 0.9), std::sqrt(1 - 0.999), false},   // Adam + L2
          fused::AdamStep{0.9, 0.99, 1e-6, 0.0, 1.0 - 1e-3 * 0.1, 2e-3, std::sqrt(1 - 0.99 * 0.99), true}}) {  // AdamW, AMSGrad
      Tensor p = p0.clone(), m = m0.clone(), v = v0.clone(), vmax = vmax0.clone();
      Tensor gp = p0.to(kCuda), gm = m0.to(kCuda), gv = v0.to(kCuda), gvmax = vmax0.to(kCuda);
      fused::adam_stub(kCPU, p, g, m, v, vmax, step);
      fused::adam_stub(kCuda, gp, g.to(kCuda), gm, gv, gvmax, step);
      check_same(gp, p, 0, 0);
      check_same(gm, m, 0, 0);
      check_same(gv, v, 0, 0);
      if (step.amsgrad) check_same(gvmax, vmax, 0, 0);
    }
    for (const fused::SGDStep& step : {fused::SGDStep{0.1, 0.0, 0.0, 0.0, false, false},
                                       fused::SGDStep{0.05, 0.9, 0.1, 1e-4, false, true},
                                       fused::SGDStep{0.05, 0.9, 0.0, 1e-4, true, false}}) {
      Tensor p = p0.clone(), buf = m0.clone();
      Tensor gp = p0.to(kCuda), gbuf = m0.to(kCuda);
      fused::sgd_stub(kCPU, p, g, step.momentum != 0 ? buf : Tensor(), step);
      fused::sgd_stub(kCuda, gp, g.to(kCuda), step.momentum != 0 ? gbuf : Tensor(), step);
      check_same(gp, p, 0, 0);
      if (step.momentum != 0) check_same(gbuf, buf, 0, 0);
    }
  }
}

TEST_CASE("scatter and scatter_reduce: stores, products and extremes (a NaN wins), every dtype") {
  manual_seed(31);
  // A different row for every position of a column, so that scatter's result is defined.
  std::vector<std::int64_t> rows;
  for (std::int64_t r = 0; r < 4; ++r)
    for (std::int64_t c = 0; c < 7; ++c) rows.push_back((r + c) % 6);
  const Tensor distinct = tensor(rows, {4, 7});
  const Tensor repeated = randint(0, 6, {9, 7});  // repeats: the compare-and-swap loops collide
  for (DType dtype : {kFloat32, kFloat64, kInt64, kUInt8}) {
    CAPTURE(dtype_name(dtype));
    const bool floating = dtype == kFloat32 || dtype == kFloat64;
    const Tensor x = floating ? (rand({6, 7}) + 0.5).to(dtype) : randint(1, 4, {6, 7}).to(dtype);
    const Tensor src = floating ? (rand({9, 7}) + 0.5).to(dtype) : randint(1, 4, {9, 7}).to(dtype);
    if (floating) src.select(0, 4).select(0, 2).fill_(std::numeric_limits<double>::quiet_NaN());
    const Tensor first_rows = src.narrow(0, 0, 4);
    check_same(native::scatter(x.to(kCuda), 0, distinct.to(kCuda), first_rows.to(kCuda)),
               native::scatter(x, 0, distinct, first_rows), 0, 0);
    for (const char* reduce : {"prod", "amax", "amin"}) {
      for (bool include_self : {true, false}) {
        CAPTURE(reduce);
        CAPTURE(include_self);
        // A product of up to ~10 factors in another order differs by rounding only (uint8 wraps
        // modulo 256 in any order alike); amax and amin are exact.
        const bool prod = std::string(reduce) == "prod";
        const double tol = !prod ? 0 : dtype == kFloat32 ? 1e-6 : dtype == kFloat64 ? 1e-14 : 0;
        check_same(native::scatter_reduce(x.to(kCuda), 0, repeated.to(kCuda), src.to(kCuda), reduce, include_self),
                   native::scatter_reduce(x, 0, repeated, src, reduce, include_self), tol, tol);
      }
    }
  }
}

TEST_CASE("gather, scatter_add, index_select, index_add, embedding: every dtype; bad indices are errors") {
  for (DType dtype : {kFloat32, kFloat64, kInt64, kUInt8, kBool}) {
    CAPTURE(dtype_name(dtype));
    const Tensor x = dtype == kBool ? randn({6, 7}) > 0.0 : randint(0, 50, {6, 7}).to(dtype);
    const Tensor index = randint(0, 6, {4, 7});
    check_same(native::gather(x.to(kCuda), 0, index.to(kCuda)), native::gather(x, 0, index), 0, 0);
    check_same(native::gather(x.t().to(kCuda), 1, index.to(kCuda)), native::gather(x.t(), 1, index), 0, 0);
    const Tensor rows = randint(0, 6, {9});
    check_same(native::index_select(x.to(kCuda), 0, rows.to(kCuda)), native::index_select(x, 0, rows), 0, 0);
    if (dtype == kBool) continue;
    // Duplicate indices accumulate (float sums in another order: a tolerance).
    const Tensor src = randint(0, 9, {4, 7}).to(dtype);
    const double tol = dtype == kFloat32 ? 1e-6 : 0;
    check_same(native::scatter_add(x.to(kCuda), 0, index.to(kCuda), src.to(kCuda)), native::scatter_add(x, 0, index, src),
               tol, tol);
    const Tensor source = randint(0, 9, {9, 7}).to(dtype);
    check_same(native::index_add(x.to(kCuda), 0, rows.to(kCuda), source.to(kCuda), 3),
               native::index_add(x, 0, rows, source, 3), tol, tol);
  }
  const Tensor weight = randn({10, 4});
  const Tensor ids = randint(0, 10, {3, 5});
  check_same(native::embedding(weight.to(kCuda), ids.to(kCuda)), native::embedding(weight, ids), 0, 0);
  const Tensor bad = tensor(std::vector<std::int64_t>{1, 7, -1}, {3});
  try {
    (void)native::index_select(weight.to(kCuda), 0, bad.to(kCuda));
    FAIL_CHECK("index -1 of 10 rows was accepted");
  } catch (const cake::Error& e) {
    CHECK(std::string(e.what()).find("index -1 is out of range for dimension 0 of size 10") != std::string::npos);
  }
}

TEST_CASE("masked select and scatter: broadcast masks, empty, all true, all false") {
  for (DType dtype : {kFloat32, kInt64, kBool}) {
    const Tensor x = dtype == kBool ? randn({5, 6}) > 0.0 : randint(-9, 9, {5, 6}).to(dtype);
    for (const Tensor& mask : {randn({5, 6}) > 0.0, randn({6}) > 0.0, ones({5, 6}, kBool), zeros({1, 6}, kBool)}) {
      check_same(native::masked_select(x.to(kCuda), mask.to(kCuda)), native::masked_select(x, mask), 0, 0);
      check_same(native::masked_select(x.t().to(kCuda), mask.to(kCuda).expand({5, 6}).t()),
                 native::masked_select(x.t(), mask.expand({5, 6}).t()), 0, 0);
      const Tensor src = dtype == kBool ? randn({30}) > 0.0 : randint(-9, 9, {30}).to(dtype);
      check_same(native::masked_scatter(x.to(kCuda), mask.to(kCuda), src.to(kCuda)), native::masked_scatter(x, mask, src),
                 0, 0);
    }
  }
  check_same(native::masked_select(zeros({0, 3}, {kFloat32, kCuda}), ones({0, 3}, {kBool, kCuda})),
             native::masked_select(zeros({0, 3}), ones({0, 3}, kBool)), 0, 0);
}

TEST_CASE("sort and topk: stable, NaN last (first when descending), ties by position, every dtype") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (DType dtype : {kFloat32, kFloat64, kInt64, kUInt8, kBool}) {
    CAPTURE(dtype_name(dtype));
    Tensor x = dtype == kBool ? randn({6, 33}) > 0.0 : randint(0, 5, {6, 33}).to(dtype);  // many ties
    if (dtype == kFloat32 || dtype == kFloat64) {
      x = x - 2.0;
      x.select(0, 1).narrow(0, 3, 4).fill_(nan);
      x.select(0, 2).narrow(0, 0, 2).fill_(-0.0);
      x.select(0, 3).fill_(nan);
      // x86 makes negative NaNs (0.0 / 0.0): they must sort as NaN too.
      x.select(0, 4).narrow(0, 5, 2).copy_(zeros({2}, dtype) / zeros({2}, dtype));
    }
    for (std::int64_t d : {0, 1}) {
      for (bool descending : {false, true}) {
        CAPTURE(d);
        CAPTURE(descending);
        const auto [v, i] = native::sort(x, d, descending);
        const auto [gv, gi] = native::sort(x.to(kCuda), d, descending);
        check_same(gv, v, 0, 0);
        check_same(gi, i, 0, 0);
        for (bool sorted : {true, false}) {
          const std::int64_t k = std::min<std::int64_t>(5, x.size(d));
          const auto [tv, ti] = native::topk(x, k, d, descending, sorted);
          const auto [gtv, gti] = native::topk(x.to(kCuda), k, d, descending, sorted);
          check_same(gtv, tv, 0, 0);
          check_same(gti, ti, 0, 0);
        }
      }
    }
  }
  const Tensor big = randn({3, 70000});
  check_same(native::sort(big.to(kCuda), 1, true).second, native::sort(big, 1, true).second, 0, 0);
  const Tensor t = randn({4, 5}).t();  // a non-contiguous input
  check_same(native::sort(t.to(kCuda), 0).first, native::sort(t, 0).first, 0, 0);
}

TEST_CASE("cumsum: rows and columns, reverse, int64 and bool promoted, long rows") {
  for (DType dtype : {kFloat32, kFloat64, kInt64}) {
    const double tol = dtype == kFloat32 ? 1e-5 : dtype == kFloat64 ? 1e-12 : 0;
    const Tensor x = dtype == kInt64 ? randint(-9, 9, {4, 5, 6}) : randn({4, 5, 6}, dtype);
    for (std::int64_t d = 0; d < 3; ++d)
      for (bool reverse : {false, true})
        check_same(native::cumsum(x.to(kCuda), d, reverse), native::cumsum(x, d, reverse), tol, tol);
    check_same(native::cumsum(x.permute({2, 0, 1}).to(kCuda), 1), native::cumsum(x.permute({2, 0, 1}), 1), tol, tol);
  }
  const Tensor long_row = randn({2, 100003}, kFloat64);
  check_same(native::cumsum(long_row.to(kCuda), 1), native::cumsum(long_row, 1), 1e-10, 1e-10);
  const Tensor flags = randn({3, 2001}) > 0.0;
  check_same(native::cumsum(flags.to(kCuda), 1, true), native::cumsum(flags, 1, true), 0, 0);
}

TEST_CASE("searchsorted: rows of their own and one shared row, left and right, ties, every dtype") {
  for (DType dtype : {kFloat32, kFloat64, kInt64}) {
    CAPTURE(dtype_name(dtype));
    const Tensor sorted = std::get<0>((dtype == kInt64 ? randint(-5, 5, {6, 9}) : randn({6, 9}, dtype)).sort(1)).contiguous();
    const Tensor points = dtype == kInt64 ? randint(-6, 6, {6, 13}) : randn({6, 13}, dtype);
    for (bool right : {false, true}) {
      check_same(native::searchsorted(sorted.to(kCuda), points.to(kCuda), right), native::searchsorted(sorted, points, right), 0, 0);
      const Tensor row = sorted.select(0, 0);  // one sequence for values of any shape
      check_same(native::searchsorted(row.to(kCuda), points.to(kCuda), right), native::searchsorted(row, points, right), 0, 0);
    }
  }
}

TEST_CASE("running scans: cumprod, cummax, cummin, logcumsumexp along every dim, ties and NaN") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (DType dtype : {kFloat32, kFloat64, kInt64}) {
    CAPTURE(dtype_name(dtype));
    Tensor x = dtype == kInt64 ? randint(-3, 4, {4, 5, 6}) : (rand({4, 5, 6}, dtype) * 0.4 + 0.8);
    if (dtype != kInt64) x.select(0, 1).select(0, 2).fill_(nan);
    for (std::int64_t d = 0; d < 3; ++d) {
      for (native::ScanOp op : {native::ScanOp::Prod, native::ScanOp::Max, native::ScanOp::Min, native::ScanOp::LogSumExp}) {
        if (op == native::ScanOp::LogSumExp && dtype == kInt64) continue;
        const double tol = op == native::ScanOp::LogSumExp ? (dtype == kFloat32 ? 1e-6 : 1e-13) : 0;
        const auto cpu = native::scan(x, d, op);
        const auto gpu = native::scan(x.to(kCuda), d, op);
        check_same(gpu.first, cpu.first, tol, tol);
        if (cpu.second.defined()) check_same(gpu.second, cpu.second, 0, 0);
      }
    }
  }
}

TEST_CASE("unique (values, inverse, counts) and bincount (weights, minlength)") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (DType dtype : {kFloat32, kFloat64, kInt64, kUInt8, kBool}) {
    CAPTURE(dtype_name(dtype));
    Tensor x = dtype == kBool ? randn({5, 7}) > 0.0 : randint(0, 6, {5, 7}).to(dtype);
    if (dtype == kFloat32 || dtype == kFloat64) x.select(0, 2).narrow(0, 1, 3).fill_(nan);  // each NaN its own
    for (bool inverse : {false, true}) {
      for (bool counts : {false, true}) {
        const auto cpu = native::unique(x, inverse, counts);
        const auto gpu = native::unique(x.to(kCuda), inverse, counts);
        check_same(gpu.values, cpu.values, 0, 0);
        if (inverse) check_same(gpu.inverse, cpu.inverse, 0, 0);
        if (counts) check_same(gpu.counts, cpu.counts, 0, 0);
      }
    }
  }
  const auto empty_cpu = native::unique(zeros({0}), true, true);
  const auto empty_gpu = native::unique(zeros({0}, {kFloat32, kCuda}), true, true);
  check_same(empty_gpu.values, empty_cpu.values, 0, 0);
  check_same(empty_gpu.counts, empty_cpu.counts, 0, 0);

  const Tensor v = randint(0, 20, {500});
  check_same(native::bincount(v.to(kCuda)), native::bincount(v), 0, 0);
  check_same(native::bincount(v.to(kCuda), {}, 40), native::bincount(v, {}, 40), 0, 0);
  const Tensor w = rand({500}, kFloat64);
  check_same(native::bincount(v.to(kCuda), w.to(kCuda)), native::bincount(v, w), 1e-12, 1e-12);
  check_same(native::bincount(v.to(kCuda), w.to(kFloat32).to(kCuda)), native::bincount(v, w.to(kFloat32)), 1e-5, 1e-5);
}

TEST_CASE("empty inputs: every op returns the CPU's empty (or zero) result without launching") {
  const Tensor e = zeros({0, 5}), ge = e.to(kCuda);
  check_same(native::sort(ge, 1).first, native::sort(e, 1).first, 0, 0);
  check_same(native::topk(ge, 2, 1).second, native::topk(e, 2, 1).second, 0, 0);
  check_same(native::topk(randn({3, 4}).to(kCuda), 0, 1).first, native::topk(randn({3, 4}), 0, 1).first, 0, 0);
  check_same(native::cumsum(ge, 0), native::cumsum(e, 0), 0, 0);
  check_same(native::softmax(ge, 1), native::softmax(e, 1), 0, 0);
  check_same(native::max_with_indices(ge, 1, false).second, native::max_with_indices(e, 1, false).second, 0, 0);
  const Tensor no_index = zeros({0, 5}, kInt64);
  check_same(native::gather(randn({3, 5}).to(kCuda), 0, no_index.to(kCuda)), native::gather(randn({3, 5}), 0, no_index), 0,
             0);
  check_same(native::bincount(zeros({0}, kInt64).to(kCuda), {}, 3), native::bincount(zeros({0}, kInt64), {}, 3), 0, 0);
  check_same(native::masked_select(ge, zeros({0, 5}, {kBool, kCuda})), native::masked_select(e, zeros({0, 5}, kBool)), 0,
             0);
  check_same(native::matmul(ge, zeros({5, 3}, {kFloat32, kCuda})), native::matmul(e, zeros({5, 3})), 0, 0);
  check_same(native::cdist_squared(ge, zeros({4, 5}, {kFloat32, kCuda})), native::cdist_squared(e, zeros({4, 5})), 0, 0);
}
