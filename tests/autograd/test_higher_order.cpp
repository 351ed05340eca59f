// test_higher_order.cpp: create_graph (grad of grad), Hessian-vector products, gradient
// penalties, the public gradcheck / gradgradcheck, and the saved-tensor reference rules.
#include "helpers.h"

using namespace cake;
using cake::testing::check_close;
using cake::testing::error_message;

TEST_CASE("grad with create_graph gives a differentiable gradient") {
  Tensor x = tensor({1.0, -2.0, 0.5}, {3}, kFloat64).requires_grad_();
  Tensor y = (x * x * x).sum();
  tensor_list g = autograd::grad({y}, {x}, {}, /*retain_graph=*/true, /*create_graph=*/true);
  REQUIRE(g[0].requires_grad());
  check_close(g[0], tensor({3.0, 12.0, 0.75}, {3}, kFloat64));
  tensor_list h = autograd::grad({g[0].sum()}, {x});
  check_close(h[0], tensor({6.0, -12.0, 3.0}, {3}, kFloat64));
  // Without create_graph the gradient is a constant.
  CHECK_FALSE(autograd::grad({(x * x).sum()}, {x})[0].requires_grad());
}

TEST_CASE("Hessian-vector product") {
  // f(x) = (x . x)^2: grad = 4 (x . x) x, H = 4 ((x . x) I + 2 x x^T), so
  // H v = 4 ((x . x) v + 2 (x . v) x).
  Tensor x = randn({5}, kFloat64).requires_grad_();
  Tensor v = randn({5}, kFloat64);
  Tensor f = x.pow(2.0).sum().pow(2.0);
  Tensor gx = autograd::grad({f}, {x}, {}, true, true)[0];
  Tensor hv = autograd::grad({(gx * v).sum()}, {x})[0];
  Tensor xd = x.detach();
  Tensor expected = (v * (xd * xd).sum() + xd * (xd * v).sum() * 2.0) * 4.0;
  check_close(hv, expected, 1e-10, 1e-10);
}

TEST_CASE("gradient penalty through matmul, tanh, softmax and a loss") {
  // A WGAN-GP-style penalty: the weights' gradient of |d out / d x|^2.
  auto penalty = [](const tensor_list& v) {
    Tensor x = v[0].detach().requires_grad_();
    Tensor out = (x.matmul(v[1]).tanh().log_softmax(1) * v[2]).sum();
    Tensor gx = autograd::grad({out}, {x}, {}, true, true)[0];
    return gx.pow(2.0).sum();
  };
  manual_seed(3);
  tensor_list in = {randn({4, 3}, kFloat64), randn({3, 5}, kFloat64), randn({4, 5}, kFloat64)};
  Tensor w = in[1].clone().requires_grad_();
  Tensor p = penalty({in[0], w, in[2]});
  p.backward();
  REQUIRE(w.grad().defined());
  // Central differences of the penalty in each weight.
  const double eps = 1e-6;
  for (std::int64_t i = 0; i < w.numel(); ++i) {
    auto at = [&](double delta) {
      Tensor moved = in[1].clone();
      moved.view({-1}).data_ptr<double>()[i] += delta;
      return penalty({in[0], moved, in[2]}).item<double>();
    };
    const double numeric = (at(eps) - at(-eps)) / (2 * eps);
    CHECK(w.grad().view({-1})[i].item<double>() == doctest::Approx(numeric).epsilon(1e-5));
  }
}

TEST_CASE("backward(create_graph=true) leaves a differentiable .grad()") {
  Tensor x = tensor({2.0, 3.0}, {2}, kFloat64).requires_grad_();
  (x.sin() * x).sum().backward({}, std::nullopt, /*create_graph=*/true);
  Tensor g = x.grad();  // sin x + x cos x
  REQUIRE(g.requires_grad());
  Tensor h = autograd::grad({g.sum()}, {x})[0];  // 2 cos x - x sin x
  Tensor xd = x.detach();
  check_close(h, xd.cos() * 2.0 - xd * xd.sin(), 1e-12);
  // .grad() holds a graph that reaches x: drop it, or x would keep itself alive (as in PyTorch).
  x.mutable_grad() = Tensor();
}

