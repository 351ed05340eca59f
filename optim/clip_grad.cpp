// clip_grad.cpp: clip_grad_norm_ and clip_grad_value_.
#include "cake/optim/clip_grad.h"

#include <cmath>

#include "cake/autograd/grad_mode.h"
#include "cake/autograd/ops.h"
#include "cake/tensor/creation.h"

namespace cake::optim {

Tensor clip_grad_norm_(const std::vector<Tensor>& params, double max_norm, double norm_type) {
  CAKE_CHECK(max_norm >= 0.0, "clip_grad_norm_: max_norm must be non-negative, got ", max_norm);
  CAKE_CHECK(norm_type > 0.0, "clip_grad_norm_: norm_type must be positive, got ", norm_type);
  NoGradGuard no_grad;
  std::vector<Tensor> grads;
  for (const Tensor& p : params)
    if (p.grad().defined()) grads.push_back(p.grad());
  if (grads.empty()) return zeros({});
  // The joint norm is the norm of the per-tensor norms: (sum_i ||g_i||^p)^(1/p), or the max.
  const bool infinity = std::isinf(norm_type);
  Tensor total;
  for (const Tensor& g : grads) {
    const Tensor n = infinity ? g.abs().max() : g.norm(norm_type);
    const Tensor term = infinity ? n : n.pow(norm_type);
    total = total.defined() ? (infinity ? maximum(total, term.to(total.dtype())) : total + term.to(total.dtype())) : term;
  }
  if (!infinity) total = total.pow(1.0 / norm_type);
  // min(1, max_norm / (norm + 1e-6)): the 1e-6 keeps a zero gradient from dividing by zero.
  const Tensor scale = (max_norm / (total + 1e-6)).clamp_max(1.0);
  for (Tensor g : grads) g.mul_(scale);
  return total;
}

void clip_grad_value_(const std::vector<Tensor>& params, double clip_value) {
  CAKE_CHECK(clip_value >= 0.0, "clip_grad_value_: clip_value must be non-negative, got ", clip_value);
  NoGradGuard no_grad;
  for (const Tensor& p : params) {
    if (!p.grad().defined()) continue;
    Tensor g = p.grad();
    g.clamp_(-clip_value, clip_value);
  }
}

}  // namespace cake::optim
