// Semi-NMF and Deep Semi-NMF: Gillis & Kumar's start reproduces the truncated SVD exactly with
// non-negative codes; an exact semi-NMF is recovered; the fine-tuning loss never increases and
// is the error of the returned factors; three groups are found by k-means on the last layer's
// codes; transform, determinism and errors.
#include "cake/algorithms/decomposition/deep_semi_nmf.h"

#include "algorithms/classical_helpers.h"
#include "cake/algorithms/cluster/kmeans.h"
#include "cake/tensor/linalg.h"

using namespace cake;
using namespace cake::decomposition;
using namespace cake::testing;

namespace {

double frobenius(const Tensor& t) { return std::sqrt(t.to(kFloat64).square().sum().item<double>()); }

// n samples of a signed matrix with an exact semi-NMF: H0 [n, k] >= 0 times Z0^T [k, d] of any sign.
std::pair<Tensor, Tensor> exact_semi_nmf(std::int64_t n, std::int64_t d, std::int64_t k) {
  manual_seed(11);
  const Tensor h0 = rand({n, k}, kFloat64);
  const Tensor z0 = randn({d, k}, kFloat64);
  return {matmul(h0, z0.t()), h0};
}

// Three groups of 30 non-negative 24-D vectors: sample i is its group's part (the indicator of
// features 8c .. 8c + 7 for group c = i / 30) times a scale in [0.8, 1.2], plus small noise.
std::pair<Tensor, std::vector<std::int64_t>> three_groups(DType dtype = kFloat64) {
  manual_seed(4);
  std::vector<std::int64_t> truth(90);
  for (std::size_t i = 0; i < truth.size(); ++i) truth[i] = static_cast<std::int64_t>(i / 30);
  Tensor parts = zeros({3, 24}, kFloat64);
  for (std::int64_t c = 0; c < 3; ++c) parts.narrow(0, c, 1).narrow(1, 8 * c, 8).fill_(1.0);
  const Tensor scale = rand({90, 1}, kFloat64) * 0.4 + 0.8;
  const Tensor x = index_select(parts, 0, tensor(truth)) * scale + rand({90, 24}, kFloat64) * 0.05;
  return {x.to(dtype), truth};
}

}  // namespace

TEST_CASE("semi_nmf_svd_init: non-negative codes whose product is the rank-(k-1) truncated SVD") {
  manual_seed(2);
  const Tensor y = randn({40, 12}, kFloat64);
  const std::int64_t k = 5;
  const auto [z, h] = semi_nmf_svd_init(y, k, 0);
  CHECK(z.sizes() == Shape{12, k});
  CHECK(h.sizes() == Shape{40, k});
  CHECK(h.min().item<double>() >= 0.0);
  // The best rank-4 approximation, from the exact SVD.
  auto [u, s, vh] = linalg::svd(y);
  const Tensor truncated = matmul(u.narrow(1, 0, k - 1) * s.narrow(0, 0, k - 1), vh.narrow(0, 0, k - 1));
  check_close(matmul(h, z.t()), truncated, 1e-7, 1e-8);
}

TEST_CASE("semi_nmf: an exact rank-4 semi-NMF of signed data is recovered") {
  const auto [y, h0] = exact_semi_nmf(60, 10, 4);
  CHECK(y.min().item<double>() < 0.0);  // signed data: NMF could not factorise it
  const auto [z, h] = semi_nmf(y, 4, 2000, 0.0, 0);
  CHECK(h.min().item<double>() >= 0.0);
  // Multiplicative updates approach the exact factorisation slowly (1.4e-1 of ||Y|| after 100
  // sweeps, 1.8e-2 after 2,000, 3e-3 after 20,000), but they use all four components: the error
  // is far below that of the best rank-3 approximation, where the start came from.
  const double relative = frobenius(y - matmul(h, z.t())) / frobenius(y);
  const Tensor s = linalg::svd(y).S;
  const double best_rank3 = std::sqrt(s.narrow(0, 3, s.size(0) - 3).square().sum().item<double>()) / frobenius(y);
  CHECK(relative < 0.025);
  CHECK(relative < 0.2 * best_rank3);
}

TEST_CASE("DeepSemiNMF: the loss never increases and is the error of the returned factors") {
  manual_seed(8);
  const Tensor x = rand({80, 20}, kFloat64);
  DeepSemiNMF model({.layers = {8, 4}, .pretrain_iter = 30, .max_iter = 60, .tol = 0.0, .random_state = 1});
  const Tensor h = model.fit_transform(x);
  CHECK(h.sizes() == Shape{80, 4});
  CHECK(model.features(0).sizes() == Shape{80, 8});
  CHECK(model.weights(0).sizes() == Shape{20, 8});
  CHECK(model.weights(1).sizes() == Shape{8, 4});
  CHECK(model.basis().sizes() == Shape{20, 4});
  CHECK(h.min().item<double>() >= 0.0);
  CHECK(model.features(0).min().item<double>() >= 0.0);
  const std::vector<double>& history = model.loss_history();
  REQUIRE(history.size() == 61);  // after pre-training, then 60 sweeps (tol 0)
  CHECK(model.n_iter() == 60);
  for (std::size_t i = 1; i < history.size(); ++i) CHECK(history[i] <= history[i - 1] * (1 + 1e-10));
  CHECK(history.back() < history.front());  // fine-tuning improved on the greedy layers
  CHECK(frobenius(x - model.inverse_transform(h)) == doctest::Approx(model.reconstruction_err()).epsilon(1e-8));
  // The first layer alone (Z_1, H_1) fits better than the two-layer product, which it contains.
  CHECK(frobenius(x - matmul(model.features(0), model.weights(0).t())) <= model.reconstruction_err() * (1 + 1e-9));
}

