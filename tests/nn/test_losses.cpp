// Tests for nn::functional's losses and similarities: hand-computed values, the reduction
// modes, numerical stability at extreme inputs, naive-loop references for the contrastive
// losses, and argument errors. (Gradients: tests/autograd/gradcheck_cases_losses.cpp.)
#include <cmath>

#include "helpers.h"

using namespace cake;
namespace F = cake::nn::functional;
using cake::testing::check_close;
using cake::testing::values;
using Reduction = cake::nn::Reduction;

namespace {

Tensor vec(std::initializer_list<double> v) { return tensor(v, {}, kFloat64); }
Tensor labels(std::vector<std::int64_t> v) { return tensor(v, {static_cast<std::int64_t>(v.size())}); }
double scalar(const Tensor& t) { return t.item<double>(); }

}  // namespace

TEST_CASE("mse_loss and l1_loss: values and every reduction") {
  const Tensor input = vec({1.0, 2.0, 3.0}), target = vec({1.5, 2.0, 1.0});
  // Differences -0.5, 0, 2.
  check_close(F::mse_loss(input, target, Reduction::None), vec({0.25, 0.0, 4.0}));
  CHECK(scalar(F::mse_loss(input, target)) == doctest::Approx(4.25 / 3));
  CHECK(scalar(F::mse_loss(input, target, Reduction::Sum)) == doctest::Approx(4.25));
  CHECK(scalar(F::l1_loss(input, target)) == doctest::Approx(2.5 / 3));
  CHECK(scalar(F::l1_loss(input.view({3, 1}), target.view({3, 1}), Reduction::BatchMean)) == doctest::Approx(2.5 / 3));
  CHECK_THROWS_WITH_AS(F::mse_loss(input, target.view({3, 1})), doctest::Contains("[3] and target of shape [3, 1]"), Error);
}

TEST_CASE("binary_cross_entropy: values, weights, the -100 clamp, range check") {
  const Tensor p = vec({0.9, 0.2}), t = vec({1.0, 0.0});
  const double expected = -(std::log(0.9) + std::log(0.8)) / 2;
  CHECK(scalar(F::binary_cross_entropy(p, t)) == doctest::Approx(expected));
  CHECK(scalar(F::binary_cross_entropy(p, t, Reduction::Sum, vec({2.0, 1.0}))) ==
        doctest::Approx(-2 * std::log(0.9) - std::log(0.8)));
  // p = 0 with target 1: log(0) is clamped to -100, so the loss is 100, not infinity.
  CHECK(scalar(F::binary_cross_entropy(vec({0.0}), vec({1.0}))) == doctest::Approx(100.0));
  CHECK(scalar(F::binary_cross_entropy(vec({1.0}), vec({1.0}))) == doctest::Approx(0.0));
  CHECK_THROWS_WITH_AS(F::binary_cross_entropy(vec({1.5}), vec({1.0})), doctest::Contains("probabilities in [0, 1]"), Error);
}

TEST_CASE("binary_cross_entropy_with_logits: values, pos_weight, stability at extreme logits") {
  const Tensor x = vec({2.0, -1.0, 0.0}), t = vec({1.0, 0.0, 0.5});
  // softplus(-2) for (2, 1), softplus(-1) for (-1, 0), log 2 for (0, 1/2).
  check_close(F::binary_cross_entropy_with_logits(x, t, Reduction::None),
              vec({0.1269280110429725, 0.31326168751822286, 0.6931471805599453}), 1e-12, 0.0);
  // Agrees with binary_cross_entropy on sigmoid(x) where that is well conditioned.
  check_close(F::binary_cross_entropy_with_logits(x, t), F::binary_cross_entropy(x.sigmoid(), t), 1e-12, 0.0);
  // pos_weight multiplies the positive term: 3 softplus(-2) for (2, 1).
  CHECK(scalar(F::binary_cross_entropy_with_logits(vec({2.0}), vec({1.0}), Reduction::Sum, {}, vec({3.0}))) ==
        doctest::Approx(3 * 0.1269280110429725));
  // Logit -1000 with target 1: loss 1000 exactly, where log(sigmoid(-1000)) would be -inf.
  const Tensor extreme = F::binary_cross_entropy_with_logits(vec({-1000.0, 1000.0}), vec({1.0, 1.0}), Reduction::None);
  check_close(extreme, vec({1000.0, 0.0}));
  CHECK(std::isfinite(scalar(F::binary_cross_entropy_with_logits(tensor({-1000.0}), tensor({1.0})))));  // float32 too
}

