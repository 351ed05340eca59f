// GPU test (skipped with exit 77 without a device): grid_sample's CUDA kernels
// (cuda/backend/grid_sample_kernels.cu) against its CPU kernel (tensor/cpu/grid_sample_kernels.cpp):
// the output and both gradients, float32 and float64, both align_corners conventions, odd sizes,
// grids reaching outside [-1, 1] (zero padding), non-contiguous operands, one gradient wanted at
// a time, and a case of the stacked capsule autoencoder's size (algorithms/capsules/scae.cpp:
// B M = 128 x 40 templates of 2 x 11 x 11 read on 28 x 28 grids). Public APIs only: the debug
// preset builds without the CUDA backend. Run by tools/cuda-check.sh.
//
// Both devices evaluate tensor/bilinear.h, so the results agree to rounding. The grid's gradient
// jumps where a point crosses a pixel line (the bilinear kink), and a rounding difference in the
// pixel position (nvcc fuses x * scale + offset) could put a point on the other side of a line
// on one device: the grids here keep every point at least 1e-3 pixels from the lines.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "cake/autograd/engine.h"
#include "cake/autograd/ops.h"
#include "cake/autograd/spatial.h"
#include "cake/cuda/cuda.h"
#include "cake/tensor/creation.h"
#include "cake/tensor/random.h"
#include "cuda/cuda_testing.h"

using namespace cake;

namespace {

const Device kGpu = parse_device("cuda");

// max |a - b| <= tol max(1, max |b|): the input gradient on CUDA adds by atomics, in an order
// that differs from the CPU's, so its error scales with the magnitudes summed.
void check_near(const Tensor& gpu, const Tensor& cpu, double tol) {
  REQUIRE(gpu.is_cuda());
  REQUIRE(gpu.sizes() == cpu.sizes());
  const Tensor a = gpu.cpu().to(kFloat64), b = cpu.to(kFloat64);
  const double diff = (a - b).abs().max().item<double>();
  const double scale = std::max(1.0, b.abs().max().item<double>());
  CHECK_MESSAGE(diff <= tol * scale, "max |cuda - cpu| = " << diff << ", scale " << scale);
}

// A float64 grid [n, h, w, 2] uniform in [-1.3, 1.3], each coordinate moved 2e-3 pixels off any
// pixel line it lies within 1e-3 pixels of (see the top of the file).
Tensor grid_off_lines(std::int64_t n, std::int64_t h, std::int64_t w, std::int64_t h_in, std::int64_t w_in,
                      bool align_corners) {
  Tensor grid = rand({n, h, w, 2}, kFloat64) * 2.6 - 1.3;
  Tensor parts[2];
  for (int axis = 0; axis < 2; ++axis) {
    const std::int64_t size = axis == 0 ? w_in : h_in;
    // bilinear::Unnormalise: pixel = x scale + (size - 1) / 2 under both conventions.
    const double scale = align_corners ? (size - 1) / 2.0 : size / 2.0;
    const double offset = (size - 1) / 2.0;
    const Tensor x = grid.select(3, axis);
    const Tensor pixel = x * scale + offset;
    const Tensor near_line = (pixel - round(pixel)).abs() < 1e-3;
    parts[axis] = scale > 0 ? where(near_line, x + 2e-3 / scale, x) : x;
  }
  return stack({parts[0], parts[1]}, 3);
}

struct Result {
  Tensor out, grad_input, grad_grid;
};

// grid_sample on `device` and the gradients of sum(out * weights) for the operands asked for.
Result run(const Tensor& input, const Tensor& grid, const Tensor& weights, bool align_corners, Device device,
           bool want_input, bool want_grid) {
  Tensor x = input.to(device).detach().requires_grad_(want_input);
  Tensor g = grid.to(device).detach().requires_grad_(want_grid);
  Result r;
  r.out = grid_sample(x, g, align_corners);
  if (!want_input && !want_grid) return r;
  std::vector<Tensor> leaves;
  if (want_input) leaves.push_back(x);
  if (want_grid) leaves.push_back(g);
  const auto grads = autograd::grad({r.out}, leaves, {weights.to(device)});
  if (want_input) r.grad_input = grads[0];
  if (want_grid) r.grad_grid = grads[want_input ? 1 : 0];
  return r;
}

// The CUDA results against the CPU's for one case; input and grid are float64 on the CPU.
void compare(const Tensor& input64, const Tensor& grid64, bool align_corners, DType dtype, bool want_input = true,
             bool want_grid = true) {
  const Tensor input = input64.to(dtype), grid = grid64.to(dtype);
  const Tensor weights = randn({input.size(0), input.size(1), grid.size(1), grid.size(2)}, dtype);
  const Result cpu = run(input, grid, weights, align_corners, Device::cpu(), want_input, want_grid);
  const Result gpu = run(input, grid, weights, align_corners, kGpu, want_input, want_grid);
  const double tol = dtype == kFloat64 ? 1e-12 : 1e-5;
  check_near(gpu.out, cpu.out, tol);
  if (want_input) check_near(gpu.grad_input, cpu.grad_input, tol * 10);
  if (want_grid) check_near(gpu.grad_grid, cpu.grad_grid, tol * 10);
}

}  // namespace

