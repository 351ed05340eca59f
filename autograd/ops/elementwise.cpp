// autograd/ops/elementwise.cpp: differentiable elementwise ops, each forward with its backward.
//
// Binary ops broadcast, so their backward sums each incoming gradient back to the input's
// shape (autograd::sum_to, the adjoint of broadcasting). Subtraction and division reuse the
// primitives where that costs nothing; the derivative of every op is stated at the op.
//
// The backward closures compute with differentiable ops (cake::, the operators, and
// autograd::sum_to), so that in a create_graph backward they record a graph of their own and
// second derivatives work. Where a fused native kernel is faster (tanh, sigmoid, relu), it is
// used unless autograd::create_graph_active().
#include <cmath>
#include <numbers>

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
using autograd::create_graph_active;
using autograd::TensorList;
using native::BinaryOp;
using native::UnaryOp;
using detail::InputGeometry;
using detail::Saves;
using detail::scalar_like;
using detail::unary_op;

// ---- arithmetic ----------------------------------------------------------------------------
// d(a + alpha b) = da + alpha db
Tensor add(const Tensor& a, const Tensor& b, Scalar alpha) {
  const bool unit = alpha.to_double() == 1.0;
  Tensor y = unit ? native::binary(BinaryOp::Add, a, b)
                  : native::binary(BinaryOp::Add, a, native::binary(BinaryOp::Mul, b, alpha));
  if (needs_grad({a, b})) {
    record("AddBackward", {a, b}, {y}, [ia = InputGeometry(a), ib = InputGeometry(b), alpha, unit](const TensorList& g) {
      return TensorList{ia.reduce(g[0]), ib.reduce(unit ? g[0] : g[0] * alpha)};
    });
  }
  return y;
}

// d(a - alpha b) = da - alpha db
Tensor sub(const Tensor& a, const Tensor& b, Scalar alpha) {
  const bool unit = alpha.to_double() == 1.0;
  Tensor y = unit ? native::binary(BinaryOp::Sub, a, b)
                  : native::binary(BinaryOp::Sub, a, native::binary(BinaryOp::Mul, b, alpha));
  if (needs_grad({a, b})) {
    record("SubBackward", {a, b}, {y}, [ia = InputGeometry(a), ib = InputGeometry(b), alpha](const TensorList& g) {
      return TensorList{ia.reduce(g[0]), ib.reduce(g[0] * (-alpha.to_double()))};
    });
  }
  return y;
}

// d(a b) = b da + a db
Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor y = native::binary(BinaryOp::Mul, a, b);
  if (needs_grad({a, b})) {
    const bool ga = a.requires_grad(), gb = b.requires_grad();
    record("MulBackward", {a, b}, {y},
           [ga, gb, sa = gb ? SavedTensor(a) : SavedTensor(), sb = ga ? SavedTensor(b) : SavedTensor(),
            a_meta = a.sizes(), b_meta = b.sizes(), da = a.dtype(), db = b.dtype()](const TensorList& g) {
             TensorList out(2);
             if (ga) out[0] = to(autograd::sum_to(g[0] * sb.get(), a_meta), g[0].device(), da);
             if (gb) out[1] = to(autograd::sum_to(g[0] * sa.get(), b_meta), g[0].device(), db);
             return out;
           });
  }
  return y;
}

// d(a / b) = da / b - a / b^2 db
Tensor div(const Tensor& a, const Tensor& b) {
  Tensor y = native::binary(BinaryOp::Div, a, b);
  if (needs_grad({a, b})) {
    const bool ga = a.requires_grad(), gb = b.requires_grad();
    record("DivBackward", {a, b}, {y},
           [ga, gb, sa = SavedTensor(a), sb = SavedTensor(b), a_shape = a.sizes(), b_shape = b.sizes(),
            da = a.dtype(), db = b.dtype()](const TensorList& g) {
             TensorList out(2);
             const Tensor bv = sb.get();
             if (ga) out[0] = to(autograd::sum_to(g[0] / bv, a_shape), g[0].device(), da);
             if (gb) out[1] = to(autograd::sum_to(-g[0] * sa.get() / (bv * bv), b_shape), g[0].device(), db);
             return out;
           });
  }
  return y;
}

