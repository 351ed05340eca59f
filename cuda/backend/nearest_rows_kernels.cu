// cuda/backend/nearest_rows_kernels.cu: k-means' assignment in one kernel on the TF32 tensor
// cores, without the [N, K] product ever reaching global memory.
//
//   label_i = the first j minimising |c_j|^2 - 2 x_i . c_j,   sq_i = max(|x_i|^2 + that minimum, 0)
//
// The unfused path (nn_glue.cpp, nn_kernels.cu) runs a cuBLAS GEMM per block of rows, writes the
// [block, K] product to HBM and reads it back for the arg-min: for 1M x 128 points and K = 1024
// that round trip (4 GB each way) is most of its 4.5 ms with TF32, while the 268 GFLOP of the
// GEMM take well under a millisecond of tensor-core time. Here the product lives only in
// registers and a small per-warp scratch, the same blocking as any shared-memory GEMM (Kirk &
// Hwu, "Programming Massively Parallel Processors", 4th ed., ch. 5 and 16) with the arg-min as
// the epilogue.
//
// NOTE [ Fused TF32 assignment ]
// * A thread block owns kRows = 128 rows of x, held in shared memory for its whole life, and
//   streams the centres through shared memory in tiles of kCols = 64 (double-buffered with
//   cp.async, so tile t + 1 arrives while tile t is multiplied).
// * The dot products are WMMA m16n16k8 with precision::tf32 and float accumulators (CUDA C++
//   Programming Guide, "Warp Matrix Functions"; sm_80 and newer, so both of our targets: sm_90
//   code and compute_80 PTX). WMMA rather than raw mma.sync: the element-to-thread mapping of a
//   WMMA fragment is unspecified, so the arg-min never touches a fragment's elements; each warp
//   stores its accumulators with store_matrix_sync to its own scratch and scans that. This costs
//   a few percent of shared-memory traffic and keeps the kernel free of hand-written fragment
//   layouts that only a GPU run could check.
// * Eight warps in a 4 x 2 grid: warp (wr, wc) computes rows 32 wr .. 32 wr + 31 against the
//   columns 32 wc .. 32 wc + 31 of every tile (2 x 2 fragments of 16 x 16), and lane l keeps the
//   running minimum of row 32 wr + l over those columns in registers. At the end the two warps
//   of a row band combine through shared memory.
// * TF32 rounding: each operand is rounded once to nearest (cvt.rna.tf32.f32, as
//   wmma::__float_to_tf32 does), x in shared memory after its norms are taken, the centres in
//   the padded copy below. The norms |x_i|^2 and |c_j|^2 are float32 sums of the unrounded
//   values, as on the unfused path, whose cuBLAS TF32 GEMM rounds its inputs the same way.
// * Shapes: D is zero-padded to Dp, a multiple of 8 (the k of m16n16k8), in shared memory;
//   K to Kp, a multiple of kCols, in the padded copy of the centres, whose norms there are +inf so
//   a padding column never wins; rows past N are zeros, computed and not written. What does not
//   fit is x's tile of kRows x (Dp + 4) floats plus two centre tiles: with the opt-in maximum of
//   227 KB per block (H100/H200) that is D <= 184; nearest_rows_tf32_workspace says 0 beyond (or
//   on a GPU with less shared memory, A100: 163 KB), and the caller keeps the unfused path.
// * Ties and NaN, as the unfused kernel (nn_kernels.cu): a candidate (v, j) beats (best, arg) when
//   v < best, or v == best and j < arg; +inf and NaN never win. The order of the comparisons
//   then does not matter (a lexicographic minimum), which lets lanes scan their columns in a
//   rotated order (no bank conflicts) and the two warps of a row combine in any order: the
//   answer is the first minimum. A row with no candidate (x_i has a NaN: every v is NaN) gets
//   label 0 and distance NaN.
//
// Status (H200, 2026-12-04): right answers (tests/cuda/test_nearest_rows_gpu.cpp: exact on
// integer data, every padding case, ties, NaN), but 5.9 ms for 1M x 128 points and K = 1024,
// slower than cuBLAS's TF32 GEMM + the arg-min (4.5 ms), so nn_glue.cpp does not route to it yet.
// That is ~45 TFLOP/s, a tenth of the tensor cores' rate; the block-size and shared-memory
// arithmetic above predicts about 1 ms, and the gap is not yet understood (candidates: the WMMA
// loads' bank pattern, one block of 8 warps per SM hiding no latency across its barriers, all SMs
// reading the same centre tile from L2 at once). Profile it (Nsight Compute) before changing it.
#include <cuda_runtime.h>
#include <mma.h>

#include <cstdint>
#include <limits>

#include "cake/cuda/backend/check.cuh"
#include "cake/cuda/backend/launchers.h"

