// Tests for the libtorch spellings of nn: layer values (holders), CAKE_MODULE, builder-style
// options, ModuleList / ModuleDict, modules() / named_modules(), apply, clone(), GroupNorm
// and Upsample (against naive loops).
#include <cmath>
#include <sstream>

#include "helpers.h"

using namespace cake;
namespace F = cake::nn::functional;
using cake::testing::values;
using cake::testing::check_close;

namespace {

// libtorch's way: an Impl with holder members, and CAKE_MODULE for the user's holder.
struct NetImpl : nn::Module {
  nn::Linear fc1{nullptr};
  nn::Linear fc2{nullptr};
  nn::Sequential head{nullptr};
  NetImpl(std::int64_t in, std::int64_t out) {
    fc1 = register_module("fc1", nn::Linear(in, 8));
    fc2 = register_module("fc2", nn::Linear(nn::LinearOptions(8, 8).bias(false)));
    head = register_module("head", nn::Sequential(nn::ReLU(), nn::Linear(8, out)));
  }
  Tensor forward(const Tensor& x) override { return head(fc2(fc1(x))); }
};
CAKE_MODULE(Net);

// A Cloneable module: everything registered in reset().
struct KeyEncoderImpl : nn::Cloneable<KeyEncoderImpl> {
  nn::Linear fc{nullptr};
  nn::BatchNorm1d bn{nullptr};
  Tensor temperature;
  KeyEncoderImpl() { reset(); }
  void reset() override {
    fc = register_module("fc", nn::Linear(4, 3));
    bn = register_module("bn", nn::BatchNorm1d(3));
    temperature = register_parameter("temperature", full({1}, 0.5));
  }
  Tensor forward(const Tensor& x) override { return bn(fc(x)) / temperature; }
};
CAKE_MODULE(KeyEncoder);

}  // namespace

TEST_CASE("layer values: nullptr, register_module, -> and call") {
  manual_seed(0);
  Net net(4, 3);
  CHECK(net->fc1->weight.sizes() == Shape{8, 4});
  CHECK(!net->fc2->bias.defined());
  Tensor x = randn({5, 4});
  Tensor y = net(x);
  CHECK(y.sizes() == Shape{5, 3});
  // The holder members and the registry see the same tensors.
  auto named = net->named_parameters();
  REQUIRE(named.size() == 5);
  CHECK(named[0].first == "fc1.weight");
  CHECK(&named[0].second.impl() == &net->fc1->weight.impl());
  CHECK(named[3].first == "head.1.weight");
  // Calling through the value equals calling through the registered shared_ptr.
  CHECK(allclose(y, net.ptr()->forward(x)));
  nn::Linear empty{nullptr};
  CHECK(empty.is_empty());
  nn::Sequential no_sequential{nullptr};  // braces: still an empty holder, not a list of one null
  CHECK(no_sequential.is_empty());
  CHECK_THROWS_WITH_AS(empty->forward(x), doctest::Contains("empty"), std::exception);
  // A handle's own members are empty: Module's traversals refuse it by `.`.
  CHECK_THROWS_WITH_AS(net->fc1.parameters(), doctest::Contains("->"), std::exception);
}

TEST_CASE("layer values: a layer on the stack, then shared") {
  manual_seed(0);
  nn::Linear fc(3, 2);
  Tensor w = fc->weight;
  Tensor y = fc(ones({1, 3}));
  auto shared = fc.ptr();  // moves the layer to the heap; fc becomes a handle to it
  CHECK(&shared->weight.impl() == &w.impl());
  CHECK(allclose(fc(ones({1, 3})), y));
  CHECK(fc.ptr() == shared);
  // make_shared, as before, gives a layer that is already shared: ptr() does not move it.
  auto conv = std::make_shared<nn::Conv2d>(1, 4, 3, nn::Conv2dOptions{.stride = 2, .padding = 1});
  CHECK(conv->ptr() == conv);
}

