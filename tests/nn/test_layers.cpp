// Tests for the nn layers: every layer's output shape and a known-answer value (convolutions
// against naive loops written here), BatchNorm's running statistics, PyTorch's default
// initialisation bounds, and Sequential.
#include <cmath>
#include <numbers>

#include "helpers.h"

using namespace cake;
namespace F = cake::nn::functional;
using cake::testing::check_close;
using cake::testing::contains;
using cake::testing::error_message;
using cake::testing::values;

namespace {

// Naive direct convolution: out[n][o][y][x] = b[o] + sum_{c,i,j} in[n][g c][y s - p + i d][x s - p + j d] w[o][c][i][j].
Tensor conv2d_reference(const Tensor& input, const Tensor& weight, const Tensor& bias, std::int64_t stride,
                        std::int64_t padding, std::int64_t dilation, std::int64_t groups) {
  const auto in = values(input), w = values(weight);
  const std::int64_t N = input.size(0), C = input.size(1), H = input.size(2), W = input.size(3);
  const std::int64_t O = weight.size(0), Cg = weight.size(1), K = weight.size(2);
  const std::int64_t OH = (H + 2 * padding - dilation * (K - 1) - 1) / stride + 1;
  const std::int64_t OW = (W + 2 * padding - dilation * (K - 1) - 1) / stride + 1;
  std::vector<double> out(static_cast<std::size_t>(N * O * OH * OW), 0.0);
  const std::int64_t per_group = O / groups;
  for (std::int64_t n = 0; n < N; ++n)
    for (std::int64_t o = 0; o < O; ++o)
      for (std::int64_t y = 0; y < OH; ++y)
        for (std::int64_t x = 0; x < OW; ++x) {
          double s = bias.defined() ? values(bias)[static_cast<std::size_t>(o)] : 0.0;
          for (std::int64_t c = 0; c < Cg; ++c)
            for (std::int64_t i = 0; i < K; ++i)
              for (std::int64_t j = 0; j < K; ++j) {
                const std::int64_t iy = y * stride - padding + i * dilation, ix = x * stride - padding + j * dilation;
                if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                const std::int64_t ic = (o / per_group) * Cg + c;
                s += in[static_cast<std::size_t>(((n * C + ic) * H + iy) * W + ix)] *
                     w[static_cast<std::size_t>(((o * Cg + c) * K + i) * K + j)];
              }
          out[static_cast<std::size_t>(((n * O + o) * OH + y) * OW + x)] = s;
        }
  return tensor(out, {N, O, OH, OW}, kFloat64);
}

// Naive transposed convolution (groups = 1, dilation = 1): every input pixel scatters
// in * w[c][o] into the output at (y s - p + i, x s - p + j).
Tensor conv_transpose2d_reference(const Tensor& input, const Tensor& weight, const Tensor& bias, std::int64_t stride,
                                  std::int64_t padding, std::int64_t output_padding) {
  const auto in = values(input), w = values(weight);
  const std::int64_t N = input.size(0), C = input.size(1), H = input.size(2), W = input.size(3);
  const std::int64_t O = weight.size(1), K = weight.size(2);
  const std::int64_t OH = (H - 1) * stride - 2 * padding + K + output_padding;
  const std::int64_t OW = (W - 1) * stride - 2 * padding + K + output_padding;
  std::vector<double> out(static_cast<std::size_t>(N * O * OH * OW), 0.0);
  for (std::int64_t n = 0; n < N; ++n)
    for (std::int64_t o = 0; o < O; ++o) {
      for (std::int64_t p = 0; p < OH * OW; ++p)
        out[static_cast<std::size_t>((n * O + o) * OH * OW + p)] = bias.defined() ? values(bias)[static_cast<std::size_t>(o)] : 0.0;
      for (std::int64_t c = 0; c < C; ++c)
        for (std::int64_t y = 0; y < H; ++y)
          for (std::int64_t x = 0; x < W; ++x)
            for (std::int64_t i = 0; i < K; ++i)
              for (std::int64_t j = 0; j < K; ++j) {
                const std::int64_t oy = y * stride - padding + i, ox = x * stride - padding + j;
                if (oy < 0 || oy >= OH || ox < 0 || ox >= OW) continue;
                out[static_cast<std::size_t>(((n * O + o) * OH + oy) * OW + ox)] +=
                    in[static_cast<std::size_t>(((n * C + c) * H + y) * W + x)] *
                    w[static_cast<std::size_t>(((c * O + o) * K + i) * K + j)];
              }
    }
  return tensor(out, {N, O, OH, OW}, kFloat64);
}

bool all_within(const Tensor& t, double bound) {
  for (double v : values(t))
    if (std::abs(v) > bound) return false;
  return true;
}

}  // namespace

