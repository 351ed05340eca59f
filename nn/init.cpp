// init.cpp: parameter initialisers (torch.nn.init's formulas).
#include "cake/nn/init.h"

#include <cmath>

#include "cake/autograd/grad_mode.h"
#include "cake/tensor/creation.h"

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

}  // namespace cake::nn::init
