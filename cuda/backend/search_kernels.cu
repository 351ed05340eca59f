// cuda/backend/search_kernels.cu: searchsorted, one thread per value, each a binary search of its
// row; and the running scans (cumprod, cummax, cummin, logcumsumexp), one thread per line. The
// CPU twins are in cpu/indexing_kernels.cpp: the searches find the same positions and the scans
// fold in the same order, so they agree exactly (up to the device's log/exp in logcumsumexp).
#include <cuda_runtime.h>

#include <cstdint>
#include <type_traits>

#include "cake/cuda/backend/check.cuh"
#include "cake/cuda/backend/device_math.cuh"
#include "cake/cuda/backend/launchers.h"
#include "cake/tensor/functors.h"

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

// One line of [outer, n, inner] per thread, folded in order, as the CPU's scan_lines.
template <class T>
__global__ void scan_kernel(const T* x, T* values, std::int64_t* indices, int op, std::int64_t outer, std::int64_t n,
                            std::int64_t inner) {
  using Acc = std::conditional_t<std::is_same_v<T, float>, double, T>;
  const std::int64_t lines = outer * inner;
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t line = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; line < lines;
       line += stride) {
    const std::int64_t base = (line / inner) * n * inner + line % inner;
    if (op == 0 || op == 3) {  // product, log-sum-exp
      Acc acc = static_cast<Acc>(x[base]);
      values[base] = x[base];
      for (std::int64_t j = 1; j < n; ++j) {
        const std::int64_t at = base + j * inner;
        if constexpr (std::is_floating_point_v<T>) {
          acc = op == 0 ? acc * static_cast<Acc>(x[at]) : ops::LogAddExp{}(acc, static_cast<Acc>(x[at]));
        } else {
          acc = static_cast<Acc>(acc * static_cast<Acc>(x[at]));
        }
        values[at] = static_cast<T>(acc);
      }
    } else {  // maximum (1) or minimum (2): ties to the last position, a NaN kept once met
      T extreme = x[base];
      std::int64_t position = 0;
      values[base] = extreme;
      indices[base] = 0;
      for (std::int64_t j = 1; j < n; ++j) {
        const std::int64_t at = base + j * inner;
        const T v = x[at];
        if (ops::IsNan{}(v) || (!ops::IsNan{}(extreme) && (op == 1 ? v >= extreme : v <= extreme))) {
          extreme = v;
          position = j;
        }
        values[at] = extreme;
        indices[at] = position;
      }
    }
  }
}

}  // namespace

void launch_scan(ScalarType type, int op, const void* x, void* values, std::int64_t* indices, std::int64_t outer,
                 std::int64_t n, std::int64_t inner, Stream stream) {
  if (outer * n * inner == 0) return;
  auto s = static_cast<cudaStream_t>(stream);
  visit(type, "cumulative scan", [&]<class T>() {
    if constexpr (std::is_same_v<T, bool>) {
      if (op == 0 || op == 3) refuse("cumprod / logcumsumexp", type);
    }
    scan_kernel<T><<<blocks_for(outer * inner, kThreads), kThreads, 0, s>>>(static_cast<const T*>(x), static_cast<T*>(values),
                                                                            indices, op, outer, n, inner);
  });
  check_launch("cumulative scan");
}

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
