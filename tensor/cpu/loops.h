// cpu/loops.h: the one loop every CPU elementwise kernel runs.
//
//   cpu::elementwise<float, float, float>(out, {&a, &b}, [](float x, float y) { return x + y; });
//
// All operands have the same sizes (inputs are already expanded by broadcasting, so a
// broadcast dimension has stride 0). The loop
//   1. drops size-1 dimensions and merges neighbours that are contiguous in *every* operand,
//      so a contiguous tensor of any rank becomes one flat run;
//   2. splits the outer index space across OpenMP threads when there is enough work;
//   3. runs the innermost dimension as a tight loop: plain pointer arithmetic when every
//      operand is contiguous there (the compiler vectorises it), strided otherwise.
// The functor is a template parameter: no virtual call, no std::function per element.
#pragma once

#include <array>
#include <algorithm>
#include <cstdint>
#include <tuple>
#include <utility>

#include "cake/tensor/parallel.h"
#include "cake/tensor/tensor.h"

namespace cake::cpu {

inline constexpr int kMaxLoopDims = 16;
// Below this many elements a kernel runs on one thread (thread start-up costs more).
inline constexpr std::int64_t kParallelGrain = 32768;

// N operands (output first) iterated together, strides in bytes, innermost dimension first.
template <int N>
struct LoopGeometry {
  int ndim = 0;
  std::array<std::int64_t, kMaxLoopDims> sizes{};
  std::array<std::array<std::int64_t, kMaxLoopDims>, N> strides{};
  std::array<char*, N> data{};

