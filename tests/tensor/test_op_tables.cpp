// The op tables (tensor/native/op_tables.h): every row has a unique name at its enumerator's
// index, the native layer applies each row's dtype rules, and the CPU kernel runs each row's
// functor (checked row by row against the functor applied to plain doubles).
#include <cmath>
#include <optional>
#include <set>
#include <string>

#include "helpers.h"
#include "cake/tensor/functors.h"
#include "cake/tensor/native/elementwise.h"
#include "cake/tensor/native/reduce.h"

using namespace cake;
using namespace cake::native;
using cake::testing::check_close;
using cake::testing::values;

namespace {

const DType kAllDTypes[] = {kBool, kUInt8, kInt64, kFloat32, kFloat64};

// Every row: its enumerator's index, a non-empty name unique in its family, op_name agreeing.
template <class Info, std::size_t N>
void check_names(const Info (&rows)[N], std::size_t count) {
  CHECK(N == count);
  std::set<std::string> seen;
  for (std::size_t i = 0; i < N; ++i) {
    CAPTURE(i);
    CHECK(static_cast<std::size_t>(rows[i].op) == i);
    const std::string name = rows[i].name;
    CHECK_FALSE(name.empty());
    CHECK(seen.insert(name).second);  // unique
    CHECK(std::string(op_name(rows[i].op)) == name);
  }
}

// Small tensors of each dtype: {0, 1, 2, 3} and {3, 2, 1, 0} (as bool: {F, T, T, T}, {T, T, T, F}).
Tensor sample(DType dtype) { return to_dtype(tensor({0.0, 1.0, 2.0, 3.0}, {4}, kFloat64), dtype); }
Tensor reversed(DType dtype) { return to_dtype(tensor({3.0, 2.0, 1.0, 0.0}, {4}, kFloat64), dtype); }

// The row's functor on plain doubles (on bools for rows whose operands are converted to bool).
template <class F, OperandRule operands>
double apply_binary(double a, double b) {
  if constexpr (operands == OperandRule::Bool) return static_cast<double>(F{}(a != 0.0, b != 0.0));
  else return static_cast<double>(F{}(a, b));
}

void check_same_values(const std::vector<double>& got, const std::vector<double>& expected) {
  REQUIRE(got.size() == expected.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    CAPTURE(i);
    if (std::isnan(expected[i])) CHECK(std::isnan(got[i]));
    else if (std::isinf(expected[i])) CHECK(got[i] == expected[i]);
    else CHECK(got[i] == doctest::Approx(expected[i]).epsilon(1e-12));
  }
}

// What the native layer should make of an operand dtype under a rule (nullopt: refused).
std::optional<DType> expected_operand(OperandRule rule, DType dtype) {
  switch (rule) {
    case OperandRule::Any: return dtype;
    case OperandRule::NoBool: return dtype == kBool ? std::nullopt : std::optional<DType>(dtype);
    case OperandRule::Floating: return is_floating(dtype) ? dtype : kFloat32;
    case OperandRule::Bool: return kBool;
  }
  return std::nullopt;
}

}  // namespace

TEST_CASE("op tables: one uniquely named row per enumerator, in enum order") {
  check_names(kUnaryOps, kNumUnaryOps);
  check_names(kBinaryOps, kNumBinaryOps);
  check_names(kReduceOps, kNumReduceOps);
  CHECK(std::string(op_name(UnaryOp::Exp)) == "exp");
  CHECK(std::string(op_name(BinaryOp::LogicalOr)) == "logical_or");
  CHECK(std::string(op_name(ReduceOp::Prod)) == "prod");
  CHECK(needs_floating(UnaryOp::Sqrt));
  CHECK_FALSE(needs_floating(UnaryOp::Abs));
  CHECK(is_comparison(BinaryOp::Le));
  CHECK_FALSE(is_comparison(BinaryOp::Maximum));
}

