// LAPACK's Fortran routines on row-major buffers. A row-major [m, n] buffer is the column-major
// [n, m] transpose, so every call below says which transpose it is working on.
#include "algorithms/detail/lapack.h"

#include <algorithm>
#include <memory>
#include <type_traits>

#include "tensor/creation.h"
#include "tensor/error.h"

extern "C" {
void ssyevd_(const char* jobz, const char* uplo, const int* n, float* a, const int* lda, float* w, float* work,
             const int* lwork, int* iwork, const int* liwork, int* info);
void dsyevd_(const char* jobz, const char* uplo, const int* n, double* a, const int* lda, double* w, double* work,
             const int* lwork, int* iwork, const int* liwork, int* info);
void sgesdd_(const char* jobz, const int* m, const int* n, float* a, const int* lda, float* s, float* u, const int* ldu,
             float* vt, const int* ldvt, float* work, const int* lwork, int* iwork, int* info);
void dgesdd_(const char* jobz, const int* m, const int* n, double* a, const int* lda, double* s, double* u,
             const int* ldu, double* vt, const int* ldvt, double* work, const int* lwork, int* iwork, int* info);
void sgelqf_(const int* m, const int* n, float* a, const int* lda, float* tau, float* work, const int* lwork, int* info);
void dgelqf_(const int* m, const int* n, double* a, const int* lda, double* tau, double* work, const int* lwork,
             int* info);
void sorglq_(const int* m, const int* n, const int* k, float* a, const int* lda, const float* tau, float* work,
             const int* lwork, int* info);
void dorglq_(const int* m, const int* n, const int* k, double* a, const int* lda, const double* tau, double* work,
             const int* lwork, int* info);
void sgeqp3_(const int* m, const int* n, float* a, const int* lda, int* jpvt, float* tau, float* work,
             const int* lwork, int* info);
void dgeqp3_(const int* m, const int* n, double* a, const int* lda, int* jpvt, double* tau, double* work,
             const int* lwork, int* info);
}

