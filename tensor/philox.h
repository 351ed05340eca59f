// philox.h: the Philox4x32-10 counter-based random number generator (Salmon et al., "Parallel
// random numbers: as easy as 1, 2, 3", SC 2011), shared by the CPU and CUDA backends.
//
// A counter-based generator is a pure function (key, counter) -> four random 32-bit words, so
// element i of a random tensor is computed from (seed, offset + i / 4) alone: any thread, on
// any device, in any order, draws the same numbers. That is what makes `manual_seed(0)` give
// identical tensors on the CPU and the GPU.
//
//   auto words = cake::philox4x32_10({1, 2, 3, 4}, {seed_lo, seed_hi});
#pragma once

#include <array>
#include <cmath>
#include <cstdint>

#include "cake/tensor/functors.h"  // CAKE_HD

namespace cake {

using PhiloxCounter = std::array<std::uint32_t, 4>;
using PhiloxKey = std::array<std::uint32_t, 2>;

CAKE_HD void philox_mulhilo(std::uint32_t a, std::uint32_t b, std::uint32_t& hi, std::uint32_t& lo) {
  const std::uint64_t product = static_cast<std::uint64_t>(a) * b;
  hi = static_cast<std::uint32_t>(product >> 32);
  lo = static_cast<std::uint32_t>(product);
}

// Ten rounds of the Philox S-box and key schedule, constants from the paper (section 4.2).
CAKE_HD PhiloxCounter philox4x32_10(PhiloxCounter ctr, PhiloxKey key) {
  constexpr std::uint32_t kMul0 = 0xD2511F53u, kMul1 = 0xCD9E8D57u;
  constexpr std::uint32_t kWeyl0 = 0x9E3779B9u, kWeyl1 = 0xBB67AE85u;
  for (int round = 0; round < 10; ++round) {
    std::uint32_t hi0, lo0, hi1, lo1;
    philox_mulhilo(kMul0, ctr[0], hi0, lo0);
    philox_mulhilo(kMul1, ctr[2], hi1, lo1);
    ctr = {hi1 ^ ctr[1] ^ key[0], lo1, hi0 ^ ctr[3] ^ key[1], lo0};
    key[0] += kWeyl0;
    key[1] += kWeyl1;
  }
  return ctr;
}

// The four words for group `group` (= offset + element / 4) of the stream keyed by `seed`.
CAKE_HD PhiloxCounter philox_words(std::uint64_t seed, std::uint64_t group) {
  return philox4x32_10({static_cast<std::uint32_t>(group), static_cast<std::uint32_t>(group >> 32), 0u, 0u},
                       {static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)});
}

// Uniform in [0, 1): the top 24 bits (float) or 53 bits (double) of the words, so every value
// is exactly representable and 1.0 is never produced.
CAKE_HD float uniform_float(std::uint32_t w) { return static_cast<float>(w >> 8) * (1.0f / 16777216.0f); }
CAKE_HD double uniform_double(std::uint32_t hi, std::uint32_t lo) {
  const std::uint64_t bits = (static_cast<std::uint64_t>(hi) << 32 | lo) >> 11;
  return static_cast<double>(bits) * (1.0 / 9007199254740992.0);
}

// Box-Muller: two uniforms -> two independent standard normals. u1 is moved into (0, 1] so
// that log(u1) is finite.
template <class T>
CAKE_HD void box_muller(T u1, T u2, T& z0, T& z1) {
  const T radius = std::sqrt(T(-2) * std::log(T(1) - u1));
  const T angle = T(6.283185307179586) * u2;
  z0 = radius * std::cos(angle);
  z1 = radius * std::sin(angle);
}

}  // namespace cake