TEST_CASE("builder options mean what libtorch means") {
  nn::Conv2dOptions o = nn::Conv2dOptions(1, 16, 3).stride(2).padding(1);
  CHECK(o.in_channels == 1);
  CHECK(o.out_channels == 16);
  CHECK(o.kernel_size == 3);
  CHECK(o.stride() == 2);
  CHECK(o.padding == 1);
  CHECK(o.dilation == 1);
  nn::Conv2d conv(nn::Conv2dOptions(1, 16, 3).stride(2).padding(1));
  CHECK(conv->weight.sizes() == Shape{16, 1, 3, 3});
  CHECK(conv(zeros({1, 1, 28, 28})).sizes() == Shape{1, 16, 14, 14});
  // The designated initializers still work and still beat nothing else.
  nn::Conv2dOptions d{.stride = 2, .padding = 1};
  CHECK(d.in_channels == 0);
  CHECK(d.stride == 2);
  nn::ConvTranspose2d up(nn::ConvTranspose2dOptions(16, 1, 3).stride(2).padding(1).output_padding(1));
  CHECK(up(zeros({1, 16, 14, 14})).sizes() == Shape{1, 1, 28, 28});
  nn::Linear fc(nn::LinearOptions(4, 2).bias(false));
  CHECK(!fc->bias.defined());
  nn::BatchNorm2d bn(nn::BatchNorm2dOptions(16).momentum(0.01).eps(1e-3));
  CHECK(bn->options.momentum == 0.01);
  CHECK(bn->num_features == 16);
  auto f = F::Conv2dFuncOptions().stride(2).padding(1);
  CHECK(F::conv2d(zeros({1, 1, 8, 8}), zeros({2, 1, 3, 3}), {}, f).sizes() == Shape{1, 2, 4, 4});
  optim::AdamOptions a = optim::AdamOptions(1e-3).weight_decay(1e-5).betas({0.8, 0.9});
  CHECK(a.lr == 1e-3);
  CHECK(a.weight_decay == 1e-5);
  CHECK(a.betas().first == 0.8);
  optim::SGDOptions s = optim::SGDOptions(0.1).momentum(0.9).nesterov(true);
  CHECK(s.lr == 0.1);
  CHECK(s.nesterov);
}

TEST_CASE("builder options of the layers with one or two settings") {
  nn::LeakyReLU leaky(nn::LeakyReLUOptions().negative_slope(0.2));
  CHECK(leaky->negative_slope == 0.2);
  CHECK(values(leaky(full({1}, -1.0)))[0] == doctest::Approx(-0.2));
  nn::ELU elu(nn::ELUOptions().alpha(0.5));
  CHECK(elu->alpha == 0.5);
  nn::Softmax softmax(nn::SoftmaxOptions(0));
  CHECK(softmax->dim == 0);
  nn::LogSoftmax log_softmax(nn::LogSoftmaxOptions(1));
  CHECK(log_softmax->dim == 1);
  nn::Dropout dropout(nn::DropoutOptions(0.2));
  CHECK(dropout->p == 0.2);
  nn::Dropout dropout2(nn::DropoutOptions().p(0.3));
  CHECK(dropout2->p == 0.3);
  CHECK_THROWS_WITH_AS(nn::Dropout(nn::DropoutOptions(1.5)), doctest::Contains("[0, 1]"), cake::Error);

  // MaxPool2dOptions(3).stride(2).padding(1): 28 -> 14; the stride defaults to the kernel.
  nn::MaxPool2d pool(nn::MaxPool2dOptions(3).stride(2).padding(1));
  CHECK(pool(zeros({1, 1, 28, 28})).sizes() == Shape{1, 1, 14, 14});
  nn::MaxPool2d pool_default(nn::MaxPool2dOptions(2));
  CHECK(pool_default(zeros({1, 1, 28, 28})).sizes() == Shape{1, 1, 14, 14});
  nn::AvgPool2d avg(nn::AvgPool2dOptions(3).stride(1).padding(1).count_include_pad(false));
  CHECK(!avg->params.count_include_pad);
  CHECK(values(avg(ones({1, 1, 4, 4})))[0] == doctest::Approx(1.0));  // corner: padding not counted
  nn::AdaptiveAvgPool2d global(nn::AdaptiveAvgPool2dOptions({1, 1}));
  CHECK(global(ones({2, 3, 5, 5})).sizes() == Shape{2, 3, 1, 1});

  nn::Flatten flatten(nn::FlattenOptions().start_dim(2));
  CHECK(flatten(zeros({2, 3, 4, 5})).sizes() == Shape{2, 3, 20});
  nn::Unflatten unflatten(nn::UnflattenOptions(1, {16, 7, 7}));
  CHECK(unflatten(zeros({2, 784})).sizes() == Shape{2, 16, 7, 7});
  nn::Embedding table(nn::EmbeddingOptions(10, 4));
  CHECK(table->weight.sizes() == Shape{10, 4});
  nn::LayerNorm norm(nn::LayerNormOptions({8}).eps(1e-6).elementwise_affine(false));
  CHECK(norm->eps == 1e-6);
  CHECK(!norm->weight.defined());
}