TEST_CASE("Linear: shape, known answer, PyTorch's default initialisation") {
  nn::Linear fc(3, 2);
  CHECK(fc.weight.sizes() == Shape{2, 3});
  CHECK(fc.bias.sizes() == Shape{2});
  const double bound = 1.0 / std::sqrt(3.0);
  CHECK(all_within(fc.weight, bound));
  CHECK(all_within(fc.bias, bound));
  {
    NoGradGuard no_grad;
    fc.weight.copy_(tensor({1.0, 2.0, 3.0, -1.0, 0.0, 1.0}, {2, 3}));
    fc.bias.copy_(tensor({0.5, -0.5}, {2}));
  }
  const Tensor x = tensor({1.0, 1.0, 1.0, 2.0, 0.0, -1.0}, {2, 3});
  check_close(fc.forward(x), tensor({6.5, -0.5, -0.5, -3.5}, {2, 2}));
  // Any leading dims: [2, 1, 3] -> [2, 1, 2].
  check_close(fc.forward(x.view({2, 1, 3})), tensor({6.5, -0.5, -0.5, -3.5}, {2, 1, 2}));
  nn::Linear no_bias(3, 2, false);
  CHECK_FALSE(no_bias.bias.defined());
  CHECK(no_bias.parameters().size() == 1);
  CHECK_THROWS_WITH_AS(fc.forward(ones({2, 4})), doctest::Contains("does not end in in_features = 3"), Error);
  // The initial weights are U(-b, b): their spread matches b / sqrt(3) on a big layer.
  manual_seed(0);
  nn::Linear big(400, 300);
  const double big_bound = 1.0 / std::sqrt(400.0);
  CHECK(all_within(big.weight, big_bound));
  CHECK(big.weight.std().item<double>() == doctest::Approx(big_bound / std::sqrt(3.0)).epsilon(0.02));
}

TEST_CASE("Conv2d: shape, init bound, and values against a naive loop") {
  manual_seed(1);
  nn::Conv2d conv(2, 4, 3, {.stride = 2, .padding = 1});
  CHECK(conv.weight.sizes() == Shape{4, 2, 3, 3});
  CHECK(all_within(conv.weight, 1.0 / std::sqrt(18.0)));
  CHECK(all_within(conv.bias, 1.0 / std::sqrt(18.0)));
  conv.to(kFloat64);
  const Tensor x = randn({2, 2, 7, 7}, kFloat64);
  const Tensor y = conv.forward(x);
  CHECK(y.sizes() == Shape{2, 4, 4, 4});  // floor((7 + 2 - 3) / 2) + 1
  check_close(y, conv2d_reference(x, conv.weight, conv.bias, 2, 1, 1, 1), 1e-10, 1e-10);
  // Groups and dilation, no bias, through the rectangular-capable constructor.
  nn::Conv2d grouped(4, 6, Pair{3, 3}, Conv2dParams{.padding = {2, 2}, .dilation = {2, 2}, .groups = 2}, false);
  grouped.to(kFloat64);
  CHECK(grouped.weight.sizes() == Shape{6, 2, 3, 3});
  const Tensor x4 = randn({1, 4, 5, 5}, kFloat64);
  check_close(grouped.forward(x4), conv2d_reference(x4, grouped.weight, {}, 1, 2, 2, 2), 1e-10, 1e-10);
  CHECK_THROWS_AS(nn::Conv2d(3, 4, 3, {.groups = 2}), Error);
}

