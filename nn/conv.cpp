// conv.cpp: Conv2d, ConvTranspose2d and their 1-D forms Conv1d, ConvTranspose1d.
#include "cake/nn/conv.h"

#include <cmath>
#include <sstream>

#include "cake/nn/functional.h"
#include "cake/nn/init.h"
#include "cake/tensor/creation.h"

namespace cake::nn {

static void check_channels(const char* layer, std::int64_t in_channels, std::int64_t out_channels,
                           std::int64_t groups) {
  CAKE_CHECK(groups >= 1 && in_channels > 0 && out_channels > 0 && in_channels % groups == 0 &&
                 out_channels % groups == 0,
             layer, ": in_channels (", in_channels, ") and out_channels (", out_channels,
             ") must be positive and divisible by groups (", groups, ")");
}

// The bias bound of nn.Conv2d / nn.ConvTranspose2d: 1 / sqrt(fan_in) of the weight.
static void reset_conv(const Tensor& weight, const Tensor& bias) {
  init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (bias.defined()) {
    const auto fan_in = init::calculate_fan_in_and_fan_out(weight).first;
    const double bound = fan_in > 0 ? 1.0 / std::sqrt(static_cast<double>(fan_in)) : 0.0;
    init::uniform_(bias, -bound, bound);
  }
}

// Prints only the settings that differ from the defaults, as PyTorch does.
static void print_pair(std::ostream& out, const char* name, Pair value, Pair default_value) {
  if (value == default_value) return;
  out << ", " << name << "=";
  if (value[0] == value[1]) out << value[0];
  else out << "(" << value[0] << ", " << value[1] << ")";
}

// The same for the one number of a 1-D layer's setting.
static void print_setting(std::ostream& out, const char* name, std::int64_t value, std::int64_t default_value) {
  if (value != default_value) out << ", " << name << "=" << value;
}

// PyTorch's ", padding_mode=reflect", printed unless the mode is zeros.
static void print_padding_mode(std::ostream& out, functional::PadMode mode) {
  if (mode != functional::PadMode::Constant) out << ", padding_mode=" << functional::pad_mode_name(mode);
}

// The input padded by F::pad as padding_mode says (`pad` as F::pad takes it), the layer named
// in F::pad's errors.
static Tensor pad_input(const char* layer, const Tensor& x, const Shape& pad, functional::PadMode mode) {
  try {
    return functional::pad(x, pad, mode);
  } catch (const Error& e) {
    CAKE_FAIL(layer, " with padding_mode=", functional::pad_mode_name(mode), ": ", e.what());
  }
}

Conv2d::Conv2d(std::int64_t in_channels, std::int64_t out_channels, std::int64_t kernel_size,
               const Conv2dOptions& o)
    : Conv2d(in_channels, out_channels, Pair{kernel_size, kernel_size},
             Conv2dParams{.stride = {o.stride, o.stride}, .padding = {o.padding, o.padding},
                          .dilation = {o.dilation, o.dilation}, .groups = o.groups},
             o.bias) {
  padding_mode = o.padding_mode;
}

Conv2d::Conv2d(std::int64_t in_channels, std::int64_t out_channels, Pair kernel_size, const Conv2dParams& params,
               bool with_bias)
    : in_channels(in_channels), out_channels(out_channels), kernel_size(kernel_size), params(params) {
  check_channels("Conv2d", in_channels, out_channels, params.groups);
  weight = register_parameter("weight", empty({out_channels, in_channels / params.groups, kernel_size[0], kernel_size[1]}));
  if (with_bias) bias = register_parameter("bias", empty({out_channels}));
  reset_parameters();
}

Conv2d::Conv2d(const Conv2dOptions& o) : Conv2d(o.in_channels, o.out_channels, o.kernel_size, o) {}

void Conv2d::reset_parameters() { reset_conv(weight, bias); }

std::shared_ptr<Module> Conv2d::clone() const {
  auto copy = std::make_shared<Conv2d>(in_channels, out_channels, kernel_size, params, bias.defined());
  copy->padding_mode = padding_mode;
  return copy_state_into(copy);
}

// A padding_mode other than zeros: F::pad pads W by padding[1] and H by padding[0] on each side
// (its pairs run from the last dim), and the convolution adds none.
Tensor Conv2d::forward(const Tensor& x) {
  if (padding_mode == functional::PadMode::Constant) return cake::conv2d(x, weight, bias, params);
  const Pair p = params.padding;
  Conv2dParams unpadded = params;
  unpadded.padding = {0, 0};
  return cake::conv2d(pad_input("Conv2d", x, {p[1], p[1], p[0], p[0]}, padding_mode), weight, bias, unpadded);
}

std::string Conv2d::extra_repr() const {
  std::ostringstream out;
  out << in_channels << ", " << out_channels;
  print_pair(out, "kernel_size", kernel_size, {-1, -1});
  print_pair(out, "stride", params.stride, {1, 1});
  print_pair(out, "padding", params.padding, {0, 0});
  print_pair(out, "dilation", params.dilation, {1, 1});
  if (params.groups != 1) out << ", groups=" << params.groups;
  if (!bias.defined()) out << ", bias=false";
  print_padding_mode(out, padding_mode);
  return out.str();
}

ConvTranspose2d::ConvTranspose2d(std::int64_t in_channels, std::int64_t out_channels, std::int64_t kernel_size,
                                 const ConvTranspose2dOptions& o)
    : ConvTranspose2d(in_channels, out_channels, Pair{kernel_size, kernel_size},
                      ConvTranspose2dParams{.stride = {o.stride, o.stride},
                                            .padding = {o.padding, o.padding},
                                            .output_padding = {o.output_padding, o.output_padding},
                                            .dilation = {o.dilation, o.dilation},
                                            .groups = o.groups},
                      o.bias) {}

ConvTranspose2d::ConvTranspose2d(std::int64_t in_channels, std::int64_t out_channels, Pair kernel_size,
                                 const ConvTranspose2dParams& params, bool with_bias)
    : in_channels(in_channels), out_channels(out_channels), kernel_size(kernel_size), params(params) {
  check_channels("ConvTranspose2d", in_channels, out_channels, params.groups);
  weight = register_parameter("weight", empty({in_channels, out_channels / params.groups, kernel_size[0], kernel_size[1]}));
  if (with_bias) bias = register_parameter("bias", empty({out_channels}));
  reset_parameters();
}

ConvTranspose2d::ConvTranspose2d(const ConvTranspose2dOptions& o)
    : ConvTranspose2d(o.in_channels, o.out_channels, o.kernel_size, o) {}

void ConvTranspose2d::reset_parameters() { reset_conv(weight, bias); }

std::shared_ptr<Module> ConvTranspose2d::clone() const {
  return copy_state_into(
      std::make_shared<ConvTranspose2d>(in_channels, out_channels, kernel_size, params, bias.defined()));
}

Tensor ConvTranspose2d::forward(const Tensor& x) { return cake::conv_transpose2d(x, weight, bias, params); }

std::string ConvTranspose2d::extra_repr() const {
  std::ostringstream out;
  out << in_channels << ", " << out_channels;
  print_pair(out, "kernel_size", kernel_size, {-1, -1});
  print_pair(out, "stride", params.stride, {1, 1});
  print_pair(out, "padding", params.padding, {0, 0});
  print_pair(out, "output_padding", params.output_padding, {0, 0});
  print_pair(out, "dilation", params.dilation, {1, 1});
  if (params.groups != 1) out << ", groups=" << params.groups;
  if (!bias.defined()) out << ", bias=false";
  return out.str();
}

// ---- 1-D ---------------------------------------------------------------------------------------
// The options with the channels and kernel given as arguments written in.
template <class Options>
static Options with_shape(Options o, std::int64_t in_channels, std::int64_t out_channels, std::int64_t kernel_size) {
  o.in_channels = in_channels;
  o.out_channels = out_channels;
  o.kernel_size = kernel_size;
  return o;
}

Conv1d::Conv1d(std::int64_t in_channels, std::int64_t out_channels, std::int64_t kernel_size, const Conv1dOptions& o)
    : Conv1d(with_shape(o, in_channels, out_channels, kernel_size)) {}

Conv1d::Conv1d(const Conv1dOptions& o) : options(o) {
  check_channels("Conv1d", o.in_channels, o.out_channels, o.groups);
  CAKE_CHECK(o.kernel_size > 0, "Conv1d: kernel_size must be positive, got ", o.kernel_size());
  weight = register_parameter("weight", empty({o.out_channels, o.in_channels / o.groups, o.kernel_size}));
  if (o.bias) bias = register_parameter("bias", empty({o.out_channels}));
  reset_parameters();
}

// kaiming_uniform_ reads fan_in = in_channels / groups * kernel_size off the 3-D weight, the
// same number as for the [out, in / groups, 1, k] weight that conv2d sees: PyTorch's bounds.
void Conv1d::reset_parameters() { reset_conv(weight, bias); }

std::shared_ptr<Module> Conv1d::clone() const { return copy_state_into(std::make_shared<Conv1d>(options)); }

// As Conv2d: a padding_mode other than zeros pads the sequence with F::pad first.
Tensor Conv1d::forward(const Tensor& x) {
  functional::Conv1dFuncOptions settings{.stride = options.stride, .padding = options.padding,
                                         .dilation = options.dilation, .groups = options.groups};
  if (options.padding_mode == functional::PadMode::Constant) return functional::conv1d(x, weight, bias, settings);
  const std::int64_t p = options.padding;
  settings.padding = 0;
  return functional::conv1d(pad_input("Conv1d", x, {p, p}, options.padding_mode), weight, bias, settings);
}

std::string Conv1d::extra_repr() const {
  std::ostringstream out;
  out << options.in_channels() << ", " << options.out_channels() << ", kernel_size=" << options.kernel_size();
  print_setting(out, "stride", options.stride, 1);
  print_setting(out, "padding", options.padding, 0);
  print_setting(out, "dilation", options.dilation, 1);
  print_setting(out, "groups", options.groups, 1);
  if (!options.bias) out << ", bias=false";
  print_padding_mode(out, options.padding_mode);
  return out.str();
}

ConvTranspose1d::ConvTranspose1d(std::int64_t in_channels, std::int64_t out_channels, std::int64_t kernel_size,
                                 const ConvTranspose1dOptions& o)
    : ConvTranspose1d(with_shape(o, in_channels, out_channels, kernel_size)) {}

ConvTranspose1d::ConvTranspose1d(const ConvTranspose1dOptions& o) : options(o) {
  check_channels("ConvTranspose1d", o.in_channels, o.out_channels, o.groups);
  CAKE_CHECK(o.kernel_size > 0, "ConvTranspose1d: kernel_size must be positive, got ", o.kernel_size());
  weight = register_parameter("weight", empty({o.in_channels, o.out_channels / o.groups, o.kernel_size}));
  if (o.bias) bias = register_parameter("bias", empty({o.out_channels}));
  reset_parameters();
}

void ConvTranspose1d::reset_parameters() { reset_conv(weight, bias); }

std::shared_ptr<Module> ConvTranspose1d::clone() const {
  return copy_state_into(std::make_shared<ConvTranspose1d>(options));
}

Tensor ConvTranspose1d::forward(const Tensor& x) {
  return functional::conv_transpose1d(
      x, weight, bias,
      functional::ConvTranspose1dFuncOptions{.stride = options.stride, .padding = options.padding,
                                             .output_padding = options.output_padding,
                                             .dilation = options.dilation, .groups = options.groups});
}

std::string ConvTranspose1d::extra_repr() const {
  std::ostringstream out;
  out << options.in_channels() << ", " << options.out_channels() << ", kernel_size=" << options.kernel_size();
  print_setting(out, "stride", options.stride, 1);
  print_setting(out, "padding", options.padding, 0);
  print_setting(out, "output_padding", options.output_padding, 0);
  print_setting(out, "dilation", options.dilation, 1);
  print_setting(out, "groups", options.groups, 1);
  if (!options.bias) out << ", bias=false";
  return out.str();
}

}  // namespace cake::nn
