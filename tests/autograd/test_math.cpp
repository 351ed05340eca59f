// The elementwise maths (autograd/ops/math.cpp), scans and order statistics (scan.cpp),
// rearrangements (structure.cpp), NaN-skipping reductions and sampling (sampling.cpp) against
// PyTorch 1.13's values, and the special functions against mpmath at 40 digits
// (math_reference.h, printed by math_reference.py). Gradients are checked by the gradcheck
// table (gradcheck_cases_math.cpp); here, the values, dtypes, edge cases and errors.
#include <cmath>
#include <limits>

#include "helpers.h"
#include "math_reference.h"

using namespace cake;
using namespace math_reference;
using cake::testing::contains;
using cake::testing::error_message;
using cake::testing::int_values;
using cake::testing::values;

namespace {

// got == expected within rtol (relative) or atol (absolute), NaN matching NaN and infinities equal.
void check_values(const std::vector<double>& got, const std::vector<double>& expected, double rtol, double atol = 0.0) {
  REQUIRE(got.size() == expected.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    CAPTURE(i);
    CAPTURE(got[i]);
    CAPTURE(expected[i]);
    if (std::isnan(expected[i])) {
      CHECK(std::isnan(got[i]));
    } else if (std::isinf(expected[i])) {
      CHECK(got[i] == expected[i]);
    } else {
      CHECK(std::abs(got[i] - expected[i]) <= atol + rtol * std::abs(expected[i]));
    }
  }
}

Tensor f64(const std::vector<double>& v, const Shape& shape = {}) { return tensor(v, shape.empty() ? Shape{static_cast<std::int64_t>(v.size())} : shape, kFloat64); }

struct UnaryRow {
  const char* name;
  Tensor (*op)(const Tensor&);
  const std::vector<double>* input;
  const std::vector<double>* expected;
};

}  // namespace

TEST_CASE("elementwise maths: PyTorch's values in float64, within float32's precision in float32") {
  const UnaryRow rows[] = {
      {"tan", [](const Tensor& x) { return tan(x); }, &kX, &k_tan},
      {"atan", [](const Tensor& x) { return atan(x); }, &kX, &k_atan},
      {"sinh", [](const Tensor& x) { return sinh(x); }, &kX, &k_sinh},
      {"cosh", [](const Tensor& x) { return cosh(x); }, &kX, &k_cosh},
      {"asinh", [](const Tensor& x) { return asinh(x); }, &kX, &k_asinh},
      {"expm1", [](const Tensor& x) { return expm1(x); }, &kX, &k_expm1},
      {"exp2", [](const Tensor& x) { return exp2(x); }, &kX, &k_exp2},
      {"erf", [](const Tensor& x) { return erf(x); }, &kX, &k_erf},
      {"erfc", [](const Tensor& x) { return erfc(x); }, &kX, &k_erfc},
      {"sinc", [](const Tensor& x) { return sinc(x); }, &kX, &k_sinc},
      {"frac", [](const Tensor& x) { return frac(x); }, &kX, &k_frac},
      {"asin", [](const Tensor& x) { return asin(x); }, &kU, &k_asin},
      {"acos", [](const Tensor& x) { return acos(x); }, &kU, &k_acos},
      {"atanh", [](const Tensor& x) { return atanh(x); }, &kU, &k_atanh},
      {"erfinv", [](const Tensor& x) { return erfinv(x); }, &kU, &k_erfinv},
      {"log2", [](const Tensor& x) { return log2(x); }, &kP, &k_log2},
      {"log10", [](const Tensor& x) { return log10(x); }, &kP, &k_log10},
      {"acosh of 1 + x", [](const Tensor& x) { return acosh(x + 1.0); }, &kP, &k_acosh},
      {"lgamma", [](const Tensor& x) { return lgamma(x); }, &kG, &k_lgamma},
      {"digamma", [](const Tensor& x) { return digamma(x); }, &kG, &k_digamma},
      {"polygamma 1", [](const Tensor& x) { return polygamma(1, x); }, &kG, &k_polygamma1},
      {"polygamma 2", [](const Tensor& x) { return polygamma(2, x); }, &kG, &k_polygamma2},
      {"polygamma 3", [](const Tensor& x) { return polygamma(3, x); }, &kG, &k_polygamma3},
      {"polygamma 5", [](const Tensor& x) { return polygamma(5, x); }, &kG, &k_polygamma5},
  };
  for (const UnaryRow& row : rows) {
    CAPTURE(row.name);
    check_values(values(row.op(f64(*row.input))), *row.expected, 1e-12, 1e-15);
    // float32: the float64 reference within float32's rounding, which starts with the input's
    // (1 + 1e-3 rounds by 6e-8, which moves acosh there by 3e-5 relative), and absolutely near
    // the zeros of lgamma and sinc.
    check_values(values(row.op(f64(*row.input).to(kFloat32))), *row.expected, 1e-4, 2e-6);
  }
}

