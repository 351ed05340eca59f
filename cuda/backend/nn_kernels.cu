// cuda/backend/nn_kernels.cu: arg-max/min, softmax, batch normalisation and 2-D pooling.
//
// Each kernel mirrors its CPU twin (cpu/reduce_kernels.cpp, softmax_kernels.cpp,
// norm_kernels.cpp, pool_kernels.cpp) operation for operation: the same accumulator types
// (double for softmax and batch-norm sums), the same NaN rules, the same tie-breaking, and where
// the CPU accumulates in a fixed order the GPU uses that order too (pooling backward gathers
// each input pixel's contributions in the CPU's output order, so it needs no atomics and agrees
// bit for bit). Where work is split across threads (a row sum over a warp), the order differs
// and results agree to rounding.
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "cake/cuda/backend/check.cuh"
#include "cake/cuda/backend/device_math.cuh"
#include "cake/cuda/backend/kernel_math.h"
#include "cake/cuda/backend/launchers.h"

namespace cake::cuda::kernels {
namespace {

constexpr int kThreads = 256;
constexpr int kWarpsPerBlock = kThreads / 32;

// ---- arg-max / arg-min: one warp per row ----------------------------------------------------

template <class T>
struct Candidate {
  T value;
  std::int64_t index;
};

// The better of two candidates: a NaN beats a number, then the extreme wins, then the lower
// index. This order is associative, so any tree of combines finds the CPU's answer: the first
// NaN, or else the first extreme.
template <class T>
__device__ __forceinline__ Candidate<T> better(bool is_max, Candidate<T> a, Candidate<T> b) {
  const bool nan_a = is_nan(a.value), nan_b = is_nan(b.value);
  if (nan_a != nan_b) return nan_a ? a : b;
  if (!nan_a && a.value != b.value) return (is_max ? b.value > a.value : b.value < a.value) ? b : a;
  return b.index < a.index ? b : a;
}

template <class T>
__global__ void arg_reduce_kernel(bool is_max, const T* x, T* values, std::int64_t* indices, std::int64_t rows,
                                  std::int64_t n) {
  const int lane = threadIdx.x % 32;
  const std::int64_t warps = static_cast<std::int64_t>(gridDim.x) * kWarpsPerBlock;
  // Every lane of a warp has the same row, so the shuffles below see full warps.
  for (std::int64_t row = (static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / 32; row < rows;
       row += warps) {
    const T* p = x + row * n;
    Candidate<T> best{p[0], 0};
    for (std::int64_t i = lane; i < n; i += 32) best = better(is_max, best, Candidate<T>{p[i], i});
#pragma unroll
    for (int offset = 16; offset > 0; offset /= 2) {
      const Candidate<T> other{shuffle_down(best.value, offset), shuffle_down(best.index, offset)};
      best = better(is_max, best, other);
    }
    if (lane == 0) {
      values[row] = best.value;
      indices[row] = best.index;
    }
  }
}

// ---- softmax --------------------------------------------------------------------------------
// The CPU's max ignores NaN (std::max(m, NaN) keeps m); a NaN then spreads through exp and the
// sum to the whole row on both devices.
template <class T>
__device__ __forceinline__ T max_ignoring_nan(T m, T v) {
  return m < v ? v : m;
}

// inner == 1: one warp per row of D contiguous values.
template <class T>
__global__ void softmax_rows_kernel(const T* x, T* y, std::int64_t rows, std::int64_t D, bool log) {
  const int lane = threadIdx.x % 32;
  const std::int64_t warps = static_cast<std::int64_t>(gridDim.x) * kWarpsPerBlock;
  for (std::int64_t row = (static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / 32; row < rows;
       row += warps) {
    const T* in = x + row * D;
    T* out = y + row * D;
    T m = -std::numeric_limits<T>::infinity();
    for (std::int64_t d = lane; d < D; d += 32) m = max_ignoring_nan(m, in[d]);
#pragma unroll
    for (int offset = 16; offset > 0; offset /= 2) m = max_ignoring_nan(m, shuffle_down(m, offset));
    m = __shfl_sync(0xffffffffu, m, 0);
    double sum = 0.0;
    for (std::int64_t d = lane; d < D; d += 32) sum += static_cast<double>(std::exp(in[d] - m));
    sum = __shfl_sync(0xffffffffu, warp_sum(sum), 0);
    // As on the CPU: log_softmax is (x - m) - log s, softmax is exp(x - m) * (1 / s).
    const T scale = static_cast<T>(log ? std::log(sum) : 1.0 / sum);
    for (std::int64_t d = lane; d < D; d += 32)
      out[d] = log ? (in[d] - m) - scale : std::exp(in[d] - m) * scale;
  }
}

// inner > 1: one thread per column (o, j), walking D values `inner` apart; neighbouring threads
// read neighbouring addresses. The sums run in the CPU's order.
template <class T>
__global__ void softmax_columns_kernel(const T* x, T* y, std::int64_t outer, std::int64_t D, std::int64_t inner,
                                       bool log) {
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t k = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; k < outer * inner;
       k += stride) {
    const std::int64_t base = (k / inner) * D * inner + k % inner;
    const T* in = x + base;
    T* out = y + base;
    T m = -std::numeric_limits<T>::infinity();
    for (std::int64_t d = 0; d < D; ++d) m = max_ignoring_nan(m, in[d * inner]);
    double sum = 0.0;
    for (std::int64_t d = 0; d < D; ++d) sum += static_cast<double>(std::exp(in[d * inner] - m));
    const T scale = static_cast<T>(log ? std::log(sum) : 1.0 / sum);
    for (std::int64_t d = 0; d < D; ++d)
      out[d * inner] = log ? (in[d * inner] - m) - scale : std::exp(in[d * inner] - m) * scale;
  }
}

// Backward from y: softmax gx = y * (g - sum(g * y)), log_softmax gx = g - exp(y) * sum(g).
template <class T>
__device__ __forceinline__ double backward_term(T g, T y, bool log) {
  return log ? static_cast<double>(g) : static_cast<double>(g) * static_cast<double>(y);
}
template <class T>
__device__ __forceinline__ T backward_value(T g, T y, T s, bool log) {
  return log ? g - std::exp(y) * s : y * (g - s);
}

template <class T>
__global__ void softmax_backward_rows_kernel(const T* gy, const T* y, T* gx, std::int64_t rows, std::int64_t D,
                                             bool log) {
  const int lane = threadIdx.x % 32;
  const std::int64_t warps = static_cast<std::int64_t>(gridDim.x) * kWarpsPerBlock;
  for (std::int64_t row = (static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / 32; row < rows;
       row += warps) {
    const std::int64_t base = row * D;
    double sum = 0.0;
    for (std::int64_t d = lane; d < D; d += 32) sum += backward_term(gy[base + d], y[base + d], log);
    const T s = static_cast<T>(__shfl_sync(0xffffffffu, warp_sum(sum), 0));
    for (std::int64_t d = lane; d < D; d += 32) gx[base + d] = backward_value(gy[base + d], y[base + d], s, log);
  }
}

template <class T>
__global__ void softmax_backward_columns_kernel(const T* gy, const T* y, T* gx, std::int64_t outer, std::int64_t D,
                                                std::int64_t inner, bool log) {
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t k = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; k < outer * inner;
       k += stride) {
    const std::int64_t base = (k / inner) * D * inner + k % inner;
    double sum = 0.0;
    for (std::int64_t d = 0; d < D; ++d) sum += backward_term(gy[base + d * inner], y[base + d * inner], log);
    const T s = static_cast<T>(sum);
    for (std::int64_t d = 0; d < D; ++d) {
      const std::int64_t at = base + d * inner;
      gx[at] = backward_value(gy[at], y[at], s, log);
    }
  }
}

// ---- batch normalisation ---------------------------------------------------------------------
// Channel c's values are n runs of s: value (i, j) is at (i * C + c) * s + j. One block per
// channel leaves most of the GPU idle when C is small (32 channels: 32 of 132 multiprocessors),
// so each pass is split in three, each filling the GPU whatever C is:
//   1. block (channel, piece) folds one piece of the channel's n * s values (batch_norm_pieces);
//   2. one thread per channel combines its pieces, in order (deterministic), in double;
//   3. the elementwise pass over all the values.
// Forward, step 1 keeps the CPU's two passes (mean, then squared deviations) within each piece,
// and step 2 merges the pieces' (count, mean, M2) by the pairwise update of Chan, Golub & LeVeque
// ("Algorithms for computing the sample variance", 1983, eq. 1.5b).
struct ChannelLayout {
  std::int64_t n, c, s;
  __device__ std::int64_t at(std::int64_t channel, std::int64_t k) const {
    return ((k / s) * c + channel) * s + k % s;
  }
  __device__ std::int64_t channel_of(std::int64_t index) const { return (index / s) % c; }
};

// The values [begin, end) of the piece this block folds: piece blockIdx.x % pieces of channel
// blockIdx.x / pieces.
struct Piece {
  std::int64_t channel, begin, end;
  __device__ Piece(const ChannelLayout& l, std::int64_t pieces) {
    const std::int64_t count = l.n * l.s, chunk = (count + pieces - 1) / pieces;
    channel = blockIdx.x / pieces;
    begin = (blockIdx.x % pieces) * chunk;
    end = begin + chunk < count ? begin + chunk : count;
    if (begin > end) begin = end;
  }
};

template <class T>
__global__ void batch_norm_moments_kernel(const T* x, ChannelLayout l, std::int64_t pieces, double* moments) {
  __shared__ double shared[32];
  const Piece p(l, pieces);
  const double size = static_cast<double>(p.end - p.begin);
  double sum = 0.0;
  for (std::int64_t k = p.begin + threadIdx.x; k < p.end; k += blockDim.x) sum += static_cast<double>(x[l.at(p.channel, k)]);
  const double total = block_sum(sum, shared);  // every thread takes part, even in an empty piece
  const double mean = size > 0.0 ? total / size : 0.0;
  double squares = 0.0;
  for (std::int64_t k = p.begin + threadIdx.x; k < p.end; k += blockDim.x) {
    const double d = static_cast<double>(x[l.at(p.channel, k)]) - mean;
    squares += d * d;
  }
  const double m2 = block_sum(squares, shared);
  if (threadIdx.x == 0) {
    moments[3 * blockIdx.x] = size;
    moments[3 * blockIdx.x + 1] = mean;
    moments[3 * blockIdx.x + 2] = m2;
  }
}

// Per channel: mean and invstd (outputs), and the T coefficients of y = (x - m) * scale + shift.
template <class T>
__global__ void batch_norm_merge_kernel(const double* moments, std::int64_t c, std::int64_t pieces, double eps,
                                        const T* weight, const T* bias, T* mean_out, T* invstd_out, T* affine) {
  const std::int64_t ch = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (ch >= c) return;
  double count = 0.0, mean = 0.0, m2 = 0.0;
  for (std::int64_t q = 0; q < pieces; ++q) {
    const double* piece = moments + 3 * (ch * pieces + q);
    if (piece[0] == 0.0) continue;
    const double total = count + piece[0], delta = piece[1] - mean;
    mean += delta * piece[0] / total;
    m2 += piece[2] + delta * delta * count * piece[0] / total;
    count = total;
  }
  const double invstd = 1.0 / std::sqrt(m2 / count + eps);
  mean_out[ch] = static_cast<T>(mean);
  invstd_out[ch] = static_cast<T>(invstd);
  affine[3 * ch] = static_cast<T>(mean);
  affine[3 * ch + 1] = static_cast<T>((weight ? static_cast<double>(weight[ch]) : 1.0) * invstd);
  affine[3 * ch + 2] = bias ? bias[ch] : T(0);
}

// y = (x - mean) * (w * invstd) + b, each operation rounded as on the CPU.
template <class T>
__global__ void batch_norm_apply_kernel(const T* x, const T* affine, T* y, ChannelLayout l) {
  const std::int64_t total = l.n * l.c * l.s;
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride) {
    const T* a = affine + 3 * l.channel_of(i);
    y[i] = add_rn(mul_rn(x[i] - a[0], a[1]), a[2]);
  }
}

// Backward, step 1: the piece's sums of g and of g * (x - mean), in double.
template <class T>
__global__ void batch_norm_grad_sums_kernel(const T* gy, const T* x, const T* mean_in, ChannelLayout l,
                                            std::int64_t pieces, double* sums) {
  __shared__ double shared[32];
  const Piece p(l, pieces);
  const double mean = static_cast<double>(mean_in[p.channel]);
  double g_sum = 0.0, g_centred_sum = 0.0;
  for (std::int64_t k = p.begin + threadIdx.x; k < p.end; k += blockDim.x) {
    const std::int64_t at = l.at(p.channel, k);
    g_sum += static_cast<double>(gy[at]);
    g_centred_sum += static_cast<double>(gy[at]) * (static_cast<double>(x[at]) - mean);
  }
  g_sum = block_sum(g_sum, shared);
  g_centred_sum = block_sum(g_centred_sum, shared);
  if (threadIdx.x == 0) {
    sums[2 * blockIdx.x] = g_sum;
    sums[2 * blockIdx.x + 1] = g_centred_sum;
  }
}

// Per channel: grad_bias, grad_weight, and gx = a * g + b * (x - m) + k0 as T coefficients
// (native/nn_kernels.h has the derivation).
template <class T>
__global__ void batch_norm_grad_merge_kernel(const double* sums, std::int64_t c, std::int64_t pieces, double count,
                                             const T* weight, const T* mean_in, const T* invstd_in, T* gw, T* gb,
                                             T* coefficients) {
  const std::int64_t ch = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (ch >= c) return;
  double sum_g = 0.0, sum_g_centred = 0.0;
  for (std::int64_t q = 0; q < pieces; ++q) {
    sum_g += sums[2 * (ch * pieces + q)];
    sum_g_centred += sums[2 * (ch * pieces + q) + 1];
  }
  const double invstd = static_cast<double>(invstd_in[ch]);
  const double sum_g_xhat = sum_g_centred * invstd;
  if (gb) gb[ch] = static_cast<T>(sum_g);
  if (gw) gw[ch] = static_cast<T>(sum_g_xhat);
  const double w_invstd = (weight ? static_cast<double>(weight[ch]) : 1.0) * invstd;
  coefficients[4 * ch] = static_cast<T>(w_invstd);
  coefficients[4 * ch + 1] = static_cast<T>(-w_invstd * invstd * sum_g_xhat / count);
  coefficients[4 * ch + 2] = static_cast<T>(-w_invstd * sum_g / count);
  coefficients[4 * ch + 3] = mean_in[ch];
}

template <class T>
__global__ void batch_norm_grad_apply_kernel(const T* gy, const T* x, const T* coefficients, T* gx, ChannelLayout l) {
  const std::int64_t total = l.n * l.c * l.s;
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride) {
    const T* k = coefficients + 4 * l.channel_of(i);
    gx[i] = add_rn(add_rn(mul_rn(k[0], gy[i]), mul_rn(k[1], x[i] - k[3])), k[2]);
  }
}

// ---- pairwise distances and k-means' assignment --------------------------------------------
// Columns on threadIdx/blockIdx.x, rows on blockIdx.y (a grid-stride loop past 65,535 rows): no
// division per element.
template <class T>
__global__ void distance_epilogue_kernel(T* out, const T* a_norms, const T* b_norms, std::int64_t n, std::int64_t m) {
  const std::int64_t j = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (j >= m) return;
  const T b = b_norms[j];
  for (std::int64_t i = blockIdx.y; i < n; i += gridDim.y) {
    const T d = a_norms[i] + b + out[i * m + j];
    out[i * m + j] = d > T(0) ? d : T(0);
  }
}

template <class T>
__global__ void nearest_rows_kernel(const T* cross, const T* x_norms, const T* c_norms, T* sq, std::int64_t* labels,
                                    std::int64_t rows, std::int64_t k) {
  constexpr std::int64_t kNone = std::numeric_limits<std::int64_t>::max();
  const int lane = threadIdx.x % 32;
  const std::int64_t warps = static_cast<std::int64_t>(gridDim.x) * blockDim.x / 32;
  for (std::int64_t i = (static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / 32; i < rows;
       i += warps) {
    const T* row = cross + i * k;
    T best = std::numeric_limits<T>::infinity();
    std::int64_t arg = kNone;
    for (std::int64_t j = lane; j < k; j += 32) {  // ascending j: each lane keeps its first minimum
      const T v = c_norms[j] - T(2) * row[j];
      if (v < best) {
        best = v;
        arg = j;
      }
    }
#pragma unroll
    for (int offset = 16; offset > 0; offset /= 2) {  // the smaller value, then the smaller index
      const T other = __shfl_down_sync(0xffffffffu, best, offset);
      const auto other_arg = static_cast<std::int64_t>(__shfl_down_sync(0xffffffffu, static_cast<long long>(arg), offset));
      if (other < best || (other == best && other_arg < arg)) {
        best = other;
        arg = other_arg;
      }
    }
    if (lane == 0) {
      const T d = x_norms[i] + best;
      sq[i] = arg == kNone ? std::numeric_limits<T>::quiet_NaN() : (d > T(0) ? d : T(0));
      labels[i] = arg == kNone ? 0 : arg;  // every distance NaN: label 0, distance NaN
    }
  }
}

// ---- pooling --------------------------------------------------------------------------------
// The windows and the spans of outputs reading an input pixel: kernel_math.h.

template <class T>
__global__ void max_pool_kernel(PoolShape p, const T* x, T* y, std::int64_t* indices) {
  const std::int64_t total = p.planes * p.out_h * p.out_w;
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t o = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; o < total; o += stride) {
    const std::int64_t ow = o % p.out_w, oh = o / p.out_w % p.out_h, plane = o / (p.out_w * p.out_h);
    const T* in = x + plane * p.in_h * p.in_w;
    const Window win = window_of(p, oh, ow);
    // The first maximum in row-major window order wins; a NaN wins over numbers.
    T best = -std::numeric_limits<T>::infinity();
    std::int64_t best_at = win.h0 * p.in_w + win.w0;
    for (std::int64_t ih = win.h0; ih < win.h1; ++ih) {
      for (std::int64_t iw = win.w0; iw < win.w1; ++iw) {
        const T v = in[ih * p.in_w + iw];
        if (v > best || is_nan(v)) best = v, best_at = ih * p.in_w + iw;
      }
    }
    y[o] = best;
    if (indices) indices[o] = best_at;
  }
}

// One thread per input pixel: the sum of grad_y over the outputs whose saved maximum is this
// pixel, in the CPU's order (outputs ascending), so the result is the CPU's to the bit.
template <class T>
__global__ void max_pool_backward_kernel(PoolShape p, const T* gy, const std::int64_t* indices, T* gx) {
  const std::int64_t total = p.planes * p.in_h * p.in_w;
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride) {
    const std::int64_t iw = i % p.in_w, ih = i / p.in_w % p.in_h, plane = i / (p.in_w * p.in_h);
    const std::int64_t at = ih * p.in_w + iw, base = plane * p.out_h * p.out_w;
    const Span rows = outputs_reading(ih, p.in_h, p.out_h, p.kernel_h, p.stride_h, p.pad_h, false);
    const Span cols = outputs_reading(iw, p.in_w, p.out_w, p.kernel_w, p.stride_w, p.pad_w, false);
    T sum = T(0);
    for (std::int64_t oh = rows.first; oh <= rows.last; ++oh)
      for (std::int64_t ow = cols.first; ow <= cols.last; ++ow)
        if (indices[base + oh * p.out_w + ow] == at) sum += gy[base + oh * p.out_w + ow];
    gx[i] = sum;
  }
}