TEST_CASE("grid_sample on CUDA equals the CPU: odd sizes, points outside the image, both conventions") {
  manual_seed(21);
  for (bool align : {false, true}) {
    for (DType dtype : {kFloat32, kFloat64}) {
      CAPTURE(align);
      CAPTURE(dtype_name(dtype));
      // Output larger than the input (upsampling: several points share corners, so the atomics
      // collide) and smaller (downsampling); odd everything.
      compare(randn({3, 5, 7, 9}, kFloat64), grid_off_lines(3, 11, 13, 7, 9, align), align, dtype);
      compare(randn({2, 3, 17, 15}, kFloat64), grid_off_lines(2, 5, 3, 17, 15, align), align, dtype);
      // One-pixel images and a single output point.
      compare(randn({1, 2, 1, 1}, kFloat64), grid_off_lines(1, 3, 3, 1, 1, align), align, dtype);
      compare(randn({2, 1, 4, 5}, kFloat64), grid_off_lines(2, 1, 1, 4, 5, align), align, dtype);
    }
  }
}

TEST_CASE("grid_sample on CUDA: one gradient at a time, and non-contiguous operands") {
  manual_seed(22);
  const Tensor input = randn({2, 3, 6, 7}, kFloat64);
  const Tensor grid = grid_off_lines(2, 5, 4, 6, 7, false);
  for (DType dtype : {kFloat32, kFloat64}) {
    CAPTURE(dtype_name(dtype));
    compare(input, grid, false, dtype, /*want_input=*/true, /*want_grid=*/false);
    compare(input, grid, false, dtype, /*want_input=*/false, /*want_grid=*/true);
    compare(input, grid, false, dtype, /*want_input=*/false, /*want_grid=*/false);
  }
  // An input stored [N, H, W, C] and seen as [N, C, H, W]; a grid transposed in H and W.
  const Tensor channels_last = randn({2, 6, 7, 3}, kFloat64).permute({0, 3, 1, 2});
  const Tensor transposed = grid_off_lines(2, 4, 5, 6, 7, true).transpose(1, 2);
  REQUIRE_FALSE(channels_last.is_contiguous());
  REQUIRE_FALSE(transposed.is_contiguous());
  for (DType dtype : {kFloat32, kFloat64}) compare(channels_last, transposed, true, dtype);
}

TEST_CASE("grid_sample on CUDA at the stacked capsule autoencoder's size") {
  // TemplateDecoder::render: B M sheets of (C + 1) x T x T read at B M grids of S x S points,
  // with B = 128 images, M = 40 part capsules, C = 1 channel, T = 11, S = 28.
  manual_seed(23);
  const std::int64_t planes = 128 * 40;
  const Tensor sheets = rand({planes, 2, 11, 11}, kFloat64);
  const Tensor grid = grid_off_lines(planes, 28, 28, 11, 11, false);
  for (DType dtype : {kFloat32, kFloat64}) {
    CAPTURE(dtype_name(dtype));
    compare(sheets, grid, false, dtype);
  }
}

TEST_CASE("grid_sample on CUDA keeps the CPU's errors and refuses double backward") {
  const Tensor input = randn({1, 2, 4, 4}).to(kGpu);
  CHECK_THROWS_WITH_AS(grid_sample(input, zeros({1, 3, 3, 3}).to(kGpu)), doctest::Contains("[N, H_out, W_out, 2]"),
                       Error);
  CHECK_THROWS_WITH_AS(grid_sample(input, zeros({1, 3, 3, 2})), doctest::Contains("same device"), Error);
  Tensor x = input.detach().requires_grad_(true);
  const Tensor y = grid_sample(x, (rand({1, 3, 3, 2}) * 2 - 1).to(kGpu)).sum();
  CHECK_THROWS_WITH_AS(autograd::grad({y}, {x}, {}, true, /*create_graph=*/true),
                       doctest::Contains("double backward is not supported"), Error);
}

TEST_CASE("grid_sample on CUDA: a NaN or infinite grid point samples NaN and gives the input no gradient") {
  // tensor/bilinear.h's Corners puts such a point's corners outside the image on every device
  // (CUDA converts floor(NaN) to 0, x86 to INT64_MIN).
  for (double bad : {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity()}) {
    CAPTURE(bad);
    Tensor image = (rand({1, 1, 3, 3}) + 1).to(kGpu).requires_grad_(true);
    const Tensor grid = tensor({bad, 0.0}, {1, 1, 1, 2}).to(kGpu);
    const Tensor out = grid_sample(image, grid);
    CHECK(std::isnan(out.cpu().item<float>()));
    out.sum().backward();
    CHECK(image.grad().abs().sum().item<float>() == 0.0f);
  }
}
