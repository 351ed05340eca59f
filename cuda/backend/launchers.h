// cuda/backend/launchers.h: the launchers of the row, nn (grid sampling included), optimiser,
// random and indexing kernels, as the glue (g++) sees them; kernel_api.h has the elementwise and
// reduce ones.
//
//   kernels::launch_softmax(ScalarType::Float32, x, y, outer, D, inner, /*log=*/false, stream);
//
// Every pointer is device memory of contiguous data unless a Geometry says otherwise; every
// launcher queues its work on `stream` and returns (no host synchronisation inside). A kept
// separate header so that adding a family recompiles only the files that use it.
#pragma once

#include <cstdint>

#include "cake/cuda/backend/kernel_api.h"
#include "cake/tensor/bilinear.h"

namespace cake::cuda::kernels {

// ---- rows: x viewed as [outer, D, inner], contiguous ---------------------------------------
// (values, indices) of the max or min of each row of length n (rows x n, contiguous); the first
// extreme wins and NaN counts as the extreme (cpu/reduce_kernels.cpp).
void launch_arg_reduce(bool is_max, ScalarType type, const void* x, void* values, std::int64_t* indices,
                       std::int64_t rows, std::int64_t n, Stream stream);
// softmax / log_softmax along D (float32, float64), forward and backward from the output y.
void launch_softmax(ScalarType type, const void* x, void* y, std::int64_t outer, std::int64_t D,
                    std::int64_t inner, bool log, Stream stream);
void launch_softmax_backward(ScalarType type, const void* grad_y, const void* y, void* grad_x, std::int64_t outer,
                             std::int64_t D, std::int64_t inner, bool log, Stream stream);

// ---- batch normalisation over x [n, c, s] (native/nn_kernels.h has the formulas) ------------
// Each channel's n * s values are folded in `pieces` parts (batch_norm_pieces) so that few
// channels still fill the GPU; the glue provides the scratch: partials, 3 * c * pieces doubles;
// coefficients, 4 * c elements of the tensor's type.
struct BatchNormScratch {
  std::int64_t pieces;
  double* partials;
  void* coefficients;
};
std::int64_t batch_norm_pieces(std::int64_t n, std::int64_t c, std::int64_t s);
// weight and bias may be null (1 and 0).
void launch_batch_norm(ScalarType type, const void* x, const void* weight, const void* bias, double eps, void* y,
                       void* mean, void* invstd, std::int64_t n, std::int64_t c, std::int64_t s,
                       const BatchNormScratch& scratch, Stream stream);
// Any of grad_x, grad_weight, grad_bias may be null (not wanted); weight may be null.
void launch_batch_norm_backward(ScalarType type, const void* grad_y, const void* x, const void* weight,
                                const void* mean, const void* invstd, void* grad_x, void* grad_weight,
                                void* grad_bias, std::int64_t n, std::int64_t c, std::int64_t s,
                                const BatchNormScratch& scratch, Stream stream);

// ---- pairwise distances and k-means' assignment --------------------------------------------
// out [n, m] holds -2 a_i . b_j (the GEMM's product); it becomes max(a_norms[i] + b_norms[j] +
// out[i, j], 0) = |a_i - b_j|^2 clamped, in one pass.
void launch_distance_epilogue(ScalarType type, void* out, const void* a_norms, const void* b_norms, std::int64_t n,
                              std::int64_t m, Stream stream);
// cross [rows, k] holds x_i . c_j: label_i = the first j minimising |c_j|^2 - 2 cross[i, j], and
// sq_i = max(x_norms[i] + that minimum, 0). One warp per row reads the row once.
void launch_nearest_rows(ScalarType type, const void* cross, const void* x_norms, const void* c_norms, void* sq,
                         std::int64_t* labels, std::int64_t rows, std::int64_t k, Stream stream);
// The same assignment fused (nearest_rows_kernels.cu, NOTE [ Fused TF32 assignment ]): float32
// x [n, d] and centres [k, d], dot products on the TF32 tensor cores, no [n, k] product in global
// memory. The workspace size in floats for (k, d), or 0 when this device cannot run the fused
// kernel for that d (its x tile would not fit in shared memory): then use the unfused path. Not
// yet routed to by nearest_rows_stub (slower on the H200; the .cu file's status note).
std::int64_t nearest_rows_tf32_workspace(std::int64_t k, std::int64_t d);
void launch_nearest_rows_tf32(const float* x, const float* centres, float* workspace, float* sq,
                              std::int64_t* labels, std::int64_t n, std::int64_t k, std::int64_t d, Stream stream);

// ---- pooling over planes [planes, in_h, in_w] -> [planes, out_h, out_w] ----------------------
struct PoolShape {
  std::int64_t planes, in_h, in_w, out_h, out_w;
  std::int64_t kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w;
  bool count_include_pad;
  bool adaptive;  // adaptive average pooling: windows from the sizes alone
};
// indices may be null (no backward wanted).
void launch_max_pool(ScalarType type, const PoolShape& p, const void* x, void* y, std::int64_t* indices,
                     Stream stream);
void launch_max_pool_backward(ScalarType type, const PoolShape& p, const void* grad_y, const std::int64_t* indices,
                              void* grad_x, Stream stream);
void launch_avg_pool(ScalarType type, const PoolShape& p, const void* x, void* y, Stream stream);
void launch_avg_pool_backward(ScalarType type, const PoolShape& p, const void* grad_y, void* grad_x, Stream stream);

// ---- bilinear grid sampling (grid_sample_kernels.cu; tensor/bilinear.h has the arithmetic) ---
// out [n, c, h_out, w_out] = input [n, c, h_in, w_in] read at grid [n, h_out, w_out, 2].
void launch_grid_sample(ScalarType type, const bilinear::SampleShape& s, const void* input, const void* grid,
                        bool align_corners, void* out, Stream stream);
// grad_input must hold zeros: points add into their corners by atomics. grad_grid is overwritten.
// Either may be null (not wanted).
void launch_grid_sample_backward(ScalarType type, const bilinear::SampleShape& s, const void* grad_out,
                                 const void* input, const void* grid, bool align_corners, void* grad_input,
                                 void* grad_grid, Stream stream);

// ---- fused optimiser steps (optim/fused.h), one pass over `numel` contiguous elements --------
struct AdamScalars {
  double beta1, beta2, eps, weight_decay, decay_factor, step_size, bias_correction2_sqrt;
  // Capturable mode (optim/fused.h): when step is not null, t = *step and lr = *lr give
  // step_size, bias_correction2_sqrt and decay_factor (= 1 - lr decoupled_weight_decay) instead.
  const double* step = nullptr;
  const double* lr = nullptr;
  double decoupled_weight_decay = 0.0;
};
// max_exp_avg_sq is null unless amsgrad.
void launch_adam(ScalarType type, void* param, const void* grad, void* exp_avg, void* exp_avg_sq,
                 void* max_exp_avg_sq, const AdamScalars& s, std::int64_t numel, Stream stream);
struct SgdScalars {
  double lr, momentum, dampening, weight_decay;
  bool nesterov, first_step;
};
// momentum_buffer is null when momentum is 0.
void launch_sgd(ScalarType type, void* param, const void* grad, void* momentum_buffer, const SgdScalars& s,
                std::int64_t numel, Stream stream);

// ---- random numbers: the CPU's Philox map (cpu/random_kernels.cpp) ---------------------------
// dist: 0 uniform, 1 normal, 2 bernoulli, 3 randint (native::Distribution's order).
void launch_random(ScalarType type, void* out, std::int64_t numel, int dist, double a, double b, std::uint64_t seed,
                   std::uint64_t offset, Stream stream);

// ---- indexing (cpu/indexing_kernels.cpp has the CPU twins) ----------------------------------
// Geometry {out, x_lines, index}: out[p] = x_lines[p + index[p] * dim_step]; an index outside
// [0, size) sets *bad = 1 and writes nothing.
void launch_gather(ScalarType type, const Geometry<3>& g, std::int64_t dim_step, std::int64_t size,
                   std::int64_t* bad, Stream stream);
// Geometry {out_lines, src, index}: out_lines[p + index[p] * dim_step] += alpha * src[p], atomically.
// alpha is passed as its bit pattern in `type` (8 bytes).
void launch_scatter_add(ScalarType type, const Geometry<3>& g, std::int64_t dim_step, std::int64_t size,
                        const void* alpha, std::int64_t* bad, Stream stream);
// Geometry {out_lines, src, index}: out_lines[p + index[p] * dim_step] = src[p] (reduce 0; of
// duplicate indices, any one lands), or atomically combined with it: reduce 1 times, 2 the larger,
// 3 the smaller (native::ScatterReduce's order; a NaN wins in 2 and 3).
void launch_scatter(ScalarType type, const Geometry<3>& g, std::int64_t dim_step, std::int64_t size, int reduce,
                    std::int64_t* bad, Stream stream);
// out[index[r], :] += alpha * src[r, :] for float32 rows: contiguous out [k, d] and src [n, d],
// index [n] (stride 1); per-block partial sums in shared memory (NOTE [ Privatised row sums ] in
// scatter_rows_kernels.cu). k at most scatter_rows_max_targets(). An index outside [0, k) sets *bad.
std::int64_t scatter_rows_max_targets();
std::int64_t scatter_rows_max_columns();  // the widest rows it takes (gridDim.y)
void launch_scatter_rows_f32(float* out, const float* src, const std::int64_t* index, std::int64_t n, std::int64_t k,
                             std::int64_t d, float alpha, std::int64_t* bad, Stream stream);
// out[x[i]] += weights ? weights[i] : 1 (type: out's, int64/float32/float64), atomically.
void launch_bincount(ScalarType type, const std::int64_t* x, const void* weights, void* out, std::int64_t n,
                     Stream stream);
// out[r, k] = the insertion point of values[r, k] in the sorted row r of sorted [rows or 1, m]
// (row 0 for every r when sorted_rows == 1): the first position whose element is >= the value
// (> with right). type is int64, float32 or float64; values has k columns.
void launch_searchsorted(ScalarType type, const void* sorted, const void* values, std::int64_t* out, std::int64_t rows,
                         std::int64_t sorted_rows, std::int64_t m, std::int64_t k, bool right, Stream stream);
// The running product (op 0), maximum (1), minimum (2) or log-sum-exp (3) along D of x
// [outer, D, inner] into values, one thread per line; for max / min also the int64 position where
// the extreme was reached (cpu/indexing_kernels.cpp's RunningExtreme rule). float32 accumulates
// products and log-sum-exps in double.
void launch_scan(ScalarType type, int op, const void* x, void* values, std::int64_t* indices, std::int64_t outer,
                 std::int64_t D, std::int64_t inner, Stream stream);
// Running sums along D of [outer, D, inner] (from the end when reverse); type is int64, float32
// or float64; float32 accumulates in double.
void launch_cumsum(ScalarType type, const void* x, void* out, std::int64_t outer, std::int64_t D, std::int64_t inner,
                   bool reverse, Stream stream);
// Geometry {x, mask, rank}, rank = the inclusive running count of the mask in row-major order
// (int64, contiguous, same sizes): out[rank[p] - 1] = x[p] where mask[p].
void launch_masked_select(ScalarType type, const Geometry<3>& g, void* out, Stream stream);
// Geometry {out, mask, rank}: out[p] = src[rank[p] - 1] where mask[p].
void launch_masked_scatter(ScalarType type, const Geometry<3>& g, const void* src, Stream stream);

// ---- sorting (sort_kernels.cu, CUB) ----------------------------------------------------------
// Sorts each of `rows` contiguous rows of length n, stably, NaN after every number (before, when
// descending): values and int64 positions within the row. x may alias nothing it writes.
// Scratch memory comes from `scratch(bytes)`, the caching allocator through the glue.
using ScratchFn = void* (*)(std::size_t bytes, void* context);
void launch_sort_rows(ScalarType type, const void* x, void* values, std::int64_t* indices, std::int64_t rows,
                      std::int64_t n, bool descending, ScratchFn scratch, void* context, Stream stream);
// Sorts each row of `rows` x n int64 positions ascending; every position is in [0, bound) (the
// length of the rows they index, which topk's k chosen of n are not bounded by).
void launch_sort_positions(std::int64_t* positions, std::int64_t rows, std::int64_t n, std::int64_t bound,
                           ScratchFn scratch, void* context, Stream stream);

}  // namespace cake::cuda::kernels
