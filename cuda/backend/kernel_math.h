// cuda/backend/kernel_math.h: index arithmetic the CUDA kernels share with their host-side
// tests (tests/cuda/test_kernel_math.cpp), written once for both: CAKE_HD functions of plain
// integers and floats, no CUDA headers, no Tensor.
//
//   const Span rows = outputs_reading(ih, p.in_h, p.out_h, p.kernel_h, p.stride_h, p.pad_h, false);
//   keys[i] = sort_key(x[i]) ^ flip;
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "cake/cuda/backend/launchers.h"
#include "cake/tensor/functors.h"  // CAKE_HD

namespace cake::cuda::kernels {

// ---- pooling windows --------------------------------------------------------------------------

// Window of output (oh, ow), clipped, and its average-pool divisor: pool_window and
// adaptive_window of cpu/pool_kernels.cpp.
struct Window {
  std::int64_t h0, h1, w0, w1, divisor;
};

CAKE_HD Window window_of(const PoolShape& p, std::int64_t oh, std::int64_t ow) {
  if (p.adaptive) {
    const std::int64_t h0 = oh * p.in_h / p.out_h, h1 = ((oh + 1) * p.in_h + p.out_h - 1) / p.out_h;
    const std::int64_t w0 = ow * p.in_w / p.out_w, w1 = ((ow + 1) * p.in_w + p.out_w - 1) / p.out_w;
    return {h0, h1, w0, w1, (h1 - h0) * (w1 - w0)};
  }
  std::int64_t h0 = oh * p.stride_h - p.pad_h, w0 = ow * p.stride_w - p.pad_w;
  std::int64_t h1 = std::min(h0 + p.kernel_h, p.in_h + p.pad_h), w1 = std::min(w0 + p.kernel_w, p.in_w + p.pad_w);
  const std::int64_t padded_size = (h1 - h0) * (w1 - w0);
  h0 = std::max(h0, std::int64_t{0}), w0 = std::max(w0, std::int64_t{0});
  h1 = std::min(h1, p.in_h), w1 = std::min(w1, p.in_w);
  return {h0, h1, w0, w1, p.count_include_pad ? padded_size : (h1 - h0) * (w1 - w0)};
}

// The outputs along one axis whose windows may hold input coordinate i: [first, last] (empty
// when first > last). Every output whose window holds i is in the span; the backward kernels
// still test membership with window_of, which the adaptive windows need.
struct Span {
  std::int64_t first, last;
};
CAKE_HD Span outputs_reading(std::int64_t i, std::int64_t in, std::int64_t out, std::int64_t kernel,
                             std::int64_t stride, std::int64_t pad, bool adaptive) {
  Span s{};
  if (adaptive) {  // floor(o * in / out) <= i < ceil((o + 1) * in / out)
    s.first = i * out / in;
    s.last = ((i + 1) * out + in - 1) / in - 1;
  } else {  // o * stride - pad <= i < o * stride - pad + kernel
    s.first = i + pad - kernel < 0 ? 0 : (i + pad - kernel) / stride + 1;
    s.last = (i + pad) / stride;
  }
  s.first = std::max(s.first, std::int64_t{0});
  s.last = std::min(s.last, out - 1);
  return s;
}

// ---- sort keys --------------------------------------------------------------------------------

// NOTE [ Sort keys ]
// A radix sort orders unsigned integers, so each value is first mapped to a 64-bit key whose
// unsigned order is the CPU sort's order (NOTE [ Sorting rows ] in cpu/indexing_kernels.cpp):
//   * floats: the sign bit flipped for positives, every bit flipped for negatives (the IEEE
//     order), -0.0 mapped to +0.0 (they compare equal on the CPU, so position decides), and
//     every NaN, whatever its sign and payload, mapped to the largest key (NaN after every
//     number: x86's default NaN has its sign bit set and would otherwise sort first);
//   * int64: the sign bit flipped; uint8 and bool: the value.
// Descending order sorts the complemented key ascending (within the key's bits, sort_flip),
// which keeps the sort stable: equal values stay in position order, and NaNs come first, as on
// the CPU.

// The significant bits of T's key.
template <class T>
constexpr int key_bits() {
  return std::is_same_v<T, float> ? 32 : sizeof(T) == 8 ? 64 : 8;
}

// What a key is XORed with: nothing ascending, its significant bits descending.
template <class T>
CAKE_HD std::uint64_t sort_flip(bool descending) {
  return descending ? ~0ull >> (64 - key_bits<T>()) : 0;
}

template <class T>
CAKE_HD std::uint64_t sort_key(T v) {
  if constexpr (std::is_same_v<T, float>) {
    if (v != v) return 0xffffffffull;
    std::uint32_t u = 0;
    if (v != 0.0f) memcpy(&u, &v, sizeof u);  // -0.0 keeps u = 0, the bits of +0.0
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
  } else if constexpr (std::is_same_v<T, double>) {
    if (v != v) return ~0ull;
    std::uint64_t u = 0;
    if (v != 0.0) memcpy(&u, &v, sizeof u);
    return (u & 0x8000000000000000ull) ? ~u : (u | 0x8000000000000000ull);
  } else if constexpr (std::is_same_v<T, std::int64_t>) {
    return static_cast<std::uint64_t>(v) ^ 0x8000000000000000ull;
  } else {
    return static_cast<std::uint64_t>(v);
  }
}

}  // namespace cake::cuda::kernels
