// pooling.cpp: MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, AdaptiveMaxPool2d and their 1-D forms.
#include "cake/nn/pooling.h"

#include <sstream>

#include "cake/nn/functional.h"

namespace cake::nn {

static Pool2dParams square_params(std::int64_t kernel, std::optional<std::int64_t> stride, std::int64_t padding,
                                  bool ceil_mode, bool count_include_pad) {
  Pool2dParams p{.kernel = {kernel, kernel}, .stride = std::nullopt, .padding = {padding, padding}, .ceil_mode = ceil_mode,
                 .count_include_pad = count_include_pad};
  if (stride) p.stride = Pair{*stride, *stride};
  return p;
}

static std::string describe(const Pool2dParams& p) {
  const Pair stride = p.stride.value_or(p.kernel);
  std::ostringstream out;
  out << "kernel_size=(" << p.kernel[0] << ", " << p.kernel[1] << "), stride=(" << stride[0] << ", " << stride[1]
      << "), padding=(" << p.padding[0] << ", " << p.padding[1] << "), ceil_mode=" << (p.ceil_mode ? "true" : "false");
  return out.str();
}

MaxPool2d::MaxPool2d(std::int64_t kernel_size, std::optional<std::int64_t> stride, std::int64_t padding,
                     bool ceil_mode)
    : params(square_params(kernel_size, stride, padding, ceil_mode, true)) {}

std::string MaxPool2d::extra_repr() const { return describe(params); }

AvgPool2d::AvgPool2d(std::int64_t kernel_size, std::optional<std::int64_t> stride, std::int64_t padding,
                     bool ceil_mode, bool count_include_pad)
    : params(square_params(kernel_size, stride, padding, ceil_mode, count_include_pad)) {}

std::string AvgPool2d::extra_repr() const {
  return describe(params) + ", count_include_pad=" + (params.count_include_pad ? "true" : "false");
}

static std::string describe_output_size(Pair output_size) {
  return "output_size=(" + std::to_string(output_size[0]) + ", " + std::to_string(output_size[1]) + ")";
}

std::string AdaptiveAvgPool2d::extra_repr() const { return describe_output_size(output_size); }

Tensor AdaptiveMaxPool2d::forward(const Tensor& x) { return functional::adaptive_max_pool2d(x, output_size); }

std::string AdaptiveMaxPool2d::extra_repr() const { return describe_output_size(output_size); }

// ---- 1-D ---------------------------------------------------------------------------------------
// PyTorch's repr, e.g. kernel_size=3, stride=2, padding=1, ceil_mode=true.
static std::string describe_1d(std::int64_t kernel, std::optional<std::int64_t> stride, std::int64_t padding,
                               bool ceil_mode) {
  std::ostringstream out;
  out << "kernel_size=" << kernel << ", stride=" << stride.value_or(kernel) << ", padding=" << padding
      << ", ceil_mode=" << (ceil_mode ? "true" : "false");
  return out.str();
}

Tensor MaxPool1d::forward(const Tensor& x) {
  return functional::max_pool1d(x, options.kernel_size, options.stride, options.padding, options.ceil_mode);
}

std::tuple<Tensor, Tensor> MaxPool1d::forward_with_indices(const Tensor& x) {
  return functional::max_pool1d_with_indices(x, functional::MaxPool1dFuncOptions(options.kernel_size)
                                                    .stride(options.stride)
                                                    .padding(options.padding)
                                                    .ceil_mode(options.ceil_mode));
}

std::string MaxPool1d::extra_repr() const {
  return describe_1d(options.kernel_size, options.stride, options.padding, options.ceil_mode);
}

Tensor AvgPool1d::forward(const Tensor& x) {
  return functional::avg_pool1d(x, options.kernel_size, options.stride, options.padding, options.ceil_mode,
                                options.count_include_pad);
}

std::string AvgPool1d::extra_repr() const {
  return describe_1d(options.kernel_size, options.stride, options.padding, options.ceil_mode) +
         ", count_include_pad=" + (options.count_include_pad ? "true" : "false");
}

Tensor AdaptiveAvgPool1d::forward(const Tensor& x) { return functional::adaptive_avg_pool1d(x, output_size); }

Tensor AdaptiveMaxPool1d::forward(const Tensor& x) { return functional::adaptive_max_pool1d(x, output_size); }

// ---- unpooling ---------------------------------------------------------------------------------
static functional::MaxUnpoolFuncOptions unpool_settings(const MaxUnpoolOptions& o, const std::optional<Shape>& size) {
  return functional::MaxUnpoolFuncOptions(o.kernel_size).stride(o.stride).padding(o.padding).output_size(
      size.value_or(Shape{}));
}

Tensor MaxUnpool2d::forward(const Tensor& x, const Tensor& indices, const std::optional<Shape>& output_size) {
  return functional::max_unpool2d(x, indices, unpool_settings(options, output_size));
}

Tensor MaxUnpool1d::forward(const Tensor& x, const Tensor& indices, const std::optional<Shape>& output_size) {
  return functional::max_unpool1d(x, indices, unpool_settings(options, output_size));
}

// PyTorch's repr: kernel_size=2, stride=2, padding=0.
static std::string describe_unpool(const MaxUnpoolOptions& o) {
  return "kernel_size=" + std::to_string(o.kernel_size) + ", stride=" + std::to_string(o.stride().value_or(o.kernel_size)) +
         ", padding=" + std::to_string(o.padding);
}

std::string MaxUnpool2d::extra_repr() const { return describe_unpool(options); }
std::string MaxUnpool1d::extra_repr() const { return describe_unpool(options); }

}  // namespace cake::nn
