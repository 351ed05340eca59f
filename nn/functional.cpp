// functional.cpp: nn::functional's activations, layer functions and similarities. Each is a
// thin composition of autograd ops (ops.h, nn_ops.h), so its gradient comes for free.
#include "cake/nn/functional.h"

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <limits>
#include <string>
#include <vector>

#include "cake/autograd/grad_mode.h"
#include "cake/autograd/ops.h"
#include "cake/tensor/creation.h"
#include "cake/tensor/native/elementwise.h"
#include "cake/tensor/native/view.h"

namespace cake::nn::functional {

// ---- activations -----------------------------------------------------------------------------
Tensor relu(const Tensor& x) { return cake::relu(x); }
Tensor leaky_relu(const Tensor& x, double negative_slope) { return cake::leaky_relu(x, negative_slope); }
Tensor elu(const Tensor& x, double alpha) { return cake::elu(x, alpha); }
Tensor gelu(const Tensor& x) { return cake::gelu(x); }
Tensor sigmoid(const Tensor& x) { return cake::sigmoid(x); }
Tensor tanh(const Tensor& x) { return cake::tanh(x); }
Tensor softmax(const Tensor& x, std::int64_t dim) { return cake::softmax(x, dim); }
Tensor log_softmax(const Tensor& x, std::int64_t dim) { return cake::log_softmax(x, dim); }

namespace {
// log(1 + e^x) = max(x, 0) + log(1 + e^-|x|): the exponent is never positive, so no overflow,
// and log1p keeps precision when e^-|x| is tiny. Written with a constant mask p = [x > 0] as
// x p + log1p(e^{x (1 - 2p)}) so that the gradient is sigmoid(x) everywhere: with relu and abs,
// both kinks sit at x = 0 and their zero subgradients there gave 0 instead of 1/2.
Tensor stable_softplus(const Tensor& x) {
  const Tensor p = x.detach().gt(0.0).to(x.dtype());
  return x * p + (x * (1.0 - 2.0 * p)).exp().log1p();
}
}  // namespace

// PyTorch's softplus returns x itself where beta x > threshold; logsigmoid, mish and the losses
// use the stable form without the cut-off, as PyTorch's do.
Tensor softplus(const Tensor& x, double beta, double threshold) {
  CAKE_CHECK(beta != 0.0, "softplus: beta must not be 0");
  const Tensor scaled = x * beta;
  return where(scaled.detach().gt(threshold), x, stable_softplus(scaled) / beta);
}
Tensor logsigmoid(const Tensor& x) { return -stable_softplus(-x); }
Tensor silu(const Tensor& x) { return cake::silu(x); }

// max(0, x) + a min(0, x) = relu(x) - a relu(-x), with a broadcast along the channels (dim 1).
Tensor prelu(const Tensor& x, const Tensor& weight) {
  CAKE_CHECK(weight.dim() == 1 && weight.numel() >= 1, "prelu: weight must be [num_parameters], got shape ",
             weight.sizes());
  Tensor slope = weight;
  if (weight.numel() > 1) {
    CAKE_CHECK(x.dim() >= 2 && x.size(1) == weight.numel(), "prelu: weight of shape ", weight.sizes(),
               " holds one slope per channel, but the input of shape ", x.sizes(),
               " does not have that many channels in dim 1");
    Shape along_channels(static_cast<std::size_t>(x.dim()), 1);
    along_channels[1] = weight.numel();
    slope = weight.reshape(along_channels);
  }
  return x.relu() - slope * (-x).relu();
}

Tensor mish(const Tensor& x) { return x * stable_softplus(x).tanh(); }

Tensor hardtanh(const Tensor& x, double min_val, double max_val) {
  CAKE_CHECK(min_val <= max_val, "hardtanh: min_val (", min_val, ") must not exceed max_val (", max_val, ")");
  return x.clamp(min_val, max_val);
}
Tensor relu6(const Tensor& x) { return hardtanh(x, 0.0, 6.0); }

Tensor softsign(const Tensor& x) { return x / (x.abs() + 1.0); }

Tensor selu(const Tensor& x) {
  constexpr double alpha = 1.6732632423543772848170429916717, scale = 1.0507009873554804934193349852946;
  return cake::elu(x, alpha) * scale;
}

Tensor celu(const Tensor& x, double alpha) {
  CAKE_CHECK(alpha != 0.0, "celu: alpha must not be 0");
  return cake::elu(x / alpha, 1.0) * alpha;
}

Tensor hardsigmoid(const Tensor& x) { return relu6(x + 3.0) / 6.0; }
Tensor hardswish(const Tensor& x) { return x * hardsigmoid(x); }

Tensor rrelu(const Tensor& x, double lower, double upper, bool training) {
  CAKE_CHECK(0.0 <= lower && lower <= upper, "rrelu: expected 0 <= lower <= upper, got lower ", lower, " and upper ",
             upper);
  if (!training) return functional::leaky_relu(x, (lower + upper) / 2.0);
  Tensor slopes = empty(x.sizes(), TensorOptions(x.dtype(), x.device()));
  slopes.uniform_(lower, upper);  // a constant for autograd: the gradient of a x in x is a
  return where(x.detach().ge(0.0), x, x * slopes);
}

Tensor softmin(const Tensor& x, std::int64_t dim) { return cake::softmax(-x, dim); }

Tensor glu(const Tensor& x, std::int64_t dim) {
  CAKE_CHECK(x.dim() > 0, "glu: expected an input with at least one dim, got a scalar");
  const std::int64_t d = dim < 0 ? dim + x.dim() : dim;
  CAKE_CHECK(d >= 0 && d < x.dim(), "glu: dim ", dim, " is out of range for an input of shape ", x.sizes());
  const std::int64_t size = x.size(d);
  CAKE_CHECK(size % 2 == 0, "glu: dim ", dim, " of the input of shape ", x.sizes(), " has odd size ", size,
             "; it is cut into two halves");
  return x.narrow(d, 0, size / 2) * cake::sigmoid(x.narrow(d, size / 2, size / 2));
}

Tensor threshold(const Tensor& x, double threshold, double value) {
  return where(x.detach().gt(threshold), x, full_like(x, value));
}

Tensor tanhshrink(const Tensor& x) { return x - cake::tanh(x); }

Tensor softshrink(const Tensor& x, double lambd) {
  CAKE_CHECK(lambd >= 0.0, "softshrink: lambd must be non-negative, got ", lambd);
  return x - x.clamp(-lambd, lambd);
}

Tensor hardshrink(const Tensor& x, double lambd) {
  CAKE_CHECK(lambd >= 0.0, "hardshrink: lambd must be non-negative, got ", lambd);
  return where(x.detach().abs().gt(lambd), x, zeros_like(x));
}

// ---- layers ----------------------------------------------------------------------------------
// y[m, o] = sum_ij x1[m, i] W[o, i, j] x2[m, j]: one GEMM, x1 [M, in1] times W laid out as
// [in1, out in2], gives t[m, o, j] = sum_i x1[m, i] W[o, i, j]; then sum_j t[m, o, j] x2[m, j].
Tensor bilinear(const Tensor& x1, const Tensor& x2, const Tensor& weight, const Tensor& bias) {
  CAKE_CHECK(weight.dim() == 3, "bilinear: weight must be [out_features, in1_features, in2_features], got shape ",
             weight.sizes());
  const std::int64_t out = weight.size(0), in1 = weight.size(1), in2 = weight.size(2);
  CAKE_CHECK(x1.dim() >= 1 && x2.dim() >= 1 && x1.size(-1) == in1 && x2.size(-1) == in2, "bilinear: inputs of shapes ",
             x1.sizes(), " and ", x2.sizes(), " must end in ", in1, " and ", in2, " (weight shape ", weight.sizes(), ")");
  Shape leading = x1.sizes();
  leading.pop_back();
  Shape leading2 = x2.sizes();
  leading2.pop_back();
  CAKE_CHECK(leading == leading2, "bilinear: inputs of shapes ", x1.sizes(), " and ", x2.sizes(),
             " must agree in every dim but the last");
  CAKE_CHECK(!bias.defined() || bias.sizes() == Shape{out}, "bilinear: bias must be [", out, "], got shape ",
             bias.sizes());
  const Tensor a = x1.reshape({-1, in1}), b = x2.reshape({-1, in2});
  const Tensor t = matmul(a, weight.permute({1, 0, 2}).reshape({in1, out * in2})).reshape({-1, out, in2});
  Tensor y = (t * b.unsqueeze(1)).sum({2});
  if (bias.defined()) y = y + bias;
  leading.push_back(out);
  return y.reshape(leading);
}

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  CAKE_CHECK(weight.dim() == 2, "linear: weight must be [out_features, in_features], got shape ", weight.sizes());
  CAKE_CHECK(x.dim() >= 1 && x.size(-1) == weight.size(1), "linear: input of shape ", x.sizes(),
             " does not end in in_features = ", weight.size(1), " (weight shape ", weight.sizes(), ")");
  // A matrix input with a bias is one GEMM with the bias as its accumulator: b + x W^T.
  if (x.dim() == 2 && bias.defined()) return addmm(bias, x, weight.t());
  Tensor y = matmul(x, weight.t());
  return bias.defined() ? y + bias : y;
}

