// Tests for the mean-image plateau remedies and DEC's autoencoder in
// algorithms/networks/autoencoder.h: init_output_bias (the logit of the mean pixel, per pixel for
// the MLP and per channel for the conv network; the mean itself for a linear output),
// mean_image_mse against a hand computation, and dec_autoencoder's layers, initialisation and
// file round trip.
#include <cmath>

#include "cake/algorithms/networks/autoencoder.h"
#include "cake/nn/checkpoint.h"
#include "data/test_files.h"
#include "helpers.h"

using namespace cake;
using namespace cake::networks;
using cake::testing::check_close;
using cake::testing::values;

namespace {

Tensor parameter(const nn::Module& m, const std::string& name) {
  for (const auto& [n, t] : m.state_dict())
    if (n == name) return t;
  FAIL("no tensor " << name);
  return {};
}

double logit(double p) {
  p = std::min(0.99, std::max(0.01, p));
  return std::log(p / (1.0 - p));
}

}  // namespace

TEST_CASE("mean_image_mse is the mean per-pixel variance around the mean image") {
  // Two 1x1x2 images {0, 1} and {1, 1}: mean image {0.5, 1}; squared deviations 0.25, 0, 0.25, 0.
  const Tensor images = tensor(std::vector<float>{0, 1, 1, 1}, {2, 1, 1, 2});
  check_close(mean_image(images), tensor(std::vector<float>{0.5f, 1.0f}, {1, 1, 2}));
  CHECK(mean_image_mse(images) == doctest::Approx(0.125));
}

TEST_CASE("init_output_bias starts the MLP on the mean image and the conv network on the mean pixel") {
  manual_seed(0);
  const Tensor images = rand({6, 1, 28, 28}) * 0.5;
  images.narrow(2, 0, 1).zero_();  // a row that is 0 in every image: its logit is clamped, not -inf
  const Tensor mean = mean_image(images);
  const std::vector<double> m = values(mean);

  MLPAutoencoder mlp({8}, 3);
  mlp.init_output_bias(mean);
  const std::vector<double> bias = values(parameter(mlp, "decoder.2.bias"));  // Linear(8 -> 784)
  REQUIRE(bias.size() == m.size());
  for (std::size_t i : {std::size_t{0}, std::size_t{30}, std::size_t{400}}) CHECK(bias[i] == doctest::Approx(logit(m[i])).epsilon(1e-5));
  CHECK(bias[0] == doctest::Approx(std::log(0.01 / 0.99)));
  // With its last weights at zero the output is exactly the (clamped) mean image.
  {
    NoGradGuard no_grad;
    parameter(mlp, "decoder.2.weight").zero_();
  }
  const Tensor out = mlp.forward(images);
  check_close(out.narrow(0, 0, 1).reshape({1, 28, 28}), mean.clamp(0.01, 0.99), 1e-5, 1e-6);

  MLPAutoencoder linear({8}, 3, {1, 28, 28}, {.linear_output = true});
  linear.init_output_bias(mean);
  check_close(parameter(linear, "decoder.2.bias"), mean.reshape({-1}));

  ConvAutoencoder conv(4);
  conv.init_output_bias(mean);
  double total = 0.0;
  for (double v : m) total += v;
  const std::vector<double> channel_bias = values(parameter(conv, "decoder.9.bias"));  // the last ConvTranspose2d
  REQUIRE(channel_bias.size() == 1);
  CHECK(channel_bias[0] == doctest::Approx(logit(total / static_cast<double>(m.size()))).epsilon(1e-5));

  CHECK(testing::error_message([&] { mlp.init_output_bias(zeros({1, 5, 5})); }).find("[1, 5, 5]") != std::string::npos);
}

TEST_CASE("dec_autoencoder: 784-500-500-2000-10, linear output, VarianceScaling(1/3) weights, zero biases, and its file") {
  manual_seed(1);
  auto ae = dec_autoencoder();
  CHECK(ae->hidden() == kDECHidden);
  CHECK(ae->latent_dim() == 10);
  CHECK(ae->linear_output());
  for (const auto& [name, t] : ae->named_parameters()) {
    CAPTURE(name);
    const std::vector<double> v = values(t);
    if (name.find("bias") != std::string::npos) {
      for (double x : v) CHECK(x == 0.0);
    } else {
      const double limit = 1.0 / std::sqrt(static_cast<double>(t.size(1)));  // sqrt(3 * (1/3) / fan_in)
      double largest = 0.0;
      for (double x : v) largest = std::max(largest, std::abs(x));
      CHECK(largest <= limit);
      CHECK(largest > 0.9 * limit);  // uniform over the whole range
    }
  }
  CHECK(parameter(*ae, "encoder.5.weight").sizes() == Shape{2000, 500});
  // No sigmoid: outputs leave [0, 1] for inputs far from the data.
  const Tensor big = ae->decode(randn({4, 10}) * 100.0);
  CHECK(big.abs().max().item<double>() > 1.0);

  // The file records the linear output, so load_autoencoder rebuilds the same network.
  testing::ScratchDir dir("cake_test_dec_autoencoder");
  save(*ae, (dir / "ae.safetensors").string());
  const auto loaded = load_autoencoder((dir / "ae.safetensors").string());
  const Tensor x = rand({3, 1, 28, 28});
  check_close(loaded->forward(x), ae->forward(x), 0.0, 0.0);
  // An older sigmoid file still loads as a sigmoid network.
  MLPAutoencoder sigmoid({16}, 4);
  save(sigmoid, (dir / "sigmoid.safetensors").string());
  const auto loaded_sigmoid = load_autoencoder((dir / "sigmoid.safetensors").string());
  check_close(loaded_sigmoid->forward(x), sigmoid.forward(x), 0.0, 0.0);
}

TEST_CASE("n2d_autoencoder: DEC's sizes and linear output, Glorot-uniform weights, zero biases; one initialisation at a time") {
  manual_seed(2);
  auto ae = n2d_autoencoder(6);
  CHECK(ae->hidden() == kDECHidden);
  CHECK(ae->latent_dim() == 6);
  CHECK(ae->linear_output());
  for (const auto& [name, t] : ae->named_parameters()) {
    CAPTURE(name);
    const std::vector<double> v = values(t);
    double largest = 0.0;
    for (double x : v) largest = std::max(largest, std::abs(x));
    if (name.find("bias") != std::string::npos) {
      CHECK(largest == 0.0);
    } else {
      const double limit = std::sqrt(6.0 / static_cast<double>(t.size(0) + t.size(1)));
      CHECK(largest <= limit);
      CHECK(largest > 0.9 * limit);
    }
  }
  CHECK(testing::error_message([] {
          MLPAutoencoder both({8}, 2, {1, 28, 28}, {.variance_scaling_init = true, .glorot_uniform_init = true});
        }).find("one of") != std::string::npos);
}
