// cpu/softmax_kernels.cpp: softmax and log_softmax along any dim, forward and backward.
//
// A contiguous tensor reduced along `dim` is a stack of [outer, D, inner] blocks: the D values
// of one softmax are `inner` apart. With inner == 1 (the last dim, the usual case) each softmax
// is one contiguous row. Otherwise a block is processed as D rows of `inner` columns at once,
// so every inner loop runs over contiguous memory.
//
// Forward (stable: the max is subtracted before exp, so exp never overflows, and at least one
// term of the sum is exp(0) = 1, so log never sees 0):
//   softmax      y = exp(x - m) / s,           m = max x, s = sum exp(x - m)
//   log_softmax  y = (x - m) - log s
// Backward, from y (sums along dim):
//   softmax      gx = y * (g - sum(g * y))
//   log_softmax  gx = g - exp(y) * sum(g)
// Sums accumulate in double.
#include "cake/tensor/cpu/vector_math.h"  // first: exp, log, tanh, ... eight or sixteen at a time

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "cake/tensor/native/nn_kernels.h"
#include "cake/tensor/parallel.h"

namespace cake::cpu {
namespace {

struct Blocks {
  std::int64_t outer, D, inner;
};
Blocks blocks_of(const Tensor& t, std::int64_t dim) {
  Blocks b{1, t.sizes()[dim], 1};
  for (std::int64_t d = 0; d < dim; ++d) b.outer *= t.sizes()[d];
  for (std::int64_t d = dim + 1; d < t.dim(); ++d) b.inner *= t.sizes()[d];
  return b;
}

// Work items are (block, column chunk) pairs; chunks of inner columns keep the per-column
// buffers in cache and give threads work when there are few blocks.
constexpr std::int64_t kColumnChunk = 512;

template <class F>
void for_each_item(const Blocks& b, const F& f) {
  const std::int64_t chunks = (b.inner + kColumnChunk - 1) / kColumnChunk;
  const std::int64_t grain = std::max<std::int64_t>(1, 32768 / std::max<std::int64_t>(1, b.D * std::min(b.inner, kColumnChunk)));
  parallel_for(0, b.outer * chunks, grain, [&](std::int64_t lo, std::int64_t hi) {
    std::vector<double> col_a(static_cast<std::size_t>(std::min(b.inner, kColumnChunk)));
    std::vector<double> col_b(col_a.size());
    for (std::int64_t item = lo; item < hi; ++item) {
      const std::int64_t o = item / chunks, j0 = item % chunks * kColumnChunk;
      f(o * b.D * b.inner + j0, std::min(kColumnChunk, b.inner - j0), col_a.data(), col_b.data());
    }
  });
}

// inner == 1 (softmax over the last dim, the usual case): each softmax is one contiguous row,
// and its three passes are plain loops the compiler vectorises: the max, exp(x - m) with its sum
// (exp eight or sixteen at a time through cpu/vector_math.h, the sum in double lanes whose order
// depends only on the row's length), then the scaling. A NaN anywhere makes the sum, and so the
// whole row, NaN, as in the block loop below.
template <class T>
void forward_rows(const T* x, T* y, std::int64_t rows, std::int64_t D, bool log) {
  parallel_for(0, rows, std::max<std::int64_t>(1, 32768 / std::max<std::int64_t>(1, D)), [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t r = lo; r < hi; ++r) {
      const T* in = x + r * D;
      T* out = y + r * D;
      T m = -std::numeric_limits<T>::infinity();
#pragma omp simd reduction(max : m)
      for (std::int64_t d = 0; d < D; ++d) m = std::max(m, in[d]);
      double sum = 0.0;
#pragma omp simd reduction(+ : sum)
      for (std::int64_t d = 0; d < D; ++d) {
        const T e = std::exp(in[d] - m);
        out[d] = e;
        sum += static_cast<double>(e);
      }
      if (log) {
        const T log_sum = static_cast<T>(std::log(sum));
        for (std::int64_t d = 0; d < D; ++d) out[d] = (in[d] - m) - log_sum;
      } else {
        const T inverse = static_cast<T>(1.0 / sum);
        for (std::int64_t d = 0; d < D; ++d) out[d] *= inverse;
      }
    }
  });
}

template <class T>
void backward_rows(const T* gy, const T* y, T* gx, std::int64_t rows, std::int64_t D, bool log) {
  parallel_for(0, rows, std::max<std::int64_t>(1, 32768 / std::max<std::int64_t>(1, D)), [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t r = lo; r < hi; ++r) {
      const T* g = gy + r * D;
      const T* out = y + r * D;
      T* gin = gx + r * D;
      double sum = 0.0;
#pragma omp simd reduction(+ : sum)
      for (std::int64_t d = 0; d < D; ++d)
        sum += log ? static_cast<double>(g[d]) : static_cast<double>(g[d]) * static_cast<double>(out[d]);
      const T s = static_cast<T>(sum);
      if (log) {
        for (std::int64_t d = 0; d < D; ++d) gin[d] = g[d] - std::exp(out[d]) * s;
      } else {
        for (std::int64_t d = 0; d < D; ++d) gin[d] = out[d] * (g[d] - s);
      }
    }
  });
}