TEST_CASE("special functions at their poles and edges follow PyTorch") {
  const double inf = std::numeric_limits<double>::infinity();
  check_values(values(digamma(f64({0.0, -0.0, -2.0, inf}))), {-inf, inf, kNaN, inf}, 0.0);
  check_values(values(polygamma(1, f64({0.0, -3.0, inf}))), {inf, inf, 0.0}, 0.0);
  check_values(values(polygamma(2, f64({0.0, -1.0}))), {-inf, -inf}, 0.0);
  check_values(values(erfinv(f64({1.0, -1.0, 1.5, -0.0}))), {inf, -inf, kNaN, -0.0}, 0.0);
  CHECK(std::signbit(values(erfinv(f64({-0.0})))[0]));
  // erfinv in the far tail, where 1 - y keeps the digits: erfc(erfinv(y)) = 1 - y.
  const double y = 1.0 - 1e-12;
  CHECK(std::erfc(values(erfinv(f64({y})))[0]) == doctest::Approx(1.0 - y).epsilon(1e-12));
  CHECK(contains(error_message([] { polygamma(-1, f64({1.0})); }), "order n must be >= 0"));
  // Integer inputs are promoted to float32, as PyTorch's.
  CHECK(lgamma(arange(4)).dtype() == kFloat32);
}

TEST_CASE("the division family: fmod, remainder and floor_divide on floats and integers") {
  const Tensor a = f64(kA), b = f64(kB);
  check_values(values(fmod(a, b)), k_fmod, 1e-15, 1e-15);
  check_values(values(remainder(a, b)), k_remainder, 1e-15, 1e-15);
  check_values(values(floor_divide(a, b)), k_floor_divide, 0.0);
  const Tensor ia = tensor(kIA), ib = tensor(kIB);
  CHECK(int_values(fmod(ia, ib)) == k_int_fmod);
  CHECK(int_values(remainder(ia, ib)) == k_int_remainder);
  CHECK(int_values(floor_divide(ia, ib)) == k_int_floor_divide);
  CHECK(fmod(ia, ib).dtype() == kInt64);
  CHECK(int_values(remainder(ia, 4)) == std::vector<std::int64_t>{3, 1, 3, 1, 0, 1});
  // An integer tensor and a fractional number promote to float32, as in PyTorch.
  CHECK(remainder(ia, 2.5).dtype() == kFloat32);
  check_values(values(remainder(ia, 2.5)), {2.0, 0.5, 2.0, 0.5, 0.0, 1.5}, 1e-7);
  for (auto op : {+[](const Tensor& x, const Tensor& y) { return fmod(x, y); },
                  +[](const Tensor& x, const Tensor& y) { return remainder(x, y); },
                  +[](const Tensor& x, const Tensor& y) { return floor_divide(x, y); }})
    CHECK(contains(error_message([&] { op(ia, tensor(std::vector<std::int64_t>{1, 0, 2, 3, 4, 5})); }), "integer division by zero"));
  // A float division by zero is IEEE's: fmod NaN, floor_divide infinite.
  CHECK(std::isnan(values(fmod(f64({1.0}), 0.0))[0]));
  CHECK(values(floor_divide(f64({1.0}), 0.0))[0] == std::numeric_limits<double>::infinity());
  // The lowest int64 over -1 wraps instead of trapping.
  const std::int64_t lowest = std::numeric_limits<std::int64_t>::min();
  CHECK(int_values(floor_divide(tensor(std::vector<std::int64_t>{lowest}), -1))[0] == lowest);
  CHECK(int_values(fmod(tensor(std::vector<std::int64_t>{lowest}), -1))[0] == 0);
}

