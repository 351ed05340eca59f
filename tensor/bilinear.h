// bilinear.h: the per-point arithmetic of grid_sample (bilinear, zero padding), written once
// for the CPU kernel (tensor/cpu/grid_sample_kernels.cpp) and the CUDA kernels
// (cuda/backend/grid_sample_kernels.cu): plain numbers, no Tensor, CAKE_HD functions that g++
// and nvcc both compile, as the elementwise functors of tensor/functors.h are.
//
//   const float plane[4] = {1, 2, 3, 4};                                  // a 2 x 2 image
//   const cake::bilinear::Unnormalise<float> ux(2, false), uy(2, false);  // width, height
//   const cake::bilinear::Corners<float> k(ux(0.0f), uy(0.0f), 2, 2);     // the image's centre
//   float v00, v01, v10, v11;
//   k.read(plane, 2, v00, v01, v10, v11);
//   float out = k.sample(v00, v01, v10, v11);                             // 2.5, the mean of the four
//
// Bilinear sampling at a point (ix, iy) in pixel units, x0 = floor(ix), y0 = floor(iy),
// tx = ix - x0, ty = iy - y0, and v(y, x) the input pixel (0 outside the image):
//   out = (1 - ty) [(1 - tx) v(y0, x0) + tx v(y0, x0 + 1)] + ty [(1 - tx) v(y0 + 1, x0) + tx v(y0 + 1, x0 + 1)]
// Its derivatives (Jaderberg et al. 2015, "Spatial Transformer Networks", eq. 6-7):
//   d out / d v(corner) = the corner's weight              (the input's gradient, a scatter)
//   d out / d ix = (1 - ty) [v(y0, x0 + 1) - v(y0, x0)] + ty [v(y0 + 1, x0 + 1) - v(y0 + 1, x0)]
//   d out / d iy = (1 - tx) [v(y0 + 1, x0) - v(y0, x0)] + tx [v(y0 + 1, x0 + 1) - v(y0, x0 + 1)]
// and d ix / d x = W / 2 (align_corners false) or (W - 1) / 2 (true), likewise for y
// (Unnormalise::scale). autograd/spatial.h has the coordinate conventions.
#pragma once

#include <cmath>
#include <cstdint>

#include "cake/tensor/functors.h"  // CAKE_HD