namespace cake::cuda::kernels {
namespace {

namespace wmma = nvcuda::wmma;

constexpr int kRows = 128;                 // rows of x per block
constexpr int kCols = 64;                  // centres per tile
constexpr int kWarps = 8;                  // a 4 x 2 grid of 32 x 32 warp tiles
constexpr int kThreads = kWarps * 32;
constexpr int kScratchLd = 36;             // a warp's 32 x 32 scratch; WMMA wants ld % 4 == 0
constexpr int kNone = std::numeric_limits<int>::max();
constexpr float kInf = std::numeric_limits<float>::infinity();

static_assert(kRows == 4 * 32 && kCols == 2 * 32, "the 4 x 2 warp grid of 32 x 32 tiles");

// Dp = D rounded up to the k of m16n16k8; rows in shared memory are Dp + 4 floats apart. The 4
// spreads the rows over the banks: a fragment load reads 8 rows x 4 columns at once, and with a
// stride of 4 (mod 32) banks those 32 words fall in 32 different banks. A multiple of 4 keeps
// every 16-row fragment on a 32-byte boundary, as load_matrix_sync requires.
__host__ __device__ constexpr int padded_depth(std::int64_t d) { return static_cast<int>((d + 7) / 8 * 8); }
__host__ __device__ constexpr int row_stride(int dp) { return dp + 4; }

// The dynamic shared memory, in floats: x's tile, two centre tiles and their norms, the warps'
// scratch, x's norms, and the two warps' results per row for the final combine. Every region is
// a multiple of 32 floats (128 bytes), so each starts aligned as WMMA and cp.async need.
struct SharedLayout {
  int ld;
  __host__ __device__ explicit SharedLayout(int dp) : ld(row_stride(dp)) {}
  __host__ __device__ int x() const { return 0; }
  __host__ __device__ int centres(int buffer) const { return kRows * ld + buffer * kCols * ld; }
  __host__ __device__ int centre_norms(int buffer) const { return (kRows + 2 * kCols) * ld + buffer * kCols; }
  __host__ __device__ int scratch(int warp) const { return centre_norms(2) + warp * 32 * kScratchLd; }
  __host__ __device__ int x_norms() const { return scratch(kWarps); }
  __host__ __device__ int best() const { return x_norms() + kRows; }
  __host__ __device__ int arg() const { return best() + kRows; }
  __host__ __device__ int floats() const { return arg() + kRows; }
};

// ---- cp.async (PTX ISA, "Data Movement and Conversion Instructions: cp.async"; sm_80+) ------
// Copies global -> shared without passing through registers; the thread goes on at once and
// waits only at cp_async_wait_all. With a source size of 0 nothing is read and the 4 bytes are
// zero-filled: the padding of x's tile past N rows and D columns.
__device__ __forceinline__ void cp_async_4(float* shared, const float* global, bool valid) {
  const auto s = static_cast<unsigned>(__cvta_generic_to_shared(shared));
  asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" ::"r"(s), "l"(global), "r"(valid ? 4 : 0));
}
// 16 bytes; both addresses 16-byte aligned. .cg: cached in L2 only (each block reads a centre
// tile once per pass, so L1 would only evict).
__device__ __forceinline__ void cp_async_16(float* shared, const float* global) {
  const auto s = static_cast<unsigned>(__cvta_generic_to_shared(shared));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(s), "l"(global));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
__device__ __forceinline__ void cp_async_wait_all() { asm volatile("cp.async.wait_all;\n" ::: "memory"); }

// (v, j) beats (best, arg): see the NOTE. v < kInf keeps +inf (and the padding's +inf norms)
// from ever entering through the equality.
__device__ __forceinline__ bool beats(float v, int j, float best, int arg) {
  return v < best || (v == best && v < kInf && j < arg);
}

// The padded copy of the centres, [Kp, Dp] rounded to TF32, then their norms [Kp] (+inf past
// K). One warp per padded centre; the norm is the float32 sum of the unrounded squares.
__global__ void prepare_centres_kernel(const float* centres, float* padded, float* norms, std::int64_t k, int d,
                                       int dp, std::int64_t kp) {
  const std::int64_t j = (static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / 32;
  const int lane = threadIdx.x % 32;
  if (j >= kp) return;  // whole warps: blockDim.x is a multiple of 32
  float sum = 0;
  for (int c = lane; c < dp; c += 32) {
    const float v = j < k && c < d ? centres[j * d + c] : 0.0f;
    padded[j * dp + c] = wmma::__float_to_tf32(v);
    sum += v * v;
  }
  for (int offset = 16; offset > 0; offset /= 2) sum += __shfl_down_sync(0xffffffffu, sum, offset);
  if (lane == 0) norms[j] = j < k ? sum : kInf;
}

// One centre tile (kCols rows of the padded centres and their norms) into shared memory, 16 bytes
// per cp.async: Dp is a multiple of 8, so every row of `padded` starts 32-byte aligned.
__device__ __forceinline__ void load_centre_tile(float* tile, float* tile_norms, const float* padded,
                                                 const float* norms, int t, int dp, int ld) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const float* src = padded + static_cast<std::int64_t>(t) * kCols * dp;
  for (int r = warp; r < kCols; r += kWarps)
    for (int q = 4 * lane; q < dp; q += 4 * 32) cp_async_16(tile + r * ld + q, src + r * dp + q);
  if (threadIdx.x < kCols / 4) cp_async_16(tile_norms + 4 * threadIdx.x, norms + t * kCols + 4 * threadIdx.x);
}

__global__ void __launch_bounds__(kThreads, 1)
    nearest_rows_tf32_kernel(const float* x, const float* padded, const float* norms, float* sq,
                             std::int64_t* labels, std::int64_t n, int d, int dp, int tiles) {
  extern __shared__ __align__(128) float shared[];
  const SharedLayout layout(dp);
  const int ld = layout.ld;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int wr = warp % 4, wc = warp / 4;  // this warp's band of 32 rows, half of each tile
  const std::int64_t row0 = static_cast<std::int64_t>(blockIdx.x) * kRows;
  float* xs = shared + layout.x();
  float* scratch = shared + layout.scratch(warp);
  float* x_norms = shared + layout.x_norms();

  // x's tile, zero-padded (4-byte copies: D need not be a multiple of 4), and centre tile 0.
  for (int r = warp; r < kRows; r += kWarps) {
    const bool row_ok = row0 + r < n;
    const float* src = x + (row_ok ? (row0 + r) * d : 0);
    for (int c = lane; c < dp; c += 32) {
      const bool ok = row_ok && c < d;
      cp_async_4(xs + r * ld + c, ok ? src + c : x, ok);
    }
  }
  load_centre_tile(shared + layout.centres(0), shared + layout.centre_norms(0), padded, norms, 0, dp, ld);
  cp_async_commit();
  cp_async_wait_all();
  __syncthreads();

  // |x_i|^2 from the float32 values, then the tile rounded to TF32 in place. Each lane rounds
  // only what it read itself, so the warp needs no barrier between the two.
  for (int r = warp; r < kRows; r += kWarps) {
    float sum = 0;
    for (int c = lane; c < dp; c += 32) {
      const float v = xs[r * ld + c];
      sum += v * v;
      xs[r * ld + c] = wmma::__float_to_tf32(v);
    }
    for (int offset = 16; offset > 0; offset /= 2) sum += __shfl_xor_sync(0xffffffffu, sum, offset);
    if (lane == 0) x_norms[r] = sum;
  }
  __syncthreads();

  float best = kInf;  // row 32 wr + lane's minimum over this warp's columns so far
  int arg = kNone;
  const float* a_base = xs + (wr * 32) * ld;
  for (int t = 0; t < tiles; ++t) {
    const int buffer = t % 2;
    // Tile t + 1 into the other buffer, which every warp finished reading before the barrier
    // that ended iteration t - 1.
    if (t + 1 < tiles) {
      load_centre_tile(shared + layout.centres(1 - buffer), shared + layout.centre_norms(1 - buffer), padded,
                       norms, t + 1, dp, ld);
      cp_async_commit();
    }
    const float* b_base = shared + layout.centres(buffer) + (wc * 32) * ld;
    const float* tile_norms = shared + layout.centre_norms(buffer) + wc * 32;

    // The warp's 32 x 32 block of x_i . c_j: B = the centre tile read as a column-major
    // [Dp, kCols] matrix (element (k, j) at j * ld + k), which is its row-major [kCols, Dp] layout.
    wmma::fragment<wmma::accumulator, 16, 16, 8, float> acc[2][2];
    for (auto& row : acc)
      for (auto& f : row) wmma::fill_fragment(f, 0.0f);
#pragma unroll 4
    for (int k = 0; k < dp; k += 8) {
      wmma::fragment<wmma::matrix_a, 16, 16, 8, wmma::precision::tf32, wmma::row_major> a[2];
      wmma::fragment<wmma::matrix_b, 16, 16, 8, wmma::precision::tf32, wmma::col_major> b[2];
      for (int i = 0; i < 2; ++i) wmma::load_matrix_sync(a[i], a_base + (16 * i) * ld + k, ld);
      for (int j = 0; j < 2; ++j) wmma::load_matrix_sync(b[j], b_base + (16 * j) * ld + k, ld);
      for (int i = 0; i < 2; ++i)
        for (int j = 0; j < 2; ++j) wmma::mma_sync(acc[i][j], a[i], b[j], acc[i][j]);
    }
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 2; ++j)
        wmma::store_matrix_sync(scratch + (16 * i) * kScratchLd + 16 * j, acc[i][j], kScratchLd,
                                wmma::mem_row_major);
    __syncwarp();

    // Lane l scans row l of the scratch, starting at column l: word l * 36 + (c + l) % 32 sits in
    // bank (5 l + c) % 32, different for every lane (a plain left-to-right scan would hit each
    // bank four times). The order is free: beats() is a lexicographic minimum.
    const int j0 = t * kCols + wc * 32;
    for (int step = 0; step < 32; ++step) {
      const int c = (step + lane) % 32;
      const float v = tile_norms[c] - 2.0f * scratch[lane * kScratchLd + c];
      if (beats(v, j0 + c, best, arg)) {
        best = v;
        arg = j0 + c;
      }
    }

    // Tile t + 1 has landed for every thread, every warp is done with this buffer and with its
    // scratch.
    cp_async_wait_all();
    __syncthreads();
  }

