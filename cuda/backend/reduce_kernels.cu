// cuda/backend/reduce_kernels.cu: sum/prod/max/min over the middle dim of [outer, R, inner].
//
// inner == 1 (each output reduces one contiguous run, e.g. a row sum): one block per output.
//   Each thread folds a strided slice of the run, then the block combines its 256 partials:
//   within each warp of 32 by __shfl_down_sync (registers only, no shared memory; NVIDIA,
//   "Faster Parallel Reductions on Kepler", Luitjens 2014), then the 8 warp results through
//   shared memory and one last warp shuffle.
// inner > 1 (a column-style reduction, e.g. the batch dim): one thread per output (o, i)
//   walks the R rows; neighbouring threads read neighbouring addresses, so loads coalesce.
// Few outputs over long runs (a full sum: one output, a GPU of 132 multiprocessors) would leave
// the GPU idle in either scheme, so each run is cut into `pieces` (reduce_pieces): the first
// pass reduces each piece to a partial, [pieces] per output, the second pass reduces those.
// The order of the folds is fixed by the sizes alone, so the result is deterministic.
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

// Block b reduces piece b % pieces of row b / pieces into out[b].
template <class R, class T>
__global__ void reduce_rows_kernel(R r, const T* x, T* out, std::int64_t reduced, std::int64_t pieces) {
  const std::int64_t row = blockIdx.x / pieces, piece = blockIdx.x % pieces;
  const std::int64_t chunk = (reduced + pieces - 1) / pieces;
  const std::int64_t begin = piece * chunk, end = begin + chunk < reduced ? begin + chunk : reduced;
  const T* run = x + row * reduced;
  T acc = R::template identity<T>();
  for (std::int64_t j = begin + threadIdx.x; j < end; j += blockDim.x) acc = r(acc, run[j]);
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

// Item k = piece * (outer * inner) + (o * inner + i) reduces rows [piece's chunk) of column
// (o, i) into out[k]: the partials are laid out [pieces, outer * inner].
template <class R, class T>
__global__ void reduce_columns_kernel(R r, const T* x, T* out, std::int64_t outer, std::int64_t reduced,
                                      std::int64_t inner, std::int64_t pieces) {
  const std::int64_t columns = outer * inner, chunk = (reduced + pieces - 1) / pieces;
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t k = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; k < columns * pieces;
       k += stride) {
    const std::int64_t piece = k / columns, column = k % columns, o = column / inner, i = column % inner;
    const std::int64_t begin = piece * chunk, end = begin + chunk < reduced ? begin + chunk : reduced;
    const T* p = x + o * reduced * inner + i;
    T acc = R::template identity<T>();
    for (std::int64_t j = begin; j < end; ++j) acc = r(acc, p[j * inner]);
    out[k] = acc;
  }
}

template <class R, class T>
void launch_columns(const R& r, const T* x, T* out, std::int64_t outer, std::int64_t reduced, std::int64_t inner,
                    std::int64_t pieces, cudaStream_t s) {
  const std::int64_t blocks = (outer * inner * pieces + kReduceThreads - 1) / kReduceThreads;
  reduce_columns_kernel<R, T><<<static_cast<unsigned>(blocks < 65536 ? blocks : 65536), kReduceThreads, 0, s>>>(
      r, x, out, outer, reduced, inner, pieces);
}

template <class R, class T>
void reduce(const T* x, T* out, std::int64_t outer, std::int64_t reduced, std::int64_t inner, std::int64_t pieces,
            T* partials, cudaStream_t s) {
  if (outer * inner == 0) return;
  const R r{};
  if (inner == 1) {
    // One block per (row, piece); reduce_pieces keeps outer * pieces within gridDim.x's 2^31 - 1.
    T* first = pieces > 1 ? partials : out;
    reduce_rows_kernel<R, T><<<static_cast<unsigned>(outer * pieces), kReduceThreads, 0, s>>>(r, x, first, reduced,
                                                                                               pieces);
    if (pieces > 1)
      reduce_rows_kernel<R, T><<<static_cast<unsigned>(outer), kReduceThreads, 0, s>>>(r, partials, out, pieces, 1);
  } else {
    launch_columns(r, x, pieces > 1 ? partials : out, outer, reduced, inner, pieces, s);
    // The partials [pieces, outer * inner] are themselves a column reduction.
    if (pieces > 1) launch_columns(r, static_cast<const T*>(partials), out, std::int64_t{1}, pieces, outer * inner,
                                   std::int64_t{1}, s);
  }
  check_launch("reduce");
}

template <class R>
void reduce_typed(ScalarType type, const void* x, void* out, std::int64_t outer, std::int64_t reduced,
                  std::int64_t inner, std::int64_t pieces, void* partials, cudaStream_t s) {
  switch (type) {
    case ScalarType::Bool:  // the native layer reduces bool as int64
    case ScalarType::UInt8:
      return reduce<R>(static_cast<const std::uint8_t*>(x), static_cast<std::uint8_t*>(out), outer, reduced, inner,
                       pieces, static_cast<std::uint8_t*>(partials), s);
    case ScalarType::Int64:
      return reduce<R>(static_cast<const std::int64_t*>(x), static_cast<std::int64_t*>(out), outer, reduced, inner,
                       pieces, static_cast<std::int64_t*>(partials), s);
    case ScalarType::Float32:
      return reduce<R>(static_cast<const float*>(x), static_cast<float*>(out), outer, reduced, inner, pieces,
                       static_cast<float*>(partials), s);
    case ScalarType::Float64:
      return reduce<R>(static_cast<const double*>(x), static_cast<double*>(out), outer, reduced, inner, pieces,
                       static_cast<double*>(partials), s);
    case ScalarType::BFloat16:
    case ScalarType::Float16: refuse("reduction", type);
  }
}

}  // namespace

// Enough independent work to fill the GPU: about 2,048 blocks of rows, or 2^17 column threads,
// each with at least 8,192 elements of a row (64 of a column) to fold. 1 when the outputs alone
// are that many, or the runs too short to be worth a second pass.
std::int64_t reduce_pieces(std::int64_t outer, std::int64_t reduced, std::int64_t inner) {
  if (outer * inner == 0 || reduced == 0) return 1;
  const bool rows = inner == 1;
  const std::int64_t target = rows ? 2048 : std::int64_t{1} << 17, grain = rows ? 8192 : 64;
  const std::int64_t outputs = outer * inner;
  if (outputs >= target) return 1;
  const std::int64_t by_size = (reduced + grain - 1) / grain, by_target = (target + outputs - 1) / outputs;
  const std::int64_t pieces = by_size < by_target ? by_size : by_target;
  return pieces > 1 ? pieces : 1;
}

// One case per row of CAKE_REDUCE_OPS (native/op_tables.h), each with its functor
// ops::reduce::<row> (identity and combine), the same the CPU kernel uses.
void launch_reduce(native::ReduceOp op, ScalarType type, const void* x, void* out, std::int64_t outer,
                   std::int64_t reduced, std::int64_t inner, std::int64_t pieces, void* partials, Stream stream) {
  auto s = static_cast<cudaStream_t>(stream);
  switch (op) {
#define CAKE_REDUCE_CASE(op_, ...)                                                                        \
  case native::ReduceOp::op_:                                                                             \
    return reduce_typed<ops::reduce::op_>(type, x, out, outer, reduced, inner, pieces, partials, s);
    CAKE_REDUCE_OPS(CAKE_REDUCE_CASE)
#undef CAKE_REDUCE_CASE
  }
}

}  // namespace cake::cuda::kernels