namespace cake::algorithms::detail {
namespace {

void check_matrix(const Tensor& a, const char* op) {
  CAKE_CHECK(a.defined() && a.dim() == 2, op, ": expected a matrix, got shape ", a.defined() ? a.sizes() : Shape{});
  CAKE_CHECK(a.is_cpu(), op, ": expected a CPU tensor, got ", a.device());
  CAKE_CHECK(a.is_floating_point(), op, ": expected float32 or float64, got ", dtype_name(a.dtype()));
}

void check_info(int info, const char* routine) {
  CAKE_CHECK(info == 0, "LAPACK ", routine, " failed with info = ", info,
             info > 0 ? " (the algorithm did not converge)" : " (an argument was invalid)");
}

// LAPACK workspace: uninitialised (it is written before it is read), often megabytes.
template <class T>
std::unique_ptr<T[]> workspace(int count) {
  return std::make_unique_for_overwrite<T[]>(static_cast<std::size_t>(std::max(count, 1)));
}

template <class T>
void syevd(int n, T* a, T* w) {
  const char jobz = 'V', uplo = 'L';
  int info = 0, lwork = -1, liwork = -1, iwork_query = 0;
  T work_query = 0;
  auto call = [&](T* work, int* iwork) {
    if constexpr (std::is_same_v<T, float>) {
      ssyevd_(&jobz, &uplo, &n, a, &n, w, work, &lwork, iwork, &liwork, &info);
    } else {
      dsyevd_(&jobz, &uplo, &n, a, &n, w, work, &lwork, iwork, &liwork, &info);
    }
  };
  call(&work_query, &iwork_query);
  check_info(info, "syevd (workspace query)");
  lwork = static_cast<int>(work_query) + 1;
  liwork = iwork_query;
  auto work = workspace<T>(lwork);
  std::vector<int> iwork(static_cast<std::size_t>(std::max(1, liwork)));
  call(work.get(), iwork.data());
  check_info(info, "syevd");
}

// gesdd on the column-major matrix A^T [n, m] (our row-major [m, n] buffer). With A^T = U' S V'^T
// we have A = V' S U'^T, so LAPACK's "U" is our Vh and its "VT" is our U, already row-major.
template <class T>
void gesdd_thin(int m, int n, T* a, T* s, T* u, T* vh) {
  const char jobz = 'S';
  const int k = std::min(m, n);
  const int col_m = n, col_n = m;  // the column-major problem
  int info = 0, lwork = -1;
  T work_query = 0;
  std::vector<int> iwork(static_cast<std::size_t>(8 * k));
  auto call = [&](T* work) {
    if constexpr (std::is_same_v<T, float>) {
      sgesdd_(&jobz, &col_m, &col_n, a, &col_m, s, vh, &col_m, u, &k, work, &lwork, iwork.data(), &info);
    } else {
      dgesdd_(&jobz, &col_m, &col_n, a, &col_m, s, vh, &col_m, u, &k, work, &lwork, iwork.data(), &info);
    }
  };
  call(&work_query);
  check_info(info, "gesdd (workspace query)");
  lwork = static_cast<int>(work_query) + 1;
  auto work = workspace<T>(lwork);
  call(work.get());
  check_info(info, "gesdd");
}

// R [n, n] (row-major, upper) from the L that gelqf leaves in the column-major [n, m] buffer:
// L's entry (i, j), i >= j, sits at a[i + j * n], and R = L^T.
template <class T>
void extract_r(const T* a, int n, T* r) {
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) r[i * n + j] = (j >= i) ? a[j + i * n] : T(0);
}

// The R factor alone of X = Q R for the row-major [m, n] buffer (m >= n), destroying it.
template <class T>
void r_factor(int m, int n, T* a, T* r) {
  const int col_m = n, col_n = m;
  int info = 0, lwork = -1;
  std::vector<T> tau(static_cast<std::size_t>(n));
  T work_query = 0;
  auto lqf = [&](T* work) {
    if constexpr (std::is_same_v<T, float>) {
      sgelqf_(&col_m, &col_n, a, &col_m, tau.data(), work, &lwork, &info);
    } else {
      dgelqf_(&col_m, &col_n, a, &col_m, tau.data(), work, &lwork, &info);
    }
  };
  lqf(&work_query);
  check_info(info, "gelqf (workspace query)");
  lwork = static_cast<int>(work_query) + 1;
  auto work = workspace<T>(lwork);
  lqf(work.get());
  check_info(info, "gelqf");
  extract_r(a, n, r);
}

// Thin Q of the row-major [m, n] buffer, m >= n: the column-major view is A^T [n, m], whose LQ
// factorisation A^T = L Q' gives A = Q'^T L^T; Q' [n, m] column-major is Q [m, n] row-major.
template <class T>
void orthonormalize_columns(int m, int n, T* a, T* r) {
  const int col_m = n, col_n = m;
  int info = 0, lwork = -1;
  std::vector<T> tau(static_cast<std::size_t>(n));
  T work_query = 0;
  auto lqf = [&](T* work) {
    if constexpr (std::is_same_v<T, float>) {
      sgelqf_(&col_m, &col_n, a, &col_m, tau.data(), work, &lwork, &info);
    } else {
      dgelqf_(&col_m, &col_n, a, &col_m, tau.data(), work, &lwork, &info);
    }
  };
  lqf(&work_query);
  check_info(info, "gelqf (workspace query)");
  lwork = std::max(static_cast<int>(work_query) + 1, m);
  auto work = workspace<T>(lwork);
  lqf(work.get());
  check_info(info, "gelqf");
  extract_r(a, n, r);
  if constexpr (std::is_same_v<T, float>) {
    sorglq_(&col_m, &col_n, &col_m, a, &col_m, tau.data(), work.get(), &lwork, &info);
  } else {
    dorglq_(&col_m, &col_n, &col_m, a, &col_m, tau.data(), work.get(), &lwork, &info);
  }
  check_info(info, "orglq");
}

}  // namespace

std::pair<Tensor, Tensor> eigh(const Tensor& a) {
  check_matrix(a, "eigh");
  CAKE_CHECK(a.size(0) == a.size(1), "eigh: expected a square matrix, got shape ", a.sizes());
  const std::int64_t n = a.size(0);
  Tensor vectors = a.contiguous().clone();
  Tensor w = empty({n}, a.dtype());
  if (n == 0) return {w, vectors};
  visit_floating(a.dtype(), "eigh", [&]<class T>() {
    // The buffer is symmetric, so row- and column-major agree on input; on output the
    // column-major eigenvector columns are our rows: transpose to return them as columns.
    syevd<T>(static_cast<int>(n), vectors.data_ptr<T>(), w.data_ptr<T>());
  });
  return {w, vectors.t().contiguous()};
}