TEST_CASE("cross_entropy: values, class weights, ignore_index, probabilities, spatial targets") {
  const Tensor logits = tensor({1.0, 2.0, 3.0, 1.0, 1.0, 1.0}, {2, 3}, kFloat64);
  // Row 0, class 2: log(1 + e^-1 + e^-2); row 1 (uniform), class 0: log 3.
  const double row0 = std::log(1 + std::exp(-1.0) + std::exp(-2.0)), row1 = std::log(3.0);
  check_close(F::cross_entropy(logits, labels({2, 0}), Reduction::None), vec({row0, row1}), 1e-12, 0.0);
  CHECK(scalar(F::cross_entropy(logits, labels({2, 0}))) == doctest::Approx((row0 + row1) / 2));
  // Weighted mean: sum w_t l / sum w_t.
  const Tensor weight = vec({1.0, 1.0, 2.0});
  CHECK(scalar(F::cross_entropy(logits, labels({2, 0}), Reduction::Mean, weight)) ==
        doctest::Approx((2 * row0 + row1) / 3));
  // An ignored target counts in neither sum.
  CHECK(scalar(F::cross_entropy(logits, labels({2, -100}))) == doctest::Approx(row0));
  check_close(F::cross_entropy(logits, labels({2, 7}), Reduction::None, {}, 7), vec({row0, 0.0}), 1e-12, 0.0);
  // One-hot probabilities as targets give the same losses as the class indices.
  const Tensor soft = tensor({0.0, 0.0, 1.0, 1.0, 0.0, 0.0}, {2, 3}, kFloat64);
  check_close(F::cross_entropy(logits, soft, Reduction::None), vec({row0, row1}), 1e-12, 0.0);
  // [N, C, d] with [N, d] targets equals the flattened [N d, C] problem.
  manual_seed(2);
  const Tensor spatial = randn({2, 3, 4}, kFloat64);
  const Tensor target = randint(0, 3, {2, 4});
  check_close(F::cross_entropy(spatial, target, Reduction::None).flatten(),
              F::cross_entropy(spatial.transpose(1, 2).reshape({8, 3}), target.flatten(), Reduction::None), 1e-12, 0.0);
  // Stable for huge logits: log_softmax subtracts the maximum first.
  const Tensor huge = tensor({1000.0, 0.0}, {1, 2}, kFloat32);
  CHECK(scalar(F::cross_entropy(huge, labels({0}))) == doctest::Approx(0.0));
  CHECK(scalar(F::cross_entropy(huge, labels({1}))) == doctest::Approx(1000.0));
}

TEST_CASE("nll_loss and cross_entropy reject bad targets with the shapes and values") {
  const Tensor logits = zeros({2, 3}, kFloat64);
  CHECK_THROWS_WITH_AS(F::cross_entropy(logits, labels({0, 3})), doctest::Contains("found values in [0, 3]"), Error);
  CHECK_THROWS_WITH_AS(F::cross_entropy(logits, labels({0, 1, 2})), doctest::Contains("target of shape [3]"), Error);
  CHECK_THROWS_WITH_AS(F::nll_loss(logits, vec({0.0, 1.0})), doctest::Contains("must be int64"), Error);
  CHECK_THROWS_WITH_AS(F::nll_loss(logits, labels({0, 1}), Reduction::Mean, vec({1.0})),
                       doctest::Contains("one entry per class"), Error);
  // nll_loss on log-probabilities is the negated pick.
  const Tensor log_probs = tensor({-0.1, -2.0, -3.0, -1.5, -0.5, -2.5}, {2, 3}, kFloat64);
  check_close(F::nll_loss(log_probs, labels({0, 2}), Reduction::None), vec({0.1, 2.5}));
  CHECK(scalar(F::nll_loss(log_probs, labels({0, 2}), Reduction::Sum)) == doctest::Approx(2.6));
}

