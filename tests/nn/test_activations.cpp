// Tests for the activation and similarity layers added after the first set (nn/activation.h:
// PReLU, Softplus, SiLU, Mish, Hardtanh, ReLU6, Softsign, Dropout2d, CosineSimilarity,
// PairwiseDistance, and their F:: forms): known answers computed once with PyTorch 1.13 (inputs by
// the formulas of nn/pytorch_reference.h; the script follows), PReLU's parameter and its
// gradient, channel dropout's statistics, printing, errors. The finite-difference rows are in
// tests/autograd/gradcheck_cases_activations.cpp.
//
// The known answers came from (float64; pattern and inputs_of as in tests/nn/test_rnn.cpp):
//   x = inputs_of((2, 3, 4), 1) * 4
//   m = torch.nn.PReLU(3); m.weight.data.copy_(pattern((3,), 1)); prelu_channels = m(x)
//   prelu_default = torch.nn.PReLU()(x)
//   softplus_default = F.softplus(x); softplus_beta = F.softplus(x, beta=2, threshold=3)
//   silu_out = F.silu(x); mish_out = F.mish(x); hardtanh_out = F.hardtanh(x, -0.5, 2.0); relu6_out = F.relu6(x * 2)
//   softsign_out = F.softsign(x)
//   a, b = inputs_of((3, 4), 2), inputs_of((3, 4), 3)
//   cosine_similarity_dim0 = torch.nn.CosineSimilarity(dim=0)(a, b)
//   pairwise_distance_out = torch.nn.PairwiseDistance()(a, b)
//   pairwise_distance_p1_keepdim = F.pairwise_distance(a, b, p=1, keepdim=True)
//   pairwise_distance_p3_eps = F.pairwise_distance(a, b, p=3, eps=1e-3)
#include <cmath>
#include <string>
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
using cake::testing::values;
using cake::testing::contains;

