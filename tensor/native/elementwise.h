// native/elementwise.h: the elementwise ops without autograd.
//
// These check arguments, apply NumPy broadcasting and type promotion, allocate the output and
// dispatch to a backend kernel. Autograd (autograd/ops/elementwise.cpp) builds on them; most
// users want the differentiable cake::exp, cake::operator+, ... instead.
//
//   Tensor y = cake::native::unary(UnaryOp::Exp, x);
//   Tensor z = cake::native::binary(BinaryOp::Add, x, y);
#pragma once

#include <optional>

#include "cake/tensor/dispatch.h"
#include "cake/tensor/native/op_tables.h"
#include "cake/tensor/tensor.h"

namespace cake::native {

// UnaryOp, BinaryOp, their names (op_name), dtype rules (needs_floating, is_comparison, op_info)
// and UnaryParams come from the op tables; see NOTE [ Adding an op ] there.

// Kernels see operands of identical sizes (inputs already expanded by broadcasting, so some
// strides may be 0) and the same dtype; the output is freshly allocated or a valid in-place
// destination.
using UnaryFn = void (*)(UnaryOp, UnaryParams, const Tensor& x, const Tensor& out);
using BinaryFn = void (*)(BinaryOp, const Tensor& a, const Tensor& b, const Tensor& out);
using WhereFn = void (*)(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& out);
using CopyFn = void (*)(const Tensor& src, const Tensor& dst);  // converts dtype, same device
using FillFn = void (*)(const Tensor& dst, Scalar value);
CAKE_DECLARE_DISPATCH(UnaryFn, unary_stub);
CAKE_DECLARE_DISPATCH(BinaryFn, binary_stub);
CAKE_DECLARE_DISPATCH(WhereFn, where_stub);
CAKE_DECLARE_DISPATCH(CopyFn, copy_stub);
CAKE_DECLARE_DISPATCH(FillFn, fill_stub);
// Copies between devices (registered by the CUDA backend): contiguous, same dtype.
using CrossDeviceCopyFn = void (*)(const Tensor& src, const Tensor& dst);
extern CrossDeviceCopyFn cross_device_copy;

// Broadcast shape of two shapes (NumPy rules); the error names both shapes.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op = "broadcast");

Tensor unary(UnaryOp op, const Tensor& x, UnaryParams params = {});
Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b);
Tensor binary(BinaryOp op, const Tensor& a, Scalar b);
Tensor binary(BinaryOp op, Scalar a, const Tensor& b);
// In place: out = op(out, b); b broadcasts to out's shape, out's dtype is kept.
void binary_(BinaryOp op, const Tensor& out, const Tensor& b);
void binary_(BinaryOp op, const Tensor& out, Scalar b);
void unary_(UnaryOp op, const Tensor& out, UnaryParams params = {});
Tensor clamp(const Tensor& x, std::optional<double> min, std::optional<double> max);
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);

// A tensor holding `value` with zero dims, of the given dtype/device.
Tensor scalar_tensor(Scalar value, DType dtype, Device device);
void fill_(const Tensor& dst, Scalar value);
// dst = src, broadcasting src to dst's shape and converting dtype and device.
void copy_(const Tensor& dst, const Tensor& src);
Tensor to_dtype(const Tensor& x, DType dtype);  // returns x itself when the dtype already matches
Tensor to_device(const Tensor& x, Device device);
Tensor contiguous(const Tensor& x);             // returns x itself when already contiguous
Tensor clone(const Tensor& x);                  // always a fresh contiguous copy

}  // namespace cake::native
