// autograd/ops/nn.cpp: the differentiable neural-network ops of autograd/nn_ops.h, each forward
// with its backward right under it. The arithmetic is in tensor/native/nn_kernels.h.
//
// Convolution is linear in x and in w, so its backward is two more convolutions:
//   gx = backward-data(gy, w)     (the adjoint in x, a transposed convolution)
//   gw = backward-weight(x, gy)   (correlating the input with the output gradient)
//   gb = sum of gy over batch and pixels.
// A transposed convolution is the adjoint of a convolution (NOTE [ Transposed convolution is
// the adjoint of convolution ] in native/nn_kernels.h), so its backward swaps the roles:
// gx = convolution forward of gy, gw = backward-weight with input and gradient exchanged.
//
// Batch norm in evaluation mode and layer norm are composites of differentiable ops (an
// affine map; mean, variance and rsqrt), so they need no hand-written backward.
#include <functional>
#include <tuple>

#include "cake/autograd/autocast.h"
#include "cake/autograd/function.h"
#include "cake/autograd/nn_ops.h"
#include "cake/autograd/ops.h"
#include "cake/tensor/native/elementwise.h"
#include "cake/tensor/native/nn_kernels.h"
#include "cake/tensor/native/reduce.h"
#include "cake/tensor/native/view.h"

namespace cake {

using autograd::needs_grad;
using autograd::record;
using autograd::SavedTensor;
using autograd::TensorList;

namespace {
bool wants_grad(const Tensor& t) { return t.defined() && t.requires_grad(); }
// Saves t only when `needed`, so backward keeps alive just what it will read.
SavedTensor save_if(bool needed, const Tensor& t) { return SavedTensor(needed ? t : Tensor()); }

// conv2d's backward written with differentiable ops, for a create_graph backward (groups = 1):
//   dx = conv_transpose2d(gy, w) with the output padding that restores x's size;
//   dw[o, c, i, j] = sum_{n, a, b} gy[n, o, a, b] x_pad[n, c, a s + i d, b s + j d], which is a
//   convolution of x^T [C, N, H, W] with gy^T [O, N, Ho, Wo] as the kernel, stride and dilation
//   swapped, cut to the kernel size and transposed back.
TensorList conv2d_backward_recorded(const Tensor& gy, const Tensor& x, const Tensor& w, const Shape& x_shape,
                                    const Shape& w_shape, const Conv2dParams& p, bool need_x, bool need_w,
                                    bool need_b) {
  CAKE_CHECK(p.groups == 1, "double backward is not supported for conv2d with groups > 1 (create_graph=true)");
  Tensor gx, gw, gb;
  if (need_x) {
    ConvTranspose2dParams t{.stride = p.stride, .padding = p.padding, .output_padding = {0, 0}, .dilation = p.dilation};
    for (int d = 0; d < 2; ++d) {
      const std::int64_t k = w_shape[2 + d], out = gy.size(2 + d);
      const std::int64_t made = (out - 1) * p.stride[d] - 2 * p.padding[d] + p.dilation[d] * (k - 1) + 1;
      t.output_padding[d] = x_shape[2 + d] - made;
    }
    gx = conv_transpose2d(gy, w, {}, t);
  }
  if (need_w) {
    Tensor full = conv2d(x.transpose(0, 1), gy.transpose(0, 1), {},
                         {.stride = p.dilation, .padding = p.padding, .dilation = p.stride});
    gw = full.narrow(2, 0, w_shape[2]).narrow(3, 0, w_shape[3]).transpose(0, 1);
  }
  if (need_b) gb = gy.sum({0, 2, 3});
  return {gx, gw, gb};
}
}  // namespace

// ---- one unbatched sample ---------------------------------------------------------------------
// The convolutions and pools also take one sample without the batch dim, as PyTorch's do: it runs
// as a batch of one, and unsqueeze / squeeze are views, so the gradient is the batched one too.
Tensor detail::as_batch_of_one(const Tensor& x, const std::function<Tensor(const Tensor&)>& batched) {
  try {
    return squeeze(batched(unsqueeze(x, 0)), 0);
  } catch (const Error& e) {
    CAKE_FAIL("unbatched input of shape ", x.sizes(), " (run as a batch of one): ", e.what());
  }
}

// ---- convolution ----------------------------------------------------------------------------
namespace {
using detail::as_batch_of_one;
bool unbatched_image(const Tensor& x) { return x.defined() && x.dim() == 3; }

// Under autocast (autocast.h): the convolution of 16-bit copies, widened back to float32, plus
// the bias in float32. Composed of differentiable ops (see autograd/ops/linalg.cpp's matmul).
Tensor lowered(const Tensor& t) { return to(t, t.device(), autocast_dtype(t.device().type)); }
Tensor widened(const Tensor& t) { return to(t, t.device(), kFloat32); }
Tensor plus_channel_bias(const Tensor& y, const Tensor& bias) {
  return bias.defined() ? y + reshape(bias, {1, bias.size(0), 1, 1}) : y;
}
// The bias's gradient, the sum of gy over the batch and the pixels: for 16-bit gy summed in float32
// and rounded once (reductions take no 16-bit tensors: tensor/half.h).
Tensor channel_sums(const Tensor& gy) {
  if (!is_half(gy.dtype())) return native::sum(gy, {0, 2, 3});
  return native::to_dtype(native::sum(native::to_dtype(gy, kFloat32), {0, 2, 3}), gy.dtype());
}
}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dParams& p) {
  if (unbatched_image(x)) return as_batch_of_one(x, [&](const Tensor& batch) { return conv2d(batch, weight, bias, p); });
  if (autograd::autocast_applies({&x, &weight, &bias}))
    return plus_channel_bias(widened(conv2d(lowered(x), lowered(weight), Tensor(), p)), bias);
  const native::ConvGeometry g = native::conv2d_geometry(
      x.sizes(), weight.sizes(), {.stride = p.stride, .padding = p.padding, .dilation = p.dilation, .groups = p.groups},
      "conv2d");
  Tensor y = native::conv2d_forward(x, weight, bias, g);
  if (needs_grad({x, weight, bias})) {
    const bool need_x = wants_grad(x), need_w = wants_grad(weight), need_b = wants_grad(bias);
    record("Conv2dBackward", {x, weight, bias}, {y},
           [g, p, need_x, need_w, need_b, x_shape = x.sizes(), w_shape = weight.sizes(), sx = save_if(need_w, x),
            sw = save_if(need_x, weight)](const TensorList& grads) {
             if (autograd::create_graph_active())
               return conv2d_backward_recorded(grads[0], sx.get(), sw.get(), x_shape, w_shape, p, need_x, need_w, need_b);
             const Tensor& gy = grads[0];
             Tensor gx, gw, gb;
             if (need_x) gx = native::conv2d_backward_data(gy, sw.get(), g);
             if (need_w) std::tie(gw, gb) = native::conv2d_backward_weight(sx.get(), gy, g, need_b);
             else if (need_b) gb = channel_sums(gy);
             return TensorList{gx, gw, gb};
           });
  }
  return y;
}

