// adadelta.h: Adadelta (Zeiler 2012, "ADADELTA: An Adaptive Learning Rate Method", Algorithm
// 1), exactly as torch.optim.Adadelta.
//
//   cake::optim::Adadelta opt(net->parameters(), cake::optim::AdadeltaOptions(1.0).rho(0.9).eps(1e-6));
#pragma once

#include "cake/nn/options.h"
#include "cake/optim/optimizer.h"

namespace cake::optim {

struct AdadeltaOptions {
  using Self = AdadeltaOptions;
  CAKE_ARG(double, lr) = 1.0;  // Zeiler's method has none; PyTorch scales the step by it
  CAKE_ARG(double, rho) = 0.9;   // decay of both running averages
  CAKE_ARG(double, eps) = 1e-6;
  CAKE_ARG(double, weight_decay) = 0.0;  // L2: added to the gradient
};

// Per step, with E[g^2] = "square_avg", E[dx^2] = "acc_delta":
//   g <- g + weight_decay * p
//   E[g^2] <- rho E[g^2] + (1 - rho) g^2
//   dx = sqrt(E[dx^2] + eps) / sqrt(E[g^2] + eps) * g       (eq. 14: RMS[dx]_{t-1} / RMS[g]_t)
//   E[dx^2] <- rho E[dx^2] + (1 - rho) dx^2
//   p <- p - lr dx
// The ratio of the two RMS values gives the step the units of p (section 3.2), so no global
// learning rate is needed; eps starts the first steps off zero.
class Adadelta : public OptimizerWithOptions<Adadelta, AdadeltaOptions> {
 public:
  explicit Adadelta(std::vector<Tensor> params, const AdadeltaOptions& options = {});
  // Parameter groups (optimizer.h); `options` are the defaults of groups without their own.
  explicit Adadelta(std::vector<OptimizerParamGroup> groups, const AdadeltaOptions& options = {});
  void step() override;
  std::string name() const override { return "Adadelta"; }

  AdadeltaOptions options;

 private:
  friend OptimizerWithOptions;  // reads the two below (optimizer.h)
  static Hyperparameters values_of(const AdadeltaOptions& o);
  static AdadeltaOptions options_from(const HyperparameterLookup& value, const AdadeltaOptions& current);
};

}  // namespace cake::optim
