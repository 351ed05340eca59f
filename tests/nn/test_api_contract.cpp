// The API contract (examples/api_contract.cpp) checked value by value: the same steps re-run
// here with every printed value CHECKed, and the example program's own output read back.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "helpers.h"

namespace nn = cake::nn;
namespace F = cake::nn::functional;
using cake::testing::values;

namespace {

struct ContractNet : nn::Module {
  std::shared_ptr<nn::Conv2d> conv;
  std::shared_ptr<nn::Linear> fc;
  ContractNet() {
    conv = register_module("conv", std::make_shared<nn::Conv2d>(1, 4, 3, nn::Conv2dOptions{.stride = 2, .padding = 1}));
    fc = register_module("fc", std::make_shared<nn::Linear>(4 * 4 * 4, 3));
  }
  cake::Tensor forward(const cake::Tensor& x) override {
    auto h = F::relu(conv->forward(x));
    return fc->forward(h.flatten(1));
  }
};

}  // namespace

TEST_CASE("api contract: autograd part") {
  cake::manual_seed(0);
  cake::Tensor a = cake::tensor({1.0, 2.0, 3.0, 4.0, 5.0, 6.0}, {2, 3}, cake::kFloat64).requires_grad_();
  cake::Tensor b = cake::randn({3, 2}, cake::kFloat64);
  cake::Tensor loss = (cake::matmul(a, b).tanh() * 2.0 + 1.0).pow(2.0).mean();
  loss.backward();
  // The loss by hand: mean over the 2x2 product of (2 tanh(a_i . b_j) + 1)^2, and its gradient
  // d/da_ik = (1/4) sum_j 2 (2 t_ij + 1) 2 (1 - t_ij^2) b_kj.
  const auto va = values(a), vb = values(b);
  double expected = 0.0;
  std::vector<double> grad(6, 0.0);
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 2; ++j) {
      double dot = 0.0;
      for (int k = 0; k < 3; ++k) dot += va[i * 3 + k] * vb[k * 2 + j];
      const double t = std::tanh(dot);
      expected += (2 * t + 1) * (2 * t + 1) / 4;
      for (int k = 0; k < 3; ++k) grad[i * 3 + k] += 0.25 * 2 * (2 * t + 1) * 2 * (1 - t * t) * vb[k * 2 + j];
    }
  CHECK(loss.item<double>() == doctest::Approx(expected).epsilon(1e-12));
  CHECK(a.grad().sizes()[1] == 3);
  cake::testing::check_close(a.grad(), cake::tensor(grad, {2, 3}, cake::kFloat64), 1e-10, 1e-12);
  cake::NoGradGuard no_grad;
  CHECK_FALSE(cake::exp(a).requires_grad());
}

TEST_CASE("api contract: training, checkpoint round trip, placement, pooling shapes") {
  cake::manual_seed(0);
  (void)cake::randn({3, 2}, cake::kFloat64);  // the contract's draws, in order
  auto net = std::make_shared<ContractNet>();
  cake::optim::Adam opt(net->parameters(), {.lr = 1e-3, .weight_decay = 1e-5});
  cake::Tensor x = cake::rand({8, 1, 8, 8});
  cake::Tensor y = cake::randint(0, 3, {8});
  CHECK(y.dtype() == cake::kInt64);
  double first = 0.0, last = 0.0;
  for (int step = 0; step < 3; ++step) {
    opt.zero_grad();
    cake::Tensor out = net->forward(x);
    CHECK(out.sizes() == cake::Shape{8, 3});
    cake::Tensor l = F::cross_entropy(out, y) + F::mse_loss(F::sigmoid(out), F::one_hot(y, 3).to(cake::kFloat32));
    l.backward();
    opt.step();
    (step == 0 ? first : last) = l.item<double>();
  }
  CHECK(last < first);  // three Adam steps on one batch lower its loss
  CHECK(opt.state(0).step == 3);
  cake::optim::SGD sgd(net->parameters(), {.lr = 0.05, .momentum = 0.9, .weight_decay = 1e-5});
  CHECK(sgd.params().size() == 4);
  const std::string path = (std::filesystem::temp_directory_path() / "cake_api_contract_net.safetensors").string();
  cake::save(*net, path);
  auto again = std::make_shared<ContractNet>();
  CHECK_FALSE(cake::allclose(net->forward(x), again->forward(x)));  // a different initialisation ...
  cake::load(*again, path);
  CHECK(cake::allclose(net->forward(x), again->forward(x)));        // ... until loaded
  std::filesystem::remove(path);
  CHECK(net->fc->weight.device() == cake::Device::cpu());
  std::ostringstream device;
  device << net->fc->weight.device();
  CHECK(device.str() == "cpu");
  auto pooled = F::max_pool2d(x, 2);
  auto up = F::conv_transpose2d(x, cake::randn({1, 2, 3, 3}), {}, {.stride = 2, .padding = 1, .output_padding = 1});
  CHECK(pooled.sizes() == cake::Shape{8, 1, 4, 4});
  CHECK(up.sizes() == cake::Shape{8, 2, 16, 16});
}

TEST_CASE("api contract: the example program prints what the contract promises") {
  // Tests run in build/tests; the example is built as build/examples/api_contract.
  const std::filesystem::path program = std::filesystem::current_path() / ".." / "examples" / "api_contract";
  if (!std::filesystem::exists(program)) {
    MESSAGE("examples not built: skipped");
    return;
  }
  const std::filesystem::path dir = std::filesystem::temp_directory_path();
  const std::string command = "cd " + dir.string() + " && " + program.string();
  FILE* pipe = ::popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string output;
  char buffer[256];
  while (std::fgets(buffer, sizeof buffer, pipe)) output += buffer;
  CHECK(::pclose(pipe) == 0);
  std::filesystem::remove(dir / "net.safetensors");
  std::istringstream lines(output);
  double loss = 0;
  int columns = 0, requires_grad = -1, close = -1, cuda = -1, pooled = 0, up = 0;
  std::string device;
  lines >> loss >> columns >> requires_grad >> close >> cuda >> device >> pooled >> up;
  INFO("output: ", output);
  CHECK(std::isfinite(loss));
  CHECK(columns == 3);
  CHECK(requires_grad == 0);
  CHECK(close == 1);
  CHECK(cuda == (cake::cuda::is_available() ? 1 : 0));
  CHECK(device == "cpu");
  CHECK(pooled == 4);
  CHECK(up == 16);
}
