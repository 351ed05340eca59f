// Tests for the 1-D layers (nn/conv.h, nn/pooling.h: Conv1d, ConvTranspose1d, MaxPool1d,
// AvgPool1d, AdaptiveAvgPool1d, and their F:: forms): outputs against known answers computed once
// with PyTorch 1.13 (weights and inputs set by the formulas of nn/pytorch_reference.h on both
// sides; the script follows), parameter names and shapes as PyTorch's, the initialisation bounds,
// the libtorch spellings, printing, cloning, gradients, and error messages. The finite-difference
// rows are in tests/autograd/gradcheck_cases_conv1d.cpp.
//
// The known answers came from (float64 throughout; pattern, inputs_of and set_params as in
// tests/nn/test_rnn.cpp):
//   m = torch.nn.Conv1d(4, 6, 3, stride=2, padding=1, dilation=2, groups=2); set_params(m)
//   conv1d_grouped = m(inputs_of((2, 4, 9), 1))
//   m = torch.nn.Conv1d(2, 3, 4, stride=3, padding=2, bias=False); set_params(m)
//   conv1d_no_bias = m(inputs_of((1, 2, 10), 2))
//   m = torch.nn.ConvTranspose1d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2); set_params(m)
//   conv_transpose1d_grouped = m(inputs_of((2, 4, 5), 3))
//   m = torch.nn.ConvTranspose1d(2, 3, 3, stride=3, padding=2, output_padding=1, dilation=2); set_params(m)
//   conv_transpose1d_dilated = m(inputs_of((1, 2, 4), 4))
//   x = inputs_of((2, 3, 10), 5)
//   max_pool1d = torch.nn.MaxPool1d(2)(x)
//   max_pool1d_ceil = torch.nn.MaxPool1d(3, stride=2, padding=1, ceil_mode=True)(x)
//   avg_pool1d_ceil = torch.nn.AvgPool1d(3, stride=2, padding=1, ceil_mode=True)(x)
//   avg_pool1d_exclude_pad = torch.nn.AvgPool1d(4, stride=3, padding=2, ceil_mode=True, count_include_pad=False)(x)
//   adaptive_avg_pool1d = torch.nn.AdaptiveAvgPool1d(4)(x)
#include <cmath>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "helpers.h"
#include "nn/pytorch_reference.h"

using namespace cake;
namespace F = cake::nn::functional;
using cake::testing::check_answer;
using cake::testing::check_close;
using cake::testing::error_message;
using cake::testing::inputs_of;
using cake::testing::pattern;
using cake::testing::set_params;
using cake::testing::values;
using cake::testing::contains;
using cake::testing::NamedShapes;
using cake::testing::names_and_shapes;

