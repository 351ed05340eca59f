// GPU test (skipped with exit 77 without a device): k-means' assignment on CUDA against the
// CPU's native::nearest_rows: the fused TF32 kernel (cuda/backend/nearest_rows_kernels.cu, NOTE
// [ Fused TF32 assignment ]), called through its launcher because nn_glue.cpp does not route to it
// yet (it was slower than cuBLAS + arg-min on the H200), and native::nearest_rows's own path.
//
// Two kinds of data make the comparison exact or robust despite TF32's 10-bit mantissa:
// (1) small integers, |v| <= 8: exact in TF32, every product exact, every float32 sum exact (far
//     below 2^24), so the GPU must return the CPU's labels and distances to the bit, ties
//     included. With K = 1024 centres of D = 1 there are only 17 distinct centres: nearly every
//     label is a tie that the first index must win, across tiles and across the two warps that
//     share a row. These runs cover the odd sizes (every N, K, D of the padding and bounds logic).
// (2) Gaussian clusters, well separated: the labels cannot flip under TF32's rounding, and the
//     distances agree to the bound derived at kTf32Tolerance.
// Plus duplicated centres, NaN rows and centres, and native::nearest_rows's CUDA path (cuBLAS +
// arg-min) in float64 and in float32 with and without TF32.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <tuple>
#include <vector>

#include "cake/cuda/backend/launchers.h"
#include "cake/cuda/cuda.h"
#include "cake/cuda/device_api.h"
#include "cake/tensor/creation.h"
#include "cake/tensor/native/linalg.h"
#include "cuda/cuda_testing.h"

using namespace cake;

namespace {

const Device kGpu = Device::cuda(0);

// Every CUDA allocation starts as 0xFF bytes (NaN, label -1): a row the kernel forgets to write
// cannot match the CPU by luck.
[[maybe_unused]] const bool poisoned = [] {
  cake::cuda::set_poison_allocations(true);
  return true;
}();

// TF32 on (or off) for one scope; the switch is global, so it is put back.
class Tf32Scope {
 public:
  explicit Tf32Scope(bool allow) : before_(cuda::allow_tf32()) { cuda::set_allow_tf32(allow); }
  ~Tf32Scope() { cuda::set_allow_tf32(before_); }
  Tf32Scope(const Tf32Scope&) = delete;
  Tf32Scope& operator=(const Tf32Scope&) = delete;

 private:
  bool before_;
};

// Row-major [rows, cols] data kept on the host, to build tensors and to compute bounds from.
struct Matrix {
  std::int64_t rows = 0, cols = 0;
  std::vector<double> v;
  double& at(std::int64_t i, std::int64_t j) { return v[static_cast<std::size_t>(i * cols + j)]; }
  double at(std::int64_t i, std::int64_t j) const { return v[static_cast<std::size_t>(i * cols + j)]; }
  double sq_norm(std::int64_t i) const {
    double s = 0;
    for (std::int64_t j = 0; j < cols; ++j) s += at(i, j) * at(i, j);
    return s;
  }
  Tensor tensor(DType dtype) const { return cake::tensor(v, {rows, cols}).to(dtype); }
};

Matrix integers(std::int64_t rows, std::int64_t cols, std::mt19937& gen) {
  std::uniform_int_distribution<int> draw(-8, 8);
  Matrix m{rows, cols, std::vector<double>(static_cast<std::size_t>(rows * cols))};
  for (double& x : m.v) x = draw(gen);
  return m;
}

// k centres of scale 10 and n points, each a centre plus unit noise.
std::pair<Matrix, Matrix> clusters(std::int64_t n, std::int64_t k, std::int64_t d, std::mt19937& gen) {
  std::normal_distribution<double> normal(0.0, 1.0);
  std::uniform_int_distribution<std::int64_t> pick(0, k - 1);
  Matrix c{k, d, std::vector<double>(static_cast<std::size_t>(k * d))};
  for (double& v : c.v) v = 10.0 * normal(gen);
  Matrix x{n, d, std::vector<double>(static_cast<std::size_t>(n * d))};
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t j = pick(gen);
    for (std::int64_t e = 0; e < d; ++e) x.at(i, e) = c.at(j, e) + normal(gen);
  }
  return {x, c};
}

struct Assignment {
  std::vector<double> sq;
  std::vector<std::int64_t> labels;
};

Assignment to_host(const std::pair<Tensor, Tensor>& result) {
  const Tensor sq = result.first.cpu().to(kFloat64).contiguous(), labels = result.second.cpu().contiguous();
  const auto n = static_cast<std::size_t>(sq.numel());
  return {std::vector<double>(sq.data_ptr<double>(), sq.data_ptr<double>() + n),
          std::vector<std::int64_t>(labels.data_ptr<std::int64_t>(), labels.data_ptr<std::int64_t>() + n)};
}

