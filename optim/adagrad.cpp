// adagrad.cpp: torch.optim.Adagrad's update, written with in-place tensor ops.
#include "cake/optim/adagrad.h"

#include "cake/autograd/grad_mode.h"
#include "cake/tensor/creation.h"

namespace cake::optim {

static void check_options(const AdagradOptions& o) {
  CAKE_CHECK(o.lr() >= 0.0, "Adagrad: lr must be non-negative, got ", o.lr());
  CAKE_CHECK(o.lr_decay() >= 0.0, "Adagrad: lr_decay must be non-negative, got ", o.lr_decay());
  CAKE_CHECK(o.weight_decay() >= 0.0, "Adagrad: weight_decay must be non-negative, got ", o.weight_decay());
  CAKE_CHECK(o.initial_accumulator_value() >= 0.0, "Adagrad: initial_accumulator_value must be non-negative, got ",
             o.initial_accumulator_value());
  CAKE_CHECK(o.eps() >= 0.0, "Adagrad: eps must be non-negative, got ", o.eps());
}

// As in PyTorch, the accumulator exists from construction, filled with its initial value.
Adagrad::Adagrad(std::vector<Tensor> params, const AdagradOptions& options)
    : OptimizerWithOptions(std::move(params)), options(options) {
  check_options(options);
  for (std::size_t i = 0; i < params_.size(); ++i)
    state_[i].tensors["sum"] = full_like(params_[i].detach(), options.initial_accumulator_value());
}

Adagrad::Adagrad(std::vector<OptimizerParamGroup> groups, const AdagradOptions& options)
    : OptimizerWithOptions(std::move(groups)), options(options) {
  give_groups_options(options);
  for (std::size_t i = 0; i < params_.size(); ++i) {
    const AdagradOptions& o = group_options(group_of(i), options);
    check_options(o);
    state_[i].tensors["sum"] = full_like(params_[i].detach(), o.initial_accumulator_value());
  }
}

void Adagrad::step() {
  NoGradGuard no_grad;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    const AdagradOptions& o = group_options(group_of(i), options);
    Tensor& p = params_[i];
    if (!p.grad().defined()) continue;
    ParamState& state = state_[i];
    const auto t = static_cast<double>(++state.step);
    const Tensor grad = o.weight_decay() != 0.0 ? p.grad() + p * o.weight_decay() : p.grad();
    const double clr = o.lr() / (1.0 + (t - 1.0) * o.lr_decay());
    Tensor& sum = state.tensors["sum"];
    if (!sum.defined()) sum = full_like(p.detach(), o.initial_accumulator_value());  // a group added later
    sum.add_(grad * grad);
    Tensor denom = sum.sqrt();
    denom.add_(o.eps());
    p.add_(grad / denom, -clr);
  }
}

// The options as name/value pairs (state dicts), and back.
Hyperparameters Adagrad::values_of(const AdagradOptions& o) {
  return {{"lr", o.lr()},
          {"lr_decay", o.lr_decay()},
          {"weight_decay", o.weight_decay()},
          {"initial_accumulator_value", o.initial_accumulator_value()},
          {"eps", o.eps()}};
}

AdagradOptions Adagrad::options_from(const HyperparameterLookup& value, const AdagradOptions& /*current*/) {
  const AdagradOptions o{.lr = value("lr"),
                         .lr_decay = value("lr_decay"),
                         .weight_decay = value("weight_decay"),
                         .initial_accumulator_value = value("initial_accumulator_value"),
                         .eps = value("eps")};
  check_options(o);
  return o;
}

}  // namespace cake::optim
