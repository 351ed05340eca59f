// init.cpp: parameter initialisers (torch.nn.init's formulas).
#include "cake/nn/init.h"

#include <algorithm>
#include <cmath>

#include "cake/autograd/grad_mode.h"
#include "cake/tensor/creation.h"
#include "cake/tensor/linalg.h"

namespace cake::nn::init {

double calculate_gain(const std::string& nonlinearity, double param) {
  if (nonlinearity == "linear" || nonlinearity == "conv1d" || nonlinearity == "conv2d" ||
      nonlinearity == "conv_transpose1d" || nonlinearity == "conv_transpose2d" || nonlinearity == "sigmoid")
    return 1.0;
  if (nonlinearity == "tanh") return 5.0 / 3.0;
  if (nonlinearity == "relu") return std::sqrt(2.0);
  if (nonlinearity == "leaky_relu") return std::sqrt(2.0 / (1.0 + param * param));
  if (nonlinearity == "selu") return 3.0 / 4.0;
  CAKE_FAIL("calculate_gain: unknown nonlinearity '", nonlinearity,
            "' (expected linear, conv1d, conv2d, conv_transpose2d, sigmoid, tanh, relu, leaky_relu or selu)");
}

std::pair<std::int64_t, std::int64_t> calculate_fan_in_and_fan_out(const Tensor& tensor) {
  CAKE_CHECK(tensor.dim() >= 2, "calculate_fan_in_and_fan_out: needs a tensor with at least 2 dimensions, got shape ",
             tensor.sizes());
  std::int64_t receptive_field = 1;
  for (std::int64_t d = 2; d < tensor.dim(); ++d) receptive_field *= tensor.size(d);
  return {tensor.size(1) * receptive_field, tensor.size(0) * receptive_field};
}

static std::int64_t fan_for_mode(const Tensor& tensor, const std::string& mode) {
  const auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(tensor);
  if (mode == "fan_in") return fan_in;
  if (mode == "fan_out") return fan_out;
  CAKE_FAIL("kaiming init: mode must be \"fan_in\" or \"fan_out\", got \"", mode, "\"");
}

// The initialisers write through a copy of the handle (same storage) with recording off, so a
// parameter that requires a gradient can be filled without touching the graph.
Tensor uniform_(const Tensor& tensor, double low, double high) {
  NoGradGuard no_grad;
  Tensor t = tensor;
  t.uniform_(low, high);
  return tensor;
}

Tensor normal_(const Tensor& tensor, double mean, double std) {
  NoGradGuard no_grad;
  Tensor t = tensor;
  t.normal_(mean, std);
  return tensor;
}

Tensor constant_(const Tensor& tensor, double value) {
  NoGradGuard no_grad;
  Tensor t = tensor;
  t.fill_(value);
  return tensor;
}

Tensor zeros_(const Tensor& tensor) { return constant_(tensor, 0.0); }
Tensor ones_(const Tensor& tensor) { return constant_(tensor, 1.0); }

Tensor eye_(const Tensor& tensor) {
  CAKE_CHECK(tensor.dim() == 2, "eye_: expected a matrix, got shape ", tensor.sizes());
  NoGradGuard no_grad;
  Tensor t = tensor;
  t.copy_(eye(t.size(0), t.size(1), TensorOptions{t.dtype(), t.device()}));  // one copy, on any device
  return tensor;
}

Tensor xavier_uniform_(const Tensor& tensor, double gain) {
  const auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(tensor);
  const double std = gain * std::sqrt(2.0 / static_cast<double>(fan_in + fan_out));
  const double bound = std::sqrt(3.0) * std;  // U(-b, b) has standard deviation b / sqrt(3)
  return uniform_(tensor, -bound, bound);
}

Tensor xavier_normal_(const Tensor& tensor, double gain) {
  const auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(tensor);
  return normal_(tensor, 0.0, gain * std::sqrt(2.0 / static_cast<double>(fan_in + fan_out)));
}

Tensor kaiming_uniform_(const Tensor& tensor, double a, const std::string& mode, const std::string& nonlinearity) {
  if (tensor.numel() == 0) return tensor;
  const double std = calculate_gain(nonlinearity, a) / std::sqrt(static_cast<double>(fan_for_mode(tensor, mode)));
  const double bound = std::sqrt(3.0) * std;
  return uniform_(tensor, -bound, bound);
}

Tensor kaiming_normal_(const Tensor& tensor, double a, const std::string& mode, const std::string& nonlinearity) {
  if (tensor.numel() == 0) return tensor;
  const double std = calculate_gain(nonlinearity, a) / std::sqrt(static_cast<double>(fan_for_mode(tensor, mode)));
  return normal_(tensor, 0.0, std);
}

// The draws are made in float64 on the CPU (QR runs there) and copied into the tensor once.
Tensor orthogonal_(const Tensor& tensor, double gain) {
  CAKE_CHECK(tensor.dim() >= 2, "orthogonal_: needs a tensor with at least 2 dimensions, got shape ", tensor.sizes());
  if (tensor.numel() == 0) return tensor;
  const std::int64_t rows = tensor.size(0), cols = tensor.numel() / rows;
  const bool wide = rows < cols;
  const Tensor gaussian = randn(wide ? Shape{cols, rows} : Shape{rows, cols}, kFloat64);  // tall: QR gives its columns
  const linalg::QrResult factors = linalg::qr(gaussian);
  // Q's columns times the signs of R's diagonal: without this QR's sign convention biases Q.
  const std::int64_t k = factors.R.size(0);  // R is square here: the Gaussian matrix is tall
  const Tensor signs = (factors.R * eye(k, k, kFloat64)).sum({1}).sign();
  Tensor q = factors.Q * signs;
  if (wide) q = q.t();
  NoGradGuard no_grad;
  Tensor t = tensor;
  t.copy_((q * gain).reshape(tensor.sizes()).to(tensor.device(), tensor.dtype()));
  return tensor;
}

Tensor trunc_normal_(const Tensor& tensor, double mean, double std, double a, double b) {
  CAKE_CHECK(std > 0.0 && a < b, "trunc_normal_: expected std > 0 and a < b, got std ", std, ", a ", a, ", b ", b);
  const auto normal_cdf = [](double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); };
  const double mass = normal_cdf((b - mean) / std) - normal_cdf((a - mean) / std);
  CAKE_CHECK(mass >= 1e-6, "trunc_normal_: [", a, ", ", b, "] holds only ", mass, " of N(", mean, ", ", std,
             "^2): too far in the tail to sample by rejection");
  Tensor values = randn(tensor.sizes(), kFloat64) * std + mean;
  // Each round redraws only the values outside; a fraction 1 - mass of them stays out, so the
  // count falls geometrically (a 10^-6 mass would need ~10^7 rounds per value: refused above).
  for (Tensor outside = values.lt(a).logical_or(values.gt(b)); outside.any().item<bool>();
       outside = values.lt(a).logical_or(values.gt(b)))
    values = where(outside, randn(tensor.sizes(), kFloat64) * std + mean, values);
  NoGradGuard no_grad;
  Tensor t = tensor;
  t.copy_(values.to(tensor.device(), tensor.dtype()));
  return tensor;
}

