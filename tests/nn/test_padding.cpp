// Tests for the padding layers (nn/padding.h): each against F::pad with its mode and against
// PyTorch 1.13's answers on a small input, their printing, unbatched inputs, gradients and errors.
// The answers came from (x = torch.arange(6.).reshape(1, 1, 2, 3), s = torch.arange(4.).reshape(1, 1, 4)):
//   nn.ReflectionPad2d((2, 1, 1, 0))(x), nn.ReplicationPad2d(1)(x), nn.CircularPad... (F.pad(x, (1, 1, 1, 1), 'circular')),
//   nn.ZeroPad2d((1, 0, 0, 1))(x), nn.ConstantPad1d((2, 1), -1.0)(s), nn.ReflectionPad1d(2)(s)
#include <string>
#include <vector>

#include "helpers.h"

using namespace cake;
namespace F = cake::nn::functional;
using cake::testing::check_close;
using cake::testing::contains;
using cake::testing::error_message;
using cake::testing::values;

TEST_CASE("the padding layers: PyTorch's answers for each mode, 1-D and 2-D") {
  const Tensor x = arange(0.0, 6.0).reshape({1, 1, 2, 3});
  const Tensor s = arange(0.0, 4.0).reshape({1, 1, 4});
  const Tensor reflected = nn::ReflectionPad2d(nn::ReflectionPad2dOptions({2, 1, 1, 0}))(x);
  CHECK(reflected.sizes() == Shape{1, 1, 3, 6});
  CHECK(values(reflected) == std::vector<double>{5, 4, 3, 4, 5, 4, 2, 1, 0, 1, 2, 1, 5, 4, 3, 4, 5, 4});
  const Tensor replicated = nn::ReplicationPad2d(1)(x);
  CHECK(values(replicated) ==
        std::vector<double>{0, 0, 1, 2, 2, 0, 0, 1, 2, 2, 3, 3, 4, 5, 5, 3, 3, 4, 5, 5});
  const Tensor wrapped = nn::CircularPad2d(1)(x);
  CHECK(values(wrapped) == std::vector<double>{5, 3, 4, 5, 3, 2, 0, 1, 2, 0, 5, 3, 4, 5, 3, 2, 0, 1, 2, 0});
  const Tensor zeros_around = nn::ZeroPad2d(nn::ZeroPad2dOptions({1, 0, 0, 1}))(x);
  CHECK(values(zeros_around) == std::vector<double>{0, 0, 1, 2, 0, 3, 4, 5, 0, 0, 0, 0});
  CHECK(values(nn::ConstantPad1d(nn::ConstantPad1dOptions({2, 1}, -1.0))(s)) ==
        std::vector<double>{-1, -1, 0, 1, 2, 3, -1});
  CHECK(values(nn::ReflectionPad1d(2)(s)) == std::vector<double>{2, 1, 0, 1, 2, 3, 2, 1});
  CHECK(values(nn::ReplicationPad1d(1)(s)) == std::vector<double>{0, 0, 1, 2, 3, 3});
  CHECK(values(nn::CircularPad1d(1)(s)) == std::vector<double>{3, 0, 1, 2, 3, 0});
  CHECK(values(nn::ZeroPad1d(1)(s)) == std::vector<double>{0, 0, 1, 2, 3, 0});
  check_close(nn::ConstantPad2d(nn::ConstantPad2dOptions(1, 2.5))(x), F::pad(x, {1, 1, 1, 1}, cake::kConstant, 2.5), 0, 0);
  // PyTorch's repr.
  CHECK(nn::ReflectionPad2d(2)->extra_repr() == "(2, 2, 2, 2)");
  CHECK(nn::ZeroPad2d(nn::ZeroPad2dOptions({1, 0, 2, 0}))->extra_repr() == "(1, 0, 2, 0)");
  CHECK(nn::ConstantPad1d(nn::ConstantPad1dOptions(3, -1.0))->extra_repr() == "padding=(3, 3), value=-1.0");
  CHECK(nn::ConstantPad2d(nn::ConstantPad2dOptions(1, 0.5))->extra_repr() == "padding=(1, 1, 1, 1), value=0.5");
  CHECK(nn::ReplicationPad1d(1)->name() == "ReplicationPad1d");
}

TEST_CASE("the padding layers: unbatched samples, gradients, a Sequential, and errors that name the layer") {
  manual_seed(2);
  const Tensor image = randn({3, 4, 5}, kFloat64).requires_grad_(true);
  nn::ReflectionPad2d mirror(1);
  const Tensor padded = mirror(image);
  CHECK(padded.sizes() == Shape{3, 6, 7});
  // Reflection's gradient: each input element gets one for every copy of it in the output. Rows
  // 0-3 padded by 1 read 1 0 1 2 3 2: copies 1 2 2 1; columns 0-4 read 1 0 1 2 3 4 3: 1 2 1 2 1.
  padded.sum().backward();
  const std::vector<double> row_copies{1, 2, 2, 1}, column_copies{1, 2, 1, 2, 1};
  std::vector<double> copies;
  for (int c = 0; c < 3; ++c)
    for (double r : row_copies)
      for (double w : column_copies) copies.push_back(r * w);
  CHECK(values(image.grad()) == copies);
  nn::Sequential net(nn::ReplicationPad2d(1), nn::Conv2d(2, 2, 3), nn::ZeroPad2d(nn::ZeroPad2dOptions({0, 1, 0, 1})));
  CHECK(net->forward(randn({1, 2, 5, 5})).sizes() == Shape{1, 2, 6, 6});
  CHECK(contains(error_message([&] { mirror(randn({5, 4})); }),
                 "ReflectionPad2d: expected an input of 4 dims ([N, C, H, W]) or 3 for one unbatched sample, got shape [5, 4]"));
  CHECK(contains(error_message([&] { nn::ReflectionPad1d(4)(randn({1, 2, 4})); }), "ReflectionPad1d: pad: reflect padding"));
}
