// conv.h: 2-D convolution and transposed convolution layers (NCHW).
//
//   auto conv = std::make_shared<cake::nn::Conv2d>(1, 16, 3, cake::nn::Conv2dOptions{.stride = 2, .padding = 1});
//   auto up = std::make_shared<cake::nn::ConvTranspose2d>(
//       16, 1, 3, cake::nn::ConvTranspose2dOptions{.stride = 2, .padding = 1, .output_padding = 1});
//   cake::Tensor y = up->forward(conv->forward(x));   // [N, 1, 28, 28] -> [N, 16, 14, 14] -> [N, 1, 28, 28]
//   cake::nn::Conv2d down(cake::nn::Conv2dOptions(1, 16, 3).stride(2).padding(1));   // libtorch's spelling
//   cake::Tensor z = down(x);                           // [N, 1, 28, 28] -> [N, 16, 14, 14]
//
// The options are square (one number for both spatial dims); the constructors taking a Pair
// kernel and a cake::Conv2dParams / ConvTranspose2dParams cover rectangular ones.
// Initialisation is PyTorch's: weight ~ kaiming_uniform(a = sqrt(5)), bias ~ U(-1/sqrt(fan_in),
// 1/sqrt(fan_in)), with fan_in computed from the weight as nn::init does.
#pragma once

#include <cstdint>
#include <string>

#include "cake/autograd/nn_ops.h"
#include "cake/nn/module.h"
#include "cake/nn/options.h"

namespace cake::nn {

// Either {.stride = 2, .padding = 1} beside explicit channels and kernel, or libtorch's
// Conv2dOptions(in_channels, out_channels, kernel_size).stride(2).padding(1) (see nn/options.h).
// The constructor taking the channels and kernel as arguments ignores those three fields.
struct Conv2dOptions {
  using Self = Conv2dOptions;
  CAKE_ARG(std::int64_t, in_channels) = 0;
  CAKE_ARG(std::int64_t, out_channels) = 0;
  CAKE_ARG(std::int64_t, kernel_size) = 0;
  CAKE_ARG(std::int64_t, stride) = 1;
  CAKE_ARG(std::int64_t, padding) = 0;
  CAKE_ARG(std::int64_t, dilation) = 1;
  CAKE_ARG(std::int64_t, groups) = 1;
  CAKE_ARG(bool, bias) = true;
};

struct ConvTranspose2dOptions {
  using Self = ConvTranspose2dOptions;
  CAKE_ARG(std::int64_t, in_channels) = 0;
  CAKE_ARG(std::int64_t, out_channels) = 0;
  CAKE_ARG(std::int64_t, kernel_size) = 0;
  CAKE_ARG(std::int64_t, stride) = 1;
  CAKE_ARG(std::int64_t, padding) = 0;
  CAKE_ARG(std::int64_t, output_padding) = 0;
  CAKE_ARG(std::int64_t, dilation) = 1;
  CAKE_ARG(std::int64_t, groups) = 1;
  CAKE_ARG(bool, bias) = true;
};

class Conv2d : public Module, public Holder<Conv2d> {
 public:
  Conv2d(std::int64_t in_channels, std::int64_t out_channels, std::int64_t kernel_size,
         const Conv2dOptions& options = {});
  Conv2d(std::int64_t in_channels, std::int64_t out_channels, Pair kernel_size, const Conv2dParams& params,
         bool bias = true);
  explicit Conv2d(const Conv2dOptions& options);
  CAKE_HOLDER_CONSTRUCTORS(Conv2d)
  Tensor forward(const Tensor& x) override;
  void reset_parameters();
  std::shared_ptr<Module> clone() const override;
  std::string name() const override { return "Conv2d"; }
  std::string extra_repr() const override;

  std::int64_t in_channels = 0, out_channels = 0;
  Pair kernel_size;
  Conv2dParams params;
  Tensor weight;  // [out_channels, in_channels / groups, kH, kW]
  Tensor bias;    // [out_channels] or undefined
};

class ConvTranspose2d : public Module, public Holder<ConvTranspose2d> {
 public:
  ConvTranspose2d(std::int64_t in_channels, std::int64_t out_channels, std::int64_t kernel_size,
                  const ConvTranspose2dOptions& options = {});
  ConvTranspose2d(std::int64_t in_channels, std::int64_t out_channels, Pair kernel_size,
                  const ConvTranspose2dParams& params, bool bias = true);
  explicit ConvTranspose2d(const ConvTranspose2dOptions& options);
  CAKE_HOLDER_CONSTRUCTORS(ConvTranspose2d)
  Tensor forward(const Tensor& x) override;
  void reset_parameters();
  std::shared_ptr<Module> clone() const override;
  std::string name() const override { return "ConvTranspose2d"; }
  std::string extra_repr() const override;

  std::int64_t in_channels = 0, out_channels = 0;
  Pair kernel_size;
  ConvTranspose2dParams params;
  Tensor weight;  // [in_channels, out_channels / groups, kH, kW] (PyTorch's layout)
  Tensor bias;    // [out_channels] or undefined
};

// libtorch's names for the module classes (see NOTE [ Holders: layers as values ]).
using Conv2dImpl = Conv2d;
using ConvTranspose2dImpl = ConvTranspose2d;

}  // namespace cake::nn
