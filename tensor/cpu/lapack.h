// cpu/lapack.h: the LAPACK routines Cake calls, declared by hand, with one C++ overload per
// precision so that code above is written once as a template. Internal to tensor/linalg.cpp:
// everything above tensor/ reaches LAPACK through tensor/linalg.h.
//
//   int info = 0;
//   cake::lapack::potrf('U', n, a, n, info);     // spotrf_ for float*, dpotrf_ for double*
//
// NOTE [ Calling Fortran LAPACK from C++ ]
// OpenBLAS exports the Fortran LAPACK interface (nm -D libopenblas.so | grep ssyevd_) but no
// C header for it, so the prototypes are below. The rules of that interface:
//  * every argument is passed by pointer; integers are 32-bit (Debian's libopenblas; the
//    64-bit-integer build is the separate libopenblas64);
//  * matrices are column-major: element (i, j) of a matrix with leading dimension lda sits at
//    a[i + j * lda]. A row-major buffer read column-major is the transpose; tensor/linalg.cpp
//    uses that to avoid most copies (see the notes there);
//  * gfortran appends one hidden length argument per CHARACTER argument, after all the others.
//    We pass them (always 1): leaving them out is undefined behaviour that gfortran's
//    sibling-call optimisation has broken in practice (R and LAPACK, 2019). Routines that
//    OpenBLAS implements in C ignore the extra arguments, which the C calling convention allows.
#pragma once

#include <cstddef>

extern "C" {
// Symmetric eigendecomposition, divide and conquer.
void ssyevd_(const char* jobz, const char* uplo, const int* n, float* a, const int* lda, float* w, float* work,
             const int* lwork, int* iwork, const int* liwork, int* info, std::size_t, std::size_t);
void dsyevd_(const char* jobz, const char* uplo, const int* n, double* a, const int* lda, double* w, double* work,
             const int* lwork, int* iwork, const int* liwork, int* info, std::size_t, std::size_t);
// Singular value decomposition, divide and conquer.
void sgesdd_(const char* jobz, const int* m, const int* n, float* a, const int* lda, float* s, float* u,
             const int* ldu, float* vt, const int* ldvt, float* work, const int* lwork, int* iwork, int* info,
             std::size_t);
void dgesdd_(const char* jobz, const int* m, const int* n, double* a, const int* lda, double* s, double* u,
             const int* ldu, double* vt, const int* ldvt, double* work, const int* lwork, int* iwork, int* info,
             std::size_t);
// Cholesky factorisation.
void spotrf_(const char* uplo, const int* n, float* a, const int* lda, int* info, std::size_t);
void dpotrf_(const char* uplo, const int* n, double* a, const int* lda, int* info, std::size_t);
// LU factorisation with partial pivoting, and the linear solve built on it.
void sgetrf_(const int* m, const int* n, float* a, const int* lda, int* ipiv, int* info);
void dgetrf_(const int* m, const int* n, double* a, const int* lda, int* ipiv, int* info);
void sgesv_(const int* n, const int* nrhs, float* a, const int* lda, int* ipiv, float* b, const int* ldb, int* info);
void dgesv_(const int* n, const int* nrhs, double* a, const int* lda, int* ipiv, double* b, const int* ldb, int* info);
// Householder QR, and the explicit Q from its reflectors.
void sgeqrf_(const int* m, const int* n, float* a, const int* lda, float* tau, float* work, const int* lwork, int* info);
void dgeqrf_(const int* m, const int* n, double* a, const int* lda, double* tau, double* work, const int* lwork,
             int* info);
void sorgqr_(const int* m, const int* n, const int* k, float* a, const int* lda, const float* tau, float* work,
             const int* lwork, int* info);
void dorgqr_(const int* m, const int* n, const int* k, double* a, const int* lda, const double* tau, double* work,
             const int* lwork, int* info);
// Householder QR with column pivoting (the pivot order ranks the columns by independence).
void sgeqp3_(const int* m, const int* n, float* a, const int* lda, int* jpvt, float* tau, float* work,
             const int* lwork, int* info);
void dgeqp3_(const int* m, const int* n, double* a, const int* lda, int* jpvt, double* tau, double* work,
             const int* lwork, int* info);
}