namespace {

// ---- PyTorch 1.13's answers ----------------------------------------------------------------
// prelu_channels: shape [2, 3, 4]
const std::vector<double> prelu_channels = {
    0.8, 0.8, 1.0, -0.0, 4.0, -0.08000000000000002, 3.2, -0.16000000000000003, 2.4, 0.96, 1.6, 1.2800000000000002,
    0.8, 1.0, -0.0, 4.0, -0.08000000000000002, 3.2, -0.16000000000000003, 2.4, 0.96, 1.6, 1.2800000000000002, 0.8
};
// prelu_default: shape [2, 3, 4]
const std::vector<double> prelu_default = {
    -0.8, 0.8, -1.0, 0.0, 4.0, -0.2, 3.2, -0.4, 2.4, -0.6, 1.6, -0.8, 0.8, -1.0, 0.0, 4.0, -0.2, 3.2, -0.4, 2.4,
    -0.6, 1.6, -0.8, 0.8
};
// softplus_default: shape [2, 3, 4]
const std::vector<double> softplus_default = {
    0.03995333316243035, 1.1711006659477778, 0.018149927917809738, 0.6931471805599453, 4.0181499279178094,
    0.3711006659477777, 3.2399533331624304, 0.1839007408883388, 2.4868361521539497, 0.08683615215394969,
    1.783900740888339, 0.03995333316243035, 1.1711006659477778, 0.018149927917809738, 0.6931471805599453,
    4.0181499279178094, 0.3711006659477777, 3.2399533331624304, 0.1839007408883388, 2.4868361521539497,
    0.08683615215394969, 1.783900740888339, 0.03995333316243035, 1.1711006659477778
};
// softplus_beta: shape [2, 3, 4]
const std::vector<double> softplus_beta = {
    0.0008300892070227803, 0.8919503704441695, 0.00016770318644788442, 0.34657359027997264, 4.0, 0.0919503704441694,
    3.2, 0.019976666581215174, 2.4, 0.004098033669133887, 1.6, 0.0008300892070227803, 0.8919503704441695,
    0.00016770318644788442, 0.34657359027997264, 4.0, 0.0919503704441694, 3.2, 0.019976666581215174, 2.4,
    0.004098033669133887, 1.6, 0.0008300892070227803, 0.8919503704441695
};
// silu_out: shape [2, 3, 4]
const std::vector<double> silu_out = {
    -0.12533031294964594, 0.55197958490209, -0.07194483984836623, 0.0, 3.928055160151634, -0.24802041509791004,
    3.0746696870503545, -0.26877058378572083, 2.200385528414586, -0.19961447158541368, 1.3312294162142793,
    -0.12533031294964594, 0.55197958490209, -0.07194483984836623, 0.0, 3.928055160151634, -0.24802041509791004,
    3.0746696870503545, -0.26877058378572083, 2.200385528414586, -0.19961447158541368, 1.3312294162142793,
    -0.12533031294964594, 0.55197958490209
};
// mish_out: shape [2, 3, 4]
const std::vector<double> mish_out = {
    -0.12778268151702063, 0.659699757427687, -0.07259174079202535, 0.0, 3.9974128069762385, -0.28396326278162165,
    3.1901977316371823, -0.2909684233430078, 2.367023175969308, -0.20788450873888226, 1.5121810268488909,
    -0.12778268151702063, 0.659699757427687, -0.07259174079202535, 0.0, 3.9974128069762385, -0.28396326278162165,
    3.1901977316371823, -0.2909684233430078, 2.367023175969308, -0.20788450873888226, 1.5121810268488909,
    -0.12778268151702063, 0.659699757427687
};
// hardtanh_out: shape [2, 3, 4]
const std::vector<double> hardtanh_out = {
    -0.5, 0.8, -0.5, 0.0, 2.0, -0.5, 2.0, -0.5, 2.0, -0.5, 1.6, -0.5, 0.8, -0.5, 0.0, 2.0, -0.5, 2.0, -0.5, 2.0,
    -0.5, 1.6, -0.5, 0.8
};
// relu6_out: shape [2, 3, 4]
const std::vector<double> relu6_out = {
    0.0, 1.6, 0.0, 0.0, 6.0, 0.0, 6.0, 0.0, 4.8, 0.0, 3.2, 0.0, 1.6, 0.0, 0.0, 6.0, 0.0, 6.0, 0.0, 4.8, 0.0, 3.2,
    0.0, 1.6
};
// softsign_out: shape [2, 3, 4]
const std::vector<double> softsign_out = {
    -0.7619047619047619, 0.4444444444444445, -0.8, 0.0, 0.8, -0.4444444444444445, 0.7619047619047619,
    -0.6153846153846154, 0.7058823529411765, -0.7058823529411765, 0.6153846153846154, -0.7619047619047619,
    0.4444444444444445, -0.8, 0.0, 0.8, -0.4444444444444445, 0.7619047619047619, -0.6153846153846154,
    0.7058823529411765, -0.7058823529411765, 0.6153846153846154, -0.7619047619047619, 0.4444444444444445
};
// cosine_similarity_dim0: shape [4]
const std::vector<double> cosine_similarity_dim0 = {
    0.969765149118303, 0.8528028654224417, -0.019999999999999934, 0.8528028654224417
};
// pairwise_distance_out: shape [3]
const std::vector<double> pairwise_distance_out = {0.399998, 2.029779002749807, 0.399998};
// pairwise_distance_p1_keepdim: shape [3, 1]
const std::vector<double> pairwise_distance_p1_keepdim = {0.799996, 2.5999980000000003, 0.7999959999999999};
// pairwise_distance_p3_eps: shape [3]
const std::vector<double> pairwise_distance_p3_eps = {0.31589280934167174, 2.0029662483438044, 0.31589280934167174};

const Shape activation_shape{2, 3, 4};
Tensor activation_input() { return inputs_of(activation_shape, 1) * 4.0; }

}  // namespace