TEST_CASE("FuncOptions of the functions with settings") {
  const Tensor x = tensor({-1.0, 0.0, 2.0});
  CHECK(values(F::softmax(x, F::SoftmaxFuncOptions(0))) == values(F::softmax(x, 0)));
  CHECK(values(F::log_softmax(x, F::LogSoftmaxFuncOptions(0))) == values(F::log_softmax(x, 0)));
  CHECK(values(F::leaky_relu(x, F::LeakyReLUFuncOptions().negative_slope(0.2)))[0] == doctest::Approx(-0.2));
  CHECK(values(F::elu(x, F::ELUFuncOptions().alpha(2.0)))[0] == doctest::Approx(2.0 * (std::exp(-1.0) - 1.0)));
  CHECK(values(F::dropout(x, F::DropoutFuncOptions().p(0.9).training(false))) == values(x));  // identity in eval
  const std::vector<double> unit = values(F::normalize(tensor({3.0, 4.0}).reshape({1, 2}), F::NormalizeFuncOptions().dim(1)));
  CHECK(unit[0] == doctest::Approx(0.6));
  CHECK(unit[1] == doctest::Approx(0.8));
}

TEST_CASE("F::pad: the four modes against hand-written rows, as torch.nn.functional.pad") {
  const Tensor row = tensor({1.0, 2.0, 3.0, 4.0}, {1, 1, 4});
  using cake::testing::values;
  CHECK(values(F::pad(row, F::PadFuncOptions({2, 1}))) == std::vector<double>{0, 0, 1, 2, 3, 4, 0});
  CHECK(values(F::pad(row, F::PadFuncOptions({1, 1}).value(9.0))) == std::vector<double>{9, 1, 2, 3, 4, 9});
  CHECK(values(F::pad(row, F::PadFuncOptions({-1, 1}))) == std::vector<double>{2, 3, 4, 0});  // a negative count crops
  CHECK(values(F::pad(row, F::PadFuncOptions({2, 3}).mode(cake::kReflect))) ==
        std::vector<double>{3, 2, 1, 2, 3, 4, 3, 2, 1});
  CHECK(values(F::pad(row, F::PadFuncOptions({2, 1}).mode(cake::kReplicate))) == std::vector<double>{1, 1, 1, 2, 3, 4, 4});
  CHECK(values(F::pad(row, F::PadFuncOptions({3, 4}).mode(cake::kCircular))) ==
        std::vector<double>{2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4});
  // Two dims, the last one first in the list: [[1, 2], [3, 4]] padded by 1 left, 0 right, 1 on top.
  const Tensor square = tensor({1.0, 2.0, 3.0, 4.0}, {1, 2, 2});
  const Tensor padded = F::pad(square, {1, 0, 1, 0});
  CHECK(padded.sizes() == Shape({1, 3, 3}));
  CHECK(values(padded) == std::vector<double>{0, 0, 0, 0, 1, 2, 0, 3, 4});
  CHECK(values(F::pad(square, {1, 1, 1, 1}, F::PadMode::Replicate)) ==
        std::vector<double>{1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4});
  // Bad counts are refused with the shape and the rule.
  CHECK(cake::testing::error_message([&] { F::pad(row, {4, 0}, F::PadMode::Reflect); }).find("below the size") !=
        std::string::npos);
  CHECK(cake::testing::error_message([&] { F::pad(row, {1, 1, 1}); }).find("pairs") != std::string::npos);
  CHECK(cake::testing::error_message([&] { F::pad(row, {-3, -2}); }).find("[1, 1, 4]") != std::string::npos);
}

