// native/view.h: the view operations without autograd. Each returns a new TensorImpl over the
// same storage (no copy) except reshape, which copies only when no view can express the result.
// Autograd's differentiable versions (autograd/ops/view.cpp) wrap these.
#pragma once

#include "cake/tensor/tensor.h"

namespace cake::native {

std::int64_t wrap_dim(std::int64_t dim, std::int64_t ndim, const char* op);
// Resolves one -1 entry of `shape` against numel; the error names both shapes.
Shape infer_shape(const Shape& shape, std::int64_t numel, const Shape& from, const char* op);

Tensor view(const Tensor& x, const Shape& shape);      // needs compatible strides
Tensor reshape(const Tensor& x, const Shape& shape);   // view if possible, else copy
Tensor transpose(const Tensor& x, std::int64_t dim0, std::int64_t dim1);
Tensor permute(const Tensor& x, const Shape& dims);
Tensor narrow(const Tensor& x, std::int64_t dim, std::int64_t start, std::int64_t length);
Tensor slice(const Tensor& x, std::int64_t dim, std::int64_t start, std::int64_t end, std::int64_t step);
Tensor select(const Tensor& x, std::int64_t dim, std::int64_t index);
Tensor unsqueeze(const Tensor& x, std::int64_t dim);
Tensor squeeze(const Tensor& x);
Tensor squeeze(const Tensor& x, std::int64_t dim);
Tensor expand(const Tensor& x, const Shape& shape);
Tensor as_strided(const Tensor& x, const Shape& sizes, const Shape& strides, std::int64_t offset);

}  // namespace cake::native
