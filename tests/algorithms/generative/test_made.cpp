// MADE: the masks make output d depend on inputs before d only (checked through autograd), also
// in drawn orders; the model is a normalised distribution (the probabilities of all 2^D binary
// vectors sum to 1), and so is the mixture of several masks; maximum likelihood learns a known
// distribution with one mask or several, and samples follow the model; the masks are saved with
// the weights; errors.
#include "cake/algorithms/generative/made.h"

#include <cmath>
#include <map>

#include "cake/autograd/grad_mode.h"
#include "cake/optim/adam.h"
#include "cake/tensor/creation.h"
#include "cake/tensor/random.h"
#include "helpers.h"

using namespace cake;
using namespace cake::generative;
using namespace cake::testing;

namespace {

// All 2^d binary vectors, row r holding the bits of r (the first coordinate the lowest bit).
Tensor all_binary_vectors(std::int64_t d) {
  const std::int64_t n = std::int64_t{1} << d;
  Tensor x = zeros({n, d}, kFloat64);
  double* p = x.data_ptr<double>();
  for (std::int64_t r = 0; r < n; ++r)
    for (std::int64_t j = 0; j < d; ++j) p[r * d + j] = static_cast<double>((r >> j) & 1);
  return x;
}

// The index of each binary row (its bits, the first coordinate the lowest).
std::vector<std::int64_t> row_codes(const Tensor& x) {
  const std::vector<double> v = values(x);
  const std::int64_t d = x.size(1);
  std::vector<std::int64_t> codes(static_cast<std::size_t>(x.size(0)));
  for (std::size_t r = 0; r < codes.size(); ++r)
    for (std::int64_t j = 0; j < d; ++j) codes[r] |= static_cast<std::int64_t>(v[r * d + j] > 0.5) << j;
  return codes;
}

// 4000 draws of 4 dependent bits: x1 ~ B(0.7), x2 = x1 flipped with probability 0.1,
// x3 ~ B(0.2 + 0.6 x2), x4 = x1 AND x3.
Tensor dependent_bits() {
  manual_seed(3);
  const std::int64_t n = 4000;
  const std::vector<double> u = values(rand({n, 3}, kFloat64));
  Tensor x = zeros({n, 4}, kFloat64);
  double* p = x.data_ptr<double>();
  for (std::int64_t i = 0; i < n; ++i) {
    const double x1 = u[i * 3] < 0.7, x2 = (u[i * 3 + 1] < 0.1) ? 1 - x1 : x1, x3 = u[i * 3 + 2] < 0.2 + 0.6 * x2;
    p[i * 4] = x1, p[i * 4 + 1] = x2, p[i * 4 + 2] = x3, p[i * 4 + 3] = x1 * x3;
  }
  return x;
}

// The empirical distribution of binary rows over their 2^d codes.
std::vector<double> frequencies(const Tensor& x) {
  std::vector<double> f(static_cast<std::size_t>(std::int64_t{1} << x.size(1)), 0.0);
  for (std::int64_t code : row_codes(x)) f[static_cast<std::size_t>(code)] += 1.0 / static_cast<double>(x.size(0));
  return f;
}

double total_variation(const std::vector<double>& a, const std::vector<double>& b) {
  double t = 0;
  for (std::size_t i = 0; i < a.size(); ++i) t += std::abs(a[i] - b[i]) / 2;
  return t;
}

}  // namespace

