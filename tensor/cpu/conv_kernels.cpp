// cpu/conv_kernels.cpp: Cake's own 2-D convolution, forward, backward-data and backward-weight,
// by im2col + GEMM (Chellapilla, Puri & Simard 2006; the Caffe formulation). float32 and
// float64; oneDNN takes float32 when built with it (nn_routing.cpp).
//
// For one image and one group, im2col copies every receptive field into a column:
//   col[(c * kH + kh) * kW + kw][oh * OW + ow] = x[c][oh * sH - pH + kh * dH][ow * sW - pW + kw * dW]
// (zero where that row/column falls in the padding), a matrix of K = C_in/g * kH * kW rows and
// P = OH * OW columns. Then, with W the group's weight as a [C_out/g, K] matrix:
//   forward          y  = W col                  (+ bias on every pixel)
//   backward-data    gx = col2im(W^T gy)         col2im adds each entry back where im2col read it
//   backward-weight  gW = sum over images of gy col^T,   gbias = sum of gy over images and pixels
// A 1x1 convolution with stride 1 and no padding has col == x, so its copy is skipped.
//
// Threads: a small per-image GEMM runs single-threaded inside OpenBLAS, so images are spread
// over OpenMP threads; a large one is threaded by OpenBLAS itself, so images run one after the
// other (running both at once would oversubscribe the cores).
#include <cblas.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "cake/tensor/cpu/nn_cpu.h"
#include "cake/tensor/parallel.h"

namespace cake::cpu::fallback {
namespace {

using native::ConvGeometry;

// Row-major C = alpha op(A) op(B) + beta C through cblas_sgemm / cblas_dgemm.
template <class T>
void gemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, const T* a, std::int64_t lda,
          const T* b, std::int64_t ldb, T beta, T* c, std::int64_t ldc) {
  const auto ta = trans_a ? CblasTrans : CblasNoTrans, tb = trans_b ? CblasTrans : CblasNoTrans;
  const auto M = static_cast<blasint>(m), N = static_cast<blasint>(n), K = static_cast<blasint>(k);
  if constexpr (std::is_same_v<T, float>)
    cblas_sgemm(CblasRowMajor, ta, tb, M, N, K, 1.0f, a, static_cast<blasint>(lda), b, static_cast<blasint>(ldb),
                beta, c, static_cast<blasint>(ldc));
  else
    cblas_dgemm(CblasRowMajor, ta, tb, M, N, K, 1.0, a, static_cast<blasint>(lda), b, static_cast<blasint>(ldb),
                beta, c, static_cast<blasint>(ldc));
}

// OpenBLAS threads a GEMM only when m * n * k reaches 65536 * 4 (SMP_THRESHOLD_MIN *
// GEMM_MULTITHREAD_THRESHOLD in its interface/gemm.c); below that we spread images over threads.
constexpr std::int64_t kBlasThreadsFrom = 65536 * 4;

// Number of independent blocks of images to run at once (1 = let BLAS thread each GEMM).
std::int64_t image_blocks(std::int64_t batch, std::int64_t gemm_size) {
  if (gemm_size >= kBlasThreadsFrom) return 1;
  return std::max<std::int64_t>(1, std::min<std::int64_t>(batch, get_num_threads()));
}

// Calls f(block, first, last) for `blocks` contiguous ranges [first, last) of images, in parallel.
template <class F>
void for_image_blocks(std::int64_t batch, std::int64_t blocks, const F& f) {
  parallel_for(0, blocks, 1, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t b = lo; b < hi; ++b) f(b, b * batch / blocks, (b + 1) * batch / blocks);
  });
}

// The output positions o in [0, out) whose input index o * stride + offset lies in [0, in).
struct ValidRange {
  std::int64_t lo, hi;
};
ValidRange valid_range(std::int64_t offset, std::int64_t stride, std::int64_t in, std::int64_t out) {
  const std::int64_t lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
  const std::int64_t hi = in - offset > 0 ? (in - offset + stride - 1) / stride : 0;
  return {std::min(lo, out), std::max(std::min(lo, out), std::min(hi, out))};
}

bool is_pointwise(const ConvGeometry& g) {
  return g.kernel_h == 1 && g.kernel_w == 1 && g.stride_h == 1 && g.stride_w == 1 && g.pad_h == 0 && g.pad_w == 0 &&
         g.in_h == g.out_h && g.in_w == g.out_w;
}

