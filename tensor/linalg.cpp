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
#include "cake/tensor/linalg.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include <cblas.h>

#include "cake/tensor/blas.h"
#include "cake/tensor/cpu/lapack.h"
#include "cake/tensor/creation.h"
#include "cake/tensor/native/elementwise.h"
#include "cake/tensor/native/linalg.h"
#include "cake/tensor/native/view.h"
#include "cake/tensor/parallel.h"

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

namespace {

// The CPU kernel of native::eigh_stub: LAPACK ?syevd (divide and conquer) on each matrix of the
// batch, in place. The buffer of a symmetric matrix is the matrix itself to LAPACK, and LAPACK's
// eigenvector columns come back as our rows (NOTE above): exactly the stub's contract.
void eigh_lapack(const Tensor& vectors, const Tensor& values) {
  const std::int64_t n = vectors.size(-1), count = vectors.numel() / (n * n);
  visit_floating(vectors.dtype(), "linalg.eigh", [&]<class T>() {
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
                 vectors.sizes(), which_matrix(i, count), " (LAPACK info ", info, ")");
    }
  });
}

CAKE_REGISTER_KERNEL(native::eigh_stub, DeviceType::CPU, &eigh_lapack);

}  // namespace

EighResult eigh(const Tensor& a) {
  check_square(a, "eigh");
  const std::int64_t n = a.size(-1);
  // A fresh contiguous copy on a's device, which the kernel overwrites with the eigenvectors.
  Tensor vectors = native::clone(a);
  Tensor values = make_empty(concat(batch_of(a), {n}), a.dtype(), a.device());
  if (n > 0 && count_matrices(a) > 0) native::eigh_stub(a.device(), vectors, values);
  // The kernel stored the eigenvectors as the columns of column-major matrices: read row-major,
  // the buffer holds V^T, and one transposing copy (on the same device) gives V.
  return {values, native::contiguous(mT(vectors))};
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

// ---- singular values and right vectors; pivoted QR order -----------------------------------

namespace {

void check_cpu_matrix(const Tensor& a, const char* op) {
  CAKE_CHECK(a.defined() && a.dim() == 2, "linalg.", op, ": expected a matrix, got shape ",
             a.defined() ? a.sizes() : Shape{});
  CAKE_CHECK(a.is_cpu(), "linalg.", op, ": expected a CPU tensor, got ", a.device());
  CAKE_CHECK(a.is_floating_point(), "linalg.", op, ": expected float32 or float64, got ", dtype_name(a.dtype()));
}

void check_lapack_info(int info, const char* routine) {
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
  check_lapack_info(info, "geqrf (workspace query)");
  lwork = static_cast<int>(work_query) + 1;
  auto work = workspace<T>(lwork);
  lapack::geqrf(m, n, a, m, tau.data(), work.get(), lwork, info);
  check_lapack_info(info, "geqrf");
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = 0; j < n; ++j) r[i * n + j] = (j >= i) ? a[i + j * static_cast<std::int64_t>(m)] : T(0);
}

}  // namespace

std::pair<Tensor, Tensor> singular_values_and_right_vectors(const Tensor& x, bool overwrite_input) {
  check_cpu_matrix(x, "singular_values_and_right_vectors");
  const std::int64_t m = x.size(0), n = x.size(1);
  if (m < 2 * n) {  // not tall enough for the QR step to pay
    SvdResult full = svd(x);
    return {full.S, full.Vh};
  }
  // geqrf wants X column-major, i.e. X^T row-major: x itself when it is the transposed view of
  // a contiguous buffer (PCA builds its centred data that way), else a transposing copy.
  const bool column_major_input = x.t().is_contiguous();
  Tensor work = column_major_input ? (overwrite_input ? x.t() : x.t().clone()) : x.t().contiguous();
  Tensor r = empty({n, n}, x.dtype());
  visit_floating(x.dtype(), "singular_values_and_right_vectors", [&]<class T>() {
    r_factor<T>(lapack_int(m, "singular_values_and_right_vectors"), lapack_int(n, "singular_values_and_right_vectors"),
                work.data_ptr<T>(), r.data_ptr<T>());
  });
  work = Tensor();
  SvdResult small = svd(r);  // X = Q R = (Q U_R) S Vh: the same S and Vh
  return {small.S, small.Vh};
}

std::vector<std::int64_t> pivoted_qr_order(const Tensor& x) {
  check_cpu_matrix(x, "pivoted_qr_order");
  const int rows = lapack_int(x.size(0), "pivoted_qr_order"), k = lapack_int(x.size(1), "pivoted_qr_order");
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
      check_lapack_info(info, "geqp3 (workspace query)");
      lwork = static_cast<int>(work_query) + 1;
      auto buffer = workspace<T>(lwork);
      lapack::geqp3(k, rows, work.data_ptr<T>(), k, pivots.data(), tau.data(), buffer.get(), lwork, info);
      check_lapack_info(info, "geqp3");
    });
  }
  std::vector<std::int64_t> order(pivots.size());
  for (std::size_t i = 0; i < pivots.size(); ++i) order[i] = pivots[i] - 1;  // Fortran counts from 1
  return order;
}

