// pooling.h: 2-D max and average pooling layers (NCHW).
//
//   auto pool = std::make_shared<cake::nn::MaxPool2d>(2);              // 2x2 windows, stride 2
//   auto down = std::make_shared<cake::nn::AvgPool2d>(3, 2, 1);        // kernel 3, stride 2, padding 1
//   auto global = std::make_shared<cake::nn::AdaptiveAvgPool2d>(cake::Pair{1, 1});
//
// The square constructors mirror nn.MaxPool2d(kernel_size, stride=None, padding=0); the ones
// taking cake::Pool2dParams allow rectangular windows.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "cake/autograd/nn_ops.h"
#include "cake/nn/module.h"

namespace cake::nn {

class MaxPool2d : public Module, public Holder<MaxPool2d> {
 public:
  CAKE_HOLDER_CONSTRUCTORS(MaxPool2d)
  std::shared_ptr<Module> clone() const override { return std::make_shared<MaxPool2d>(*this); }
  explicit MaxPool2d(std::int64_t kernel_size, std::optional<std::int64_t> stride = std::nullopt,
                     std::int64_t padding = 0, bool ceil_mode = false);
  explicit MaxPool2d(const Pool2dParams& params) : params(params) {}
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
