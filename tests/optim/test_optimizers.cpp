// Tests for the optimisers: each update rule against values worked out from PyTorch's
// documented algorithm, in-place updates, skipped parameters, options checks, clip_grad_*.
//
// Every case starts from p = [1, -2] (float64) and feeds the gradients g1 = [0.5, -1],
// g2 = [0.1, 0.3], g3 = [-0.2, 0.4] by hand (set_grad), so the expected numbers depend on the
// update rule alone. They were computed in double precision from the documented formulas of
// torch.optim (the form written in each optimiser's header), e.g. for Adam step 1 with lr 0.1:
//   m = 0.1 g1 = [0.05, -0.1], v = 0.001 g1^2 = [2.5e-4, 1e-3],
//   m_hat = m / 0.1 = g1, v_hat = v / 0.001 = g1^2,
//   p = p - 0.1 m_hat / (|g1| + 1e-8) = [0.900000002, -1.900000001].
#include <cmath>

#include "helpers.h"

using namespace cake;
using cake::testing::values;

namespace {

const std::vector<std::vector<double>> kGradients{{0.5, -1.0}, {0.1, 0.3}, {-0.2, 0.4}};

Tensor start_param() { return tensor({1.0, -2.0}, {2}, kFloat64).requires_grad_(); }

// SGD, Adam and AdamW have two paths (optim/fused.h): their hand-worked cases run on both.
constexpr bool kBothPaths[] = {false, true};

// Runs the optimiser for as many steps as `expected` has rows and checks p after each.
void check_steps(optim::Optimizer& opt, Tensor& p, const std::vector<std::vector<double>>& expected) {
  for (std::size_t t = 0; t < expected.size(); ++t) {
    p.set_grad(tensor(kGradients[t], {2}, kFloat64));
    opt.step();
    const auto got = values(p);
    for (std::size_t i = 0; i < 2; ++i)
      CHECK_MESSAGE(std::abs(got[i] - expected[t][i]) <= 1e-13 * (1.0 + std::abs(expected[t][i])),
                    "step ", t + 1, " element ", i, ": got ", got[i], ", expected ", expected[t][i]);
  }
}

}  // namespace

TEST_CASE("SGD without momentum: p <- p - lr g") {
  for (const bool fused : kBothPaths) {
    INFO("fused kernel: ", fused);
    Tensor p = start_param();
    optim::SGD opt({p}, {.lr = 0.1, .fused = fused});
    check_steps(opt, p, {{0.95, -1.9}, {0.94, -1.93}, {0.96, -1.97}});
  }
}

TEST_CASE("SGD with momentum, dampening and weight decay") {
  for (const bool fused : kBothPaths) {
    INFO("fused kernel: ", fused);
    Tensor p = start_param();
    optim::SGD opt({p}, {.lr = 0.1, .momentum = 0.9, .dampening = 0.1, .weight_decay = 0.01, .fused = fused});
    // Step 1: g = g1 + 0.01 p = [0.51, -1.02]; b = g (no dampening at first); p = p - 0.1 b.
    check_steps(opt, p, {{0.94899999999999995, -1.8979999999999999},
                         {0.89324589999999993, -1.8314918},
                         {0.86026328868999991, -1.8059860773800001}});
    CHECK(opt.state(0).tensors.count("momentum_buffer") == 1);
  }
}

TEST_CASE("SGD with Nesterov momentum") {
  for (const bool fused : kBothPaths) {
    INFO("fused kernel: ", fused);
    Tensor p = start_param();
    optim::SGD opt({p}, {.lr = 0.1, .momentum = 0.9, .nesterov = true, .fused = fused});
    // Step 1: b = g1, update g1 + 0.9 b = 1.9 g1: p = [1 - 0.095, -2 + 0.19].
    check_steps(opt, p, {{0.905, -1.81}, {0.8455, -1.786}, {0.83894999999999997, -1.8134000000000001}});
    CHECK_THROWS_AS(optim::SGD({start_param()}, {.lr = 0.1, .nesterov = true}), Error);
  }
}

TEST_CASE("Adam: two steps and a third, as in Kingma & Ba with PyTorch's bias corrections") {
  for (const bool fused : kBothPaths) {
    INFO("fused kernel: ", fused);
    Tensor p = start_param();
    optim::Adam opt({p}, {.lr = 0.1, .fused = fused});
    check_steps(opt, p, {{0.90000000199999997, -1.900000001},
                         {0.81969590638465184, -1.8572151424292265},
                         {0.78526053183548905, -1.8492092384765841}});
    CHECK(opt.state(0).step == 3);
  }
}

