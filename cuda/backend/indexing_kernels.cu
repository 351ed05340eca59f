// cuda/backend/indexing_kernels.cu: gather, scatter_add, bincount, cumsum, masked select and
// masked scatter (the CPU twins are in cpu/indexing_kernels.cpp).
//
// Gather and scatter_add take the CPU's restrided operands (NOTE [ Index loops ]): the indexed
// tensor seen with the index's sizes and stride 0 along `dim`, so every operand has the same
// sizes and one strided walk serves all of them. A bad index cannot throw inside a kernel: it
// raises a flag in device memory, which the glue reads after the launch and turns into the
// CPU's error message. scatter_add and bincount add with atomics, so float sums arrive in
// another order than on the CPU (which adds in a fixed order): they agree to rounding.
#include <cuda_runtime.h>

#include <cub/block/block_scan.cuh>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "cake/cuda/backend/check.cuh"
#include "cake/cuda/backend/device_math.cuh"
#include "cake/cuda/backend/launchers.h"

namespace cake::cuda::kernels {
namespace {

constexpr int kThreads = 256;

// Element offsets of position `linear` (row-major over g's sizes) in each operand.
template <int N>
__device__ __forceinline__ void offsets_of(const Geometry<N>& g, std::int64_t linear, std::int64_t (&offset)[N]) {
#pragma unroll
  for (int k = 0; k < N; ++k) offset[k] = 0;
  for (int d = g.ndim - 1; d >= 0; --d) {
    const std::int64_t idx = linear % g.sizes[d];
    linear /= g.sizes[d];
#pragma unroll
    for (int k = 0; k < N; ++k) offset[k] += idx * g.strides[k][d];
  }
}

__device__ __forceinline__ bool in_range(std::int64_t i, std::int64_t size) {
  return static_cast<std::uint64_t>(i) < static_cast<std::uint64_t>(size);
}

// ---- gather and scatter_add -------------------------------------------------------------------

template <class T>
__global__ void gather_kernel(Geometry<3> g, std::int64_t dim_step, std::int64_t size, std::int64_t* bad) {
  T* out = static_cast<T*>(g.data[0]);
  const T* x = static_cast<const T*>(g.data[1]);
  const std::int64_t* index = static_cast<const std::int64_t*>(g.data[2]);
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t p = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; p < g.numel; p += stride) {
    std::int64_t off[3];
    offsets_of(g, p, off);
    const std::int64_t i = index[off[2]];
    if (!in_range(i, size)) {
      *bad = 1;
      continue;
    }
    out[off[0]] = x[off[1] + i * dim_step];
  }
}

// *target += v, atomically, for the element types scatter_add and bincount accept.
__device__ __forceinline__ void atomic_add(float* target, float v) { atomicAdd(target, v); }
__device__ __forceinline__ void atomic_add(double* target, double v) { atomicAdd(target, v); }
__device__ __forceinline__ void atomic_add(std::int64_t* target, std::int64_t v) {
  // Two's complement: an unsigned 64-bit add is the signed add.
  atomicAdd(reinterpret_cast<unsigned long long*>(target), static_cast<unsigned long long>(v));
}
// No byte-wide atomic add exists: compare-and-swap the aligned 32-bit word holding the byte
// (it lies inside the allocation, whose size the caching allocator rounds to 512 bytes).
__device__ __forceinline__ void atomic_add(std::uint8_t* target, std::uint8_t v) {
  const auto address = reinterpret_cast<std::uintptr_t>(target);
  auto* word = reinterpret_cast<unsigned int*>(address & ~std::uintptr_t{3});
  const unsigned shift = static_cast<unsigned>(address & 3) * 8;
  unsigned old = *word, assumed;
  do {
    assumed = old;
    const unsigned byte = ((assumed >> shift) + v) & 0xffu;
    old = atomicCAS(word, assumed, (assumed & ~(0xffu << shift)) | (byte << shift));
  } while (assumed != old);
}

// The two ways a scatter writes one element: scatter_add adds atomically (duplicates all land),
// scatter stores (of duplicate indices, whichever thread stores last wins, as in PyTorch).
template <class T>
struct AddScaled {
  T alpha;
  // The CPU computes target + alpha * src in T; the product is rounded on its own here too.
  __device__ void operator()(T* target, T v) const { atomic_add(target, static_cast<T>(mul_rn(alpha, v))); }
};
template <class T>
struct Store {
  __device__ void operator()(T* target, T v) const { *target = v; }
};

// *target = combine(*target, v) atomically, for any element type: a compare-and-swap loop on the
// element's bits (8 or 4 bytes), or on the aligned 32-bit word that holds a one-byte element (it
// lies inside the allocation, whose size the caching allocator rounds to 512 bytes).
template <class T, class Combine>
__device__ void atomic_combine(T* target, T v, Combine combine) {
  if constexpr (sizeof(T) == 8 || sizeof(T) == 4) {
    using Bits = std::conditional_t<sizeof(T) == 8, unsigned long long, unsigned int>;
    Bits* word = reinterpret_cast<Bits*>(target);
    Bits old = *word, assumed;
    do {
      assumed = old;
      T current;
      memcpy(&current, &assumed, sizeof(T));
      const T next = combine(current, v);
      Bits next_bits;
      memcpy(&next_bits, &next, sizeof(T));
      old = atomicCAS(word, assumed, next_bits);
    } while (assumed != old);
  } else {
    static_assert(sizeof(T) == 1, "atomic_combine: 1-, 4- or 8-byte elements");
    const auto address = reinterpret_cast<std::uintptr_t>(target);
    auto* word = reinterpret_cast<unsigned int*>(address & ~std::uintptr_t{3});
    const unsigned shift = static_cast<unsigned>(address & 3) * 8;
    unsigned old = *word, assumed;
    do {
      assumed = old;
      const auto byte = static_cast<std::uint8_t>((assumed >> shift) & 0xffu);
      T current;
      memcpy(&current, &byte, 1);
      const T next = combine(current, v);
      std::uint8_t next_byte;
      memcpy(&next_byte, &next, 1);
      old = atomicCAS(word, assumed, (assumed & ~(0xffu << shift)) | (static_cast<unsigned>(next_byte) << shift));
    } while (assumed != old);
  }
}

// scatter_reduce's combinations (the CPU's scatter_kernel has the same three): a NaN wins in amax
// and amin from either side.
template <class T>
__device__ bool is_nan(T v) {
  if constexpr (std::is_floating_point_v<T>) return isnan(v);
  else return false;
}
template <class T>
struct Times {
  __device__ T operator()(T t, T v) const { return static_cast<T>(t * v); }
};
template <class T>
struct Larger {
  __device__ T operator()(T t, T v) const { return t < v || is_nan(v) ? v : t; }
};
template <class T>
struct Smaller {
  __device__ T operator()(T t, T v) const { return v < t || is_nan(v) ? v : t; }
};
template <class T, template <class> class Combine>
struct AtomicReduce {
  __device__ void operator()(T* target, T v) const { atomic_combine(target, v, Combine<T>{}); }
};

// out_lines[p + index[p] * dim_step] gets src[p] through `write`, for every position p.
template <class T, class Write>
__global__ void scatter_kernel(Geometry<3> g, std::int64_t dim_step, std::int64_t size, Write write,
                               std::int64_t* bad) {
  T* out = static_cast<T*>(g.data[0]);
  const T* src = static_cast<const T*>(g.data[1]);
  const std::int64_t* index = static_cast<const std::int64_t*>(g.data[2]);
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t p = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; p < g.numel; p += stride) {
    std::int64_t off[3];
    offsets_of(g, p, off);
    const std::int64_t i = index[off[2]];
    if (!in_range(i, size)) {
      *bad = 1;
      continue;
    }
    write(out + off[0] + i * dim_step, src[off[1]]);
  }
}

