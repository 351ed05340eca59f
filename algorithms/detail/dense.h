// detail/dense.h: typed, row-major wrappers over the few BLAS and LAPACK routines that the
// classical algorithms (k-means, Gaussian mixtures, PCA, t-SNE) call on raw buffers.
//
//   // C[m x n] = A[m x k] * B[n x k]^T, all row-major
//   detail::gemm<float>(false, true, m, n, k, 1.0f, A, k, B, k, 0.0f, C, n);
//
// Tensor-level linear algebra lives in tensor/linalg.h. These wrappers exist because the
// algorithms work on blocks of rows inside parallel regions, where making a Tensor per block
// would cost more than the arithmetic, and because they need a few LAPACK drivers (symmetric
// eigensolver, Cholesky, QR) on small matrices in a tight loop.
//
// NOTE [ BLAS inside parallel regions ]
// OpenBLAS (pthread build) starts its own threads for every call. When several OpenMP threads
// each call GEMM on their own block, those pools fight over the same cores and the whole loop
// runs 2x slower than one big call (measured on 2 cores). Code that calls BLAS from inside
// cake::parallel_for holds a BlasSingleThread guard for the duration of the loop.
//
// LAPACK is declared here with the Fortran calling convention: arguments by pointer, matrices
// column-major, and one hidden length argument per character argument (gfortran's ABI). A
// row-major matrix is its column-major transpose, which is how the wrappers below translate.
#pragma once

#include <cblas.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "tensor/error.h"

extern "C" {
void ssyevd_(const char* jobz, const char* uplo, const int* n, float* a, const int* lda, float* w, float* work,
             const int* lwork, int* iwork, const int* liwork, int* info, std::size_t, std::size_t);
void dsyevd_(const char* jobz, const char* uplo, const int* n, double* a, const int* lda, double* w, double* work,
             const int* lwork, int* iwork, const int* liwork, int* info, std::size_t, std::size_t);
void sgesdd_(const char* jobz, const int* m, const int* n, float* a, const int* lda, float* s, float* u,
             const int* ldu, float* vt, const int* ldvt, float* work, const int* lwork, int* iwork, int* info,
             std::size_t);
void dgesdd_(const char* jobz, const int* m, const int* n, double* a, const int* lda, double* s, double* u,
             const int* ldu, double* vt, const int* ldvt, double* work, const int* lwork, int* iwork, int* info,
             std::size_t);
void dpotrf_(const char* uplo, const int* n, double* a, const int* lda, int* info, std::size_t);
void dtrtri_(const char* uplo, const char* diag, const int* n, double* a, const int* lda, int* info, std::size_t,
             std::size_t);
void sgeqrf_(const int* m, const int* n, float* a, const int* lda, float* tau, float* work, const int* lwork,
             int* info);
void dgeqrf_(const int* m, const int* n, double* a, const int* lda, double* tau, double* work, const int* lwork,
             int* info);
void sorgqr_(const int* m, const int* n, const int* k, float* a, const int* lda, const float* tau, float* work,
             const int* lwork, int* info);
void dorgqr_(const int* m, const int* n, const int* k, double* a, const int* lda, const double* tau,
             double* work, const int* lwork, int* info);
void sgetrf_(const int* m, const int* n, float* a, const int* lda, int* ipiv, int* info);
void dgetrf_(const int* m, const int* n, double* a, const int* lda, int* ipiv, int* info);
}

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

// Eigen-decomposition of a symmetric n x n matrix (row-major, overwritten): eigenvalues in
// ascending order into w, and the matrix replaced by the eigenvectors as COLUMNS (row-major),
// i.e. a[i * n + j] is component i of eigenvector j. Divide and conquer (LAPACK ?syevd).
template <class T>
void symmetric_eigh(std::int64_t n, T* a, T* w) {
  if (n == 0) return;
  // Column-major view of a symmetric matrix is the same matrix; the eigenvector matrix LAPACK
  // writes column-major has eigenvectors in columns, which row-major reads as rows: transpose.
  const int nn = blas_int(n);
  const char jobz = 'V', uplo = 'L';
  int info = 0, lwork = -1, liwork = -1, iwork_query = 0;
  T work_query = 0;
  if constexpr (std::is_same_v<T, float>)
    ssyevd_(&jobz, &uplo, &nn, a, &nn, w, &work_query, &lwork, &iwork_query, &liwork, &info, 1, 1);
  else
    dsyevd_(&jobz, &uplo, &nn, a, &nn, w, &work_query, &lwork, &iwork_query, &liwork, &info, 1, 1);
  lwork = static_cast<int>(work_query) + 1;
  liwork = iwork_query;
  std::vector<T> work(static_cast<std::size_t>(lwork));
  std::vector<int> iwork(static_cast<std::size_t>(std::max(1, liwork)));
  if constexpr (std::is_same_v<T, float>)
    ssyevd_(&jobz, &uplo, &nn, a, &nn, w, work.data(), &lwork, iwork.data(), &liwork, &info, 1, 1);
  else
    dsyevd_(&jobz, &uplo, &nn, a, &nn, w, work.data(), &lwork, iwork.data(), &liwork, &info, 1, 1);
  CAKE_CHECK(info == 0, "symmetric eigendecomposition (LAPACK ?syevd) of a ", n, "x", n,
             " matrix failed to converge (info ", info, ")");
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = 0; j < i; ++j) std::swap(a[i * n + j], a[j * n + i]);
}