TEST_CASE("loss modules are their functions with options; F:: loss options; reduction constants") {
  manual_seed(3);
  const Tensor input = randn({4, 3}, kFloat64), target = randn({4, 3}, kFloat64);
  nn::MSELoss mse;
  CHECK(mse(input, target).item<double>() == doctest::Approx(F::mse_loss(input, target).item<double>()));
  nn::MSELoss summed(nn::MSELossOptions(cake::kSum));
  CHECK(summed(input, target).item<double>() == doctest::Approx(F::mse_loss(input, target, F::Reduction::Sum).item<double>()));
  CHECK(F::mse_loss(input, target, F::MSELossFuncOptions(cake::kNone)).sizes() == Shape({4, 3}));
  nn::L1Loss l1;
  CHECK(l1(input, target).item<double>() == doctest::Approx((input - target).abs().mean().item<double>()));
  // smooth L1 / Huber: one difference on each side of beta = delta = 1.
  const Tensor a = tensor({0.5, 3.0}, {2}, kFloat64), b = zeros({2}, kFloat64);
  CHECK(values(F::smooth_l1_loss(a, b, F::Reduction::None)) == std::vector<double>{0.125, 2.5});
  CHECK(values(F::smooth_l1_loss(a, b, F::Reduction::None, 2.0)) == std::vector<double>{0.0625, 2.0});
  CHECK(values(F::smooth_l1_loss(a, b, F::Reduction::None, 0.0)) == std::vector<double>{0.5, 3.0});
  CHECK(values(F::huber_loss(a, b, F::Reduction::None, 2.0)) == std::vector<double>{0.125, 4.0});
  nn::SmoothL1Loss smooth(nn::SmoothL1LossOptions().beta(2.0));
  nn::HuberLoss huber(nn::HuberLossOptions(cake::kSum).delta(2.0));
  CHECK(smooth(a, b).item<double>() == doctest::Approx((0.0625 + 2.0) / 2));
  CHECK(huber(a, b).item<double>() == doctest::Approx(4.125));
  // classification losses
  const Tensor logits = randn({5, 4}, kFloat64);
  const Tensor labels = tensor(std::vector<std::int64_t>{0, 3, 1, 1, 2}, {5});
  nn::CrossEntropyLoss ce;
  CHECK(ce(logits, labels).item<double>() == doctest::Approx(F::cross_entropy(logits, labels).item<double>()));
  nn::CrossEntropyLoss ignoring(nn::CrossEntropyLossOptions().ignore_index(1).reduction(cake::kSum));
  CHECK(ignoring(logits, labels).item<double>() ==
        doctest::Approx(F::cross_entropy(logits, labels, F::Reduction::Sum, {}, 1).item<double>()));
  nn::NLLLoss nll;
  CHECK(nll(F::log_softmax(logits, 1), labels).item<double>() == doctest::Approx(ce(logits, labels).item<double>()));
  const Tensor p = rand({6}, kFloat64) * 0.8 + 0.1, t = rand({6}, kFloat64);
  nn::BCELoss bce;
  CHECK(bce(p, t).item<double>() == doctest::Approx(F::binary_cross_entropy(p, t).item<double>()));
  const Tensor z = randn({6}, kFloat64), pos = full({6}, 3.0, kFloat64);
  nn::BCEWithLogitsLoss weighted(nn::BCEWithLogitsLossOptions().pos_weight(pos));
  CHECK(weighted(z, t).item<double>() ==
        doctest::Approx(F::binary_cross_entropy_with_logits(z, t, F::Reduction::Mean, {}, pos).item<double>()));
  nn::KLDivLoss kl(nn::KLDivLossOptions(cake::kBatchMean));
  const Tensor log_q = F::log_softmax(logits, 1), target_p = F::softmax(randn({5, 4}, kFloat64), 1);
  CHECK(kl(log_q, target_p).item<double>() ==
        doctest::Approx(F::kl_div(log_q, target_p, F::Reduction::BatchMean).item<double>()));
  // A loss module trains like any other: its gradient is its function's.
  const Tensor w = randn({3}, kFloat64).requires_grad_();
  mse(w, zeros({3}, kFloat64)).backward();
  check_close(w.grad(), w.detach() * (2.0 / 3.0));
  std::ostringstream printed;
  printed << *ce;
  CHECK(printed.str().find("CrossEntropyLoss") != std::string::npos);
}

