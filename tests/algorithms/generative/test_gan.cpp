// Tests for algorithms/generative/gan.h: the two GAN losses and their gradients against the
// formulas worked by hand, the latent draws (priors, one-hot layout, seeded draws that leave the
// global generator alone), seeded sampling of a trained-or-not GAN, and the collapse warnings.
#include <cmath>

#include "cake/algorithms/generative/gan.h"
#include "cake/tensor/creation.h"
#include "cake/tensor/random.h"
#include "helpers.h"

using namespace cake;
using namespace cake::generative;
using cake::testing::values;

namespace {
double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }
}  // namespace

TEST_CASE("discriminator_loss and generator_loss: values and gradients by hand") {
  const std::vector<double> r = {2.0, -1.0, 0.5}, f = {-3.0, 0.0};
  Tensor real = tensor(r, {3}, kFloat64).requires_grad_(), fake = tensor(f, {2}, kFloat64).requires_grad_();
  // L_D = -mean log D(x) - mean log(1 - D(G(z))), D = sigmoid(logit).
  double expected = 0.0;
  for (double x : r) expected -= std::log(sigmoid(x)) / 3.0;
  for (double x : f) expected -= std::log(1.0 - sigmoid(x)) / 2.0;
  Tensor l_d = discriminator_loss(real, fake);
  CHECK(l_d.item<double>() == doctest::Approx(expected).epsilon(1e-12));
  l_d.backward();
  // dL_D/dr = -(1 - sigmoid(r)) / 3, dL_D/df = sigmoid(f) / 2.
  const std::vector<double> gr = values(real.grad()), gf = values(fake.grad());
  for (std::size_t i = 0; i < r.size(); ++i) CHECK(gr[i] == doctest::Approx(-(1.0 - sigmoid(r[i])) / 3.0).epsilon(1e-12));
  for (std::size_t i = 0; i < f.size(); ++i) CHECK(gf[i] == doctest::Approx(sigmoid(f[i]) / 2.0).epsilon(1e-12));

  // L_G = -mean log D(G(z)) (non-saturating), dL_G/df = -(1 - sigmoid(f)) / 2.
  Tensor fake2 = tensor(f, {2}, kFloat64).requires_grad_();
  Tensor l_g = generator_loss(fake2);
  CHECK(l_g.item<double>() == doctest::Approx(-(std::log(sigmoid(-3.0)) + std::log(0.5)) / 2.0).epsilon(1e-12));
  l_g.backward();
  const std::vector<double> g = values(fake2.grad());
  for (std::size_t i = 0; i < f.size(); ++i) CHECK(g[i] == doctest::Approx(-(1.0 - sigmoid(f[i])) / 2.0).epsilon(1e-12));
  // Stable at extreme logits: no log(0).
  CHECK(std::isfinite(discriminator_loss(tensor({-200.0}, {1}), tensor({200.0}, {1})).item<double>()));
}

TEST_CASE("sample_latent: U(-1, 1) noise and codes, a one-hot category, [noise, one-hot, continuous] input") {
  const LatentSpec spec;  // 62 + 10 + 2
  manual_seed(3);
  const Latent z = sample_latent(spec, 500);
  CHECK(z.input.sizes() == Shape{500, 74});
  CHECK(z.noise.min().item<double>() >= -1.0);
  CHECK(z.noise.max().item<double>() <= 1.0);
  CHECK(z.category.min().item<std::int64_t>() == 0);
  CHECK(z.category.max().item<std::int64_t>() == 9);
  CHECK(values(z.input.narrow(1, 62, 10).sum({1})) == std::vector<double>(500, 1.0));
  const std::vector<double> one_hot = values(z.input.narrow(0, 7, 1).narrow(1, 62, 10).reshape({10}));
  CHECK(one_hot[static_cast<std::size_t>(z.category.narrow(0, 7, 1).item<std::int64_t>())] == 1.0);
  CHECK(values(z.input.narrow(1, 72, 2)) == values(z.continuous));
  CHECK(std::abs(z.continuous.mean().item<double>()) < 0.1);
}

TEST_CASE("sampling is seeded: the same seed gives the same latents and images, the global generator is untouched") {
  const LatentSpec spec;
  manual_seed(11);
  const GeneratorState before = get_rng_state();
  const Latent a = sample_latent(spec, 6, 42), b = sample_latent(spec, 6, 42), c = sample_latent(spec, 6, 43);
  CHECK(get_rng_state().seed == before.seed);
  CHECK(get_rng_state().offset == before.offset);
  CHECK(values(a.input) == values(b.input));
  CHECK(values(a.input) != values(c.input));

  manual_seed(5);
  auto g = std::make_shared<networks::GANGenerator>(networks::GANGeneratorOptions{.hidden = 32, .width = 4});
  auto d = std::make_shared<networks::GANDiscriminator>(networks::GANDiscriminatorOptions{.hidden = 32, .q_hidden = 8, .width = 4});
  GAN gan(g, d, {}, {});
  const Tensor x = gan.sample(4, 9), y = gan.sample(4, 9);
  CHECK(x.sizes() == Shape{4, 1, 28, 28});
  CHECK(values(x) == values(y));
  CHECK(values(gan.sample(4, 10)) != values(x));
}

TEST_CASE("collapse_warnings: mode collapse, an ignored code, few categories, D winning") {
  const LatentSpec spec;
  GANEpoch healthy{.d_real = 0.6, .d_fake = 0.3, .noise_spread = 0.2, .code_spread = 0.15, .clusters_used = 10,
                   .largest_cluster = 0.12};
  CHECK(collapse_warnings(healthy, spec, 0.03).empty());
  GANEpoch collapsed = healthy;
  collapsed.noise_spread = 0.001;
  collapsed.code_spread = 0.0;
  collapsed.clusters_used = 2;
  collapsed.largest_cluster = 0.9;
  collapsed.d_real = 0.999;
  collapsed.d_fake = 0.001;
  const std::vector<std::string> w = collapse_warnings(collapsed, spec, 0.03);
  REQUIRE(w.size() == 5);
  CHECK(w[0].find("mode collapse") != std::string::npos);
  CHECK(w[1].find("categorical code is ignored") != std::string::npos);
  CHECK(w[2].find("2 of 10") != std::string::npos);
}