// Thin SVD of a row-major m x n matrix (overwritten): A = U diag(s) Vt with U [m x r],
// s [r] descending, Vt [r x n], r = min(m, n). Divide and conquer (LAPACK ?gesdd).
template <class T>
void thin_svd(std::int64_t m, std::int64_t n, T* a, T* u, T* s, T* vt) {
  const std::int64_t r = std::min(m, n);
  if (r == 0) return;
  // Row-major A (m x n) is column-major A^T (n x m) = V S U^T: LAPACK's "U" is our V^T's
  // transpose... concretely, gesdd on A^T returns U' = V (n x r, column-major) which row-major
  // reads as V^T (r x n), and VT' = U^T (r x m, column-major) which row-major reads as U (m x r).
  const int mm = blas_int(n), nn = blas_int(m), rr = blas_int(r);
  const char jobz = 'S';
  int info = 0, lwork = -1;
  T work_query = 0;
  std::vector<int> iwork(static_cast<std::size_t>(8 * r));
  if constexpr (std::is_same_v<T, float>)
    sgesdd_(&jobz, &mm, &nn, a, &mm, s, vt, &mm, u, &rr, &work_query, &lwork, iwork.data(), &info, 1);
  else
    dgesdd_(&jobz, &mm, &nn, a, &mm, s, vt, &mm, u, &rr, &work_query, &lwork, iwork.data(), &info, 1);
  lwork = static_cast<int>(work_query) + 1;
  std::vector<T> work(static_cast<std::size_t>(lwork));
  if constexpr (std::is_same_v<T, float>)
    sgesdd_(&jobz, &mm, &nn, a, &mm, s, vt, &mm, u, &rr, work.data(), &lwork, iwork.data(), &info, 1);
  else
    dgesdd_(&jobz, &mm, &nn, a, &mm, s, vt, &mm, u, &rr, work.data(), &lwork, iwork.data(), &info, 1);
  CAKE_CHECK(info == 0, "SVD (LAPACK ?gesdd) of a ", m, "x", n, " matrix failed to converge (info ", info, ")");
}

// Lower Cholesky factor L (A = L L^T) of a symmetric positive definite n x n row-major matrix,
// in place; the strictly upper triangle is zeroed. Returns false when A is not positive
// definite (the caller words the error for its own context).
inline bool cholesky_lower(std::int64_t n, double* a) {
  if (n == 0) return true;
  // Row-major lower L is column-major upper U = L^T with A = U^T U.
  const int nn = blas_int(n);
  const char uplo = 'U';
  int info = 0;
  dpotrf_(&uplo, &nn, a, &nn, &info, 1);
  if (info != 0) return false;
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = i + 1; j < n; ++j) a[i * n + j] = 0.0;
  return true;
}

// Inverse of a lower-triangular n x n row-major matrix, in place.
inline void invert_lower_triangular(std::int64_t n, double* a) {
  if (n == 0) return;
  const int nn = blas_int(n);
  const char uplo = 'U', diag = 'N';  // row-major lower is column-major upper
  int info = 0;
  dtrtri_(&uplo, &diag, &nn, a, &nn, &info, 1, 1);
  CAKE_CHECK(info == 0, "inverting a ", n, "x", n, " triangular matrix: it is singular (zero at diagonal ", info, ")");
}

