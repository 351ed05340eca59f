// rbm.cpp: the restricted Boltzmann machine (rbm.h): the conditionals, the free energy, contrastive
// divergence and the exact quantities of small models.
#include "cake/algorithms/generative/rbm.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "cake/algorithms/detail/common.h"
#include "cake/autograd/grad_mode.h"
#include "cake/nn/functional.h"
#include "cake/tensor/creation.h"
#include "cake/tensor/parallel.h"
#include "cake/tensor/random.h"

namespace cake::generative {

namespace F = cake::nn::functional;

HiddenUnits parse_hidden_units(const std::string& name) {
  if (name == "bernoulli") return HiddenUnits::Bernoulli;
  if (name == "gaussian") return HiddenUnits::Gaussian;
  CAKE_FAIL("RBM: hidden_units must be bernoulli or gaussian, got '", name, "'");
}

RBMGradient contrastive_divergence_gradient(const Tensor& v_data, const Tensor& h_data, const Tensor& v_model,
                                            const Tensor& h_model) {
  CAKE_CHECK(v_data.dim() == 2 && h_data.dim() == 2 && v_data.size(0) == h_data.size(0) && v_model.dim() == 2 &&
                 h_model.dim() == 2 && v_model.size(0) == h_model.size(0) && v_data.size(1) == v_model.size(1) &&
                 h_data.size(1) == h_model.size(1),
             "contrastive_divergence_gradient: expected v_data [B, d], h_data [B, k], v_model [B', d], h_model [B', k], "
             "got ", v_data.sizes(), ", ", h_data.sizes(), ", ", v_model.sizes(), ", ", h_model.sizes());
  const double b_data = static_cast<double>(v_data.size(0)), b_model = static_cast<double>(v_model.size(0));
  return {.weights = h_data.t().matmul(v_data) / b_data - h_model.t().matmul(v_model) / b_model,
          .visible_bias = v_data.mean({0}) - v_model.mean({0}),
          .hidden_bias = h_data.mean({0}) - h_model.mean({0})};
}

RBM::RBM(RBMOptions options) : options_(std::move(options)) {
  CAKE_CHECK(options_.n_components > 0, "RBM: n_components must be positive, got ", options_.n_components);
  CAKE_CHECK(options_.batch_size > 0, "RBM: batch_size must be positive, got ", options_.batch_size);
  CAKE_CHECK(options_.n_iter >= 0, "RBM: n_iter must be >= 0, got ", options_.n_iter);
  CAKE_CHECK(options_.cd_k >= 1, "RBM: cd_k (Gibbs steps) must be >= 1, got ", options_.cd_k);
  CAKE_CHECK(options_.learning_rate > 0 && std::isfinite(options_.learning_rate),
             "RBM: learning_rate must be positive and finite, got ", options_.learning_rate);
  CAKE_CHECK(options_.weight_decay >= 0, "RBM: weight_decay must be >= 0, got ", options_.weight_decay);
  CAKE_CHECK(options_.init_std >= 0, "RBM: init_std must be >= 0, got ", options_.init_std);
  for (double m : {options_.momentum, options_.final_momentum})
    CAKE_CHECK(m >= 0 && m < 1, "RBM: momentum must be in [0, 1), got ", m);
  CAKE_CHECK(options_.up_scale > 0 && options_.down_scale > 0, "RBM: up_scale and down_scale must be positive, got ",
             options_.up_scale, " and ", options_.down_scale);
}

void RBM::check_plain(const char* who) const {
  CAKE_CHECK(options_.up_scale == 1.0 && options_.down_scale == 1.0, who, ": defined for the RBM of eq. 1, whose ",
             "up_scale and down_scale are 1 (got ", options_.up_scale, " and ", options_.down_scale, ")");
}

// ---- the conditionals (Hinton 2010, eq. 7 and 8) ------------------------------------------------------

Tensor RBM::up(const Tensor& v) const {
  Tensor product = v.matmul(weights_.t());
  if (options_.up_scale != 1.0) product = product * options_.up_scale;
  const Tensor input = product + hidden_bias_;
  return options_.hidden_units == HiddenUnits::Gaussian ? input : input.sigmoid();
}

Tensor RBM::down(const Tensor& h) const {
  Tensor product = h.matmul(weights_);
  if (options_.down_scale != 1.0) product = product * options_.down_scale;
  return (product + visible_bias_).sigmoid();
}

Tensor RBM::mean_hidden(const Tensor& v) const {
  NoGradGuard no_grad;
  return up(checked(v, "RBM.mean_hidden"));
}

Tensor RBM::mean_visible(const Tensor& h) const {
  NoGradGuard no_grad;
  return down(checked_hidden(h, "RBM.mean_visible"));
}

namespace {

// A draw of units with these means: Bernoulli(mean), or mean + N(0, 1) for Gaussian units.
Tensor draw(const Tensor& mean, HiddenUnits units) {
  return units == HiddenUnits::Gaussian ? mean + randn_like(mean) : mean.bernoulli();
}

}  // namespace

// With a random_state the model draws from a stream of its own, as scikit-learn's random_state_:
// seeded by fit, continued by every later call that draws; the global stream is restored after.
// Without one, draws come from the global stream (cake::manual_seed makes them reproducible).
class RBM::ModelStream {
 public:
  ModelStream(const RBM& model, bool restart) : model_(model) {
    if (!model.options_.random_state) return;
    saved_ = get_rng_state();
    if (restart || !model.stream_) {
      manual_seed(*model.options_.random_state);
    } else {
      set_rng_state(*model.stream_);
    }
  }
  ~ModelStream() {
    if (!saved_) return;
    model_.stream_ = get_rng_state();
    set_rng_state(*saved_);
  }
  ModelStream(const ModelStream&) = delete;
  ModelStream& operator=(const ModelStream&) = delete;

