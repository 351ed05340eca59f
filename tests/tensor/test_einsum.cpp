// test_einsum.cpp: cake::einsum (autograd/einsum.h) against direct loops in float64, one case
// per rule of the notation (contraction, batch, outer product, diagonal, trace, transpose,
// implicit output, "..." broadcasting, size-1 broadcasting, empty dims, strided inputs), and
// its error messages. The gradients are checked in tests/autograd/gradcheck_cases_einsum.cpp.
#include <array>
#include <string>
#include <vector>

#include "helpers.h"

using namespace cake;
using cake::testing::check_close;
using cake::testing::error_message;
using cake::testing::values;

namespace {

// A tensor's values with row-major indexing, for the reference loops: at({i, j, k}).
struct Dense {
  std::vector<double> v;
  Shape shape;
  explicit Dense(const Tensor& t) : v(values(t)), shape(t.sizes()) {}
  double at(std::initializer_list<std::int64_t> index) const {
    std::int64_t flat = 0, d = 0;
    for (const std::int64_t i : index) flat = flat * shape[static_cast<std::size_t>(d++)] + i;
    return v[static_cast<std::size_t>(flat)];
  }
};

// A float64 tensor of the given shape with the reference values in row-major order.
Tensor from_values(const std::vector<double>& v, const Shape& shape) { return tensor(v, shape, kFloat64); }

Tensor random(const Shape& shape) { return randn(shape, kFloat64); }

}  // namespace

TEST_CASE("einsum: matrix product, batched product, outer product") {
  manual_seed(0);
  const Tensor a = random({3, 4}), b = random({4, 5});
  const Dense A(a), B(b);
  std::vector<double> expected;
  for (std::int64_t i = 0; i < 3; ++i)
    for (std::int64_t k = 0; k < 5; ++k) {
      double s = 0;
      for (std::int64_t j = 0; j < 4; ++j) s += A.at({i, j}) * B.at({j, k});
      expected.push_back(s);
    }
  check_close(einsum("ij,jk->ik", {a, b}), from_values(expected, {3, 5}), 1e-12, 1e-12);
  check_close(einsum("ij,jk", {a, b}), from_values(expected, {3, 5}), 1e-12, 1e-12);           // implicit
  check_close(einsum(" i j , j k -> i k ", {a, b}), from_values(expected, {3, 5}), 1e-12, 1e-12);  // spaces
  // The other three overloads: std::vector, std::span, std::array.
  const std::vector<Tensor> pair{a, b};
  check_close(einsum("ij,jk->ik", pair), from_values(expected, {3, 5}), 1e-12, 1e-12);
  const std::array<Tensor, 2> array{a, b};
  check_close(einsum("ij,jk->ik", std::span<const Tensor>(array)), from_values(expected, {3, 5}), 1e-12, 1e-12);
  // The transposed result: "ij,jk->ki".
  std::vector<double> transposed;
  for (std::int64_t k = 0; k < 5; ++k)
    for (std::int64_t i = 0; i < 3; ++i) transposed.push_back(expected[static_cast<std::size_t>(i * 5 + k)]);
  check_close(einsum("ij,jk->ki", {a, b}), from_values(transposed, {5, 3}), 1e-12, 1e-12);

  const Tensor x = random({2, 3, 4}), y = random({2, 4, 5});
  const Dense X(x), Y(y);
  std::vector<double> batched;
  for (std::int64_t n = 0; n < 2; ++n)
    for (std::int64_t i = 0; i < 3; ++i)
      for (std::int64_t k = 0; k < 5; ++k) {
        double s = 0;
        for (std::int64_t j = 0; j < 4; ++j) s += X.at({n, i, j}) * Y.at({n, j, k});
        batched.push_back(s);
      }
  check_close(einsum("bij,bjk->bik", {x, y}), from_values(batched, {2, 3, 5}), 1e-12, 1e-12);

  const Tensor u = random({3}), v = random({4});
  const Dense U(u), V(v);
  std::vector<double> outer;
  for (std::int64_t i = 0; i < 3; ++i)
    for (std::int64_t j = 0; j < 4; ++j) outer.push_back(U.at({i}) * V.at({j}));
  check_close(einsum("i,j->ij", {u, v}), from_values(outer, {3, 4}), 1e-12, 1e-12);
  // Dot product, and the elementwise product "i,i->i".
  const Tensor w = random({3});
  const Dense W(w);
  double dot = 0;
  std::vector<double> hadamard;
  for (std::int64_t i = 0; i < 3; ++i) {
    dot += U.at({i}) * W.at({i});
    hadamard.push_back(U.at({i}) * W.at({i}));
  }
  check_close(einsum("i,i->", {u, w}), from_values({dot}, {}), 1e-12, 1e-12);
  check_close(einsum("i,i", {u, w}), from_values({dot}, {}), 1e-12, 1e-12);
  check_close(einsum("i,i->i", {u, w}), from_values(hadamard, {3}), 1e-12, 1e-12);
}