TEST_CASE("Adam with L2 weight decay and AMSGrad") {
  for (const bool fused : kBothPaths) {
    INFO("fused kernel: ", fused);
    Tensor p = start_param();
    optim::Adam opt({p}, {.lr = 0.1, .weight_decay = 0.1, .amsgrad = true, .fused = fused});
    check_steps(opt, p, {{0.9000000016666666, -1.9000000008333333},
                         {0.8136483454297575, -1.8400703555381717},
                         {0.75989975722219016, -1.8057542212511155}});
    CHECK(opt.state(0).tensors.count("max_exp_avg_sq") == 1);
  }
}

TEST_CASE("AdamW: decoupled weight decay") {
  for (const bool fused : kBothPaths) {
    INFO("fused kernel: ", fused);
    Tensor p = start_param();
    optim::AdamW opt({p}, {.lr = 0.1, .weight_decay = 0.1, .fused = fused});
    // Step 1: p = p (1 - 0.01) first, then the plain Adam step: [0.99 - 0.1, -1.98 + 0.1].
    check_steps(opt, p, {{0.89000000199999996, -1.880000001},
                         {0.8007959063646517, -1.8184151424192265},
                         {0.75835257275184231, -1.7922250870423919}});
  }
}

TEST_CASE("RMSprop, plain") {
  Tensor p = start_param();
  optim::RMSprop opt({p}, {.lr = 0.01});
  // Step 1: v = 0.01 g1^2, so g / sqrt(v) = 10 sign(g1): p = p - 0.1 sign(g1).
  check_steps(opt, p, {{0.90000001999999601, -1.900000009999999},
                       {0.88029343832020457, -1.9288675206817028},
                       {0.91712109803537256, -1.9649460375747332}});
}

TEST_CASE("RMSprop, centred, with momentum and weight decay") {
  Tensor p = start_param();
  optim::RMSprop opt({p}, {.lr = 0.01, .weight_decay = 0.1, .momentum = 0.9, .centered = true});
  check_steps(opt, p, {{0.89949623530909284, -1.8994962268915865},
                       {0.77848264022604907, -1.8182583083047712},
                       {0.68890361812288337, -1.763177406563363}});
  CHECK(opt.state(0).tensors.count("grad_avg") == 1);
  CHECK(opt.state(0).tensors.count("momentum_buffer") == 1);
}

TEST_CASE("Adagrad with lr decay, weight decay and an initial accumulator") {
  Tensor p = start_param();
  optim::Adagrad opt({p}, {.lr = 0.1, .lr_decay = 0.01, .weight_decay = 0.05, .initial_accumulator_value = 0.1});
  check_steps(opt, p, {{0.91330785532736347, -1.9038925537756828},
                       {0.89115160082592537, -1.9213323104070561},
                       {0.91392291930450875, -1.9461262997505679}});
}

// Runs two copies of the same parameters, one per path, for a few steps on random gradients
// and requires bit-identical parameters and state.
template <class Optimizer, class Options>
void check_fused_matches_reference(Options options, DType dtype, const std::string& label) {
  INFO(label, " in ", std::string(dtype_name(dtype)));
  manual_seed(11);
  std::vector<Tensor> fast, slow;
  for (const Shape& shape : {Shape{37, 5}, Shape{40000}}) {  // the second big enough for two threads
    Tensor p = randn(shape, dtype);
    fast.push_back(p.clone().requires_grad_());
    slow.push_back(p.clone().requires_grad_());
  }
  options.fused = true;
  Optimizer fused(fast, options);
  options.fused = false;
  Optimizer reference(slow, options);
  for (int step = 0; step < 3; ++step) {
    for (std::size_t i = 0; i < fast.size(); ++i) {
      const Tensor g = randn(fast[i].sizes(), dtype);
      fast[i].set_grad(g.clone());
      slow[i].set_grad(g.clone());
    }
    fused.step();
    reference.step();
  }
  for (std::size_t i = 0; i < fast.size(); ++i) {
    CHECK_MESSAGE(equal(fast[i].detach(), slow[i].detach()), "parameter ", i);
    for (const auto& [name, t] : reference.state(i).tensors) CHECK_MESSAGE(equal(fused.state(i).tensors.at(name), t), name);
  }
}