// d(-x) = -dx: nothing saved.
Tensor neg(const Tensor& x) {
  return unary_op("NegBackward", UnaryOp::Neg, x, Saves::Nothing, [](const Tensor& g, const Tensor&) { return -g; });
}

// d|x| = sign(x) dx (0 at 0, as PyTorch)
Tensor abs(const Tensor& x) {
  return unary_op("AbsBackward", UnaryOp::Abs, x, Saves::Input,
                  [](const Tensor& g, const Tensor& xv) { return g * native::unary(UnaryOp::Sign, xv); });
}

// d e^x = e^x dx: the saved output is the derivative.
Tensor exp(const Tensor& x) {
  return unary_op("ExpBackward", UnaryOp::Exp, x, Saves::Output, [](const Tensor& g, const Tensor& y) { return g * y; });
}

// d log x = dx / x
Tensor log(const Tensor& x) {
  return unary_op("LogBackward", UnaryOp::Log, x, Saves::Input, [](const Tensor& g, const Tensor& xv) { return g / xv; });
}

// d log(1 + x) = dx / (1 + x)
Tensor log1p(const Tensor& x) {
  return unary_op("Log1pBackward", UnaryOp::Log1p, x, Saves::Input,
                  [](const Tensor& g, const Tensor& xv) { return g / (xv + 1.0); });
}

// d sqrt(x) = dx / (2 sqrt(x))
Tensor sqrt(const Tensor& x) {
  return unary_op("SqrtBackward", UnaryOp::Sqrt, x, Saves::Output,
                  [](const Tensor& g, const Tensor& y) { return g / (y * 2.0); });
}

// d x^(-1/2) = -1/2 x^(-3/2) dx = -1/2 y^3 dx
Tensor rsqrt(const Tensor& x) {
  return unary_op("RsqrtBackward", UnaryOp::Rsqrt, x, Saves::Output,
                  [](const Tensor& g, const Tensor& y) { return g * y * y * y * -0.5; });
}

// d x^2 = 2 x dx
Tensor square(const Tensor& x) {
  return unary_op("SquareBackward", UnaryOp::Square, x, Saves::Input,
                  [](const Tensor& g, const Tensor& xv) { return g * xv * 2.0; });
}

// d x^p = p x^(p-1) dx
Tensor pow(const Tensor& x, double p) {
  Tensor y = native::unary(UnaryOp::PowScalar, x, {p, 0.0});
  if (needs_grad({x})) {
    record("PowBackward", {x}, {y}, [p, sx = SavedTensor(x)](const TensorList& g) {
      if (p == 0.0) return TensorList{zeros_like(g[0])};
      return TensorList{g[0] * pow(sx.get(), p - 1.0) * p};
    });
  }
  return y;
}

// d a^b = b a^(b-1) da + a^b log(a) db
Tensor pow(const Tensor& a, const Tensor& b) {
  Tensor y = native::binary(BinaryOp::Pow, a, b);
  if (needs_grad({a, b})) {
    const bool ga = a.requires_grad(), gb = b.requires_grad();
    record("PowBackward", {a, b}, {y},
           [ga, gb, sa = SavedTensor(a), sb = SavedTensor(b), sy = SavedTensor(y), a_shape = a.sizes(),
            b_shape = b.sizes()](const TensorList& g) {
             TensorList out(2);
             const Tensor av = sa.get(), bv = sb.get();
             if (ga) out[0] = autograd::sum_to(g[0] * bv * pow(av, bv - 1.0), a_shape);
             if (gb) {
               // a^b log a, taken as 0 where a == 0 (the limit for b > 0), as PyTorch does.
               Tensor grad_b = g[0] * sy.get() * log(av);
               grad_b = where(native::binary(BinaryOp::Eq, av, 0.0), zeros_like(grad_b), grad_b);
               out[1] = autograd::sum_to(grad_b, b_shape);
             }
             return out;
           });
  }
  return y;
}