TEST_CASE("einsum: one operand: trace, diagonal, transpose, sums") {
  manual_seed(1);
  const Tensor m = random({4, 4});
  const Dense M(m);
  double trace = 0;
  std::vector<double> diagonal;
  for (std::int64_t i = 0; i < 4; ++i) {
    trace += M.at({i, i});
    diagonal.push_back(M.at({i, i}));
  }
  check_close(einsum("ii->", {m}), from_values({trace}, {}), 1e-12, 1e-12);
  check_close(einsum("ii", {m}), from_values({trace}, {}), 1e-12, 1e-12);  // implicit: i occurs twice
  check_close(einsum("ii->i", {m}), from_values(diagonal, {4}), 1e-12, 1e-12);

  const Tensor x = random({2, 3});
  const Dense X(x);
  std::vector<double> transposed, row_sums;
  double total = 0;
  for (std::int64_t j = 0; j < 3; ++j)
    for (std::int64_t i = 0; i < 2; ++i) transposed.push_back(X.at({i, j}));
  for (std::int64_t i = 0; i < 2; ++i) {
    double s = 0;
    for (std::int64_t j = 0; j < 3; ++j) s += X.at({i, j});
    row_sums.push_back(s);
    total += s;
  }
  check_close(einsum("ij->ji", {x}), from_values(transposed, {3, 2}), 1e-12, 1e-12);
  check_close(einsum("ji", {x}), from_values(transposed, {3, 2}), 1e-12, 1e-12);  // implicit output "ij"
  check_close(einsum("ij->", {x}), from_values({total}, {}), 1e-12, 1e-12);
  check_close(einsum("ij->i", {x}), from_values(row_sums, {2}), 1e-12, 1e-12);
  check_close(einsum("ij->ij", {x}), x, 0, 0);
  // Implicit order is alphabetical with A-Z before a-z: "bA" means "bA->Ab", a transpose.
  check_close(einsum("bA", {x}), from_values(transposed, {3, 2}), 1e-12, 1e-12);
  check_close(einsum("Ab", {x}), x, 0, 0);

  // A label three times in one operand: the diagonal x[i, i, i]; with another label between.
  const Tensor c = random({3, 2, 3, 3});
  const Dense C(c);
  std::vector<double> diag3;
  for (std::int64_t i = 0; i < 3; ++i)
    for (std::int64_t j = 0; j < 2; ++j) diag3.push_back(C.at({i, j, i, i}));
  check_close(einsum("ijii->ij", {c}), from_values(diag3, {3, 2}), 1e-12, 1e-12);
  // Two repeated labels: x[i, j, i, j].
  const Tensor d = random({2, 3, 2, 3});
  const Dense D(d);
  std::vector<double> diag22;
  for (std::int64_t j = 0; j < 3; ++j)
    for (std::int64_t i = 0; i < 2; ++i) diag22.push_back(D.at({i, j, i, j}));
  check_close(einsum("ijij->ji", {d}), from_values(diag22, {3, 2}), 1e-12, 1e-12);
  // A 0-d operand.
  check_close(einsum("->", {from_values({2.5}, {})}), from_values({2.5}, {}), 0, 0);
}

