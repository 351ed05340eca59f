// cpu/grid_sample_kernels.cpp: bilinear grid sampling on the CPU, forward and backward, the
// kernels behind grid_sample_forward_stub and grid_sample_backward_stub (native/nn_kernels.h).
// The per-point arithmetic (pixel position, corners, weights, derivatives) is tensor/bilinear.h,
// shared with the CUDA kernels (cuda/backend/grid_sample_kernels.cu), which has the formulas.
//
// Both loops run over points, then channels: a point's corners are found once and serve every
// channel, and the grid gradient of a point is its sum over channels, accumulated in channel
// order in a register. A point none of whose corners is in the image is skipped
// (bilinear::misses_image). Parallel over the batch: sample b reads and writes only its own planes
// and grid rows, so the input gradient's scatter needs no atomics here.
#include "cake/tensor/bilinear.h"
#include "cake/tensor/native/nn_kernels.h"
#include "cake/tensor/parallel.h"

namespace cake::cpu {
namespace {

using bilinear::Corners;
using bilinear::SampleShape;
using bilinear::Unnormalise;

void grid_sample_forward_kernel(const SampleShape& s, const Tensor& input, const Tensor& grid, bool align_corners,
                                const Tensor& out) {
  visit_floating(input.dtype(), "grid_sample", [&]<class T>() {
    const T* in = input.data_ptr<T>();
    const T* g = grid.data_ptr<T>();
    T* o = out.data_ptr<T>();
    const Unnormalise<T> ux(s.w_in, align_corners), uy(s.h_in, align_corners);
    const std::int64_t points = s.h_out * s.w_out, plane = s.h_in * s.w_in;
    parallel_for(0, s.n, 1, [&](std::int64_t lo, std::int64_t hi) {
      for (std::int64_t b = lo; b < hi; ++b)
        for (std::int64_t p = 0; p < points; ++p) {
          const T* gp = g + (b * points + p) * 2;
          const T ix = ux(gp[0]), iy = uy(gp[1]);
          if (bilinear::misses_image(ix, iy, s.w_in, s.h_in)) {
            for (std::int64_t ch = 0; ch < s.c; ++ch) o[(b * s.c + ch) * points + p] = T(0);
            continue;
          }
          const Corners<T> k(ix, iy, s.w_in, s.h_in);
          for (std::int64_t ch = 0; ch < s.c; ++ch) {
            T v00, v01, v10, v11;
            k.read(in + (b * s.c + ch) * plane, s.w_in, v00, v01, v10, v11);
            o[(b * s.c + ch) * points + p] = k.sample(v00, v01, v10, v11);
          }
        }
    });
  });
}

// grad_input (zero-filled by the caller) receives each point's gradient times its corners'
// weights; grad_grid[b, p] = (scale_x sum_ch go d out/d ix, scale_y sum_ch go d out/d iy).
void grid_sample_backward_kernel(const SampleShape& s, const Tensor& grad_out, const Tensor& input, const Tensor& grid,
                                 bool align_corners, const Tensor& grad_input, const Tensor& grad_grid) {
  visit_floating(input.dtype(), "grid_sample", [&]<class T>() {
    const T* in = input.data_ptr<T>();
    const T* g = grid.data_ptr<T>();
    const T* go = grad_out.data_ptr<T>();
    T* gi = grad_input.defined() ? grad_input.data_ptr<T>() : nullptr;
    T* gg = grad_grid.defined() ? grad_grid.data_ptr<T>() : nullptr;
    const Unnormalise<T> ux(s.w_in, align_corners), uy(s.h_in, align_corners);
    const std::int64_t points = s.h_out * s.w_out;
    // Batch items in parallel: two threads never scatter into the same input plane.
    parallel_for(0, s.n, 1, [&](std::int64_t lo, std::int64_t hi) {
      for (std::int64_t b = lo; b < hi; ++b)
        for (std::int64_t p = 0; p < points; ++p) {
          const std::int64_t q = b * points + p;
          bilinear::backward_point(s, ux, uy, b, p, g + q * 2, in, go, gi, gg ? gg + q * 2 : nullptr,
                                   [](T* at, T v) { *at += v; });
        }
    });
  });
}

}  // namespace

CAKE_REGISTER_KERNEL(native::grid_sample_forward_stub, DeviceType::CPU, &grid_sample_forward_kernel);
CAKE_REGISTER_KERNEL(native::grid_sample_backward_stub, DeviceType::CPU, &grid_sample_backward_kernel);

}  // namespace cake::cpu
