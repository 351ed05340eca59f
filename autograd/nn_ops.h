// nn_ops.h: the differentiable neural-network operations (convolution, pooling, batch norm,
// softmax) that nn:: layers and nn::functional are built on.
//
//   auto y = cake::conv2d(x, w, b, {.stride = {2, 2}, .padding = {1, 1}});
//   auto p = cake::max_pool2d(y, {.kernel = {2, 2}});
//
// Inputs are NCHW. Forward and backward kernels live in tensor/native/nn_kernels.* (oneDNN when
// built with it, Cake's own im2col + GEMM and direct loops otherwise); the backward wiring is in
// autograd/ops/nn.cpp.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <utility>

#include "cake/tensor/tensor.h"

namespace cake {

using Pair = std::array<std::int64_t, 2>;

struct Conv2dParams {
  Pair stride{1, 1};
  Pair padding{0, 0};
  Pair dilation{1, 1};
  std::int64_t groups = 1;
};
struct ConvTranspose2dParams {
  Pair stride{1, 1};
  Pair padding{0, 0};
  Pair output_padding{0, 0};
  Pair dilation{1, 1};
  std::int64_t groups = 1;
};
struct Pool2dParams {
  Pair kernel{2, 2};
  std::optional<Pair> stride = std::nullopt;  // defaults to kernel
  Pair padding{0, 0};
  bool ceil_mode = false;
  bool count_include_pad = true;  // avg pool only
};

// The convolutions and pools take x [N, C, H, W] or one unbatched image [C, H, W] (run as a
// batch of one, as PyTorch does; the result then has no batch dim either: detail::as_batch_of_one).
// x [N, C_in, H, W], weight [C_out, C_in / groups, kH, kW], bias [C_out] or undefined.
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias = {}, const Conv2dParams& p = {});
// x [N, C_in, H, W], weight [C_in, C_out / groups, kH, kW] (PyTorch's layout), bias [C_out].
Tensor conv_transpose2d(const Tensor& x, const Tensor& weight, const Tensor& bias = {},
                        const ConvTranspose2dParams& p = {});
Tensor max_pool2d(const Tensor& x, const Pool2dParams& p);
// max_pool2d and, for each window, where its maximum was: the flat position h * W + w in x's
// [H, W] plane (int64, not differentiable), as torch's max_pool2d(return_indices=True).
std::pair<Tensor, Tensor> max_pool2d_with_indices(const Tensor& x, const Pool2dParams& p);
// The partial inverse of max pooling (the "switches" of Zeiler & Fergus, "Visualizing and
// Understanding Convolutional Networks", 2014; torch's max_unpool2d): a plane of zeros of
// output_size per channel, each value of x [N, C, h, w] written at the position its index names.
// Of positions named twice (overlapping windows that chose one input) one value lands, and each
// copy's gradient reads the output's gradient there (scatter's adjoint, as in PyTorch).
Tensor max_unpool2d(const Tensor& x, const Tensor& indices, Pair output_size);
Tensor avg_pool2d(const Tensor& x, const Pool2dParams& p);
// Adaptive average pooling to a fixed output size (global pooling with {1, 1}).
Tensor adaptive_avg_pool2d(const Tensor& x, Pair output_size);

// Batch normalisation over dim 1 of [N, C] or [N, C, H, W]. In training, normalises with the
// batch statistics and updates running_mean/var in place (momentum as PyTorch: new = (1 - m) old
// + m batch, running var unbiased); in eval, uses the running statistics.
Tensor batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                  const Tensor& running_var, bool training, double momentum = 0.1, double eps = 1e-5);
// Layer normalisation over the trailing `normalized_shape` dims.
Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight = {}, const Tensor& bias = {},
                  double eps = 1e-5);

Tensor softmax(const Tensor& x, std::int64_t dim);
Tensor log_softmax(const Tensor& x, std::int64_t dim);

namespace detail {
// batched(x.unsqueeze(0)).squeeze(0): a layer's one unbatched sample run as a batch of one; an
// error is passed on naming the sample's own shape.
Tensor as_batch_of_one(const Tensor& x, const std::function<Tensor(const Tensor&)>& batched);
}  // namespace detail

}  // namespace cake