namespace {

// ---- PyTorch 1.13's answers ----------------------------------------------------------------
// conv1d_grouped: shape [2, 6, 4]
const std::vector<double> conv1d_grouped = {
    0.0, -0.03, 0.07, -0.15000000000000002, 0.16, 0.39, 0.35, 0.39, -0.19, -0.38, -0.39, -0.26, -0.23000000000000007,
    0.16999999999999998, 0.19, 0.2, -0.28, -0.66, -0.61, -0.49, 0.009999999999999967, 0.21000000000000008,
    0.11999999999999998, 0.010000000000000009, -0.82, -0.32000000000000006, -0.33000000000000007, -0.07, 0.25,
    -0.21999999999999997, 0.51, 0.39, -0.37999999999999995, -0.12, -0.35, -0.34, 0.4700000000000001,
    0.20000000000000007, -0.33000000000000007, -0.62, -0.63, 0.45999999999999985, -0.14999999999999997, -0.4,
    -0.20000000000000007, -0.6400000000000001, 0.37000000000000005, -0.17999999999999994
};
// conv1d_no_bias: shape [1, 3, 4]
const std::vector<double> conv1d_no_bias = {
    0.52, -0.66, -0.22999999999999998, 0.7500000000000001, 0.47000000000000003, -0.65, -0.4, 0.35000000000000003,
    -0.43, 1.06, -0.22999999999999995, -0.5599999999999999
};
// conv_transpose1d_grouped: shape [2, 6, 10]
const std::vector<double> conv_transpose1d_grouped = {
    -0.17, -0.3999999999999999, 0.10999999999999999, -0.39, -0.16, 0.39, -0.21, 0.06999999999999998,
    -0.15000000000000002, 0.18000000000000008, 0.14, 0.68, 0.38, -0.24, 0.07, 0.04999999999999999, 0.42, 0.67, 0.0,
    0.33, -0.06, -0.10999999999999999, -0.71, -0.09, -0.04000000000000001, -0.29000000000000004,
    -0.13999999999999999, -0.6, -0.020000000000000018, -0.2, -0.3800000000000001, 0.22999999999999998,
    0.30000000000000004, 0.27, -0.33999999999999997, 0.31000000000000005, 0.33999999999999997, 0.020000000000000018,
    0.13999999999999999, -0.22, -0.8800000000000001, -0.31, -0.24, -0.35000000000000003, -0.92, -0.39, -0.28,
    -0.32000000000000006, -0.08000000000000002, -0.44000000000000006, 0.15000000000000002, 0.33999999999999997, -0.1,
    -0.63, 0.2, 0.26999999999999996, -0.05, -0.14999999999999997, -0.3, 0.19, -0.18, -0.41999999999999993, 0.1,
    -0.41000000000000003, -0.17, -0.3999999999999999, 0.10999999999999999, -0.39, -0.16, 0.13999999999999999,
    0.21000000000000002, 0.65, 0.44999999999999996, -0.27000000000000013, 0.14, 0.68, 0.38, -0.24, 0.07, 0.37,
    -0.08000000000000002, -0.15, -0.73, -0.13, -0.06, -0.10999999999999999, -0.71, -0.09, -0.04000000000000001,
    -0.25, -0.42000000000000004, 0.14999999999999997, 0.26, 0.19, -0.3800000000000001, 0.22999999999999998,
    0.30000000000000004, 0.27, -0.33999999999999997, 0.37, -0.8400000000000001, -0.23000000000000004,
    -0.19999999999999998, -0.27, -0.8800000000000001, -0.31, -0.24, -0.35000000000000003, -0.92,
    -0.21000000000000002, 0.09999999999999999, 0.41, -0.15000000000000002, -0.56, 0.15000000000000002,
    0.33999999999999997, -0.1, -0.63, 0.2, 0.059999999999999984
};
// conv_transpose1d_dilated: shape [1, 3, 11]
const std::vector<double> conv_transpose1d_dilated = {
    -0.030000000000000013, -0.16000000000000003, -0.13999999999999999, -0.07999999999999999, -0.28,
    -0.3400000000000001, -0.020000000000000018, -0.18, -0.09999999999999999, -0.07, -0.1, 0.16, 0.09,
    0.05000000000000002, 0.51, 0.51, 0.25, 0.09, 0.16, 0.009999999999999981, 0.44, 0.25, -0.33, -0.17, -0.1,
    -0.42999999999999994, -0.22999999999999998, -0.35, -0.31000000000000005, -0.18, -0.04999999999999999, -0.41,
    -0.25
};
// max_pool1d: shape [2, 3, 5]
const std::vector<double> max_pool1d = {
    1.0, 0.8, 0.6, 0.4, 0.2, 0.0, 1.0, 0.8, 0.6, 0.4, 0.2, 1.0, 0.8, 0.6, 0.4, 0.2, 0.0, 1.0, 0.8, 0.6, 0.4, 0.2,
    1.0, 0.8, 0.6, 0.4, 0.2, 0.0, 1.0, 0.8
};
// max_pool1d_ceil: shape [2, 3, 6]
const std::vector<double> max_pool1d_ceil = {
    1.0, 1.0, 0.8, 0.6, 0.4, 0.2, 0.0, 1.0, 0.8, 0.6, 0.4, -0.8, 0.2, 1.0, 1.0, 0.8, 0.6, 0.4, 0.2, 0.2, 1.0, 0.8,
    0.6, -0.6, 0.4, 0.2, 1.0, 1.0, 0.8, 0.6, 0.4, 0.4, 0.2, 1.0, 0.8, -0.4
};
// avg_pool1d_ceil: shape [2, 3, 6]
const std::vector<double> avg_pool1d_ceil = {
    0.3333333333333333, 0.5333333333333333, 0.3333333333333333, 0.13333333333333333, -0.06666666666666667, 0.1,
    -0.3333333333333333, 0.26666666666666666, 0.0666666666666667, -0.13333333333333333, -0.3333333333333333, -0.4,
    -0.26666666666666666, 0.0, 0.5333333333333333, 0.3333333333333333, 0.13333333333333333, 0.2,
    -0.20000000000000004, -0.26666666666666666, 0.26666666666666666, 0.0666666666666667, -0.13333333333333333, -0.3,
    -0.13333333333333333, -0.5333333333333333, 0.0, 0.5333333333333333, 0.3333333333333333, 0.3,
    -0.06666666666666665, -0.06666666666666667, -0.26666666666666666, 0.26666666666666666, 0.0666666666666667, -0.2
};
// avg_pool1d_exclude_pad: shape [2, 3, 4]
const std::vector<double> avg_pool1d_exclude_pad = {
    0.5, 0.30000000000000004, 0.0, -0.06666666666666667, -0.5, 0.4, 0.1, -0.3333333333333333, -0.4, -0.05, 0.2,
    0.13333333333333333, -0.30000000000000004, 0.04999999999999999, 0.30000000000000004, -0.13333333333333333, -0.2,
    -0.4, 0.4, 0.3333333333333333, -0.09999999999999998, -0.3, -0.05, 0.0666666666666667
};
// adaptive_avg_pool1d: shape [2, 3, 4]
const std::vector<double> adaptive_avg_pool1d = {
    0.26666666666666666, 0.0666666666666667, 0.13333333333333333, -0.06666666666666667, 0.0, 0.5333333333333333,
    -0.13333333333333333, -0.3333333333333333, -0.26666666666666666, 0.26666666666666666, 0.3333333333333333,
    0.13333333333333333, -0.5333333333333333, 0.0, 0.0666666666666667, -0.13333333333333333, -0.06666666666666667,
    -0.26666666666666666, 0.5333333333333333, 0.3333333333333333, -0.3333333333333333, -0.5333333333333333,
    0.26666666666666666, 0.0666666666666667
};

double largest_magnitude(const Tensor& t) { return t.detach().abs().max().item<double>(); }

}  // namespace

