// Tests for the matrix products (autograd/ops.h "linear algebra", tensor/native/linalg.h) and
// the LAPACK layer (tensor/linalg.h).
//
// Products are checked against naive_matmul, a triple loop in double over explicitly
// broadcast operands, on every transpose combination, padded and stepped views, broadcast
// batches, vectors and empty dims. Decompositions are checked by reconstruction
// (A = V diag(w) V^T, A = U S Vh, ...) and on matrices with known answers.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include "helpers.h"
#include "cake/tensor/linalg.h"
#include "cake/tensor/native/elementwise.h"
#include "cake/tensor/native/linalg.h"
#include "cake/tensor/native/reduce.h"
#include "cake/tensor/pairwise.h"

using namespace cake;
using cake::testing::check_close;
using cake::testing::values;

namespace {

// NumPy matmul by definition, in double: vectors become a row/column, batch dims broadcast,
// out[..., i, j] = sum_k a[..., i, k] b[..., k, j].
Tensor naive_matmul(const Tensor& a_in, const Tensor& b_in) {
  Tensor a = a_in.dim() == 1 ? a_in.unsqueeze(0) : a_in;
  Tensor b = b_in.dim() == 1 ? b_in.unsqueeze(1) : b_in;
  const std::int64_t M = a.size(-2), K = a.size(-1), N = b.size(-1);
  Shape batch = native::broadcast_shapes(Shape(a.sizes().begin(), a.sizes().end() - 2),
                                         Shape(b.sizes().begin(), b.sizes().end() - 2));
  Shape a_shape = batch, b_shape = batch, out_shape = batch;
  a_shape.insert(a_shape.end(), {M, K});
  b_shape.insert(b_shape.end(), {K, N});
  out_shape.insert(out_shape.end(), {M, N});
  const std::vector<double> va = values(a.expand(a_shape)), vb = values(b.expand(b_shape));
  const std::int64_t count = shape_numel(batch);
  std::vector<double> out(static_cast<std::size_t>(count * M * N), 0.0);
  for (std::int64_t t = 0; t < count; ++t)
    for (std::int64_t i = 0; i < M; ++i)
      for (std::int64_t j = 0; j < N; ++j) {
        double s = 0;
        for (std::int64_t k = 0; k < K; ++k)
          s += va[static_cast<std::size_t>(t * M * K + i * K + k)] * vb[static_cast<std::size_t>(t * K * N + k * N + j)];
        out[static_cast<std::size_t>(t * M * N + i * N + j)] = s;
      }
  Shape final_shape = batch;
  if (a_in.dim() > 1) final_shape.push_back(M);
  if (b_in.dim() > 1) final_shape.push_back(N);
  return tensor(out, final_shape, kFloat64);
}

// matmul(a, b) against the naive product, with a tolerance that suits the dtype.
void check_matmul(const Tensor& a, const Tensor& b) {
  INFO("a ", shape_str(a.sizes()), " strides ", shape_str(a.strides()), ", b ", shape_str(b.sizes()), " strides ",
       shape_str(b.strides()), ", ", dtype_name(a.dtype()));
  Tensor y = matmul(a, b);
  CHECK(y.dtype() == a.dtype());
  const double tol = a.dtype() == kFloat32 ? 1e-4 : (a.dtype() == kFloat64 ? 1e-12 : 0.0);
  check_close(y, naive_matmul(a, b), tol, tol);
}

Tensor random_matrix(const Shape& shape, DType dtype) {
  if (dtype == kInt64) return randint(-5, 6, shape);
  return randn(shape, dtype);
}

// Random symmetric positive definite matrices [..., n, n]: X X^T + n I.
Tensor random_spd(const Shape& batch, std::int64_t n, DType dtype = kFloat64) {
  Shape shape = batch;
  shape.insert(shape.end(), {n, n});
  Tensor x = randn(shape, dtype);
  return matmul(x, x.transpose(-1, -2)) + eye(n, n, dtype) * static_cast<double>(n);
}

// The lower (or upper) triangle of a matrix, the rest zero; `unit` puts ones on the diagonal.
Tensor triangle(const Tensor& a, bool upper, bool unit = false) {
  Tensor t = a.to(kFloat64).clone();
  double* p = t.data_ptr<double>();
  const std::int64_t n = t.size(-1), count = t.numel() / (n * n);
  for (std::int64_t m = 0; m < count; ++m)
    for (std::int64_t i = 0; i < n; ++i)
      for (std::int64_t j = 0; j < n; ++j) {
        double& v = p[m * n * n + i * n + j];
        if (upper ? j < i : j > i) v = 0;
        if (unit && i == j) v = 1;
      }
  return t.to(a.dtype());
}

Tensor identity_like(const Tensor& a) {
  const std::int64_t n = a.size(-1);
  return eye(n, n, a.dtype()).expand(a.sizes());
}

}  // namespace

// ---- matmul ------------------------------------------------------------------------------------

TEST_CASE("matmul: every transpose combination (NN, NT, TN, TT) against the naive loop") {
  manual_seed(1);
  for (DType dtype : {kFloat32, kFloat64, kInt64}) {
    for (auto [M, K, N] : {std::array<std::int64_t, 3>{1, 1, 1}, {3, 5, 4}, {7, 1, 9}, {33, 17, 65}, {64, 64, 1}, {1, 33, 17}}) {
      for (bool ta : {false, true})
        for (bool tb : {false, true}) {
          Tensor a = ta ? random_matrix({K, M}, dtype).t() : random_matrix({M, K}, dtype);
          Tensor b = tb ? random_matrix({N, K}, dtype).t() : random_matrix({K, N}, dtype);
          if (ta && M > 1 && K > 1) CHECK(a.stride(0) == 1);  // really a transposed view
          check_matmul(a, b);
        }
    }
  }
}

