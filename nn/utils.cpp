// utils.cpp: torch::nn::utils' parameter vectors and padded sequence batches (nn/utils.h).
#include "cake/nn/utils.h"

#include <algorithm>

#include "cake/autograd/grad_mode.h"
#include "cake/autograd/ops.h"
#include "cake/nn/functional.h"

namespace cake::nn::utils {

Tensor parameters_to_vector(const std::vector<Tensor>& parameters) {
  std::vector<Tensor> flat;
  flat.reserve(parameters.size());
  for (const Tensor& p : parameters) flat.push_back(p.reshape({-1}));
  return cat(flat, 0);
}

void vector_to_parameters(const Tensor& vec, const std::vector<Tensor>& parameters) {
  std::int64_t total = 0;
  for (const Tensor& p : parameters) total += p.numel();
  CAKE_CHECK(vec.dim() == 1 && vec.numel() == total, "vector_to_parameters: expected a 1-D tensor of ", total,
             " elements (the parameters' total), got shape ", vec.sizes());
  const NoGradGuard no_grad;
  std::int64_t offset = 0;
  for (const Tensor& p : parameters) {
    Tensor target = p;
    target.copy_(vec.narrow(0, offset, p.numel()).view(p.sizes()));
    offset += p.numel();
  }
}

namespace rnn {

Tensor pad_sequence(const std::vector<Tensor>& sequences, bool batch_first, double padding_value) {
  CAKE_CHECK(!sequences.empty(), "pad_sequence: no sequences given");
  const Tensor& first = sequences.front();
  CAKE_CHECK(first.dim() >= 1, "pad_sequence: sequences must be at least 1-D [length, *], got shape ", first.sizes());
  std::int64_t longest = 0;
  for (const Tensor& s : sequences) {
    CAKE_CHECK(s.dim() == first.dim() && std::equal(s.sizes().begin() + 1, s.sizes().end(), first.sizes().begin() + 1),
               "pad_sequence: every sequence must be [length, *] with the same *; got shapes ", first.sizes(), " and ",
               s.sizes());
    longest = std::max(longest, s.size(0));
  }
  // F::pad's list runs from the last dim to the first; only the first (time) gets an "after".
  std::vector<Tensor> padded;
  padded.reserve(sequences.size());
  for (const Tensor& s : sequences) {
    Shape amounts(2 * static_cast<std::size_t>(s.dim()), 0);
    amounts.back() = longest - s.size(0);
    padded.push_back(functional::pad(s, amounts, functional::PadMode::Constant, padding_value));
  }
  return stack(padded, batch_first ? 0 : 1);
}

}  // namespace rnn

}  // namespace cake::nn::utils
