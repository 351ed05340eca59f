// bench_recurrent.cpp: the recurrent layers of nn/rnn.h against PyTorch's (bench/peer_recurrent.py),
// 2 threads, float32: a 2-layer LSTM and a 2-layer GRU of 256 hidden units over sequences of
// T = 50 steps of 128 features, batch 32 (a small language or time-series model's shape).
//
//   build/release/bench/bench_recurrent                 # Cake alone
//   bench/run_pair.sh recurrent build/release 3         # the same next to PyTorch
//
// Cases: the forward pass without a graph (inference); the forward pass, then autograd::grad of
// the input and every weight for a fixed output gradient (a training step without the
// optimiser), as peer_recurrent.py does with torch.autograd.grad. The inputs and the output
// gradient are fixed formulas, the same on both sides; the weights are each side's own random
// initialisation (the work does not depend on their values).
#include <cake/cake.h>

#include <vector>

#include "bench/bench_common.h"

namespace {

using namespace cake;

constexpr std::int64_t kSteps = 50, kBatch = 32, kFeatures = 128, kHidden = 256, kLayers = 2;

// [T, B, features] with element i (row-major) = (i % 97) / 97 - 0.5: the formula of
// peer_recurrent.py's sequence().
Tensor sequence(std::int64_t features) {
  std::vector<float> values(static_cast<std::size_t>(kSteps * kBatch * features));
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(i % 97) / 97.0f - 0.5f;
  return tensor(values, {kSteps, kBatch, features});
}

template <class Layer>
void forward_case(benchmark::State& state, Layer layer) {
  set_num_threads(bench::threads());
  const Tensor x = sequence(kFeatures);
  NoGradGuard no_grad;
  for (auto _ : state) {
    auto result = layer(x);
    benchmark::DoNotOptimize(std::get<0>(result).raw_data());
  }
}

template <class Layer>
void backward_case(benchmark::State& state, Layer layer) {
  set_num_threads(bench::threads());
  const Tensor x = sequence(kFeatures).requires_grad_();
  const Tensor grad_out = sequence(kHidden);
  std::vector<Tensor> inputs = layer->parameters();
  inputs.push_back(x);
  for (auto _ : state) {
    const Tensor out = std::get<0>(layer(x));
    std::vector<Tensor> grads = autograd::grad({out}, inputs, {grad_out});
    benchmark::DoNotOptimize(grads.back().raw_data());
  }
}

nn::LSTM lstm() {
  manual_seed(0);
  return nn::LSTM(nn::LSTMOptions(kFeatures, kHidden).num_layers(kLayers));
}
nn::GRU gru() {
  manual_seed(0);
  return nn::GRU(nn::GRUOptions(kFeatures, kHidden).num_layers(kLayers));
}

}  // namespace

int main(int argc, char** argv) {
  bench::register_median("lstm_forward", [](benchmark::State& s) { forward_case(s, lstm()); });
  bench::register_median("lstm_backward", [](benchmark::State& s) { backward_case(s, lstm()); });
  bench::register_median("gru_forward", [](benchmark::State& s) { forward_case(s, gru()); });
  bench::register_median("gru_backward", [](benchmark::State& s) { backward_case(s, gru()); });
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
