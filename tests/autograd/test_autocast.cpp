// Tests for cake::autocast (autograd/autocast.h): which ops it lowers and which it leaves, the
// exact values it computes (the 16-bit product of the 16-bit operands, widened), its gradients
// (the same products in the backward pass), the scope rules (nesting, disabling, per device,
// per thread), and a small network trained under it reaching the float32 network's loss.
#include <thread>

#include "helpers.h"
#include "cake/tensor/native/elementwise.h"
#include "cake/tensor/native/linalg.h"

using namespace cake;
using cake::testing::check_close;
using cake::testing::values;

namespace {
Tensor rounded(const Tensor& t, DType dtype) { return t.detach().to(dtype).to(kFloat32); }
}  // namespace

TEST_CASE("autocast lowers matmul to the 16-bit product of 16-bit operands and hands back float32") {
  manual_seed(1);
  const Tensor a = randn({8, 20}), b = randn({20, 6});
  for (DType t : {kBFloat16, kFloat16}) {
    Tensor y;
    {
      autocast guard(kCPU, t);
      CHECK(is_autocast_enabled(DeviceType::CPU));
      CHECK(autocast_dtype(DeviceType::CPU) == t);
      y = matmul(a, b);
    }
    CHECK(!is_autocast_enabled(DeviceType::CPU));
    CHECK(y.dtype() == kFloat32);
    CHECK(values(y) == values(rounded(matmul(rounded(a, t), rounded(b, t)), t)));
    check_close(y, matmul(a, b), 3e-2, 3e-2);  // 8 (or 11) significant bits
  }
  // float64 is never lowered, nor is an op outside the list.
  autocast guard(kCPU);
  const Tensor a64 = a.to(kFloat64), b64 = b.to(kFloat64);
  CHECK(values(matmul(a64, b64)) == values(native::matmul(a64, b64)));
  CHECK(values(a.exp()) == values(native::unary(native::UnaryOp::Exp, a)));
}

TEST_CASE("autocast: linear (addmm) and conv2d / conv_transpose2d, bias added in float32") {
  manual_seed(2);
  const Tensor x = randn({5, 12}), w = randn({7, 12}), bias = randn({7});
  Tensor y;
  {
    autocast guard(kCPU);
    y = nn::functional::linear(x, w, bias);
  }
  CHECK(values(y) == values(rounded(matmul(rounded(x, kBFloat16), rounded(w, kBFloat16).t()), kBFloat16) + bias));

  const Tensor img = randn({2, 3, 8, 8}), k = randn({4, 3, 3, 3}), kb = randn({4});
  Tensor c, ct;
  {
    autocast guard(kCPU);
    c = conv2d(img, k, kb, {.padding = {1, 1}});
    ct = conv_transpose2d(c, k, Tensor(), {.stride = {2, 2}});
  }
  const Tensor c_ref = rounded(conv2d(rounded(img, kBFloat16), rounded(k, kBFloat16), Tensor(), {.padding = {1, 1}}),
                               kBFloat16) + kb.reshape({1, 4, 1, 1});
  CHECK(values(c) == values(c_ref));
  CHECK(ct.dtype() == kFloat32);
  CHECK(values(ct) == values(rounded(conv_transpose2d(rounded(c, kBFloat16), rounded(k, kBFloat16), Tensor(),
                                                    {.stride = {2, 2}}),
                                    kBFloat16)));
}

TEST_CASE("autocast's gradients are the backward products in 16 bits, widened") {
  manual_seed(3);
  const Tensor a = randn({6, 10}).requires_grad_(true), b = randn({10, 4}).requires_grad_(true);
  const Tensor upstream = randn({6, 4});
  {
    autocast guard(kCPU);
    (matmul(a, b) * upstream).sum().backward();
  }
  const Tensor g = rounded(upstream, kBFloat16);
  // dA = G B^T and dB = A^T G, each product of bfloat16 operands rounded to bfloat16.
  CHECK(values(a.grad()) == values(rounded(matmul(g, rounded(b, kBFloat16).t()), kBFloat16)));
  CHECK(values(b.grad()) == values(rounded(matmul(rounded(a, kBFloat16).t(), g), kBFloat16)));
  CHECK(a.grad().dtype() == kFloat32);  // the parameters' gradients stay float32
}

TEST_CASE("autocast scopes nest, disable, are per device type and per thread") {
  CHECK_THROWS_WITH_AS(autocast(kCPU, kFloat32), doctest::Contains("bfloat16 or float16"), Error);
  {
    autocast outer(kCPU, kFloat16);
    {
      autocast inner(kCPU, kBFloat16, /*enabled=*/false);
      CHECK(!is_autocast_enabled(DeviceType::CPU));
    }
    CHECK(is_autocast_enabled(DeviceType::CPU));
    CHECK(autocast_dtype(DeviceType::CPU) == kFloat16);
    CHECK(!is_autocast_enabled(DeviceType::CUDA));
    bool other_thread_enabled = true;
    std::thread([&] { other_thread_enabled = is_autocast_enabled(DeviceType::CPU); }).join();
    CHECK(!other_thread_enabled);
    // A CUDA-only scope leaves CPU tensors alone.
    autocast gpu_only(kCUDA);
    autocast cpu_off(kCPU, kBFloat16, false);
    const Tensor a = randn({3, 3});
    CHECK(values(matmul(a, a)) == values(native::matmul(a, a)));
  }
  CHECK(!is_autocast_enabled(DeviceType::CPU));
}

TEST_CASE("an MLP trained under bfloat16 autocast reaches the float32 MLP's loss") {
  const auto train = [](bool mixed) {
    manual_seed(4);
    const Tensor x = randn({256, 8});
    const Tensor target = (x.narrow(1, 0, 1) * 2.0 - x.narrow(1, 1, 1)).tanh();
    nn::Sequential net(nn::Linear(8, 32), nn::Tanh(), nn::Linear(32, 1));
    optim::Adam adam(net->parameters(), optim::AdamOptions{.lr = 1e-2});
    double loss_value = 0;
    for (int step = 0; step < 200; ++step) {
      adam.zero_grad();
      Tensor loss;
      {
        autocast guard(kCPU, kBFloat16, mixed);
        loss = (net->forward(x) - target).pow(2).mean();
      }
      loss.backward();
      adam.step();
      loss_value = loss.item<double>();
    }
    return loss_value;
  };
  const double full = train(false), mixed = train(true);
  INFO("float32 loss " << full << ", bfloat16 autocast loss " << mixed);
  CHECK(full < 0.01);
  CHECK(mixed < 2.0 * full + 0.005);
}