// d tanh = (1 - tanh^2) dx, fused into one pass (composed when the backward is recorded).
Tensor tanh(const Tensor& x) {
  return unary_op("TanhBackward", UnaryOp::Tanh, x, Saves::Output, [](const Tensor& g, const Tensor& y) {
    if (create_graph_active()) return g * (1.0 - y * y);
    return native::binary(BinaryOp::TanhBackward, g, y);
  });
}

// d sigmoid = s (1 - s) dx, fused into one pass (composed when the backward is recorded).
Tensor sigmoid(const Tensor& x) {
  return unary_op("SigmoidBackward", UnaryOp::Sigmoid, x, Saves::Output, [](const Tensor& g, const Tensor& y) {
    if (create_graph_active()) return g * y * (1.0 - y);
    return native::binary(BinaryOp::SigmoidBackward, g, y);
  });
}

// silu(x) = x s(x), s the sigmoid (Elfwing et al. 2018, eq. 1); d silu = s (1 + x (1 - s)) dx.
// Saving x alone and recomputing s keeps one tensor per node instead of two.
Tensor silu(const Tensor& x) {
  return unary_op("SiluBackward", UnaryOp::Silu, x, Saves::Input, [](const Tensor& g, const Tensor& xv) {
    const Tensor s = sigmoid(xv);  // differentiable, so a create_graph backward records it
    return g * s * ((1.0 - s) * xv + 1.0);
  });
}

// d relu = [x > 0] dx (the subgradient 0 at the kink, as PyTorch); y > 0 exactly where x > 0,
// so the output is saved (it is often kept alive by the next layer anyway). The mask is a
// constant, so the second derivative is 0 (away from the kink).
Tensor relu(const Tensor& x) {
  return unary_op("ReluBackward", UnaryOp::Relu, x, Saves::Output, [](const Tensor& g, const Tensor& y) {
    if (create_graph_active()) return where(native::binary(BinaryOp::Gt, y, 0.0), g, zeros_like(g));
    return native::binary(BinaryOp::ReluBackward, g, y);
  });
}

Tensor leaky_relu(const Tensor& x, double slope) {
  Tensor y = native::unary(UnaryOp::LeakyRelu, x, {slope, 0.0});
  if (needs_grad({x})) {
    record("LeakyReluBackward", {x}, {y}, [slope, sx = SavedTensor(x)](const TensorList& g) {
      Tensor positive = native::binary(BinaryOp::Gt, sx.get(), 0.0);
      return TensorList{where(positive, g[0], g[0] * slope)};
    });
  }
  return y;
}

// elu(x) = x for x > 0, alpha (e^x - 1) otherwise; derivative 1 or y + alpha. The backward reads
// both x (which branch: y > 0 does not tell it when alpha < 0) and y (alpha e^x without an exp).
Tensor elu(const Tensor& x, double alpha) {
  Tensor y = native::unary(UnaryOp::Elu, x, {alpha, 0.0});
  if (needs_grad({x})) {
    record("EluBackward", {x}, {y}, [alpha, sx = SavedTensor(x), sy = SavedTensor(y)](const TensorList& g) {
      Tensor positive = native::binary(BinaryOp::Gt, sx.get(), 0.0);
      return TensorList{where(positive, g[0], g[0] * (sy.get() + alpha))};
    });
  }
  return y;
}

// phi(x) = exp(-x^2 / 2) / sqrt(2 pi), the standard normal density, with differentiable ops.
static Tensor normal_density(const Tensor& x) {
  return exp(x * x * -0.5) * (1.0 / std::sqrt(2.0 * std::numbers::pi));
}

// Phi(x) = (1 + erf(x / sqrt 2)) / 2, the standard normal CDF, as an op of its own (dPhi = phi):
// gelu's backward uses it when it is recorded (create_graph), so that d gelu is differentiable.
static Tensor normal_cdf(const Tensor& x) {
  Tensor y = (native::unary(UnaryOp::Erf, native::binary(BinaryOp::Mul, x, std::numbers::sqrt2 / 2)) + 1.0) * 0.5;
  if (needs_grad({x}))
    record("NormalCdfBackward", {x}, {y},
           [sx = SavedTensor(x)](const TensorList& g) { return TensorList{g[0] * normal_density(sx.get())}; });
  return y;
}

