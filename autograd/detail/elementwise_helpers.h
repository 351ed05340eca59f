// autograd/detail/elementwise_helpers.h: the shared pieces of the elementwise ops' backwards
// (autograd/ops/elementwise.cpp, autograd/ops/math.cpp); internal to those files.
#pragma once

#include "cake/autograd/function.h"
#include "cake/autograd/ops.h"
#include "cake/tensor/native/elementwise.h"

namespace cake::detail {

// What a unary op's backward reads, and so all that its graph node keeps alive: the input x,
// the output y, or nothing at all (a negation's gradient is just -g).
enum class Saves { Nothing, Input, Output };

// y = op(x) (with the row's parameters), recording `name` whose backward is
// derivative(g, saved), `saved` being x, y or an undefined tensor as `saves` says.
inline Tensor unary_op(const char* name, native::UnaryOp op, const Tensor& x, Saves saves,
                       Tensor (*derivative)(const Tensor& g, const Tensor& saved), native::UnaryParams params = {}) {
  Tensor y = native::unary(op, x, params);
  if (autograd::needs_grad({x})) {
    const autograd::SavedTensor saved = saves == Saves::Input    ? autograd::SavedTensor(x)
                                        : saves == Saves::Output ? autograd::SavedTensor(y)
                                                                 : autograd::SavedTensor();
    autograd::record(name, {x}, {y}, [derivative, saved](const autograd::TensorList& g) {
      return autograd::TensorList{derivative(g[0], saved.defined() ? saved.get() : Tensor())};
    });
  }
  return y;
}

// A scalar as a 0-d tensor on t's device, of the dtype the two promote to (an integer tensor and
// 2.5 give float32, as in PyTorch), so that it broadcasts in a binary op.
inline Tensor scalar_like(Scalar s, const Tensor& t) {
  return native::scalar_tensor(s, s.result_type_with(t.dtype()), t.device());
}

// What a binary op's backward needs to know of an input it does not read: whether it wants a
// gradient, and the shape and dtype to reduce that gradient to.
struct InputGeometry {
  bool wants_grad;
  Shape sizes;
  DType dtype;
  explicit InputGeometry(const Tensor& t) : wants_grad(t.requires_grad()), sizes(t.sizes()), dtype(t.dtype()) {}
  // The gradient g of the broadcast result, summed back to this input's shape (undefined when
  // the input wants none).
  Tensor reduce(const Tensor& g) const {
    return wants_grad ? to(autograd::sum_to(g, sizes), g.device(), dtype) : Tensor();
  }
};

}  // namespace cake::detail