Conv2dParams to_params(const Conv2dFuncOptions& o) {
  return {.stride = {o.stride, o.stride}, .padding = {o.padding, o.padding}, .dilation = {o.dilation, o.dilation},
          .groups = o.groups};
}

ConvTranspose2dParams to_params(const ConvTranspose2dFuncOptions& o) {
  return {.stride = {o.stride, o.stride},
          .padding = {o.padding, o.padding},
          .output_padding = {o.output_padding, o.output_padding},
          .dilation = {o.dilation, o.dilation},
          .groups = o.groups};
}

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dFuncOptions& options) {
  return cake::conv2d(x, weight, bias, to_params(options));
}

Tensor conv_transpose2d(const Tensor& x, const Tensor& weight, const Tensor& bias,
                        const ConvTranspose2dFuncOptions& options) {
  return cake::conv_transpose2d(x, weight, bias, to_params(options));
}

static Pool2dParams square_pool(std::int64_t kernel, std::optional<std::int64_t> stride, std::int64_t padding,
                                bool ceil_mode, bool count_include_pad) {
  Pool2dParams p{.kernel = {kernel, kernel}, .stride = std::nullopt, .padding = {padding, padding}, .ceil_mode = ceil_mode,
                 .count_include_pad = count_include_pad};
  if (stride) p.stride = Pair{*stride, *stride};
  return p;
}

Tensor max_pool2d(const Tensor& x, std::int64_t kernel_size, std::optional<std::int64_t> stride, std::int64_t padding,
                  bool ceil_mode) {
  return cake::max_pool2d(x, square_pool(kernel_size, stride, padding, ceil_mode, true));
}

Tensor avg_pool2d(const Tensor& x, std::int64_t kernel_size, std::optional<std::int64_t> stride, std::int64_t padding,
                  bool ceil_mode, bool count_include_pad) {
  return cake::avg_pool2d(x, square_pool(kernel_size, stride, padding, ceil_mode, count_include_pad));
}

Tensor adaptive_avg_pool2d(const Tensor& x, Pair output_size) { return cake::adaptive_avg_pool2d(x, output_size); }

// NOTE [ 1-D layers as 2-D layers of height one ]
// A sequence batch [N, C, L] is an image batch [N, C, 1, L], and a window of k positions is a
// 1 x k window whose height settings are the identity ones (stride 1, padding 0, dilation 1).
// So conv1d, conv_transpose1d and the 1-D pools run their 2-D op on that view and drop the
// height again, and need no kernels of their own: the 2-D ops run on oneDNN (CPU) and cuDNN
// (CUDA), and the 1-D layers get the same fast path on both devices. unsqueeze and squeeze are
// views whose backward reshapes the gradient, so the gradients are the 2-D ops' as well.
namespace {

// A batch of sequences is [N, C, L]; one unbatched [C, L] was made a batch of one before this.
void check_sequence_batch(const char* op, const Tensor& x) {
  CAKE_CHECK(x.dim() == 3, op, ": expected an input of shape [N, C, L] (or one unbatched [C, L]), got ", x.sizes());
}

// Runs `as_2d` on x [N, C, L] viewed as [N, C, 1, L] and returns its [N, C', 1, L'] result as
// [N, C', L']. A 2-D error is passed on with the 1-D op's name and the view it ran on.
template <class Op2d>
Tensor on_height_one(const char* op, const Tensor& x, Op2d&& as_2d) {
  check_sequence_batch(op, x);
  const Tensor image = x.unsqueeze(2);
  try {
    return as_2d(image).squeeze(2);
  } catch (const Error& e) {
    CAKE_FAIL(op, " (run as its 2-D form on the input viewed as ", image.sizes(), "): ", e.what());
  }
}

// One unbatched sequence [C, L], which PyTorch's 1-D layers take too, runs as a batch of one.
bool unbatched_sequence(const Tensor& x) { return x.defined() && x.dim() == 2; }

// The weight's rank and channels, named with the 1-D shapes (before the 2-D op sees 4-D ones).
// The input channels the weight expects: groups times its dim 1 for conv1d, its dim 0 for
// conv_transpose1d.
void check_conv1d_weight(const char* op, const Tensor& x, const Tensor& weight, const char* layout,
                         std::int64_t groups, bool transposed) {
  check_sequence_batch(op, x);
  CAKE_CHECK(weight.dim() == 3, op, ": expected a 3-D weight ", layout, ", got shape ", weight.sizes(),
             " (input shape ", x.sizes(), ")");
  CAKE_CHECK(groups >= 1, op, ": groups must be positive, got ", groups);
  const std::int64_t in_channels = transposed ? weight.size(0) : weight.size(1) * groups;
  CAKE_CHECK(x.size(1) == in_channels, op, ": input of shape ", x.sizes(), " has ", x.size(1),
             " channels, but weight of shape ", weight.sizes(), " with groups=", groups, " expects ", in_channels);
}

// A 1-D window of `kernel` positions as a 1 x kernel window; the stride defaults to the kernel.
Pool2dParams window_of_height_one(std::int64_t kernel, std::optional<std::int64_t> stride, std::int64_t padding,
                                  bool ceil_mode, bool count_include_pad) {
  return {.kernel = {1, kernel}, .stride = Pair{1, stride.value_or(kernel)}, .padding = {0, padding},
          .ceil_mode = ceil_mode, .count_include_pad = count_include_pad};
}

}  // namespace

Tensor conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv1dFuncOptions& o) {
  if (unbatched_sequence(x))
    return cake::detail::as_batch_of_one(x, [&](const Tensor& batch) { return conv1d(batch, weight, bias, o); });
  check_conv1d_weight("conv1d", x, weight, "[C_out, C_in / groups, k]", o.groups, /*transposed=*/false);
  const Conv2dParams params{.stride = {1, o.stride}, .padding = {0, o.padding}, .dilation = {1, o.dilation},
                            .groups = o.groups};
  return on_height_one("conv1d", x,
                       [&](const Tensor& image) { return cake::conv2d(image, weight.unsqueeze(2), bias, params); });
}

Tensor conv_transpose1d(const Tensor& x, const Tensor& weight, const Tensor& bias,
                        const ConvTranspose1dFuncOptions& o) {
  if (unbatched_sequence(x))
    return cake::detail::as_batch_of_one(x, [&](const Tensor& batch) { return conv_transpose1d(batch, weight, bias, o); });
  check_conv1d_weight("conv_transpose1d", x, weight, "[C_in, C_out / groups, k]", o.groups, /*transposed=*/true);
  // The height's output padding stays 0: with stride 1 the 1 x k window already restores height 1.
  const ConvTranspose2dParams params{.stride = {1, o.stride}, .padding = {0, o.padding},
                                     .output_padding = {0, o.output_padding}, .dilation = {1, o.dilation},
                                     .groups = o.groups};
  return on_height_one("conv_transpose1d", x, [&](const Tensor& image) {
    return cake::conv_transpose2d(image, weight.unsqueeze(2), bias, params);
  });
}

