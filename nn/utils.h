// utils.h: torch::nn::utils, the helpers that act on a model's parameters.
//
//   cake::nn::utils::clip_grad_norm_(net->parameters(), /*max_norm=*/1.0);
//   cake::Tensor flat = cake::nn::utils::parameters_to_vector(net->parameters());   // 1-D, differentiable
//   cake::nn::utils::vector_to_parameters(flat * 0.5, net->parameters());     // copies back, in place
#pragma once

#include <vector>

#include "cake/optim/clip_grad.h"
#include "cake/tensor/tensor.h"

namespace cake::nn::utils {

using optim::clip_grad_norm_;
using optim::clip_grad_value_;

// Every parameter flattened and concatenated, in order (differentiable, as cat is).
Tensor parameters_to_vector(const std::vector<Tensor>& parameters);
// Copies consecutive pieces of `vec` into the parameters' values (in place, without recording
// a graph); vec must hold exactly as many elements as the parameters together.
void vector_to_parameters(const Tensor& vec, const std::vector<Tensor>& parameters);

}  // namespace cake::nn::utils
