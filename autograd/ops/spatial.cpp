// The spatial transformer's ops (autograd/spatial.h): affine_grid composed of differentiable ops
// (one matmul, so its backward comes from matmul's), and grid_sample, whose forward and
// backward are kernels of their own (native::grid_sample_forward / grid_sample_backward in
// native/nn_kernels.h) on the tensors' device: a direct loop on the CPU
// (cpu/grid_sample_kernels.cpp), a thread per output or point on CUDA
// (cuda/backend/grid_sample_kernels.cu). Bilinear sampling, its derivatives (Jaderberg et al.
// 2015, eq. 6-7) and the pixel-unit conversion are written once, in tensor/bilinear.h.
#include <cstdint>

#include "cake/autograd/function.h"
#include "cake/autograd/ops.h"
#include "cake/autograd/spatial.h"
#include "cake/tensor/creation.h"
#include "cake/tensor/native/nn_kernels.h"

namespace cake {

using autograd::needs_grad;
using autograd::record;
using autograd::SavedTensor;
using autograd::TensorList;

namespace {

// Normalised coordinate of pixel j's centre in an image `size` pixels wide (see spatial.h).
double pixel_centre(std::int64_t j, std::int64_t size, bool align_corners) {
  if (align_corners) return size > 1 ? 2.0 * static_cast<double>(j) / static_cast<double>(size - 1) - 1.0 : 0.0;
  return (2.0 * static_cast<double>(j) + 1.0) / static_cast<double>(size) - 1.0;
}

}  // namespace

Tensor affine_grid(const Tensor& theta, const Shape& size, bool align_corners) {
  CAKE_CHECK(theta.defined() && theta.dim() == 3 && theta.size(1) == 2 && theta.size(2) == 3,
             "affine_grid: theta must be [N, 2, 3], got shape ", theta.defined() ? theta.sizes() : Shape{});
  CAKE_CHECK(size.size() == 4 && size[0] == theta.size(0) && size[2] > 0 && size[3] > 0,
             "affine_grid: size must be {N, C, H, W} with N = ", theta.size(0), " and H, W > 0, got ", size);
  const std::int64_t n = size[0], h = size[2], w = size[3], points = h * w;
  // grid[n, p, c] = theta[n, c, :] . (x_p, y_p, 1), where point p = i W + j is pixel (i, j)'s
  // centre. As one GEMM that writes the grid in its final layout [N, H W, 2] (no transposing
  // copy here, none in grid_sample, none of its gradient): theta viewed as [N, 6] (row n is
  // theta_n's two rows) times the lifted base [6, H W 2], whose row 3 c + k holds the k-th
  // coordinate of point p at column 2 p + c and zero elsewhere. The zeros double the inner
  // size from 3 to 6, which costs nothing beside writing the grid.
  Tensor lifted = zeros({6, points * 2}, TensorOptions(kFloat64));
  double* l = lifted.data_ptr<double>();
  for (std::int64_t i = 0; i < h; ++i)
    for (std::int64_t j = 0; j < w; ++j) {
      const std::int64_t p = i * w + j;
      const double point[3] = {pixel_centre(j, w, align_corners), pixel_centre(i, h, align_corners), 1.0};
      for (std::int64_t c = 0; c < 2; ++c)
        for (std::int64_t k = 0; k < 3; ++k) l[(3 * c + k) * points * 2 + 2 * p + c] = point[k];
    }
  lifted = lifted.to(theta.device(), theta.dtype());
  return matmul(theta.reshape({n, 6}), lifted).reshape({n, h, w, 2});
}

Tensor grid_sample(const Tensor& input, const Tensor& grid, bool align_corners) {
  native::grid_sample_shape(input, grid);  // the checks first: their errors name the shapes
  const Tensor x = input.detach().contiguous(), g = grid.detach().contiguous();
  Tensor y = native::grid_sample_forward(x, g, align_corners);
  if (needs_grad({input, grid})) {
    const bool want_input = input.requires_grad(), want_grid = grid.requires_grad();
    record("GridSampleBackward", {input, grid}, {y},
           [align_corners, want_input, want_grid, sx = SavedTensor(x), sg = SavedTensor(g)](const TensorList& grads) {
             // The backward is a kernel, not composed of differentiable ops: no second derivative.
             autograd::check_double_backward("grid_sample");
             auto [grad_input, grad_grid] =
                 native::grid_sample_backward(grads[0].detach(), sx.get(), sg.get(), align_corners, want_input, want_grid);
             return TensorList{grad_input, grad_grid};
           });
  }
  return y;
}

}  // namespace cake
