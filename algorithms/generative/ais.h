// ais.h: annealed importance sampling (Neal 2001, "Annealed importance sampling", Statistics and
// Computing) of the partition function Z of a restricted or deep Boltzmann machine too large to
// enumerate, the way Salakhutdinov & Murray 2008 ("On the quantitative analysis of deep belief
// networks", ICML) measure an RBM's test log-likelihood, and Salakhutdinov & Hinton 2009 ("Deep
// Boltzmann Machines", AISTATS) a DBM's.
//
//   cake::generative::AISOptions ais{.n_runs = 100, .random_state = 0};
//   ais.base_visible_bias = cake::generative::base_rate_visible_bias(X);  // X [n, d] in [0, 1]
//   cake::generative::PartitionEstimate z = cake::generative::ais_log_partition(rbm, ais);
//   cake::Tensor log_p = -rbm.free_energy(X) - z.log_partition;            // [n], log p(v) per row
//   // a deep Boltzmann machine: a lower bound on log p(v) from its mean-field posterior
//   cake::Tensor bound = cake::generative::variational_lower_bound(dbm, X, ais_log_partition(dbm, ais).log_partition);
//
// The idea (Neal 2001). Z_B, the target's normaliser, is unknown; Z_A of a simple base
// model is known. A chain of distributions p_k(x) ∝ p*_A(x)^{1 - beta_k} p*_B(x)^{beta_k} leads from
// one to the other as beta goes 0 = beta_0 < ... < beta_K = 1. A run draws x_1 from p_0 = p_A, then
// moves it by a Markov step T_k that leaves p_k invariant, for each k in turn, and multiplies
// the importance weight
//   w = prod_{k=1..K} p*_k(x_k) / p*_{k-1}(x_k);
// the mean of w over independent runs is an unbiased estimate of Z_B / Z_A. With enough, closely
// spaced betas, every run's w is close to the ratio and the estimate is tight.
//
// For a Boltzmann machine (Salakhutdinov & Murray 2008 for the RBM; the same for a DBM). The
// layers are h^0 = v, h^1, ..., h^L (an RBM: L = 1) with weights W_l [n_l, n_{l-1}] and biases b_l.
// The base model A has no weights and only visible biases a (the "base-rate" model, whose v_i are
// independent with the data's mean: base_rate_visible_bias), so Z_A = prod_i (1 + e^{a_i}) 2^{n_1 + ...}
// (a layer of Gaussian units adds no factor, its constant dropped as below).
// The intermediate model k is the machine with every weight and hidden bias multiplied by beta_k
// and visible biases (1 - beta_k) a + beta_k b_0. The odd layers are independent given the even
// ones (v included), so they are summed out in closed form:
//   log p*_k(even layers) = (1 - beta) a.v + beta sum_{even l} b_l.h^l + sum_{odd l, j} softplus(beta x^l_j),
//   x^l = b_l + W_l h^{l-1} + W_{l+1}^T h^{l+1},
// and T_k is one Gibbs sweep of model k: the odd layers given the even ones, then the even ones
// given the odd. (An RBM's Gaussian hidden units have E += h^2 / 2, unscaled, so softplus(beta x)
// becomes (beta x)^2 / 2 there, with the constant dropped as free_energy drops it.)
//
// The schedule (ais_schedule) follows the authors' code: 500 betas evenly spaced in [0, 0.5], 4,000
// in [0.5, 0.9] and 10,000 in [0.9, 1], 14,500 steps in all, denser where the distributions change
// fastest. The bounds (log_partition_low / _high) are log(mean w -/+ 3 standard errors), as that
// paper reports them; they say how much the runs disagree, not how far the estimate is from the
// truth: AIS underestimates log Z when the runs miss a mode of the model, and its spread cannot show it.
//
// A DBM's log p(v) is itself intractable: variational_lower_bound gives the variational bound that
// the DBM paper's mean-field learning maximises, under the mean-field posterior q(h | v) = prod mu,
//   log p(v) >= sum_h q(h) (-E(v, h)) + H(q) - log Z,
// which, with an estimate of log Z, estimates a lower bound (it is a bound only if log Z is not
// underestimated).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "cake/algorithms/generative/dbm.h"
#include "cake/algorithms/generative/rbm.h"
#include "cake/tensor/tensor.h"

namespace cake::generative {

// The authors' schedule for `steps` annealing steps: steps / 29 betas in [0, 0.5], 8 steps / 29 in
// [0.5, 0.9] and the rest in [0.9, 1] (with steps = 14,500: 500, 4,000 and 10,000), returned as
// beta_0 = 0, ..., beta_steps = 1. steps >= 3.
std::vector<double> ais_schedule(std::int64_t steps = 14500);

// The visible biases of the base-rate model: the log-odds of each column's mean, smoothed by
// `pseudo_count` imaginary rows of 1s and as many of 0s (so no bias is infinite), as float64 [d].
// x: data [n, d] in [0, 1].
Tensor base_rate_visible_bias(const Tensor& x, double pseudo_count = 5.0);

struct AISOptions {
  std::int64_t n_runs = 100;  // independent annealing runs (importance weights)
  std::vector<double> betas = {};  // empty: ais_schedule(); else increasing, from 0 to 1
  Tensor base_visible_bias = {};  // the base model's visible biases [d]; undefined: zeros (uniform v)
  std::optional<std::uint64_t> random_state = std::nullopt;  // a fixed seed, or the global stream
};

struct PartitionEstimate {
  double log_partition = 0.0;       // log Z_B = log Z_A + log mean w
  double log_partition_low = 0.0;   // log(mean w - 3 standard errors) + log Z_A; -inf if that is <= 0
  double log_partition_high = 0.0;  // log(mean w + 3 standard errors) + log Z_A
  double base_log_partition = 0.0;  // log Z_A
  // (sum w)^2 / sum w^2: how many of the runs carry the estimate (n_runs when all weights are equal).
  double effective_sample_size = 0.0;
  Tensor log_weights;               // log w of each run [n_runs], float64
};

// log Z of a fitted RBM (Bernoulli or Gaussian hidden units, up_scale and down_scale 1).
PartitionEstimate ais_log_partition(const RBM& rbm, const AISOptions& options = {});
// log Z of a fitted DBM of any depth.
PartitionEstimate ais_log_partition(const DeepBoltzmannMachine& dbm, const AISOptions& options = {});

// The mean-field lower bound on log p(v) of each row of x [n, d] (float64 [n]), given log Z:
//   b_0.v + sum_l [mu^{l-1} . W_l^T mu^l + b_l . mu^l + H(mu^l)] - log Z,   mu^0 = v,
// with H(mu) = -sum_j [mu_j log mu_j + (1 - mu_j) log(1 - mu_j)] and mu from dbm.mean_field(x).
Tensor variational_lower_bound(const DeepBoltzmannMachine& dbm, const Tensor& x, double log_partition);

}  // namespace cake::generative