Tensor max_pool1d(const Tensor& x, std::int64_t kernel_size, std::optional<std::int64_t> stride, std::int64_t padding,
                  bool ceil_mode) {
  if (unbatched_sequence(x))
    return cake::detail::as_batch_of_one(
        x, [&](const Tensor& batch) { return max_pool1d(batch, kernel_size, stride, padding, ceil_mode); });
  const Pool2dParams window = window_of_height_one(kernel_size, stride, padding, ceil_mode, true);
  return on_height_one("max_pool1d", x, [&](const Tensor& image) { return cake::max_pool2d(image, window); });
}

Tensor avg_pool1d(const Tensor& x, std::int64_t kernel_size, std::optional<std::int64_t> stride, std::int64_t padding,
                  bool ceil_mode, bool count_include_pad) {
  if (unbatched_sequence(x))
    return cake::detail::as_batch_of_one(x, [&](const Tensor& batch) {
      return avg_pool1d(batch, kernel_size, stride, padding, ceil_mode, count_include_pad);
    });
  const Pool2dParams window = window_of_height_one(kernel_size, stride, padding, ceil_mode, count_include_pad);
  return on_height_one("avg_pool1d", x, [&](const Tensor& image) { return cake::avg_pool2d(image, window); });
}

// PyTorch's lp_pool: out = avg_pool(x^p) over the window; (sign(out) relu(|out|) k)^(1/p), where
// sign() relu(|.|) is out itself in value (it keeps a negative average of an odd power negative).
Tensor lp_pool2d(const Tensor& x, double norm_type, std::int64_t kernel_size, std::optional<std::int64_t> stride,
                 bool ceil_mode) {
  CAKE_CHECK(norm_type > 0.0, "lp_pool2d: norm_type must be positive, got ", norm_type);
  const Tensor averaged = avg_pool2d(x.pow(norm_type), kernel_size, stride, 0, ceil_mode);
  return (averaged * static_cast<double>(kernel_size * kernel_size)).pow(1.0 / norm_type);
}

Tensor lp_pool1d(const Tensor& x, double norm_type, std::int64_t kernel_size, std::optional<std::int64_t> stride,
                 bool ceil_mode) {
  CAKE_CHECK(norm_type > 0.0, "lp_pool1d: norm_type must be positive, got ", norm_type);
  const Tensor averaged = avg_pool1d(x.pow(norm_type), kernel_size, stride, 0, ceil_mode);
  return (averaged * static_cast<double>(kernel_size)).pow(1.0 / norm_type);
}

Tensor adaptive_avg_pool1d(const Tensor& x, std::int64_t output_size) {
  if (unbatched_sequence(x))
    return cake::detail::as_batch_of_one(x, [&](const Tensor& batch) { return adaptive_avg_pool1d(batch, output_size); });
  return on_height_one("adaptive_avg_pool1d", x,
                       [&](const Tensor& image) { return cake::adaptive_avg_pool2d(image, Pair{1, output_size}); });
}

namespace {

// PyTorch's adaptive windows along one axis of size `in`: cell i of `out` covers positions
// [floor(i in / out), ceil((i + 1) in / out)). They are listed as `out` rows of `widest`
// positions, each window padded by repeating its last position: a repeat changes neither the
// maximum nor the first position that reaches it.
struct AdaptiveWindows {
  Tensor positions;  // int64 [out * widest]
  std::int64_t widest = 0;
};
AdaptiveWindows adaptive_windows(std::int64_t in, std::int64_t out) {
  auto start = [&](std::int64_t i) { return i * in / out; };
  auto end = [&](std::int64_t i) { return ((i + 1) * in + out - 1) / out; };
  std::int64_t widest = 0;
  for (std::int64_t i = 0; i < out; ++i) widest = std::max(widest, end(i) - start(i));
  std::vector<std::int64_t> positions;
  for (std::int64_t i = 0; i < out; ++i)
    for (std::int64_t k = 0; k < widest; ++k) positions.push_back(std::min(start(i) + k, end(i) - 1));
  return {tensor(positions, {out * widest}, kInt64), widest};
}

// Adaptive max pooling along dim d: every window gathered (index_select) into a row of its own
// dim, then the row's maximum (max's gradient goes to the first maximal position, as PyTorch's).
Tensor adaptive_max_along(const Tensor& x, std::int64_t d, std::int64_t out) {
  const AdaptiveWindows windows = adaptive_windows(x.size(d), out);
  const Tensor gathered = index_select(x, d, windows.positions.to(x.device()));
  Shape cells = gathered.sizes();
  cells[static_cast<std::size_t>(d)] = out;
  cells.insert(cells.begin() + d + 1, windows.widest);
  return cake::max(gathered.reshape(cells), d + 1).first;
}

}  // namespace

Tensor adaptive_max_pool2d(const Tensor& x, Pair output_size) {
  CAKE_CHECK(x.dim() == 3 || x.dim() == 4, "adaptive_max_pool2d: expected input [N, C, H, W] or [C, H, W], got shape ",
             x.sizes());
  const std::int64_t h = x.dim() - 2, w = x.dim() - 1;
  CAKE_CHECK(output_size[0] > 0 && output_size[1] > 0 && x.size(h) > 0 && x.size(w) > 0,
             "adaptive_max_pool2d: output_size (", output_size[0], ", ", output_size[1],
             ") and the input's H and W must be positive, got input shape ", x.sizes());
  // W first, then H: the first maximal row is then the first row holding the window's maximum,
  // and in it the first maximal column: the first maximum in row-major order.
  return adaptive_max_along(adaptive_max_along(x, w, output_size[1]), h, output_size[0]);
}

Tensor adaptive_max_pool1d(const Tensor& x, std::int64_t output_size) {
  if (unbatched_sequence(x))
    return cake::detail::as_batch_of_one(x, [&](const Tensor& batch) { return adaptive_max_pool1d(batch, output_size); });
  check_sequence_batch("adaptive_max_pool1d", x);
  CAKE_CHECK(output_size > 0 && x.size(2) > 0, "adaptive_max_pool1d: output_size (", output_size,
             ") and the input's length must be positive, got input shape ", x.sizes());
  return adaptive_max_along(x, 2, output_size);
}

// ---- max pooling's indices, and unpooling ----------------------------------------------------
// The 1-D forms run the 2-D ones on x viewed with a height of one (NOTE [ 1-D layers as 2-D
// layers of height one ]): in a [1, L] plane the flat position of l is l itself.
namespace {

void check_pooled_rank(const char* op, const Tensor& x, std::int64_t batched_rank, const char* layout) {
  CAKE_CHECK(x.dim() == batched_rank || x.dim() == batched_rank - 1, op, ": expected an input of shape ", layout,
             " (or one unbatched sample without N), got ", x.sizes());
}

// The size of one axis that unpooling restores: the pooling's input size that maps to `in`.
// Without ceil_mode that is (in - 1) stride - 2 padding + kernel; a pooling that dropped a
// remainder came from up to stride - 1 more, so a requested size is taken from the open range
// (default - stride, default + stride), PyTorch's bounds.
std::int64_t unpooled_size(const char* op, std::int64_t in, std::int64_t kernel, std::int64_t stride,
                           std::int64_t padding, std::optional<std::int64_t> requested) {
  CAKE_CHECK(kernel > 0 && stride > 0 && padding >= 0, op, ": kernel_size (", kernel, ") and stride (", stride,
             ") must be positive and padding (", padding, ") not negative");
  const std::int64_t default_size = (in - 1) * stride - 2 * padding + kernel;
  if (!requested) return default_size;
  CAKE_CHECK(*requested > default_size - stride && *requested < default_size + stride, op, ": output_size ",
             *requested, " cannot come from this pooling: an input of ", in, " positions unpools to more than ",
             default_size - stride, " and fewer than ", default_size + stride, " (kernel_size ", kernel, ", stride ",
             stride, ", padding ", padding, ")");
  return *requested;
}

// The requested size of the axis `from_end` places before the end of output_size, if any.
std::optional<std::int64_t> requested_size(const char* op, const Shape& output_size, std::size_t spatial_dims,
                                           std::size_t from_end) {
  if (output_size.empty()) return std::nullopt;
  CAKE_CHECK(output_size.size() >= spatial_dims, op, ": output_size ", output_size, " needs at least ", spatial_dims,
             " entries (its last ones are the spatial sizes)");
  return output_size[output_size.size() - from_end];
}

}  // namespace

