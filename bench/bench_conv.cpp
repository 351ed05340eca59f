// bench_conv.cpp: forward + backward time of the convolution layers of the convolutional
// autoencoder (Bortoletto 2021, section 2) at batch 256 on 28x28 MNIST-sized inputs, 2 threads.
//
//   build/bench/bench_conv                      # every layer, oneDNN (if built) and fallback
//   bench/run_pair.sh conv                      # the same next to PyTorch (bench/peer_conv.py)
//   CAKE_BENCH_THREADS=1 build/bench/bench_conv # another thread count
//
// Encoder: Conv2d 1->8, 8->16, 16->32, 3x3, stride 2, padding 1, 1, 0 (28 -> 14 -> 7 -> 3).
// Decoder, mirrored: ConvTranspose2d 32->16 (padding 0), 16->8 and 8->1 (padding 1,
// output_padding 1) (3 -> 7 -> 14 -> 28). One iteration = the layer's forward, then the
// gradients of input (except the first layer's, the images), weight and bias for a fixed
// output gradient, through autograd::grad, exactly as peer_conv.py does with
// torch.autograd.grad. Inputs, weights and the output gradient are allocated once.
#include <cake/cake.h>

#include <string>
#include <vector>

#include "bench/bench_common.h"
#include "cake/tensor/native/nn_kernels.h"

namespace {

using namespace cake;

struct Layer {
  const char* name;
  bool transposed;
  std::int64_t in_channels, out_channels, size, stride, padding, output_padding;
  bool input_needs_grad;
};

constexpr std::int64_t kBatch = 256;
const Layer kLayers[] = {
    {"enc_conv1", false, 1, 8, 28, 2, 1, 0, false},   {"enc_conv2", false, 8, 16, 14, 2, 1, 0, true},
    {"enc_conv3", false, 16, 32, 7, 2, 0, 0, true},   {"dec_deconv1", true, 32, 16, 3, 2, 0, 0, true},
    {"dec_deconv2", true, 16, 8, 7, 2, 1, 1, true},   {"dec_deconv3", true, 8, 1, 14, 2, 1, 1, true},
};

Tensor apply(const Layer& l, const Tensor& x, const Tensor& w, const Tensor& b) {
  if (l.transposed)
    return conv_transpose2d(x, w, b,
                            {.stride = {l.stride, l.stride}, .padding = {l.padding, l.padding},
                             .output_padding = {l.output_padding, l.output_padding}});
  return conv2d(x, w, b, {.stride = {l.stride, l.stride}, .padding = {l.padding, l.padding}});
}

void run_layer(benchmark::State& state, const Layer& l, bool onednn) {
  set_num_threads(bench::threads());
  native::OneDnnGuard guard(onednn);
  manual_seed(0);
  Tensor x = randn({kBatch, l.in_channels, l.size, l.size});
  if (l.input_needs_grad) x.requires_grad_();
  const Shape weight_shape = l.transposed ? Shape{l.in_channels, l.out_channels, 3, 3}
                                          : Shape{l.out_channels, l.in_channels, 3, 3};
  Tensor w = (randn(weight_shape) * 0.1).requires_grad_();
  Tensor b = zeros({l.out_channels}).requires_grad_();
  const std::vector<Tensor> wrt = l.input_needs_grad ? std::vector<Tensor>{x, w, b} : std::vector<Tensor>{w, b};
  const Tensor grad_y = randn_like(apply(l, x, w, b).detach());
  for (auto _ : state) {
    Tensor y = apply(l, x, w, b);
    std::vector<Tensor> grads = autograd::grad({y}, wrt, {grad_y});
    benchmark::DoNotOptimize(grads.back().raw_data());
  }
}

// Max pooling 2x2, stride 2, without a graph (a key encoder's or a feature extractor's forward)
// on the 256 x 64 x 24 x 24 maps of the MoCo poster network's trunk. Cake's kernel only: oneDNN's
// max pooling was removed after this benchmark measured it (docs/benchmarks.md).
void run_max_pool_inference(benchmark::State& state) {
  set_num_threads(bench::threads());
  manual_seed(0);
  const Tensor x = randn({kBatch, 64, 24, 24});
  for (auto _ : state) {
    const Tensor y = max_pool2d(x, {.kernel = {2, 2}});
    benchmark::DoNotOptimize(y.raw_data());
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<bool> paths = {false};
  if (native::onednn_compiled()) paths.insert(paths.begin(), true);
  for (const Layer& layer : kLayers) {
    for (bool onednn : paths) {
      const std::string name = std::string(layer.name) + (onednn ? "/onednn" : "/fallback");
      bench::register_median(name, [&layer, onednn](benchmark::State& s) { run_layer(s, layer, onednn); });
    }
  }
  bench::register_median("max_pool_2x2_inference", run_max_pool_inference);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
