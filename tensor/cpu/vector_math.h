// cpu/vector_math.h: lets the compiler evaluate the C library's transcendental functions eight
// or sixteen elements at a time inside the CPU kernels' loops.
//
//   #include "cake/tensor/cpu/vector_math.h"   // first, in a CPU kernel source
//   for (i = 0; i < n; ++i) out[i] = std::tan(in[i]);   // one call of _ZGVeN16v_tanf per 16
//
// Why: a loop such as cpu::elementwise's (loops.h) vectorises arithmetic by itself, but a call
// of tanf, expf, atan2 ... stays one scalar call per element, so exp, tanh, sigmoid, softmax and
// the rest ran at a twentieth of the speed of SLEEF's vector polynomials in PyTorch's loops.
// glibc ships the vector versions of these functions in libmvec (the x86-64 vector function
// ABI: _ZGV<isa>N<lanes>v_<name>, SSE, AVX, AVX2 and AVX-512 variants; most since glibc 2.35).
// A declaration with GCC's `simd` attribute tells the vectoriser that they exist; glibc's
// <math.h> declares them itself only under -ffast-math, which Cake does not use (it would
// change far more than these calls). What changes: the vector versions are accurate to within
// 4 units in the last place (glibc's libmvec documentation; most are within 1-2), where the
// scalar ones are within 1, and the loop's last few elements still take the scalar call, so an
// element's last bit may depend on its position in the run. Same input, same threads, same
// result, as before.
//
// Only where libmvec is known to be there (CMake's CAKE_HAVE_LIBMVEC: x86-64 glibc 2.35 or
// later, GCC, and a test link against -lmvec); elsewhere this header declares nothing and the
// loops stay scalar. The kernels must be compiled with -fno-math-errno (CMakeLists.txt): a call
// that may set errno cannot be vectorised.
#pragma once

#include <cmath>

#if defined(CAKE_HAVE_LIBMVEC) && defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)

// `notinbranch`: the variants glibc provides take every lane (no mask argument).
#define CAKE_VECTOR_VARIANTS __attribute__((simd("notinbranch")))

extern "C" {
// One argument, float and double (glibc 2.22: exp, log, sin, cos; 2.35: the rest).
CAKE_VECTOR_VARIANTS float expf(float) noexcept;
CAKE_VECTOR_VARIANTS double exp(double) noexcept;
CAKE_VECTOR_VARIANTS float logf(float) noexcept;
CAKE_VECTOR_VARIANTS double log(double) noexcept;
CAKE_VECTOR_VARIANTS float sinf(float) noexcept;
CAKE_VECTOR_VARIANTS double sin(double) noexcept;
CAKE_VECTOR_VARIANTS float cosf(float) noexcept;
CAKE_VECTOR_VARIANTS double cos(double) noexcept;
CAKE_VECTOR_VARIANTS float tanf(float) noexcept;
CAKE_VECTOR_VARIANTS double tan(double) noexcept;
CAKE_VECTOR_VARIANTS float asinf(float) noexcept;
CAKE_VECTOR_VARIANTS double asin(double) noexcept;
CAKE_VECTOR_VARIANTS float acosf(float) noexcept;
CAKE_VECTOR_VARIANTS double acos(double) noexcept;
CAKE_VECTOR_VARIANTS float atanf(float) noexcept;
CAKE_VECTOR_VARIANTS double atan(double) noexcept;
CAKE_VECTOR_VARIANTS float sinhf(float) noexcept;
CAKE_VECTOR_VARIANTS double sinh(double) noexcept;
CAKE_VECTOR_VARIANTS float coshf(float) noexcept;
CAKE_VECTOR_VARIANTS double cosh(double) noexcept;
CAKE_VECTOR_VARIANTS float tanhf(float) noexcept;
CAKE_VECTOR_VARIANTS double tanh(double) noexcept;
CAKE_VECTOR_VARIANTS float asinhf(float) noexcept;
CAKE_VECTOR_VARIANTS double asinh(double) noexcept;
CAKE_VECTOR_VARIANTS float acoshf(float) noexcept;
CAKE_VECTOR_VARIANTS double acosh(double) noexcept;
CAKE_VECTOR_VARIANTS float atanhf(float) noexcept;
CAKE_VECTOR_VARIANTS double atanh(double) noexcept;
CAKE_VECTOR_VARIANTS float expm1f(float) noexcept;
CAKE_VECTOR_VARIANTS double expm1(double) noexcept;
CAKE_VECTOR_VARIANTS float log1pf(float) noexcept;
CAKE_VECTOR_VARIANTS double log1p(double) noexcept;
CAKE_VECTOR_VARIANTS float exp2f(float) noexcept;
CAKE_VECTOR_VARIANTS double exp2(double) noexcept;
CAKE_VECTOR_VARIANTS float log2f(float) noexcept;
CAKE_VECTOR_VARIANTS double log2(double) noexcept;
CAKE_VECTOR_VARIANTS float log10f(float) noexcept;
CAKE_VECTOR_VARIANTS double log10(double) noexcept;
CAKE_VECTOR_VARIANTS float cbrtf(float) noexcept;
CAKE_VECTOR_VARIANTS double cbrt(double) noexcept;
CAKE_VECTOR_VARIANTS float erff(float) noexcept;
CAKE_VECTOR_VARIANTS double erf(double) noexcept;
CAKE_VECTOR_VARIANTS float erfcf(float) noexcept;
CAKE_VECTOR_VARIANTS double erfc(double) noexcept;
// Two arguments.
CAKE_VECTOR_VARIANTS float powf(float, float) noexcept;
CAKE_VECTOR_VARIANTS double pow(double, double) noexcept;
CAKE_VECTOR_VARIANTS float atan2f(float, float) noexcept;
CAKE_VECTOR_VARIANTS double atan2(double, double) noexcept;
CAKE_VECTOR_VARIANTS float hypotf(float, float) noexcept;
CAKE_VECTOR_VARIANTS double hypot(double, double) noexcept;
}

#undef CAKE_VECTOR_VARIANTS

#endif