namespace cake::lapack {

inline void syevd(char jobz, char uplo, int n, float* a, int lda, float* w, float* work, int lwork, int* iwork,
                  int liwork, int& info) {
  ssyevd_(&jobz, &uplo, &n, a, &lda, w, work, &lwork, iwork, &liwork, &info, 1, 1);
}
inline void syevd(char jobz, char uplo, int n, double* a, int lda, double* w, double* work, int lwork, int* iwork,
                  int liwork, int& info) {
  dsyevd_(&jobz, &uplo, &n, a, &lda, w, work, &lwork, iwork, &liwork, &info, 1, 1);
}

inline void gesdd(char jobz, int m, int n, float* a, int lda, float* s, float* u, int ldu, float* vt, int ldvt,
                  float* work, int lwork, int* iwork, int& info) {
  sgesdd_(&jobz, &m, &n, a, &lda, s, u, &ldu, vt, &ldvt, work, &lwork, iwork, &info, 1);
}
inline void gesdd(char jobz, int m, int n, double* a, int lda, double* s, double* u, int ldu, double* vt, int ldvt,
                  double* work, int lwork, int* iwork, int& info) {
  dgesdd_(&jobz, &m, &n, a, &lda, s, u, &ldu, vt, &ldvt, work, &lwork, iwork, &info, 1);
}

inline void potrf(char uplo, int n, float* a, int lda, int& info) { spotrf_(&uplo, &n, a, &lda, &info, 1); }
inline void potrf(char uplo, int n, double* a, int lda, int& info) { dpotrf_(&uplo, &n, a, &lda, &info, 1); }

inline void getrf(int m, int n, float* a, int lda, int* ipiv, int& info) { sgetrf_(&m, &n, a, &lda, ipiv, &info); }
inline void getrf(int m, int n, double* a, int lda, int* ipiv, int& info) { dgetrf_(&m, &n, a, &lda, ipiv, &info); }

inline void gesv(int n, int nrhs, float* a, int lda, int* ipiv, float* b, int ldb, int& info) {
  sgesv_(&n, &nrhs, a, &lda, ipiv, b, &ldb, &info);
}
inline void gesv(int n, int nrhs, double* a, int lda, int* ipiv, double* b, int ldb, int& info) {
  dgesv_(&n, &nrhs, a, &lda, ipiv, b, &ldb, &info);
}

inline void geqrf(int m, int n, float* a, int lda, float* tau, float* work, int lwork, int& info) {
  sgeqrf_(&m, &n, a, &lda, tau, work, &lwork, &info);
}
inline void geqrf(int m, int n, double* a, int lda, double* tau, double* work, int lwork, int& info) {
  dgeqrf_(&m, &n, a, &lda, tau, work, &lwork, &info);
}

inline void orgqr(int m, int n, int k, float* a, int lda, const float* tau, float* work, int lwork, int& info) {
  sorgqr_(&m, &n, &k, a, &lda, tau, work, &lwork, &info);
}
inline void orgqr(int m, int n, int k, double* a, int lda, const double* tau, double* work, int lwork, int& info) {
  dorgqr_(&m, &n, &k, a, &lda, tau, work, &lwork, &info);
}


inline void geqp3(int m, int n, float* a, int lda, int* jpvt, float* tau, float* work, int lwork, int& info) {
  sgeqp3_(&m, &n, a, &lda, jpvt, tau, work, &lwork, &info);
}
inline void geqp3(int m, int n, double* a, int lda, int* jpvt, double* tau, double* work, int lwork, int& info) {
  dgeqp3_(&m, &n, a, &lda, jpvt, tau, work, &lwork, &info);
}

}  // namespace cake::lapack