TEST_CASE("einsum: three operands, the bilinear form bn,anm,bm->ba") {
  manual_seed(2);
  const Tensor l = random({2, 5}), A = random({3, 5, 4}), r = random({2, 4});
  const Dense L(l), AA(A), R(r);
  std::vector<double> expected;
  for (std::int64_t b = 0; b < 2; ++b)
    for (std::int64_t a = 0; a < 3; ++a) {
      double s = 0;
      for (std::int64_t n = 0; n < 5; ++n)
        for (std::int64_t m = 0; m < 4; ++m) s += L.at({b, n}) * AA.at({a, n, m}) * R.at({b, m});
      expected.push_back(s);
    }
  check_close(einsum("bn,anm,bm->ba", {l, A, r}), from_values(expected, {2, 3}), 1e-12, 1e-12);

  // A chain of three matrices, and a label that only the first and last operands share.
  const Tensor p = random({2, 3}), q = random({3, 4}), s = random({4, 2});
  const Dense P(p), Q(q), S(s);
  double cyclic = 0;
  for (std::int64_t i = 0; i < 2; ++i)
    for (std::int64_t j = 0; j < 3; ++j)
      for (std::int64_t k = 0; k < 4; ++k) cyclic += P.at({i, j}) * Q.at({j, k}) * S.at({k, i});
  check_close(einsum("ij,jk,ki->", {p, q, s}), from_values({cyclic}, {}), 1e-12, 1e-12);
  // A label summed inside one operand (k of q) before the product.
  std::vector<double> partial;
  for (std::int64_t i = 0; i < 2; ++i) {
    double total = 0;
    for (std::int64_t j = 0; j < 3; ++j)
      for (std::int64_t k = 0; k < 4; ++k) total += P.at({i, j}) * Q.at({j, k});
    partial.push_back(total);
  }
  check_close(einsum("ij,jk->i", {p, q}), from_values(partial, {2}), 1e-12, 1e-12);
}

TEST_CASE("einsum: ... broadcasting") {
  manual_seed(3);
  // [2, 1, 3, 4] and [5, 4, 2]: the "..." dims [2, 1] and [5] broadcast to [2, 5].
  const Tensor a = random({2, 1, 3, 4}), b = random({5, 4, 2});
  const Dense A(a), B(b);
  std::vector<double> expected;
  for (std::int64_t p = 0; p < 2; ++p)
    for (std::int64_t q = 0; q < 5; ++q)
      for (std::int64_t i = 0; i < 3; ++i)
        for (std::int64_t k = 0; k < 2; ++k) {
          double s = 0;
          for (std::int64_t j = 0; j < 4; ++j) s += A.at({p, 0, i, j}) * B.at({q, j, k});
          expected.push_back(s);
        }
  check_close(einsum("...ij,...jk->...ik", {a, b}), from_values(expected, {2, 5, 3, 2}), 1e-12, 1e-12);
  check_close(einsum("...ij,...jk", {a, b}), from_values(expected, {2, 5, 3, 2}), 1e-12, 1e-12);  // implicit: "..." first

  // "..." in the middle and at the front of the output; a matrix times batches of vectors.
  const Tensor x = random({3, 2, 4, 5});
  const Dense X(x);
  std::vector<double> moved;  // "i...j->j...i"
  for (std::int64_t j = 0; j < 5; ++j)
    for (std::int64_t p = 0; p < 2; ++p)
      for (std::int64_t q = 0; q < 4; ++q)
        for (std::int64_t i = 0; i < 3; ++i) moved.push_back(X.at({i, p, q, j}));
  check_close(einsum("i...j->j...i", {x}), from_values(moved, {5, 2, 4, 3}), 0, 0);
  std::vector<double> batch_diagonal;  // "...ii->...i" on [2, 3, 3]
  const Tensor y = random({2, 3, 3});
  const Dense Y(y);
  for (std::int64_t n = 0; n < 2; ++n)
    for (std::int64_t i = 0; i < 3; ++i) batch_diagonal.push_back(Y.at({n, i, i}));
  check_close(einsum("...ii->...i", {y}), from_values(batch_diagonal, {2, 3}), 0, 0);
  // No "..." in the output: the dims it covers are summed.
  std::vector<double> summed;
  for (std::int64_t i = 0; i < 3; ++i)
    for (std::int64_t j = 0; j < 5; ++j) {
      double s = 0;
      for (std::int64_t p = 0; p < 2; ++p)
        for (std::int64_t q = 0; q < 4; ++q) s += X.at({i, p, q, j});
      summed.push_back(s);
    }
  check_close(einsum("i...j->ij", {x}), from_values(summed, {3, 5}), 1e-12, 1e-12);
  // "..." covering no dims.
  const Tensor m = random({3, 4});
  check_close(einsum("...ij->...ji", {m}), m.t(), 0, 0);
}

