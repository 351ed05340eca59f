// adam.cpp: torch.optim.Adam's and AdamW's updates. adam_reference_step is the single-tensor
// form of PyTorch's adam.py written with in-place tensor ops, the reference; the fused kernel
// of optim/fused.h does the same arithmetic in one pass where it applies.
#include "cake/optim/adam.h"

#include <cmath>

#include "cake/autograd/grad_mode.h"
#include "cake/autograd/ops.h"
#include "cake/cuda/device_api.h"
#include "cake/optim/detail/adam_family.h"
#include "cake/optim/fused.h"
#include "cake/tensor/creation.h"

namespace cake::optim {

namespace {

// Adam and AdamW share everything but where the weight decay goes.
struct AdamSettings {
  double lr, beta1, beta2, eps, weight_decay;
  bool amsgrad, fused, decoupled, capturable;
};

void check_settings(const char* optimizer, const AdamSettings& s) {
  detail::check_adam_family_options(optimizer, s.lr, s.beta1, s.beta2, s.eps, s.weight_decay);
}

// The moment estimates updated in place (Kingma & Ba, Algorithm 1): m <- beta1 m + (1 - beta1) g,
// v <- beta2 v + (1 - beta2) g^2, and with AMSGrad v_max <- max(v_max, v). Returns the second
// moment the denominator uses (v, or v_max).
Tensor update_moments(ParamState& state, const Tensor& grad, const AdamSettings& s) {
  Tensor& exp_avg = state.tensors["exp_avg"];
  Tensor& exp_avg_sq = state.tensors["exp_avg_sq"];
  detail::update_first_moment(exp_avg, grad, s.beta1);
  detail::update_second_moment(exp_avg_sq, grad, s.beta2);
  if (!s.amsgrad) return exp_avg_sq;
  Tensor& max_exp_avg_sq = state.tensors["max_exp_avg_sq"];
  max_exp_avg_sq.copy_(maximum(max_exp_avg_sq, exp_avg_sq));
  return max_exp_avg_sq;
}

// The reference update, one tensor op per line of the algorithm in adam.h.
void adam_reference_step(Tensor& p, ParamState& state, const AdamSettings& s, double step_size,
                         double bias_correction2_sqrt) {
  Tensor grad = p.grad();
  if (s.decoupled) {
    if (s.weight_decay != 0.0) p.mul_(1.0 - s.lr * s.weight_decay);  // AdamW: decay the weights directly
  } else {
    grad = detail::with_l2_decay(grad, p, s.weight_decay);            // Adam: L2 through the gradient
  }
  Tensor denom = update_moments(state, grad, s).sqrt();
  const Tensor exp_avg = state.tensors["exp_avg"];
  denom.div_(bias_correction2_sqrt).add_(s.eps);
  p.add_(exp_avg / denom, -step_size);
}

// Capturable mode (adam.h): the same update with t and lr read from device tensors, so that a
// replayed CUDA graph advances it. Written with tensor ops for every device; the CUDA kernel
// does it in one pass. beta^t is exp(t log beta): no tensor pow of a scalar base is needed, and
// the rounding differs from the host's std::pow by an ulp or so of double.
void adam_capturable_reference_step(Tensor& p, ParamState& state, const AdamSettings& s, const Tensor& t,
                                    const Tensor& lr) {
  const auto power = [&t](double beta) { return beta == 0.0 ? zeros_like(t) : (t * std::log(beta)).exp(); };
  const Tensor step_size = (lr / power(s.beta1).neg().add_(1.0)).to(p.dtype());
  const Tensor bias_correction2_sqrt = power(s.beta2).neg().add_(1.0).sqrt().to(p.dtype());
  Tensor grad = p.grad();
  if (s.decoupled) {
    if (s.weight_decay != 0.0) p.mul_((lr * s.weight_decay).neg().add_(1.0).to(p.dtype()));
  } else {
    grad = detail::with_l2_decay(grad, p, s.weight_decay);
  }
  Tensor denom = update_moments(state, grad, s).sqrt();
  const Tensor exp_avg = state.tensors["exp_avg"];
  denom.div_(bias_correction2_sqrt).add_(s.eps);
  p.sub_(exp_avg / denom * step_size);
}

// State made inside a CUDA graph capture would be made by kernels that every replay runs again
// (the moments zeroed, the step count reset to its value at capture): silently wrong. Warm-up
// steps taken eagerly before the capture make it (NOTE [ CUDA graphs ] in cuda/graph.cpp).
void check_not_created_in_capture(const AdamSettings& s, const char* what, std::size_t param) {
  CAKE_CHECK(cuda::capturing_stream() == nullptr, s.decoupled ? "AdamW" : "Adam", ": parameter ", param, "'s ", what,
             " would be created inside a CUDA graph capture, where its initial fill would be replayed at every step; "
             "take a step eagerly before capturing (warm-up)");
}

// The device step count of a capturable parameter: "step" in its state (so checkpoints carry
// it), made from the host count the first time (a state loaded from a non-capturable run).
Tensor& device_step(const Tensor& p, ParamState& state, const AdamSettings& s, std::size_t param) {
  if (!state.tensors.count("step")) {
    check_not_created_in_capture(s, "device step count", param);
    state.tensors["step"] = full({}, static_cast<double>(state.step), TensorOptions(kFloat64, p.device()));
  }
  return state.tensors["step"];
}

// One capturable update of parameter p (NOTE in adam.h's option).
void adam_capturable_update(Tensor& p, ParamState& state, const AdamSettings& s, const Tensor& lr,
                            std::size_t param) {
  Tensor& t = device_step(p, state, s, param);  // before the host count moves: it starts from the steps taken
  ++state.step;  // the host's count (a replayed graph does not advance it; "step" is the truth)
  t.add_(1.0);   // a kernel: replays advance it too
  const Tensor& exp_avg = state.tensors["exp_avg"];
  const Tensor& exp_avg_sq = state.tensors["exp_avg_sq"];
  const Tensor max_exp_avg_sq = s.amsgrad ? state.tensors["max_exp_avg_sq"] : Tensor();
  if (s.fused && p.is_cuda() && lr.device() == p.device() &&
      fused::applicable(fused::adam_stub, p, {&p.grad(), &exp_avg, &exp_avg_sq, &max_exp_avg_sq})) {
    fused::AdamStep step{.beta1 = s.beta1,
                         .beta2 = s.beta2,
                         .eps = s.eps,
                         .weight_decay = s.decoupled ? 0.0 : s.weight_decay,
                         .decay_factor = 1.0,
                         .step_size = 0.0,
                         .bias_correction2_sqrt = 1.0,
                         .amsgrad = s.amsgrad,
                         .device_step = t,
                         .device_lr = lr,
                         .decoupled_weight_decay = s.decoupled ? s.weight_decay : 0.0};
    fused::adam_stub(p.device(), p, p.grad(), exp_avg, exp_avg_sq, max_exp_avg_sq, step);
    p.bump_version();
  } else {
    adam_capturable_reference_step(p, state, s, t, lr.to(p.device()));
  }
}

// Updates params[begin, end), one parameter group. `device_lr` is the group's lr on the device
// (capturable mode only).
void adam_step(std::vector<Tensor>& params, std::vector<ParamState>& states, std::size_t begin, std::size_t end,
               const AdamSettings& s, const Tensor& device_lr = {}) {
  NoGradGuard no_grad;
  for (std::size_t i = begin; i < end; ++i) {
    Tensor& p = params[i];
    if (!p.grad().defined()) continue;
    ParamState& state = states[i];
    if (!state.tensors.count("exp_avg")) {
      check_not_created_in_capture(s, "state", i);
      state.tensors["exp_avg"] = zeros_like(p);
      state.tensors["exp_avg_sq"] = zeros_like(p);
      if (s.amsgrad) state.tensors["max_exp_avg_sq"] = zeros_like(p);
    }
    if (s.capturable) {
      adam_capturable_update(p, state, s, device_lr, i);
      continue;
    }
    // A device count from a capturable run (a loaded state) would go stale here: the host count
    // is the truth in the default mode, and device_step() makes a fresh one from it if needed.
    state.tensors.erase("step");
    // The bias corrections undo the zero start of the moments (Kingma & Ba, section 3).
    const auto t = static_cast<double>(++state.step);
    const double step_size = s.lr / detail::bias_correction(s.beta1, t);
    const double bias_correction2_sqrt = std::sqrt(detail::bias_correction(s.beta2, t));
    const Tensor& exp_avg = state.tensors["exp_avg"];
    const Tensor& exp_avg_sq = state.tensors["exp_avg_sq"];
    const Tensor max_exp_avg_sq = s.amsgrad ? state.tensors["max_exp_avg_sq"] : Tensor();
    if (s.fused && fused::applicable(fused::adam_stub, p, {&p.grad(), &exp_avg, &exp_avg_sq, &max_exp_avg_sq})) {
      const fused::AdamStep step{.beta1 = s.beta1,
                                 .beta2 = s.beta2,
                                 .eps = s.eps,
                                 .weight_decay = s.decoupled ? 0.0 : s.weight_decay,
                                 .decay_factor = s.decoupled && s.weight_decay != 0.0 ? 1.0 - s.lr * s.weight_decay : 1.0,
                                 .step_size = step_size,
                                 .bias_correction2_sqrt = bias_correction2_sqrt,
                                 .amsgrad = s.amsgrad};
      fused::adam_stub(p.device(), p, p.grad(), exp_avg, exp_avg_sq, max_exp_avg_sq, step);
      p.bump_version();
    } else {
      adam_reference_step(p, state, s, step_size, bias_correction2_sqrt);
    }
  }
}

// The options as name/value pairs (state dicts), and back; Adam and AdamW have the same fields.
// `fused` and `capturable` say how to run, not what to compute: they are not saved.
template <class Options>
Hyperparameters adam_hyperparameters(const Options& o) {
  return {{"lr", o.lr},   {"beta1", o.betas().first},     {"beta2", o.betas().second},
          {"eps", o.eps}, {"weight_decay", o.weight_decay}, {"amsgrad", o.amsgrad ? 1.0 : 0.0}};
}
template <class Options>
Options adam_options_from(const HyperparameterLookup& value, const Options& current) {
  return Options{.lr = value("lr"),
                 .betas = {value("beta1"), value("beta2")},
                 .eps = value("eps"),
                 .weight_decay = value("weight_decay"),
                 .amsgrad = value("amsgrad") != 0.0,
                 .fused = current.fused,
                 .capturable = current.capturable};
}

}  // namespace

// ---- Adam ------------------------------------------------------------------------------------

static AdamSettings settings_of(const AdamOptions& o) {
  return {o.lr,      o.betas().first, o.betas().second, o.eps, o.weight_decay, o.amsgrad, o.fused,
          /*decoupled=*/false, o.capturable};
}

Adam::Adam(std::vector<Tensor> params, const AdamOptions& options)
    : OptimizerWithOptions(std::move(params)), options(options) {
  check_settings("Adam", settings_of(options));
}

Adam::Adam(std::vector<OptimizerParamGroup> groups, const AdamOptions& options)
    : OptimizerWithOptions(std::move(groups)), options(options) {
  give_groups_options(options);
  for (std::size_t g = 0; g < param_groups().size(); ++g) check_settings("Adam", settings_of(group_options(g, options)));
}

void Adam::step() {
  for (std::size_t g = 0; g < param_groups().size(); ++g) {
    const AdamSettings s = settings_of(group_options(g, options));
    adam_step(params_, state_, group_begin(g), group_end(g), s, capturable_lr(g, s.capturable));
  }
}

Hyperparameters Adam::values_of(const AdamOptions& o) { return adam_hyperparameters(o); }

AdamOptions Adam::options_from(const HyperparameterLookup& value, const AdamOptions& current) {
  const AdamOptions o = adam_options_from(value, current);
  check_settings("Adam", settings_of(o));
  return o;
}

// ---- AdamW -----------------------------------------------------------------------------------

static AdamSettings settings_of(const AdamWOptions& o) {
  return {o.lr,      o.betas().first, o.betas().second, o.eps, o.weight_decay, o.amsgrad, o.fused,
          /*decoupled=*/true, o.capturable};
}

AdamW::AdamW(std::vector<Tensor> params, const AdamWOptions& options)
    : OptimizerWithOptions(std::move(params)), options(options) {
  check_settings("AdamW", settings_of(options));
}

AdamW::AdamW(std::vector<OptimizerParamGroup> groups, const AdamWOptions& options)
    : OptimizerWithOptions(std::move(groups)), options(options) {
  give_groups_options(options);
  for (std::size_t g = 0; g < param_groups().size(); ++g) check_settings("AdamW", settings_of(group_options(g, options)));
}

void AdamW::step() {
  for (std::size_t g = 0; g < param_groups().size(); ++g) {
    const AdamSettings s = settings_of(group_options(g, options));
    adam_step(params_, state_, group_begin(g), group_end(g), s, capturable_lr(g, s.capturable));
  }
}

Hyperparameters AdamW::values_of(const AdamWOptions& o) { return adam_hyperparameters(o); }

AdamWOptions AdamW::options_from(const HyperparameterLookup& value, const AdamWOptions& current) {
  const AdamWOptions o = adam_options_from(value, current);
  check_settings("AdamW", settings_of(o));
  return o;
}

}  // namespace cake::optim
