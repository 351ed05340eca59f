// gradcheck.h: checking derivatives against finite differences, as torch.autograd.gradcheck.
//
//   using cake::tensor_list;
//   auto f = [](const tensor_list& x) { return (x[0] * x[1]).tanh(); };
//   tensor_list xs = {cake::randn({3}, cake::kFloat64), cake::randn({3}, cake::kFloat64)};
//   bool ok = cake::autograd::gradcheck(f, xs);        // first derivatives
//   bool ok2 = cake::autograd::gradgradcheck(f, xs);   // second derivatives (create_graph)
//
// gradcheck compares, for every element of every floating-point input, the autograd gradient
// of L = sum(f(x) * w) (w a fixed random weight in [0.5, 1.5), so every output element counts)
// with the central difference (L(x + eps e_i) - L(x - eps e_i)) / (2 eps), whose error is
// O(eps^2) (Griewank & Walther 2008, "Evaluating Derivatives", 2nd ed., section 1.2, on why
// differences are only a check and AD the method). Inputs must be float64: in float32 the
// rounding error of the difference, ~1e-7 / eps, would swamp the comparison.
//
// gradgradcheck runs gradcheck on x -> dL/dx computed with create_graph, so it checks that the
// backward pass is itself correctly differentiated (Hessian-vector products are then right).
//
// Every floating-point input is differentiated (integer inputs, such as indices, are held
// fixed). A pass returns true. A failure throws cake::Error naming the input, the element and
// both values when raise_exception, else returns false.
#pragma once

#include <functional>

#include "cake/autograd/node.h"

namespace cake::autograd {

using GradcheckFunction = std::function<Tensor(const tensor_list&)>;

bool gradcheck(const GradcheckFunction& fn, const tensor_list& inputs, double eps = 1e-6, double atol = 1e-5,
               double rtol = 1e-3, bool raise_exception = true);

bool gradgradcheck(const GradcheckFunction& fn, const tensor_list& inputs, double eps = 1e-6, double atol = 1e-5,
                   double rtol = 1e-3, bool raise_exception = true);

}  // namespace cake::autograd