TEST_CASE("matmul: padded, stepped and expanded views") {
  manual_seed(2);
  for (DType dtype : {kFloat32, kFloat64, kInt64}) {
    Tensor big_a = random_matrix({20, 30}, dtype), big_b = random_matrix({25, 40}, dtype);
    // Narrowed: leading dimension larger than the row (lda = 30 for an 11-column matrix).
    Tensor a = big_a.narrow(0, 2, 7).narrow(1, 3, 11);
    Tensor b = big_b.narrow(0, 4, 11).narrow(1, 5, 6);
    CHECK(a.stride(0) == 30);
    check_matmul(a, b);
    check_matmul(b.t(), a.t());                               // both transposed, padded
    check_matmul(big_a.narrow(1, 1, 13).t(), big_a.narrow(1, 0, 5));
    // Stepped slices (no unit stride) and expanded operands go through a copy.
    check_matmul(big_a.slice(1, 0, 30, 2), big_b.slice(0, 0, 15).narrow(1, 0, 8));
    check_matmul(big_a.slice(0, 0, 20, 3).slice(1, 0, 30, 3), big_b.narrow(0, 0, 10));
    check_matmul(random_matrix({1, 6}, dtype).expand({4, 6}), random_matrix({6, 3}, dtype));
    check_matmul(random_matrix({4, 6}, dtype), random_matrix({6, 1}, dtype).expand({6, 5}));
  }
}

TEST_CASE("matmul: batched and broadcast leading dims") {
  manual_seed(3);
  const std::vector<std::pair<Shape, Shape>> cases = {
      {{2, 3, 4, 5}, {5, 6}},        // folds into one GEMM
      {{3, 4, 5}, {3, 5, 6}},        // plain batch
      {{3, 1, 4, 5}, {2, 5, 6}},     // broadcast both ways
      {{4, 5}, {2, 3, 5, 6}},        // matrix @ batch
      {{2, 1, 4, 5}, {1, 3, 5, 6}},
      {{1, 4, 5}, {7, 5, 2}},
      {{64, 8, 8}, {64, 8, 8}},      // many tiny matrices
      {{6, 48, 48}, {6, 48, 48}},    // the batch split across threads (blas_kernels.cpp)
      {{5, 1, 3}, {3, 4}},
  };
  for (DType dtype : {kFloat32, kFloat64, kInt64})
    for (const auto& [sa, sb] : cases) check_matmul(random_matrix(sa, dtype), random_matrix(sb, dtype));
  // Transposed batches, and a batch whose rows cannot be folded into one matrix.
  Tensor a = randn({3, 5, 4}).transpose(1, 2);  // [3, 4, 5] with transposed matrices
  Tensor b = randn({3, 6, 5}).transpose(1, 2);
  check_matmul(a, b);
  check_matmul(a, randn({5, 6}));
  check_matmul(randn({4, 3, 5}).transpose(0, 1), randn({5, 2}));  // [3, 4, 5], batch stride < row span
  check_matmul(randn({2, 4, 5}, kFloat64).narrow(1, 1, 2), randn({5, 3}, kFloat64));
}

TEST_CASE("matmul: 1-D operands follow NumPy") {
  manual_seed(4);
  for (DType dtype : {kFloat32, kFloat64, kInt64}) {
    check_matmul(random_matrix({5}, dtype), random_matrix({5}, dtype));
    check_matmul(random_matrix({5}, dtype), random_matrix({5, 3}, dtype));
    check_matmul(random_matrix({4, 5}, dtype), random_matrix({5}, dtype));
    check_matmul(random_matrix({5}, dtype), random_matrix({2, 5, 3}, dtype));
    check_matmul(random_matrix({2, 4, 5}, dtype), random_matrix({5}, dtype));
    check_matmul(random_matrix({12}, dtype).slice(0, 0, 12, 2), random_matrix({4, 6}, dtype).t());
  }
  CHECK(matmul(randn({5}), randn({5})).dim() == 0);
  CHECK(matmul(randn({5}), randn({2, 5, 3})).sizes() == Shape{2, 3});
  CHECK(matmul(randn({2, 4, 5}), randn({5})).sizes() == Shape{2, 4});
  check_close(matmul(tensor({1.0, 2.0, 3.0}), tensor({4.0, 5.0, 6.0})), tensor({32.0}).view({}));
}

TEST_CASE("matmul: empty dims") {
  for (DType dtype : {kFloat32, kFloat64, kInt64}) {
    CHECK(matmul(zeros({0, 3}, dtype), zeros({3, 4}, dtype)).sizes() == Shape{0, 4});
    CHECK(matmul(zeros({2, 3}, dtype), zeros({3, 0}, dtype)).sizes() == Shape{2, 0});
    CHECK(matmul(zeros({0, 2, 3}, dtype), zeros({3, 4}, dtype)).sizes() == Shape{0, 2, 4});
    CHECK(matmul(zeros({2, 0, 3}, dtype), zeros({2, 3, 4}, dtype)).sizes() == Shape{2, 0, 4});
    // K = 0: an empty sum is 0, and addmm keeps beta * c.
    Tensor y = matmul(ones({2, 0}, dtype), ones({0, 3}, dtype));
    CHECK(values(y) == std::vector<double>(6, 0.0));
    Tensor c = full({2, 3}, 4, dtype);
    CHECK(values(addmm(c, ones({2, 0}, dtype), ones({0, 3}, dtype), 2)) == std::vector<double>(6, 8.0));
    CHECK(matmul(zeros({0}, dtype), zeros({0}, dtype)).item<double>() == 0.0);
  }
}

TEST_CASE("matmul: uint8 wraps as integers do") {
  Tensor a = full({2, 3}, 10, kUInt8), b = full({3, 2}, 10, kUInt8);
  Tensor y = matmul(a, b);  // 300 mod 256 = 44
  CHECK(y.dtype() == kUInt8);
  CHECK(values(y) == std::vector<double>(4, 44.0));
}

