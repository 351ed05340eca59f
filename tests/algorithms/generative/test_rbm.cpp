// Tests for algorithms/generative/rbm.h: the free energy, conditionals and partition function
// against the definitions (Hinton 2010, eq. 1 and 2) by brute force over every joint state; the
// contrastive-divergence update against autograd's gradient of the free-energy difference;
// scikit-learn's BernoulliRBM on the same parameters (fixture); learning a distribution whose
// log-likelihood is known; seeds, partial_fit and the errors.
#include <cmath>
#include <limits>

#include "cake/algorithms/generative/rbm.h"
#include "cake/nn/functional.h"
#include "cake/tensor/creation.h"
#include "cake/tensor/random.h"
#include "algorithms/fixtures/rbm_data.h"
#include "helpers.h"

using namespace cake;
using namespace cake::generative;
using cake::testing::values;

namespace {

namespace F = cake::nn::functional;

// A small RBM with random parameters (float64).
RBM random_rbm(std::int64_t visible, std::int64_t hidden, HiddenUnits units = HiddenUnits::Bernoulli) {
  manual_seed(11);
  RBM rbm({.n_components = hidden, .hidden_units = units});
  rbm.set_parameters(randn({hidden, visible}, kFloat64), randn({hidden}, kFloat64) * 0.5, randn({visible}, kFloat64) * 0.5);
  return rbm;
}

// Whether fn throws a cake::Error whose message contains `part`.
template <class Fn>
bool contains_error(Fn&& fn, const std::string& part) {
  const std::string message = cake::testing::error_message(fn);
  if (!cake::testing::contains(message, part)) MESSAGE("error message: '", message, "'");
  return cake::testing::contains(message, part);
}

// E(v, h) = -a.v - b.h - h^T W v (eq. 1).
double energy(const RBM& rbm, const std::vector<double>& v, const std::vector<double>& h) {
  const std::vector<double> w = values(rbm.components()), a = values(rbm.intercept_visible()), b = values(rbm.intercept_hidden());
  double e = 0.0;
  for (std::size_t i = 0; i < v.size(); ++i) e -= a[i] * v[i];
  for (std::size_t j = 0; j < h.size(); ++j) {
    e -= b[j] * h[j];
    for (std::size_t i = 0; i < v.size(); ++i) e -= h[j] * w[j * v.size() + i] * v[i];
  }
  return e;
}

}  // namespace

TEST_CASE("RBM: free energy, conditionals and log Z equal the sums over every joint state") {
  const std::int64_t d = 5, k = 3;
  const RBM rbm = random_rbm(d, k);
  std::vector<double> all_v;
  for (std::int64_t code = 0; code < (1 << d); ++code)
    for (double x : rbm_fixtures::bits(code, d)) all_v.push_back(x);
  const Tensor v_all = tensor(all_v, {1 << d, d});
  const std::vector<double> free_energy = values(rbm.free_energy(v_all));
  const std::vector<double> p_h = values(rbm.transform(v_all));
  double z = 0.0;
  for (std::int64_t code = 0; code < (1 << d); ++code) {
    const std::vector<double> v = rbm_fixtures::bits(code, d);
    double marginal = 0.0;               // sum_h exp(-E(v, h)) = exp(-F(v))
    std::vector<double> on(k, 0.0);      // the part of it with h_j = 1
    for (std::int64_t hcode = 0; hcode < (1 << k); ++hcode) {
      const std::vector<double> h = rbm_fixtures::bits(hcode, k);
      const double weight = std::exp(-energy(rbm, v, h));
      marginal += weight;
      for (std::int64_t j = 0; j < k; ++j) on[static_cast<std::size_t>(j)] += h[static_cast<std::size_t>(j)] * weight;
    }
    z += marginal;
    CHECK(free_energy[static_cast<std::size_t>(code)] == doctest::Approx(-std::log(marginal)).epsilon(1e-12));
    for (std::int64_t j = 0; j < k; ++j)  // eq. 7
      CHECK(p_h[static_cast<std::size_t>(code * k + j)] == doctest::Approx(on[static_cast<std::size_t>(j)] / marginal).epsilon(1e-12));
  }
  // log Z enumerates the 3 hidden units here; with more hidden than visible units it enumerates the visible ones.
  CHECK(rbm.log_partition() == doctest::Approx(std::log(z)).epsilon(1e-12));
  RBM wide({.n_components = 7});
  wide.set_parameters(randn({7, 4}, kFloat64), randn({7}, kFloat64), randn({4}, kFloat64));
  RBM wide_t({.n_components = 4});  // the same machine with the layers' roles swapped has the same Z
  wide_t.set_parameters(wide.components().t(), wide.intercept_visible(), wide.intercept_hidden());
  CHECK(wide.log_partition() == doctest::Approx(wide_t.log_partition()).epsilon(1e-12));
  // p(v) sums to one over every v.
  CHECK(rbm.log_likelihood(v_all).exp().sum().item<double>() == doctest::Approx(1.0).epsilon(1e-12));

  // eq. 8: p(v_i = 1 | h) against the ratio of joint weights.
  const std::vector<double> h = {1.0, 0.0, 1.0};
  const std::vector<double> p_v = values(rbm.mean_visible(tensor(h, {1, k})));
  for (std::int64_t i = 0; i < d; ++i) {
    std::vector<double> v_on(static_cast<std::size_t>(d), 0.0), v_off(static_cast<std::size_t>(d), 0.0);
    v_on[static_cast<std::size_t>(i)] = 1.0;
    const double odds = std::exp(energy(rbm, v_off, h) - energy(rbm, v_on, h));  // other units cancel
    CHECK(p_v[static_cast<std::size_t>(i)] == doctest::Approx(odds / (1.0 + odds)).epsilon(1e-12));
  }
}