template <class T>
__global__ void avg_pool_kernel(PoolShape p, const T* x, T* y) {
  const std::int64_t total = p.planes * p.out_h * p.out_w;
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t o = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; o < total; o += stride) {
    const std::int64_t ow = o % p.out_w, oh = o / p.out_w % p.out_h, plane = o / (p.out_w * p.out_h);
    const T* in = x + plane * p.in_h * p.in_w;
    const Window win = window_of(p, oh, ow);
    T sum = T(0);
    for (std::int64_t ih = win.h0; ih < win.h1; ++ih)
      for (std::int64_t iw = win.w0; iw < win.w1; ++iw) sum += in[ih * p.in_w + iw];
    y[o] = sum / static_cast<T>(win.divisor);
  }
}

// The adjoint of avg_pool_kernel, gathered per input pixel in the CPU's order.
template <class T>
__global__ void avg_pool_backward_kernel(PoolShape p, const T* gy, T* gx) {
  const std::int64_t total = p.planes * p.in_h * p.in_w;
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride) {
    const std::int64_t iw = i % p.in_w, ih = i / p.in_w % p.in_h, plane = i / (p.in_w * p.in_h);
    const T* g = gy + plane * p.out_h * p.out_w;
    const Span rows = outputs_reading(ih, p.in_h, p.out_h, p.kernel_h, p.stride_h, p.pad_h, p.adaptive);
    const Span cols = outputs_reading(iw, p.in_w, p.out_w, p.kernel_w, p.stride_w, p.pad_w, p.adaptive);
    T sum = T(0);
    for (std::int64_t oh = rows.first; oh <= rows.last; ++oh) {
      for (std::int64_t ow = cols.first; ow <= cols.last; ++ow) {
        const Window win = window_of(p, oh, ow);
        if (ih < win.h0 || ih >= win.h1 || iw < win.w0 || iw >= win.w1) continue;
        sum += g[oh * p.out_w + ow] / static_cast<T>(win.divisor);
      }
    }
    gx[i] = sum;
  }
}

}  // namespace

