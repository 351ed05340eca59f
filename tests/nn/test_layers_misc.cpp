// Tests for Bilinear, LPPool1d/2d, RReLU, AlphaDropout, FeatureAlphaDropout, Softmax2d (nn/linear.h,
// nn/pooling.h, nn/activation.h) and ParameterList / ParameterDict (nn/sequential.h): answers
// against a direct loop or PyTorch 1.13, the random layers' statistics and gradients, printing,
// cloning, and errors. The finite-difference rows are in tests/autograd/gradcheck_cases_nn_misc.cpp.
//
// PyTorch's answers came from (float64; sine_wave as in nn/pytorch_reference.h):
//   F.lp_pool2d(sine_wave((1, 2, 4, 5)).abs() + 0.1, 2.0, 2)
//   F.lp_pool1d(sine_wave((2, 3, 7)).abs(), 1.5, 3, stride=2, ceil_mode=True)
//   F.rrelu(torch.tensor([-2.0, -0.5, 0.0, 1.0]), 0.1, 0.3, training=False)
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
using cake::testing::sine_wave;
using cake::testing::values;

TEST_CASE("Bilinear: x1^T W_o x2 + b_o against a direct loop, leading dims, PyTorch's init bounds") {
  manual_seed(1);
  nn::Bilinear layer(nn::BilinearOptions(3, 4, 2));
  layer->to(kFloat64);
  CHECK(layer->weight.sizes() == Shape{2, 3, 4});
  CHECK(layer->extra_repr() == "in1_features=3, in2_features=4, out_features=2, bias=true");
  const double bound = 1.0 / std::sqrt(3.0);
  for (double w : values(layer->weight)) CHECK(std::abs(w) <= bound);
  const Tensor x1 = randn({2, 5, 3}, kFloat64), x2 = randn({2, 5, 4}, kFloat64);
  const Tensor y = layer(x1, x2);
  REQUIRE(y.sizes() == Shape{2, 5, 2});
  const std::vector<double> a = values(x1), b = values(x2), w = values(layer->weight), bias = values(layer->bias);
  std::vector<double> expected;
  for (int m = 0; m < 10; ++m)
    for (int o = 0; o < 2; ++o) {
      double sum = bias[o];
      for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 4; ++j) sum += a[m * 3 + i] * w[(o * 3 + i) * 4 + j] * b[m * 4 + j];
      expected.push_back(sum);
    }
  check_close(y.reshape({-1}), tensor(expected, {20}), 1e-12, 1e-12);
  nn::Bilinear no_bias(3, 4, 2, /*bias=*/false);
  CHECK(no_bias->named_parameters().size() == 1);
  CHECK(contains(error_message([&] { layer(x1, randn({2, 4, 4}, kFloat64)); }),
                 "must agree in every dim but the last"));
  CHECK(contains(error_message([&] { layer(x2, x1); }), "must end in 3 and 4"));
}

TEST_CASE("LPPool2d, LPPool1d: PyTorch's answers; p = 1 sums the window") {
  check_close(nn::LPPool2d(nn::LPPool2dOptions(2.0, 2))(sine_wave({1, 2, 4, 5}).abs() + 0.1).reshape({-1}),
              tensor(std::vector<double>{1.6463950499455933, 1.7276623964475832, 2.0518190070990565, 0.995188135009974,
                                         1.6956633802567778, 1.2997387257449475, 0.97385460725466, 1.966144169339015},
                     {8}),
              1e-12, 1e-12);
  const Tensor s = sine_wave({2, 3, 7}).abs();
  const Tensor pooled = nn::LPPool1d(nn::LPPool1dOptions(1.5, 3).stride(2).ceil_mode(true))(s);
  CHECK(pooled.sizes() == Shape{2, 3, 3});
  check_close(pooled.reshape({-1}),
              tensor(std::vector<double>{1.544820128929511, 1.3399884893012015, 1.2831875794437824, 1.1497759627454138,
                                         1.556686414304102, 1.3265048186992654, 1.7347576865793302, 1.1423352651171894,
                                         1.5682881006146707, 1.0230906779896705, 1.7391284436658596, 1.1349796927966254,
                                         1.7389071951871422, 1.0231689224413794, 1.743114001969732, 1.1427262023342761,
                                         1.7345161550418322, 1.0252410791267679},
                     {18}),
              1e-12, 1e-12);
  check_close(F::lp_pool2d(s.reshape({1, 6, 7, 1}).expand({1, 6, 7, 2}), 1.0, 2, 2), 
              F::avg_pool2d(s.reshape({1, 6, 7, 1}).expand({1, 6, 7, 2}), 2) * 4.0, 1e-12, 1e-12);
  CHECK(nn::LPPool2d(nn::LPPool2dOptions(2.0, 3).stride(2))->extra_repr() ==
        "norm_type=2.000000, kernel_size=3, stride=2, ceil_mode=false");
}

