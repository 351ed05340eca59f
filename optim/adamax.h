// adamax.h: Adamax (Kingma & Ba 2015, "Adam: A Method for Stochastic Optimization", section 7.1,
// Algorithm 2), Adam with the infinity norm in place of the root mean square, exactly as
// torch.optim.Adamax.
//
//   cake::optim::Adamax opt(net->parameters(), cake::optim::AdamaxOptions(2e-3).weight_decay(1e-4));
#pragma once

#include <utility>

#include "cake/nn/options.h"
#include "cake/optim/optimizer.h"

namespace cake::optim {

struct AdamaxOptions {
  using Self = AdamaxOptions;
  using Betas = std::pair<double, double>;
  CAKE_ARG(double, lr) = 2e-3;
  CAKE_ARG(Betas, betas) = {0.9, 0.999};
  CAKE_ARG(double, eps) = 1e-8;
  CAKE_ARG(double, weight_decay) = 0.0;  // L2: added to the gradient
};

// Per step t (from 1), with m = "exp_avg", u = "exp_inf":
//   g <- g + weight_decay * p
//   m <- beta1 m + (1 - beta1) g
//   u <- max(beta2 u, |g| + eps)           the exponentially weighted infinity norm
//   p <- p - lr / (1 - beta1^t) * m / u
// As L^p norms of the past gradients with p -> infinity, u needs no bias correction (section
// 7.1); eps sits inside the max, as in PyTorch, so u is never zero.
class Adamax : public OptimizerWithOptions<Adamax, AdamaxOptions> {
 public:
  explicit Adamax(std::vector<Tensor> params, const AdamaxOptions& options = {});
  // Parameter groups (optimizer.h); `options` are the defaults of groups without their own.
  explicit Adamax(std::vector<OptimizerParamGroup> groups, const AdamaxOptions& options = {});
  void step() override;
  std::string name() const override { return "Adamax"; }

  AdamaxOptions options;

 private:
  friend OptimizerWithOptions;  // reads the two below (optimizer.h)
  static Hyperparameters values_of(const AdamaxOptions& o);
  static AdamaxOptions options_from(const HyperparameterLookup& value, const AdamaxOptions& current);
};

}  // namespace cake::optim