void launch_arg_reduce(bool is_max, ScalarType type, const void* x, void* values, std::int64_t* indices,
                       std::int64_t rows, std::int64_t n, Stream stream) {
  if (rows == 0) return;
  visit(type, "arg_reduce", [&]<class T>() {
    arg_reduce_kernel<T><<<blocks_for(rows, kWarpsPerBlock), kThreads, 0, static_cast<cudaStream_t>(stream)>>>(
        is_max, static_cast<const T*>(x), static_cast<T*>(values), indices, rows, n);
  });
  check_launch("arg_reduce");
}

void launch_softmax(ScalarType type, const void* x, void* y, std::int64_t outer, std::int64_t D, std::int64_t inner,
                    bool log, Stream stream) {
  if (outer * D * inner == 0) return;
  auto s = static_cast<cudaStream_t>(stream);
  visit_floating(type, "softmax", [&]<class T>() {
    if (inner == 1)
      softmax_rows_kernel<T><<<blocks_for(outer, kWarpsPerBlock), kThreads, 0, s>>>(static_cast<const T*>(x),
                                                                                    static_cast<T*>(y), outer, D, log);
    else
      softmax_columns_kernel<T><<<blocks_for(outer * inner, kThreads), kThreads, 0, s>>>(
          static_cast<const T*>(x), static_cast<T*>(y), outer, D, inner, log);
  });
  check_launch("softmax");
}