TEST_CASE("op tables: every unary row's dtype rule holds, out of place and in place") {
  const UnaryParams params{0.5, 2.0};  // clamp [0.5, 2]; pow 0.5; slope / alpha 0.5
  for (const UnaryOpInfo& row : kUnaryOps) {
    for (DType dtype : kAllDTypes) {
      CAPTURE(row.name);
      CAPTURE(dtype_name(dtype));
      const Tensor x = sample(dtype);
      const std::optional<DType> operand = expected_operand(row.operands, dtype);
      if (!operand) {
        CHECK_THROWS_WITH_AS(unary(row.op, x, params), doctest::Contains("not supported for bool"), Error);
        continue;
      }
      const Tensor y = unary(row.op, x, params);
      CHECK(y.dtype() == (row.result == ResultRule::Bool ? kBool : *operand));
      CHECK(y.sizes() == x.sizes());
      // In place: only ops whose result keeps the operand dtype, into a tensor of that dtype.
      Tensor inplace = native::clone(x);
      if (row.result == ResultRule::Bool || *operand != dtype) {
        CHECK_THROWS_AS(unary_(row.op, inplace, params), Error);
      } else {
        unary_(row.op, inplace, params);
        check_same_values(values(inplace), values(y));  // NaN where y has one (asin(2), acosh(0))
      }
    }
  }
}

TEST_CASE("op tables: every binary row's dtype rule holds") {
  for (const BinaryOpInfo& row : kBinaryOps) {
    for (DType dtype : kAllDTypes) {
      CAPTURE(row.name);
      CAPTURE(dtype_name(dtype));
      const Tensor a = sample(dtype), b = reversed(dtype);
      const std::optional<DType> operand = expected_operand(row.operands, dtype);
      if (!operand) {
        CHECK_THROWS_WITH_AS(binary(row.op, a, b), doctest::Contains("not supported for bool"), Error);
        continue;
      }
      const Tensor y = binary(row.op, a, b);
      CHECK(y.dtype() == (row.result == ResultRule::Bool ? kBool : *operand));
      if (row.result == ResultRule::Bool) CHECK_THROWS_WITH_AS(binary_(row.op, native::clone(a), b), doctest::Contains("in-place"), Error);
    }
  }
  // Mixed operands are promoted to their common dtype before the rule applies.
  CHECK(binary(BinaryOp::Div, sample(kInt64), sample(kUInt8)).dtype() == kFloat32);
  CHECK(binary(BinaryOp::Add, sample(kInt64), sample(kFloat64)).dtype() == kFloat64);
  CHECK(binary(BinaryOp::LogicalAnd, sample(kInt64), sample(kFloat32)).dtype() == kBool);
  // Bool arithmetic, as in PyTorch: + and maximum are "or", * and minimum are "and".
  const Tensor t = sample(kBool), f = reversed(kBool);  // {F, T, T, T} and {T, T, T, F}
  CHECK(values(binary(BinaryOp::Add, t, f)) == std::vector<double>{1, 1, 1, 1});
  CHECK(values(binary(BinaryOp::Mul, t, f)) == std::vector<double>{0, 1, 1, 0});
  CHECK(values(binary(BinaryOp::Maximum, t, f)) == std::vector<double>{1, 1, 1, 1});
  CHECK(values(binary(BinaryOp::Minimum, t, f)) == std::vector<double>{0, 1, 1, 0});
}

// The generated CPU switch sends each row to its own functor: compare the kernel with the
// row's functor applied to each float64 value by hand.
TEST_CASE("op tables: the CPU kernel runs each row's functor") {
  const std::vector<double> xs = {-2.5, -0.5, 0.0, 0.75, 3.0};
  const Tensor x = tensor(xs, {5}, kFloat64);
  const UnaryParams p{-1.0, 1.5};
#define CHECK_UNARY_ROW(op, name, operands, result, params)                       \
  {                                                                                \
    CAPTURE(name);                                                                 \
    const auto f = make_unary_functor<ops::op, params>(p);                         \
    std::vector<double> expected;                                                  \
    for (double v : xs) expected.push_back(static_cast<double>(f(v)));             \
    check_same_values(values(unary(UnaryOp::op, x, p)), expected);                 \
  }
  CAKE_UNARY_OPS(CHECK_UNARY_ROW)
#undef CHECK_UNARY_ROW

  const std::vector<double> bs = {1.5, -2.0, 0.5, 0.75, -3.0};
  const Tensor b = tensor(bs, {5}, kFloat64);
#define CHECK_BINARY_ROW(op, name, operands, result)                                         \
  {                                                                                          \
    CAPTURE(name);                                                                           \
    std::vector<double> expected;                                                            \
    for (std::size_t i = 0; i < xs.size(); ++i)                                              \
      expected.push_back(apply_binary<ops::op, OperandRule::operands>(xs[i], bs[i]));        \
    check_same_values(values(binary(BinaryOp::op, x, b)), expected);                         \
  }
  CAKE_BINARY_OPS(CHECK_BINARY_ROW)
#undef CHECK_BINARY_ROW
}

