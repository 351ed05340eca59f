// engine.h: running backward.
//
//   loss.backward();                                   // fills .grad() of the leaves
//   auto g = cake::autograd::grad({loss}, {w, b});     // returns dloss/dw, dloss/db instead
//
//   // Higher order: with create_graph the backward pass is itself recorded, so its results
//   // can be differentiated again (a gradient penalty, a Hessian-vector product).
//   auto [gx] = cake::autograd::grad({y}, {x}, {}, /*retain_graph=*/true, /*create_graph=*/true);
//   auto hv = cake::autograd::grad({(gx * v).sum()}, {x});
//
// See docs/autograd.md for how the engine works.
#pragma once

#include <optional>

#include "cake/autograd/node.h"

namespace cake::autograd {

// Backpropagates from `roots` (each with its gradient; an undefined gradient means ones, which
// is only allowed for one-element roots) into the .grad() of the leaves.
// retain_graph (default: create_graph) keeps the saved tensors for another backward;
// create_graph records the backward pass so the gradients are differentiable themselves.
void backward(const TensorList& roots, const TensorList& root_grads = {},
              std::optional<bool> retain_graph = std::nullopt, bool create_graph = false);

// Returns d(sum of roots * root_grads)/d(input) for each input without touching any .grad().
// Inputs the roots do not depend on get an undefined tensor when allow_unused, else an error.
// The arguments are libtorch's, in its order: (outputs, inputs, grad_outputs, retain_graph,
// create_graph, allow_unused).
TensorList grad(const TensorList& roots, const TensorList& inputs, const TensorList& root_grads = {},
                std::optional<bool> retain_graph = std::nullopt, bool create_graph = false,
                bool allow_unused = false);

}  // namespace cake::autograd

namespace cake {
using autograd::grad;  // cake::autograd::grad is the spelling; cake::grad is an alias
}