void launch_softmax_backward(ScalarType type, const void* grad_y, const void* y, void* grad_x, std::int64_t outer,
                             std::int64_t D, std::int64_t inner, bool log, Stream stream) {
  if (outer * D * inner == 0) return;
  auto s = static_cast<cudaStream_t>(stream);
  visit_floating(type, "softmax_backward", [&]<class T>() {
    const T* gy = static_cast<const T*>(grad_y);
    const T* out = static_cast<const T*>(y);
    T* gx = static_cast<T*>(grad_x);
    if (inner == 1)
      softmax_backward_rows_kernel<T><<<blocks_for(outer, kWarpsPerBlock), kThreads, 0, s>>>(gy, out, gx, outer, D, log);
    else
      softmax_backward_columns_kernel<T><<<blocks_for(outer * inner, kThreads), kThreads, 0, s>>>(gy, out, gx, outer,
                                                                                                  D, inner, log);
  });
  check_launch("softmax_backward");
}

// About 1,024 blocks in step 1, each folding at least 4,096 values.
std::int64_t batch_norm_pieces(std::int64_t n, std::int64_t c, std::int64_t s) {
  const std::int64_t count = n * s;
  if (c == 0 || count == 0) return 1;
  const std::int64_t by_size = (count + 4095) / 4096, by_blocks = (1024 + c - 1) / c;
  return std::max<std::int64_t>(1, std::min(by_size, by_blocks));
}

