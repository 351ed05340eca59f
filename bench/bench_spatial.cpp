// bench_spatial.cpp: the spatial transformer of the Stacked Capsule Autoencoder's template
// decoder (Kosiorek et al. 2019, section 2.1): affine_grid + grid_sample moving B x M = 128 x 40
// templates of 2 x 11 x 11 (the template and its alpha) onto 28 x 28 images, 2 threads.
//
//   build/bench/bench_spatial                   # Cake alone
//   bench/run_pair.sh spatial                   # the same next to PyTorch (bench/peer_spatial.py)
//   CAKE_BENCH_THREADS=1 build/bench/bench_spatial
//
// The poses are fixed numbers (no random draw), the same in peer_spatial.py, so both sides move
// the same templates to the same places: a template is scaled up about 2.6 times and shifted
// anywhere in the image, so about a fifth of the 784 image points of each (b, m) touch it (in a
// trained SCAE the share depends on the parts' learned scales). Cases: grid_sample forward without a graph (evaluation); grid_sample
// forward + the gradients of the templates and the grid (training); affine_grid forward + the
// gradient of the poses; both together, poses to moved templates and back (SCAE's training step). One iteration of a gradient case = the forward, then autograd::grad for
// a fixed output gradient, as peer_spatial.py does with torch.autograd.grad.
#include <cake/cake.h>

#include <vector>

#include "bench/bench_common.h"

namespace {

using namespace cake;

constexpr std::int64_t kItems = 128 * 40, kChannels = 2, kTemplate = 11, kImage = 28;

// theta[i] = [[s, 0, tx], [0, s, ty]], s in [2.2, 2.8), tx, ty in [-1, 1): the same formula as
// peer_spatial.py's poses().
Tensor poses() {
  std::vector<float> values(kItems * 6);
  for (std::int64_t i = 0; i < kItems; ++i) {
    const float s = 2.2f + 0.6f * static_cast<float>((i * 37) % 100) / 100.0f;
    float* t = values.data() + i * 6;
    t[0] = s, t[1] = 0, t[2] = static_cast<float>((i * 53) % 100) / 50.0f - 1.0f;
    t[3] = 0, t[4] = s, t[5] = static_cast<float>((i * 71) % 100) / 50.0f - 1.0f;
  }
  return tensor(values, {kItems, 2, 3});
}

// Templates: values (i mod 97) / 97 in index order, the same as peer_spatial.py's.
Tensor templates() {
  std::vector<float> values(kItems * kChannels * kTemplate * kTemplate);
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(i % 97) / 97.0f;
  return tensor(values, {kItems, kChannels, kTemplate, kTemplate});
}

const Shape kOutput{kItems, kChannels, kImage, kImage};

void grid_sample_forward(benchmark::State& state) {
  set_num_threads(bench::threads());
  const NoGradGuard no_grad;
  const Tensor sheets = templates();
  const Tensor grid = affine_grid(poses(), kOutput);
  for (auto _ : state) {
    const Tensor y = grid_sample(sheets, grid);
    benchmark::DoNotOptimize(y.raw_data());
  }
}

void grid_sample_backward(benchmark::State& state) {
  set_num_threads(bench::threads());
  manual_seed(0);
  const Tensor sheets = templates().requires_grad_();
  const Tensor grid = affine_grid(poses(), kOutput).detach().requires_grad_();
  const Tensor grad_y = randn(kOutput);
  for (auto _ : state) {
    const Tensor y = grid_sample(sheets, grid);
    std::vector<Tensor> grads = autograd::grad({y}, {sheets, grid}, {grad_y});
    benchmark::DoNotOptimize(grads.back().raw_data());
  }
}

void affine_grid_backward(benchmark::State& state) {
  set_num_threads(bench::threads());
  manual_seed(0);
  const Tensor theta = poses().requires_grad_();
  const Tensor grad_grid = randn({kItems, kImage, kImage, 2});
  for (auto _ : state) {
    const Tensor grid = affine_grid(theta, kOutput);
    std::vector<Tensor> grads = autograd::grad({grid}, {theta}, {grad_grid});
    benchmark::DoNotOptimize(grads.back().raw_data());
  }
}

// The whole transformer as SCAE's decoder runs it in training: poses -> grid -> moved templates,
// then the gradients of the templates and the poses.
void spatial_transformer_backward(benchmark::State& state) {
  set_num_threads(bench::threads());
  manual_seed(0);
  const Tensor sheets = templates().requires_grad_();
  const Tensor theta = poses().requires_grad_();
  const Tensor grad_y = randn(kOutput);
  for (auto _ : state) {
    const Tensor y = grid_sample(sheets, affine_grid(theta, kOutput));
    std::vector<Tensor> grads = autograd::grad({y}, {sheets, theta}, {grad_y});
    benchmark::DoNotOptimize(grads.back().raw_data());
  }
}

}  // namespace

int main(int argc, char** argv) {
  bench::register_median("grid_sample_forward", grid_sample_forward);
  bench::register_median("grid_sample_backward", grid_sample_backward);
  bench::register_median("affine_grid_backward", affine_grid_backward);
  bench::register_median("spatial_transformer_backward", spatial_transformer_backward);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
