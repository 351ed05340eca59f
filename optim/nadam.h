// nadam.h: NAdam (Dozat 2016, "Incorporating Nesterov Momentum into Adam", ICLR workshop),
// Adam with Nesterov's look-ahead momentum, as torch.optim.NAdam with its momentum_decay
// schedule.
//
//   cake::optim::NAdam opt(net->parameters(), cake::optim::NAdamOptions(2e-3).momentum_decay(4e-3));
#pragma once

#include <utility>

#include "cake/nn/options.h"
#include "cake/optim/optimizer.h"

namespace cake::optim {

struct NAdamOptions {
  using Self = NAdamOptions;
  using Betas = std::pair<double, double>;
  CAKE_ARG(double, lr) = 2e-3;
  CAKE_ARG(Betas, betas) = {0.9, 0.999};
  CAKE_ARG(double, eps) = 1e-8;
  CAKE_ARG(double, weight_decay) = 0.0;      // L2: added to the gradient
  CAKE_ARG(double, momentum_decay) = 4e-3;   // psi in the momentum schedule below
};

// Per step t (from 1), with m = "exp_avg", v = "exp_avg_sq" and the scalar "mu_product":
//   g <- g + weight_decay * p
//   mu_t = beta1 (1 - 0.5 * 0.96^(t psi)),  mu_{t+1} likewise     (Dozat's warming momentum)
//   mu_product <- mu_product * mu_t                               (prod_{i <= t} mu_i)
//   m <- beta1 m + (1 - beta1) g,  v <- beta2 v + (1 - beta2) g^2
//   d = sqrt(v) / sqrt(1 - beta2^t) + eps
//   p <- p - lr (1 - mu_t) / (1 - mu_product) * g / d
//          - lr mu_{t+1} / (1 - mu_product mu_{t+1}) * m / d
// The last line is the Nesterov step: the current gradient's share now, plus the momentum
// already looking one step ahead (mu_{t+1}), each with its own bias correction (Dozat, Alg. 2).
// NOTE: PyTorch 1.13's default (single-tensor) NAdam multiplies mu_t in twice in the second
// correction (mu_product mu_t mu_{t+1}), a bug fixed in PyTorch 2.0 (pytorch/pytorch#92699);
// Cake follows the paper, PyTorch 2.x and 1.13's own foreach=True path. mu_product is kept in
// double (PyTorch 1.13 keeps it in a tensor of the default dtype, float32 unless changed).
class NAdam : public OptimizerWithOptions<NAdam, NAdamOptions> {
 public:
  explicit NAdam(std::vector<Tensor> params, const NAdamOptions& options = {});
  // Parameter groups (optimizer.h); `options` are the defaults of groups without their own.
  explicit NAdam(std::vector<OptimizerParamGroup> groups, const NAdamOptions& options = {});
  void step() override;
  std::string name() const override { return "NAdam"; }

  NAdamOptions options;

 private:
  friend OptimizerWithOptions;  // reads the two below (optimizer.h)
  static Hyperparameters values_of(const NAdamOptions& o);
  static NAdamOptions options_from(const HyperparameterLookup& value, const NAdamOptions& current);
};

}  // namespace cake::optim
