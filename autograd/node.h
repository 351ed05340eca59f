// node.h: the autograd graph.
//
// Every differentiable op whose inputs need a gradient records one Node. The node's
// `next_edges` point to the nodes that produced its inputs (or, for leaf tensors, to the
// AccumulateGrad node that adds into the leaf's .grad()). Backward walks these edges from the
// loss towards the leaves: see engine.cpp.
//
//   cake::Tensor y = cake::exp(x);   // records ExpBackward --next_edges[0]--> AccumulateGrad(x)
//
// Op authors use autograd::record (function.h) rather than these types directly.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cake/tensor/tensor.h"

namespace cake::autograd {

using TensorList = std::vector<Tensor>;
using tensor_list = std::vector<Tensor>;  // libtorch's spelling
// A gradient hook (Tensor::register_hook): returns a replacement gradient, or an undefined
// tensor to keep the one it was given.
using GradHook = std::function<Tensor(const Tensor&)>;

struct Edge {
  std::shared_ptr<Node> node;  // null: this input needs no gradient
  std::uint32_t input_nr = 0;  // which of node's gradient slots (= forward outputs) to feed
};

// What backward needs to know about each forward output to make a zero gradient for it.
struct OutputInfo {
  Shape sizes;
  DType dtype;
  Device device;
};

struct Node {
  virtual ~Node() = default;
  // Given the gradient of each forward output, returns the gradient of each forward input
  // (an undefined tensor where an input needs none).
  virtual TensorList apply(TensorList&& grad_outputs) = 0;
  virtual std::string name() const = 0;
  // Frees saved tensors after a backward pass that does not retain the graph.
  virtual void release() {}

  std::vector<Edge> next_edges;
  std::vector<OutputInfo> outputs;
  // Creation order; the engine runs ready nodes latest-first, which keeps runs deterministic.
  std::uint64_t sequence_nr = 0;
  // Non-leaf outputs that asked for retain_grad(): (output index, the tensor's view).
  std::vector<std::pair<std::uint32_t, std::weak_ptr<TensorImpl>>> retained;
  // Hooks registered on non-leaf outputs: (output index, hook), run on the gradient of that
  // output before anything else sees it.
  std::vector<std::pair<std::uint32_t, GradHook>> pre_hooks;
};

// The node an op records: a name and the backward closure written next to its forward.
struct FunctionNode final : Node {
  using Backward = std::function<TensorList(const TensorList& grad_outputs)>;
  FunctionNode(const char* op_name, Backward fn) : op_name(op_name), backward(std::move(fn)) {}
  TensorList apply(TensorList&& grad_outputs) override;
  std::string name() const override { return op_name; }
  void release() override { backward = nullptr; }

  std::string op_name;  // a copy: custom functions build their names at run time
  Backward backward;
};

// The sink for a leaf tensor: adds incoming gradients into its .grad().
// See NOTE [ Gradient accumulation ] in engine.cpp.
struct AccumulateGrad final : Node {
  explicit AccumulateGrad(std::weak_ptr<TensorImpl> leaf) : leaf(std::move(leaf)) {}
  TensorList apply(TensorList&& grad_outputs) override;
  std::string name() const override { return "AccumulateGrad"; }
  std::weak_ptr<TensorImpl> leaf;
};

// The autograd state of one tensor view; null in TensorImpl when no gradient is needed.
struct AutogradMeta {
  Tensor grad;                             // accumulated gradient (leaves, retained non-leaves)
  std::shared_ptr<Node> grad_fn;           // the node that produced this tensor; null for leaves
  std::weak_ptr<Node> grad_accumulator;    // leaves: their AccumulateGrad, made on first use
  std::uint32_t output_nr = 0;             // which output of grad_fn this tensor is
  bool requires_grad = false;              // leaves: whether gradients are wanted
  bool retains_grad = false;
  std::vector<GradHook> hooks;             // leaves: run on each incoming gradient, in order
};

std::uint64_t next_sequence_nr();

}  // namespace cake::autograd
