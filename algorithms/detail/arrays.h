// algorithms/detail/arrays.h: the small chores every classical algorithm shares: checking the
// data matrix it is given, moving results between std::vector and Tensor, and seeding.
//
//   Tensor X = detail::checked_data(input, "DBSCAN.fit");   // [n, d] float32/float64, contiguous
//   detail::SeedScope seed(options.random_state);            // draws below use that seed
//   Tensor labels = detail::to_tensor(label_vector);           // int64 [n]
#pragma once

#include <cmath>
#include <cstdint>
#include <optional>
#include <vector>

#include "tensor/creation.h"
#include "tensor/error.h"
#include "tensor/random.h"
#include "tensor/tensor.h"

namespace cake::algorithms::detail {

// The data matrix as a contiguous CPU [n, d] float32/float64 tensor (a no-op when it already
// is one); anything else is an error naming `who`, the shape, dtype and device.
inline Tensor checked_data(const Tensor& x, const char* who, std::int64_t min_rows = 1) {
  CAKE_CHECK(x.defined(), who, ": the data tensor is undefined");
  CAKE_CHECK(x.dim() == 2, who, ": expected data of shape [n_samples, n_features], got shape ", x.sizes());
  CAKE_CHECK(x.is_floating_point(), who, ": expected float32 or float64 data, got ", dtype_name(x.dtype()));
  CAKE_CHECK(x.is_cpu(), who, ": expected data on the CPU, got ", x.device(),
             " (the classical algorithms run on the CPU; call .cpu() first)");
  CAKE_CHECK(x.size(0) >= min_rows, who, ": expected at least ", min_rows, " samples, got shape ", x.sizes());
  CAKE_CHECK(x.size(1) >= 1, who, ": expected at least one feature, got shape ", x.sizes());
  Tensor data = x.detach().contiguous();
  visit_floating(data.dtype(), who, [&]<class T>() {
    // x * 0 is 0 for finite x and NaN for NaN or infinity: one vectorised pass finds out
    // whether there is anything to report, a second one where.
    const T* p = data.data_ptr<T>();
    const std::int64_t count = data.numel();
    T probe = 0;
#pragma omp simd reduction(+ : probe)
    for (std::int64_t i = 0; i < count; ++i) probe += p[i] * T(0);
    if (probe == T(0)) return;
    for (std::int64_t i = 0; i < count; ++i)
      CAKE_CHECK(std::isfinite(p[i]), who, ": the data contains NaN or infinity (at flat index ", i, ", shape ",
                 data.sizes(), ")");
  });
  return data;
}

template <class T>
Tensor to_tensor(const std::vector<T>& v, const Shape& shape = {}) {
  return tensor(v, shape.empty() ? Shape{static_cast<std::int64_t>(v.size())} : shape);
}

// Draws inside the scope come from Philox stream `seed` (when given) and the global generator
// is left as it was; without a seed they come from the global generator, so that
// cake::manual_seed fixes them (the brief's reproducibility rule).
class SeedScope {
 public:
  explicit SeedScope(std::optional<std::uint64_t> seed) : saved_(get_rng_state()), active_(seed.has_value()) {
    if (active_) set_rng_state({*seed, 0});
  }
  ~SeedScope() {
    if (active_) set_rng_state(saved_);
  }
  SeedScope(const SeedScope&) = delete;
  SeedScope& operator=(const SeedScope&) = delete;

 private:
  GeneratorState saved_;
  bool active_;
};

// n standard-normal (or uniform [0, 1)) draws as a std::vector<T>.
template <class T>
std::vector<T> normal_draws(std::int64_t n) {
  Tensor t = randn({n}, kFloat64);
  const double* p = t.data_ptr<double>();
  return std::vector<T>(p, p + n);
}
template <class T>
std::vector<T> uniform_draws(std::int64_t n) {
  Tensor t = rand({n}, kFloat64);
  const double* p = t.data_ptr<double>();
  return std::vector<T>(p, p + n);
}

}  // namespace cake::algorithms::detail
