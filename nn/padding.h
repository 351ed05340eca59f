// padding.h: libtorch's padding layers. Each is F::pad with a fixed mode over the last dim (the
// 1-D layers: L of [N, C, L]) or the last two (the 2-D layers: H and W of [N, C, H, W]).
//
//   cake::nn::ReflectionPad2d mirror(2);                                    // 2 on every side of H and W
//   cake::nn::ZeroPad2d shift(cake::nn::ZeroPad2dOptions({1, 0, 2, 0}));   // left, right, top, bottom
//   cake::nn::ConstantPad1d fill(cake::nn::ConstantPad1dOptions(3, -1.0));  // three -1s at each end of L
//   cake::nn::CircularPad2d wrap(1);                                        // a torus, as Conv2d's kCircular
//   cake::Tensor framed = wrap(mirror(image));
//   cake::Tensor longer = fill(sequence);
//
// The sides are given last dim first, as F::pad takes them: {left, right} for L or W, then
// {top, bottom} for H. Reflection mirrors without repeating the edge (each side below the dim's
// size), replication repeats the edge, circular wraps around (each side at most the size).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <utility>

#include "cake/nn/functional.h"
#include "cake/nn/module.h"

namespace cake::nn {

// One number for every side, or one per side: {left, right} (1-D), {left, right, top, bottom} (2-D).
template <std::size_t Sides>
struct PadOptions {
  PadOptions(std::int64_t every_side) { padding.fill(every_side); }          // NOLINT: implicit as libtorch's
  PadOptions(const std::array<std::int64_t, Sides>& sides) : padding(sides) {}  // NOLINT
  std::array<std::int64_t, Sides> padding{};
};
// The constant layers' options also hold the fill value.
template <std::size_t Sides>
struct ConstantPadOptions : PadOptions<Sides> {
  ConstantPadOptions(std::int64_t every_side, double value) : PadOptions<Sides>(every_side), value(value) {}
  ConstantPadOptions(const std::array<std::int64_t, Sides>& sides, double value)
      : PadOptions<Sides>(sides), value(value) {}
  double value = 0.0;
};

using ReflectionPad1dOptions = PadOptions<2>;
using ReflectionPad2dOptions = PadOptions<4>;
using ReplicationPad1dOptions = PadOptions<2>;
using ReplicationPad2dOptions = PadOptions<4>;
using CircularPad1dOptions = PadOptions<2>;
using CircularPad2dOptions = PadOptions<4>;
using ZeroPad1dOptions = PadOptions<2>;
using ZeroPad2dOptions = PadOptions<4>;
using ConstantPad1dOptions = ConstantPadOptions<2>;
using ConstantPad2dOptions = ConstantPadOptions<4>;

// What every padding layer is: the sides, the mode and the fill value, applied by F::pad after a
// check that the input has the layer's rank (with or without the batch dim).
class PadLayer : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  // PyTorch's: (1, 1, 2, 0); the ConstantPad layers: padding=(3, 3), value=-1.0.
  std::string extra_repr() const override;

  Shape padding;  // as F::pad takes it: last dim first
  functional::PadMode mode = functional::PadMode::Constant;
  double value = 0.0;

 protected:
  PadLayer() = default;  // an empty holder's (CAKE_HOLDER_CONSTRUCTORS)
  PadLayer(Shape padding, functional::PadMode mode, double value, bool shows_value)
      : padding(std::move(padding)), mode(mode), value(value), shows_value_(shows_value) {}
  // How many trailing dims are padded: 1 for the 1-D layers, 2 for the 2-D ones (a batch has two
  // dims more, N and C; one unbatched sample one more, C).
  std::int64_t spatial_dims() const { return static_cast<std::int64_t>(padding.size()) / 2; }

 private:
  bool shows_value_ = false;  // the ConstantPad layers print their value
};

#define CAKE_PADDING_MODULE(Class, Options, pad_mode, fill, shows_value)                                                 \
  class Class : public PadLayer, public Holder<Class> {                                                       \
   public:                                                                                                    \
    CAKE_HOLDER_CONSTRUCTORS(Class)                                                                           \
    explicit Class(const Options& options)                                                                    \
        : PadLayer(Shape(options.padding.begin(), options.padding.end()), pad_mode, fill, shows_value) {}     \
    std::shared_ptr<Module> clone() const override { return std::make_shared<Class>(*this); }                 \
    std::string name() const override { return #Class; }                                                     \
  };                                                                                                          \
  using Class##Impl = Class

CAKE_PADDING_MODULE(ReflectionPad1d, ReflectionPad1dOptions, functional::PadMode::Reflect, 0.0, false);
CAKE_PADDING_MODULE(ReflectionPad2d, ReflectionPad2dOptions, functional::PadMode::Reflect, 0.0, false);
CAKE_PADDING_MODULE(ReplicationPad1d, ReplicationPad1dOptions, functional::PadMode::Replicate, 0.0, false);
CAKE_PADDING_MODULE(ReplicationPad2d, ReplicationPad2dOptions, functional::PadMode::Replicate, 0.0, false);
CAKE_PADDING_MODULE(CircularPad1d, CircularPad1dOptions, functional::PadMode::Circular, 0.0, false);
CAKE_PADDING_MODULE(CircularPad2d, CircularPad2dOptions, functional::PadMode::Circular, 0.0, false);
CAKE_PADDING_MODULE(ZeroPad1d, ZeroPad1dOptions, functional::PadMode::Constant, 0.0, false);
CAKE_PADDING_MODULE(ZeroPad2d, ZeroPad2dOptions, functional::PadMode::Constant, 0.0, false);
CAKE_PADDING_MODULE(ConstantPad1d, ConstantPad1dOptions, functional::PadMode::Constant, options.value, true);
CAKE_PADDING_MODULE(ConstantPad2d, ConstantPad2dOptions, functional::PadMode::Constant, options.value, true);

#undef CAKE_PADDING_MODULE

}  // namespace cake::nn
