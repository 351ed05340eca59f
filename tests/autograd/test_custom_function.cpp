// test_custom_function.cpp: cake::autograd::Function<T> (custom_function.h), written as in
// libtorch, and the autograd spellings around it: hooks, grad-mode guards, record() under
// NoGradGuard, and the error for a wrong-shape gradient.
#include "helpers.h"

using namespace cake;
using autograd::AutogradContext;
using cake::testing::check_close;
using cake::testing::error_message;

namespace {

// y = x * c (c a double argument): saves a double in saved_data and x for no reason but to test
// get_saved_variables().
struct MulConstant : autograd::Function<MulConstant> {
  static Tensor forward(AutogradContext* ctx, Tensor x, double c) {
    ctx->saved_data["c"] = c;
    ctx->saved_data["name"] = "mul";
    ctx->saved_data["steps"] = 3;
    ctx->saved_data["flag"] = true;
    ctx->save_for_backward({x});
    CHECK_FALSE(GradMode::is_enabled());  // forward computes plain values
    return x * c;
  }
  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    CHECK(ctx->saved_data["name"].toStringRef() == "mul");
    CHECK(ctx->saved_data["steps"].toInt() == 3);
    CHECK(ctx->saved_data["flag"].toBool());
    CHECK(ctx->get_saved_variables().size() == 1);
    CHECK(ctx->needs_input_grad(0));
    CHECK_FALSE(ctx->needs_input_grad(1));
    return {grads[0] * ctx->saved_data["c"].toDouble(), Tensor()};
  }
};

// y = x^3 with the derivative written with differentiable ops from the saved input, so that a
// create_graph backward through it gives the second derivative 6x.
struct Cube : autograd::Function<Cube> {
  static Tensor forward(AutogradContext* ctx, const Tensor& x) {
    ctx->save_for_backward({x});
    return x * x * x;
  }
  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    Tensor x = ctx->get_saved_variables()[0];
    return {grads[0] * 3.0 * x * x};
  }
};

// Two outputs, the second (an index) marked non-differentiable; saves its own output.
struct MaxWithIndex : autograd::Function<MaxWithIndex> {
  static tensor_list forward(AutogradContext* ctx, Tensor x) {
    auto [v, i] = x.max(0);
    ctx->mark_non_differentiable({i});
    ctx->save_for_backward({i});
    ctx->saved_data["n"] = x.size(0);
    return {v, i};
  }
  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    Tensor i = ctx->get_saved_variables()[0];
    Tensor g = zeros({ctx->saved_data["n"].toInt()}, grads[0].dtype());
    return {scatter_add(g, 0, i.reshape({1}), grads[0].reshape({1}))};
  }
};

// Returns a gradient of the wrong shape.
struct BadShape : autograd::Function<BadShape> {
  static Tensor forward(AutogradContext*, Tensor x) { return x * 2.0; }
  static tensor_list backward(AutogradContext*, tensor_list grads) { return {grads[0].sum(0)}; }
};

// Returns its input unchanged (the output must not become the input itself).
struct Identity : autograd::Function<Identity> {
  static Tensor forward(AutogradContext*, Tensor x) { return x; }
  static tensor_list backward(AutogradContext*, tensor_list grads) { return {grads[0]}; }
};

}  // namespace

TEST_CASE("custom Function: forward, backward, saved data, non-tensor arguments") {
  Tensor x = randn({3}, kFloat64).requires_grad_();
  Tensor y = MulConstant::apply(x, 2.5);
  CHECK(y.requires_grad());
  CHECK(y.grad_fn()->name().find("MulConstant") != std::string::npos);
  y.sum().backward();
  check_close(x.grad(), full({3}, 2.5, kFloat64));
  // As a gradcheck row: the public checker sees the custom backward.
  CHECK(autograd::gradcheck([](const tensor_list& v) { return MulConstant::apply(v[0], -1.5); }, {randn({4}, kFloat64)}));
}

TEST_CASE("custom Function: multiple outputs and mark_non_differentiable") {
  Tensor x = tensor({1.0, 4.0, 2.0}, {3}, kFloat64).requires_grad_();
  tensor_list out = MaxWithIndex::apply(x);
  REQUIRE(out.size() == 2);
  CHECK(out[0].requires_grad());
  CHECK_FALSE(out[1].requires_grad());
  CHECK(out[1].item<std::int64_t>() == 1);
  out[0].backward();
  check_close(x.grad(), tensor({0.0, 1.0, 0.0}, {3}, kFloat64));
}

