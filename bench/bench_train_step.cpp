// bench_train_step.cpp: one CPU training step (forward, loss, backward, SGD step) of the small
// convnets and the DEC autoencoder the deep clustering algorithms train, at batch 256 on 28x28
// grey images.
//
//   build/release/bench/bench_train_step                      # both nets, 2 threads
//   CAKE_BENCH_THREADS=1 build/release/bench/bench_train_step # one thread
//   bench/run_train_step.sh build/release                     # next to PyTorch (peer_train_step.py)
//
// On a loaded machine run both sides with OMP_WAIT_POLICY=passive, or OpenMP's spinning
// threads dominate the 2-thread times (docs/benchmarks.md, "Training step of the small convnets").
//
// jule: JULE's network (algorithms/deep_clustering/jule.h, JuleNet: conv5x5 1->50, BN, ReLU,
//       max-pool 2, conv5x5 50->50, BN, ReLU, Linear 3200->160, L2 normalisation), loss
//       mean squared error to a fixed target (the step's cost is the network's; JULE's triplet
//       loss on 160-d features is small beside it), SGD lr 0.01, momentum 0.9, weight decay 5e-5.
// vgg:  DeepCluster's VGG-style ConvNet (algorithms/networks/convnets.h, defaults: Sobel input,
//       [32, 32] pool [64, 64] pool [128] pool, classifier 1152->512->512, dropout 0.5, head 10),
//       cross-entropy on fixed labels, SGD lr 0.05, momentum 0.9, weight decay 1e-5.
// dec:  DEC's autoencoder (algorithms/networks/autoencoder.h, dec_autoencoder: Linear 784-500-500-
//       2000-10 with ReLUs, mirrored decoder, linear output), MSE to its input, SGD momentum 0.9
//       (lr 0.01 here: the cost of a step does not depend on it). The network of dec, idec, n2d,
//       vade and ae-kmeans model=dec: GEMM-bound, about 20 MFLOP per image.
// n2d:  the same network (N2D's Glorot-uniform start, networks::n2d_autoencoder) trained with
//       Adam lr 1e-3 as N2D, VaDE and the autoencoders are: Adam's update reads and writes four
//       numbers per parameter (3.3 million of them) every step, where SGD's reads three.
// peer_train_step.py builds the same layers in PyTorch and times the same steps. Data, targets
// and the networks are made once, outside the timed loop. zero_grad is each library's default
// (Cake sets gradients to none, PyTorch 1.13 fills them with zeros).
#include <cake/cake.h>

#include <memory>
#include <utility>

#include "bench/bench_common.h"
#include "cake/algorithms/deep_clustering/jule.h"
#include "cake/algorithms/networks/autoencoder.h"
#include "cake/algorithms/networks/convnets.h"

namespace {

using namespace cake;

constexpr std::int64_t kBatch = 256;

// Three untimed steps first: the first call of each layer builds its oneDNN primitives (JIT
// compilation, about a second for a whole network), which a training run pays once.
template <class Step>
void warm_up(const Step& step) {
  for (int i = 0; i < 3; ++i) step();
}

void jule_step(benchmark::State& state) {
  set_num_threads(bench::threads());
  manual_seed(0);
  deep_clustering::JuleNet net;
  net.train();
  const Tensor x = rand({kBatch, 1, 28, 28});
  const Tensor target = randn({kBatch, 160}) * 0.1;
  optim::SGD sgd(net.parameters(), optim::SGDOptions{.lr = 0.01, .momentum = 0.9, .weight_decay = 5e-5});
  auto step = [&] {
    sgd.zero_grad();
    Tensor loss = nn::functional::mse_loss(net.forward(x), target);
    loss.backward();
    sgd.step();
    return loss.item<float>();
  };
  warm_up(step);
  for (auto _ : state) benchmark::DoNotOptimize(step());
}

void vgg_step(benchmark::State& state) {
  set_num_threads(bench::threads());
  manual_seed(0);
  networks::ConvNet net(networks::ConvNetOptions{.arch = "vgg", .num_outputs = 10});
  net.train();
  const Tensor x = rand({kBatch, 1, 28, 28});
  const Tensor labels = randint(0, 10, {kBatch});
  optim::SGD sgd(net.parameters(), optim::SGDOptions{.lr = 0.05, .momentum = 0.9, .weight_decay = 1e-5});
  auto step = [&] {
    sgd.zero_grad();
    Tensor loss = nn::functional::cross_entropy(net.forward(x), labels);
    loss.backward();
    sgd.step();
    return loss.item<float>();
  };
  warm_up(step);
  for (auto _ : state) benchmark::DoNotOptimize(step());
}

// Steps of an autoencoder on a fixed batch of 256 images: MSE to the input, then `optimizer`.
void time_autoencoder_steps(benchmark::State& state, networks::MLPAutoencoder& net, optim::Optimizer& optimizer) {
  net.train();
  const Tensor x = rand({kBatch, 1, 28, 28});
  auto step = [&] {
    optimizer.zero_grad();
    Tensor loss = networks::reconstruction_loss(net, x);
    loss.backward();
    optimizer.step();
    return loss.item<float>();
  };
  warm_up(step);
  for (auto _ : state) benchmark::DoNotOptimize(step());
}

void dec_step(benchmark::State& state) {
  set_num_threads(bench::threads());
  manual_seed(0);
  const auto net = networks::dec_autoencoder(10);
  optim::SGD sgd(net->parameters(), optim::SGDOptions{.lr = 0.01, .momentum = 0.9});
  time_autoencoder_steps(state, *net, sgd);
}

void n2d_step(benchmark::State& state) {
  set_num_threads(bench::threads());
  manual_seed(0);
  const auto net = networks::n2d_autoencoder(10);
  optim::Adam adam(net->parameters(), optim::AdamOptions{.lr = 1e-3});
  time_autoencoder_steps(state, *net, adam);
}

}  // namespace

int main(int argc, char** argv) {
  for (auto [name, fn] : {std::pair{"jule", &jule_step}, std::pair{"vgg", &vgg_step}, std::pair{"dec", &dec_step},
                            std::pair{"n2d", &n2d_step}})
    benchmark::RegisterBenchmark(name, fn)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime()
        ->MeasureProcessCPUTime()  // CPU time of all threads: on a loaded machine, the work done
        ->MinTime(1.0)
        ->Repetitions(3);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
