// adagrad.cpp: torch.optim.Adagrad's update, written with in-place tensor ops.
#include "optim/adagrad.h"

#include "autograd/grad_mode.h"
#include "tensor/creation.h"

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
    : Optimizer(std::move(params)), options(options) {
  check_options(options);
  for (std::size_t i = 0; i < params_.size(); ++i)
    state_[i].tensors["sum"] = full_like(params_[i].detach(), options.initial_accumulator_value());
}

void Adagrad::step() {
  NoGradGuard no_grad;
  const AdagradOptions& o = options;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    Tensor& p = params_[i];
    if (!p.grad().defined()) continue;
    ParamState& state = state_[i];
    const auto t = static_cast<double>(++state.step);
    const Tensor grad = o.weight_decay() != 0.0 ? p.grad() + p * o.weight_decay() : p.grad();
    const double clr = o.lr() / (1.0 + (t - 1.0) * o.lr_decay());
    Tensor& sum = state.tensors["sum"];
    sum.add_(grad * grad);
    Tensor denom = sum.sqrt();
    denom.add_(o.eps());
    p.add_(grad / denom, -clr);
  }
}

std::vector<std::pair<std::string, double>> Adagrad::hyperparameters() const {
  return {{"lr", options.lr()},
          {"lr_decay", options.lr_decay()},
          {"weight_decay", options.weight_decay()},
          {"initial_accumulator_value", options.initial_accumulator_value()},
          {"eps", options.eps()}};
}

void Adagrad::set_hyperparameters(const std::map<std::string, double>& values) {
  AdagradOptions o{.lr = hyperparameter(values, "lr"),
                   .lr_decay = hyperparameter(values, "lr_decay"),
                   .weight_decay = hyperparameter(values, "weight_decay"),
                   .initial_accumulator_value = hyperparameter(values, "initial_accumulator_value"),
                   .eps = hyperparameter(values, "eps")};
  check_options(o);
  options = o;
}

}  // namespace cake::optim