template <class T>
__global__ void bincount_kernel(const std::int64_t* x, const T* weights, T* out, std::int64_t n) {
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride)
    atomic_add(out + x[i], weights ? weights[i] : T(1));
}

// ---- cumsum -------------------------------------------------------------------------------------
// float32 accumulates in double, as on the CPU.
template <class T>
using Accumulator = std::conditional_t<std::is_same_v<T, float>, double, T>;

// inner > 1: one thread per column, adding down the D rows in the CPU's order.
template <class T>
__global__ void cumsum_columns_kernel(const T* x, T* out, std::int64_t outer, std::int64_t D, std::int64_t inner,
                                      bool reverse) {
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t k = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; k < outer * inner;
       k += stride) {
    const std::int64_t base = (k / inner) * D * inner + k % inner;
    Accumulator<T> acc = 0;
    for (std::int64_t step = 0; step < D; ++step) {
      const std::int64_t at = base + (reverse ? D - 1 - step : step) * inner;
      acc += static_cast<Accumulator<T>>(x[at]);
      out[at] = static_cast<T>(acc);
    }
  }
}

// inner == 1: one block per row, scanning chunks of kThreads * kItems values with CUB's block
// scan; a running total carries from chunk to chunk (the prefix callback of cub::BlockScan).
constexpr int kItems = 4;

