// fused.h: single-pass optimiser kernels, the fast path beside the readable tensor-op updates.
//
//   cake::optim::Adam adam(net->parameters(), {.lr = 1e-3, .fused = true});   // the default
//
// Written with tensor ops, one Adam step reads and writes every parameter-sized buffer about a
// dozen times (mul_, add_, sqrt, div_, ... each a full pass, some with a temporary). These kernels
// do the same arithmetic, in the same order and precision, in one pass per parameter: on 4M float32
// parameters (2 threads), about 10x faster; tests/optim/test_optimizers.cpp checks that they agree.
//
// An optimiser uses them when its `fused` option is on (the default), a kernel is registered for
// the parameter's device, and the parameter, its gradient and its state tensors are contiguous with
// one dtype; otherwise it runs the tensor-op update, which stays the reference (bit-identical).
#pragma once

#include <initializer_list>

#include "cake/tensor/dispatch.h"
#include "cake/tensor/tensor.h"

namespace cake::optim::fused {

struct AdamStep {
  double beta1, beta2, eps;
  double weight_decay;        // L2 (Adam): added to the gradient; 0 for AdamW
  double decay_factor;        // AdamW: p *= decay_factor first (1 - lr wd); 1 for Adam
  double step_size;           // lr / (1 - beta1^t)
  double bias_correction2_sqrt;  // sqrt(1 - beta2^t)
  bool amsgrad;
  // Capturable mode (optim/adam.h; CUDA kernels only): when device_step is defined, the kernel
  // reads t from it (float64, already advanced) and lr from device_lr (float64), and computes
  // step_size, bias_correction2_sqrt and decay_factor = 1 - lr decoupled_weight_decay itself, so
  // that a replayed CUDA graph advances them; the three host fields are then ignored.
  Tensor device_step = {}, device_lr = {};
  double decoupled_weight_decay = 0.0;
};
// max_exp_avg_sq is undefined unless amsgrad.
using AdamFn = void (*)(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
                        const Tensor& max_exp_avg_sq, const AdamStep& step);
CAKE_DECLARE_DISPATCH(AdamFn, adam_stub);

struct SGDStep {
  double lr, momentum, dampening, weight_decay;
  bool nesterov;
  bool first_step;  // the momentum buffer is (uninitialised and) set to the gradient
};
// momentum_buffer is undefined when momentum is 0.
using SGDFn = void (*)(const Tensor& param, const Tensor& grad, const Tensor& momentum_buffer, const SGDStep& step);
CAKE_DECLARE_DISPATCH(SGDFn, sgd_stub);

// True when `stub` has a kernel for param's device and every defined tensor in `others` is
// contiguous with param's dtype and device (param itself must be contiguous too).
template <class Fn>
bool applicable(const DispatchStub<Fn>& stub, const Tensor& param, std::initializer_list<const Tensor*> others) {
  if (stub.kernels[static_cast<int>(param.device().type)] == nullptr || !param.is_contiguous()) return false;
  for (const Tensor* t : others)
    if (t->defined() && (!t->is_contiguous() || t->dtype() != param.dtype() || t->device() != param.device()))
      return false;
  return true;
}

}  // namespace cake::optim::fused
