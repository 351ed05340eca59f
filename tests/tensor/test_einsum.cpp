// test_einsum.cpp: cake::einsum (autograd/einsum.h) against direct loops in float64, one case
// per rule of the notation (contraction, batch, outer product, diagonal, trace, transpose,
// implicit output, "..." broadcasting, size-1 broadcasting, empty dims, strided inputs), and
// its error messages; then the order of the products: explicit paths against PyTorch 1.13, the
// default order einsum_path plans (hand-worked costs), and the path's errors. The gradients are
// checked in tests/autograd/gradcheck_cases_einsum.cpp.
#include <array>
#include <cmath>
#include <string>
#include <vector>

#include "helpers.h"

using namespace cake;
using cake::testing::check_close;
using cake::testing::error_message;
using cake::testing::values;
using cake::testing::from_values;

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

Tensor random(const Shape& shape) { return randn(shape, kFloat64); }

// A float64 tensor holding sin(k + offset) at row-major position k: inputs that the PyTorch
// scripts below rebuild exactly (torch.tensor([math.sin(k + offset) for k in range(n)])).
Tensor sines(const Shape& shape, double offset) {
  std::vector<double> v(static_cast<std::size_t>(shape_numel(shape)));
  for (std::size_t k = 0; k < v.size(); ++k) v[k] = std::sin(static_cast<double>(k) + offset);
  return from_values(v, shape);
}

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

TEST_CASE("einsum: an explicit path gives PyTorch 1.13's values (and left to right's, up to rounding)") {
  // # Python (PyTorch 1.13; torch.einsum passes `path` on to the same C++ function):
  //   A, B, C = sines([2, 3], 0.0), sines([3, 4], 1.0), sines([4, 2], 2.0)
  //   torch._VF.einsum("ij,jk,kl->il", [A, B, C], path=[1, 2, 0, 1])
  // Every path below gives the same values in PyTorch to within 1.2e-16.
  const Tensor a = sines({2, 3}, 0.0), b = sines({3, 4}, 1.0), c = sines({4, 2}, 2.0);
  const Tensor chain = from_values({0.5998855526086284, 0.5466682876363341, -0.715388458528157, -0.5867915551716292},
                                   {2, 2});
  const Tensor in_order = einsum("ij,jk,kl->il", {a, b, c}, {0, 1, 1, 0});  // (A B) C, as before paths
  check_close(in_order, chain, 1e-12, 1e-12);
  for (const IntArrayRef& path : {IntArrayRef{1, 2, 0, 1}, IntArrayRef{0, 2, 0, 1}, IntArrayRef{2, 0, 1, 0},
                                  IntArrayRef{0, 1, 0, 1}}) {
    INFO("path " << path);
    check_close(einsum("ij,jk,kl->il", {a, b, c}, path), chain, 1e-12, 1e-12);
    check_close(einsum("ij,jk,kl->il", {a, b, c}, path), in_order, 1e-14, 1e-14);
  }
  // The other spellings of the call: a std::vector path, a std::vector of operands, a span.
  const std::vector<std::int64_t> path{1, 2, 0, 1};
  const std::vector<Tensor> operands{a, b, c};
  check_close(einsum("ij,jk,kl->il", {a, b, c}, path), chain, 1e-12, 1e-12);
  check_close(einsum("ij,jk,kl->il", operands, path), chain, 1e-12, 1e-12);
  check_close(einsum("ij,jk,kl->il", operands, {1, 2, 0, 1}), chain, 1e-12, 1e-12);
  check_close(einsum("ij,jk,kl->il", std::span<const Tensor>(operands), std::optional<IntArrayRef>(path)), chain,
              1e-12, 1e-12);

  // Four operands with a batch label, a vector and a label summed inside the last product.
  //   X, Y, Z, W = sines([2, 2, 3], 0.5), sines([2, 3, 4], 1.5), sines([4, 3], 2.5), sines([3], 3.5)
  //   torch._VF.einsum("bij,bjk,kl,l->bi", [X, Y, Z, W], path=[2, 3, 0, 1, 0, 1])
  const Tensor x = sines({2, 2, 3}, 0.5), y = sines({2, 3, 4}, 1.5), z = sines({4, 3}, 2.5), w = sines({3}, 3.5);
  const Tensor four =
      from_values({-0.16235768427815597, 0.2012791384310903, -0.11964091668750383, 0.10046232050235822}, {2, 2});
  for (const IntArrayRef& path4 : {IntArrayRef{2, 3, 0, 1, 0, 1}, IntArrayRef{3, 2, 1, 0, 1, 0},
                                   IntArrayRef{0, 3, 0, 1, 1, 0}, IntArrayRef{0, 1, 2, 0, 1, 0}}) {
    INFO("path " << path4);
    check_close(einsum("bij,bjk,kl,l->bi", {x, y, z, w}, path4), four, 1e-12, 1e-12);
  }
  // Two operands: (0, 1) or (1, 0), the same product with its factors swapped. One operand: (0).
  check_close(einsum("ij,jk->ik", {a, b}, {1, 0}), einsum("ij,jk->ik", {a, b}), 1e-14, 1e-14);
  check_close(einsum("ii->i", {a.narrow(1, 0, 2)}, {0}), einsum("ii->i", {a.narrow(1, 0, 2)}), 0, 0);
}