TEST_CASE("DeepSemiNMF: with a tolerance, each stage runs until a sweep gains less than it") {
  manual_seed(8);
  const Tensor x = rand({80, 20}, kFloat64);
  std::vector<std::vector<double>> losses(3);
  DeepSemiNMF model({.layers = {8, 4}, .pretrain_iter = 50, .max_iter = 50, .tol = 1e-4, .random_state = 1,
                     .on_sweep = [&](std::int64_t stage, std::int64_t, double loss) { losses[stage].push_back(loss); }});
  model.fit(x);
  for (const std::vector<double>& stage : losses) {
    REQUIRE(stage.size() >= 2);  // the first sweep alone never stops a stage
    const std::size_t n = stage.size();
    // A stage that stopped early did so on a sweep that lowered the squared loss by under 1e-4 of it.
    const double before = stage[n - 2] * stage[n - 2], after = stage[n - 1] * stage[n - 1];
    if (n < 50) CHECK(before - after <= 1e-4 * before);
  }
}

TEST_CASE("DeepSemiNMF: one layer without fine-tuning is semi_nmf") {
  manual_seed(9);
  const Tensor x = randn({50, 15}, kFloat64);
  DeepSemiNMF model({.layers = {6}, .pretrain_iter = 40, .max_iter = 0, .tol = 0.0, .random_state = 3});
  const Tensor h = model.fit_transform(x);
  const auto [z, h_direct] = semi_nmf(x, 6, 40, 0.0, 3);
  check_close(h, h_direct, 1e-12, 1e-12);
  check_close(model.weights(0), z, 1e-12, 1e-12);
  CHECK(model.n_iter() == 0);
}

TEST_CASE("DeepSemiNMF: k-means on the last layer's codes finds three groups") {
  for (DType dtype : {kFloat64, kFloat32}) {
    const auto [x, truth] = three_groups(dtype);
    DeepSemiNMF model({.layers = {8, 3}, .random_state = 0});
    const Tensor h = model.fit_transform(x);
    CHECK(h.dtype() == dtype);
    cluster::KMeans kmeans({.n_clusters = 3, .random_state = 0});
    CHECK(best_match_accuracy(truth, int_values(kmeans.fit_predict(h)), 3) == 1.0);
  }
}

TEST_CASE("DeepSemiNMF: transform of the training rows fits them at least as well as the fitted codes") {
  const auto [x, truth] = three_groups();
  DeepSemiNMF model({.layers = {8, 3}, .random_state = 0});
  model.fit(x);
  const Tensor h = model.transform(x);
  CHECK(h.min().item<double>() >= 0.0);
  // The fitted codes are one non-negative choice for the fixed basis; transform finds the best.
  const double transformed = frobenius(x - model.inverse_transform(h));
  CHECK(transformed <= model.reconstruction_err() * (1 + 1e-9));
  CHECK(transformed >= model.reconstruction_err() * 0.9);  // and the fit was close to it
}

TEST_CASE("DeepSemiNMF: the same seed gives the same factors") {
  const auto [x, truth] = three_groups();
  DeepSemiNMF a({.layers = {8, 3}, .random_state = 5}), b({.layers = {8, 3}, .random_state = 5});
  CHECK(values(a.fit_transform(x)) == values(b.fit_transform(x)));
}

TEST_CASE("DeepSemiNMF: bad layers and data are named") {
  const auto [x, truth] = three_groups();
  CHECK_THROWS_WITH(DeepSemiNMF({}), doctest::Contains("layers must name at least one"));
  CHECK_THROWS_WITH(DeepSemiNMF({.layers = {8, 1}}).fit(x), doctest::Contains("layer 2 has 1 components"));
  CHECK_THROWS_WITH(DeepSemiNMF({.layers = {30}}).fit(x), doctest::Contains("at most min(samples, size below) + 1 = 25"));
  CHECK_THROWS_WITH(DeepSemiNMF({.layers = {3}}).transform(x), doctest::Contains("not fitted"));
  DeepSemiNMF model({.layers = {3}, .random_state = 0});
  model.fit(x);
  CHECK_THROWS_WITH(model.transform(x.narrow(1, 0, 10)), doctest::Contains("24"));
  CHECK_THROWS_WITH(model.features(1), doctest::Contains("layer 1 is not in [0, 1)"));
}
