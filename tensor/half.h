// half.h: the two 16-bit floating-point element types, bfloat16 and float16 (IEEE 754 binary16),
// as 16-bit patterns with exact conversions to and from float on the host and the device.
//
//   cake::BFloat16 b(3.14159f);        // 3.140625: 8 significant bits, float32's exponent range
//   cake::Half h(3.14159f);            // 3.140625 too; 11 significant bits, range +-65504
//   float back = static_cast<float>(b);
//
// Both are storage types: a tensor of either holds them, converts them (`to`), multiplies them
// (matmul, convolution: float32 accumulation) and saves them; elementwise arithmetic, reductions
// and the rest refuse them with a message asking for float32, which is what mixed precision
// keeps everything else in (see cake::autocast, autograd/autocast.h). Conversions from float
// round to nearest, ties to even, as the CUDA intrinsics __float2bfloat16_rn and __float2half_rn
// do, so the CPU and the GPU produce the same bits.
//
// Formats: bfloat16 is the top half of a float32 (1 sign, 8 exponent, 7 fraction bits; Wang &
// Kanwar, "BFloat16: the secret to high performance on Cloud TPUs", 2019); binary16 has 1 sign, 5
// exponent (bias 15) and 10 fraction bits, with subnormals down to 2^-24 (IEEE 754-2008, 3.6).
#pragma once

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "cake/tensor/functors.h"  // CAKE_HD

namespace cake {
namespace half_detail {

CAKE_HD std::uint32_t float_bits(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}
CAKE_HD float bits_float(std::uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

// Drops the low `shift` bits of `value`, rounding to nearest with ties to the even result.
CAKE_HD std::uint32_t shift_right_round_even(std::uint32_t value, int shift) {
  const std::uint32_t kept = value >> shift;
  const std::uint32_t dropped = value & ((std::uint32_t{1} << shift) - 1);
  const std::uint32_t halfway = std::uint32_t{1} << (shift - 1);
  return kept + (dropped > halfway || (dropped == halfway && (kept & 1u)) ? 1u : 0u);
}

CAKE_HD std::uint16_t bfloat16_from_float(float f) {
  const std::uint32_t u = float_bits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((u >> 16) | 0x0040u);  // NaN stays quiet NaN
  // Rounding the 32-bit pattern carries into the exponent when the fraction overflows, which
  // is exactly the next binade (and +-inf past the largest finite value).
  return static_cast<std::uint16_t>(shift_right_round_even(u, 16));
}
CAKE_HD float bfloat16_to_float(std::uint16_t b) { return bits_float(static_cast<std::uint32_t>(b) << 16); }

CAKE_HD std::uint16_t half_from_float(float f) {
  const std::uint32_t u = float_bits(f);
  const auto sign = static_cast<std::uint16_t>((u >> 16) & 0x8000u);
  const std::uint32_t magnitude = u & 0x7fffffffu;
  if (magnitude > 0x7f800000u) return sign | 0x7e00u;                 // NaN
  if (magnitude >= 0x38800000u) {                                     // |f| >= 2^-14: a normal half, or overflow
    // Re-bias the exponent (127 -> 15: subtract 112 << 23), keep 10 fraction bits, round.
    const std::uint32_t rounded = shift_right_round_even(magnitude - 0x38000000u, 13);
    return static_cast<std::uint16_t>(sign | (rounded >= 0x7c00u ? 0x7c00u : rounded));  // past 65504: inf
  }
  if (magnitude < 0x33000000u) return sign;                           // below half the least subnormal: +-0
  // A subnormal: value = significand * 2^(e - 150) = h * 2^-24, so h = significand >> (126 - e).
  const std::uint32_t exponent = magnitude >> 23;
  const std::uint32_t significand = (magnitude & 0x7fffffu) | 0x800000u;
  return static_cast<std::uint16_t>(sign | shift_right_round_even(significand, static_cast<int>(126 - exponent)));
}

CAKE_HD float half_to_float(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  const std::uint32_t exponent = (h >> 10) & 0x1fu;
  std::uint32_t fraction = h & 0x3ffu;
  if (exponent == 0x1f) return bits_float(sign | 0x7f800000u | (fraction << 13));   // inf, NaN
  if (exponent != 0) return bits_float(sign | ((exponent + 112) << 23) | (fraction << 13));
  if (fraction == 0) return bits_float(sign);
  // Subnormal: fraction * 2^-24. Normalise: each shift left lowers the float exponent by one
  // from 2^-14's (biased 113).
  std::uint32_t biased = 113;
  while ((fraction & 0x400u) == 0) {
    fraction <<= 1;
    --biased;
  }
  return bits_float(sign | (biased << 23) | ((fraction & 0x3ffu) << 13));
}

}  // namespace half_detail

// The two types share their shape: a 16-bit pattern, an explicit constructor from float and an
// explicit conversion back, given by a format (its encode and decode). Other numbers convert
// through float (convert_element below).
template <class Format>
struct Float16Bits {
  std::uint16_t bits = 0;
  Float16Bits() = default;
  CAKE_HD explicit Float16Bits(float v) : bits(Format::encode(v)) {}
  CAKE_HD explicit operator float() const { return Format::decode(bits); }
  static CAKE_HD Float16Bits from_bits(std::uint16_t b) {
    Float16Bits x;
    x.bits = b;
    return x;
  }
};

namespace half_detail {
struct BFloat16Format {
  static CAKE_HD std::uint16_t encode(float v) { return bfloat16_from_float(v); }
  static CAKE_HD float decode(std::uint16_t b) { return bfloat16_to_float(b); }
};
struct HalfFormat {
  static CAKE_HD std::uint16_t encode(float v) { return half_from_float(v); }
  static CAKE_HD float decode(std::uint16_t b) { return half_to_float(b); }
};
}  // namespace half_detail

using BFloat16 = Float16Bits<half_detail::BFloat16Format>;
using Half = Float16Bits<half_detail::HalfFormat>;

template <class T>
inline constexpr bool is_half_v = std::is_same_v<T, BFloat16> || std::is_same_v<T, Half>;

// One element converted as `Tensor::to` does on either device: to bool tests for non-zero, a
// 16-bit float goes through float (double -> float -> half, as PyTorch's conversion does),
// everything else is static_cast.
template <class To, class From>
CAKE_HD To convert_element(From v) {
  if constexpr (is_half_v<From>) {
    return convert_element<To>(static_cast<float>(v));
  } else if constexpr (std::is_same_v<To, bool>) {
    return v != From(0);
  } else if constexpr (is_half_v<To>) {
    return To(static_cast<float>(v));
  } else {
    return static_cast<To>(v);
  }
}

}  // namespace cake