// gelu(x) = x Phi(x), Phi the standard normal CDF = (1 + erf(x / sqrt 2)) / 2;
// d gelu = Phi(x) + x phi(x), phi(x) = exp(-x^2 / 2) / sqrt(2 pi).
Tensor gelu(const Tensor& x) {
  Tensor cdf = (native::unary(UnaryOp::Erf, native::binary(BinaryOp::Mul, x, std::numbers::sqrt2 / 2)) + 1.0) * 0.5;
  Tensor y = native::binary(BinaryOp::Mul, x, cdf);
  if (needs_grad({x})) {
    record("GeluBackward", {x}, {y}, [sx = SavedTensor(x), scdf = SavedTensor(cdf)](const TensorList& g) {
      const Tensor xv = sx.get();
      const Tensor phi = create_graph_active() ? normal_cdf(xv) : scdf.get();
      return TensorList{g[0] * (phi + xv * normal_density(xv))};
    });
  }
  return y;
}

// d sin x = cos x dx
Tensor sin(const Tensor& x) {
  return unary_op("SinBackward", UnaryOp::Sin, x, Saves::Input,
                  [](const Tensor& g, const Tensor& xv) { return g * cos(xv); });
}

// d cos x = -sin x dx
Tensor cos(const Tensor& x) {
  return unary_op("CosBackward", UnaryOp::Cos, x, Saves::Input,
                  [](const Tensor& g, const Tensor& xv) { return -g * sin(xv); });
}

// d(1/x) = -1/x^2 dx = -y^2 dx
Tensor reciprocal(const Tensor& x) {
  return unary_op("ReciprocalBackward", UnaryOp::Reciprocal, x, Saves::Output,
                  [](const Tensor& g, const Tensor& y) { return -g * y * y; });
}

// The gradient passes where min <= x <= max (inclusive, as PyTorch).
Tensor clamp(const Tensor& x, std::optional<double> min, std::optional<double> max) {
  Tensor y = native::clamp(x, min, max);
  if (needs_grad({x})) {
    record("ClampBackward", {x}, {y}, [min, max, sx = SavedTensor(x)](const TensorList& g) {
      const Tensor xv = sx.get();
      Tensor inside = native::unary(UnaryOp::IsFinite, xv);  // all true, shape of x
      if (min) inside = native::binary(BinaryOp::LogicalAnd, inside, native::binary(BinaryOp::Ge, xv, *min));
      if (max) inside = native::binary(BinaryOp::LogicalAnd, inside, native::binary(BinaryOp::Le, xv, *max));
      return TensorList{where(inside, g[0], zeros_like(g[0]))};
    });
  }
  return y;
}

// The gradient goes to the larger input; on ties it is split evenly (as PyTorch).
static Tensor extremum(const char* name, BinaryOp op, const Tensor& a, const Tensor& b) {
  Tensor y = native::binary(op, a, b);
  if (needs_grad({a, b})) {
    const BinaryOp wins = op == BinaryOp::Maximum ? BinaryOp::Gt : BinaryOp::Lt;
    record(name, {a, b}, {y}, [wins, sa = SavedTensor(a), sb = SavedTensor(b), a_shape = a.sizes(),
                               b_shape = b.sizes()](const TensorList& g) {
      const Tensor av = sa.get(), bv = sb.get();
      Tensor a_share = native::to_dtype(native::binary(wins, av, bv), g[0].dtype()) +
                       native::to_dtype(native::binary(BinaryOp::Eq, av, bv), g[0].dtype()) * 0.5;
      Tensor ga = g[0] * a_share;
      return TensorList{autograd::sum_to(ga, a_shape), autograd::sum_to(g[0] - ga, b_shape)};
    });
  }
  return y;
}
Tensor maximum(const Tensor& a, const Tensor& b) { return extremum("MaximumBackward", BinaryOp::Maximum, a, b); }
Tensor minimum(const Tensor& a, const Tensor& b) { return extremum("MinimumBackward", BinaryOp::Minimum, a, b); }