// col [channels * kH * kW, OH * OW] from x [channels, H, W], as in the header comment.
template <class T>
void im2col(const ConvGeometry& g, const T* x, std::int64_t channels, T* col) {
  const std::int64_t P = g.out_h * g.out_w;
  for (std::int64_t c = 0; c < channels; ++c) {
    const T* plane = x + c * g.in_h * g.in_w;
    for (std::int64_t kh = 0; kh < g.kernel_h; ++kh) {
      const std::int64_t row_offset = kh * g.dilation_h - g.pad_h;
      for (std::int64_t kw = 0; kw < g.kernel_w; ++kw) {
        const std::int64_t col_offset = kw * g.dilation_w - g.pad_w;
        const ValidRange ow = valid_range(col_offset, g.stride_w, g.in_w, g.out_w);
        T* dst = col + ((c * g.kernel_h + kh) * g.kernel_w + kw) * P;
        for (std::int64_t oh = 0; oh < g.out_h; ++oh, dst += g.out_w) {
          const std::int64_t ih = oh * g.stride_h + row_offset;
          if (ih < 0 || ih >= g.in_h) {
            std::fill(dst, dst + g.out_w, T(0));
            continue;
          }
          const T* src = plane + ih * g.in_w + col_offset;
          std::fill(dst, dst + ow.lo, T(0));
          if (g.stride_w == 1)
            std::copy(src + ow.lo, src + ow.hi, dst + ow.lo);
          else
            for (std::int64_t j = ow.lo; j < ow.hi; ++j) dst[j] = src[j * g.stride_w];
          std::fill(dst + ow.hi, dst + g.out_w, T(0));
        }
      }
    }
  }
}

// The adjoint of im2col: x [channels, H, W] += every entry of col at the place im2col read it.
template <class T>
void col2im_add(const ConvGeometry& g, const T* col, std::int64_t channels, T* x) {
  const std::int64_t P = g.out_h * g.out_w;
  for (std::int64_t c = 0; c < channels; ++c) {
    T* plane = x + c * g.in_h * g.in_w;
    for (std::int64_t kh = 0; kh < g.kernel_h; ++kh) {
      const std::int64_t row_offset = kh * g.dilation_h - g.pad_h;
      const ValidRange oh_range = valid_range(row_offset, g.stride_h, g.in_h, g.out_h);
      for (std::int64_t kw = 0; kw < g.kernel_w; ++kw) {
        const std::int64_t col_offset = kw * g.dilation_w - g.pad_w;
        const ValidRange ow = valid_range(col_offset, g.stride_w, g.in_w, g.out_w);
        const T* src = col + ((c * g.kernel_h + kh) * g.kernel_w + kw) * P;
        for (std::int64_t oh = oh_range.lo; oh < oh_range.hi; ++oh) {
          T* dst = plane + (oh * g.stride_h + row_offset) * g.in_w + col_offset;
          const T* row = src + oh * g.out_w;
          for (std::int64_t j = ow.lo; j < ow.hi; ++j) dst[j * g.stride_w] += row[j];
        }
      }
    }
  }
}

// Sizes of one group's matrices.
struct GroupSizes {
  std::int64_t in_channels, out_channels, K, P;
};
GroupSizes group_sizes(const ConvGeometry& g) {
  const std::int64_t cin = g.in_channels / g.groups;
  return {cin, g.out_channels / g.groups, cin * g.kernel_h * g.kernel_w, g.out_h * g.out_w};
}

template <class T>
void forward(const ConvGeometry& g, const T* x, const T* w, const T* bias, T* y) {
  const GroupSizes s = group_sizes(g);
  const bool pointwise = is_pointwise(g);
  const std::int64_t in_image = g.in_channels * g.in_h * g.in_w, out_image = g.out_channels * s.P;
  const std::int64_t blocks = image_blocks(g.batch, s.out_channels * s.K * s.P);
  for_image_blocks(g.batch, blocks, [&](std::int64_t, std::int64_t first, std::int64_t last) {
    std::vector<T> col(pointwise ? 0 : static_cast<std::size_t>(s.K * s.P));
    for (std::int64_t n = first; n < last; ++n) {
      for (std::int64_t grp = 0; grp < g.groups; ++grp) {
        const T* x_g = x + n * in_image + grp * s.in_channels * g.in_h * g.in_w;
        T* y_g = y + n * out_image + grp * s.out_channels * s.P;
        const T* b = x_g;
        if (!pointwise) {
          im2col(g, x_g, s.in_channels, col.data());
          b = col.data();
        }
        gemm<T>(false, false, s.out_channels, s.P, s.K, w + grp * s.out_channels * s.K, s.K, b, s.P, T(0), y_g, s.P);
      }
      if (bias != nullptr) {
        for (std::int64_t co = 0; co < g.out_channels; ++co) {
          T* row = y + n * out_image + co * s.P;
          const T b = bias[co];
          for (std::int64_t p = 0; p < s.P; ++p) row[p] += b;
        }
      }
    }
  });
}

