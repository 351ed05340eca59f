// native/elementwise.cpp: argument checks, broadcasting and type promotion for elementwise ops.
#include "cake/tensor/native/elementwise.h"

#include <cmath>
#include <limits>

namespace cake::native {

CAKE_DEFINE_DISPATCH(UnaryFn, unary_stub);
CAKE_DEFINE_DISPATCH(BinaryFn, binary_stub);
CAKE_DEFINE_DISPATCH(WhereFn, where_stub);
CAKE_DEFINE_DISPATCH(CopyFn, copy_stub);
CAKE_DEFINE_DISPATCH(FillFn, fill_stub);
CrossDeviceCopyFn cross_device_copy = nullptr;

// A row's operand rule applied to the dtype its operands would otherwise have (see
// native/op_tables.h): the dtype the kernel computes in.
static DType operand_dtype(OperandRule rule, DType dtype, const char* op) {
  switch (rule) {
    case OperandRule::Any: return dtype;
    case OperandRule::NoBool:
      CAKE_CHECK(dtype != kBool, op, ": not supported for bool tensors");
      return dtype;
    case OperandRule::Floating: return is_floating(dtype) ? dtype : kFloat32;  // e.g. true division
    case OperandRule::Bool: return kBool;
  }
  return dtype;
}

static DType result_dtype(ResultRule rule, DType operands) { return rule == ResultRule::Bool ? kBool : operands; }

// In place, the destination's dtype must already be the one the op computes in.
static void check_inplace_dtype(const char* op, ResultRule result, OperandRule operands, DType dtype) {
  CAKE_CHECK(result == ResultRule::Same, op, "_: has no in-place form (its result is a bool mask)");
  const DType computes_in = operand_dtype(operands, dtype, op);
  CAKE_CHECK(computes_in == dtype, op, "_: needs a ", operands == OperandRule::Floating ? "floating-point" : "bool",
             " tensor to write into in place, got ", dtype_name(dtype));
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  const std::size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (std::size_t i = 0; i < n; ++i) {
    const std::int64_t sa = i < n - a.size() ? 1 : a[i - (n - a.size())];
    const std::int64_t sb = i < n - b.size() ? 1 : b[i - (n - b.size())];
    CAKE_CHECK(sa == sb || sa == 1 || sb == 1, op, ": shapes ", a, " and ", b, " cannot be broadcast together (dimension ",
               i, ": ", sa, " vs ", sb, ")");
    out[i] = sa == 1 ? sb : sa;
  }
  return out;
}

static void check_same_device(const Tensor& a, const Tensor& b, const char* op) {
  CAKE_CHECK(a.device() == b.device(), op, ": tensors are on different devices, ", to_string(a.device()), " and ",
             to_string(b.device()));
}

// Expands x to `shape` as a view with zero strides on broadcast dimensions.
static Tensor broadcast_to(const Tensor& x, const Shape& shape) {
  if (x.sizes() == shape) return x;
  const std::size_t n = shape.size(), k = x.sizes().size();
  Shape strides(n, 0);
  for (std::size_t i = 0; i < k; ++i) {
    const std::size_t j = n - k + i;
    strides[j] = x.sizes()[i] == 1 ? 0 : x.strides()[i];
  }
  return make_view(x, shape, strides, x.storage_offset());
}

Tensor unary(UnaryOp op, const Tensor& x, UnaryParams params) {
  const UnaryOpInfo& row = op_info(op);
  const Tensor in = to_dtype(x, operand_dtype(row.operands, x.dtype(), row.name));
  Tensor out = make_empty(in.sizes(), result_dtype(row.result, in.dtype()), in.device());
  unary_stub(in.device(), op, params, in, out);
  return out;
}

void unary_(UnaryOp op, const Tensor& out, UnaryParams params) {
  const UnaryOpInfo& row = op_info(op);
  check_inplace_dtype(row.name, row.result, row.operands, out.dtype());
  unary_stub(out.device(), op, params, out, out);
  out.bump_version();
}

Tensor clamp(const Tensor& x, std::optional<double> min, std::optional<double> max) {
  UnaryParams p{min.value_or(-std::numeric_limits<double>::infinity()),
                max.value_or(std::numeric_limits<double>::infinity())};
  return unary(UnaryOp::Clamp, x, p);
}

Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b) {
  const BinaryOpInfo& row = op_info(op);
  check_same_device(a, b, row.name);
  const Shape shape = broadcast_shapes(a.sizes(), b.sizes(), row.name);
  const DType common = operand_dtype(row.operands, promote_types(a.dtype(), b.dtype()), row.name);
  Tensor out = make_empty(shape, result_dtype(row.result, common), a.device());
  binary_stub(a.device(), op, broadcast_to(to_dtype(a, common), shape), broadcast_to(to_dtype(b, common), shape), out);
  return out;
}