TEST_CASE("matmul: errors name both shapes") {
  CHECK_THROWS_WITH_AS(matmul(zeros({2, 3}), zeros({4, 5})), doctest::Contains("[2, 3] and [4, 5]"), Error);
  CHECK_THROWS_WITH_AS(matmul(zeros({3}), zeros({4})), doctest::Contains("[3] and [4]"), Error);
  CHECK_THROWS_WITH_AS(matmul(zeros({2, 2, 3}), zeros({3, 3, 4})), doctest::Contains("[2, 2, 3] and [3, 3, 4]"),
                       Error);
  CHECK_THROWS_WITH_AS(matmul(zeros({2, 3}), zeros({3, 4}, kFloat64)), doctest::Contains("float32 and float64"), Error);
  CHECK_THROWS_WITH_AS(matmul(zeros({2, 3}, kBool), zeros({3, 4}, kBool)), doctest::Contains("bool"), Error);
  CHECK_THROWS_WITH_AS(matmul(zeros({}), zeros({3})), doctest::Contains("at least one dim"), Error);
  CHECK_THROWS_WITH_AS(mm(zeros({2, 3}), zeros({3})), doctest::Contains("[2, 3] and [3]"), Error);
  CHECK_THROWS_WITH_AS(bmm(zeros({2, 2, 3}), zeros({3, 3, 4})), doctest::Contains("[2, 2, 3] and [3, 3, 4]"), Error);
  CHECK_THROWS_WITH_AS(dot(zeros({3}), zeros({4})), doctest::Contains("[3] and [4]"), Error);
  CHECK_THROWS_WITH_AS(addmm(zeros({3}), zeros({2, 3}), zeros({3, 4})), doctest::Contains("[3]"), Error);
  CHECK_THROWS_WITH_AS(cdist_squared(zeros({2, 3}), zeros({4, 5})), doctest::Contains("[2, 3] and [4, 5]"), Error);
}

// ---- mm, bmm, addmm, outer, dot, trace, cdist_squared -------------------------------------------

TEST_CASE("mm, bmm, dot, outer, trace: known answers") {
  Tensor a = tensor({1.0, 2.0, 3.0, 4.0}, {2, 2});
  Tensor b = tensor({5.0, 6.0, 7.0, 8.0}, {2, 2});
  check_close(mm(a, b), tensor({19.0, 22.0, 43.0, 50.0}, {2, 2}));
  check_close(bmm(a.unsqueeze(0).expand({3, 2, 2}), b.unsqueeze(0).expand({3, 2, 2})),
              tensor({19.0, 22.0, 43.0, 50.0}, {2, 2}).expand({3, 2, 2}));
  CHECK(dot(tensor({1.0, 2.0}), tensor({3.0, 4.0})).item<double>() == 11.0);
  check_close(outer(tensor({1.0, 2.0}), tensor({3.0, 4.0, 5.0})), tensor({3.0, 4.0, 5.0, 6.0, 8.0, 10.0}, {2, 3}));
  CHECK(trace(a).item<double>() == 5.0);
  CHECK(trace(arange(12).view({3, 4})).item<std::int64_t>() == 0 + 5 + 10);
  CHECK(trace(arange(12).view({4, 3}).t()).item<std::int64_t>() == 0 + 4 + 8);
}

TEST_CASE("addmm: beta * c + alpha * a @ b, c broadcast, beta = 0 ignores NaN") {
  manual_seed(5);
  for (DType dtype : {kFloat32, kFloat64}) {
    Tensor a = randn({4, 3}, dtype), b = randn({5, 3}, dtype).t(), c = randn({5}, dtype);
    Tensor expected = naive_matmul(a, b) * 2.0 + c.to(kFloat64) * 0.5;
    check_close(addmm(c, a, b, 0.5, 2.0), expected, 1e-5, 1e-5);
    Tensor nan_c = full({4, 5}, std::numeric_limits<double>::quiet_NaN(), dtype);
    check_close(addmm(nan_c, a, b, 0, 1), naive_matmul(a, b), 1e-5, 1e-5);
    // The matrix-vector paths (one output column, one output row) too.
    Tensor col = b.narrow(1, 0, 1), row = a.narrow(0, 1, 1);
    check_close(addmm(nan_c.narrow(1, 0, 1), a, col, 0, 1), naive_matmul(a, col), 1e-5, 1e-5);
    check_close(addmm(nan_c.narrow(0, 0, 1), row, b, 0, 1), naive_matmul(row, b), 1e-5, 1e-5);
    // native::gemm with beta = 0 overwrites out, NaN or not, on the gemm and both gemv paths.
    for (auto [x, y] : {std::pair{a, b}, std::pair{a, col}, std::pair{row, b}}) {
      Tensor out = full({x.size(0), y.size(1)}, std::numeric_limits<double>::quiet_NaN(), dtype);
      native::gemm(x, y, out, 1, 0);
      check_close(out, naive_matmul(x, y), 1e-5, 1e-5);
    }
    check_close(addmm(c, row, b, 0.5, 2.0), naive_matmul(row, b) * 2.0 + c.to(kFloat64) * 0.5, 1e-5, 1e-5);
  }
  check_close(addmm(ones({2, 2}, kInt64), arange(4).view({2, 2}), arange(4).view({2, 2}), 3, 2),
              tensor({7.0, 9.0, 15.0, 25.0}, {2, 2}, kInt64), 0, 0);
}

