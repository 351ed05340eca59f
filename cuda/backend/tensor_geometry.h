// cuda/backend/tensor_geometry.h: Tensor -> kernels::Geometry, in the g++-compiled glue.
//
//   auto g = make_geometry<2>({&out, &x});   // then kernels::launch_copy(..., g, stream)
//
// Drops size-1 dims and merges neighbouring dims that are contiguous in every operand (as the
// CPU loop does, tensor/cpu/loops.h), so a contiguous tensor of any rank is one flat run and the
// kernels' index arithmetic stays short.
#pragma once

#include <array>

#include "cake/cuda/backend/kernel_api.h"
#include "cake/tensor/tensor.h"

namespace cake::cuda {

inline kernels::ScalarType scalar_type(DType t) { return static_cast<kernels::ScalarType>(t); }
static_assert(static_cast<int>(kernels::ScalarType::Float64) == static_cast<int>(DType::Float64) &&
              static_cast<int>(kernels::ScalarType::Bool) == static_cast<int>(DType::Bool) &&
              static_cast<int>(kernels::ScalarType::Int64) == static_cast<int>(DType::Int64) &&
              static_cast<int>(kernels::ScalarType::BFloat16) == static_cast<int>(DType::BFloat16) &&
              static_cast<int>(kernels::ScalarType::Float16) == static_cast<int>(DType::Float16));

template <int N>
kernels::Geometry<N> make_geometry(const std::array<const Tensor*, N>& operands) {
  const Tensor& out = *operands[0];
  kernels::Geometry<N> g;
  g.numel = out.numel();
  for (int k = 0; k < N; ++k) {
    CAKE_CHECK(operands[k]->device() == out.device(), "CUDA kernel: operands on ", to_string(operands[k]->device()),
               " and ", to_string(out.device()));
    g.data[k] = operands[k]->raw_data();
  }
  // Outermost first; a new dim merges into the previous one when, for every operand,
  // stride[prev] == stride[new] * size[new].
  for (std::int64_t d = 0; d < out.dim(); ++d) {
    const std::int64_t size = out.sizes()[d];
    if (size == 1) continue;
    bool merge = g.ndim > 0;
    for (int k = 0; k < N && merge; ++k)
      merge = operands[k]->strides()[d] * size == g.strides[k][g.ndim - 1];
    if (merge) {
      g.sizes[g.ndim - 1] *= size;
      for (int k = 0; k < N; ++k) g.strides[k][g.ndim - 1] = operands[k]->strides()[d];
      continue;
    }
    CAKE_CHECK(g.ndim < kernels::kMaxDims, "CUDA kernel: at most ", kernels::kMaxDims, " dimensions after merging");
    g.sizes[g.ndim] = size;
    for (int k = 0; k < N; ++k) g.strides[k][g.ndim] = operands[k]->strides()[d];
    ++g.ndim;
  }
  g.contiguous = g.ndim == 0;
  if (g.ndim == 1) {
    g.contiguous = true;
    for (int k = 0; k < N; ++k) g.contiguous = g.contiguous && g.strides[k][0] == 1;
  }
  return g;
}

}  // namespace cake::cuda
