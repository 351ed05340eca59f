// cpu/norm_kernels.cpp: Cake's own batch normalisation (training mode), forward and backward,
// over x viewed as [N, C, S]; channels run in parallel. The formulas are stated at the stub
// types in native/nn_kernels.h (Ioffe & Szegedy 2015).
//
// Statistics use two passes (mean first, then the mean of squared deviations): the one-pass
// E[x^2] - E[x]^2 cancels catastrophically when |mean| >> std. Sums are accumulated in double
// so that float32 channels of millions of values keep float32 accuracy.
//
// This is also the float32 kernel of training (nn_routing.cpp): oneDNN 2.6 has only a scalar
// reference implementation for plain NCHW data (ncsp_bnorm), about 3x slower than these loops.
// What makes them fast: a sum runs in kLanes independent accumulators of T that the compiler
// keeps in vector registers (one double accumulator would chain every addition on the last
// one's latency and cannot be vectorised, the order of additions being fixed), and every
// kBlock values the lanes are added into the double total, so no lane sums more than
// kBlock / kLanes values in T (NOTE [ Blocked sums ]).
#include <algorithm>
#include <cmath>
#include <utility>

#include "cake/tensor/cpu/nn_cpu.h"
#include "cake/tensor/parallel.h"

namespace cake::cpu::fallback {
namespace {

struct Layout {
  std::int64_t n, c, s;  // x is [n, c, s]; channel c's values are n runs of s
};
Layout layout_of(const Tensor& x) {
  const std::int64_t n = x.sizes()[0], c = x.sizes()[1];
  return {n, c, n * c > 0 ? x.numel() / (n * c) : 0};
}

// Calls f(run) for each of channel c's n contiguous runs of s values.
template <class T, class F>
void for_each_run(const Layout& l, T* base, std::int64_t c, const F& f) {
  for (std::int64_t i = 0; i < l.n; ++i) f(base + (i * l.c + c) * l.s);
}

// NOTE [ Blocked sums ]
// sum_{j < s} f(j): the values go to kLanes accumulators of T, in blocks of kBlock values; each
// block's lanes are added into a double total. In float32 a lane sums 16 values before it is
// flushed, so the error stays that of float32 rounding of a few terms while the inner loop is
// one vector add per kLanes values. f must be cheap and inlinable (a load and an arithmetic op).
constexpr std::int64_t kLanes = 16, kBlock = 256;

template <class T, class F>
double blocked_sum(std::int64_t s, const F& f) {
  double total = 0.0;
  std::int64_t j = 0;
  while (s - j >= kLanes) {
    T lane[kLanes] = {};
    const std::int64_t end = j + std::min(kBlock, (s - j) / kLanes * kLanes);
    for (; j < end; j += kLanes)
      for (std::int64_t k = 0; k < kLanes; ++k) lane[k] += f(j + k);
    for (std::int64_t k = 0; k < kLanes; ++k) total += static_cast<double>(lane[k]);
  }
  for (; j < s; ++j) total += static_cast<double>(f(j));
  return total;
}

// The same for two sums at once, sum f(j) and sum g(j) (one pass over memory for backward).
template <class T, class F, class G>
std::pair<double, double> blocked_sums(std::int64_t s, const F& f, const G& g) {
  double total_f = 0.0, total_g = 0.0;
  std::int64_t j = 0;
  while (s - j >= kLanes) {
    T lane_f[kLanes] = {}, lane_g[kLanes] = {};
    const std::int64_t end = j + std::min(kBlock, (s - j) / kLanes * kLanes);
    for (; j < end; j += kLanes)
      for (std::int64_t k = 0; k < kLanes; ++k) lane_f[k] += f(j + k), lane_g[k] += g(j + k);
    for (std::int64_t k = 0; k < kLanes; ++k) total_f += static_cast<double>(lane_f[k]), total_g += static_cast<double>(lane_g[k]);
  }
  for (; j < s; ++j) total_f += static_cast<double>(f(j)), total_g += static_cast<double>(g(j));
  return {total_f, total_g};
}

std::int64_t channel_grain(const Layout& l) {
  return std::max<std::int64_t>(1, 32768 / std::max<std::int64_t>(1, l.n * l.s));
}

template <class T>
void forward(const Tensor& x_t, const T* weight, const T* bias, double eps, T* y, T* mean_out, T* invstd_out) {
  const Layout l = layout_of(x_t);
  const T* x = x_t.data_ptr<T>();
  const double count = static_cast<double>(l.n * l.s);
  parallel_for(0, l.c, channel_grain(l), [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t c = lo; c < hi; ++c) {
      double sum = 0.0;
      for_each_run(l, x, c, [&](const T* run) { sum += blocked_sum<T>(l.s, [run](std::int64_t j) { return run[j]; }); });
      const double mean = sum / count;
      // Deviations from the mean rounded to T: exact enough, since x - m is computed to T's
      // precision and only its square is summed.
      const T m_t = static_cast<T>(mean);
      double squares = 0.0;
      for_each_run(l, x, c, [&](const T* run) {
        squares += blocked_sum<T>(l.s, [run, m_t](std::int64_t j) {
          const T d = run[j] - m_t;
          return d * d;
        });
      });
      const double invstd = 1.0 / std::sqrt(squares / count + eps);
      mean_out[c] = m_t;
      invstd_out[c] = static_cast<T>(invstd);
      // y = (x - mean) * (w * invstd) + b; centring first keeps float32 accurate when
      // |mean| >> std (folding the mean into the shift would cancel large terms).
      const T scale = static_cast<T>((weight ? static_cast<double>(weight[c]) : 1.0) * invstd);
      const T shift = bias ? bias[c] : T(0);
      for (std::int64_t i = 0; i < l.n; ++i) {
        const T* in = x + (i * l.c + c) * l.s;
        T* out = y + (i * l.c + c) * l.s;
        for (std::int64_t j = 0; j < l.s; ++j) out[j] = (in[j] - m_t) * scale + shift;
      }
    }
  });
}

template <class T>
void backward(const T* gy, const Tensor& x_t, const T* weight, const T* mean_in, const T* invstd_in, T* gx, T* gw,
              T* gb) {
  const Layout l = layout_of(x_t);
  const T* x = x_t.data_ptr<T>();
  const double count = static_cast<double>(l.n * l.s);
  parallel_for(0, l.c, channel_grain(l), [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t c = lo; c < hi; ++c) {
      const double invstd = static_cast<double>(invstd_in[c]);
      const T m_t = mean_in[c];
      // sum_g = sum g; sum_g_xhat = sum g * xhat = invstd * sum g * (x - mean)
      double sum_g = 0.0, sum_g_centred = 0.0;
      for (std::int64_t i = 0; i < l.n; ++i) {
        const T* g = gy + (i * l.c + c) * l.s;
        const T* in = x + (i * l.c + c) * l.s;
        const auto [run_g, run_g_centred] = blocked_sums<T>(
            l.s, [g](std::int64_t j) { return g[j]; }, [g, in, m_t](std::int64_t j) { return g[j] * (in[j] - m_t); });
        sum_g += run_g;
        sum_g_centred += run_g_centred;
      }
      const double sum_g_xhat = sum_g_centred * invstd;
      if (gb) gb[c] = static_cast<T>(sum_g);
      if (gw) gw[c] = static_cast<T>(sum_g_xhat);
      if (!gx) continue;
      // gx = w * invstd * (g - sum_g / M - xhat * sum_g_xhat / M), xhat = (x - mean) * invstd,
      // written as gx = a * g + b * (x - mean) + k with per-channel constants.
      const double w_invstd = (weight ? static_cast<double>(weight[c]) : 1.0) * invstd;
      const T a = static_cast<T>(w_invstd);
      const T b = static_cast<T>(-w_invstd * invstd * sum_g_xhat / count);
      const T k = static_cast<T>(-w_invstd * sum_g / count);
      for (std::int64_t i = 0; i < l.n; ++i) {
        const T* g = gy + (i * l.c + c) * l.s;
        const T* in = x + (i * l.c + c) * l.s;
        T* out = gx + (i * l.c + c) * l.s;
        for (std::int64_t j = 0; j < l.s; ++j) out[j] = a * g[j] + b * (in[j] - m_t) + k;
      }
    }
  });
}

template <class T>
T* data_or_null(const Tensor& t) {
  return t.defined() ? t.data_ptr<T>() : nullptr;
}

}  // namespace

void batch_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps, const Tensor& y,
                        const Tensor& mean, const Tensor& invstd) {
  visit_floating(x.dtype(), "batch_norm", [&]<class T>() {
    forward<T>(x, data_or_null<T>(weight), data_or_null<T>(bias), eps, y.data_ptr<T>(), mean.data_ptr<T>(),
               invstd.data_ptr<T>());
  });
}

void batch_norm_backward(const Tensor& grad_y, const Tensor& x, const Tensor& weight, const Tensor& mean,
                         const Tensor& invstd, double /*eps: invstd is all this kernel needs*/, const Tensor& grad_x,
                         const Tensor& grad_weight, const Tensor& grad_bias) {
  visit_floating(x.dtype(), "batch_norm_backward", [&]<class T>() {
    backward<T>(grad_y.data_ptr<T>(), x, data_or_null<T>(weight), mean.data_ptr<T>(), invstd.data_ptr<T>(),
                data_or_null<T>(grad_x), data_or_null<T>(grad_weight), data_or_null<T>(grad_bias));
  });
}

}  // namespace cake::cpu::fallback