Tensor conv_transpose2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const ConvTranspose2dParams& p) {
  if (unbatched_image(x))
    return as_batch_of_one(x, [&](const Tensor& batch) { return conv_transpose2d(batch, weight, bias, p); });
  if (autograd::autocast_applies({&x, &weight, &bias}))
    return plus_channel_bias(widened(conv_transpose2d(lowered(x), lowered(weight), Tensor(), p)), bias);
  const native::ConvGeometry g = native::conv_transpose2d_geometry(
      x.sizes(), weight.sizes(),
      {.stride = p.stride, .padding = p.padding, .dilation = p.dilation, .groups = p.groups,
       .output_padding = p.output_padding},
      "conv_transpose2d");
  Tensor y = native::conv_transpose2d_forward(x, weight, bias, g);
  if (needs_grad({x, weight, bias})) {
    const bool need_x = wants_grad(x), need_w = wants_grad(weight), need_b = wants_grad(bias);
    record("ConvTranspose2dBackward", {x, weight, bias}, {y},
           [g, need_x, need_w, need_b, sx = save_if(need_w, x), sw = save_if(need_x, weight)](const TensorList& grads) {
             autograd::check_double_backward("conv_transpose2d");
             // In g, the transposed convolution's output y is the convolution's input and x its output.
             const Tensor& gy = grads[0];
             Tensor gx, gw, gb;
             if (need_x) gx = native::conv2d_forward(gy, sw.get(), Tensor(), g);
             if (need_w) gw = native::conv2d_backward_weight(gy, sx.get(), g, false).first;
             if (need_b) gb = channel_sums(gy);
             return TensorList{gx, gw, gb};
           });
  }
  return y;
}

