// Tests for algorithms/networks/infogan_nets.h: the shapes of G, D and Q as InfoGAN's Table 1
// gives them, the 74-dimensional input split, the plain GAN's networks without Q, and clear
// errors for inputs of the wrong shape.
#include "cake/algorithms/networks/infogan_nets.h"
#include "cake/tensor/creation.h"
#include "cake/tensor/random.h"
#include "helpers.h"

using namespace cake;
using namespace cake::networks;
using cake::testing::error_message;

TEST_CASE("GANGenerator: 74 inputs (62 noise, 10 categories, 2 continuous) -> 28x28 images in (0, 1)") {
  manual_seed(0);
  GANGenerator g;
  CHECK(g.options().input_dim() == 74);
  const Tensor x = g.forward(rand({4, 74}) * 2.0 - 1.0);
  CHECK(x.sizes() == Shape{4, 1, 28, 28});
  CHECK(x.min().item<double>() > 0.0);
  CHECK(x.max().item<double>() < 1.0);
  // Table 1: FC 1024, FC 7x7x128, upconv 64, upconv 1 (+ the three batch norms).
  const auto named = g.named_parameters();
  std::map<std::string, Shape> shapes;
  for (const auto& [name, p] : named) shapes[name] = p.sizes();
  CHECK(shapes["fc1.weight"] == Shape{1024, 74});
  CHECK(shapes["fc2.weight"] == Shape{7 * 7 * 128, 1024});
  CHECK(shapes["up1.weight"] == Shape{128, 64, 4, 4});
  CHECK(shapes["up2.weight"] == Shape{64, 1, 4, 4});
  CHECK(shapes["bn3.weight"] == Shape{64});
  CHECK(error_message([&] { g.forward(zeros({4, 73})); }).find("[N, 74]") != std::string::npos);
}

TEST_CASE("GANDiscriminator: one trunk, D's logit [N] and Q's codes [N, 10] and [N, 2]") {
  manual_seed(1);
  GANDiscriminator d;
  const Tensor images = rand({5, 1, 28, 28});
  const DiscriminatorOutput out = d.run(images);
  CHECK(out.logit.sizes() == Shape{5});
  CHECK(out.category_logits.sizes() == Shape{5, 10});
  CHECK(out.continuous_mean.sizes() == Shape{5, 2});
  CHECK_FALSE(out.continuous_log_std.defined());
  CHECK(d.trunk(images).sizes() == Shape{5, 1024});
  std::map<std::string, Shape> shapes;
  for (const auto& [name, p] : d.named_parameters()) shapes[name] = p.sizes();
  CHECK(shapes["conv1.weight"] == Shape{64, 1, 4, 4});
  CHECK(shapes["conv2.weight"] == Shape{128, 64, 4, 4});
  CHECK(shapes["fc.weight"] == Shape{1024, 7 * 7 * 128});
  CHECK(shapes["d_head.weight"] == Shape{1, 1024});
  CHECK(shapes["q_fc.weight"] == Shape{128, 1024});
  CHECK(shapes["q_out.weight"] == Shape{12, 128});
  // Q's own layers: FC 128 (no bias: a batch norm follows), its batch norm, the output layer.
  CHECK(d.q_parameters().size() == 5);
  CHECK(shapes.count("conv2.bias") == 0);
  CHECK(shapes.count("conv1.bias") == 1);

  GANDiscriminator with_std({.learn_std = true});
  const DiscriminatorOutput s = with_std.run(images);
  CHECK(s.continuous_log_std.sizes() == Shape{5, 2});
  CHECK(error_message([&] { d.run(rand({2, 1, 32, 32})); }).find("[N, 1, 28, 28]") != std::string::npos);
}

TEST_CASE("the plain GAN's networks: no codes, no Q") {
  GANGenerator g({.noise = 74, .categories = 0, .continuous = 0});
  GANDiscriminator d({.categories = 0, .continuous = 0});
  CHECK(g.forward(zeros({2, 74})).sizes() == Shape{2, 1, 28, 28});
  const DiscriminatorOutput out = d.run(zeros({2, 1, 28, 28}));
  CHECK(out.logit.sizes() == Shape{2});
  CHECK_FALSE(out.category_logits.defined());
  CHECK(d.q_parameters().empty());
}