TEST_CASE("op tables: every reduction row's dtype and empty rules hold") {
  for (const ReduceOpInfo& row : kReduceOps) {
    for (DType dtype : kAllDTypes) {
      CAPTURE(row.name);
      CAPTURE(dtype_name(dtype));
      const Tensor x = sample(dtype);
      const bool widened = row.accumulate == Accumulate::Int64 && is_integral(dtype);
      if (dtype == kBool && !widened) {
        CHECK_THROWS_WITH_AS(reduce(row.op, x, {}, false), doctest::Contains("not supported for bool"), Error);
        continue;
      }
      const Tensor y = reduce(row.op, x, {}, false);
      CHECK(y.dtype() == (widened ? kInt64 : dtype));
      // The row's functor folded by hand over {0, 1, 2, 3} (bool: {0, 1, 1, 1}).
      double expected = 0.0;
#define FOLD_ROW(op_, ...)                                                       \
  if (row.op == ReduceOp::op_) {                                                 \
    double acc = ops::reduce::op_::identity<double>();                           \
    for (double v : values(x)) acc = ops::reduce::op_{}(acc, v);                 \
    expected = acc;                                                              \
  }
      CAKE_REDUCE_OPS(FOLD_ROW)
#undef FOLD_ROW
      CHECK(values(y)[0] == expected);
      // Over an empty dimension: the identity, or an error naming the dimension.
      const Tensor empty = make_empty({2, 0}, dtype, Device::cpu());
      if (row.empty == OnEmpty::Identity) {
        const Tensor e = reduce(row.op, empty, {1}, false);
        CHECK(values(e) == std::vector<double>(2, row.op == ReduceOp::Prod ? 1.0 : 0.0));
      } else {
        CHECK_THROWS_WITH_AS(reduce(row.op, empty, {1}, false), doctest::Contains("empty dimension 1"), Error);
      }
    }
  }
}

TEST_CASE("floor, ceil, trunc and round keep integers (and their dtype) unchanged, as in PyTorch") {
  const Tensor i = tensor({-3.0, 0.0, 7.0}, {3}, kInt64);
  for (UnaryOp op : {UnaryOp::Floor, UnaryOp::Ceil, UnaryOp::Trunc, UnaryOp::Round}) {
    const Tensor y = unary(op, i);
    CHECK(y.dtype() == kInt64);
    CHECK(values(y) == values(i));
  }
  CHECK(values(unary(UnaryOp::Round, tensor({0.5, 1.5, -2.5}, {3}, kFloat32))) == std::vector<double>{0, 2, -2});
  const Tensor f = tensor({-1.5, -0.5, 0.5, 2.0}, {4}, kFloat32);
  CHECK(values(unary(UnaryOp::Ceil, f)) == std::vector<double>{-1, -0.0, 1, 2});
  CHECK(values(unary(UnaryOp::Trunc, f)) == std::vector<double>{-1, -0.0, 0, 2});
}

TEST_CASE("integer pow is exact, wraps on overflow, and truncates negative exponents, as in PyTorch") {
  const Tensor base = tensor({-3.0, 8.0, 2.0, -1.0, 1.0, 5.0, 0.0}, {7}, kInt64);
  const Tensor exponent = tensor({1.0, 7.0, 62.0, -3.0, -2.0, -1.0, 0.0}, {7}, kInt64);
  const Tensor y = binary(BinaryOp::Pow, base, exponent);
  CHECK(y.dtype() == kInt64);
  CHECK(values(y) == std::vector<double>{-3, 2097152, 4611686018427387904.0, -1, 1, 0, 1});
  // 3^40 wraps modulo 2^64 as int64 arithmetic does (PyTorch gives the same bits).
  const std::int64_t wrapped = binary(BinaryOp::Pow, tensor({3.0}, {1}, kInt64), tensor({40.0}, {1}, kInt64))
                                   .item<std::int64_t>();
  std::uint64_t expected = 1;
  for (int i = 0; i < 40; ++i) expected *= 3u;
  CHECK(wrapped == static_cast<std::int64_t>(expected));
  const Tensor bytes = tensor({3.0, 2.0}, {2}, kUInt8);
  CHECK(values(binary(BinaryOp::Pow, bytes, tensor({5.0, 8.0}, {2}, kUInt8))) == std::vector<double>{243, 0});
}