 private:
  const RBM& model_;
  std::optional<GeneratorState> saved_;
};

Tensor RBM::sample_hidden(const Tensor& v) const {
  NoGradGuard no_grad;
  const Tensor mean = up(checked(v, "RBM.sample_hidden"));
  ModelStream stream(*this, false);
  return draw(mean, options_.hidden_units);
}

Tensor RBM::sample_visible(const Tensor& h) const {
  NoGradGuard no_grad;
  const Tensor mean = down(checked_hidden(h, "RBM.sample_visible"));
  ModelStream stream(*this, false);
  return mean.bernoulli();
}

Tensor RBM::transform(const Tensor& x) const {
  NoGradGuard no_grad;
  return up(checked(x, "RBM.transform"));
}

Tensor RBM::gibbs(const Tensor& v) const {
  NoGradGuard no_grad;
  const Tensor data = checked(v, "RBM.gibbs");
  ModelStream stream(*this, false);
  return down(draw(up(data), options_.hidden_units)).bernoulli();
}

Tensor RBM::reconstruct(const Tensor& x) const {
  NoGradGuard no_grad;
  return down(up(checked(x, "RBM.reconstruct")));
}

Tensor RBM::sample(const Tensor& start, std::int64_t steps) const {
  CAKE_CHECK(steps >= 1, "RBM.sample: steps must be >= 1, got ", steps);
  NoGradGuard no_grad;
  Tensor v = checked(start, "RBM.sample");
  ModelStream stream(*this, false);
  Tensor v_mean;
  for (std::int64_t step = 0; step < steps; ++step) {
    v_mean = down(draw(up(v), options_.hidden_units));
    v = v_mean.bernoulli();
  }
  return v_mean;
}

// ---- training ---------------------------------------------------------------------------------------

void RBM::initialize(std::int64_t features, DType dtype) {
  const std::int64_t k = options_.n_components;
  weights_ = randn({k, features}, dtype) * options_.init_std;
  hidden_bias_ = zeros({k}, dtype);
  visible_bias_ = zeros({features}, dtype);
  weights_inc_ = zeros({k, features}, dtype);
  hidden_bias_inc_ = zeros({k}, dtype);
  visible_bias_inc_ = zeros({features}, dtype);
  chains_ = zeros({options_.batch_size, k}, dtype);  // scikit-learn's start of the persistent chains
}

double RBM::update(const Tensor& batch, double momentum_now) {
  const HiddenUnits units = options_.hidden_units;
  const Tensor h_data = up(batch);
  const Tensor h_data_state = draw(h_data, units);
  // The one-step reconstruction, Hinton's progress measure (not the objective: section 5).
  const Tensor reconstruction = down(h_data_state);
  const double squared_error = (batch - reconstruction).square().sum().item<double>();

  // The negative phase: k Gibbs steps from the persistent chains or from the data's hidden states.
  Tensor h_state = options_.persistent ? chains_ : h_data_state;
  Tensor v_model, h_model;
  for (std::int64_t step = 0; step < options_.cd_k; ++step) {
    const bool last = step + 1 == options_.cd_k;
    const Tensor v_mean = (step == 0 && !options_.persistent) ? reconstruction : down(h_state);
    v_model = (last && !options_.sample_visible) ? v_mean : v_mean.bernoulli();
    h_model = up(v_model);
    if (!last || options_.persistent) h_state = draw(h_model, units);
  }
  if (options_.persistent) chains_ = h_state;

  // inc <- momentum inc + lr (gradient - weight_decay W); parameter += inc (the authors' rbm.m).
  const RBMGradient gradient = contrastive_divergence_gradient(batch, h_data, v_model, h_model);
  const double lr = options_.learning_rate;
  weights_inc_.mul_(momentum_now).add_(gradient.weights - weights_ * options_.weight_decay, lr);
  visible_bias_inc_.mul_(momentum_now).add_(gradient.visible_bias, lr);
  hidden_bias_inc_.mul_(momentum_now).add_(gradient.hidden_bias, lr);
  weights_.add_(weights_inc_);
  visible_bias_.add_(visible_bias_inc_);
  hidden_bias_.add_(hidden_bias_inc_);
  return squared_error;
}

Tensor probability_matrix(const Tensor& x, const char* who) {
  Tensor data = algorithms::detail::data_matrix(x, who);
  const double low = data.min().item<double>(), high = data.max().item<double>();
  CAKE_CHECK(low >= 0.0 && high <= 1.0, who, ": the visible units are binary, so the data must be probabilities in [0, 1]; ",
             "found values from ", low, " to ", high, " (scale them first, e.g. pixels / 255)");
  return data;
}

RBM& RBM::fit(const Tensor& x) {
  NoGradGuard no_grad;
  const Tensor data = probability_matrix(x, "RBM.fit");
  ModelStream stream(*this, true);
  initialize(data.size(1), data.dtype());
  const std::int64_t n = data.size(0), batch = options_.batch_size;
  for (std::int64_t epoch = 1; epoch <= options_.n_iter; ++epoch) {
    const Tensor order = options_.shuffle ? randperm(n) : Tensor();
    const double momentum_now = epoch <= options_.momentum_epochs ? options_.momentum : options_.final_momentum;
    double squared_error = 0.0;
    for (std::int64_t start = 0; start < n; start += batch) {
      const std::int64_t rows = std::min(batch, n - start);
      const Tensor batch_rows = order.defined() ? data.index_select(0, order.narrow(0, start, rows)) : data.narrow(0, start, rows);
      squared_error += update(batch_rows, momentum_now);
    }
    const double error = squared_error / static_cast<double>(data.numel());
    CAKE_CHECK(std::isfinite(error), "RBM.fit: the reconstruction error became ", error, " in epoch ", epoch,
               ": the learning rate (", options_.learning_rate, ") is too large for this data");
    if (options_.on_epoch) options_.on_epoch(epoch, error);
  }
  return *this;
}

RBM& RBM::partial_fit(const Tensor& x) {
  NoGradGuard no_grad;
  const Tensor data = probability_matrix(x, "RBM.partial_fit");
  ModelStream stream(*this, false);
  if (!fitted()) {
    initialize(data.size(1), data.dtype());
  } else {
    CAKE_CHECK(data.size(1) == n_features_in(), "RBM.partial_fit: the model has ", n_features_in(),
               " visible units, got data of shape ", data.sizes());
  }
  update(data.to(weights_.dtype()), options_.momentum);
  return *this;
}

// ---- the free energy and the exact quantities --------------------------------------------------------

Tensor RBM::checked(const Tensor& x, const char* who) const {
  CAKE_CHECK(fitted(), who, ": the model is not fitted");
  CAKE_CHECK(x.dim() == 2 && x.size(1) == n_features_in(), who, ": expected visible states [n, ", n_features_in(),
             "], got shape ", x.sizes());
  CAKE_CHECK(x.is_floating_point(), who, ": expected float32 or float64 data, got ", dtype_name(x.dtype()));
  return x.to(weights_.dtype());
}

Tensor RBM::checked_hidden(const Tensor& h, const char* who) const {
  CAKE_CHECK(fitted(), who, ": the model is not fitted");
  CAKE_CHECK(h.dim() == 2 && h.size(1) == options_.n_components, who, ": expected hidden states [n, ",
             options_.n_components, "], got shape ", h.sizes());
  CAKE_CHECK(h.is_floating_point(), who, ": expected float32 or float64 states, got ", dtype_name(h.dtype()));
  return h.to(weights_.dtype());
}

Tensor RBM::free_energy(const Tensor& v) const {
  NoGradGuard no_grad;
  check_plain("RBM.free_energy");
  const Tensor v64 = checked(v, "RBM.free_energy").to(kFloat64);  // float64: differences of large sums
  const Tensor input = v64.matmul(weights_.to(kFloat64).t()) + hidden_bias_.to(kFloat64);
  const Tensor hidden_term = options_.hidden_units == HiddenUnits::Gaussian
                                 ? input.square().sum({1}) * 0.5
                                 : F::softplus(input, 1.0, std::numeric_limits<double>::infinity()).sum({1});
  return -(v64.matmul(visible_bias_.to(kFloat64))) - hidden_term;
}

namespace {

double stable_softplus(double x) { return std::max(x, 0.0) + std::log1p(std::exp(-std::abs(x))); }
double stable_log_sigmoid(double x) { return -stable_softplus(-x); }

}  // namespace

Tensor RBM::score_samples(const Tensor& x) const {
  NoGradGuard no_grad;
  check_plain("RBM.score_samples");
  const Tensor v = checked(x, "RBM.score_samples").to(kFloat64).cpu().contiguous();
  const Tensor weights_t = weights_.to(kFloat64).cpu().t().contiguous();  // [d, k]: feature i's weights in a row
  const Tensor visible_bias = visible_bias_.to(kFloat64).cpu().contiguous();
  const Tensor input = (v.matmul(weights_t) + hidden_bias_.to(kFloat64).cpu()).contiguous();  // [n, k]
  const std::int64_t n = v.size(0), d = v.size(1), k = weights_t.size(1);
  const bool gaussian = options_.hidden_units == HiddenUnits::Gaussian;
  Tensor out = empty({n}, kFloat64);
  const double *vp = v.data_ptr<double>(), *wt = weights_t.data_ptr<double>(), *a = visible_bias.data_ptr<double>(),
               *xp = input.data_ptr<double>();
  double* op = out.data_ptr<double>();
  // log P(v_i | v_-i) = log sigmoid(F(v with v_i flipped) - F(v)); flipping v_i to 1 - v_i moves
  // every hidden input x_j by s w_ij with s = 1 - 2 v_i, and the visible term by s a_i.
  parallel_for(0, n, algorithms::detail::grain_for(d * k), [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t r = lo; r < hi; ++r) {
      const double* xr = xp + r * k;
      double total = 0.0;
      for (std::int64_t i = 0; i < d; ++i) {
        const double s = 1.0 - 2.0 * vp[r * d + i];
        const double* w = wt + i * k;
        double hidden_change = 0.0;  // sum_j [g(x_j + s w_ij) - g(x_j)], g = softplus or x^2 / 2
        for (std::int64_t j = 0; j < k; ++j) {
          const double moved = xr[j] + s * w[j];
          hidden_change += gaussian ? 0.5 * (moved * moved - xr[j] * xr[j]) : stable_softplus(moved) - stable_softplus(xr[j]);
        }
        const double free_energy_change = -s * a[i] - hidden_change;  // F(flipped) - F(v)
        total += stable_log_sigmoid(free_energy_change);
      }
      op[r] = total;
    }
  });
  return out;
}

