// native/nn_kernels.h: the neural-network kernels without autograd: convolution (forward,
// backward-data, backward-weight), pooling, batch normalisation, softmax and bilinear grid
// sampling.
//
//   ConvGeometry g = conv2d_geometry(x.sizes(), w.sizes(), {.stride = {2, 2}, .padding = {1, 1}}, "conv2d");
//   Tensor y  = cake::native::conv2d_forward(x, w, b, g);
//   Tensor gx = cake::native::conv2d_backward_data(gy, w, g);
//   auto [gw, gb] = cake::native::conv2d_backward_weight(x, gy, g, /*bias=*/true);
//
// Every op checks its arguments (errors name the shapes, dtypes and devices), makes its inputs
// contiguous, allocates the outputs and calls a DispatchStub. On the CPU two implementations
// sit behind each stub (tensor/cpu/nn_routing.cpp says which runs):
//   - oneDNN (tensor/cpu/onednn_kernels.cpp), float32 only, when Cake is built with it;
//   - Cake's own (tensor/cpu/conv_kernels.cpp, pool_kernels.cpp, norm_kernels.cpp,
//     softmax_kernels.cpp): im2col + GEMM for convolution, direct loops for the rest. It runs
//     for float64, for float32 without oneDNN, and whenever set_use_onednn(false).
// The differentiable ops built on these are in autograd/nn_ops.h (autograd/ops/nn.cpp).
//
// NOTE [ Transposed convolution is the adjoint of convolution ]
// A convolution y = conv(x, w) is linear in x; its adjoint (the map gy -> gx computed by
// backward-data) is the "transposed convolution". So conv_transpose2d(x, w) = backward-data of
// the convolution whose *output* has x's shape, and whose weight, [C_in_t, C_out_t/g, kH, kW]
// in PyTorch's layout, is exactly that convolution's [C_out, C_in/g, kH, kW]. Every geometry
// below is therefore the geometry of a plain convolution; conv_transpose2d_geometry returns
// the one whose output is the transposed convolution's input.
#pragma once

#include <array>
#include <cstdint>
#include <utility>

#include "cake/tensor/bilinear.h"
#include "cake/tensor/dispatch.h"
#include "cake/tensor/tensor.h"

namespace cake::native {

using Int2 = std::array<std::int64_t, 2>;  // (height, width)

// ---- which CPU implementation runs ----------------------------------------------------------
// True when Cake was compiled with oneDNN (CAKE_WITH_ONEDNN).
bool onednn_compiled();
// Switches the float32 CPU kernels between oneDNN (default when compiled) and Cake's own
// fallback, e.g. to test one against the other. Has no effect without oneDNN.
void set_use_onednn(bool enabled);
// True when float32 CPU kernels currently go to oneDNN.
bool use_onednn();
// Restores the previous setting when it goes out of scope.
class OneDnnGuard {
 public:
  explicit OneDnnGuard(bool enabled) : previous_(use_onednn()) { set_use_onednn(enabled); }
  ~OneDnnGuard() { set_use_onednn(previous_); }
  OneDnnGuard(const OneDnnGuard&) = delete;
  OneDnnGuard& operator=(const OneDnnGuard&) = delete;

 private:
  bool previous_;
};

// ---- convolution ----------------------------------------------------------------------------
struct ConvOptions {
  Int2 stride{1, 1};
  Int2 padding{0, 0};
  Int2 dilation{1, 1};
  std::int64_t groups = 1;
  Int2 output_padding{0, 0};  // transposed convolution only
};

// Everything a convolution kernel needs, resolved once: input x [batch, in_channels, in_h, in_w],
// weight [out_channels, in_channels / groups, kernel_h, kernel_w], output [batch, out_channels,
// out_h, out_w]. Output pixel (oh, ow) reads input rows ih = oh * stride_h - pad_h + kh *
// dilation_h (and likewise columns); rows outside [0, in_h) are zero padding. Both sizes are
// stored, so a transposed convolution whose input was cut short (output_padding) is described
// exactly: input rows no output reads are simply never touched.
struct ConvGeometry {
  std::int64_t batch, in_channels, out_channels, groups;
  std::int64_t in_h, in_w, out_h, out_w;
  std::int64_t kernel_h, kernel_w;
  std::int64_t stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w;