std::tuple<Tensor, Tensor> max_pool2d_with_indices(const Tensor& x, const MaxPool2dFuncOptions& o) {
  check_pooled_rank("max_pool2d_with_indices", x, 4, "[N, C, H, W]");
  Pool2dParams params{.kernel = {o.kernel_size, o.kernel_size}, .padding = {o.padding, o.padding}, .ceil_mode = o.ceil_mode};
  if (o.stride()) params.stride = Pair{*o.stride(), *o.stride()};
  return cake::max_pool2d_with_indices(x, params);
}

std::tuple<Tensor, Tensor> max_pool1d_with_indices(const Tensor& x, const MaxPool1dFuncOptions& o) {
  check_pooled_rank("max_pool1d_with_indices", x, 3, "[N, C, L]");
  const Pool2dParams window = window_of_height_one(o.kernel_size, o.stride, o.padding, o.ceil_mode, true);
  const auto [y, indices] = cake::max_pool2d_with_indices(x.unsqueeze(-2), window);
  return {y.squeeze(-2), indices.squeeze(-2)};
}

Tensor max_unpool2d(const Tensor& x, const Tensor& indices, const MaxUnpool2dFuncOptions& o) {
  const char* op = "max_unpool2d";
  check_pooled_rank(op, x, 4, "[N, C, H, W]");
  const std::int64_t stride = o.stride().value_or(o.kernel_size);
  const Pair size{unpooled_size(op, x.size(-2), o.kernel_size, stride, o.padding, requested_size(op, o.output_size, 2, 2)),
                  unpooled_size(op, x.size(-1), o.kernel_size, stride, o.padding, requested_size(op, o.output_size, 2, 1))};
  return cake::max_unpool2d(x, indices, size);
}

Tensor max_unpool1d(const Tensor& x, const Tensor& indices, const MaxUnpool1dFuncOptions& o) {
  const char* op = "max_unpool1d";
  check_pooled_rank(op, x, 3, "[N, C, L]");
  const std::int64_t length = unpooled_size(op, x.size(-1), o.kernel_size, o.stride().value_or(o.kernel_size),
                                            o.padding, requested_size(op, o.output_size, 1, 1));
  CAKE_CHECK(indices.defined() && indices.sizes() == x.sizes(), op, ": indices of shape ", indices.sizes(),
             " must have the input's shape ", x.sizes());
  return cake::max_unpool2d(x.unsqueeze(-2), indices.unsqueeze(-2), {1, length}).squeeze(-2);
}

Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                  const Tensor& bias, bool training, double momentum, double eps) {
  return cake::batch_norm(x, weight, bias, running_mean, running_var, training, momentum, eps);
}

Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight, const Tensor& bias,
                  double eps) {
  return cake::layer_norm(x, normalized_shape, weight, bias, eps);
}

namespace {

// The shape [1, C, 1, ...] of x's rank, in which a per-channel vector broadcasts over x [N, C, *].
Shape per_channel_shape(const Tensor& x) {
  Shape shape(static_cast<std::size_t>(x.dim()), 1);
  shape[1] = x.size(1);
  return shape;
}

// Throws unless each defined tensor is a vector of x's C channels (dim 1).
void check_per_channel(const char* op, const Tensor& x, std::initializer_list<const Tensor*> tensors,
                       const char* what) {
  for (const Tensor* t : tensors)
    if (t->defined())
      CAKE_CHECK(t->sizes() == Shape{x.size(1)}, op, ": ", what, " must have shape [", x.size(1), "] for input ",
                 x.sizes(), ", got ", t->sizes());
}

// y weight[c] + bias[c] for y [N, C, *], either of them undefined for none.
Tensor per_channel_affine(Tensor y, const Tensor& weight, const Tensor& bias) {
  const Shape channel_shape = per_channel_shape(y);
  if (weight.defined()) y = y * weight.reshape(channel_shape);
  if (bias.defined()) y = y + bias.reshape(channel_shape);
  return y;
}

// Each row of rows [N, G, M] normalised by its own mean and biased variance (Wu & He 2018,
// eq. 1-2; Ulyanov et al. 2016, eq. 2, with one channel per row). The statistics [N, G, 1] are
// returned too, for the running statistics of instance norm.
struct NormalisedRows {
  Tensor y, mean, variance;
};
NormalisedRows normalise_rows(const Tensor& rows, double eps) {
  const Tensor mean = rows.mean({2}, true);
  const Tensor centred = rows - mean;
  const Tensor variance = (centred * centred).mean({2}, true);
  return {centred * (variance + eps).rsqrt(), mean, variance};
}

}  // namespace

Tensor group_norm(const Tensor& x, std::int64_t num_groups, const Tensor& weight, const Tensor& bias, double eps) {
  CAKE_CHECK(x.dim() >= 2, "group_norm: expected input [N, C, *], got shape ", x.sizes());
  const std::int64_t n = x.size(0), c = x.size(1);
  CAKE_CHECK(num_groups > 0 && c % num_groups == 0, "group_norm: ", c, " channels (input shape ", x.sizes(),
             ") cannot be split into ", num_groups, " groups");
  check_per_channel("group_norm", x, {&weight, &bias}, "weight and bias");
  // Each (sample, group) is one row; the affine map is per channel (eq. 3).
  const Tensor y = normalise_rows(x.reshape({n, num_groups, -1}), eps).y.reshape(x.sizes());
  return per_channel_affine(y, weight, bias);
}

Tensor instance_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                     const Tensor& bias, bool use_input_stats, double momentum, double eps) {
  CAKE_CHECK(x.dim() >= 3, "instance_norm: expected input [N, C, *] with at least one spatial dim, got shape ",
             x.sizes());
  check_per_channel("instance_norm", x, {&weight, &bias}, "weight and bias");
  check_per_channel("instance_norm", x, {&running_mean, &running_var}, "running_mean and running_var");
  CAKE_CHECK(running_mean.defined() == running_var.defined(),
             "instance_norm: give both running_mean and running_var, or neither");
  if (!use_input_stats) {
    CAKE_CHECK(running_mean.defined(), "instance_norm: use_input_stats = false needs running_mean and running_var");
    const Shape channel_shape = per_channel_shape(x);
    const Tensor y = (x - running_mean.reshape(channel_shape)) * (running_var.reshape(channel_shape) + eps).rsqrt();
    return per_channel_affine(y, weight, bias);
  }
  const std::int64_t n = x.size(0), c = x.size(1);
  const Tensor rows = x.reshape({n, c, -1});
  const std::int64_t positions = rows.size(2);
  CAKE_CHECK(positions > 1, "instance_norm: expected more than one spatial position per channel, got input shape ",
             x.sizes());
  const NormalisedRows normalised = normalise_rows(rows, eps);
  if (running_mean.defined()) {
    // As PyTorch (which runs batch norm on x viewed as [1, N C, *]): each instance's statistics
    // move its channel's running ones, so the update uses their average over the batch, with
    // the unbiased variance (Bessel's correction over the positions).
    NoGradGuard no_grad;
    const double bessel = static_cast<double>(positions) / static_cast<double>(positions - 1);
    const Tensor batch_mean = normalised.mean.detach().mean({0}).reshape({c});
    const Tensor batch_var = normalised.variance.detach().mean({0}).reshape({c}) * bessel;
    Tensor mean = running_mean, var = running_var;  // handles to the same storage, updated in place
    mean.mul_(1.0 - momentum).add_(batch_mean.to(mean.dtype()) * momentum);
    var.mul_(1.0 - momentum).add_(batch_var.to(var.dtype()) * momentum);
  }
  return per_channel_affine(normalised.y.reshape(x.sizes()), weight, bias);
}

