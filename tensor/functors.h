// functors.h: the arithmetic of every elementwise op, written once for all backends.
//
// Each functor is a tiny struct whose call operator computes one element. The CPU loops
// (tensor/cpu/loops.h) and the CUDA kernels (cuda/) instantiate the same functors, so both
// backends compute the same maths; CAKE_HD marks them __host__ __device__ under nvcc.
//
//   cake::ops::Sigmoid f;   float y = f(0.0f);   // 0.5
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "cake/tensor/host_device.h"        // CAKE_HD
#include "cake/tensor/special_functions.h"  // digamma, polygamma, erfinv, lgamma

namespace cake::ops {

// Which functor an op enum selects, and for which dtypes, is the op's row in
// tensor/native/op_tables.h: the functor of UnaryOp::Exp is ops::Exp, of ReduceOp::Sum
// ops::reduce::Sum.

// ---- unary -------------------------------------------------------------------------------
struct Neg { template <class T> CAKE_HD T operator()(T x) const { return -x; } };
struct Abs {
  template <class T> CAKE_HD T operator()(T x) const {
    if constexpr (std::is_unsigned_v<T> || std::is_same_v<T, bool>) return x;
    else return x < T(0) ? -x : x;
  }
};
struct Exp { template <class T> CAKE_HD T operator()(T x) const { return std::exp(x); } };
struct Log { template <class T> CAKE_HD T operator()(T x) const { return std::log(x); } };
struct Log1p { template <class T> CAKE_HD T operator()(T x) const { return std::log1p(x); } };
struct Sqrt { template <class T> CAKE_HD T operator()(T x) const { return std::sqrt(x); } };
struct Rsqrt { template <class T> CAKE_HD T operator()(T x) const { return T(1) / std::sqrt(x); } };
struct Square { template <class T> CAKE_HD T operator()(T x) const { return x * x; } };
struct Tanh { template <class T> CAKE_HD T operator()(T x) const { return std::tanh(x); } };
struct Sin { template <class T> CAKE_HD T operator()(T x) const { return std::sin(x); } };
struct Cos { template <class T> CAKE_HD T operator()(T x) const { return std::cos(x); } };
// Integers are already whole: floor, ceil, trunc and round return them unchanged, as in PyTorch.
struct Floor {
  template <class T> CAKE_HD T operator()(T x) const {
    if constexpr (std::is_integral_v<T>) return x;
    else return std::floor(x);
  }
};
struct Ceil {
  template <class T> CAKE_HD T operator()(T x) const {
    if constexpr (std::is_integral_v<T>) return x;
    else return std::ceil(x);
  }
};
struct Trunc {  // towards zero
  template <class T> CAKE_HD T operator()(T x) const {
    if constexpr (std::is_integral_v<T>) return x;
    else return std::trunc(x);
  }
};
struct Round {  // halves to even (the current rounding mode), as torch.round
  template <class T> CAKE_HD T operator()(T x) const {
    if constexpr (std::is_integral_v<T>) return x;
    else return std::nearbyint(x);
  }
};
struct Erf { template <class T> CAKE_HD T operator()(T x) const { return std::erf(x); } };
struct Reciprocal { template <class T> CAKE_HD T operator()(T x) const { return T(1) / x; } };
struct Tan { template <class T> CAKE_HD T operator()(T x) const { return std::tan(x); } };
struct Asin { template <class T> CAKE_HD T operator()(T x) const { return std::asin(x); } };
struct Acos { template <class T> CAKE_HD T operator()(T x) const { return std::acos(x); } };
struct Atan { template <class T> CAKE_HD T operator()(T x) const { return std::atan(x); } };
struct Sinh { template <class T> CAKE_HD T operator()(T x) const { return std::sinh(x); } };
struct Cosh { template <class T> CAKE_HD T operator()(T x) const { return std::cosh(x); } };
struct Asinh { template <class T> CAKE_HD T operator()(T x) const { return std::asinh(x); } };
struct Acosh { template <class T> CAKE_HD T operator()(T x) const { return std::acosh(x); } };
struct Atanh { template <class T> CAKE_HD T operator()(T x) const { return std::atanh(x); } };
struct Expm1 { template <class T> CAKE_HD T operator()(T x) const { return std::expm1(x); } };
struct Exp2 { template <class T> CAKE_HD T operator()(T x) const { return std::exp2(x); } };
struct Log2 { template <class T> CAKE_HD T operator()(T x) const { return std::log2(x); } };
struct Log10 { template <class T> CAKE_HD T operator()(T x) const { return std::log10(x); } };
struct Erfc { template <class T> CAKE_HD T operator()(T x) const { return std::erfc(x); } };
struct Erfinv { template <class T> CAKE_HD T operator()(T x) const { return special::erfinv(x); } };
struct Lgamma { template <class T> CAKE_HD T operator()(T x) const { return special::lgamma(x); } };
struct Digamma { template <class T> CAKE_HD T operator()(T x) const { return special::digamma(x); } };
// sin(pi x) / (pi x), 1 at 0: the normalised sinc of torch.sinc.
struct Sinc {
  template <class T> CAKE_HD T operator()(T x) const {
    if (x == T(0)) return T(1);
    const T pi_x = T(special::kPi) * x;
    return std::sin(pi_x) / pi_x;
  }
};
struct Frac { template <class T> CAKE_HD T operator()(T x) const { return x - std::trunc(x); } };  // sign of x
// 1 / (1 + e^-x), written so that neither branch overflows for large |x|.
struct Sigmoid {
  template <class T> CAKE_HD T operator()(T x) const {
    if (x >= T(0)) return T(1) / (T(1) + std::exp(-x));
    const T e = std::exp(x);
    return e / (T(1) + e);
  }
};
// silu(x) = x sigmoid(x), the "sigmoid-weighted linear unit" (Elfwing, Uchibe & Doya 2018,
// "Sigmoid-weighted linear units for neural network function approximation in reinforcement
// learning", eq. 1), also called swish (Ramachandran, Zoph & Le 2017).
struct Silu { template <class T> CAKE_HD T operator()(T x) const { return x * Sigmoid{}(x); } };
struct Relu { template <class T> CAKE_HD T operator()(T x) const { return x > T(0) ? x : T(0); } };
struct Sign { template <class T> CAKE_HD T operator()(T x) const { return T((T(0) < x) - (x < T(0))); } };
struct LogicalNot { template <class T> CAKE_HD bool operator()(T x) const { return !x; } };
struct IsNan {
  template <class T> CAKE_HD bool operator()(T x) const {
    if constexpr (std::is_floating_point_v<T>) return x != x;
    else return false;
  }
};
struct IsFinite {
  template <class T> CAKE_HD bool operator()(T x) const {
    if constexpr (std::is_floating_point_v<T>) return std::isfinite(x);
    else return true;
  }
};

// ---- unary with parameters ----------------------------------------------------------------
struct Clamp {  // NaN stays NaN, as in PyTorch
  double lo, hi;
  template <class T> CAKE_HD T operator()(T x) const {
    // Compared in double so that infinite bounds never convert to an integer type.
    if (x != x) return x;
    if (static_cast<double>(x) < lo) return T(lo);
    if (static_cast<double>(x) > hi) return T(hi);
    return x;
  }
};
struct PowScalar { double e; template <class T> CAKE_HD T operator()(T x) const { return T(std::pow(x, T(e))); } };
struct LeakyRelu { double slope; template <class T> CAKE_HD T operator()(T x) const { return x > T(0) ? x : T(slope) * x; } };
struct Elu {
  double alpha;
  template <class T> CAKE_HD T operator()(T x) const { return x > T(0) ? x : T(alpha) * (std::exp(x) - T(1)); }
};
struct Polygamma {  // n, a whole number >= 0, checked by cake::polygamma
  double n;
  template <class T> CAKE_HD T operator()(T x) const { return special::polygamma(static_cast<int>(n), x); }
};

// ---- binary --------------------------------------------------------------------------------
// On bool, as in PyTorch: + is "or", * is "and" (and maximum / minimum are "or" / "and" as written).
struct Add {
  template <class T> CAKE_HD T operator()(T a, T b) const {
    if constexpr (std::is_same_v<T, bool>) return a || b;
    else return a + b;
  }
};
struct Sub { template <class T> CAKE_HD T operator()(T a, T b) const { return a - b; } };
struct Mul {
  template <class T> CAKE_HD T operator()(T a, T b) const {
    if constexpr (std::is_same_v<T, bool>) return a && b;
    else return a * b;
  }
};
struct Div { template <class T> CAKE_HD T operator()(T a, T b) const { return a / b; } };
// Integer powers exactly, by repeated squaring in unsigned arithmetic (so an overflow wraps, as
// PyTorch's integer pow does): through double, a device pow that is 2 ulp off (CUDA's is allowed
// that) would truncate (-3)^1 to -2. A negative exponent gives 1/a^|b| truncated toward zero.
template <class T>
CAKE_HD T integer_pow(T base, T exponent) {
  if constexpr (std::is_signed_v<T>) {
    if (exponent < 0) return base == T(1) ? T(1) : base == T(-1) ? ((exponent & 1) ? T(-1) : T(1)) : T(0);
  }
  using U = std::make_unsigned_t<T>;
  U result = 1, factor = static_cast<U>(base);
  for (U e = static_cast<U>(exponent); e != 0; e >>= 1) {
    if (e & 1u) result = static_cast<U>(result * factor);
    factor = static_cast<U>(factor * factor);
  }
  return static_cast<T>(result);
}
struct Pow {
  template <class T> CAKE_HD T operator()(T a, T b) const {
    if constexpr (std::is_integral_v<T>) return integer_pow(a, b);
    else return T(std::pow(a, b));
  }
};
struct Maximum {  // propagates NaN, as torch.maximum
  template <class T> CAKE_HD T operator()(T a, T b) const { return (a != a) ? a : (b != b) ? b : (a > b ? a : b); }
};
struct Minimum {
  template <class T> CAKE_HD T operator()(T a, T b) const { return (a != a) ? a : (b != b) ? b : (a < b ? a : b); }
};
struct Eq { template <class T> CAKE_HD bool operator()(T a, T b) const { return a == b; } };
struct Ne { template <class T> CAKE_HD bool operator()(T a, T b) const { return a != b; } };
struct Lt { template <class T> CAKE_HD bool operator()(T a, T b) const { return a < b; } };
struct Le { template <class T> CAKE_HD bool operator()(T a, T b) const { return a <= b; } };
struct Gt { template <class T> CAKE_HD bool operator()(T a, T b) const { return a > b; } };
struct Ge { template <class T> CAKE_HD bool operator()(T a, T b) const { return a >= b; } };
struct LogicalAnd { template <class T> CAKE_HD bool operator()(T a, T b) const { return a && b; } };
struct LogicalOr { template <class T> CAKE_HD bool operator()(T a, T b) const { return a || b; } };
struct Atan2 { template <class T> CAKE_HD T operator()(T a, T b) const { return std::atan2(a, b); } };
struct Hypot { template <class T> CAKE_HD T operator()(T a, T b) const { return std::hypot(a, b); } };
struct Copysign { template <class T> CAKE_HD T operator()(T a, T b) const { return std::copysign(a, b); } };
// Integer division by zero is refused before a kernel runs (cake::fmod, cake::remainder,
// cake::floor_divide); the functors give 0 there rather than trap. So does the one signed
// quotient that overflows, the lowest value over -1 (wrapped, as PyTorch's).
template <class T>
CAKE_HD bool integer_division_guard(T a, T b, T& result) {
  if (b == T(0)) {
    result = T(0);
    return true;
  }
  if constexpr (std::is_signed_v<T>) {
    if (b == T(-1)) {  // a % -1 == 0; a / -1 == -a, wrapped for the lowest a
      result = T(0);
      return true;
    }
  }
  (void)a;
  return false;
}
// The remainder of a / b with the sign of a (C's fmod, torch.fmod).
struct Fmod {
  template <class T> CAKE_HD T operator()(T a, T b) const {
    if constexpr (std::is_integral_v<T>) {
      T result;
      return integer_division_guard(a, b, result) ? result : T(a % b);
    } else {
      return std::fmod(a, b);
    }
  }
};
// The remainder with the sign of b (Python's %, torch.remainder): a - floor(a / b) b.
struct Remainder {
  template <class T> CAKE_HD T operator()(T a, T b) const {
    T r;
    if constexpr (std::is_integral_v<T>) {
      if (integer_division_guard(a, b, r)) return r;
      r = T(a % b);
    } else {
      r = std::fmod(a, b);
    }
    if constexpr (std::is_signed_v<T>) {
      if (r != T(0) && ((r < T(0)) != (b < T(0)))) r = T(r + b);
    }
    return r;
  }
};
// floor(a / b) (torch.floor_divide, Python's //). Floats follow PyTorch's div_floor: the quotient
// from fmod, which is exact, rounded to the nearest whole number, so that 1 // 0.1 is 9 (0.1 is
// slightly more than a tenth) where floor(1 / 0.1) would be 10.
struct FloorDivide {
  template <class T> CAKE_HD T operator()(T a, T b) const {
    if constexpr (std::is_integral_v<T>) {
      if constexpr (std::is_signed_v<T>) {
        if (b == T(-1)) return static_cast<T>(std::make_unsigned_t<T>(0) - static_cast<std::make_unsigned_t<T>>(a));
      }
      T q;
      if (integer_division_guard(a, b, q)) return q;
      q = T(a / b);
      if constexpr (std::is_signed_v<T>) {
        if (a % b != T(0) && ((a < T(0)) != (b < T(0)))) q = T(q - 1);
      }
      return q;
    } else {
      if (b == T(0)) return a / b;
      const T mod = std::fmod(a, b);
      T quotient = (a - mod) / b;
      if (mod != T(0) && ((b < T(0)) != (mod < T(0)))) quotient -= T(1);
      if (quotient == T(0)) return std::copysign(T(0), a / b);
      T floored = std::floor(quotient);
      if (quotient - floored > T(0.5)) floored += T(1);
      return floored;
    }
  }
};
// log(e^a + e^b) = max + log1p(e^-|a - b|), which neither overflows nor loses the smaller term.
struct LogAddExp {
  template <class T> CAKE_HD T operator()(T a, T b) const {
    if (a != a || b != b) return a + b;
    const T larger = a > b ? a : b;
    if (larger == std::numeric_limits<T>::infinity() || larger == -std::numeric_limits<T>::infinity()) return larger;
    return larger + std::log1p(std::exp(-std::fabs(a - b)));
  }
};
// a log b, 0 where a == 0 (unless b is NaN), as torch.xlogy: the entropy's 0 log 0 = 0.
struct Xlogy {
  template <class T> CAKE_HD T operator()(T a, T b) const {
    if (b != b) return b;
    if (a == T(0)) return T(0);
    return a * std::log(b);
  }
};
// Gradient helpers, fused to save a pass over memory in the hottest backward functions.
struct ReluBackward {  // (grad, input) -> grad where input > 0
  template <class T> CAKE_HD T operator()(T g, T x) const { return x > T(0) ? g : T(0); }
};
struct SigmoidBackward {  // (grad, output y) -> grad * y * (1 - y)
  template <class T> CAKE_HD T operator()(T g, T y) const { return g * y * (T(1) - y); }
};
struct TanhBackward {  // (grad, output y) -> grad * (1 - y^2)
  template <class T> CAKE_HD T operator()(T g, T y) const { return g * (T(1) - y * y); }
};

// ---- reductions -----------------------------------------------------------------------------
// A reduction folds its run with the call operator, starting from identity<T>(): the value of a
// reduction over nothing, and the neutral element of the fold.
namespace reduce {
struct Sum {
  template <class T> CAKE_HD static T identity() { return T(0); }
  template <class T> CAKE_HD T operator()(T acc, T x) const { return acc + x; }
};
struct Prod {
  template <class T> CAKE_HD static T identity() { return T(1); }
  template <class T> CAKE_HD T operator()(T acc, T x) const { return acc * x; }
};
struct Max {  // NaN wins, as torch.amax
  template <class T> CAKE_HD static T identity() {
    return std::numeric_limits<T>::has_infinity ? -std::numeric_limits<T>::infinity() : std::numeric_limits<T>::lowest();
  }
  template <class T> CAKE_HD T operator()(T acc, T x) const { return Maximum{}(acc, x); }
};
struct Min {
  template <class T> CAKE_HD static T identity() {
    return std::numeric_limits<T>::has_infinity ? std::numeric_limits<T>::infinity() : std::numeric_limits<T>::max();
  }
  template <class T> CAKE_HD T operator()(T acc, T x) const { return Minimum{}(acc, x); }
};
}  // namespace reduce

}  // namespace cake::ops
