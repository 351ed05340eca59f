// cuda/backend/optim_random_kernels.cu: the fused Adam/AdamW and SGD steps (optim/fused.h) and
// the random fills (tensor/random.h).
//
// The optimiser kernels repeat optim/cpu/fused_kernels.cpp line for line: scalars are cast to
// the parameter's type first and every product and sum is rounded on its own (mul_rn, add_rn:
// no fused multiply-add), while division and sqrt are IEEE-rounded in CUDA by default. So the
// GPU step should equal the CPU step to the bit; the conformance suite checks it.
//
// The random kernel computes, for each Philox group, exactly what cpu/random_kernels.cpp
// computes: the same words (tensor/philox.h is shared), the same map from words to values. So
// `manual_seed(s)` gives the same tensor on both devices, up to the last bits of log/cos/sin in
// the normal distribution (CUDA's are within 1-2 ulp of glibc's).
#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>
#include <type_traits>

#include "cake/cuda/backend/check.cuh"
#include "cake/cuda/backend/device_math.cuh"
#include "cake/cuda/backend/launchers.h"
#include "cake/tensor/philox.h"

namespace cake::cuda::kernels {
namespace {

constexpr int kThreads = 256;

// ---- Adam / AdamW -----------------------------------------------------------------------------

template <class T>
struct AdamConstants {
  T beta1, one_minus_beta1, beta2, one_minus_beta2, weight_decay, decay_factor, eps, bias_correction2_sqrt,
      minus_step_size;
  bool l2, decoupled;
  // Capturable mode: the three step-dependent constants come from the device (see below).
  const double* step;
  const double* lr;
  double beta1_d, beta2_d, decoupled_weight_decay;
};

// Capturable mode (optim/adam.h): the host's per-step arithmetic of adam.cpp, in double from
// t = *step and lr = *lr, so that a replayed CUDA graph uses the step it has reached. pow() in
// CUDA's double is within 2 ulp (CUDA Math API), the host's std::pow within 1: the constants
// may differ from an eager step's in the last bits of double, which the cast to T hides for
// float32 almost always.
template <class T>
__device__ void adam_device_constants(AdamConstants<T>& c) {
  const double t = *c.step, lr = *c.lr;
  c.minus_step_size = T(-(lr / (1.0 - pow(c.beta1_d, t))));
  c.bias_correction2_sqrt = T(sqrt(1.0 - pow(c.beta2_d, t)));
  c.decay_factor = T(1.0 - lr * c.decoupled_weight_decay);
}

template <class T>
__global__ void adam_kernel(T* p, const T* g, T* m, T* v, T* v_max, AdamConstants<T> c, std::int64_t numel) {
  if (c.step != nullptr) adam_device_constants(c);
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < numel; i += stride) {
    T pi = p[i];
    const T gi = c.l2 ? add_rn(g[i], mul_rn(pi, c.weight_decay)) : g[i];  // g + wd p
    if (c.decoupled) pi = mul_rn(pi, c.decay_factor);                      // AdamW: p (1 - lr wd)
    const T mi = add_rn(mul_rn(m[i], c.beta1), mul_rn(gi, c.one_minus_beta1));
    const T vi = add_rn(mul_rn(v[i], c.beta2), mul_rn(mul_rn(gi, gi), c.one_minus_beta2));
    m[i] = mi;
    v[i] = vi;
    T second_moment = vi;
    if (v_max != nullptr) {  // ops::Maximum: NaN propagates
      const T old = v_max[i];
      second_moment = (old != old) ? old : (vi != vi) ? vi : (old > vi ? old : vi);
      v_max[i] = second_moment;
    }
    const T denom = add_rn(std::sqrt(second_moment) / c.bias_correction2_sqrt, c.eps);
    p[i] = add_rn(pi, mul_rn(mi / denom, c.minus_step_size));  // p.add_(m / denom, -step_size)
  }
}

// ---- SGD --------------------------------------------------------------------------------------

template <class T>
struct SgdConstants {
  T weight_decay, momentum, one_minus_dampening, minus_lr;
  bool l2, nesterov, first;
};

template <class T>
__global__ void sgd_kernel(T* p, const T* g, T* buffer, SgdConstants<T> c, std::int64_t numel) {
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < numel; i += stride) {
    const T pi = p[i];
    T d = c.l2 ? add_rn(g[i], mul_rn(pi, c.weight_decay)) : g[i];  // g + wd p
    if (buffer != nullptr) {
      const T b = c.first ? d : add_rn(mul_rn(buffer[i], c.momentum), mul_rn(d, c.one_minus_dampening));
      buffer[i] = b;
      d = c.nesterov ? add_rn(d, mul_rn(b, c.momentum)) : b;
    }
    p[i] = add_rn(pi, mul_rn(d, c.minus_lr));  // p.add_(d, -lr)
  }
}

// ---- random -----------------------------------------------------------------------------------
// One thread per Philox group: 4 float32 values or 2 float64/int64 values (fill_group in
// cpu/random_kernels.cpp, repeated here operation for operation; a + b * u rounds twice, as on
// the CPU, so uniform, Bernoulli and integer draws match to the bit).
enum class Dist { Uniform, Normal, Bernoulli, RandInt };

