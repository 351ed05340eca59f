// cpu/pool_kernels.cpp: Cake's own 2-D pooling (max, average, adaptive average), forward and
// backward, as direct loops over each [H, W] plane; planes (image x channel) run in parallel.
//
// Window of output (oh, ow): rows [oh * sH - pH, oh * sH - pH + kH), clipped to the input when
// reading. Conventions follow PyTorch exactly:
//   max:  the first maximum in row-major window order wins; a NaN wins over numbers (NaNs
//         propagate). Its flat index ih * W + iw is saved for backward.
//   avg:  the divisor is the window clipped to the *padded* input when count_include_pad (so a
//         ceil-mode window running past the padding is not charged for it), else the number of
//         real input elements under the window.
//   adaptive avg: rows [floor(oh * H / OH), ceil((oh + 1) * H / OH)), likewise columns.
#include <algorithm>
#include <cmath>
#include <limits>

#include "cake/tensor/cpu/nn_cpu.h"
#include "cake/tensor/parallel.h"

namespace cake::cpu {
namespace {

using native::PoolGeometry;

// Planes per parallel chunk so that a chunk does roughly 32k window reads.
std::int64_t plane_grain(const PoolGeometry& g, std::int64_t reads_per_output) {
  return std::max<std::int64_t>(1, 32768 / std::max<std::int64_t>(1, g.out_h * g.out_w * reads_per_output));
}

// One window, clipped: [h0, h1) x [w0, w1) in input coordinates, and its average-pool divisor.
struct Window {
  std::int64_t h0, h1, w0, w1, divisor;
};

Window pool_window(const PoolGeometry& g, std::int64_t oh, std::int64_t ow) {
  std::int64_t h0 = oh * g.stride_h - g.pad_h, w0 = ow * g.stride_w - g.pad_w;
  std::int64_t h1 = std::min(h0 + g.kernel_h, g.in_h + g.pad_h), w1 = std::min(w0 + g.kernel_w, g.in_w + g.pad_w);
  const std::int64_t padded_size = (h1 - h0) * (w1 - w0);
  h0 = std::max<std::int64_t>(h0, 0), w0 = std::max<std::int64_t>(w0, 0);
  h1 = std::min(h1, g.in_h), w1 = std::min(w1, g.in_w);
  return {h0, h1, w0, w1, g.count_include_pad ? padded_size : (h1 - h0) * (w1 - w0)};
}

Window adaptive_window(const PoolGeometry& g, std::int64_t oh, std::int64_t ow) {
  const std::int64_t h0 = oh * g.in_h / g.out_h, h1 = ((oh + 1) * g.in_h + g.out_h - 1) / g.out_h;
  const std::int64_t w0 = ow * g.in_w / g.out_w, w1 = ((ow + 1) * g.in_w + g.out_w - 1) / g.out_w;
  return {h0, h1, w0, w1, (h1 - h0) * (w1 - w0)};
}

// Runs f(plane_in, plane_out) over every plane, `in` planes of H*W and `out` planes of OH*OW.
template <class In, class Out, class F>
void for_each_plane(const PoolGeometry& g, std::int64_t reads_per_output, In* in, Out* out, const F& f) {
  const std::int64_t in_plane = g.in_h * g.in_w, out_plane = g.out_h * g.out_w;
  parallel_for(0, g.batch * g.channels, plane_grain(g, reads_per_output), [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t p = lo; p < hi; ++p) f(in + p * in_plane, out + p * out_plane, p);
  });
}

// Every window lies inside the input: no padding, and the last window ends within the last row
// and column (always so without ceil_mode). Then no window needs clipping.
bool windows_inside(const PoolGeometry& g) {
  return g.pad_h == 0 && g.pad_w == 0 && (g.out_h - 1) * g.stride_h + g.kernel_h <= g.in_h &&
         (g.out_w - 1) * g.stride_w + g.kernel_w <= g.in_w;
}

// max_forward when windows_inside(g): the same comparisons in the same order, without the
// clipping arithmetic of pool_window per output, which took most of the time of the general
// loop on the convnets' poolings (bench/bench_train_step.cpp). "v wins" is written as a
// select, not a branch.
template <class T>
bool wins(T v, T best) {
  return v > best || v != v;  // v != v: v is NaN, which wins (NaNs propagate)
}

template <class T>
void max_plane_inside(const PoolGeometry& g, const T* in, T* out, std::int64_t* idx) {
  for (std::int64_t oh = 0; oh < g.out_h; ++oh) {
    for (std::int64_t ow = 0; ow < g.out_w; ++ow) {
      const std::int64_t first = oh * g.stride_h * g.in_w + ow * g.stride_w;
      T best = in[first];
      std::int64_t best_at = first;
      for (std::int64_t kh = 0; kh < g.kernel_h; ++kh) {
        const std::int64_t row = first + kh * g.in_w;
        for (std::int64_t kw = 0; kw < g.kernel_w; ++kw) {
          const T v = in[row + kw];
          const bool take = wins(v, best);
          best = take ? v : best;
          best_at = take ? row + kw : best_at;
        }
      }
      out[oh * g.out_w + ow] = best;
      if (idx) idx[oh * g.out_w + ow] = best_at;
    }
  }
}

// The 2x2, stride 2 case of max_plane_inside (every convnet here pools so): one output row
// reads two input rows, and each output is the select chain over its four values a b / c d
// in row-major order. With no dependence between outputs the compiler vectorises the row.
template <class T>
void max_plane_2x2(const PoolGeometry& g, const T* in, T* out, std::int64_t* idx) {
  // Sizes in locals: read through g, they could alias the outputs, and the compiler would not
  // know the loop's trip count.
  const std::int64_t out_h = g.out_h, out_w = g.out_w, in_w = g.in_w;
  for (std::int64_t oh = 0; oh < out_h; ++oh) {
    const std::int64_t top = 2 * oh * in_w, bottom = top + in_w;
    const T* r0 = in + top;
    const T* r1 = in + bottom;
    T* o = out + oh * out_w;
    std::int64_t* at = idx ? idx + oh * out_w : nullptr;
    for (std::int64_t ow = 0; ow < out_w; ++ow) {
      const T a = r0[2 * ow], b = r0[2 * ow + 1], c = r1[2 * ow], d = r1[2 * ow + 1];
      const bool take_b = wins(b, a);
      const T ab = take_b ? b : a;
      const bool take_c = wins(c, ab);
      const T abc = take_c ? c : ab;
      const bool take_d = wins(d, abc);
      o[ow] = take_d ? d : abc;
      if (at) {
        const std::int64_t j = 2 * ow;
        at[ow] = take_d ? bottom + j + 1 : take_c ? bottom + j : take_b ? top + j + 1 : top + j;
      }
    }
  }
}

template <class T>
void max_forward(const PoolGeometry& g, const T* x, T* y, std::int64_t* indices) {
  const bool inside = windows_inside(g);
  for_each_plane(g, g.kernel_h * g.kernel_w, x, y, [&](const T* in, T* out, std::int64_t p) {
    std::int64_t* idx = indices ? indices + p * g.out_h * g.out_w : nullptr;
    if (inside && g.kernel_h == 2 && g.kernel_w == 2 && g.stride_h == 2 && g.stride_w == 2)
      return max_plane_2x2(g, in, out, idx);
    if (inside) return max_plane_inside(g, in, out, idx);
    for (std::int64_t oh = 0; oh < g.out_h; ++oh) {
      for (std::int64_t ow = 0; ow < g.out_w; ++ow) {
        const Window win = pool_window(g, oh, ow);
        T best = -std::numeric_limits<T>::infinity();
        std::int64_t best_at = win.h0 * g.in_w + win.w0;
        for (std::int64_t ih = win.h0; ih < win.h1; ++ih) {
          for (std::int64_t iw = win.w0; iw < win.w1; ++iw) {
            const T v = in[ih * g.in_w + iw];
            if (v > best || std::isnan(v)) best = v, best_at = ih * g.in_w + iw;
          }
        }
        out[oh * g.out_w + ow] = best;
        if (idx) idx[oh * g.out_w + ow] = best_at;
      }
    }
  });
}

template <class T>
void max_backward(const PoolGeometry& g, const T* gy, const std::int64_t* indices, T* gx) {
  const std::int64_t out_plane = g.out_h * g.out_w;
  for_each_plane(g, 1, gx, gy, [&](T* gx_plane, const T* gy_plane, std::int64_t p) {
    std::fill(gx_plane, gx_plane + g.in_h * g.in_w, T(0));
    const std::int64_t* idx = indices + p * out_plane;
    for (std::int64_t o = 0; o < out_plane; ++o) gx_plane[idx[o]] += gy_plane[o];
  });
}

template <class T, class WindowOf>
void avg_forward(const PoolGeometry& g, const T* x, T* y, std::int64_t reads, WindowOf window_of) {
  for_each_plane(g, reads, x, y, [&](const T* in, T* out, std::int64_t) {
    for (std::int64_t oh = 0; oh < g.out_h; ++oh) {
      for (std::int64_t ow = 0; ow < g.out_w; ++ow) {
        const Window win = window_of(g, oh, ow);
        T sum = T(0);
        for (std::int64_t ih = win.h0; ih < win.h1; ++ih)
          for (std::int64_t iw = win.w0; iw < win.w1; ++iw) sum += in[ih * g.in_w + iw];
        out[oh * g.out_w + ow] = sum / static_cast<T>(win.divisor);
      }
    }
  });
}

// The adjoint of avg_forward: each output's gradient, divided by its divisor, goes to its window.
template <class T, class WindowOf>
void avg_backward(const PoolGeometry& g, const T* gy, T* gx, std::int64_t reads, WindowOf window_of) {
  for_each_plane(g, reads, gx, gy, [&](T* gx_plane, const T* gy_plane, std::int64_t) {
    std::fill(gx_plane, gx_plane + g.in_h * g.in_w, T(0));
    for (std::int64_t oh = 0; oh < g.out_h; ++oh) {
      for (std::int64_t ow = 0; ow < g.out_w; ++ow) {
        const Window win = window_of(g, oh, ow);
        const T share = gy_plane[oh * g.out_w + ow] / static_cast<T>(win.divisor);
        for (std::int64_t ih = win.h0; ih < win.h1; ++ih)
          for (std::int64_t iw = win.w0; iw < win.w1; ++iw) gx_plane[ih * g.in_w + iw] += share;
      }
    }
  });
}

// Reads per output of an adaptive window (its largest size), for the parallel grain.
std::int64_t adaptive_reads(const PoolGeometry& g) {
  return (g.in_h / g.out_h + 2) * (g.in_w / g.out_w + 2);
}

void adaptive_avg_pool2d_forward(const PoolGeometry& g, const Tensor& x, const Tensor& y) {
  visit_floating(x.dtype(), "adaptive_avg_pool2d", [&]<class T>() {
    avg_forward<T>(g, x.data_ptr<T>(), y.data_ptr<T>(), adaptive_reads(g), adaptive_window);
  });
}

void adaptive_avg_pool2d_backward(const PoolGeometry& g, const Tensor& grad_y, const Tensor& grad_x) {
  visit_floating(grad_y.dtype(), "adaptive_avg_pool2d_backward", [&]<class T>() {
    avg_backward<T>(g, grad_y.data_ptr<T>(), grad_x.data_ptr<T>(), adaptive_reads(g), adaptive_window);
  });
}

}  // namespace