TEST_CASE("einsum: size-1 dims broadcast against a label's size") {
  manual_seed(4);
  // j is 1 in a and 4 in b: out[i, k] = a[i, 0] * sum_j b[j, k].
  const Tensor a = random({3, 1}), b = random({4, 5});
  const Dense A(a), B(b);
  std::vector<double> expected;
  for (std::int64_t i = 0; i < 3; ++i)
    for (std::int64_t k = 0; k < 5; ++k) {
      double s = 0;
      for (std::int64_t j = 0; j < 4; ++j) s += A.at({i, 0}) * B.at({j, k});
      expected.push_back(s);
    }
  check_close(einsum("ij,jk->ik", {a, b}), from_values(expected, {3, 5}), 1e-12, 1e-12);
  // A batch label of size 1 in one operand, and a kept label broadcast elementwise.
  const Tensor x = random({1, 2, 3}), y = random({4, 3, 2});
  const Dense X(x), Y(y);
  std::vector<double> batched;
  for (std::int64_t n = 0; n < 4; ++n)
    for (std::int64_t i = 0; i < 2; ++i)
      for (std::int64_t k = 0; k < 2; ++k) {
        double s = 0;
        for (std::int64_t j = 0; j < 3; ++j) s += X.at({0, i, j}) * Y.at({n, j, k});
        batched.push_back(s);
      }
  check_close(einsum("bij,bjk->bik", {x, y}), from_values(batched, {4, 2, 2}), 1e-12, 1e-12);
  const Tensor row = random({1, 4}), full = random({3, 4});
  const Dense Row(row), Full(full);
  std::vector<double> product;
  for (std::int64_t i = 0; i < 3; ++i)
    for (std::int64_t j = 0; j < 4; ++j) product.push_back(Row.at({0, j}) * Full.at({i, j}));
  check_close(einsum("ij,ij->ij", {row, full}), from_values(product, {3, 4}), 1e-12, 1e-12);
  // Size 1 everywhere stays size 1.
  CHECK(einsum("ij,jk->ik", {random({1, 1}), random({1, 1})}).sizes() == Shape{1, 1});
}

TEST_CASE("einsum: empty dims") {
  // A contracted dim of size 0 gives zeros; a kept one an empty result.
  check_close(einsum("ij,jk->ik", {random({3, 0}), random({0, 2})}), zeros({3, 2}, kFloat64), 0, 0);
  CHECK(einsum("ij,jk->ik", {random({0, 4}), random({4, 2})}).sizes() == Shape{0, 2});
  CHECK(einsum("bij,bjk->bik", {random({0, 2, 3}), random({0, 3, 4})}).sizes() == Shape{0, 2, 4});
  check_close(einsum("ii->", {random({0, 0})}), zeros({}, kFloat64), 0, 0);
  CHECK(einsum("ii->i", {random({0, 0})}).sizes() == Shape{0});
  check_close(einsum("ij->", {random({2, 0})}), zeros({}, kFloat64), 0, 0);
  // An empty size broadcasts against a size-1 dim, as in elementwise ops.
  CHECK(einsum("ij,ij->ij", {random({0, 3}), random({1, 3})}).sizes() == Shape{0, 3});
}

TEST_CASE("einsum: strided inputs (transposed, narrowed, expanded views)") {
  manual_seed(5);
  const Tensor base_a = random({5, 3}), base_b = random({4, 6});
  const Tensor a = base_a.t();                 // [3, 5], strides [1, 3]
  const Tensor b = base_b.narrow(1, 1, 4).t(); // [4, 4] -> a [4, 4] view of columns 1..4
  const Tensor a5 = a.narrow(1, 0, 4);         // [3, 4]
  REQUIRE(!a5.is_contiguous());
  REQUIRE(!b.is_contiguous());
  const Dense A(a5.contiguous()), B(b.contiguous());
  std::vector<double> expected;
  for (std::int64_t i = 0; i < 3; ++i)
    for (std::int64_t k = 0; k < 4; ++k) {
      double s = 0;
      for (std::int64_t j = 0; j < 4; ++j) s += A.at({i, j}) * B.at({j, k});
      expected.push_back(s);
    }
  check_close(einsum("ij,jk->ik", {a5, b}), from_values(expected, {3, 4}), 1e-12, 1e-12);
  // The same with the right operand as its transpose, written "ij,kj->ik".
  check_close(einsum("ij,kj->ik", {a5, b.t()}), from_values(expected, {3, 4}), 1e-12, 1e-12);
  // The diagonal of a transposed view, and an expanded (stride 0) operand.
  const Tensor m = random({4, 4});
  check_close(einsum("ii->i", {m.t()}), einsum("ii->i", {m}), 0, 0);
  const Tensor e = random({3, 1}).expand({3, 4});
  check_close(einsum("ij,jk->ik", {e, b}), matmul(e.contiguous(), b.contiguous()), 1e-12, 1e-12);
}