TEST_CASE("F:: options of pooling and cosine similarity; nn::utils") {
  manual_seed(4);
  const Tensor x = randn({2, 3, 6, 6});
  check_close(F::max_pool2d(x, F::MaxPool2dFuncOptions(3).stride(2).padding(1)), F::max_pool2d(x, 3, 2, 1));
  check_close(F::avg_pool2d(x, F::AvgPool2dFuncOptions(2).count_include_pad(false)), F::avg_pool2d(x, 2));
  const Tensor u = randn({4, 5}), v = randn({4, 5});
  check_close(F::cosine_similarity(u, v, F::CosineSimilarityFuncOptions().dim(0)), F::cosine_similarity(u, v, 0));
  check_close(F::silu(u), u * u.sigmoid());

  nn::Linear fc(3, 2);
  const std::vector<Tensor> params = fc->parameters();
  const Tensor flat = nn::utils::parameters_to_vector(params);
  CHECK(flat.sizes() == Shape({8}));  // 6 weights, then 2 biases
  check_close(flat.narrow(0, 0, 6), fc->weight.detach().reshape({6}));
  nn::utils::vector_to_parameters(flat.detach() * 2.0, params);
  check_close(fc->bias.detach(), flat.detach().narrow(0, 6, 2) * 2.0);
  CHECK(fc->weight.requires_grad());
  CHECK(cake::testing::error_message([&] { nn::utils::vector_to_parameters(zeros({7}), params); }).find("8") !=
        std::string::npos);
  (fc(randn({5, 3})).square().sum() * 100.0).backward();
  const double norm = nn::utils::clip_grad_norm_(params, 1.0).item<double>();
  CHECK(norm > 1.0);
  CHECK(nn::utils::parameters_to_vector({fc->weight.grad(), fc->bias.grad()}).norm().item<double>() ==
        doctest::Approx(1.0).epsilon(1e-4));
}

TEST_CASE("ModuleList, ModuleDict, modules, named_modules, children, apply") {
  nn::ModuleList list(nn::Linear(2, 3), nn::ReLU());
  list->push_back(nn::Linear(3, 1));
  CHECK(list->size() == 3);
  CHECK(list->at<nn::Linear>(2)->out_features == 1);
  Tensor y = ones({4, 2});
  for (const auto& m : *list) y = m->forward(y);
  CHECK(y.sizes() == Shape{4, 1});
  CHECK(list->named_parameters()[2].first == "2.weight");

  nn::ModuleDict dict({{"enc", std::make_shared<nn::Linear>(2, 2)}});
  dict->insert("dec", nn::Linear(2, 5));
  CHECK(dict->contains("dec"));
  CHECK(dict->keys() == std::vector<std::string>{"enc", "dec"});
  CHECK(dict->at<nn::Linear>("dec")->out_features == 5);
  CHECK_THROWS_WITH_AS((*dict)["nope"], doctest::Contains("'enc', 'dec'"), std::exception);

  Net net(4, 2);
  auto named = net->named_modules();
  std::vector<std::string> names;
  for (const auto& entry : named) names.push_back(entry.first);
  CHECK(names == std::vector<std::string>{"", "fc1", "fc2", "head", "head.0", "head.1"});
  CHECK(net->modules().size() == 6);
  CHECK(net->modules(false).size() == 5);
  CHECK(net->children().size() == 3);
  CHECK(net->named_children()[2].first == "head");
  int linears = 0;
  net->apply([&](nn::Module& m) { linears += dynamic_cast<nn::Linear*>(&m) != nullptr; });
  CHECK(linears == 3);
  std::vector<std::string> visited;
  net->apply([&](const std::string& name, nn::Module&) { visited.push_back(name); });
  CHECK(visited == names);
  // modules() with include_self needs a shared_ptr owner.
  NetImpl on_stack(4, 2);
  CHECK_THROWS_WITH_AS(on_stack.modules(), doctest::Contains("shared_ptr"), std::exception);
}

