// ais.cpp: annealed importance sampling of a Boltzmann machine's log Z (ais.h).
//
// One implementation serves the RBM and the DBM: both are a stack of layers h^0 = v, ..., h^L, and
// the annealing sums the odd layers out and samples the even ones. Each step is two products per
// pair of neighbouring layers (cake::blas::gemm into buffers made once) and one pass over the units
// that updates the log weights and draws the next states, every run (row) in one thread, so the
// same seed gives the same estimate on any thread count.
#include "cake/algorithms/generative/ais.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "cake/algorithms/detail/common.h"
#include "cake/autograd/grad_mode.h"
#include "cake/tensor/blas.h"
#include "cake/tensor/creation.h"
#include "cake/tensor/parallel.h"
#include "cake/tensor/random.h"

namespace cake::generative {

namespace {

// The machine being annealed: W_l [n_l, n_{l-1}] for l = 1..L and b_0..b_L, contiguous CPU copies.
struct Layers {
  std::vector<Tensor> weights, biases;
  bool gaussian_hidden = false;  // an RBM with Gaussian hidden units (then L = 1)
  std::int64_t size(std::size_t l) const { return biases[l].size(0); }
  std::size_t depth() const { return weights.size(); }
};

double softplus(double x) { return std::max(x, 0.0) + std::log1p(std::exp(-std::abs(x))); }
double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

// The log of the summed-out odd unit's factor at input beta x: softplus for a binary unit, and
// (beta x)^2 / 2 for a Gaussian one (the integral of exp(beta x h - h^2 / 2) without its constant).
double odd_unit_log_factor(double beta_x, bool gaussian) { return gaussian ? 0.5 * beta_x * beta_x : softplus(beta_x); }

void check_schedule(const std::vector<double>& betas) {
  CAKE_CHECK(betas.size() >= 2 && betas.front() == 0.0 && betas.back() == 1.0,
             "ais_log_partition: betas must run from 0 to 1 (at least two values), got ", betas.size(), " values",
             betas.empty() ? std::string() : " from " + std::to_string(betas.front()) + " to " + std::to_string(betas.back()));
  for (std::size_t k = 1; k < betas.size(); ++k)
    CAKE_CHECK(betas[k] >= betas[k - 1], "ais_log_partition: betas must not decrease, but beta_", k - 1, " = ",
               betas[k - 1], " > beta_", k, " = ", betas[k]);
}

std::vector<double> base_bias_values(const AISOptions& options, std::int64_t d) {
  if (!options.base_visible_bias.defined()) return std::vector<double>(static_cast<std::size_t>(d), 0.0);
  const Tensor a = options.base_visible_bias.detach().to(kFloat64).cpu().contiguous();
  CAKE_CHECK(a.dim() == 1 && a.size(0) == d, "ais_log_partition: base_visible_bias must have shape [", d,
             "] (one per visible unit), got ", a.sizes());
  std::vector<double> values(a.data_ptr<double>(), a.data_ptr<double>() + d);
  for (double v : values)
    CAKE_CHECK(std::isfinite(v), "ais_log_partition: base_visible_bias must be finite, found ", v,
               " (base_rate_visible_bias smooths the data's means to avoid this)");
  return values;
}

// The annealing itself, with states and products in T (the model's precision) and the log weights
// in float64: each step's increment is (beta_k - beta_{k-1}) times a function of the state, whose
// float32 rounding stays far below the spread of the runs.
template <class T>
class Annealer {
 public:
  Annealer(const Layers& layers, std::vector<double> base_bias, std::int64_t runs)
      : layers_(layers), base_bias_(std::move(base_bias)), runs_(runs), log_weights_(static_cast<std::size_t>(runs), 0.0) {
    const DType dtype = std::is_same_v<T, float> ? kFloat32 : kFloat64;
    for (std::size_t l = 0; l <= layers_.depth(); ++l) {
      states_.push_back(empty({runs, layers_.size(l)}, dtype));
      inputs_.push_back(empty({runs, layers_.size(l)}, dtype));
      noise_.push_back(empty({runs, layers_.size(l)}, dtype));
    }
  }

  std::vector<double> run(const std::vector<double>& betas) {
    draw_base_states();
    for (std::size_t k = 1; k < betas.size(); ++k) {
      for (std::size_t l = 1; l <= layers_.depth(); l += 2) compute_input(l);
      add_log_weight_increments(betas[k - 1], betas[k]);
      if (k + 1 == betas.size()) break;  // the last state needs no move
      for (std::size_t l = 1; l <= layers_.depth(); l += 2) draw_layer(l, betas[k]);  // odd given even
      for (std::size_t l = 0; l <= layers_.depth(); l += 2) {                          // even given odd
        compute_input(l);
        draw_layer(l, betas[k]);
      }
    }
    return log_weights_;
  }