  Shape input_shape() const { return {batch, in_channels, in_h, in_w}; }
  Shape weight_shape() const { return {out_channels, in_channels / groups, kernel_h, kernel_w}; }
  Shape output_shape() const { return {batch, out_channels, out_h, out_w}; }
};

// Geometry of conv2d(x, w): checks ranks, channel counts against groups, positive stride and
// dilation, non-negative padding, and that the output is non-empty; errors name `op` and shapes.
ConvGeometry conv2d_geometry(const Shape& input, const Shape& weight, const ConvOptions& options, const char* op);
// Geometry of the convolution whose adjoint is conv_transpose2d(x, w) (see the NOTE above):
// its output is x's shape, its input the transposed convolution's output,
//   out = (in - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1,
// and output_padding must be smaller than stride or dilation (as in PyTorch).
ConvGeometry conv_transpose2d_geometry(const Shape& input, const Shape& weight, const ConvOptions& options,
                                       const char* op);

// Kernels receive contiguous tensors of one floating dtype, and freshly allocated outputs.
// bias and grad_bias may be undefined (no bias). Backward-weight *overwrites* its outputs.
using ConvForwardFn = void (*)(const ConvGeometry& g, const Tensor& x, const Tensor& weight, const Tensor& bias,
                               const Tensor& y);
using ConvBackwardDataFn = void (*)(const ConvGeometry& g, const Tensor& grad_y, const Tensor& weight,
                                    const Tensor& grad_x);
using ConvBackwardWeightFn = void (*)(const ConvGeometry& g, const Tensor& x, const Tensor& grad_y,
                                      const Tensor& grad_weight, const Tensor& grad_bias);
CAKE_DECLARE_DISPATCH(ConvForwardFn, conv2d_forward_stub);
CAKE_DECLARE_DISPATCH(ConvBackwardDataFn, conv2d_backward_data_stub);
CAKE_DECLARE_DISPATCH(ConvBackwardWeightFn, conv2d_backward_weight_stub);

// y = conv(x, w) + b, shape g.output_shape(). bias may be undefined.
Tensor conv2d_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, const ConvGeometry& g);
// d(sum(y * grad_y))/dx: shape g.input_shape().
Tensor conv2d_backward_data(const Tensor& grad_y, const Tensor& weight, const ConvGeometry& g);
// (grad_weight, grad_bias); grad_bias is undefined unless with_bias.
std::pair<Tensor, Tensor> conv2d_backward_weight(const Tensor& x, const Tensor& grad_y, const ConvGeometry& g,
                                                 bool with_bias);
// conv_transpose2d(x, w) + b, with g from conv_transpose2d_geometry: backward-data of g plus
// the bias on every pixel.
Tensor conv_transpose2d_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, const ConvGeometry& g);

// ---- pooling --------------------------------------------------------------------------------
struct PoolOptions {
  Int2 kernel{2, 2};
  Int2 stride{2, 2};
  Int2 padding{0, 0};
  bool ceil_mode = false;
  bool count_include_pad = true;  // average pooling only
};

// Windows start at oh * stride_h - pad_h and span kernel_h rows (clipped to the input when
// reading). As in PyTorch, ceil_mode rounds the output size up but never lets a window start
// inside the right padding, and padding may be at most half the kernel.
struct PoolGeometry {
  std::int64_t batch, channels, in_h, in_w, out_h, out_w;
  std::int64_t kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w;
  bool count_include_pad;

  Shape input_shape() const { return {batch, channels, in_h, in_w}; }
  Shape output_shape() const { return {batch, channels, out_h, out_w}; }
};
PoolGeometry pool2d_geometry(const Shape& input, const PoolOptions& options, const char* op);