TEST_CASE("clone: Cloneable modules and built-in layers are deep copies") {
  manual_seed(1);
  KeyEncoder query;
  query->eval();
  auto key = std::dynamic_pointer_cast<KeyEncoderImpl>(query->clone());
  REQUIRE(key != nullptr);
  CHECK(!key->is_training());
  CHECK(!key->bn->is_training());
  const auto q = query->named_parameters(), k = key->named_parameters();
  REQUIRE(q.size() == k.size());
  for (std::size_t i = 0; i < q.size(); ++i) {
    CHECK(q[i].first == k[i].first);
    CHECK(&q[i].second.impl() != &k[i].second.impl());  // own tensors ...
    CHECK(allclose(q[i].second, k[i].second));           // ... with the same values
  }
  REQUIRE(k[1].first == "fc.weight");  // own parameters first, then the children's
  CHECK(&key->fc->weight.impl() == &k[1].second.impl());  // the member is the registered one
  Tensor x = randn({6, 4});
  CHECK(allclose(query(x), key->forward(x)));
  {
    NoGradGuard no_grad;
    key->fc->weight.add_(1.0);
  }
  CHECK(!allclose(query(x), key->forward(x)));  // independent now
  // Every built-in layer clones, keeping its configuration.
  std::vector<std::shared_ptr<nn::Module>> layers = {
      std::make_shared<nn::Conv2d>(2, 4, 3, nn::Conv2dOptions{.stride = 2}),
      std::make_shared<nn::ConvTranspose2d>(4, 2, 3),
      std::make_shared<nn::Linear>(3, 2),
      std::make_shared<nn::Embedding>(5, 2),
      std::make_shared<nn::BatchNorm2d>(3),
      std::make_shared<nn::LayerNorm>(Shape{3}),
      std::make_shared<nn::GroupNorm>(2, 4),
      std::make_shared<nn::Sequential>(nn::Linear(2, 2), nn::Tanh()),
      std::make_shared<nn::MaxPool2d>(2),
      std::make_shared<nn::Upsample>(nn::UpsampleOptions{.scale_factor = 2.0}),
      std::make_shared<nn::Dropout>(0.3)};
  for (const auto& layer : layers) {
    auto copy = layer->clone();
    std::ostringstream a, b;
    a << *layer;
    b << *copy;
    CHECK(a.str() == b.str());
    const auto original = layer->state_dict(), cloned = copy->state_dict();
    REQUIRE(original.size() == cloned.size());
    for (std::size_t i = 0; i < original.size(); ++i) {
      CHECK(&original[i].second.impl() != &cloned[i].second.impl());
      CHECK(equal(original[i].second, cloned[i].second));
    }
  }
  // A module that is not Cloneable says how to make it one.
  struct Plain : nn::Module {};
  CHECK_THROWS_WITH_AS(Plain().clone(), doctest::Contains("Cloneable"), std::exception);
}

TEST_CASE("load_state_dict(other.state_dict()) round-trips") {
  manual_seed(2);
  Net a(4, 2), b(4, 2);
  b->load_state_dict(a->state_dict());
  Tensor x = randn({3, 4});
  CHECK(equal(a(x), b(x)));
}

TEST_CASE("GroupNorm matches a naive loop; GroupNorm layer") {
  manual_seed(3);
  const std::int64_t n = 2, c = 6, h = 2, w = 3, groups = 3;
  Tensor x = randn({n, c, h, w}, kFloat64);
  Tensor weight = randn({c}, kFloat64), bias = randn({c}, kFloat64);
  Tensor y = F::group_norm(x, groups, weight, bias, 1e-5);
  const auto xs = values(x), ys = values(y), ws = values(weight), bs = values(bias);
  const std::int64_t per_group = c / groups * h * w;
  for (std::int64_t s = 0; s < n; ++s)
    for (std::int64_t g = 0; g < groups; ++g) {
      const std::int64_t start = (s * c + g * (c / groups)) * h * w;
      double mean = 0.0, var = 0.0;
      for (std::int64_t i = 0; i < per_group; ++i) mean += xs[static_cast<std::size_t>(start + i)];
      mean /= static_cast<double>(per_group);
      for (std::int64_t i = 0; i < per_group; ++i) {
        const double d = xs[static_cast<std::size_t>(start + i)] - mean;
        var += d * d;
      }
      var /= static_cast<double>(per_group);
      for (std::int64_t i = 0; i < per_group; ++i) {
        const auto at = static_cast<std::size_t>(start + i);
        const auto channel = static_cast<std::size_t>(g * (c / groups) + i / (h * w));
        const double expected = (xs[at] - mean) / std::sqrt(var + 1e-5) * ws[channel] + bs[channel];
        CHECK(ys[at] == doctest::Approx(expected).epsilon(1e-12));
      }
    }
  nn::GroupNorm gn(nn::GroupNormOptions(3, 6).eps(1e-5));
  CHECK(gn->weight.sizes() == Shape{6});
  CHECK(gn(x.to(kFloat32)).sizes() == x.sizes());
  CHECK_THROWS_WITH_AS(F::group_norm(x, 4), doctest::Contains("4 groups"), std::exception);
}