// ---- pooling --------------------------------------------------------------------------------
namespace {
native::PoolOptions pool_options(const Pool2dParams& p) {
  return {.kernel = p.kernel, .stride = p.stride.value_or(p.kernel), .padding = p.padding, .ceil_mode = p.ceil_mode,
          .count_include_pad = p.count_include_pad};
}
}  // namespace

// The gradient of each window's maximum goes to the input element that won (saved index).
std::pair<Tensor, Tensor> max_pool2d_with_indices(const Tensor& x, const Pool2dParams& p) {
  if (unbatched_image(x)) {
    const auto [y, indices] = max_pool2d_with_indices(unsqueeze(x, 0), p);
    return {squeeze(y, 0), squeeze(indices, 0)};
  }
  const native::PoolGeometry g = native::pool2d_geometry(x.sizes(), pool_options(p), "max_pool2d");
  auto [y, indices] = native::max_pool2d_with_indices(x, g);
  if (!needs_grad({x})) return {y, indices};
  record("MaxPool2dBackward", {x}, {y}, [g, indices = indices](const TensorList& grads) {
    Tensor gx = native::max_pool2d_backward(grads[0], indices, g);
    // Recorded (create_graph): the backward is linear in the gradient (a scatter to the winners,
    // which are constant almost everywhere), so its own adjoint gathers at the winners.
    if (needs_grad({grads[0]})) {
      record("MaxPool2dBackwardBackward", {grads[0]}, {gx}, [indices, y_shape = grads[0].sizes()](const TensorList& gg) {
        const Shape planes{y_shape[0], y_shape[1], -1};
        return TensorList{reshape(gather(reshape(gg[0], planes), 2, native::reshape(indices, planes)), y_shape)};
      });
    }
    return TensorList{gx};
  });
  return {y, indices};
}

// Without a gradient to record, the maxima alone (no index tensor is written).
Tensor max_pool2d(const Tensor& x, const Pool2dParams& p) {
  if (unbatched_image(x)) return as_batch_of_one(x, [&](const Tensor& batch) { return max_pool2d(batch, p); });
  if (!needs_grad({x})) return native::max_pool2d(x, native::pool2d_geometry(x.sizes(), pool_options(p), "max_pool2d"));
  return max_pool2d_with_indices(x, p).first;
}

// Each value of x goes back to the position its index names in a plane of zeros: a scatter along
// the flattened plane, whose gradient in x gathers the output's gradient at those positions.
Tensor max_unpool2d(const Tensor& x, const Tensor& indices, Pair output_size) {
  CAKE_CHECK(x.defined() && indices.defined() && indices.sizes() == x.sizes(), "max_unpool2d: indices of shape ",
             indices.sizes(), " must have the input's shape ", x.sizes());
  if (unbatched_image(x)) return squeeze(max_unpool2d(unsqueeze(x, 0), unsqueeze(indices, 0), output_size), 0);
  CAKE_CHECK(x.dim() == 4, "max_unpool2d: expected an input of shape [N, C, H, W] (or one unbatched [C, H, W]), got ",
             x.sizes());
  CAKE_CHECK(indices.dtype() == kInt64, "max_unpool2d: indices must be int64 (as max_pool2d_with_indices gives), got ",
             dtype_name(indices.dtype()));
  CAKE_CHECK(output_size[0] > 0 && output_size[1] > 0, "max_unpool2d: output_size (", output_size[0], ", ",
             output_size[1], ") must be positive");
  const std::int64_t n = x.size(0), c = x.size(1), plane = output_size[0] * output_size[1];
  if (indices.numel() > 0) {
    // One reduction and a read back to the host: an index outside the plane is the caller's
    // mistake (indices of another pooling, a wrong output_size), and scatter would only say "out of range".
    const std::int64_t lowest = amin(indices).item<std::int64_t>(), highest = amax(indices).item<std::int64_t>();
    CAKE_CHECK(lowest >= 0 && highest < plane, "max_unpool2d: index ", lowest < 0 ? lowest : highest,
               " is outside the output plane of ", output_size[0], " x ", output_size[1], " = ", plane,
               " positions (the indices must come from max_pool2d_with_indices of an input of that size)");
  }
  const Tensor flat_x = reshape(x, {n, c, -1}), flat_indices = reshape(indices, {n, c, -1});
  const Tensor plane_of_zeros = zeros({n, c, plane}, TensorOptions(x.dtype(), x.device()));
  return reshape(scatter(plane_of_zeros, 2, flat_indices, flat_x), {n, c, output_size[0], output_size[1]});
}

