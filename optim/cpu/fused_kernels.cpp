// optim/cpu/fused_kernels.cpp: the CPU single-pass Adam and SGD updates (see optim/fused.h).
//
// Each line mirrors one tensor op of the reference update in adam.cpp / sgd.cpp, in the same
// order and in the parameter's precision (scalars are cast to T first, as the tensor ops cast
// a Scalar to the tensor's dtype), so the two paths agree bit for bit. That also needs every
// product rounded on its own: GCC would otherwise contract a * b + c into one fused
// multiply-add (one rounding instead of two) under -march=native, which the separate tensor
// ops never do. Hence fp-contract=off for this file.
//
// Speed: the update reads and writes every parameter and its moments once per step, so it
// should run at memory speed, in vector registers. Two things would stop GCC from vectorising
// the loop: a branch inside it (weight decay, AdamW, AMSGrad are decided once, as template
// arguments, below) and std::sqrt, which by default is a call that may set errno. This file,
// as every CPU kernel file, is compiled with -fno-math-errno (CMakeLists.txt; Cake never reads
// errno), and the vector square root and division are correctly rounded as the scalar ones
// are, so the results do not change.
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

// One thread's range of the update, with the options fixed at compile time so the loop has no
// branch. kL2: weight decay added to the gradient (Adam); kDecoupled: the parameter shrunk first
// (AdamW); kAmsgrad: the running maximum of v in the denominator.
template <class T, bool kL2, bool kDecoupled, bool kAmsgrad>
void adam_range(std::int64_t lo, std::int64_t hi, T* __restrict p, const T* __restrict g, T* __restrict m,
                T* __restrict v, T* __restrict v_max, const AdamStep& s) {
  const T beta1 = T(s.beta1), one_minus_beta1 = T(1.0 - s.beta1);
  const T beta2 = T(s.beta2), one_minus_beta2 = T(1.0 - s.beta2);
  const T weight_decay = T(s.weight_decay), decay_factor = T(s.decay_factor), eps = T(s.eps);
  const T bias_correction2_sqrt = T(s.bias_correction2_sqrt), minus_step_size = T(-s.step_size);
  const ops::Maximum maximum;
  for (std::int64_t i = lo; i < hi; ++i) {
    T gi = g[i];
    if constexpr (kL2) gi = gi + p[i] * weight_decay;         // g + wd p
    T pi = p[i];
    if constexpr (kDecoupled) pi = pi * decay_factor;         // AdamW: p (1 - lr wd)
    const T mi = m[i] * beta1 + gi * one_minus_beta1;         // m.mul_(b1).add_(g, 1 - b1)
    const T vi = v[i] * beta2 + (gi * gi) * one_minus_beta2;  // v.mul_(b2).add_(g * g, 1 - b2)
    m[i] = mi;
    v[i] = vi;
    T second_moment = vi;
    if constexpr (kAmsgrad) second_moment = v_max[i] = maximum(v_max[i], vi);
    const T denom = std::sqrt(second_moment) / bias_correction2_sqrt + eps;
    p[i] = pi + (mi / denom) * minus_step_size;               // p.add_(m / denom, -step_size)
  }
}

template <class T>
void adam_typed(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
                const Tensor& max_exp_avg_sq, const AdamStep& s) {
  CAKE_CHECK(!s.device_step.defined(), "fused Adam: capturable mode has no CPU kernel (adam.cpp runs the tensor-op update)");
  T* p = param.data_ptr<T>();
  const T* g = grad.data_ptr<T>();
  T* m = exp_avg.data_ptr<T>();
  T* v = exp_avg_sq.data_ptr<T>();
  T* v_max = s.amsgrad ? max_exp_avg_sq.data_ptr<T>() : nullptr;
  const bool l2 = s.weight_decay != 0.0, decoupled = s.decay_factor != 1.0;
  // The eight combinations of the three options, each its own branch-free loop.
  using Range = void (*)(std::int64_t, std::int64_t, T*, const T*, T*, T*, T*, const AdamStep&);
  static constexpr Range kRanges[2][2][2] = {
      {{adam_range<T, false, false, false>, adam_range<T, false, false, true>},
       {adam_range<T, false, true, false>, adam_range<T, false, true, true>}},
      {{adam_range<T, true, false, false>, adam_range<T, true, false, true>},
       {adam_range<T, true, true, false>, adam_range<T, true, true, true>}}};
  const Range range = kRanges[l2][decoupled][s.amsgrad];
  parallel_for(0, param.numel(), kGrain, [&](std::int64_t lo, std::int64_t hi) { range(lo, hi, p, g, m, v, v_max, s); });
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