Tensor where(const Tensor& condition, const Tensor& a, const Tensor& b) {
  Tensor y = native::where(condition, a, b);
  if (needs_grad({a, b})) {
    record("WhereBackward", {a, b}, {y}, [c = SavedTensor(condition), a_shape = a.sizes(),
                                          b_shape = b.sizes()](const TensorList& g) {
      Tensor zero = zeros_like(g[0]);
      const Tensor cv = c.get();
      return TensorList{autograd::sum_to(where(cv, g[0], zero), a_shape),
                        autograd::sum_to(where(cv, zero, g[0]), b_shape)};
    });
  }
  return y;
}

// ---- not differentiable --------------------------------------------------------------------
Tensor sign(const Tensor& x) { return native::unary(UnaryOp::Sign, x); }
Tensor floor(const Tensor& x) { return native::unary(UnaryOp::Floor, x); }
Tensor round(const Tensor& x) { return native::unary(UnaryOp::Round, x); }
Tensor ceil(const Tensor& x) { return native::unary(UnaryOp::Ceil, x); }
Tensor trunc(const Tensor& x) { return native::unary(UnaryOp::Trunc, x); }
Tensor eq(const Tensor& a, const Tensor& b) { return native::binary(BinaryOp::Eq, a, b); }
Tensor ne(const Tensor& a, const Tensor& b) { return native::binary(BinaryOp::Ne, a, b); }
Tensor lt(const Tensor& a, const Tensor& b) { return native::binary(BinaryOp::Lt, a, b); }
Tensor le(const Tensor& a, const Tensor& b) { return native::binary(BinaryOp::Le, a, b); }
Tensor gt(const Tensor& a, const Tensor& b) { return native::binary(BinaryOp::Gt, a, b); }
Tensor ge(const Tensor& a, const Tensor& b) { return native::binary(BinaryOp::Ge, a, b); }
Tensor isnan(const Tensor& x) { return native::unary(UnaryOp::IsNan, x); }
Tensor isfinite(const Tensor& x) { return native::unary(UnaryOp::IsFinite, x); }
Tensor logical_not(const Tensor& x) { return native::unary(UnaryOp::LogicalNot, x); }
Tensor logical_and(const Tensor& a, const Tensor& b) { return native::binary(BinaryOp::LogicalAnd, a, b); }
Tensor logical_or(const Tensor& a, const Tensor& b) { return native::binary(BinaryOp::LogicalOr, a, b); }

bool allclose(const Tensor& a, const Tensor& b, double rtol, double atol) {
  if (a.sizes() != b.sizes()) return false;
  NoGradGuard no_grad;
  Tensor ad = native::to_dtype(a, kFloat64), bd = native::to_dtype(native::to_device(b, a.device()), kFloat64);
  Tensor diff = native::unary(UnaryOp::Abs, native::binary(BinaryOp::Sub, ad, bd));
  Tensor tol = native::binary(BinaryOp::Add, native::binary(BinaryOp::Mul, native::unary(UnaryOp::Abs, bd), rtol), atol);
  Tensor close = native::binary(BinaryOp::Le, diff, tol);
  // Equal infinities are close; NaNs never are.
  close = native::binary(BinaryOp::LogicalOr, close, native::binary(BinaryOp::Eq, ad, bd));
  return native::sum(native::to_dtype(close, kInt64)).item<std::int64_t>() == a.numel();
}

bool equal(const Tensor& a, const Tensor& b) {
  if (a.sizes() != b.sizes() || a.dtype() != b.dtype()) return false;
  NoGradGuard no_grad;
  Tensor same = native::binary(BinaryOp::Eq, a, native::to_device(b, a.device()));
  return native::sum(native::to_dtype(same, kInt64)).item<std::int64_t>() == a.numel();
}