namespace cake::bilinear {

// The sizes of one grid_sample: input [n, c, h_in, w_in], grid [n, h_out, w_out, 2],
// output [n, c, h_out, w_out].
struct SampleShape {
  std::int64_t n, c, h_in, w_in, h_out, w_out;
};

// Pixel position of normalised coordinate x in an image `size` pixels wide, and d(position)/dx
// (= scale).
template <class T>
struct Unnormalise {
  T scale, offset;
  CAKE_HD Unnormalise(std::int64_t size, bool align_corners)
      : scale(align_corners ? T(size - 1) / 2 : T(size) / 2), offset(align_corners ? T(size - 1) / 2 : (T(size) - 1) / 2) {}
  CAKE_HD T operator()(T x) const { return x * scale + offset; }
};

// Whether the point (ix, iy) lies so far outside the image that none of its four corners is in
// it: it samples 0 and has no gradient, so the kernels skip it (most of an image's points, when
// a small template is moved onto it). An infinite or NaN coordinate is not skipped: it goes
// through the arithmetic below and samples NaN, as PyTorch's grid_sample does, so that a NaN
// check downstream sees a diverged pose.
template <class T>
CAKE_HD bool misses_image(T ix, T iy, std::int64_t width, std::int64_t height) {
  return (ix < T(-1) || iy < T(-1) || ix >= T(width) || iy >= T(height)) && std::isfinite(ix) && std::isfinite(iy);
}

// The four pixels around (ix, iy), their bilinear weights and whether each lies in the image.
// Every read and write of a corner is guarded by its in-range flags, so a point far outside the
// image touches no memory. An infinite or NaN coordinate has no corners in the image (x0 = y0 =
// -2) on every device: converting its floor to an integer is undefined in C++ and differs between
// x86 (INT64_MIN) and CUDA (0 for NaN), and it must not scatter gradient into pixel (0, 0) on one
// of them only. Its weights tx, ty are NaN, so it still samples NaN (misses_image).
template <class T>
struct Corners {
  std::int64_t x0, y0;
  T tx, ty;
  bool in_x0, in_x1, in_y0, in_y1;
  CAKE_HD Corners(T ix, T iy, std::int64_t width, std::int64_t height) {
    const T fx = std::floor(ix), fy = std::floor(iy);
    const bool finite = std::isfinite(ix) && std::isfinite(iy);
    x0 = finite ? static_cast<std::int64_t>(fx) : -2;
    y0 = finite ? static_cast<std::int64_t>(fy) : -2;
    tx = ix - fx;
    ty = iy - fy;
    in_x0 = x0 >= 0 && x0 < width;
    in_x1 = x0 + 1 >= 0 && x0 + 1 < width;
    in_y0 = y0 >= 0 && y0 < height;
    in_y1 = y0 + 1 >= 0 && y0 + 1 < height;
  }
  // The pixel values around the point in one channel plane (0 outside the image).
  CAKE_HD void read(const T* plane, std::int64_t width, T& v00, T& v01, T& v10, T& v11) const {
    v00 = in_y0 && in_x0 ? plane[y0 * width + x0] : T(0);
    v01 = in_y0 && in_x1 ? plane[y0 * width + x0 + 1] : T(0);
    v10 = in_y1 && in_x0 ? plane[(y0 + 1) * width + x0] : T(0);
    v11 = in_y1 && in_x1 ? plane[(y0 + 1) * width + x0 + 1] : T(0);
  }
  // The bilinear value from the four pixels (the formula above, in its nested form).
  CAKE_HD T sample(T v00, T v01, T v10, T v11) const {
    return (1 - ty) * ((1 - tx) * v00 + tx * v01) + ty * ((1 - tx) * v10 + tx * v11);
  }
  // The corners' weights: d out / d v(corner).
  CAKE_HD T w00() const { return (1 - ty) * (1 - tx); }
  CAKE_HD T w01() const { return (1 - ty) * tx; }
  CAKE_HD T w10() const { return ty * (1 - tx); }
  CAKE_HD T w11() const { return ty * tx; }
  // d out / d ix and d out / d iy (in pixel units; times Unnormalise::scale for the grid's).
  CAKE_HD T d_ix(T v00, T v01, T v10, T v11) const { return (1 - ty) * (v01 - v00) + ty * (v11 - v10); }
  CAKE_HD T d_iy(T v00, T v01, T v10, T v11) const { return (1 - tx) * (v10 - v00) + tx * (v11 - v01); }
  // Whether each corner lies in the image (both its row and its column).
  CAKE_HD bool has00() const { return in_y0 && in_x0; }
  CAKE_HD bool has01() const { return in_y0 && in_x1; }
  CAKE_HD bool has10() const { return in_y1 && in_x0; }
  CAKE_HD bool has11() const { return in_y1 && in_x1; }
  // The adjoint of read + sample: g times each corner's weight added into the corners that lie
  // in the image, by add(pointer, value) (a plain += on the CPU, atomicAdd on CUDA).
  template <class Add>
  CAKE_HD void scatter(T* plane, std::int64_t width, T g, Add add) const {
    if (has00()) add(plane + y0 * width + x0, w00() * g);
    if (has01()) add(plane + y0 * width + x0 + 1, w01() * g);
    if (has10()) add(plane + (y0 + 1) * width + x0, w10() * g);
    if (has11()) add(plane + (y0 + 1) * width + x0 + 1, w11() * g);
  }
};

// The backward pass of grid point p of batch item b over its s.c channels, the same on both
// devices (the CPU loops over the points, CUDA gives each point a thread). `in`, `go` and `gi`
// point at the whole input, output gradient and input gradient; gi (zero-filled by the caller)
// receives the point's gradient times its corners' weights through add (as Corners::scatter),
// and gg_point[0..1] the grid gradient (scale_x sum_ch go d out/d ix, scale_y sum_ch go d out/d iy),
// summed over the channels in order. Either of gi, gg_point may be null: that gradient is skipped.
template <class T, class Add>
CAKE_HD void backward_point(const SampleShape& s, const Unnormalise<T>& ux, const Unnormalise<T>& uy, std::int64_t b,
                            std::int64_t p, const T* point, const T* in, const T* go, T* gi, T* gg_point, Add add) {
  const std::int64_t points = s.h_out * s.w_out, plane = s.h_in * s.w_in;
  const T ix = ux(point[0]), iy = uy(point[1]);
  if (misses_image(ix, iy, s.w_in, s.h_in)) {
    if (gg_point) gg_point[0] = gg_point[1] = T(0);
    return;
  }
  const Corners<T> k(ix, iy, s.w_in, s.h_in);
  T d_ix = 0, d_iy = 0;
  for (std::int64_t ch = 0; ch < s.c; ++ch) {
    const T go_p = go[(b * s.c + ch) * points + p];
    if (gi) k.scatter(gi + (b * s.c + ch) * plane, s.w_in, go_p, add);
    if (gg_point) {
      T v00, v01, v10, v11;
      k.read(in + (b * s.c + ch) * plane, s.w_in, v00, v01, v10, v11);
      d_ix += go_p * k.d_ix(v00, v01, v10, v11);
      d_iy += go_p * k.d_iy(v00, v01, v10, v11);
    }
  }
  if (gg_point) {
    gg_point[0] = d_ix * ux.scale;
    gg_point[1] = d_iy * uy.scale;
  }
}

}  // namespace cake::bilinear
