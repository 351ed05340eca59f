// autograd/ops/math.cpp: the rest of the elementwise maths: trigonometric, hyperbolic,
// exponential and special functions, the division family (fmod, remainder, floor_divide), and
// the small composites PyTorch users reach for (lerp, addcmul, logit, nan_to_num, isclose).
//
// Each op is a row of the elementwise table (tensor/native/op_tables.h) whose functor both
// backends run, plus its derivative, stated above it and written with differentiable ops so that
// second derivatives work. The special functions' derivatives are special functions again:
// d lgamma = digamma, d digamma = polygamma(1), d polygamma(n) = polygamma(n + 1).
#include <cmath>
#include <limits>
#include <numbers>
#include <utility>

#include "cake/autograd/function.h"
#include "cake/autograd/ops.h"
#include "cake/autograd/detail/elementwise_helpers.h"
#include "cake/tensor/creation.h"
#include "cake/tensor/native/elementwise.h"
#include "cake/tensor/native/reduce.h"

namespace cake {

using autograd::needs_grad;
using autograd::record;
using autograd::SavedTensor;
using autograd::TensorList;
using detail::Saves;
using detail::scalar_like;
using detail::unary_op;
using native::BinaryOp;
using native::UnaryOp;

namespace {

// The gradients (da, db) of y = op(a, b) for the incoming g, before broadcasting is undone.
using BinaryDerivative = std::pair<Tensor, Tensor> (*)(const Tensor& g, const Tensor& a, const Tensor& b,
                                                       const Tensor& y);

// y = op(a, b), recording `name` whose backward is derivative(g, a, b, y), each gradient summed
// back to its input's shape and dtype.
Tensor binary_op(const char* name, BinaryOp op, const Tensor& a, const Tensor& b, BinaryDerivative derivative) {
  Tensor y = native::binary(op, a, b);
  if (needs_grad({a, b})) {
    record(name, {a, b}, {y},
           [derivative, sa = SavedTensor(a), sb = SavedTensor(b), sy = SavedTensor(y), ga = detail::InputGeometry(a),
            gb = detail::InputGeometry(b)](const TensorList& g) {
             auto [da, db] = derivative(g[0], sa.get(), sb.get(), sy.get());
             return TensorList{ga.wants_grad ? ga.reduce(da) : Tensor(), gb.wants_grad ? gb.reduce(db) : Tensor()};
           });
  }
  return y;
}

// An integer division by zero has no value (PyTorch raises ZeroDivisionError); refused by name.
void check_integer_divisor(const char* op, const Tensor& a, const Tensor& b) {
  if (is_floating(a.dtype()) || is_floating(b.dtype())) return;
  CAKE_CHECK(!native::binary(BinaryOp::Eq, b, 0).any().item<bool>(), op, ": integer division by zero");
}

constexpr double kTwoOverSqrtPi = std::numbers::inv_sqrtpi * 2.0;

}  // namespace

// ---- trigonometric and hyperbolic -------------------------------------------------------------
// d tan x = (1 + tan^2 x) dx
Tensor tan(const Tensor& x) {
  return unary_op("TanBackward", UnaryOp::Tan, x, Saves::Output,
                  [](const Tensor& g, const Tensor& y) { return g * (y * y + 1.0); });
}
// d asin x = dx / sqrt(1 - x^2)
Tensor asin(const Tensor& x) {
  return unary_op("AsinBackward", UnaryOp::Asin, x, Saves::Input,
                  [](const Tensor& g, const Tensor& xv) { return g * rsqrt(1.0 - xv * xv); });
}
// d acos x = -dx / sqrt(1 - x^2)
Tensor acos(const Tensor& x) {
  return unary_op("AcosBackward", UnaryOp::Acos, x, Saves::Input,
                  [](const Tensor& g, const Tensor& xv) { return -g * rsqrt(1.0 - xv * xv); });
}
// d atan x = dx / (1 + x^2)
Tensor atan(const Tensor& x) {
  return unary_op("AtanBackward", UnaryOp::Atan, x, Saves::Input,
                  [](const Tensor& g, const Tensor& xv) { return g / (xv * xv + 1.0); });
}
// d sinh x = cosh x dx
Tensor sinh(const Tensor& x) {
  return unary_op("SinhBackward", UnaryOp::Sinh, x, Saves::Input,
                  [](const Tensor& g, const Tensor& xv) { return g * cosh(xv); });
}
// d cosh x = sinh x dx
Tensor cosh(const Tensor& x) {
  return unary_op("CoshBackward", UnaryOp::Cosh, x, Saves::Input,
                  [](const Tensor& g, const Tensor& xv) { return g * sinh(xv); });
}
// d asinh x = dx / sqrt(x^2 + 1)
Tensor asinh(const Tensor& x) {
  return unary_op("AsinhBackward", UnaryOp::Asinh, x, Saves::Input,
                  [](const Tensor& g, const Tensor& xv) { return g * rsqrt(xv * xv + 1.0); });
}
// d acosh x = dx / sqrt(x^2 - 1)
Tensor acosh(const Tensor& x) {
  return unary_op("AcoshBackward", UnaryOp::Acosh, x, Saves::Input,
                  [](const Tensor& g, const Tensor& xv) { return g * rsqrt(xv * xv - 1.0); });
}
// d atanh x = dx / (1 - x^2)
Tensor atanh(const Tensor& x) {
  return unary_op("AtanhBackward", UnaryOp::Atanh, x, Saves::Input,
                  [](const Tensor& g, const Tensor& xv) { return g / (1.0 - xv * xv); });
}

// ---- exponentials and logarithms --------------------------------------------------------------
// d(e^x - 1) = e^x dx = (y + 1) dx
Tensor expm1(const Tensor& x) {
  return unary_op("Expm1Backward", UnaryOp::Expm1, x, Saves::Output,
                  [](const Tensor& g, const Tensor& y) { return g * (y + 1.0); });
}
// d 2^x = 2^x ln 2 dx
Tensor exp2(const Tensor& x) {
  return unary_op("Exp2Backward", UnaryOp::Exp2, x, Saves::Output,
                  [](const Tensor& g, const Tensor& y) { return g * y * std::numbers::ln2; });
}
// d log2 x = dx / (x ln 2)
Tensor log2(const Tensor& x) {
  return unary_op("Log2Backward", UnaryOp::Log2, x, Saves::Input,
                  [](const Tensor& g, const Tensor& xv) { return g / (xv * std::numbers::ln2); });
}
// d log10 x = dx / (x ln 10)
Tensor log10(const Tensor& x) {
  return unary_op("Log10Backward", UnaryOp::Log10, x, Saves::Input,
                  [](const Tensor& g, const Tensor& xv) { return g / (xv * std::numbers::ln10); });
}

// ---- error and gamma functions ----------------------------------------------------------------
// d erf x = 2/sqrt(pi) e^(-x^2) dx
Tensor erf(const Tensor& x) {
  return unary_op("ErfBackward", UnaryOp::Erf, x, Saves::Input,
                  [](const Tensor& g, const Tensor& xv) { return g * exp(-xv * xv) * kTwoOverSqrtPi; });
}
// d erfc x = -2/sqrt(pi) e^(-x^2) dx
Tensor erfc(const Tensor& x) {
  return unary_op("ErfcBackward", UnaryOp::Erfc, x, Saves::Input,
                  [](const Tensor& g, const Tensor& xv) { return g * exp(-xv * xv) * -kTwoOverSqrtPi; });
}
// The derivative of the inverse: d erfinv x = dx / erf'(y) = sqrt(pi)/2 e^(y^2) dx.
Tensor erfinv(const Tensor& x) {
  return unary_op("ErfinvBackward", UnaryOp::Erfinv, x, Saves::Output,
                  [](const Tensor& g, const Tensor& y) { return g * exp(y * y) * (1.0 / kTwoOverSqrtPi); });
}
// d ln|Gamma(x)| = psi(x) dx
Tensor lgamma(const Tensor& x) {
  return unary_op("LgammaBackward", UnaryOp::Lgamma, x, Saves::Input,
                  [](const Tensor& g, const Tensor& xv) { return g * digamma(xv); });
}
// d psi(x) = psi^(1)(x) dx
Tensor digamma(const Tensor& x) {
  return unary_op("DigammaBackward", UnaryOp::Digamma, x, Saves::Input,
                  [](const Tensor& g, const Tensor& xv) { return g * polygamma(1, xv); });
}
// d psi^(n)(x) = psi^(n+1)(x) dx
Tensor polygamma(std::int64_t n, const Tensor& x) {
  CAKE_CHECK(n >= 0, "polygamma: the order n must be >= 0, got ", n);
  Tensor y = native::unary(UnaryOp::Polygamma, x, {static_cast<double>(n), 0.0});
  if (needs_grad({x})) {
    record("PolygammaBackward", {x}, {y}, [n, sx = SavedTensor(x)](const TensorList& g) {
      return TensorList{g[0] * polygamma(n + 1, sx.get())};
    });
  }
  return y;
}

// ---- piecewise --------------------------------------------------------------------------------
// d sinc x = (cos(pi x) - sinc x) / x dx, 0 at x = 0 (sinc is even there). The formula is
// evaluated at x = 1 where x is 0, so that no 0/0 enters even a second derivative.
Tensor sinc(const Tensor& x) {
  return unary_op("SincBackward", UnaryOp::Sinc, x, Saves::Input, [](const Tensor& g, const Tensor& xv) {
    const Tensor at_zero = native::binary(BinaryOp::Eq, xv, 0.0);
    const Tensor safe = where(at_zero, ones_like(xv), xv);
    const Tensor slope = (cos(safe * std::numbers::pi) - sinc(safe)) / safe;
    return g * where(at_zero, zeros_like(xv), slope);
  });
}
// d(x - trunc x) = dx (trunc is flat almost everywhere)
Tensor frac(const Tensor& x) {
  return unary_op("FracBackward", UnaryOp::Frac, x, Saves::Nothing, [](const Tensor& g, const Tensor&) { return g; });
}

// log x - log(1 - x); d logit = dx / (x (1 - x)), and 0 outside [eps, 1 - eps] through the clamp.
Tensor logit(const Tensor& x, std::optional<double> eps) {
  const Tensor inside = eps ? clamp(x, *eps, 1.0 - *eps) : x;
  return log(inside) - log1p(-inside);
}

Tensor nan_to_num(const Tensor& x, double nan, std::optional<double> posinf, std::optional<double> neginf) {
  if (!is_floating(x.dtype())) return x;
  const bool is_double = x.dtype() == kFloat64;
  const double largest = is_double ? std::numeric_limits<double>::max() : std::numeric_limits<float>::max();
  const Tensor replacement = where(isnan(x), full_like(x, nan),
                                   where(native::binary(BinaryOp::Gt, x, 0.0), full_like(x, posinf.value_or(largest)),
                                         full_like(x, neginf.value_or(-largest))));
  return where(isfinite(x), x, replacement);
}

// ---- binary -----------------------------------------------------------------------------------
// d atan2(a, b) = (b da - a db) / (a^2 + b^2)
Tensor atan2(const Tensor& a, const Tensor& b) {
  return binary_op("Atan2Backward", BinaryOp::Atan2, a, b, [](const Tensor& g, const Tensor& av, const Tensor& bv, const Tensor&) {
    const Tensor scale = g / (av * av + bv * bv);
    return std::pair{scale * bv, -scale * av};
  });
}
// d hypot(a, b) = (a da + b db) / hypot(a, b)
Tensor hypot(const Tensor& a, const Tensor& b) {
  return binary_op("HypotBackward", BinaryOp::Hypot, a, b, [](const Tensor& g, const Tensor& av, const Tensor& bv, const Tensor& y) {
    const Tensor scale = g / y;
    return std::pair{scale * av, scale * bv};
  });
}
// copysign(a, b) = +-a: da = (y / a) dx (0 at a = 0, as PyTorch), and nothing flows to b.
Tensor copysign(const Tensor& a, const Tensor& b) {
  return binary_op("CopysignBackward", BinaryOp::Copysign, a, b,
                   [](const Tensor& g, const Tensor& av, const Tensor&, const Tensor& y) {
                     const Tensor at_zero = native::binary(BinaryOp::Eq, av, 0.0);
                     const Tensor ratio = where(at_zero, zeros_like(y), y / where(at_zero, ones_like(av), av));
                     return std::pair{g * ratio, zeros_like(g)};
                   });
}
// fmod(a, b) = a - trunc(a / b) b: da = dx, db = -trunc(a / b) dx (the quotient is flat).
Tensor fmod(const Tensor& a, const Tensor& b) {
  check_integer_divisor("fmod", a, b);
  return binary_op("FmodBackward", BinaryOp::Fmod, a, b, [](const Tensor& g, const Tensor& av, const Tensor& bv, const Tensor&) {
    return std::pair{g, -g * trunc(av / bv)};
  });
}
Tensor fmod(const Tensor& a, Scalar b) { return fmod(a, scalar_like(b, a)); }
// remainder(a, b) = a - floor(a / b) b: da = dx, db = -floor(a / b) dx.
Tensor remainder(const Tensor& a, const Tensor& b) {
  check_integer_divisor("remainder", a, b);
  return binary_op("RemainderBackward", BinaryOp::Remainder, a, b,
                   [](const Tensor& g, const Tensor& av, const Tensor& bv, const Tensor&) {
                     return std::pair{g, -g * floor_divide(av, bv)};
                   });
}
Tensor remainder(const Tensor& a, Scalar b) { return remainder(a, scalar_like(b, a)); }
// Whole numbers, flat almost everywhere: no gradient (as floor and trunc).
Tensor floor_divide(const Tensor& a, const Tensor& b) {
  check_integer_divisor("floor_divide", a, b);
  return native::binary(BinaryOp::FloorDivide, a, b);
}
Tensor floor_divide(const Tensor& a, Scalar b) { return floor_divide(a, scalar_like(b, a)); }
// d log(e^a + e^b) = e^(a - y) da + e^(b - y) db (the softmax of the two)
Tensor logaddexp(const Tensor& a, const Tensor& b) {
  return binary_op("LogaddexpBackward", BinaryOp::LogAddExp, a, b,
                   [](const Tensor& g, const Tensor& av, const Tensor& bv, const Tensor& y) {
                     return std::pair{g * exp(av - y), g * exp(bv - y)};
                   });
}
// d(a log b) = log b da + a / b db, with 0 for da where a == 0 (xlogy([a != 0], b), as PyTorch).
Tensor xlogy(const Tensor& a, const Tensor& b) {
  return binary_op("XlogyBackward", BinaryOp::Xlogy, a, b, [](const Tensor& g, const Tensor& av, const Tensor& bv, const Tensor&) {
    const Tensor nonzero = to(native::binary(BinaryOp::Ne, av, 0.0), av.device(), av.dtype());
    return std::pair{g * xlogy(nonzero, bv), g * av / bv};
  });
}

// ---- composites -------------------------------------------------------------------------------
// a + w (b - a) for w < 1/2 and b - (1 - w)(b - a) above, as PyTorch, so that w = 1 gives b
// exactly.
Tensor lerp(const Tensor& a, const Tensor& b, const Tensor& weight) {
  const Tensor difference = b - a;
  return where(native::binary(BinaryOp::Lt, native::unary(UnaryOp::Abs, weight), 0.5), a + weight * difference,
               b - difference * (1.0 - weight));
}
Tensor lerp(const Tensor& a, const Tensor& b, Scalar weight) {
  const double w = weight.to_double();
  const Tensor difference = b - a;
  return std::abs(w) < 0.5 ? a + difference * w : b - difference * (1.0 - w);
}
Tensor addcmul(const Tensor& x, const Tensor& t1, const Tensor& t2, Scalar value) {
  return value.to_double() == 1.0 ? x + t1 * t2 : x + t1 * t2 * value;
}
Tensor addcdiv(const Tensor& x, const Tensor& t1, const Tensor& t2, Scalar value) {
  return value.to_double() == 1.0 ? x + t1 / t2 : x + t1 / t2 * value;
}

// Equal (which also covers equal infinities), or within atol + rtol |b|; NaNs with equal_nan.
Tensor isclose(const Tensor& a, const Tensor& b, double rtol, double atol, bool equal_nan) {
  CAKE_CHECK(rtol >= 0 && atol >= 0, "isclose: rtol and atol must be >= 0, got ", rtol, " and ", atol);
  NoGradGuard no_grad;
  Tensor close = native::binary(BinaryOp::Eq, a, b);
  if (is_floating(a.dtype()) || is_floating(b.dtype())) {
    const Tensor gap = native::unary(UnaryOp::Abs, native::binary(BinaryOp::Sub, a, b));
    const Tensor allowed = native::unary(UnaryOp::Abs, b) * rtol + atol;
    close = logical_or(close, native::binary(BinaryOp::Le, gap, allowed));
    if (equal_nan) close = logical_or(close, logical_and(isnan(a), isnan(b)));
  }
  return close;
}

}  // namespace cake
