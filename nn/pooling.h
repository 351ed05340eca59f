// pooling.h: 1-D and 2-D max and average pooling layers, fixed and adaptive ([N, C, L] and NCHW).
//
//   auto pool = std::make_shared<cake::nn::MaxPool2d>(2);              // 2x2 windows, stride 2
//   auto down = std::make_shared<cake::nn::AvgPool2d>(3, 2, 1);        // kernel 3, stride 2, padding 1
//   auto global = std::make_shared<cake::nn::AdaptiveAvgPool2d>(cake::Pair{1, 1});
//   cake::nn::MaxPool2d pool2(cake::nn::MaxPool2dOptions(3).stride(2).padding(1));   // libtorch's builder
//   cake::nn::MaxPool1d pool1(cake::nn::MaxPool1dOptions(3).stride(2).ceil_mode(true));   // [N, C, L]
//   cake::nn::AvgPool1d smooth(cake::nn::AvgPool1dOptions(5).stride(1).padding(2));
//   cake::nn::AdaptiveAvgPool1d to_ten(10);                              // [N, C, L] -> [N, C, 10]
//   cake::Tensor summary = to_ten(smooth(pool1(sequence)));
//   cake::nn::AdaptiveMaxPool2d to_grid(cake::nn::AdaptiveMaxPool2dOptions({3, 5}));   // any H x W -> 3 x 5
//   cake::Tensor peaks = to_grid(image);
//   auto [pooled, where] = pool->forward_with_indices(image);           // and where each maximum was
//   cake::nn::MaxUnpool2d unpool(cake::nn::MaxUnpool2dOptions(2));
//   cake::Tensor sparse = unpool(pooled, where, image.sizes());          // maxima back in place, zeros elsewhere
//
// The square constructors mirror nn.MaxPool2d(kernel_size, stride=None, padding=0); the ones
// taking cake::Pool2dParams allow rectangular windows. The 1-D layers run the 2-D ones on the
// sequence viewed as [N, C, 1, L] with a 1 x k window (NOTE [ 1-D layers as 2-D layers of height
// one ] in nn/functional.cpp), so they share the 2-D kernels and their options structs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <tuple>

#include "cake/autograd/nn_ops.h"
#include "cake/nn/functional.h"
#include "cake/nn/module.h"
#include "cake/nn/options.h"

namespace cake::nn {

// libtorch's options for square windows: MaxPool2dOptions(3).stride(2).padding(1); the stride
// defaults to the kernel size. One number per setting, so the 1-D layers share them.
struct MaxPoolOptions {
  using Self = MaxPoolOptions;
  CAKE_ARG(std::int64_t, kernel_size) = 2;
  CAKE_ARG(std::optional<std::int64_t>, stride) = std::nullopt;
  CAKE_ARG(std::int64_t, padding) = 0;
  CAKE_ARG(bool, ceil_mode) = false;
};
struct AvgPoolOptions {
  using Self = AvgPoolOptions;
  CAKE_ARG(std::int64_t, kernel_size) = 2;
  CAKE_ARG(std::optional<std::int64_t>, stride) = std::nullopt;
  CAKE_ARG(std::int64_t, padding) = 0;
  CAKE_ARG(bool, ceil_mode) = false;
  CAKE_ARG(bool, count_include_pad) = true;
};
using MaxPool1dOptions = MaxPoolOptions;
using MaxPool2dOptions = MaxPoolOptions;
using AvgPool1dOptions = AvgPoolOptions;
using AvgPool2dOptions = AvgPoolOptions;
struct AdaptiveAvgPool2dOptions {  // AdaptiveAvgPool2dOptions({1, 1})
  using Self = AdaptiveAvgPool2dOptions;
  CAKE_ARG(Pair, output_size) = Pair{1, 1};
};
struct AdaptiveAvgPool1dOptions {  // AdaptiveAvgPool1dOptions(10)
  using Self = AdaptiveAvgPool1dOptions;
  CAKE_ARG(std::int64_t, output_size) = 1;
};
struct AdaptiveMaxPool2dOptions {  // AdaptiveMaxPool2dOptions({3, 2})
  using Self = AdaptiveMaxPool2dOptions;
  CAKE_ARG(Pair, output_size) = Pair{1, 1};
};
struct AdaptiveMaxPool1dOptions {  // AdaptiveMaxPool1dOptions(10)
  using Self = AdaptiveMaxPool1dOptions;
  CAKE_ARG(std::int64_t, output_size) = 1;
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
  // The maxima and where each was (libtorch's forward_with_indices): MaxUnpool2d's input.
  std::tuple<Tensor, Tensor> forward_with_indices(const Tensor& x) { return cake::max_pool2d_with_indices(x, params); }
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

// nn.MaxPool1d over [N, C, L]: F::max_pool1d with the stored options.
class MaxPool1d : public Module, public Holder<MaxPool1d> {
 public:
  CAKE_HOLDER_CONSTRUCTORS(MaxPool1d)
  std::shared_ptr<Module> clone() const override { return std::make_shared<MaxPool1d>(*this); }
  explicit MaxPool1d(std::int64_t kernel_size, std::optional<std::int64_t> stride = std::nullopt,
                     std::int64_t padding = 0, bool ceil_mode = false)
      : options{kernel_size, stride, padding, ceil_mode} {}
  explicit MaxPool1d(const MaxPool1dOptions& options) : options(options) {}
  Tensor forward(const Tensor& x) override;
  std::tuple<Tensor, Tensor> forward_with_indices(const Tensor& x);  // as MaxPool2d's
  std::string name() const override { return "MaxPool1d"; }
  std::string extra_repr() const override;