// ---- operators ------------------------------------------------------------------------------
Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator+(const Tensor& a, Scalar b) { return add(a, scalar_like(b, a)); }
Tensor operator-(const Tensor& a, Scalar b) { return sub(a, scalar_like(b, a)); }
Tensor operator*(const Tensor& a, Scalar b) { return mul(a, scalar_like(b, a)); }
Tensor operator/(const Tensor& a, Scalar b) { return div(a, scalar_like(b, a)); }
Tensor operator+(Scalar a, const Tensor& b) { return add(scalar_like(a, b), b); }
Tensor operator-(Scalar a, const Tensor& b) { return sub(scalar_like(a, b), b); }
Tensor operator*(Scalar a, const Tensor& b) { return mul(scalar_like(a, b), b); }
Tensor operator/(Scalar a, const Tensor& b) { return div(scalar_like(a, b), b); }
Tensor operator-(const Tensor& a) { return neg(a); }

// In-place operators write into `a` (no graph is recorded for in-place ops; see NOTE
// [ Version counter ]). They refuse tensors that take part in autograd.
static void check_inplace(const Tensor& a, const char* op) {
  CAKE_CHECK(!(GradMode::is_enabled() && a.requires_grad()), op,
             ": in-place operation on a tensor that requires grad; use the out-of-place form, or run it under "
             "NoGradGuard (as optimisers do)");
}
Tensor& operator+=(Tensor& a, const Tensor& b) { check_inplace(a, "+="); native::binary_(BinaryOp::Add, a, b); return a; }
Tensor& operator-=(Tensor& a, const Tensor& b) { check_inplace(a, "-="); native::binary_(BinaryOp::Sub, a, b); return a; }
Tensor& operator*=(Tensor& a, const Tensor& b) { check_inplace(a, "*="); native::binary_(BinaryOp::Mul, a, b); return a; }
Tensor& operator/=(Tensor& a, const Tensor& b) { check_inplace(a, "/="); native::binary_(BinaryOp::Div, a, b); return a; }
Tensor& operator+=(Tensor& a, Scalar b) { check_inplace(a, "+="); native::binary_(BinaryOp::Add, a, b); return a; }
Tensor& operator-=(Tensor& a, Scalar b) { check_inplace(a, "-="); native::binary_(BinaryOp::Sub, a, b); return a; }
Tensor& operator*=(Tensor& a, Scalar b) { check_inplace(a, "*="); native::binary_(BinaryOp::Mul, a, b); return a; }
Tensor& operator/=(Tensor& a, Scalar b) { check_inplace(a, "/="); native::binary_(BinaryOp::Div, a, b); return a; }

Tensor operator==(const Tensor& a, const Tensor& b) { return eq(a, b); }
Tensor operator!=(const Tensor& a, const Tensor& b) { return ne(a, b); }
Tensor operator<(const Tensor& a, const Tensor& b) { return lt(a, b); }
Tensor operator<=(const Tensor& a, const Tensor& b) { return le(a, b); }
Tensor operator>(const Tensor& a, const Tensor& b) { return gt(a, b); }
Tensor operator>=(const Tensor& a, const Tensor& b) { return ge(a, b); }
Tensor operator==(const Tensor& a, Scalar b) { return native::binary(BinaryOp::Eq, a, b); }
Tensor operator!=(const Tensor& a, Scalar b) { return native::binary(BinaryOp::Ne, a, b); }
Tensor operator<(const Tensor& a, Scalar b) { return native::binary(BinaryOp::Lt, a, b); }
Tensor operator<=(const Tensor& a, Scalar b) { return native::binary(BinaryOp::Le, a, b); }
Tensor operator>(const Tensor& a, Scalar b) { return native::binary(BinaryOp::Gt, a, b); }
Tensor operator>=(const Tensor& a, Scalar b) { return native::binary(BinaryOp::Ge, a, b); }
Tensor operator!(const Tensor& a) { return logical_not(a); }
Tensor operator&(const Tensor& a, const Tensor& b) { return logical_and(a, b); }
Tensor operator|(const Tensor& a, const Tensor& b) { return logical_or(a, b); }

}  // namespace cake