void launch_batch_norm(ScalarType type, const void* x, const void* weight, const void* bias, double eps, void* y,
                       void* mean, void* invstd, std::int64_t n, std::int64_t c, std::int64_t s,
                       const BatchNormScratch& scratch, Stream stream) {
  if (c == 0) return;
  const auto st = static_cast<cudaStream_t>(stream);
  const ChannelLayout l{n, c, s};
  const std::int64_t pieces = scratch.pieces;
  visit_floating(type, "batch_norm", [&]<class T>() {
    batch_norm_moments_kernel<T><<<static_cast<unsigned>(c * pieces), kThreads, 0, st>>>(
        static_cast<const T*>(x), l, pieces, scratch.partials);
    batch_norm_merge_kernel<T><<<blocks_for(c, kThreads), kThreads, 0, st>>>(
        scratch.partials, c, pieces, eps, static_cast<const T*>(weight), static_cast<const T*>(bias),
        static_cast<T*>(mean), static_cast<T*>(invstd), static_cast<T*>(scratch.coefficients));
    if (n * s > 0)
      batch_norm_apply_kernel<T><<<blocks_for(n * c * s, kThreads), kThreads, 0, st>>>(
          static_cast<const T*>(x), static_cast<const T*>(scratch.coefficients), static_cast<T*>(y), l);
  });
  check_launch("batch_norm");
}