// Each window's gradient is spread evenly over the elements it averaged.
Tensor avg_pool2d(const Tensor& x, const Pool2dParams& p) {
  if (unbatched_image(x)) return as_batch_of_one(x, [&](const Tensor& batch) { return avg_pool2d(batch, p); });
  const native::PoolGeometry g = native::pool2d_geometry(x.sizes(), pool_options(p), "avg_pool2d");
  Tensor y = native::avg_pool2d(x, g);
  if (needs_grad({x})) {
    record("AvgPool2dBackward", {x}, {y}, [g, p](const TensorList& grads) {
      Tensor gx = native::avg_pool2d_backward(grads[0], g);
      // Recorded (create_graph): a linear map of the gradient, whose adjoint is the pooling itself.
      if (needs_grad({grads[0]}))
        record("AvgPool2dBackwardBackward", {grads[0]}, {gx},
               [p](const TensorList& gg) { return TensorList{avg_pool2d(gg[0], p)}; });
      return TensorList{gx};
    });
  }
  return y;
}

Tensor adaptive_avg_pool2d(const Tensor& x, Pair output_size) {
  if (unbatched_image(x))
    return as_batch_of_one(x, [&](const Tensor& batch) { return adaptive_avg_pool2d(batch, output_size); });
  const native::PoolGeometry g = native::adaptive_pool2d_geometry(x.sizes(), output_size, "adaptive_avg_pool2d");
  Tensor y = native::adaptive_avg_pool2d(x, g);
  if (needs_grad({x})) {
    record("AdaptiveAvgPool2dBackward", {x}, {y}, [g, output_size](const TensorList& grads) {
      Tensor gx = native::adaptive_avg_pool2d_backward(grads[0], g);
      // Recorded (create_graph): the adjoint of this linear map is the pooling itself.
      if (needs_grad({grads[0]}))
        record("AdaptiveAvgPool2dBackwardBackward", {grads[0]}, {gx},
               [output_size](const TensorList& gg) { return TensorList{adaptive_avg_pool2d(gg[0], output_size)}; });
      return TensorList{gx};
    });
  }
  return y;
}

// ---- normalisation --------------------------------------------------------------------------
namespace {
// [C] -> [1, C, 1, ...] to broadcast over an input of rank `rank`.
Tensor per_channel(const Tensor& v, std::int64_t rank) {
  Shape shape(static_cast<std::size_t>(rank), 1);
  shape[1] = v.numel();
  return reshape(v, shape);
}

// Evaluation mode: the running statistics are constants, so batch norm is the affine map
//   y = x * scale + shift,  scale = weight / sqrt(running_var + eps),  shift = bias - running_mean * scale,
// written with differentiable ops (gradients reach x, weight and bias through it).
Tensor batch_norm_eval(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                       const Tensor& running_var, double eps) {
  const std::int64_t channels = x.sizes()[1];
  CAKE_CHECK(running_mean.defined() && running_var.defined(),
             "batch_norm: evaluation mode (training=false) needs running_mean and running_var");
  for (const Tensor* t : {&running_mean, &running_var, &weight, &bias})
    CAKE_CHECK(!t->defined() || t->sizes() == Shape{channels}, "batch_norm: expected per-channel tensors of shape [",
               channels, "] for an input of shape ", x.sizes(), ", got ", t->sizes());
  const Tensor inv_std = native::unary(
      native::UnaryOp::Rsqrt, native::binary(native::BinaryOp::Add, native::to_dtype(running_var, x.dtype()), eps));
  const Tensor mean = native::to_dtype(running_mean, x.dtype());
  Tensor scale = weight.defined() ? weight * inv_std : inv_std;
  Tensor shift = bias.defined() ? bias - mean * scale : -(mean * scale);
  return x * per_channel(scale, x.dim()) + per_channel(shift, x.dim());
}
}  // namespace

