// cuda/backend/loops.cuh: the elementwise kernel every CUDA elementwise op runs (nvcc only).
//
//   launch_elementwise<float, float>(g, ops::Exp{}, stream);   // out = exp(x), g = {out, x}
//
// Two paths, chosen per launch:
//   * vectorised: every operand one dense run and every pointer aligned to a 16-byte vector
//     of its type: each thread loads 16 / sizeof(widest type) elements of each input with one
//     vector instruction (LDG.128 for float, 4 per load), applies the functor, stores one vector.
//     Memory-bound kernels reach full bandwidth only with wide loads (NVIDIA, "CUDA C++ Best
//     Practices Guide", section 9.2.1, coalesced access). The last partial vector goes scalar.
//   * strided: any views; each thread turns its linear index into one offset per operand with
//     the geometry's sizes and strides (0 strides broadcast).
// A __global__ template may take only one parameter pack, and it must come last, so the kernels
// are <Out, F, In...>, not the CPU loop's <Out, In..., F>.
#pragma once

#include <cuda/std/tuple>
#include <cuda_runtime.h>

#include <cstdint>
#include <utility>

#include "cake/cuda/backend/kernel_api.h"
#include "cake/cuda/backend/check.cuh"

namespace cake::cuda::kernels {

inline constexpr int kThreads = 256;

template <class T, int V>
struct alignas(sizeof(T) * V) Vec {
  T v[V];
};

template <class... Ts>
constexpr int widest() {
  int w = 1;
  ((w = sizeof(Ts) > static_cast<std::size_t>(w) ? static_cast<int>(sizeof(Ts)) : w), ...);
  return w;
}

// The vectorised body for one vector index `vi` of V elements.
template <int V, class Out, class F, class... In, std::size_t... I>
__device__ __forceinline__ void vector_step(const F& f, void* const* data, std::int64_t vi, std::index_sequence<I...>) {
  ::cuda::std::tuple<Vec<In, V>...> loaded{reinterpret_cast<const Vec<In, V>*>(data[1 + I])[vi]...};
  Vec<Out, V> result;
#pragma unroll
  for (int j = 0; j < V; ++j) result.v[j] = static_cast<Out>(f(::cuda::std::get<I>(loaded).v[j]...));
  reinterpret_cast<Vec<Out, V>*>(data[0])[vi] = result;
}

template <class Out, class F, class... In, std::size_t... I>
__device__ __forceinline__ void scalar_step(const F& f, void* const* data, std::int64_t i, std::index_sequence<I...>) {
  static_cast<Out*>(data[0])[i] = static_cast<Out>(f(static_cast<const In*>(data[1 + I])[i]...));
}

template <int V, class Out, class F, class... In>
__global__ void vectorized_kernel(F f, Geometry<1 + sizeof...(In)> g) {
  const std::int64_t vectors = g.numel / V;
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  const std::int64_t first = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  for (std::int64_t vi = first; vi < vectors; vi += stride)
    vector_step<V, Out, F, In...>(f, g.data, vi, std::index_sequence_for<In...>{});
  // The tail that fills no whole vector: one element per thread of the first block.
  for (std::int64_t i = vectors * V + first; i < g.numel; i += stride)
    scalar_step<Out, F, In...>(f, g.data, i, std::index_sequence_for<In...>{});
}

template <class Out, class F, class... In, std::size_t... I>
__device__ __forceinline__ void strided_step(const F& f, const Geometry<1 + sizeof...(In)>& g, std::int64_t linear,
                                             std::index_sequence<I...>) {
  constexpr int N = 1 + sizeof...(In);
  std::int64_t offset[N] = {};
  for (int d = g.ndim - 1; d >= 0; --d) {
    const std::int64_t idx = linear % g.sizes[d];
    linear /= g.sizes[d];
#pragma unroll
    for (int k = 0; k < N; ++k) offset[k] += idx * g.strides[k][d];
  }
  static_cast<Out*>(g.data[0])[offset[0]] =
      static_cast<Out>(f(static_cast<const In*>(g.data[1 + I])[offset[1 + I]]...));
}

template <class Out, class F, class... In>
__global__ void strided_kernel(F f, Geometry<1 + sizeof...(In)> g) {
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < g.numel; i += stride)
    strided_step<Out, F, In...>(f, g, i, std::index_sequence_for<In...>{});
}

inline unsigned grid_for(std::int64_t work) {
  // Enough blocks to cover the work once, capped: the grid-stride loops do the rest, and
  // 2^16 blocks of 256 threads saturate any current GPU.
  const std::int64_t blocks = (work + kThreads - 1) / kThreads;
  return static_cast<unsigned>(blocks < 1 ? 1 : blocks > 65536 ? 65536 : blocks);
}

template <class Out, class F, class... In>
void launch_elementwise(const Geometry<1 + sizeof...(In)>& g, F f, Stream stream) {
  if (g.numel == 0) return;
  constexpr int V = 16 / widest<Out, In...>();
  constexpr int sizes[] = {static_cast<int>(sizeof(Out)), static_cast<int>(sizeof(In))...};
  bool aligned = g.contiguous;
  for (int k = 0; k < 1 + static_cast<int>(sizeof...(In)); ++k)
    aligned = aligned && reinterpret_cast<std::uintptr_t>(g.data[k]) % (static_cast<std::size_t>(sizes[k]) * V) == 0;
  auto s = static_cast<cudaStream_t>(stream);
  if (aligned) {
    vectorized_kernel<V, Out, F, In...><<<grid_for(g.numel / V + 1), kThreads, 0, s>>>(f, g);
  } else {
    strided_kernel<Out, F, In...><<<grid_for(g.numel), kThreads, 0, s>>>(f, g);
  }
  check_launch("elementwise");
}

}  // namespace cake::cuda::kernels