  std::int64_t numel() const {
    std::int64_t n = 1;
    for (int d = 0; d < ndim; ++d) n *= sizes[d];
    return n;
  }
};

template <int N>
LoopGeometry<N> make_loop_geometry(const std::array<const Tensor*, N>& operands) {
  const Tensor& out = *operands[0];
  const int ndim = static_cast<int>(out.dim());
  CAKE_CHECK(ndim <= kMaxLoopDims, "elementwise: at most ", kMaxLoopDims, " dimensions, got ", ndim);
  LoopGeometry<N> g;
  for (int k = 0; k < N; ++k) g.data[k] = static_cast<char*>(operands[k]->raw_data());
  // Innermost first, skipping size-1 dims.
  for (int d = ndim - 1; d >= 0; --d) {
    const std::int64_t size = out.sizes()[d];
    if (size == 1) continue;
    const int i = g.ndim++;
    g.sizes[i] = size;
    for (int k = 0; k < N; ++k)
      g.strides[k][i] = operands[k]->strides()[d] * static_cast<std::int64_t>(operands[k]->element_size());
  }
  // Merge dimension i+1 into i when, for every operand, stepping once in i+1 equals stepping
  // sizes[i] times in i.
  int merged = 0;
  for (int i = 1; i < g.ndim; ++i) {
    bool can_merge = true;
    for (int k = 0; k < N; ++k)
      can_merge = can_merge && g.strides[k][i] == g.strides[k][merged] * g.sizes[merged];
    if (can_merge) {
      g.sizes[merged] *= g.sizes[i];
    } else {
      ++merged;
      g.sizes[merged] = g.sizes[i];
      for (int k = 0; k < N; ++k) g.strides[k][merged] = g.strides[k][i];
    }
  }
  if (g.ndim > 0) g.ndim = merged + 1;
  if (g.ndim == 0) {  // a single element
    g.ndim = 1;
    g.sizes[0] = 1;
    for (int k = 0; k < N; ++k) g.strides[k][0] = 0;
  }
  return g;
}

namespace detail {

template <class Out, class... In, class F, std::size_t... I>
inline void inner_loop(const std::array<char*, sizeof...(In) + 1>& data,
                       const std::array<std::int64_t, sizeof...(In) + 1>& step, std::int64_t n, F& f,
                       std::index_sequence<I...>) {
  const bool contiguous = step[0] == sizeof(Out) && ((step[I + 1] == sizeof(In)) && ...);
  if (contiguous) {
    Out* out = reinterpret_cast<Out*>(data[0]);
    const std::tuple<const In*...> in{reinterpret_cast<const In*>(data[I + 1])...};
#pragma GCC ivdep
    for (std::int64_t i = 0; i < n; ++i) out[i] = static_cast<Out>(f(std::get<I>(in)[i]...));
    return;
  }
  for (std::int64_t i = 0; i < n; ++i) {
    *reinterpret_cast<Out*>(data[0] + i * step[0]) =
        static_cast<Out>(f(*reinterpret_cast<const In*>(data[I + 1] + i * step[I + 1])...));
  }
}

// Runs linear outer indices [begin, end) of the dims above the innermost one.
template <class Out, class... In, class F>
void run_range(const LoopGeometry<sizeof...(In) + 1>& g, std::int64_t begin, std::int64_t end, F& f) {
  constexpr int N = sizeof...(In) + 1;
  std::array<std::int64_t, kMaxLoopDims> index{};
  std::int64_t rest = begin;
  for (int d = 1; d < g.ndim; ++d) {
    index[d] = rest % g.sizes[d];
    rest /= g.sizes[d];
  }
  std::array<std::int64_t, N> step;
  for (int k = 0; k < N; ++k) step[k] = g.strides[k][0];
  for (std::int64_t outer = begin; outer < end; ++outer) {
    std::array<char*, N> ptr = g.data;
    for (int d = 1; d < g.ndim; ++d)
      for (int k = 0; k < N; ++k) ptr[k] += index[d] * g.strides[k][d];
    inner_loop<Out, In...>(ptr, step, g.sizes[0], f, std::index_sequence_for<In...>{});
    for (int d = 1; d < g.ndim; ++d) {  // odometer increment
      if (++index[d] < g.sizes[d]) break;
      index[d] = 0;
    }
  }
}

}  // namespace detail

// out[i] = f(in_0[i], in_1[i], ...) for every element. Out/In are the C++ element types.
template <class Out, class... In, class F>
void elementwise(const Tensor& out, const std::array<const Tensor*, sizeof...(In)>& inputs, F f) {
  constexpr int N = sizeof...(In) + 1;
  if (out.numel() == 0) return;
  std::array<const Tensor*, N> operands;
  operands[0] = &out;
  for (std::size_t k = 0; k < sizeof...(In); ++k) operands[k + 1] = inputs[k];
  const LoopGeometry<N> g = make_loop_geometry<N>(operands);
  const std::int64_t inner = g.sizes[0];
  const std::int64_t outer = g.numel() / inner;
  if (outer == 1) {
    // One long run (a contiguous tensor): split the run itself across threads, in blocks of
    // kSplitBlock elements. The loop's vector body leaves its last few elements to a scalar
    // epilogue, and a vectorised exp or tanh may differ from the scalar one in the last bit
    // (cpu/vector_math.h); with every chunk a whole number of blocks, the only epilogue is
    // the run's own end, so each element's value is the same on any number of threads.
    constexpr std::int64_t kSplitBlock = 64;
    const std::int64_t blocks = (inner + kSplitBlock - 1) / kSplitBlock;
    parallel_for(0, blocks, kParallelGrain / kSplitBlock, [&](std::int64_t first, std::int64_t last) {
      const std::int64_t lo = first * kSplitBlock, hi = std::min(last * kSplitBlock, inner);
      std::array<char*, N> ptr = g.data;
      std::array<std::int64_t, N> step;
      for (int k = 0; k < N; ++k) {
        step[k] = g.strides[k][0];
        ptr[k] += lo * step[k];
      }
      detail::inner_loop<Out, In...>(ptr, step, hi - lo, f, std::index_sequence_for<In...>{});
    });
    return;
  }
  const std::int64_t outer_grain = std::max<std::int64_t>(1, kParallelGrain / inner);
  parallel_for(0, outer, outer_grain,
               [&](std::int64_t lo, std::int64_t hi) { detail::run_range<Out, In...>(g, lo, hi, f); });
}

}  // namespace cake::cpu
