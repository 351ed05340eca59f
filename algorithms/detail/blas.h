// algorithms/detail/blas.h: typed BLAS calls on raw row-major buffers, for the inner loops of
// the classical algorithms (agglomerative, spectral, DBSCAN, NMF, FastICA, sparse coding).
//
//   using namespace cake::algorithms::detail;
//   gemm<double>(false, true, n, m, d, 1.0, X, d, Y, d, 0.0, G, m);   // G = X Y^T
//   double s = dot<double>(d, x, y);
//
// Why a header of its own: these algorithms work on one contiguous buffer per matrix and call
// BLAS many times per iteration on sub-blocks (a row panel, one column), where building a
// Tensor view per call would cost more than the call. The templates pick the s/d routine from
// the element type once, at compile time; everything is row-major (CblasRowMajor).
#pragma once

#include <cblas.h>

#include <cstdint>
#include <type_traits>

namespace cake::algorithms::detail {

using index_t = std::int64_t;

inline CBLAS_TRANSPOSE blas_trans(bool transpose) { return transpose ? CblasTrans : CblasNoTrans; }
inline blasint blas_int(index_t v) { return static_cast<blasint>(v); }

// C[m, n] = alpha * op(A)[m, k] op(B)[k, n] + beta * C.
template <class T>
void gemm(bool trans_a, bool trans_b, index_t m, index_t n, index_t k, T alpha, const T* a, index_t lda,
          const T* b, index_t ldb, T beta, T* c, index_t ldc) {
  if (m == 0 || n == 0) return;
  if constexpr (std::is_same_v<T, float>) {
    cblas_sgemm(CblasRowMajor, blas_trans(trans_a), blas_trans(trans_b), blas_int(m), blas_int(n), blas_int(k), alpha,
                a, blas_int(lda), b, blas_int(ldb), beta, c, blas_int(ldc));
  } else {
    cblas_dgemm(CblasRowMajor, blas_trans(trans_a), blas_trans(trans_b), blas_int(m), blas_int(n), blas_int(k), alpha,
                a, blas_int(lda), b, blas_int(ldb), beta, c, blas_int(ldc));
  }
}

// y[m or n] = alpha * op(A) x + beta * y, A is [m, n].
template <class T>
void gemv(bool trans, index_t m, index_t n, T alpha, const T* a, index_t lda, const T* x, T beta, T* y) {
  if (m == 0 || n == 0) return;
  if constexpr (std::is_same_v<T, float>) {
    cblas_sgemv(CblasRowMajor, blas_trans(trans), blas_int(m), blas_int(n), alpha, a, blas_int(lda), x, 1, beta, y, 1);
  } else {
    cblas_dgemv(CblasRowMajor, blas_trans(trans), blas_int(m), blas_int(n), alpha, a, blas_int(lda), x, 1, beta, y, 1);
  }
}

// C[n, n] (upper triangle) = alpha * op(A) op(A)^T + beta * C; trans: C = A^T A for A [k, n].
template <class T>
void syrk_upper(bool trans, index_t n, index_t k, T alpha, const T* a, index_t lda, T beta, T* c, index_t ldc) {
  if (n == 0) return;
  if constexpr (std::is_same_v<T, float>) {
    cblas_ssyrk(CblasRowMajor, CblasUpper, blas_trans(trans), blas_int(n), blas_int(k), alpha, a, blas_int(lda), beta,
                c, blas_int(ldc));
  } else {
    cblas_dsyrk(CblasRowMajor, CblasUpper, blas_trans(trans), blas_int(n), blas_int(k), alpha, a, blas_int(lda), beta,
                c, blas_int(ldc));
  }
}

template <class T>
T dot(index_t n, const T* x, const T* y) {
  if constexpr (std::is_same_v<T, float>) {
    return cblas_sdot(blas_int(n), x, 1, y, 1);
  } else {
    return cblas_ddot(blas_int(n), x, 1, y, 1);
  }
}

template <class T>
T nrm2(index_t n, const T* x) {
  if constexpr (std::is_same_v<T, float>) {
    return cblas_snrm2(blas_int(n), x, 1);
  } else {
    return cblas_dnrm2(blas_int(n), x, 1);
  }
}

// y += alpha * x
template <class T>
void axpy(index_t n, T alpha, const T* x, T* y) {
  if constexpr (std::is_same_v<T, float>) {
    cblas_saxpy(blas_int(n), alpha, x, 1, y, 1);
  } else {
    cblas_daxpy(blas_int(n), alpha, x, 1, y, 1);
  }
}

template <class T>
void scal(index_t n, T alpha, T* x) {
  if constexpr (std::is_same_v<T, float>) {
    cblas_sscal(blas_int(n), alpha, x, 1);
  } else {
    cblas_dscal(blas_int(n), alpha, x, 1);
  }
}

// Makes a matrix filled in its upper triangle (as syrk leaves it) symmetric.
template <class T>
void mirror_upper(index_t n, T* c, index_t ldc) {
  for (index_t i = 0; i < n; ++i)
    for (index_t j = 0; j < i; ++j) c[i * ldc + j] = c[j * ldc + i];
}

}  // namespace cake::algorithms::detail