TEST_CASE("ConvTranspose2d: shape formula and values against a naive scatter") {
  manual_seed(2);
  nn::ConvTranspose2d up(3, 2, 3, {.stride = 2, .padding = 1, .output_padding = 1});
  CHECK(up.weight.sizes() == Shape{3, 2, 3, 3});
  // PyTorch's fan_in for this layout is weight.size(1) * k * k = 2 * 9.
  CHECK(all_within(up.bias, 1.0 / std::sqrt(18.0)));
  up.to(kFloat64);
  const Tensor x = randn({2, 3, 4, 4}, kFloat64);
  const Tensor y = up.forward(x);
  CHECK(y.sizes() == Shape{2, 2, 8, 8});  // (4 - 1) 2 - 2 + 3 + 1
  check_close(y, conv_transpose2d_reference(x, up.weight, up.bias, 2, 1, 1), 1e-10, 1e-10);
}

TEST_CASE("MaxPool2d, AvgPool2d, AdaptiveAvgPool2d: known values") {
  const Tensor x = arange(0.0, 16.0, 1.0, kFloat64).view({1, 1, 4, 4});
  // 2x2 windows, stride 2: maxima 5, 7, 13, 15; means 2.5, 4.5, 10.5, 12.5.
  check_close(nn::MaxPool2d(2).forward(x), tensor({5.0, 7.0, 13.0, 15.0}, {1, 1, 2, 2}, kFloat64));
  check_close(nn::AvgPool2d(2).forward(x), tensor({2.5, 4.5, 10.5, 12.5}, {1, 1, 2, 2}, kFloat64));
  // Overlapping 3x3 windows, stride 1: maxima at each window's bottom-right corner.
  check_close(nn::MaxPool2d(3, 1).forward(x), tensor({10.0, 11.0, 14.0, 15.0}, {1, 1, 2, 2}, kFloat64));
  // Padding 1 with count_include_pad: the corner window holds 0, 1, 4, 5 and five zeros of padding.
  const Tensor padded = nn::AvgPool2d(3, 1, 1).forward(x);
  CHECK(padded.sizes() == Shape{1, 1, 4, 4});
  CHECK(values(padded)[0] == doctest::Approx(10.0 / 9.0));
  check_close(nn::AdaptiveAvgPool2d({1, 1}).forward(x), full({1, 1, 1, 1}, 7.5, kFloat64));
  CHECK(F::max_pool2d(randn({2, 3, 9, 9}), 3, 2, 1).sizes() == Shape{2, 3, 5, 5});
}