TEST_CASE("cdist_squared: against |a_i - b_j|^2, never negative") {
  manual_seed(6);
  for (DType dtype : {kFloat32, kFloat64}) {
    Tensor a = randn({7, 5}, dtype), b = randn({4, 10}, dtype).narrow(1, 2, 5);
    Tensor expected = (a.unsqueeze(1) - b.unsqueeze(0)).to(kFloat64).pow(2.0).sum({2});
    check_close(cdist_squared(a, b), expected, 1e-4, 1e-4);
    check_close(cdist_squared(a.t().contiguous().t(), b), expected, 1e-4, 1e-4);
    // Identical, large points: the expansion cancels catastrophically; the clamp keeps >= 0.
    Tensor far = randn({50, 8}, dtype) * 1000.0 + 1e4;
    Tensor d = cdist_squared(far, far);
    CHECK(d.min().item<double>() >= 0.0);
    CHECK(native::diagonal(d).max().item<double>() <= (dtype == kFloat32 ? 1e3 : 1e-4));
  }
  // Past one block of rows, with few (fused kernel) and many (GEMM) columns.
  for (const std::int64_t m : {3, 40}) {
    Tensor a = randn({700, 6}, kFloat64), b = randn({m, 6}, kFloat64);
    check_close(cdist_squared(a, b), (a.unsqueeze(1) - b.unsqueeze(0)).pow(2.0).sum({2}), 1e-10, 1e-10);
  }
  CHECK(cdist_squared(zeros({0, 3}), zeros({2, 3})).sizes() == Shape{0, 2});
  CHECK(values(cdist_squared(ones({2, 0}), ones({3, 0}))) == std::vector<double>(6, 0.0));
  CHECK_THROWS_WITH_AS(cdist_squared(zeros({2, 3}, kInt64), zeros({2, 3}, kInt64)), doctest::Contains("int64"), Error);
}

TEST_CASE("nearest_rows: each row's nearest centre and its squared distance, as min over cdist_squared") {
  manual_seed(8);
  for (DType dtype : {kFloat32, kFloat64}) {
    for (const std::int64_t k : {1, 7, 300}) {  // 300 x 20,000 rows spans several blocks of rows
      CAPTURE(k);
      const std::int64_t n = k == 300 ? 20000 : 50;
      const Tensor x = randn({n, 6}, dtype), centres = randn({k, 6}, dtype);
      const auto [sq, labels] = native::nearest_rows(x, centres);
      const auto [expected_sq, expected_labels] = native::min_with_indices(native::cdist_squared(x, centres), 1, false);
      CHECK(labels.dtype() == kInt64);
      CHECK(values(labels) == values(expected_labels));
      check_close(sq, expected_sq, 0, 0);
    }
  }
  // Ties go to the first centre; a centre equal to a point gives 0, never a negative distance.
  const Tensor twice = tensor({1.0, 2.0, 1.0, 2.0, 0.0, 0.0}, {3, 2});
  const auto [sq, labels] = native::nearest_rows(tensor({1.0, 2.0}, {1, 2}), twice);
  CHECK(labels.item<std::int64_t>() == 0);
  CHECK(sq.item<double>() == 0.0);
  CHECK(native::nearest_rows(zeros({0, 2}), twice).second.sizes() == Shape{0});
  // NaN never wins, as on CUDA: a NaN centre is passed over; a row with a NaN (or only NaN
  // centres) gets label 0 and distance NaN.
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const Tensor with_nan_centre = tensor({nan, 0.0, 5.0, 5.0, 1.0, 1.0}, {3, 2});
  const auto [nsq, nlabels] = native::nearest_rows(tensor({1.0, 1.0, nan, 2.0}, {2, 2}), with_nan_centre);
  CHECK(values(nlabels) == std::vector<double>{2, 0});
  CHECK(values(nsq)[0] == 0.0);
  CHECK(std::isnan(values(nsq)[1]));
  const auto [all_nan_sq, all_nan_labels] = native::nearest_rows(tensor({1.0, 1.0}, {1, 2}), tensor({nan, 1.0}, {1, 2}));
  CHECK(all_nan_labels.item<std::int64_t>() == 0);
  CHECK(std::isnan(all_nan_sq.item<double>()));
  CHECK_THROWS_WITH_AS(native::nearest_rows(zeros({2, 3}), zeros({0, 3})), doctest::Contains("K >= 1"), Error);
  CHECK_THROWS_WITH_AS(native::nearest_rows(zeros({2, 3}), zeros({4, 2})), doctest::Contains("[2, 3] and [4, 2]"),
                       Error);
}

// |x_i - c_j|^2 by the definition, one difference at a time, in double.
std::vector<double> naive_squared_distances(const std::vector<double>& x, std::int64_t n, const std::vector<double>& c,
                                            std::int64_t m, std::int64_t d) {
  std::vector<double> out(static_cast<std::size_t>(n * m));
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = 0; j < m; ++j) {
      double s = 0;
      for (std::int64_t f = 0; f < d; ++f) {
        const double diff = x[static_cast<std::size_t>(i * d + f)] - c[static_cast<std::size_t>(j * d + f)];
        s += diff * diff;
      }
      out[static_cast<std::size_t>(i * m + j)] = s;
    }
  return out;
}

