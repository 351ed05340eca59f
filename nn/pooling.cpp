// pooling.cpp: MaxPool2d, AvgPool2d and AdaptiveAvgPool2d.
#include "cake/nn/pooling.h"

#include <sstream>

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

std::string AdaptiveAvgPool2d::extra_repr() const {
  return "output_size=(" + std::to_string(output_size[0]) + ", " + std::to_string(output_size[1]) + ")";
}

}  // namespace cake::nn
