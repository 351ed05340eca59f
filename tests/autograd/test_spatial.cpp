// Tests for affine_grid and grid_sample (autograd/spatial.h): against a naive bilinear
// interpolation written here, and against transforms whose answer is known without
// interpolation (identity, a shift by whole pixels, a rotation by 90 degrees). The gradients are
// in tests/autograd/gradcheck_cases_spatial.cpp.
#include "cake/autograd/spatial.h"
#include "helpers.h"

#include <cmath>

using namespace cake;
using cake::testing::check_close;
using cake::testing::values;

namespace {

// Naive bilinear sampling with zero padding, PyTorch's grid_sample: one point at a time.
Tensor grid_sample_reference(const Tensor& input, const Tensor& grid, bool align_corners) {
  const auto in = values(input), g = values(grid);
  const std::int64_t N = input.size(0), C = input.size(1), H = input.size(2), W = input.size(3);
  const std::int64_t Ho = grid.size(1), Wo = grid.size(2);
  std::vector<double> out(static_cast<std::size_t>(N * C * Ho * Wo), 0.0);
  auto pixel = [&](std::int64_t n, std::int64_t c, std::int64_t y, std::int64_t x) {
    if (y < 0 || y >= H || x < 0 || x >= W) return 0.0;
    return in[static_cast<std::size_t>(((n * C + c) * H + y) * W + x)];
  };
  for (std::int64_t n = 0; n < N; ++n)
    for (std::int64_t i = 0; i < Ho; ++i)
      for (std::int64_t j = 0; j < Wo; ++j) {
        const double x = g[static_cast<std::size_t>(((n * Ho + i) * Wo + j) * 2)];
        const double y = g[static_cast<std::size_t>(((n * Ho + i) * Wo + j) * 2 + 1)];
        const double ix = align_corners ? (x + 1) / 2 * (W - 1) : ((x + 1) * W - 1) / 2;
        const double iy = align_corners ? (y + 1) / 2 * (H - 1) : ((y + 1) * H - 1) / 2;
        const auto x0 = static_cast<std::int64_t>(std::floor(ix)), y0 = static_cast<std::int64_t>(std::floor(iy));
        const double tx = ix - static_cast<double>(x0), ty = iy - static_cast<double>(y0);
        for (std::int64_t c = 0; c < C; ++c)
          out[static_cast<std::size_t>(((n * C + c) * Ho + i) * Wo + j)] =
              (1 - ty) * (1 - tx) * pixel(n, c, y0, x0) + (1 - ty) * tx * pixel(n, c, y0, x0 + 1) +
              ty * (1 - tx) * pixel(n, c, y0 + 1, x0) + ty * tx * pixel(n, c, y0 + 1, x0 + 1);
      }
  return tensor(out, {N, C, Ho, Wo}).to(input.dtype());
}

Tensor theta(std::initializer_list<double> six, std::int64_t n = 1) {
  return tensor(six, {1, 2, 3}, kFloat64).expand({n, 2, 3}).contiguous();
}

}  // namespace

TEST_CASE("affine_grid: the identity gives the pixel centres (align_corners false and true)") {
  const Tensor grid = affine_grid(theta({1, 0, 0, 0, 1, 0}), {1, 1, 2, 4});
  // x_j = (2 j + 1) / 4 - 1 = -0.75, -0.25, 0.25, 0.75; y_i = (2 i + 1) / 2 - 1 = -0.5, 0.5.
  check_close(grid.select(3, 0), tensor({-0.75, -0.25, 0.25, 0.75, -0.75, -0.25, 0.25, 0.75}, {1, 2, 4}, kFloat64));
  check_close(grid.select(3, 1), tensor({-0.5, -0.5, -0.5, -0.5, 0.5, 0.5, 0.5, 0.5}, {1, 2, 4}, kFloat64));
  const Tensor aligned = affine_grid(theta({1, 0, 0, 0, 1, 0}), {1, 1, 2, 3}, true);
  check_close(aligned.select(3, 0), tensor({-1.0, 0.0, 1.0, -1.0, 0.0, 1.0}, {1, 2, 3}, kFloat64));
  check_close(aligned.select(3, 1), tensor({-1.0, -1.0, -1.0, 1.0, 1.0, 1.0}, {1, 2, 3}, kFloat64));
}

