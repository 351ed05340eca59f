// clip_grad.h: gradient clipping, as torch.nn.utils.clip_grad_norm_ / clip_grad_value_.
//
//   loss.backward();
//   cake::Tensor norm = cake::optim::clip_grad_norm_(net->parameters(), /*max_norm=*/1.0);
//   opt.step();
#pragma once

#include <vector>

#include "cake/tensor/tensor.h"

namespace cake::optim {

// Rescales all gradients together so that their joint p-norm (the norm of the vector of all
// gradient entries; p may be infinity) is at most max_norm:
//   g <- g * min(1, max_norm / (total_norm + 1e-6)),
// and returns total_norm (before clipping) as a 0-d tensor. Parameters without a gradient are
// skipped. The scale is applied as a tensor, so GPU training never waits for the norm.
Tensor clip_grad_norm_(const std::vector<Tensor>& params, double max_norm, double norm_type = 2.0);
// Clamps every gradient entry to [-clip_value, clip_value].
void clip_grad_value_(const std::vector<Tensor>& params, double clip_value);

}  // namespace cake::optim
