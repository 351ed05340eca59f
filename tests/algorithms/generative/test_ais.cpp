// Tests for algorithms/generative/ais.h: annealed importance sampling against log Z summed over
// every state (RBMs with binary and Gaussian hidden units, a trained RBM, DBMs of two and three
// hidden layers); a machine equal to its base model, where every weight is exactly 1; the
// schedule; the base rates by hand; the mean-field bound against its sum over hidden states; seeds
// and precisions; errors.
#include <cmath>
#include <limits>

#include "cake/algorithms/generative/ais.h"
#include "cake/tensor/creation.h"
#include "cake/tensor/random.h"
#include "algorithms/fixtures/rbm_data.h"
#include "helpers.h"

using namespace cake;
using namespace cake::generative;
using cake::testing::values;

namespace {

RBM annealing_rbm(std::int64_t d, std::int64_t k, double scale, HiddenUnits units = HiddenUnits::Bernoulli) {
  manual_seed(11);
  RBM rbm({.n_components = k, .hidden_units = units});
  rbm.set_parameters(randn({k, d}, kFloat64) * scale, randn({k}, kFloat64) * 0.5, randn({d}, kFloat64) * 0.5);
  return rbm;
}

DeepBoltzmannMachine annealing_dbm(const std::vector<std::int64_t>& sizes, double scale) {
  manual_seed(12);
  std::vector<Tensor> weights, biases{randn({sizes[0]}, kFloat64) * 0.5};
  for (std::size_t l = 1; l < sizes.size(); ++l) {
    weights.push_back(randn({sizes[l], sizes[l - 1]}, kFloat64) * scale);
    biases.push_back(randn({sizes[l]}, kFloat64) * 0.5);
  }
  DeepBoltzmannMachine dbm({.layer_sizes = std::vector<std::int64_t>(sizes.begin() + 1, sizes.end())});
  dbm.set_parameters(weights, biases);
  return dbm;
}

// A DBM's parameters as plain vectors, read once: W_l row-major [n_l, n_{l-1}] and b_l.
struct DbmParameters {
  std::vector<std::vector<double>> weights, biases;
  explicit DbmParameters(const DeepBoltzmannMachine& dbm) {
    for (const Tensor& w : dbm.weights()) weights.push_back(values(w));
    for (const Tensor& b : dbm.biases()) biases.push_back(values(b));
  }
};

// -E(h^0, ..., h^L) of a DBM for states given as vectors, by its definition (dbm.h).
double dbm_minus_energy(const DbmParameters& p, const std::vector<std::vector<double>>& states) {
  double e = 0.0;
  for (std::size_t l = 0; l < states.size(); ++l)
    for (std::size_t j = 0; j < states[l].size(); ++j) e += p.biases[l][j] * states[l][j];
  for (std::size_t l = 1; l < states.size(); ++l) {
    const std::size_t below = states[l - 1].size();
    for (std::size_t j = 0; j < states[l].size(); ++j)
      for (std::size_t i = 0; i < below; ++i) e += states[l][j] * p.weights[l - 1][j * below + i] * states[l - 1][i];
  }
  return e;
}

// log Z of a small DBM by visiting every joint state.
double brute_force_log_partition(const DeepBoltzmannMachine& dbm) {
  const DbmParameters parameters(dbm);
  std::vector<std::int64_t> sizes;
  for (const std::vector<double>& b : parameters.biases) sizes.push_back(static_cast<std::int64_t>(b.size()));
  std::int64_t total_bits = 0;
  for (std::int64_t s : sizes) total_bits += s;
  std::vector<double> terms;
  for (std::int64_t code = 0; code < (std::int64_t{1} << total_bits); ++code) {
    std::vector<std::vector<double>> states;
    std::int64_t shift = 0;
    for (std::int64_t s : sizes) {
      states.push_back(rbm_fixtures::bits(code >> shift, s));
      shift += s;
    }
    terms.push_back(dbm_minus_energy(parameters, states));
  }
  return tensor(terms).logsumexp(0).item<double>();
}

}  // namespace

