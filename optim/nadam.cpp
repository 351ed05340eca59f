// nadam.cpp: NAdam's update as Dozat's Algorithm 2 and PyTorch's foreach form (see the NOTE in
// nadam.h), written with in-place tensor ops; the moments, bias correction and weight decay are
// the Adam family's (optim/detail/adam_family.h).
#include "cake/optim/nadam.h"

#include <cmath>

#include "cake/autograd/grad_mode.h"
#include "cake/optim/detail/adam_family.h"
#include "cake/tensor/creation.h"

namespace cake::optim {

static void check_options(const NAdamOptions& o) {
  detail::check_adam_family_options("NAdam", o.lr, o.betas().first, o.betas().second, o.eps, o.weight_decay);
  CAKE_CHECK(o.momentum_decay() >= 0.0, "NAdam: momentum_decay must be non-negative, got ", o.momentum_decay());
}

NAdam::NAdam(std::vector<Tensor> params, const NAdamOptions& options)
    : OptimizerWithOptions(std::move(params)), options(options) {
  check_options(options);
}

NAdam::NAdam(std::vector<OptimizerParamGroup> groups, const NAdamOptions& options)
    : OptimizerWithOptions(std::move(groups)), options(options) {
  give_groups_options(options);
  for (std::size_t g = 0; g < param_groups().size(); ++g) check_options(group_options(g, options));
}

// Dozat's momentum schedule mu_t = beta1 (1 - 0.5 * 0.96^(t psi)) (PyTorch's form of it): the
// momentum warms up from beta1 / 2 towards beta1 as t grows.
static double momentum_at(double beta1, double momentum_decay, double t) {
  return beta1 * (1. - 0.5 * std::pow(0.96, t * momentum_decay));
}

void NAdam::step() {
  NoGradGuard no_grad;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    const NAdamOptions& o = group_options(group_of(i), options);
    Tensor& p = params_[i];
    if (!p.grad().defined()) continue;
    ParamState& state = state_[i];
    Tensor& exp_avg = state.tensors["exp_avg"];
    Tensor& exp_avg_sq = state.tensors["exp_avg_sq"];
    if (!exp_avg.defined()) {
      exp_avg = zeros_like(p);
      exp_avg_sq = zeros_like(p);
      state.scalars["mu_product"] = 1.0;
    }
    const auto t = static_cast<double>(++state.step);
    const auto [beta1, beta2] = o.betas();
    const double mu = momentum_at(beta1, o.momentum_decay(), t);
    const double mu_next = momentum_at(beta1, o.momentum_decay(), t + 1);
    double& mu_product = state.scalars["mu_product"];
    mu_product *= mu;

    const Tensor grad = detail::with_l2_decay(p.grad(), p, o.weight_decay);
    detail::update_first_moment(exp_avg, grad, beta1);
    detail::update_second_moment(exp_avg_sq, grad, beta2);
    Tensor denom = exp_avg_sq.sqrt();
    denom.div_(std::sqrt(detail::bias_correction(beta2, t))).add_(o.eps());
    p.add_(grad / denom, -o.lr() * (1. - mu) / (1. - mu_product));                  // the gradient's share
    p.add_(exp_avg / denom, -o.lr() * mu_next / (1. - mu_product * mu_next));  // momentum, one step ahead
  }
}

// The options as name/value pairs (state dicts), and back.
Hyperparameters NAdam::values_of(const NAdamOptions& o) {
  return {{"lr", o.lr},   {"beta1", o.betas().first},        {"beta2", o.betas().second},
          {"eps", o.eps}, {"weight_decay", o.weight_decay}, {"momentum_decay", o.momentum_decay}};
}

NAdamOptions NAdam::options_from(const HyperparameterLookup& value, const NAdamOptions& /*current*/) {
  const NAdamOptions o{.lr = value("lr"),
                       .betas = {value("beta1"), value("beta2")},
                       .eps = value("eps"),
                       .weight_decay = value("weight_decay"),
                       .momentum_decay = value("momentum_decay")};
  check_options(o);
  return o;
}

}  // namespace cake::optim
