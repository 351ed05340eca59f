// grad_scaler.cpp: dynamic loss scaling (grad_scaler.h; Micikevicius et al. 2018, section 3.2).
#include "cake/optim/grad_scaler.h"

#include <cmath>

#include "cake/autograd/grad_mode.h"
#include "cake/autograd/ops.h"
#include "cake/tensor/creation.h"

namespace cake::optim {

GradScaler::GradScaler(GradScalerOptions options) : options_(options), scale_(options.init_scale) {
  CAKE_CHECK(std::isfinite(options.init_scale) && options.init_scale > 0, "GradScaler: init_scale must be positive, got ",
             options.init_scale);
  CAKE_CHECK(options.growth_factor > 1.0, "GradScaler: growth_factor must exceed 1, got ", options.growth_factor);
  CAKE_CHECK(options.backoff_factor > 0.0 && options.backoff_factor < 1.0,
             "GradScaler: backoff_factor must be in (0, 1), got ", options.backoff_factor);
  CAKE_CHECK(options.growth_interval >= 1, "GradScaler: growth_interval must be at least 1, got ",
             options.growth_interval);
}

Tensor GradScaler::scale(const Tensor& loss) const { return options_.enabled ? loss * scale_ : loss; }

void GradScaler::unscale_(Optimizer& optimizer) {
  if (!options_.enabled) return;
  PerOptimizer& record = this_iteration_[&optimizer];
  CAKE_CHECK(!record.unscaled, "GradScaler::unscale_: already called for this optimizer since the last update()");
  NoGradGuard no_grad;
  const double inverse = 1.0 / scale_;
  // The count of non-finite entries, summed on the device over all gradients: one read back
  // per step, not one per parameter.
  Tensor non_finite;
  for (Tensor p : optimizer.params()) {  // a handle: its grad is the parameter's
    Tensor& g = p.mutable_grad();
    if (!g.defined()) continue;
    g.mul_(inverse);
    const Tensor count = sum(logical_not(isfinite(g)));
    non_finite = non_finite.defined() ? non_finite + count.to(non_finite.device()) : count;
  }
  record.unscaled = true;
  record.found_inf = non_finite.defined() && non_finite.item<std::int64_t>() > 0;
}

bool GradScaler::step(Optimizer& optimizer) {
  if (!options_.enabled) {
    optimizer.step();
    return true;
  }
  if (!this_iteration_[&optimizer].unscaled) unscale_(optimizer);
  if (this_iteration_[&optimizer].found_inf) return false;
  optimizer.step();
  return true;
}

void GradScaler::update() {
  if (!options_.enabled) return;
  bool overflow = false;
  for (const auto& [optimizer, record] : this_iteration_) overflow = overflow || record.found_inf;
  if (overflow) {
    scale_ *= options_.backoff_factor;
    growth_tracker_ = 0;
  } else if (++growth_tracker_ == options_.growth_interval) {
    scale_ *= options_.growth_factor;
    growth_tracker_ = 0;
  }
  this_iteration_.clear();
}

std::map<std::string, double> GradScaler::state_dict() const {
  return {{"scale", scale_}, {"growth_tracker", static_cast<double>(growth_tracker_)}};
}

void GradScaler::load_state_dict(const std::map<std::string, double>& state) {
  const auto scale = state.find("scale"), tracker = state.find("growth_tracker");
  CAKE_CHECK(scale != state.end() && tracker != state.end(),
             "GradScaler::load_state_dict: expected the keys 'scale' and 'growth_tracker'");
  CAKE_CHECK(std::isfinite(scale->second) && scale->second > 0, "GradScaler::load_state_dict: scale must be positive, got ",
             scale->second);
  scale_ = scale->second;
  growth_tracker_ = static_cast<std::int64_t>(tracker->second);
}

}  // namespace cake::optim
