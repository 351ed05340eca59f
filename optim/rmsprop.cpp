// rmsprop.cpp: torch.optim.RMSprop's update, written with in-place tensor ops.
#include "cake/optim/rmsprop.h"

#include "cake/autograd/grad_mode.h"
#include "cake/tensor/creation.h"

namespace cake::optim {

static void check_options(const RMSpropOptions& o) {
  CAKE_CHECK(o.lr() >= 0.0, "RMSprop: lr must be non-negative, got ", o.lr());
  CAKE_CHECK(o.alpha() >= 0.0, "RMSprop: alpha must be non-negative, got ", o.alpha());
  CAKE_CHECK(o.eps() >= 0.0, "RMSprop: eps must be non-negative, got ", o.eps());
  CAKE_CHECK(o.momentum() >= 0.0, "RMSprop: momentum must be non-negative, got ", o.momentum());
  CAKE_CHECK(o.weight_decay() >= 0.0, "RMSprop: weight_decay must be non-negative, got ", o.weight_decay());
}

RMSprop::RMSprop(std::vector<Tensor> params, const RMSpropOptions& options)
    : OptimizerWithOptions(std::move(params)), options(options) {
  check_options(options);
}

RMSprop::RMSprop(std::vector<OptimizerParamGroup> groups, const RMSpropOptions& options)
    : OptimizerWithOptions(std::move(groups)), options(options) {
  give_groups_options(options);
  for (std::size_t g = 0; g < param_groups().size(); ++g) check_options(group_options(g, options));
}

void RMSprop::step() {
  NoGradGuard no_grad;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    const RMSpropOptions& o = group_options(group_of(i), options);
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

// The options as name/value pairs (state dicts), and back.
Hyperparameters RMSprop::values_of(const RMSpropOptions& o) {
  return {{"lr", o.lr()},
          {"alpha", o.alpha()},
          {"eps", o.eps()},
          {"weight_decay", o.weight_decay()},
          {"momentum", o.momentum()},
          {"centered", o.centered() ? 1.0 : 0.0}};
}

RMSpropOptions RMSprop::options_from(const HyperparameterLookup& value, const RMSpropOptions& /*current*/) {
  const RMSpropOptions o{.lr = value("lr"),
                         .alpha = value("alpha"),
                         .eps = value("eps"),
                         .weight_decay = value("weight_decay"),
                         .momentum = value("momentum"),
                         .centered = value("centered") != 0.0};
  check_options(o);
  return o;
}

}  // namespace cake::optim
