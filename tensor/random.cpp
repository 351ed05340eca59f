#include "cake/tensor/random.h"

#include <mutex>

#include "cake/tensor/creation.h"
#include "cake/tensor/native/elementwise.h"

namespace cake {
namespace {
std::mutex rng_mutex;
GeneratorState rng_state;
}  // namespace

void manual_seed(std::uint64_t seed) {
  std::lock_guard<std::mutex> lock(rng_mutex);
  rng_state = {seed, 0};
}
std::uint64_t initial_seed() {
  std::lock_guard<std::mutex> lock(rng_mutex);
  return rng_state.seed;
}
GeneratorState get_rng_state() {
  std::lock_guard<std::mutex> lock(rng_mutex);
  return rng_state;
}
void set_rng_state(GeneratorState state) {
  std::lock_guard<std::mutex> lock(rng_mutex);
  rng_state = state;
}
GeneratorState reserve_random_groups(std::uint64_t groups) {
  std::lock_guard<std::mutex> lock(rng_mutex);
  GeneratorState start = rng_state;
  rng_state.offset += groups;
  return start;
}

namespace native {

CAKE_DEFINE_DISPATCH(RandomFn, random_stub);

std::uint64_t random_groups_needed(std::int64_t numel, DType dtype, Distribution dist) {
  // 64-bit draws (doubles, int64 ranges) take two words per element, the rest one.
  const bool wide = dtype == kFloat64 || dist == Distribution::RandInt;
  const std::uint64_t per_group = wide ? 2 : 4;
  return (static_cast<std::uint64_t>(numel) + per_group - 1) / per_group;
}

void fill_random_(const Tensor& dst, Distribution dist, RandomParams params) {
  if (dst.numel() == 0) return;
  if (dist == Distribution::Uniform || dist == Distribution::Normal)
    CAKE_CHECK(dst.is_floating_point(), "random: uniform/normal need a floating tensor, got ", dtype_name(dst.dtype()));
  if (dist == Distribution::RandInt)
    CAKE_CHECK(params.b > params.a, "randint: empty range [", params.a, ", ", params.b, ")");
  if (dist == Distribution::Normal) CAKE_CHECK(params.b >= 0, "normal_: std must be non-negative, got ", params.b);
  const DType draw_dtype = dist == Distribution::RandInt ? kInt64 : dst.is_floating_point() ? dst.dtype() : kFloat32;
  const GeneratorState state = reserve_random_groups(random_groups_needed(dst.numel(), draw_dtype, dist));
  if (dst.is_contiguous() && dst.dtype() == draw_dtype) {
    random_stub(dst.device(), dst, dist, params, state);
  } else {
    Tensor tmp = make_empty(dst.sizes(), draw_dtype, dst.device());
    random_stub(dst.device(), tmp, dist, params, state);
    copy_stub(dst.device(), tmp, dst);
  }
  dst.bump_version();
}

}  // namespace native

Tensor& Tensor::uniform_(double low, double high) {
  native::fill_random_(*this, native::Distribution::Uniform, {low, high});
  return *this;
}
Tensor& Tensor::normal_(double mean, double std) {
  native::fill_random_(*this, native::Distribution::Normal, {mean, std});
  return *this;
}
Tensor& Tensor::bernoulli_(double p) {
  CAKE_CHECK(p >= 0.0 && p <= 1.0, "bernoulli_: p must be in [0, 1], got ", p);
  native::fill_random_(*this, native::Distribution::Bernoulli, {p, 0.0});
  return *this;
}

}  // namespace cake
