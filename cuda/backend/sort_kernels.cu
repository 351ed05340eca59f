// cuda/backend/sort_kernels.cu: stable row sorts on CUB's segmented radix sort (sort, topk and
// unique are built on these by the glue, cuda/backend/indexing_glue.cpp).
//
// The values become unsigned keys first (NOTE [ Sort keys ] in kernel_math.h), so one template
// instantiation of CUB's sort serves every dtype (it is the costly part to compile). Only the
// key's significant bits are sorted (8, 32 or 64): a uint8 sort is one pass.
#include <cuda_runtime.h>

#include <cub/device/device_segmented_radix_sort.cuh>
#include <cstdint>
#include <type_traits>

#include "cake/cuda/backend/check.cuh"
#include "cake/cuda/backend/device_math.cuh"
#include "cake/cuda/backend/kernel_math.h"
#include "cake/cuda/backend/launchers.h"

namespace cake::cuda::kernels {
namespace {

constexpr int kThreads = 256;

// keys and positions within the row for rows x n values; offsets[r] = r * n (rows + 1 of them).
template <class T>
__global__ void make_keys_kernel(const T* x, std::uint64_t* keys, std::int64_t* positions, int* offsets,
                                 std::int64_t rows, std::int64_t n, std::uint64_t flip) {
  const std::int64_t total = rows * n;
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride) {
    keys[i] = sort_key(x[i]) ^ flip;
    positions[i] = i % n;
  }
  for (std::int64_t r = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; r <= rows; r += stride)
    offsets[r] = static_cast<int>(r * n);
}

// values[r, i] = x[r, positions[r, i]].
template <class T>
__global__ void gather_rows_kernel(const T* x, const std::int64_t* positions, T* values, std::int64_t rows,
                                   std::int64_t n) {
  const std::int64_t total = rows * n;
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride)
    values[i] = x[(i / n) * n + positions[i]];
}

__global__ void position_keys_kernel(const std::int64_t* positions, std::uint64_t* keys, int* offsets,
                                     std::int64_t rows, std::int64_t n) {
  const std::int64_t total = rows * n;
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride)
    keys[i] = static_cast<std::uint64_t>(positions[i]);
  for (std::int64_t r = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; r <= rows; r += stride)
    offsets[r] = static_cast<int>(r * n);
}

// The one CUB instantiation: (key, position) pairs, rows as segments, bits [0, bits).
void sort_pairs(const std::uint64_t* keys_in, std::uint64_t* keys_out, const std::int64_t* values_in,
                std::int64_t* values_out, std::int64_t total, std::int64_t rows, const int* offsets, int bits,
                ScratchFn scratch, void* context, cudaStream_t s) {
  std::size_t bytes = 0;
  check(cub::DeviceSegmentedRadixSort::SortPairs(nullptr, bytes, keys_in, keys_out, values_in, values_out,
                                                 static_cast<int>(total), static_cast<int>(rows), offsets, offsets + 1,
                                                 0, bits, s),
        "cub::DeviceSegmentedRadixSort (size query)");
  void* temp = scratch(bytes, context);
  check(cub::DeviceSegmentedRadixSort::SortPairs(temp, bytes, keys_in, keys_out, values_in, values_out,
                                                 static_cast<int>(total), static_cast<int>(rows), offsets, offsets + 1,
                                                 0, bits, s),
        "cub::DeviceSegmentedRadixSort");
}

template <class T>
T* scratch_array(ScratchFn scratch, void* context, std::int64_t count) {
  return static_cast<T*>(scratch(static_cast<std::size_t>(count) * sizeof(T), context));
}

}  // namespace

void launch_sort_rows(ScalarType type, const void* x, void* values, std::int64_t* indices, std::int64_t rows,
                      std::int64_t n, bool descending, ScratchFn scratch, void* context, Stream stream) {
  const std::int64_t total = rows * n;
  if (total == 0) return;
  auto s = static_cast<cudaStream_t>(stream);
  auto* keys_in = scratch_array<std::uint64_t>(scratch, context, total);
  auto* keys_out = scratch_array<std::uint64_t>(scratch, context, total);
  auto* positions = scratch_array<std::int64_t>(scratch, context, total);
  auto* offsets = scratch_array<int>(scratch, context, rows + 1);
  auto visit = [&]<class T>() {
    constexpr int bits = key_bits<T>();
    const std::uint64_t flip = sort_flip<T>(descending);
    const T* in = static_cast<const T*>(x);
    make_keys_kernel<T><<<blocks_for(total, kThreads), kThreads, 0, s>>>(in, keys_in, positions, offsets, rows, n,
                                                                         flip);
    check_launch("sort (keys)");
    sort_pairs(keys_in, keys_out, positions, indices, total, rows, offsets, bits, scratch, context, s);
    gather_rows_kernel<T><<<blocks_for(total, kThreads), kThreads, 0, s>>>(in, indices, static_cast<T*>(values), rows,
                                                                           n);
    check_launch("sort (values)");
  };
  switch (type) {
    case ScalarType::Bool: return visit.template operator()<bool>();
    case ScalarType::UInt8: return visit.template operator()<std::uint8_t>();
    case ScalarType::Int64: return visit.template operator()<std::int64_t>();
    case ScalarType::Float32: return visit.template operator()<float>();
    case ScalarType::Float64: return visit.template operator()<double>();
    case ScalarType::BFloat16:
    case ScalarType::Float16: refuse("sort", type);
  }
}

void launch_sort_positions(std::int64_t* positions, std::int64_t rows, std::int64_t n, std::int64_t bound,
                           ScratchFn scratch, void* context, Stream stream) {
  const std::int64_t total = rows * n;
  if (total == 0) return;
  auto s = static_cast<cudaStream_t>(stream);
  auto* keys_in = scratch_array<std::uint64_t>(scratch, context, total);
  auto* keys_out = scratch_array<std::uint64_t>(scratch, context, total);
  auto* values_in = scratch_array<std::int64_t>(scratch, context, total);
  auto* offsets = scratch_array<int>(scratch, context, rows + 1);
  position_keys_kernel<<<blocks_for(total, kThreads), kThreads, 0, s>>>(positions, keys_in, offsets, rows, n);
  check_launch("sort (position keys)");
  check(cudaMemcpyAsync(values_in, positions, static_cast<std::size_t>(total) * sizeof(std::int64_t),
                        cudaMemcpyDeviceToDevice, s),
        "cudaMemcpyAsync");
  // The positions are below `bound` (the length of the rows they were chosen from, not the n
  // chosen): only the bits that can differ are sorted.
  int bits = 1;
  while (bits < 63 && (std::int64_t{1} << bits) < bound) ++bits;
  sort_pairs(keys_in, keys_out, values_in, positions, total, rows, offsets, bits, scratch, context, s);
}

}  // namespace cake::cuda::kernels
