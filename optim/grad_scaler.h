// grad_scaler.h: dynamic loss scaling for float16 mixed precision, as torch.amp.GradScaler.
//
//   cake::optim::GradScaler scaler;                       // scale 2^16, x2 every 2000 clean steps
//   for (auto& batch : loader) {
//     opt.zero_grad();
//     cake::Tensor loss;
//     {
//       cake::autocast guard(cake::kCUDA, cake::kFloat16);
//       loss = criterion(model->forward(batch.x), batch.y);
//     }
//     scaler.scale(loss).backward();                      // gradients of scale * loss
//     scaler.unscale_(opt);                               // optional: before clipping
//     cake::optim::clip_grad_norm_(model->parameters(), 1.0);
//     scaler.step(opt);                                   // skipped when a gradient overflowed
//     scaler.update();                                    // halve on overflow, else maybe grow
//   }
//
// Why (Micikevicius et al., "Mixed precision training", ICLR 2018, section 3.2): float16's
// smallest subnormal is 2^-24, and many activation gradients are smaller, so they vanish when
// the backward pass multiplies in float16. Multiplying the loss by S shifts every gradient up by
// S (the chain rule is linear); the float32 gradients of the parameters are divided by S again
// before the update. S is chosen dynamically (the paper's section 3.2, "dynamic loss scaling"):
// when a scaled gradient overflows to inf or NaN the step is skipped and S halved; after
// growth_interval steps without overflow S doubles. bfloat16 has float32's range and needs none
// of this (a scaler constructed with enabled = false passes everything through).
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "cake/optim/optimizer.h"
#include "cake/tensor/tensor.h"

namespace cake::optim {

struct GradScalerOptions {
  double init_scale = 65536.0;
  double growth_factor = 2.0;
  double backoff_factor = 0.5;
  std::int64_t growth_interval = 2000;
  bool enabled = true;
};

class GradScaler {
 public:
  explicit GradScaler(GradScalerOptions options = {});

  // loss * scale (loss itself when disabled).
  Tensor scale(const Tensor& loss) const;
  // Divides the gradients of `optimizer`'s parameters by the scale, in place, and records whether
  // any of them is inf or NaN. At most once per optimizer between two update() calls.
  void unscale_(Optimizer& optimizer);
  // Unscales (unless unscale_ already did) and runs optimizer.step() only when every gradient is
  // finite. Returns whether the step ran.
  bool step(Optimizer& optimizer);
  // Adjusts the scale from this iteration's overflow record: x backoff_factor after an overflow,
  // x growth_factor after growth_interval clean iterations in a row. Call once per iteration.
  void update();

  double get_scale() const { return options_.enabled ? scale_ : 1.0; }
  bool is_enabled() const { return options_.enabled; }
  // The scale and the count of clean iterations, for checkpoints ("scale", "growth_tracker").
  std::map<std::string, double> state_dict() const;
  void load_state_dict(const std::map<std::string, double>& state);

 private:
  struct PerOptimizer {
    bool unscaled = false;
    bool found_inf = false;
  };
  GradScalerOptions options_;
  double scale_;
  std::int64_t growth_tracker_ = 0;
  std::map<const Optimizer*, PerOptimizer> this_iteration_;
};

}  // namespace cake::optim