// The reference: the CPU kernel in float64 (exact on the integer data).
Assignment on_cpu(const Matrix& x, const Matrix& c) {
  return to_host(native::nearest_rows(x.tensor(kFloat64), c.tensor(kFloat64)));
}
Assignment on_gpu(const Matrix& x, const Matrix& c, DType dtype) {
  const auto result = native::nearest_rows(x.tensor(dtype).to(kGpu), c.tensor(dtype).to(kGpu));
  REQUIRE(result.first.device() == kGpu);
  REQUIRE(result.first.dtype() == dtype);
  REQUIRE(result.second.dtype() == kInt64);
  return to_host(result);
}

// The fused kernel itself, on float32 copies of x and c. The launcher exists only in a build with
// the CUDA backend (the debug preset has none; there the program exits 77 before any case runs).
Assignment on_fused(const Matrix& x, const Matrix& c) {
#ifndef CAKE_HAVE_CUDA
  (void)x;
  (void)c;
  FAIL("built without the CUDA backend");
  return {};
#else
  const std::int64_t floats = cuda::kernels::nearest_rows_tf32_workspace(c.rows, c.cols);
  REQUIRE(floats > 0);  // every shape here fits the H200's shared memory (D <= 184)
  const Tensor xg = x.tensor(kFloat32).to(kGpu), cg = c.tensor(kFloat32).to(kGpu);
  const Tensor workspace = empty({floats}, {kFloat32, kGpu});
  const Tensor sq = empty({x.rows}, {kFloat32, kGpu}), labels = empty({x.rows}, {kInt64, kGpu});
  cuda::kernels::launch_nearest_rows_tf32(xg.data_ptr<float>(), cg.data_ptr<float>(), workspace.data_ptr<float>(),
                                          sq.data_ptr<float>(), labels.data_ptr<std::int64_t>(), x.rows, c.rows,
                                          x.cols, cuda::current_stream());
  return to_host({sq, labels});
#endif
}

// TF32 keeps 10 explicit mantissa bits and rounds to nearest: each operand is off by at most
// 2^-11 relative, a product x_d c_d by at most ~2^-10 relative. So the error of 2 x . c is at
// most 2^-10 * 2 sum |x_d c_d| <= 2^-10 (|x|^2 + |c|^2) (2|ab| <= a^2 + b^2), plus float32
// accumulation (D 2^-24 relative, negligible). The distance |x|^2 + |c|^2 - 2 x . c inherits that
// absolute error; twice the bound leaves room for the float32 norms and the clamp.
constexpr double kTf32Tolerance = 2.0 / 1024.0;

// Labels equal; |sq - expected| <= rtol (|x_i|^2 + |c_label|^2): the scale the expansion's
// rounding is proportional to (a relative error of the small distance itself would not do, as
// the expansion cancels).
void check_assignment(const Matrix& x, const Matrix& c, const Assignment& got, const Assignment& want, double rtol) {
  REQUIRE(got.labels.size() == want.labels.size());
  int reported = 0;
  for (std::size_t i = 0; i < want.labels.size(); ++i) {
    const auto row = static_cast<std::int64_t>(i);
    const bool label_ok = got.labels[i] == want.labels[i];
    const double scale = x.sq_norm(row) + c.sq_norm(want.labels[i]);
    const bool sq_ok = std::abs(got.sq[i] - want.sq[i]) <= rtol * scale;
    if ((!label_ok || !sq_ok) && reported++ < 5) {
      INFO("row ", i, ": label ", got.labels[i], " (want ", want.labels[i], "), sq ", got.sq[i], " (want ",
           want.sq[i], ", allowed error ", rtol * scale, ")");
      CHECK(label_ok);
      CHECK(sq_ok);
    }
  }
  CHECK(reported == 0);
}

}  // namespace

TEST_CASE("fused TF32 assignment: integer data, exact, every odd size") {
  std::mt19937 gen(7);
  for (const std::int64_t n : {1, 33, 1007})
    for (const std::int64_t k : {1, 5, 1024, 1031})
      for (const std::int64_t d : {1, 3, 128, 130}) {
        CAPTURE(n);
        CAPTURE(k);
        CAPTURE(d);
        const Matrix x = integers(n, d, gen), c = integers(k, d, gen);
        check_assignment(x, c, on_fused(x, c), on_cpu(x, c), 0.0);
      }
}

TEST_CASE("fused TF32 assignment: Gaussian clusters, labels equal, distances within the TF32 bound") {
  std::mt19937 gen(11);
  // Many blocks of 128 rows (70000 is not a multiple), K not a multiple of the tile of 64.
  for (const auto& [n, k, d] : {std::tuple<std::int64_t, std::int64_t, std::int64_t>{70000, 1031, 128},
                                {1007, 1024, 130},
                                {33, 5, 16}}) {
    CAPTURE(n);
    CAPTURE(k);
    CAPTURE(d);
    const auto [x, c] = clusters(n, k, d, gen);
    const Assignment got = on_fused(x, c);
    check_assignment(x, c, got, on_cpu(x, c), kTf32Tolerance);
    // TF32 did round: at 70000 rows some distance differs from the float64 one by more than
    // float32 arithmetic would (the operands were rounded to TF32, as the NOTE says).
    if (n == 70000) {
      const Assignment exact = on_cpu(x, c);
      double worst = 0;
      for (std::size_t i = 0; i < exact.sq.size(); ++i)
        worst = std::max(worst, std::abs(got.sq[i] - exact.sq[i]) /
                                    (x.sq_norm(static_cast<std::int64_t>(i)) + c.sq_norm(exact.labels[i])));
      CHECK(worst > 1e-5);
    }
  }
}

