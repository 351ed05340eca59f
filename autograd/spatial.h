// spatial.h: the spatial transformer's two differentiable ops (Jaderberg, Simonyan, Zisserman &
// Kavukcuoglu 2015, NeurIPS, "Spatial Transformer Networks", section 3.2-3.3), with the
// semantics of PyTorch's F.affine_grid and F.grid_sample (bilinear, zero padding).
//
//   cake::Tensor theta = cake::tensor({1.0, 0.0, 0.0, 0.0, 1.0, 0.0}).reshape({1, 2, 3});  // identity
//   cake::Tensor grid = cake::affine_grid(theta, {1, 1, 28, 28});    // [1, 28, 28, 2] (x, y) in [-1, 1]
//   cake::Tensor out = cake::grid_sample(image, grid);               // image [1, 1, H, W] -> [1, 1, 28, 28]
//
// Coordinates are normalised: x = -1 is the left edge of the image and x = +1 its right edge,
// y = -1 the top and y = +1 the bottom. With align_corners = false (the default, as PyTorch) the
// extremes -1 and +1 are the OUTER edges of the corner pixels, so pixel j of a width-W image has
// its centre at x_j = (2 j + 1) / W - 1; with align_corners = true they are the CENTRES of the
// corner pixels, x_j = 2 j / (W - 1) - 1. The same rule maps a sampling point back to a pixel
// position: ix = ((x + 1) W - 1) / 2 (false) or ix = (x + 1) (W - 1) / 2 (true).
//
// grid_sample reads input at those positions by bilinear interpolation of the four pixels around
// it, and a pixel outside the image counts as 0 (PyTorch's padding_mode = "zeros"). Its gradient
// reaches the input (each output spreads its gradient over its four pixels with the bilinear
// weights) and the grid (the weights' derivative in x and y), so a network that predicts theta
// learns where to look. The derivative in x is discontinuous where x crosses a pixel centre, as
// in every bilinear sampler. Forward and backward are kernels (a batched gather with no BLAS
// form) that run on the tensors' device: a direct loop on the CPU, CUDA kernels on a GPU
// (native/nn_kernels.h). The backward is itself a kernel, so grid_sample is differentiable once
// (create_graph = true through it is an error).
#pragma once

#include "cake/tensor/tensor.h"

namespace cake {

// theta [N, 2, 3] maps output coordinates (x, y, 1) to input coordinates; size is the output's
// {N, C, H, W}. Returns the grid [N, H, W, 2] whose [n, i, j] is theta_n (x_j, y_i, 1).
Tensor affine_grid(const Tensor& theta, const Shape& size, bool align_corners = false);

// input [N, C, H_in, W_in], grid [N, H_out, W_out, 2] (x, y), same dtype -> [N, C, H_out, W_out].
Tensor grid_sample(const Tensor& input, const Tensor& grid, bool align_corners = false);

}  // namespace cake
