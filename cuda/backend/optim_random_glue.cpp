// cuda/backend/optim_random_glue.cpp: the CUDA kernels behind the fused optimiser steps
// (optim/fused.h: adam_stub, sgd_stub) and random_stub (tensor/random.h). The optimisers call the
// stubs only for contiguous tensors of one dtype and device (fused::applicable), and random fills
// contiguous tensors, so the glue hands over pointers and scalars.
#include "cake/cuda/backend/launchers.h"
#include "cake/cuda/backend/tensor_geometry.h"
#include "cake/optim/fused.h"
#include "cake/tensor/random.h"

namespace cake::cuda {
namespace {

void* data_or_null(const Tensor& t) { return t.defined() ? t.raw_data() : nullptr; }

void adam_kernel(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
                 const Tensor& max_exp_avg_sq, const optim::fused::AdamStep& s) {
  kernels::AdamScalars scalars{s.beta1, s.beta2, s.eps, s.weight_decay, s.decay_factor, s.step_size,
                               s.bias_correction2_sqrt};
  if (s.device_step.defined()) {  // capturable: t and lr are read on the device (optim/adam.h)
    CAKE_CHECK(s.device_step.dtype() == kFloat64 && s.device_lr.dtype() == kFloat64 && s.device_step.is_cuda() &&
                   s.device_lr.is_cuda() && s.device_step.numel() == 1 && s.device_lr.numel() == 1,
               "fused Adam (capturable): step and lr must be one-element float64 CUDA tensors");
    scalars.step = s.device_step.data_ptr<double>();
    scalars.lr = s.device_lr.data_ptr<double>();
    scalars.decoupled_weight_decay = s.decoupled_weight_decay;
  }
  kernels::launch_adam(scalar_type(param.dtype()), param.raw_data(), grad.raw_data(), exp_avg.raw_data(),
                       exp_avg_sq.raw_data(), s.amsgrad ? data_or_null(max_exp_avg_sq) : nullptr, scalars,
                       param.numel(), current_stream());
}

void sgd_kernel(const Tensor& param, const Tensor& grad, const Tensor& momentum_buffer,
                const optim::fused::SGDStep& s) {
  const kernels::SgdScalars scalars{s.lr, s.momentum, s.dampening, s.weight_decay, s.nesterov, s.first_step};
  kernels::launch_sgd(scalar_type(param.dtype()), param.raw_data(), grad.raw_data(),
                      s.momentum != 0.0 ? data_or_null(momentum_buffer) : nullptr, scalars, param.numel(),
                      current_stream());
}

void random_kernel(const Tensor& dst, native::Distribution dist, native::RandomParams params, GeneratorState state) {
  CAKE_CHECK(dst.dtype() == kFloat32 || dst.dtype() == kFloat64 || dst.dtype() == kInt64,
             "random: cannot draw into dtype ", dtype_name(dst.dtype()));
  kernels::launch_random(scalar_type(dst.dtype()), dst.raw_data(), dst.numel(), static_cast<int>(dist), params.a,
                         params.b, state.seed, state.offset, current_stream());
}

}  // namespace

CAKE_REGISTER_KERNEL(optim::fused::adam_stub, DeviceType::CUDA, &adam_kernel);
CAKE_REGISTER_KERNEL(optim::fused::sgd_stub, DeviceType::CUDA, &sgd_kernel);
CAKE_REGISTER_KERNEL(native::random_stub, DeviceType::CUDA, &random_kernel);

}  // namespace cake::cuda
