// adam.h: Adam (Kingma & Ba 2015) and AdamW (Loshchilov & Hutter 2019), exactly as
// torch.optim.Adam / AdamW, AMSGrad variant (Reddi et al. 2018) included.
//
//   cake::optim::Adam adam(net->parameters(), {.lr = 1e-3, .weight_decay = 1e-5});
//   cake::optim::AdamW adamw(net->parameters(), {.lr = 1e-3, .weight_decay = 1e-2});
#pragma once

#include <utility>

#include "cake/nn/options.h"
#include "cake/optim/optimizer.h"

namespace cake::optim {

struct AdamOptions {
  using Self = AdamOptions;
  using Betas = std::pair<double, double>;
  CAKE_ARG(double, lr) = 1e-3;
  CAKE_ARG(Betas, betas) = {0.9, 0.999};
  CAKE_ARG(double, eps) = 1e-8;
  CAKE_ARG(double, weight_decay) = 0.0;  // L2: added to the gradient
  CAKE_ARG(bool, amsgrad) = false;
  // Run the single-pass kernel where one applies (optim/fused.h); results are identical.
  CAKE_ARG(bool, fused) = true;
  // For CUDA graphs (cuda/graph.h), as PyTorch's Adam(capturable=True): the step count lives on
  // the device ("step" in the state, float64) and is advanced by a kernel, the bias corrections
  // are computed from it by the kernel, and the learning rate is read from a device tensor. So a
  // replayed step advances exactly as an eager one. The device lr is refreshed from the host's
  // lr at every step() outside a capture and by sync_device_lr(); a graph replaying the step
  // uses the lr of the last refresh (the Trainer calls sync_device_lr() before each replay, so
  // schedules work). Results equal the default mode's up to the last bits of pow().
  CAKE_ARG(bool, capturable) = false;
};

struct AdamWOptions {
  using Self = AdamWOptions;
  using Betas = std::pair<double, double>;
  CAKE_ARG(double, lr) = 1e-3;
  CAKE_ARG(Betas, betas) = {0.9, 0.999};
  CAKE_ARG(double, eps) = 1e-8;
  CAKE_ARG(double, weight_decay) = 1e-2;  // decoupled: shrinks the parameter directly
  CAKE_ARG(bool, amsgrad) = false;
  // Run the single-pass kernel where one applies (optim/fused.h); results are identical.
  CAKE_ARG(bool, fused) = true;
  // For CUDA graphs (cuda/graph.h), as PyTorch's Adam(capturable=True): the step count lives on
  // the device ("step" in the state, float64) and is advanced by a kernel, the bias corrections
  // are computed from it by the kernel, and the learning rate is read from a device tensor. So a
  // replayed step advances exactly as an eager one. The device lr is refreshed from the host's
  // lr at every step() outside a capture and by sync_device_lr(); a graph replaying the step
  // uses the lr of the last refresh (the Trainer calls sync_device_lr() before each replay, so
  // schedules work). Results equal the default mode's up to the last bits of pow().
  CAKE_ARG(bool, capturable) = false;
};

// Per step t (from 1), with g the gradient, m = "exp_avg", v = "exp_avg_sq":
//   g <- g + weight_decay * p                        (Adam's L2 form)
//   m <- beta1 m + (1 - beta1) g
//   v <- beta2 v + (1 - beta2) g^2
//   v_max <- max(v_max, v)                           (AMSGrad: "max_exp_avg_sq")
//   p <- p - lr / (1 - beta1^t) * m / (sqrt(v or v_max) / sqrt(1 - beta2^t) + eps)
// The bias corrections undo the zero start of m and v (Kingma & Ba, section 3).
class Adam : public OptimizerWithOptions<Adam, AdamOptions> {
 public:
  explicit Adam(std::vector<Tensor> params, const AdamOptions& options = {});
  // Parameter groups (optimizer.h); `options` are the defaults of groups without their own.
  explicit Adam(std::vector<OptimizerParamGroup> groups, const AdamOptions& options = {});
  void step() override;
  std::string name() const override { return "Adam"; }

  AdamOptions options;

 private:
  friend OptimizerWithOptions;  // reads the two below (optimizer.h)
  static Hyperparameters values_of(const AdamOptions& o);
  static AdamOptions options_from(const HyperparameterLookup& value, const AdamOptions& current);
};

// Adam with decoupled weight decay: p <- p (1 - lr weight_decay) first, then the Adam step
// on the raw gradient. Unlike L2, the decay is not rescaled by the adaptive denominator.
class AdamW : public OptimizerWithOptions<AdamW, AdamWOptions> {
 public:
  explicit AdamW(std::vector<Tensor> params, const AdamWOptions& options = {});
  // Parameter groups (optimizer.h); `options` are the defaults of groups without their own.
  explicit AdamW(std::vector<OptimizerParamGroup> groups, const AdamWOptions& options = {});
  void step() override;
  std::string name() const override { return "AdamW"; }

  AdamWOptions options;

 private:
  friend OptimizerWithOptions;  // reads the two below (optimizer.h)
  static Hyperparameters values_of(const AdamWOptions& o);
  static AdamWOptions options_from(const HyperparameterLookup& value, const AdamWOptions& current);
};

}  // namespace cake::optim
