// linalg.cpp: the decompositions of linalg.h on top of LAPACK (cpu/lapack.h).
//
// Each routine copies its input into a fresh CPU buffer (LAPACK overwrites its input), queries
// LAPACK's workspace size once, and loops over the matrices of the batch. LAPACK is
// column-major and Cake row-major; NOTE [ Row-major buffers, column-major LAPACK ] says how
// each routine bridges the two.
//
// NOTE [ Row-major buffers, column-major LAPACK ]
// A contiguous row-major buffer of A [m, n], read column-major, is A^T (n x m). So:
//   * symmetric A (eigh, cholesky): the buffer is A itself to LAPACK. LAPACK's upper triangle
//     is our lower one, hence uplo = 'U' to read our lower triangle. Results come back the
//     same way: eigenvectors (columns of LAPACK's V) read row-major are V^T, and the upper
//     Cholesky factor U' (A = U'^T U') read row-major is U'^T = L.
//   * svd: LAPACK factors A^T = U' S V'^T, so A = V' S U'^T. Read row-major, LAPACK's U'
//     (n x k) is U'^T = our Vh and its V'^T (k x m) is V' = our U: no transposes at all.
//   * det: det(A^T) = det(A), so the LU of the buffer as it is gives the determinant.
//   * solve, inv, qr need A itself: we copy A^T contiguously (column_major below), whose
//     buffer is A column-major, and transpose the results back.
#include "tensor/linalg.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <cblas.h>

#include "tensor/cpu/lapack.h"
#include "tensor/creation.h"
#include "tensor/native/elementwise.h"
#include "tensor/native/view.h"

