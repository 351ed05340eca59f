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
// input (undefined where an input needs none). It runs with gradient recording off, except in
// a create_graph backward (higher-order gradients), where it runs with recording on: then it
// must compute with differentiable ops (cake::, not native::) for the result to carry a graph.
// Closures whose fast path uses fused native kernels check autograd::create_graph_active().
#pragma once

#include <initializer_list>

#include "cake/autograd/grad_mode.h"
#include "cake/autograd/node.h"

namespace cake::autograd {

// True when grad mode is on and any input requires a gradient.
bool needs_grad(std::initializer_list<const Tensor*> inputs);
bool needs_grad(const TensorList& inputs);
inline bool needs_grad(std::initializer_list<Tensor> inputs) { return needs_grad(TensorList(inputs)); }

// Records a FunctionNode with edges to `inputs` and makes it the grad_fn of each output.
// Does nothing under NoGradGuard (the outputs then do not require a gradient).
void record(const char* name, const TensorList& inputs, const TensorList& outputs, FunctionNode::Backward backward);

// True inside a create_graph backward: gradient recording is on while closures run.
inline bool create_graph_active() { return GradMode::is_enabled(); }
// For the few backwards written only with fused kernels: throws "double backward is not
// supported for <name>" when called inside a create_graph backward.
void check_double_backward(const char* name);

// g summed down to `shape` over the dims that broadcasting expanded: the adjoint of
// broadcasting (see docs/autograd.md). Differentiable: its own backward is expand.
Tensor sum_to(const Tensor& g, const Shape& shape);

// A tensor kept for backward, and the storage version at save time; get() throws if the tensor
// was modified in place since. See NOTE [ Version counter ] in tensor/storage.h.
//
// It holds a detached view plus how to reattach it to the graph, for create_graph backwards:
// a leaf is kept as itself (a leaf holds no node, so no cycle), a non-leaf by a *weak* pointer
// to its grad_fn. An output saved by its own grad_fn (exp saves y = exp(x)) would otherwise make
// node -> saved y -> node, a cycle that shared_ptr never frees; PyTorch's SavedVariable breaks
// it the same way. An op saves its output before record() gives the output its grad_fn, so a
// tensor saved without a graph is remembered (thread-locally) until the next record(), which
// links it to the node if it is one of the node's outputs. The node is alive whenever get()
// can run (it is the node running, or an input's node, which the running node's edges own).
class SavedTensor {
 public:
  SavedTensor() = default;
  explicit SavedTensor(const Tensor& t);
  // The saved tensor: detached in an ordinary backward, reattached to its graph in a
  // create_graph one.
  Tensor get() const;
  bool defined() const { return data_.defined(); }

  // Where the saved tensor sits in the graph; shared by the copies of one SavedTensor (the
  // closure that captures it is copied into the node).
  struct Link {
    Tensor leaf;                   // a leaf that requires grad
    std::weak_ptr<Node> grad_fn;   // a non-leaf's node
    std::uint32_t output_nr = 0;
  };

 private:
  Tensor data_;
  std::shared_ptr<Link> link_;
  std::uint64_t version_ = 0;
};

// The gradient edge of a tensor: its grad_fn slot, or its leaf accumulator.
Edge gradient_edge(const Tensor& t);

}  // namespace cake::autograd