TEST_CASE("atan2, hypot, copysign, logaddexp and xlogy match PyTorch, edges included") {
  const Tensor a = f64(kA), b = f64(kB);
  check_values(values(atan2(a, b)), k_atan2, 1e-15);
  check_values(values(hypot(a, b)), k_hypot, 1e-15);
  check_values(values(copysign(a, b)), k_copysign, 0.0);
  check_values(values(logaddexp(a, b)), k_logaddexp, 1e-15);
  check_values(values(logaddexp(f64(kLA), f64(kLB))), k_logaddexp_edges, 1e-15);
  check_values(values(xlogy(f64(kXA), f64(kXB))), k_xlogy, 1e-15);
  // The Tensor methods are the same functions.
  CHECK(equal(a.atan2(b), atan2(a, b)));
  CHECK(equal(a.remainder(2.0), remainder(a, 2.0)));
}

TEST_CASE("lerp, addcmul, addcdiv, logit, nan_to_num and isclose") {
  const Tensor a = f64({1.0, -2.0, 3.0}), b = f64({5.0, 2.0, -1.0});
  check_values(values(lerp(a, b, 0.25)), {2.0, -1.0, 2.0}, 1e-15);
  check_values(values(lerp(a, b, 1.0)), {5.0, 2.0, -1.0}, 0.0);  // exactly the end at weight 1
  check_values(values(lerp(a, b, f64({0.0, 0.5, 0.75}))), {1.0, 0.0, 0.0}, 1e-15);
  check_values(values(addcmul(a, a, b, 0.5)), {3.5, -4.0, 1.5}, 1e-15);
  check_values(values(addcdiv(a, a, b, 2.0)), {1.4, -4.0, -3.0}, 1e-15);
  check_values(values(logit(f64({0.25, 0.5, 0.9}))), {std::log(1.0 / 3.0), 0.0, std::log(9.0)}, 1e-14);
  check_values(values(logit(f64({0.0, 1.0, 0.5}), 0.1)), {std::log(1.0 / 9.0), std::log(9.0), 0.0}, 1e-14);
  const double inf = std::numeric_limits<double>::infinity();
  const Tensor odd = f64({kNaN, inf, -inf, 1.5});
  check_values(values(nan_to_num(odd)), {0.0, std::numeric_limits<double>::max(), -std::numeric_limits<double>::max(), 1.5}, 0.0);
  check_values(values(nan_to_num(odd, 9.0, 1e3, -1e3)), {9.0, 1e3, -1e3, 1.5}, 0.0);
  CHECK(values(nan_to_num(odd.to(kFloat32)))[1] == static_cast<double>(std::numeric_limits<float>::max()));
  CHECK(int_values(isclose(f64({1.0, 1.0 + 1e-9, 1.1, kNaN, inf}), f64({1.0, 1.0, 1.0, kNaN, inf}))) ==
        std::vector<std::int64_t>{1, 1, 0, 0, 1});
  CHECK(int_values(isclose(f64({kNaN}), f64({kNaN}), 1e-5, 1e-8, /*equal_nan=*/true)) == std::vector<std::int64_t>{1});
  CHECK(int_values(isclose(f64({1.0, 2.0}), f64({1.05, 2.0}), 0.0, 0.1)) == std::vector<std::int64_t>{1, 1});
}

TEST_CASE("scans: cumprod, cummax, cummin, logcumsumexp against PyTorch (zeros, ties and NaN)") {
  const Tensor s = f64(kS, {2, 6});
  check_values(values(cumprod(s, 1)), k_cumprod, 1e-15);
  const auto [max_values, max_indices] = cummax(s, 1);
  check_values(values(max_values), k_cummax, 0.0);
  CHECK(int_values(max_indices) == k_cummax_i);
  const auto [min_values, min_indices] = cummin(s, -1);
  check_values(values(min_values), k_cummin, 0.0);
  CHECK(int_values(min_indices) == k_cummin_i);
  check_values(values(logcumsumexp(s, 1)), k_logcumsumexp, 1e-15);
  // With a gradient to record the scans run as differentiable composites (NOTE [ Scans by
  // doubling ]): the same values, to rounding.
  const Tensor tracked = s.clone().requires_grad_();
  check_values(values(cumprod(tracked, 1)), k_cumprod, 1e-14, 1e-15);
  check_values(values(logcumsumexp(tracked, 1)), k_logcumsumexp, 1e-14, 1e-15);
  CHECK(cumprod(tracked, 1).requires_grad());
  // The same along dim 0 of the transpose, and for a length that is not a power of two.
  check_values(values(cumprod(s.t(), 0).t()), k_cumprod, 1e-15);
  const Tensor long_row = arange(1.0, 38.0, 1.0, kFloat64) * 0.01 + 1.0;
  const std::vector<double> x = values(long_row), got = values(cumprod(long_row, 0));
  double running = 1.0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    running *= x[i];
    CHECK(got[i] == doctest::Approx(running).epsilon(1e-14));
  }
  // Integers multiply as int64.
  const Tensor ints = tensor(std::vector<std::int64_t>{2, -3, 4});
  CHECK(cumprod(ints, 0).dtype() == kInt64);
  CHECK(int_values(cumprod(ints, 0)) == std::vector<std::int64_t>{2, -6, -24});
}