// ---- randomized SVD --------------------------------------------------------------------------

namespace {

// Orthonormal basis of the columns of a row-major rows x cols matrix, in place (reduced QR).
template <class T>
void orthonormalize_columns(std::int64_t rows, std::int64_t cols, T* a) {
  const Tensor q = qr(from_blob(a, {rows, cols}, dtype_of<T>())).Q.contiguous();
  std::copy(q.data_ptr<T>(), q.data_ptr<T>() + rows * cols, a);
}

// The "permuted L" of an LU factorisation P A = L U of a row-major rows x cols matrix (rows >=
// cols), in place: A becomes P^T L, which spans the column space of A and is well conditioned.
// It is scipy.linalg.lu(A, permute_l=True)[0], the cheap normaliser of randomized power
// iterations (Halko et al. 2011, section 4.5; scikit-learn's power_iteration_normalizer="LU").
template <class T>
void permuted_lower_of_lu(std::int64_t rows, std::int64_t cols, T* a) {
  // LAPACK is column-major: the transpose of our buffer.
  std::vector<T> col(static_cast<std::size_t>(rows * cols));
  for (std::int64_t i = 0; i < rows; ++i)
    for (std::int64_t j = 0; j < cols; ++j) col[static_cast<std::size_t>(j * rows + i)] = a[i * cols + j];
  std::vector<int> pivots(static_cast<std::size_t>(cols));
  int info = 0;
  lapack::getrf(lapack_int(rows, "randomized_svd"), lapack_int(cols, "randomized_svd"), col.data(),
                lapack_int(rows, "randomized_svd"), pivots.data(), info);
  CAKE_CHECK(info >= 0, "linalg.randomized_svd: LU factorisation (LAPACK ?getrf) of a ", rows, "x", cols,
             " matrix failed (info ", info, ")");
  // L: unit diagonal, the factor below it, zeros above (a zero pivot only makes U singular).
  for (std::int64_t i = 0; i < rows; ++i)
    for (std::int64_t j = 0; j < cols; ++j)
      a[i * cols + j] = i > j ? col[static_cast<std::size_t>(j * rows + i)] : (i == j ? T(1) : T(0));
  // Row i was swapped with row pivots[i] - 1 for i = 0, 1, ...; undo in reverse order.
  for (std::int64_t i = cols - 1; i >= 0; --i) {
    const std::int64_t p = pivots[static_cast<std::size_t>(i)] - 1;
    if (p != i) std::swap_ranges(a + i * cols, a + (i + 1) * cols, a + p * cols);
  }
}

std::int64_t rows_grain(std::int64_t work_per_row) {
  return std::max<std::int64_t>(1, (std::int64_t{1} << 17) / std::max<std::int64_t>(work_per_row, 1));
}

// A [m x n] is x, minus 1 shift^T when shift is given (the centring stays implicit):
//   (A q)   = X q   - 1 (shift^T q),       (A^T y) = X^T y - shift (1^T y).
template <class T>
SvdResult randomized_svd_impl(const T* x, std::int64_t m, std::int64_t n, const double* shift, std::int64_t k,
                              std::int64_t l, std::int64_t iterations, const std::string& normalizer, bool compute_u) {
  std::vector<T> shift_t;
  if (shift != nullptr) shift_t.assign(shift, shift + n);

  auto times_a = [&](const std::vector<T>& q, std::vector<T>& y) {  // y [m x l] = A q, q [n x l]
    y.resize(static_cast<std::size_t>(m * l));
    blas::gemm<T>(false, false, m, l, n, T(1), x, n, q.data(), l, T(0), y.data(), l);
    if (shift == nullptr) return;
    std::vector<T> sq(static_cast<std::size_t>(l));
    blas::gemm<T>(false, false, 1, l, n, T(1), shift_t.data(), n, q.data(), l, T(0), sq.data(), l);
    parallel_for(0, m, rows_grain(l), [&](std::int64_t lo, std::int64_t hi) {
      for (std::int64_t i = lo; i < hi; ++i)
        for (std::int64_t j = 0; j < l; ++j) y[static_cast<std::size_t>(i * l + j)] -= sq[static_cast<std::size_t>(j)];
    });
  };
  auto column_sums = [&](const std::vector<T>& y, std::int64_t rows) {  // 1^T y, in float64
    std::vector<double> sums(static_cast<std::size_t>(l), 0.0);
    for (std::int64_t i = 0; i < rows; ++i)
      for (std::int64_t j = 0; j < l; ++j) sums[static_cast<std::size_t>(j)] += static_cast<double>(y[static_cast<std::size_t>(i * l + j)]);
    return sums;
  };
  auto times_a_t = [&](const std::vector<T>& y, std::vector<T>& z) {  // z [n x l] = A^T y, y [m x l]
    z.resize(static_cast<std::size_t>(n * l));
    blas::gemm<T>(true, false, n, l, m, T(1), x, n, y.data(), l, T(0), z.data(), l);
    if (shift == nullptr) return;
    const std::vector<double> sums = column_sums(y, m);
    for (std::int64_t a = 0; a < n; ++a)
      for (std::int64_t j = 0; j < l; ++j)
        z[static_cast<std::size_t>(a * l + j)] -= static_cast<T>(shift[a] * sums[static_cast<std::size_t>(j)]);
  };
  auto normalize = [&](std::vector<T>& a, std::int64_t rows) {
    if (normalizer == "LU") permuted_lower_of_lu(rows, l, a.data());
    else if (normalizer == "QR") orthonormalize_columns(rows, l, a.data());
  };

  // Algorithm 4.4: Q spans the range of (A A^T)^q A Omega for a Gaussian Omega, each half step
  // re-conditioned so that the columns do not all collapse onto the top singular vector.
  const Tensor omega = randn({n * l}, kFloat64);
  std::vector<T> q(omega.data_ptr<double>(), omega.data_ptr<double>() + n * l), y;
  for (std::int64_t it = 0; it < iterations; ++it) {
    times_a(q, y);
    normalize(y, m);
    times_a_t(y, q);
    normalize(q, n);
  }
  times_a(q, y);
  orthonormalize_columns(m, l, y.data());  // Q [m x l]
  // Algorithm 5.1: B = Q^T A [l x n] (= Q^T X - (Q^T 1) shift^T), then B = U_B S Vh.
  Tensor b = empty({l, n}, dtype_of<T>());
  T* pb = b.data_ptr<T>();
  blas::gemm<T>(true, false, l, n, m, T(1), y.data(), l, x, n, T(0), pb, n);
  if (shift != nullptr) {
    const std::vector<double> qsum = column_sums(y, m);
    for (std::int64_t j = 0; j < l; ++j)
      for (std::int64_t a = 0; a < n; ++a) pb[j * n + a] -= static_cast<T>(qsum[static_cast<std::size_t>(j)] * shift[a]);
  }
  const SvdResult small = svd(b);  // U_B [l, l], S [l], Vh [l, n]
  SvdResult out;
  out.S = native::contiguous(native::narrow(small.S, 0, 0, k));
  out.Vh = native::contiguous(native::narrow(small.Vh, 0, 0, k));
  if (compute_u) {  // U = Q U_B[:, :k]
    out.U = empty({m, k}, dtype_of<T>());
    const Tensor ub = native::contiguous(small.U);
    blas::gemm<T>(false, false, m, k, l, T(1), y.data(), l, ub.data_ptr<T>(), ub.size(1), T(0), out.U.data_ptr<T>(), k);
  }
  return out;
}

}  // namespace

