// functional.cpp: nn::functional's activations, layer functions and similarities. Each is a
// thin composition of autograd ops (ops.h, nn_ops.h), so its gradient comes for free.
#include "nn/functional.h"

#include "autograd/ops.h"
#include "tensor/creation.h"
#include "tensor/native/elementwise.h"

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

// log(1 + e^x) = max(x, 0) + log(1 + e^-|x|): the exponent is never positive, so no overflow,
// and log1p keeps precision when e^-|x| is tiny.
Tensor softplus(const Tensor& x) { return x.relu() + x.abs().neg().exp().log1p(); }
Tensor logsigmoid(const Tensor& x) { return -softplus(-x); }

// ---- layers ----------------------------------------------------------------------------------
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

Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                  const Tensor& bias, bool training, double momentum, double eps) {
  return cake::batch_norm(x, weight, bias, running_mean, running_var, training, momentum, eps);
}

Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight, const Tensor& bias,
                  double eps) {
  return cake::layer_norm(x, normalized_shape, weight, bias, eps);
}

Tensor dropout(const Tensor& x, double p, bool training) {
  CAKE_CHECK(p >= 0.0 && p <= 1.0, "dropout: probability must be in [0, 1], got ", p);
  if (!training || p == 0.0) return x;
  if (p == 1.0) return x * 0.0;
  // The mask is a constant for autograd: keep with probability 1 - p, pre-scaled by 1 / (1 - p).
  Tensor mask = empty(x.sizes(), TensorOptions(x.dtype(), x.device()));
  mask.bernoulli_(1.0 - p);
  mask.mul_(1.0 / (1.0 - p));
  return x * mask;
}

Tensor one_hot(const Tensor& labels, std::int64_t num_classes) { return cake::one_hot(labels, num_classes); }

Tensor embedding(const Tensor& indices, const Tensor& weight) { return cake::embedding(weight, indices); }

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

}  // namespace cake::nn::functional