namespace fallback {

void max_pool2d_forward(const PoolGeometry& g, const Tensor& x, const Tensor& y, const Tensor& indices) {
  visit_floating(x.dtype(), "max_pool2d", [&]<class T>() {
    max_forward<T>(g, x.data_ptr<T>(), y.data_ptr<T>(),
                   indices.defined() ? indices.data_ptr<std::int64_t>() : nullptr);
  });
}

void max_pool2d_backward(const PoolGeometry& g, const Tensor& grad_y, const Tensor& indices, const Tensor& grad_x) {
  visit_floating(grad_y.dtype(), "max_pool2d_backward", [&]<class T>() {
    max_backward<T>(g, grad_y.data_ptr<T>(), indices.data_ptr<std::int64_t>(), grad_x.data_ptr<T>());
  });
}

void avg_pool2d_forward(const PoolGeometry& g, const Tensor& x, const Tensor& y) {
  visit_floating(x.dtype(), "avg_pool2d", [&]<class T>() {
    avg_forward<T>(g, x.data_ptr<T>(), y.data_ptr<T>(), g.kernel_h * g.kernel_w, pool_window);
  });
}

void avg_pool2d_backward(const PoolGeometry& g, const Tensor& grad_y, const Tensor& grad_x) {
  visit_floating(grad_y.dtype(), "avg_pool2d_backward", [&]<class T>() {
    avg_backward<T>(g, grad_y.data_ptr<T>(), grad_x.data_ptr<T>(), g.kernel_h * g.kernel_w, pool_window);
  });
}

}  // namespace fallback

CAKE_REGISTER_KERNEL(native::adaptive_avg_pool2d_forward_stub, DeviceType::CPU, &adaptive_avg_pool2d_forward);
CAKE_REGISTER_KERNEL(native::adaptive_avg_pool2d_backward_stub, DeviceType::CPU, &adaptive_avg_pool2d_backward);

}  // namespace cake::cpu
