// radam.h: RAdam (Liu et al. 2020, "On the Variance of the Adaptive Learning Rate and Beyond",
// ICLR, Algorithm 2), Adam whose adaptive step is switched on only once the variance of its
// denominator can be estimated, and rectified until then, exactly as torch.optim.RAdam.
//
//   cake::optim::RAdam opt(net->parameters(), cake::optim::RAdamOptions(1e-3).weight_decay(1e-4));
#pragma once

#include <utility>

#include "cake/nn/options.h"
#include "cake/optim/optimizer.h"

namespace cake::optim {

struct RAdamOptions {
  using Self = RAdamOptions;
  using Betas = std::pair<double, double>;
  CAKE_ARG(double, lr) = 1e-3;
  CAKE_ARG(Betas, betas) = {0.9, 0.999};
  CAKE_ARG(double, eps) = 1e-8;
  CAKE_ARG(double, weight_decay) = 0.0;  // L2: added to the gradient
};

// Per step t (from 1), with m = "exp_avg", v = "exp_avg_sq":
//   g <- g + weight_decay * p
//   m <- beta1 m + (1 - beta1) g,  v <- beta2 v + (1 - beta2) g^2
//   rho_inf = 2 / (1 - beta2) - 1,  rho_t = rho_inf - 2 t beta2^t / (1 - beta2^t)
//   rho_t > 5:  r_t = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
//               p <- p - lr m / (1 - beta1^t) * sqrt(1 - beta2^t) / (sqrt(v) + eps) * r_t
//   otherwise:  p <- p - lr m / (1 - beta1^t)        (SGD with momentum: no adaptive step)
// rho_t is the length of the simple moving average that the exponential one approximates
// (section 4); with few samples the variance of 1 / sqrt(v) is too large or undefined, and r_t
// scales the adaptive step to the variance it has at convergence. The paper switches on
// at rho_t > 4; PyTorch, and so Cake, at rho_t > 5.
class RAdam : public OptimizerWithOptions<RAdam, RAdamOptions> {
 public:
  explicit RAdam(std::vector<Tensor> params, const RAdamOptions& options = {});
  // Parameter groups (optimizer.h); `options` are the defaults of groups without their own.
  explicit RAdam(std::vector<OptimizerParamGroup> groups, const RAdamOptions& options = {});
  void step() override;
  std::string name() const override { return "RAdam"; }

  RAdamOptions options;

 private:
  friend OptimizerWithOptions;  // reads the two below (optimizer.h)
  static Hyperparameters values_of(const RAdamOptions& o);
  static RAdamOptions options_from(const HyperparameterLookup& value, const RAdamOptions& current);
};

}  // namespace cake::optim