Tensor local_response_norm(const Tensor& x, std::int64_t size, double alpha, double beta, double k) {
  CAKE_CHECK(x.dim() >= 3, "local_response_norm: expected input [N, C, *] with at least 3 dims, got shape ",
             x.sizes());
  CAKE_CHECK(size > 0, "local_response_norm: size must be positive, got ", size);
  const std::int64_t n = x.size(0), c = x.size(1);
  // The window sum over channels is an average pool of x^2 viewed as one-channel images
  // [N, 1, C, rest], with a window of `size` channels by one position, stride one, on the
  // channel axis padded by size/2 zeros in front and (size - 1)/2 behind (an even window
  // reaches one channel further back than forward, as in PyTorch).
  const Tensor squares = (x * x).reshape({n, 1, c, -1});
  const Tensor padded = pad(squares, {0, 0, size / 2, (size - 1) / 2});
  const Tensor window_mean = cake::avg_pool2d(padded, Pool2dParams{.kernel = {size, 1}, .stride = Pair{1, 1}});
  // The mean is the sum divided by size, so alpha * mean = alpha / size * sum.
  const Tensor denominator = (window_mean * alpha + k).pow(beta).reshape(x.sizes());
  return x / denominator;
}

namespace {

// The source rows (or columns) of one resized axis and, for bilinear, the weight of the second
// neighbour: output i = (1 - lambda_i) input[first_i] + lambda_i input[second_i].
struct AxisSampling {
  std::vector<std::int64_t> first, second;
  std::vector<double> lambda;
};

AxisSampling sample_axis(std::int64_t in, std::int64_t out, double scale_factor, InterpolateMode mode,
                         bool align_corners) {
  AxisSampling s;
  // in / out, or 1 / scale_factor when the caller gave a scale (as PyTorch does).
  const double scale = scale_factor > 0.0 ? 1.0 / scale_factor : static_cast<double>(in) / static_cast<double>(out);
  for (std::int64_t i = 0; i < out; ++i) {
    if (mode == InterpolateMode::Nearest) {
      const auto source = std::min(static_cast<std::int64_t>(std::floor(static_cast<double>(i) * scale)), in - 1);
      s.first.push_back(source);
      s.second.push_back(source);
      s.lambda.push_back(0.0);
      continue;
    }
    double source = 0.0;
    if (align_corners) source = out > 1 ? static_cast<double>(i) * static_cast<double>(in - 1) / static_cast<double>(out - 1) : 0.0;
    else source = std::max((static_cast<double>(i) + 0.5) * scale - 0.5, 0.0);
    const auto lower = std::min(static_cast<std::int64_t>(std::floor(source)), in - 1);
    s.first.push_back(lower);
    s.second.push_back(std::min(lower + 1, in - 1));
    s.lambda.push_back(source - static_cast<double>(lower));
  }
  return s;
}

// Resamples dim `dim` (2 or 3) of x as `s` says.
Tensor resample(const Tensor& x, std::int64_t dim, const AxisSampling& s, InterpolateMode mode) {
  const auto count = static_cast<std::int64_t>(s.first.size());
  const Tensor first = tensor(s.first, {count}).to(x.device());
  const Tensor near = cake::index_select(x, dim, first);
  if (mode == InterpolateMode::Nearest) return near;
  const Tensor second = tensor(s.second, {count}).to(x.device());
  Shape weight_shape{1, 1, 1, 1};
  weight_shape[static_cast<std::size_t>(dim)] = count;
  const Tensor lambda = tensor(s.lambda, weight_shape).to(x.device(), x.dtype());
  return near + (cake::index_select(x, dim, second) - near) * lambda;
}

}  // namespace

Tensor interpolate(const Tensor& x, const InterpolateFuncOptions& options) {
  CAKE_CHECK(x.dim() == 4, "interpolate: expected an image batch [N, C, H, W], got shape ", x.sizes());
  CAKE_CHECK(x.is_floating_point(), "interpolate: expected a floating-point input, got ", dtype_name(x.dtype()));
  const Pair size = options.size;
  const double scale = options.scale_factor;
  const bool by_size = size[0] > 0 && size[1] > 0;
  CAKE_CHECK(by_size != (scale > 0.0), "interpolate: give exactly one of size (positive {H, W}, got {", size[0], ", ",
             size[1], "}) and scale_factor (positive, got ", scale, ")");
  const std::int64_t in_h = x.size(2), in_w = x.size(3);
  const std::int64_t out_h = by_size ? size[0] : static_cast<std::int64_t>(std::floor(static_cast<double>(in_h) * scale));
  const std::int64_t out_w = by_size ? size[1] : static_cast<std::int64_t>(std::floor(static_cast<double>(in_w) * scale));
  CAKE_CHECK(out_h > 0 && out_w > 0, "interpolate: input ", x.sizes(), " scaled by ", scale, " is empty");
  const InterpolateMode mode = options.mode;
  const double factor = by_size ? 0.0 : scale;
  const Tensor rows = resample(x, 2, sample_axis(in_h, out_h, factor, mode, options.align_corners), mode);
  return resample(rows, 3, sample_axis(in_w, out_w, factor, mode, options.align_corners), mode);
}

namespace {

// Where each of the `before + size + after` output positions of a padded dim reads from, for
// the modes that copy input values (Reflect, Replicate, Circular).
Tensor source_positions(std::int64_t size, std::int64_t before, std::int64_t after, PadMode mode) {
  std::vector<std::int64_t> from;
  for (std::int64_t i = -before; i < size + after; ++i) {
    std::int64_t j = i;
    if (mode == PadMode::Replicate) j = std::clamp<std::int64_t>(i, 0, size - 1);
    if (mode == PadMode::Circular) j = ((i % size) + size) % size;
    if (mode == PadMode::Reflect) j = i < 0 ? -i : (i >= size ? 2 * (size - 1) - i : i);
    from.push_back(j);
  }
  return tensor(from, {static_cast<std::int64_t>(from.size())}, kInt64);
}

// One dim padded with a constant: a negative count crops, a positive one adds a block.
Tensor pad_constant(const Tensor& x, std::int64_t d, std::int64_t before, std::int64_t after, double value) {
  Tensor y = x.narrow(d, std::max<std::int64_t>(-before, 0),
                      x.size(d) - std::max<std::int64_t>(-before, 0) - std::max<std::int64_t>(-after, 0));
  auto block = [&](std::int64_t n) {
    Shape shape = y.sizes();
    shape[static_cast<std::size_t>(d)] = n;
    return full(shape, value, TensorOptions(x.dtype(), x.device()));
  };
  std::vector<Tensor> pieces;
  if (before > 0) pieces.push_back(block(before));
  pieces.push_back(y);
  if (after > 0) pieces.push_back(block(after));
  return pieces.size() == 1 ? y : cat(pieces, d);
}

}  // namespace

const char* pad_mode_name(PadMode mode) {
  switch (mode) {
    case PadMode::Constant: return "constant";
    case PadMode::Reflect: return "reflect";
    case PadMode::Replicate: return "replicate";
    case PadMode::Circular: return "circular";
  }
  return "?";
}

// Each padded dim in turn, the last dim first (the order of `pad`'s pairs). The copying modes
// read the input through index_select, so the gradient adds each output position's gradient to
// the input element it copies (index_select's backward).
Tensor pad(const Tensor& x, const Shape& pad, PadMode mode, double value) {
  const auto pairs = static_cast<std::int64_t>(pad.size() / 2);
  CAKE_CHECK(pad.size() % 2 == 0 && pairs <= x.dim(), "pad: expected (before, after) pairs for at most ", x.dim(),
             " dims of the input of shape ", x.sizes(), ", got ", pad);
  Tensor y = x;
  for (std::int64_t k = 0; k < pairs; ++k) {
    const std::int64_t d = x.dim() - 1 - k, size = x.size(d);
    const std::int64_t before = pad[static_cast<std::size_t>(2 * k)], after = pad[static_cast<std::size_t>(2 * k + 1)];
    if (mode == PadMode::Constant) {
      CAKE_CHECK(size + std::min<std::int64_t>(before, 0) + std::min<std::int64_t>(after, 0) >= 0, "pad: cropping ",
                 -before, " and ", -after, " from dim ", d, " of size ", size, " of the input of shape ", x.sizes());
      y = pad_constant(y, d, before, after, value);
      continue;
    }
    // Reflect mirrors about the edge element, so it has size - 1 others to copy; Circular wraps
    // once at most; Replicate may repeat the edge any number of times.
    std::int64_t limit = std::numeric_limits<std::int64_t>::max();
    if (mode == PadMode::Reflect) limit = size - 1;
    if (mode == PadMode::Circular) limit = size;
    CAKE_CHECK(before >= 0 && after >= 0 && size > 0 && before <= limit && after <= limit, "pad: ", pad_mode_name(mode),
               " padding of (", before, ", ", after, ") for dim ", d, " of size ", size, " of the input of shape ",
               x.sizes(), (mode == PadMode::Reflect ? ": each count must be below the size"
                           : mode == PadMode::Circular ? ": each count must be at most the size"
                                                        : ": counts must be >= 0 and the dim not empty"));
    y = index_select(y, d, source_positions(size, before, after, mode).to(x.device()));
  }
  return y;
}

