// native/nn_kernels.cpp: argument checks, output shapes and allocation for the neural-network
// kernels; the arithmetic is behind the stubs (see nn_kernels.h for which implementation runs).
#include "cake/tensor/native/nn_kernels.h"

#include <atomic>

#include "cake/tensor/native/elementwise.h"
#include "cake/tensor/native/reduce.h"
#include "cake/tensor/native/view.h"

namespace cake::native {

CAKE_DEFINE_DISPATCH(ConvForwardFn, conv2d_forward_stub);
CAKE_DEFINE_DISPATCH(ConvBackwardDataFn, conv2d_backward_data_stub);
CAKE_DEFINE_DISPATCH(ConvBackwardWeightFn, conv2d_backward_weight_stub);
CAKE_DEFINE_DISPATCH(MaxPoolForwardFn, max_pool2d_forward_stub);
CAKE_DEFINE_DISPATCH(MaxPoolBackwardFn, max_pool2d_backward_stub);
CAKE_DEFINE_DISPATCH(AvgPoolForwardFn, avg_pool2d_forward_stub);
CAKE_DEFINE_DISPATCH(AvgPoolBackwardFn, avg_pool2d_backward_stub);
CAKE_DEFINE_DISPATCH(AvgPoolForwardFn, adaptive_avg_pool2d_forward_stub);
CAKE_DEFINE_DISPATCH(AvgPoolBackwardFn, adaptive_avg_pool2d_backward_stub);
CAKE_DEFINE_DISPATCH(BatchNormForwardFn, batch_norm_forward_stub);
CAKE_DEFINE_DISPATCH(BatchNormBackwardFn, batch_norm_backward_stub);
CAKE_DEFINE_DISPATCH(SoftmaxFn, softmax_stub);
CAKE_DEFINE_DISPATCH(SoftmaxBackwardFn, softmax_backward_stub);
CAKE_DEFINE_DISPATCH(GridSampleForwardFn, grid_sample_forward_stub);
CAKE_DEFINE_DISPATCH(GridSampleBackwardFn, grid_sample_backward_stub);

// ---- which CPU implementation runs ----------------------------------------------------------
namespace {
#ifdef CAKE_HAVE_ONEDNN
constexpr bool kOneDnnCompiled = true;
#else
constexpr bool kOneDnnCompiled = false;
#endif
std::atomic<bool> use_onednn_flag{kOneDnnCompiled};
}  // namespace

bool onednn_compiled() { return kOneDnnCompiled; }
void set_use_onednn(bool enabled) { use_onednn_flag.store(enabled && kOneDnnCompiled, std::memory_order_relaxed); }
bool use_onednn() { return use_onednn_flag.load(std::memory_order_relaxed); }

// ---- shared checks ----------------------------------------------------------------------------
namespace {

void check_floating(const Tensor& t, const char* op, const char* what) {
  CAKE_CHECK(t.is_floating_point(), op, ": expected a floating-point ", what, " (float32 or float64), got ",
             dtype_name(t.dtype()));
}

// `other` (when defined) must match `reference` in dtype and device.
void check_same_kind(const Tensor& reference, const Tensor& other, const char* op, const char* what) {
  if (!other.defined()) return;
  CAKE_CHECK(other.dtype() == reference.dtype(), op, ": ", what, " has dtype ", dtype_name(other.dtype()),
             " but the input has dtype ", dtype_name(reference.dtype()));
  CAKE_CHECK(other.device() == reference.device(), op, ": ", what, " is on ", to_string(other.device()),
             " but the input is on ", to_string(reference.device()));
}

void check_shape(const Tensor& t, const Shape& expected, const char* op, const char* what) {
  CAKE_CHECK(t.sizes() == expected, op, ": ", what, " has shape ", t.sizes(), ", expected ", expected);
}

void check_positive(const Int2& v, const char* op, const char* what) {
  CAKE_CHECK(v[0] > 0 && v[1] > 0, op, ": ", what, " must be positive, got (", v[0], ", ", v[1], ")");
}
void check_non_negative(const Int2& v, const char* op, const char* what) {
  CAKE_CHECK(v[0] >= 0 && v[1] >= 0, op, ": ", what, " must be non-negative, got (", v[0], ", ", v[1], ")");
}

}  // namespace

// ---- convolution ----------------------------------------------------------------------------
namespace {

void check_conv_options(const ConvOptions& o, const char* op) {
  check_positive(o.stride, op, "stride");
  check_positive(o.dilation, op, "dilation");
  check_non_negative(o.padding, op, "padding");
  check_non_negative(o.output_padding, op, "output_padding");
  CAKE_CHECK(o.groups >= 1, op, ": groups must be positive, got ", o.groups);
}

void check_conv_ranks(const Shape& input, const Shape& weight, const char* op) {
  CAKE_CHECK(input.size() == 4, op, ": expected an input of shape [N, C, H, W] (or one unbatched [C, H, W]), got ", input);
  CAKE_CHECK(weight.size() == 4, op, ": expected a 4-D weight [C_out, C_in / groups, kH, kW], got ", weight);
  for (std::size_t d = 1; d < 4; ++d) {
    CAKE_CHECK(input[d] > 0, op, ": input of shape ", input, " has an empty channel or spatial dimension");
    CAKE_CHECK(weight[d] > 0 && weight[0] > 0, op, ": weight of shape ", weight, " has an empty dimension");
  }
}

}  // namespace

ConvGeometry conv2d_geometry(const Shape& input, const Shape& weight, const ConvOptions& o, const char* op) {
  check_conv_options(o, op);
  check_conv_ranks(input, weight, op);
  const std::int64_t groups = o.groups;
  CAKE_CHECK(input[1] == weight[1] * groups, op, ": input of shape ", input, " has ", input[1],
             " channels, but weight of shape ", weight, " with groups=", groups, " expects ", weight[1] * groups);
  CAKE_CHECK(weight[0] % groups == 0, op, ": weight of shape ", weight, " has ", weight[0],
             " output channels, not divisible by groups=", groups);
  ConvGeometry g{};
  g.batch = input[0], g.in_channels = input[1], g.out_channels = weight[0], g.groups = groups;
  g.in_h = input[2], g.in_w = input[3];
  g.kernel_h = weight[2], g.kernel_w = weight[3];
  g.stride_h = o.stride[0], g.stride_w = o.stride[1];
  g.pad_h = o.padding[0], g.pad_w = o.padding[1];
  g.dilation_h = o.dilation[0], g.dilation_w = o.dilation[1];
  // The last window must fit in the padded input: floor((H + 2p - d (k - 1) - 1) / s) + 1.
  const std::int64_t span_h = g.in_h + 2 * g.pad_h - g.dilation_h * (g.kernel_h - 1) - 1;
  const std::int64_t span_w = g.in_w + 2 * g.pad_w - g.dilation_w * (g.kernel_w - 1) - 1;
  CAKE_CHECK(span_h >= 0 && span_w >= 0, op, ": kernel of shape ", weight, " with dilation (", g.dilation_h, ", ",
             g.dilation_w, ") is larger than the padded input of shape ", input, " (padding ", g.pad_h, ", ", g.pad_w,
             ")");
  g.out_h = span_h / g.stride_h + 1;
  g.out_w = span_w / g.stride_w + 1;
  return g;
}

ConvGeometry conv_transpose2d_geometry(const Shape& input, const Shape& weight, const ConvOptions& o,
                                       const char* op) {
  check_conv_options(o, op);
  check_conv_ranks(input, weight, op);
  const std::int64_t groups = o.groups;
  CAKE_CHECK(input[1] == weight[0], op, ": input of shape ", input, " has ", input[1], " channels, but weight of shape ",
             weight, " expects ", weight[0], " (weight is [C_in, C_out / groups, kH, kW])");
  CAKE_CHECK(weight[0] % groups == 0, op, ": ", weight[0], " input channels are not divisible by groups=", groups);
  for (int d = 0; d < 2; ++d)
    CAKE_CHECK(o.output_padding[d] < o.stride[d] || o.output_padding[d] < o.dilation[d], op,
               ": output_padding must be smaller than stride or dilation, got output_padding (", o.output_padding[0],
               ", ", o.output_padding[1], ") with stride (", o.stride[0], ", ", o.stride[1], ")");
  ConvGeometry g{};
  g.batch = input[0], g.groups = groups;
  // The equivalent convolution runs from the transposed convolution's output back to its input.
  g.out_channels = input[1], g.in_channels = weight[1] * groups;
  g.out_h = input[2], g.out_w = input[3];
  g.kernel_h = weight[2], g.kernel_w = weight[3];
  g.stride_h = o.stride[0], g.stride_w = o.stride[1];
  g.pad_h = o.padding[0], g.pad_w = o.padding[1];
  g.dilation_h = o.dilation[0], g.dilation_w = o.dilation[1];
  g.in_h = (g.out_h - 1) * g.stride_h - 2 * g.pad_h + g.dilation_h * (g.kernel_h - 1) + o.output_padding[0] + 1;
  g.in_w = (g.out_w - 1) * g.stride_w - 2 * g.pad_w + g.dilation_w * (g.kernel_w - 1) + o.output_padding[1] + 1;
  CAKE_CHECK(g.in_h > 0 && g.in_w > 0, op, ": input of shape ", input, " with weight ", weight, " and padding (",
             g.pad_h, ", ", g.pad_w, ") gives an empty output (", g.in_h, " x ", g.in_w, ")");
  return g;
}

namespace {
// Common checks of the tensors handed to a convolution kernel; returns them contiguous.
Tensor conv_operand(const Tensor& t, const Tensor& reference, const Shape& expected, const char* op,
                    const char* what) {
  check_same_kind(reference, t, op, what);
  check_shape(t, expected, op, what);
  return contiguous(t);
}
}  // namespace

Tensor conv2d_forward(const Tensor& x_in, const Tensor& weight_in, const Tensor& bias_in, const ConvGeometry& g) {
  const char* op = "conv2d";
  check_floating(x_in, op, "input");
  const Tensor x = conv_operand(x_in, x_in, g.input_shape(), op, "input");
  const Tensor weight = conv_operand(weight_in, x_in, g.weight_shape(), op, "weight");
  const Tensor bias = bias_in.defined() ? conv_operand(bias_in, x_in, {g.out_channels}, op, "bias") : Tensor();
  Tensor y = make_empty(g.output_shape(), x.dtype(), x.device());
  if (y.numel() > 0) conv2d_forward_stub(x.device(), g, x, weight, bias, y);
  return y;
}

Tensor conv2d_backward_data(const Tensor& grad_y_in, const Tensor& weight_in, const ConvGeometry& g) {
  const char* op = "conv2d_backward_data";
  check_floating(grad_y_in, op, "gradient");
  const Tensor grad_y = conv_operand(grad_y_in, grad_y_in, g.output_shape(), op, "gradient");
  const Tensor weight = conv_operand(weight_in, grad_y_in, g.weight_shape(), op, "weight");
  Tensor grad_x = make_empty(g.input_shape(), grad_y.dtype(), grad_y.device());
  if (grad_x.numel() > 0) conv2d_backward_data_stub(grad_y.device(), g, grad_y, weight, grad_x);
  return grad_x;
}

std::pair<Tensor, Tensor> conv2d_backward_weight(const Tensor& x_in, const Tensor& grad_y_in, const ConvGeometry& g,
                                                 bool with_bias) {
  const char* op = "conv2d_backward_weight";
  check_floating(x_in, op, "input");
  const Tensor x = conv_operand(x_in, x_in, g.input_shape(), op, "input");
  const Tensor grad_y = conv_operand(grad_y_in, x_in, g.output_shape(), op, "gradient");
  Tensor grad_weight = make_empty(g.weight_shape(), x.dtype(), x.device());
  Tensor grad_bias = with_bias ? make_empty({g.out_channels}, x.dtype(), x.device()) : Tensor();
  if (g.batch == 0) {  // an empty batch contributes nothing
    fill_(grad_weight, 0);
    if (with_bias) fill_(grad_bias, 0);
  } else {
    conv2d_backward_weight_stub(x.device(), g, x, grad_y, grad_weight, grad_bias);
  }
  return {grad_weight, grad_bias};
}

Tensor conv_transpose2d_forward(const Tensor& x, const Tensor& weight, const Tensor& bias_in, const ConvGeometry& g) {
  const char* op = "conv_transpose2d";
  check_floating(x, op, "input");
  check_same_kind(x, weight, op, "weight");
  const Tensor bias = bias_in.defined() ? conv_operand(bias_in, x, {g.in_channels}, op, "bias") : Tensor();
  if (is_half(x.dtype()) && bias.defined()) {  // the bias joins in float32, one rounding (tensor/half.h)
    const Tensor wide = conv_transpose2d_forward(to_dtype(x, kFloat32), to_dtype(weight, kFloat32),
                                                 to_dtype(bias, kFloat32), g);
    return to_dtype(wide, x.dtype());
  }
  Tensor y = conv2d_backward_data(x, weight, g);
  if (bias.defined() && y.numel() > 0) binary_(BinaryOp::Add, y, view(bias, {1, g.in_channels, 1, 1}));
  return y;
}

// ---- pooling --------------------------------------------------------------------------------
namespace {

// PyTorch's pooling_output_shape: floor or ceil of (in + 2 pad - kernel) / stride, plus one;
// in ceil mode the last window must still start inside the input or its left padding.
std::int64_t pooled_size(std::int64_t in, std::int64_t kernel, std::int64_t stride, std::int64_t pad, bool ceil_mode) {
  const std::int64_t span = in + 2 * pad - kernel;
  if (span < 0) return 0;
  std::int64_t out = (span + (ceil_mode ? stride - 1 : 0)) / stride + 1;
  if (ceil_mode && (out - 1) * stride >= in + pad) --out;
  return out;
}

void check_pool_input(const Shape& input, const char* op) {
  CAKE_CHECK(input.size() == 4, op, ": expected an input of shape [N, C, H, W] (or one unbatched [C, H, W]), got ", input);
  CAKE_CHECK(input[2] > 0 && input[3] > 0, op, ": input of shape ", input, " has an empty spatial dimension");
}

}  // namespace

PoolGeometry pool2d_geometry(const Shape& input, const PoolOptions& o, const char* op) {
  check_pool_input(input, op);
  check_positive(o.kernel, op, "kernel size");
  check_positive(o.stride, op, "stride");
  check_non_negative(o.padding, op, "padding");
  CAKE_CHECK(o.padding[0] <= o.kernel[0] / 2 && o.padding[1] <= o.kernel[1] / 2, op,
             ": padding should be at most half the kernel size, got padding (", o.padding[0], ", ", o.padding[1],
             ") for kernel (", o.kernel[0], ", ", o.kernel[1], ")");
  PoolGeometry g{};
  g.batch = input[0], g.channels = input[1], g.in_h = input[2], g.in_w = input[3];
  g.kernel_h = o.kernel[0], g.kernel_w = o.kernel[1];
  g.stride_h = o.stride[0], g.stride_w = o.stride[1];
  g.pad_h = o.padding[0], g.pad_w = o.padding[1];
  g.count_include_pad = o.count_include_pad;
  g.out_h = pooled_size(g.in_h, g.kernel_h, g.stride_h, g.pad_h, o.ceil_mode);
  g.out_w = pooled_size(g.in_w, g.kernel_w, g.stride_w, g.pad_w, o.ceil_mode);
  CAKE_CHECK(g.out_h > 0 && g.out_w > 0, op, ": kernel (", g.kernel_h, ", ", g.kernel_w,
             ") is larger than the padded input of shape ", input);
  return g;
}

PoolGeometry adaptive_pool2d_geometry(const Shape& input, Int2 output_size, const char* op) {
  check_pool_input(input, op);
  check_positive(output_size, op, "output size");
  PoolGeometry g{};
  g.batch = input[0], g.channels = input[1], g.in_h = input[2], g.in_w = input[3];
  g.out_h = output_size[0], g.out_w = output_size[1];
  return g;
}

namespace {
Tensor pool_input(const Tensor& x, const PoolGeometry& g, const char* op) {
  check_floating(x, op, "input");
  check_shape(x, g.input_shape(), op, "input");
  return contiguous(x);
}
Tensor pool_gradient(const Tensor& grad_y, const PoolGeometry& g, const char* op) {
  check_floating(grad_y, op, "gradient");
  check_shape(grad_y, g.output_shape(), op, "gradient");
  return contiguous(grad_y);
}
}  // namespace

Tensor max_pool2d(const Tensor& x_in, const PoolGeometry& g) {
  const Tensor x = pool_input(x_in, g, "max_pool2d");
  Tensor y = make_empty(g.output_shape(), x.dtype(), x.device());
  if (y.numel() > 0) max_pool2d_forward_stub(x.device(), g, x, y, Tensor());
  return y;
}

std::pair<Tensor, Tensor> max_pool2d_with_indices(const Tensor& x_in, const PoolGeometry& g) {
  const Tensor x = pool_input(x_in, g, "max_pool2d");
  Tensor y = make_empty(g.output_shape(), x.dtype(), x.device());
  Tensor indices = make_empty(g.output_shape(), kInt64, x.device());
  if (y.numel() > 0) max_pool2d_forward_stub(x.device(), g, x, y, indices);
  return {y, indices};
}

Tensor max_pool2d_backward(const Tensor& grad_y_in, const Tensor& indices_in, const PoolGeometry& g) {
  const char* op = "max_pool2d_backward";
  const Tensor grad_y = pool_gradient(grad_y_in, g, op);
  CAKE_CHECK(indices_in.dtype() == kInt64, op, ": indices must be int64, got ", dtype_name(indices_in.dtype()));
  check_shape(indices_in, g.output_shape(), op, "indices");
  const Tensor indices = contiguous(indices_in);
  Tensor grad_x = make_empty(g.input_shape(), grad_y.dtype(), grad_y.device());
  if (grad_x.numel() > 0) max_pool2d_backward_stub(grad_y.device(), g, grad_y, indices, grad_x);
  return grad_x;
}

Tensor avg_pool2d(const Tensor& x_in, const PoolGeometry& g) {
  const Tensor x = pool_input(x_in, g, "avg_pool2d");
  Tensor y = make_empty(g.output_shape(), x.dtype(), x.device());
  if (y.numel() > 0) avg_pool2d_forward_stub(x.device(), g, x, y);
  return y;
}

Tensor avg_pool2d_backward(const Tensor& grad_y_in, const PoolGeometry& g) {
  const Tensor grad_y = pool_gradient(grad_y_in, g, "avg_pool2d_backward");
  Tensor grad_x = make_empty(g.input_shape(), grad_y.dtype(), grad_y.device());
  if (grad_x.numel() > 0) avg_pool2d_backward_stub(grad_y.device(), g, grad_y, grad_x);
  return grad_x;
}

Tensor adaptive_avg_pool2d(const Tensor& x_in, const PoolGeometry& g) {
  const Tensor x = pool_input(x_in, g, "adaptive_avg_pool2d");
  Tensor y = make_empty(g.output_shape(), x.dtype(), x.device());
  if (y.numel() > 0) adaptive_avg_pool2d_forward_stub(x.device(), g, x, y);
  return y;
}

Tensor adaptive_avg_pool2d_backward(const Tensor& grad_y_in, const PoolGeometry& g) {
  const Tensor grad_y = pool_gradient(grad_y_in, g, "adaptive_avg_pool2d_backward");
  Tensor grad_x = make_empty(g.input_shape(), grad_y.dtype(), grad_y.device());
  if (grad_x.numel() > 0) adaptive_avg_pool2d_backward_stub(grad_y.device(), g, grad_y, grad_x);
  return grad_x;
}

// ---- batch normalisation --------------------------------------------------------------------
namespace {

void check_channel_vector(const Tensor& x, const Tensor& v, const char* op, const char* what) {
  if (!v.defined()) return;
  check_same_kind(x, v, op, what);
  check_shape(v, {x.sizes()[1]}, op, what);
}

// running = (1 - momentum) * running + momentum * batch, in place (converted to running's dtype).
void blend_into(const Tensor& running, const Tensor& batch, double momentum) {
  Tensor blended = binary(BinaryOp::Add, binary(BinaryOp::Mul, to_dtype(running, batch.dtype()), 1.0 - momentum),
                          binary(BinaryOp::Mul, batch, momentum));
  copy_(running, blended);
  running.bump_version();
}

}  // namespace

BatchNormResult batch_norm_training(const Tensor& x_in, const Tensor& weight_in, const Tensor& bias_in,
                                    const Tensor& running_mean, const Tensor& running_var, double momentum,
                                    double eps) {
  const char* op = "batch_norm";
  check_floating(x_in, op, "input");
  CAKE_CHECK(x_in.dim() >= 2, op, ": expected an input of shape [N, C, ...], got ", x_in.sizes());
  check_channel_vector(x_in, weight_in, op, "weight");
  check_channel_vector(x_in, bias_in, op, "bias");
  for (const Tensor* r : {&running_mean, &running_var}) {
    if (!r->defined()) continue;
    check_shape(*r, {x_in.sizes()[1]}, op, "running statistic");
    CAKE_CHECK(r->device() == x_in.device(), op, ": running statistic is on ", to_string(r->device()),
               " but the input is on ", to_string(x_in.device()));
  }
  CAKE_CHECK(eps >= 0, op, ": eps must be non-negative, got ", eps);
  const std::int64_t channels = x_in.sizes()[1];
  const std::int64_t count = channels > 0 ? x_in.numel() / channels : 0;  // values per channel
  CAKE_CHECK(count > 1, op, ": expected more than 1 value per channel when training, got input of shape ",
             x_in.sizes());
  const Tensor x = contiguous(x_in);
  const Tensor weight = weight_in.defined() ? contiguous(weight_in) : Tensor();
  const Tensor bias = bias_in.defined() ? contiguous(bias_in) : Tensor();
  BatchNormResult r{make_empty(x.sizes(), x.dtype(), x.device()), make_empty({channels}, x.dtype(), x.device()),
                    make_empty({channels}, x.dtype(), x.device())};
  batch_norm_forward_stub(x.device(), x, weight, bias, eps, r.output, r.mean, r.invstd);
  if (running_mean.defined()) blend_into(running_mean, r.mean, momentum);
  if (running_var.defined()) {
    // The kernel saved invstd = 1/sqrt(var + eps); var + eps comes back with a relative error of
    // a few ulps, so var = 1/invstd^2 - eps is accurate to a few ulps of (var + eps).
    Tensor var = binary(BinaryOp::Sub, unary(UnaryOp::Reciprocal, unary(UnaryOp::Square, r.invstd)), eps);
    const double unbiased = static_cast<double>(count) / static_cast<double>(count - 1);
    blend_into(running_var, binary(BinaryOp::Mul, var, unbiased), momentum);
  }
  return r;
}

BatchNormGrads batch_norm_backward(const Tensor& grad_y_in, const Tensor& x_in, const Tensor& weight_in,
                                   const Tensor& mean, const Tensor& invstd, double eps, bool need_x, bool need_weight,
                                   bool need_bias) {
  const char* op = "batch_norm_backward";
  check_floating(x_in, op, "input");
  check_same_kind(x_in, grad_y_in, op, "gradient");
  check_shape(grad_y_in, x_in.sizes(), op, "gradient");
  check_channel_vector(x_in, weight_in, op, "weight");
  check_channel_vector(x_in, mean, op, "saved mean");
  check_channel_vector(x_in, invstd, op, "saved invstd");
  const Tensor x = contiguous(x_in), grad_y = contiguous(grad_y_in);
  const Tensor weight = weight_in.defined() ? contiguous(weight_in) : Tensor();
  const std::int64_t channels = x.sizes()[1];
  BatchNormGrads r;
  if (need_x) r.grad_x = make_empty(x.sizes(), x.dtype(), x.device());
  if (need_weight) r.grad_weight = make_empty({channels}, x.dtype(), x.device());
  if (need_bias) r.grad_bias = make_empty({channels}, x.dtype(), x.device());
  if (need_x || need_weight || need_bias)
    batch_norm_backward_stub(x.device(), grad_y, x, weight, contiguous(mean), contiguous(invstd), eps, r.grad_x,
                             r.grad_weight, r.grad_bias);
  return r;
}

// ---- softmax --------------------------------------------------------------------------------
namespace {

Tensor softmax_forward(const Tensor& x_in, std::int64_t dim_in, bool log, const char* op) {
  check_floating(x_in, op, "input");
  // A zero-dim tensor is a one-element row (softmax 1, log_softmax 0), as in PyTorch.
  const Tensor x = contiguous(x_in.dim() == 0 ? view(x_in, {1}) : x_in);
  const std::int64_t dim = wrap_dim(dim_in, x.dim(), op);
  Tensor y = make_empty(x.sizes(), x.dtype(), x.device());
  if (y.numel() > 0) softmax_stub(x.device(), x, dim, log, y);
  return x_in.dim() == 0 ? view(y, {}) : y;
}

Tensor softmax_grad(const Tensor& grad_y_in, const Tensor& y_in, std::int64_t dim_in, bool log, const char* op) {
  check_floating(y_in, op, "output");
  check_same_kind(y_in, grad_y_in, op, "gradient");
  check_shape(grad_y_in, y_in.sizes(), op, "gradient");
  const bool scalar = y_in.dim() == 0;
  const Tensor y = contiguous(scalar ? view(y_in, {1}) : y_in);
  const Tensor grad_y = contiguous(scalar ? view(grad_y_in, {1}) : grad_y_in);
  const std::int64_t dim = wrap_dim(dim_in, y.dim(), op);
  Tensor grad_x = make_empty(y.sizes(), y.dtype(), y.device());
  if (grad_x.numel() > 0) softmax_backward_stub(y.device(), grad_y, y, dim, log, grad_x);
  return scalar ? view(grad_x, {}) : grad_x;
}

}  // namespace

Tensor softmax(const Tensor& x, std::int64_t dim) { return softmax_forward(x, dim, false, "softmax"); }
Tensor log_softmax(const Tensor& x, std::int64_t dim) { return softmax_forward(x, dim, true, "log_softmax"); }
Tensor softmax_backward(const Tensor& grad_y, const Tensor& y, std::int64_t dim) {
  return softmax_grad(grad_y, y, dim, false, "softmax_backward");
}
Tensor log_softmax_backward(const Tensor& grad_y, const Tensor& y, std::int64_t dim) {
  return softmax_grad(grad_y, y, dim, true, "log_softmax_backward");
}

// ---- bilinear grid sampling -----------------------------------------------------------------

bilinear::SampleShape grid_sample_shape(const Tensor& input, const Tensor& grid) {
  CAKE_CHECK(input.defined() && grid.defined(), "grid_sample: input and grid must be defined");
  CAKE_CHECK(input.dim() == 4, "grid_sample: input must be [N, C, H, W], got shape ", input.sizes());
  CAKE_CHECK(grid.dim() == 4 && grid.size(3) == 2 && grid.size(0) == input.size(0),
             "grid_sample: grid must be [N, H_out, W_out, 2] with N = ", input.size(0), ", got shape ", grid.sizes());
  CAKE_CHECK(input.dtype() == grid.dtype(), "grid_sample: input (", dtype_name(input.dtype()), ") and grid (",
             dtype_name(grid.dtype()), ") must have the same dtype");
  CAKE_CHECK(input.device() == grid.device(), "grid_sample: input and grid must be on the same device");
  CAKE_CHECK(input.dtype() == kFloat32 || input.dtype() == kFloat64,
             "grid_sample: expected a floating-point tensor (float32 or float64), got ", dtype_name(input.dtype()));
  return {input.size(0), input.size(1), input.size(2), input.size(3), grid.size(1), grid.size(2)};
}

Tensor grid_sample_forward(const Tensor& input_in, const Tensor& grid_in, bool align_corners) {
  const bilinear::SampleShape s = grid_sample_shape(input_in, grid_in);
  const Tensor input = contiguous(input_in), grid = contiguous(grid_in);
  Tensor out = make_empty({s.n, s.c, s.h_out, s.w_out}, input.dtype(), input.device());
  if (out.numel() > 0) grid_sample_forward_stub(input.device(), s, input, grid, align_corners, out);
  return out;
}

std::pair<Tensor, Tensor> grid_sample_backward(const Tensor& grad_out_in, const Tensor& input_in, const Tensor& grid_in,
                                               bool align_corners, bool need_input, bool need_grid) {
  const char* op = "grid_sample_backward";
  const bilinear::SampleShape s = grid_sample_shape(input_in, grid_in);
  CAKE_CHECK(grad_out_in.defined(), op, ": the output gradient must be defined");
  check_same_kind(input_in, grad_out_in, op, "output gradient");
  check_shape(grad_out_in, {s.n, s.c, s.h_out, s.w_out}, op, "output gradient");
  const Tensor input = contiguous(input_in), grid = contiguous(grid_in), grad_out = contiguous(grad_out_in);
  std::pair<Tensor, Tensor> r;
  if (need_input) {
    // The kernels scatter into the four corners of each point: they add to zeros.
    r.first = make_empty(input.sizes(), input.dtype(), input.device());
    fill_(r.first, 0);
  }
  if (need_grid) r.second = make_empty(grid.sizes(), grid.dtype(), grid.device());
  // With no output point (or no channel) nothing is read: grad_input stays 0, and every point's
  // grid gradient is an empty sum over channels, 0.
  if (grad_out.numel() == 0) {
    if (need_grid) fill_(r.second, 0);
    return r;
  }
  if (need_input || need_grid)
    grid_sample_backward_stub(input.device(), s, grad_out, input, grid, align_corners, r.first, r.second);
  return r;
}

}  // namespace cake::native