TEST_CASE("PReLU: one slope per channel or one for all, PyTorch's answers, its parameter and gradient") {
  const Tensor x = activation_input();
  nn::PReLU per_channel(nn::PReLUOptions().num_parameters(3));
  per_channel->to(kFloat64);
  REQUIRE(per_channel->named_parameters().size() == 1);
  CHECK(per_channel->named_parameters()[0].first == "weight");
  CHECK(per_channel->weight.sizes() == Shape{3});
  CHECK(values(per_channel->weight) == std::vector<double>{0.25, 0.25, 0.25});  // PyTorch's init
  {
    NoGradGuard no_grad;
    per_channel->weight.copy_(pattern({3}, 1));
  }
  check_answer(per_channel(x), activation_shape, prelu_channels);
  nn::PReLU shared;
  shared->to(kFloat64);
  check_answer(shared(x), activation_shape, prelu_default);
  check_answer(F::prelu(x, full({1}, 0.25, kFloat64)), activation_shape, prelu_default);
  // d/da [max(0, x) + a min(0, x)] = min(0, x), summed over the elements of each channel.
  per_channel(x).sum().backward();
  check_close(per_channel->weight.grad(), x.clamp_max(0.0).sum({0, 2}), 1e-12, 1e-12);
  // reset_parameters refills init; clone copies the learned slopes.
  auto copy = std::dynamic_pointer_cast<nn::PReLU>(per_channel->clone());
  REQUIRE(copy);
  CHECK(values(copy->weight) == values(per_channel->weight));
  nn::PReLU custom(nn::PReLUOptions().init(0.1));
  CHECK(custom->weight.item<double>() == doctest::Approx(0.1));  // float32
  CHECK(per_channel->extra_repr() == "num_parameters=3");
  CHECK(contains(error_message([&] { per_channel(randn({2, 4, 5}, kFloat64)); }),
                 "weight of shape [3] holds one slope per channel, but the input of shape [2, 4, 5]"));
}

TEST_CASE("Softplus, SiLU, Mish, Hardtanh, ReLU6, Softsign: PyTorch's answers, modules and F:: forms") {
  const Tensor x = activation_input();
  check_answer(nn::Softplus()(x), activation_shape, softplus_default);
  check_answer(F::softplus(x), activation_shape, softplus_default);
  // beta 2, threshold 3: x itself where 2 x > 3 (PyTorch's cut-off), log(1 + e^{2x}) / 2 below.
  check_answer(nn::Softplus(nn::SoftplusOptions().beta(2).threshold(3))(x), activation_shape, softplus_beta);
  check_answer(F::softplus(x, F::SoftplusFuncOptions().beta(2).threshold(3)), activation_shape, softplus_beta);
  check_answer(nn::SiLU()(x), activation_shape, silu_out);
  check_answer(nn::Mish()(x), activation_shape, mish_out);
  check_answer(F::mish(x), activation_shape, mish_out);
  check_answer(nn::Hardtanh(nn::HardtanhOptions().min_val(-0.5).max_val(2.0))(x), activation_shape, hardtanh_out);
  check_answer(F::hardtanh(x, -0.5, 2.0), activation_shape, hardtanh_out);
  check_answer(nn::ReLU6()(x * 2.0), activation_shape, relu6_out);
  check_answer(F::relu6(x * 2.0), activation_shape, relu6_out);
  check_answer(nn::Softsign()(x), activation_shape, softsign_out);
  // Stable at extreme inputs, in float32 as well.
  const Tensor extreme = tensor({-1000.0f, 1000.0f});
  check_close(F::softplus(extreme), tensor({0.0f, 1000.0f}));
  check_close(F::mish(extreme), tensor({0.0f, 1000.0f}));
  CHECK(nn::Softplus(nn::SoftplusOptions().beta(2))->extra_repr() == "beta=2.000000, threshold=20.000000");
  CHECK(contains(error_message([] { nn::Hardtanh(nn::HardtanhOptions().min_val(1).max_val(0)); }),
                 "min_val (1) must not exceed max_val (0)"));
  nn::Sequential net(nn::Linear(4, 4), nn::SiLU(), nn::Mish(), nn::ReLU6(), nn::Softsign(), nn::Softplus(),
                     nn::Hardtanh(), nn::PReLU());
  CHECK(net->forward(randn({2, 4})).sizes() == Shape{2, 4});
}