// ---- moving pixels between space and channels ----------------------------------------------
namespace {

// x [*, C, H, W] viewed as [*, split...], its last dims permuted by `order` (the leading dims *
// stay in place), then reshaped to [*, merged...]: the one pattern of both pixel shuffles.
Tensor rearrange_image_dims(const Tensor& x, const Shape& split, const Shape& order, const Shape& merged) {
  const std::int64_t lead = x.dim() - 3;
  Shape split_shape(x.sizes().begin(), x.sizes().begin() + lead), merged_shape = split_shape, permutation;
  for (std::int64_t d = 0; d < lead; ++d) permutation.push_back(d);
  for (std::int64_t o : order) permutation.push_back(lead + o);
  split_shape.insert(split_shape.end(), split.begin(), split.end());
  merged_shape.insert(merged_shape.end(), merged.begin(), merged.end());
  return x.reshape(split_shape).permute(permutation).reshape(merged_shape);
}

void check_shuffle_input(const char* op, const Tensor& x, const char* factor_name, std::int64_t factor) {
  CAKE_CHECK(x.dim() >= 3, op, ": expected input [*, C, H, W], got shape ", x.sizes());
  CAKE_CHECK(factor > 0, op, ": ", factor_name, " must be positive, got ", factor);
}

}  // namespace

Tensor pixel_shuffle(const Tensor& x, std::int64_t upscale_factor) {
  check_shuffle_input("pixel_shuffle", x, "upscale_factor", upscale_factor);
  const std::int64_t r = upscale_factor, d = x.dim();
  const std::int64_t c = x.size(d - 3), h = x.size(d - 2), w = x.size(d - 1);
  CAKE_CHECK(c % (r * r) == 0, "pixel_shuffle: the channels (dim -3) of the input of shape ", x.sizes(),
             " must be divisible by upscale_factor^2 = ", r * r);
  // [*, C, r, r, H, W] -> [*, C, H, r, W, r]: output (h r + i, w r + j) is channel c r^2 + i r + j.
  return rearrange_image_dims(x, {c / (r * r), r, r, h, w}, {0, 3, 1, 4, 2}, {c / (r * r), h * r, w * r});
}

Tensor pixel_unshuffle(const Tensor& x, std::int64_t downscale_factor) {
  check_shuffle_input("pixel_unshuffle", x, "downscale_factor", downscale_factor);
  const std::int64_t r = downscale_factor, d = x.dim();
  const std::int64_t c = x.size(d - 3), h = x.size(d - 2), w = x.size(d - 1);
  CAKE_CHECK(h % r == 0 && w % r == 0, "pixel_unshuffle: H and W of the input of shape ", x.sizes(),
             " must be divisible by downscale_factor = ", r);
  // [*, C, H / r, r, W / r, r] -> [*, C, r, r, H / r, W / r]: pixel_shuffle's steps backwards.
  return rearrange_image_dims(x, {c, h / r, r, w / r, r}, {0, 2, 4, 1, 3}, {c * r * r, h / r, w / r});
}

namespace {

std::string pair_text(Pair p) {
  std::string text = "(";  // appended piece by piece: "(" + std::string trips GCC 12's -Wrestrict
  text += std::to_string(p[0]);
  text += ", ";
  text += std::to_string(p[1]);
  return text + ")";
}

// Where the sliding blocks of unfold and fold lie in an image of size `image` ({H, W}): per dim,
// (size + 2 padding - dilation (kernel - 1) - 1) / stride + 1 blocks, the convolution formula.
struct BlockGrid {
  Pair image, kernel, dilation, padding, stride;
  Pair blocks;
  Pair padded() const { return {image[0] + 2 * padding[0], image[1] + 2 * padding[1]}; }
  std::int64_t count() const { return blocks[0] * blocks[1]; }
  std::int64_t kernel_area() const { return kernel[0] * kernel[1]; }
};

BlockGrid block_grid(const char* op, Pair image, Pair kernel, Pair dilation, Pair padding, Pair stride) {
  for (int d = 0; d < 2; ++d)
    CAKE_CHECK(kernel[d] > 0 && dilation[d] > 0 && stride[d] > 0 && padding[d] >= 0, op, ": kernel_size ",
               pair_text(kernel), ", dilation ", pair_text(dilation), " and stride ", pair_text(stride),
               " must be positive and padding ", pair_text(padding), " not negative");
  BlockGrid g{image, kernel, dilation, padding, stride, {}};
  for (int d = 0; d < 2; ++d) {
    const std::int64_t span = dilation[d] * (kernel[d] - 1) + 1;  // the pixels one block spans
    g.blocks[d] = (image[d] + 2 * padding[d] - span) / stride[d] + 1;
    CAKE_CHECK(image[d] + 2 * padding[d] >= span, op, ": a block of kernel_size ", pair_text(kernel),
               " with dilation ", pair_text(dilation), " does not fit in the image of size ", pair_text(image),
               " padded by ", pair_text(padding));
  }
  return g;
}

// im2col as an index table. Block l = (a, b) at kernel offset k = (i, j) reads the pixel
// (a stride_h + i dilation_h, b stride_w + j dilation_w) of the padded image, flattened here to
// a position among its Hp Wp pixels; the table lists them k-major, [kh kw L], the order of
// unfold's rows. unfold reads these positions (index_select) and fold adds back to them
// (index_add), so the two are adjoint by construction and each one's backward is the other.
// One gather instead of kh kw strided slices stacked: a single node, and the same table serves
// both directions; the table (kh kw L int64) is small beside the columns themselves.
Tensor block_positions(const BlockGrid& g) {
  const std::int64_t padded_width = g.padded()[1];
  std::vector<std::int64_t> positions;
  positions.reserve(static_cast<std::size_t>(g.kernel_area() * g.count()));
  for (std::int64_t i = 0; i < g.kernel[0]; ++i)
    for (std::int64_t j = 0; j < g.kernel[1]; ++j)
      for (std::int64_t a = 0; a < g.blocks[0]; ++a)
        for (std::int64_t b = 0; b < g.blocks[1]; ++b)
          positions.push_back((a * g.stride[0] + i * g.dilation[0]) * padded_width + b * g.stride[1] +
                              j * g.dilation[1]);
  return tensor(positions, {static_cast<std::int64_t>(positions.size())}, kInt64);
}

}  // namespace

Tensor unfold(const Tensor& x, const UnfoldFuncOptions& o) {
  CAKE_CHECK(x.dim() == 3 || x.dim() == 4, "unfold: expected input [N, C, H, W] or [C, H, W], got shape ", x.sizes());
  if (x.dim() == 3) return unfold(x.unsqueeze(0), o).squeeze(0);
  const BlockGrid g = block_grid("unfold", {x.size(2), x.size(3)}, o.kernel_size, o.dilation, o.padding, o.stride);
  const std::int64_t n = x.size(0), c = x.size(1);
  const Pair p = g.padding;
  const Tensor pixels = pad(x, {p[1], p[1], p[0], p[0]}).reshape({n, c, -1});
  const Tensor columns = index_select(pixels, 2, block_positions(g).to(x.device()));  // [N, C, kh kw L]
  return columns.reshape({n, c * g.kernel_area(), g.count()});
}

