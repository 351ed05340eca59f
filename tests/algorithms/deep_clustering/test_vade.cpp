// Tests for algorithms/deep_clustering/vade.h (Jiang et al. 2017, "Variational Deep Embedding"):
// the ELBO's latent terms and gamma against hand-written float64 formulas (eq. 11 and eq. 16),
// a finite-difference gradient check through the mixture parameters and the posterior, the
// loss as the sum of its terms with the same draw, the autoencoder and GMM initialisation,
// the learning-rate schedule, VaDE clustering well separated prototypes, and a resumed run
// equal to an uninterrupted one bit for bit.
#include <cmath>
#include <numbers>
#include <string>

#include "cake/algorithms/deep_clustering/vade.h"
#include "cake/algorithms/metrics/metrics.h"
#include "cake/optim/adam.h"
#include "data/test_files.h"
#include "helpers.h"

using namespace cake;
using namespace cake::deep_clustering;
using cake::testing::error_message;
using cake::testing::as_dataset;
using cake::testing::kLog2Pi;

namespace {

Tensor f64(std::vector<double> v, Shape shape) { return tensor(std::move(v), std::move(shape), kFloat64); }

// Row i, column j of a 2-D float64 tensor.
double at(const Tensor& t, std::int64_t i, std::int64_t j) { return t[i][j].item<double>(); }

// A tiny case: N = 2 codes, K = 2 components, J = 2 latent dimensions.
struct Tiny {
  Tensor mean = f64({0.3, -0.5, 1.2, 0.4}, {2, 2});
  Tensor logvar = f64({-0.7, 0.2, -1.1, -0.3}, {2, 2});
  Tensor z = f64({0.1, -0.2, 1.5, 0.9}, {2, 2});
  Tensor pi_logits = f64({0.4, -0.3}, {2});
  Tensor means = f64({0.0, 0.0, 1.0, 0.5}, {2, 2});
  Tensor logvars = f64({0.1, -0.4, -0.2, 0.3}, {2, 2});
};

// log pi_c + log N(z | mu_c, diag(sigma_c^2)) written out from the densities of the Gaussians.
double log_joint_by_hand(const Tiny& t, std::int64_t i, std::int64_t c) {
  const double e0 = std::exp(t.pi_logits[0].item<double>()), e1 = std::exp(t.pi_logits[1].item<double>());
  const double pi = (c == 0 ? e0 : e1) / (e0 + e1);
  double density = 1.0;
  for (std::int64_t j = 0; j < 2; ++j) {
    const double var = std::exp(at(t.logvars, c, j)), d = at(t.z, i, j) - at(t.means, c, j);
    density *= std::exp(-d * d / (2.0 * var)) / std::sqrt(2.0 * std::numbers::pi * var);
  }
  return std::log(pi * density);
}

// Images of `k` noisy binary prototypes (side x side), n of them cycling through the classes.
std::pair<Tensor, Tensor> prototypes(std::int64_t n, std::int64_t k, std::int64_t side, std::uint64_t seed) {
  manual_seed(seed);
  const Tensor protos = (rand({k, 1, side, side}) > Scalar(0.5)).to(kFloat32) * 0.8 + 0.1;
  std::vector<std::int64_t> cycle;
  for (std::int64_t i = 0; i < n; ++i) cycle.push_back(i % k);
  const Tensor labels = tensor(cycle, {n});
  return {(index_select(protos, 0, labels) + randn({n, 1, side, side}) * 0.05).clamp(0.0, 1.0), labels};
}

}  // namespace

