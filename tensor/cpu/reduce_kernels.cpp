// cpu/reduce_kernels.cpp: sum/prod/max/min over any set of dims, and arg-max/min along one dim.
//
// Every reduction is brought to the shape [outer, R, inner] of a contiguous tensor, where R is
// the product of the reduced sizes: directly when the reduced dims are adjacent in a contiguous
// tensor (the usual case: rows of a matrix, the batch dim, spatial dims), otherwise after one
// copy that moves the reduced dims last. Then
//   inner == 1: each output is a reduction of one contiguous run (pairwise sum, see below);
//   inner  > 1: each output row accumulates R contiguous rows of length `inner`, so the inner
//               loop is a vectorised row-add (this is the bias-gradient/batch-mean shape).
//
// NOTE [ Pairwise summation ]
// Summing n floats one by one has error growing like O(n * eps); splitting the run in halves
// recursively (down to blocks of 128 summed with 8 independent accumulators) has O(log n * eps)
// error at the same speed, as NumPy does. Column sums use blocks of 128 rows the same way.
#include "cake/tensor/cpu/vector_math.h"  // first: exp, log, tanh, ... eight or sixteen at a time

#include <algorithm>
#include <cstring>
#include <type_traits>
#include <vector>

#include "cake/tensor/functors.h"
#include "cake/tensor/native/elementwise.h"
#include "cake/tensor/native/reduce.h"
#include "cake/tensor/native/view.h"
#include "cake/tensor/parallel.h"

namespace cake::cpu {
namespace {

using native::ReduceOp;

// R is the row's functor (tensor/functors.h, ops::reduce): R::identity<T>() starts the fold and
// R{}(acc, x) extends it. Sums take the pairwise path instead (NOTE [ Pairwise summation ]).
template <class R>
constexpr bool is_sum = std::is_same_v<R, ops::reduce::Sum>;

template <class T>
T pairwise_sum(const T* x, std::int64_t n) {
  if (n <= 128) {
    T acc[8] = {};
    std::int64_t i = 0;
    for (; i + 8 <= n; i += 8)
      for (int k = 0; k < 8; ++k) acc[k] += x[i + k];
    T tail = T(0);
    for (; i < n; ++i) tail += x[i];
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7])) + tail;
  }
  const std::int64_t half = n / 2 / 8 * 8;
  return pairwise_sum(x, half) + pairwise_sum(x + half, n - half);
}

template <class R, class T>
T reduce_run(const T* x, std::int64_t n) {
  if constexpr (is_sum<R>) return pairwise_sum(x, n);
  T acc = R::template identity<T>();
  for (std::int64_t i = 0; i < n; ++i) acc = R{}(acc, x[i]);
  return acc;
}

// out[j] = reduce over `rows` rows of x[r * inner + j], for j in [lo, hi).
template <class R, class T>
void reduce_columns(const T* x, std::int64_t rows, std::int64_t inner, std::int64_t lo, std::int64_t hi, T* out) {
  const std::int64_t width = hi - lo;
  std::fill(out + lo, out + hi, R::template identity<T>());
  if constexpr (!is_sum<R>) {
    for (std::int64_t row = 0; row < rows; ++row) {
      const T* src = x + row * inner;
      for (std::int64_t j = lo; j < hi; ++j) out[j] = R{}(out[j], src[j]);
    }
  } else {
    std::vector<T> block(static_cast<std::size_t>(width));
    for (std::int64_t start = 0; start < rows; start += 128) {
      std::fill(block.begin(), block.end(), T(0));
      const std::int64_t stop = std::min(rows, start + 128);
      for (std::int64_t row = start; row < stop; ++row) {
        const T* src = x + row * inner + lo;
        T* b = block.data();
#pragma GCC ivdep
        for (std::int64_t j = 0; j < width; ++j) b[j] += src[j];
      }
      for (std::int64_t j = 0; j < width; ++j) out[lo + j] += block[static_cast<std::size_t>(j)];
    }
  }
}

// Brings x to a contiguous [outer, R, inner] layout; returns the (possibly copied) tensor.
Tensor canonical_layout(const Tensor& x, const Shape& dims, std::int64_t& outer, std::int64_t& R,
                        std::int64_t& inner) {
  const std::int64_t n = x.dim();
  const bool adjacent = dims.empty() || dims.back() - dims.front() + 1 == static_cast<std::int64_t>(dims.size());
  Tensor src = x;
  Shape order;
  if (!(adjacent && x.is_contiguous())) {
    // Kept dims first, reduced dims last, then one contiguous copy.
    for (std::int64_t d = 0; d < n; ++d)
      if (!std::binary_search(dims.begin(), dims.end(), d)) order.push_back(d);
    for (std::int64_t d : dims) order.push_back(d);
    src = native::contiguous(native::permute(x, order));
    outer = 1;
    for (std::size_t i = 0; i < order.size() - dims.size(); ++i) outer *= x.sizes()[order[i]];
    R = 1;
    for (std::int64_t d : dims) R *= x.sizes()[d];
    inner = 1;
    return src;
  }
  outer = 1, R = 1, inner = 1;
  for (std::int64_t d = 0; d < n; ++d) {
    if (!dims.empty() && d < dims.front()) outer *= x.sizes()[d];
    else if (!dims.empty() && d <= dims.back()) R *= x.sizes()[d];
    else inner *= x.sizes()[d];
  }
  if (dims.empty()) R = 1;
  return src;
}