TEST_CASE("Dropout2d: drops whole channels, rescales the rest, identity in evaluation") {
  manual_seed(21);
  nn::Dropout2d drop(nn::Dropout2dOptions(0.5));
  const Tensor x = ones({16, 8, 3, 3}, kFloat64);
  const Tensor y = drop(x);
  // Each [3, 3] feature map is all 0 or all 2 (kept and scaled by 1 / (1 - p)).
  const auto v = values(y);
  std::int64_t dropped = 0;
  for (std::size_t map = 0; map < v.size() / 9; ++map) {
    const double first = v[map * 9];
    CHECK((first == 0.0 || first == 2.0));
    for (std::size_t i = 1; i < 9; ++i) CHECK(v[map * 9 + i] == first);
    dropped += first == 0.0 ? 1 : 0;
  }
  CHECK(dropped > 64 - 24);  // 128 maps, p = 1/2: 64 expected, a spread of over 5 standard deviations
  CHECK(dropped < 64 + 24);
  // Unbatched [C, H, W], as libtorch reads a 3-D input: one draw per channel.
  const auto u = values(F::dropout2d(ones({32, 2, 2}, kFloat64), 0.5));
  for (std::size_t c = 0; c < 32; ++c)
    for (std::size_t i = 1; i < 4; ++i) CHECK(u[c * 4 + i] == u[c * 4]);
  drop->eval();
  check_close(drop(x), x);
  check_close(F::dropout2d(x, F::Dropout2dFuncOptions().p(0.3).training(false)), x);
  CHECK(contains(error_message([] { F::dropout2d(ones({4, 5}), 0.5); }), "expected an input of shape [N, C, H, W]"));
  CHECK(contains(error_message([] { nn::Dropout2d(1.5); }), "probability must be in [0, 1]"));
}

TEST_CASE("CosineSimilarity, PairwiseDistance: PyTorch's answers") {
  const Tensor a = inputs_of({3, 4}, 2), b = inputs_of({3, 4}, 3);
  check_answer(nn::CosineSimilarity(nn::CosineSimilarityOptions().dim(0))(a, b), {4}, cosine_similarity_dim0);
  check_answer(nn::PairwiseDistance()(a, b), {3}, pairwise_distance_out);
  check_answer(nn::PairwiseDistance(nn::PairwiseDistanceOptions().p(1).keepdim(true))(a, b), {3, 1},
               pairwise_distance_p1_keepdim);
  check_answer(F::pairwise_distance(a, b, 3.0, 1e-3), {3}, pairwise_distance_p3_eps);
  check_answer(F::pairwise_distance(a, b, F::PairwiseDistanceFuncOptions().p(3).eps(1e-3)), {3},
               pairwise_distance_p3_eps);
  // Broadcasting: one reference row against every row.
  check_close(F::pairwise_distance(a, b.narrow(0, 0, 1)), F::pairwise_distance(a, b.narrow(0, 0, 1).expand({3, 4})));
}

