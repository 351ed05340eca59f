// native/linalg.h: matrix products without autograd (matmul, addmm, cdist_squared) and the
// one backend entry point they share, a batched GEMM.
//
//   Tensor y = cake::native::matmul(x, w);          // [..., M, K] @ [K, N] -> [..., M, N]
//   Tensor d = cake::native::cdist_squared(a, b);   // [N, D], [M, D] -> [N, M]
//
// The differentiable versions (cake::matmul, cake::mm, ... in autograd/ops.h) wrap these.
// The decompositions (eigh, svd, cholesky, ...) live in tensor/linalg.h; the one of them with
// a kernel per device, eigh, has its dispatch stub here beside the GEMM's.
//
// NOTE [ BLAS on strided views ]
// A BLAS GEMM reads a matrix from a pointer, a leading dimension `ld` and a transpose flag,
// so two kinds of view need no copy:
//   * row-major rows:    stride[1] == 1, ld = stride[0]  (contiguous, or narrowed columns);
//   * transposed views:  stride[0] == 1, ld = stride[1]  (x.t() of a row-major matrix),
//     handed to BLAS as the row-major matrix it is a transpose of, with CblasTrans.
// Anything else (a stepped slice, an expanded dim with stride 0) is copied to contiguous first.
// blas_layout() below says which case a view is; every backend with a GEMM (OpenBLAS, cuBLAS)
// accepts both, so the rule lives here rather than in one backend.
#pragma once

#include <cstdint>
#include <vector>

#include <optional>

#include "cake/tensor/dispatch.h"
#include "cake/tensor/tensor.h"

namespace cake::native {

// The element offset of every matrix of `t` (dims all but the last two are the batch), in
// row-major batch order; a broadcast batch dim has stride 0, so its offsets repeat. Every
// backend's batched GEMM walks the batch with it.
std::vector<std::int64_t> batch_matrix_offsets(const Tensor& t);

// How the matrix in the last two dims of a view is passed to a GEMM without a copy.
struct MatrixLayout {
  bool transposed;  // true: the memory is the row-major transpose (pass CblasTrans)
  std::int64_t ld;  // leading dimension, in elements
};
// std::nullopt when neither of the last two strides is 1 (see NOTE [ BLAS on strided views ]).
std::optional<MatrixLayout> blas_layout(const Tensor& matrix);
// `x` itself when blas_layout accepts it, else a contiguous copy.
Tensor blas_compatible(const Tensor& x);

// out = alpha * (a @ b) + beta * out, for every matrix of a common batch shape:
//   a [..., M, K], b [..., K, N], out [..., M, N], identical batch sizes (a and b may be
//   broadcast views with batch stride 0), one dtype (or bfloat16/float16 a and b with a float32
//   out: float32 accumulation either way), one device. a and b satisfy blas_layout;
//   each matrix of out is row-major (stride[-1] == 1). With beta == 0, out's values are ignored.
using GemmFn = void (*)(const Tensor& a, const Tensor& b, const Tensor& out, Scalar alpha, Scalar beta);
CAKE_DECLARE_DISPATCH(GemmFn, gemm_stub);
// Checks the geometry above and dispatches; float32/float64 go to BLAS, int64/uint8 to a loop.
void gemm(const Tensor& a, const Tensor& b, const Tensor& out, Scalar alpha = 1, Scalar beta = 0);

// NumPy matmul: 1-D operands are a row (left) or column (right) vector whose added dim is
// dropped from the result; leading dims broadcast. Errors name both shapes.
Tensor matmul(const Tensor& a, const Tensor& b);
// beta * c + alpha * (a @ b) for matrices a [M, K], b [K, N]; c broadcasts to [M, N].
Tensor addmm(const Tensor& c, const Tensor& a, const Tensor& b, Scalar beta = 1, Scalar alpha = 1);
// out[i][j] = |a_i - b_j|^2 for a [N, D], b [M, D] (floating point), clamped at 0.
Tensor cdist_squared(const Tensor& a, const Tensor& b);
// The backend entry point of cdist_squared: out [N, M] = |a_i - b_j|^2 for contiguous a [N, D],
// b [M, D] of one floating dtype. The CPU kernel is cake::pairwise::squared_distances
// (tensor/pairwise.h), the blocked GEMM routine the classical algorithms also use.
using CdistSquaredFn = void (*)(const Tensor& a, const Tensor& b, const Tensor& out);
CAKE_DECLARE_DISPATCH(CdistSquaredFn, cdist_squared_stub);
// For each row x_i of x [N, D], its nearest row of centres [K, D] (K >= 1) in squared Euclidean
// distance: (|x_i - c_label|^2 clamped at 0 [N], label int64 [N]), the first of equal distances.
// NaN never wins: a centre with a NaN is passed over, and a row with a NaN, or with only such
// centres, gets label 0 and distance NaN (on every device).
// The same as min(cdist_squared(x, centres), 1) without the [N, K] matrix held at once: k-means'
// assignment step. On CUDA, one GEMM per block of rows and an arg-min that reads its product once.
std::pair<Tensor, Tensor> nearest_rows(const Tensor& x, const Tensor& centres);
// The backend entry point: contiguous x [N, D], centres [K, D] of one floating dtype; writes
// sq_distances [N] (x's dtype) and labels [N] (int64).
using NearestRowsFn = void (*)(const Tensor& x, const Tensor& centres, const Tensor& sq_distances,
                               const Tensor& labels);
CAKE_DECLARE_DISPATCH(NearestRowsFn, nearest_rows_stub);
// The backend entry point of linalg::eigh (tensor/linalg.h), the symmetric eigendecomposition
// A = V diag(w) V^T. `vectors` [..., n, n] is contiguous and holds the matrices on entry (only
// their lower triangle is read); on return it holds their eigenvectors stored column-major, so
// that each matrix, read row-major, is V^T (NOTE [ Row-major buffers, column-major LAPACK ] in
// tensor/linalg.cpp). `values` [..., n] (contiguous) receives the eigenvalues, ascending. One
// dtype (float32 or float64) and one device; n >= 1 and at least one matrix. A matrix whose
// iteration does not converge is a cake::Error naming its shape (and its place in the batch).
// CPU: LAPACK ?syevd (tensor/linalg.cpp); CUDA: cuSOLVER's syevd (cuda/backend/linalg_cusolver.cpp).
using EighFn = void (*)(const Tensor& vectors, const Tensor& values);
CAKE_DECLARE_DISPATCH(EighFn, eigh_stub);
// The sum of the main diagonal of a matrix, as a 0-d tensor.
Tensor trace(const Tensor& x);
// A view of the main diagonal of a matrix (length min(rows, cols)); writes go through.
Tensor diagonal(const Tensor& x);

}  // namespace cake::native
