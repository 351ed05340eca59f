// special_functions.h: the special functions of the elementwise table, written once for the CPU
// and the GPU: log-gamma, the digamma and polygamma functions, and the inverse error function.
//
// The C++ library has lgamma (with a catch, below) but no digamma, polygamma or erfinv, and
// CUDA's device library is another library again, so these follow their textbook formulas, and
// both backends instantiate the same code for float and double (ops::Digamma and friends in
// tensor/functors.h). References: M. Abramowitz & I. Stegun, "Handbook of Mathematical
// Functions" (1964), sections 6.3-6.4 and table 23.2 ("A&S" below); M. Giles, "Approximating the
// erfinv function", GPU Computing Gems Jade Edition (2011).
//
//   cake::special::digamma(1.0);       // -0.5772156649015329 (minus the Euler-Mascheroni constant)
//   cake::special::polygamma(1, 1.0);  // pi^2 / 6
//   cake::special::erfinv(0.5);        // 0.4769362762044699
#pragma once

#include <cmath>
#include <limits>
#include <type_traits>

#include "cake/tensor/host_device.h"

namespace cake::special {

inline constexpr double kPi = 3.14159265358979323846;

// ln |Gamma(x)|. glibc's lgamma also writes the sign of Gamma(x) into a global (signgam), a data
// race when the CPU loop runs on several threads, so the host calls the reentrant lgamma_r; the
// device library keeps no such global.
template <class T>
CAKE_HD T lgamma(T x) {
#if defined(__CUDA_ARCH__)
  return ::lgamma(x);
#else
  int sign_of_gamma = 0;
  if constexpr (std::is_same_v<T, float>) return ::lgammaf_r(x, &sign_of_gamma);
  else return ::lgamma_r(x, &sign_of_gamma);
#endif
}

// psi(x) for x >= 10 by its asymptotic series (A&S 6.3.18),
//   psi(x) ~ ln x - 1/(2x) - sum_{k>=1} B_2k / (2k x^2k),
// truncated after the x^-14 term: the first term left out is below 5e-17 at x = 10.
template <class T>
CAKE_HD T digamma_asymptotic(T x) {
  const T z = T(1) / (x * x);
  const T tail =
      z * (T(1) / 12 - z * (T(1) / 120 - z * (T(1) / 252 - z * (T(1) / 240 - z * (T(1) / 132 - z * (T(691) / 32760 - z / 12))))));
  return std::log(x) - T(0.5) / x - tail;
}

// The digamma function psi(x) = d/dx ln Gamma(x). At the poles PyTorch's conventions:
// psi(+0) = -inf, psi(-0) = +inf, NaN at the negative integers.
template <class T>
CAKE_HD T digamma(T x) {
  if (x == T(0)) return std::copysign(std::numeric_limits<T>::infinity(), -x);
  T result = T(0);
  if (x < T(0)) {
    if (x == std::floor(x)) return std::numeric_limits<T>::quiet_NaN();
    // Reflection (A&S 6.3.7): psi(1 - x) - psi(x) = pi cot(pi x). cot has period pi, so the
    // fractional part of x gives the same value without the rounding of a large pi x.
    const T fraction = x - std::trunc(x);
    result = -T(kPi) / std::tan(T(kPi) * fraction);
    x = T(1) - x;
  }
  // The recurrence psi(x + 1) = psi(x) + 1/x (A&S 6.3.5), up to where the series is accurate.
  while (x < T(10)) {
    result -= T(1) / x;
    x += T(1);
  }
  return result + digamma_asymptotic(x);
}

// The polygamma function psi^(n)(x) = d^n/dx^n psi(x), n >= 0 (psi^(0) is the digamma, psi^(1)
// the trigamma). For x > 0 (A&S 6.4.10)
//   psi^(n)(x) = (-1)^(n+1) n! sum_{k>=0} (x + k)^-(n+1);
// the sum's first terms are added one by one (the recurrence A&S 6.4.6) until x + m >= 20 + n,
// and its tail from there by the asymptotic series (A&S 6.4.11, divided by n!)
//   sum_{k>=0} (z + k)^-(n+1) ~ 1/(n z^n) + 1/(2 z^(n+1)) + sum_{j>=1} B_2j a_j / z^(2j+n),
//   a_j = (2j + n - 1)! / ((2j)! n!),
// with B_2 ... B_20 (A&S table 23.2), whose last term is far below double's rounding at that z.
// Negative x goes through the reflection (below). At the poles (x = 0, -1, -2, ...) the value is
// (-1)^(n+1) infinity, as PyTorch's.
template <class T>
CAKE_HD T polygamma(int n, T x) {
  if (n == 0) return digamma(x);
  const T nan = std::numeric_limits<T>::quiet_NaN(), infinity = std::numeric_limits<T>::infinity();
  const T sign = n % 2 == 1 ? T(1) : T(-1);  // (-1)^(n+1)
  if (n < 0 || x != x || x == -infinity) return nan;
  if (x == infinity) return T(0);
  if (x <= T(0) && x == std::floor(x)) return sign * infinity;

  // Differentiating the reflection psi(1 - x) - psi(x) = pi cot(pi x) n times:
  //   psi^(n)(x) = (-1)^n psi^(n)(1 - x) - pi^(n+1) C_n(cot pi x),
  // C_n the polynomial in c = cot with C_0(c) = c and C_{k+1}(c) = -(1 + c^2) C_k'(c) (as
  // d cot u / du = -(1 + cot^2 u)); C_n has degree n + 1.
  constexpr int kMaxReflectedOrder = 40;
  T reflection = T(0), reflected_sign = T(1);
  if (x < T(0)) {
    if (n > kMaxReflectedOrder) return nan;
    T coefficient[kMaxReflectedOrder + 2] = {};  // coefficient[j] multiplies c^j
    coefficient[1] = T(1);
    for (int k = 0; k < n; ++k) {  // C_{k+1} from C_k (degree k + 1)
      T derivative[kMaxReflectedOrder + 2] = {};
      for (int j = 0; j <= k; ++j) derivative[j] = T(j + 1) * coefficient[j + 1];
      for (int j = 0; j <= k + 2; ++j) {
        const T from_one = j <= k ? derivative[j] : T(0);
        const T from_square = j >= 2 ? derivative[j - 2] : T(0);
        coefficient[j] = -(from_one + from_square);
      }
    }
    const T fraction = x - std::trunc(x);
    const T c = T(1) / std::tan(T(kPi) * fraction);
    T polynomial = T(0);
    for (int j = n + 1; j >= 0; --j) polynomial = polynomial * c + coefficient[j];
    reflection = -std::pow(T(kPi), T(n + 1)) * polynomial;
    reflected_sign = n % 2 == 0 ? T(1) : T(-1);  // (-1)^n
    x = T(1) - x;
  }

  T factorial = T(1);
  for (int k = 2; k <= n; ++k) factorial *= T(k);
  T head = T(0);
  while (x < T(20 + n)) {
    head += std::pow(x, -T(n + 1));
    x += T(1);
  }
  constexpr double kBernoulli[] = {1.0 / 6,  -1.0 / 30,    1.0 / 42, -1.0 / 30,      5.0 / 66,
                                   -691.0 / 2730, 7.0 / 6, -3617.0 / 510, 43867.0 / 798, -174611.0 / 330};
  const T inverse_square = T(1) / (x * x);
  T power = std::pow(x, -T(n));                           // z^-n, then z^-(2j+n)
  T tail = power / T(n) + power / (T(2) * x);             // 1/(n z^n) + 1/(2 z^(n+1))
  T a = T(n + 1) / T(2);                                  // a_1
  for (int j = 1; j <= 10; ++j) {
    power *= inverse_square;
    tail += T(kBernoulli[j - 1]) * a * power;
    a *= T(2 * j + n) * T(2 * j + n + 1) / (T(2 * j + 1) * T(2 * j + 2));
  }
  return reflected_sign * sign * factorial * (head + tail) + reflection;
}

// erf^-1(y), y in [-1, 1] (+-inf at +-1, NaN outside). Giles' single-precision approximation, a
// polynomial in w = -ln(1 - y^2) on two ranges (made for float: beyond float's range of y it
// is only a start), then three Newton steps, which double the correct digits each: on erf near
// 0, and on ln erfc in the tails (|y| > 1/2), where 1 - |y| keeps the digits that y itself has
// lost.
template <class T>
CAKE_HD T erfinv(T y) {
  if (y != y || y < T(-1) || y > T(1)) return std::numeric_limits<T>::quiet_NaN();
  if (y == T(1) || y == T(-1)) return std::copysign(std::numeric_limits<T>::infinity(), y);
  const T a = std::fabs(y);
  T w = -std::log((T(1) - a) * (T(1) + a));
  T p;
  if (w < T(5)) {
    w -= T(2.5);
    p = T(2.81022636e-08);
    p = T(3.43273939e-07) + p * w;
    p = T(-3.5233877e-06) + p * w;
    p = T(-4.39150654e-06) + p * w;
    p = T(0.00021858087) + p * w;
    p = T(-0.00125372503) + p * w;
    p = T(-0.00417768164) + p * w;
    p = T(0.246640727) + p * w;
    p = T(1.50140941) + p * w;
  } else {
    w = std::sqrt(w) - T(3);
    p = T(-0.000200214257);
    p = T(0.000100950558) + p * w;
    p = T(0.00134934322) + p * w;
    p = T(-0.00367342844) + p * w;
    p = T(0.00573950773) + p * w;
    p = T(-0.0076224613) + p * w;
    p = T(0.00943887047) + p * w;
    p = T(1.00167406) + p * w;
    p = T(2.83297682) + p * w;
  }
  T x = p * a;
  const T two_over_sqrt_pi = T(1.1283791670955126);  // erf'(x) = 2/sqrt(pi) e^(-x^2)
  for (int step = 0; step < 3; ++step) {
    const T slope = two_over_sqrt_pi * std::exp(-x * x);
    if (a <= T(0.5)) {
      x -= (std::erf(x) - a) / slope;
    } else {  // on ln erfc(x) = ln(1 - |y|), nearly straight where erfc falls exponentially
      const T tail = std::erfc(x);
      x += std::log(tail / (T(1) - a)) * tail / slope;
    }
  }
  return std::copysign(x, y);
}

}  // namespace cake::special
