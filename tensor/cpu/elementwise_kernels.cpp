// cpu/elementwise_kernels.cpp: the CPU kernels behind native/elementwise.h.
//
// Each kernel picks the element type with visit_dtype, then maps the op enum to its functor
// (tensor/functors.h) with a switch generated from the op table (native/op_tables.h), and runs
// the generic loop of cpu/loops.h over the operands.
#include "cake/tensor/cpu/vector_math.h"  // first: exp, log, tanh, ... eight or sixteen at a time

#include <array>
#include <cstring>
#include <type_traits>

#include "cake/tensor/cpu/loops.h"
#include "cake/tensor/functors.h"
#include "cake/tensor/native/elementwise.h"

namespace cake::cpu {
namespace {

using native::BinaryOp;
using native::make_unary_functor;
using native::operand_accepts;
using native::OperandRule;
using native::ResultRule;
using native::UnaryOp;
using native::UnaryParams;

// One case per row of the op table (native/op_tables.h), generated: for the element type T the
// case runs the row's functor if the row's operand rule admits T, and fails otherwise (the
// native layer has already promoted or refused such operands, so that is a bug guard). A new row
// needs no edit here; see NOTE [ A backend's switch ].
template <class F, OperandRule operands, ResultRule result, class T, class... Inputs>
void run(const char* name, const Tensor& out, const std::array<const Tensor*, sizeof...(Inputs)>& inputs, F f) {
  if constexpr (operand_accepts<T>(operands)) {
    using Out = std::conditional_t<result == ResultRule::Bool, bool, T>;
    elementwise<Out, Inputs...>(out, inputs, f);
  } else {
    CAKE_FAIL(name, ": not supported for dtype ", dtype_name(inputs[0]->dtype()));
  }
}

void unary_kernel(UnaryOp op, UnaryParams p, const Tensor& x, const Tensor& out) {
  visit_dtype(x.dtype(), [&]<class T>() {
    switch (op) {
#define CAKE_UNARY_CASE(op_, name, operands, result, params)                                 \
  case UnaryOp::op_:                                                                         \
    return run<ops::op_, OperandRule::operands, ResultRule::result, T, T>(                   \
        name, out, {&x}, make_unary_functor<ops::op_, params>(p));
      CAKE_UNARY_OPS(CAKE_UNARY_CASE)
#undef CAKE_UNARY_CASE
    }
  });
}

void binary_kernel(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out) {
  visit_dtype(a.dtype(), [&]<class T>() {
    switch (op) {
#define CAKE_BINARY_CASE(op_, name, operands, result) \
  case BinaryOp::op_:                                 \
    return run<ops::op_, OperandRule::operands, ResultRule::result, T, T, T>(name, out, {&a, &b}, ops::op_{});
      CAKE_BINARY_OPS(CAKE_BINARY_CASE)
#undef CAKE_BINARY_CASE
    }
  });
}

void where_kernel(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& out) {
  visit_dtype(a.dtype(), [&]<class T>() {
    elementwise<T, bool, T, T>(out, {&cond, &a, &b}, [](bool c, T x, T y) { return c ? x : y; });
  });
}

// Every pair of dtypes, the 16-bit floats included (convert_element: tensor/half.h).
void copy_kernel(const Tensor& src, const Tensor& dst) {
  visit_storage_dtype(src.dtype(), [&]<class S>() {
    visit_storage_dtype(dst.dtype(), [&]<class D>() {
      elementwise<D, S>(dst, {&src}, [](S v) { return convert_element<D>(v); });
    });
  });
}

void fill_kernel(const Tensor& dst, Scalar value) {
  visit_storage_dtype(dst.dtype(), [&]<class T>() {
    const T v = value.to<T>();
    elementwise<T>(dst, {}, [v]() { return v; });
  });
}

}  // namespace

CAKE_REGISTER_KERNEL(native::unary_stub, DeviceType::CPU, &unary_kernel);
CAKE_REGISTER_KERNEL(native::binary_stub, DeviceType::CPU, &binary_kernel);
CAKE_REGISTER_KERNEL(native::where_stub, DeviceType::CPU, &where_kernel);
CAKE_REGISTER_KERNEL(native::copy_stub, DeviceType::CPU, &copy_kernel);
CAKE_REGISTER_KERNEL(native::fill_stub, DeviceType::CPU, &fill_kernel);

}  // namespace cake::cpu
