// Tests for algorithms/networks/vae.h: Bortoletto's (2021) ConvVAE shapes and PyTorch's parameter count, the KL
// term against its closed form and a Monte Carlo estimate, the reparameterisation's moments and
// gradients, both likelihoods against hand-written formulas, a few steps that lower the ELBO,
// sampling and interpolation.
#include <cmath>
#include <string>

#include "cake/algorithms/networks/vae.h"
#include "helpers.h"

using namespace cake;
using namespace cake::algorithms;
using namespace cake::networks;  // evaluate_vae has no old spelling
using cake::testing::error_message;
using cake::testing::count_parameters;
namespace F = cake::nn::functional;

TEST_CASE("ConvVAE: Bortoletto's (2021) layers, shapes and PyTorch's parameter count") {
  manual_seed(0);
  ConvVAE vae(16);
  const Tensor x = rand({3, 1, 28, 28});
  const GaussianPosterior q = vae.encode(x);
  CHECK(q.mean.sizes() == Shape{3, 16});
  CHECK(q.logvar.sizes() == Shape{3, 16});
  CHECK(vae.decode_logits(q.mean).sizes() == Shape{3, 1, 28, 28});
  CHECK(vae.forward(x).sizes() == Shape{3, 1, 28, 28});
  // torch: conv 1088 + 131200, heads 2 x 100368 (6272 -> 16), decoder linear 106624,
  // deconvs 131136 + 1025.
  CHECK(count_parameters(vae) == 1088 + 131200 + 2 * 100368 + 106624 + 131136 + 1025);
  CHECK(error_message([] { ConvVAE(4, {1, 30, 30}); }).find("multiples of 4") != std::string::npos);
  CHECK(error_message([&] { vae.decode_logits(zeros({2, 3})); }).find("[N, 16]") != std::string::npos);
}

TEST_CASE("MLPVAE: shapes") {
  manual_seed(1);
  MLPVAE vae({50, 30}, 4, {1, 8, 8});
  const GaussianPosterior q = vae.encode(rand({5, 1, 8, 8}));
  CHECK(q.mean.sizes() == Shape{5, 4});
  CHECK(vae.decode(q.mean).sizes() == Shape{5, 1, 8, 8});
  CHECK(count_parameters(vae) == (64 * 50 + 50) + (50 * 30 + 30) + 2 * (30 * 4 + 4) + (4 * 30 + 30) + (30 * 50 + 50) +
                                     (50 * 64 + 64));
}

TEST_CASE("the KL term: closed form, known values and a Monte Carlo estimate") {
  // KL(N(1, 1) || N(0, 1)) = 1/2; KL(N(0, e^2) || N(0, 1)) = (e^2 - 1 - 2) / 2 per dimension.
  const Tensor mu = tensor({1.0, 0.0}, {1, 2}, kFloat64);
  const Tensor logvar = tensor({0.0, 2.0}, {1, 2}, kFloat64);
  CHECK(F::gaussian_kl(mu, logvar, nn::Reduction::Sum).item<double>() ==
        doctest::Approx(0.5 + (std::exp(2.0) - 1.0 - 2.0) / 2.0));
  // Monte Carlo: E_q[log q(z) - log p(z)] with 400000 draws z = mu + sigma eps.
  manual_seed(2);
  const Tensor m = tensor({0.3, -1.2, 0.7}, {1, 3}, kFloat64), lv = tensor({-0.5, 0.4, 0.0}, {1, 3}, kFloat64);
  const Tensor eps = randn({400000, 3}, kFloat64);
  const Tensor z = m + (lv * 0.5).exp() * eps;
  // log q - log p = sum_j [-1/2 log sigma_j^2 - eps_j^2 / 2 + z_j^2 / 2]
  const Tensor log_ratio = (lv * -0.5 - eps.square() * 0.5 + z.square() * 0.5).sum({1});
  const double monte_carlo = log_ratio.mean().item<double>();
  const double closed = F::gaussian_kl(m, lv, nn::Reduction::Sum).item<double>();
  CHECK(monte_carlo == doctest::Approx(closed).epsilon(0.01));
  // vae_loss's kl term is this closed form of the encoder's posterior, averaged over the batch.
  manual_seed(3);
  MLPVAE vae({16}, 3, {1, 4, 4});
  const Tensor x = rand({7, 1, 4, 4});
  const GaussianPosterior q = vae.encode(x);
  const VAELoss loss = vae_loss(vae, x, {.beta = 2.5});
  const Tensor by_hand = ((q.logvar + 1.0) - q.mean.square() - q.logvar.exp()).sum({1}) * -0.5;
  CHECK(loss.kl.item<double>() == doctest::Approx(by_hand.mean().item<double>()).epsilon(1e-5));
  CHECK(loss.total.item<double>() ==
        doctest::Approx(loss.reconstruction.item<double>() + 2.5 * loss.kl.item<double>()).epsilon(1e-6));
}