namespace {

// Every binary vector of `bits` units, states [start, start + count) in binary order, as [count, bits].
Tensor binary_states(std::int64_t bits, std::int64_t start, std::int64_t count) {
  std::vector<double> values(static_cast<std::size_t>(count * bits));
  for (std::int64_t s = 0; s < count; ++s)
    for (std::int64_t b = 0; b < bits; ++b)
      values[static_cast<std::size_t>(s * bits + b)] = static_cast<double>(((start + s) >> b) & 1);
  return algorithms::detail::to_tensor(values, {count, bits});
}

// log sum_s exp(term(states)) over all 2^bits states, in chunks.
double log_sum_over_states(std::int64_t bits, const std::function<Tensor(const Tensor&)>& log_weight) {
  const std::int64_t total = std::int64_t{1} << bits, chunk = std::min<std::int64_t>(total, 4096);
  std::vector<double> chunk_logsumexps;
  for (std::int64_t start = 0; start < total; start += chunk)
    chunk_logsumexps.push_back(log_weight(binary_states(bits, start, chunk)).logsumexp(0).item<double>());
  return algorithms::detail::to_tensor(chunk_logsumexps).logsumexp(0).item<double>();
}

constexpr std::int64_t kMaxEnumeratedUnits = 20;

}  // namespace