TEST_CASE("Conv1d: PyTorch's answers with stride, padding, dilation, groups, and without bias") {
  nn::Conv1d grouped(nn::Conv1dOptions(4, 6, 3).stride(2).padding(1).dilation(2).groups(2));
  set_params(*grouped);
  check_answer(grouped(inputs_of({2, 4, 9}, 1)), {2, 6, 4}, conv1d_grouped);
  nn::Conv1d plain(2, 3, 4, nn::Conv1dOptions().stride(3).padding(2).bias(false));
  set_params(*plain);
  check_answer(plain(inputs_of({1, 2, 10}, 2)), {1, 3, 4}, conv1d_no_bias);
  // F::conv1d with the same weights is the layer.
  check_answer(F::conv1d(inputs_of({2, 4, 9}, 1), grouped->weight, grouped->bias,
                         F::Conv1dFuncOptions().stride(2).padding(1).dilation(2).groups(2)),
               {2, 6, 4}, conv1d_grouped);
  check_answer(F::conv1d(inputs_of({1, 2, 10}, 2), plain->weight, {}, {.stride = 3, .padding = 2}), {1, 3, 4},
               conv1d_no_bias);
}

TEST_CASE("ConvTranspose1d: PyTorch's answers with output_padding, groups and dilation") {
  nn::ConvTranspose1d grouped(nn::ConvTranspose1dOptions(4, 6, 3).stride(2).padding(1).output_padding(1).groups(2));
  set_params(*grouped);
  check_answer(grouped(inputs_of({2, 4, 5}, 3)), {2, 6, 10}, conv_transpose1d_grouped);
  nn::ConvTranspose1d dilated(2, 3, 3, {.stride = 3, .padding = 2, .output_padding = 1, .dilation = 2});
  set_params(*dilated);
  check_answer(dilated(inputs_of({1, 2, 4}, 4)), {1, 3, 11}, conv_transpose1d_dilated);
  check_answer(F::conv_transpose1d(inputs_of({1, 2, 4}, 4), dilated->weight, dilated->bias,
                                   F::ConvTranspose1dFuncOptions().stride(3).padding(2).output_padding(1).dilation(2)),
               {1, 3, 11}, conv_transpose1d_dilated);
}

TEST_CASE("Conv1d, ConvTranspose1d: PyTorch's parameter names, shapes and initialisation bounds") {
  manual_seed(11);
  nn::Conv1d conv(nn::Conv1dOptions(4, 6, 3).groups(2));
  CHECK(names_and_shapes(*conv) == NamedShapes{{"weight", {6, 2, 3}}, {"bias", {6}}});
  nn::ConvTranspose1d up(nn::ConvTranspose1dOptions(4, 6, 3).groups(2));
  CHECK(names_and_shapes(*up) == NamedShapes{{"weight", {4, 3, 3}}, {"bias", {6}}});
  CHECK(names_and_shapes(*nn::Conv1d(2, 3, 5, {.bias = false})) == NamedShapes{{"weight", {3, 2, 5}}});
  // kaiming_uniform(a = sqrt(5)) and the bias both draw from U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
  // fan_in = weight.size(1) * k: 2 * 3 for both layers here. A wide layer fills the range.
  const double bound = 1.0 / std::sqrt(6.0);
  for (const Tensor& t : {conv->weight, conv->bias, up->weight, up->bias}) CHECK(largest_magnitude(t) <= bound);
  nn::Conv1d wide(16, 64, 4);
  const double wide_bound = 1.0 / std::sqrt(64.0);
  CHECK(largest_magnitude(wide->weight) <= wide_bound);
  CHECK(largest_magnitude(wide->weight) > 0.95 * wide_bound);
  CHECK(largest_magnitude(wide->bias) <= wide_bound);
  // reset_parameters redraws; clone copies values and settings.
  const Tensor before = conv->weight.clone();
  conv->reset_parameters();
  CHECK_FALSE(values(before) == values(conv->weight));
  auto copy = std::dynamic_pointer_cast<nn::Conv1d>(conv->clone());
  REQUIRE(copy);
  CHECK(values(copy->weight) == values(conv->weight));
  CHECK(copy->options.groups() == 2);
}