TEST_CASE("RBM: Gaussian hidden units have linear means and the free energy of the integral over h") {
  const RBM rbm = random_rbm(4, 1, HiddenUnits::Gaussian);
  const Tensor v = tensor({0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 0.0, 1.0}, {2, 4}).to(kFloat64);
  const double w_dot_v0 = (v.narrow(0, 0, 1).matmul(rbm.components().t()) + rbm.intercept_hidden()).item<double>();
  CHECK(rbm.transform(v.narrow(0, 0, 1)).item<double>() == doctest::Approx(w_dot_v0).epsilon(1e-12));
  // With E(v, h) = -a.v - b h - h w.v + h^2 / 2, exp(-F(v)) is proportional to the integral of
  // exp(-E(v, h)) over h: compare the ratio for two v by the trapezoid rule on [-30, 30].
  auto integral = [&](const std::vector<double>& vv) {
    const std::vector<double> w = values(rbm.components()), a = values(rbm.intercept_visible());
    double x = values(rbm.intercept_hidden())[0], av = 0.0;
    for (std::size_t i = 0; i < vv.size(); ++i) { x += w[i] * vv[i]; av += a[i] * vv[i]; }
    double sum = 0.0;
    const double step = 1e-3;
    for (double hh = -30.0; hh <= 30.0; hh += step) sum += std::exp(av + x * hh - hh * hh / 2.0) * step;
    return sum;
  };
  const std::vector<double> f = values(rbm.free_energy(v));
  CHECK(f[1] - f[0] == doctest::Approx(std::log(integral({0, 1, 1, 0}) / integral({1, 0, 0, 1}))).epsilon(1e-6));
}

TEST_CASE("contrastive_divergence_gradient is the gradient of F(v_model) - F(v_data), batch means") {
  manual_seed(5);
  const std::int64_t d = 6, k = 4;
  Tensor w = randn({k, d}, kFloat64).requires_grad_(), b = randn({k}, kFloat64).requires_grad_(),
         a = randn({d}, kFloat64).requires_grad_();
  const Tensor v_data = rand({5, d}, kFloat64).bernoulli(), v_model = rand({3, d}, kFloat64);
  auto free_energy = [&](const Tensor& v) {  // F(v) = -a.v - sum_j softplus(b_j + W_j.v)
    return -(v.matmul(a)) - F::softplus(v.matmul(w.t()) + b).sum({1});
  };
  const Tensor objective = free_energy(v_model).mean() - free_energy(v_data).mean();
  objective.backward();
  const Tensor h_data = (v_data.matmul(w.t()) + b).sigmoid().detach(), h_model = (v_model.matmul(w.t()) + b).sigmoid().detach();
  const RBMGradient g = contrastive_divergence_gradient(v_data, h_data, v_model, h_model);
  cake::testing::check_close(g.weights, w.grad(), 1e-12, 1e-12);
  cake::testing::check_close(g.hidden_bias, b.grad(), 1e-12, 1e-12);
  cake::testing::check_close(g.visible_bias, a.grad(), 1e-12, 1e-12);
  CHECK(contains_error([&] { contrastive_divergence_gradient(v_data, h_data.narrow(0, 0, 2), v_model, h_model); },
                       "expected v_data [B, d], h_data [B, k]"));
}

