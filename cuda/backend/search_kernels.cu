// cuda/backend/search_kernels.cu: searchsorted, one thread per value, each a binary search of its
// row (the CPU twin is in cpu/indexing_kernels.cpp; both find the same position, so they agree
// exactly).
#include <cuda_runtime.h>

#include <cstdint>
#include <type_traits>

#include "cake/cuda/backend/check.cuh"
#include "cake/cuda/backend/device_math.cuh"
#include "cake/cuda/backend/launchers.h"

namespace cake::cuda::kernels {
namespace {

constexpr int kThreads = 256;

// The first position p in row[0, m) with row[p] >= v (right: row[p] > v), m if none.
template <class T>
__device__ __forceinline__ std::int64_t insertion_point(const T* row, std::int64_t m, T v, bool right) {
  std::int64_t low = 0, high = m;
  while (low < high) {
    const std::int64_t mid = low + (high - low) / 2;
    const bool before = right ? !(v < row[mid]) : row[mid] < v;  // v goes after row[mid]
    if (before) low = mid + 1;
    else high = mid;
  }
  return low;
}

template <class T>
__global__ void searchsorted_kernel(const T* sorted, const T* values, std::int64_t* out, std::int64_t rows,
                                    std::int64_t sorted_rows, std::int64_t m, std::int64_t k, bool right) {
  const std::int64_t total = rows * k;
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t p = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; p < total; p += stride) {
    const std::int64_t r = sorted_rows == 1 ? 0 : p / k;
    out[p] = insertion_point(sorted + r * m, m, values[p], right);
  }
}

}  // namespace

void launch_searchsorted(ScalarType type, const void* sorted, const void* values, std::int64_t* out, std::int64_t rows,
                         std::int64_t sorted_rows, std::int64_t m, std::int64_t k, bool right, Stream stream) {
  if (rows * k == 0) return;
  auto s = static_cast<cudaStream_t>(stream);
  visit(type, "searchsorted", [&]<class T>() {
    if constexpr (std::is_same_v<T, std::int64_t> || std::is_floating_point_v<T>)
      searchsorted_kernel<T><<<blocks_for(rows * k, kThreads), kThreads, 0, s>>>(
          static_cast<const T*>(sorted), static_cast<const T*>(values), out, rows, sorted_rows, m, k, right);
    else
      refuse("searchsorted", type);
  });
  check_launch("searchsorted");
}

}  // namespace cake::cuda::kernels