TEST_CASE("gamma is Bayes' rule: p(c) p(z | c) / sum_c' p(c') p(z | c') (eq. 16)") {
  const Tiny t;
  const Tensor gamma = mixture_responsibilities(t.z, t.pi_logits, t.means, t.logvars);
  const Tensor log_joint = mixture_log_joint(t.z, t.pi_logits, t.means, t.logvars);
  REQUIRE(gamma.sizes() == Shape{2, 2});
  for (std::int64_t i = 0; i < 2; ++i) {
    const double a = std::exp(log_joint_by_hand(t, i, 0)), b = std::exp(log_joint_by_hand(t, i, 1));
    CHECK(at(log_joint, i, 0) == doctest::Approx(std::log(a)).epsilon(1e-12));
    CHECK(at(log_joint, i, 1) == doctest::Approx(std::log(b)).epsilon(1e-12));
    CHECK(at(gamma, i, 0) == doctest::Approx(a / (a + b)).epsilon(1e-12));
    CHECK(at(gamma, i, 1) == doctest::Approx(b / (a + b)).epsilon(1e-12));
  }
  // Far from every component (log densities near -1e4) the log-space softmax still gives a
  // distribution instead of 0 / 0.
  const Tensor far = mixture_responsibilities(f64({150.0, -150.0}, {1, 2}), t.pi_logits, t.means, t.logvars);
  CHECK(far.sum().item<double>() == doctest::Approx(1.0));
  CHECK(std::isfinite(far[0][0].item<double>()));
}

TEST_CASE("the ELBO's latent terms against eq. 11 written out in float64") {
  const Tiny t;
  const VaDELatentTerms terms = vade_latent_terms({t.mean, t.logvar}, t.z, t.pi_logits, t.means, t.logvars);
  double latent = 0.0, cluster = 0.0;
  for (std::int64_t i = 0; i < 2; ++i) {
    const double a = std::exp(log_joint_by_hand(t, i, 0)), b = std::exp(log_joint_by_hand(t, i, 1));
    const double gamma[2] = {a / (a + b), b / (a + b)};
    const double e0 = std::exp(0.4), e1 = std::exp(-0.3);
    const double pi[2] = {e0 / (e0 + e1), e1 / (e0 + e1)};
    for (std::int64_t c = 0; c < 2; ++c) {
      // E_q[-log p(z | c)] = 1/2 sum_j (log 2 pi + log s_cj + v_j / s_cj + (m_j - mu_cj)^2 / s_cj)
      double expected = 0.0;
      for (std::int64_t j = 0; j < 2; ++j) {
        const double s = std::exp(at(t.logvars, c, j)), v = std::exp(at(t.logvar, i, j));
        const double d = at(t.mean, i, j) - at(t.means, c, j);
        expected += 0.5 * (kLog2Pi + std::log(s) + v / s + d * d / s);
      }
      latent += gamma[c] * expected;
      cluster += gamma[c] * std::log(gamma[c] / pi[c]);
    }
    for (std::int64_t j = 0; j < 2; ++j) latent -= 0.5 * (1.0 + kLog2Pi + at(t.logvar, i, j));  // -H[q(z|x)]
  }
  CHECK(terms.latent.item<double>() == doctest::Approx(latent / 2.0).epsilon(1e-12));
  CHECK(terms.cluster.item<double>() == doctest::Approx(cluster / 2.0).epsilon(1e-12));
  CHECK(terms.cluster.item<double>() >= 0.0);  // a KL divergence
  // With q(z|x) = p(z|c) for a single component of weight 1 the latent term is 0: it is a KL too.
  const Tensor mu1 = f64({0.5, -1.0}, {1, 2}), lv1 = f64({0.3, -0.2}, {1, 2});
  const VaDELatentTerms same = vade_latent_terms({mu1, lv1}, mu1, f64({30.0, -30.0}, {2}),
                                                 f64({0.5, -1.0, 9.0, 9.0}, {2, 2}), f64({0.3, -0.2, 0.0, 0.0}, {2, 2}));
  CHECK(same.latent.item<double>() == doctest::Approx(0.0).scale(1.0).epsilon(1e-9));
  CHECK(error_message([&] { vade_latent_terms({t.mean, t.logvar}, t.z, t.pi_logits, f64({0, 0, 0}, {1, 3}), t.logvars); })
            .find("[1, 3]") != std::string::npos);
}