 private:
  const T* weight(std::size_t l) const { return layers_.weights[l - 1].template data_ptr<T>(); }
  const T* bias(std::size_t l) const { return layers_.biases[l].template data_ptr<T>(); }
  bool gaussian(std::size_t l) const { return layers_.gaussian_hidden && l == 1; }

  // x^l = b_l + W_l h^{l-1} + W_{l+1}^T h^{l+1} for every run, from the neighbours' current states.
  void compute_input(std::size_t l) {
    const std::int64_t n = layers_.size(l);
    T* x = inputs_[l].template data_ptr<T>();
    const T* b = bias(l);
    for (std::int64_t r = 0; r < runs_; ++r) std::copy(b, b + n, x + r * n);
    if (l >= 1) {  // + h^{l-1} W_l^T: h^{l-1} [runs, n_{l-1}], W_l [n, n_{l-1}]
      const std::int64_t below = layers_.size(l - 1);
      blas::gemm<T>(false, true, runs_, n, below, T(1), states_[l - 1].template data_ptr<T>(), below, weight(l), below,
                    T(1), x, n);
    }
    if (l + 1 <= layers_.depth()) {  // + h^{l+1} W_{l+1}: h^{l+1} [runs, n_{l+1}], W_{l+1} [n_{l+1}, n]
      const std::int64_t above = layers_.size(l + 1);
      blas::gemm<T>(false, false, runs_, n, above, T(1), states_[l + 1].template data_ptr<T>(), above, weight(l + 1), n,
                    T(1), x, n);
    }
  }

  // x_1 ~ p_0: v from the base rates, every even hidden layer uniform (the odd ones are summed out).
  void draw_base_states() {
    for (std::size_t l = 0; l <= layers_.depth(); l += 2) {
      T* x = inputs_[l].template data_ptr<T>();
      const std::int64_t n = layers_.size(l);
      for (std::int64_t r = 0; r < runs_; ++r)
        for (std::int64_t j = 0; j < n; ++j) x[r * n + j] = l == 0 ? static_cast<T>(base_bias_[static_cast<std::size_t>(j)]) : T(0);
      draw_bernoulli(l, 0.0, /*base_only=*/true);
    }
  }

  // h^l ~ p_beta(h^l | neighbours) from inputs_[l]: logits beta x, and (1 - beta) a + beta x for v.
  void draw_layer(std::size_t l, double beta) {
    if (!gaussian(l)) return draw_bernoulli(l, beta, false);
    native::fill_random_(noise_[l], native::Distribution::Normal, {0.0, 1.0});
    const std::int64_t n = layers_.size(l);
    const T* x = inputs_[l].template data_ptr<T>();
    const T* z = noise_[l].template data_ptr<T>();
    T* h = states_[l].template data_ptr<T>();
    parallel_for(0, runs_ * n, 1 << 14, [&](std::int64_t lo, std::int64_t hi) {
      for (std::int64_t i = lo; i < hi; ++i) h[i] = static_cast<T>(beta * static_cast<double>(x[i]) + static_cast<double>(z[i]));
    });
  }

  // base_only: inputs_[0] holds the base biases a themselves (the p_0 draw).
  void draw_bernoulli(std::size_t l, double beta, bool base_only) {
    native::fill_random_(noise_[l], native::Distribution::Uniform, {0.0, 1.0});
    const std::int64_t n = layers_.size(l);
    const T* x = inputs_[l].template data_ptr<T>();
    const T* u = noise_[l].template data_ptr<T>();
    T* h = states_[l].template data_ptr<T>();
    const double* a = base_bias_.data();
    parallel_for(0, runs_, algorithms::detail::grain_for(n * 20), [&](std::int64_t lo, std::int64_t hi) {
      for (std::int64_t r = lo; r < hi; ++r)
        for (std::int64_t j = 0; j < n; ++j) {
          const double xj = static_cast<double>(x[r * n + j]);
          const double logit = base_only ? xj : l == 0 ? (1.0 - beta) * a[j] + beta * xj : beta * xj;
          h[r * n + j] = static_cast<double>(u[r * n + j]) < sigmoid(logit) ? T(1) : T(0);
        }
    });
  }