TEST_CASE("the fused kernels and the tensor-op reference agree bit for bit") {
  for (DType dtype : {kFloat32, kFloat64}) {
    check_fused_matches_reference<optim::Adam>(optim::AdamOptions{.lr = 1e-2}, dtype, "Adam");
    check_fused_matches_reference<optim::Adam>(optim::AdamOptions{.lr = 1e-2, .weight_decay = 0.1, .amsgrad = true}, dtype,
                                               "Adam L2 AMSGrad");
    check_fused_matches_reference<optim::Adam>(optim::AdamOptions{.lr = 1e-2, .weight_decay = 0.1}, dtype, "Adam L2");
    check_fused_matches_reference<optim::Adam>(optim::AdamOptions{.lr = 1e-2, .amsgrad = true}, dtype, "Adam AMSGrad");
    check_fused_matches_reference<optim::AdamW>(optim::AdamWOptions{.lr = 1e-2, .weight_decay = 0.1}, dtype, "AdamW");
    check_fused_matches_reference<optim::AdamW>(optim::AdamWOptions{.lr = 1e-2, .weight_decay = 0.1, .amsgrad = true},
                                                dtype, "AdamW AMSGrad");
    check_fused_matches_reference<optim::AdamW>(optim::AdamWOptions{.lr = 1e-2, .weight_decay = 0.0}, dtype,
                                                "AdamW without decay");
    check_fused_matches_reference<optim::SGD>(optim::SGDOptions{.lr = 0.1}, dtype, "SGD");
    check_fused_matches_reference<optim::SGD>(
        optim::SGDOptions{.lr = 0.1, .momentum = 0.9, .dampening = 0.2, .weight_decay = 1e-3}, dtype, "SGD momentum");
    check_fused_matches_reference<optim::SGD>(optim::SGDOptions{.lr = 0.1, .momentum = 0.9, .nesterov = true}, dtype,
                                              "SGD Nesterov");
  }
}

TEST_CASE("a non-contiguous parameter takes the reference path") {
  Tensor base = tensor({1.0, 3.0, -2.0, 4.0}, {2, 2}, kFloat64);
  Tensor p = base.t().contiguous().t().detach().requires_grad_();  // a leaf with transposed strides
  REQUIRE_FALSE(p.is_contiguous());
  optim::Adam opt({p}, {.lr = 0.1});
  p.set_grad(tensor({0.5, 0.0, -1.0, 0.0}, {2, 2}, kFloat64));
  opt.step();
  CHECK(values(p)[0] == doctest::Approx(0.9));
  CHECK(values(p)[2] == doctest::Approx(-1.9));
}

TEST_CASE("a step updates parameters and state in place and keeps them leaves") {
  Tensor p = start_param();
  optim::Adam opt({p}, {.lr = 0.1});
  const void* param_data = p.raw_data();
  p.set_grad(tensor({0.5, -1.0}, {2}, kFloat64));
  opt.step();  // grad mode is on here: step() turns it off itself
  const void* exp_avg_data = opt.state(0).tensors.at("exp_avg").raw_data();
  p.set_grad(tensor({0.1, 0.3}, {2}, kFloat64));
  opt.step();
  CHECK(p.raw_data() == param_data);
  CHECK(opt.state(0).tensors.at("exp_avg").raw_data() == exp_avg_data);
  CHECK(p.is_leaf());
  CHECK(p.requires_grad());
  CHECK_FALSE(opt.state(0).tensors.at("exp_avg").requires_grad());
}

TEST_CASE("parameters without a gradient are skipped") {
  Tensor a = start_param(), b = start_param();
  optim::Adam opt({a, b}, {.lr = 0.1});
  a.set_grad(tensor({0.5, -1.0}, {2}, kFloat64));
  opt.step();
  CHECK(values(b) == std::vector<double>{1.0, -2.0});
  CHECK(opt.state(1).step == 0);
  CHECK(opt.state(0).step == 1);
}

TEST_CASE("float32 parameters follow the float64 results to float32 precision") {
  Tensor p = tensor({1.0, -2.0}, {2}, kFloat32).requires_grad_();
  optim::Adam opt({p}, {.lr = 0.1});
  p.set_grad(tensor({0.5, -1.0}, {2}, kFloat32));
  opt.step();
  p.set_grad(tensor({0.1, 0.3}, {2}, kFloat32));
  opt.step();
  CHECK(p.dtype() == kFloat32);
  testing::check_close(p, tensor({0.81969590638465184, -1.8572151424292265}, {2}, kFloat64), 1e-6, 1e-6);
}

