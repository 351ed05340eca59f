// function.h: what an op author needs to make an op differentiable.
//
//   Tensor exp(const Tensor& x) {
//     Tensor y = native::unary(UnaryOp::Exp, x);
//     if (autograd::needs_grad({x}))
//       autograd::record("ExpBackward", {x}, {y}, [y = autograd::SavedTensor(y)](const TensorList& g) {
//         return TensorList{g[0] * y.get()};        // d exp(x)/dx = exp(x)
//       });
//     return y;
//   }
//
// The backward closure receives one gradient per forward output and returns one per forward
// input (undefined where an input needs none). It runs with gradient recording off.
#pragma once

#include <initializer_list>

#include "autograd/grad_mode.h"
#include "autograd/node.h"

namespace cake::autograd {

// True when grad mode is on and any input requires a gradient.
bool needs_grad(std::initializer_list<const Tensor*> inputs);
bool needs_grad(const TensorList& inputs);
inline bool needs_grad(std::initializer_list<Tensor> inputs) { return needs_grad(TensorList(inputs)); }

// Records a FunctionNode with edges to `inputs` and makes it the grad_fn of each output.
void record(const char* name, const TensorList& inputs, const TensorList& outputs, FunctionNode::Backward backward);

// A tensor kept for backward. It holds a detached view (so an output saved by its own grad_fn
// makes no reference cycle) and the storage version at save time; get() throws if the tensor
// was modified in place since. See NOTE [ Version counter ] in tensor/storage.h.
class SavedTensor {
 public:
  SavedTensor() = default;
  explicit SavedTensor(const Tensor& t);
  const Tensor& get() const;
  bool defined() const { return data_.defined(); }

 private:
  Tensor data_;
  std::uint64_t version_ = 0;
};

// The gradient edge of a tensor: its grad_fn slot, or its leaf accumulator.
Edge gradient_edge(const Tensor& t);

}  // namespace cake::autograd