TEST_CASE("BatchNorm2d: normalises per channel in training, updates running statistics as PyTorch") {
  manual_seed(3);
  nn::BatchNorm2d bn(2, {.momentum = 0.2});
  bn.to(kFloat64);
  {
    NoGradGuard no_grad;
    bn.weight.copy_(tensor({2.0, 0.5}, {2}));
    bn.bias.copy_(tensor({1.0, -1.0}, {2}));
  }
  const Tensor x = randn({4, 2, 3, 3}, kFloat64) * 3.0 + 2.0;
  const Tensor y = bn.forward(x);
  CHECK(y.sizes() == x.sizes());
  // Per channel: mean = bias, biased std = weight (up to eps).
  check_close(y.mean({0, 2, 3}), tensor({1.0, -1.0}, {2}, kFloat64), 1e-10, 1e-10);
  check_close(y.std({0, 2, 3}, false, 0), tensor({2.0, 0.5}, {2}, kFloat64), 1e-4, 1e-4);
  // running = (1 - m) running + m batch, with the unbiased batch variance.
  const Tensor batch_mean = x.mean({0, 2, 3}), batch_var = x.var({0, 2, 3}, false, 1);
  check_close(bn.running_mean, batch_mean * 0.2, 1e-10, 1e-12);
  check_close(bn.running_var, batch_var * 0.2 + 0.8, 1e-10, 1e-12);
  bn.eval();
  const Tensor y_eval = bn.forward(x);
  const Tensor expected = (x - bn.running_mean.view({1, 2, 1, 1})) / (bn.running_var.view({1, 2, 1, 1}) + 1e-5).sqrt() *
                              tensor({2.0, 0.5}, {1, 2, 1, 1}, kFloat64) +
                          tensor({1.0, -1.0}, {1, 2, 1, 1}, kFloat64);
  check_close(y_eval, expected, 1e-10, 1e-10);
  CHECK_THROWS_WITH_AS(bn.forward(ones({2, 3, 4, 4}, kFloat64)), doctest::Contains("expected 2 features"), Error);
  CHECK_THROWS_AS(bn.forward(ones({2, 2}, kFloat64)), Error);
}

TEST_CASE("BatchNorm1d on [N, C] and [N, C, L], without affine parameters") {
  manual_seed(4);
  nn::BatchNorm1d bn(3, {.affine = false});
  CHECK(bn.parameters().empty());
  CHECK(bn.buffers().size() == 3);
  const Tensor x = randn({5, 3, 4}, kFloat64);
  bn.to(kFloat64);
  const Tensor y = bn.forward(x);
  CHECK(y.sizes() == Shape{5, 3, 4});
  check_close(y.mean({0, 2}), zeros({3}, kFloat64), 1e-10, 1e-10);
  const Tensor flat = randn({6, 3}, kFloat64);
  check_close(bn.forward(flat).mean({0}), zeros({3}, kFloat64), 1e-10, 1e-10);
  CHECK(bn.num_batches_tracked.item<std::int64_t>() == 2);
}

TEST_CASE("LayerNorm: per-sample normalisation over the trailing dims") {
  nn::LayerNorm ln(Shape{3}, 0.0);
  // [1, 2, 3]: mean 2, biased variance 2/3: (x - 2) / sqrt(2/3).
  const double s = std::sqrt(1.5);
  check_close(ln.forward(tensor({1.0, 2.0, 3.0, 5.0, 5.0, 8.0}, {2, 3})),
              tensor({-s, 0.0, s, -std::sqrt(0.5), -std::sqrt(0.5), std::sqrt(2.0)}, {2, 3}), 1e-5, 1e-5);
  nn::LayerNorm ln2(Shape{2, 2});
  CHECK(ln2.weight.sizes() == Shape{2, 2});
  {
    NoGradGuard no_grad;
    ln2.weight.fill_(2.0);
    ln2.bias.fill_(1.0);
  }
  const Tensor z = ln2.forward(randn({3, 2, 2}));
  check_close(z.mean({1, 2}), ones({3}), 1e-5, 1e-5);
}

TEST_CASE("Embedding, Flatten, Unflatten, Identity") {
  manual_seed(5);
  nn::Embedding table(10, 4);
  CHECK(table.weight.sizes() == Shape{10, 4});
  const Tensor ids = tensor(std::vector<std::int64_t>{3, 0, 3, 9, 1, 2}, {2, 3});
  const Tensor e = table.forward(ids);
  CHECK(e.sizes() == Shape{2, 3, 4});
  check_close(e[0][0], table.weight[3]);
  check_close(e[1][0], table.weight[9]);
  CHECK(nn::Flatten().forward(ones({2, 3, 4, 5})).sizes() == Shape{2, 60});
  CHECK(nn::Flatten(0, 1).forward(ones({2, 3, 4})).sizes() == Shape{6, 4});
  CHECK(nn::Unflatten(1, {4, -1}).forward(ones({2, 12})).sizes() == Shape{2, 4, 3});
  const Tensor x = randn({3});
  CHECK(nn::Identity().forward(x).is_same(x));
}

