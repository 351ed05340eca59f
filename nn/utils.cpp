// utils.cpp: torch::nn::utils' parameter vectors (nn/utils.h).
#include "cake/nn/utils.h"

#include "cake/autograd/grad_mode.h"
#include "cake/autograd/ops.h"

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

}  // namespace cake::nn::utils
