// conv.h: 2-D convolution and transposed convolution layers (NCHW).
//
//   auto conv = std::make_shared<cake::nn::Conv2d>(1, 16, 3, cake::nn::Conv2dOptions{.stride = 2, .padding = 1});
//   auto up = std::make_shared<cake::nn::ConvTranspose2d>(
//       16, 1, 3, cake::nn::ConvTranspose2dOptions{.stride = 2, .padding = 1, .output_padding = 1});
//   cake::Tensor y = up->forward(conv->forward(x));   // [N, 1, 28, 28] -> [N, 16, 14, 14] -> [N, 1, 28, 28]
//
// The options are square (one number for both spatial dims); the constructors taking a Pair
// kernel and a cake::Conv2dParams / ConvTranspose2dParams cover rectangular ones.
// Initialisation is PyTorch's: weight ~ kaiming_uniform(a = sqrt(5)), bias ~ U(-1/sqrt(fan_in),
// 1/sqrt(fan_in)), with fan_in computed from the weight as nn::init does.
#pragma once

#include <cstdint>
#include <string>

#include "autograd/nn_ops.h"
#include "nn/module.h"

namespace cake::nn {

struct Conv2dOptions {
  std::int64_t stride = 1;
  std::int64_t padding = 0;
  std::int64_t dilation = 1;
  std::int64_t groups = 1;
  bool bias = true;
};

struct ConvTranspose2dOptions {
  std::int64_t stride = 1;
  std::int64_t padding = 0;
  std::int64_t output_padding = 0;
  std::int64_t dilation = 1;
  std::int64_t groups = 1;
  bool bias = true;
};

class Conv2d : public Module {
 public:
  Conv2d(std::int64_t in_channels, std::int64_t out_channels, std::int64_t kernel_size,
         const Conv2dOptions& options = {});
  Conv2d(std::int64_t in_channels, std::int64_t out_channels, Pair kernel_size, const Conv2dParams& params,
         bool bias = true);
  Tensor forward(const Tensor& x) override;
  void reset_parameters();
  std::string name() const override { return "Conv2d"; }
  std::string extra_repr() const override;

  std::int64_t in_channels, out_channels;
  Pair kernel_size;
  Conv2dParams params;
  Tensor weight;  // [out_channels, in_channels / groups, kH, kW]
  Tensor bias;    // [out_channels] or undefined
};

class ConvTranspose2d : public Module {
 public:
  ConvTranspose2d(std::int64_t in_channels, std::int64_t out_channels, std::int64_t kernel_size,
                  const ConvTranspose2dOptions& options = {});
  ConvTranspose2d(std::int64_t in_channels, std::int64_t out_channels, Pair kernel_size,
                  const ConvTranspose2dParams& params, bool bias = true);
  Tensor forward(const Tensor& x) override;
  void reset_parameters();
  std::string name() const override { return "ConvTranspose2d"; }
  std::string extra_repr() const override;

  std::int64_t in_channels, out_channels;
  Pair kernel_size;
  ConvTranspose2dParams params;
  Tensor weight;  // [in_channels, out_channels / groups, kH, kW] (PyTorch's layout)
  Tensor bias;    // [out_channels] or undefined
};

}  // namespace cake::nn