Tensor fold(const Tensor& columns, const FoldFuncOptions& o) {
  CAKE_CHECK(columns.dim() == 2 || columns.dim() == 3,
             "fold: expected input [N, C kh kw, L] or [C kh kw, L], got shape ", columns.sizes());
  if (columns.dim() == 2) return fold(columns.unsqueeze(0), o).squeeze(0);
  const BlockGrid g = block_grid("fold", o.output_size, o.kernel_size, o.dilation, o.padding, o.stride);
  const std::int64_t n = columns.size(0), area = g.kernel_area();
  CAKE_CHECK(columns.size(1) % area == 0 && columns.size(2) == g.count(), "fold: input of shape ", columns.sizes(),
             " should be [N, C * ", area, ", ", g.count(), "]: kernel_size ", pair_text(g.kernel), " gives C * ", area,
             " rows, and output_size ", pair_text(g.image), " with padding ", pair_text(g.padding), ", dilation ",
             pair_text(g.dilation), " and stride ", pair_text(g.stride), " has ", g.blocks[0], " x ", g.blocks[1],
             " blocks");
  const std::int64_t c = columns.size(1) / area;
  const Pair padded = g.padded();
  const Tensor image = zeros({n, c, padded[0] * padded[1]}, TensorOptions(columns.dtype(), columns.device()));
  const Tensor summed = index_add(image, 2, block_positions(g).to(columns.device()), columns.reshape({n, c, -1}));
  // Blocks may overhang the image into the padding: that part is dropped, as unfold read zeros there.
  return summed.reshape({n, c, padded[0], padded[1]}).narrow(2, g.padding[0], g.image[0]).narrow(3, g.padding[1],
                                                                                                 g.image[1]);
}

namespace {
// Inverted dropout with one Bernoulli draw per element of a mask of `mask_shape`, which
// broadcasts against x: x's own shape drops elements, [N, C, 1, 1] drops whole feature maps.
// The mask is a constant for autograd: keep with probability 1 - p, pre-scaled by 1 / (1 - p).
Tensor drop(const char* op, const Tensor& x, double p, bool training, const Shape& mask_shape) {
  CAKE_CHECK(p >= 0.0 && p <= 1.0, op, ": probability must be in [0, 1], got ", p);
  if (!training || p == 0.0) return x;
  if (p == 1.0) return x * 0.0;
  Tensor mask = empty(mask_shape, TensorOptions(x.dtype(), x.device()));
  mask.bernoulli_(1.0 - p);
  mask.mul_(1.0 / (1.0 - p));
  return x * mask;
}
}  // namespace

Tensor dropout(const Tensor& x, double p, bool training) { return drop("dropout", x, p, training, x.sizes()); }

namespace {
// Alpha dropout with a keep mask of `mask_shape` (see functional.h). With q = 1 - p kept and
// alpha' = -1.7580993408473766 (SELU's limit -scale * alpha for x -> -inf), a dropped element
// becomes alpha' and then everything a x + b with a = ((alpha'^2 p + 1) q)^(-1/2) and
// b = -a alpha' p: the mean and variance of a zero-mean, unit-variance input are kept.
Tensor alpha_drop(const char* op, const Tensor& x, double p, bool training, const Shape& mask_shape) {
  CAKE_CHECK(p >= 0.0 && p <= 1.0, op, ": probability must be in [0, 1], got ", p);
  if (!training || p == 0.0) return x;
  if (p == 1.0) return x * 0.0;
  constexpr double alpha = 1.7580993408473766;
  const double a = 1.0 / std::sqrt((alpha * alpha * p + 1.0) * (1.0 - p));
  Tensor keep = empty(mask_shape, TensorOptions(x.dtype(), x.device()));
  keep.bernoulli_(1.0 - p);
  // kept: a x + a alpha p; dropped: a (-alpha) + a alpha p, PyTorch's arithmetic.
  const Tensor offset = (keep - 1.0) * (alpha * a) + alpha * a * p;
  return x * (keep * a) + offset;
}

// x's shape with every dim after the channels (dim 1) set to 1: one draw per sample and channel.
Shape per_channel_mask(const char* op, const Tensor& x) {
  CAKE_CHECK(x.dim() >= 2, op, ": expected an input [N, C, ...], got shape ", x.sizes());
  Shape mask = x.sizes();
  for (std::size_t d = 2; d < mask.size(); ++d) mask[d] = 1;
  return mask;
}
}  // namespace

Tensor alpha_dropout(const Tensor& x, double p, bool training) {
  return alpha_drop("alpha_dropout", x, p, training, x.sizes());
}

Tensor feature_alpha_dropout(const Tensor& x, double p, bool training) {
  return alpha_drop("feature_alpha_dropout", x, p, training, per_channel_mask("feature_alpha_dropout", x));
}

// One draw per (sample, channel): the mask is x's shape with H and W set to 1.
Tensor dropout2d(const Tensor& x, double p, bool training) {
  CAKE_CHECK(x.dim() == 3 || x.dim() == 4, "dropout2d: expected an input of shape [N, C, H, W] or [C, H, W], got ",
             x.sizes());
  Shape per_channel = x.sizes();
  per_channel[per_channel.size() - 1] = 1;
  per_channel[per_channel.size() - 2] = 1;
  return drop("dropout2d", x, p, training, per_channel);
}

Tensor dropout1d(const Tensor& x, double p, bool training) {
  CAKE_CHECK(x.dim() == 2 || x.dim() == 3, "dropout1d: expected an input of shape [N, C, L] or [C, L], got ", x.sizes());
  Shape per_channel = x.sizes();
  per_channel.back() = 1;
  return drop("dropout1d", x, p, training, per_channel);
}

// Gumbel draws -log(-log u), u uniform in (0, 1]: u is kept off 0 so that no draw is infinite.
Tensor gumbel_softmax(const Tensor& logits, double tau, bool hard, std::int64_t dim) {
  CAKE_CHECK(tau > 0.0, "gumbel_softmax: tau must be positive, got ", tau);
  CAKE_CHECK(logits.defined() && is_floating(logits.dtype()), "gumbel_softmax: expected floating-point logits");
  Tensor gumbel;
  {
    NoGradGuard no_grad;
    gumbel = -cake::log(-cake::log(rand_like(logits).clamp_min(std::numeric_limits<double>::min())));
  }
  const Tensor soft = cake::softmax((logits + gumbel) / tau, dim);
  if (!hard) return soft;
  Tensor one_hot_draw;
  {
    NoGradGuard no_grad;
    const std::int64_t d = native::wrap_dim(dim, soft.dim(), "gumbel_softmax");
    one_hot_draw = zeros_like(soft).scatter(d, soft.argmax(d, /*keepdim=*/true), 1.0);
  }
  return one_hot_draw - soft.detach() + soft;  // the value of the one-hot, the gradient of soft
}

Tensor channel_shuffle(const Tensor& x, std::int64_t groups) {
  CAKE_CHECK(x.dim() >= 3, "channel_shuffle: expected an input [N, C, *] with at least 3 dims, got ", x.sizes());
  CAKE_CHECK(groups > 0 && x.size(1) % groups == 0, "channel_shuffle: the ", x.size(1),
             " channels must divide into ", groups, " groups");
  Shape grouped = x.sizes();
  grouped[1] = x.size(1) / groups;
  grouped.insert(grouped.begin() + 1, groups);  // [N, g, C / g, *]
  return x.reshape(grouped).transpose(1, 2).reshape(x.sizes());
}

Tensor one_hot(const Tensor& labels, std::int64_t num_classes) { return cake::one_hot(labels, num_classes); }

Tensor embedding(const Tensor& indices, const Tensor& weight) { return cake::embedding(weight, indices); }

namespace {
// torch.embedding_renorm_: the rows that `indices` look up, rescaled in place to norm max_norm
// where theirs is larger (by max_norm / (norm + 1e-7), PyTorch's factor). Not recorded.
void renormalise_rows(const Tensor& weight, const Tensor& indices, double max_norm, double norm_type) {
  NoGradGuard no_grad;
  const Tensor rows = indices.reshape({-1});
  const Tensor picked = index_select(weight, 0, rows);
  const Tensor norms = picked.norm(norm_type, {1}, /*keepdim=*/true);
  const Tensor scale = where(norms.gt(max_norm), max_norm / (norms + 1e-7), ones_like(norms));
  Tensor target = weight;
  target.index_put_({rows}, picked * scale);
}
}  // namespace