  MaxPool1dOptions options;
};

// nn.AvgPool1d over [N, C, L]: F::avg_pool1d with the stored options.
class AvgPool1d : public Module, public Holder<AvgPool1d> {
 public:
  CAKE_HOLDER_CONSTRUCTORS(AvgPool1d)
  std::shared_ptr<Module> clone() const override { return std::make_shared<AvgPool1d>(*this); }
  explicit AvgPool1d(std::int64_t kernel_size, std::optional<std::int64_t> stride = std::nullopt,
                     std::int64_t padding = 0, bool ceil_mode = false, bool count_include_pad = true)
      : options{kernel_size, stride, padding, ceil_mode, count_include_pad} {}
  explicit AvgPool1d(const AvgPool1dOptions& options) : options(options) {}
  Tensor forward(const Tensor& x) override;
  std::string name() const override { return "AvgPool1d"; }
  std::string extra_repr() const override;

  AvgPool1dOptions options;
};

// Averages each of the output_size cells over the stretch of the sequence that maps to it,
// whatever the input's length; 1 is global average pooling over time.
class AdaptiveAvgPool1d : public Module, public Holder<AdaptiveAvgPool1d> {
 public:
  CAKE_HOLDER_CONSTRUCTORS(AdaptiveAvgPool1d)
  std::shared_ptr<Module> clone() const override { return std::make_shared<AdaptiveAvgPool1d>(*this); }
  explicit AdaptiveAvgPool1d(std::int64_t output_size) : output_size(output_size) {}
  explicit AdaptiveAvgPool1d(const AdaptiveAvgPool1dOptions& options) : output_size(options.output_size) {}
  Tensor forward(const Tensor& x) override;
  std::string name() const override { return "AdaptiveAvgPool1d"; }
  std::string extra_repr() const override { return "output_size=" + std::to_string(output_size); }

  std::int64_t output_size = 1;
};

// The maximum of each of output_size's cells over the input region that maps to it (PyTorch's
// windows: F::adaptive_max_pool2d), whatever the input's size. [N, C, H, W] or [C, H, W].
class AdaptiveMaxPool2d : public Module, public Holder<AdaptiveMaxPool2d> {
 public:
  CAKE_HOLDER_CONSTRUCTORS(AdaptiveMaxPool2d)
  std::shared_ptr<Module> clone() const override { return std::make_shared<AdaptiveMaxPool2d>(*this); }
  explicit AdaptiveMaxPool2d(Pair output_size) : output_size(output_size) {}
  explicit AdaptiveMaxPool2d(const AdaptiveMaxPool2dOptions& options) : output_size(options.output_size) {}
  Tensor forward(const Tensor& x) override;
  std::string name() const override { return "AdaptiveMaxPool2d"; }
  std::string extra_repr() const override;

  Pair output_size{1, 1};
};

// The same along the sequence of [N, C, L].
class AdaptiveMaxPool1d : public Module, public Holder<AdaptiveMaxPool1d> {
 public:
  CAKE_HOLDER_CONSTRUCTORS(AdaptiveMaxPool1d)
  std::shared_ptr<Module> clone() const override { return std::make_shared<AdaptiveMaxPool1d>(*this); }
  explicit AdaptiveMaxPool1d(std::int64_t output_size) : output_size(output_size) {}
  explicit AdaptiveMaxPool1d(const AdaptiveMaxPool1dOptions& options) : output_size(options.output_size) {}
  Tensor forward(const Tensor& x) override;
  std::string name() const override { return "AdaptiveMaxPool1d"; }
  std::string extra_repr() const override { return "output_size=" + std::to_string(output_size); }

