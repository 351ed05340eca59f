// LAPACK's Fortran routines on row-major buffers. A row-major [m, n] buffer is the column-major
// [n, m] transpose, so every call below says which transpose it is working on.
#include "algorithms/detail/lapack.h"

#include <algorithm>
#include <memory>

#include "tensor/cpu/lapack.h"
#include "tensor/creation.h"
#include "tensor/error.h"
#include "tensor/linalg.h"

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

// R [n, n] (row-major) of X = Q R for X [m, n] stored column-major in `a` (lda = m), as LAPACK
// stores it, destroying `a`. geqrf leaves R in the upper triangle: R(i, j) = a[i + j * m].
// (The row-major buffer read as X^T would need gelqf instead, whose unblocked panel steps walk
// rows of stride n: perf showed them taking most of PCA's time on 60000 x 784.)
template <class T>
void r_factor(int m, int n, T* a, T* r) {
  int info = 0, lwork = -1;
  std::vector<T> tau(static_cast<std::size_t>(n));
  T work_query = 0;
  lapack::geqrf(m, n, a, m, tau.data(), &work_query, lwork, info);
  check_info(info, "geqrf (workspace query)");
  lwork = static_cast<int>(work_query) + 1;
  auto work = workspace<T>(lwork);
  lapack::geqrf(m, n, a, m, tau.data(), work.get(), lwork, info);
  check_info(info, "geqrf");
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = 0; j < n; ++j) r[i * n + j] = (j >= i) ? a[i + j * static_cast<std::int64_t>(m)] : T(0);
}

}  // namespace

std::pair<Tensor, Tensor> singular_values_and_right_vectors(const Tensor& x, bool overwrite_input) {
  check_matrix(x, "singular_values_and_right_vectors");
  const std::int64_t m = x.size(0), n = x.size(1);
  if (m < 2 * n) {  // not tall enough for the QR step to pay
    linalg::SvdResult full = linalg::svd(x);
    return {full.S, full.Vh};
  }
  // geqrf wants X column-major, i.e. X^T row-major: x itself when it is the transposed view of
  // a contiguous buffer (PCA builds its centred data that way), else a transposing copy.
  const bool column_major = x.t().is_contiguous();
  Tensor work = column_major ? (overwrite_input ? x.t() : x.t().clone()) : x.t().contiguous();
  Tensor r = empty({n, n}, x.dtype());
  visit_floating(x.dtype(), "singular_values_and_right_vectors", [&]<class T>() {
    r_factor<T>(static_cast<int>(m), static_cast<int>(n), work.data_ptr<T>(), r.data_ptr<T>());
  });
  work = Tensor();
  linalg::SvdResult small = linalg::svd(r);  // X = Q R = (Q U_R) S Vh: the same S and Vh
  return {small.S, small.Vh};
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
      lapack::geqp3(k, rows, work.data_ptr<T>(), k, pivots.data(), tau.data(), &work_query, lwork, info);
      check_info(info, "geqp3 (workspace query)");
      lwork = static_cast<int>(work_query) + 1;
      auto buffer = workspace<T>(lwork);
      lapack::geqp3(k, rows, work.data_ptr<T>(), k, pivots.data(), tau.data(), buffer.get(), lwork, info);
      check_info(info, "geqp3");
    });
  }
  std::vector<std::int64_t> order(pivots.size());
  for (std::size_t i = 0; i < pivots.size(); ++i) order[i] = pivots[i] - 1;  // Fortran counts from 1
  return order;
}

}  // namespace cake::algorithms::detail
