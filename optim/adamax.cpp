// adamax.cpp: torch.optim.Adamax's update (its single-tensor form), written with in-place
// tensor ops; the moment, bias correction and weight decay are the Adam family's
// (optim/detail/adam_family.h).
#include "cake/optim/adamax.h"

#include "cake/autograd/grad_mode.h"
#include "cake/autograd/ops.h"
#include "cake/optim/detail/adam_family.h"
#include "cake/tensor/creation.h"

namespace cake::optim {

static void check_options(const AdamaxOptions& o) {
  detail::check_adam_family_options("Adamax", o.lr, o.betas().first, o.betas().second, o.eps, o.weight_decay);
}

Adamax::Adamax(std::vector<Tensor> params, const AdamaxOptions& options)
    : OptimizerWithOptions(std::move(params)), options(options) {
  check_options(options);
}

Adamax::Adamax(std::vector<OptimizerParamGroup> groups, const AdamaxOptions& options)
    : OptimizerWithOptions(std::move(groups)), options(options) {
  give_groups_options(options);
  for (std::size_t g = 0; g < param_groups().size(); ++g) check_options(group_options(g, options));
}

void Adamax::step() {
  NoGradGuard no_grad;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    const AdamaxOptions& o = group_options(group_of(i), options);
    Tensor& p = params_[i];
    if (!p.grad().defined()) continue;
    ParamState& state = state_[i];
    Tensor& exp_avg = state.tensors["exp_avg"];
    Tensor& exp_inf = state.tensors["exp_inf"];
    if (!exp_avg.defined()) {
      exp_avg = zeros_like(p);
      exp_inf = zeros_like(p);
    }
    const auto t = static_cast<double>(++state.step);
    const auto [beta1, beta2] = o.betas();
    const Tensor grad = detail::with_l2_decay(p.grad(), p, o.weight_decay);
    detail::update_first_moment(exp_avg, grad, beta1);
    exp_inf.copy_(maximum(exp_inf.mul_(beta2), grad.abs().add_(o.eps())));
    p.add_(exp_avg / exp_inf, -o.lr() / detail::bias_correction(beta1, t));
  }
}

// The options as name/value pairs (state dicts), and back.
Hyperparameters Adamax::values_of(const AdamaxOptions& o) {
  return {{"lr", o.lr}, {"beta1", o.betas().first}, {"beta2", o.betas().second}, {"eps", o.eps},
          {"weight_decay", o.weight_decay}};
}

AdamaxOptions Adamax::options_from(const HyperparameterLookup& value, const AdamaxOptions& /*current*/) {
  const AdamaxOptions o{.lr = value("lr"),
                        .betas = {value("beta1"), value("beta2")},
                        .eps = value("eps"),
                        .weight_decay = value("weight_decay")};
  check_options(o);
  return o;
}

}  // namespace cake::optim
