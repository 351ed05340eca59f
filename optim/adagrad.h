// adagrad.h: Adagrad (Duchi, Hazan & Singer 2011), exactly as torch.optim.Adagrad.
//
//   cake::optim::Adagrad opt(net->parameters(), {.lr = 1e-2, .initial_accumulator_value = 0.1});
#pragma once

#include "cake/nn/options.h"
#include "cake/optim/optimizer.h"

namespace cake::optim {

struct AdagradOptions {
  using Self = AdagradOptions;
  CAKE_ARG(double, lr) = 1e-2;
  CAKE_ARG(double, lr_decay) = 0.0;
  CAKE_ARG(double, weight_decay) = 0.0;
  CAKE_ARG(double, initial_accumulator_value) = 0.0;
  CAKE_ARG(double, eps) = 1e-10;
};

// Per step t (from 1), with s = "sum", the running sum of squared gradients:
//   g <- g + weight_decay * p
//   lr_t = lr / (1 + (t - 1) lr_decay)
//   s <- s + g^2
//   p <- p - lr_t g / (sqrt(s) + eps)
// Each coordinate's step shrinks with its own gradient history.
class Adagrad : public OptimizerWithOptions<Adagrad, AdagradOptions> {
 public:
  explicit Adagrad(std::vector<Tensor> params, const AdagradOptions& options = {});
  // Parameter groups (optimizer.h); `options` are the defaults of groups without their own.
  explicit Adagrad(std::vector<OptimizerParamGroup> groups, const AdagradOptions& options = {});
  void step() override;
  std::string name() const override { return "Adagrad"; }

  AdagradOptions options;

 private:
  friend OptimizerWithOptions;  // reads the two below (optimizer.h)
  static Hyperparameters values_of(const AdagradOptions& o);
  static AdagradOptions options_from(const HyperparameterLookup& value, const AdagradOptions& current);
};

}  // namespace cake::optim