TEST_CASE("ais_schedule: the authors' three stretches, 500 / 4,000 / 10,000 steps for 14,500") {
  const std::vector<double> betas = ais_schedule();
  REQUIRE(betas.size() == 14501);
  CHECK(betas.front() == 0.0);
  CHECK(betas.back() == 1.0);
  CHECK(betas[500] == doctest::Approx(0.5).epsilon(1e-15));
  CHECK(betas[4500] == doctest::Approx(0.9).epsilon(1e-15));
  CHECK(betas[1] == doctest::Approx(0.001).epsilon(1e-12));      // 0.5 / 500
  CHECK(betas[501] - betas[500] == doctest::Approx(1e-4).epsilon(1e-9));   // 0.4 / 4,000
  CHECK(betas[14500] - betas[14499] == doctest::Approx(1e-5).epsilon(1e-6));  // 0.1 / 10,000
  bool increasing = true;
  for (std::size_t k = 1; k < betas.size(); ++k) increasing = increasing && betas[k] > betas[k - 1];
  CHECK(increasing);
  const std::vector<double> small = ais_schedule(3);
  CHECK(small == std::vector<double>{0.0, 0.5, 0.9, 1.0});
  CHECK_THROWS_WITH(ais_schedule(2), doctest::Contains("at least 3 steps"));
}

TEST_CASE("base_rate_visible_bias: the smoothed log-odds of each column's mean") {
  const Tensor x = tensor(std::vector<double>{1, 0, 1, 1, 0, 0}, {3, 2});
  const std::vector<double> a = values(base_rate_visible_bias(x, 1.0));
  CHECK(a[0] == doctest::Approx(std::log(0.6 / 0.4)).epsilon(1e-14));  // (2 + 1) / (3 + 2)
  CHECK(a[1] == doctest::Approx(std::log(0.4 / 0.6)).epsilon(1e-14));  // (1 + 1) / (3 + 2)
  // Columns that are always 0 or always 1 still get finite biases.
  for (double value : values(base_rate_visible_bias(tensor(std::vector<double>{0, 1, 0, 1}, {2, 2}))))
    CHECK(std::isfinite(value));
  CHECK_THROWS_WITH(base_rate_visible_bias(x * 3.0), doctest::Contains("[0, 1]"));
  CHECK_THROWS_WITH(base_rate_visible_bias(x, 0.0), doctest::Contains("pseudo_count"));
}

TEST_CASE("AIS: a machine equal to its base model gets importance weights of exactly 1 and the exact log Z") {
  const std::int64_t d = 30, k = 40;  // far too large to enumerate over both layers: 2^30 and 2^40 states
  const Tensor a = randn({d}, kFloat64);
  RBM rbm({.n_components = k});
  rbm.set_parameters(zeros({k, d}, kFloat64), zeros({k}, kFloat64), a);
  AISOptions options{.n_runs = 7, .betas = ais_schedule(100), .base_visible_bias = a, .random_state = 0};
  const PartitionEstimate z = ais_log_partition(rbm, options);
  double exact = static_cast<double>(k) * std::log(2.0);  // Z = prod_i (1 + e^{a_i}) 2^k
  for (double ai : values(a)) exact += std::log1p(std::exp(ai));
  for (double lw : values(z.log_weights)) CHECK(lw == 0.0);
  CHECK(z.log_partition == doctest::Approx(exact).epsilon(1e-14));
  CHECK(z.base_log_partition == doctest::Approx(exact).epsilon(1e-14));
  CHECK(z.log_partition_low == doctest::Approx(exact).epsilon(1e-14));
  CHECK(z.log_partition_high == doctest::Approx(exact).epsilon(1e-14));
  CHECK(z.effective_sample_size == doctest::Approx(7.0));
}

TEST_CASE("AIS: log Z of random RBMs agrees with the sum over every state") {
  SUBCASE("binary hidden units, uniform base model") {
    const RBM rbm = annealing_rbm(16, 12, 1.0);
    const double exact = rbm.log_partition();
    const PartitionEstimate z = ais_log_partition(rbm, {.n_runs = 100, .betas = ais_schedule(3000), .random_state = 1});
    MESSAGE("exact log Z ", exact, ", AIS ", z.log_partition, " (", z.log_partition_low, ", ", z.log_partition_high,
            "), effective runs ", z.effective_sample_size);
    CHECK(std::abs(z.log_partition - exact) < 0.05);
    CHECK(z.log_partition_low < exact + 0.02);
    CHECK(z.log_partition_high > exact - 0.02);
    CHECK(z.effective_sample_size > 50.0);
  }
  SUBCASE("Gaussian hidden units: the annealed Gaussian integral") {
    const RBM rbm = annealing_rbm(14, 5, 0.3, HiddenUnits::Gaussian);
    const double exact = rbm.log_partition();  // over the 2^14 visible states
    const PartitionEstimate z = ais_log_partition(rbm, {.n_runs = 100, .betas = ais_schedule(3000), .random_state = 2});
    MESSAGE("Gaussian: exact log Z ", exact, ", AIS ", z.log_partition);
    CHECK(std::abs(z.log_partition - exact) < 0.05);
  }
}