TEST_CASE("einsum_path: the greedy order where it saves multiply-adds, left to right where it does not") {
  // A chain whose last matrix is one column. A B then (A B) C: 10*20*30 + 10*30*1 = 6300.
  // Greedy: A B frees 200 + 600 - 300 = 500 entries, B C frees 600 + 30 - 20 = 610 (A C would be
  // an outer product [10, 20, 30, 1]): B C first, 20*30*1 = 600, then A (B C), 10*20*1 = 200.
  EinsumPath plan = einsum_path("ij,jk,kl->il", {{10, 20}, {20, 30}, {30, 1}});
  CHECK(plan.path == IntArrayRef{1, 2, 0, 1});
  CHECK(plan.multiply_adds == 800);
  CHECK(einsum_path("ij,jk,kl->il", {{10, 20}, {20, 30}, {30, 1}}, IntArrayRef{0, 1, 1, 0}).multiply_adds == 6300);
  // The outer product first: A C is [10, 20, 30, 1] (6000), then B contracts j and k (6000).
  CHECK(einsum_path("ij,jk,kl->il", {{10, 20}, {20, 30}, {30, 1}}, IntArrayRef{0, 2, 0, 1}).multiply_adds == 12000);

  // A tie in memory broken by multiply-adds: m m v, where m m and m v both free 9 entries;
  // m v costs 9, then m (m v) 9: 18 against 27 + 9.
  plan = einsum_path("ij,jk,k->i", {{3, 3}, {3, 3}, {3}});
  CHECK(plan.path == IntArrayRef{1, 2, 0, 1});
  CHECK(plan.multiply_adds == 18);

  // Four operands, a matrix chain ending in a vector: the greedy order goes from the vector back,
  // C d (64), B (C d) (64), A (B C d) (64), against 512 + 512 + 64 left to right.
  plan = einsum_path("ab,bc,cd,d->a", {{8, 8}, {8, 8}, {8, 8}, {8}});
  CHECK(plan.path == IntArrayRef{2, 3, 1, 2, 0, 1});
  CHECK(plan.multiply_adds == 192);

  // The cost saved need not be large: in the cyclic trace, B C (contracting k, 3*4*2 = 24) frees
  // 14 entries and A B (24) 10; then A (B C) is 6: 30, against 24 + 8 left to right.
  plan = einsum_path("ij,jk,ki->", {{2, 3}, {3, 4}, {4, 2}});
  CHECK(plan.path == IntArrayRef{1, 2, 0, 1});
  CHECK(plan.multiply_adds == 30);

  // Square matrices: every order costs the same (2 * 4^3), so left to right is kept, written
  // (0, 1) then (1, 0): the product (now last) times C (now first), the product on the left.
  plan = einsum_path("ij,jk,kl->il", {{4, 4}, {4, 4}, {4, 4}});
  CHECK(plan.path == IntArrayRef{0, 1, 1, 0});
  CHECK(plan.multiply_adds == 128);
  plan = einsum_path("ij,jk,kl,lm->im", {{2, 50}, {50, 50}, {50, 50}, {50, 2}});
  CHECK(plan.path == IntArrayRef{0, 1, 2, 0, 1, 0});
  CHECK(plan.multiply_adds == 10200);  // 2*50*50 + 2*50*50 + 2*50*2
  // The greedy order can cost more than left to right, which then stays: for the bilinear form,
  // greedy's l A (120) then r (l A) (24) is left to right's cost, 144, in another form
  // ((0, 1, 0, 1) against (0, 1, 1, 0)): a tie, so left to right.
  plan = einsum_path("bn,anm,bm->ba", {{2, 5}, {3, 5, 4}, {2, 4}});
  CHECK(plan.path == IntArrayRef{0, 1, 1, 0});
  CHECK(plan.multiply_adds == 144);

  // The reductions inside one operand come first and are not counted: the diagonal of "ii" and
  // the sum over l (named by nothing else) leave [3] and [3, 4] for one product of 12.
  plan = einsum_path("ii,ijl->j", {{3, 3}, {3, 4, 5}});
  CHECK(plan.path == IntArrayRef{0, 1});
  CHECK(plan.multiply_adds == 12);
  plan = einsum_path("ii->i", {{3, 3}});
  CHECK(plan.path == IntArrayRef{0});
  CHECK(plan.multiply_adds == 0);
  // "..." dims and size-1 dims: "..." is [1] in operand 0 and [5, 1] in operand 1, i is 1. Left
  // to right: [1, 3] x [5, 3, 4] over j (1*3*5*4 = 60), then x [4] over k (5*4 = 20): 80.
  // Greedy: [5, 3, 4] x [4] frees 60 + 4 - 15 (60 multiply-adds), then [1, 3] x [5, 3] (15): 75.
  plan = einsum_path("...ij,...jk,k->...i", {{1, 1, 3}, {5, 1, 3, 4}, {4}});
  CHECK(plan.path == IntArrayRef{1, 2, 0, 1});
  CHECK(plan.multiply_adds == 75);
  const std::vector<Shape> shapes{{1, 1, 3}, {5, 1, 3, 4}, {4}};
  CHECK(einsum_path("...ij,...jk,k->...i", shapes, IntArrayRef{0, 1, 1, 0}).multiply_adds == 80);
}