  std::int64_t output_size = 1;
};

// LPPool2d / LPPool1d (functional::lp_pool2d): LPPool2dOptions(2.0, 3).stride(2) is a 3 x 3
// window moved by 2, pooled by the 2-norm.
struct LPPoolOptions {
  using Self = LPPoolOptions;
  CAKE_ARG(double, norm_type) = 2.0;
  CAKE_ARG(std::int64_t, kernel_size) = 2;
  CAKE_ARG(std::optional<std::int64_t>, stride) = std::nullopt;
  CAKE_ARG(bool, ceil_mode) = false;
};
using LPPool1dOptions = LPPoolOptions;
using LPPool2dOptions = LPPoolOptions;

#define CAKE_LP_POOL_MODULE(Class, function)                                                             \
  class Class : public Module, public Holder<Class> {                                                     \
   public:                                                                                               \
    CAKE_HOLDER_CONSTRUCTORS(Class)                                                                      \
    explicit Class(const LPPoolOptions& options) : options(options) {}                                   \
    std::shared_ptr<Module> clone() const override { return std::make_shared<Class>(*this); }            \
    Tensor forward(const Tensor& x) override {                                                           \
      return functional::function(x, options.norm_type, options.kernel_size, options.stride, options.ceil_mode); \
    }                                                                                                    \
    std::string name() const override { return #Class; }                                                 \
    std::string extra_repr() const override {                                                            \
      return "norm_type=" + std::to_string(options.norm_type()) + ", kernel_size=" +                     \
             std::to_string(options.kernel_size()) + ", stride=" +                                       \
             std::to_string(options.stride().value_or(options.kernel_size)) +                            \
             ", ceil_mode=" + (options.ceil_mode() ? "true" : "false");                                  \
    }                                                                                                    \
    LPPoolOptions options;                                                                               \
  }

CAKE_LP_POOL_MODULE(LPPool2d, lp_pool2d);
CAKE_LP_POOL_MODULE(LPPool1d, lp_pool1d);

#undef CAKE_LP_POOL_MODULE

// MaxUnpool2d / MaxUnpool1d: the max pooling they undo (MaxUnpool2dOptions(2).stride(2)); the
// stride defaults to the kernel size. forward(pooled, indices, output_size) takes the pooling's
// forward_with_indices results; output_size (optional: a pooling that dropped a remainder maps
// several sizes to one) may be the whole shape of the pooling's input.
struct MaxUnpoolOptions {
  using Self = MaxUnpoolOptions;
  CAKE_ARG(std::int64_t, kernel_size) = 2;
  CAKE_ARG(std::optional<std::int64_t>, stride) = std::nullopt;
  CAKE_ARG(std::int64_t, padding) = 0;
};
using MaxUnpool1dOptions = MaxUnpoolOptions;
using MaxUnpool2dOptions = MaxUnpoolOptions;

// One class per dimensionality; forward(x, indices, output_size) calls F::max_unpool<N>d.
#define CAKE_MAX_UNPOOL_MODULE(Class, OptionsType)                                                        \
  class Class : public Module, public Holder<Class> {                                                      \
   public:                                                                                                 \
    CAKE_HOLDER_CONSTRUCTORS(Class)                                                                        \
    std::shared_ptr<Module> clone() const override { return std::make_shared<Class>(*this); }              \
    explicit Class(std::int64_t kernel_size) : options{kernel_size} {}                                     \
    explicit Class(const OptionsType& options) : options(options) {}                                       \
    Tensor forward(const Tensor& x, const Tensor& indices, const std::optional<Shape>& output_size = std::nullopt); \
    std::string name() const override { return #Class; }                                                   \
    std::string extra_repr() const override;                                                               \
                                                                                                           \
    OptionsType options;                                                                                   \
  }
CAKE_MAX_UNPOOL_MODULE(MaxUnpool2d, MaxUnpool2dOptions);
CAKE_MAX_UNPOOL_MODULE(MaxUnpool1d, MaxUnpool1dOptions);
#undef CAKE_MAX_UNPOOL_MODULE

// libtorch's names for the module classes (see NOTE [ Holders: layers as values ]).
using MaxPool1dImpl = MaxPool1d;
using MaxPool2dImpl = MaxPool2d;
using AvgPool1dImpl = AvgPool1d;
using AvgPool2dImpl = AvgPool2d;
using AdaptiveAvgPool1dImpl = AdaptiveAvgPool1d;
using AdaptiveAvgPool2dImpl = AdaptiveAvgPool2d;
using AdaptiveMaxPool1dImpl = AdaptiveMaxPool1d;
using AdaptiveMaxPool2dImpl = AdaptiveMaxPool2d;
using MaxUnpool1dImpl = MaxUnpool1d;
using MaxUnpool2dImpl = MaxUnpool2d;
using LPPool1dImpl = LPPool1d;
using LPPool2dImpl = LPPool2d;

}  // namespace cake::nn