template <class T>
void check_pairwise_routine(std::int64_t n, std::int64_t m, std::int64_t d) {
  CAPTURE(n);
  CAPTURE(m);
  CAPTURE(d);
  const Tensor xt = randn({n, d}, dtype_of<T>()), ct = randn({m, d}, dtype_of<T>());
  const std::vector<double> expected = naive_squared_distances(values(xt), n, values(ct), m, d);
  const double tol = std::is_same_v<T, float> ? 1e-4 : 1e-10;
  const T* x = xt.data_ptr<T>();
  const T* c = ct.data_ptr<T>();
  std::vector<T> x_sq(static_cast<std::size_t>(n)), c_sq(static_cast<std::size_t>(m));
  pairwise::row_squared_norms(x, n, d, x_sq.data());
  pairwise::row_squared_norms(c, m, d, c_sq.data());
  // The whole matrix at once.
  std::vector<T> full(static_cast<std::size_t>(n * m));
  pairwise::squared_distances(x, n, x_sq.data(), c, m, c_sq.data(), d, full.data());
  for (std::size_t i = 0; i < full.size(); ++i) CHECK(static_cast<double>(full[i]) == doctest::Approx(expected[i]).epsilon(tol));
  // Streamed: every row visited exactly once, each block holding that block's rows. (Not bit
  // for bit the whole-matrix result: the blocks differ in height, and GEMM rounds by shape.)
  std::vector<int> visits(static_cast<std::size_t>(n), 0);
  std::vector<T> streamed(static_cast<std::size_t>(n * m));
  pairwise::for_each_distance_block(x, x_sq.data(), n, d, c, c_sq.data(), m,
                                    [&](int, std::int64_t lo, std::int64_t hi, const T* dist) {
                                      for (std::int64_t i = lo; i < hi; ++i) {
                                        ++visits[static_cast<std::size_t>(i)];
                                        std::copy(dist + (i - lo) * m, dist + (i - lo + 1) * m, streamed.begin() + i * m);
                                      }
                                    });
  CHECK(std::all_of(visits.begin(), visits.end(), [](int v) { return v == 1; }));
  for (std::size_t i = 0; i < streamed.size(); ++i)
    CHECK(static_cast<double>(streamed[i]) == doctest::Approx(expected[i]).epsilon(tol));
}

TEST_CASE("pairwise: the blocked routine against the naive loop, few (fused FMA) and many (GEMM) columns") {
  manual_seed(8);
  // m <= 8 and m <= 16 take the broadcast-FMA kernel (rows in groups of 8, then one by one);
  // m > 16 takes GEMM; n > 256 spans several blocks; d = 0 is an empty sum.
  for (const auto& [n, m, d] : std::vector<std::tuple<std::int64_t, std::int64_t, std::int64_t>>{
           {13, 1, 3}, {600, 5, 20}, {300, 12, 7}, {531, 40, 9}, {70, 70, 33}, {5, 30, 0}, {0, 4, 3}}) {
    check_pairwise_routine<float>(n, m, d);
    check_pairwise_routine<double>(n, m, d);
  }
}

TEST_CASE("matmul: a large product (multi-threaded OpenBLAS) matches the naive loop") {
  manual_seed(7);
  Tensor a = randn({150, 200}, kFloat64), b = randn({300, 200}, kFloat64).t();
  check_matmul(a, b);
}

// ---- LAPACK --------------------------------------------------------------------------------------

TEST_CASE("linalg.eigh: A = V diag(w) V^T, ascending, orthonormal, lower triangle only") {
  manual_seed(10);
  for (DType dtype : {kFloat32, kFloat64}) {
    const double tol = dtype == kFloat32 ? 1e-3 : 1e-10;
    Tensor A = random_spd({}, 6, dtype);
    auto [w, V] = linalg::eigh(A);
    CHECK(w.sizes() == Shape{6});
    CHECK(V.sizes() == Shape{6, 6});
    check_close(matmul(V * w.unsqueeze(0), V.t()), A, tol, tol);
    check_close(matmul(V.t(), V), eye(6, 6, dtype), tol, tol);
    const auto wv = values(w);
    for (std::size_t i = 1; i < wv.size(); ++i) CHECK(wv[i - 1] <= wv[i]);
    // Garbage above the diagonal is never read.
    Tensor lower = triangle(A, false);
    check_close(linalg::eigh(lower).eigenvalues, w, tol, tol);
    // Any layout: a transposed view of a symmetric matrix is the same matrix.
    check_close(linalg::eigh(A.t()).eigenvalues, w, tol, tol);
  }
  check_close(linalg::eigh(tensor({2.0, 1.0, 1.0, 2.0}, {2, 2}, kFloat64)).eigenvalues, tensor({1.0, 3.0}, {2}, kFloat64));
  // Batched.
  Tensor batch = random_spd({3}, 4);
  auto [w, V] = linalg::eigh(batch);
  CHECK(w.sizes() == Shape{3, 4});
  check_close(matmul(V * w.unsqueeze(-2), V.transpose(-1, -2)), batch, 1e-10, 1e-10);
  CHECK(linalg::eigh(zeros({0, 0}, kFloat64)).eigenvalues.sizes() == Shape{0});
  CHECK_THROWS_WITH_AS(linalg::eigh(zeros({2, 3})), doctest::Contains("[2, 3]"), Error);
  CHECK_THROWS_WITH_AS(linalg::eigh(zeros({2, 2}, kInt64)), doctest::Contains("float32 or float64"), Error);
}

TEST_CASE("native::eigh_stub: the backend contract (eigenvectors stored column-major, in place)") {
  // Every backend's kernel overwrites a contiguous [..., n, n] buffer with V column-major (read
  // row-major: V^T) and writes ascending eigenvalues; linalg::eigh transposes once afterwards.
  // diag(3, 1) has eigenvalues 1, 3 with eigenvectors e_1 then e_0 (up to sign).
  Tensor work = tensor({3.0, 0.0, 0.0, 1.0}, {1, 2, 2}, kFloat64);
  Tensor w = empty({1, 2}, kFloat64);
  native::eigh_stub(Device::cpu(), work, w);
  check_close(w, tensor({1.0, 3.0}, {1, 2}, kFloat64));
  check_close(work.abs(), tensor({0.0, 1.0, 1.0, 0.0}, {1, 2, 2}, kFloat64));
  // An asymmetric V makes the storage order visible: the rows of the buffer are eigenvectors.
  const Tensor A = tensor({2.0, 1.0, 1.0, 2.0}, {2, 2}, kFloat64);
  Tensor buffer = A.clone();
  Tensor w2 = empty({2}, kFloat64);
  native::eigh_stub(Device::cpu(), buffer, w2);
  for (std::int64_t i = 0; i < 2; ++i) {
    const Tensor v = buffer.select(0, i);  // row i of the buffer = column i of V
    check_close(matmul(A, v), w2.select(0, i) * v, 1e-12, 1e-12);
  }
}