// indices (int64, output's shape) receive the flat position ih * in_w + iw of each window's
// maximum in its input plane, or are undefined when the caller needs no backward.
using MaxPoolForwardFn = void (*)(const PoolGeometry& g, const Tensor& x, const Tensor& y, const Tensor& indices);
using MaxPoolBackwardFn = void (*)(const PoolGeometry& g, const Tensor& grad_y, const Tensor& indices,
                                   const Tensor& grad_x);
using AvgPoolForwardFn = void (*)(const PoolGeometry& g, const Tensor& x, const Tensor& y);
using AvgPoolBackwardFn = void (*)(const PoolGeometry& g, const Tensor& grad_y, const Tensor& grad_x);
// Adaptive pooling: output cell (oh, ow) averages input rows [floor(oh * in_h / out_h),
// ceil((oh + 1) * in_h / out_h)) and likewise columns; g's kernel/stride/padding are unused.
CAKE_DECLARE_DISPATCH(MaxPoolForwardFn, max_pool2d_forward_stub);
CAKE_DECLARE_DISPATCH(MaxPoolBackwardFn, max_pool2d_backward_stub);
CAKE_DECLARE_DISPATCH(AvgPoolForwardFn, avg_pool2d_forward_stub);
CAKE_DECLARE_DISPATCH(AvgPoolBackwardFn, avg_pool2d_backward_stub);
CAKE_DECLARE_DISPATCH(AvgPoolForwardFn, adaptive_avg_pool2d_forward_stub);
CAKE_DECLARE_DISPATCH(AvgPoolBackwardFn, adaptive_avg_pool2d_backward_stub);

Tensor max_pool2d(const Tensor& x, const PoolGeometry& g);  // values only (inference)
std::pair<Tensor, Tensor> max_pool2d_with_indices(const Tensor& x, const PoolGeometry& g);
// grad_x = zeros with grad_y scattered to the saved indices (overlapping windows add up).
Tensor max_pool2d_backward(const Tensor& grad_y, const Tensor& indices, const PoolGeometry& g);
Tensor avg_pool2d(const Tensor& x, const PoolGeometry& g);
Tensor avg_pool2d_backward(const Tensor& grad_y, const PoolGeometry& g);
PoolGeometry adaptive_pool2d_geometry(const Shape& input, Int2 output_size, const char* op);
Tensor adaptive_avg_pool2d(const Tensor& x, const PoolGeometry& g);
Tensor adaptive_avg_pool2d_backward(const Tensor& grad_y, const PoolGeometry& g);

// ---- batch normalisation (training mode) ----------------------------------------------------
// x is viewed as [N, C, S] (S = product of the dims after 1). Per channel c over M = N * S values:
//   mean_c = (1/M) sum x,  var_c = (1/M) sum (x - mean_c)^2 (biased),  invstd_c = 1/sqrt(var_c + eps)
//   y = weight_c * (x - mean_c) * invstd_c + bias_c
// (Ioffe & Szegedy 2015, Algorithm 1). mean and invstd [C] are saved for backward, as llm.c
// saves mean and rstd. weight/bias may be undefined (1 and 0).
using BatchNormForwardFn = void (*)(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps,
                                    const Tensor& y, const Tensor& mean, const Tensor& invstd);
// Backward through the batch statistics (Ioffe & Szegedy 2015, section 3), with xhat the
// normalised input and sums over the M values of a channel:
//   grad_bias = sum g,  grad_weight = sum g * xhat,
//   grad_x = weight * invstd / M * (M * g - sum g - xhat * sum(g * xhat)).
// grad_x, grad_weight, grad_bias may each be undefined (not needed). eps is passed so that a
// backend wanting the variance can recover it: var = 1/invstd^2 - eps.
using BatchNormBackwardFn = void (*)(const Tensor& grad_y, const Tensor& x, const Tensor& weight, const Tensor& mean,
                                     const Tensor& invstd, double eps, const Tensor& grad_x,
                                     const Tensor& grad_weight, const Tensor& grad_bias);
CAKE_DECLARE_DISPATCH(BatchNormForwardFn, batch_norm_forward_stub);
CAKE_DECLARE_DISPATCH(BatchNormBackwardFn, batch_norm_backward_stub);

