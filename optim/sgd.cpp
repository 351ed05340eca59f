// sgd.cpp: torch.optim.SGD's update: the single-pass kernel of optim/fused.h where it applies,
// else the reference written with in-place tensor ops.
#include "cake/optim/sgd.h"

#include "cake/autograd/grad_mode.h"
#include "cake/cuda/device_api.h"
#include "cake/optim/fused.h"
#include "cake/tensor/creation.h"

namespace cake::optim {

static void check_options(const SGDOptions& o) {
  CAKE_CHECK(o.lr() >= 0.0, "SGD: lr must be non-negative, got ", o.lr());
  CAKE_CHECK(o.momentum() >= 0.0, "SGD: momentum must be non-negative, got ", o.momentum());
  CAKE_CHECK(o.weight_decay() >= 0.0, "SGD: weight_decay must be non-negative, got ", o.weight_decay());
  CAKE_CHECK(!o.nesterov() || (o.momentum() > 0.0 && o.dampening() == 0.0),
             "SGD: Nesterov momentum needs momentum > 0 and dampening = 0, got momentum ", o.momentum(), ", dampening ",
             o.dampening());
}

SGD::SGD(std::vector<Tensor> params, const SGDOptions& options)
    : OptimizerWithOptions(std::move(params)), options(options) {
  check_options(options);
}

SGD::SGD(std::vector<OptimizerParamGroup> groups, const SGDOptions& options)
    : OptimizerWithOptions(std::move(groups)), options(options) {
  give_groups_options(options);
  for (std::size_t g = 0; g < param_groups().size(); ++g) check_options(group_options(g, options));
}

void SGD::step() {
  NoGradGuard no_grad;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    const SGDOptions& o = group_options(group_of(i), options);
    Tensor& p = params_[i];
    if (!p.grad().defined()) continue;
    ParamState& state = state_[i];
    ++state.step;
    const bool first_step = o.momentum() != 0.0 && !state.tensors.count("momentum_buffer");
    // A first step captured into a CUDA graph would be replayed as a first step every time (the
    // buffer set to the gradient, momentum lost): it must be taken eagerly (warm-up).
    CAKE_CHECK(!first_step || cuda::capturing_stream() == nullptr, "SGD: parameter ", i,
               "'s momentum buffer would be created inside a CUDA graph capture, where every replay would take a "
               "first step again; take a step eagerly before capturing (warm-up)");
    if (o.fused() && fused::applicable(fused::sgd_stub, p, {&p.grad()})) {
      Tensor buffer;
      if (o.momentum() != 0.0) {
        if (first_step) state.tensors["momentum_buffer"] = empty_like(p);  // the kernel sets it to g
        buffer = state.tensors["momentum_buffer"];
      }
      if (fused::applicable(fused::sgd_stub, p, {&buffer})) {
        fused::sgd_stub(p.device(), p, p.grad(), buffer,
                        fused::SGDStep{.lr = o.lr(), .momentum = o.momentum(), .dampening = o.dampening(),
                                       .weight_decay = o.weight_decay(), .nesterov = o.nesterov(), .first_step = first_step});
        p.bump_version();
        continue;
      }
    }
    // The reference: the algorithm of sgd.h, one tensor op per line.
    Tensor d_p = p.grad();
    if (o.weight_decay() != 0.0) d_p = d_p + p * o.weight_decay();
    if (o.momentum() != 0.0) {
      Tensor& buffer = state.tensors["momentum_buffer"];
      if (first_step) buffer = d_p.clone();  // no dampening on the first step
      else buffer.mul_(o.momentum()).add_(d_p, 1.0 - o.dampening());
      d_p = o.nesterov() ? d_p + buffer * o.momentum() : buffer;
    }
    p.add_(d_p, -o.lr());
  }
}

// The options as name/value pairs (state dicts), and back; `fused` is not saved.
Hyperparameters SGD::values_of(const SGDOptions& o) {
  return {{"lr", o.lr()},
          {"momentum", o.momentum()},
          {"dampening", o.dampening()},
          {"weight_decay", o.weight_decay()},
          {"nesterov", o.nesterov() ? 1.0 : 0.0}};
}

SGDOptions SGD::options_from(const HyperparameterLookup& value, const SGDOptions& current) {
  const SGDOptions o{.lr = value("lr"),
                     .momentum = value("momentum"),
                     .dampening = value("dampening"),
                     .weight_decay = value("weight_decay"),
                     .nesterov = value("nesterov") != 0.0,
                     .fused = current.fused()};
  check_options(o);
  return o;
}

}  // namespace cake::optim
