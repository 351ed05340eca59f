// cuda/backend/reduce_kernels.cu: sum/prod/max/min over the middle dim of [outer, R, inner].
//
// inner == 1 (each output reduces one contiguous run, e.g. a row sum): one block per output.
//   Each thread folds a strided slice of the run, then the block combines its 256 partials:
//   within each warp of 32 by __shfl_down_sync (registers only, no shared memory; NVIDIA,
//   "Faster Parallel Reductions on Kepler", Luitjens 2014), then the 8 warp results through
//   shared memory and one last warp shuffle.
// inner > 1 (a column-style reduction, e.g. the batch dim): one thread per output (o, i)
//   walks the R rows; neighbouring threads read neighbouring addresses, so loads coalesce.
// The accumulator is the element type. A row sum is a sequential fold of R / 256 elements per
// thread followed by a tree of depth 8, so float32 error grows like O(R / 256) rather than O(R).
#include <cuda_runtime.h>

#include <cstdint>
#include <limits>
#include <type_traits>

#include "cake/cuda/backend/check.cuh"
#include "cake/cuda/backend/kernel_api.h"
#include "cake/tensor/functors.h"
#include "cake/tensor/native/op_tables.h"

namespace cake::cuda::kernels {
namespace {

constexpr int kReduceThreads = 256;

// __shfl_down_sync moves 32- and 64-bit values; a byte travels as an int.
template <class T>
__device__ T shuffle_down(T v, int offset) {
  if constexpr (sizeof(T) < 4) return static_cast<T>(__shfl_down_sync(0xffffffffu, static_cast<int>(v), offset));
  else if constexpr (std::is_same_v<T, std::int64_t>) return static_cast<T>(__shfl_down_sync(0xffffffffu, static_cast<long long>(v), offset));
  else return __shfl_down_sync(0xffffffffu, v, offset);
}

template <class R, class T>
__device__ T warp_reduce(const R& r, T v) {
#pragma unroll
  for (int offset = 16; offset > 0; offset /= 2) v = r(v, shuffle_down(v, offset));
  return v;
}

template <class R, class T>
__global__ void reduce_rows_kernel(R r, const T* x, T* out, std::int64_t reduced) {
  const T* row = x + static_cast<std::int64_t>(blockIdx.x) * reduced;
  T acc = R::template identity<T>();
  for (std::int64_t j = threadIdx.x; j < reduced; j += blockDim.x) acc = r(acc, row[j]);
  acc = warp_reduce(r, acc);
  __shared__ T partial[kReduceThreads / 32];
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  if (lane == 0) partial[warp] = acc;
  __syncthreads();
  if (warp == 0) {
    acc = lane < kReduceThreads / 32 ? partial[lane] : R::template identity<T>();
    acc = warp_reduce(r, acc);
    if (lane == 0) out[blockIdx.x] = acc;
  }
}

template <class R, class T>
__global__ void reduce_columns_kernel(R r, const T* x, T* out, std::int64_t outer, std::int64_t reduced,
                                      std::int64_t inner) {
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t k = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; k < outer * inner;
       k += stride) {
    const std::int64_t o = k / inner, i = k % inner;
    const T* p = x + o * reduced * inner + i;
    T acc = R::template identity<T>();
    for (std::int64_t j = 0; j < reduced; ++j) acc = r(acc, p[j * inner]);
    out[k] = acc;
  }
}

template <class R, class T>
void reduce(const T* x, T* out, std::int64_t outer, std::int64_t reduced, std::int64_t inner, cudaStream_t s) {
  if (outer * inner == 0) return;
  const R r{};
  if (inner == 1) {
    // One block per output row; gridDim.x allows 2^31 - 1.
    reduce_rows_kernel<R, T><<<static_cast<unsigned>(outer), kReduceThreads, 0, s>>>(r, x, out, reduced);
  } else {
    const std::int64_t blocks = (outer * inner + kReduceThreads - 1) / kReduceThreads;
    reduce_columns_kernel<R, T><<<static_cast<unsigned>(blocks < 65536 ? blocks : 65536), kReduceThreads, 0, s>>>(
        r, x, out, outer, reduced, inner);
  }
  check_launch("reduce");
}

template <class R>
void reduce_typed(ScalarType type, const void* x, void* out, std::int64_t outer, std::int64_t reduced,
                  std::int64_t inner, cudaStream_t s) {
  switch (type) {
    case ScalarType::Bool:  // the native layer reduces bool as int64
    case ScalarType::UInt8:
      return reduce<R>(static_cast<const std::uint8_t*>(x), static_cast<std::uint8_t*>(out), outer, reduced, inner, s);
    case ScalarType::Int64:
      return reduce<R>(static_cast<const std::int64_t*>(x), static_cast<std::int64_t*>(out), outer, reduced, inner, s);
    case ScalarType::Float32:
      return reduce<R>(static_cast<const float*>(x), static_cast<float*>(out), outer, reduced, inner, s);
    case ScalarType::Float64:
      return reduce<R>(static_cast<const double*>(x), static_cast<double*>(out), outer, reduced, inner, s);
  }
}

}  // namespace

// One case per row of CAKE_REDUCE_OPS (native/op_tables.h), each with its functor
// ops::reduce::<row> (identity and combine), the same the CPU kernel uses.
void launch_reduce(native::ReduceOp op, ScalarType type, const void* x, void* out, std::int64_t outer,
                   std::int64_t reduced, std::int64_t inner, Stream stream) {
  auto s = static_cast<cudaStream_t>(stream);
  switch (op) {
#define CAKE_REDUCE_CASE(op_, ...) \
  case native::ReduceOp::op_: return reduce_typed<ops::reduce::op_>(type, x, out, outer, reduced, inner, s);
    CAKE_REDUCE_OPS(CAKE_REDUCE_CASE)
#undef CAKE_REDUCE_CASE
  }
}

}  // namespace cake::cuda::kernels
