// The spatial transformer's ops (autograd/spatial.h): affine_grid composed of differentiable ops
// (one batched matmul, so its backward comes from matmul's), and grid_sample with its own CPU
// forward and backward loops.
//
// Bilinear sampling at a point (ix, iy) in pixel units, x0 = floor(ix), y0 = floor(iy),
// tx = ix - x0, ty = iy - y0, and v(y, x) the input pixel (0 outside the image):
//   out = (1 - ty) [(1 - tx) v(y0, x0) + tx v(y0, x0 + 1)] + ty [(1 - tx) v(y0 + 1, x0) + tx v(y0 + 1, x0 + 1)]
// Its derivatives (Jaderberg et al. 2015, eq. 6-7):
//   d out / d v(corner) = the corner's weight              (the input's gradient, a scatter)
//   d out / d ix = (1 - ty) [v(y0, x0 + 1) - v(y0, x0)] + ty [v(y0 + 1, x0 + 1) - v(y0 + 1, x0)]
//   d out / d iy = (1 - tx) [v(y0 + 1, x0) - v(y0, x0)] + tx [v(y0 + 1, x0 + 1) - v(y0, x0 + 1)]
// and d ix / d x = W / 2 (align_corners false) or (W - 1) / 2 (true), likewise for y.
#include <cmath>

#include "cake/autograd/function.h"
#include "cake/autograd/ops.h"
#include "cake/autograd/spatial.h"
#include "cake/tensor/creation.h"
#include "cake/tensor/parallel.h"

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

// Pixel position of normalised coordinate x, and d(position)/dx.
template <class T>
struct Unnormalise {
  T scale, offset;
  Unnormalise(std::int64_t size, bool align_corners)
      : scale(align_corners ? T(size - 1) / 2 : T(size) / 2), offset(align_corners ? T(size - 1) / 2 : (T(size) - 1) / 2) {}
  T operator()(T x) const { return x * scale + offset; }
};

// The four pixels around (ix, iy), their bilinear weights and whether each lies in the image.
template <class T>
struct Corners {
  std::int64_t x0, y0;
  T tx, ty;
  bool in_x0, in_x1, in_y0, in_y1;
  Corners(T ix, T iy, std::int64_t width, std::int64_t height) {
    const T fx = std::floor(ix), fy = std::floor(iy);
    x0 = static_cast<std::int64_t>(fx);
    y0 = static_cast<std::int64_t>(fy);
    tx = ix - fx;
    ty = iy - fy;
    in_x0 = x0 >= 0 && x0 < width;
    in_x1 = x0 + 1 >= 0 && x0 + 1 < width;
    in_y0 = y0 >= 0 && y0 < height;
    in_y1 = y0 + 1 >= 0 && y0 + 1 < height;
  }
  // The pixel values around the point in one channel plane (0 outside the image).
  void read(const T* plane, std::int64_t width, T& v00, T& v01, T& v10, T& v11) const {
    v00 = in_y0 && in_x0 ? plane[y0 * width + x0] : T(0);
    v01 = in_y0 && in_x1 ? plane[y0 * width + x0 + 1] : T(0);
    v10 = in_y1 && in_x0 ? plane[(y0 + 1) * width + x0] : T(0);
    v11 = in_y1 && in_x1 ? plane[(y0 + 1) * width + x0 + 1] : T(0);
  }
};

struct SampleShape {
  std::int64_t n, c, h_in, w_in, h_out, w_out;
};

SampleShape check_grid_sample(const Tensor& input, const Tensor& grid) {
  CAKE_CHECK(input.defined() && grid.defined(), "grid_sample: input and grid must be defined");
  CAKE_CHECK(input.dim() == 4, "grid_sample: input must be [N, C, H, W], got shape ", input.sizes());
  CAKE_CHECK(grid.dim() == 4 && grid.size(3) == 2 && grid.size(0) == input.size(0),
             "grid_sample: grid must be [N, H_out, W_out, 2] with N = ", input.size(0), ", got shape ", grid.sizes());
  CAKE_CHECK(input.dtype() == grid.dtype(), "grid_sample: input (", dtype_name(input.dtype()), ") and grid (",
             dtype_name(grid.dtype()), ") must have the same dtype");
  CAKE_CHECK(input.device() == grid.device(), "grid_sample: input and grid must be on the same device");
  return {input.size(0), input.size(1), input.size(2), input.size(3), grid.size(1), grid.size(2)};
}

// out [N, C, H_out, W_out] from contiguous CPU input and grid.
Tensor grid_sample_forward(const Tensor& input, const Tensor& grid, const SampleShape& s, bool align_corners) {
  Tensor out = empty({s.n, s.c, s.h_out, s.w_out}, TensorOptions(input.dtype()));
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
          const Corners<T> k(ux(gp[0]), uy(gp[1]), s.w_in, s.h_in);
          for (std::int64_t ch = 0; ch < s.c; ++ch) {
            T v00, v01, v10, v11;
            k.read(in + (b * s.c + ch) * plane, s.w_in, v00, v01, v10, v11);
            o[(b * s.c + ch) * points + p] =
                (1 - k.ty) * ((1 - k.tx) * v00 + k.tx * v01) + k.ty * ((1 - k.tx) * v10 + k.tx * v11);
          }
        }
    });
  });
  return out;
}

