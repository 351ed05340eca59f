// radam.cpp: torch.optim.RAdam's update (its single-tensor form), written with in-place tensor
// ops; the moments, bias corrections and weight decay are the Adam family's
// (optim/detail/adam_family.h).
#include "cake/optim/radam.h"

#include <cmath>
#include <optional>

#include "cake/autograd/grad_mode.h"
#include "cake/optim/detail/adam_family.h"
#include "cake/tensor/creation.h"

namespace cake::optim {

static void check_options(const RAdamOptions& o) {
  detail::check_adam_family_options("RAdam", o.lr, o.betas().first, o.betas().second, o.eps, o.weight_decay);
}

RAdam::RAdam(std::vector<Tensor> params, const RAdamOptions& options)
    : OptimizerWithOptions(std::move(params)), options(options) {
  check_options(options);
}

RAdam::RAdam(std::vector<OptimizerParamGroup> groups, const RAdamOptions& options)
    : OptimizerWithOptions(std::move(groups)), options(options) {
  give_groups_options(options);
  for (std::size_t g = 0; g < param_groups().size(); ++g) check_options(group_options(g, options));
}

// The variance rectification r_t, or nothing while rho_t <= 5 (too few samples for the variance
// of the adaptive step to be tractable: take the un-adapted step).
static std::optional<double> rectification(double beta2, double t, double bias_correction2) {
  const double rho_inf = 2 / (1 - beta2) - 1;  // the longest average v can stand for
  const double rho_t = rho_inf - 2 * t * std::pow(beta2, t) / bias_correction2;
  if (!(rho_t > 5.)) return std::nullopt;
  return std::sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t));
}

void RAdam::step() {
  NoGradGuard no_grad;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    const RAdamOptions& o = group_options(group_of(i), options);
    Tensor& p = params_[i];
    if (!p.grad().defined()) continue;
    ParamState& state = state_[i];
    Tensor& exp_avg = state.tensors["exp_avg"];
    Tensor& exp_avg_sq = state.tensors["exp_avg_sq"];
    if (!exp_avg.defined()) {
      exp_avg = zeros_like(p);
      exp_avg_sq = zeros_like(p);
    }
    const auto t = static_cast<double>(++state.step);
    const auto [beta1, beta2] = o.betas();
    const double bias_correction2 = detail::bias_correction(beta2, t);
    const Tensor grad = detail::with_l2_decay(p.grad(), p, o.weight_decay);
    detail::update_first_moment(exp_avg, grad, beta1);
    detail::update_second_moment(exp_avg_sq, grad, beta2);

    const Tensor bias_corrected_exp_avg = exp_avg / detail::bias_correction(beta1, t);
    if (const std::optional<double> rect = rectification(beta2, t, bias_correction2)) {
      const Tensor adaptive_lr = std::sqrt(bias_correction2) / exp_avg_sq.sqrt().add_(o.eps());
      p.sub_(bias_corrected_exp_avg * o.lr() * adaptive_lr * *rect);
    } else {
      p.sub_(bias_corrected_exp_avg * o.lr());
    }
  }
}

// The options as name/value pairs (state dicts), and back.
Hyperparameters RAdam::values_of(const RAdamOptions& o) {
  return {{"lr", o.lr}, {"beta1", o.betas().first}, {"beta2", o.betas().second}, {"eps", o.eps},
          {"weight_decay", o.weight_decay}};
}

RAdamOptions RAdam::options_from(const HyperparameterLookup& value, const RAdamOptions& /*current*/) {
  const RAdamOptions o{.lr = value("lr"),
                       .betas = {value("beta1"), value("beta2")},
                       .eps = value("eps"),
                       .weight_decay = value("weight_decay")};
  check_options(o);
  return o;
}

}  // namespace cake::optim