Tensor embedding(const Tensor& indices, const Tensor& weight, std::optional<std::int64_t> padding_idx,
                 std::optional<double> max_norm, double norm_type) {
  CAKE_CHECK(weight.dim() == 2, "embedding: weight must be [num_embeddings, embedding_dim], got shape ", weight.sizes());
  if (max_norm) {
    CAKE_CHECK(*max_norm > 0.0, "embedding: max_norm must be positive, got ", *max_norm);
    renormalise_rows(weight, indices, *max_norm, norm_type);
  }
  const Tensor rows = cake::embedding(weight, indices);
  if (!padding_idx) return rows;
  const std::int64_t pad = *padding_idx < 0 ? *padding_idx + weight.size(0) : *padding_idx;
  CAKE_CHECK(pad >= 0 && pad < weight.size(0), "embedding: padding_idx ", *padding_idx,
             " is outside the table of ", weight.size(0), " rows");
  // The padding positions keep their value but pass no gradient back to the row.
  return where((indices == Scalar(pad)).unsqueeze(-1), rows.detach(), rows);
}

EmbeddingBagMode::EmbeddingBagMode(Reduction reduction) {
  CAKE_CHECK(reduction == Reduction::Sum || reduction == Reduction::Mean,
             "EmbeddingBag: mode must be cake::kSum, cake::kMean or cake::kMax");
  kind_ = reduction == Reduction::Sum ? Sum : Mean;
}
const char* EmbeddingBagMode::name() const { return kind_ == Sum ? "sum" : kind_ == Mean ? "mean" : "max"; }

// Each position t of the flattened input belongs to bag b(t); the rows looked up are added into
// their bag (index_add), divided by the bag's count for a mean, or reduced by their maximum
// (scatter_reduce "amax", so the gradient reaches the row that won). Positions at padding_idx
// (and, with include_last_offset, past the last offset) are left out before the reduction.
Tensor embedding_bag(const Tensor& input, const Tensor& weight, const Tensor& offsets, EmbeddingBagMode mode,
                     const Tensor& per_sample_weights, bool include_last_offset, std::optional<std::int64_t> padding_idx,
                     std::optional<double> max_norm, double norm_type) {
  CAKE_CHECK(weight.dim() == 2, "embedding_bag: weight must be [num_embeddings, embedding_dim], got shape ", weight.sizes());
  CAKE_CHECK(input.defined() && is_integral(input.dtype(), false) && (input.dim() == 1 || input.dim() == 2),
             "embedding_bag: expected int64 indices of shape [B, N] or [T] (with offsets), got ",
             input.defined() ? dtype_name(input.dtype()) : "an undefined tensor");
  const TensorOptions index_options(kInt64, input.device());
  const Tensor flat = input.reshape({-1}).to(kInt64);
  const std::int64_t positions = flat.numel();
  std::int64_t bags = 0;
  Tensor bag_of;        // [positions] int64
  Tensor kept;          // [positions] bool, or undefined when every position counts
  if (input.dim() == 2) {
    CAKE_CHECK(!offsets.defined(), "embedding_bag: offsets go with a 1-D input; a 2-D input [B, N] is B bags already");
    bags = input.size(0);
    bag_of = arange(bags, index_options).unsqueeze(1).expand(input.sizes()).reshape({-1});
  } else {
    CAKE_CHECK(offsets.defined() && offsets.dim() == 1 && is_integral(offsets.dtype(), false),
               "embedding_bag: a 1-D input needs 1-D integer offsets, the start of each bag");
    const Tensor starts = offsets.to(kInt64).contiguous();
    bags = include_last_offset ? starts.numel() - 1 : starts.numel();
    CAKE_CHECK(bags >= 0, "embedding_bag: include_last_offset needs at least one offset");
    if (starts.numel() > 0) {
      const std::int64_t first = starts.select(0, 0).item<std::int64_t>(), last = starts.max().item<std::int64_t>();
      CAKE_CHECK(first == 0, "embedding_bag: the first offset must be 0, got ", first);
      CAKE_CHECK(last <= positions, "embedding_bag: an offset (", last, ") is past the input's ", positions, " indices");
      if (starts.numel() > 1)
        CAKE_CHECK(starts.narrow(0, 1, starts.numel() - 1).ge(starts.narrow(0, 0, starts.numel() - 1)).all().item<bool>(),
                   "embedding_bag: offsets must not decrease");
    }
    if (bags == 0) return zeros({0, weight.size(1)}, TensorOptions(weight.dtype(), weight.device()));
    const Tensor first_of_bags = include_last_offset ? starts.narrow(0, 0, bags) : starts;
    bag_of = searchsorted(first_of_bags, arange(positions, index_options), /*right=*/true) - 1;
    if (include_last_offset && starts.numel() > 0)
      kept = lt(arange(positions, index_options), full({}, starts.select(0, bags).item<std::int64_t>(), index_options));
  }
  if (per_sample_weights.defined()) {
    CAKE_CHECK(mode == EmbeddingBagMode::Sum, "embedding_bag: per_sample_weights go with mode sum, not ", mode.name());
    CAKE_CHECK(per_sample_weights.sizes() == input.sizes(), "embedding_bag: per_sample_weights of shape ",
               per_sample_weights.sizes(), " must match the input's shape ", input.sizes());
  }
  if (padding_idx) {
    const std::int64_t pad = *padding_idx < 0 ? *padding_idx + weight.size(0) : *padding_idx;
    const Tensor not_padding = flat.ne(pad);
    kept = kept.defined() ? logical_and(kept, not_padding) : not_padding;
  }
  Tensor rows = functional::embedding(flat, weight, std::nullopt, max_norm, norm_type);  // [positions, dim]
  if (per_sample_weights.defined()) rows = rows * per_sample_weights.reshape({-1, 1});
  if (kept.defined()) {
    const Tensor where_kept = nonzero(kept).reshape({-1});
    rows = index_select(rows, 0, where_kept);
    bag_of = index_select(bag_of, 0, where_kept);
  }
  const Tensor empty_table = zeros({bags, weight.size(1)}, TensorOptions(rows.dtype(), rows.device()));
  const Tensor counts = bincount(bag_of, {}, bags).reshape({bags, 1});
  switch (mode.kind()) {
    case EmbeddingBagMode::Sum: return index_add(empty_table, 0, bag_of, rows);
    case EmbeddingBagMode::Mean: return index_add(empty_table, 0, bag_of, rows) / counts.clamp_min(1).to(rows.dtype());
    case EmbeddingBagMode::Max: {
      const Tensor maxima = scatter_reduce(empty_table, 0, bag_of.unsqueeze(1).expand(rows.sizes()), rows, "amax",
                                          /*include_self=*/false);
      return where(counts.gt(0), maxima, empty_table);
    }
  }
  return empty_table;
}

// ---- similarity --------------------------------------------------------------------------------
Tensor normalize(const Tensor& x, double p, std::int64_t dim, double eps) {
  return x / x.norm(p, {dim}, /*keepdim=*/true).clamp_min(eps);
}

Tensor cosine_similarity(const Tensor& x1, const Tensor& x2, std::int64_t dim, double eps) {
  // Normalising each side first (rather than dividing the dot product by the product of the
  // norms) keeps the intermediate values bounded, as PyTorch 2.x does.
  const Shape shape = native::broadcast_shapes(x1.sizes(), x2.sizes(), "cosine_similarity");
  const Tensor a = x1.expand(shape), b = x2.expand(shape);
  return (normalize(a, 2.0, dim, eps) * normalize(b, 2.0, dim, eps)).sum({dim});
}

Tensor pdist(const Tensor& x, double p) {
  CAKE_CHECK(x.dim() == 2, "pdist: expected rows [N, M], got shape ", x.sizes());
  const std::int64_t n = x.size(0);
  const Tensor pairs = cake::triu_indices(n, n, 1).to(x.device());
  return cake::cdist(x, x, p).reshape({-1}).index_select(0, pairs.select(0, 0) * n + pairs.select(0, 1));
}

// eps is added to the difference, not to the norm, as PyTorch does.
Tensor pairwise_distance(const Tensor& x1, const Tensor& x2, double p, double eps, bool keepdim) {
  const Tensor difference = x1 - x2 + eps;
  CAKE_CHECK(difference.dim() >= 1, "pairwise_distance: expected inputs with at least one dim, got shapes ",
             x1.sizes(), " and ", x2.sizes());
  return difference.norm(p, {difference.dim() - 1}, keepdim);
}

}  // namespace cake::nn::functional