namespace {

// The naive resize: one source position per output pixel, formulas written out per axis.
double naive_source(std::int64_t i, std::int64_t in, std::int64_t out, double scale_factor, bool bilinear,
                    bool align_corners) {
  const double scale = scale_factor > 0 ? 1.0 / scale_factor : double(in) / double(out);
  if (!bilinear) return std::min(std::floor(double(i) * scale), double(in - 1));
  if (align_corners) return out > 1 ? double(i) * double(in - 1) / double(out - 1) : 0.0;
  return std::max((double(i) + 0.5) * scale - 0.5, 0.0);
}

double naive_sample(const std::vector<double>& image, std::int64_t in_h, std::int64_t in_w, double sy, double sx,
                    bool bilinear) {
  auto at = [&](std::int64_t r, std::int64_t c) {
    return image[static_cast<std::size_t>(std::min(r, in_h - 1) * in_w + std::min(c, in_w - 1))];
  };
  const auto r0 = static_cast<std::int64_t>(std::floor(sy)), c0 = static_cast<std::int64_t>(std::floor(sx));
  if (!bilinear) return at(r0, c0);
  const double ly = sy - double(r0), lx = sx - double(c0);
  return (1 - ly) * ((1 - lx) * at(r0, c0) + lx * at(r0, c0 + 1)) +
         ly * ((1 - lx) * at(r0 + 1, c0) + lx * at(r0 + 1, c0 + 1));
}

}  // namespace

TEST_CASE("interpolate / Upsample match a naive loop") {
  manual_seed(4);
  const std::int64_t in_h = 3, in_w = 4;
  Tensor x = randn({1, 1, in_h, in_w}, kFloat64);
  const auto xs = values(x);
  struct Case {
    F::InterpolateFuncOptions options;
    std::int64_t out_h, out_w;
  };
  const std::vector<Case> cases = {
      {F::InterpolateFuncOptions().scale_factor(2.0), 6, 8},
      {F::InterpolateFuncOptions().size(Pair{5, 3}), 5, 3},
      {F::InterpolateFuncOptions().scale_factor(2.0).mode(kBilinear), 6, 8},
      {F::InterpolateFuncOptions().size(Pair{5, 7}).mode(kBilinear), 5, 7},
      {F::InterpolateFuncOptions().size(Pair{5, 7}).mode(kBilinear).align_corners(true), 5, 7},
      {F::InterpolateFuncOptions().size(Pair{2, 2}).mode(kBilinear), 2, 2},
  };
  for (const auto& test : cases) {
    const auto& o = test.options;
    const bool bilinear = o.mode == kBilinear;
    Tensor y = F::interpolate(x, o);
    REQUIRE(y.sizes() == Shape{1, 1, test.out_h, test.out_w});
    const auto ys = values(y);
    for (std::int64_t r = 0; r < test.out_h; ++r)
      for (std::int64_t c = 0; c < test.out_w; ++c) {
        const double sy = naive_source(r, in_h, test.out_h, o.scale_factor, bilinear, o.align_corners);
        const double sx = naive_source(c, in_w, test.out_w, o.scale_factor, bilinear, o.align_corners);
        CHECK(ys[static_cast<std::size_t>(r * test.out_w + c)] ==
              doctest::Approx(naive_sample(xs, in_h, in_w, sy, sx, bilinear)).epsilon(1e-12));
      }
  }
  nn::Upsample up(nn::UpsampleOptions().scale_factor(2.0).mode(kBilinear));
  CHECK(equal(up(x), F::interpolate(x, cases[2].options)));
  CHECK_THROWS_WITH_AS(F::interpolate(x, {}), doctest::Contains("exactly one"), std::exception);
}