TEST_CASE("median and quantile against PyTorch, every interpolation") {
  const Tensor m = f64(kM, {3, 6});
  const auto [median_values, median_indices] = median(m, 1);
  check_values(values(median_values), k_median1, 0.0);
  CHECK(int_values(median_indices) == k_median1_i);
  check_values(values(median(m, 0).first), k_median0, 0.0);
  check_values(values(m.median()), k_median_all, 0.0);
  CHECK(median(m, 1, /*keepdim=*/true).first.sizes() == Shape{3, 1});
  const Tensor qs = f64({0.0, 0.25, 0.5, 0.6, 1.0});
  check_values(values(quantile(m, qs, 1)), k_quantile_linear, 1e-15);
  check_values(values(quantile(m, qs, 1, false, "lower")), k_quantile_lower, 0.0);
  check_values(values(quantile(m, qs, 1, false, "higher")), k_quantile_higher, 0.0);
  check_values(values(quantile(m, qs, 1, false, "nearest")), k_quantile_nearest, 0.0);
  check_values(values(quantile(m, qs, 1, false, "midpoint")), k_quantile_midpoint, 1e-15);
  check_values(values(quantile(m, 0.4)), k_quantile_all, 1e-15);
  CHECK(quantile(m, qs, 1).sizes() == Shape{5, 3});
  CHECK(quantile(m, 0.5, 0, /*keepdim=*/true).sizes() == Shape{1, 6});
  CHECK(quantile(m, 0.5, std::nullopt, /*keepdim=*/true).sizes() == Shape{1, 1});
  // A NaN makes its row's median and quantiles NaN.
  const Tensor with_nan = f64({1.0, kNaN, 3.0, 0.5, 2.0, 4.0}, {2, 3});
  CHECK(std::isnan(values(median(with_nan, 1).first)[0]));
  CHECK(int_values(median(with_nan, 1).second)[0] == 1);
  CHECK(std::isnan(values(quantile(with_nan, 0.5, 1))[0]));
  CHECK(values(quantile(with_nan, 0.5, 1))[1] == 2.0);
  CHECK(contains(error_message([&] { quantile(m, 1.5); }), "[0, 1]"));
  CHECK(contains(error_message([&] { quantile(m, 0.5, 1, false, "cubic"); }), "interpolation"));
  CHECK(contains(error_message([&] { quantile(arange(3), 0.5); }), "floating-point"));
}