template <class T>
void forward(const T* x, T* y, const Blocks& b, bool log) {
  if (b.inner == 1) return forward_rows(x, y, b.outer, b.D, log);
  // One item: columns [0, width) of a block starting at `base`; element (d, j) is at d * inner + j.
  for_each_item(b, [&](std::int64_t base, std::int64_t width, double* max, double* sum) {
    const T* in = x + base;
    T* out = y + base;
    std::fill(max, max + width, -std::numeric_limits<double>::infinity());
    std::fill(sum, sum + width, 0.0);
    for (std::int64_t d = 0; d < b.D; ++d)
      for (std::int64_t j = 0; j < width; ++j) max[j] = std::max(max[j], static_cast<double>(in[d * b.inner + j]));
    for (std::int64_t d = 0; d < b.D; ++d) {
      for (std::int64_t j = 0; j < width; ++j) {
        const T e = std::exp(in[d * b.inner + j] - static_cast<T>(max[j]));
        sum[j] += static_cast<double>(e);
        if (!log) out[d * b.inner + j] = e;
      }
    }
    // log_softmax subtracts m and log s separately, as (x - m) - log s: x - (m + log s) would
    // round m + log s to the precision of a large m.
    for (std::int64_t j = 0; j < width; ++j) sum[j] = log ? std::log(sum[j]) : 1.0 / sum[j];
    for (std::int64_t d = 0; d < b.D; ++d) {
      for (std::int64_t j = 0; j < width; ++j) {
        const std::int64_t at = d * b.inner + j;
        out[at] = log ? (in[at] - static_cast<T>(max[j])) - static_cast<T>(sum[j]) : out[at] * static_cast<T>(sum[j]);
      }
    }
  });
}

template <class T>
void backward(const T* gy, const T* y, T* gx, const Blocks& b, bool log) {
  if (b.inner == 1) return backward_rows(gy, y, gx, b.outer, b.D, log);
  for_each_item(b, [&](std::int64_t base, std::int64_t width, double* sum, double*) {
    const T* g = gy + base;
    const T* out = y + base;
    T* gin = gx + base;
    std::fill(sum, sum + width, 0.0);
    for (std::int64_t d = 0; d < b.D; ++d) {
      for (std::int64_t j = 0; j < width; ++j) {
        const std::int64_t at = d * b.inner + j;
        sum[j] += log ? static_cast<double>(g[at]) : static_cast<double>(g[at]) * static_cast<double>(out[at]);
      }
    }
    for (std::int64_t d = 0; d < b.D; ++d) {
      for (std::int64_t j = 0; j < width; ++j) {
        const std::int64_t at = d * b.inner + j;
        const T s = static_cast<T>(sum[j]);
        gin[at] = log ? g[at] - std::exp(out[at]) * s : out[at] * (g[at] - s);
      }
    }
  });
}

void softmax_kernel(const Tensor& x, std::int64_t dim, bool log, const Tensor& y) {
  visit_floating(x.dtype(), log ? "log_softmax" : "softmax", [&]<class T>() {
    forward<T>(x.data_ptr<T>(), y.data_ptr<T>(), blocks_of(x, dim), log);
  });
}

void softmax_backward_kernel(const Tensor& grad_y, const Tensor& y, std::int64_t dim, bool log, const Tensor& grad_x) {
  visit_floating(y.dtype(), log ? "log_softmax_backward" : "softmax_backward", [&]<class T>() {
    backward<T>(grad_y.data_ptr<T>(), y.data_ptr<T>(), grad_x.data_ptr<T>(), blocks_of(y, dim), log);
  });
}

}  // namespace

CAKE_REGISTER_KERNEL(native::softmax_stub, DeviceType::CPU, &softmax_kernel);
CAKE_REGISTER_KERNEL(native::softmax_backward_stub, DeviceType::CPU, &softmax_backward_kernel);

}  // namespace cake::cpu