TEST_CASE("AIS: a trained RBM's log Z, from the data's base rates, gives the test log-likelihood") {
  using namespace rbm_fixtures;
  const Tensor x = rbm_fixtures::data();
  RBM rbm({.n_components = kHidden, .learning_rate = 0.1, .batch_size = 10, .n_iter = 30, .persistent = false,
           .sample_visible = false, .momentum = 0.5, .final_momentum = 0.9, .weight_decay = 2e-4, .init_std = 0.1,
           .shuffle = true, .random_state = 3});
  rbm.fit(x);
  const double exact = rbm.log_partition();
  const PartitionEstimate z = ais_log_partition(
      rbm, {.n_runs = 100, .betas = ais_schedule(5000), .base_visible_bias = base_rate_visible_bias(x), .random_state = 4});
  const double exact_ll = rbm.log_likelihood(x).mean().item<double>();
  const double ais_ll = (-rbm.free_energy(x) - z.log_partition).mean().item<double>();
  MESSAGE("trained: exact log Z ", exact, ", AIS ", z.log_partition, "; mean log-likelihood ", exact_ll, " vs ", ais_ll);
  CHECK(std::abs(z.log_partition - exact) < 0.05);
  CHECK(std::abs(ais_ll - exact_ll) < 0.05);
}

TEST_CASE("AIS: log Z of deep Boltzmann machines of two and three hidden layers") {
  SUBCASE("two hidden layers") {
    const DeepBoltzmannMachine dbm = annealing_dbm({8, 6, 5}, 0.8);
    const double exact = brute_force_log_partition(dbm);
    const PartitionEstimate z = ais_log_partition(dbm, {.n_runs = 100, .betas = ais_schedule(3000), .random_state = 5});
    MESSAGE("DBM 8-6-5: exact ", exact, ", AIS ", z.log_partition);
    CHECK(std::abs(z.log_partition - exact) < 0.05);
    // The exact log-likelihood of dbm.h agrees with this log Z.
    const Tensor v = tensor(rbm_fixtures::bits(77, 8), {1, 8});
    const DbmParameters parameters(dbm);
    std::vector<double> terms;
    for (std::int64_t c = 0; c < (1 << 11); ++c)
      terms.push_back(dbm_minus_energy(parameters, {rbm_fixtures::bits(77, 8), rbm_fixtures::bits(c, 6), rbm_fixtures::bits(c >> 6, 5)}));
    CHECK(dbm.log_likelihood(v).item<double>() ==
          doctest::Approx(tensor(terms).logsumexp(0).item<double>() - exact).epsilon(1e-10));
  }
  SUBCASE("three hidden layers: the middle one is sampled, the outer two summed out") {
    const DeepBoltzmannMachine dbm = annealing_dbm({6, 5, 4, 3}, 0.8);
    const double exact = brute_force_log_partition(dbm);
    const PartitionEstimate z = ais_log_partition(dbm, {.n_runs = 100, .betas = ais_schedule(3000), .random_state = 6});
    MESSAGE("DBM 6-5-4-3: exact ", exact, ", AIS ", z.log_partition);
    CHECK(std::abs(z.log_partition - exact) < 0.05);
  }
}