std::tuple<Tensor, Tensor, Tensor> svd(const Tensor& x) {
  check_matrix(x, "svd");
  const std::int64_t m = x.size(0), n = x.size(1), k = std::min(m, n);
  Tensor work = x.contiguous().clone();
  Tensor u = empty({m, k}, x.dtype()), s = empty({k}, x.dtype()), vh = empty({k, n}, x.dtype());
  if (k == 0) return {u, s, vh};
  visit_floating(x.dtype(), "svd", [&]<class T>() {
    gesdd_thin<T>(static_cast<int>(m), static_cast<int>(n), work.data_ptr<T>(), s.data_ptr<T>(), u.data_ptr<T>(),
                  vh.data_ptr<T>());
  });
  return {u, s, vh};
}

std::pair<Tensor, Tensor> qr(const Tensor& x) {
  check_matrix(x, "qr");
  const std::int64_t m = x.size(0), n = x.size(1);
  CAKE_CHECK(m >= n, "qr: expected at least as many rows as columns, got shape ", x.sizes());
  Tensor q = x.contiguous().clone();
  Tensor r = empty({n, n}, x.dtype());
  if (n == 0) return {q, r};
  visit_floating(x.dtype(), "qr", [&]<class T>() {
    orthonormalize_columns<T>(static_cast<int>(m), static_cast<int>(n), q.data_ptr<T>(), r.data_ptr<T>());
  });
  return {q, r};
}

std::pair<Tensor, Tensor> singular_values_and_right_vectors(const Tensor& x, bool overwrite_input) {
  check_matrix(x, "singular_values_and_right_vectors");
  const std::int64_t m = x.size(0), n = x.size(1);
  if (m < 2 * n) {  // not tall enough for the QR step to pay
    auto [u, s, vh] = svd(x);
    return {s, vh};
  }
  Tensor work = overwrite_input && x.is_contiguous() ? x : x.contiguous().clone();
  Tensor r = empty({n, n}, x.dtype());
  visit_floating(x.dtype(), "singular_values_and_right_vectors", [&]<class T>() {
    r_factor<T>(static_cast<int>(m), static_cast<int>(n), work.data_ptr<T>(), r.data_ptr<T>());
  });
  work = Tensor();
  auto [u, s, vh] = svd(r);  // X = Q R = (Q U_R) S Vh: the same S and Vh
  return {s, vh};
}

std::vector<std::int64_t> pivoted_qr_order(const Tensor& x) {
  check_matrix(x, "pivoted_qr_order");
  const int rows = static_cast<int>(x.size(0)), k = static_cast<int>(x.size(1));
  std::vector<int> pivots(static_cast<std::size_t>(rows), 0);  // 0: a free column
  if (rows > 0 && k > 0) {
    Tensor work = x.contiguous().clone();
    visit_floating(x.dtype(), "pivoted_qr_order", [&]<class T>() {
      // The row-major [rows, k] buffer is X^T column-major [k, rows]: pivoting its columns
      // orders our rows.
      std::vector<T> tau(static_cast<std::size_t>(std::min(rows, k)));
      int info = 0, lwork = -1;
      T work_query = 0;
      auto call = [&](T* w) {
        if constexpr (std::is_same_v<T, float>) {
          sgeqp3_(&k, &rows, work.data_ptr<T>(), &k, pivots.data(), tau.data(), w, &lwork, &info);
        } else {
          dgeqp3_(&k, &rows, work.data_ptr<T>(), &k, pivots.data(), tau.data(), w, &lwork, &info);
        }
      };
      call(&work_query);
      check_info(info, "geqp3 (workspace query)");
      lwork = static_cast<int>(work_query) + 1;
      auto buffer = workspace<T>(lwork);
      call(buffer.get());
      check_info(info, "geqp3");
    });
  }
  std::vector<std::int64_t> order(pivots.size());
  for (std::size_t i = 0; i < pivots.size(); ++i) order[i] = pivots[i] - 1;  // Fortran counts from 1
  return order;
}

}  // namespace cake::algorithms::detail
