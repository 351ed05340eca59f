// utils.h: torch::nn::utils, the helpers that act on a model's parameters.
//
//   cake::nn::utils::clip_grad_norm_(net->parameters(), /*max_norm=*/1.0);
//   cake::Tensor flat = cake::nn::utils::parameters_to_vector(net->parameters());   // 1-D, differentiable
//   cake::nn::utils::vector_to_parameters(flat * 0.5, net->parameters());     // copies back, in place
//   cake::Tensor batch = cake::nn::utils::rnn::pad_sequence({a, b, c});     // [5, 3, 8] from [5|3|2, 8]
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

namespace rnn {

// Sequences of different lengths [L_i, *] (the same trailing shape) stacked into one batch
// [L_max, n, *] ([n, L_max, *] with batch_first), each padded after its end with padding_value,
// as torch::nn::utils::rnn::pad_sequence. Differentiable in every sequence.
Tensor pad_sequence(const std::vector<Tensor>& sequences, bool batch_first = false, double padding_value = 0.0);

}  // namespace rnn

}  // namespace cake::nn::utils
