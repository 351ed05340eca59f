// upsampling.h: the Upsample layer, nearest-neighbour or bilinear resizing of [N, C, H, W]
// images (nn/functional.h's interpolate as a layer).
//
//   auto up = std::make_shared<cake::nn::Upsample>(cake::nn::UpsampleOptions{.scale_factor = 2.0});
//   cake::nn::Upsample smooth(cake::nn::UpsampleOptions().scale_factor(2.0).mode(cake::kBilinear));
//   cake::Tensor y = smooth(cake::randn({1, 3, 7, 7}));   // [1, 3, 14, 14]
#pragma once

#include <sstream>
#include <string>

#include "cake/nn/functional.h"
#include "cake/nn/module.h"
#include "cake/nn/options.h"

namespace cake::nn {

// The same fields as functional::InterpolateFuncOptions: exactly one of size and scale_factor.
struct UpsampleOptions {
  using Self = UpsampleOptions;
  CAKE_ARG(Pair, size) = Pair{0, 0};  // {0, 0}: unset, use scale_factor
  CAKE_ARG(double, scale_factor) = 0.0;
  CAKE_ARG(functional::InterpolateMode, mode) = functional::InterpolateMode::Nearest;
  CAKE_ARG(bool, align_corners) = false;
};

class Upsample : public Module, public Holder<Upsample> {
 public:
  explicit Upsample(const UpsampleOptions& options = {}) : options(options) {}
  CAKE_HOLDER_CONSTRUCTORS(Upsample)
  Tensor forward(const Tensor& x) override {
    return functional::interpolate(x, functional::InterpolateFuncOptions{.size = options.size(),
                                                                         .scale_factor = options.scale_factor(),
                                                                         .mode = options.mode(),
                                                                         .align_corners = options.align_corners()});
  }
  std::shared_ptr<Module> clone() const override { return std::make_shared<Upsample>(*this); }
  std::string name() const override { return "Upsample"; }
  std::string extra_repr() const override {
    std::ostringstream out;
    if (options.scale_factor() > 0.0) out << "scale_factor=" << options.scale_factor();
    else out << "size=(" << options.size()[0] << ", " << options.size()[1] << ")";
    out << ", mode=" << (options.mode() == functional::InterpolateMode::Nearest ? "nearest" : "bilinear");
    return out.str();
  }

  UpsampleOptions options;
};

using UpsampleImpl = Upsample;

}  // namespace cake::nn
