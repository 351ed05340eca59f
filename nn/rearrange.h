// rearrange.h: layers that move pixels between space and channels. PixelShuffle and
// PixelUnshuffle trade resolution for channels (the sub-pixel convolution of Shi et al. 2016,
// the upsampling of super-resolution nets and many GAN generators); Unfold and Fold cut an image
// into its sliding blocks as columns (im2col) and sum columns back into an image (col2im), the
// building blocks of hand-written convolutions, patch embeddings and local attention;
// ChannelShuffle regroups channels between grouped convolutions (ShuffleNet).
//
//   cake::nn::Conv2d widen(cake::nn::Conv2dOptions(16, 3 * 4, 3).padding(1));
//   cake::nn::PixelShuffle upscale(2);                       // [N, 12, H, W] -> [N, 3, 2H, 2W]
//   cake::Tensor sharp = upscale(widen(features));
//   cake::nn::Unfold patches(cake::nn::UnfoldOptions({3, 3}).padding(1));   // [N, C, H, W] -> [N, C 9, H W]
//   cake::nn::Fold back(cake::nn::FoldOptions({32, 32}, {3, 3}).padding(1));
//   cake::Tensor overlap_sum = back(patches(image));        // each pixel times the blocks covering it
//
// No parameters and no arithmetic beyond Fold's sums: each forward is its F:: function
// (nn/functional.h), which says what goes where.
#pragma once

#include <cstdint>
#include <string>

#include "cake/nn/functional.h"
#include "cake/nn/module.h"
#include "cake/nn/options.h"

namespace cake::nn {

// libtorch's option names; the same structs as the F:: forms take.
using PixelShuffleOptions = functional::PixelShuffleFuncOptions;      // PixelShuffleOptions(2)
using PixelUnshuffleOptions = functional::PixelUnshuffleFuncOptions;  // PixelUnshuffleOptions(2)
using UnfoldOptions = functional::UnfoldFuncOptions;                  // UnfoldOptions({3, 3}).stride(2)
using FoldOptions = functional::FoldFuncOptions;                      // FoldOptions({H, W}, {3, 3})

// [*, C r^2, H, W] -> [*, C, H r, W r] (F::pixel_shuffle).
class PixelShuffle : public Module, public Holder<PixelShuffle> {
 public:
  CAKE_HOLDER_CONSTRUCTORS(PixelShuffle)
  explicit PixelShuffle(std::int64_t upscale_factor) : options(upscale_factor) {}
  explicit PixelShuffle(const PixelShuffleOptions& options) : options(options) {}
  std::shared_ptr<Module> clone() const override { return std::make_shared<PixelShuffle>(options); }
  Tensor forward(const Tensor& x) override { return functional::pixel_shuffle(x, options.upscale_factor); }
  std::string name() const override { return "PixelShuffle"; }
  std::string extra_repr() const override { return "upscale_factor=" + std::to_string(options.upscale_factor()); }

  PixelShuffleOptions options;
};

// Regroups the channels of [N, C, *] (F::channel_shuffle), ShuffleNet's mixing between groups.
class ChannelShuffle : public Module, public Holder<ChannelShuffle> {
 public:
  CAKE_HOLDER_CONSTRUCTORS(ChannelShuffle)
  explicit ChannelShuffle(std::int64_t groups) : groups(groups) {}
  std::shared_ptr<Module> clone() const override { return std::make_shared<ChannelShuffle>(groups); }
  Tensor forward(const Tensor& x) override { return functional::channel_shuffle(x, groups); }
  std::string name() const override { return "ChannelShuffle"; }
  std::string extra_repr() const override { return "groups=" + std::to_string(groups); }

  std::int64_t groups = 1;
};

// [*, C, H r, W r] -> [*, C r^2, H, W] (F::pixel_unshuffle), PixelShuffle's inverse.
class PixelUnshuffle : public Module, public Holder<PixelUnshuffle> {
 public:
  CAKE_HOLDER_CONSTRUCTORS(PixelUnshuffle)
  explicit PixelUnshuffle(std::int64_t downscale_factor) : options(downscale_factor) {}
  explicit PixelUnshuffle(const PixelUnshuffleOptions& options) : options(options) {}
  std::shared_ptr<Module> clone() const override { return std::make_shared<PixelUnshuffle>(options); }
  Tensor forward(const Tensor& x) override { return functional::pixel_unshuffle(x, options.downscale_factor); }
  std::string name() const override { return "PixelUnshuffle"; }
  std::string extra_repr() const override {
    return "downscale_factor=" + std::to_string(options.downscale_factor());
  }

  PixelUnshuffleOptions options;
};

// [N, C, H, W] -> [N, C kh kw, L], the sliding blocks as columns (F::unfold).
class Unfold : public Module, public Holder<Unfold> {
 public:
  CAKE_HOLDER_CONSTRUCTORS(Unfold)
  explicit Unfold(const UnfoldOptions& options) : options(options) {}
  std::shared_ptr<Module> clone() const override { return std::make_shared<Unfold>(options); }
  Tensor forward(const Tensor& x) override { return functional::unfold(x, options); }
  std::string name() const override { return "Unfold"; }
  std::string extra_repr() const override;

  UnfoldOptions options;
};

// [N, C kh kw, L] -> [N, C, H, W], the columns summed back into the image (F::fold).
class Fold : public Module, public Holder<Fold> {
 public:
  CAKE_HOLDER_CONSTRUCTORS(Fold)
  explicit Fold(const FoldOptions& options) : options(options) {}
  std::shared_ptr<Module> clone() const override { return std::make_shared<Fold>(options); }
  Tensor forward(const Tensor& x) override { return functional::fold(x, options); }
  std::string name() const override { return "Fold"; }
  std::string extra_repr() const override;

  FoldOptions options;
};

// libtorch's names for the module classes (see NOTE [ Holders: layers as values ]).
using PixelShuffleImpl = PixelShuffle;
using ChannelShuffleImpl = ChannelShuffle;
using PixelUnshuffleImpl = PixelUnshuffle;
using UnfoldImpl = Unfold;
using FoldImpl = Fold;

}  // namespace cake::nn