template <class R>
void reduce_with(const Tensor& x, const Shape& dims, const Tensor& out) {
  visit_dtype(x.dtype(), [&]<class T>() {
    if constexpr (std::is_same_v<T, bool>) {
      CAKE_FAIL("reduce: bool tensors are reduced as int64");
    } else {
      std::int64_t outer, rows, inner;  // rows is R in the layout [outer, R, inner] above
      const Tensor src = canonical_layout(x, dims, outer, rows, inner);
      const T* in = src.data_ptr<T>();
      // `out` is fresh and contiguous, laid out as [outer, inner].
      T* o = out.data_ptr<T>();
      if (inner == 1) {
        parallel_for(0, outer, std::max<std::int64_t>(1, 32768 / std::max<std::int64_t>(rows, 1)),
                     [&](std::int64_t lo, std::int64_t hi) {
                       for (std::int64_t i = lo; i < hi; ++i) o[i] = reduce_run<R>(in + i * rows, rows);
                     });
        return;
      }
      // Parallel over outer rows, and over column chunks when there are few outer rows.
      const std::int64_t chunk = outer >= 4 ? inner : std::max<std::int64_t>(256, inner / 8);
      const std::int64_t chunks_per_row = (inner + chunk - 1) / chunk;
      parallel_for(0, outer * chunks_per_row, 1, [&](std::int64_t lo, std::int64_t hi) {
        for (std::int64_t t = lo; t < hi; ++t) {
          const std::int64_t row = t / chunks_per_row, c = t % chunks_per_row;
          const std::int64_t j0 = c * chunk, j1 = std::min(inner, j0 + chunk);
          reduce_columns<R>(in + row * rows * inner, rows, inner, j0, j1, o + row * inner);
        }
      });
    }
  });
}

// One case per row of CAKE_REDUCE_OPS (native/op_tables.h), generated.
void reduce_kernel(ReduceOp op, const Tensor& x, const Shape& dims, const Tensor& out) {
  switch (op) {
#define CAKE_REDUCE_CASE(op_, ...) \
  case ReduceOp::op_: return reduce_with<ops::reduce::op_>(x, dims, out);
    CAKE_REDUCE_OPS(CAKE_REDUCE_CASE)
#undef CAKE_REDUCE_CASE
  }
}

void arg_reduce_kernel(bool is_max, const Tensor& x, std::int64_t dim, const Tensor& values, const Tensor& indices) {
  // Move `dim` last and make rows contiguous; then scan each row. The first extreme wins, and
  // NaN counts as the extreme (as in PyTorch).
  const Tensor src = native::contiguous(native::transpose(x, dim, -1));
  const std::int64_t n = x.sizes()[dim];
  const std::int64_t rows = n ? src.numel() / n : 0;
  // values/indices have x's shape with dim = 1; write through the same transposed order.
  Tensor vals_t = native::transpose(values, dim, -1), idx_t = native::transpose(indices, dim, -1);
  Tensor vals = make_empty(vals_t.sizes(), values.dtype(), kCPU), idx = make_empty(idx_t.sizes(), kInt64, kCPU);
  visit_dtype(x.dtype(), [&]<class T>() {
    const T* in = src.data_ptr<T>();
    T* v = vals.data_ptr<T>();
    std::int64_t* ix = idx.data_ptr<std::int64_t>();
    parallel_for(0, rows, std::max<std::int64_t>(1, 32768 / std::max<std::int64_t>(n, 1)),
                 [&](std::int64_t lo, std::int64_t hi) {
                   for (std::int64_t row = lo; row < hi; ++row) {
                     const T* p = in + row * n;
                     std::int64_t best = 0;
                     for (std::int64_t i = 1; i < n; ++i) {
                       if (p[best] != p[best]) break;  // NaN already found
                       const bool better = is_max ? (p[i] > p[best]) : (p[i] < p[best]);
                       if (better || p[i] != p[i]) best = i;
                     }
                     v[row] = p[best];
                     ix[row] = best;
                   }
                 });
  });
  native::copy_(vals_t, vals);
  native::copy_(idx_t, idx);
}

}  // namespace

CAKE_REGISTER_KERNEL(native::reduce_stub, DeviceType::CPU, &reduce_kernel);
CAKE_REGISTER_KERNEL(native::arg_reduce_stub, DeviceType::CPU, &arg_reduce_kernel);

}  // namespace cake::cpu
