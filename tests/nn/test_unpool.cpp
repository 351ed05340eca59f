// Tests for max pooling's indices and unpooling (autograd/nn_ops.h: max_pool2d_with_indices,
// max_unpool2d; nn/functional.h: their F:: and 1-D forms; nn/pooling.h: forward_with_indices,
// MaxUnpool2d, MaxUnpool1d): the indices against a hand example and against PyTorch 1.13, the
// unpooled planes, output sizes and their bounds, unbatched samples, gradients, and errors. The
// finite-difference rows are in tests/autograd/gradcheck_cases_layers.cpp.
//
// The PyTorch indices came from (float64; sine_wave(shape) = sin(0.7 i + 0.3) over the elements in
// row-major order, nn/pytorch_reference.h):
//   y, i = F.max_pool2d(sine_wave((1, 2, 5, 7)), 3, stride=2, padding=1, ceil_mode=True, return_indices=True)
//   y1, i1 = F.max_pool1d(sine_wave((2, 3, 9)), 3, stride=2, padding=1, return_indices=True)
//   F.max_unpool2d(y, i, 3, stride=2, padding=1, output_size=(h, 7)) for h in 3, 6, 7, 8:
//   only h = 6 (and the default 5) are accepted: "dim 0 must be between 3 and 7", exclusive
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "helpers.h"
#include "nn/pytorch_reference.h"

using namespace cake;
namespace F = cake::nn::functional;
using cake::testing::check_close;
using cake::testing::contains;
using cake::testing::error_message;
using cake::testing::int_values;
using cake::testing::sine_wave;
using cake::testing::values;

namespace {

// x's planes flattened, read at the indices: what the indices say the maxima were.
Tensor read_at(const Tensor& x, const Tensor& indices) {
  const Shape planes{x.size(0), x.size(1), -1};
  return gather(x.reshape(planes), 2, indices.reshape(planes)).reshape(indices.sizes());
}

}  // namespace

TEST_CASE("max_pool2d_with_indices: each window's maximum and its flat position in the input plane") {
  const Tensor x = arange(0.0, 16.0).reshape({1, 1, 4, 4});
  const auto [y, indices] = F::max_pool2d_with_indices(x, F::MaxPool2dFuncOptions(2));
  CHECK(values(y) == std::vector<double>{5, 7, 13, 15});
  CHECK(indices.dtype() == kInt64);
  CHECK(int_values(indices) == std::vector<std::int64_t>{5, 7, 13, 15});
  const Tensor back = F::max_unpool2d(y, indices, F::MaxUnpool2dFuncOptions(2));
  CHECK(back.sizes() == Shape{1, 1, 4, 4});
  CHECK(values(back) == std::vector<double>{0, 0, 0, 0, 0, 5, 0, 7, 0, 0, 0, 0, 0, 13, 0, 15});
}

TEST_CASE("max_pool2d_with_indices and max_unpool2d: PyTorch's indices with padding, overlap and ceil_mode") {
  const Tensor x = sine_wave({1, 2, 5, 7});
  const auto [y, indices] = F::max_pool2d_with_indices(x, F::MaxPool2dFuncOptions(3).stride(2).padding(1).ceil_mode(true));
  REQUIRE(y.sizes() == Shape{1, 2, 3, 4});
  CHECK(int_values(indices) == std::vector<std::int64_t>{1,  2,  11, 12, 21, 10, 11, 20, 29, 29, 31, 27,
                                                         1,  3,  3,  12, 21, 22, 12, 12, 21, 30, 31, 27});
  check_close(y, max_pool2d(x, {.kernel = {3, 3}, .stride = Pair{2, 2}, .padding = {1, 1}, .ceil_mode = true}), 0, 0);
  check_close(read_at(x, indices), y, 0, 0);

  // Unpooling puts each maximum back where it was: overlapping windows that chose one input
  // name it twice, so 18 distinct positions of 24 windows are nonzero, as in PyTorch.
  const auto unpool = F::MaxUnpool2dFuncOptions(3).stride(2).padding(1);
  const Tensor back = F::max_unpool2d(y, indices, unpool);
  REQUIRE(back.sizes() == Shape{1, 2, 5, 7});
  CHECK((back != Scalar(0)).sum().item<std::int64_t>() == 18);
  check_close(read_at(back, indices), y, 0, 0);
  check_close(back, where(back != Scalar(0), x, zeros_like(x)), 0, 0);

  // Sizes: the default (in - 1) stride - 2 padding + kernel, or one of (default - stride, default + stride).
  CHECK(F::max_unpool2d(y, indices, F::MaxUnpool2dFuncOptions(unpool).output_size({6, 7})).sizes() == Shape{1, 2, 6, 7});
  CHECK(F::max_unpool2d(y, indices, F::MaxUnpool2dFuncOptions(unpool).output_size(x.sizes())).sizes() == x.sizes());
  for (const std::int64_t h : {3, 7, 8}) {
    INFO(h);
    CHECK(contains(error_message([&] { F::max_unpool2d(y, indices, F::MaxUnpool2dFuncOptions(unpool).output_size({h, 7})); }),
                   "output_size " + std::to_string(h) + " cannot come from this pooling"));
  }
  // 4 rows are accepted by the bounds but too few for index 29 (row 4): named, with the plane.
  CHECK(contains(error_message([&] { F::max_unpool2d(y, indices, F::MaxUnpool2dFuncOptions(unpool).output_size({4, 7})); }),
                 "max_unpool2d: index 31 is outside the output plane of 4 x 7 = 28 positions"));
}

