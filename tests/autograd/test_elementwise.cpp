// Differentiable elementwise ops (autograd/ops/elementwise.cpp): what each unary op's graph node
// keeps alive, and silu's values (its gradient is checked in gradcheck_cases_core.cpp).
#include <cmath>

#include "helpers.h"

using namespace cake;
using cake::testing::check_close;

namespace {

// Changes t in place outside the graph, bumping its version (see NOTE [ Version counter ]).
void modify(Tensor& t) {
  NoGradGuard no_grad;
  t.mul_(1.0);
}

}  // namespace

// A node saves only what its backward reads: changing anything else in place before backward
// is harmless, while changing a saved tensor is caught by its version check.
TEST_CASE("unary ops save only what their backward reads") {
  SUBCASE("exp, sqrt, rsqrt, reciprocal, tanh, sigmoid, relu save the output, not the input") {
    for (auto op : {+[](const Tensor& t) { return t.exp(); }, +[](const Tensor& t) { return t.sqrt(); },
                    +[](const Tensor& t) { return t.rsqrt(); }, +[](const Tensor& t) { return t.reciprocal(); },
                    +[](const Tensor& t) { return t.tanh(); }, +[](const Tensor& t) { return t.sigmoid(); },
                    +[](const Tensor& t) { return t.relu(); }}) {
      Tensor x = tensor({0.5, 2.0}, {2}, kFloat64).requires_grad_();
      Tensor y = op(x);
      modify(x);
      CHECK_NOTHROW(y.sum().backward());
      Tensor x2 = tensor({0.5, 2.0}, {2}, kFloat64).requires_grad_();
      Tensor y2 = op(x2);
      Tensor loss = y2.sum();
      modify(y2);
      CHECK_THROWS_WITH_AS(loss.backward(), doctest::Contains("modified by an in-place operation"), Error);
    }
  }
  SUBCASE("abs, log, log1p, square, sin, cos, silu save the input, not the output") {
    for (auto op : {+[](const Tensor& t) { return t.abs(); }, +[](const Tensor& t) { return t.log(); },
                    +[](const Tensor& t) { return t.log1p(); }, +[](const Tensor& t) { return t.square(); },
                    +[](const Tensor& t) { return t.sin(); }, +[](const Tensor& t) { return t.cos(); },
                    +[](const Tensor& t) { return silu(t); }}) {
      Tensor x = tensor({0.5, 2.0}, {2}, kFloat64).requires_grad_();
      Tensor y = op(x);
      Tensor loss = y.sum();
      modify(y);
      CHECK_NOTHROW(loss.backward());
      Tensor x2 = tensor({0.5, 2.0}, {2}, kFloat64).requires_grad_();
      Tensor y2 = op(x2);
      modify(x2);
      CHECK_THROWS_WITH_AS(y2.sum().backward(), doctest::Contains("modified by an in-place operation"), Error);
    }
  }
  SUBCASE("neg saves nothing") {
    Tensor x = tensor({0.5, 2.0}, {2}, kFloat64).requires_grad_();
    Tensor y = -x;
    Tensor loss = y.sum();
    modify(x);
    modify(y);
    loss.backward();
    check_close(x.grad(), tensor({-1.0, -1.0}, {2}, kFloat64));
  }
}

TEST_CASE("silu(x) = x sigmoid(x), finite at both ends") {
  const Tensor x = tensor({-1000.0, -1.0, 0.0, 2.0, 1000.0}, {5}, kFloat64);
  const double s1 = 1.0 / (1.0 + std::exp(1.0)), s2 = 1.0 / (1.0 + std::exp(-2.0));
  check_close(silu(x), tensor({0.0, -s1, 0.0, 2.0 * s2, 1000.0}, {5}, kFloat64), 1e-12, 1e-300);
  CHECK(silu(tensor({1.0}, {1}, kInt64)).dtype() == kFloat32);  // integers promote, as exp does
}