TEST_CASE("affine_grid: each pose maps every pixel centre by theta (x, y, 1); the grid comes out contiguous") {
  const Tensor poses = cat({theta({0.5, -1.2, 0.3, 0.8, 0.1, -0.4}), theta({-2.0, 0.7, 1.5, 0.25, 3.0, 0.05})}, 0);
  const std::int64_t H = 3, W = 5;
  const Tensor grid = affine_grid(poses, {2, 1, H, W});
  // grid_sample reads it as it is: a transposed view would cost a copy per call.
  CHECK(grid.is_contiguous());
  REQUIRE(grid.sizes() == Shape({2, H, W, 2}));
  for (std::int64_t n = 0; n < 2; ++n)
    for (std::int64_t i = 0; i < H; ++i)
      for (std::int64_t j = 0; j < W; ++j) {
        const double x = (2.0 * static_cast<double>(j) + 1) / W - 1, y = (2.0 * static_cast<double>(i) + 1) / H - 1;
        for (std::int64_t c = 0; c < 2; ++c) {
          const double expected = poses[n][c][0].item<double>() * x + poses[n][c][1].item<double>() * y +
                                  poses[n][c][2].item<double>();
          CHECK(grid[n][i][j][c].item<double>() == doctest::Approx(expected).epsilon(1e-12));
        }
      }
}

TEST_CASE("affine_grid and grid_sample refuse wrong shapes with the shapes in the message") {
  CHECK_THROWS_WITH_AS(affine_grid(zeros({2, 3, 3}), {2, 1, 4, 4}), doctest::Contains("[N, 2, 3]"), Error);
  CHECK_THROWS_WITH_AS(grid_sample(zeros({1, 1, 4, 4}), zeros({1, 3, 3, 3})), doctest::Contains("[N, H_out, W_out, 2]"), Error);
  CHECK_THROWS_WITH_AS(grid_sample(zeros({1, 4, 4}), zeros({1, 3, 3, 2})), doctest::Contains("[N, C, H, W]"), Error);
}

TEST_CASE("grid_sample matches a naive bilinear interpolation, inside and outside the image") {
  manual_seed(3);
  for (bool align : {false, true}) {
    for (DType dtype : {kFloat32, kFloat64}) {
      const Tensor input = randn({2, 3, 5, 6}, dtype);
      const Tensor grid = (rand({2, 4, 7, 2}, dtype) * 2.6 - 1.3);
      check_close(grid_sample(input, grid, align), grid_sample_reference(input, grid, align), 1e-5, 1e-5);
    }
  }
}

TEST_CASE("grid_sample with known transforms: identity, a shift by whole pixels, a rotation by 90 degrees") {
  manual_seed(4);
  const std::int64_t S = 5;
  const Tensor image = randn({2, 2, S, S}, kFloat64);
  SUBCASE("identity reproduces the image, both conventions") {
    for (bool align : {false, true})
      check_close(grid_sample(image, affine_grid(theta({1, 0, 0, 0, 1, 0}, 2), image.sizes(), align), align), image);
  }
  SUBCASE("x + 2 * 2 / S reads two columns to the right; the columns beyond the edge are zero") {
    const Tensor out = grid_sample(image, affine_grid(theta({1, 0, 4.0 / S, 0, 1, 0}, 2), image.sizes()));
    check_close(out.narrow(3, 0, S - 2), image.narrow(3, 2, S - 2));
    check_close(out.narrow(3, S - 2, 2), zeros({2, 2, S, 2}, kFloat64));
  }
  SUBCASE("y + 1 pixel (2 / S) reads the row below; with align_corners 2 / (S - 1)") {
    const Tensor out = grid_sample(image, affine_grid(theta({1, 0, 0, 0, 1, 2.0 / (S - 1)}, 2), image.sizes(), true), true);
    check_close(out.narrow(2, 0, S - 1), image.narrow(2, 1, S - 1));
  }
  SUBCASE("(x, y) <- (-y, x) is a rotation by 90 degrees: out[i][j] = in[j][S - 1 - i]") {
    const Tensor out = grid_sample(image, affine_grid(theta({0, -1, 0, 1, 0, 0}, 2), image.sizes()));
    const auto in = values(image), got = values(out);
    for (std::int64_t p = 0; p < 4; ++p)  // the (n, c) planes
      for (std::int64_t i = 0; i < S; ++i)
        for (std::int64_t j = 0; j < S; ++j)
          CHECK(got[static_cast<std::size_t>((p * S + i) * S + j)] ==
                doctest::Approx(in[static_cast<std::size_t>((p * S + j) * S + (S - 1 - i))]).epsilon(1e-12));
  }
}