TEST_CASE("activation layers: known values") {
  const Tensor x = tensor({-1.0, 0.0, 2.0}, {3}, kFloat64);
  check_close(nn::ReLU().forward(x), tensor({0.0, 0.0, 2.0}, {3}, kFloat64));
  check_close(nn::LeakyReLU(0.1).forward(x), tensor({-0.1, 0.0, 2.0}, {3}, kFloat64));
  check_close(nn::ELU(2.0).forward(x), tensor({2.0 * (std::exp(-1.0) - 1.0), 0.0, 2.0}, {3}, kFloat64));
  // GELU(x) = x Phi(x): Phi(-1) = 0.15865525393145707, Phi(2) = 0.9772498680518208.
  check_close(nn::GELU().forward(x), tensor({-0.15865525393145707, 0.0, 2 * 0.9772498680518208}, {3}, kFloat64), 1e-12);
  check_close(nn::Sigmoid().forward(x), tensor({1 / (1 + std::exp(1.0)), 0.5, 1 / (1 + std::exp(-2.0))}, {3}, kFloat64));
  check_close(nn::Tanh().forward(x), tensor({std::tanh(-1.0), 0.0, std::tanh(2.0)}, {3}, kFloat64));
  const double z = std::exp(-1.0) + 1.0 + std::exp(2.0);
  const Tensor row = x.view({1, 3});
  check_close(nn::Softmax(1).forward(row), tensor({std::exp(-1.0) / z, 1.0 / z, std::exp(2.0) / z}, {1, 3}, kFloat64));
  check_close(nn::LogSoftmax(1).forward(row), (nn::Softmax(1).forward(row)).log(), 1e-12);
  check_close(F::softplus(x), tensor({std::log1p(std::exp(-1.0)), std::log(2.0), std::log1p(std::exp(2.0))}, {3}, kFloat64));
  check_close(F::softplus(tensor({-800.0, 800.0}, {2}, kFloat64)), tensor({0.0, 800.0}, {2}, kFloat64));  // no overflow
}

TEST_CASE("Dropout: drops with probability p, rescales, reproducible, identity in eval") {
  manual_seed(6);
  nn::Dropout dropout(0.25);
  const Tensor x = ones({4000});
  const auto first = values(dropout.forward(x));
  std::size_t dropped = 0;
  for (double v : first) {
    CHECK((v == 0.0 || v == doctest::Approx(4.0 / 3.0)));
    dropped += v == 0.0;
  }
  CHECK(dropped > 900);   // expected 1000
  CHECK(dropped < 1100);
  manual_seed(6);
  CHECK(values(dropout.forward(x)) == first);  // the same mask after the same seed
  check_close(F::dropout(x, 0.0), x);
  check_close(F::dropout(x, 1.0), zeros({4000}));
  dropout.eval();
  CHECK(values(dropout.forward(x)) == values(x));
  CHECK_THROWS_AS(nn::Dropout(1.5), Error);
}

TEST_CASE("Sequential: chains forwards, names entries 0, 1, ... and gives typed access") {
  manual_seed(7);
  auto first = std::make_shared<nn::Linear>(3, 4);
  auto seq = nn::Sequential(first, std::make_shared<nn::Tanh>());
  seq.push_back("out", std::make_shared<nn::Linear>(4, 1));
  CHECK(seq.size() == 3);
  const Tensor x = randn({5, 3});
  check_close(seq.forward(x), seq.at<nn::Linear>(2)->forward(first->forward(x).tanh()));
  std::vector<std::string> names;
  for (const auto& entry : seq.named_parameters()) names.push_back(entry.first);
  CHECK(names == std::vector<std::string>{"0.weight", "0.bias", "out.weight", "out.bias"});
  CHECK(seq.at<nn::Linear>(0).get() == first.get());
  CHECK_THROWS_WITH_AS(seq.at<nn::Linear>(1), doctest::Contains("is a Tanh"), Error);
  CHECK_THROWS_AS(seq[3], Error);
  nn::Sequential listed{std::make_shared<nn::ReLU>(), std::make_shared<nn::Sigmoid>()};
  check_close(listed.forward(tensor({-1.0, 0.0}, {2})), tensor({0.5, 0.5}, {2}));
}