TEST_CASE("local_response_norm and nn::LocalResponseNorm against PyTorch 1.13") {
  // Expected values: torch.nn.functional.local_response_norm on the same inputs (float64).
  const Tensor x = arange(60, kFloat64).reshape({2, 5, 2, 3}) * 0.1 - 1.4;
  const Tensor odd = F::local_response_norm(x, 3, 0.5, 0.75, 1.5);
  check_close(odd.flatten().narrow(0, 0, 6),
              tensor({-0.8538822416490671, -0.8151272977281979, -0.7721947901921794, -0.7250323080794021,
                      -0.6736637163869548, -0.6182007836876465},
                     {6}, kFloat64),
              1e-12, 1e-12);
  // An even window: channels c - 2 .. c + 1.
  const Tensor even = F::local_response_norm(x, F::LocalResponseNormFuncOptions(4).alpha(0.5).k(1.5));
  check_close(even.flatten().narrow(0, 0, 6),
              tensor({-0.8916222223510946, -0.8462597189451319, -0.7972406260082912, -0.7446057412196936,
                      -0.6884550235889292, -0.6289523106241415},
                     {6}, kFloat64),
              1e-12, 1e-12);
  check_close(even[1][3].flatten(),
              tensor({0.8323270921271523, 0.827061786153507, 0.821605114370101, 0.815997262205571,
                      0.8102729748405711, 0.8044622475340873},
                     {6}, kFloat64),
              1e-12, 1e-12);
  // The module, with PyTorch's defaults (alpha 1e-4, beta 0.75, k 1), on [N, C, L].
  nn::LocalResponseNorm lrn(2);
  const Tensor x3 = arange(24, kFloat64).reshape({2, 4, 3}) * 0.2 - 2.0;
  check_close(lrn(x3).flatten().narrow(0, 0, 4),
              tensor({-1.999700052490377, -1.7997813309961224, -1.599846417201182, -1.3996871815663938}, {4}, kFloat64),
              1e-12, 1e-12);
  CHECK(lrn->parameters().empty());
  std::ostringstream printed;
  printed << *lrn;
  CHECK(printed.str().find("LocalResponseNorm(2, alpha=0.0001, beta=0.75, k=1)") != std::string::npos);
  CHECK(cake::testing::error_message([&] { F::local_response_norm(randn({2, 3}), 3); }).find("[2, 3]") !=
        std::string::npos);
  CHECK(cake::testing::error_message([&] { nn::LocalResponseNorm(-1); }).find("size must be positive") !=
        std::string::npos);
}

TEST_CASE("nn::utils::rnn::pad_sequence as torch's") {
  const Tensor a = arange(6, kFloat64).reshape({3, 2}), b = arange(6.0, 8.0, 1.0, kFloat64).reshape({1, 2});
  const Tensor c = arange(8.0, 12.0, 1.0, kFloat64).reshape({2, 2});
  // Sequence-first: [L_max = 3, n = 3, 2]; row t of sequence i at [t][i], -1 after its end.
  const Tensor time_major = nn::utils::rnn::pad_sequence({a, b, c}, /*batch_first=*/false, /*padding_value=*/-1.0);
  REQUIRE(time_major.sizes() == Shape{3, 3, 2});
  CHECK(values(time_major) ==
        std::vector<double>{0, 1, 6, 7, 8, 9, 2, 3, -1, -1, 10, 11, 4, 5, -1, -1, -1, -1});
  const Tensor batch_major = nn::utils::rnn::pad_sequence({a, b, c}, /*batch_first=*/true);
  REQUIRE(batch_major.sizes() == Shape{3, 3, 2});
  CHECK(values(batch_major) == std::vector<double>{0, 1, 2, 3, 4, 5, 6, 7, 0, 0, 0, 0, 8, 9, 10, 11, 0, 0});
  // 1-D sequences, and the gradient reaches each sequence's own elements only.
  CHECK(nn::utils::rnn::pad_sequence({ones({4}), ones({2})}).sizes() == Shape{4, 2});
  cake::testing::gradcheck(
      [](const std::vector<Tensor>& x) { return nn::utils::rnn::pad_sequence({x[0], x[1]}, true, 0.5); },
      {randn({3, 2}, kFloat64), randn({1, 2}, kFloat64)});
  CHECK(cake::testing::error_message([] { nn::utils::rnn::pad_sequence({}); }).find("no sequences") != std::string::npos);
  CHECK(cake::testing::error_message([&] { nn::utils::rnn::pad_sequence({a, ones({2, 3}, kFloat64)}); })
            .find("same *") != std::string::npos);
}