template <class Acc>
struct RunningTotal {
  Acc total;
  __device__ Acc operator()(Acc chunk_sum) {
    const Acc before = total;
    total += chunk_sum;
    return before;
  }
};

template <class T>
__global__ void cumsum_rows_kernel(const T* x, T* out, std::int64_t rows, std::int64_t D, bool reverse) {
  using Acc = Accumulator<T>;
  using Scan = cub::BlockScan<Acc, kThreads>;
  __shared__ typename Scan::TempStorage scratch;
  for (std::int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    const T* in = x + row * D;
    T* o = out + row * D;
    RunningTotal<Acc> carry{Acc(0)};
    for (std::int64_t chunk = 0; chunk < D; chunk += kThreads * kItems) {
      Acc items[kItems];
#pragma unroll
      for (int j = 0; j < kItems; ++j) {
        const std::int64_t step = chunk + threadIdx.x * kItems + j;
        items[j] = step < D ? static_cast<Acc>(in[reverse ? D - 1 - step : step]) : Acc(0);
      }
      Scan(scratch).InclusiveSum(items, items, carry);
      __syncthreads();  // scratch is reused by the next chunk
#pragma unroll
      for (int j = 0; j < kItems; ++j) {
        const std::int64_t step = chunk + threadIdx.x * kItems + j;
        if (step < D) o[reverse ? D - 1 - step : step] = static_cast<T>(items[j]);
      }
    }
  }
}

// ---- masked select and scatter ------------------------------------------------------------------
// rank[p] is the inclusive running count of the mask in row-major order, so a selected
// position's place in the packed sequence is rank[p] - 1: the CPU's order.

template <class T>
__global__ void masked_select_kernel(Geometry<3> g, T* out) {
  const T* x = static_cast<const T*>(g.data[0]);
  const bool* mask = static_cast<const bool*>(g.data[1]);
  const std::int64_t* rank = static_cast<const std::int64_t*>(g.data[2]);
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t p = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; p < g.numel; p += stride) {
    std::int64_t off[3];
    offsets_of(g, p, off);
    if (mask[off[1]]) out[rank[off[2]] - 1] = x[off[0]];
  }
}

template <class T>
__global__ void masked_scatter_kernel(Geometry<3> g, const T* src) {
  T* out = static_cast<T*>(g.data[0]);
  const bool* mask = static_cast<const bool*>(g.data[1]);
  const std::int64_t* rank = static_cast<const std::int64_t*>(g.data[2]);
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t p = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; p < g.numel; p += stride) {
    std::int64_t off[3];
    offsets_of(g, p, off);
    if (mask[off[1]]) out[off[0]] = src[rank[off[2]] - 1];
  }
}

}  // namespace

void launch_gather(ScalarType type, const Geometry<3>& g, std::int64_t dim_step, std::int64_t size,
                   std::int64_t* bad, Stream stream) {
  if (g.numel == 0) return;
  visit(type, "gather", [&]<class T>() {
    gather_kernel<T><<<blocks_for(g.numel, kThreads), kThreads, 0, static_cast<cudaStream_t>(stream)>>>(g, dim_step,
                                                                                                       size, bad);
  });
  check_launch("gather");
}

