// The index arithmetic of the CUDA kernels (cuda/backend/kernel_math.h), on the host: the same
// functions the GPU runs, checked here against brute force on every machine, GPU or not.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <vector>

#include "cake/cuda/backend/kernel_math.h"

using namespace cake::cuda::kernels;

namespace {

PoolShape pool(std::int64_t in, std::int64_t out, std::int64_t kernel, std::int64_t stride, std::int64_t pad,
               bool adaptive) {
  return {1, in, in, out, out, kernel, kernel, stride, stride, pad, pad, true, adaptive};
}

// The output count a pooling of these settings has (PyTorch's formula, floor or ceil mode).
std::int64_t pooled_size(std::int64_t in, std::int64_t kernel, std::int64_t stride, std::int64_t pad, bool ceil) {
  const std::int64_t span = in + 2 * pad - kernel;
  std::int64_t out = (ceil ? (span + stride - 1) / stride : span / stride) + 1;
  if (ceil && (out - 1) * stride >= in + pad) --out;  // no window may start in the right padding
  return out;
}

// Every output whose (clipped) window holds i must lie in outputs_reading's span.
void check_spans(const PoolShape& p) {
  for (std::int64_t i = 0; i < p.in_h; ++i) {
    const Span s = outputs_reading(i, p.in_h, p.out_h, p.kernel_h, p.stride_h, p.pad_h, p.adaptive);
    for (std::int64_t o = 0; o < p.out_h; ++o) {
      const Window w = window_of(p, o, 0);
      const bool holds = w.h0 <= i && i < w.h1;
      if (holds) CHECK_MESSAGE((s.first <= o && o <= s.last), "input ", i, " read by output ", o, " outside [",
                               s.first, ", ", s.last, "] (in ", p.in_h, ", out ", p.out_h, ", kernel ", p.kernel_h,
                               ", stride ", p.stride_h, ", pad ", p.pad_h, ", adaptive ", p.adaptive, ")");
    }
  }
}

}  // namespace

TEST_CASE("pooling: the span of outputs reading an input pixel holds every window that reads it") {
  for (std::int64_t in = 1; in <= 12; ++in) {
    for (std::int64_t kernel = 1; kernel <= 4; ++kernel) {
      for (std::int64_t stride = 1; stride <= 3; ++stride) {
        for (std::int64_t pad = 0; pad <= kernel / 2; ++pad) {
          for (bool ceil : {false, true}) {
            if (in + 2 * pad < kernel) continue;
            check_spans(pool(in, pooled_size(in, kernel, stride, pad, ceil), kernel, stride, pad, false));
          }
        }
      }
    }
    for (std::int64_t out = 1; out <= 12; ++out) check_spans(pool(in, out, 0, 0, 0, true));
  }
}

TEST_CASE("pooling windows: adaptive windows cover the input; divisors count padding only when asked") {
  const PoolShape a = pool(7, 3, 0, 0, 0, true);
  CHECK(window_of(a, 0, 0).h0 == 0);
  CHECK(window_of(a, 0, 0).h1 == 3);  // [floor(0), ceil(7/3)) = [0, 3)
  CHECK(window_of(a, 1, 0).h0 == 2);  // overlapping: [floor(7/3), ceil(14/3)) = [2, 5)
  CHECK(window_of(a, 2, 0).h1 == 7);
  PoolShape p = pool(5, 3, 3, 2, 1, false);
  CHECK(window_of(p, 0, 0).h0 == 0);
  CHECK(window_of(p, 0, 0).divisor == 9);  // the padded 3 x 3 window
  p.count_include_pad = false;
  CHECK(window_of(p, 0, 0).divisor == 4);  // only the 2 x 2 real pixels
}

TEST_CASE("sort keys order every dtype as the CPU sort does") {
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  // In the CPU's ascending order; equal neighbours (-0, +0) must get equal keys.
  const std::vector<double> ordered = {-inf, -1e300, -2.5, -1e-310, -0.0, 0.0, 1e-310, 3.0, 1e300, inf};
  for (std::size_t i = 0; i + 1 < ordered.size(); ++i) {
    CAPTURE(ordered[i]);
    if (ordered[i] == ordered[i + 1]) CHECK(sort_key(ordered[i]) == sort_key(ordered[i + 1]));
    else CHECK(sort_key(ordered[i]) < sort_key(ordered[i + 1]));
    const auto f = static_cast<float>(ordered[i]), g = static_cast<float>(ordered[i + 1]);
    if (f == g) CHECK(sort_key(f) == sort_key(g));
    else CHECK(sort_key(f) < sort_key(g));
  }
  // Every NaN, either sign, is the largest key.
  const double negative_nan = -nan;
  REQUIRE(std::signbit(negative_nan));
  CHECK(sort_key(nan) == sort_key(negative_nan));
  CHECK(sort_key(inf) < sort_key(negative_nan));
  CHECK(sort_key(static_cast<float>(inf)) < sort_key(static_cast<float>(negative_nan)));
  CHECK(sort_key(static_cast<float>(nan)) == 0xffffffffull);  // within float's 32 key bits
  // Descending: complemented within the key's bits, the order reverses and NaN comes first.
  CHECK((sort_key(3.0) ^ sort_flip<double>(true)) < (sort_key(-2.5) ^ sort_flip<double>(true)));
  CHECK((sort_key(nan) ^ sort_flip<double>(true)) == 0);
  CHECK((sort_key(2.0f) ^ sort_flip<float>(true)) < (sort_key(1.0f) ^ sort_flip<float>(true)));
  CHECK((sort_key(2.0f) ^ sort_flip<float>(true)) <= 0xffffffffull);
  // Integers.
  const std::vector<std::int64_t> ints = {std::numeric_limits<std::int64_t>::min(), -5, -1, 0, 1, 7,
                                          std::numeric_limits<std::int64_t>::max()};
  for (std::size_t i = 0; i + 1 < ints.size(); ++i) CHECK(sort_key(ints[i]) < sort_key(ints[i + 1]));
  CHECK(sort_key(std::uint8_t{3}) < sort_key(std::uint8_t{200}));
  CHECK((sort_key(std::uint8_t{3}) ^ sort_flip<std::uint8_t>(true)) == 252);
  CHECK(sort_key(false) < sort_key(true));
}
