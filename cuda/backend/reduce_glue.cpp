// cuda/backend/reduce_glue.cpp: the CUDA kernel behind native::reduce_stub (sum, prod, max, min).
//
// As on the CPU (tensor/cpu/reduce_kernels.cpp), the input is brought to a contiguous
// [outer, R, inner] layout: as it is when the reduced dims are adjacent in a contiguous tensor,
// otherwise by one copy that moves them last; reduce_kernels.cu then reduces the middle dim.
#include <algorithm>

#include "cake/cuda/backend/kernel_api.h"
#include "cake/cuda/backend/tensor_geometry.h"
#include "cake/tensor/native/elementwise.h"
#include "cake/tensor/native/reduce.h"
#include "cake/tensor/native/view.h"

namespace cake::cuda {
namespace {

Tensor canonical_layout(const Tensor& x, const Shape& dims, std::int64_t& outer, std::int64_t& R, std::int64_t& inner) {
  const std::int64_t n = x.dim();
  const bool adjacent = dims.empty() || dims.back() - dims.front() + 1 == static_cast<std::int64_t>(dims.size());
  outer = 1, R = 1, inner = 1;
  if (!(adjacent && x.is_contiguous())) {
    Shape order;
    for (std::int64_t d = 0; d < n; ++d)
      if (!std::binary_search(dims.begin(), dims.end(), d)) order.push_back(d);
    for (std::int64_t d : dims) order.push_back(d);
    for (std::size_t i = 0; i < order.size() - dims.size(); ++i) outer *= x.sizes()[order[i]];
    for (std::int64_t d : dims) R *= x.sizes()[d];
    return native::contiguous(native::permute(x, order));
  }
  for (std::int64_t d = 0; d < n; ++d) {
    if (!dims.empty() && d < dims.front()) outer *= x.sizes()[d];
    else if (!dims.empty() && d <= dims.back()) R *= x.sizes()[d];
    else inner *= x.sizes()[d];
  }
  if (dims.empty()) R = 1;
  return x;
}

void reduce_kernel(native::ReduceOp op, const Tensor& x, const Shape& dims, const Tensor& out) {
  CAKE_CHECK(x.dtype() != kBool, "reduce: bool tensors are reduced as int64");
  std::int64_t outer = 1, R = 1, inner = 1;
  const Tensor src = canonical_layout(x, dims, outer, R, inner);
  // `out` is fresh and contiguous, laid out as [outer, inner].
  const std::int64_t pieces = kernels::reduce_pieces(outer, R, inner);
  const Tensor partials = pieces > 1 ? make_empty({outer * inner * pieces}, x.dtype(), x.device()) : Tensor{};
  kernels::launch_reduce(op, scalar_type(x.dtype()), src.raw_data(), out.raw_data(), outer, R, inner, pieces,
                         pieces > 1 ? partials.raw_data() : nullptr, current_stream());
}

}  // namespace

CAKE_REGISTER_KERNEL(native::reduce_stub, DeviceType::CUDA, &reduce_kernel);

}  // namespace cake::cuda
