// native/reduce.h: reductions without autograd (sum, mean, max, ... over any dimensions).
//
//   Tensor s = cake::native::sum(x, {0, 2}, /*keepdim=*/false);
//
// Summation is pairwise (blocks of 8 partial sums merged in a tree), so float32 sums of
// millions of elements keep close to float32 precision; see cpu/reduce_kernels.cpp.
#pragma once

#include <optional>

#include "cake/tensor/dispatch.h"
#include "cake/tensor/native/op_tables.h"
#include "cake/tensor/tensor.h"

namespace cake::native {

// ReduceOp, its names and dtype rules come from the op tables (native/op_tables.h).

// Normalises `dims` (negative dims wrap; empty means all) and checks them against x.
Shape reduction_dims(const Tensor& x, const Shape& dims, const char* op);
// The shape of a reduction of `sizes` over `dims` (already normalised).
Shape reduced_shape(const Shape& sizes, const Shape& dims, bool keepdim);

// Kernels reduce x over `dims` (normalised, sorted) into `out`, which has x's shape with those
// dims set to 1 (keepdim form) and the same dtype.
using ReduceFn = void (*)(ReduceOp op, const Tensor& x, const Shape& dims, const Tensor& out);
CAKE_DECLARE_DISPATCH(ReduceFn, reduce_stub);
// Index of the max/min along one dim: values and int64 indices, both in keepdim form.
using ArgReduceFn = void (*)(bool is_max, const Tensor& x, std::int64_t dim, const Tensor& values,
                             const Tensor& indices);
CAKE_DECLARE_DISPATCH(ArgReduceFn, arg_reduce_stub);

Tensor reduce(ReduceOp op, const Tensor& x, const Shape& dims, bool keepdim);
Tensor sum(const Tensor& x, const Shape& dims = {}, bool keepdim = false);
Tensor mean(const Tensor& x, const Shape& dims = {}, bool keepdim = false);
// (values, indices) of the max or min along `dim`.
std::pair<Tensor, Tensor> max_with_indices(const Tensor& x, std::int64_t dim, bool keepdim);
std::pair<Tensor, Tensor> min_with_indices(const Tensor& x, std::int64_t dim, bool keepdim);
// Sums `grad` down to `shape` over the dims that broadcasting expanded (the adjoint of
// broadcasting, used by every binary op's backward).
Tensor sum_to(const Tensor& grad, const Shape& shape);

}  // namespace cake::native