TEST_CASE("nn::init: gains, fans, bounds and reproducibility") {
  namespace init = nn::init;
  CHECK(init::calculate_gain("linear") == 1.0);
  CHECK(init::calculate_gain("tanh") == doctest::Approx(5.0 / 3.0));
  CHECK(init::calculate_gain("relu") == doctest::Approx(std::sqrt(2.0)));
  CHECK(init::calculate_gain("leaky_relu", std::sqrt(5.0)) == doctest::Approx(std::sqrt(1.0 / 3.0)));
  CHECK_THROWS_WITH_AS(init::calculate_gain("swish"), doctest::Contains("unknown nonlinearity 'swish'"), Error);
  const Tensor conv_weight = empty({8, 4, 3, 3});
  CHECK(init::calculate_fan_in_and_fan_out(conv_weight) == std::pair<std::int64_t, std::int64_t>{36, 72});
  CHECK_THROWS_AS(init::calculate_fan_in_and_fan_out(empty({3})), Error);

  manual_seed(8);
  Tensor w = empty({200, 300}).requires_grad_();  // a parameter: init writes without a graph
  init::xavier_uniform_(w);
  const double xavier_bound = std::sqrt(6.0 / 500.0);
  CHECK(all_within(w, xavier_bound));
  CHECK(w.is_leaf());
  init::xavier_normal_(w, 2.0);
  CHECK(w.std().item<double>() == doctest::Approx(2.0 * std::sqrt(2.0 / 500.0)).epsilon(0.02));
  init::kaiming_normal_(w, 0.0, "fan_in", "relu");
  CHECK(w.std().item<double>() == doctest::Approx(std::sqrt(2.0 / 300.0)).epsilon(0.02));
  init::kaiming_uniform_(w, 0.0, "fan_out", "relu");
  CHECK(all_within(w, std::sqrt(3.0) * std::sqrt(2.0 / 200.0)));
  CHECK_THROWS_AS(init::kaiming_uniform_(w, 0.0, "fan_both"), Error);
  init::uniform_(w, 2.0, 3.0);
  CHECK(w.min().item<double>() >= 2.0);
  CHECK(w.max().item<double>() < 3.0);
  init::constant_(w, 0.5);
  CHECK(w.min().item<double>() == 0.5);
  init::zeros_(w);
  CHECK(w.max().item<double>() == 0.0);
  init::ones_(w);
  CHECK(w.min().item<double>() == 1.0);
  // The same seed, the same draws.
  manual_seed(9);
  const auto a = values(init::normal_(empty({10}), 1.0, 2.0));
  manual_seed(9);
  CHECK(values(init::normal_(empty({10}), 1.0, 2.0)) == a);
}

TEST_CASE("nn::init::eye_: the identity, rectangular too; refuses other than matrices") {
  Tensor w = randn({3, 5});
  nn::init::eye_(w);
  for (std::int64_t i = 0; i < 3; ++i)
    for (std::int64_t j = 0; j < 5; ++j) CHECK(w[i][j].item<double>() == (i == j ? 1.0 : 0.0));
  Tensor tall = randn({4, 2}, kFloat64);
  nn::init::eye_(tall);
  CHECK(tall.sum().item<double>() == 2.0);
  CHECK(tall[1][1].item<double>() == 1.0);
  CHECK_THROWS_WITH_AS(nn::init::eye_(randn({2, 2, 2})), doctest::Contains("expected a matrix"), cake::Error);
}