TEST_CASE("RBM: free energy, transform and pseudo-likelihood equal scikit-learn's on its fitted parameters") {
  using namespace rbm_fixtures;
  RBM rbm({.n_components = kHidden});
  rbm.set_parameters(tensor(components, {kHidden, kFeatures}), tensor(intercept_hidden), tensor(intercept_visible));
  const Tensor rows = rbm_fixtures::data().narrow(0, 0, 10);
  cake::testing::check_close(rbm.free_energy(rows), tensor(free_energy), 1e-12, 1e-10);
  cake::testing::check_close(rbm.transform(rows), tensor(transform, {10, kHidden}), 1e-12, 1e-12);
  cake::testing::check_close(rbm.score_samples(rows), tensor(pseudo_log_likelihood), 1e-12, 1e-10);
  // float32 parameters: the same numbers to float32 rounding (scores are summed in float64).
  RBM single({.n_components = kHidden});
  single.set_parameters(tensor(components, {kHidden, kFeatures}).to(kFloat32), tensor(intercept_hidden),
                        tensor(intercept_visible));
  cake::testing::check_close(single.score_samples(rows.to(kFloat32)), tensor(pseudo_log_likelihood), 1e-5, 1e-4);
}

TEST_CASE("RBM: persistent CD learns the prototype data as well as scikit-learn does (exact log-likelihood)") {
  using namespace rbm_fixtures;
  const Tensor x = rbm_fixtures::data();
  // Untrained (weights ~ 0): every vector has probability 2^-16.
  const double untrained = -kFeatures * std::log(2.0);
  double sum = 0.0;
  for (std::uint64_t seed = 0; seed < 5; ++seed) {
    RBM rbm({.n_components = kHidden, .learning_rate = 0.1, .batch_size = 10, .n_iter = 10, .random_state = seed});
    rbm.fit(x);
    sum += rbm.log_likelihood(x).mean().item<double>();
  }
  double sklearn_mean = 0.0, sklearn_sq = 0.0;
  for (double ll : sklearn_mean_log_likelihoods) { sklearn_mean += ll / 5.0; sklearn_sq += ll * ll / 5.0; }
  const double sklearn_sd = std::sqrt(sklearn_sq - sklearn_mean * sklearn_mean);
  const double cake_mean = sum / 5.0;
  MESSAGE("mean log-likelihood: untrained ", untrained, ", Cake ", cake_mean, ", scikit-learn ", sklearn_mean, " +- ",
          sklearn_sd, ", true ", kTrueMeanLogLikelihood);
  CHECK(cake_mean > untrained + 3.0);
  // Two standard errors of the two means of five apart at most.
  CHECK(std::abs(cake_mean - sklearn_mean) < 2.0 * std::sqrt(2.0 / 5.0) * sklearn_sd + 0.1);
}

TEST_CASE("RBM: Hinton's CD-1 recipe gets close to the true likelihood, and its samples are the prototypes") {
  using namespace rbm_fixtures;
  const Tensor x = rbm_fixtures::data();
  RBMOptions options{.n_components = kHidden, .learning_rate = 0.1, .batch_size = 10, .n_iter = 100, .persistent = false,
                     .sample_visible = false, .momentum = 0.5, .final_momentum = 0.9, .weight_decay = 2e-4,
                     .init_std = 0.1, .shuffle = true, .random_state = 3};
  std::vector<double> errors;
  options.on_epoch = [&](std::int64_t epoch, double error) {
    CHECK(epoch == static_cast<std::int64_t>(errors.size()) + 1);
    errors.push_back(error);
  };
  RBM rbm(options);
  rbm.fit(x);
  REQUIRE(errors.size() == 100);
  CHECK(errors.back() < 0.5 * errors.front());  // the reconstructions improve
  const double ll = rbm.log_likelihood(x).mean().item<double>();
  MESSAGE("CD-1 mean log-likelihood ", ll, " (true ", kTrueMeanLogLikelihood, ")");
  CHECK(ll > kTrueMeanLogLikelihood - 1.0);
  CHECK(ll < kTrueMeanLogLikelihood + 0.2);  // no model of 8 hidden units beats the truth by more than chance

  // 200 chains started from noise, 200 Gibbs steps: nearly all end within two bits of a prototype.
  manual_seed(4);
  const Tensor samples = rbm.sample(rand({200, kFeatures}, kFloat64).bernoulli(), 200).gt(0.5).to(kFloat64);
  const Tensor data_rows = x.narrow(0, 0, 100);  // every prototype appears among them, flipped at 5%
  const Tensor mismatches = (samples.unsqueeze(1) - data_rows.unsqueeze(0)).abs().sum({2}).amin({1});
  const double near = mismatches.le(2.0).to(kFloat64).mean().item<double>();
  MESSAGE("samples within 2 bits of a data vector: ", near);
  CHECK(near > 0.9);
  // gibbs draws binary states; transform is a probability.
  const std::vector<double> g = values(rbm.gibbs(x.narrow(0, 0, 20)));
  for (double value : g) CHECK((value == 0.0 || value == 1.0));
  CHECK(rbm.transform(x).min().item<double>() >= 0.0);
  CHECK(rbm.transform(x).max().item<double>() <= 1.0);
}

