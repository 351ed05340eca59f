#include "cake/tensor/pairwise.h"

namespace cake::pairwise {

template <class T>
void row_squared_norms(const T* x, std::int64_t n, std::int64_t d, T* out) {
  const std::int64_t grain = std::max<std::int64_t>(1, (std::int64_t{1} << 17) / std::max<std::int64_t>(d, 1));
  parallel_for(0, n, grain, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t i = lo; i < hi; ++i) {
      const T* row = x + i * d;
      T s = 0;
#pragma omp simd reduction(+ : s)
      for (std::int64_t j = 0; j < d; ++j) s += row[j] * row[j];
      out[i] = s;
    }
  });
}

template void row_squared_norms<float>(const float*, std::int64_t, std::int64_t, float*);
template void row_squared_norms<double>(const double*, std::int64_t, std::int64_t, double*);

}  // namespace cake::pairwise
