// libtorch_mlp: an MLP classifier written as one would with libtorch (cake:: for torch::):
// holder members, CAKE_MODULE, builder options, a loss module, Adam with a StepLR schedule.
//
// The data are digits-like 8 x 8 images made here: four stroke patterns (a bar, a column, a
// diagonal, a ring) with random shifts of brightness and Gaussian noise, so the program needs
// no download and runs in about a second. It exits with status 1 if the test accuracy is poor.
#include <cake/cake.h>

#include <cstdlib>
#include <iostream>

namespace nn = cake::nn;
namespace F = cake::nn::functional;

// n noisy images of class k for k = 0..3, flattened to 64 features; labels int64.
std::pair<cake::Tensor, cake::Tensor> make_digits(std::int64_t n_per_class) {
  std::vector<cake::Tensor> images, labels;
  for (std::int64_t k = 0; k < 4; ++k) {
    std::vector<float> pixels(64, 0.0f);
    for (std::size_t i = 0; i < 8; ++i) {
      if (k == 0) pixels[3 * 8 + i] = 1.0f;            // a bar
      if (k == 1) pixels[i * 8 + 4] = 1.0f;            // a column
      if (k == 2) pixels[i * 8 + i] = 1.0f;            // a diagonal
      if (k == 3 && i >= 1 && i <= 6)                  // a ring
        for (std::size_t edge : {1, 6}) pixels[edge * 8 + i] = pixels[i * 8 + edge] = 1.0f;
    }
    cake::Tensor pattern = cake::tensor(pixels, {8, 8});
    cake::Tensor brightness = cake::rand({n_per_class, 1}) * 0.5 + 0.75;
    images.push_back(pattern.reshape({1, 64}) * brightness + cake::randn({n_per_class, 64}) * 0.35);
    labels.push_back(cake::full({n_per_class}, static_cast<double>(k), cake::kInt64));
  }
  return {cake::cat(images), cake::cat(labels)};
}

struct MLPImpl : nn::Module {
  nn::Linear fc1{nullptr}, fc2{nullptr};
  nn::Dropout dropout{nullptr};
  MLPImpl(std::int64_t in, std::int64_t hidden, std::int64_t classes) {
    fc1 = register_module("fc1", nn::Linear(in, hidden));
    dropout = register_module("dropout", nn::Dropout(0.1));
    fc2 = register_module("fc2", nn::Linear(nn::LinearOptions(hidden, classes).bias(true)));
  }
  cake::Tensor forward(const cake::Tensor& x) override { return fc2(dropout(F::relu(fc1(x)))); }
};
CAKE_MODULE(MLP);

int main() {
  cake::manual_seed(0);
  auto [train_x, train_y] = make_digits(150);
  auto [test_x, test_y] = make_digits(50);

  MLP model(64, 32, 4);
  cake::optim::Adam optimizer(model->parameters(), cake::optim::AdamOptions(1e-2).weight_decay(1e-5));
  cake::optim::StepLR scheduler(optimizer, /*step_size=*/4, /*gamma=*/0.5);

  nn::CrossEntropyLoss criterion;
  const std::int64_t batch = 50, n = train_x.size(0);
  for (int epoch = 0; epoch < 8; ++epoch) {
    model->train();
    double total = 0.0;
    for (const cake::Tensor& index : cake::randperm(n).split(batch)) {  // shuffled batches of 50
      optimizer.zero_grad();
      cake::Tensor loss = criterion(model(train_x.index_select(0, index)), train_y.index_select(0, index));
      loss.backward();
      optimizer.step();
      total += loss.item<double>();
    }
    scheduler.step();
    std::cout << "epoch " << epoch << "  loss " << total / static_cast<double>(n / batch) << "  lr "
              << scheduler.get_last_lr() << "\n";
  }

  model->eval();
  cake::NoGradGuard no_grad;
  const double accuracy = (model(test_x).argmax(1) == test_y).to(cake::kFloat64).mean().item<double>();
  std::cout << "test accuracy " << accuracy << "\n";
  return accuracy > 0.9 ? EXIT_SUCCESS : EXIT_FAILURE;
}