TEST_CASE("kl_div: PyTorch's convention (input = log q, target = p), zero where p is zero") {
  const Tensor p = tensor({0.5, 0.5, 0.0}, {1, 3}, kFloat64);
  const Tensor log_q = tensor({0.25, 0.25, 0.5}, {1, 3}, kFloat64).log();
  // KL(p || q) = 0.5 log 2 + 0.5 log 2 + 0 = log 2.
  CHECK(scalar(F::kl_div(log_q, p, Reduction::Sum)) == doctest::Approx(std::log(2.0)));
  CHECK(scalar(F::kl_div(log_q, p, Reduction::BatchMean)) == doctest::Approx(std::log(2.0)));
  CHECK(scalar(F::kl_div(log_q, p)) == doctest::Approx(std::log(2.0) / 3));  // mean over elements
  CHECK(scalar(F::kl_div(log_q, (p + 1e-300).log(), Reduction::Sum, /*log_target=*/true)) ==
        doctest::Approx(std::log(2.0)));
  check_close(F::kl_div(log_q, p, Reduction::None), tensor({0.5 * std::log(2.0), 0.5 * std::log(2.0), 0.0}, {1, 3}, kFloat64));
  CHECK(scalar(F::kl_div(log_q, log_q.exp(), Reduction::Sum)) == doctest::Approx(0.0));  // KL(q || q) = 0
}

TEST_CASE("gaussian_kl: -1/2 sum(1 + logvar - mu^2 - exp(logvar)) per sample") {
  // Sample 0: mu = (1, 2), logvar = (log 2, 0): -1/2 (log 2 - 2 - 4) = 3 - log(2) / 2.
  // Sample 1: the prior itself: 0.
  const Tensor mu = tensor({1.0, 2.0, 0.0, 0.0}, {2, 2}, kFloat64);
  const Tensor logvar = tensor({std::log(2.0), 0.0, 0.0, 0.0}, {2, 2}, kFloat64);
  const double kl0 = 3.0 - std::log(2.0) / 2;
  check_close(F::gaussian_kl(mu, logvar, Reduction::None), vec({kl0, 0.0}), 1e-12, 0.0);
  CHECK(scalar(F::gaussian_kl(mu, logvar)) == doctest::Approx(kl0 / 2));
  CHECK(scalar(F::gaussian_kl(mu, logvar, Reduction::Sum)) == doctest::Approx(kl0));
  // The textbook form: KL = 1/2 sum(sigma^2 + mu^2 - 1 - log sigma^2).
  manual_seed(3);
  const Tensor m = randn({4, 5}, kFloat64), lv = randn({4, 5}, kFloat64);
  check_close(F::gaussian_kl(m, lv, Reduction::None), ((lv.exp() + m.square() - 1.0 - lv) * 0.5).sum({1}), 1e-12, 1e-12);
  CHECK_THROWS_AS(F::gaussian_kl(vec({1.0}), vec({1.0})), Error);
}

TEST_CASE("normalize and cosine_similarity") {
  check_close(F::normalize(tensor({3.0, 4.0}, {1, 2}, kFloat64)), tensor({0.6, 0.8}, {1, 2}, kFloat64));
  check_close(F::normalize(tensor({3.0, 4.0}, {1, 2}, kFloat64), 1.0), tensor({3.0 / 7, 4.0 / 7}, {1, 2}, kFloat64));
  check_close(F::normalize(zeros({1, 2}, kFloat64)), zeros({1, 2}, kFloat64));  // eps: no division by zero
  const Tensor a = tensor({1.0, 0.0, 2.0, 2.0}, {2, 2}, kFloat64);
  const Tensor b = tensor({1.0, 1.0}, {1, 2}, kFloat64);  // broadcast against both rows
  check_close(F::cosine_similarity(a, b), vec({1 / std::sqrt(2.0), 1.0}));
  check_close(F::cosine_similarity(a, -a), vec({-1.0, -1.0}));
  check_close(F::cosine_similarity(zeros({1, 2}, kFloat64), b), zeros({1}, kFloat64));
}

// Naive InfoNCE: loops over samples with explicit dot products.
static std::vector<double> info_nce_reference(const Tensor& q_in, const Tensor& k_in, const Tensor& neg_in, double t) {
  const Tensor q = F::normalize(q_in), k = F::normalize(k_in), n = F::normalize(neg_in);
  const auto vq = values(q), vk = values(k), vn = values(n);
  const std::int64_t rows = q.size(0), dim = q.size(1), m = n.size(0);
  std::vector<double> out;
  for (std::int64_t i = 0; i < rows; ++i) {
    auto dot = [&](const std::vector<double>& other, std::int64_t j) {
      double s = 0;
      for (std::int64_t d = 0; d < dim; ++d) s += vq[static_cast<std::size_t>(i * dim + d)] * other[static_cast<std::size_t>(j * dim + d)];
      return s / t;
    };
    const double positive = dot(vk, i);
    double denominator = std::exp(positive);
    for (std::int64_t j = 0; j < m; ++j) denominator += std::exp(dot(vn, j));
    out.push_back(-positive + std::log(denominator));
  }
  return out;
}

