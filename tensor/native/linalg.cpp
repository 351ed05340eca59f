#include "cake/tensor/native/linalg.h"

#include <algorithm>
#include <limits>

#include "cake/tensor/native/elementwise.h"
#include "cake/tensor/native/reduce.h"
#include "cake/tensor/native/view.h"

namespace cake::native {

std::vector<std::int64_t> batch_matrix_offsets(const Tensor& t) {
  const std::int64_t batch_dims = t.dim() - 2;
  std::int64_t count = 1;
  for (std::int64_t d = 0; d < batch_dims; ++d) count *= t.sizes()[d];
  std::vector<std::int64_t> offsets(static_cast<std::size_t>(count));
  Shape index(static_cast<std::size_t>(batch_dims), 0);
  std::int64_t offset = 0;
  for (std::int64_t i = 0; i < count; ++i) {
    offsets[static_cast<std::size_t>(i)] = offset;
    for (std::int64_t d = batch_dims - 1; d >= 0; --d) {  // advance the odometer
      if (++index[d] < t.sizes()[d]) {
        offset += t.strides()[d];
        break;
      }
      offset -= (t.sizes()[d] - 1) * t.strides()[d];
      index[d] = 0;
    }
  }
  return offsets;
}


CAKE_DEFINE_DISPATCH(GemmFn, gemm_stub);
CAKE_DEFINE_DISPATCH(CdistSquaredFn, cdist_squared_stub);
CAKE_DEFINE_DISPATCH(NearestRowsFn, nearest_rows_stub);
CAKE_DEFINE_DISPATCH(EighFn, eigh_stub);

// ---- layouts ---------------------------------------------------------------------------------

std::optional<MatrixLayout> blas_layout(const Tensor& matrix) {
  const std::int64_t n = matrix.dim();
  CAKE_CHECK(n >= 2, "blas_layout: expected at least 2 dims, got shape ", matrix.sizes());
  const std::int64_t rows = matrix.sizes()[n - 2], cols = matrix.sizes()[n - 1];
  const std::int64_t row_stride = matrix.strides()[n - 2], col_stride = matrix.strides()[n - 1];
  // A dimension of size 1 is never stepped along, so its stride is free: we pick the one
  // that makes the view acceptable (BLAS still wants ld >= the other size).
  const std::int64_t row_ld = rows == 1 ? std::max<std::int64_t>(cols, 1) : row_stride;
  if ((col_stride == 1 || cols <= 1) && row_ld >= std::max<std::int64_t>(cols, 1)) return MatrixLayout{false, row_ld};
  const std::int64_t col_ld = cols == 1 ? std::max<std::int64_t>(rows, 1) : col_stride;
  if ((row_stride == 1 || rows <= 1) && col_ld >= std::max<std::int64_t>(rows, 1)) return MatrixLayout{true, col_ld};
  return std::nullopt;
}

Tensor blas_compatible(const Tensor& x) { return blas_layout(x) ? x : native::clone(x); }

// ---- the batched GEMM --------------------------------------------------------------------------

void gemm(const Tensor& a, const Tensor& b, const Tensor& out, Scalar alpha, Scalar beta) {
  const std::int64_t n = out.dim();
  CAKE_CHECK(n >= 2 && a.dim() == n && b.dim() == n, "gemm: expected operands of equal rank >= 2, got shapes ",
             a.sizes(), ", ", b.sizes(), " and out ", out.sizes());
  const Shape batch(out.sizes().begin(), out.sizes().end() - 2);
  CAKE_CHECK(Shape(a.sizes().begin(), a.sizes().end() - 2) == batch &&
                 Shape(b.sizes().begin(), b.sizes().end() - 2) == batch,
             "gemm: batch dims differ in shapes ", a.sizes(), ", ", b.sizes(), " and out ", out.sizes());
  const std::int64_t M = a.sizes()[n - 2], K = a.sizes()[n - 1], N = b.sizes()[n - 1];
  CAKE_CHECK(b.sizes()[n - 2] == K && out.sizes()[n - 2] == M && out.sizes()[n - 1] == N,
             "gemm: shapes ", a.sizes(), " @ ", b.sizes(), " do not give out ", out.sizes());
  // 16-bit operands may write a float32 result: their products are accumulated in float32
  // anyway, and mixed precision (autograd/autocast.h) wants the result unrounded.
  const bool half_into_float = is_half(a.dtype()) && out.dtype() == kFloat32;
  CAKE_CHECK(a.dtype() == b.dtype() && (a.dtype() == out.dtype() || half_into_float), "gemm: dtypes differ: ",
             dtype_name(a.dtype()), ", ", dtype_name(b.dtype()), " and out ", dtype_name(out.dtype()));
  CAKE_CHECK(a.device() == b.device() && a.device() == out.device(), "gemm: devices differ: ", to_string(a.device()),
             ", ", to_string(b.device()), " and out ", to_string(out.device()));
  CAKE_CHECK(blas_layout(a) && blas_layout(b), "gemm: operands of strides ", a.strides(), " and ", b.strides(),
             " are not BLAS-compatible (pass them through blas_compatible)");
  const auto out_layout = blas_layout(out);
  CAKE_CHECK(out_layout && !out_layout->transposed, "gemm: out of strides ", out.strides(), " is not row-major");
  if (out.numel() == 0) return;
  gemm_stub(out.device(), a, b, out, alpha, beta);
}

// ---- matmul --------------------------------------------------------------------------------------

namespace {

void check_operands(const char* op, const Tensor& a, const Tensor& b) {
  CAKE_CHECK(a.device() == b.device(), op, ": operands on different devices, ", to_string(a.device()), " and ",
             to_string(b.device()));
  CAKE_CHECK(a.dtype() == b.dtype(), op, ": operands of different dtypes, ", dtype_name(a.dtype()), " and ",
             dtype_name(b.dtype()), " (convert one with .to(dtype))");
  CAKE_CHECK(a.dtype() != kBool, op, ": bool tensors cannot be multiplied; convert them to a number type first");
}

Shape concat(Shape head, std::initializer_list<std::int64_t> tail) {
  head.insert(head.end(), tail);
  return head;
}

// The broadcast of the batch dims (all but the last two) of a and b; `a_shape`, `b_shape` are
// the user's shapes, for the error message.
Shape broadcast_batch(const Tensor& a, const Tensor& b, const Shape& a_shape, const Shape& b_shape) {
  const std::size_t la = a.sizes().size() - 2, lb = b.sizes().size() - 2, n = std::max(la, lb);
  Shape batch(n);
  for (std::size_t i = 0; i < n; ++i) {
    const std::int64_t da = i < n - la ? 1 : a.sizes()[i - (n - la)];
    const std::int64_t db = i < n - lb ? 1 : b.sizes()[i - (n - lb)];
    CAKE_CHECK(da == db || da == 1 || db == 1, "matmul: the batch dims of shapes ", a_shape, " and ", b_shape,
               " do not broadcast (", da, " vs ", db, ")");
    batch[i] = da == 1 ? db : da;
  }
  return batch;
}

// a [..., M, K] as one matrix [batch * M, K], when its leading dims merge into the rows
// without a copy: each non-trivial dim's stride is the next one's stride times its size.
std::optional<Tensor> fold_rows(const Tensor& a) {
  const std::int64_t n = a.dim();
  std::int64_t rows = 1, row_stride = a.strides()[n - 2], next_size = 0, next_stride = 0;
  bool seen = false;
  for (std::int64_t d = n - 2; d >= 0; --d) {
    const std::int64_t size = a.sizes()[d], stride = a.strides()[d];
    rows *= size;
    if (size == 1) continue;
    if (!seen) row_stride = stride;
    else if (stride != next_stride * next_size) return std::nullopt;
    seen = true;
    next_size = size;
    next_stride = stride;
  }
  return as_strided(a, {rows, a.sizes()[n - 1]}, {row_stride, a.strides()[n - 1]}, a.storage_offset());
}

// a [..., M, K] @ b [..., K, N] for operands with at least two dims.
Tensor matmul_matrices(const Tensor& a, const Tensor& b, const Shape& a_shape, const Shape& b_shape) {
  const std::int64_t M = a.size(-2), K = a.size(-1), N = b.size(-1);
  const Shape batch = broadcast_batch(a, b, a_shape, b_shape);
  // The nn.Linear case, x [..., M, K] @ w [K, N]: one GEMM over all rows beats `batch`
  // small ones, and needs no copy when x's rows are evenly spaced.
  if (b.dim() == 2 && a.dim() > 2) {
    if (auto rows = fold_rows(a); rows && blas_layout(*rows)) {
      Tensor out = make_empty({rows->size(0), N}, a.dtype(), a.device());
      gemm(*rows, blas_compatible(b), out);
      return view(out, concat(batch, {M, N}));
    }
  }
  Tensor a_full = expand(blas_compatible(a), concat(batch, {M, K}));
  Tensor b_full = expand(blas_compatible(b), concat(batch, {K, N}));
  Tensor out = make_empty(concat(batch, {M, N}), a.dtype(), a.device());
  gemm(a_full, b_full, out);
  return out;
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  check_operands("matmul", a, b);
  CAKE_CHECK(a.dim() >= 1 && b.dim() >= 1, "matmul: both operands need at least one dim, got shapes ", a.sizes(),
             " and ", b.sizes());
  const std::int64_t k_a = a.size(-1), k_b = b.dim() == 1 ? b.size(0) : b.size(-2);
  CAKE_CHECK(k_a == k_b, "matmul: shapes ", a.sizes(), " and ", b.sizes(), " cannot be multiplied (", k_a,
             " != ", k_b, ")");
  // NumPy's rule: a 1-D left operand is a row [1, K], a 1-D right operand a column [K, 1],
  // and the dim added for it is removed from the result.
  const Tensor a2 = a.dim() == 1 ? unsqueeze(a, 0) : a;
  const Tensor b2 = b.dim() == 1 ? unsqueeze(b, 1) : b;
  Tensor out = matmul_matrices(a2, b2, a.sizes(), b.sizes());
  if (a.dim() > 1 && b.dim() > 1) return out;
  Shape shape(out.sizes().begin(), out.sizes().end() - 2);
  if (a.dim() > 1) shape.push_back(out.size(-2));
  if (b.dim() > 1) shape.push_back(out.size(-1));
  return view(out, shape);
}

Tensor addmm(const Tensor& c, const Tensor& a, const Tensor& b, Scalar beta, Scalar alpha) {
  check_operands("addmm", a, b);
  check_operands("addmm", c, a);
  CAKE_CHECK(a.dim() == 2 && b.dim() == 2 && a.size(1) == b.size(0), "addmm: expected matrices [M, K] and [K, N], got shapes ",
             a.sizes(), " and ", b.sizes());
  const Shape shape{a.size(0), b.size(1)};
  CAKE_CHECK(broadcast_shapes(c.sizes(), shape, "addmm") == shape, "addmm: c of shape ", c.sizes(),
             " does not broadcast to the product's shape ", shape);
  Tensor out = make_empty(shape, a.dtype(), a.device());
  // With beta == 0 the GEMM never reads out, so NaNs in c do not leak in (as BLAS specifies).
  if (beta.to_double() != 0.0) copy_(out, c);
  gemm(blas_compatible(a), blas_compatible(b), out, alpha, beta);
  return out;
}

std::pair<Tensor, Tensor> nearest_rows(const Tensor& x, const Tensor& centres) {
  check_operands("nearest_rows", x, centres);
  CAKE_CHECK(x.is_floating_point(), "nearest_rows: expected floating-point points, got ", dtype_name(x.dtype()));
  CAKE_CHECK(x.dim() == 2 && centres.dim() == 2 && x.size(1) == centres.size(1) && centres.size(0) >= 1,
             "nearest_rows: expected points x [N, D] and centres [K, D] with K >= 1, got shapes ", x.sizes(), " and ",
             centres.sizes());
  Tensor sq = make_empty({x.size(0)}, x.dtype(), x.device());
  Tensor labels = make_empty({x.size(0)}, kInt64, x.device());
  if (x.size(0) > 0) nearest_rows_stub(x.device(), contiguous(x), contiguous(centres), sq, labels);
  return {sq, labels};
}

Tensor cdist_squared(const Tensor& a, const Tensor& b) {
  check_operands("cdist_squared", a, b);
  CAKE_CHECK(a.is_floating_point(), "cdist_squared: expected floating-point points, got ", dtype_name(a.dtype()));
  CAKE_CHECK(a.dim() == 2 && b.dim() == 2 && a.size(1) == b.size(1),
             "cdist_squared: expected points a [N, D] and b [M, D], got shapes ", a.sizes(), " and ", b.sizes());
  // |a_i - b_j|^2 = |a_i|^2 + |b_j|^2 - 2 a_i . b_j, the cross terms one GEMM per block of
  // rows, clamped at 0: for nearby points the expansion subtracts two large, nearly equal
  // numbers, and rounding can leave a small negative value (about eps * |a_i|^2), whose sqrt
  // would be NaN. See tensor/pairwise.h.
  Tensor out = make_empty({a.size(0), b.size(0)}, a.dtype(), a.device());
  cdist_squared_stub(a.device(), contiguous(a), contiguous(b), out);
  return out;
}

Tensor diagonal(const Tensor& x) {
  CAKE_CHECK(x.dim() == 2, "diagonal: expected a matrix, got shape ", x.sizes());
  const std::int64_t length = std::min(x.size(0), x.size(1));
  return as_strided(x, {length}, {x.stride(0) + x.stride(1)}, x.storage_offset());
}

Tensor trace(const Tensor& x) {
  CAKE_CHECK(x.dim() == 2, "trace: expected a matrix, got shape ", x.sizes());
  return sum(diagonal(x));
}

}  // namespace cake::native
