// engine.cpp: the backward pass, iterative and deterministic.
//
// 1. Discover the graph reachable from the roots with an explicit stack (no recursion, so a
//    chain of 10,000 ops cannot overflow the call stack), counting for each node how many
//    edges point into it.
// 2. Seed the roots' gradients. A node is *ready* when every edge into it has delivered its
//    gradient; ready nodes run latest-created first (by sequence number), so the same graph
//    always runs in the same order.
// 3. Running a node: its gradient slots (summed over all incoming edges) go into apply(), and
//    each returned input gradient is added into the slot its edge names.
// With create_graph, step 3 runs with gradient recording on, so every addition and every
// backward closure records nodes of its own: the gradients come out as ordinary differentiable
// tensors (see docs/autograd.md, "Higher-order gradients").
#include "cake/autograd/engine.h"

#include <queue>
#include <unordered_map>

#include "cake/autograd/function.h"
#include "cake/autograd/grad_mode.h"
#include "cake/autograd/ops.h"
#include "cake/tensor/creation.h"
#include "cake/tensor/native/elementwise.h"

namespace cake::autograd {

// NOTE [ Gradient accumulation ]
// Gradients *accumulate*: every backward adds (+=) into a leaf's .grad(), and a tensor used
// twice in a graph receives the sum of both paths' gradients. This is what makes gradient
// accumulation over micro-batches work, and why optimisers call zero_grad() before each
// backward. A leaf's first gradient is stored as is (its own contiguous buffer); later ones are
// added in place.
TensorList AccumulateGrad::apply(TensorList&& grad_outputs) {
  std::shared_ptr<TensorImpl> impl = leaf.lock();
  if (!impl || !grad_outputs[0].defined()) return {};
  Tensor variable(impl);
  Tensor& g = variable.mutable_grad();
  if (GradMode::is_enabled()) {
    // create_graph: .grad() keeps the graph of the gradient, so it is never updated in place.
    g = g.defined() ? cake::add(g, grad_outputs[0]) : cake::clone(grad_outputs[0]);
  } else if (!g.defined()) {
    const Tensor& incoming = grad_outputs[0];
    // Take ownership when nothing else can see the buffer; otherwise copy, so that an
    // in-place update of .grad() never writes into another tensor.
    const bool exclusive = incoming.is_contiguous() && incoming.impl_ptr().use_count() == 1 &&
                           incoming.storage().use_count() == 1;
    g = exclusive ? incoming : native::clone(incoming);
  } else {
    native::binary_(native::BinaryOp::Add, g, grad_outputs[0]);
  }
  return {};
}

TensorList FunctionNode::apply(TensorList&& grad_outputs) {
  CAKE_CHECK(backward != nullptr, "backward through ", op_name,
             " a second time: its saved tensors were freed after the first backward. "
             "Pass retain_graph=true to the first backward to keep them.");
  return backward(grad_outputs);
}

namespace {

struct ByLatest {
  bool operator()(const Node* a, const Node* b) const { return a->sequence_nr < b->sequence_nr; }
};

struct GraphTask {
  std::unordered_map<Node*, int> dependencies;
  std::unordered_map<Node*, TensorList> buffers;
  std::priority_queue<Node*, std::vector<Node*>, ByLatest> ready;
  // For autograd::grad: capture the gradient arriving at (node, slot) instead of running it.
  std::unordered_map<Node*, std::vector<std::pair<std::uint32_t, std::size_t>>> captures;
  TensorList captured;
  bool accumulate_into_leaves = true;
};

void count_dependencies(GraphTask& task, const std::vector<Node*>& roots) {
  std::vector<Node*> stack(roots.begin(), roots.end());
  std::unordered_map<Node*, bool> seen;
  for (Node* r : roots) seen[r] = true;
  while (!stack.empty()) {
    Node* node = stack.back();
    stack.pop_back();
    for (const Edge& e : node->next_edges) {
      if (!e.node) continue;
      Node* next = e.node.get();
      ++task.dependencies[next];
      if (!seen[next]) {
        seen[next] = true;
        stack.push_back(next);
      }
    }
  }
}

void add_into(TensorList& buffer, std::uint32_t slot, const Tensor& grad) {
  if (!grad.defined()) return;
  if (!buffer[slot].defined()) buffer[slot] = grad;
  else if (GradMode::is_enabled()) buffer[slot] = cake::add(buffer[slot], grad);  // create_graph
  else buffer[slot] = native::binary(native::BinaryOp::Add, buffer[slot], grad);
}

// Runs the hooks registered on the tensors whose gradients `node` is about to receive.
void run_hooks(Node& node, TensorList& grads) {
  auto apply = [](const GradHook& hook, Tensor& g) {
    if (!g.defined()) return;
    Tensor replaced = hook(g);
    if (!replaced.defined()) return;
    CAKE_CHECK(replaced.sizes() == g.sizes(), "hook: returned a gradient of shape ", replaced.sizes(),
               " for a gradient of shape ", g.sizes());
    g = replaced;
  };
  for (auto& [slot, hook] : node.pre_hooks)
    if (slot < grads.size()) apply(hook, grads[slot]);
  if (auto* sink = dynamic_cast<AccumulateGrad*>(&node)) {
    if (auto impl = sink->leaf.lock(); impl && impl->autograd)
      for (const GradHook& hook : impl->autograd->hooks) apply(hook, grads[0]);
  }
}

TensorList& buffer_of(GraphTask& task, Node* node) {
  TensorList& b = task.buffers[node];
  if (b.size() < std::max<std::size_t>(node->outputs.size(), 1)) b.resize(std::max<std::size_t>(node->outputs.size(), 1));
  return b;
}

void check_grad_shape(const Node& node, std::size_t i, const Tensor& grad) {
  if (!grad.defined() || i >= node.outputs.size()) return;
  const OutputInfo& info = node.outputs[i];
  CAKE_CHECK(grad.sizes() == info.sizes, "backward: ", node.name(), " received a gradient of shape ", grad.sizes(),
             " for its output ", i, " of shape ", info.sizes);
}

// A backward that returns a gradient of the wrong shape for one of its inputs (most likely a
// custom Function's) is named here, where the mistake is made, rather than downstream.
void check_input_grad_shape(const Node& node, std::size_t i, const Tensor& grad) {
  const Edge& e = node.next_edges[i];
  if (!grad.defined() || !e.node || e.input_nr >= e.node->outputs.size()) return;
  const Shape& expected = e.node->outputs[e.input_nr].sizes;
  CAKE_CHECK(grad.sizes() == expected, "backward: ", node.name(), " returned a gradient of shape ", grad.sizes(),
             " for its input ", i, ", which has shape ", expected);
}

void run(GraphTask& task, bool retain_graph, bool create_graph) {
  // Backward closures compute plain tensors, unless the backward itself is to be recorded.
  AutoGradMode mode(create_graph);
  while (!task.ready.empty()) {
    Node* node = task.ready.top();
    task.ready.pop();
    TensorList grads = std::move(buffer_of(task, node));
    task.buffers.erase(node);
    run_hooks(*node, grads);
    if (auto it = task.captures.find(node); it != task.captures.end())
      for (auto [slot, index] : it->second)
        if (slot < grads.size() && grads[slot].defined()) task.captured[index] = grads[slot];
    for (auto& [slot, weak] : node->retained) {
      if (auto impl = weak.lock(); impl && slot < grads.size() && grads[slot].defined()) {
        Tensor t(impl);
        Tensor& g = t.mutable_grad();
        if (create_graph) g = g.defined() ? cake::add(g, grads[slot]) : cake::clone(grads[slot]);
        else g = g.defined() ? native::binary(native::BinaryOp::Add, g, grads[slot]) : native::clone(grads[slot]);
      }
    }
    const bool is_leaf_sink = dynamic_cast<AccumulateGrad*>(node) != nullptr;
    if (is_leaf_sink && !task.accumulate_into_leaves) continue;
    // Missing gradients of multi-output nodes become zeros of the output's shape.
    for (std::size_t i = 0; i < node->outputs.size(); ++i) {
      if (!grads[i].defined()) {
        const OutputInfo& info = node->outputs[i];
        grads[i] = zeros(info.sizes, {info.dtype, info.device});
      }
      check_grad_shape(*node, i, grads[i]);
    }
    TensorList input_grads = node->apply(std::move(grads));
    if (!retain_graph) node->release();
    CAKE_CHECK(input_grads.size() == node->next_edges.size() || is_leaf_sink, "backward: ", node->name(), " returned ",
               input_grads.size(), " gradients for ", node->next_edges.size(), " inputs");
    for (std::size_t i = 0; i < node->next_edges.size(); ++i) {
      const Edge& e = node->next_edges[i];
      if (!e.node) continue;
      if (i < input_grads.size()) check_input_grad_shape(*node, i, input_grads[i]);
      if (i < input_grads.size()) add_into(buffer_of(task, e.node.get()), e.input_nr, input_grads[i]);
      if (--task.dependencies[e.node.get()] == 0) task.ready.push(e.node.get());
    }
  }
}

// Sets up the task for `roots` and seeds their gradients.
std::vector<std::shared_ptr<Node>> seed(GraphTask& task, const TensorList& roots, const TensorList& root_grads) {
  CAKE_CHECK(root_grads.empty() || root_grads.size() == roots.size(), "backward: ", roots.size(), " outputs but ",
             root_grads.size(), " gradients");
  std::vector<std::shared_ptr<Node>> keep;  // keeps root nodes alive during the pass
  std::vector<std::pair<Edge, Tensor>> seeds;
  for (std::size_t i = 0; i < roots.size(); ++i) {
    const Tensor& root = roots[i];
    CAKE_CHECK(root.requires_grad(), "backward: output ", i,
               " does not require a gradient (no input of the computation requires one)");
    Tensor g = root_grads.empty() ? Tensor() : root_grads[i];
    if (!g.defined()) {
      CAKE_CHECK(root.numel() == 1, "backward: gradient can be implied only for one-element outputs; output ", i,
                 " has shape ", root.sizes(), ", pass a gradient of that shape");
      g = ones(root.sizes(), {root.dtype(), root.device()});
    }
    CAKE_CHECK(g.sizes() == root.sizes(), "backward: gradient of shape ", g.sizes(), " for an output of shape ",
               root.sizes());
    Edge e = gradient_edge(root);
    keep.push_back(e.node);
    seeds.emplace_back(e, g);
  }
  std::vector<Node*> nodes;
  for (auto& [e, g] : seeds) nodes.push_back(e.node.get());
  count_dependencies(task, nodes);
  for (auto& [e, g] : seeds) add_into(buffer_of(task, e.node.get()), e.input_nr, g);
  for (auto& [e, g] : seeds) {
    Node* n = e.node.get();
    if (task.dependencies[n] == 0) {
      task.dependencies[n] = -1;  // queued once even if it is the root twice
      task.ready.push(n);
    }
  }
  return keep;
}

}  // namespace

void backward(const TensorList& roots, const TensorList& root_grads, std::optional<bool> retain_graph,
              bool create_graph) {
  GraphTask task;
  auto keep = seed(task, roots, root_grads);
  run(task, retain_graph.value_or(create_graph), create_graph);
}

TensorList grad(const TensorList& roots, const TensorList& inputs, const TensorList& root_grads,
                std::optional<bool> retain_graph, bool create_graph, bool allow_unused) {
  GraphTask task;
  task.accumulate_into_leaves = false;
  task.captured.resize(inputs.size());
  std::vector<std::shared_ptr<Node>> keep;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    CAKE_CHECK(inputs[i].requires_grad(), "grad: input ", i, " does not require a gradient");
    Edge e = gradient_edge(inputs[i]);
    keep.push_back(e.node);
    task.captures[e.node.get()].emplace_back(e.input_nr, i);
  }
  auto roots_keep = seed(task, roots, root_grads);
  run(task, retain_graph.value_or(create_graph), create_graph);
  for (std::size_t i = 0; i < inputs.size(); ++i)
    CAKE_CHECK(allow_unused || task.captured[i].defined(), "grad: input ", i,
               " was not used to compute the outputs (pass allow_unused=true to get an undefined tensor)");
  return task.captured;
}

}  // namespace cake::autograd
