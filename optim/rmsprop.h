// rmsprop.h: RMSprop (Hinton, Coursera lecture 6e, 2012; centred form from Graves 2013, eq.
// 38-45), exactly as torch.optim.RMSprop.
//
//   cake::optim::RMSprop opt(net->parameters(), {.lr = 1e-2, .alpha = 0.99, .momentum = 0.9, .centered = true});
#pragma once

#include "cake/nn/options.h"
#include "cake/optim/optimizer.h"

namespace cake::optim {

struct RMSpropOptions {
  using Self = RMSpropOptions;
  CAKE_ARG(double, lr) = 1e-2;
  CAKE_ARG(double, alpha) = 0.99;  // smoothing of the squared-gradient average
  CAKE_ARG(double, eps) = 1e-8;
  CAKE_ARG(double, weight_decay) = 0.0;
  CAKE_ARG(double, momentum) = 0.0;
  CAKE_ARG(bool, centered) = false;  // divide by an estimate of the gradient's variance, not its 2nd moment
};

// Per step, with v = "square_avg", g_avg = "grad_avg" (centred), b = "momentum_buffer":
//   g <- g + weight_decay * p
//   v <- alpha v + (1 - alpha) g^2
//   g_avg <- alpha g_avg + (1 - alpha) g,   d = sqrt(v - g_avg^2) + eps     (centred)
//                                           d = sqrt(v) + eps               (otherwise)
//   b <- momentum b + g / d,  p <- p - lr b      (momentum > 0)
//   p <- p - lr g / d                            (otherwise)
class RMSprop : public OptimizerWithOptions<RMSprop, RMSpropOptions> {
 public:
  explicit RMSprop(std::vector<Tensor> params, const RMSpropOptions& options = {});
  // Parameter groups (optimizer.h); `options` are the defaults of groups without their own.
  explicit RMSprop(std::vector<OptimizerParamGroup> groups, const RMSpropOptions& options = {});
  void step() override;
  std::string name() const override { return "RMSprop"; }

  RMSpropOptions options;

 private:
  friend OptimizerWithOptions;  // reads the two below (optimizer.h)
  static Hyperparameters values_of(const RMSpropOptions& o);
  static RMSpropOptions options_from(const HyperparameterLookup& value, const RMSpropOptions& current);
};

}  // namespace cake::optim
