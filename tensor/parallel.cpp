#include "tensor/parallel.h"

#include <cblas.h>

#include "tensor/error.h"

namespace cake {

namespace detail {
// oneDNN reads OpenMP's thread count; nothing more to do for it here.
void (*set_backend_threads)(int) = nullptr;
}  // namespace detail

void set_num_threads(int n) {
  CAKE_CHECK(n >= 1, "set_num_threads: expected a positive count, got ", n);
  omp_set_num_threads(n);
  openblas_set_num_threads(n);
  if (detail::set_backend_threads) detail::set_backend_threads(n);
}

int get_num_threads() { return omp_get_max_threads(); }

}  // namespace cake