TEST_CASE("einsum: gradients reach every operand (float64 against the loops' derivative)") {
  // d/da sum_ik (a b)_ik = sum_k b[j, k] for every i: the full gradient check is in
  // tests/autograd/gradcheck_cases_einsum.cpp; this one names the values.
  manual_seed(6);
  const Tensor a = random({2, 3}).requires_grad_(), b = random({3, 4}).requires_grad_();
  einsum("ij,jk->", {a, b}).backward();
  check_close(a.grad(), b.detach().sum({1}).unsqueeze(0).expand({2, 3}), 1e-12, 1e-12);
  check_close(b.grad(), a.detach().sum({0}).unsqueeze(1).expand({3, 4}), 1e-12, 1e-12);
  const Tensor m = random({3, 3}).requires_grad_();
  einsum("ii", {m}).backward();
  check_close(m.grad(), eye(3, -1, kFloat64), 0, 0);
}

TEST_CASE("einsum: error messages name the equation and what is wrong") {
  const Tensor a = random({2, 3}), b = random({4, 5}), v = random({3});
  auto message = [](auto&& call) { return error_message(call); };

  std::string m = message([&] { einsum("ij,jk->ik", {a}); });
  CHECK(m.find("einsum(\"ij,jk->ik\")") != std::string::npos);
  CHECK(m.find("subscripts for 2 operands but 1 operand was given") != std::string::npos);

  m = message([&] { einsum("ijk->i", {a}); });
  CHECK(m.find("operand 0 has shape [2, 3] (2 dims) but its subscripts \"ijk\" name 3") != std::string::npos);
  m = message([&] { einsum("ijk...->i", {a}); });
  CHECK(m.find("name at least 3") != std::string::npos);

  m = message([&] { einsum("ij,jk->ik", {a, b}); });
  CHECK(m.find("einsum(\"ij,jk->ik\"): label j is 3 in operand 0 and 4 in operand 1") != std::string::npos);
  m = message([&] { einsum("...i,...i->...i", {random({2, 3}), random({4, 3})}); });
  CHECK(m.find("\"...\" covers do not broadcast") != std::string::npos);
  CHECK(m.find("[4, 3]") != std::string::npos);

  m = message([&] { einsum("ij->ik", {a}); });
  CHECK(m.find("output label k does not occur in any operand") != std::string::npos);
  m = message([&] { einsum("ij->ii", {a}); });
  CHECK(m.find("output label i appears more than once") != std::string::npos);
  m = message([&] { einsum("ii->i", {a}); });
  CHECK(m.find("label i is repeated in operand 0 (shape [2, 3]) with different sizes 2 and 3") != std::string::npos);

  m = message([&] { einsum("i1->i", {a}); });
  CHECK(m.find("bad character '1' in the subscripts of operand 0") != std::string::npos);
  m = message([&] { einsum("ij->j->i", {a}); });
  CHECK(m.find("\"->\" appears twice") != std::string::npos);
  m = message([&] { einsum("i-j", {a}); });
  CHECK(m.find("bad character '-'") != std::string::npos);
  m = message([&] { einsum("i.j", {a}); });
  CHECK(m.find("not part of \"...\"") != std::string::npos);
  m = message([&] { einsum("...i...", {a}); });
  CHECK(m.find("\"...\" appears twice in the subscripts of operand 0") != std::string::npos);
  m = message([&] { einsum("ij->i,j", {a}); });
  CHECK(m.find("',' in the output subscripts") != std::string::npos);
  m = message([&] { einsum("i,i->", {v, v.to(kFloat32)}); });
  CHECK(m.find("operand 1 is float32") != std::string::npos);
  m = message([&] { einsum("i->", std::vector<Tensor>{}); });
  CHECK(m.find("no operands given") != std::string::npos);
}