TEST_CASE("custom Function: no node without inputs that need a gradient, or under NoGradGuard") {
  Tensor x = randn({2}, kFloat64);
  CHECK_FALSE(Cube::apply(x).requires_grad());
  Tensor w = randn({2}, kFloat64).requires_grad_();
  {
    NoGradGuard no_grad;
    CHECK_FALSE(Cube::apply(w).requires_grad());
  }
  Tensor same = Identity::apply(w);
  CHECK(w.is_leaf());  // the caller's leaf did not become the node's output
  CHECK_FALSE(same.is_leaf());
}

TEST_CASE("custom Function: twice differentiable when its backward uses cake ops") {
  Tensor x = tensor({1.0, -2.0}, {2}, kFloat64).requires_grad_();
  Tensor y = Cube::apply(x).sum();
  tensor_list g = autograd::grad({y}, {x}, {}, true, /*create_graph=*/true);
  check_close(g[0], tensor({3.0, 12.0}, {2}, kFloat64));
  tensor_list h = autograd::grad({g[0].sum()}, {x});
  check_close(h[0], tensor({6.0, -12.0}, {2}, kFloat64));
  CHECK(autograd::gradgradcheck([](const tensor_list& v) { return Cube::apply(v[0]); }, {randn({3}, kFloat64)}));
}

TEST_CASE("a wrong-shape gradient names the function and both shapes") {
  Tensor x = randn({2, 3}, kFloat64).requires_grad_();
  const std::string message = error_message([&] { BadShape::apply(x).sum().backward(); });
  CHECK(message.find("BadShape") != std::string::npos);
  CHECK(message.find("[3]") != std::string::npos);
  CHECK(message.find("[2, 3]") != std::string::npos);
}

TEST_CASE("record() respects NoGradGuard") {
  Tensor x = randn({2}, kFloat64).requires_grad_();
  NoGradGuard no_grad;
  Tensor y = x.detach() * 2.0;
  autograd::record("TestBackward", {x}, {y}, [](const autograd::TensorList& g) { return autograd::TensorList{g[0]}; });
  CHECK_FALSE(y.requires_grad());
  CHECK(y.grad_fn() == nullptr);
}

TEST_CASE("register_hook on leaves and non-leaves") {
  Tensor x = tensor({1.0, 2.0}, {2}, kFloat64).requires_grad_();
  Tensor seen;
  x.register_hook([&seen](const Tensor& g) { seen = g.clone(); });        // void(Tensor): observes
  Tensor h = x * 3.0;
  h.register_hook([](const Tensor& g) { return g * 10.0; });              // Tensor(Tensor): replaces
  h.sum().backward();
  check_close(seen, full({2}, 30.0, kFloat64));
  check_close(x.grad(), full({2}, 30.0, kFloat64));
  // Hooks also see the gradients autograd::grad returns.
  Tensor z = randn({2}, kFloat64).requires_grad_();
  z.register_hook([](const Tensor& g) { return g * 0.0; });
  CHECK(autograd::grad({(z * z).sum()}, {z})[0].abs().sum().item<double>() == 0.0);
  CHECK(error_message([] { randn({2}).register_hook([](const Tensor& g) { return g; }); }).find("register_hook") !=
        std::string::npos);
}

TEST_CASE("grad-mode guards: AutoGradMode, InferenceMode, GradMode::is_enabled") {
  Tensor x = randn({2}, kFloat64).requires_grad_();
  CHECK(GradMode::is_enabled());
  {
    AutoGradMode off(false);
    CHECK_FALSE(GradMode::is_enabled());
    CHECK_FALSE((x * 2.0).requires_grad());
    {
      AutoGradMode on(true);
      CHECK((x * 2.0).requires_grad());
    }
  }
  {
    InferenceMode guard;
    CHECK(InferenceMode::is_enabled());
    CHECK_FALSE((x * 2.0).requires_grad());
  }
  CHECK(GradMode::is_enabled());
  CHECK((x * 2.0).requires_grad());
}