TEST_CASE("info_nce: MoCo's loss against a hand-worked case and a naive loop") {
  // q = k = e1, one negative e2, T = 1: logits (1, 0): loss = log(1 + e^-1). Scale-invariant.
  const Tensor e1 = tensor({2.0, 0.0}, {1, 2}, kFloat64), e2 = tensor({0.0, 1.0}, {1, 2}, kFloat64);
  CHECK(scalar(F::info_nce(e1, e1 * 3.0, e2, 1.0)) == doctest::Approx(std::log(1 + std::exp(-1.0))));
  CHECK(scalar(F::info_nce(e1, e1, e2, 0.5)) == doctest::Approx(std::log(1 + std::exp(-2.0))));
  manual_seed(4);
  const Tensor q = randn({5, 8}, kFloat64), k = randn({5, 8}, kFloat64), queue = randn({16, 8}, kFloat64);
  check_close(F::info_nce(q, k, queue, 0.07, Reduction::None), tensor(info_nce_reference(q, k, queue, 0.07), {5}, kFloat64),
              1e-10, 1e-10);
  // Per-query negatives that all equal the queue give the same losses.
  check_close(F::info_nce(q, k, queue.unsqueeze(0).expand({5, 16, 8}), 0.07), F::info_nce(q, k, queue, 0.07), 1e-12, 0.0);
  // In-batch negatives: row i's negatives are the other rows' keys.
  const Tensor in_batch = F::info_nce(q, k, {}, 0.2, Reduction::None);
  for (std::int64_t i = 0; i < 5; ++i) {
    std::vector<std::int64_t> others;
    for (std::int64_t j = 0; j < 5; ++j) if (j != i) others.push_back(j);
    Tensor negatives = zeros({4, 8}, kFloat64);
    for (std::size_t j = 0; j < others.size(); ++j) negatives[static_cast<std::int64_t>(j)].copy_(k[others[j]]);
    const auto expected = info_nce_reference(q.narrow(0, i, 1), k.narrow(0, i, 1), negatives, 0.2);
    CHECK(values(in_batch)[static_cast<std::size_t>(i)] == doctest::Approx(expected[0]).epsilon(1e-10));
  }
  CHECK_THROWS_AS(F::info_nce(q, k, randn({16, 7}, kFloat64)), Error);
  CHECK_THROWS_AS(F::info_nce(q, k, queue, 0.0), Error);
}

TEST_CASE("nt_xent: SimCLR's loss against a naive loop over the 2N views") {
  manual_seed(5);
  const std::int64_t n = 4, dim = 6;
  const Tensor z1 = randn({n, dim}, kFloat64), z2 = randn({n, dim}, kFloat64);
  const double t = 0.5;
  const auto a = values(F::normalize(z1)), b = values(F::normalize(z2));
  auto view = [&](std::int64_t i, std::int64_t d) {
    return i < n ? a[static_cast<std::size_t>(i * dim + d)] : b[static_cast<std::size_t>((i - n) * dim + d)];
  };
  auto sim = [&](std::int64_t i, std::int64_t j) {
    double s = 0;
    for (std::int64_t d = 0; d < dim; ++d) s += view(i, d) * view(j, d);
    return s / t;
  };
  std::vector<double> expected;
  for (std::int64_t i = 0; i < 2 * n; ++i) {
    const std::int64_t positive = i < n ? i + n : i - n;
    double denominator = 0;
    for (std::int64_t k = 0; k < 2 * n; ++k) if (k != i) denominator += std::exp(sim(i, k));
    expected.push_back(-sim(i, positive) + std::log(denominator));
  }
  check_close(F::nt_xent(z1, z2, t, Reduction::None), tensor(expected, {2 * n}, kFloat64), 1e-10, 1e-10);
  double mean = 0;
  for (double e : expected) mean += e / static_cast<double>(2 * n);
  CHECK(scalar(F::nt_xent(z1, z2, t)) == doctest::Approx(mean).epsilon(1e-10));
  // Identical views of orthogonal directions: the positive is the best match, loss below log(2N - 1).
  CHECK(scalar(F::nt_xent(eye(3, -1, kFloat64), eye(3, -1, kFloat64), 0.1)) < std::log(5.0));
}