TEST_CASE("reparameterize: z ~ N(mu, sigma^2), gradients reach mu and log sigma^2") {
  manual_seed(4);
  const Tensor mu = full({200000, 2}, 1.5, kFloat64), logvar = full({200000, 2}, std::log(0.25), kFloat64);
  const Tensor z = reparameterize({mu, logvar});
  CHECK(z.mean().item<double>() == doctest::Approx(1.5).epsilon(0.01));
  CHECK(z.var().item<double>() == doctest::Approx(0.25).epsilon(0.02));
  // dz/dmu = 1 and dz/dlogvar = sigma eps / 2 = (z - mu) / 2.
  const Tensor m = tensor({0.2, -0.4}, {1, 2}, kFloat64).requires_grad_();
  const Tensor lv = tensor({0.1, -0.3}, {1, 2}, kFloat64).requires_grad_();
  const Tensor sample = reparameterize({m, lv});
  sample.sum().backward();
  testing::check_close(m.grad(), ones({1, 2}, kFloat64));
  testing::check_close(lv.grad(), (sample.detach() - m.detach()) * 0.5, 1e-12, 1e-12);
}

TEST_CASE("reconstruction_nll: Bernoulli and Gaussian against the formulas") {
  manual_seed(5);
  const Tensor logits = randn({4, 1, 3, 3}, kFloat64) * 3.0, x = rand({4, 1, 3, 3}, kFloat64);
  const Tensor p = logits.sigmoid();
  const double bce = -(x * p.log() + (1.0 - x) * (1.0 - p).log()).sum().item<double>() / 4.0;
  CHECK(reconstruction_nll(logits, x, Likelihood::Bernoulli).item<double>() == doctest::Approx(bce).epsilon(1e-10));
  const double sse = (x - p).square().sum().item<double>() / 4.0;
  CHECK(reconstruction_nll(logits, x, Likelihood::Gaussian).item<double>() == doctest::Approx(sse).epsilon(1e-12));
  // Saturated logits stay finite (log(0) never forms).
  const Tensor extreme = tensor({-200.0, 200.0}, {1, 1, 1, 2}, kFloat64);
  const Tensor target = tensor({1.0, 0.0}, {1, 1, 1, 2}, kFloat64);
  CHECK(reconstruction_nll(extreme, target, Likelihood::Bernoulli).item<double>() == doctest::Approx(400.0));
}

TEST_CASE("the negative ELBO falls in a few steps (conv and MLP, both likelihoods)") {
  // 8 images 12x12 of 4 prototypes (small images keep the steps cheap; the 28x28 shapes are
  // tested above).
  manual_seed(6);
  const Tensor prototypes = (rand({4, 1, 12, 12}) > Scalar(0.5)).to(kFloat32) * 0.8 + 0.1;
  const Tensor x = index_select(prototypes, 0, tensor(std::vector<std::int64_t>{0, 1, 2, 3, 0, 1, 2, 3}, {8}));
  auto descend = [&](VariationalAutoencoder& vae, Likelihood likelihood, int steps) {
    optim::Adam adam(vae.parameters(), {.lr = 3e-3});
    double first = 0.0, last = 0.0;
    for (int s = 0; s < steps; ++s) {
      adam.zero_grad();
      const Tensor loss = vae_loss(vae, x, {.likelihood = likelihood}).total;
      if (s == 0) first = loss.item<double>();
      last = loss.item<double>();
      loss.backward();
      adam.step();
    }
    return std::make_pair(first, last);
  };
  SUBCASE("conv, gaussian") {
    ConvVAE vae(4, {1, 12, 12});
    const auto [first, last] = descend(vae, Likelihood::Gaussian, 60);
    CHECK(last < 0.5 * first);
  }
  SUBCASE("conv, bernoulli") {
    ConvVAE vae(4, {1, 12, 12});
    const auto [first, last] = descend(vae, Likelihood::Bernoulli, 60);
    CHECK(last < 0.8 * first);
  }
  SUBCASE("mlp, bernoulli") {
    MLPVAE vae({64}, 4, {1, 12, 12});
    const auto [first, last] = descend(vae, Likelihood::Bernoulli, 60);
    CHECK(last < 0.8 * first);
  }
}