TEST_CASE("kthvalue and nanmedian: PyTorch's values, stable positions, NaN after the numbers") {
  // torch.kthvalue / torch.nanmedian 1.13 give these values; among equal values PyTorch's index
  // is whichever its quickselect meets, Cake's the one a stable sort puts at that rank.
  const Tensor x = f64({3.0, 1.0, kNaN, 1.0, 2.0, kNaN, kNaN, kNaN, kNaN, kNaN, 2.0, 2.0, 1.0, 1.0, 5.0}, {3, 5});
  const auto [second, second_at] = kthvalue(x, 2, 1);
  check_values(values(second), {1.0, kNaN, 1.0}, 0.0);
  CHECK(int_values(second_at) == std::vector<std::int64_t>{3, 1, 3});
  const auto [fourth, fourth_at] = x.kthvalue(4, 1);
  check_values(values(fourth), {3.0, kNaN, 2.0}, 0.0);
  CHECK(int_values(fourth_at) == std::vector<std::int64_t>{0, 3, 1});
  const auto [middle, middle_at] = nanmedian(x, 1);
  check_values(values(middle), {1.0, kNaN, 2.0}, 0.0);
  CHECK(int_values(middle_at) == std::vector<std::int64_t>{3, 0, 0});
  CHECK(values(nanmedian(f64({kNaN, 1.0, kNaN})))[0] == 1.0);
  CHECK(std::isnan(values(nanmedian(f64({kNaN, kNaN})))[0]));
  CHECK(std::isnan(values(median(f64({kNaN, 1.0, 2.0})))[0]));  // median keeps the NaN
  // Integers, a 0-d input, keepdim, the gradient to the element chosen.
  const auto [int_value, int_at] = kthvalue(tensor(std::vector<std::int64_t>{5, 3, 3, 1}), 2);
  CHECK(int_values(int_value) == std::vector<std::int64_t>{3});
  CHECK(int_values(int_at) == std::vector<std::int64_t>{1});
  CHECK(kthvalue(f64({4.0}).view({}), 1).first.item<double>() == 4.0);
  CHECK(kthvalue(x, 1, 0, /*keepdim=*/true).first.sizes() == Shape{1, 5});
  Tensor ones_row = ones({1, 4}, kFloat64).requires_grad_();
  kthvalue(ones_row, 2, 1).first.sum().backward();
  check_values(values(ones_row.grad()), {0.0, 1.0, 0.0, 0.0}, 0.0);
  CHECK(contains(error_message([&] { kthvalue(x, 6, 1); }), "out of range"));
  CHECK(contains(error_message([&] { kthvalue(x, 0, 1); }), "out of range"));
  CHECK(contains(error_message([&] { nanmedian(zeros({2, 0}), 1); }), "empty"));
  // Against the stable sort on every dim of a tensor full of ties, float32 and a transposed view.
  manual_seed(5);
  const Tensor ties = (randn({7, 9, 11}) * 2.0).round();
  for (const Tensor& t : {ties, ties.transpose(0, 2), ties.to(kFloat64)}) {
    for (std::int64_t dim = 0; dim < 3; ++dim) {
      const auto [sorted, order] = sort(t, dim);
      for (std::int64_t k : {std::int64_t{1}, t.size(dim) / 2, t.size(dim)}) {
        const auto [value, at] = kthvalue(t, k, dim, /*keepdim=*/true);
        CHECK(equal(value, narrow(sorted, dim, k - 1, 1)));
        CHECK(equal(at, narrow(order, dim, k - 1, 1)));
      }
      CHECK(equal(median(t, dim).second, narrow(order, dim, (t.size(dim) - 1) / 2, 1).squeeze(dim)));
    }
  }
}

TEST_CASE("searchsorted and bucketize against PyTorch") {
  const Tensor sorted = f64(kSS, {2, 5}), points = f64(kSV, {2, 3});
  CHECK(int_values(searchsorted(sorted, points)) == k_ss_left);
  CHECK(int_values(searchsorted(sorted, points, /*right=*/true)) == k_ss_right);
  const Tensor boundaries = f64({1.0, 3.0, 5.0, 7.0, 9.0});
  CHECK(int_values(bucketize(f64(kBX, {2, 3}), boundaries)) == k_bucketize);
  CHECK(int_values(bucketize(f64(kBX, {2, 3}), boundaries, true)) == k_bucketize_right);
  CHECK(bucketize(f64(kBX, {2, 3}), boundaries).sizes() == Shape{2, 3});
  // Mixed dtypes compare after promotion; an int64 sequence with float values.
  CHECK(int_values(searchsorted(tensor(std::vector<std::int64_t>{1, 3, 5}), f64({2.5, 3.0}))) ==
        std::vector<std::int64_t>{1, 1});
  CHECK(contains(error_message([&] { searchsorted(sorted, f64({1.0, 2.0}, {1, 2})); }), "leading dims"));
}