// Orthonormal basis Q [m x n] (m >= n) of the columns of a row-major m x n matrix, in place
// (Householder QR, LAPACK ?geqrf + ?orgqr).
template <class T>
void orthonormalize_columns(std::int64_t m, std::int64_t n, T* a) {
  CAKE_CHECK(m >= n, "QR: expected at least as many rows as columns, got ", m, "x", n);
  if (n == 0) return;
  // LAPACK wants column-major: transpose into a scratch buffer and back.
  std::vector<T> col(static_cast<std::size_t>(m * n));
  for (std::int64_t i = 0; i < m; ++i)
    for (std::int64_t j = 0; j < n; ++j) col[static_cast<std::size_t>(j * m + i)] = a[i * n + j];
  const int mm = blas_int(m), nn = blas_int(n);
  std::vector<T> tau(static_cast<std::size_t>(n));
  int info = 0, lwork = -1;
  T query = 0;
  if constexpr (std::is_same_v<T, float>)
    sgeqrf_(&mm, &nn, col.data(), &mm, tau.data(), &query, &lwork, &info);
  else
    dgeqrf_(&mm, &nn, col.data(), &mm, tau.data(), &query, &lwork, &info);
  lwork = static_cast<int>(query) + 1;
  std::vector<T> work(static_cast<std::size_t>(lwork));
  if constexpr (std::is_same_v<T, float>) {
    sgeqrf_(&mm, &nn, col.data(), &mm, tau.data(), work.data(), &lwork, &info);
    lwork = -1;
    sorgqr_(&mm, &nn, &nn, col.data(), &mm, tau.data(), &query, &lwork, &info);
    lwork = static_cast<int>(query) + 1;
    work.resize(static_cast<std::size_t>(lwork));
    sorgqr_(&mm, &nn, &nn, col.data(), &mm, tau.data(), work.data(), &lwork, &info);
  } else {
    dgeqrf_(&mm, &nn, col.data(), &mm, tau.data(), work.data(), &lwork, &info);
    lwork = -1;
    dorgqr_(&mm, &nn, &nn, col.data(), &mm, tau.data(), &query, &lwork, &info);
    lwork = static_cast<int>(query) + 1;
    work.resize(static_cast<std::size_t>(lwork));
    dorgqr_(&mm, &nn, &nn, col.data(), &mm, tau.data(), work.data(), &lwork, &info);
  }
  CAKE_CHECK(info == 0, "QR (LAPACK ?geqrf/?orgqr) of a ", m, "x", n, " matrix failed (info ", info, ")");
  for (std::int64_t i = 0; i < m; ++i)
    for (std::int64_t j = 0; j < n; ++j) a[i * n + j] = col[static_cast<std::size_t>(j * m + i)];
}

// The "permuted L" of an LU factorisation P A = L U of a row-major m x n matrix (m >= n), in
// place: A becomes P^T L, which spans the same column space as A and is well conditioned. This
// is scipy.linalg.lu(A, permute_l=True)[0], the cheap normaliser of randomized power iterations
// (Halko et al. 2011, section 4.5; scikit-learn's power_iteration_normalizer="LU").
template <class T>
void permuted_lower_of_lu(std::int64_t m, std::int64_t n, T* a) {
  CAKE_CHECK(m >= n, "LU: expected at least as many rows as columns, got ", m, "x", n);
  if (n == 0) return;
  std::vector<T> col(static_cast<std::size_t>(m * n));
  for (std::int64_t i = 0; i < m; ++i)
    for (std::int64_t j = 0; j < n; ++j) col[static_cast<std::size_t>(j * m + i)] = a[i * n + j];
  const int mm = blas_int(m), nn = blas_int(n);
  std::vector<int> ipiv(static_cast<std::size_t>(n));
  int info = 0;
  if constexpr (std::is_same_v<T, float>)
    sgetrf_(&mm, &nn, col.data(), &mm, ipiv.data(), &info);
  else
    dgetrf_(&mm, &nn, col.data(), &mm, ipiv.data(), &info);
  CAKE_CHECK(info >= 0, "LU (LAPACK ?getrf) of a ", m, "x", n, " matrix: bad argument ", -info);
  // L: unit diagonal, below-diagonal entries from the factor, zero above.
  std::vector<T> lower(static_cast<std::size_t>(m * n));
  for (std::int64_t i = 0; i < m; ++i)
    for (std::int64_t j = 0; j < n; ++j) {
      const T v = i > j ? col[static_cast<std::size_t>(j * m + i)] : (i == j ? T(1) : T(0));
      lower[static_cast<std::size_t>(i * n + j)] = v;
    }
  // The row interchanges were applied in order i = 0..n-1 (row i swapped with ipiv[i] - 1), so
  // P^T L undoes them in reverse order.
  for (std::int64_t i = n - 1; i >= 0; --i) {
    const std::int64_t p = ipiv[static_cast<std::size_t>(i)] - 1;
    if (p != i)
      std::swap_ranges(lower.begin() + i * n, lower.begin() + (i + 1) * n, lower.begin() + p * n);
  }
  std::copy(lower.begin(), lower.end(), a);
}

}  // namespace cake::algorithms::detail