TEST_CASE("Conv1d and the 1-D pools in a Sequential, printed, and differentiated") {
  manual_seed(12);
  nn::Sequential net(nn::Conv1d(nn::Conv1dOptions(3, 8, 3).padding(1)), nn::ReLU(),
                     nn::MaxPool1d(nn::MaxPool1dOptions(2)), nn::ConvTranspose1d(8, 3, 2, {.stride = 2}),
                     nn::AvgPool1d(3, 1, 1), nn::AdaptiveAvgPool1d(5));
  const Tensor x = randn({2, 3, 16});
  const Tensor y = net->forward(x);
  CHECK(y.sizes() == Shape{2, 3, 5});
  y.sum().backward();
  for (const auto& [name, p] : net->named_parameters()) {
    INFO(name);
    REQUIRE(p.grad().defined());
    CHECK(p.grad().sizes() == p.sizes());
  }
  CHECK(nn::Conv1d(nn::Conv1dOptions(4, 6, 3).stride(2).groups(2).bias(false))->extra_repr() ==
        "4, 6, kernel_size=3, stride=2, groups=2, bias=false");
  CHECK(nn::ConvTranspose1d(nn::ConvTranspose1dOptions(4, 6, 3).stride(2).output_padding(1))->extra_repr() ==
        "4, 6, kernel_size=3, stride=2, output_padding=1");
  CHECK(nn::MaxPool1d(3)->extra_repr() == "kernel_size=3, stride=3, padding=0, ceil_mode=false");
  CHECK(nn::AvgPool1d(nn::AvgPool1dOptions(4).stride(2).count_include_pad(false))->extra_repr() ==
        "kernel_size=4, stride=2, padding=0, ceil_mode=false, count_include_pad=false");
  CHECK(nn::AdaptiveAvgPool1d(nn::AdaptiveAvgPool1dOptions(7))->extra_repr() == "output_size=7");
}

TEST_CASE("MaxPool1d, AvgPool1d, AdaptiveAvgPool1d: PyTorch's answers with stride, padding, ceil_mode") {
  const Tensor x = inputs_of({2, 3, 10}, 5);
  check_answer(nn::MaxPool1d(2)(x), {2, 3, 5}, max_pool1d);
  check_answer(nn::MaxPool1d(nn::MaxPool1dOptions(3).stride(2).padding(1).ceil_mode(true))(x), {2, 3, 6},
               max_pool1d_ceil);
  check_answer(nn::AvgPool1d(3, 2, 1, /*ceil_mode=*/true)(x), {2, 3, 6}, avg_pool1d_ceil);
  check_answer(nn::AvgPool1d(nn::AvgPool1dOptions(4).stride(3).padding(2).ceil_mode(true).count_include_pad(false))(x),
               {2, 3, 4}, avg_pool1d_exclude_pad);
  check_answer(nn::AdaptiveAvgPool1d(4)(x), {2, 3, 4}, adaptive_avg_pool1d);  // 10 cells into 4: overlapping
  // The F:: forms, positional and with libtorch's options.
  check_answer(F::max_pool1d(x, 3, 2, 1, true), {2, 3, 6}, max_pool1d_ceil);
  check_answer(F::max_pool1d(x, F::MaxPool1dFuncOptions(2)), {2, 3, 5}, max_pool1d);
  check_answer(F::avg_pool1d(x, F::AvgPool1dFuncOptions(3).stride(2).padding(1).ceil_mode(true)), {2, 3, 6},
               avg_pool1d_ceil);
  check_answer(F::avg_pool1d(x, 4, 3, 2, true, false), {2, 3, 4}, avg_pool1d_exclude_pad);
  check_answer(F::adaptive_avg_pool1d(x, F::AdaptiveAvgPool1dFuncOptions(4)), {2, 3, 4}, adaptive_avg_pool1d);
  check_close(F::adaptive_avg_pool1d(x, 1), x.mean({2}, /*keepdim=*/true), 1e-12, 1e-12);
}