TEST_CASE("triangles, diagonals and rearrangements against PyTorch") {
  const Tensor t = arange(0.0, 24.0, 1.0, kFloat64).reshape({2, 3, 4});
  check_values(values(t.tril(1)), k_tril1, 0.0);
  check_values(values(t.triu(-1)), k_triu_m1, 0.0);
  // Diagonals past either corner, tall and wide shapes.
  CHECK(tril(ones({3, 5}, kFloat64), -3).sum().item<double>() == 0.0);
  CHECK(tril(ones({4, 2}, kFloat64), 10).sum().item<double>() == 8.0);
  CHECK(triu(ones({3, 5}, kFloat64), 5).sum().item<double>() == 0.0);
  check_values(values(triu(ones({4, 2}, kFloat64), -1)), {1, 1, 1, 1, 0, 1, 0, 0}, 0.0);
  const Tensor d = diagonal(t, 1, 2, 0);
  CHECK(d.sizes() == k_diag_shape);
  check_values(values(d), k_diagonal, 0.0);
  // diagonal is a view: a write to the base shows through.
  Tensor base = zeros({3, 3}, kFloat64);
  const Tensor main_diagonal = base.diagonal();
  base.fill_(2.0);
  check_values(values(main_diagonal), {2.0, 2.0, 2.0}, 0.0);
  check_values(values(diag(f64({1.0, 2.0, 3.0}), -1)), k_diag_vec, 0.0);
  check_values(values(diag(diag(f64({1.0, 2.0, 3.0})))), {1.0, 2.0, 3.0}, 0.0);
  const Tensor embedded = diag_embed(arange(0.0, 6.0, 1.0, kFloat64).reshape({2, 3}), 1, 0, 2);
  CHECK(embedded.sizes() == k_diag_embed_shape);
  check_values(values(embedded), k_diag_embed, 0.0);
  CHECK(int_values(tril_indices(3, 4, 1)) == k_tril_indices);
  CHECK(int_values(triu_indices(4, 3, -1)) == k_triu_indices);
  const Tensor moved = movedim(t, {0, 2}, {2, 0});
  CHECK(moved.sizes() == k_movedim_shape);
  check_values(values(moved), k_movedim, 0.0);
  CHECK(movedim(t, 0, -1).sizes() == Shape{3, 4, 2});
  CHECK(swapaxes(t, 0, 2).sizes() == Shape{4, 3, 2});
  check_values(values(t.rot90(1, {1, 2})), k_rot90_1, 0.0);
  check_values(values(t.rot90(2, {1, 2})), k_rot90_2, 0.0);
  check_values(values(t.rot90(3, {1, 2})), k_rot90_3, 0.0);
  check_values(values(t.rot90(-1, {1, 2})), k_rot90_m1, 0.0);
  const Tensor tiled = tile(arange(0.0, 6.0, 1.0, kFloat64).reshape({2, 3}), {2, 1, 2});
  CHECK(tiled.sizes() == k_tile_shape);
  check_values(values(tiled), k_tile, 0.0);
  check_values(values(kron(f64({1.0, 2.0, 3.0, 4.0}, {2, 2}), f64({0.0, 5.0, 1.0, 6.0, 7.0, 2.0}, {2, 3}))), k_kron, 0.0);
  check_values(values(tensordot(t, arange(0.0, 12.0, 1.0, kFloat64).reshape({4, 3}), {1, 2}, {1, 0})), k_tensordot, 0.0);
  CHECK(tensordot(t, ones({3, 4, 5}, kFloat64)).sizes() == Shape{2, 5});
  const Tensor blocks = block_diag({f64({1.0, 2.0, 3.0, 4.0}, {2, 2}), f64({5.0, 6.0, 7.0}), full({}, 8.0, kFloat64)});
  CHECK(blocks.sizes() == k_block_diag_shape);
  check_values(values(blocks), k_block_diag, 0.0);
  check_values(values(cartesian_prod({f64({1.0, 2.0}), f64({3.0, 4.0, 5.0})})), k_cartesian, 0.0);
  const auto ij = meshgrid({f64({1.0, 2.0, 3.0}), f64({4.0, 5.0})});
  CHECK(ij[0].sizes() == Shape{3, 2});
  check_values(values(ij[1]), {4.0, 5.0, 4.0, 5.0, 4.0, 5.0}, 0.0);
  const auto xy = meshgrid({f64({1.0, 2.0, 3.0}), f64({4.0, 5.0})}, "xy");
  CHECK(xy[0].sizes() == Shape{2, 3});
  check_values(values(xy[0]), {1.0, 2.0, 3.0, 1.0, 2.0, 3.0}, 0.0);
  CHECK(contains(error_message([&] { tril(f64({1.0})); }), "matrix"));
  CHECK(contains(error_message([&] { movedim(t, {0, 0}, {1, 2}); }), "named twice"));
  CHECK(contains(error_message([&] { tensordot(t, t, {0}, {1}); }), "has size"));
}