TEST_CASE("sample and interpolate") {
  manual_seed(7);
  MLPVAE vae({32}, 3, {1, 6, 6});
  const Tensor samples = vae.sample(9);
  CHECK(samples.sizes() == Shape{9, 1, 6, 6});
  CHECK_FALSE(samples.requires_grad());
  CHECK(samples.min().item<double>() > 0.0);
  CHECK(samples.max().item<double>() < 1.0);
  // They are the decoder's images of N(0, I) draws from the global generator.
  manual_seed(8);
  const Tensor drawn = vae.sample(4);
  manual_seed(8);
  {
    NoGradGuard no_grad;
    testing::check_close(drawn, vae.decode(randn({4, 3})));
  }
  const Tensor a = rand({1, 6, 6}), b = rand({1, 6, 6});
  const Tensor path = vae.interpolate(a, b, 5);
  CHECK(path.sizes() == Shape{5, 1, 6, 6});
  NoGradGuard no_grad;
  testing::check_close(path[0], vae.decode(vae.encode(a.unsqueeze(0)).mean)[0]);
  testing::check_close(path[4], vae.decode(vae.encode(b.unsqueeze(0)).mean)[0]);
  // The middle code is the average of the two ends' codes.
  const Tensor mid = (vae.encode(a.unsqueeze(0)).mean + vae.encode(b.unsqueeze(0)).mean) * 0.5;
  testing::check_close(path[2], vae.decode(mid)[0]);
  CHECK(error_message([&] { vae.interpolate(a, b, 1); }).find("at least 2") != std::string::npos);
  const Tensor means = encode_mean_all(vae, rand({11, 1, 6, 6}), 4);
  CHECK(means.sizes() == Shape{11, 3});
}

TEST_CASE("evaluate_vae: the negative ELBO, its terms and the MSE of the posterior means over a whole set") {
  manual_seed(3);
  MLPVAE vae({16}, 3, {1, 6, 6});
  const Tensor x = rand({10, 1, 6, 6});
  vae.train();
  // Against one vae_loss over everything, with the generator in the same state (the same eps).
  manual_seed(4);
  const VAEEvaluation all = evaluate_vae(vae, x, {.beta = 2.0});
  CHECK(vae.is_training());  // the mode is restored
  manual_seed(4);
  vae.eval();
  VAELoss expected;
  Tensor mse;
  {
    NoGradGuard no_grad;
    expected = vae_loss(vae, x, {.beta = 2.0});
    mse = (vae.decode(vae.encode(x).mean) - x).square().mean();
  }
  CHECK(all.loss == doctest::Approx(expected.total.item<double>()).epsilon(1e-6));
  CHECK(all.reconstruction == doctest::Approx(expected.reconstruction.item<double>()).epsilon(1e-6));
  CHECK(all.kl == doctest::Approx(expected.kl.item<double>()).epsilon(1e-6));
  CHECK(all.loss == doctest::Approx(all.reconstruction + 2.0 * all.kl).epsilon(1e-6));
  CHECK(all.mse == doctest::Approx(mse.item<double>()).epsilon(1e-6));
  // In batches of 4, 4 and 2: the per-image means weight each batch by its size. The MSE draws
  // nothing, so it is the same; the ELBO terms differ only by their eps draws.
  const VAEEvaluation batched = evaluate_vae(vae, x, {.beta = 2.0}, 4);
  CHECK(batched.mse == doctest::Approx(all.mse).epsilon(1e-6));
  CHECK(batched.kl == doctest::Approx(all.kl).epsilon(1e-6));  // the KL is closed form: no eps
  CHECK(error_message([&] { evaluate_vae(vae, x.narrow(0, 0, 0)); }).find("no images") != std::string::npos);
}