TEST_CASE("the 1-D layers: errors name the shapes") {
  const Tensor x = randn({2, 4, 9});
  const std::string rank = error_message([&] { nn::Conv1d(4, 6, 3)(randn({1, 4, 1, 9})); });
  CHECK(contains(rank, "conv1d: expected an input of shape [N, C, L] (or one unbatched [C, L]), got [1, 4, 1, 9]"));
  // An unbatched sequence's errors name its own shape.
  const std::string unbatched = error_message([&] { nn::Conv1d(5, 6, 3)(randn({4, 9})); });
  CHECK(contains(unbatched, "unbatched input of shape [4, 9] (run as a batch of one)"));
  CHECK(contains(unbatched, "has 4 channels, but weight of shape [6, 5, 3]"));
  const std::string channels = error_message([&] { nn::Conv1d(5, 6, 3)(x); });
  CHECK(contains(channels, "input of shape [2, 4, 9] has 4 channels, but weight of shape [6, 5, 3]"));
  CHECK(contains(error_message([&] { F::conv1d(x, randn({6, 4, 3, 1})); }), "expected a 3-D weight"));
  const std::string transposed = error_message([&] { nn::ConvTranspose1d(3, 6, 3)(x); });
  CHECK(contains(transposed,
                 "conv_transpose1d: input of shape [2, 4, 9] has 4 channels, but weight of shape [3, 6, 3]"));
  // Errors the 2-D op finds name the 1-D op and the view it ran on.
  const std::string too_long = error_message([&] { nn::Conv1d(4, 6, 12)(x); });
  CHECK(contains(too_long, "conv1d (run as its 2-D form on the input viewed as [2, 4, 1, 9])"));
  CHECK(contains(error_message([&] { nn::MaxPool1d(3, 1, 2)(x); }), "max_pool1d (run as its 2-D form"));
  CHECK(contains(error_message([&] { F::avg_pool1d(randn({9}), 2); }),
                 "avg_pool1d: expected an input of shape [N, C, L]"));
  CHECK(contains(error_message([&] { nn::Conv1d(3, 4, 3, {.groups = 2}); }), "divisible by groups (2)"));
}

TEST_CASE("the 1-D layers take one unbatched sequence [C, L], as a batch of one, gradients included") {
  manual_seed(3);
  const Tensor batch = randn({1, 4, 11}, kFloat64).requires_grad_(true);
  const Tensor one = batch.detach().squeeze(0).requires_grad_(true);
  nn::Conv1d conv(nn::Conv1dOptions(4, 6, 3).stride(2).padding(1).padding_mode(cake::kReflect));
  conv->to(kFloat64);
  nn::ConvTranspose1d up(nn::ConvTranspose1dOptions(4, 2, 3).stride(2));
  up->to(kFloat64);
  const std::vector<std::pair<std::string, std::function<Tensor(const Tensor&)>>> layers = {
      {"Conv1d reflect", [&](const Tensor& x) { return conv(x); }},
      {"ConvTranspose1d", [&](const Tensor& x) { return up(x); }},
      {"MaxPool1d", [](const Tensor& x) { return nn::MaxPool1d(nn::MaxPool1dOptions(3).stride(2).ceil_mode(true))(x); }},
      {"AvgPool1d", [](const Tensor& x) { return nn::AvgPool1d(3, 2, 1)(x); }},
      {"AdaptiveAvgPool1d", [](const Tensor& x) { return nn::AdaptiveAvgPool1d(4)(x); }},
      {"AdaptiveMaxPool1d", [](const Tensor& x) { return nn::AdaptiveMaxPool1d(4)(x); }},
  };
  for (const auto& [name, layer] : layers) {
    INFO(name);
    const Tensor batched = layer(batch).squeeze(0);
    const Tensor unbatched = layer(one);
    REQUIRE(unbatched.sizes() == batched.sizes());
    check_close(unbatched, batched, 0, 0);  // the same arithmetic, bit for bit
    const Tensor weights = randn(unbatched.sizes(), kFloat64);
    const Tensor grad_batched = autograd::grad({(batched * weights).sum()}, {batch})[0];
    const Tensor grad_unbatched = autograd::grad({(unbatched * weights).sum()}, {one})[0];
    check_close(grad_unbatched, grad_batched.squeeze(0), 0, 0);
  }
}