TEST_CASE("linalg.eigh: error messages name the shape and the dtype") {
  CHECK_THROWS_WITH_AS(linalg::eigh(zeros({4, 2, 3}, kFloat64)), doctest::Contains("square"), Error);
  CHECK_THROWS_WITH_AS(linalg::eigh(zeros({4, 2, 3}, kFloat64)), doctest::Contains("[4, 2, 3]"), Error);
  CHECK_THROWS_WITH_AS(linalg::eigh(zeros({3})), doctest::Contains("[3]"), Error);
  CHECK_THROWS_WITH_AS(linalg::eigh(zeros({2, 2}, kUInt8)), doctest::Contains("uint8"), Error);
  CHECK_THROWS_WITH_AS(linalg::eigh(Tensor()), doctest::Contains("undefined"), Error);
  // Empty batch and 0 x 0 matrices: shapes only, no kernel call.
  const linalg::EighResult none = linalg::eigh(zeros({0, 3, 3}, kFloat32));
  CHECK(none.eigenvalues.sizes() == Shape{0, 3});
  CHECK(none.eigenvectors.sizes() == Shape{0, 3, 3});
  CHECK(none.eigenvalues.dtype() == kFloat32);
}

TEST_CASE("linalg.svd: A = U diag(S) Vh, reduced and full, tall and wide") {
  manual_seed(11);
  for (DType dtype : {kFloat32, kFloat64}) {
    const double tol = dtype == kFloat32 ? 1e-4 : 1e-10;
    for (Shape shape : {Shape{6, 4}, Shape{3, 5}, Shape{2, 5, 3}}) {
      Tensor A = randn(shape, dtype);
      const std::int64_t m = A.size(-2), n = A.size(-1), k = std::min(m, n);
      auto [U, S, Vh] = linalg::svd(A);
      CHECK(U.size(-1) == k);
      CHECK(Vh.size(-2) == k);
      check_close(matmul(U * S.unsqueeze(-2), Vh), A, tol, tol);
      check_close(matmul(U.transpose(-1, -2), U), identity_like(matmul(U.transpose(-1, -2), U)), tol, tol);
      check_close(matmul(Vh, Vh.transpose(-1, -2)), identity_like(matmul(Vh, Vh.transpose(-1, -2))), tol, tol);
      const auto sv = values(S.reshape({-1, k}).select(0, 0));
      for (std::size_t i = 1; i < sv.size(); ++i) CHECK(sv[i - 1] >= sv[i]);
      CHECK(S.min().item<double>() >= 0.0);
      auto full = linalg::svd(A, true);
      CHECK(full.U.size(-1) == m);
      CHECK(full.Vh.size(-1) == n);
      check_close(matmul(full.U.transpose(-1, -2), full.U), identity_like(matmul(full.U.transpose(-1, -2), full.U)), tol, tol);
      check_close(full.S, S, tol, tol);
      // U[:, :k] diag(S) Vh[:k] reconstructs A from the full factors too.
      check_close(matmul(full.U.narrow(-1, 0, k) * S.unsqueeze(-2), full.Vh.narrow(-2, 0, k)), A, tol, tol);
    }
  }
  // Known: the singular values of a diagonal matrix are its |entries|, sorted.
  check_close(linalg::svd(tensor({0.0, 0.0, -3.0, 0.0, 5.0, 0.0, 1.0, 0.0, 0.0}, {3, 3}, kFloat64)).S,
              tensor({5.0, 3.0, 1.0}, {3}, kFloat64), 1e-12, 1e-12);
  auto empty = linalg::svd(zeros({3, 0}, kFloat64), true);
  CHECK(empty.U.sizes() == Shape{3, 3});
  CHECK(empty.S.sizes() == Shape{0});
}

TEST_CASE("linalg.cholesky: L L^T = A, upper variant, error names the minor") {
  manual_seed(12);
  for (DType dtype : {kFloat32, kFloat64}) {
    const double tol = dtype == kFloat32 ? 1e-4 : 1e-12;
    Tensor A = random_spd({}, 5, dtype);
    Tensor L = linalg::cholesky(A);
    check_close(L, triangle(L, false), 0, 0);  // exactly zero above the diagonal
    check_close(matmul(L, L.t()), A, tol, tol);
    Tensor U = linalg::cholesky(A, true);
    check_close(U, triangle(U, true), 0, 0);
    check_close(matmul(U.t(), U), A, tol, tol);
    check_close(U, L.t(), tol, tol);
    check_close(linalg::cholesky(triangle(A, false)), L, tol, tol);  // reads the lower triangle only
  }
  check_close(linalg::cholesky(tensor({4.0, 2.0, 2.0, 5.0}, {2, 2}, kFloat64)), tensor({2.0, 0.0, 1.0, 2.0}, {2, 2}, kFloat64));
  Tensor batch = random_spd({2, 3}, 4);
  Tensor L = linalg::cholesky(batch);
  check_close(matmul(L, L.transpose(-1, -2)), batch, 1e-12, 1e-12);
  CHECK_THROWS_WITH_AS(linalg::cholesky(tensor({1.0, 2.0, 2.0, 1.0}, {2, 2}, kFloat64)),
                       doctest::Contains("leading minor of order 2"), Error);
  Tensor bad = random_spd({3}, 3);
  bad.select(0, 1).fill_(-1.0);
  CHECK_THROWS_WITH_AS(linalg::cholesky(bad), doctest::Contains("matrix 1 of the batch"), Error);
}