// The answers below came from PyTorch 1.13 on x = [-4, -2.5, -1, -0.3, 0, 0.2, 0.7, 1.5, 3.5, 5]
// (float64): F.selu(x), F.celu(x, alpha=0.5), F.hardsigmoid(x), F.hardswish(x), F.logsigmoid(x),
// F.softmin(x.reshape(2, 5), dim=1), F.glu(x.reshape(2, 5)[:, :4], dim=1), F.glu(x.reshape(2, 5), dim=0),
// F.threshold(x, 0.5, -2.0), F.tanhshrink(x), F.softshrink(x, 0.5), F.hardshrink(x, 0.5).
TEST_CASE("SELU, CELU, Hardsigmoid, Hardswish, LogSigmoid, Softmin, GLU, Threshold and the shrinks: PyTorch's answers") {
  const Tensor x = tensor(std::vector<double>{-4, -2.5, -1, -0.3, 0, 0.2, 0.7, 1.5, 3.5, 5}, {10});
  const auto expect = [](const Tensor& got, const std::vector<double>& want) {
    REQUIRE(got.numel() == static_cast<std::int64_t>(want.size()));
    check_close(got.reshape({-1}), tensor(want, {static_cast<std::int64_t>(want.size())}), 1e-12, 1e-14);
  };
  expect(nn::SELU()(x), {-1.7258986281898945, -1.6137857588732423, -1.1113307378125625, -0.45566731537912203, 0.0,
                         0.2101401974710961, 0.7354906911488363, 1.5760514810332207, 3.677453455744182, 5.253504936777402});
  expect(nn::CELU(nn::CELUOptions().alpha(0.5))(x),
         {-0.49983226868604874, -0.49663102650045726, -0.43233235838169365, -0.22559418195298675, 0.0, 0.2, 0.7, 1.5,
          3.5, 5.0});
  expect(nn::Hardsigmoid()(x), {0.0, 0.08333333333333333, 0.3333333333333333, 0.45, 0.5, 0.5333333333333333,
                                0.6166666666666667, 0.75, 1.0, 1.0});
  expect(nn::Hardswish()(x), {-0.0, -0.20833333333333334, -0.3333333333333333, -0.135, 0.0, 0.10666666666666669,
                              0.43166666666666664, 1.125, 3.5, 5.0});
  expect(nn::LogSigmoid()(x), {-4.0181499279178094, -2.5788897342925496, -1.3132616875182228, -0.8543552444685272,
                               -0.6931471805599453, -0.5981388693815918, -0.4031860488854579, -0.2014132779827524,
                               -0.029750418272620566, -0.006715348489118068});
  expect(nn::Softmin(1)(x.reshape({2, 5})),
         {0.7599035991269395, 0.16955741177056222, 0.03783337244271881, 0.01878749674792106, 0.01391811991185844,
          0.5197031502678349, 0.31521589458668375, 0.14163563138791793, 0.01916829829028035, 0.004277025467283127});
  expect(nn::GLU(nn::GLUOptions(1))(x.reshape({2, 5}).narrow(1, 0, 4)),
         {-1.0757656854799804, -1.0638937079708526, 0.16351489523872875, 0.6794814384740505});
  expect(F::glu(x.reshape({2, 5}), 0), {-2.199335989249912, -1.6704694304204155, -0.8175744761936437,
                                        -0.29120633077459307, 0.0});
  expect(nn::Threshold(nn::ThresholdOptions(0.5, -2.0))(x), {-2, -2, -2, -2, -2, -2, 0.7, 1.5, 3.5, 5});
  expect(nn::Tanhshrink()(x), {-3.000670700260933, -1.5133857018485697, -0.23840584404423515, -0.008687387548409087,
                               0.0, 0.002624679775096006, 0.09563222288283646, 0.5948517463551336, 2.501822102388801,
                               4.000090795737405});
  expect(nn::Softshrink()(x), {-3.5, -2.0, -0.5, 0.0, 0.0, 0.0, 0.19999999999999996, 1.0, 3.0, 4.5});
  expect(nn::Hardshrink(nn::HardshrinkOptions(0.5))(x), {-4.0, -2.5, -1.0, 0.0, 0.0, 0.0, 0.7, 1.5, 3.5, 5.0});
  CHECK(nn::GLU()->extra_repr() == "dim=-1");
  CHECK(nn::Softmin(1)->name() == "Softmin");
  CHECK(contains(error_message([&] { F::glu(x.reshape({2, 5}), 1); }),
                 "glu: dim 1 of the input of shape [2, 5] has odd size 5"));
  CHECK(contains(error_message([&] { F::softshrink(x, -1.0); }), "softshrink: lambd must be non-negative"));
  nn::Sequential net(nn::Linear(4, 8), nn::SELU(), nn::Hardswish(), nn::GLU(), nn::Softshrink(),
                     nn::CELU(), nn::Threshold(nn::ThresholdOptions(0.1, 0.0)));
  CHECK(net->forward(randn({2, 4})).sizes() == Shape{2, 4});
}