void launch_batch_norm_backward(ScalarType type, const void* grad_y, const void* x, const void* weight,
                                const void* mean, const void* invstd, void* grad_x, void* grad_weight,
                                void* grad_bias, std::int64_t n, std::int64_t c, std::int64_t s,
                                const BatchNormScratch& scratch, Stream stream) {
  if (c == 0) return;
  const auto st = static_cast<cudaStream_t>(stream);
  const ChannelLayout l{n, c, s};
  const std::int64_t pieces = scratch.pieces;
  visit_floating(type, "batch_norm_backward", [&]<class T>() {
    batch_norm_grad_sums_kernel<T><<<static_cast<unsigned>(c * pieces), kThreads, 0, st>>>(
        static_cast<const T*>(grad_y), static_cast<const T*>(x), static_cast<const T*>(mean), l, pieces,
        scratch.partials);
    batch_norm_grad_merge_kernel<T><<<blocks_for(c, kThreads), kThreads, 0, st>>>(
        scratch.partials, c, pieces, static_cast<double>(n * s), static_cast<const T*>(weight),
        static_cast<const T*>(mean), static_cast<const T*>(invstd), static_cast<T*>(grad_weight),
        static_cast<T*>(grad_bias), static_cast<T*>(scratch.coefficients));
    if (grad_x && n * s > 0)
      batch_norm_grad_apply_kernel<T><<<blocks_for(n * c * s, kThreads), kThreads, 0, st>>>(
          static_cast<const T*>(grad_y), static_cast<const T*>(x), static_cast<const T*>(scratch.coefficients),
          static_cast<T*>(grad_x), l);
  });
  check_launch("batch_norm_backward");
}