Tensor dirac_(const Tensor& tensor, std::int64_t groups) {
  CAKE_CHECK(tensor.dim() >= 3 && tensor.dim() <= 5, "dirac_: expected a convolution weight of 3 to 5 dims, got shape ",
             tensor.sizes());
  CAKE_CHECK(groups >= 1 && tensor.size(0) % groups == 0, "dirac_: the ", tensor.size(0),
             " output channels must divide into groups = ", groups);
  const std::int64_t per_group = tensor.size(0) / groups, linked = std::min(per_group, tensor.size(1));
  Tensor weight = zeros(tensor.sizes(), kFloat64);
  for (std::int64_t g = 0; g < groups; ++g) {
    for (std::int64_t d = 0; d < linked; ++d) {
      Tensor kernel = weight[g * per_group + d][d];
      for (std::int64_t k = 2; k < tensor.dim(); ++k) kernel = kernel[tensor.size(k) / 2];  // the centre
      kernel.fill_(1.0);
    }
  }
  NoGradGuard no_grad;
  Tensor t = tensor;
  t.copy_(weight.to(tensor.device(), tensor.dtype()));
  return tensor;
}

Tensor sparse_(const Tensor& tensor, double sparsity, double std) {
  CAKE_CHECK(tensor.dim() == 2, "sparse_: expected a matrix, got shape ", tensor.sizes());
  CAKE_CHECK(sparsity >= 0.0 && sparsity <= 1.0, "sparse_: sparsity must lie in [0, 1], got ", sparsity);
  const std::int64_t rows = tensor.size(0), cols = tensor.size(1);
  const auto zeros_per_column = static_cast<std::int64_t>(std::ceil(sparsity * static_cast<double>(rows)));
  Tensor values = randn({rows, cols}, kFloat64) * std;
  for (std::int64_t c = 0; c < cols; ++c) {
    const Tensor zeroed_rows = randperm(rows).narrow(0, 0, zeros_per_column);
    values.index_put_({zeroed_rows, c}, 0.0);
  }
  NoGradGuard no_grad;
  Tensor t = tensor;
  t.copy_(values.to(tensor.device(), tensor.dtype()));
  return tensor;
}

}  // namespace cake::nn::init