TEST_CASE("prod is differentiable, zeros included (PyTorch's gradient)") {
  const Tensor x = f64({1.3, 0.0, -0.7, 2.1, 0.9, -1.1, 0.0, 0.0, 2.0}, {3, 3}).requires_grad_();
  x.prod(1).sum().backward();
  check_values(values(x.grad()), k_prod_grad, 1e-15);
}

TEST_CASE("NaN-skipping and paired reductions") {
  const Tensor x = f64({1.0, kNaN, 3.0, kNaN, kNaN, kNaN}, {2, 3});
  check_values(values(nansum(x, {1})), {4.0, 0.0}, 0.0);
  check_values(values(nanmean(x, {1})), {2.0, kNaN}, 0.0);
  CHECK(int_values(count_nonzero(f64({0.0, 1.0, 0.0, 2.0}, {2, 2}), {0})) == std::vector<std::int64_t>{0, 2});
  CHECK(count_nonzero(f64({0.0, 1.0, 0.0, 2.0})).item<std::int64_t>() == 2);
  const Tensor y = f64({1.0, 2.0, 4.0, -1.0}, {2, 2});
  const auto [v, m] = var_mean(y, {1});
  check_values(values(v), {0.5, 12.5}, 1e-15);
  check_values(values(m), {1.5, 1.5}, 1e-15);
  CHECK(equal(std_mean(y).first, y.std()));
  const auto [low, high] = aminmax(y, 0);
  check_values(values(low), {1.0, -1.0}, 0.0);
  check_values(values(high), {4.0, 2.0}, 0.0);
  CHECK(aminmax(y).first.item<double>() == -1.0);
}

TEST_CASE("sampling: bernoulli, multinomial and normal have the right statistics and follow the seed") {
  manual_seed(7);
  const Tensor p = full({20000}, 0.3, kFloat64);
  CHECK(bernoulli(p).mean().item<double>() == doctest::Approx(0.3).epsilon(0.05));
  CHECK(bernoulli(zeros({3, 4}, kInt64), 1.0).sum().item<std::int64_t>() == 12);
  CHECK(contains(error_message([] { bernoulli(full({2}, 1.5, kFloat64)); }), "[0, 1]"));

  const Tensor weights = f64({1.0, 0.0, 3.0, 4.0});
  const Tensor draws = multinomial(weights, 40000, /*replacement=*/true);
  CHECK(draws.sizes() == Shape{40000});
  const std::vector<double> frequency = values(bincount(draws, {}, 4).to(kFloat64) / 40000.0);
  check_values(frequency, {0.125, 0.0, 0.375, 0.5}, 0.0, 0.01);
  // Without replacement: distinct categories of non-zero weight; the first draw follows the weights.
  const Tensor rows = weights.expand({20000, 4}).contiguous();
  const Tensor picks = multinomial(rows, 3);
  CHECK(picks.sizes() == Shape{20000, 3});
  const std::vector<std::int64_t> first = int_values(picks.select(1, 0));
  std::vector<double> first_frequency(4, 0.0);
  for (std::int64_t c : first) first_frequency[static_cast<std::size_t>(c)] += 1.0 / 20000.0;
  check_values(first_frequency, {0.125, 0.0, 0.375, 0.5}, 0.0, 0.015);
  const std::vector<std::int64_t> all = int_values(picks);
  for (std::size_t r = 0; r < all.size(); r += 3) {
    CHECK(all[r] != all[r + 1]);
    CHECK(all[r] != all[r + 2]);
    CHECK(all[r + 1] != all[r + 2]);
    CHECK(all[r] != 1);
  }
  CHECK(contains(error_message([&] { multinomial(weights, 4); }), "fewer than 4"));
  CHECK(contains(error_message([&] { multinomial(f64({-1.0, 2.0}), 1); }), "non-negative"));
  manual_seed(3);
  const Tensor again_a = multinomial(weights, 10, true);
  manual_seed(3);
  CHECK(equal(multinomial(weights, 10, true), again_a));

  const Tensor samples = normal(full({50000}, 2.0, kFloat64), 0.5);
  CHECK(samples.mean().item<double>() == doctest::Approx(2.0).epsilon(0.01));
  CHECK(samples.std().item<double>() == doctest::Approx(0.5).epsilon(0.02));
  CHECK(normal(f64({0.0, 10.0}), f64({1.0, 0.0})).select(0, 1).item<double>() == 10.0);
  CHECK(contains(error_message([] { normal(f64({0.0}), -1.0); }), ">= 0"));
}