void launch_distance_epilogue(ScalarType type, void* out, const void* a_norms, const void* b_norms, std::int64_t n,
                              std::int64_t m, Stream stream) {
  if (n == 0 || m == 0) return;
  const dim3 grid(static_cast<unsigned>((m + kThreads - 1) / kThreads), static_cast<unsigned>(std::min<std::int64_t>(n, 65535)));
  visit_floating(type, "cdist_squared", [&]<class T>() {
    distance_epilogue_kernel<T><<<grid, kThreads, 0, static_cast<cudaStream_t>(stream)>>>(
        static_cast<T*>(out), static_cast<const T*>(a_norms), static_cast<const T*>(b_norms), n, m);
  });
  check_launch("cdist_squared (epilogue)");
}

void launch_nearest_rows(ScalarType type, const void* cross, const void* x_norms, const void* c_norms, void* sq,
                         std::int64_t* labels, std::int64_t rows, std::int64_t k, Stream stream) {
  if (rows == 0) return;
  visit_floating(type, "nearest_rows", [&]<class T>() {
    nearest_rows_kernel<T><<<blocks_for(rows * 32, kThreads), kThreads, 0, static_cast<cudaStream_t>(stream)>>>(
        static_cast<const T*>(cross), static_cast<const T*>(x_norms), static_cast<const T*>(c_norms),
        static_cast<T*>(sq), labels, rows, k);
  });
  check_launch("nearest_rows");
}

