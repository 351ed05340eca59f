// splitmix.h: a tiny counter-based random stream (SplitMix64, Steele, Lea & Flood 2014, "Fast
// splittable pseudorandom number generators", OOPSLA) for the inner loops that draw millions of
// numbers (UMAP's negative sampling, NN-descent's candidate sampling) and need one independent,
// reproducible stream per block of work, which Cake's global generator (tensor/random.h) is not
// meant for.
//
//   cake::algorithms::detail::SplitMix64 rng(/*seed=*/42, /*stream=*/3);
//   std::uint64_t j = rng.below(100);    // uniform in [0, 100)
//   double u = rng.uniform();            // uniform in [0, 1)
#pragma once

#include <cstdint>

namespace cake::algorithms::detail {

class SplitMix64 {
 public:
  // Streams with different `stream` numbers are independent for practical purposes: the
  // state starts at a scrambled (seed, stream) pair.
  explicit SplitMix64(std::uint64_t seed, std::uint64_t stream = 0) : state_(seed) {
    state_ = next() ^ (stream * 0xD1B54A32D192ED03ull);
    next();
  }
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n) for n >= 1 (by remainder: the bias, below n / 2^64, is immaterial here).
  std::uint64_t below(std::uint64_t n) { return next() % n; }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

 private:
  std::uint64_t state_;
};

}  // namespace cake::algorithms::detail
