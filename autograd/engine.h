// engine.h: running backward.
//
//   loss.backward();                                   // fills .grad() of the leaves
//   auto g = cake::autograd::grad({loss}, {w, b});     // returns dloss/dw, dloss/db instead
#pragma once

#include "autograd/node.h"

namespace cake::autograd {

// Backpropagates from `roots` (each with its gradient; an undefined gradient means ones, which
// is only allowed for one-element roots) into the .grad() of the leaves.
void backward(const TensorList& roots, const TensorList& root_grads = {}, bool retain_graph = false);

// Returns d(sum of roots * root_grads)/d(input) for each input without touching any .grad().
// Inputs the roots do not depend on get an undefined tensor when allow_unused, else an error.
TensorList grad(const TensorList& roots, const TensorList& inputs, const TensorList& root_grads = {},
                bool retain_graph = false, bool allow_unused = false);

}  // namespace cake::autograd

namespace cake {
using autograd::grad;  // cake::autograd::grad is the spelling; cake::grad is an alias
}
