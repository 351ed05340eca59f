// sgd.h: stochastic gradient descent with momentum, dampening, Nesterov momentum and L2
// weight decay, exactly as torch.optim.SGD.
//
//   cake::optim::SGD sgd(net->parameters(), {.lr = 0.05, .momentum = 0.9, .weight_decay = 1e-5});
#pragma once

#include "cake/nn/options.h"
#include "cake/optim/optimizer.h"

namespace cake::optim {

struct SGDOptions {
  using Self = SGDOptions;
  CAKE_ARG(double, lr) = 1e-3;
  CAKE_ARG(double, momentum) = 0.0;
  CAKE_ARG(double, dampening) = 0.0;
  CAKE_ARG(double, weight_decay) = 0.0;
  CAKE_ARG(bool, nesterov) = false;  // needs momentum > 0 and dampening == 0
  // Run the single-pass kernel where one applies (optim/fused.h); results are identical.
  CAKE_ARG(bool, fused) = true;
};

// Per step, with g the gradient and b the momentum buffer (state "momentum_buffer"):
//   g <- g + weight_decay * p
//   b <- g                                   on the first step
//   b <- momentum * b + (1 - dampening) g    afterwards
//   g <- g + momentum * b  (Nesterov)   or   g <- b
//   p <- p - lr * g
// (Sutskever et al. 2013 for the Nesterov form; PyTorch's documented algorithm.)
class SGD : public OptimizerWithOptions<SGD, SGDOptions> {
 public:
  explicit SGD(std::vector<Tensor> params, const SGDOptions& options = {});
  // Parameter groups (optimizer.h); `options` are the defaults of groups without their own.
  explicit SGD(std::vector<OptimizerParamGroup> groups, const SGDOptions& options = {});
  void step() override;
  std::string name() const override { return "SGD"; }

  SGDOptions options;

 private:
  friend OptimizerWithOptions;  // reads the two below (optimizer.h)
  static Hyperparameters values_of(const SGDOptions& o);
  static SGDOptions options_from(const HyperparameterLookup& value, const SGDOptions& current);
};

}  // namespace cake::optim