void launch_scatter_add(ScalarType type, const Geometry<3>& g, std::int64_t dim_step, std::int64_t size,
                        const void* alpha, std::int64_t* bad, Stream stream) {
  if (g.numel == 0) return;
  auto s = static_cast<cudaStream_t>(stream);
  visit(type, "scatter_add", [&]<class T>() {
    if constexpr (std::is_same_v<T, bool>) {
      refuse("scatter_add", type);  // the native layer refuses bool destinations first
    } else {
      T a;
      std::memcpy(&a, alpha, sizeof(T));
      scatter_kernel<T><<<blocks_for(g.numel, kThreads), kThreads, 0, s>>>(g, dim_step, size, AddScaled<T>{a}, bad);
    }
  });
  check_launch("scatter_add");
}

void launch_scatter(ScalarType type, const Geometry<3>& g, std::int64_t dim_step, std::int64_t size, int reduce,
                    std::int64_t* bad, Stream stream) {
  if (g.numel == 0) return;
  auto s = static_cast<cudaStream_t>(stream);
  const auto blocks = blocks_for(g.numel, kThreads);
  visit(type, "scatter", [&]<class T>() {
    switch (reduce) {
      case 1: scatter_kernel<T><<<blocks, kThreads, 0, s>>>(g, dim_step, size, AtomicReduce<T, Times>{}, bad); break;
      case 2: scatter_kernel<T><<<blocks, kThreads, 0, s>>>(g, dim_step, size, AtomicReduce<T, Larger>{}, bad); break;
      case 3: scatter_kernel<T><<<blocks, kThreads, 0, s>>>(g, dim_step, size, AtomicReduce<T, Smaller>{}, bad); break;
      default: scatter_kernel<T><<<blocks, kThreads, 0, s>>>(g, dim_step, size, Store<T>{}, bad);
    }
  });
  check_launch("scatter");
}

void launch_bincount(ScalarType type, const std::int64_t* x, const void* weights, void* out, std::int64_t n,
                     Stream stream) {
  if (n == 0) return;
  auto s = static_cast<cudaStream_t>(stream);
  visit(type, "bincount", [&]<class T>() {
    if constexpr (std::is_same_v<T, std::int64_t> || std::is_floating_point_v<T>)
      bincount_kernel<T><<<blocks_for(n, kThreads), kThreads, 0, s>>>(x, static_cast<const T*>(weights),
                                                                      static_cast<T*>(out), n);
    else
      refuse("bincount", type);
  });
  check_launch("bincount");
}

void launch_cumsum(ScalarType type, const void* x, void* out, std::int64_t outer, std::int64_t D, std::int64_t inner,
                   bool reverse, Stream stream) {
  if (outer * D * inner == 0) return;
  auto s = static_cast<cudaStream_t>(stream);
  visit(type, "cumsum", [&]<class T>() {
    if constexpr (std::is_same_v<T, std::int64_t> || std::is_floating_point_v<T>) {
      if (inner == 1)
        cumsum_rows_kernel<T><<<static_cast<unsigned>(outer < 65536 ? outer : 65536), kThreads, 0, s>>>(
            static_cast<const T*>(x), static_cast<T*>(out), outer, D, reverse);
      else
        cumsum_columns_kernel<T><<<blocks_for(outer * inner, kThreads), kThreads, 0, s>>>(
            static_cast<const T*>(x), static_cast<T*>(out), outer, D, inner, reverse);
    } else {
      refuse("cumsum", type);  // the native layer sums integers as int64
    }
  });
  check_launch("cumsum");
}

void launch_masked_select(ScalarType type, const Geometry<3>& g, void* out, Stream stream) {
  if (g.numel == 0) return;
  visit(type, "masked_select", [&]<class T>() {
    masked_select_kernel<T><<<blocks_for(g.numel, kThreads), kThreads, 0, static_cast<cudaStream_t>(stream)>>>(
        g, static_cast<T*>(out));
  });
  check_launch("masked_select");
}

void launch_masked_scatter(ScalarType type, const Geometry<3>& g, const void* src, Stream stream) {
  if (g.numel == 0) return;
  visit(type, "masked_scatter", [&]<class T>() {
    masked_scatter_kernel<T><<<blocks_for(g.numel, kThreads), kThreads, 0, static_cast<cudaStream_t>(stream)>>>(
        g, static_cast<const T*>(src));
  });
  check_launch("masked_scatter");
}

}  // namespace cake::cuda::kernels