  // The two warps of a row band: wc = 1 hands its candidates over, wc = 0 keeps the better.
  const int r = wr * 32 + lane;
  if (wc == 1) {
    shared[layout.best() + r] = best;
    reinterpret_cast<int*>(shared + layout.arg())[r] = arg;
  }
  __syncthreads();
  if (wc == 0 && row0 + r < n) {
    const float other = shared[layout.best() + r];
    const int other_arg = reinterpret_cast<const int*>(shared + layout.arg())[r];
    if (beats(other, other_arg, best, arg)) {
      best = other;
      arg = other_arg;
    }
    const float dist = x_norms[r] + best;
    sq[row0 + r] = arg == kNone ? std::numeric_limits<float>::quiet_NaN() : (dist > 0.0f ? dist : 0.0f);
    labels[row0 + r] = arg == kNone ? 0 : arg;  // every distance NaN: label 0, distance NaN
  }
}

std::size_t shared_bytes(int dp) { return sizeof(float) * static_cast<std::size_t>(SharedLayout(dp).floats()); }

}  // namespace

std::int64_t nearest_rows_tf32_workspace(std::int64_t k, std::int64_t d) {
  if (d < 1 || k < 1 || d > 4096 || k > std::numeric_limits<int>::max() - kCols) return 0;
  int device = 0, limit = 0;
  check(cudaGetDevice(&device), "nearest_rows (cudaGetDevice)");
  check(cudaDeviceGetAttribute(&limit, cudaDevAttrMaxSharedMemoryPerBlockOptin, device),
        "nearest_rows (cudaDeviceGetAttribute)");
  const int dp = padded_depth(d);
  if (shared_bytes(dp) > static_cast<std::size_t>(limit)) return 0;
  const std::int64_t kp = (k + kCols - 1) / kCols * kCols;
  return kp * dp + kp;
}