namespace cake::linalg {
namespace {

// ---- shared helpers ------------------------------------------------------------------------

Tensor mT(const Tensor& x) { return native::transpose(x, -2, -1); }

Shape batch_of(const Tensor& a) { return Shape(a.sizes().begin(), a.sizes().end() - 2); }

Shape concat(Shape head, std::initializer_list<std::int64_t> tail) {
  head.insert(head.end(), tail);
  return head;
}

std::int64_t count_matrices(const Tensor& a) { return shape_numel(batch_of(a)); }

void check_matrix(const Tensor& a, const char* op) {
  CAKE_CHECK(a.defined(), "linalg.", op, ": undefined tensor");
  CAKE_CHECK(a.dim() >= 2, "linalg.", op, ": expected a matrix or a batch of matrices [..., m, n], got shape ",
             a.sizes());
  CAKE_CHECK(a.is_floating_point(), "linalg.", op, ": expected float32 or float64, got ", dtype_name(a.dtype()));
}

void check_square(const Tensor& a, const char* op) {
  check_matrix(a, op);
  CAKE_CHECK(a.size(-1) == a.size(-2), "linalg.", op, ": expected square matrices [..., n, n], got shape ",
             a.sizes());
}

void check_pair(const Tensor& a, const Tensor& b, const char* op) {
  CAKE_CHECK(b.defined(), "linalg.", op, ": undefined right-hand side");
  CAKE_CHECK(a.dtype() == b.dtype(), "linalg.", op, ": A and B have different dtypes, ", dtype_name(a.dtype()),
             " and ", dtype_name(b.dtype()));
  CAKE_CHECK(a.device() == b.device(), "linalg.", op, ": A and B are on different devices, ",
             to_string(a.device()), " and ", to_string(b.device()));
}

int lapack_int(std::int64_t v, const char* op) {
  CAKE_CHECK(v <= INT_MAX, "linalg.", op, ": size ", v, " exceeds LAPACK's 32-bit index range");
  return static_cast<int>(v);
}

// A fresh contiguous CPU copy of `a`, for LAPACK to overwrite.
Tensor cpu_copy(const Tensor& a) { return native::clone(native::to_device(a, Device::cpu())); }
// A fresh contiguous CPU copy of a^T: its buffer holds `a` column-major.
Tensor column_major(const Tensor& a) { return cpu_copy(mT(a)); }
// The inverse of column_major: row-major matrices on `device` from column-major buffers.
Tensor from_column_major(const Tensor& buffer, Device device) {
  return native::to_device(native::contiguous(mT(buffer)), device);
}

// " (matrix i of the batch)" when there is a batch, for error messages.
std::string which_matrix(std::int64_t i, std::int64_t count) {
  return count > 1 ? " (matrix " + std::to_string(i) + " of the batch)" : "";
}

// The common batch of A [..., n, n] and B [..., n, k] (the error names both shapes).
Shape broadcast_batch(const Tensor& a, const Tensor& b, const char* op) {
  const Shape ba = batch_of(a), bb = batch_of(b);
  const std::size_t n = std::max(ba.size(), bb.size());
  Shape batch(n);
  for (std::size_t i = 0; i < n; ++i) {
    const std::int64_t da = i < n - ba.size() ? 1 : ba[i - (n - ba.size())];
    const std::int64_t db = i < n - bb.size() ? 1 : bb[i - (n - bb.size())];
    CAKE_CHECK(da == db || da == 1 || db == 1, "linalg.", op, ": the batch dims of A ", a.sizes(), " and B ",
               b.sizes(), " do not broadcast");
    batch[i] = da == 1 ? db : da;
  }
  return batch;
}

// Reads the optimal workspace size that a LAPACK query (lwork = -1) wrote as a number.
template <class T>
int workspace_size(T query) {
  return std::max(1, static_cast<int>(query));
}

}  // namespace

// ---- eigh --------------------------------------------------------------------------------------

EighResult eigh(const Tensor& a) {
  check_square(a, "eigh");
  const std::int64_t n = a.size(-1), count = count_matrices(a);
  Tensor vectors = cpu_copy(a);  // symmetric: the buffer is A to LAPACK too (see NOTE above)
  Tensor values = make_empty(concat(batch_of(a), {n}), a.dtype(), Device::cpu());
  if (n > 0 && count > 0) {
    visit_floating(a.dtype(), "linalg.eigh", [&]<class T>() {
      const int N = lapack_int(n, "eigh");
      int info = 0, iwork_query = 0;
      T work_query = 0;
      lapack::syevd('V', 'U', N, vectors.data_ptr<T>(), N, values.data_ptr<T>(), &work_query, -1, &iwork_query, -1,
                    info);
      std::vector<T> work(static_cast<std::size_t>(workspace_size(work_query)));
      std::vector<int> iwork(static_cast<std::size_t>(std::max(1, iwork_query)));
      for (std::int64_t i = 0; i < count; ++i) {
        lapack::syevd('V', 'U', N, vectors.data_ptr<T>() + i * n * n, N, values.data_ptr<T>() + i * n, work.data(),
                      static_cast<int>(work.size()), iwork.data(), static_cast<int>(iwork.size()), info);
        CAKE_CHECK(info == 0, "linalg.eigh: the eigenvalue iteration did not converge for the matrix of shape ",
                   a.sizes(), which_matrix(i, count), " (LAPACK info ", info, ")");
      }
    });
  }
  // LAPACK stored the eigenvectors as the columns of a column-major matrix: read row-major,
  // our buffer holds V^T.
  return {native::to_device(values, a.device()), from_column_major(vectors, a.device())};
}

// ---- svd ---------------------------------------------------------------------------------------

SvdResult svd(const Tensor& a, bool full_matrices) {
  check_matrix(a, "svd");
  const std::int64_t m = a.size(-2), n = a.size(-1), k = std::min(m, n), count = count_matrices(a);
  const std::int64_t u_cols = full_matrices ? m : k, vh_rows = full_matrices ? n : k;
  const Shape batch = batch_of(a);
  if (k == 0 || count == 0) {  // nothing to factor; full U and Vh of an empty matrix are identities
    const TensorOptions options(a.dtype(), a.device());
    Tensor U = full_matrices ? native::contiguous(native::expand(eye(m, m, options), concat(batch, {m, m})))
                             : zeros(concat(batch, {m, 0}), options);
    Tensor Vh = full_matrices ? native::contiguous(native::expand(eye(n, n, options), concat(batch, {n, n})))
                              : zeros(concat(batch, {0, n}), options);
    return {U, zeros(concat(batch, {k}), options), Vh};
  }
  Tensor work_a = cpu_copy(a);  // A^T to LAPACK: an n x m matrix (see NOTE above)
  Tensor U = make_empty(concat(batch, {m, u_cols}), a.dtype(), Device::cpu());
  Tensor S = make_empty(concat(batch, {k}), a.dtype(), Device::cpu());
  Tensor Vh = make_empty(concat(batch, {vh_rows, n}), a.dtype(), Device::cpu());
  visit_floating(a.dtype(), "linalg.svd", [&]<class T>() {
    const char jobz = full_matrices ? 'A' : 'S';
    const int rows = lapack_int(n, "svd"), cols = lapack_int(m, "svd");
    const int ldu = rows, ldvt = lapack_int(full_matrices ? m : k, "svd");
    std::vector<int> iwork(static_cast<std::size_t>(8 * k));
    int info = 0;
    T work_query = 0;
    lapack::gesdd(jobz, rows, cols, work_a.data_ptr<T>(), rows, S.data_ptr<T>(), Vh.data_ptr<T>(), ldu, U.data_ptr<T>(),
                  ldvt, &work_query, -1, iwork.data(), info);
    std::vector<T> work(static_cast<std::size_t>(workspace_size(work_query)));
    for (std::int64_t i = 0; i < count; ++i) {
      // LAPACK's U' is our Vh and its V'^T is our U.
      lapack::gesdd(jobz, rows, cols, work_a.data_ptr<T>() + i * m * n, rows, S.data_ptr<T>() + i * k,
                    Vh.data_ptr<T>() + i * vh_rows * n, ldu, U.data_ptr<T>() + i * m * u_cols, ldvt, work.data(),
                    static_cast<int>(work.size()), iwork.data(), info);
      CAKE_CHECK(info == 0, "linalg.svd: the SVD iteration did not converge for the matrix of shape ", a.sizes(),
                 which_matrix(i, count), " (LAPACK info ", info, ")");
    }
  });
  return {native::to_device(U, a.device()), native::to_device(S, a.device()), native::to_device(Vh, a.device())};
}

// ---- cholesky ----------------------------------------------------------------------------------

Tensor cholesky(const Tensor& a, bool upper) {
  check_square(a, "cholesky");
  const std::int64_t n = a.size(-1), count = count_matrices(a);
  Tensor factor = cpu_copy(a);
  if (n == 0 || count == 0) return native::to_device(factor, a.device());
  visit_floating(a.dtype(), "linalg.cholesky", [&]<class T>() {
    // Our lower triangle is LAPACK's upper one, and LAPACK's upper factor read row-major is
    // our lower factor (see NOTE above); `upper` mirrors both.
    const char uplo = upper ? 'L' : 'U';
    const int N = lapack_int(n, "cholesky");
    for (std::int64_t i = 0; i < count; ++i) {
      T* matrix = factor.data_ptr<T>() + i * n * n;
      int info = 0;
      lapack::potrf(uplo, N, matrix, N, info);
      CAKE_CHECK(info == 0, "linalg.cholesky: the matrix of shape ", a.sizes(), which_matrix(i, count),
                 " is not positive definite: its leading minor of order ", info, " is not positive");
      // LAPACK leaves the other triangle as it was (A's entries): clear it.
      for (std::int64_t r = 0; r < n; ++r)
        for (std::int64_t c = 0; c < n; ++c)
          if (upper ? c < r : c > r) matrix[r * n + c] = T(0);
    }
  });
  return native::to_device(factor, a.device());
}

// ---- solve_triangular --------------------------------------------------------------------------

namespace {
void blas_trsm(CBLAS_SIDE side, CBLAS_UPLO uplo, CBLAS_DIAG diag, int m, int n, const float* a, int lda, float* b,
               int ldb) {
  cblas_strsm(CblasRowMajor, side, uplo, CblasNoTrans, diag, m, n, 1.0f, a, lda, b, ldb);
}
void blas_trsm(CBLAS_SIDE side, CBLAS_UPLO uplo, CBLAS_DIAG diag, int m, int n, const double* a, int lda, double* b,
               int ldb) {
  cblas_dtrsm(CblasRowMajor, side, uplo, CblasNoTrans, diag, m, n, 1.0, a, lda, b, ldb);
}
}  // namespace

Tensor solve_triangular(const Tensor& a, const Tensor& b, bool upper, bool left, bool unitriangular) {
  check_square(a, "solve_triangular");
  check_matrix(b, "solve_triangular");
  check_pair(a, b, "solve_triangular");
  const std::int64_t n = a.size(-1), shared = left ? b.size(-2) : b.size(-1);
  CAKE_CHECK(shared == n, "linalg.solve_triangular: A ", a.sizes(), " and B ", b.sizes(), " do not match (",
             left ? "A X = B needs B [..., n, k]" : "X A = B needs B [..., k, n]", " with n = ", n, ")");
  const Shape batch = broadcast_batch(a, b, "solve_triangular");
  const std::int64_t rows = b.size(-2), cols = b.size(-1);
  // BLAS's trsm is row-major-aware (CBLAS), so A and X = B keep our layout.
  Tensor A = native::contiguous(native::to_device(native::expand(a, concat(batch, {n, n})), Device::cpu()));
  Tensor X = cpu_copy(native::expand(b, concat(batch, {rows, cols})));
  const std::int64_t count = shape_numel(batch);
  if (rows > 0 && cols > 0 && count > 0) {
    visit_floating(a.dtype(), "linalg.solve_triangular", [&]<class T>() {
      const int M = lapack_int(rows, "solve_triangular"), N = lapack_int(cols, "solve_triangular");
      for (std::int64_t i = 0; i < count; ++i)
        blas_trsm(left ? CblasLeft : CblasRight, upper ? CblasUpper : CblasLower, unitriangular ? CblasUnit : CblasNonUnit,
                  M, N, A.data_ptr<T>() + i * n * n, lapack_int(n, "solve_triangular"), X.data_ptr<T>() + i * rows * cols, N);
    });
  }
  return native::to_device(X, a.device());
}

// ---- solve and inv ------------------------------------------------------------------------------

Tensor solve(const Tensor& a, const Tensor& b) {
  check_square(a, "solve");
  CAKE_CHECK(b.defined() && b.dim() >= 1, "linalg.solve: B must have at least one dim");
  check_pair(a, b, "solve");
  const std::int64_t n = a.size(-1);
  const bool vector = b.dim() == 1;
  const Tensor B = vector ? native::unsqueeze(b, 1) : b;  // a vector is one right-hand side
  CAKE_CHECK(B.size(-2) == n, "linalg.solve: A ", a.sizes(), " and B ", b.sizes(),
             " do not match (A X = B needs B [..., n, k] or [n] with n = ", n, ")");
  const Shape batch = broadcast_batch(a, B, "solve");
  const std::int64_t k = B.size(-1), count = shape_numel(batch);
  Tensor lu = column_major(native::expand(a, concat(batch, {n, n})));
  Tensor x = column_major(native::expand(B, concat(batch, {n, k})));
  if (n > 0 && k > 0 && count > 0) {
    visit_floating(a.dtype(), "linalg.solve", [&]<class T>() {
      const int N = lapack_int(n, "solve"), K = lapack_int(k, "solve");
      std::vector<int> pivots(static_cast<std::size_t>(n));
      for (std::int64_t i = 0; i < count; ++i) {
        int info = 0;
        lapack::gesv(N, K, lu.data_ptr<T>() + i * n * n, N, pivots.data(), x.data_ptr<T>() + i * n * k, N, info);
        CAKE_CHECK(info == 0, "linalg.solve: the matrix A of shape ", a.sizes(), which_matrix(i, count),
                   " is singular (pivot ", info, " of its LU factorisation is exactly zero)");
      }
    });
  }
  Tensor out = from_column_major(x, a.device());
  return vector ? native::view(out, {n}) : out;
}

Tensor inv(const Tensor& a) {
  check_square(a, "inv");
  const std::int64_t n = a.size(-1);
  const Tensor identity = eye(n, n, TensorOptions(a.dtype(), a.device()));
  return solve(a, native::expand(identity, a.sizes()));
}

// ---- det and slogdet -------------------------------------------------------------------------

namespace {
// From the LU factorisation P A = L U (L unit lower): det A = (-1)^(row swaps) * prod U_ii.
// Fills sign, log|det| and det for each matrix of the batch (all [batch] tensors on the CPU).
void lu_determinants(const Tensor& a, Tensor& sign, Tensor& logabsdet, Tensor& det) {
  const std::int64_t n = a.size(-1), count = count_matrices(a);
  const Shape batch = batch_of(a);
  sign = make_empty(batch, a.dtype(), Device::cpu());
  logabsdet = make_empty(batch, a.dtype(), Device::cpu());
  det = make_empty(batch, a.dtype(), Device::cpu());
  Tensor lu = cpu_copy(a);  // det(A^T) = det(A): the buffer as LAPACK reads it will do
  visit_floating(a.dtype(), "linalg.det", [&]<class T>() {
    const int N = lapack_int(n, "det");
    std::vector<int> pivots(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < count; ++i) {
      T* matrix = lu.data_ptr<T>() + i * n * n;
      int info = 0;
      if (n > 0) lapack::getrf(N, N, matrix, N, pivots.data(), info);
      T pivot_sign = 1, diagonal_sign = 1, log_abs = 0, product = 1;
      for (std::int64_t j = 0; j < n; ++j) {
        const T u = matrix[j * n + j];  // the diagonal reads the same in either layout
        if (pivots[static_cast<std::size_t>(j)] != j + 1) pivot_sign = -pivot_sign;  // a row swap (1-based)
        if (u < 0) diagonal_sign = -diagonal_sign;
        log_abs += std::log(std::abs(u));
        product *= u;
      }
      const bool singular = info > 0;  // some U_jj is exactly 0
      sign.data_ptr<T>()[i] = singular ? T(0) : pivot_sign * diagonal_sign;
      logabsdet.data_ptr<T>()[i] = singular ? -std::numeric_limits<T>::infinity() : log_abs;
      det.data_ptr<T>()[i] = singular ? T(0) : pivot_sign * product;
    }
  });
}
}  // namespace

Tensor det(const Tensor& a) {
  check_square(a, "det");
  Tensor sign, logabsdet, value;
  lu_determinants(a, sign, logabsdet, value);
  return native::to_device(value, a.device());
}

SlogdetResult slogdet(const Tensor& a) {
  check_square(a, "slogdet");
  Tensor sign, logabsdet, value;
  lu_determinants(a, sign, logabsdet, value);
  return {native::to_device(sign, a.device()), native::to_device(logabsdet, a.device())};
}

// ---- qr -----------------------------------------------------------------------------------------

QrResult qr(const Tensor& a) {
  check_matrix(a, "qr");
  const std::int64_t m = a.size(-2), n = a.size(-1), k = std::min(m, n), count = count_matrices(a);
  const Shape batch = batch_of(a);
  Tensor factored = column_major(a);  // A column-major: element (i, j) at [i + j * m]
  Tensor Q = make_empty(concat(batch, {m, k}), a.dtype(), Device::cpu());
  Tensor R = make_empty(concat(batch, {k, n}), a.dtype(), Device::cpu());
  if (k > 0 && count > 0) {
    visit_floating(a.dtype(), "linalg.qr", [&]<class T>() {
      const int M = lapack_int(m, "qr"), N = lapack_int(n, "qr"), K = lapack_int(k, "qr");
      int info = 0;
      T geqrf_query = 0, orgqr_query = 0;
      std::vector<T> tau(static_cast<std::size_t>(k));
      lapack::geqrf(M, N, factored.data_ptr<T>(), M, tau.data(), &geqrf_query, -1, info);
      lapack::orgqr(M, K, K, factored.data_ptr<T>(), M, tau.data(), &orgqr_query, -1, info);
      std::vector<T> work(static_cast<std::size_t>(std::max(workspace_size(geqrf_query), workspace_size(orgqr_query))));
      const int lwork = static_cast<int>(work.size());
      for (std::int64_t b = 0; b < count; ++b) {
        T* A = factored.data_ptr<T>() + b * m * n;
        lapack::geqrf(M, N, A, M, tau.data(), work.data(), lwork, info);
        CAKE_CHECK(info == 0, "linalg.qr: geqrf failed with info ", info);
        // R is the upper triangle of the first k rows; below it LAPACK keeps the reflectors.
        T* r = R.data_ptr<T>() + b * k * n;
        for (std::int64_t i = 0; i < k; ++i)
          for (std::int64_t j = 0; j < n; ++j) r[i * n + j] = j >= i ? A[i + j * m] : T(0);
        // Q = H_1 H_2 ... H_k, formed in the first k columns from the reflectors and tau.
        lapack::orgqr(M, K, K, A, M, tau.data(), work.data(), lwork, info);
        CAKE_CHECK(info == 0, "linalg.qr: orgqr failed with info ", info);
        T* q = Q.data_ptr<T>() + b * m * k;
        for (std::int64_t i = 0; i < m; ++i)
          for (std::int64_t j = 0; j < k; ++j) q[i * k + j] = A[i + j * m];
      }
    });
  }
  return {native::to_device(Q, a.device()), native::to_device(R, a.device())};
}

}  // namespace cake::linalg