  // log w += log p*_k(x) - log p*_{k-1}(x) for the current even states x, with the odd inputs in inputs_:
  //   (beta_k - beta_{k-1}) [sum_{even l} b_l . h^l - a . v] + sum_{odd l, j} [f(beta_k x^l_j) - f(beta_{k-1} x^l_j)].
  void add_log_weight_increments(double previous, double next) {
    const double step = next - previous;
    if (step == 0.0) return;
    parallel_for(0, runs_, 1, [&](std::int64_t lo, std::int64_t hi) {
      for (std::int64_t r = lo; r < hi; ++r) {
        double increment = 0.0;
        for (std::size_t l = 0; l <= layers_.depth(); ++l) {
          const std::int64_t n = layers_.size(l);
          if (l % 2 == 0) {
            const T* h = states_[l].template data_ptr<T>() + r * n;
            const T* b = bias(l);
            double energy = 0.0;
            for (std::int64_t j = 0; j < n; ++j)
              energy += (static_cast<double>(b[j]) - (l == 0 ? base_bias_[static_cast<std::size_t>(j)] : 0.0)) * static_cast<double>(h[j]);
            increment += step * energy;
          } else {
            const T* x = inputs_[l].template data_ptr<T>() + r * n;
            const bool g = gaussian(l);
            for (std::int64_t j = 0; j < n; ++j) {
              const double xj = static_cast<double>(x[j]);
              increment += odd_unit_log_factor(next * xj, g) - odd_unit_log_factor(previous * xj, g);
            }
          }
        }
        log_weights_[static_cast<std::size_t>(r)] += increment;
      }
    });
  }