TEST_CASE("RReLU: the mean slope in evaluation, a slope in [lower, upper] per element in training") {
  nn::RReLU layer(nn::RReLUOptions().lower(0.1).upper(0.3));
  layer->eval();
  CHECK(values(layer(tensor(std::vector<double>{-2.0, -0.5, 0.0, 1.0}, {4}))) ==
        std::vector<double>{-0.4, -0.1, 0.0, 1.0});  // PyTorch's
  layer->train();
  manual_seed(3);
  const Tensor x = -rand({10000}, kFloat64) - 0.5;  // all negative
  const Tensor xr = x.detach().requires_grad_(true);
  manual_seed(11);
  const Tensor y = layer(xr);
  const Tensor slopes = y / x;
  CHECK(values(slopes.amin({})).front() >= 0.1);
  CHECK(values(slopes.amax({})).front() <= 0.3);
  CHECK(slopes.mean().item<double>() == doctest::Approx(0.2).epsilon(0.01));
  // The gradient of a x in x is the slope drawn.
  y.sum().backward();
  check_close(xr.grad(), slopes, 1e-12, 1e-15);
  manual_seed(11);
  const Tensor again = layer(x);
  check_close(again, y.detach(), 0, 0);  // the seed fixes the slopes
}

TEST_CASE("AlphaDropout: identity in evaluation; in training zero mean and unit variance are kept") {
  nn::AlphaDropout drop(nn::AlphaDropoutOptions(0.2));
  manual_seed(5);
  const Tensor x = randn({200000}, kFloat64);
  drop->eval();
  check_close(drop(x), x, 0, 0);
  drop->train();
  const Tensor y = drop(x);
  CHECK(y.mean().item<double>() == doctest::Approx(0.0).epsilon(0.01).scale(1.0));
  CHECK(y.var().item<double>() == doctest::Approx(1.0).epsilon(0.01));
  // Two values only for the dropped elements' image: a (-alpha') + b, the same for all of them.
  constexpr double alpha = 1.7580993408473766, p = 0.2;
  const double a = 1.0 / std::sqrt((alpha * alpha * p + 1.0) * (1.0 - p)), b = alpha * a * p;
  const Tensor kept = (y - (x * a + b)).abs().lt(1e-12);
  const double kept_share = kept.to(kFloat64).mean().item<double>();
  CHECK(kept_share == doctest::Approx(0.8).epsilon(0.01));
  const Tensor dropped_values = masked_select(y, kept.logical_not());
  check_close(dropped_values, full(dropped_values.sizes(), -alpha * a + b, kFloat64), 1e-12, 1e-12);
  CHECK(drop->extra_repr() == "p=0.200000");
  // The feature form drops whole channels: within a channel all kept or all dropped.
  nn::FeatureAlphaDropout features(nn::FeatureAlphaDropoutOptions(0.5));
  features->train();
  const Tensor maps = randn({8, 16, 3, 3}, kFloat64);
  const Tensor out = features(maps);
  const Tensor same = (out - (maps * (1.0 / std::sqrt((alpha * alpha * 0.5 + 1.0) * 0.5)) +
                              alpha * 0.5 / std::sqrt((alpha * alpha * 0.5 + 1.0) * 0.5)))
                          .abs()
                          .lt(1e-12)
                          .to(kFloat64)
                          .mean({2, 3});
  for (double share : values(same)) CHECK((share == 0.0 || share == 1.0));
  CHECK(contains(error_message([] { F::alpha_dropout(randn({3}), 1.5, true); }), "probability must be in [0, 1]"));
}

TEST_CASE("Softmax2d: a distribution over the channels at every pixel") {
  const Tensor x = randn({2, 3, 4, 5});
  const Tensor y = nn::Softmax2d()(x);
  check_close(y.sum({1}), ones({2, 4, 5}), 1e-6, 1e-6);
  check_close(nn::Softmax2d()(x[0]), y[0], 0, 0);
  CHECK(contains(error_message([&] { nn::Softmax2d()(randn({3, 4})); }), "Softmax2d: expected an input [N, C, H, W]"));
}

