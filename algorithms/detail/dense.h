// detail/dense.h: typed, row-major wrappers over the BLAS routines (GEMM, SYRK) that the
// classical algorithms call on raw buffers, and the guard that keeps BLAS single-threaded
// inside parallel loops.
//
//   // C[m x n] = A[m x k] * B[n x k]^T, all row-major
//   detail::gemm<float>(false, true, m, n, k, 1.0f, A, k, B, k, 0.0f, C, n);
//
// Tensor-level products and decompositions live in tensor/native/linalg.h and tensor/linalg.h
// (the algorithms use those for whole matrices). These wrappers exist because k-means, the
// Gaussian mixture's E-step and PCA's covariance work on blocks of rows inside parallel
// regions, where a Tensor per block and OpenBLAS's own threads would both cost more than the
// arithmetic.
//
// NOTE [ BLAS inside parallel regions ]
// OpenBLAS (pthread build) starts its own threads for every call. When several OpenMP threads
// each call GEMM on their own block, those pools fight over the same cores and the whole loop
// runs 2x slower than one big call (measured on 2 cores). Code that calls BLAS from inside
// cake::parallel_for holds a BlasSingleThread guard for the duration of the loop.
#pragma once

#include <cblas.h>

#include <cstdint>
#include <type_traits>

#include "tensor/error.h"

namespace cake::algorithms::detail {

// See NOTE [ BLAS inside parallel regions ]: OpenBLAS runs single-threaded while this lives.
class BlasSingleThread {
 public:
  BlasSingleThread() : saved_(openblas_get_num_threads()) {
    if (saved_ != 1) openblas_set_num_threads(1);
  }
  ~BlasSingleThread() {
    if (saved_ != 1) openblas_set_num_threads(saved_);
  }
  BlasSingleThread(const BlasSingleThread&) = delete;
  BlasSingleThread& operator=(const BlasSingleThread&) = delete;

 private:
  int saved_;
};

inline int blas_int(std::int64_t n) {
  CAKE_CHECK(n <= 2147483647, "BLAS/LAPACK: dimension ", n, " does not fit a 32-bit integer");
  return static_cast<int>(n);
}

// C[m x n] = alpha * op(A) * op(B) + beta * C, row-major; op(A) is m x k, op(B) is k x n.
template <class T>
void gemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, T alpha, const T* a,
          std::int64_t lda, const T* b, std::int64_t ldb, T beta, T* c, std::int64_t ldc) {
  if (m == 0 || n == 0) return;
  const auto ta = trans_a ? CblasTrans : CblasNoTrans;
  const auto tb = trans_b ? CblasTrans : CblasNoTrans;
  if constexpr (std::is_same_v<T, float>) {
    cblas_sgemm(CblasRowMajor, ta, tb, blas_int(m), blas_int(n), blas_int(k), alpha, a, blas_int(lda), b,
                blas_int(ldb), beta, c, blas_int(ldc));
  } else {
    cblas_dgemm(CblasRowMajor, ta, tb, blas_int(m), blas_int(n), blas_int(k), alpha, a, blas_int(lda), b,
                blas_int(ldb), beta, c, blas_int(ldc));
  }
}

// C[n x n] = alpha * A^T A + beta * C for A[k x n] row-major; fills BOTH triangles of C.
template <class T>
void gram(std::int64_t n, std::int64_t k, T alpha, const T* a, std::int64_t lda, T beta, T* c, std::int64_t ldc,
          bool fill_both = true) {
  if (n == 0) return;
  if constexpr (std::is_same_v<T, float>) {
    cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, blas_int(n), blas_int(k), alpha, a, blas_int(lda), beta, c,
                blas_int(ldc));
  } else {
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, blas_int(n), blas_int(k), alpha, a, blas_int(lda), beta, c,
                blas_int(ldc));
  }
  if (fill_both) {
    for (std::int64_t i = 0; i < n; ++i)
      for (std::int64_t j = 0; j < i; ++j) c[i * ldc + j] = c[j * ldc + i];
  }
}

}  // namespace cake::algorithms::detail