Tensor batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                  const Tensor& running_var, bool training, double momentum, double eps) {
  CAKE_CHECK(x.dim() >= 2, "batch_norm: expected an input of shape [N, C, ...], got ", x.sizes());
  if (!training) return batch_norm_eval(x, weight, bias, running_mean, running_var, eps);
  native::BatchNormResult r = native::batch_norm_training(x, weight, bias, running_mean, running_var, momentum, eps);
  if (needs_grad({x, weight, bias})) {
    const bool need_x = wants_grad(x), need_w = wants_grad(weight), need_b = wants_grad(bias);
    // xhat depends on x through the batch mean and variance, so backward reads x, mean, invstd.
    record("BatchNormBackward", {x, weight, bias}, {r.output},
           [need_x, need_w, need_b, eps, sx = SavedTensor(x), sw = save_if(need_x, weight), mean = r.mean,
            invstd = r.invstd](const TensorList& grads) {
             autograd::check_double_backward("batch_norm (training)");
             native::BatchNormGrads gr =
                 native::batch_norm_backward(grads[0], sx.get(), sw.get(), mean, invstd, eps, need_x, need_w, need_b);
             return TensorList{gr.grad_x, gr.grad_weight, gr.grad_bias};
           });
  }
  return r.output;
}

// y = (x - mean) / sqrt(var + eps) * weight + bias over the trailing dims (Ba, Kiros & Hinton
// 2016), var biased as in PyTorch. A composite: mean, var and rsqrt carry the gradient.
Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight, const Tensor& bias,
                  double eps) {
  const auto k = static_cast<std::int64_t>(normalized_shape.size());
  CAKE_CHECK(k >= 1 && x.dim() >= k && Shape(x.sizes().end() - k, x.sizes().end()) == normalized_shape,
             "layer_norm: normalized_shape ", normalized_shape, " must be the trailing dims of the input shape ",
             x.sizes());
  for (const Tensor* t : {&weight, &bias})
    CAKE_CHECK(!t->defined() || t->sizes() == normalized_shape, "layer_norm: weight and bias must have shape ",
               normalized_shape, ", got ", t->sizes());
  CAKE_CHECK(eps >= 0, "layer_norm: eps must be non-negative, got ", eps);
  Shape dims;
  for (std::int64_t d = x.dim() - k; d < x.dim(); ++d) dims.push_back(d);
  Tensor centred = x - mean(x, dims, true);
  Tensor y = centred * rsqrt(mean(centred * centred, dims, true) + eps);
  if (weight.defined()) y = y * weight;
  if (bias.defined()) y = y + bias;
  return y;
}

// ---- softmax --------------------------------------------------------------------------------
// d softmax: gx = y * (g - sum(g * y)); d log_softmax: gx = g - softmax * sum(g). Both read the
// saved output y only.
Tensor softmax(const Tensor& x, std::int64_t dim) {
  Tensor y = native::softmax(x, dim);
  if (needs_grad({x})) {
    record("SoftmaxBackward", {x}, {y}, [dim, sy = SavedTensor(y)](const TensorList& grads) {
      if (autograd::create_graph_active()) {  // the same formula, recorded
        const Tensor yv = sy.get();
        return TensorList{yv * (grads[0] - sum(grads[0] * yv, {dim}, true))};
      }
      return TensorList{native::softmax_backward(grads[0], sy.get(), dim)};
    });
  }
  return y;
}

Tensor log_softmax(const Tensor& x, std::int64_t dim) {
  Tensor y = native::log_softmax(x, dim);
  if (needs_grad({x})) {
    record("LogSoftmaxBackward", {x}, {y}, [dim, sy = SavedTensor(y)](const TensorList& grads) {
      if (autograd::create_graph_active())  // the same formula, recorded
        return TensorList{grads[0] - exp(sy.get()) * sum(grads[0], {dim}, true)};
      return TensorList{native::log_softmax_backward(grads[0], sy.get(), dim)};
    });
  }
  return y;
}

}  // namespace cake
