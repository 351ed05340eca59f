// cpu/elementwise_kernels.cpp: the CPU kernels behind native/elementwise.h.
//
// Each kernel maps the op enum to its functor (tensor/functors.h) once, then runs the generic
// loop of cpu/loops.h over the operands with the element type chosen by visit_dtype.
#include <cstring>

#include "tensor/cpu/loops.h"
#include "tensor/functors.h"
#include "tensor/native/elementwise.h"

namespace cake::cpu {
namespace {

using native::BinaryOp;
using native::UnaryOp;

template <class T, class F>
void run_unary(const Tensor& x, const Tensor& out, F f) {
  elementwise<T, T>(out, {&x}, f);
}
template <class T, class F>
void run_predicate(const Tensor& x, const Tensor& out, F f) {
  elementwise<bool, T>(out, {&x}, f);
}

void unary_kernel(UnaryOp op, native::UnaryParams p, const Tensor& x, const Tensor& out) {
  visit_dtype(x.dtype(), [&]<class T>() {
    if constexpr (std::is_floating_point_v<T>) {
      switch (op) {
        case UnaryOp::Exp: return run_unary<T>(x, out, ops::Exp{});
        case UnaryOp::Log: return run_unary<T>(x, out, ops::Log{});
        case UnaryOp::Log1p: return run_unary<T>(x, out, ops::Log1p{});
        case UnaryOp::Sqrt: return run_unary<T>(x, out, ops::Sqrt{});
        case UnaryOp::Rsqrt: return run_unary<T>(x, out, ops::Rsqrt{});
        case UnaryOp::Tanh: return run_unary<T>(x, out, ops::Tanh{});
        case UnaryOp::Sigmoid: return run_unary<T>(x, out, ops::Sigmoid{});
        case UnaryOp::Sin: return run_unary<T>(x, out, ops::Sin{});
        case UnaryOp::Cos: return run_unary<T>(x, out, ops::Cos{});
        case UnaryOp::Floor: return run_unary<T>(x, out, ops::Floor{});
        case UnaryOp::Round: return run_unary<T>(x, out, ops::Round{});
        case UnaryOp::Reciprocal: return run_unary<T>(x, out, ops::Reciprocal{});
        case UnaryOp::Erf: return run_unary<T>(x, out, ops::Erf{});
        case UnaryOp::PowScalar: return run_unary<T>(x, out, ops::PowScalar{p.a});
        case UnaryOp::Elu: return run_unary<T>(x, out, ops::Elu{p.a});
        case UnaryOp::IsNan: return run_predicate<T>(x, out, ops::IsNan{});
        case UnaryOp::IsFinite: return run_predicate<T>(x, out, ops::IsFinite{});
        default: break;
      }
    }
    if constexpr (!std::is_same_v<T, bool>) {
      switch (op) {
        case UnaryOp::Neg: return run_unary<T>(x, out, ops::Neg{});
        case UnaryOp::Abs: return run_unary<T>(x, out, ops::Abs{});
        case UnaryOp::Square: return run_unary<T>(x, out, ops::Square{});
        case UnaryOp::Relu: return run_unary<T>(x, out, ops::Relu{});
        case UnaryOp::Sign: return run_unary<T>(x, out, ops::Sign{});
        case UnaryOp::Clamp: return run_unary<T>(x, out, ops::Clamp{p.a, p.b});
        case UnaryOp::LeakyRelu: return run_unary<T>(x, out, ops::LeakyRelu{p.a});
        default: break;
      }
    }
    switch (op) {
      case UnaryOp::LogicalNot: return run_predicate<T>(x, out, ops::LogicalNot{});
      case UnaryOp::IsNan: return run_predicate<T>(x, out, ops::IsNan{});
      case UnaryOp::IsFinite: return run_predicate<T>(x, out, ops::IsFinite{});
      default: break;
    }
    CAKE_FAIL(native::op_name(op), ": not supported for dtype ", dtype_name(x.dtype()));
  });
}

template <class T, class F>
void run_binary(const Tensor& a, const Tensor& b, const Tensor& out, F f) {
  elementwise<T, T, T>(out, {&a, &b}, f);
}
template <class T, class F>
void run_compare(const Tensor& a, const Tensor& b, const Tensor& out, F f) {
  elementwise<bool, T, T>(out, {&a, &b}, f);
}

void binary_kernel(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out) {
  visit_dtype(a.dtype(), [&]<class T>() {
    switch (op) {
      case BinaryOp::Eq: return run_compare<T>(a, b, out, ops::Eq{});
      case BinaryOp::Ne: return run_compare<T>(a, b, out, ops::Ne{});
      case BinaryOp::Lt: return run_compare<T>(a, b, out, ops::Lt{});
      case BinaryOp::Le: return run_compare<T>(a, b, out, ops::Le{});
      case BinaryOp::Gt: return run_compare<T>(a, b, out, ops::Gt{});
      case BinaryOp::Ge: return run_compare<T>(a, b, out, ops::Ge{});
      case BinaryOp::LogicalAnd: return run_compare<T>(a, b, out, ops::LogicalAnd{});
      case BinaryOp::LogicalOr: return run_compare<T>(a, b, out, ops::LogicalOr{});
      default: break;
    }
    if constexpr (!std::is_same_v<T, bool>) {
      switch (op) {
        case BinaryOp::Add: return run_binary<T>(a, b, out, ops::Add{});
        case BinaryOp::Sub: return run_binary<T>(a, b, out, ops::Sub{});
        case BinaryOp::Mul: return run_binary<T>(a, b, out, ops::Mul{});
        case BinaryOp::Div: return run_binary<T>(a, b, out, ops::Div{});
        case BinaryOp::Maximum: return run_binary<T>(a, b, out, ops::Maximum{});
        case BinaryOp::Minimum: return run_binary<T>(a, b, out, ops::Minimum{});
        case BinaryOp::Pow: return run_binary<T>(a, b, out, ops::Pow{});
        case BinaryOp::ReluBackward: return run_binary<T>(a, b, out, ops::ReluBackward{});
        default: break;
      }
    } else {
      // bool arithmetic as in PyTorch: + is or, * is and.
      switch (op) {
        case BinaryOp::Add: return run_compare<T>(a, b, out, ops::LogicalOr{});
        case BinaryOp::Mul: return run_compare<T>(a, b, out, ops::LogicalAnd{});
        case BinaryOp::Maximum: return run_compare<T>(a, b, out, ops::LogicalOr{});
        case BinaryOp::Minimum: return run_compare<T>(a, b, out, ops::LogicalAnd{});
        default: break;
      }
    }
    if constexpr (std::is_floating_point_v<T>) {
      switch (op) {
        case BinaryOp::SigmoidBackward: return run_binary<T>(a, b, out, ops::SigmoidBackward{});
        case BinaryOp::TanhBackward: return run_binary<T>(a, b, out, ops::TanhBackward{});
        default: break;
      }
    }
    CAKE_FAIL(native::op_name(op), ": not supported for dtype ", dtype_name(a.dtype()));
  });
}

void where_kernel(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& out) {
  visit_dtype(a.dtype(), [&]<class T>() {
    elementwise<T, bool, T, T>(out, {&cond, &a, &b}, [](bool c, T x, T y) { return c ? x : y; });
  });
}

template <class From, class To>
To convert(From v) {
  if constexpr (std::is_same_v<To, bool>) return v != From(0);
  else return static_cast<To>(v);
}

void copy_kernel(const Tensor& src, const Tensor& dst) {
  visit_dtype(src.dtype(), [&]<class S>() {
    visit_dtype(dst.dtype(), [&]<class D>() {
      elementwise<D, S>(dst, {&src}, [](S v) { return convert<S, D>(v); });
    });
  });
}

void fill_kernel(const Tensor& dst, Scalar value) {
  visit_dtype(dst.dtype(), [&]<class T>() {
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
