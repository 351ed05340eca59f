// Tests for algorithms/networks/convnets.h: output shapes of both architectures with and without
// the Sobel input, the head's re-initialisation in place, the body copy under another head, the
// batch-normalised head and classifier, and forward = head(ReLU(features)).
#include <cmath>

#include "cake/algorithms/networks/convnets.h"
#include "cake/nn/checkpoint.h"
#include "helpers.h"

using namespace cake;
using cake::networks::ConvNet;
using cake::networks::ConvNetOptions;
using cake::testing::error_message;
using cake::testing::values;

namespace {
double stddev(const Tensor& t) { return t.detach().to(kFloat64).std().item<double>(); }
}  // namespace

TEST_CASE("ConvNet: vgg and alexnet map 28x28 images to features and logits, with Sobel or grey input") {
  manual_seed(0);
  for (const std::string arch : {"vgg", "alexnet"})
    for (const bool sobel : {true, false}) {
      CAPTURE(arch);
      CAPTURE(sobel);
      ConvNet net({.arch = arch, .sobel = sobel, .hidden = 64, .num_outputs = 7});
      const Tensor x = rand({3, 1, 28, 28});
      CHECK(net.input(x).sizes() == Shape{3, sobel ? 2 : 1, 28, 28});
      CHECK(net.features(x).sizes() == Shape{3, 64});
      CHECK(net.forward(x).sizes() == Shape{3, 7});
      CHECK(net.feature_dim() == 64);
      CHECK(net.num_outputs() == 7);
    }
  // RGB images of another size: the Sobel filter greys them first; 32 -> 16 -> 8 -> 4.
  ConvNet rgb({.in_channels = 3, .image_size = 32, .hidden = 16, .num_outputs = 5});
  CHECK(rgb.forward(rand({2, 3, 32, 32})).sizes() == Shape{2, 5});
  // Errors name the expected and the given shapes.
  ConvNet small({.hidden = 16, .num_outputs = 3});
  CHECK(error_message([&] { small.forward(rand({2, 1, 27, 27})); }).find("[N, 1, 28, 28]") != std::string::npos);
  CHECK(error_message([&] { ConvNet bad({.arch = "resnet"}); }).find("resnet") != std::string::npos);
  CHECK(error_message([&] { ConvNet bad({.image_size = 6}); }).find("8x8") != std::string::npos);
}

TEST_CASE("ConvNet: features are the classifier's output before its ReLU; forward = head(ReLU(features))") {
  manual_seed(1);
  ConvNet net({.hidden = 32, .num_outputs = 4});
  net.eval();  // no dropout, running statistics: two calls give the same numbers
  const Tensor x = rand({5, 1, 28, 28});
  const Tensor f = net.features(x);
  CHECK(f.lt(0.0).to(kFloat64).sum().item<double>() > 0);  // pre-ReLU: some entries negative
  const Tensor expected = f.relu().matmul(net.head()->weight.t()) + net.head()->bias;
  cake::testing::check_close(net.forward(x), expected, 1e-5, 1e-6);
  CHECK(networks::features_all(net, x, 2).sizes() == Shape{5, 32});
  cake::testing::check_close(networks::logits_all(net, x, 2), expected, 1e-5, 1e-6);
}

TEST_CASE("ConvNet::reset_head: N(0, std^2) weights and zero bias, in place") {
  manual_seed(2);
  ConvNet net({.hidden = 256, .num_outputs = 100});
  const void* weight_data = net.head()->weight.raw_data();
  {
    NoGradGuard no_grad;
    net.head()->bias.fill_(3.0);
  }
  net.reset_head(0.01);
  CHECK(net.head()->weight.raw_data() == weight_data);  // the same tensor: an optimiser keeps it
  CHECK(stddev(net.head()->weight) == doctest::Approx(0.01).epsilon(0.05));
  CHECK(net.head()->weight.mean().item<double>() == doctest::Approx(0.0).epsilon(0.001));
  CHECK(net.head()->bias.abs().max().item<double>() == 0.0);
  // body_parameters: everything but the head.
  std::int64_t body = 0, all = 0;
  for (const Tensor& p : net.body_parameters()) body += p.numel();
  for (const Tensor& p : net.parameters()) all += p.numel();
  CHECK(all - body == 256 * 100 + 100);
}

TEST_CASE("ConvNet::load_body puts a trained body under a head of another size") {
  manual_seed(3);
  ConvNet a({.hidden = 16, .num_outputs = 10});
  ConvNet b({.hidden = 16, .num_outputs = 3});
  const Tensor b_head = b.head()->weight.clone();
  b.load_body(a);
  a.eval();
  b.eval();
  const Tensor x = rand({2, 1, 28, 28});
  cake::testing::check_close(b.features(x), a.features(x), 0, 0);
  cake::testing::check_close(b.head()->weight, b_head, 0, 0);
  ConvNet other({.arch = "alexnet", .hidden = 16, .num_outputs = 3});
  CHECK(error_message([&] { other.load_body(a); }).find("differ") != std::string::npos);
  ConvNet normalised({.hidden = 16, .num_outputs = 3, .classifier_norm = true});  // other layers in the body
  CHECK(error_message([&] { normalised.load_body(a); }).find("batch norms") != std::string::npos);
}

