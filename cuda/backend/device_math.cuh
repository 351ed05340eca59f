// cuda/backend/device_math.cuh: small device helpers the nn, optimiser and indexing kernels share
// (nvcc only).
//
// visit_floating: the float32/float64 switch of the kernels that take only those, refusing
// the rest by name (kernel_api.h's refuse).
//
// mul_rn / add_rn: a product or sum rounded on its own. nvcc contracts a * b + c into one fused
// multiply-add by default (one rounding instead of two); the CPU kernels these mirror round
// every operation (optim/cpu/fused_kernels.cpp is compiled with fp-contract=off), so where the
// results should agree bit for bit the kernels spell each rounding out.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <type_traits>

#include "cake/cuda/backend/kernel_api.h"

namespace cake::cuda::kernels {

template <class F>
void visit_floating(ScalarType t, const char* op, F&& f) {
  if (t == ScalarType::Float32) return f.template operator()<float>();
  if (t == ScalarType::Float64) return f.template operator()<double>();
  refuse(op, t);
}

template <class T>
__device__ __forceinline__ T mul_rn(T a, T b) {
  if constexpr (std::is_same_v<T, float>) return __fmul_rn(a, b);
  else if constexpr (std::is_same_v<T, double>) return __dmul_rn(a, b);
  else return a * b;
}
template <class T>
__device__ __forceinline__ T add_rn(T a, T b) {
  if constexpr (std::is_same_v<T, float>) return __fadd_rn(a, b);
  else if constexpr (std::is_same_v<T, double>) return __dadd_rn(a, b);
  else return a + b;
}

template <class T>
__device__ __forceinline__ bool is_nan(T v) {
  if constexpr (std::is_floating_point_v<T>) return v != v;
  else return false;
}

// __shfl_down_sync moves 32- and 64-bit values; smaller types travel as an int.
template <class T>
__device__ __forceinline__ T shuffle_down(T v, int offset) {
  if constexpr (sizeof(T) < 4) return static_cast<T>(__shfl_down_sync(0xffffffffu, static_cast<int>(v), offset));
  else if constexpr (std::is_integral_v<T> && sizeof(T) == 8)
    return static_cast<T>(__shfl_down_sync(0xffffffffu, static_cast<long long>(v), offset));
  else return __shfl_down_sync(0xffffffffu, v, offset);
}

// The sum over a warp, in lane 0 (the others hold partial sums).
template <class T>
__device__ __forceinline__ T warp_sum(T v) {
#pragma unroll
  for (int offset = 16; offset > 0; offset /= 2) v += shuffle_down(v, offset);
  return v;
}

// The sum over a block of at most 1024 threads (a multiple of 32), returned to every thread.
// `shared` holds 32 values; the call synchronises the block, so every thread must make it.
template <class T>
__device__ T block_sum(T v, T* shared) {
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  v = warp_sum(v);
  __syncthreads();  // `shared` may still be read by a previous call
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  if (warp == 0) {
    v = lane < warps ? shared[lane] : T(0);
    v = warp_sum(v);
    if (lane == 0) shared[0] = v;
  }
  __syncthreads();
  return shared[0];
}

// Grid size for a grid-stride loop over `work` items with `threads` per block, capped.
inline unsigned blocks_for(std::int64_t work, int threads, std::int64_t cap = 65536) {
  const std::int64_t blocks = (work + threads - 1) / threads;
  return static_cast<unsigned>(blocks < 1 ? 1 : blocks > cap ? cap : blocks);
}

}  // namespace cake::cuda::kernels
