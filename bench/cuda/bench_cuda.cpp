// bench/cuda/bench_cuda.cpp: GPU timings of Cake's CUDA backend, one line per case
// ("<case> <milliseconds>"), for tools/cuda-check.sh, which runs bench/cuda/peer_cuda.py (the
// same cases in PyTorch, same machine, same session) and prints the ratios.
//
//   bench_cuda            # needs a CUDA device; built with -DCAKE_BUILD_CUDA_BENCH=ON
//
// Each case runs once to warm up (allocator, cuBLAS/cuDNN handles and algorithm choice), then
// `reps` times between two device synchronisations; the figure is the mean wall time per run.
// The cases are the targets where Cake has the pieces (docs/cuda.md says which are not
// measurable yet): elementwise bandwidth against a device-to-device copy, float32 GEMM,
// a k-means iteration (distances as one GEMM, arg-min, centroid sums), and the nn kernels a conv
// autoencoder's step runs.
#include <chrono>
#include <cstdio>
#include <functional>
#include <optional>
#include <tuple>
#include <vector>

#include "cake/algorithms/networks/autoencoder.h"
#include "cake/cuda/cuda.h"
#include "cake/cuda/graph.h"
#include "cake/autograd/engine.h"
#include "cake/nn/functional.h"
#include "cake/nn/rnn.h"
#include "cake/optim/adam.h"
#include "cake/tensor/creation.h"
#include "cake/tensor/native/elementwise.h"
#include "cake/tensor/native/indexing.h"
#include "cake/tensor/native/linalg.h"
#include "cake/tensor/native/nn_kernels.h"
#include "cake/tensor/native/reduce.h"
#include "cake/tensor/native/view.h"
#include "cake/tensor/random.h"

using namespace cake;

namespace {

const Device kCuda = Device::cuda(0);

double time_ms(const std::function<void()>& run, int reps) {
  run();
  cuda::synchronize();
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < reps; ++i) run();
  cuda::synchronize();
  const std::chrono::duration<double, std::milli> elapsed = std::chrono::steady_clock::now() - start;
  return elapsed.count() / reps;
}

void report(const char* name, double ms) {
  std::printf("%s %.4f\n", name, ms);
  std::fflush(stdout);
}

}  // namespace