TEST_CASE("grid_sample's input gradient of the identity is the output gradient; its grid gradient is the image slope") {
  // A horizontal ramp v(y, x) = x: sampling at pixel position ix returns ix, so d out / d ix = 1
  // and d out / d x = W / 2 (align_corners false), away from the edges.
  const std::int64_t W = 6;
  const Tensor ramp = arange(0.0, static_cast<double>(W), 1.0, kFloat64).reshape({1, 1, 1, W}).expand({1, 1, 3, W}).contiguous();
  Tensor grid = affine_grid(theta({0.5, 0, 0.01, 0, 0.5, 0}), {1, 1, 3, W}).detach().requires_grad_(true);
  Tensor image = ramp.clone().requires_grad_(true);
  grid_sample(image, grid).sum().backward();
  const auto gx = values(grid.grad().select(3, 0));
  for (double v : gx) CHECK(v == doctest::Approx(W / 2.0));
  const auto gy = values(grid.grad().select(3, 1));
  for (double v : gy) CHECK(v == doctest::Approx(0.0));
  // Each output spreads weight 1 over its pixels: the input gradient sums to the number of outputs.
  CHECK(image.grad().sum().item<double>() == doctest::Approx(3.0 * W));
}

TEST_CASE("grid_sample at the image's edge: a point less than a pixel outside has a gradient, one a pixel or more outside has none, a NaN or infinite point samples NaN") {
  // One row v = (2, 3, 4); align_corners true, so ix = x + 1, iy = 0 and d ix / d x = 1.
  struct Sampled {
    double value, slope, input_gradient;  // out, d out / d x, sum |d out / d v|
  };
  auto sample = [](double x) {
    Tensor image = tensor({2.0, 3.0, 4.0}, {1, 1, 1, 3}, kFloat64).requires_grad_(true);
    Tensor grid = tensor({x, 0.0}, {1, 1, 1, 2}, kFloat64).requires_grad_(true);
    const Tensor out = grid_sample(image, grid, true);
    out.sum().backward();
    return Sampled{out.item<double>(), grid.grad().select(3, 0).item<double>(), image.grad().abs().sum().item<double>()};
  };
  SUBCASE("ix = -1 exactly: the value is 0 and the slope toward the first pixel is v(0) = 2") {
    const Sampled s = sample(-2.0);
    CHECK(s.value == 0.0);
    CHECK(s.slope == doctest::Approx(2.0));
  }
  SUBCASE("ix = -0.5: half of v(0), slope 2") {
    const Sampled s = sample(-1.5);
    CHECK(s.value == doctest::Approx(1.0));
    CHECK(s.slope == doctest::Approx(2.0));
    CHECK(s.input_gradient == doctest::Approx(0.5));
  }
  SUBCASE("ix < -1 and ix >= W: no corner in the image, value and slope 0, no input gradient") {
    for (double x : {-2.001, -7.0, 2.0, 40.0}) {
      const Sampled s = sample(x);
      CHECK(s.value == 0.0);
      CHECK(s.slope == 0.0);
      CHECK(s.input_gradient == 0.0);
    }
  }
  SUBCASE("ix = 2.25, a quarter of a pixel past the last one: 3/4 of v(2) = 4, slope -4") {
    const Sampled s = sample(1.25);
    CHECK(s.value == doctest::Approx(3.0));
    CHECK(s.slope == doctest::Approx(-4.0));
  }
  SUBCASE("a NaN or infinite coordinate is not skipped as outside: it samples NaN (as PyTorch), which a loss check then sees") {
    for (double x : {std::nan(""), HUGE_VAL, -HUGE_VAL}) {
      const Sampled s = sample(x);
      CHECK(std::isnan(s.value));
      CHECK(s.input_gradient == 0.0);  // no corner of it is in the image, on any device
    }
  }
}