TEST_CASE("linalg.solve_triangular: left/right, upper/lower, unit diagonal") {
  manual_seed(13);
  for (DType dtype : {kFloat32, kFloat64}) {
    const double tol = dtype == kFloat32 ? 1e-3 : 1e-10;
    Tensor raw = randn({4, 4}, dtype) + eye(4, 4, dtype) * 4.0;
    for (bool upper : {false, true})
      for (bool unit : {false, true}) {
        Tensor T = triangle(raw, upper, unit);
        Tensor B = randn({4, 3}, dtype);
        // Only the triangle is read, and with `unit` not even its diagonal.
        Tensor X = linalg::solve_triangular(raw, B, upper, true, unit);
        check_close(matmul(T, X), B, tol, tol);
        Tensor Br = randn({3, 4}, dtype);
        Tensor Xr = linalg::solve_triangular(raw, Br, upper, false, unit);
        check_close(matmul(Xr, T), Br, tol, tol);
      }
  }
  // Batched A against a broadcast B, and a transposed-view A.
  Tensor A = triangle(randn({2, 3, 3}, kFloat64) + eye(3, 3, kFloat64) * 3.0, false);
  Tensor B = randn({3, 2}, kFloat64);
  Tensor X = linalg::solve_triangular(A, B, false);
  CHECK(X.sizes() == Shape{2, 3, 2});
  check_close(matmul(A, X), B.expand({2, 3, 2}), 1e-10, 1e-10);
  Tensor Xt = linalg::solve_triangular(A.select(0, 0).t(), B, true);
  check_close(matmul(A.select(0, 0).t(), Xt), B, 1e-10, 1e-10);
  CHECK_THROWS_WITH_AS(linalg::solve_triangular(eye(3), zeros({4, 2}), false), doctest::Contains("[4, 2]"), Error);
}

TEST_CASE("linalg.solve and inv: A X = B, vectors, batches, singular matrices") {
  manual_seed(14);
  for (DType dtype : {kFloat32, kFloat64}) {
    const double tol = dtype == kFloat32 ? 1e-3 : 1e-10;
    Tensor A = randn({5, 5}, dtype) + eye(5, 5, dtype) * 3.0;
    Tensor B = randn({5, 2}, dtype);
    check_close(matmul(A, linalg::solve(A, B)), B, tol, tol);
    check_close(matmul(A.t(), linalg::solve(A.t(), B)), B, tol, tol);  // a transposed view
    Tensor b = randn({5}, dtype);
    Tensor x = linalg::solve(A, b);
    CHECK(x.sizes() == Shape{5});
    check_close(matmul(A, x), b, tol, tol);
    check_close(matmul(A, linalg::inv(A)), eye(5, 5, dtype), tol, tol);
  }
  check_close(linalg::solve(tensor({2.0, 0.0, 0.0, 4.0}, {2, 2}, kFloat64), tensor({2.0, 2.0}, {2}, kFloat64)),
              tensor({1.0, 0.5}, {2}, kFloat64));
  Tensor A = randn({3, 4, 4}, kFloat64) + eye(4, 4, kFloat64) * 3.0;
  Tensor B = randn({4, 2}, kFloat64);
  check_close(matmul(A, linalg::solve(A, B)), B.expand({3, 4, 2}), 1e-10, 1e-10);
  check_close(matmul(linalg::inv(A), A), identity_like(A), 1e-10, 1e-10);
  CHECK_THROWS_WITH_AS(linalg::solve(tensor({1.0, 2.0, 2.0, 4.0}, {2, 2}, kFloat64), tensor({1.0, 1.0}, {2}, kFloat64)),
                       doctest::Contains("singular"), Error);
  CHECK_THROWS_WITH_AS(linalg::inv(zeros({3, 3})), doctest::Contains("singular"), Error);
  CHECK_THROWS_WITH_AS(linalg::solve(eye(3), zeros({4})), doctest::Contains("[4]"), Error);
}

TEST_CASE("linalg.det and slogdet: known values, pivots, singular, batched") {
  auto det_of = [](std::initializer_list<double> v, std::int64_t n) {
    return linalg::det(tensor(v, {n, n}, kFloat64)).item<double>();
  };
  CHECK(det_of({1, 2, 3, 4}, 2) == doctest::Approx(-2.0));
  CHECK(det_of({0, 1, 1, 0}, 2) == doctest::Approx(-1.0));  // one row swap
  CHECK(det_of({2, 0, 0, 0, 3, 0, 0, 0, 4}, 3) == doctest::Approx(24.0));
  CHECK(det_of({6, 1, 1, 4, -2, 5, 2, 8, 7}, 3) == doctest::Approx(-306.0));
  CHECK(det_of({1, 2, 3, 4, 5, 6, 7, 8, 9}, 3) == doctest::Approx(0.0).scale(1e-12));
  CHECK(det_of({1, 2, 2, 4}, 2) == 0.0);  // exactly singular
  CHECK(linalg::det(tensor({1.0, 2.0, 3.0, 4.0}, {2, 2})).item<float>() == doctest::Approx(-2.0f));
  auto [sign, logabs] = linalg::slogdet(tensor({6, 1, 1, 4, -2, 5, 2, 8, 7}, {3, 3}, kFloat64));
  CHECK(sign.item<double>() == -1.0);
  CHECK(logabs.item<double>() == doctest::Approx(std::log(306.0)));
  auto singular = linalg::slogdet(tensor({1.0, 2.0, 2.0, 4.0}, {2, 2}, kFloat64));
  CHECK(singular.sign.item<double>() == 0.0);
  CHECK(singular.logabsdet.item<double>() == -std::numeric_limits<double>::infinity());
  // Batched, against the product of eigenvalues of s.p.d. matrices.
  manual_seed(15);
  Tensor S = random_spd({4}, 5);
  Tensor expected = linalg::eigh(S).eigenvalues.prod({1});
  check_close(linalg::det(S), expected, 1e-10, 1e-10);
  check_close(linalg::slogdet(S).logabsdet, expected.log(), 1e-10, 1e-10);
  // A 200x200 matrix 10 I has det 1e200; slogdet stays finite where det would overflow float32.
  auto big = linalg::slogdet(eye(200, 200, kFloat32) * 10.0);
  CHECK(big.logabsdet.item<double>() == doctest::Approx(200 * std::log(10.0)).epsilon(1e-5));
  CHECK(linalg::det(zeros({0, 0}, kFloat64)).item<double>() == 1.0);
}

