// The backward engine's rules: accumulation, deep graphs, retain_graph, retain_grad, version
// counters, grad mode, and autograd::grad.
#include "helpers.h"

using namespace cake;
using cake::testing::check_close;
using cake::testing::values;

TEST_CASE("gradients accumulate into leaves across backward calls and across paths") {
  Tensor x = tensor({1.0, 2.0}, {2}, kFloat64).requires_grad_();
  Tensor y = (x * x).sum();  // dy/dx = 2x
  y.backward();
  check_close(x.grad(), tensor({2.0, 4.0}, {2}, kFloat64));
  (x * 3.0).sum().backward();  // += 3
  check_close(x.grad(), tensor({5.0, 7.0}, {2}, kFloat64));
  // A tensor used twice gets the sum of both paths.
  Tensor z = tensor({1.5}, {1}, kFloat64).requires_grad_();
  (z * z + z).sum().backward();  // 2z + 1
  check_close(z.grad(), tensor({4.0}, {1}, kFloat64));
}

TEST_CASE("a 10,000-op chain backpropagates without recursion") {
  Tensor x = tensor({0.5}, {1}, kFloat64).requires_grad_();
  Tensor h = x;
  for (int i = 0; i < 10000; ++i) h = h * 1.0001;
  h.sum().backward();
  CHECK(x.grad().item<double>() == doctest::Approx(std::pow(1.0001, 10000)));
}

TEST_CASE("backward twice needs retain_graph") {
  Tensor x = tensor({1.0, 2.0}, {2}, kFloat64).requires_grad_();
  Tensor y = x.exp().sum();
  y.backward({}, /*retain_graph=*/true);
  y.backward();
  check_close(x.grad(), x.detach().exp() * 2.0);
  CHECK_THROWS_WITH_AS(y.backward(), doctest::Contains("second time"), Error);
}

TEST_CASE("non-leaf gradients only with retain_grad") {
  Tensor x = tensor({1.0, 2.0}, {2}, kFloat64).requires_grad_();
  Tensor h = x * 2.0;
  Tensor k = x * 3.0;
  h.retain_grad();
  (h * h + k).sum().backward();
  check_close(h.grad(), tensor({4.0, 8.0}, {2}, kFloat64));  // 2h
  CHECK_FALSE(k.grad().defined());
  CHECK(x.is_leaf());
  CHECK_FALSE(h.is_leaf());
  CHECK(h.grad_fn()->name() == "MulBackward");
}

TEST_CASE("an in-place change to a saved tensor is an error at backward time") {
  Tensor x = tensor({1.0, 2.0}, {2}, kFloat64).requires_grad_();
  Tensor y = x.exp();  // saves its output
  Tensor z = y.sum();
  {
    NoGradGuard no_grad;
    y.mul_(2.0);  // silently wrong gradient without the version check
  }
  CHECK_THROWS_WITH_AS(z.backward(), doctest::Contains("modified by an in-place operation"), Error);
  // In-place on a tensor in the graph is refused outright while recording.
  Tensor w = tensor({1.0}, {1}, kFloat64).requires_grad_();
  CHECK_THROWS_AS(w.add_(1.0), Error);
}

TEST_CASE("no graph without grad-requiring inputs, nor under NoGradGuard") {
  Tensor a = randn({3});
  CHECK_FALSE((a * 2.0).requires_grad());
  CHECK((a * 2.0).grad_fn() == nullptr);
  Tensor w = randn({3}).requires_grad_();
  {
    NoGradGuard no_grad;
    CHECK_FALSE((w * 2.0).requires_grad());
    {
      EnableGradGuard enable;
      CHECK((w * 2.0).requires_grad());
    }
  }
  CHECK((w * 2.0).requires_grad());
  Tensor d = (w * 2.0).detach();
  CHECK_FALSE(d.requires_grad());
  CHECK(d.is_leaf());
  CHECK_THROWS_AS(arange(3).requires_grad_(), Error);  // integers cannot require grad
}

TEST_CASE("autograd::grad returns gradients without touching .grad()") {
  Tensor w = tensor({1.0, -2.0}, {2}, kFloat64).requires_grad_();
  Tensor b = tensor({0.5}, {1}, kFloat64).requires_grad_();
  Tensor h = w * 3.0;
  Tensor loss = (h * h).sum() + b.sum();
  auto g = autograd::grad({loss}, {w, b, h});
  check_close(g[0], tensor({18.0, -36.0}, {2}, kFloat64));  // 18 w
  check_close(g[1], tensor({1.0}, {1}, kFloat64));
  check_close(g[2], tensor({6.0, -12.0}, {2}, kFloat64));  // 2h
  CHECK_FALSE(w.grad().defined());
  Tensor unused = tensor({1.0}, {1}, kFloat64).requires_grad_();
  Tensor l2 = (w * 2.0).sum();
  CHECK_THROWS_AS(autograd::grad({l2}, {unused}, {}, true), Error);
  CHECK_FALSE(autograd::grad({l2}, {unused}, {}, false, false, /*allow_unused=*/true)[0].defined());
}

TEST_CASE("a non-scalar output needs an explicit gradient; shapes are checked") {
  Tensor x = randn({3}, kFloat64).requires_grad_();
  Tensor y = x * 2.0;
  CHECK_THROWS_WITH_AS(y.backward(), doctest::Contains("one-element"), Error);
  CHECK_THROWS_WITH_AS(y.backward(ones({4}, kFloat64)), doctest::Contains("[4]"), Error);
  y.backward(ones({3}, kFloat64));
  check_close(x.grad(), full({3}, 2.0, kFloat64));
}
