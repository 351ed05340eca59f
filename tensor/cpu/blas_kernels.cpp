// cpu/blas_kernels.cpp: the CPU GEMM behind matmul and addmm, and the CPU cdist_squared.
//
// float32/float64 call OpenBLAS (cblas_sgemm / cblas_dgemm) straight on the operands' memory:
// row-major and transposed views need no copy (NOTE [ BLAS on strided views ] in
// native/linalg.h), and the result is written directly into `out` with the caller's alpha and
// beta. A batch is one GEMM per matrix, broadcast operands simply repeating a pointer.
// int64/uint8 have no BLAS, so they take naive_gemm below: a plain loop, correct, not fast.
#include <cblas.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "cake/tensor/native/elementwise.h"
#include "cake/tensor/native/linalg.h"
#include "cake/tensor/pairwise.h"
#include "cake/tensor/parallel.h"

namespace cake::cpu {
namespace {

// One overload per precision, so the batch loop below is written once.
void blas_gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, blasint m, blasint n, blasint k, float alpha, const float* a,
               blasint lda, const float* b, blasint ldb, float beta, float* c, blasint ldc) {
  cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
void blas_gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, blasint m, blasint n, blasint k, double alpha, const double* a,
               blasint lda, const double* b, blasint ldb, double beta, double* c, blasint ldc) {
  cblas_dgemm(CblasRowMajor, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
void blas_gemv(CBLAS_TRANSPOSE t, blasint m, blasint n, float alpha, const float* a, blasint lda, const float* x,
               blasint incx, float beta, float* y, blasint incy) {
  cblas_sgemv(CblasRowMajor, t, m, n, alpha, a, lda, x, incx, beta, y, incy);
}
void blas_gemv(CBLAS_TRANSPOSE t, blasint m, blasint n, double alpha, const double* a, blasint lda, const double* x,
               blasint incx, double beta, double* y, blasint incy) {
  cblas_dgemv(CblasRowMajor, t, m, n, alpha, a, lda, x, incx, beta, y, incy);
}

blasint blas_int(std::int64_t v) {
  CAKE_CHECK(v <= INT_MAX, "matmul: size or stride ", v, " exceeds OpenBLAS's 32-bit index range");
  return static_cast<blasint>(v);
}

// One product C = alpha * A @ B + beta * C of the batch, A and B given by pointer and layout.
template <class T>
struct MatrixProduct {
  blasint M, N, K;
  native::MatrixLayout a, b, c;
  T alpha, beta;

  void operator()(const T* A, const T* B, T* C) const {
    if (M == 1 || N == 1) return matrix_vector(A, B, C);
    blas_gemm(a.transposed ? CblasTrans : CblasNoTrans, b.transposed ? CblasTrans : CblasNoTrans, M, N, K, alpha, A,
              blas_int(a.ld), B, blas_int(b.ld), beta, C, blas_int(c.ld));
  }

  // One output column (or row) is a matrix-vector product: gemv streams the matrix once where
  // gemm would first pack it, 3-7x faster (1024 x 1024 float32: 64 us against 225 us).
  void matrix_vector(const T* A, const T* B, T* C) const {
    // BLAS does not read y when beta == 0, but gemv applies beta by scaling y, and a scal that
    // propagated NaN (0 * NaN) would leak out's uninitialised memory. Clearing costs one pass.
    const std::int64_t y_step = N == 1 ? c.ld : 1;
    if (beta == T(0))
      for (std::int64_t j = 0; j < std::int64_t{M} * N; ++j) C[j * y_step] = T(0);
    if (N == 1) {
      // C[:, 0] = A B[:, 0]. A is stored as [M, K], or as [K, M] when transposed.
      blas_gemv(a.transposed ? CblasTrans : CblasNoTrans, a.transposed ? K : M, a.transposed ? M : K, alpha, A,
                blas_int(a.ld), B, blas_int(b.ld), beta, C, blas_int(c.ld));
    } else {
      // C[0, :] = A[0, :] B = B^T applied to A's row. B is stored as [K, N], or [N, K] when transposed.
      blas_gemv(b.transposed ? CblasNoTrans : CblasTrans, b.transposed ? N : K, b.transposed ? K : N, alpha, B,
                blas_int(b.ld), A, blas_int(a.transposed ? a.ld : 1), beta, C, 1);
    }
  }
};

// When to split a batch across threads, by the work of one matrix (M * N * K). Above
// kMaxBatchParallelWork OpenBLAS threads each GEMM itself (interface/gemm.c: above
// 65536 * GEMM_MULTITHREAD_THRESHOLD = 64^3), and threads of ours on top oversubscribe the
// cores. Below kMinBatchParallelWork the calls are too short to share out. Measured on 2
// threads, 512 square matrices, parallel over the plain loop (several runs, best of 60-200):
//   n = 24: 0.6x,  32: 1.0-1.4x,  40-64: 1.2-2.1x,  72: 0.66x,  128: 0.8x.
constexpr std::int64_t kMinBatchParallelWork = 40 * 40 * 40;
constexpr std::int64_t kMaxBatchParallelWork = 64 * 64 * 64;

template <class T>
void blas_batched_gemm(const Tensor& a, const Tensor& b, const Tensor& out, T alpha, T beta) {
  const std::int64_t M = out.size(-2), N = out.size(-1), K = a.size(-1);
  const MatrixProduct<T> product{blas_int(M), blas_int(N), blas_int(K), *native::blas_layout(a),
                                 *native::blas_layout(b), *native::blas_layout(out), alpha, beta};
  const std::vector<std::int64_t> oa = native::batch_matrix_offsets(a);
  const std::vector<std::int64_t> ob = native::batch_matrix_offsets(b);
  const std::vector<std::int64_t> oc = native::batch_matrix_offsets(out);
  const T* pa = a.data_ptr<T>();
  const T* pb = b.data_ptr<T>();
  T* pc = out.data_ptr<T>();
  auto products = [&](std::int64_t lo, std::int64_t hi) {
    for (auto i = static_cast<std::size_t>(lo); i < static_cast<std::size_t>(hi); ++i)
      product(pa + oa[i], pb + ob[i], pc + oc[i]);
  };
  const auto batch = static_cast<std::int64_t>(oc.size());
  const std::int64_t work = M * N * K;
  if (batch > 1 && work >= kMinBatchParallelWork && work <= kMaxBatchParallelWork) parallel_for(0, batch, 1, products);
  else products(0, batch);
}

// The reference GEMM, for the integer dtypes: out = beta * out + alpha * a @ b, loop order
// i, k, j so the inner loop runs along rows of b and out. uint8 wraps modulo 256, as PyTorch.
template <class T>
void naive_gemm(const Tensor& a, const Tensor& b, const Tensor& out, T alpha, T beta) {
  const std::int64_t M = out.size(-2), N = out.size(-1), K = a.size(-1);
  const std::vector<std::int64_t> oa = native::batch_matrix_offsets(a);
  const std::vector<std::int64_t> ob = native::batch_matrix_offsets(b);
  const std::vector<std::int64_t> oc = native::batch_matrix_offsets(out);
  const std::int64_t a_rs = a.stride(-2), a_cs = a.stride(-1), b_rs = b.stride(-2), b_cs = b.stride(-1);
  const std::int64_t c_rs = out.stride(-2), c_cs = out.stride(-1);
  const T* pa = a.data_ptr<T>();
  const T* pb = b.data_ptr<T>();
  T* pc = out.data_ptr<T>();
  const auto batch = static_cast<std::int64_t>(oc.size());
  // One task per output row of the whole batch.
  parallel_for(0, batch * M, std::max<std::int64_t>(1, 32768 / std::max<std::int64_t>(N * K, 1)),
               [&](std::int64_t lo, std::int64_t hi) {
                 std::vector<T> row(static_cast<std::size_t>(N));
                 for (std::int64_t r = lo; r < hi; ++r) {
                   const auto s = static_cast<std::size_t>(r / M);
                   const std::int64_t i = r % M;
                   std::fill(row.begin(), row.end(), T(0));
                   for (std::int64_t k = 0; k < K; ++k) {
                     const T aik = pa[oa[s] + i * a_rs + k * a_cs];
                     const T* brow = pb + ob[s] + k * b_rs;
                     for (std::int64_t j = 0; j < N; ++j) row[j] = static_cast<T>(row[j] + aik * brow[j * b_cs]);
                   }
                   T* crow = pc + oc[s] + i * c_rs;
                   for (std::int64_t j = 0; j < N; ++j) {
                     const T scaled = static_cast<T>(alpha * row[j]);
                     crow[j * c_cs] = beta == T(0) ? scaled : static_cast<T>(beta * crow[j * c_cs] + scaled);
                   }
                 }
               });
}

// bfloat16/float16: the reference the GPU's tensor cores are compared against. The operands are
// widened to float32 exactly (every 16-bit float is a float32), multiplied by sgemm, and the
// float32 result rounded once into out's dtype: float32 accumulation, one rounding, as on CUDA
// (whose summation order differs, so the two agree to float32 rounding of the sums, not bitwise).
void half_gemm(const Tensor& a, const Tensor& b, const Tensor& out, Scalar alpha, Scalar beta);

void gemm_kernel(const Tensor& a, const Tensor& b, const Tensor& out, Scalar alpha, Scalar beta) {
  if (is_half(a.dtype())) return half_gemm(a, b, out, alpha, beta);
  if (a.size(-1) == 0) {  // an empty sum: out = beta * out (BLAS is not asked about K = 0)
    if (beta.to_double() == 0.0) native::fill_(out, 0);
    else native::binary_(native::BinaryOp::Mul, out, beta);
    return;
  }
  visit_dtype(out.dtype(), [&]<class T>() {
    if constexpr (std::is_floating_point_v<T>) {
      blas_batched_gemm<T>(a, b, out, alpha.to<T>(), beta.to<T>());
    } else if constexpr (std::is_same_v<T, bool>) {
      CAKE_FAIL("matmul: bool tensors cannot be multiplied");
    } else {
      naive_gemm<T>(a, b, out, alpha.to<T>(), beta.to<T>());
    }
  });
}

void half_gemm(const Tensor& a, const Tensor& b, const Tensor& out, Scalar alpha, Scalar beta) {
  const Tensor wide_a = native::blas_compatible(native::to_dtype(a, kFloat32));
  const Tensor wide_b = native::blas_compatible(native::to_dtype(b, kFloat32));
  if (out.dtype() == kFloat32) return gemm_kernel(wide_a, wide_b, out, alpha, beta);
  Tensor wide_out = native::contiguous(native::to_dtype(out, kFloat32));
  gemm_kernel(wide_a, wide_b, wide_out, alpha, beta);
  native::copy_(out, wide_out);
}

// The one blocked distance routine of tensor/pairwise.h, on contiguous a [N, D], b [M, D].
void cdist_squared_kernel(const Tensor& a, const Tensor& b, const Tensor& out) {
  visit_floating(out.dtype(), "cdist_squared", [&]<class T>() {
    const std::int64_t n = a.size(0), m = b.size(0), d = a.size(1);
    std::vector<T> a_sq(static_cast<std::size_t>(n)), b_sq(static_cast<std::size_t>(m));
    pairwise::row_squared_norms(a.data_ptr<T>(), n, d, a_sq.data());
    pairwise::row_squared_norms(b.data_ptr<T>(), m, d, b_sq.data());
    pairwise::squared_distances(a.data_ptr<T>(), n, a_sq.data(), b.data_ptr<T>(), m, b_sq.data(), d, out.data_ptr<T>());
  });
}

// Blocks of rows through the same distance routine, then each row's first minimum.
void nearest_rows_kernel(const Tensor& x, const Tensor& centres, const Tensor& sq_out, const Tensor& labels_out) {
  visit_floating(x.dtype(), "nearest_rows", [&]<class T>() {
    const std::int64_t n = x.size(0), k = centres.size(0), d = x.size(1);
    const std::int64_t block = std::max<std::int64_t>(1, std::min<std::int64_t>(n, (std::int64_t{1} << 22) / k));
    std::vector<T> x_sq(static_cast<std::size_t>(n)), c_sq(static_cast<std::size_t>(k));
    std::vector<T> distances(static_cast<std::size_t>(block * k));
    pairwise::row_squared_norms(x.data_ptr<T>(), n, d, x_sq.data());
    pairwise::row_squared_norms(centres.data_ptr<T>(), k, d, c_sq.data());
    const bool any_nan_centre = std::any_of(c_sq.begin(), c_sq.end(), [](T v) { return std::isnan(v); });
    T* sq = sq_out.data_ptr<T>();
    std::int64_t* labels = labels_out.data_ptr<std::int64_t>();
    for (std::int64_t start = 0; start < n; start += block) {
      const std::int64_t rows = std::min(block, n - start);
      pairwise::squared_distances(x.data_ptr<T>() + start * d, rows, x_sq.data() + start, centres.data_ptr<T>(), k,
                                  c_sq.data(), d, distances.data());
      for (std::int64_t i = 0; i < rows; ++i) {
        const T* row = distances.data() + i * k;
        // NaN never wins, as on CUDA: squared_distances' clamp at 0 turns a NaN distance into 0,
        // so rows and centres holding a NaN (a NaN squared norm) are set aside here instead.
        std::int64_t best = -1;
        if (!std::isnan(x_sq[start + i])) {
          if (!any_nan_centre) {
            best = std::min_element(row, row + k) - row;
          } else {
            for (std::int64_t j = 0; j < k; ++j)
              if (!std::isnan(c_sq[j]) && (best < 0 || row[j] < row[best])) best = j;
          }
        }
        sq[start + i] = best < 0 ? std::numeric_limits<T>::quiet_NaN() : row[best];
        labels[start + i] = best < 0 ? 0 : best;  // no candidate: label 0, distance NaN
      }
    }
  });
}

}  // namespace

CAKE_REGISTER_KERNEL(native::gemm_stub, DeviceType::CPU, &gemm_kernel);
CAKE_REGISTER_KERNEL(native::nearest_rows_stub, DeviceType::CPU, &nearest_rows_kernel);
CAKE_REGISTER_KERNEL(native::cdist_squared_stub, DeviceType::CPU, &cdist_squared_kernel);

}  // namespace cake::cpu