double RBM::log_partition() const {
  CAKE_CHECK(fitted(), "RBM.log_partition: the model is not fitted");
  check_plain("RBM.log_partition");
  NoGradGuard no_grad;
  const std::int64_t k = options_.n_components, d = n_features_in();
  const bool over_hidden = options_.hidden_units == HiddenUnits::Bernoulli && k <= kMaxEnumeratedUnits && k <= d;
  if (over_hidden) {
    // Z = sum_h exp(b.h) prod_i (1 + exp(a_i + (W^T h)_i)): the visible units summed out.
    const Tensor w = weights_.to(kFloat64).cpu(), a = visible_bias_.to(kFloat64).cpu(), b = hidden_bias_.to(kFloat64).cpu();
    return log_sum_over_states(k, [&](const Tensor& h) {
      return h.matmul(b) + F::softplus(h.matmul(w) + a, 1.0, std::numeric_limits<double>::infinity()).sum({1});
    });
  }
  CAKE_CHECK(d <= kMaxEnumeratedUnits, "RBM.log_partition: enumerates the states of at most ", kMaxEnumeratedUnits,
             " units, but the model has ", d, " visible and ", k, " hidden units; it is for small models only");
  return log_sum_over_states(d, [&](const Tensor& v) { return -free_energy(v); });
}