TEST_CASE("ParameterList, ParameterDict: registered, trained, named, cloned and checked") {
  nn::ParameterList list({ones({3}), zeros({2})});
  list->append(full({1}, 2.0));
  CHECK(list->size() == 3);
  CHECK(list[2].item<float>() == 2.0f);
  CHECK(list[0].requires_grad());
  nn::ParameterDict dict;
  dict->insert("scale", ones({3}));
  dict->insert("shift", zeros({3}));
  CHECK(dict->keys() == std::vector<std::string>{"scale", "shift"});
  CHECK(dict->contains("shift"));
  CHECK_FALSE(dict->contains("bias"));
  CHECK(contains(error_message([&] { (void)dict["bias"]; }), "no parameter under 'bias' (keys: 'scale', 'shift')"));
  CHECK(contains(error_message([&] { (void)list[3]; }), "index 3 is out of range for a list of 3 parameters"));
  CHECK(contains(error_message([&] { dict->insert("scale", ones({1})); }), "scale"));

  // Inside a model: named "<member>.<key>", trained by an optimiser, cloned with their values.
  struct Model : nn::Module {
    nn::ParameterList list = register_module("list", nn::ParameterList({ones({2})}));
    nn::ParameterDict dict = register_module("dict", nn::ParameterDict({{"w", full({2}, 3.0)}}));
  };
  auto model = std::make_shared<Model>();
  std::vector<std::string> names;
  for (const auto& [name, p] : model->named_parameters()) names.push_back(name);
  CHECK(names == std::vector<std::string>{"list.0", "dict.w"});
  optim::SGD sgd(model->parameters(), {.lr = 0.5});
  (model->list[0] * model->dict["w"]).sum().backward();
  sgd.step();
  CHECK(values(model->list[0]) == std::vector<double>{-0.5, -0.5});  // 1 - 0.5 * 3
  CHECK(values(model->dict["w"]) == std::vector<double>{2.5, 2.5});   // 3 - 0.5 * 1
  // A holder that register_module returned indexes like the container, as libtorch's; so do
  // ModuleList's and ModuleDict's.
  struct Blocks : nn::Module {
    nn::ModuleList list = register_module("list", nn::ModuleList(nn::Linear(2, 3)));
    nn::ModuleDict dict = register_module("dict", nn::ModuleDict({{"head", std::make_shared<nn::Linear>(3, 1)}}));
  };
  Blocks blocks;
  CHECK(blocks.list[0]->name() == "Linear");
  CHECK(blocks.dict["head"]->name() == "Linear");
  CHECK(blocks.dict->contains("head"));
  CHECK(model->list->size() == 1);
  CHECK(model->dict->keys() == std::vector<std::string>{"w"});
  model->list->append(zeros({1}));
  CHECK(model->named_parameters().size() == 3);
  auto copy = std::dynamic_pointer_cast<nn::ParameterDict>(dict->clone());
  REQUIRE(copy);
  CHECK(copy->keys() == dict->keys());
  CHECK(values((*copy)["scale"]) == values(dict["scale"]));
  CHECK((*copy)["scale"].data_ptr<float>() != dict["scale"].data_ptr<float>());
  auto list_copy = std::dynamic_pointer_cast<nn::ParameterList>(list->clone());
  REQUIRE(list_copy);
  CHECK(values((*list_copy)[2]) == std::vector<double>{2.0});
}

TEST_CASE("Embedding: padding_idx passes no gradient, max_norm rescales the rows looked up, from_pretrained") {
  manual_seed(2);
  nn::Embedding table(nn::EmbeddingOptions(5, 3).padding_idx(-1));  // row 4, counted from the end
  CHECK(*table->options.padding_idx() == 4);
  CHECK(values(table->weight[4]) == std::vector<double>{0, 0, 0});  // starts at zero
  CHECK(table->extra_repr() == "5, 3, padding_idx=4");
  const Tensor ids = tensor(std::vector<std::int64_t>{4, 1, 4, 2}, {2, 2});
  table(ids).sum().backward();
  const std::vector<double> grad = values(table->weight.grad());
  CHECK(std::vector<double>(grad.begin() + 12, grad.end()) == std::vector<double>{0, 0, 0});  // the padding row
  CHECK(std::vector<double>(grad.begin() + 3, grad.begin() + 6) == std::vector<double>{1, 1, 1});

  // max_norm: rows 0 and 2 are looked up and rescaled to norm 1 (PyTorch's max_norm / (norm + 1e-7));
  // row 1 is not looked up and keeps its norm of 5.
  const Tensor rows = tensor(std::vector<double>{3, 4, 0, 0, 0, 0, 6, 8}, {4, 2});
  nn::Embedding limited = nn::Embedding::from_pretrained(
      rows, nn::EmbeddingFromPretrainedOptions().freeze(false).max_norm(1.0));
  {
    NoGradGuard no_grad;
    limited->weight.index_put_({1}, tensor(std::vector<double>{0, 5}, {2}));  // a row with norm 5 not looked up
  }
  const Tensor looked_up = limited(tensor(std::vector<std::int64_t>{0, 3}, {2}));
  check_close(looked_up, tensor(std::vector<double>{0.6, 0.8, 0.6, 0.8}, {2, 2}), 1e-6, 1e-7);
  CHECK(values(limited->weight[1]) == std::vector<double>{0, 5});
  check_close(limited->weight[3], tensor(std::vector<double>{0.6, 0.8}, {2}), 1e-6, 1e-7);  // in place
  CHECK(limited->weight.requires_grad());

  // from_pretrained keeps the table (float64 here) and freezes it by default.
  nn::Embedding frozen = nn::Embedding::from_pretrained(rows);
  CHECK(frozen->weight.dtype() == kFloat64);
  CHECK_FALSE(frozen->weight.requires_grad());
  CHECK(values(frozen(tensor(std::vector<std::int64_t>{3}, {1}))) == std::vector<double>{6, 8});
  CHECK(contains(error_message([] { nn::Embedding(nn::EmbeddingOptions(5, 3).padding_idx(5)); }),
                 "padding_idx 5 is outside the table of 5 rows"));
  check_close(F::embedding(ids, table->weight, F::EmbeddingFuncOptions().padding_idx(4)), table(ids), 0, 0);
}
