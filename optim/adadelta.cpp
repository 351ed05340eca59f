// adadelta.cpp: torch.optim.Adadelta's update (its single-tensor form), written with in-place
// tensor ops in PyTorch's order.
#include "cake/optim/adadelta.h"

#include "cake/autograd/grad_mode.h"
#include "cake/optim/detail/adam_family.h"
#include "cake/tensor/creation.h"

namespace cake::optim {

static void check_options(const AdadeltaOptions& o) {
  CAKE_CHECK(o.lr() >= 0.0, "Adadelta: lr must be non-negative, got ", o.lr());
  CAKE_CHECK(o.rho() >= 0.0 && o.rho() <= 1.0, "Adadelta: rho must lie in [0, 1], got ", o.rho());
  CAKE_CHECK(o.eps() >= 0.0, "Adadelta: eps must be non-negative, got ", o.eps());
  CAKE_CHECK(o.weight_decay() >= 0.0, "Adadelta: weight_decay must be non-negative, got ", o.weight_decay());
}

Adadelta::Adadelta(std::vector<Tensor> params, const AdadeltaOptions& options)
    : OptimizerWithOptions(std::move(params)), options(options) {
  check_options(options);
}

Adadelta::Adadelta(std::vector<OptimizerParamGroup> groups, const AdadeltaOptions& options)
    : OptimizerWithOptions(std::move(groups)), options(options) {
  give_groups_options(options);
  for (std::size_t g = 0; g < param_groups().size(); ++g) check_options(group_options(g, options));
}

void Adadelta::step() {
  NoGradGuard no_grad;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    const AdadeltaOptions& o = group_options(group_of(i), options);
    Tensor& p = params_[i];
    if (!p.grad().defined()) continue;
    ParamState& state = state_[i];
    Tensor& square_avg = state.tensors["square_avg"];
    Tensor& acc_delta = state.tensors["acc_delta"];
    if (!square_avg.defined()) {
      square_avg = zeros_like(p);
      acc_delta = zeros_like(p);
    }
    ++state.step;
    const double rho = o.rho();
    const Tensor grad = detail::with_l2_decay(p.grad(), p, o.weight_decay);
    square_avg.mul_(rho).add_(grad * grad, 1.0 - rho);                     // E[g^2]
    const Tensor rms_grad = (square_avg + o.eps()).sqrt();                  // RMS[g]_t
    const Tensor delta = (acc_delta + o.eps()).sqrt().div_(rms_grad).mul_(grad);  // RMS[dx]_{t-1} / RMS[g]_t * g
    acc_delta.mul_(rho).add_(delta * delta, 1.0 - rho);                    // E[dx^2]
    p.add_(delta, -o.lr());
  }
}

// The options as name/value pairs (state dicts), and back.
Hyperparameters Adadelta::values_of(const AdadeltaOptions& o) {
  return {{"lr", o.lr}, {"rho", o.rho}, {"eps", o.eps}, {"weight_decay", o.weight_decay}};
}

AdadeltaOptions Adadelta::options_from(const HyperparameterLookup& value, const AdadeltaOptions& /*current*/) {
  const AdadeltaOptions o{
      .lr = value("lr"), .rho = value("rho"), .eps = value("eps"), .weight_decay = value("weight_decay")};
  check_options(o);
  return o;
}

}  // namespace cake::optim
