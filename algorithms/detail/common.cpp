#include "cake/algorithms/detail/common.h"

#include <atomic>
#include <limits>

namespace cake::algorithms::detail {

Tensor data_matrix(const Tensor& x, const char* who, std::int64_t min_rows) {
  CAKE_CHECK(x.defined(), who, ": expected a data matrix, got an undefined tensor");
  CAKE_CHECK(x.dim() == 2, who, ": expected a 2-D data matrix [samples, features], got shape ", x.sizes());
  CAKE_CHECK(x.dtype() == kFloat32 || x.dtype() == kFloat64, who,
             ": expected float32 or float64 data, got ", dtype_name(x.dtype()));
  CAKE_CHECK(x.size(0) >= min_rows, who, ": expected at least ", min_rows, " samples, got shape ", x.sizes());
  CAKE_CHECK(x.size(1) >= 1, who, ": expected at least one feature, got shape ", x.sizes());
  Tensor c = x.detach().cpu().contiguous();
  std::atomic<bool> finite{true};
  double largest = 0.0, limit = 0.0;
  visit_floating(c.dtype(), who, [&]<class T>() {
    const T* p = c.data_ptr<T>();
    std::vector<double> partial(static_cast<std::size_t>(max_threads()), 0.0);
    parallel_for(0, c.numel(), 1 << 16, [&](std::int64_t lo, std::int64_t hi) {
      bool ok = true;
      double m = 0.0;
      for (std::int64_t i = lo; i < hi; ++i) {
        ok &= std::isfinite(p[i]);
        m = std::max(m, std::abs(static_cast<double>(p[i])));
      }
      if (!ok) finite = false;
      double& slot = partial[static_cast<std::size_t>(thread_index())];
      slot = std::max(slot, m);
    });
    for (const double m : partial) largest = std::max(largest, m);
    // Every algorithm here forms squared distances |x - y|^2 <= 4 D M^2 (M the largest
    // magnitude) and sums up to N of them in the data's type; past max(T) they become inf,
    // then inf - inf = NaN, and a NaN distance has no nearest centre. Such data are refused
    // rather than computed wrong (float32: M up to ~1e15 for 70000 x 784).
    const double rows = static_cast<double>(std::max<std::int64_t>(c.size(0), 1));
    limit = std::sqrt(static_cast<double>(std::numeric_limits<T>::max()) / (4.0 * static_cast<double>(c.size(1)) * rows));
  });
  CAKE_CHECK(finite.load(), who, ": the data matrix of shape ", x.sizes(), " contains NaN or infinite values");
  CAKE_CHECK(largest <= limit, who, ": the data matrix of shape ", x.sizes(), " holds values as large as ", largest,
             ", beyond the ", limit, " at which squared distances between its rows could overflow ",
             dtype_name(c.dtype()), "; rescale the data (e.g. standardise each feature)",
             c.dtype() == kFloat32 ? " or pass float64" : "");
  return c;
}

Tensor data_matrix(const Tensor& x, const char* who, std::int64_t min_rows, std::int64_t features) {
  Tensor c = data_matrix(x, who, min_rows);
  CAKE_CHECK(c.size(1) == features, who, ": expected ", features, " features (as in fit), got shape ", x.sizes());
  return c;
}

std::vector<double> uniform_draws(std::int64_t count) {
  if (count <= 0) return {};
  Tensor t = rand({count}, kFloat64);
  const double* p = t.data_ptr<double>();
  return std::vector<double>(p, p + count);
}

std::vector<double> normal_draws(std::int64_t count) {
  if (count <= 0) return {};
  Tensor t = randn({count}, kFloat64);
  const double* p = t.data_ptr<double>();
  return std::vector<double>(p, p + count);
}

std::vector<std::int64_t> integer_draws(std::int64_t low, std::int64_t high, std::int64_t count) {
  if (count <= 0) return {};
  Tensor t = randint(low, high, {count});
  const std::int64_t* p = t.data_ptr<std::int64_t>();
  return std::vector<std::int64_t>(p, p + count);
}

std::vector<std::int64_t> permutation(std::int64_t n) {
  if (n <= 0) return {};
  Tensor t = randperm(n);
  const std::int64_t* p = t.data_ptr<std::int64_t>();
  return std::vector<std::int64_t>(p, p + n);
}

void reduce_partials(const std::vector<std::vector<double>>& partials, double* out, std::int64_t size) {
  parallel_for(0, size, 1 << 14, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t j = lo; j < hi; ++j) {
      double s = 0.0;
      for (const auto& p : partials)
        if (!p.empty()) s += p[static_cast<std::size_t>(j)];
      out[j] = s;
    }
  });
}

}  // namespace cake::algorithms::detail
