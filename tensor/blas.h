// blas.h: the dense BLAS routines Cake's CPU algorithms call on raw row-major buffers (GEMM,
// SYRK, GEMV and the level-1 dot/nrm2/axpy/scal), and the guard that keeps BLAS
// single-threaded inside parallel loops.
//
//   // C[m x n] = A[m x k] * B[n x k]^T, all row-major float32
//   cake::blas::gemm<float>(false, true, m, n, k, 1.0f, A, k, B, k, 0.0f, C, n);
//
// This header is the one seam between the numerical code above tensor/ (algorithms/, tools/)
// and a BLAS library: nothing outside tensor/ includes <cblas.h> or a backend header
// (tensor/cpu/...). Today every routine runs OpenBLAS on host memory (blas.cpp); a CUDA
// backend would serve the same declarations from cuBLAS for device buffers, without touching
// the callers. Whole-matrix products on tensors are cake::native::matmul/addmm
// (tensor/native/linalg.h); decompositions are cake::linalg (tensor/linalg.h).
//
// Why raw pointers at all: k-means, the Gaussian mixture's E-step and PCA's covariance work on
// blocks of rows inside parallel regions, where a Tensor per block and OpenBLAS's own threads
// would both cost more than the arithmetic; FastICA's deflation, the Lanczos solver and sparse
// coding work one vector at a time (a column of W, a Krylov vector, an atom).
//
// Conventions: every matrix is row-major with an explicit leading dimension (elements between
// consecutive rows); T is float or double (other types do not link); sizes are int64 and are
// checked to fit BLAS's 32-bit integers (a cake::Error otherwise).
//
// NOTE [ BLAS inside parallel regions ]
// OpenBLAS comes in two threaded builds. The pthread build keeps a pool of its own threads that
// spin between calls, so when several OpenMP threads each call GEMM on their own block, the
// two pools fight over the same cores and the whole loop runs 2x slower than one big call
// (measured on 2 cores). Code that calls BLAS from inside cake::parallel_for holds a
// SingleThreaded guard for the duration of the loop. The OpenMP build shares Cake's one
// OpenMP pool and runs one thread inside a parallel region by itself; there the guard does
// nothing (setting its count would set OpenMP's too). Cake links the OpenMP build where it is
// installed (cmake/CakeDependencies.cmake); threading() says which one is loaded.
#pragma once

#include <cstdint>
#include <string>

namespace cake::blas {

// See NOTE [ BLAS inside parallel regions ]: BLAS runs single-threaded while this lives.
// Guards nest (an inner one finds one thread already and changes nothing).
class SingleThreaded {
 public:
  SingleThreaded();
  ~SingleThreaded();
  SingleThreaded(const SingleThreaded&) = delete;
  SingleThreaded& operator=(const SingleThreaded&) = delete;

 private:
  int saved_;
};

// How the loaded OpenBLAS runs its threads: "openmp" (in Cake's own OpenMP pool), "pthreads"
// (a pool of its own) or "sequential".
std::string threading();

// C[m x n] = alpha * op(A) * op(B) + beta * C; op(A) is m x k, op(B) is k x n (op(X) = X^T
// when the flag is set, so A is stored k x m when trans_a). With beta == 0, C is not read.
template <class T>
void gemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, T alpha, const T* a,
          std::int64_t lda, const T* b, std::int64_t ldb, T beta, T* c, std::int64_t ldc);

// C[n x n] = alpha * A^T A + beta * C for A[k x n] (SYRK). BLAS writes the upper triangle;
// with fill_both the lower one is mirrored from it, else left as it was.
template <class T>
void gram(std::int64_t n, std::int64_t k, T alpha, const T* a, std::int64_t lda, T beta, T* c, std::int64_t ldc,
          bool fill_both = true);

// y = alpha * op(A) x + beta * y for A [m x n] (op(A) = A^T when trans: y has n entries).
template <class T>
void gemv(bool trans, std::int64_t m, std::int64_t n, T alpha, const T* a, std::int64_t lda, const T* x, T beta, T* y);

// x . y for two contiguous vectors of n elements.
template <class T>
T dot(std::int64_t n, const T* x, const T* y);

// |x|_2, computed without overflow (BLAS scales as it goes).
template <class T>
T nrm2(std::int64_t n, const T* x);

// y += alpha * x
template <class T>
void axpy(std::int64_t n, T alpha, const T* x, T* y);

// x *= alpha
template <class T>
void scal(std::int64_t n, T alpha, T* x);

}  // namespace cake::blas
