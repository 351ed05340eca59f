// bench_transformer.cpp: nn/transformer.h's encoder layer against PyTorch's
// (bench/peer_transformer.py), 2 threads, float32: d_model 256, 8 heads, feed-forward 1024,
// sequences of 64 tokens, batch 32, sequence-first, dropout 0 (so both sides do the same work).
//
//   build/release/bench/bench_transformer                # Cake alone
//   bench/run_pair.sh transformer build/release 3        # the same next to PyTorch
//
// Cases: the forward pass without a graph; the forward pass, then autograd::grad of the input
// and every weight for a fixed output gradient (torch.autograd.grad in the peer). The input and
// the output gradient are fixed formulas, the same on both sides; the weights are each side's
// own seeded initialisation (the work does not depend on their values).
#include <cake/cake.h>

#include <vector>

#include "bench/bench_common.h"

namespace {

using namespace cake;

constexpr std::int64_t kTokens = 64, kBatch = 32, kModel = 256, kHeads = 8, kFeedForward = 1024;

// [S, N, E] with element i (row-major) = (i % 97) / 97 - 0.5: peer_transformer.py's sequence().
Tensor sequence() {
  std::vector<float> values(static_cast<std::size_t>(kTokens * kBatch * kModel));
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(i % 97) / 97.0f - 0.5f;
  return tensor(values, {kTokens, kBatch, kModel});
}

nn::TransformerEncoderLayer encoder_layer() {
  manual_seed(0);
  return nn::TransformerEncoderLayer(
      nn::TransformerEncoderLayerOptions(kModel, kHeads).dim_feedforward(kFeedForward).dropout(0.0));
}

void encoder_forward(benchmark::State& state) {
  set_num_threads(bench::threads());
  nn::TransformerEncoderLayer layer = encoder_layer();
  layer->eval();
  const Tensor x = sequence();
  NoGradGuard no_grad;
  for (auto _ : state) benchmark::DoNotOptimize(layer(x).raw_data());
}

void encoder_backward(benchmark::State& state) {
  set_num_threads(bench::threads());
  nn::TransformerEncoderLayer layer = encoder_layer();
  const Tensor x = sequence().requires_grad_();
  const Tensor grad_y = sequence();
  std::vector<Tensor> inputs = layer->parameters();
  inputs.push_back(x);
  for (auto _ : state) {
    std::vector<Tensor> grads = autograd::grad({layer(x)}, inputs, {grad_y});
    benchmark::DoNotOptimize(grads.back().raw_data());
  }
}

}  // namespace

int main(int argc, char** argv) {
  bench::register_median("encoder_layer_forward", encoder_forward);
  bench::register_median("encoder_layer_backward", encoder_backward);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