template <class T>
void backward_data(const ConvGeometry& g, const T* gy, const T* w, T* gx) {
  const GroupSizes s = group_sizes(g);
  const bool pointwise = is_pointwise(g);
  const std::int64_t in_image = g.in_channels * g.in_h * g.in_w, out_image = g.out_channels * s.P;
  const std::int64_t blocks = image_blocks(g.batch, s.out_channels * s.K * s.P);
  for_image_blocks(g.batch, blocks, [&](std::int64_t, std::int64_t first, std::int64_t last) {
    std::vector<T> col(pointwise ? 0 : static_cast<std::size_t>(s.K * s.P));
    for (std::int64_t n = first; n < last; ++n) {
      T* gx_n = gx + n * in_image;
      if (!pointwise) std::fill(gx_n, gx_n + in_image, T(0));
      for (std::int64_t grp = 0; grp < g.groups; ++grp) {
        const T* gy_g = gy + n * out_image + grp * s.out_channels * s.P;
        T* gx_g = gx_n + grp * s.in_channels * g.in_h * g.in_w;
        // gcol [K, P] = W^T [K, C_out/g] gy [C_out/g, P]; a pointwise conv writes gx directly.
        T* gcol = pointwise ? gx_g : col.data();
        gemm<T>(true, false, s.K, s.P, s.out_channels, w + grp * s.out_channels * s.K, s.K, gy_g, s.P, T(0), gcol, s.P);
        if (!pointwise) col2im_add(g, gcol, s.in_channels, gx_g);
      }
    }
  });
}

template <class T>
void backward_weight(const ConvGeometry& g, const T* x, const T* gy, T* gw, T* gbias) {
  const GroupSizes s = group_sizes(g);
  const bool pointwise = is_pointwise(g);
  const std::int64_t in_image = g.in_channels * g.in_h * g.in_w, out_image = g.out_channels * s.P;
  const std::int64_t weight_numel = g.out_channels * s.K;
  // Each block of images sums into its own partial gradient; the partials are added at the end
  // in block order, so the result does not depend on thread scheduling.
  const std::int64_t blocks = image_blocks(g.batch, s.out_channels * s.K * s.P);
  std::vector<T> partial_w(static_cast<std::size_t>(blocks * weight_numel), T(0));
  std::vector<double> partial_b(static_cast<std::size_t>(blocks * g.out_channels), 0.0);
  for_image_blocks(g.batch, blocks, [&](std::int64_t block, std::int64_t first, std::int64_t last) {
    T* pw = partial_w.data() + block * weight_numel;
    double* pb = partial_b.data() + block * g.out_channels;
    std::vector<T> col(pointwise ? 0 : static_cast<std::size_t>(s.K * s.P));
    for (std::int64_t n = first; n < last; ++n) {
      for (std::int64_t grp = 0; grp < g.groups; ++grp) {
        const T* x_g = x + n * in_image + grp * s.in_channels * g.in_h * g.in_w;
        const T* gy_g = gy + n * out_image + grp * s.out_channels * s.P;
        const T* b = x_g;
        if (!pointwise) {
          im2col(g, x_g, s.in_channels, col.data());
          b = col.data();
        }
        // gW [C_out/g, K] += gy [C_out/g, P] col^T [P, K]
        gemm<T>(false, true, s.out_channels, s.K, s.P, gy_g, s.P, b, s.P, T(1), pw + grp * s.out_channels * s.K, s.K);
      }
      if (gbias != nullptr) {
        // Bias sums run in double: P * N terms in float would lose digits.
        for (std::int64_t co = 0; co < g.out_channels; ++co) {
          const T* row = gy + n * out_image + co * s.P;
          double acc = 0.0;
          for (std::int64_t p = 0; p < s.P; ++p) acc += static_cast<double>(row[p]);
          pb[co] += acc;
        }
      }
    }
  });
  for (std::int64_t i = 0; i < weight_numel; ++i) {
    T acc = T(0);
    for (std::int64_t b = 0; b < blocks; ++b) acc += partial_w[static_cast<std::size_t>(b * weight_numel + i)];
    gw[i] = acc;
  }
  if (gbias != nullptr) {
    for (std::int64_t co = 0; co < g.out_channels; ++co) {
      double acc = 0.0;
      for (std::int64_t b = 0; b < blocks; ++b) acc += partial_b[static_cast<std::size_t>(b * g.out_channels + co)];
      gbias[co] = static_cast<T>(acc);
    }
  }
}

template <class T>
const T* data_or_null(const Tensor& t) {
  return t.defined() ? t.data_ptr<T>() : nullptr;
}

}  // namespace

void conv2d_forward(const ConvGeometry& g, const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& y) {
  visit_floating(x.dtype(), "conv2d", [&]<class T>() {
    forward<T>(g, x.data_ptr<T>(), weight.data_ptr<T>(), data_or_null<T>(bias), y.data_ptr<T>());
  });
}

void conv2d_backward_data(const ConvGeometry& g, const Tensor& grad_y, const Tensor& weight, const Tensor& grad_x) {
  visit_floating(grad_y.dtype(), "conv2d_backward_data", [&]<class T>() {
    backward_data<T>(g, grad_y.data_ptr<T>(), weight.data_ptr<T>(), grad_x.data_ptr<T>());
  });
}

void conv2d_backward_weight(const ConvGeometry& g, const Tensor& x, const Tensor& grad_y, const Tensor& grad_weight,
                            const Tensor& grad_bias) {
  visit_floating(x.dtype(), "conv2d_backward_weight", [&]<class T>() {
    backward_weight<T>(g, x.data_ptr<T>(), grad_y.data_ptr<T>(), grad_weight.data_ptr<T>(),
                       grad_bias.defined() ? grad_bias.data_ptr<T>() : nullptr);
  });
}

}  // namespace cake::cpu::fallback