template <class T>
__device__ int group_values(Dist dist, double a, double b, PhiloxCounter w, T* values) {
  if constexpr (std::is_same_v<T, float>) {
    const float u[4] = {uniform_float(w[0]), uniform_float(w[1]), uniform_float(w[2]), uniform_float(w[3])};
    if (dist == Dist::Normal) {
      box_muller(u[0], u[1], values[0], values[1]);
      box_muller(u[2], u[3], values[2], values[3]);
      for (int k = 0; k < 4; ++k) values[k] = static_cast<float>(add_rn(a, mul_rn(b, double(values[k]))));
    } else if (dist == Dist::Bernoulli) {
      for (int k = 0; k < 4; ++k) values[k] = u[k] < a ? 1.0f : 0.0f;
    } else {
      for (int k = 0; k < 4; ++k) values[k] = static_cast<float>(add_rn(a, mul_rn(b - a, double(u[k]))));
    }
    return 4;
  } else if constexpr (std::is_same_v<T, double>) {
    const double u[2] = {uniform_double(w[0], w[1]), uniform_double(w[2], w[3])};
    if (dist == Dist::Normal) {
      box_muller(u[0], u[1], values[0], values[1]);
      for (int k = 0; k < 2; ++k) values[k] = add_rn(a, mul_rn(b, values[k]));
    } else if (dist == Dist::Bernoulli) {
      for (int k = 0; k < 2; ++k) values[k] = u[k] < a ? 1.0 : 0.0;
    } else {
      for (int k = 0; k < 2; ++k) values[k] = add_rn(a, mul_rn(b - a, u[k]));
    }
    return 2;
  } else {  // int64 in [low, high): 64 random bits modulo the range
    const auto low = static_cast<std::int64_t>(a);
    const auto range = static_cast<std::uint64_t>(static_cast<std::int64_t>(b) - low);
    for (int k = 0; k < 2; ++k) {
      const std::uint64_t bits = static_cast<std::uint64_t>(w[2 * k]) << 32 | w[2 * k + 1];
      values[k] = static_cast<T>(low + static_cast<std::int64_t>(bits % range));
    }
    return 2;
  }
}

template <class T>
__global__ void random_kernel(T* out, std::int64_t numel, Dist dist, double a, double b, std::uint64_t seed,
                              std::uint64_t offset) {
  constexpr std::int64_t per_group = std::is_same_v<T, float> ? 4 : 2;
  const std::int64_t groups = (numel + per_group - 1) / per_group;
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t g = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; g < groups; g += stride) {
    T values[4];
    const int n = group_values<T>(dist, a, b, philox_words(seed, offset + static_cast<std::uint64_t>(g)), values);
    for (std::int64_t k = 0; k < n && g * per_group + k < numel; ++k) out[g * per_group + k] = values[k];
  }
}

}  // namespace

void launch_adam(ScalarType type, void* param, const void* grad, void* exp_avg, void* exp_avg_sq,
                 void* max_exp_avg_sq, const AdamScalars& s, std::int64_t numel, Stream stream) {
  if (numel == 0) return;
  visit_floating(type, "fused Adam", [&]<class T>() {
    const bool capturable = s.step != nullptr;
    const AdamConstants<T> c{T(s.beta1),        T(1.0 - s.beta1), T(s.beta2),
                             T(1.0 - s.beta2),  T(s.weight_decay), T(s.decay_factor),
                             T(s.eps),          T(s.bias_correction2_sqrt), T(-s.step_size),
                             s.weight_decay != 0.0,
                             capturable ? s.decoupled_weight_decay != 0.0 : s.decay_factor != 1.0,
                             s.step, s.lr, s.beta1, s.beta2, s.decoupled_weight_decay};
    adam_kernel<T><<<blocks_for(numel, kThreads), kThreads, 0, static_cast<cudaStream_t>(stream)>>>(
        static_cast<T*>(param), static_cast<const T*>(grad), static_cast<T*>(exp_avg), static_cast<T*>(exp_avg_sq),
        static_cast<T*>(max_exp_avg_sq), c, numel);
  });
  check_launch("fused Adam");
}

void launch_sgd(ScalarType type, void* param, const void* grad, void* momentum_buffer, const SgdScalars& s,
                std::int64_t numel, Stream stream) {
  if (numel == 0) return;
  visit_floating(type, "fused SGD", [&]<class T>() {
    const SgdConstants<T> c{T(s.weight_decay), T(s.momentum), T(1.0 - s.dampening), T(-s.lr),
                            s.weight_decay != 0.0, s.nesterov, s.first_step};
    sgd_kernel<T><<<blocks_for(numel, kThreads), kThreads, 0, static_cast<cudaStream_t>(stream)>>>(
        static_cast<T*>(param), static_cast<const T*>(grad), static_cast<T*>(momentum_buffer), c, numel);
  });
  check_launch("fused SGD");
}

void launch_random(ScalarType type, void* out, std::int64_t numel, int dist, double a, double b, std::uint64_t seed,
                   std::uint64_t offset, Stream stream) {
  if (numel == 0) return;
  auto s = static_cast<cudaStream_t>(stream);
  const auto d = static_cast<Dist>(dist);
  const std::int64_t groups = (numel + 1) / 2;  // an upper bound (float32 needs numel / 4)
  switch (type) {
    case ScalarType::Float32:
      random_kernel<float><<<blocks_for(groups, kThreads), kThreads, 0, s>>>(static_cast<float*>(out), numel, d, a, b,
                                                                            seed, offset);
      break;
    case ScalarType::Float64:
      random_kernel<double><<<blocks_for(groups, kThreads), kThreads, 0, s>>>(static_cast<double*>(out), numel, d, a,
                                                                             b, seed, offset);
      break;
    case ScalarType::Int64:
      random_kernel<std::int64_t><<<blocks_for(groups, kThreads), kThreads, 0, s>>>(static_cast<std::int64_t*>(out),
                                                                                   numel, d, a, b, seed, offset);
      break;
    default: refuse("random", type);
  }
  check_launch("random");
}

}  // namespace cake::cuda::kernels