TEST_CASE("nn::init::orthogonal_: orthonormal rows or columns times the gain, any dims, reproducible") {
  manual_seed(7);
  const Tensor tall = empty({6, 3}, kFloat64), wide = empty({3, 6}, kFloat64), conv = empty({4, 2, 3, 3});
  nn::init::orthogonal_(tall);
  nn::init::orthogonal_(wide, 2.0);
  nn::init::orthogonal_(conv);
  check_close(matmul(tall.t(), tall), eye(3, 3, kFloat64), 1e-12, 1e-12);       // orthonormal columns
  check_close(matmul(wide, wide.t()), eye(3, 3, kFloat64) * 4.0, 1e-12, 1e-12);  // rows of norm 2
  const Tensor rows = conv.reshape({4, 18});
  check_close(matmul(rows, rows.t()), eye(4, 4), 1e-5, 1e-5);
  manual_seed(7);
  const Tensor again = empty({6, 3}, kFloat64);
  nn::init::orthogonal_(again);
  CHECK(values(again) == values(tall));
  // Haar-distributed: the mean of the first entry over many draws is 0 (a QR without the sign
  // fix would make R's diagonal positive and bias it).
  double first = 0.0;
  for (int draw = 0; draw < 400; ++draw) first += nn::init::orthogonal_(empty({3, 3}, kFloat64))[0][0].item<double>();
  CHECK(std::abs(first / 400) < 0.1);
}

TEST_CASE("nn::init::trunc_normal_, dirac_, sparse_") {
  manual_seed(8);
  const Tensor t = empty({20000}, kFloat64);
  nn::init::trunc_normal_(t, 1.0, 2.0, -1.0, 2.0);
  CHECK(t.amin({}).item<double>() >= -1.0);
  CHECK(t.amax({}).item<double>() <= 2.0);
  // The mean of N(1, 4) truncated to [-1, 2]: mu + sigma (phi(alpha) - phi(beta)) / (Phi(beta) - Phi(alpha)),
  // alpha = -1, beta = 0.5.
  const auto phi = [](double x) { return std::exp(-x * x / 2) / std::sqrt(2 * std::numbers::pi); };
  const auto Phi = [](double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); };
  const double expected_mean = 1.0 + 2.0 * (phi(-1.0) - phi(0.5)) / (Phi(0.5) - Phi(-1.0));
  CHECK(t.mean().item<double>() == doctest::Approx(expected_mean).epsilon(0.02));
  CHECK(contains(error_message([] { nn::init::trunc_normal_(empty({3}), 0.0, 1.0, 8.0, 9.0); }), "too far in the tail"));

  // dirac_: a convolution that passes its input through (groups too).
  const Tensor weight = empty({4, 2, 3, 3}, kFloat64);
  nn::init::dirac_(weight, 2);
  const Tensor x = randn({1, 4, 5, 5}, kFloat64);
  check_close(conv2d(x, weight, {}, {.padding = {1, 1}, .groups = 2}), x, 0, 0);
  const Tensor square = empty({3, 3, 3}, kFloat64);
  nn::init::dirac_(square);
  const Tensor s = randn({2, 3, 7}, kFloat64);
  check_close(F::conv1d(s, square, {}, {.padding = 1}), s, 0, 0);

  // sparse_: ceil(0.3 * 10) = 3 zeros in every column, the rest N(0, std^2).
  const Tensor m = empty({10, 50}, kFloat64);
  nn::init::sparse_(m, 0.3, 0.5);
  for (double zeros_in_column : values((m == Scalar(0.0)).to(kFloat64).sum({0}))) CHECK(zeros_in_column == 3.0);
  CHECK(m.std().item<double>() == doctest::Approx(0.5 * std::sqrt(0.7)).epsilon(0.15));
}