TEST_CASE("gradcheck (float64): the latent terms through pi, mu_c, log sigma_c^2 and the posterior") {
  const Tiny t;
  auto f = [](const std::vector<Tensor>& in) {
    const VaDELatentTerms terms = vade_latent_terms({in[0], in[1]}, in[2], in[3], in[4], in[5]);
    return terms.latent * 1.0 + terms.cluster * 0.7;  // both terms, differently weighted
  };
  cake::testing::gradcheck(f, {t.mean.clone().requires_grad_(), t.logvar.clone().requires_grad_(),
                               t.z.clone().requires_grad_(), t.pi_logits.clone().requires_grad_(),
                               t.means.clone().requires_grad_(), t.logvars.clone().requires_grad_()});
}

TEST_CASE("VaDE: shapes, the loss is the sum of its terms for the same draw, sampling a component") {
  manual_seed(3);
  VaDE vade({12, 8}, 3, 4, {1, 4, 4});
  const Tensor x = rand({5, 1, 4, 4});
  manual_seed(11);
  const VaDELoss loss = vade_loss(vade, x);
  manual_seed(11);  // the same eps: recompute each term by hand from its pieces
  const networks::GaussianPosterior q = vade.encode(x);
  const Tensor z = networks::reparameterize(q);
  const double bce =
      nn::functional::binary_cross_entropy_with_logits(vade.decode_logits(z), x, nn::Reduction::Sum).item<double>() / 5.0;
  const VaDELatentTerms terms = vade_latent_terms(q, z, vade.pi_logits(), vade.means(), vade.logvars());
  CHECK(loss.reconstruction.item<double>() == doctest::Approx(bce));
  CHECK(loss.latent.item<double>() == doctest::Approx(terms.latent.item<double>()));
  CHECK(loss.cluster.item<double>() == doctest::Approx(terms.cluster.item<double>()));
  CHECK(loss.total.item<double>() ==
        doctest::Approx(loss.reconstruction.item<double>() + loss.latent.item<double>() + loss.cluster.item<double>()));
  CHECK(loss.gamma.sizes() == Shape{5, 4});
  CHECK(vade.predict(x).sizes() == Shape{5});
  CHECK(vade.sample(2, 6).sizes() == Shape{6, 1, 4, 4});
  CHECK(vade.weights().sum().item<double>() == doctest::Approx(1.0));
  CHECK(error_message([&] { vade.sample(4, 1); }).find("component 4") != std::string::npos);
  CHECK(error_message([&] { vade.encode(rand({2, 1, 5, 4})); }).find("[2, 1, 5, 4]") != std::string::npos);
  // Feature rows in [0, 1] work too ({D} input shape, Gaussian likelihood).
  VaDE rows({6}, 2, 2, {7});
  const VaDELoss l = vade_loss(rows, rand({4, 7}), {.likelihood = networks::Likelihood::Gaussian});
  CHECK(std::isfinite(l.total.item<double>()));
}

TEST_CASE("VaDE: the autoencoder's weights and a diagonal GMM initialise it (the paper's pretraining)") {
  manual_seed(4);
  networks::MLPAutoencoder ae({10}, 3, {1, 4, 4});
  VaDE vade({10}, 3, 2, {1, 4, 4});
  const Tensor x = rand({40, 1, 4, 4});
  mixture::GaussianMixture gmm({.n_components = 2, .covariance_type = "diag", .random_state = 0});
  const Tensor labels = initialize_vade(vade, ae, x, gmm);
  CHECK(labels.sizes() == Shape{40});
  // mu~ is the autoencoder's code, and the decoder its decoder (before the sigmoid).
  vade.eval();
  cake::testing::check_close(vade.encode(x).mean, ae.encode(x));
  const Tensor z = randn({3, 3});
  cake::testing::check_close(vade.decode(z), ae.decode(z));
  cake::testing::check_close(vade.weights().to(kFloat64), gmm.weights(), 1e-5, 1e-6);
  cake::testing::check_close(vade.means().to(kFloat64), gmm.means(), 1e-5, 1e-6);
  cake::testing::check_close(vade.variances().to(kFloat64), gmm.covariances(), 1e-4, 1e-7);
  networks::MLPAutoencoder other({11}, 3, {1, 4, 4});
  CHECK(error_message([&] { vade.load_autoencoder(other); }).find("does not match") != std::string::npos);
}