TEST_CASE("max_pool1d_with_indices and max_unpool1d: PyTorch's indices, positions in each sequence") {
  const Tensor s = sine_wave({2, 3, 9});
  const auto [y, indices] = F::max_pool1d_with_indices(s, F::MaxPool1dFuncOptions(3).stride(2).padding(1));
  REQUIRE(y.sizes() == Shape{2, 3, 5});
  std::vector<std::int64_t> expected;
  for (int row = 0; row < 6; ++row) expected.insert(expected.end(), {1, 2, 3, 5, 8});
  CHECK(int_values(indices) == expected);
  check_close(y, F::max_pool1d(s, 3, 2, 1), 0, 0);
  const Tensor back = F::max_unpool1d(y, indices, F::MaxUnpool1dFuncOptions(3).stride(2).padding(1));
  REQUIRE(back.sizes() == Shape{2, 3, 9});
  check_close(read_at(back, indices), y, 0, 0);
  CHECK(contains(error_message([&] { F::max_unpool1d(y, indices, F::MaxUnpool1dFuncOptions(3).stride(2).padding(1).output_size({12})); }),
                 "max_unpool1d: output_size 12 cannot come from this pooling"));
}

TEST_CASE("MaxPool2d::forward_with_indices and MaxUnpool2d: a what-where round trip, unbatched too, with gradients") {
  manual_seed(6);
  nn::MaxPool2d pool(nn::MaxPool2dOptions(2));
  nn::MaxUnpool2d unpool(nn::MaxUnpool2dOptions(2));
  CHECK(unpool->extra_repr() == "kernel_size=2, stride=2, padding=0");
  CHECK(nn::MaxUnpool1d(nn::MaxUnpool1dOptions(3).stride(1))->extra_repr() == "kernel_size=3, stride=1, padding=0");
  const Tensor x = randn({2, 3, 7, 6}, kFloat64).requires_grad_(true);
  const auto [y, where_max] = pool->forward_with_indices(x);
  const Tensor back = unpool(y, where_max, x.sizes());  // 7 rows: the pooling dropped the last
  REQUIRE(back.sizes() == x.sizes());
  check_close(read_at(back, where_max), y, 0, 0);
  CHECK(((back != Scalar(0)).sum().item<std::int64_t>()) == y.numel());  // windows of 2 stride 2: no overlap

  // The gradient: unpool's adjoint reads the output gradient back at the indices, and max
  // pooling's sends it to the winners, so d sum(w * back) / dx is w at the maxima, 0 elsewhere.
  const Tensor w = randn(x.sizes(), kFloat64);
  const Tensor gx = autograd::grad({(back * w).sum()}, {x})[0];
  check_close(gx, where(back != Scalar(0), w, zeros_like(w)), 0, 0);

  // One unbatched image [C, H, W] runs as a batch of one: the same numbers.
  const Tensor one = x.detach()[1];
  const auto [y1, where1] = pool->forward_with_indices(one);
  CHECK(where1.sizes() == Shape{3, 3, 3});
  CHECK(int_values(where1) == int_values(where_max[1]));
  check_close(unpool(y1, where1, one.sizes()), back.detach()[1], 0, 0);

  // The 1-D layers alike, unbatched.
  nn::MaxPool1d pool1(nn::MaxPool1dOptions(2));
  nn::MaxUnpool1d unpool1(2);
  const Tensor seq = randn({3, 10}, kFloat64);
  const auto [p1, w1] = pool1->forward_with_indices(seq);
  CHECK(p1.sizes() == Shape{3, 5});
  const Tensor seq_back = unpool1(p1, w1);
  CHECK(seq_back.sizes() == Shape{3, 10});
  check_close(gather(seq_back, 1, w1), p1, 0, 0);
}
