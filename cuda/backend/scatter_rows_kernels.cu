// cuda/backend/scatter_rows_kernels.cu: index_add of whole rows into a few rows, the centroid
// sums of k-means (out[K, D] += alpha * src[N, D] at the rows index[N]), with each block's
// partial sums kept in shared memory.
//
// NOTE [ Privatised row sums ]
// The generic scatter_add (indexing_kernels.cu) makes one global atomic add per element: for
// 1M x 128 float32 rows into K = 1024 rows that is 134M atomics on 131k addresses, 0.90 ms on the
// H200, bound by the atomics, while reading the 512 MB source alone takes about 0.15 ms. Here a
// block owns a slice of kSlice columns and a chunk of rows: it sums its rows into a [K, kSlice]
// table in shared memory (shared-memory atomics, cheap), then adds the table into `out` with one
// global atomic per entry, so the global atomics drop from N x D to blocks x K x kSlice. This is
// the privatisation used for histograms (Kirk & Hwu, "Programming Massively Parallel
// Processors", the chapter on parallel histograms). Each product alpha * src is rounded on its
// own, as in the generic kernel and on the CPU; the order of the sums differs (atomics), so the
// result equals the CPU's to float32 rounding of the sums, as the generic kernel's does.
// Written after the last GPU session: not yet run on a GPU (the conformance suite's index_add
// rows take this path for float32 rows).
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

#include "cake/cuda/backend/check.cuh"
#include "cake/cuda/backend/device_math.cuh"
#include "cake/cuda/backend/launchers.h"

namespace cake::cuda::kernels {
namespace {

constexpr int kSlice = 8;        // columns per block: a [1024, 8] float table is 32 KB
constexpr int kThreads = 256;    // 32 rows of 8 columns per pass

__global__ void scatter_rows_kernel(float* out, const float* src, const std::int64_t* index, std::int64_t n,
                                    std::int64_t k, std::int64_t d, float alpha, std::int64_t rows_per_block,
                                    std::int64_t* bad) {
  extern __shared__ float table[];  // [k, kSlice]
  const std::int64_t first_column = static_cast<std::int64_t>(blockIdx.y) * kSlice;
  const int width = static_cast<int>(d - first_column < kSlice ? d - first_column : kSlice);
  for (std::int64_t i = threadIdx.x; i < k * kSlice; i += blockDim.x) table[i] = 0.0f;
  __syncthreads();
  const std::int64_t begin = static_cast<std::int64_t>(blockIdx.x) * rows_per_block;
  const std::int64_t end = begin + rows_per_block < n ? begin + rows_per_block : n;
  const int column = static_cast<int>(threadIdx.x % kSlice);
  if (column < width) {
    // Eight neighbouring threads read eight neighbouring floats of one row (a 32-byte sector).
    for (std::int64_t r = begin + threadIdx.x / kSlice; r < end; r += blockDim.x / kSlice) {
      const std::int64_t target = index[r];
      if (target < 0 || target >= k) {
        *bad = 1;
        continue;
      }
      atomicAdd(&table[target * kSlice + column], __fmul_rn(alpha, src[r * d + first_column + column]));
    }
  }
  __syncthreads();
  for (std::int64_t i = threadIdx.x; i < k * kSlice; i += blockDim.x) {
    const int c = static_cast<int>(i % kSlice);
    if (c < width) atomicAdd(&out[(i / kSlice) * d + first_column + c], table[i]);
  }
}

}  // namespace

std::int64_t scatter_rows_max_targets() { return (48 * 1024) / (kSlice * static_cast<std::int64_t>(sizeof(float))); }
// One block row per slice of kSlice columns, and a grid has at most 65,535 rows (gridDim.y).
std::int64_t scatter_rows_max_columns() { return std::int64_t{65535} * kSlice; }

void launch_scatter_rows_f32(float* out, const float* src, const std::int64_t* index, std::int64_t n, std::int64_t k,
                             std::int64_t d, float alpha, std::int64_t* bad, Stream stream) {
  if (n == 0 || d == 0) return;
  const std::int64_t slices = (d + kSlice - 1) / kSlice;
  // About four blocks per SM of a large GPU in all (each holds 4-48 KB of shared memory), and
  // at least 1,024 rows per block so that the table's flush is small beside its rows.
  const std::int64_t chunks = std::max<std::int64_t>(1, std::min<std::int64_t>((n + 1023) / 1024, 528 / slices + 1));
  const std::int64_t rows_per_block = (n + chunks - 1) / chunks;
  const dim3 grid(static_cast<unsigned>(chunks), static_cast<unsigned>(slices));
  const std::size_t shared = static_cast<std::size_t>(k) * kSlice * sizeof(float);
  scatter_rows_kernel<<<grid, kThreads, shared, static_cast<cudaStream_t>(stream)>>>(out, src, index, n, k, d, alpha,
                                                                                     rows_per_block, bad);
  check_launch("scatter_add (privatised rows)");
}

}  // namespace cake::cuda::kernels