void launch_nearest_rows_tf32(const float* x, const float* centres, float* workspace, float* sq,
                              std::int64_t* labels, std::int64_t n, std::int64_t k, std::int64_t d, Stream stream) {
  if (n == 0) return;
  const auto st = static_cast<cudaStream_t>(stream);
  const int dp = padded_depth(d);
  const std::int64_t kp = (k + kCols - 1) / kCols * kCols;
  float* padded = workspace;
  float* norms = workspace + kp * dp;
  constexpr int kPrepareThreads = 256;
  const auto prepare_blocks = static_cast<unsigned>((kp * 32 + kPrepareThreads - 1) / kPrepareThreads);
  prepare_centres_kernel<<<prepare_blocks, kPrepareThreads, 0, st>>>(centres, padded, norms, k, static_cast<int>(d),
                                                                       dp, kp);
  check_launch("nearest_rows (prepare centres)");

  // Above 48 KB of dynamic shared memory a kernel must opt in (Programming Guide, "Shared
  // Memory", compute capability 8.x/9.x); nearest_rows_tf32_workspace checked the device's limit.
  const std::size_t bytes = shared_bytes(dp);
  check(cudaFuncSetAttribute(nearest_rows_tf32_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                             static_cast<int>(bytes)),
        "nearest_rows (cudaFuncSetAttribute)");
  const auto blocks = static_cast<unsigned>((n + kRows - 1) / kRows);
  nearest_rows_tf32_kernel<<<blocks, kThreads, bytes, st>>>(x, padded, norms, sq, labels, n, static_cast<int>(d), dp,
                                                            static_cast<int>(kp / kCols));
  check_launch("nearest_rows (fused TF32)");
}

}  // namespace cake::cuda::kernels
