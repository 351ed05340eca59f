// dec_steps: Cake's half of bench/peer_dec_steps.py, which checks that Cake and PyTorch train
// DEC's autoencoder the same way, step by step.
//
//   dec_steps DIR EPOCHS
//
// DIR holds what the PyTorch half wrote: images.npy (float32 [N, 1, 28, 28]), order.npy (int64,
// EPOCHS permutations of the N rows, one after the other) and init/NAME.npy for every parameter
// of networks::dec_autoencoder() (PyTorch's starting weights, under Cake's names). The program
// starts the network from those weights, trains it on the same batches of 256 in the same order
// with DEC-keras' pretraining step (per-pixel MSE, SGD lr 1, momentum 0.9; Xie et al. 2016,
// section 3.2) and writes the loss of every step to DIR/cake_losses.npy.
#include <algorithm>
#include <charconv>
#include <cstdio>
#include <exception>
#include <string>
#include <system_error>
#include <vector>

#include "cake/algorithms/networks/autoencoder.h"
#include "cake/autograd/grad_mode.h"
#include "cake/data/npy.h"
#include "cake/optim/sgd.h"
#include "cake/tensor/creation.h"
#include "cake/tensor/error.h"

namespace {
int run(int argc, char** argv) {
  using namespace cake;
  if (argc != 3) {
    std::fprintf(stderr, "usage: dec_steps DIR EPOCHS (DIR written by bench/peer_dec_steps.py)\n");
    return 2;
  }
  const std::string dir = argv[1];
  const std::string epochs_text = argv[2];
  std::int64_t epochs = 0;
  const auto [end, parse_error] = std::from_chars(epochs_text.data(), epochs_text.data() + epochs_text.size(), epochs);
  CAKE_CHECK(parse_error == std::errc{} && end == epochs_text.data() + epochs_text.size() && epochs > 0,
             "dec_steps: EPOCHS must be a positive integer, got '", epochs_text, "'");
  const std::int64_t batch_size = 256;

  auto model = networks::dec_autoencoder();
  {
    NoGradGuard no_grad;
    for (auto& [name, parameter] : model->named_parameters()) {
      const std::string path = dir + "/init/" + name + ".npy";
      const Tensor start = data::read_npy(path);
      // copy_ would broadcast a smaller array; a start of another shape is a wrong file.
      CAKE_CHECK(start.sizes() == parameter.sizes(), "dec_steps: ", path, " has shape ", start.sizes(), ", the parameter ", name,
                 " has ", parameter.sizes());
      parameter.copy_(start);
    }
  }
  const Tensor images = data::read_npy(dir + "/images.npy");
  const Tensor order = data::read_npy(dir + "/order.npy");
  const std::int64_t n = images.size(0);
  CAKE_CHECK(order.numel() >= epochs * n, "dec_steps: order.npy has ", order.numel(), " indices, ", epochs, " epochs need ", epochs * n);

  optim::SGD optimizer(model->parameters(), optim::SGDOptions{}.lr(1.0).momentum(0.9));
  std::vector<double> losses;
  for (std::int64_t epoch = 0; epoch < epochs; ++epoch) {
    double total = 0.0;
    for (std::int64_t begin = 0; begin < n; begin += batch_size) {
      const std::int64_t rows = std::min(batch_size, n - begin);  // the last, partial batch included
      const Tensor batch = images.index_select(0, order.narrow(0, epoch * n + begin, rows));
      Tensor loss = networks::reconstruction_loss(*model, batch);
      optimizer.zero_grad();
      loss.backward();
      optimizer.step();
      losses.push_back(loss.item<double>());
      total += losses.back() * static_cast<double>(rows);
    }
    std::printf("epoch %lld: loss %.6f\n", static_cast<long long>(epoch + 1), total / static_cast<double>(n));
  }
  data::write_npy(dir + "/cake_losses.npy", tensor(losses, {static_cast<std::int64_t>(losses.size())}));
  return 0;
}
}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {  // a missing or wrong file, a bad EPOCHS: say which, exit 1
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
}