struct BatchNormResult {
  Tensor output, mean, invstd;
};
// Normalises with the batch statistics. When running_mean/running_var are defined, updates them
// in place as PyTorch does: running = (1 - momentum) * running + momentum * batch, with the
// unbiased variance var * M / (M - 1).
BatchNormResult batch_norm_training(const Tensor& x, const Tensor& weight, const Tensor& bias,
                                    const Tensor& running_mean, const Tensor& running_var, double momentum,
                                    double eps);
struct BatchNormGrads {
  Tensor grad_x, grad_weight, grad_bias;
};
BatchNormGrads batch_norm_backward(const Tensor& grad_y, const Tensor& x, const Tensor& weight, const Tensor& mean,
                                   const Tensor& invstd, double eps, bool need_x, bool need_weight, bool need_bias);

// ---- softmax --------------------------------------------------------------------------------
// Along `dim` (already wrapped): softmax y = exp(x - max) / sum exp(x - max), or log_softmax
// y = x - max - log(sum exp(x - max)); subtracting the max keeps exp from overflowing.
using SoftmaxFn = void (*)(const Tensor& x, std::int64_t dim, bool log, const Tensor& y);
// From the forward *output* y: softmax  grad_x = y * (g - sum(g * y)),
//                               log_softmax grad_x = g - exp(y) * sum(g).
using SoftmaxBackwardFn = void (*)(const Tensor& grad_y, const Tensor& y, std::int64_t dim, bool log,
                                   const Tensor& grad_x);
CAKE_DECLARE_DISPATCH(SoftmaxFn, softmax_stub);
CAKE_DECLARE_DISPATCH(SoftmaxBackwardFn, softmax_backward_stub);

Tensor softmax(const Tensor& x, std::int64_t dim);
Tensor log_softmax(const Tensor& x, std::int64_t dim);
Tensor softmax_backward(const Tensor& grad_y, const Tensor& y, std::int64_t dim);
Tensor log_softmax_backward(const Tensor& grad_y, const Tensor& y, std::int64_t dim);

// ---- bilinear grid sampling (grid_sample: zero padding) -------------------------------------
// input [N, C, H_in, W_in] read at grid [N, H_out, W_out, 2] (normalised (x, y); spatial.h has
// the conventions) -> [N, C, H_out, W_out]. The per-point arithmetic is tensor/bilinear.h,
// shared by every backend. The differentiable op is cake::grid_sample (autograd/spatial.h).
//
// Kernels receive contiguous input and grid of one floating dtype and allocated outputs.
using GridSampleForwardFn = void (*)(const bilinear::SampleShape& s, const Tensor& input, const Tensor& grid,
                                     bool align_corners, const Tensor& out);
// grad_input arrives zero-filled and is accumulated into (points scatter into their four
// corners); grad_grid is overwritten. Either may be undefined (not wanted), not both.
using GridSampleBackwardFn = void (*)(const bilinear::SampleShape& s, const Tensor& grad_out, const Tensor& input,
                                      const Tensor& grid, bool align_corners, const Tensor& grad_input,
                                      const Tensor& grad_grid);
CAKE_DECLARE_DISPATCH(GridSampleForwardFn, grid_sample_forward_stub);
CAKE_DECLARE_DISPATCH(GridSampleBackwardFn, grid_sample_backward_stub);

// Checks input and grid (defined, ranks, grid [N, H_out, W_out, 2] with the input's N, one
// floating dtype, one device; errors name the shapes) and returns the sizes.
bilinear::SampleShape grid_sample_shape(const Tensor& input, const Tensor& grid);
Tensor grid_sample_forward(const Tensor& input, const Tensor& grid, bool align_corners);
// (grad_input, grad_grid) for the output gradient grad_out [N, C, H_out, W_out]; each is
// undefined unless wanted.
std::pair<Tensor, Tensor> grid_sample_backward(const Tensor& grad_out, const Tensor& input, const Tensor& grid,
                                               bool align_corners, bool need_input, bool need_grid);

}  // namespace cake::native
