// adam.cpp: torch.optim.Adam's and AdamW's updates (the single-tensor form of PyTorch's
// adam.py), written with in-place tensor ops.
#include "optim/adam.h"

#include <cmath>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "tensor/creation.h"

namespace cake::optim {

namespace {

struct AdamSettings {
  double lr, beta1, beta2, eps, weight_decay;
  bool amsgrad;
};

void check_settings(const char* optimizer, const AdamSettings& s) {
  CAKE_CHECK(s.lr >= 0.0, optimizer, ": lr must be non-negative, got ", s.lr);
  CAKE_CHECK(s.beta1 >= 0.0 && s.beta1 < 1.0 && s.beta2 >= 0.0 && s.beta2 < 1.0, optimizer,
             ": betas must lie in [0, 1), got (", s.beta1, ", ", s.beta2, ")");
  CAKE_CHECK(s.eps >= 0.0, optimizer, ": eps must be non-negative, got ", s.eps);
  CAKE_CHECK(s.weight_decay >= 0.0, optimizer, ": weight_decay must be non-negative, got ", s.weight_decay);
}

// One Adam update of p from gradient `grad` (weight decay already applied as the caller wants).
void adam_update(Tensor& p, const Tensor& grad, ParamState& state, const AdamSettings& s) {
  Tensor& exp_avg = state.tensors["exp_avg"];
  Tensor& exp_avg_sq = state.tensors["exp_avg_sq"];
  if (!exp_avg.defined()) {
    exp_avg = zeros_like(p);
    exp_avg_sq = zeros_like(p);
  }
  const auto t = static_cast<double>(++state.step);
  exp_avg.mul_(s.beta1).add_(grad, 1.0 - s.beta1);
  exp_avg_sq.mul_(s.beta2).add_(grad * grad, 1.0 - s.beta2);
  const double bias_correction1 = 1.0 - std::pow(s.beta1, t);
  const double bias_correction2_sqrt = std::sqrt(1.0 - std::pow(s.beta2, t));
  const double step_size = s.lr / bias_correction1;
  Tensor second_moment = exp_avg_sq;
  if (s.amsgrad) {
    Tensor& max_exp_avg_sq = state.tensors["max_exp_avg_sq"];
    if (!max_exp_avg_sq.defined()) max_exp_avg_sq = zeros_like(p);
    max_exp_avg_sq.copy_(maximum(max_exp_avg_sq, exp_avg_sq));
    second_moment = max_exp_avg_sq;
  }
  Tensor denom = second_moment.sqrt();
  denom.div_(bias_correction2_sqrt).add_(s.eps);
  p.add_(exp_avg / denom, -step_size);
}

}  // namespace

// ---- Adam ------------------------------------------------------------------------------------

static AdamSettings settings_of(const AdamOptions& o) {
  return {o.lr, o.betas.first, o.betas.second, o.eps, o.weight_decay, o.amsgrad};
}

Adam::Adam(std::vector<Tensor> params, const AdamOptions& options) : Optimizer(std::move(params)), options(options) {
  check_settings("Adam", settings_of(options));
}

void Adam::step() {
  NoGradGuard no_grad;
  const AdamSettings s = settings_of(options);
  for (std::size_t i = 0; i < params_.size(); ++i) {
    Tensor& p = params_[i];
    if (!p.grad().defined()) continue;
    const Tensor grad = s.weight_decay != 0.0 ? p.grad() + p * s.weight_decay : p.grad();
    adam_update(p, grad, state_[i], s);
  }
}

std::vector<std::pair<std::string, double>> Adam::hyperparameters() const {
  return {{"lr", options.lr},       {"beta1", options.betas.first},         {"beta2", options.betas.second},
          {"eps", options.eps},     {"weight_decay", options.weight_decay}, {"amsgrad", options.amsgrad ? 1.0 : 0.0}};
}

void Adam::set_hyperparameters(const std::map<std::string, double>& values) {
  AdamOptions o{.lr = hyperparameter(values, "lr"),
                .betas = {hyperparameter(values, "beta1"), hyperparameter(values, "beta2")},
                .eps = hyperparameter(values, "eps"),
                .weight_decay = hyperparameter(values, "weight_decay"),
                .amsgrad = hyperparameter(values, "amsgrad") != 0.0};
  check_settings("Adam", settings_of(o));
  options = o;
}

// ---- AdamW -----------------------------------------------------------------------------------

static AdamSettings settings_of(const AdamWOptions& o) {
  return {o.lr, o.betas.first, o.betas.second, o.eps, o.weight_decay, o.amsgrad};
}

AdamW::AdamW(std::vector<Tensor> params, const AdamWOptions& options)
    : Optimizer(std::move(params)), options(options) {
  check_settings("AdamW", settings_of(options));
}

void AdamW::step() {
  NoGradGuard no_grad;
  const AdamSettings s = settings_of(options);
  for (std::size_t i = 0; i < params_.size(); ++i) {
    Tensor& p = params_[i];
    if (!p.grad().defined()) continue;
    if (s.weight_decay != 0.0) p.mul_(1.0 - s.lr * s.weight_decay);  // decoupled decay
    adam_update(p, p.grad(), state_[i], s);
  }
}

std::vector<std::pair<std::string, double>> AdamW::hyperparameters() const {
  return {{"lr", options.lr},       {"beta1", options.betas.first},         {"beta2", options.betas.second},
          {"eps", options.eps},     {"weight_decay", options.weight_decay}, {"amsgrad", options.amsgrad ? 1.0 : 0.0}};
}

void AdamW::set_hyperparameters(const std::map<std::string, double>& values) {
  AdamWOptions o{.lr = hyperparameter(values, "lr"),
                 .betas = {hyperparameter(values, "beta1"), hyperparameter(values, "beta2")},
                 .eps = hyperparameter(values, "eps"),
                 .weight_decay = hyperparameter(values, "weight_decay"),
                 .amsgrad = hyperparameter(values, "amsgrad") != 0.0};
  check_settings("AdamW", settings_of(o));
  options = o;
}

}  // namespace cake::optim
