// dbm.cpp: the deep Boltzmann machine (dbm.h): pretraining by modified RBMs, mean-field
// inference, persistent chains, the stochastic-approximation updates of Algorithm 1.
#include "cake/algorithms/generative/dbm.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "cake/algorithms/detail/common.h"
#include "cake/autograd/grad_mode.h"
#include "cake/autograd/ops.h"
#include "cake/nn/functional.h"
#include "cake/tensor/creation.h"

namespace cake::generative {

namespace F = cake::nn::functional;

DeepBoltzmannMachine::DeepBoltzmannMachine(DBMOptions options) : options_(std::move(options)) {
  CAKE_CHECK(!options_.layer_sizes.empty(), "DeepBoltzmannMachine: layer_sizes must name at least one hidden layer");
  for (std::int64_t size : options_.layer_sizes)
    CAKE_CHECK(size > 0, "DeepBoltzmannMachine: layer sizes must be positive, got ", Shape(options_.layer_sizes));
  CAKE_CHECK(options_.n_iter >= 0 && options_.batch_size > 0 && options_.n_particles > 0 && options_.gibbs_steps > 0 &&
                 options_.mean_field_steps > 0,
             "DeepBoltzmannMachine: n_iter must be >= 0 and batch_size, n_particles, gibbs_steps and mean_field_steps "
             "positive");
  CAKE_CHECK(options_.learning_rate > 0 && options_.final_learning_rate > 0,
             "DeepBoltzmannMachine: the learning rates must be positive, got ", options_.learning_rate, " and ",
             options_.final_learning_rate);
}

// ---- pretraining (section 3.1) ----------------------------------------------------------------------

DeepBoltzmannMachine& DeepBoltzmannMachine::pretrain(const Tensor& x) {
  NoGradGuard no_grad;
  const std::size_t depth = options_.layer_sizes.size();
  std::vector<RBM> rbms;
  Tensor input = probability_matrix(x, "DeepBoltzmannMachine.pretrain");
  for (std::size_t l = 0; l < depth; ++l) {
    RBMOptions rbm = options_.pretraining;
    rbm.n_components = options_.layer_sizes[l];
    // The bottom RBM hears its visible layer twice going up, the top one its hidden layer twice
    // going down: in the DBM, each of those layers will hear both neighbours.
    rbm.up_scale = depth > 1 && l == 0 ? 2.0 : 1.0;
    rbm.down_scale = depth > 1 && l + 1 == depth ? 2.0 : 1.0;
    rbm.random_state = options_.random_state ? std::optional<std::uint64_t>(*options_.random_state + 1 + l) : std::nullopt;
    rbm.on_epoch = {};
    if (options_.on_epoch)
      rbm.on_epoch = [callback = options_.on_epoch, l](std::int64_t epoch, double error) {
        callback(static_cast<int>(l), epoch, error);
      };
    rbms.emplace_back(rbm);
    rbms.back().fit(input);
    if (l + 1 < depth) input = rbms.back().transform(input);
  }
  // Compose: W_l from RBM l - 1 (halved for an RBM between the bottom and the top); a hidden
  // layer's bias the mean of the RBM biases that describe it.
  std::vector<Tensor> weights, biases{rbms.front().intercept_visible().clone()};
  for (std::size_t l = 0; l < depth; ++l) {
    const bool middle = l > 0 && l + 1 < depth;
    weights.push_back(middle ? rbms[l].components() * 0.5 : rbms[l].components().clone());
    biases.push_back(l + 1 < depth ? (rbms[l].intercept_hidden() + rbms[l + 1].intercept_visible()) * 0.5
                                   : rbms[l].intercept_hidden().clone());
  }
  set_parameters(std::move(weights), std::move(biases));
  return *this;
}

// ---- inference ----------------------------------------------------------------------------------------

Tensor DeepBoltzmannMachine::layer_input(std::size_t l, const Tensor& below, const Tensor* above) const {
  Tensor input = below.matmul(weights_[l - 1].t()) + biases_[l];
  if (above != nullptr) input = input + above->matmul(weights_[l]);
  return input;
}

Tensor DeepBoltzmannMachine::visible_mean(const Tensor& h1) const {
  return (h1.matmul(weights_.front()) + biases_.front()).sigmoid();
}

std::vector<Tensor> DeepBoltzmannMachine::mean_field(const Tensor& v) const {
  NoGradGuard no_grad;
  const Tensor data = checked(v, "DeepBoltzmannMachine.mean_field");
  const std::size_t depth = weights_.size();
  // mu^0 = v; the start: bottom up, weights doubled below the top (each layer's missing input
  // from above stood in for by a second copy of the one from below).
  std::vector<Tensor> mu{data};
  for (std::size_t l = 1; l <= depth; ++l) {
    const Tensor from_below = mu[l - 1].matmul(weights_[l - 1].t());
    mu.push_back(((l < depth ? from_below * 2.0 : from_below) + biases_[l]).sigmoid());
  }
  // The mean-field fixed point (section 3), layer after layer, until nothing moves by mean_field_tol.
  for (std::int64_t step = 0; step < options_.mean_field_steps; ++step) {
    double largest_change = 0.0;
    for (std::size_t l = 1; l <= depth; ++l) {
      const Tensor updated = layer_input(l, mu[l - 1], l < depth ? &mu[l + 1] : nullptr).sigmoid();
      largest_change = std::max(largest_change, (updated - mu[l]).abs().max().item<double>());
      mu[l] = updated;
    }
    if (largest_change < options_.mean_field_tol) break;
  }
  mu.erase(mu.begin());
  return mu;
}

Tensor DeepBoltzmannMachine::transform(const Tensor& x) const { return mean_field(x).back(); }

void DeepBoltzmannMachine::gibbs_sweep(std::vector<Tensor>& states) const {
  const std::size_t depth = weights_.size();
  for (std::size_t parity : {1u, 0u})
    for (std::size_t l = parity; l <= depth; l += 2) {
      const Tensor mean = l == 0 ? visible_mean(states[1])
                                 : layer_input(l, states[l - 1], l < depth ? &states[l + 1] : nullptr).sigmoid();
      states[l] = mean.bernoulli();
    }
}

Tensor DeepBoltzmannMachine::sample(const Tensor& start, std::int64_t steps) const {
  CAKE_CHECK(steps >= 1, "DeepBoltzmannMachine.sample: steps must be >= 1, got ", steps);
  NoGradGuard no_grad;
  std::vector<Tensor> states{checked(start, "DeepBoltzmannMachine.sample")};
  for (const Tensor& mu : mean_field(start)) states.push_back(mu.bernoulli());
  for (std::int64_t step = 0; step < steps; ++step) gibbs_sweep(states);
  return visible_mean(states[1]);
}

// ---- training (Algorithm 1) ---------------------------------------------------------------------------

DeepBoltzmannMachine& DeepBoltzmannMachine::fit(const Tensor& x) {
  pretrain(x);
  return train(x);
}

DeepBoltzmannMachine& DeepBoltzmannMachine::train(const Tensor& x) {
  CAKE_CHECK(fitted(), "DeepBoltzmannMachine.train: pretrain or set the parameters first");
  NoGradGuard no_grad;
  const Tensor data = checked(probability_matrix(x, "DeepBoltzmannMachine.train"), "DeepBoltzmannMachine.train");
  algorithms::detail::SeedScope seed(options_.random_state);
  const std::int64_t n = data.size(0), batch = options_.batch_size;
  const std::size_t depth = weights_.size();

  // The fantasy particles start at data rows and their mean-field posteriors, sampled.
  const Tensor starts = arange(options_.n_particles).remainder(n);
  std::vector<Tensor> chains{data.index_select(0, starts).bernoulli()};
  for (const Tensor& mu : mean_field(data.index_select(0, starts))) chains.push_back(mu.bernoulli());

  std::vector<Tensor> weight_inc, bias_inc;
  for (const Tensor& w : weights_) weight_inc.push_back(zeros_like(w));
  for (const Tensor& b : biases_) bias_inc.push_back(zeros_like(b));
  const double decay = options_.n_iter > 1 ? std::pow(options_.final_learning_rate / options_.learning_rate,
                                                      1.0 / static_cast<double>(options_.n_iter - 1))
                                           : 1.0;
  double lr = options_.learning_rate;
  for (std::int64_t epoch = 1; epoch <= options_.n_iter; ++epoch, lr *= decay) {
    const double momentum = epoch <= options_.momentum_epochs ? options_.momentum : options_.final_momentum;
    const Tensor order = randperm(n);
    double squared_error = 0.0;
    for (std::int64_t start = 0; start < n; start += batch) {
      const Tensor v = data.index_select(0, order.narrow(0, start, std::min(batch, n - start)));
      std::vector<Tensor> positive{v};
      for (Tensor& mu : mean_field(v)) positive.push_back(std::move(mu));
      squared_error += (v - visible_mean(positive[1])).square().sum().item<double>();
      for (std::int64_t g = 0; g < options_.gibbs_steps; ++g) gibbs_sweep(chains);
      const double rows = static_cast<double>(v.size(0)), particles = static_cast<double>(options_.n_particles);
      for (std::size_t l = 1; l <= depth; ++l) {
        const Tensor gradient = positive[l].t().matmul(positive[l - 1]) / rows -
                                chains[l].t().matmul(chains[l - 1]) / particles - weights_[l - 1] * options_.weight_decay;
        weight_inc[l - 1].mul_(momentum).add_(gradient, lr);
        weights_[l - 1].add_(weight_inc[l - 1]);
      }
      for (std::size_t l = 0; l <= depth; ++l) {
        bias_inc[l].mul_(momentum).add_(positive[l].mean({0}) - chains[l].mean({0}), lr);
        biases_[l].add_(bias_inc[l]);
      }
    }
    const double error = squared_error / static_cast<double>(data.numel());
    CAKE_CHECK(std::isfinite(error), "DeepBoltzmannMachine.train: the reconstruction error became ", error, " in epoch ",
               epoch, ": the learning rate (", lr, ") is too large for this data");
    if (options_.on_epoch) options_.on_epoch(-1, epoch, error);
  }
  return *this;
}

// ---- the exact likelihood of small two-layer models --------------------------------------------------

Tensor DeepBoltzmannMachine::log_likelihood(const Tensor& x) const {
  CAKE_CHECK(fitted(), "DeepBoltzmannMachine.log_likelihood: the model is not fitted");
  const std::int64_t first = weights_.front().size(0);
  CAKE_CHECK(weights_.size() == 2 && first <= 20, "DeepBoltzmannMachine.log_likelihood: enumerates the first hidden ",
             "layer of a two-layer DBM, up to 20 units; this one has ", weights_.size(), " layers and ", first,
             " units in the first");
  NoGradGuard no_grad;
  const Tensor v = checked(x, "DeepBoltzmannMachine.log_likelihood").to(kFloat64).cpu();
  const Tensor w1 = weights_[0].to(kFloat64).cpu(), w2 = weights_[1].to(kFloat64).cpu();
  const Tensor b0 = biases_[0].to(kFloat64).cpu(), b1 = biases_[1].to(kFloat64).cpu(), b2 = biases_[2].to(kFloat64).cpu();
  constexpr double kNoThreshold = std::numeric_limits<double>::infinity();
  // Given h^1, v and h^2 are independent: summing them out leaves sums over the 2^n1 states of h^1,
  //   Z       = sum_h1 exp(b1.h1) prod_i (1 + e^{b0_i + (h1 W1)_i}) prod_k (1 + e^{b2_k + (W2 h1)_k})
  //   p~(v)   = e^{b0.v} sum_h1 exp(b1.h1 + h1.(W1 v)) prod_k (1 + e^{b2_k + (W2 h1)_k}).
  const std::int64_t states = std::int64_t{1} << first, chunk = std::min<std::int64_t>(states, 4096);
  std::vector<Tensor> log_z_parts, log_v_parts;
  for (std::int64_t begin = 0; begin < states; begin += chunk) {
    std::vector<double> bits(static_cast<std::size_t>(chunk * first));
    for (std::int64_t s = 0; s < chunk; ++s)
      for (std::int64_t b = 0; b < first; ++b) bits[static_cast<std::size_t>(s * first + b)] = static_cast<double>(((begin + s) >> b) & 1);
    const Tensor h1 = algorithms::detail::to_tensor(bits, {chunk, first});
    const Tensor common = h1.matmul(b1) + F::softplus(h1.matmul(w2.t()) + b2, 1.0, kNoThreshold).sum({1});  // [S]
    log_z_parts.push_back((common + F::softplus(h1.matmul(w1) + b0, 1.0, kNoThreshold).sum({1})).logsumexp(0).reshape({1}));
    log_v_parts.push_back((common.unsqueeze(1) + h1.matmul(w1.matmul(v.t()))).logsumexp(0).unsqueeze(0));  // [1, n]
  }
  const double log_z = cat(log_z_parts, 0).logsumexp(0).item<double>();
  return v.matmul(b0) + cat(log_v_parts, 0).logsumexp(0) - log_z;
}

// ---- parameters ------------------------------------------------------------------------------------------

Tensor DeepBoltzmannMachine::checked(const Tensor& x, const char* who) const {
  CAKE_CHECK(fitted(), who, ": the model is not fitted");
  const std::int64_t d = weights_.front().size(1);
  CAKE_CHECK(x.dim() == 2 && x.size(1) == d, who, ": expected visible states [n, ", d, "], got shape ", x.sizes());
  CAKE_CHECK(x.is_floating_point(), who, ": expected float32 or float64 data, got ", dtype_name(x.dtype()));
  return x.to(weights_.front().dtype());
}

void DeepBoltzmannMachine::set_parameters(std::vector<Tensor> weights, std::vector<Tensor> biases) {
  CAKE_CHECK(weights.size() == options_.layer_sizes.size() && biases.size() == weights.size() + 1,
             "DeepBoltzmannMachine.set_parameters: expected ", options_.layer_sizes.size(), " weights and ",
             options_.layer_sizes.size() + 1, " biases, got ", weights.size(), " and ", biases.size());
  for (std::size_t l = 0; l < weights.size(); ++l) {
    const std::int64_t below = l == 0 ? weights[0].size(1) : options_.layer_sizes[l - 1];
    CAKE_CHECK(weights[l].dim() == 2 && weights[l].size(0) == options_.layer_sizes[l] && weights[l].size(1) == below &&
                   biases[l + 1].dim() == 1 && biases[l + 1].size(0) == options_.layer_sizes[l],
               "DeepBoltzmannMachine.set_parameters: weight ", l + 1, " has shape ", weights[l].sizes(), " and bias ",
               l + 1, " shape ", biases[l + 1].sizes(), ", which do not fit the layer sizes ", Shape(options_.layer_sizes));
  }
  CAKE_CHECK(biases[0].dim() == 1 && biases[0].size(0) == weights[0].size(1), "DeepBoltzmannMachine.set_parameters: ",
             "the visible bias has shape ", biases[0].sizes(), ", the first weight ", weights[0].sizes());
  const DType dtype = weights[0].dtype();
  weights_.clear();
  biases_.clear();
  for (const Tensor& w : weights) weights_.push_back(w.detach().to(dtype).contiguous().clone());
  for (const Tensor& b : biases) biases_.push_back(b.detach().to(dtype).contiguous().clone());
}

TensorMap DeepBoltzmannMachine::state_dict() const {
  CAKE_CHECK(fitted(), "DeepBoltzmannMachine.state_dict: the model is not fitted");
  TensorMap state;
  for (std::size_t l = 0; l < weights_.size(); ++l) state["weight" + std::to_string(l + 1)] = weights_[l];
  for (std::size_t l = 0; l < biases_.size(); ++l) state["bias" + std::to_string(l)] = biases_[l];
  return state;
}

void DeepBoltzmannMachine::load_state_dict(const TensorMap& state, const std::string& source) {
  auto get = [&](const std::string& name) -> const Tensor& {
    const auto it = state.find(name);
    CAKE_CHECK(it != state.end(), source, ": no tensor '", name, "' for a deep Boltzmann machine of ",
               options_.layer_sizes.size(), " hidden layers");
    return it->second;
  };
  std::vector<Tensor> weights, biases;
  for (std::size_t l = 1; l <= options_.layer_sizes.size(); ++l) weights.push_back(get("weight" + std::to_string(l)));
  for (std::size_t l = 0; l <= options_.layer_sizes.size(); ++l) biases.push_back(get("bias" + std::to_string(l)));
  set_parameters(std::move(weights), std::move(biases));
}

}  // namespace cake::generative
