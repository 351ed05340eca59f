// cuda/backend/grid_sample_glue.cpp: the CUDA kernels behind grid_sample_forward_stub and
// grid_sample_backward_stub. The native layer (native/nn_kernels.h) has already checked the
// arguments, made them contiguous, allocated the outputs and zero-filled grad_input; this glue
// hands the pointers to the launchers (launchers.h, grid_sample_kernels.cu).
#include "cake/cuda/backend/launchers.h"
#include "cake/cuda/backend/tensor_geometry.h"
#include "cake/tensor/native/nn_kernels.h"

namespace cake::cuda {
namespace {

void grid_sample_forward_kernel(const bilinear::SampleShape& s, const Tensor& input, const Tensor& grid,
                                bool align_corners, const Tensor& out) {
  kernels::launch_grid_sample(scalar_type(input.dtype()), s, input.raw_data(), grid.raw_data(), align_corners,
                              out.raw_data(), current_stream());
}

void grid_sample_backward_kernel(const bilinear::SampleShape& s, const Tensor& grad_out, const Tensor& input,
                                 const Tensor& grid, bool align_corners, const Tensor& grad_input,
                                 const Tensor& grad_grid) {
  kernels::launch_grid_sample_backward(scalar_type(input.dtype()), s, grad_out.raw_data(), input.raw_data(),
                                       grid.raw_data(), align_corners,
                                       grad_input.defined() ? grad_input.raw_data() : nullptr,
                                       grad_grid.defined() ? grad_grid.raw_data() : nullptr, current_stream());
}

}  // namespace

CAKE_REGISTER_KERNEL(native::grid_sample_forward_stub, DeviceType::CUDA, &grid_sample_forward_kernel);
CAKE_REGISTER_KERNEL(native::grid_sample_backward_stub, DeviceType::CUDA, &grid_sample_backward_kernel);

}  // namespace cake::cuda