  const Layers& layers_;
  std::vector<double> base_bias_;
  std::int64_t runs_;
  std::vector<double> log_weights_;
  std::vector<Tensor> states_, inputs_, noise_;  // per layer [runs, n_l]
};

PartitionEstimate summarise(std::vector<double> log_weights, double base_log_partition) {
  const std::size_t m = log_weights.size();
  const double top = *std::max_element(log_weights.begin(), log_weights.end());
  double sum = 0.0, sum_sq = 0.0;
  for (double lw : log_weights) {
    const double w = std::exp(lw - top);  // weights scaled by e^-top: no overflow, the largest is 1
    sum += w;
    sum_sq += w * w;
  }
  const double mean = sum / static_cast<double>(m);
  double variance = 0.0;
  for (double lw : log_weights) variance += (std::exp(lw - top) - mean) * (std::exp(lw - top) - mean);
  variance = m > 1 ? variance / static_cast<double>(m - 1) : 0.0;
  const double three_errors = 3.0 * std::sqrt(variance / static_cast<double>(m));
  const double offset = top + base_log_partition;
  PartitionEstimate estimate;
  estimate.log_partition = std::log(mean) + offset;
  estimate.log_partition_low = mean > three_errors ? std::log(mean - three_errors) + offset
                                                   : -std::numeric_limits<double>::infinity();
  estimate.log_partition_high = std::log(mean + three_errors) + offset;
  estimate.base_log_partition = base_log_partition;
  estimate.effective_sample_size = sum * sum / sum_sq;
  estimate.log_weights = algorithms::detail::to_tensor(log_weights);
  return estimate;
}

PartitionEstimate anneal(const Layers& layers, const AISOptions& options) {
  CAKE_CHECK(options.n_runs >= 1, "ais_log_partition: n_runs must be at least 1, got ", options.n_runs);
  const std::vector<double> betas = options.betas.empty() ? ais_schedule() : options.betas;
  check_schedule(betas);
  std::vector<double> base_bias = base_bias_values(options, layers.size(0));
  // log Z_A: the visible units' factors, and 2 states for every binary hidden unit (no weights,
  // no biases); a Gaussian layer contributes nothing with the constant dropped.
  double base_log_partition = 0.0;
  for (double a : base_bias) base_log_partition += softplus(a);
  for (std::size_t l = 1; l <= layers.depth(); ++l)
    if (!(layers.gaussian_hidden && l == 1)) base_log_partition += static_cast<double>(layers.size(l)) * std::log(2.0);
  NoGradGuard no_grad;
  algorithms::detail::SeedScope seed(options.random_state);
  std::vector<double> log_weights =
      layers.weights.front().dtype() == kFloat32
          ? Annealer<float>(layers, std::move(base_bias), options.n_runs).run(betas)
          : Annealer<double>(layers, std::move(base_bias), options.n_runs).run(betas);
  for (double lw : log_weights)
    CAKE_CHECK(std::isfinite(lw), "ais_log_partition: a run's log weight is ", lw,
               "; the model's parameters are too large for its precision");
  return summarise(std::move(log_weights), base_log_partition);
}

Layers copied_layers(const std::vector<Tensor>& weights, const std::vector<Tensor>& biases) {
  Layers layers;
  const DType dtype = weights.front().dtype() == kFloat32 ? kFloat32 : kFloat64;
  for (const Tensor& w : weights) layers.weights.push_back(w.detach().to(dtype).cpu().contiguous());
  for (const Tensor& b : biases) layers.biases.push_back(b.detach().to(dtype).cpu().contiguous());
  return layers;
}

}  // namespace

std::vector<double> ais_schedule(std::int64_t steps) {
  CAKE_CHECK(steps >= 3, "ais_schedule: needs at least 3 steps (one in each of its three stretches), got ", steps);
  const std::int64_t first = std::max<std::int64_t>(1, steps / 29), second = std::max<std::int64_t>(1, 8 * steps / 29);
  const std::int64_t third = steps - first - second;
  std::vector<double> betas;
  betas.reserve(static_cast<std::size_t>(steps + 1));
  auto stretch = [&](double from, double to, std::int64_t count) {
    for (std::int64_t i = 0; i < count; ++i)
      betas.push_back(from + (to - from) * static_cast<double>(i) / static_cast<double>(count));
  };
  stretch(0.0, 0.5, first);
  stretch(0.5, 0.9, second);
  stretch(0.9, 1.0, third);
  betas.push_back(1.0);
  return betas;
}

Tensor base_rate_visible_bias(const Tensor& x, double pseudo_count) {
  CAKE_CHECK(pseudo_count > 0 && std::isfinite(pseudo_count), "base_rate_visible_bias: pseudo_count must be positive, got ",
             pseudo_count);
  NoGradGuard no_grad;
  const Tensor data = probability_matrix(x, "base_rate_visible_bias").to(kFloat64);
  const double n = static_cast<double>(data.size(0));
  const Tensor p = (data.sum({0}) + pseudo_count) / (n + 2.0 * pseudo_count);
  return p.log() - (1.0 - p).log();
}

PartitionEstimate ais_log_partition(const RBM& rbm, const AISOptions& options) {
  CAKE_CHECK(rbm.fitted(), "ais_log_partition: the RBM is not fitted");
  CAKE_CHECK(rbm.options().up_scale == 1.0 && rbm.options().down_scale == 1.0,
             "ais_log_partition: defined for the RBM of eq. 1, whose up_scale and down_scale are 1 (got ",
             rbm.options().up_scale, " and ", rbm.options().down_scale, ")");
  Layers layers = copied_layers({rbm.components()}, {rbm.intercept_visible(), rbm.intercept_hidden()});
  layers.gaussian_hidden = rbm.options().hidden_units == HiddenUnits::Gaussian;
  return anneal(layers, options);
}

PartitionEstimate ais_log_partition(const DeepBoltzmannMachine& dbm, const AISOptions& options) {
  CAKE_CHECK(dbm.fitted(), "ais_log_partition: the deep Boltzmann machine is not fitted");
  return anneal(copied_layers(dbm.weights(), dbm.biases()), options);
}

Tensor variational_lower_bound(const DeepBoltzmannMachine& dbm, const Tensor& x, double log_partition) {
  CAKE_CHECK(dbm.fitted(), "variational_lower_bound: the deep Boltzmann machine is not fitted");
  CAKE_CHECK(std::isfinite(log_partition), "variational_lower_bound: log_partition must be finite, got ", log_partition);
  NoGradGuard no_grad;
  const Tensor v = probability_matrix(x, "variational_lower_bound").to(kFloat64);
  const std::int64_t d = dbm.weights().front().size(1);
  CAKE_CHECK(v.size(1) == d, "variational_lower_bound: expected visible states [n, ", d, "], got shape ", v.sizes());
  const std::vector<Tensor> posterior = dbm.mean_field(v);
  Tensor bound = v.matmul(dbm.biases()[0].to(kFloat64).cpu());
  Tensor below = v;
  for (std::size_t l = 1; l <= posterior.size(); ++l) {
    const Tensor mu = posterior[l - 1].to(kFloat64).cpu();
    const Tensor w = dbm.weights()[l - 1].to(kFloat64).cpu(), b = dbm.biases()[l].to(kFloat64).cpu();
    const Tensor entropy = -(mu.xlogy(mu) + (1.0 - mu).xlogy(1.0 - mu)).sum({1});  // 0 log 0 = 0
    bound = bound + (below.matmul(w.t()) * mu).sum({1}) + mu.matmul(b) + entropy;
    below = mu;
  }
  return bound - log_partition;
}

}  // namespace cake::generative