TEST_CASE("einsum: without a path, the order einsum_path plans (and left to right's exact values on a tie)") {
  manual_seed(7);
  const Tensor a = random({10, 20}), b = random({20, 30}), c = random({30, 1});
  const EinsumPath plan = einsum_path("ij,jk,kl->il", {a.sizes(), b.sizes(), c.sizes()});
  CHECK(plan.path == IntArrayRef{1, 2, 0, 1});
  check_close(einsum("ij,jk,kl->il", {a, b, c}), einsum("ij,jk,kl->il", {a, b, c}, plan.path), 0, 0);
  check_close(einsum("ij,jk,kl->il", {a, b, c}), matmul(a, matmul(b, c)), 1e-12, 1e-12);

  const Tensor p = random({4, 4}), q = random({4, 4}), r = random({4, 4});
  check_close(einsum("ij,jk,kl->il", {p, q, r}), einsum("ij,jk,kl->il", {p, q, r}, {0, 1, 1, 0}), 0, 0);
  check_close(einsum("ij,jk,kl->il", {p, q, r}), matmul(matmul(p, q), r), 1e-12, 1e-12);
}

TEST_CASE("einsum: path errors name the pair and the positions") {
  const Tensor a = random({2, 3}), b = random({3, 4}), c = random({4, 2});
  auto message = [](auto&& call) { return error_message(call); };

  std::string m = message([&] { einsum("ij,jk,kl->il", {a, b, c}, {0, 1}); });
  CHECK(m.find("einsum(\"ij,jk,kl->il\"): the path has 2 entries but 3 operands take 4 (a pair of positions for each "
               "of the 2 products)") != std::string::npos);
  m = message([&] { einsum("ij,jk,kl->il", {a, b, c}, {0, 1, 0, 1, 0, 1}); });
  CHECK(m.find("the path has 6 entries but 3 operands take 4") != std::string::npos);
  m = message([&] { einsum("ij,jk,kl->il", {a, b, c}, {0, 3, 0, 1}); });
  CHECK(m.find("pair 0 of the path, (0, 3), names position 3 but 3 operands are waiting at that step (positions 0 to 2;"
               " each product removes its two operands and is appended at the end)") != std::string::npos);
  m = message([&] { einsum("ij,jk,kl->il", {a, b, c}, {-1, 0, 0, 1}); });
  CHECK(m.find("pair 0 of the path, (-1, 0), names position -1") != std::string::npos);
  // After the first product two operands are left: position 2 no longer exists.
  m = message([&] { einsum("ij,jk,kl->il", {a, b, c}, {0, 1, 0, 2}); });
  CHECK(m.find("pair 1 of the path, (0, 2), names position 2 but 2 operands are waiting") != std::string::npos);
  m = message([&] { einsum("ij,jk,kl->il", {a, b, c}, {1, 1, 0, 1}); });
  CHECK(m.find("pair 0 of the path, (1, 1), names position 1 twice") != std::string::npos);
  m = message([&] { einsum("ij,jk,kl->il", {a, b, c}, {0, 1, 0, 0}); });
  CHECK(m.find("pair 1 of the path, (0, 0), names position 0 twice") != std::string::npos);
  m = message([&] { einsum("ij->", {a}, {1}); });
  CHECK(m.find("the path of a single operand is [0], not [1]") != std::string::npos);
  m = message([&] { einsum("ij->", {a}, std::optional<IntArrayRef>(IntArrayRef{})); });
  CHECK(m.find("the path of a single operand is [0], not []") != std::string::npos);
  // einsum_path checks the same way, and the shapes as einsum checks the tensors.
  m = message([&] { einsum_path("ij,jk->ik", {{2, 3}, {3, 4}}, IntArrayRef{0, 2}); });
  CHECK(m.find("pair 0 of the path, (0, 2), names position 2 but 2 operands are waiting") != std::string::npos);
  m = message([&] { einsum_path("ij,jk->ik", {{2, 3}, {4, 4}}); });
  CHECK(m.find("label j is 3 in operand 0 and 4 in operand 1") != std::string::npos);
  m = message([&] { einsum_path("ij,jk->ik", {{2, 3}}); });
  CHECK(m.find("subscripts for 2 operands but 1 operand was given") != std::string::npos);
}
