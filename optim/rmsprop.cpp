// rmsprop.cpp: torch.optim.RMSprop's update, written with in-place tensor ops.
#include "optim/rmsprop.h"

#include "autograd/grad_mode.h"
#include "tensor/creation.h"

namespace cake::optim {

static void check_options(const RMSpropOptions& o) {
  CAKE_CHECK(o.lr() >= 0.0, "RMSprop: lr must be non-negative, got ", o.lr());
  CAKE_CHECK(o.alpha() >= 0.0, "RMSprop: alpha must be non-negative, got ", o.alpha());
  CAKE_CHECK(o.eps() >= 0.0, "RMSprop: eps must be non-negative, got ", o.eps());
  CAKE_CHECK(o.momentum() >= 0.0, "RMSprop: momentum must be non-negative, got ", o.momentum());
  CAKE_CHECK(o.weight_decay() >= 0.0, "RMSprop: weight_decay must be non-negative, got ", o.weight_decay());
}

RMSprop::RMSprop(std::vector<Tensor> params, const RMSpropOptions& options)
    : Optimizer(std::move(params)), options(options) {
  check_options(options);
}

void RMSprop::step() {
  NoGradGuard no_grad;
  const RMSpropOptions& o = options;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    Tensor& p = params_[i];
    if (!p.grad().defined()) continue;
    ParamState& state = state_[i];
    Tensor& square_avg = state.tensors["square_avg"];
    if (!square_avg.defined()) {
      square_avg = zeros_like(p);
      if (o.momentum() > 0.0) state.tensors["momentum_buffer"] = zeros_like(p);
      if (o.centered()) state.tensors["grad_avg"] = zeros_like(p);
    }
    ++state.step;
    const Tensor grad = o.weight_decay() != 0.0 ? p.grad() + p * o.weight_decay() : p.grad();
    square_avg.mul_(o.alpha()).add_(grad * grad, 1.0 - o.alpha());
    Tensor avg;
    if (o.centered()) {
      Tensor& grad_avg = state.tensors["grad_avg"];
      grad_avg.mul_(o.alpha()).add_(grad, 1.0 - o.alpha());
      avg = (square_avg - grad_avg * grad_avg).sqrt();
    } else {
      avg = square_avg.sqrt();
    }
    avg.add_(o.eps());
    if (o.momentum() > 0.0) {
      Tensor& buffer = state.tensors["momentum_buffer"];
      buffer.mul_(o.momentum()).add_(grad / avg);
      p.add_(buffer, -o.lr());
    } else {
      p.add_(grad / avg, -o.lr());
    }
  }
}

std::vector<std::pair<std::string, double>> RMSprop::hyperparameters() const {
  return {{"lr", options.lr()},
          {"alpha", options.alpha()},
          {"eps", options.eps()},
          {"weight_decay", options.weight_decay()},
          {"momentum", options.momentum()},
          {"centered", options.centered() ? 1.0 : 0.0}};
}

void RMSprop::set_hyperparameters(const std::map<std::string, double>& values) {
  RMSpropOptions o{.lr = hyperparameter(values, "lr"),
                   .alpha = hyperparameter(values, "alpha"),
                   .eps = hyperparameter(values, "eps"),
                   .weight_decay = hyperparameter(values, "weight_decay"),
                   .momentum = hyperparameter(values, "momentum"),
                   .centered = hyperparameter(values, "centered") != 0.0};
  check_options(o);
  options = o;
}

}  // namespace cake::optim
