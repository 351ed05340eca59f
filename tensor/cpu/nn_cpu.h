// cpu/nn_cpu.h: the two CPU implementations of the neural-network kernels of
// native/nn_kernels.h, declared side by side so that nn_routing.cpp can choose between them.
//
//   cpu::fallback::conv2d_forward(g, x, w, b, y);            // Cake's own: any float dtype
//   if (!cpu::onednn::conv2d_forward(g, x, w, b, y)) ...     // oneDNN: false = "not supported"
//
// fallback:: (conv_kernels.cpp, pool_kernels.cpp, norm_kernels.cpp) is the readable mainline
// and runs for float32 and float64. onednn:: (onednn_kernels.cpp, float32 only) exists only
// when Cake is built with oneDNN; each function returns false when oneDNN cannot take the case
// (a geometry it rejects), and the caller then runs the fallback. Arguments are as the stub
// types in native/nn_kernels.h describe: contiguous, one dtype, outputs allocated.
#pragma once

#include "cake/tensor/native/nn_kernels.h"

namespace cake::cpu {

namespace fallback {
void conv2d_forward(const native::ConvGeometry& g, const Tensor& x, const Tensor& weight, const Tensor& bias,
                    const Tensor& y);
void conv2d_backward_data(const native::ConvGeometry& g, const Tensor& grad_y, const Tensor& weight,
                          const Tensor& grad_x);
void conv2d_backward_weight(const native::ConvGeometry& g, const Tensor& x, const Tensor& grad_y,
                            const Tensor& grad_weight, const Tensor& grad_bias);
void max_pool2d_forward(const native::PoolGeometry& g, const Tensor& x, const Tensor& y, const Tensor& indices);
void max_pool2d_backward(const native::PoolGeometry& g, const Tensor& grad_y, const Tensor& indices,
                         const Tensor& grad_x);
void avg_pool2d_forward(const native::PoolGeometry& g, const Tensor& x, const Tensor& y);
void avg_pool2d_backward(const native::PoolGeometry& g, const Tensor& grad_y, const Tensor& grad_x);
void batch_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps, const Tensor& y,
                        const Tensor& mean, const Tensor& invstd);
void batch_norm_backward(const Tensor& grad_y, const Tensor& x, const Tensor& weight, const Tensor& mean,
                         const Tensor& invstd, double eps, const Tensor& grad_x, const Tensor& grad_weight,
                         const Tensor& grad_bias);
}  // namespace fallback

#ifdef CAKE_HAVE_ONEDNN
namespace onednn {
bool conv2d_forward(const native::ConvGeometry& g, const Tensor& x, const Tensor& weight, const Tensor& bias,
                    const Tensor& y);
bool conv2d_backward_data(const native::ConvGeometry& g, const Tensor& grad_y, const Tensor& weight,
                          const Tensor& grad_x);
bool conv2d_backward_weight(const native::ConvGeometry& g, const Tensor& x, const Tensor& grad_y,
                            const Tensor& grad_weight, const Tensor& grad_bias);
bool avg_pool2d_forward(const native::PoolGeometry& g, const Tensor& x, const Tensor& y);
bool avg_pool2d_backward(const native::PoolGeometry& g, const Tensor& grad_y, const Tensor& grad_x);
}  // namespace onednn
#endif

}  // namespace cake::cpu
