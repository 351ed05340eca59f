// cpu/nn_routing.cpp: which CPU implementation runs each neural-network kernel.
//
// The rule, in one place: oneDNN takes float32 when Cake was built with it and
// native::use_onednn() is on (the default); everything else (float64, a build without oneDNN,
// set_use_onednn(false), or a case oneDNN rejects) runs Cake's own fallback. oneDNN 2.6 has no
// float64 kernels, so float64, and with it every finite-difference gradient check, always
// exercises the fallback.
// Softmax and adaptive pooling have only Cake's kernels (softmax_kernels.cpp, pool_kernels.cpp).
// Max pooling always runs Cake's kernel too: on NCHW tensors oneDNN 2.6 runs its plain
// simple_nchw loop, 3.6x as slow as Cake's vectorised 2x2 rows (66.9 against 18.7 ms for a
// 256 x 64 x 24 x 24 map on 2 threads, PyTorch 1.13 32.8 ms; bench/bench_conv.cpp,
// max_pool_2x2_inference), and its backward needs Cake's indices anyway.
// Batch normalisation always runs Cake's kernel (norm_kernels.cpp): on Cake's NCHW tensors
// oneDNN 2.6 offers only its scalar reference implementation (ncsp_bnorm), which took about 3x as
// long (bench/bench_train_step.cpp, docs/benchmarks.md "Training step of the small convnets").
// bfloat16/float16 convolutions (the reference for the GPU's, tensor/half.h) widen their operands
// to float32 exactly, convolve in float32 and round each result once.
#include "cake/tensor/cpu/nn_cpu.h"
#include "cake/tensor/native/elementwise.h"

namespace cake::cpu {
namespace {

using native::ConvGeometry;
using native::PoolGeometry;

#ifdef CAKE_HAVE_ONEDNN
bool onednn_takes(const Tensor& t) { return t.dtype() == kFloat32 && native::use_onednn(); }
// Runs `onednn_call` when oneDNN takes this dtype, reporting whether it handled the case.
#define CAKE_TRY_ONEDNN(tensor, onednn_call) \
  if (onednn_takes(tensor) && (onednn_call)) return
#else
#define CAKE_TRY_ONEDNN(tensor, onednn_call)
#endif

Tensor widened(const Tensor& t) { return t.defined() ? native::to_dtype(t, kFloat32) : Tensor(); }
Tensor float_like(const Tensor& t) { return t.defined() ? make_empty(t.sizes(), kFloat32, t.device()) : Tensor(); }
void round_into(const Tensor& out, const Tensor& wide) {
  if (out.defined()) native::copy_(out, wide);
}

void conv2d_forward(const ConvGeometry& g, const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& y) {
  if (is_half(x.dtype())) {
    const Tensor wide_y = float_like(y);
    conv2d_forward(g, widened(x), widened(w), widened(b), wide_y);
    return round_into(y, wide_y);
  }
  CAKE_TRY_ONEDNN(x, onednn::conv2d_forward(g, x, w, b, y));
  fallback::conv2d_forward(g, x, w, b, y);
}

void conv2d_backward_data(const ConvGeometry& g, const Tensor& gy, const Tensor& w, const Tensor& gx) {
  if (is_half(gy.dtype())) {
    const Tensor wide_gx = float_like(gx);
    conv2d_backward_data(g, widened(gy), widened(w), wide_gx);
    return round_into(gx, wide_gx);
  }
  CAKE_TRY_ONEDNN(gy, onednn::conv2d_backward_data(g, gy, w, gx));
  fallback::conv2d_backward_data(g, gy, w, gx);
}

void conv2d_backward_weight(const ConvGeometry& g, const Tensor& x, const Tensor& gy, const Tensor& gw,
                            const Tensor& gb) {
  if (is_half(x.dtype())) {
    const Tensor wide_gw = float_like(gw), wide_gb = float_like(gb);
    conv2d_backward_weight(g, widened(x), widened(gy), wide_gw, wide_gb);
    round_into(gw, wide_gw);
    return round_into(gb, wide_gb);
  }
  CAKE_TRY_ONEDNN(x, onednn::conv2d_backward_weight(g, x, gy, gw, gb));
  fallback::conv2d_backward_weight(g, x, gy, gw, gb);
}

void avg_pool2d_forward(const PoolGeometry& g, const Tensor& x, const Tensor& y) {
  CAKE_TRY_ONEDNN(x, onednn::avg_pool2d_forward(g, x, y));
  fallback::avg_pool2d_forward(g, x, y);
}

void avg_pool2d_backward(const PoolGeometry& g, const Tensor& gy, const Tensor& gx) {
  CAKE_TRY_ONEDNN(gy, onednn::avg_pool2d_backward(g, gy, gx));
  fallback::avg_pool2d_backward(g, gy, gx);
}

#undef CAKE_TRY_ONEDNN

}  // namespace

CAKE_REGISTER_KERNEL(native::conv2d_forward_stub, DeviceType::CPU, &conv2d_forward);
CAKE_REGISTER_KERNEL(native::conv2d_backward_data_stub, DeviceType::CPU, &conv2d_backward_data);
CAKE_REGISTER_KERNEL(native::conv2d_backward_weight_stub, DeviceType::CPU, &conv2d_backward_weight);
CAKE_REGISTER_KERNEL(native::max_pool2d_forward_stub, DeviceType::CPU, &fallback::max_pool2d_forward);
CAKE_REGISTER_KERNEL(native::max_pool2d_backward_stub, DeviceType::CPU, &fallback::max_pool2d_backward);
CAKE_REGISTER_KERNEL(native::avg_pool2d_forward_stub, DeviceType::CPU, &avg_pool2d_forward);
CAKE_REGISTER_KERNEL(native::avg_pool2d_backward_stub, DeviceType::CPU, &avg_pool2d_backward);
CAKE_REGISTER_KERNEL(native::batch_norm_forward_stub, DeviceType::CPU, &fallback::batch_norm_forward);
CAKE_REGISTER_KERNEL(native::batch_norm_backward_stub, DeviceType::CPU, &fallback::batch_norm_backward);

}  // namespace cake::cpu
