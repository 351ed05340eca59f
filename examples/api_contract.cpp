#include <cake/cake.h>
#include <iostream>
namespace nn = cake::nn;
namespace F = cake::nn::functional;

struct Net : nn::Module {
  std::shared_ptr<nn::Conv2d> conv;
  std::shared_ptr<nn::Linear> fc;
  Net() {
    conv = register_module("conv", std::make_shared<nn::Conv2d>(1, 4, 3, nn::Conv2dOptions{.stride = 2, .padding = 1}));
    fc = register_module("fc", std::make_shared<nn::Linear>(4 * 4 * 4, 3));
  }
  cake::Tensor forward(const cake::Tensor& x) {
    auto h = F::relu(conv->forward(x));
    return fc->forward(h.flatten(1));
  }
};

int main() {
  cake::manual_seed(0);
  cake::Tensor a = cake::tensor({1.0, 2.0, 3.0, 4.0, 5.0, 6.0}, {2, 3}, cake::kFloat64).requires_grad_();
  cake::Tensor b = cake::randn({3, 2}, cake::kFloat64);
  cake::Tensor loss = (cake::matmul(a, b).tanh() * 2.0 + 1.0).pow(2.0).mean();
  loss.backward();
  std::cout << loss.item<double>() << " " << a.grad().sizes()[1] << "\n";
  {
    cake::NoGradGuard no_grad;
    std::cout << cake::exp(a).requires_grad() << "\n";  // 0
  }
  auto net = std::make_shared<Net>();
  cake::optim::Adam opt(net->parameters(), {.lr = 1e-3, .weight_decay = 1e-5});
  cake::Tensor x = cake::rand({8, 1, 8, 8});
  cake::Tensor y = cake::randint(0, 3, {8});  // int64
  for (int step = 0; step < 3; ++step) {
    opt.zero_grad();
    cake::Tensor out = net->forward(x);
    cake::Tensor l = F::cross_entropy(out, y) + F::mse_loss(F::sigmoid(out), F::one_hot(y, 3).to(cake::kFloat32));
    l.backward();
    opt.step();
  }
  cake::optim::SGD sgd(net->parameters(), {.lr = 0.05, .momentum = 0.9, .weight_decay = 1e-5});
  cake::save(*net, "net.safetensors");
  auto again = std::make_shared<Net>();
  cake::load(*again, "net.safetensors");
  std::cout << cake::allclose(net->forward(x), again->forward(x)) << "\n";  // 1
  std::cout << cake::cuda::is_available() << " " << net->fc->weight.device() << "\n";
  auto pooled = F::max_pool2d(x, 2);                   // kernel 2, stride defaults to kernel
  auto up = F::conv_transpose2d(x, cake::randn({1, 2, 3, 3}), {}, {.stride = 2, .padding = 1, .output_padding = 1});
  std::cout << pooled.sizes()[2] << " " << up.sizes()[2] << "\n";  // 4 16
}