Tensor RBM::log_likelihood(const Tensor& x) const {
  const double log_z = log_partition();
  return -free_energy(x) - log_z;
}

void RBM::set_parameters(const Tensor& weights, const Tensor& hidden_bias, const Tensor& visible_bias) {
  CAKE_CHECK(weights.dim() == 2 && weights.size(0) == options_.n_components && hidden_bias.dim() == 1 &&
                 hidden_bias.size(0) == weights.size(0) && visible_bias.dim() == 1 && visible_bias.size(0) == weights.size(1),
             "RBM.set_parameters: expected weights [", options_.n_components, ", d], hidden_bias [", options_.n_components,
             "] and visible_bias [d], got ", weights.sizes(), ", ", hidden_bias.sizes(), ", ", visible_bias.sizes());
  CAKE_CHECK(weights.is_floating_point(), "RBM.set_parameters: expected float weights, got ", dtype_name(weights.dtype()));
  NoGradGuard no_grad;
  const DType dtype = weights.dtype();
  weights_ = weights.detach().clone();
  hidden_bias_ = hidden_bias.detach().to(dtype).clone();
  visible_bias_ = visible_bias.detach().to(dtype).clone();
  weights_inc_ = zeros_like(weights_);
  hidden_bias_inc_ = zeros_like(hidden_bias_);
  visible_bias_inc_ = zeros_like(visible_bias_);
  chains_ = zeros({options_.batch_size, options_.n_components}, dtype);
}

}  // namespace cake::generative