TEST_CASE("the released code's schedule: 0.002, x0.9 every 10 epochs, never below 0.0002") {
  const VaDESchedule s;
  CHECK(s.at(1) == 0.002);
  CHECK(s.at(10) == 0.002);
  CHECK(s.at(11) == doctest::Approx(0.0018));
  CHECK(s.at(21) == doctest::Approx(0.00162));
  CHECK(s.at(1000) == 0.0002);
}

TEST_CASE("VaDE clusters well separated prototypes after the AE + GMM start (ACC ~ 1)") {
  const auto data = prototypes(150, 3, 6, 7);
  const Tensor &x = data.first, &y = data.second;
  manual_seed(8);
  VaDE vade({32}, 2, 3, {1, 6, 6});
  const VaDEPretrainResult start = pretrain_vade(vade, as_dataset(x), nullptr, x,
                                                 {.trainer = {.epochs = 40, .batch_size = 16, .patience = 0}, .lr = 1e-2});
  CHECK(start.training.history.size() == 40);
  optim::Adam adam(vade.parameters(), optim::AdamOptions(0.002).eps(1e-4));
  train::Trainer trainer(vade, adam, [&](const data::Batch& b) { return vade_loss(vade, b.x).total; },
                         {.epochs = 15, .batch_size = 16, .patience = 0});
  attach_schedule(trainer, adam, {});
  const train::TrainResult result = trainer.fit(as_dataset(x));
  CHECK(result.history.back().train_loss < result.history.front().train_loss);
  const Tensor predicted = vade.predict(x);
  CHECK(metrics::acc(y, predicted) >= 0.99);
  CHECK(metrics::acc(y, start.gmm_labels) >= 0.9);  // the start already separates them
}

TEST_CASE("VaDE: 2 epochs then a resume to 4 equals 4 epochs in one go, bit for bit (schedule included)") {
  const Tensor x = prototypes(48, 3, 4, 9).first;
  const testing::ScratchDir dir("vade_resume");
  const VaDESchedule fast{.lr = 0.01, .decay = 0.5, .every = 1, .floor = 0.001};  // changes every epoch
  auto run = [&](std::int64_t epochs, const std::string& checkpoint, const std::string& resume) {
    manual_seed(10);
    auto vade = std::make_shared<VaDE>(std::vector<std::int64_t>{16}, 2, 3, Shape{1, 4, 4});
    optim::Adam adam(vade->parameters(), optim::AdamOptions(0.01).eps(1e-4));
    train::Trainer trainer(*vade, adam, [&](const data::Batch& b) { return vade_loss(*vade, b.x).total; },
                           {.epochs = epochs, .batch_size = 8, .patience = 0, .checkpoint_path = checkpoint,
                            .resume_from = resume});
    attach_schedule(trainer, adam, fast);
    const train::TrainResult result = trainer.fit(as_dataset(x));
    CHECK(result.resume_changes.empty());  // the schedule's lr is no "changed setting"
    CHECK(adam.group_lr(0) == fast.at(epochs));
    return vade;
  };
  const auto whole = run(4, "", "");
  (void)run(2, (dir / "half.safetensors").string(), "");
  const auto resumed = run(4, "", (dir / "half.safetensors").string());
  const auto a = whole->state_dict(), b = resumed->state_dict();
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    INFO(a[i].first);
    CHECK(cake::equal(a[i].second, b[i].second));
  }
}