TEST_CASE("ConvNet with head_norm: each output unit is batch-normalised (no affine), then ReLU") {
  manual_seed(4);
  ConvNet net({.hidden = 16, .num_outputs = 6, .dropout = 0.0, .head_norm = true});
  const Tensor x = rand({32, 1, 28, 28});
  const Tensor logits = net.forward(x);
  // The known answer: ReLU((raw - mean) / sqrt(var + eps)) over the batch, BatchNorm's eps 1e-5.
  const Tensor raw = (net.features(x).relu().matmul(net.head()->weight.t()) + net.head()->bias).to(kFloat64);
  const Tensor expected = ((raw - raw.mean(0, true)) / (raw.var(0, true, 0) + 1e-5).sqrt()).relu();
  cake::testing::check_close(logits.to(kFloat64), expected, 1e-3, 1e-4);
  CHECK(logits.min().item<double>() == 0.0);
  std::int64_t head_norm_parameters = 0;
  for (const auto& [name, p] : net.named_parameters()) head_norm_parameters += name.rfind("head_norm", 0) == 0;
  CHECK(head_norm_parameters == 0);
}

TEST_CASE("ConvNet with classifier_norm: dead classifier units can no longer make every image alike") {
  // The collapse it prevents: when every unit of the classifier's first Linear is far below zero,
  // its ReLU gives 0 for every image, all images get the same logits, and the head's batch norm
  // maps them all to 0 (one label feature for everything). A batch norm before the ReLU keeps
  // each unit centred over the batch, so the outputs still differ between images.
  for (const bool norm : {false, true}) {
    CAPTURE(norm);
    manual_seed(5);
    ConvNet net({.hidden = 16, .num_outputs = 6, .dropout = 0.0, .head_norm = true, .classifier_norm = norm});
    bool found = false;
    for (auto& [name, p] : net.named_parameters())
      if (name == "classifier.0.bias") {
        NoGradGuard no_grad;
        p.fill_(-1e3);
        found = true;
      }
    REQUIRE(found);
    const Tensor logits = net.forward(rand({32, 1, 28, 28})).to(kFloat64);
    const double spread = logits.std(0).max().item<double>();  // across images, the largest over units
    if (norm)
      CHECK(spread > 0.1);
    else
      CHECK(spread == 0.0);
  }
  // The two batch norms are there, with running statistics.
  ConvNet net({.hidden = 16, .num_outputs = 6, .classifier_norm = true});
  const auto has = [&](const std::string& name) {
    for (const auto& [key, tensor] : net.state_dict())
      if (key == name) return true;
    return false;
  };
  CHECK(has("classifier.1.running_mean"));
  CHECK(has("classifier.5.running_mean"));
}

TEST_CASE("ConvNet dac arch: DAC's released all-convolutional network, 10 features, identity dense layers") {
  manual_seed(4);
  ConvNet net({.arch = "dac", .sobel = false, .hidden = 512, .num_outputs = 10, .head_norm = true});
  const Tensor x = rand({6, 1, 28, 28});
  CHECK(net.feature_dim() == 10);  // fc8's width; `hidden` does not apply
  CHECK(net.conv_features(x).sizes() == Shape{6, 10});
  CHECK(net.features(x).sizes() == Shape{6, 10});
  const Tensor out = net.forward(x);
  CHECK(out.sizes() == Shape{6, 10});
  CHECK(out.min().item<double>() >= 0.0);  // head batch norm, then ReLU
  // fc8 and the head start as identities (TensorFlow's identity initialiser), bias 0.
  CHECK(values(net.head()->weight) == values(eye(10)));
  net.reset_head(0.5);
  CHECK(values(net.head()->weight) == values(eye(10)));
  // Batch norms without scale or shift: the only parameters are convolution and Linear weights.
  for (const auto& [name, p] : net.named_parameters()) {
    CAPTURE(name);
    CHECK(p.dim() >= 1);
    CHECK(name.find("head_norm") == std::string::npos);
  }
  // The features are batch-normalised (train mode): zero mean, unit variance per unit.
  const Tensor f = net.features(rand({64, 1, 28, 28}));
  CHECK(f.mean(0).abs().max().item<double>() < 1e-4);
  CHECK(error_message([&] { ConvNet bad({.arch = "dac", .image_size = 24}); }).find("26x26") != std::string::npos);
}
