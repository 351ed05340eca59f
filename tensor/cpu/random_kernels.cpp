// cpu/random_kernels.cpp: fills tensors from the Philox stream (see philox.h, random.h).
//
// Element i of a draw of float32 uses word i % 4 of group offset + i / 4; 64-bit draws use words
// (2j, 2j+1) of group offset + i / 2 with j = i % 2. Normals come in Box-Muller pairs from
// consecutive uniforms. The CUDA kernel follows the same map, so both give the same tensor.
#include "cake/tensor/parallel.h"
#include "cake/tensor/philox.h"
#include "cake/tensor/random.h"

namespace cake::cpu {
namespace {

using native::Distribution;

template <class T>
void fill_group(T* out, std::int64_t first, std::int64_t count, Distribution dist, native::RandomParams p,
                PhiloxCounter w) {
  // One group yields 4 float32 values or 2 float64/int64 values.
  T values[4];
  int n = 0;
  if constexpr (std::is_same_v<T, float>) {
    float u[4] = {uniform_float(w[0]), uniform_float(w[1]), uniform_float(w[2]), uniform_float(w[3])};
    if (dist == Distribution::Normal) {
      box_muller(u[0], u[1], values[0], values[1]);
      box_muller(u[2], u[3], values[2], values[3]);
      for (float& v : values) v = static_cast<float>(p.a + p.b * v);
    } else if (dist == Distribution::Bernoulli) {
      for (int k = 0; k < 4; ++k) values[k] = u[k] < p.a ? 1.0f : 0.0f;
    } else {
      for (int k = 0; k < 4; ++k) values[k] = static_cast<float>(p.a + (p.b - p.a) * u[k]);
    }
    n = 4;
  } else if constexpr (std::is_same_v<T, double>) {
    double u[2] = {uniform_double(w[0], w[1]), uniform_double(w[2], w[3])};
    if (dist == Distribution::Normal) {
      box_muller(u[0], u[1], values[0], values[1]);
      for (int k = 0; k < 2; ++k) values[k] = p.a + p.b * values[k];
    } else if (dist == Distribution::Bernoulli) {
      for (int k = 0; k < 2; ++k) values[k] = u[k] < p.a ? 1.0 : 0.0;
    } else {
      for (int k = 0; k < 2; ++k) values[k] = p.a + (p.b - p.a) * u[k];
    }
    n = 2;
  } else {  // int64 in [low, high): 64 random bits modulo the range
    const auto low = static_cast<std::int64_t>(p.a);
    const auto range = static_cast<std::uint64_t>(static_cast<std::int64_t>(p.b) - low);
    for (int k = 0; k < 2; ++k) {
      const std::uint64_t bits = static_cast<std::uint64_t>(w[2 * k]) << 32 | w[2 * k + 1];
      values[k] = static_cast<T>(low + static_cast<std::int64_t>(bits % range));
    }
    n = 2;
  }
  for (std::int64_t k = 0; k < count && k < n; ++k) out[first + k] = values[k];
}

void random_kernel(const Tensor& dst, Distribution dist, native::RandomParams params, GeneratorState state) {
  const std::int64_t numel = dst.numel();
  auto run = [&]<class T>() {
    T* out = dst.data_ptr<T>();
    constexpr std::int64_t per_group = std::is_same_v<T, float> ? 4 : 2;
    const std::int64_t groups = (numel + per_group - 1) / per_group;
    parallel_for(0, groups, 2048, [&](std::int64_t lo, std::int64_t hi) {
      for (std::int64_t g = lo; g < hi; ++g) {
        const PhiloxCounter w = philox_words(state.seed, state.offset + static_cast<std::uint64_t>(g));
        fill_group<T>(out, g * per_group, numel - g * per_group, dist, params, w);
      }
    });
  };
  switch (dst.dtype()) {
    case kFloat32: return run.template operator()<float>();
    case kFloat64: return run.template operator()<double>();
    case kInt64: return run.template operator()<std::int64_t>();
    default: CAKE_FAIL("random: cannot draw into dtype ", dtype_name(dst.dtype()));
  }
}

}  // namespace

CAKE_REGISTER_KERNEL(native::random_stub, DeviceType::CPU, &random_kernel);

}  // namespace cake::cpu