TEST_CASE("zero_grad and argument checks") {
  Tensor p = start_param();
  optim::SGD opt({p}, {.lr = 0.1});
  p.set_grad(ones({2}, kFloat64));
  opt.zero_grad(/*set_to_none=*/false);
  CHECK(values(p.grad()) == std::vector<double>{0.0, 0.0});
  opt.zero_grad();
  CHECK_FALSE(p.grad().defined());
  CHECK_THROWS_WITH_AS(optim::SGD({p, p}), doctest::Contains("more than once"), Error);
  CHECK_THROWS_WITH_AS(optim::Adam({p * 2.0}), doctest::Contains("not a leaf"), Error);
  CHECK_THROWS_WITH_AS(optim::Adam({ones({2}, kInt64)}), doctest::Contains("floating-point"), Error);
  CHECK_THROWS_AS(optim::Adam({p}, {.betas = {1.0, 0.999}}), Error);
  CHECK_THROWS_AS(optim::RMSprop({p}, {.lr = -1.0}), Error);
}

TEST_CASE("an optimiser drives a model's loss down (SGD and Adam on least squares)") {
  manual_seed(3);
  const Tensor x = randn({64, 3}, kFloat64);
  const Tensor y = (x * tensor({1.5, -2.0, 0.5}, {3}, kFloat64)).sum({1}, true) + 0.3;
  for (int which = 0; which < 2; ++which) {
    nn::Linear fc(3, 1);
    fc.to(kFloat64);
    std::unique_ptr<optim::Optimizer> opt;
    if (which == 0) opt = std::make_unique<optim::SGD>(fc.parameters(), optim::SGDOptions{.lr = 0.1, .momentum = 0.9});
    else opt = std::make_unique<optim::Adam>(fc.parameters(), optim::AdamOptions{.lr = 0.05});
    double first = 0.0, last = 0.0;
    for (int step = 0; step < 300; ++step) {
      opt->zero_grad();
      Tensor loss = ((fc.forward(x) - y).square()).mean();
      loss.backward();
      opt->step();
      (step == 0 ? first : last) = loss.item<double>();
    }
    CHECK_MESSAGE(last < 1e-6 * first, "optimiser ", opt->name(), ": loss ", first, " -> ", last);
    testing::check_close(fc.bias, tensor({0.3}, {1}, kFloat64), 1e-3, 1e-3);
  }
}

// ---- clip_grad ---------------------------------------------------------------------------------

TEST_CASE("clip_grad_norm_ rescales all gradients by max_norm / total_norm and returns the norm") {
  Tensor a = zeros({2}, kFloat64).requires_grad_(), b = zeros({1}, kFloat64).requires_grad_();
  Tensor c = zeros({1}, kFloat64).requires_grad_();  // no gradient: ignored
  a.set_grad(tensor({3.0, 4.0}, {2}, kFloat64));
  b.set_grad(tensor({12.0}, {1}, kFloat64));
  // ||(3, 4, 12)|| = 13.
  Tensor norm = optim::clip_grad_norm_({a, b, c}, 6.5);
  CHECK(norm.item<double>() == doctest::Approx(13.0).epsilon(1e-15));
  const double scale = 6.5 / (13.0 + 1e-6);
  testing::check_close(a.grad(), tensor({3.0 * scale, 4.0 * scale}, {2}, kFloat64), 1e-14, 0.0);
  testing::check_close(b.grad(), tensor({12.0 * scale}, {1}, kFloat64), 1e-14, 0.0);
  // Below the threshold nothing changes.
  a.set_grad(tensor({0.3, 0.4}, {2}, kFloat64));
  b.set_grad(tensor({0.0}, {1}, kFloat64));
  CHECK(optim::clip_grad_norm_({a, b}, 1.0).item<double>() == doctest::Approx(0.5));
  CHECK(values(a.grad()) == std::vector<double>{0.3, 0.4});
  // The infinity norm and the 1-norm.
  a.set_grad(tensor({3.0, -4.0}, {2}, kFloat64));
  b.set_grad(tensor({2.0}, {1}, kFloat64));
  CHECK(optim::clip_grad_norm_({a, b}, 100.0, INFINITY).item<double>() == doctest::Approx(4.0));
  CHECK(optim::clip_grad_norm_({a, b}, 100.0, 1.0).item<double>() == doctest::Approx(9.0));
}

TEST_CASE("clip_grad_value_ clamps each entry") {
  Tensor a = zeros({3}, kFloat64).requires_grad_();
  a.set_grad(tensor({-3.0, 0.5, 7.0}, {3}, kFloat64));
  optim::clip_grad_value_({a}, 1.0);
  CHECK(values(a.grad()) == std::vector<double>{-1.0, 0.5, 1.0});
}