TEST_CASE("MADE: output d depends on inputs before d only (the autoregressive property)") {
  manual_seed(1);
  MADE made(6, {.hidden = {16, 16}, .mask_seed = 2});
  made.to(kFloat64);
  Tensor x = rand({5, 6}, kFloat64);
  x.requires_grad_(true);
  const Tensor logits = made.forward(x);
  for (std::int64_t d = 0; d < 6; ++d) {
    CAPTURE(d);
    x.set_grad(Tensor());
    logits.narrow(1, d, 1).sum().backward(Tensor(), /*retain_graph=*/true);
    const Tensor g = x.grad().abs().sum({0});
    for (std::int64_t j = d; j < 6; ++j) CHECK(g[j].item<double>() == 0.0);
    // ...and with these masks and weights, on every input before it.
    for (std::int64_t j = 0; j < d; ++j) CHECK(g[j].item<double>() > 0.0);
  }
  // The degrees: inputs 1..D, hidden units in [1, D - 1].
  const auto degrees = made_degrees(6, {16, 16}, 2);
  CHECK(degrees[0] == std::vector<std::int64_t>{1, 2, 3, 4, 5, 6});
  for (std::size_t l = 1; l < degrees.size(); ++l)
    for (std::int64_t m : degrees[l]) CHECK((m >= 1 && m <= 5));
}

TEST_CASE("MADE: the probabilities of all 2^D binary vectors sum to 1") {
  manual_seed(4);
  MADE made(8, {.hidden = {20}, .mask_seed = 7});
  made.to(kFloat64);
  NoGradGuard no_grad;
  const Tensor log_p = made.log_prob(all_binary_vectors(8));
  CHECK(log_p.sizes() == Shape{256});
  CHECK(exp(log_p).sum().item<double>() == doctest::Approx(1.0).epsilon(1e-12));
}

TEST_CASE("MADE: maximum likelihood learns a known distribution, and samples follow the model") {
  const Tensor x = dependent_bits();
  manual_seed(5);
  MADE made(4, {.hidden = {32}, .mask_seed = 0});
  made.to(kFloat64);
  optim::Adam adam(made.parameters(), optim::AdamOptions().lr(0.02));
  for (int step = 0; step < 600; ++step) {
    adam.zero_grad();
    const Tensor loss = -made.log_prob(x).mean();
    loss.backward();
    adam.step();
  }
  const std::vector<double> empirical = frequencies(x);
  NoGradGuard no_grad;
  const std::vector<double> model = values(exp(made.log_prob(all_binary_vectors(4))));
  // The maximum-likelihood distribution is the empirical one; the network gets within 2%.
  CHECK(total_variation(model, empirical) < 0.02);
  // The mean log-likelihood equals minus the empirical entropy at the optimum.
  double entropy = 0;
  for (double f : empirical) entropy -= f > 0 ? f * std::log(f) : 0.0;
  CHECK(-made.log_prob(x).mean().item<double>() == doctest::Approx(entropy).epsilon(0.01));
  // 20,000 draws from the model match its own probabilities.
  manual_seed(6);
  const Tensor draws = made.sample(20000);
  CHECK(draws.sizes() == Shape{20000, 4});
  CHECK(total_variation(frequencies(draws), model) < 0.015);
}

TEST_CASE("MADE with several masks in drawn orders: each is autoregressive in its order, the mixture sums to 1") {
  manual_seed(12);
  MADE made(7, {.hidden = {24}, .mask_seed = 3, .n_masks = 3, .order_agnostic = true});
  made.to(kFloat64);
  std::vector<std::vector<std::int64_t>> orders;
  for (std::int64_t k = 0; k < 3; ++k) {
    CAPTURE(k);
    made.set_mask(k);
    CHECK(made.mask_index() == k);
    const std::vector<std::int64_t> order = made.order();
    orders.push_back(order);
    Tensor x = rand({4, 7}, kFloat64);
    x.requires_grad_(true);
    const Tensor logits = made.forward(x);
    for (std::size_t t = 0; t < order.size(); ++t) {
      x.set_grad(Tensor());
      logits.narrow(1, order[t], 1).sum().backward(Tensor(), /*retain_graph=*/true);
      const Tensor g = x.grad().abs().sum({0});
      for (std::size_t s = t; s < order.size(); ++s) CHECK(g[order[s]].item<double>() == 0.0);
    }
    NoGradGuard no_grad;
    CHECK(exp(made.log_prob(all_binary_vectors(7))).sum().item<double>() == doctest::Approx(1.0).epsilon(1e-12));
  }
  CHECK(orders[0] != orders[1]);
  CHECK(orders[1] != orders[2]);
  NoGradGuard no_grad;
  made.set_mask(1);
  const Tensor mixture = exp(made.ensemble_log_prob(all_binary_vectors(7)));
  CHECK(mixture.sum().item<double>() == doctest::Approx(1.0).epsilon(1e-12));
  CHECK(made.mask_index() == 1);  // ensemble_log_prob leaves the mask as it was
  // The mixture is the mean of the three distributions.
  Tensor mean = zeros({128}, kFloat64);
  for (std::int64_t k = 0; k < 3; ++k) {
    made.set_mask(k);
    mean = mean + exp(made.log_prob(all_binary_vectors(7))) / 3.0;
  }
  check_close(mixture, mean, 1e-12, 1e-15);
}

