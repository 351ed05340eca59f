// random.h: the global random generator (seed + offset into the Philox stream).
//
//   cake::manual_seed(0);
//   cake::Tensor a = cake::randn({2, 3});   // the same numbers after every manual_seed(0)
//
// Every random op reserves a block of the stream (numel / 4 groups, rounded up) by advancing
// the offset, then fills its tensor from that block in parallel. The default seed matches
// PyTorch's, so a program that never seeds is still reproducible run to run.
#pragma once

#include <cstdint>

#include "cake/tensor/dispatch.h"
#include "cake/tensor/tensor.h"

namespace cake {

inline constexpr std::uint64_t kDefaultSeed = 67280421310721ull;

void manual_seed(std::uint64_t seed);
std::uint64_t initial_seed();

struct GeneratorState {
  std::uint64_t seed = kDefaultSeed;
  std::uint64_t offset = 0;  // in groups of four 32-bit words
};
GeneratorState get_rng_state();
void set_rng_state(GeneratorState state);
// Reserves `groups` Philox groups and returns the state to draw them from.
GeneratorState reserve_random_groups(std::uint64_t groups);

namespace native {
enum class Distribution { Uniform, Normal, Bernoulli, RandInt };
struct RandomParams {
  double a = 0.0;  // Uniform: low;  Normal: mean; Bernoulli: p; RandInt: low
  double b = 1.0;  // Uniform: high; Normal: std;                RandInt: high (exclusive)
};
// Fills a contiguous tensor: element i uses group seed.offset + i / 4 (two words per element for
// 64-bit draws: group offset + i / 2).
using RandomFn = void (*)(const Tensor& dst, Distribution dist, RandomParams params, GeneratorState state);
CAKE_DECLARE_DISPATCH(RandomFn, random_stub);
// Groups a draw of `numel` elements of `dtype` consumes.
std::uint64_t random_groups_needed(std::int64_t numel, DType dtype, Distribution dist);
void fill_random_(const Tensor& dst, Distribution dist, RandomParams params);
}  // namespace native

}  // namespace cake