TEST_CASE("fused TF32 assignment: duplicated centres, the first index wins") {
  std::mt19937 gen(3);
  auto [x, c] = clusters(300, 200, 128, gen);
  // Copies within one warp's columns (5 -> 9), across the two warps of a tile (10 -> 40), across
  // tiles (3 -> 70, 3 -> 199): every place two candidates can meet. The copy comes after the
  // original, except 150 -> 20, where the original is the later index.
  const std::vector<std::pair<std::int64_t, std::int64_t>> copies = {{5, 9}, {10, 40}, {3, 70}, {3, 199}, {150, 20}};
  for (const auto& [from, to] : copies)
    for (std::int64_t e = 0; e < c.cols; ++e) c.at(to, e) = c.at(from, e);
  // Points sitting near the duplicated centres.
  for (std::int64_t i = 0; i < 50; ++i) {
    const std::int64_t j = copies[static_cast<std::size_t>(i) % copies.size()].first;
    for (std::int64_t e = 0; e < c.cols; ++e) x.at(i, e) = c.at(j, e) + 0.5 * (e % 3 - 1.0);
  }
  const Assignment got = on_fused(x, c), want = on_cpu(x, c);
  check_assignment(x, c, got, want, kTf32Tolerance);
  for (std::int64_t i = 0; i < 50; ++i) {
    const auto [from, to] = copies[static_cast<std::size_t>(i) % copies.size()];
    CAPTURE(i);
    CHECK(got.labels[static_cast<std::size_t>(i)] == std::min(from, to));
  }
}

// The contract for NaN is the CUDA kernels': a NaN distance never wins, so a row with a NaN gets
// label 0 and distance NaN, and a centre with a NaN is never chosen. (The CPU kernel differs: its
// distances are clamped with max(d, 0), which turns NaN into 0, so there a NaN centre wins every
// row at distance 0 and a NaN row gets label 0 at distance 0.) So the fused kernel is compared
// with native::nearest_rows on CUDA here, float32 without TF32.
TEST_CASE("fused TF32 assignment: NaN rows get label 0 and distance NaN; a NaN centre never wins") {
  std::mt19937 gen(5);
  auto [x, c] = clusters(200, 70, 128, gen);
  x.at(4, 17) = std::nan("");                                             // one NaN in a row
  for (std::int64_t e = 0; e < x.cols; ++e) x.at(130, e) = std::nan("");  // a whole NaN row, in the second block
  c.at(2, 0) = std::nan("");                                              // centre 2 has a NaN
  for (std::int64_t e = 0; e < x.cols; ++e) x.at(7, e) = c.at(2, e);      // ... and row 7 sits (almost) on it
  x.at(7, 0) = 0.0;
  const Assignment got = on_fused(x, c);
  const Tf32Scope exact(false);
  const Assignment unfused = on_gpu(x, c, kFloat32);
  for (const std::size_t i : {std::size_t{4}, std::size_t{130}}) {
    CAPTURE(i);
    CHECK(unfused.labels[i] == 0);
    CHECK(std::isnan(unfused.sq[i]));
    CHECK(got.labels[i] == 0);
    CHECK(std::isnan(got.sq[i]));
  }
  // Row 7's nearest other centre may tie with the next to TF32 rounding: only "not 2" is certain.
  CHECK(unfused.labels[7] != 2);
  CHECK(got.labels[7] != 2);
  CHECK(!std::isnan(got.sq[7]));
  for (std::size_t i = 0; i < got.labels.size(); ++i) {
    if (i == 4 || i == 7 || i == 130) continue;
    CAPTURE(i);
    CHECK(got.labels[i] == unfused.labels[i]);
    CHECK(!std::isnan(got.sq[i]));
  }
}

TEST_CASE("native::nearest_rows on CUDA: float64 whatever the switch, float32 with and without TF32") {
  std::mt19937 gen(13);
  const auto [x, c] = clusters(2000, 300, 128, gen);
  const Assignment want = on_cpu(x, c);
  {
    // float64 never takes the TF32 kernel: cuBLAS's float64 GEMM, agreeing to float64 rounding.
    const Tf32Scope tf32(true);
    check_assignment(x, c, on_gpu(x, c, kFloat64), want, 1e-13);
  }
  {
    // float32 with TF32 on: cuBLAS's TF32 GEMM, within the same bound as the fused kernel.
    const Tf32Scope tf32(true);
    check_assignment(x, c, on_gpu(x, c, kFloat32), want, kTf32Tolerance);
  }
  {
    // float32 with TF32 off: float32 FMA arithmetic, far inside the TF32 bound (D 2^-24 scale).
    const Tf32Scope tf32(false);
    check_assignment(x, c, on_gpu(x, c, kFloat32), want, 1e-5);
  }
}