TEST_CASE("MADE with several masks: trained one mask per step, the mixture learns the distribution and samples follow it") {
  const Tensor x = dependent_bits();
  manual_seed(5);
  MADE made(4, {.hidden = {32}, .mask_seed = 0, .n_masks = 4, .order_agnostic = true});
  made.to(kFloat64);
  optim::Adam adam(made.parameters(), optim::AdamOptions().lr(0.02));
  for (int step = 0; step < 800; ++step) {
    made.set_mask(step % 4);
    adam.zero_grad();
    const Tensor loss = -made.log_prob(x).mean();
    loss.backward();
    adam.step();
  }
  NoGradGuard no_grad;
  const std::vector<double> model = values(exp(made.ensemble_log_prob(all_binary_vectors(4))));
  CHECK(total_variation(model, frequencies(x)) < 0.03);
  manual_seed(6);
  CHECK(total_variation(frequencies(made.sample(20000)), model) < 0.015);
}

TEST_CASE("MADE: the masks are saved with the weights") {
  manual_seed(8);
  MADE a(10, {.hidden = {12}, .mask_seed = 1});
  MADE b(10, {.hidden = {12}, .mask_seed = 2});
  CHECK(values(a.masks()[0]) != values(b.masks()[0]));
  b.load_state_dict(a.state_dict());
  const Tensor x = bernoulli(rand({7, 10}));
  NoGradGuard no_grad;
  CHECK(values(b.log_prob(x)) == values(a.log_prob(x)));
  // With several masks, the current one and its index travel too.
  MADE c(10, {.hidden = {12}, .mask_seed = 1, .n_masks = 3}), d(10, {.hidden = {12}, .mask_seed = 1, .n_masks = 3});
  c.set_mask(2);
  d.load_state_dict(c.state_dict());
  CHECK(d.mask_index() == 2);
  CHECK(values(d.log_prob(x)) == values(c.log_prob(x)));
  // Images are flattened: [N, 1, 2, 5] is [N, 10].
  CHECK(values(a.log_prob(x.reshape({7, 1, 2, 5}))) == values(a.log_prob(x)));
}

TEST_CASE("MADE: bad sizes are named") {
  CHECK_THROWS_WITH(MADE(1), doctest::Contains("at least 2 inputs"));
  CHECK_THROWS_WITH(MADE(5, {.hidden = {0}}), doctest::Contains("hidden layer 1 must have at least one unit"));
  MADE made(5, {.hidden = {8}});
  CHECK_THROWS_WITH(made.forward(zeros({2, 6})), doctest::Contains("expected rows of 5 values"));
  CHECK_THROWS_WITH(made.sample(0), doctest::Contains("n must be at least 1"));
  CHECK_THROWS_WITH(made.set_mask(1), doctest::Contains("mask 1 is not in [0, 1)"));
  CHECK_THROWS_WITH(MADE(5, {.n_masks = 0}), doctest::Contains("n_masks must be at least 1"));
}