SvdResult randomized_svd(const Tensor& a, std::int64_t k, const RandomizedSvdOptions& options) {
  check_matrix(a, "randomized_svd");
  CAKE_CHECK(a.dim() == 2, "linalg.randomized_svd: expected a matrix [m, n], got shape ", a.sizes());
  const std::int64_t m = a.size(0), n = a.size(1), r = std::min(m, n);
  CAKE_CHECK(k >= 1 && k <= r, "linalg.randomized_svd: k must be in [1, min(m, n) = ", r, "], got ", k,
             " for shape ", a.sizes());
  CAKE_CHECK(options.oversamples >= 0, "linalg.randomized_svd: oversamples must be >= 0, got ", options.oversamples);
  const std::string& requested = options.normalizer;
  CAKE_CHECK(requested == "auto" || requested == "QR" || requested == "LU" || requested == "none",
             "linalg.randomized_svd: unknown normalizer \"", requested, "\" (expected \"auto\", \"QR\", \"LU\" or \"none\")");
  Tensor shift;
  if (options.column_shift.defined()) {
    CAKE_CHECK(options.column_shift.dim() == 1 && options.column_shift.size(0) == n,
               "linalg.randomized_svd: column_shift must have shape [", n, "] for a matrix of shape ", a.sizes(),
               ", got ", options.column_shift.sizes());
    shift = native::contiguous(native::to_dtype(native::to_device(options.column_shift, Device::cpu()), kFloat64));
  }
  const std::int64_t l = std::min(k + options.oversamples, r);  // sketch width
  // scikit-learn's n_iter="auto": more power iterations when k is a small part of the spectrum.
  const std::int64_t q = options.power_iterations >= 0 ? options.power_iterations
                                                       : (static_cast<double>(k) < 0.1 * static_cast<double>(r) ? 7 : 4);
  const std::string normalizer = requested != "auto" ? requested : (q <= 2 ? "none" : "LU");
  const Tensor x = native::contiguous(native::to_device(a, Device::cpu()));
  SvdResult out = visit_floating(x.dtype(), "linalg.randomized_svd", [&]<class T>() {
    return randomized_svd_impl<T>(x.data_ptr<T>(), m, n, shift.defined() ? shift.data_ptr<double>() : nullptr, k, l,
                                  q, normalizer, options.compute_u);
  });
  if (!a.is_cpu()) {
    if (out.U.defined()) out.U = native::to_device(out.U, a.device());
    out.S = native::to_device(out.S, a.device());
    out.Vh = native::to_device(out.Vh, a.device());
  }
  return out;
}

}  // namespace cake::linalg