TEST_CASE("variational_lower_bound: the closed form equals sum_h q(h) (-E(v, h) - log q(h)) - log Z, below log p(v)") {
  const DeepBoltzmannMachine dbm = annealing_dbm({5, 4, 3}, 1.0);
  const double log_z = brute_force_log_partition(dbm);
  manual_seed(13);
  const Tensor x = rand({6, 5}, kFloat64).bernoulli();
  const std::vector<double> bound = values(variational_lower_bound(dbm, x, log_z));
  const std::vector<double> exact = values(dbm.log_likelihood(x));
  const std::vector<Tensor> posterior = dbm.mean_field(x);
  const DbmParameters parameters(dbm);
  const std::vector<double> mu1 = values(posterior[0]), mu2 = values(posterior[1]), v = values(x);
  for (std::int64_t r = 0; r < 6; ++r) {
    double sum = 0.0;  // over the 2^7 hidden states, q(h) = prod mu^h (1 - mu)^(1 - h)
    for (std::int64_t c = 0; c < (1 << 7); ++c) {
      const std::vector<double> h1 = rbm_fixtures::bits(c, 4), h2 = rbm_fixtures::bits(c >> 4, 3);
      double log_q = 0.0;
      for (int j = 0; j < 4; ++j) log_q += std::log(h1[j] ? mu1[r * 4 + j] : 1.0 - mu1[r * 4 + j]);
      for (int j = 0; j < 3; ++j) log_q += std::log(h2[j] ? mu2[r * 3 + j] : 1.0 - mu2[r * 3 + j]);
      const std::vector<double> vr(v.begin() + r * 5, v.begin() + r * 5 + 5);
      sum += std::exp(log_q) * (dbm_minus_energy(parameters, {vr, h1, h2}) - log_q);
    }
    CHECK(bound[static_cast<std::size_t>(r)] == doctest::Approx(sum - log_z).epsilon(1e-10));
    CHECK(bound[static_cast<std::size_t>(r)] <= exact[static_cast<std::size_t>(r)] + 1e-12);
    CHECK(bound[static_cast<std::size_t>(r)] > exact[static_cast<std::size_t>(r)] - 1.0);  // mean field is close here
  }
}

TEST_CASE("AIS: a seed fixes the estimate; float32 models anneal in float32") {
  const RBM rbm = annealing_rbm(16, 12, 1.0);
  const AISOptions options{.n_runs = 20, .betas = ais_schedule(500), .random_state = 9};
  const PartitionEstimate a = ais_log_partition(rbm, options), b = ais_log_partition(rbm, options);
  CHECK(values(a.log_weights) == values(b.log_weights));
  AISOptions other = options;
  other.random_state = 10;
  CHECK(values(ais_log_partition(rbm, other).log_weights) != values(a.log_weights));
  // Without a seed: the global stream, reproducible through manual_seed.
  AISOptions global = options;
  global.random_state = std::nullopt;
  manual_seed(3);
  const std::vector<double> first = values(ais_log_partition(rbm, global).log_weights);
  manual_seed(3);
  CHECK(values(ais_log_partition(rbm, global).log_weights) == first);

  RBM single({.n_components = 12});
  single.set_parameters(rbm.components().to(kFloat32), rbm.intercept_hidden().to(kFloat32), rbm.intercept_visible().to(kFloat32));
  const PartitionEstimate z32 = ais_log_partition(single, {.n_runs = 100, .betas = ais_schedule(3000), .random_state = 1});
  CHECK(std::abs(z32.log_partition - rbm.log_partition()) < 0.05);
}

TEST_CASE("AIS: errors name the problem") {
  const RBM rbm = annealing_rbm(6, 4, 1.0);
  CHECK_THROWS_WITH(ais_log_partition(RBM({.n_components = 3})), doctest::Contains("not fitted"));
  CHECK_THROWS_WITH(ais_log_partition(DeepBoltzmannMachine()), doctest::Contains("not fitted"));
  CHECK_THROWS_WITH(ais_log_partition(rbm, {.n_runs = 0}), doctest::Contains("n_runs"));
  CHECK_THROWS_WITH(ais_log_partition(rbm, {.betas = {0.1, 1.0}}), doctest::Contains("from 0 to 1"));
  CHECK_THROWS_WITH(ais_log_partition(rbm, {.betas = {0.0, 0.6, 0.4, 1.0}}), doctest::Contains("must not decrease"));
  CHECK_THROWS_WITH(ais_log_partition(rbm, {.base_visible_bias = zeros({5}, kFloat64)}), doctest::Contains("[6]"));
  const double inf = std::numeric_limits<double>::infinity();
  CHECK_THROWS_WITH(ais_log_partition(rbm, {.base_visible_bias = full({6}, inf, kFloat64)}), doctest::Contains("finite"));
  RBM scaled({.n_components = 4, .up_scale = 2.0});
  scaled.set_parameters(rbm.components(), rbm.intercept_hidden(), rbm.intercept_visible());
  CHECK_THROWS_WITH(ais_log_partition(scaled), doctest::Contains("up_scale"));
  const DeepBoltzmannMachine dbm = annealing_dbm({5, 4, 3}, 1.0);
  CHECK_THROWS_WITH(variational_lower_bound(dbm, zeros({2, 4}, kFloat64), 0.0), doctest::Contains("[n, 5]"));
  CHECK_THROWS_WITH(variational_lower_bound(dbm, zeros({2, 5}, kFloat64), inf), doctest::Contains("finite"));
}