TEST_CASE("linalg.qr: Q orthonormal, R upper triangular, QR = A") {
  manual_seed(16);
  for (DType dtype : {kFloat32, kFloat64}) {
    const double tol = dtype == kFloat32 ? 1e-4 : 1e-10;
    for (Shape shape : {Shape{6, 4}, Shape{3, 5}, Shape{4, 4}, Shape{2, 5, 3}}) {
      Tensor A = randn(shape, dtype);
      auto [Q, R] = linalg::qr(A);
      const std::int64_t k = std::min(A.size(-2), A.size(-1));
      CHECK(Q.size(-1) == k);
      CHECK(R.size(-2) == k);
      Tensor QtQ = matmul(Q.transpose(-1, -2), Q);
      check_close(QtQ, identity_like(QtQ), tol, tol);
      check_close(matmul(Q, R), A, tol, tol);
      const auto r = values(R.reshape({-1, k, A.size(-1)}).select(0, 0));
      for (std::int64_t i = 0; i < k; ++i)
        for (std::int64_t j = 0; j < std::min(i, A.size(-1)); ++j) CHECK(r[static_cast<std::size_t>(i * A.size(-1) + j)] == 0.0);
    }
  }
  Tensor wide = randn({5, 3}, kFloat64).t();  // a transposed view [3, 5]
  auto [Q, R] = linalg::qr(wide);
  check_close(matmul(Q, R), wide, 1e-10, 1e-10);
  auto empty = linalg::qr(zeros({4, 0}, kFloat64));
  CHECK(empty.Q.sizes() == Shape{4, 0});
  CHECK(empty.R.sizes() == Shape{0, 0});
}

TEST_CASE("linalg.randomized_svd: the full SVD's leading triplets on a low-rank matrix") {
  manual_seed(17);
  for (DType dtype : {kFloat32, kFloat64}) {
    const std::string dtype_text = dtype_name(dtype);
    CAPTURE(dtype_text);
    const double tol = dtype == kFloat32 ? 2e-3 : 1e-8;
    // A [120, 50] of rank 6 with well-separated singular values: a sketch of l = k + p >= 6
    // columns spans its range exactly, so the result matches the full SVD to rounding.
    const Tensor left = linalg::qr(randn({120, 6}, kFloat64)).Q, right = linalg::qr(randn({50, 6}, kFloat64)).Q;
    const Tensor sigma = tensor({40.0, 20.0, 10.0, 5.0, 2.5, 1.0});
    const Tensor a = matmul(left * sigma, right.t()).to(dtype);
    const linalg::SvdResult full = linalg::svd(a);
    // Without re-conditioning, power iterations multiply the sketch by (A A^T)^q and its columns
    // collapse onto the top singular vector in rounding (section 4.5): one iteration only.
    for (const std::string normalizer : {"auto", "QR", "LU", "none"}) {
      CAPTURE(normalizer);
      const linalg::SvdResult r = linalg::randomized_svd(
          a, 4, {.oversamples = 4, .power_iterations = normalizer == "none" ? 1 : -1, .normalizer = normalizer});
      REQUIRE(r.U.sizes() == Shape{120, 4});
      REQUIRE(r.S.sizes() == Shape{4});
      REQUIRE(r.Vh.sizes() == Shape{4, 50});
      CHECK(r.S.dtype() == dtype);
      check_close(r.S, full.S.narrow(0, 0, 4), tol, tol * 40);
      // Singular vectors agree up to sign: |<u_i, u_i'>| = 1.
      const Tensor u_cos = (r.U.to(kFloat64) * full.U.narrow(1, 0, 4).to(kFloat64)).sum({0}).abs();
      const Tensor v_cos = (r.Vh.to(kFloat64) * full.Vh.narrow(0, 0, 4).to(kFloat64)).sum({1}).abs();
      check_close(u_cos, ones({4}, kFloat64), tol, tol);
      check_close(v_cos, ones({4}, kFloat64), tol, tol);
    }
    // k = rank: U S Vh rebuilds A.
    const linalg::SvdResult r = linalg::randomized_svd(a, 6, {.oversamples = 2});
    check_close(matmul(r.U * r.S, r.Vh), a, tol, tol * 40);
  }
}

TEST_CASE("linalg.randomized_svd: column_shift factors the centred matrix without forming it") {
  manual_seed(18);
  const Tensor a = randn({80, 30}, kFloat64);
  const Tensor mean = a.mean({0});
  manual_seed(19);
  const linalg::SvdResult implicit = linalg::randomized_svd(a, 5, {.power_iterations = 3, .column_shift = mean});
  manual_seed(19);
  const linalg::SvdResult explicit_ = linalg::randomized_svd(a - mean, 5, {.power_iterations = 3});
  check_close(implicit.S, explicit_.S, 1e-10, 1e-10);
  check_close(implicit.U, explicit_.U, 1e-8, 1e-8);
  check_close(implicit.Vh, explicit_.Vh, 1e-8, 1e-8);
  CHECK_FALSE(linalg::randomized_svd(a, 5, {.compute_u = false}).U.defined());
  CHECK_THROWS_WITH_AS(linalg::randomized_svd(a, 31), doctest::Contains("k must be in [1, min(m, n) = 30]"), Error);
  CHECK_THROWS_WITH_AS(linalg::randomized_svd(a, 2, {.normalizer = "SVD"}), doctest::Contains("unknown normalizer"), Error);
  CHECK_THROWS_WITH_AS(linalg::randomized_svd(a, 2, {.column_shift = zeros({29}, kFloat64)}),
                       doctest::Contains("column_shift must have shape [30]"), Error);
}