// The gradients of grid_sample for the output gradient gy (contiguous CPU): {d input, d grid},
// each undefined when not wanted.
TensorList grid_sample_backward(const Tensor& gy, const Tensor& input, const Tensor& grid, const SampleShape& s,
                                bool align_corners, bool want_input, bool want_grid) {
  Tensor gin = want_input ? zeros(input.sizes(), TensorOptions(input.dtype())) : Tensor();
  Tensor ggrid = want_grid ? zeros(grid.sizes(), TensorOptions(grid.dtype())) : Tensor();
  visit_floating(input.dtype(), "grid_sample", [&]<class T>() {
    const T* in = input.data_ptr<T>();
    const T* g = grid.data_ptr<T>();
    const T* go = gy.data_ptr<T>();
    T* gi = want_input ? gin.data_ptr<T>() : nullptr;
    T* gg = want_grid ? ggrid.data_ptr<T>() : nullptr;
    const Unnormalise<T> ux(s.w_in, align_corners), uy(s.h_in, align_corners);
    const std::int64_t points = s.h_out * s.w_out, plane = s.h_in * s.w_in;
    // Parallel over the batch: sample b writes only its own input-gradient planes and grid rows.
    parallel_for(0, s.n, 1, [&](std::int64_t lo, std::int64_t hi) {
      for (std::int64_t b = lo; b < hi; ++b)
        for (std::int64_t p = 0; p < points; ++p) {
          const T* gp = g + (b * points + p) * 2;
          const Corners<T> k(ux(gp[0]), uy(gp[1]), s.w_in, s.h_in);
          const T w00 = (1 - k.ty) * (1 - k.tx), w01 = (1 - k.ty) * k.tx, w10 = k.ty * (1 - k.tx), w11 = k.ty * k.tx;
          T d_ix = 0, d_iy = 0;
          for (std::int64_t ch = 0; ch < s.c; ++ch) {
            const T go_p = go[(b * s.c + ch) * points + p];
            if (gi) {
              T* gplane = gi + (b * s.c + ch) * plane;
              if (k.in_y0 && k.in_x0) gplane[k.y0 * s.w_in + k.x0] += w00 * go_p;
              if (k.in_y0 && k.in_x1) gplane[k.y0 * s.w_in + k.x0 + 1] += w01 * go_p;
              if (k.in_y1 && k.in_x0) gplane[(k.y0 + 1) * s.w_in + k.x0] += w10 * go_p;
              if (k.in_y1 && k.in_x1) gplane[(k.y0 + 1) * s.w_in + k.x0 + 1] += w11 * go_p;
            }
            if (gg) {
              T v00, v01, v10, v11;
              k.read(in + (b * s.c + ch) * plane, s.w_in, v00, v01, v10, v11);
              d_ix += go_p * ((1 - k.ty) * (v01 - v00) + k.ty * (v11 - v10));
              d_iy += go_p * ((1 - k.tx) * (v10 - v00) + k.tx * (v11 - v01));
            }
          }
          if (gg) {
            gg[(b * points + p) * 2] = d_ix * ux.scale;
            gg[(b * points + p) * 2 + 1] = d_iy * uy.scale;
          }
        }
    });
  });
  return {gin, ggrid};
}

}  // namespace

Tensor affine_grid(const Tensor& theta, const Shape& size, bool align_corners) {
  CAKE_CHECK(theta.defined() && theta.dim() == 3 && theta.size(1) == 2 && theta.size(2) == 3,
             "affine_grid: theta must be [N, 2, 3], got shape ", theta.defined() ? theta.sizes() : Shape{});
  CAKE_CHECK(size.size() == 4 && size[0] == theta.size(0) && size[2] > 0 && size[3] > 0,
             "affine_grid: size must be {N, C, H, W} with N = ", theta.size(0), " and H, W > 0, got ", size);
  const std::int64_t h = size[2], w = size[3];
  // The base grid [H W, 3]: row i W + j is (x_j, y_i, 1).
  Tensor base = empty({h * w, 3}, TensorOptions(kFloat64));
  double* b = base.data_ptr<double>();
  for (std::int64_t i = 0; i < h; ++i)
    for (std::int64_t j = 0; j < w; ++j) {
      b[(i * w + j) * 3] = pixel_centre(j, w, align_corners);
      b[(i * w + j) * 3 + 1] = pixel_centre(i, h, align_corners);
      b[(i * w + j) * 3 + 2] = 1.0;
    }
  base = base.to(theta.device(), theta.dtype());
  // grid[n] = base theta_n^T for every n at once: the rows of all the thetas [2 N, 3] times
  // base^T [3, H W] is one GEMM (a broadcast matmul would copy base N times).
  const Tensor rows = matmul(theta.reshape({size[0] * 2, 3}), base.transpose(0, 1));  // [2 N, H W]
  return rows.reshape({size[0], 2, h * w}).transpose(1, 2).reshape({size[0], h, w, 2});
}

Tensor grid_sample(const Tensor& input, const Tensor& grid, bool align_corners) {
  const SampleShape s = check_grid_sample(input, grid);
  const Device device = input.device();
  // The loops read contiguous CPU buffers; a tensor elsewhere makes the round trip.
  const Tensor x = input.detach().cpu().contiguous(), g = grid.detach().cpu().contiguous();
  Tensor y = grid_sample_forward(x, g, s, align_corners).to(device);
  if (needs_grad({input, grid})) {
    const bool want_input = input.requires_grad(), want_grid = grid.requires_grad();
    record("GridSampleBackward", {input, grid}, {y},
           [s, align_corners, want_input, want_grid, sx = SavedTensor(x), sg = SavedTensor(g), device](const TensorList& grads) {
             autograd::check_double_backward("grid_sample");
             const Tensor gy = grads[0].detach().cpu().contiguous();
             TensorList result = grid_sample_backward(gy, sx.get(), sg.get(), s, align_corners, want_input, want_grid);
             for (Tensor& t : result)
               if (t.defined()) t = t.to(device);
             return result;
           });
  }
  return y;
}

}  // namespace cake