void launch_max_pool(ScalarType type, const PoolShape& p, const void* x, void* y, std::int64_t* indices,
                     Stream stream) {
  const std::int64_t total = p.planes * p.out_h * p.out_w;
  if (total == 0) return;
  visit_floating(type, "max_pool2d", [&]<class T>() {
    max_pool_kernel<T><<<blocks_for(total, kThreads), kThreads, 0, static_cast<cudaStream_t>(stream)>>>(
        p, static_cast<const T*>(x), static_cast<T*>(y), indices);
  });
  check_launch("max_pool2d");
}

void launch_max_pool_backward(ScalarType type, const PoolShape& p, const void* grad_y, const std::int64_t* indices,
                              void* grad_x, Stream stream) {
  const std::int64_t total = p.planes * p.in_h * p.in_w;
  if (total == 0) return;
  visit_floating(type, "max_pool2d_backward", [&]<class T>() {
    max_pool_backward_kernel<T><<<blocks_for(total, kThreads), kThreads, 0, static_cast<cudaStream_t>(stream)>>>(
        p, static_cast<const T*>(grad_y), indices, static_cast<T*>(grad_x));
  });
  check_launch("max_pool2d_backward");
}

void launch_avg_pool(ScalarType type, const PoolShape& p, const void* x, void* y, Stream stream) {
  const std::int64_t total = p.planes * p.out_h * p.out_w;
  if (total == 0) return;
  visit_floating(type, "avg_pool2d", [&]<class T>() {
    avg_pool_kernel<T><<<blocks_for(total, kThreads), kThreads, 0, static_cast<cudaStream_t>(stream)>>>(
        p, static_cast<const T*>(x), static_cast<T*>(y));
  });
  check_launch("avg_pool2d");
}

void launch_avg_pool_backward(ScalarType type, const PoolShape& p, const void* grad_y, void* grad_x, Stream stream) {
  const std::int64_t total = p.planes * p.in_h * p.in_w;
  if (total == 0) return;
  visit_floating(type, "avg_pool2d_backward", [&]<class T>() {
    avg_pool_backward_kernel<T><<<blocks_for(total, kThreads), kThreads, 0, static_cast<cudaStream_t>(stream)>>>(
        p, static_cast<const T*>(grad_y), static_cast<T*>(grad_x));
  });
  check_launch("avg_pool2d_backward");
}

}  // namespace cake::cuda::kernels