TEST_CASE("RBM: a seed fixes the fit; partial_fit continues the model's own stream; float32 fits too") {
  const Tensor x = rbm_fixtures::data();
  RBMOptions options{.n_components = 6, .n_iter = 3, .random_state = 7};
  RBM a(options), b(options);
  a.fit(x);
  manual_seed(99);  // the global stream does not matter with a random_state
  b.fit(x);
  CHECK(values(a.components()) == values(b.components()));
  CHECK(values(a.persistent_chains()) == values(b.persistent_chains()));
  options.random_state = 8;
  RBM c(options);
  c.fit(x);
  CHECK(values(a.components()) != values(c.components()));
  // fit leaves the global stream where it was.
  manual_seed(1);
  const double expected = rand({1}).item<double>();
  manual_seed(1);
  RBM(options).fit(x);
  CHECK(rand({1}).item<double>() == expected);

  // One epoch over a single batch is one partial_fit call; a second call continues the stream.
  RBMOptions one{.n_components = 6, .batch_size = 400, .n_iter = 1, .random_state = 2};
  RBM whole(one), part(one);
  whole.fit(x);
  part.partial_fit(x);
  CHECK(values(whole.components()) == values(part.components()));
  const std::vector<double> after_one = values(part.components());
  part.partial_fit(x);
  CHECK(values(part.components()) != after_one);

  RBM single({.n_components = 6, .n_iter = 3, .random_state = 7});
  single.fit(x.to(kFloat32));
  CHECK(single.components().dtype() == kFloat32);
  CHECK(single.log_likelihood(x).mean().item<double>() == doctest::Approx(a.log_likelihood(x).mean().item<double>()).epsilon(0.05));
}

TEST_CASE("RBM: errors name the problem") {
  const Tensor x = rbm_fixtures::data();
  CHECK(contains_error([&] { RBM().fit(x * 2.0); }, "must be probabilities in [0, 1]; found values from 0 to 2"));
  CHECK(contains_error([&] { RBM().transform(x); }, "RBM.transform: the model is not fitted"));
  RBM rbm({.n_components = 4, .n_iter = 1, .random_state = 0});
  rbm.fit(x);
  CHECK(contains_error([&] { rbm.transform(x.narrow(1, 0, 5)); }, "expected visible states [n, 16], got shape [400, 5]"));
  CHECK(contains_error([&] { rbm.mean_visible(x); }, "expected hidden states [n, 4], got shape [400, 16]"));
  CHECK(contains_error([&] { rbm.partial_fit(x.narrow(1, 0, 5)); }, "has 16 visible units, got data of shape [400, 5]"));
  CHECK(contains_error([&] { RBM({.n_components = 0}); }, "n_components must be positive"));
  CHECK(contains_error([&] { RBM({.cd_k = 0}); }, "cd_k (Gibbs steps) must be >= 1"));
  CHECK(contains_error([&] { RBM({.momentum = 1.0}); }, "momentum must be in [0, 1)"));
  RBM big({.n_components = 30, .n_iter = 1});
  big.fit(rand({10, 40}));
  CHECK(contains_error([&] { (void)big.log_partition(); }, "at most 20 units, but the model has 40 visible and 30 hidden"));
  CHECK(contains_error([&] { parse_hidden_units("binary"); }, "must be bernoulli or gaussian, got 'binary'"));
}