TEST_CASE("an output saved by its own node makes no reference cycle") {
  Tensor x = randn({3}, kFloat64).requires_grad_();
  std::weak_ptr<autograd::Node> node;
  {
    Tensor y = x.exp();  // ExpBackward saves y
    node = y.grad_fn();
    REQUIRE_FALSE(node.expired());
  }
  CHECK(node.expired());
}

TEST_CASE("ops whose backward is a fused kernel say double backward is not supported") {
  Tensor x = randn({1, 2, 4, 4}, kFloat64).requires_grad_();
  Tensor w = randn({2, 1, 3, 3}, kFloat64);
  Tensor y = conv2d(x, w, {}, {.groups = 2}).sum();
  const std::string message = error_message([&] { autograd::grad({y}, {x}, {}, true, true); });
  CHECK(message.find("double backward is not supported for conv2d") != std::string::npos);
  Tensor wt = randn({2, 1, 3, 3}, kFloat64);
  Tensor yt = conv_transpose2d(x, wt).sum();
  CHECK(error_message([&] { autograd::grad({yt}, {x}, {}, true, true); }).find("conv_transpose2d") != std::string::npos);
}

TEST_CASE("conv2d is twice differentiable (a gradient penalty through a convolution)") {
  manual_seed(9);
  auto f = [](const tensor_list& v) {
    return conv2d(v[0], v[1], v[2], {.stride = {2, 1}, .padding = {1, 0}, .dilation = {1, 2}}).tanh();
  };
  CHECK(autograd::gradgradcheck(f, {randn({2, 2, 5, 6}, kFloat64), randn({3, 2, 3, 2}, kFloat64), randn({3}, kFloat64)}));
}

TEST_CASE("pooling is twice differentiable through its gradient") {
  // pool(x)^2: the first derivative feeds 2 pool(x) into pooling's backward, so the second
  // derivative differentiates that backward with respect to its incoming gradient.
  manual_seed(5);
  Tensor x = randn({1, 2, 4, 4}, kFloat64);
  CHECK(autograd::gradgradcheck([](const tensor_list& v) { return max_pool2d(v[0], {.kernel = {2, 2}}).pow(2.0); }, {x}));
  CHECK(autograd::gradgradcheck(
      [](const tensor_list& v) { return avg_pool2d(v[0], {.kernel = {3, 3}, .stride = Pair{1, 1}, .padding = {1, 1}}).pow(2.0); },
      {x}));
  CHECK(autograd::gradgradcheck([](const tensor_list& v) { return adaptive_avg_pool2d(v[0], {3, 2}).pow(2.0); }, {x}));
}

TEST_CASE("public gradcheck and gradgradcheck, with options") {
  auto f = [](const tensor_list& v) { return (v[0] * v[1]).tanh() + v[0].exp() * v[1].sin(); };
  tensor_list in = {randn({3}, kFloat64), randn({3}, kFloat64)};
  CHECK(autograd::gradcheck(f, in));
  CHECK(autograd::gradgradcheck(f, in));
  // Integer inputs are held fixed.
  Tensor idx = tensor(std::vector<std::int64_t>{2, 0}, {2});
  CHECK(autograd::gradcheck([](const tensor_list& v) { return v[0].index_select(0, v[1]).pow(3.0); },
                            {randn({3}, kFloat64), idx}));
  // float32 inputs are refused with a reason.
  CHECK(error_message([&] { autograd::gradcheck(f, {randn({3}), randn({3})}); }).find("float64") != std::string::npos);

  // sin with a first derivative that is right but not differentiable (cos x detached): gradcheck
  // passes, gradgradcheck must not.
  auto detached_sin = [](const tensor_list& v) {
    Tensor y = v[0].detach().sin();
    if (autograd::needs_grad({v[0]}))
      autograd::record("DetachedSinBackward", {v[0]}, {y}, [x = v[0].detach()](const autograd::TensorList& g) {
        return autograd::TensorList{g[0] * x.cos()};
      });
    return y;
  };
  Tensor x = randn({4}, kFloat64);
  CHECK(autograd::gradcheck(detached_sin, {x}));
  CHECK_FALSE(autograd::gradgradcheck(detached_sin, {x}, 1e-6, 1e-5, 1e-3, /*raise_exception=*/false));
  CHECK(error_message([&] { autograd::gradgradcheck(detached_sin, {x}); }).find("gradgradcheck") != std::string::npos);
}
