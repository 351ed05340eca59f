// blas.cpp: tensor/blas.h on OpenBLAS (row-major CBLAS), one explicit instantiation per precision.
#include "cake/tensor/blas.h"

#include <cblas.h>

#include <type_traits>

#include "cake/tensor/error.h"

namespace cake::blas {
namespace {

int blas_int(std::int64_t n) {
  CAKE_CHECK(n >= 0 && n <= 2147483647, "BLAS: dimension ", n, " does not fit a 32-bit integer");
  return static_cast<int>(n);
}

CBLAS_TRANSPOSE op(bool trans) { return trans ? CblasTrans : CblasNoTrans; }

}  // namespace

// openblas_get_parallel(): 0 sequential, 1 pthreads, 2 OpenMP (OpenBLAS's common.h).
constexpr int kOpenMPBuild = 2;

std::string threading() {
  switch (openblas_get_parallel()) {
    case 0: return "sequential";
    case 1: return "pthreads";
    default: return "openmp";
  }
}

// NOTE [ BLAS inside parallel regions ]: the OpenMP build needs no guard, and its
// openblas_set_num_threads(1) would also set OpenMP's count, serialising the loop it guards.
SingleThreaded::SingleThreaded() : saved_(openblas_get_parallel() == kOpenMPBuild ? 1 : openblas_get_num_threads()) {
  if (saved_ != 1) openblas_set_num_threads(1);
}
SingleThreaded::~SingleThreaded() {
  if (saved_ != 1) openblas_set_num_threads(saved_);
}

template <class T>
void gemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, T alpha, const T* a,
          std::int64_t lda, const T* b, std::int64_t ldb, T beta, T* c, std::int64_t ldc) {
  if (m == 0 || n == 0) return;
  if constexpr (std::is_same_v<T, float>) {
    cblas_sgemm(CblasRowMajor, op(trans_a), op(trans_b), blas_int(m), blas_int(n), blas_int(k), alpha, a,
                blas_int(lda), b, blas_int(ldb), beta, c, blas_int(ldc));
  } else {
    cblas_dgemm(CblasRowMajor, op(trans_a), op(trans_b), blas_int(m), blas_int(n), blas_int(k), alpha, a,
                blas_int(lda), b, blas_int(ldb), beta, c, blas_int(ldc));
  }
}

template <class T>
void gram(std::int64_t n, std::int64_t k, T alpha, const T* a, std::int64_t lda, T beta, T* c, std::int64_t ldc,
          bool fill_both) {
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

template <class T>
void gemv(bool trans, std::int64_t m, std::int64_t n, T alpha, const T* a, std::int64_t lda, const T* x, T beta,
          T* y) {
  if (m == 0 || n == 0) return;
  if constexpr (std::is_same_v<T, float>) {
    cblas_sgemv(CblasRowMajor, op(trans), blas_int(m), blas_int(n), alpha, a, blas_int(lda), x, 1, beta, y, 1);
  } else {
    cblas_dgemv(CblasRowMajor, op(trans), blas_int(m), blas_int(n), alpha, a, blas_int(lda), x, 1, beta, y, 1);
  }
}

template <class T>
T dot(std::int64_t n, const T* x, const T* y) {
  if constexpr (std::is_same_v<T, float>) return cblas_sdot(blas_int(n), x, 1, y, 1);
  else return cblas_ddot(blas_int(n), x, 1, y, 1);
}

template <class T>
T nrm2(std::int64_t n, const T* x) {
  if constexpr (std::is_same_v<T, float>) return cblas_snrm2(blas_int(n), x, 1);
  else return cblas_dnrm2(blas_int(n), x, 1);
}

template <class T>
void axpy(std::int64_t n, T alpha, const T* x, T* y) {
  if constexpr (std::is_same_v<T, float>) cblas_saxpy(blas_int(n), alpha, x, 1, y, 1);
  else cblas_daxpy(blas_int(n), alpha, x, 1, y, 1);
}

template <class T>
void scal(std::int64_t n, T alpha, T* x) {
  if constexpr (std::is_same_v<T, float>) cblas_sscal(blas_int(n), alpha, x, 1);
  else cblas_dscal(blas_int(n), alpha, x, 1);
}

#define CAKE_BLAS_INSTANTIATE(T)                                                                                  \
  template void gemm<T>(bool, bool, std::int64_t, std::int64_t, std::int64_t, T, const T*, std::int64_t, const T*, \
                        std::int64_t, T, T*, std::int64_t);                                                      \
  template void gram<T>(std::int64_t, std::int64_t, T, const T*, std::int64_t, T, T*, std::int64_t, bool);        \
  template void gemv<T>(bool, std::int64_t, std::int64_t, T, const T*, std::int64_t, const T*, T, T*);            \
  template T dot<T>(std::int64_t, const T*, const T*);                                                           \
  template T nrm2<T>(std::int64_t, const T*);                                                                    \
  template void axpy<T>(std::int64_t, T, const T*, T*);                                                          \
  template void scal<T>(std::int64_t, T, T*);
CAKE_BLAS_INSTANTIATE(float)
CAKE_BLAS_INSTANTIATE(double)
#undef CAKE_BLAS_INSTANTIATE

}  // namespace cake::blas