Tensor binary(BinaryOp op, const Tensor& a, Scalar b) {
  DType dtype = b.result_type_with(a.dtype());
  return binary(op, a, scalar_tensor(b, dtype, a.device()));
}

Tensor binary(BinaryOp op, Scalar a, const Tensor& b) {
  DType dtype = a.result_type_with(b.dtype());
  return binary(op, scalar_tensor(a, dtype, b.device()), b);
}

void binary_(BinaryOp op, const Tensor& out, const Tensor& b) {
  const BinaryOpInfo& row = op_info(op);
  check_same_device(out, b, row.name);
  check_inplace_dtype(row.name, row.result, row.operands, out.dtype());
  const Shape shape = broadcast_shapes(out.sizes(), b.sizes(), row.name);
  CAKE_CHECK(shape == out.sizes(), row.name, "_: in-place result of shape ", out.sizes(),
             " cannot hold the broadcast shape ", shape, " (other operand ", b.sizes(), ")");
  binary_stub(out.device(), op, out, broadcast_to(to_dtype(b, out.dtype()), shape), out);
  out.bump_version();
}

void binary_(BinaryOp op, const Tensor& out, Scalar b) { binary_(op, out, scalar_tensor(b, out.dtype(), out.device())); }

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  check_same_device(cond, a, "where");
  check_same_device(a, b, "where");
  CAKE_CHECK(cond.dtype() == kBool, "where: condition must be a bool tensor, got ", dtype_name(cond.dtype()));
  const Shape shape = broadcast_shapes(cond.sizes(), broadcast_shapes(a.sizes(), b.sizes(), "where"), "where");
  const DType common = promote_types(a.dtype(), b.dtype());
  Tensor out = make_empty(shape, common, a.device());
  where_stub(a.device(), broadcast_to(cond, shape), broadcast_to(to_dtype(a, common), shape),
             broadcast_to(to_dtype(b, common), shape), out);
  return out;
}

Tensor scalar_tensor(Scalar value, DType dtype, Device device) {
  Tensor out = make_empty({}, dtype, device);
  fill_stub(device, out, value);
  return out;
}

void fill_(const Tensor& dst, Scalar value) {
  fill_stub(dst.device(), dst, value);
  dst.bump_version();
}

void copy_(const Tensor& dst, const Tensor& src) {
  const Shape shape = broadcast_shapes(dst.sizes(), src.sizes(), "copy_");
  CAKE_CHECK(shape == dst.sizes(), "copy_: source of shape ", src.sizes(), " does not broadcast to destination ",
             dst.sizes());
  if (src.device() == dst.device()) {
    copy_stub(dst.device(), broadcast_to(src, shape), dst);
  } else {
    CAKE_CHECK(cross_device_copy != nullptr, "copy_: from ", to_string(src.device()), " to ", to_string(dst.device()),
               " needs the CUDA backend, and Cake was built without CUDA");
    // Cross-device: make a contiguous same-dtype staging copy on the source side, transfer,
    // then convert/scatter on the destination side when needed.
    Tensor staged = contiguous(to_dtype(broadcast_to(src, shape), dst.dtype()));
    if (dst.is_contiguous()) {
      cross_device_copy(staged, dst);
    } else {
      Tensor landing = make_empty(shape, dst.dtype(), dst.device());
      cross_device_copy(staged, landing);
      copy_stub(dst.device(), landing, dst);
    }
  }
  dst.bump_version();
}

Tensor to_dtype(const Tensor& x, DType dtype) {
  if (x.dtype() == dtype) return x;
  Tensor out = make_empty(x.sizes(), dtype, x.device());
  copy_stub(x.device(), x, out);
  return out;
}

Tensor to_device(const Tensor& x, Device device) {
  if (x.device() == device) return x;
  Tensor out = make_empty(x.sizes(), x.dtype(), device);
  copy_(out, x);
  return out;
}

Tensor contiguous(const Tensor& x) { return x.is_contiguous() ? x : clone(x); }

Tensor clone(const Tensor& x) {
  Tensor out = make_empty(x.sizes(), x.dtype(), x.device());
  copy_stub(x.device(), x, out);
  return out;
}

}  // namespace cake::native
