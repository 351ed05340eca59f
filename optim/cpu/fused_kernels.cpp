// optim/cpu/fused_kernels.cpp: the CPU single-pass Adam and SGD updates (see optim/fused.h).
//
// Each line mirrors one tensor op of the reference update in adam.cpp / sgd.cpp, in the same
// order and in the parameter's precision (scalars are cast to T first, as the tensor ops cast
// a Scalar to the tensor's dtype), so the two paths agree bit for bit. That also needs every
// product rounded on its own: GCC would otherwise contract a * b + c into one fused
// multiply-add (one rounding instead of two) under -march=native, which the separate tensor
// ops never do. Hence fp-contract=off for this file.
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif
#include <cmath>

#include "cake/optim/fused.h"
#include "cake/tensor/functors.h"
#include "cake/tensor/parallel.h"

namespace cake::optim::fused {

CAKE_DEFINE_DISPATCH(AdamFn, adam_stub);
CAKE_DEFINE_DISPATCH(SGDFn, sgd_stub);

namespace {

constexpr std::int64_t kGrain = 16384;

template <class T>
void adam_typed(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
                const Tensor& max_exp_avg_sq, const AdamStep& s) {
  CAKE_CHECK(!s.device_step.defined(), "fused Adam: capturable mode has no CPU kernel (adam.cpp runs the tensor-op update)");
  T* p = param.data_ptr<T>();
  const T* g = grad.data_ptr<T>();
  T* m = exp_avg.data_ptr<T>();
  T* v = exp_avg_sq.data_ptr<T>();
  T* v_max = s.amsgrad ? max_exp_avg_sq.data_ptr<T>() : nullptr;
  const T beta1 = T(s.beta1), one_minus_beta1 = T(1.0 - s.beta1);
  const T beta2 = T(s.beta2), one_minus_beta2 = T(1.0 - s.beta2);
  const T weight_decay = T(s.weight_decay), decay_factor = T(s.decay_factor), eps = T(s.eps);
  const T bias_correction2_sqrt = T(s.bias_correction2_sqrt), minus_step_size = T(-s.step_size);
  const bool l2 = s.weight_decay != 0.0, decoupled = s.decay_factor != 1.0;
  const ops::Maximum maximum;
  parallel_for(0, param.numel(), kGrain, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t i = lo; i < hi; ++i) {
      const T gi = l2 ? g[i] + p[i] * weight_decay : g[i];    // g + wd p
      if (decoupled) p[i] = p[i] * decay_factor;               // AdamW: p (1 - lr wd)
      m[i] = m[i] * beta1 + gi * one_minus_beta1;              // m.mul_(b1).add_(g, 1 - b1)
      v[i] = v[i] * beta2 + (gi * gi) * one_minus_beta2;       // v.mul_(b2).add_(g * g, 1 - b2)
      T second_moment = v[i];
      if (v_max != nullptr) second_moment = v_max[i] = maximum(v_max[i], v[i]);
      const T denom = std::sqrt(second_moment) / bias_correction2_sqrt + eps;
      p[i] = p[i] + (m[i] / denom) * minus_step_size;          // p.add_(m / denom, -step_size)
    }
  });
}

void adam_kernel(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
                 const Tensor& max_exp_avg_sq, const AdamStep& step) {
  visit_floating(param.dtype(), "fused Adam", [&]<class T>() {
    adam_typed<T>(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, step);
  });
}

template <class T>
void sgd_typed(const Tensor& param, const Tensor& grad, const Tensor& momentum_buffer, const SGDStep& s) {
  T* p = param.data_ptr<T>();
  const T* g = grad.data_ptr<T>();
  T* buffer = s.momentum != 0.0 ? momentum_buffer.data_ptr<T>() : nullptr;
  const T weight_decay = T(s.weight_decay), momentum = T(s.momentum), one_minus_dampening = T(1.0 - s.dampening);
  const T minus_lr = T(-s.lr);
  const bool l2 = s.weight_decay != 0.0, nesterov = s.nesterov, first = s.first_step;
  parallel_for(0, param.numel(), kGrain, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t i = lo; i < hi; ++i) {
      T d = l2 ? g[i] + p[i] * weight_decay : g[i];  // g + wd p
      if (buffer != nullptr) {
        buffer[i] = first ? d : buffer[i] * momentum + d * one_minus_dampening;
        d = nesterov ? d + buffer[i] * momentum : buffer[i];
      }
      p[i] = p[i] + d * minus_lr;                    // p.add_(d, -lr)
    }
  });
}

void sgd_kernel(const Tensor& param, const Tensor& grad, const Tensor& momentum_buffer, const SGDStep& step) {
  visit_floating(param.dtype(), "fused SGD", [&]<class T>() { sgd_typed<T>(param, grad, momentum_buffer, step); });
}

}  // namespace

CAKE_REGISTER_KERNEL(adam_stub, DeviceType::CPU, &adam_kernel);
CAKE_REGISTER_KERNEL(sgd_stub, DeviceType::CPU, &sgd_kernel);

}  // namespace cake::optim::fused
