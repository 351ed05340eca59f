// pooling.h: 2-D max and average pooling layers (NCHW).
//
//   auto pool = std::make_shared<cake::nn::MaxPool2d>(2);              // 2x2 windows, stride 2
//   auto down = std::make_shared<cake::nn::AvgPool2d>(3, 2, 1);        // kernel 3, stride 2, padding 1
//   auto global = std::make_shared<cake::nn::AdaptiveAvgPool2d>(cake::Pair{1, 1});
//   cake::nn::MaxPool2d pool2(cake::nn::MaxPool2dOptions(3).stride(2).padding(1));   // libtorch's builder
//
// The square constructors mirror nn.MaxPool2d(kernel_size, stride=None, padding=0); the ones
// taking cake::Pool2dParams allow rectangular windows.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "cake/autograd/nn_ops.h"
#include "cake/nn/module.h"
#include "cake/nn/options.h"

namespace cake::nn {

// libtorch's options for square windows: MaxPool2dOptions(3).stride(2).padding(1); the stride
// defaults to the kernel size.
struct MaxPool2dOptions {
  using Self = MaxPool2dOptions;
  CAKE_ARG(std::int64_t, kernel_size) = 2;
  CAKE_ARG(std::optional<std::int64_t>, stride) = std::nullopt;
  CAKE_ARG(std::int64_t, padding) = 0;
  CAKE_ARG(bool, ceil_mode) = false;
};
struct AvgPool2dOptions {
  using Self = AvgPool2dOptions;
  CAKE_ARG(std::int64_t, kernel_size) = 2;
  CAKE_ARG(std::optional<std::int64_t>, stride) = std::nullopt;
  CAKE_ARG(std::int64_t, padding) = 0;
  CAKE_ARG(bool, ceil_mode) = false;
  CAKE_ARG(bool, count_include_pad) = true;
};
struct AdaptiveAvgPool2dOptions {  // AdaptiveAvgPool2dOptions({1, 1})
  using Self = AdaptiveAvgPool2dOptions;
  CAKE_ARG(Pair, output_size) = Pair{1, 1};
};

class MaxPool2d : public Module, public Holder<MaxPool2d> {
 public:
  CAKE_HOLDER_CONSTRUCTORS(MaxPool2d)
  std::shared_ptr<Module> clone() const override { return std::make_shared<MaxPool2d>(*this); }
  explicit MaxPool2d(std::int64_t kernel_size, std::optional<std::int64_t> stride = std::nullopt,
                     std::int64_t padding = 0, bool ceil_mode = false);
  explicit MaxPool2d(const Pool2dParams& params) : params(params) {}
  explicit MaxPool2d(const MaxPool2dOptions& o) : MaxPool2d(o.kernel_size, o.stride, o.padding, o.ceil_mode) {}
  Tensor forward(const Tensor& x) override { return cake::max_pool2d(x, params); }
  std::string name() const override { return "MaxPool2d"; }
  std::string extra_repr() const override;

  Pool2dParams params;
};

class AvgPool2d : public Module, public Holder<AvgPool2d> {
 public:
  CAKE_HOLDER_CONSTRUCTORS(AvgPool2d)
  std::shared_ptr<Module> clone() const override { return std::make_shared<AvgPool2d>(*this); }
  explicit AvgPool2d(std::int64_t kernel_size, std::optional<std::int64_t> stride = std::nullopt,
                     std::int64_t padding = 0, bool ceil_mode = false, bool count_include_pad = true);
  explicit AvgPool2d(const Pool2dParams& params) : params(params) {}
  explicit AvgPool2d(const AvgPool2dOptions& o)
      : AvgPool2d(o.kernel_size, o.stride, o.padding, o.ceil_mode, o.count_include_pad) {}
  Tensor forward(const Tensor& x) override { return cake::avg_pool2d(x, params); }
  std::string name() const override { return "AvgPool2d"; }
  std::string extra_repr() const override;

  Pool2dParams params;
};

// Averages each of output_size's cells over the input region that maps to it, whatever the
// input's size; {1, 1} is global average pooling.
class AdaptiveAvgPool2d : public Module, public Holder<AdaptiveAvgPool2d> {
 public:
  CAKE_HOLDER_CONSTRUCTORS(AdaptiveAvgPool2d)
  std::shared_ptr<Module> clone() const override { return std::make_shared<AdaptiveAvgPool2d>(*this); }
  explicit AdaptiveAvgPool2d(Pair output_size) : output_size(output_size) {}
  explicit AdaptiveAvgPool2d(const AdaptiveAvgPool2dOptions& options) : output_size(options.output_size) {}
  Tensor forward(const Tensor& x) override { return cake::adaptive_avg_pool2d(x, output_size); }
  std::string name() const override { return "AdaptiveAvgPool2d"; }
  std::string extra_repr() const override;

  Pair output_size{1, 1};
};

// libtorch's names for the module classes (see NOTE [ Holders: layers as values ]).
using MaxPool2dImpl = MaxPool2d;
using AvgPool2dImpl = AvgPool2d;
using AdaptiveAvgPool2dImpl = AdaptiveAvgPool2d;

}  // namespace cake::nn
