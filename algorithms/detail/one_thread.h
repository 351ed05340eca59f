// one_thread.h: runs one computation with the thread count at one (Cake's loops and OpenBLAS
// alike), then restores it.
//
//   auto [values, vectors] = detail::on_one_thread([&] { return linalg::eigh(h); });
//
// Why: OpenBLAS (the OpenMP build shares Cake's thread count) splits a product's or a
// factorisation's sums across its threads, so their rounding depends on how many there are. Most
// callers do not mind a last-bit difference; an algorithm that magnifies one (the SGD of UMAP,
// the gradient descent of t-SNE, both started from such a result) runs the start here, so that a
// seed gives one result whatever the thread count. For small or one-off work only: the global
// count is switched for the duration (restored on return and on an exception), which would
// serialise anything running beside it.
#pragma once

#include <utility>

#include "cake/tensor/parallel.h"

namespace cake::algorithms::detail {

template <class F>
auto on_one_thread(F&& f) {
  struct OneThread {
    int saved = get_num_threads();
    OneThread() {
      if (saved > 1) set_num_threads(1);
    }
    ~OneThread() {
      if (saved > 1) set_num_threads(saved);
    }
    OneThread(const OneThread&) = delete;
    OneThread& operator=(const OneThread&) = delete;
  } one_thread;
  return std::forward<F>(f)();
}

}  // namespace cake::algorithms::detail
