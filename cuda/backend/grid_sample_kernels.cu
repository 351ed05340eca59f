// cuda/backend/grid_sample_kernels.cu: bilinear grid sampling (grid_sample, zero padding) on the
// GPU, forward and backward, float32 and float64. The per-point arithmetic is tensor/bilinear.h,
// the same CAKE_HD code the CPU kernel (tensor/cpu/grid_sample_kernels.cpp) runs, so both
// devices evaluate the same formula; they agree to rounding, not to the bit (nvcc fuses a * b + c
// into one multiply-add where g++ may not, and the input gradient's sums come in another order).
//
// Forward: a thread per output element (b, ch, p), p fastest, so neighbouring threads read
// neighbouring grid points and write neighbouring outputs; each finds its point's corners itself
// (a handful of flops, cheaper than sharing them through memory).
// Backward: a thread per point (b, p) loops over the channels in the CPU's order. The grid
// gradient of a point is its sum over channels, kept in a register, so it needs no atomics and
// adds in the CPU's order. The input gradient is a scatter: points near each other share corners,
// so each corner is added by atomicAdd (native for float64 from sm_60; Cake builds for sm_80 and
// sm_90). The order of those additions varies from run to run, so the input gradient is not
// bitwise reproducible on CUDA (as PyTorch's grid_sampler_2d_backward, which also uses atomics).
// Written after the last GPU session: not yet run on a GPU (tests/cuda/test_grid_sample_gpu.cpp
// and the gradcheck rows replayed by the conformance suite will test it).
#include <cuda_runtime.h>

#include <cstdint>

#include "cake/cuda/backend/check.cuh"
#include "cake/cuda/backend/device_math.cuh"
#include "cake/cuda/backend/launchers.h"
#include "cake/tensor/bilinear.h"

namespace cake::cuda::kernels {
namespace {

using bilinear::Corners;
using bilinear::SampleShape;
using bilinear::Unnormalise;

constexpr int kThreads = 256;

// out[(b c + ch) points + p] = bilinear sample of plane (b, ch) at grid point (b, p).
template <class T>
__global__ void grid_sample_kernel(SampleShape s, const T* in, const T* grid, bool align_corners, T* out) {
  const std::int64_t points = s.h_out * s.w_out, plane = s.h_in * s.w_in;
  const std::int64_t total = s.n * s.c * points;
  const Unnormalise<T> ux(s.w_in, align_corners), uy(s.h_in, align_corners);
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t o = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; o < total; o += stride) {
    const std::int64_t p = o % points, bc = o / points, b = bc / s.c;
    const T* gp = grid + (b * points + p) * 2;
    const Corners<T> k(ux(gp[0]), uy(gp[1]), s.w_in, s.h_in);
    T v00, v01, v10, v11;
    k.read(in + bc * plane, s.w_in, v00, v01, v10, v11);
    out[o] = k.sample(v00, v01, v10, v11);
  }
}

// A thread per point (b, p), running the CPU kernel's loop body (bilinear::backward_point).
// grad_input (zero-filled) receives w_corner * go at each in-image corner, atomically;
// grad_grid[b, p] is written once.
template <class T>
__global__ void grid_sample_backward_kernel(SampleShape s, const T* go, const T* in, const T* grid,
                                            bool align_corners, T* gi, T* gg) {
  const std::int64_t points = s.h_out * s.w_out;
  const std::int64_t total = s.n * points;
  const Unnormalise<T> ux(s.w_in, align_corners), uy(s.h_in, align_corners);
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t q = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; q < total; q += stride) {
    const std::int64_t b = q / points, p = q % points;  // q = b points + p
    // Neighbouring threads hold neighbouring p, so the reads of go are coalesced.
    bilinear::backward_point(s, ux, uy, b, p, grid + q * 2, in, go, gi, gg ? gg + q * 2 : nullptr,
                             [](T* at, T v) { atomicAdd(at, v); });
  }
}

}  // namespace

void launch_grid_sample(ScalarType type, const SampleShape& s, const void* input, const void* grid,
                        bool align_corners, void* out, Stream stream) {
  const std::int64_t total = s.n * s.c * s.h_out * s.w_out;
  if (total == 0) return;
  visit_floating(type, "grid_sample", [&]<class T>() {
    grid_sample_kernel<T><<<blocks_for(total, kThreads), kThreads, 0, static_cast<cudaStream_t>(stream)>>>(
        s, static_cast<const T*>(input), static_cast<const T*>(grid), align_corners, static_cast<T*>(out));
  });
  check_launch("grid_sample");
}

void launch_grid_sample_backward(ScalarType type, const SampleShape& s, const void* grad_out, const void* input,
                                 const void* grid, bool align_corners, void* grad_input, void* grad_grid,
                                 Stream stream) {
  const std::int64_t total = s.n * s.h_out * s.w_out;
  if (total == 0 || (grad_input == nullptr && grad_grid == nullptr)) return;
  visit_floating(type, "grid_sample_backward", [&]<class T>() {
    grid_sample_backward_kernel<T><<<blocks_for(total, kThreads), kThreads, 0, static_cast<cudaStream_t>(stream)>>>(
        s, static_cast<const T*>(grad_out), static_cast<const T*>(input), static_cast<const T*>(grid), align_corners,
        static_cast<T*>(grad_input), static_cast<T*>(grad_grid));
  });
  check_launch("grid_sample_backward");
}

}  // namespace cake::cuda::kernels
