// conv.h: 1-D and 2-D convolution and transposed convolution layers ([N, C, L] and NCHW).
//
//   auto conv = std::make_shared<cake::nn::Conv2d>(1, 16, 3, cake::nn::Conv2dOptions{.stride = 2, .padding = 1});
//   auto up = std::make_shared<cake::nn::ConvTranspose2d>(
//       16, 1, 3, cake::nn::ConvTranspose2dOptions{.stride = 2, .padding = 1, .output_padding = 1});
//   cake::Tensor y = up->forward(conv->forward(x));   // [N, 1, 28, 28] -> [N, 16, 14, 14] -> [N, 1, 28, 28]
//   cake::nn::Conv2d down(cake::nn::Conv2dOptions(1, 16, 3).stride(2).padding(1));   // libtorch's spelling
//   cake::Tensor z = down(x);                           // [N, 1, 28, 28] -> [N, 16, 14, 14]
//   cake::nn::Conv1d temporal(cake::nn::Conv1dOptions(8, 16, 5).padding(2).groups(2));
//   cake::nn::ConvTranspose1d widen(cake::nn::ConvTranspose1dOptions(16, 8, 4).stride(2).padding(1));
//   cake::Tensor s = widen(temporal(sequence));        // [N, 8, 100] -> [N, 16, 100] -> [N, 8, 200]
//   cake::nn::Conv2d wrap(cake::nn::Conv2dOptions(1, 4, 3).padding(1).padding_mode(cake::kCircular));   // a torus
//
// The options are square (one number for both spatial dims); the constructors taking a Pair
// kernel and a cake::Conv2dParams / ConvTranspose2dParams cover rectangular ones.
// The 1-D layers are the 2-D ones on the sequence viewed as an image of height one, with a 1 x k
// window (see NOTE [ 1-D layers as 2-D layers of height one ] in nn/functional.cpp): they need
// no kernels of their own. Their weights are PyTorch's 3-D ones ([out, in / groups, k] for
// Conv1d), so state dicts load name for name and shape for shape.
// Initialisation is PyTorch's: weight ~ kaiming_uniform(a = sqrt(5)), bias ~ U(-1/sqrt(fan_in),
// 1/sqrt(fan_in)), with fan_in computed from the weight as nn::init does.
#pragma once

#include <cstdint>
#include <string>

#include "cake/autograd/nn_ops.h"
#include "cake/nn/functional.h"
#include "cake/nn/module.h"
#include "cake/nn/options.h"

namespace cake::nn {

// Either {.stride = 2, .padding = 1} beside explicit channels and kernel, or libtorch's
// Conv2dOptions(in_channels, out_channels, kernel_size).stride(2).padding(1) (see nn/options.h).
// The constructor taking the channels and kernel as arguments ignores those three fields. Every
// setting is one number (the same in each spatial dim), so Conv1d and Conv2d share the struct.
struct ConvOptions {
  using Self = ConvOptions;
  CAKE_ARG(std::int64_t, in_channels) = 0;
  CAKE_ARG(std::int64_t, out_channels) = 0;
  CAKE_ARG(std::int64_t, kernel_size) = 0;
  CAKE_ARG(std::int64_t, stride) = 1;
  CAKE_ARG(std::int64_t, padding) = 0;
  CAKE_ARG(std::int64_t, dilation) = 1;
  CAKE_ARG(std::int64_t, groups) = 1;
  CAKE_ARG(bool, bias) = true;
  // What the padding reads outside the input: kZeros (zeros), kReflect, kReplicate or kCircular
  // (see F::pad). A mode other than zeros pads the input with F::pad and convolves unpadded,
  // as PyTorch does.
  CAKE_ARG(functional::PadMode, padding_mode) = functional::PadMode::Constant;
};

struct ConvTransposeOptions {
  using Self = ConvTransposeOptions;
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
using Conv1dOptions = ConvOptions;
using Conv2dOptions = ConvOptions;
using ConvTranspose1dOptions = ConvTransposeOptions;
using ConvTranspose2dOptions = ConvTransposeOptions;

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
  functional::PadMode padding_mode = functional::PadMode::Constant;  // Constant: zeros
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

// nn.Conv1d over [N, C_in, L]: F::conv1d with the stored settings.
class Conv1d : public Module, public Holder<Conv1d> {
 public:
  Conv1d(std::int64_t in_channels, std::int64_t out_channels, std::int64_t kernel_size,
         const Conv1dOptions& options = {});
  explicit Conv1d(const Conv1dOptions& options);
  CAKE_HOLDER_CONSTRUCTORS(Conv1d)
  Tensor forward(const Tensor& x) override;
  void reset_parameters();
  std::shared_ptr<Module> clone() const override;
  std::string name() const override { return "Conv1d"; }
  std::string extra_repr() const override;

  Conv1dOptions options;  // in_channels, out_channels and kernel_size included
  Tensor weight;          // [out_channels, in_channels / groups, kernel_size]
  Tensor bias;            // [out_channels] or undefined
};

// nn.ConvTranspose1d over [N, C_in, L]: F::conv_transpose1d with the stored settings.
class ConvTranspose1d : public Module, public Holder<ConvTranspose1d> {
 public:
  ConvTranspose1d(std::int64_t in_channels, std::int64_t out_channels, std::int64_t kernel_size,
                  const ConvTranspose1dOptions& options = {});
  explicit ConvTranspose1d(const ConvTranspose1dOptions& options);
  CAKE_HOLDER_CONSTRUCTORS(ConvTranspose1d)
  Tensor forward(const Tensor& x) override;
  void reset_parameters();
  std::shared_ptr<Module> clone() const override;
  std::string name() const override { return "ConvTranspose1d"; }
  std::string extra_repr() const override;

  ConvTranspose1dOptions options;  // in_channels, out_channels and kernel_size included
  Tensor weight;                   // [in_channels, out_channels / groups, kernel_size] (PyTorch's layout)
  Tensor bias;                     // [out_channels] or undefined
};

// libtorch's names for the module classes (see NOTE [ Holders: layers as values ]).
using Conv1dImpl = Conv1d;
using Conv2dImpl = Conv2d;
using ConvTranspose1dImpl = ConvTranspose1d;
using ConvTranspose2dImpl = ConvTranspose2d;

}  // namespace cake::nn