int main() {
  if (!cuda::is_available()) {
    std::printf("bench_cuda: no CUDA device\n");
    return 77;
  }
  manual_seed(0);
  {  // 256M float32: add and mul read 2 x 1 GiB and write 1 GiB; the copy reads and writes 1 GiB.
    const std::int64_t n = std::int64_t{1} << 28;
    const Tensor a = randn({n}, {kFloat32, kCuda}), b = randn({n}, {kFloat32, kCuda});
    Tensor out = empty({n}, {kFloat32, kCuda});
    report("copy_256M_f32", time_ms([&] { native::copy_(out, a); }, 20));
    report("add_256M_f32", time_ms([&] { out = native::binary(native::BinaryOp::Add, a, b); }, 20));
    report("mul_256M_f32", time_ms([&] { out = native::binary(native::BinaryOp::Mul, a, b); }, 20));
    report("sum_256M_f32", time_ms([&] { (void)native::sum(a); }, 20));
  }
  cuda::empty_cache();
  {  // GEMM 4096^3, float32 (FMA, TF32 off: PyTorch's default for matmul too).
    const Tensor a = randn({4096, 4096}, {kFloat32, kCuda}), b = randn({4096, 4096}, {kFloat32, kCuda});
    report("gemm_4096_f32", time_ms([&] { (void)native::matmul(a, b); }, 10));
    // bfloat16 operands and result, float32 accumulation: the tensor cores (torch: a.bfloat16() @ b.bfloat16()).
    const Tensor a16 = a.to(kBFloat16), b16 = b.to(kBFloat16);
    report("gemm_4096_bf16", time_ms([&] { (void)native::matmul(a16, b16); }, 10));
  }
  cuda::empty_cache();
  {  // One k-means iteration: 1M points x 128, K = 1024; then its parts, where its time goes.
    const std::int64_t n = 1 << 20, d = 128, k = 1024;
    const Tensor x = randn({n, d}, {kFloat32, kCuda});
    const Tensor centres = randn({k, d}, {kFloat32, kCuda});
    const auto iteration = [&] {
      // The assignment as Cake's k-means takes it: GEMM blocks, each arg-min reading its product once.
      const Tensor labels = native::nearest_rows(x, centres).second;
      const Tensor sums = native::index_add(native::binary(native::BinaryOp::Mul, centres, 0.0), 0, labels, x);
      const Tensor counts = native::bincount(labels, {}, k);
      (void)native::binary(native::BinaryOp::Div, sums,
                           native::unsqueeze(native::clamp(counts.to(kFloat32), 1.0, std::nullopt), 1));
    };
    report("kmeans_iter_1M_128_1024", time_ms(iteration, 5));
    const Tensor dist = native::cdist_squared(x, centres);
    const Tensor labels = native::min_with_indices(dist, 1, false).second;
    report("kmeans_part_distances", time_ms([&] { (void)native::cdist_squared(x, centres); }, 5));
    report("kmeans_part_argmin", time_ms([&] { (void)native::min_with_indices(dist, 1, false); }, 5));
    report("kmeans_part_nearest_rows", time_ms([&] { (void)native::nearest_rows(x, centres); }, 5));
    report("kmeans_part_index_add", time_ms([&] {
             (void)native::index_add(native::binary(native::BinaryOp::Mul, centres, 0.0), 0, labels, x);
           }, 5));
    cuda::set_allow_tf32(true);  // the GEMMs on the tensor cores (TF32), as a user may opt in to
    report("kmeans_part_distances_tf32", time_ms([&] { (void)native::cdist_squared(x, centres); }, 5));
    report("kmeans_part_nearest_rows_tf32", time_ms([&] { (void)native::nearest_rows(x, centres); }, 5));
    report("kmeans_iter_tf32", time_ms(iteration, 5));
    cuda::set_allow_tf32(false);
  }
  cuda::empty_cache();
  {  // One epoch of the conv autoencoder (lecture 004's, algorithms/networks) on 60,000 28x28
     // images already on the GPU: batches of 256, MSE, Adam; the Trainer's bookkeeping left out.
    manual_seed(0);
    const Tensor images = rand({60000, 1, 28, 28}, {kFloat32, kCuda});
    networks::ConvAutoencoder model(16);
    model.to(kCuda);
    optim::Adam adam(model.parameters(), {.lr = 1e-3});
    const auto epoch = [&] {
      for (std::int64_t start = 0; start < images.size(0); start += 256) {
        const Tensor batch = images.narrow(0, start, std::min<std::int64_t>(256, images.size(0) - start));
        adam.zero_grad();
        nn::functional::mse_loss(model.decode(model.encode(batch)), batch).backward();
        adam.step();
      }
    };
    report("conv_ae_epoch_60k", time_ms(epoch, 3));
  }
  cuda::empty_cache();
  {  // The same epoch with the step captured in a CUDA graph (cuda/graph.h): three eager warm-up
     // steps, one capture, then per full batch a device copy into the static input and a replay;
     // the last, partial batch (96 images) runs eagerly. Adam in capturable mode.
    manual_seed(0);
    const Tensor images = rand({60000, 1, 28, 28}, {kFloat32, kCuda});
    networks::ConvAutoencoder model(16);
    model.to(kCuda);
    optim::Adam adam(model.parameters(), {.lr = 1e-3, .capturable = true});
    cuda::SideStream side;
    cuda::StreamGuard on_side(side.get());
    const auto eager_step = [&](const Tensor& batch) {
      adam.zero_grad(/*set_to_none=*/false);
      nn::functional::mse_loss(model.decode(model.encode(batch)), batch).backward();
      adam.step();
    };
    Tensor static_x = empty({256, 1, 28, 28}, {kFloat32, kCuda});
    for (int i = 0; i < 3; ++i) eager_step(images.narrow(0, 256 * i, 256));
    cuda::Graph graph;
    graph.capture([&] { eager_step(static_x); });
    const auto epoch = [&] {
      for (std::int64_t start = 0; start < images.size(0); start += 256) {
        const std::int64_t n = std::min<std::int64_t>(256, images.size(0) - start);
        if (n != 256) {
          eager_step(images.narrow(0, start, n));
          continue;
        }
        static_x.copy_(images.narrow(0, start, n));
        graph.replay();
      }
    };
    report("conv_ae_epoch_60k_graph", time_ms(epoch, 3));
  }
  cuda::empty_cache();
  {  // The nn kernels of a conv autoencoder step on a Fashion-MNIST-sized batch (256 x 1 x 28 x 28).
    const Tensor x = randn({256, 32, 28, 28}, {kFloat32, kCuda}), w = randn({64, 32, 3, 3}, {kFloat32, kCuda});
    const Tensor bias = randn({64}, {kFloat32, kCuda});
    const native::ConvGeometry g = native::conv2d_geometry(x.sizes(), w.sizes(), {.stride = {2, 2}, .padding = {1, 1}}, "bench");
    const Tensor gy = randn(g.output_shape(), {kFloat32, kCuda});
    report("conv2d_fwd_256x32x28x28_k3s2", time_ms([&] { (void)native::conv2d_forward(x, w, bias, g); }, 20));
    report("conv2d_bwd_256x32x28x28_k3s2", time_ms([&] {
             (void)native::conv2d_backward_data(gy, w, g);
             (void)native::conv2d_backward_weight(x, gy, g, true);
           }, 20));
    const native::PoolGeometry p = native::pool2d_geometry(x.sizes(), {}, "bench");
    report("max_pool2d_256x32x28x28", time_ms([&] { (void)native::max_pool2d_with_indices(x, p); }, 20));
    report("batch_norm_256x32x28x28",
           time_ms([&] { (void)native::batch_norm_training(x, {}, {}, {}, {}, 0.1, 1e-5); }, 20));
    const Tensor logits = randn({65536, 1024}, {kFloat32, kCuda});
    report("softmax_65536x1024", time_ms([&] { (void)native::softmax(logits, 1); }, 20));
  }
  cuda::empty_cache();
  {  // A 2-layer LSTM (nn/rnn.h: its ops one launch at a time, no fused cell), forward and the
     // gradients of the input and every weight: T 50, batch 32, 128 -> 256 features.
    manual_seed(0);
    nn::LSTM lstm(nn::LSTMOptions(128, 256).num_layers(2));
    lstm->to(kCuda);
    const Tensor seq = randn({50, 32, 128}, {kFloat32, kCuda}).requires_grad_();
    const Tensor grad_out = randn({50, 32, 256}, {kFloat32, kCuda});
    std::vector<Tensor> inputs = lstm->parameters();
    inputs.push_back(seq);
    report("lstm_fwd_bwd_T50_B32_128_256",
           time_ms([&] { (void)autograd::grad({std::get<0>(lstm(seq))}, inputs, {grad_out}); }, 20));
  }
  return 0;
}
