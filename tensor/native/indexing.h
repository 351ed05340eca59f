// native/indexing.h: gathering, scattering, joining and sorting without autograd.
#pragma once

#include <utility>
#include <vector>

#include "tensor/dispatch.h"
#include "tensor/tensor.h"

namespace cake::native {

// out[i][j][k] = x[index[i][j][k]][j][k] (dim 0), etc.; index is int64 with x's rank.
Tensor gather(const Tensor& x, std::int64_t dim, const Tensor& index);
// A copy of x with src added at index along dim (index has src's shape).
Tensor scatter_add(const Tensor& x, std::int64_t dim, const Tensor& index, const Tensor& src);

}  // namespace cake::native
