// cpu/indexing_kernels.cpp: gather, scatter_add, scatter, masked select/scatter, sort, topk, cumsum,
// unique and bincount on the CPU.
//
// Gather and scatter_add walk their operands with the restriding trick of PyTorch's
// TensorIterator: the indexed tensor is viewed with the *index's* sizes and stride 0 along
// `dim`, so that position p of the view is the start of the line along dim that p indexes
// into; the kernel then adds index[p] * stride(dim). Every operand now has the same sizes and
// one loop (IndexLoop below) serves any strides, with no copies. index_select and index_add
// arrive here as gather and scatter_add with an index of zero strides (see NOTE [ Gather and
// scatter are the two index primitives ] in native/indexing.h).
//
// The naive reference for every kernel here is in tests/tensor/test_indexing.cpp.
#include "cake/tensor/cpu/vector_math.h"  // first: exp, log, tanh, ... eight or sixteen at a time

#include <algorithm>
#include <atomic>
#include <cmath>
#include <numeric>
#include <type_traits>
#include <vector>

#include "cake/tensor/cpu/loops.h"
#include "cake/tensor/functors.h"
#include "cake/tensor/native/elementwise.h"
#include "cake/tensor/native/indexing.h"
#include "cake/tensor/native/view.h"
#include "cake/tensor/parallel.h"

namespace cake::cpu {
namespace {

// ---- the index loop ---------------------------------------------------------------------------

// NOTE [ Index loops ]
// N operands of the same sizes, walked like the elementwise loop (size-1 dims dropped,
// neighbouring dims merged when every operand steps evenly across them, strides in bytes,
// innermost axis first), cut into tasks for parallel_for. One rule is added for scatter: all
// positions that differ only along `dim` belong to the same task, and a task visits them in
// order. Two tasks then never write the same element of scatter_add's output (its element is
// fixed by every coordinate but dim), so tasks run in parallel without atomics, and duplicate
// indices accumulate in a fixed order: the result does not depend on the thread count.
//
// A task is one position of the axes other than the innermost and dim's, with a chunk of the
// innermost axis (chunked only when there are too few positions to keep threads busy, and never
// when the innermost axis is dim itself). Its work comes as runs along the innermost axis:
// run(task, pointers, byte steps, length), once per step along dim when dim is an outer axis.
template <int N>
struct IndexLoop {
  using Pointers = std::array<char*, N>;
  using Steps = std::array<std::int64_t, N>;

  int ndim = 0;
  std::array<std::int64_t, kMaxLoopDims> sizes{};
  std::array<std::array<std::int64_t, kMaxLoopDims>, N> strides{};  // bytes
  Pointers data{};
  int dim_axis = -1;          // the axis of `dim`; -1 when none was given or it has size 1
  std::int64_t chunk = 1;     // elements of the innermost axis per task
  std::int64_t chunks = 1;    // tasks per position of the other axes
  std::int64_t positions = 1; // positions of the axes other than the innermost and dim's

  std::int64_t tasks() const { return positions * chunks; }
  std::int64_t work_per_task() const { return chunk * (dim_axis > 0 ? sizes[dim_axis] : 1); }
  std::int64_t grain() const {
    return std::max<std::int64_t>(1, kParallelGrain / std::max<std::int64_t>(1, work_per_task()));
  }

  template <class Run>
  void run_tasks(std::int64_t begin, std::int64_t end, Run& run) const {
    std::array<std::int64_t, kMaxLoopDims> index{};  // odometer over the other axes
    std::int64_t c = begin % chunks, rest = begin / chunks;
    for (int a = 1; a < ndim; ++a) {
      if (a == dim_axis) continue;
      index[a] = rest % sizes[a];
      rest /= sizes[a];
    }
    Steps step;
    for (int k = 0; k < N; ++k) step[k] = strides[k][0];
    for (std::int64_t t = begin; t < end; ++t) {
      Pointers ptr = data;
      for (int a = 1; a < ndim; ++a)
        for (int k = 0; k < N; ++k) ptr[k] += index[a] * strides[k][a];  // index[dim_axis] stays 0
      const std::int64_t lo = c * chunk, length = std::min(chunk, sizes[0] - lo);
      for (int k = 0; k < N; ++k) ptr[k] += lo * step[k];
      if (dim_axis > 0) {
        for (std::int64_t j = 0; j < sizes[dim_axis]; ++j) {
          run(t, ptr, step, length);
          for (int k = 0; k < N; ++k) ptr[k] += strides[k][dim_axis];
        }
      } else {
        run(t, ptr, step, length);
      }
      if (++c == chunks) {
        c = 0;
        for (int a = 1; a < ndim; ++a) {
          if (a == dim_axis) continue;
          if (++index[a] < sizes[a]) break;
          index[a] = 0;
        }
      }
    }
  }

  template <class Run>
  void parallel_run(Run run) const {
    parallel_for(0, tasks(), grain(), [&](std::int64_t lo, std::int64_t hi) { run_tasks(lo, hi, run); });
  }
};

// `dim` = -1: no ordering constraint (gather, masked ops), tasks come in row-major order.
template <int N>
IndexLoop<N> make_index_loop(const std::array<const Tensor*, N>& operands, std::int64_t dim) {
  const Tensor& first = *operands[0];
  const int ndim = static_cast<int>(first.dim());
  CAKE_CHECK(ndim <= kMaxLoopDims, "index loop: at most ", kMaxLoopDims, " dimensions, got ", ndim);
  IndexLoop<N> g;
  for (int k = 0; k < N; ++k) g.data[k] = static_cast<char*>(operands[k]->raw_data());
  for (int d = ndim - 1; d >= 0; --d) {
    const std::int64_t size = first.sizes()[d];
    if (size == 1) continue;
    const bool is_dim = d == dim;
    const int last = g.ndim - 1;
    bool merge = g.ndim > 0 && !is_dim && last != g.dim_axis;
    for (int k = 0; merge && k < N; ++k) {
      const std::int64_t stride = operands[k]->strides()[d] * static_cast<std::int64_t>(operands[k]->element_size());
      merge = stride == g.strides[k][last] * g.sizes[last];
    }
    if (merge) {
      g.sizes[last] *= size;
      continue;
    }
    const int axis = g.ndim++;
    g.sizes[axis] = size;
    for (int k = 0; k < N; ++k)
      g.strides[k][axis] = operands[k]->strides()[d] * static_cast<std::int64_t>(operands[k]->element_size());
    if (is_dim) g.dim_axis = axis;
  }
  if (g.ndim == 0) {  // a single element
    g.ndim = 1;
    g.sizes[0] = 1;
  }
  for (int a = 1; a < g.ndim; ++a)
    if (a != g.dim_axis) g.positions *= g.sizes[a];
  // Enough tasks for every thread: split the innermost axis when positions are few.
  const std::int64_t wanted = 8 * static_cast<std::int64_t>(get_num_threads());
  g.chunk = g.sizes[0];
  if (g.dim_axis != 0 && g.positions < wanted) {
    const std::int64_t per_position = (wanted + g.positions - 1) / g.positions;
    const std::int64_t smallest = std::min<std::int64_t>(256, g.sizes[0]);  // keep runs worth a call
    g.chunk = std::clamp<std::int64_t>((g.sizes[0] + per_position - 1) / per_position, smallest, g.sizes[0]);
  }
  g.chunks = (g.sizes[0] + g.chunk - 1) / g.chunk;
  return g;
}

template <class T>
inline T& at(char* p, std::int64_t byte_offset) {
  return *reinterpret_cast<T*>(p + byte_offset);
}

// x seen with `sizes` and stride 0 along dim: the start of the line along dim at each position.
Tensor line_starts(const Tensor& x, std::int64_t dim, const Shape& sizes) {
  Shape strides = x.strides();
  strides[static_cast<std::size_t>(dim)] = 0;
  return native::as_strided(x, sizes, strides, x.storage_offset());
}

// ---- gather and scatter_add -------------------------------------------------------------------

// NOTE [ Checking indices inside the kernel ]
// Each index is compared with the dimension's size as it is read (one unsigned compare: a
// negative value wraps to a huge one), so validation needs no pass of its own. A bad index
// cannot throw there (an exception must not leave an OpenMP region): the run stops, a flag is
// raised, and after the loop the index is scanned once more, serially, so the error names the
// first bad value in row-major order whatever the thread count.
inline bool in_range(std::int64_t i, std::int64_t size) {
  return static_cast<std::uint64_t>(i) < static_cast<std::uint64_t>(size);
}

[[noreturn]] void report_bad_index(const Tensor& index, std::int64_t dim, std::int64_t size) {
  const Tensor flat = native::contiguous(index);
  const std::int64_t* v = flat.data_ptr<std::int64_t>();
  const std::int64_t* bad = std::find_if(v, v + flat.numel(), [size](std::int64_t i) { return !in_range(i, size); });
  CAKE_FAIL("index ", bad == v + flat.numel() ? -1 : *bad, " is out of range for dimension ", dim, " of size ", size);
}

// out[p] = x[p with coordinate dim = index[p]].
void gather_kernel(const Tensor& x, std::int64_t dim, const Tensor& index, const Tensor& out) {
  const std::int64_t size = x.sizes()[dim];
  if (size == 0) report_bad_index(index, dim, size);  // nothing to read: every index is bad
  const Tensor x_lines = line_starts(x, dim, out.sizes());
  const std::int64_t dim_step = x.strides()[dim] * static_cast<std::int64_t>(x.element_size());
  const auto loop = make_index_loop<3>({&out, &x_lines, &index}, -1);
  std::atomic<bool> failed{false};
  visit_dtype(x.dtype(), [&]<class T>() {
    loop.parallel_run([&](std::int64_t, const std::array<char*, 3>& p, const std::array<std::int64_t, 3>& s,
                          std::int64_t n) {
      if (s[2] == 0) {  // one index for the whole run (index_select): copy one slice
        const std::int64_t i = at<std::int64_t>(p[2], 0);
        if (!in_range(i, size)) [[unlikely]] {
          failed.store(true, std::memory_order_relaxed);
          return;
        }
        const char* src = p[1] + i * dim_step;
        if (s[0] == sizeof(T) && s[1] == sizeof(T)) {
          T* d = reinterpret_cast<T*>(p[0]);
          const T* v = reinterpret_cast<const T*>(src);
#pragma GCC ivdep
          for (std::int64_t r = 0; r < n; ++r) d[r] = v[r];
        } else {
          for (std::int64_t r = 0; r < n; ++r) at<T>(p[0], r * s[0]) = *reinterpret_cast<const T*>(src + r * s[1]);
        }
        return;
      }
      for (std::int64_t r = 0; r < n; ++r) {
        const std::int64_t i = at<std::int64_t>(p[2], r * s[2]);
        if (!in_range(i, size)) [[unlikely]] {
          failed.store(true, std::memory_order_relaxed);
          return;
        }
        at<T>(p[0], r * s[0]) = at<T>(p[1], r * s[1] + i * dim_step);
      }
    });
  });
  if (failed.load()) report_bad_index(index, dim, size);
}

// out[p with coordinate dim = index[p]] = combine(that element, src[p]) for every position p
// of src: scatter_add's combine adds, scatter's replaces. See NOTE [ Index loops ] for why tasks
// never race, and why duplicate indices are met in a fixed order (for scatter: the last one
// along dim wins, whatever the thread count).
template <class T, class Combine>
void scatter_into(const Tensor& out, std::int64_t dim, const Tensor& index, const Tensor& src, Combine combine) {
  const std::int64_t size = out.sizes()[dim];
  if (size == 0) report_bad_index(index, dim, size);
  const Tensor out_lines = line_starts(out, dim, src.sizes());
  const std::int64_t dim_step = out.strides()[dim] * static_cast<std::int64_t>(out.element_size());
  const auto loop = make_index_loop<3>({&out_lines, &src, &index}, dim);
  std::atomic<bool> failed{false};
  loop.parallel_run([&](std::int64_t, const std::array<char*, 3>& p, const std::array<std::int64_t, 3>& s,
                        std::int64_t n) {
    if (s[2] == 0) {  // one index for the whole run (index_add): into one slice
      const std::int64_t i = at<std::int64_t>(p[2], 0);
      if (!in_range(i, size)) [[unlikely]] {
        failed.store(true, std::memory_order_relaxed);
        return;
      }
      char* dst = p[0] + i * dim_step;
      if (s[0] == sizeof(T) && s[1] == sizeof(T)) {
        T* d = reinterpret_cast<T*>(dst);
        const T* v = reinterpret_cast<const T*>(p[1]);
#pragma GCC ivdep
        for (std::int64_t r = 0; r < n; ++r) d[r] = combine(d[r], v[r]);
      } else {
        for (std::int64_t r = 0; r < n; ++r) at<T>(dst, r * s[0]) = combine(at<T>(dst, r * s[0]), at<T>(p[1], r * s[1]));
      }
      return;
    }
    for (std::int64_t r = 0; r < n; ++r) {
      const std::int64_t i = at<std::int64_t>(p[2], r * s[2]);
      if (!in_range(i, size)) [[unlikely]] {
        failed.store(true, std::memory_order_relaxed);
        return;
      }
      T& target = at<T>(p[0], r * s[0] + i * dim_step);
      target = combine(target, at<T>(p[1], r * s[1]));
    }
  });
  if (failed.load()) report_bad_index(index, dim, size);
}

// out[p with coordinate dim = index[p]] += alpha * src[p].
void scatter_add_kernel(const Tensor& out, std::int64_t dim, const Tensor& index, const Tensor& src, Scalar alpha) {
  visit_dtype(out.dtype(), [&]<class T>() {
    if constexpr (std::is_same_v<T, bool>) {
      CAKE_FAIL("scatter_add: cannot add into a bool tensor");
    } else {
      const T a = alpha.to<T>();
      scatter_into<T>(out, dim, index, src, [a](T target, T v) { return static_cast<T>(target + a * v); });
    }
  });
}

// Whether v is NaN; never for integers and bool (scatter's amax / amin, the sort's NaN order).
template <class T>
bool is_nan(T v) {
  if constexpr (std::is_floating_point_v<T>) return std::isnan(v);
  else return false;
}

// out[p with coordinate dim = index[p]] = src[p], or reduced with it. amax / amin let a NaN win
// from either side, as PyTorch's (and as max over a tensor): once the element is NaN, no
// comparison replaces it; a NaN from src replaces anything.
void scatter_kernel(const Tensor& out, std::int64_t dim, const Tensor& index, const Tensor& src,
                    native::ScatterReduce reduce) {
  visit_dtype(out.dtype(), [&]<class T>() {
    switch (reduce) {
      case native::ScatterReduce::None:
        return scatter_into<T>(out, dim, index, src, [](T, T v) { return v; });
      case native::ScatterReduce::Prod:
        return scatter_into<T>(out, dim, index, src, [](T t, T v) { return static_cast<T>(t * v); });
      case native::ScatterReduce::Amax:
        return scatter_into<T>(out, dim, index, src, [](T t, T v) { return t < v || is_nan(v) ? v : t; });
      case native::ScatterReduce::Amin:
        return scatter_into<T>(out, dim, index, src, [](T t, T v) { return v < t || is_nan(v) ? v : t; });
    }
  });
}

// ---- masked select and scatter ------------------------------------------------------------------

// Where each task's selected elements start in the output: a count per task, then a prefix
// sum. Tasks are in row-major order (the loop has no dim), so this is the row-major order.
std::vector<std::int64_t> mask_offsets(const IndexLoop<2>& loop) {
  std::vector<std::int64_t> offsets(static_cast<std::size_t>(loop.tasks() + 1), 0);
  loop.parallel_run([&](std::int64_t t, const std::array<char*, 2>& p, const std::array<std::int64_t, 2>& s,
                        std::int64_t n) {
    std::int64_t count = 0;
    for (std::int64_t r = 0; r < n; ++r) count += static_cast<std::int64_t>(at<bool>(p[1], r * s[1]));
    offsets[static_cast<std::size_t>(t) + 1] = count;
  });
  std::partial_sum(offsets.begin(), offsets.end(), offsets.begin());
  return offsets;
}

Tensor masked_select_kernel(const Tensor& x, const Tensor& mask) {
  if (x.numel() == 0) return make_empty({0}, x.dtype(), kCPU);
  const auto loop = make_index_loop<2>({&x, &mask}, -1);
  const std::vector<std::int64_t> offsets = mask_offsets(loop);
  Tensor out = make_empty({offsets.back()}, x.dtype(), kCPU);
  visit_dtype(x.dtype(), [&]<class T>() {
    T* o = out.data_ptr<T>();
    loop.parallel_run([&](std::int64_t t, const std::array<char*, 2>& p, const std::array<std::int64_t, 2>& s,
                          std::int64_t n) {
      // Branch-free compaction (a random mask defeats the branch predictor): every element is
      // written at dst, which advances only past selected ones. dst stays inside this task's
      // slice of the output because the loop ends once the task's last selected element is in.
      T* dst = o + offsets[static_cast<std::size_t>(t)];
      T* const end = o + offsets[static_cast<std::size_t>(t) + 1];
      for (std::int64_t r = 0; r < n && dst != end; ++r) {
        *dst = at<T>(p[0], r * s[0]);
        dst += static_cast<std::ptrdiff_t>(at<bool>(p[1], r * s[1]));
      }
    });
  });
  return out;
}

void masked_scatter_kernel(const Tensor& out, const Tensor& mask, const Tensor& src) {
  const auto loop = make_index_loop<2>({&out, &mask}, -1);
  const std::vector<std::int64_t> offsets = mask_offsets(loop);
  visit_dtype(out.dtype(), [&]<class T>() {
    const T* from = src.data_ptr<T>();
    loop.parallel_run([&](std::int64_t t, const std::array<char*, 2>& p, const std::array<std::int64_t, 2>& s,
                          std::int64_t n) {
      const T* next = from + offsets[static_cast<std::size_t>(t)];
      const T* const end = from + offsets[static_cast<std::size_t>(t) + 1];
      for (std::int64_t r = 0; r < n && next != end; ++r) {  // branch-free, as in masked_select
        const bool take = at<bool>(p[1], r * s[1]);
        T& target = at<T>(p[0], r * s[0]);
        target = take ? *next : target;
        next += static_cast<std::ptrdiff_t>(take);
      }
    });
  });
}

// ---- rows along a dimension (sort, topk) --------------------------------------------------------

// The 1-D rows of a tensor along `dim`: row r starts at element offset(r) and steps by `stride`.
struct Rows {
  Shape outer_sizes, outer_strides;  // the other dims
  std::int64_t base = 0, count = 1, length = 0, stride = 0;

  Rows(const Tensor& t, std::int64_t dim)
      : base(t.storage_offset()), length(t.sizes()[dim]), stride(t.strides()[dim]) {
    for (std::int64_t d = 0; d < t.dim(); ++d) {
      if (d == dim) continue;
      outer_sizes.push_back(t.sizes()[d]);
      outer_strides.push_back(t.strides()[d]);
      count *= t.sizes()[d];
    }
  }
  std::int64_t offset(std::int64_t row) const {
    std::int64_t off = base;
    for (std::size_t d = outer_sizes.size(); d-- > 0;) {
      off += (row % outer_sizes[d]) * outer_strides[d];
      row /= outer_sizes[d];
    }
    return off;
  }
};

// NOTE [ Sorting rows ]
// A row is copied into a buffer of (value, position) pairs and sorted there. Three details:
//   * Ordering by value and then by position is a total order among numbers, so std::sort
//     gives exactly the stable sort's result, without std::stable_sort's buffer per call.
//   * That order is reached in two steps: std::sort by value alone (one compare per step, the
//     fast part), then each run of equal values is put in position order (runs are short, and
//     a row of distinct values needs just one scan).
//   * NaN sorts after every number (as in PyTorch), but with NaN, `<` is no order at all. So
//     NaNs are set apart while the row is copied (at the end for ascending order, at the start
//     for descending, in position order) and only the numbers are sorted.
template <class T>
using Keyed = std::pair<T, std::int64_t>;

template <class It>
void sort_by_value_then_position(It begin, It end, bool descending) {
  using Entry = typename std::iterator_traits<It>::value_type;
  if (descending) std::sort(begin, end, [](const Entry& a, const Entry& b) { return b.first < a.first; });
  else std::sort(begin, end, [](const Entry& a, const Entry& b) { return a.first < b.first; });
  for (It run = begin; run != end;) {
    It next = run + 1;
    while (next != end && next->first == run->first) ++next;
    if (next - run > 1) std::sort(run, next, [](const Entry& a, const Entry& b) { return a.second < b.second; });
    run = next;
  }
}

template <class T>
struct ByValue {  // then by position
  bool descending;
  bool operator()(const Keyed<T>& a, const Keyed<T>& b) const {
    if (a.first != b.first) return descending ? b.first < a.first : a.first < b.first;
    return a.second < b.second;
  }
};

// Copies the row p[0], p[stride], ... into `row`, NaNs last (or first) in position order;
// returns the [begin, end) range of the numbers.
template <class T>
std::pair<std::size_t, std::size_t> fill_row(std::vector<Keyed<T>>& row, const T* p, std::int64_t stride,
                                             bool nans_last) {
  const std::size_t n = row.size();
  std::size_t numbers = 0, nans = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const T v = p[static_cast<std::int64_t>(i) * stride];
    const Keyed<T> entry{v, static_cast<std::int64_t>(i)};
    // NaNs fill from one end in position order, numbers from the other (their order is free).
    if (is_nan(v)) (nans_last ? row[n - 1 - nans++] : row[nans++]) = entry;
    else (nans_last ? row[numbers++] : row[n - 1 - numbers++]) = entry;
  }
  if (nans_last) {
    std::reverse(row.begin() + static_cast<std::ptrdiff_t>(numbers), row.end());  // back to position order
    return {0, numbers};
  }
  return {nans, n};
}

// Rows per thread chunk: sorting a row costs several passes over it, hence a quarter of the
// elementwise grain.
std::int64_t row_grain(std::int64_t length) {
  return std::max<std::int64_t>(1, kParallelGrain / 4 / std::max<std::int64_t>(1, length));
}

// The loop sort, topk and kthvalue share. For each row along `dim` of x: copy it into a buffer
// of the thread's (fill_row: NaNs last when `nans_last`, else first), let `arrange(row, numbers)`
// order it (`numbers`: the [begin, end) of the non-NaN entries) and return the [from, from +
// count) of entries to keep, and write those (value, position) pairs to the row's place in
// values / indices.
template <class Arrange>
void arrange_rows(const Tensor& x, std::int64_t dim, bool nans_last, const Tensor& values, const Tensor& indices,
                  const Arrange& arrange) {
  const Rows in(x, dim), vals(values, dim), idx(indices, dim);
  visit_dtype(x.dtype(), [&]<class T>() {
    const T* src = static_cast<const T*>(x.storage()->data);
    T* v = static_cast<T*>(values.storage()->data);
    std::int64_t* ix = static_cast<std::int64_t*>(indices.storage()->data);
    parallel_for(0, in.count, row_grain(in.length), [&](std::int64_t lo, std::int64_t hi) {
      std::vector<Keyed<T>> row(static_cast<std::size_t>(in.length));  // one buffer per thread
      for (std::int64_t r = lo; r < hi; ++r) {
        const auto [from, count] = arrange(row, fill_row(row, src + in.offset(r), in.stride, nans_last));
        T* pv = v + vals.offset(r);
        std::int64_t* pi = ix + idx.offset(r);
        for (std::size_t i = 0; i < count; ++i) {
          pv[static_cast<std::int64_t>(i) * vals.stride] = row[from + i].first;
          pi[static_cast<std::int64_t>(i) * idx.stride] = row[from + i].second;
        }
      }
    });
  });
}

// The element type of a row buffer, for the comparators.
template <class Row>
using EntryValue = typename Row::value_type::first_type;

using Span = std::pair<std::size_t, std::size_t>;  // [from, from + count) of a row buffer

void sort_kernel(const Tensor& x, std::int64_t dim, bool descending, const Tensor& values, const Tensor& indices) {
  arrange_rows(x, dim, !descending, values, indices, [&](auto& row, Span numbers) {
    sort_by_value_then_position(row.begin() + static_cast<std::ptrdiff_t>(numbers.first),
                                row.begin() + static_cast<std::ptrdiff_t>(numbers.second), descending);
    return Span{0, row.size()};
  });
}

// The row is laid out best first (NaN counts as the largest), so the k best are its first k:
// partial_sort finds them in O(n log k). Without `sorted`, nth_element finds them in O(n) and
// they are put back in row order (a deterministic answer).
void topk_kernel(const Tensor& x, std::int64_t k, std::int64_t dim, bool largest, bool sorted, const Tensor& values,
                 const Tensor& indices) {
  arrange_rows(x, dim, !largest, values, indices, [&](auto& row, Span numbers) {
    using T = EntryValue<std::decay_t<decltype(row)>>;
    // The numbers still needed after the NaNs in front (largest) fill the first k.
    const auto begin = row.begin() + static_cast<std::ptrdiff_t>(numbers.first);
    const auto end = row.begin() + static_cast<std::ptrdiff_t>(numbers.second);
    const auto kth = row.begin() + std::clamp<std::ptrdiff_t>(k, static_cast<std::ptrdiff_t>(numbers.first),
                                                              static_cast<std::ptrdiff_t>(numbers.second));
    if (sorted) {
      std::partial_sort(begin, kth, end, ByValue<T>{largest});
    } else {
      std::nth_element(begin, kth, end, ByValue<T>{largest});
      std::sort(row.begin(), row.begin() + k, [](const Keyed<T>& a, const Keyed<T>& b) { return a.second < b.second; });
    }
    return Span{0, static_cast<std::size_t>(k)};
  });
}

// The row is laid out numbers first, then its NaNs in position order (fill_row); nth_element
// puts the element of rank k among the numbers in place in O(n), by value then position, so
// the answer is the stable sort's without sorting the row.
void kthvalue_kernel(const Tensor& x, std::int64_t dim, native::KthRank rank, std::int64_t k, const Tensor& values,
                     const Tensor& indices) {
  arrange_rows(x, dim, /*nans_last=*/true, values, indices, [&](auto& row, Span numbers_span) {
    using T = EntryValue<std::decay_t<decltype(row)>>;
    const auto numbers = static_cast<std::ptrdiff_t>(numbers_span.second);
    std::ptrdiff_t at = static_cast<std::ptrdiff_t>(k);
    if (rank == native::KthRank::MiddleOfNumbers) at = numbers > 0 ? (numbers - 1) / 2 : 0;
    if (at < numbers) std::nth_element(row.begin(), row.begin() + at, row.begin() + numbers, ByValue<T>{false});
    return Span{static_cast<std::size_t>(at), 1};
  });
}

// ---- cumsum -------------------------------------------------------------------------------------

// On the contiguous layout [outer, n, inner]: with inner == 1 each row is one sequential scan;
// otherwise row j of each block adds to a running row (a vectorised row-add), like the column
// reductions. float32 accumulates in double, as PyTorch's CPU cumsum.
void cumsum_kernel(const Tensor& x, std::int64_t dim, bool reverse, const Tensor& out) {
  const Tensor src = native::contiguous(x);
  std::int64_t outer = 1, inner = 1;
  for (std::int64_t d = 0; d < x.dim(); ++d) {
    if (d < dim) outer *= x.sizes()[d];
    if (d > dim) inner *= x.sizes()[d];
  }
  const std::int64_t n = x.sizes()[dim];
  visit_dtype(x.dtype(), [&]<class T>() {
    if constexpr (std::is_same_v<T, bool> || std::is_same_v<T, std::uint8_t>) {
      CAKE_FAIL("cumsum: integer inputs are summed as int64");
    } else {
      using Acc = std::conditional_t<std::is_same_v<T, float>, double, T>;
      const T* in = src.data_ptr<T>();
      T* o = out.data_ptr<T>();
      // Visits j = 0..n-1, or n-1..0 when reversed.
      auto position = [&](std::int64_t step) { return reverse ? n - 1 - step : step; };
      if (inner == 1) {
        parallel_for(0, outer, row_grain(n), [&](std::int64_t lo, std::int64_t hi) {
          for (std::int64_t row = lo; row < hi; ++row) {
            Acc acc = Acc(0);
            for (std::int64_t step = 0; step < n; ++step) {
              const std::int64_t j = row * n + position(step);
              acc += static_cast<Acc>(in[j]);
              o[j] = static_cast<T>(acc);
            }
          }
        });
        return;
      }
      const std::int64_t chunk = outer >= 8 ? inner : std::min<std::int64_t>(inner, std::max<std::int64_t>(256, inner / 8));
      const std::int64_t chunks_per_block = (inner + chunk - 1) / chunk;
      parallel_for(0, outer * chunks_per_block, std::max<std::int64_t>(1, kParallelGrain / (n * chunk)),
                   [&](std::int64_t lo, std::int64_t hi) {
                     std::vector<Acc> acc(static_cast<std::size_t>(chunk));
                     for (std::int64_t t = lo; t < hi; ++t) {
                       const std::int64_t block = t / chunks_per_block;
                       const std::int64_t c0 = (t % chunks_per_block) * chunk;
                       const std::int64_t width = std::min(chunk, inner - c0);
                       std::fill(acc.begin(), acc.end(), Acc(0));
                       for (std::int64_t step = 0; step < n; ++step) {
                         const std::int64_t start = (block * n + position(step)) * inner + c0;
                         for (std::int64_t c = 0; c < width; ++c) {
                           acc[static_cast<std::size_t>(c)] += static_cast<Acc>(in[start + c]);
                           o[start + c] = static_cast<T>(acc[static_cast<std::size_t>(c)]);
                         }
                       }
                     }
                   });
    }
  });
}

// ---- unique and bincount -----------------------------------------------------------------------

// Sorted distinct values: sort (value, position) pairs (NaNs set apart at the end, see NOTE
// [ Sorting rows ]), then one pass where a new value starts a group. Each NaN is its own group
// (NaN != NaN), as in PyTorch. Without inverse, the values alone are sorted (half the bytes).
void unique_kernel(const Tensor& x, bool want_inverse, bool want_counts, Tensor& values, Tensor& inverse,
                   Tensor& counts) {
  const Tensor flat = native::contiguous(x);
  const std::int64_t n = flat.numel();
  visit_dtype(x.dtype(), [&]<class T>() {
    const T* in = flat.data_ptr<T>();
    std::vector<T> distinct;
    std::vector<std::int64_t> group_sizes;
    auto add = [&](T value) {  // returns the group of `value`, which comes in sorted order
      if (distinct.empty() || !(distinct.back() == value)) {
        distinct.push_back(value);
        group_sizes.push_back(0);
      }
      ++group_sizes.back();
      return static_cast<std::int64_t>(distinct.size()) - 1;
    };
    if constexpr (!std::is_same_v<T, bool>) {  // (std::vector<bool> packs bits: take the other path)
      if (!want_inverse) {
        std::vector<T> sorted(in, in + n);
        const auto nans = std::partition(sorted.begin(), sorted.end(), [](T v) { return !is_nan(v); });
        std::sort(sorted.begin(), nans);
        for (T value : sorted) add(value);
      }
    }
    if (want_inverse || std::is_same_v<T, bool>) {
      std::vector<Keyed<T>> sorted(static_cast<std::size_t>(n));
      const auto [first, last] = fill_row(sorted, in, 1, true);
      std::sort(sorted.begin() + static_cast<std::ptrdiff_t>(first), sorted.begin() + static_cast<std::ptrdiff_t>(last),
                [](const Keyed<T>& a, const Keyed<T>& b) { return a.first < b.first; });
      if (want_inverse) inverse = make_empty(x.sizes(), kInt64, kCPU);
      std::int64_t* inv = want_inverse ? inverse.data_ptr<std::int64_t>() : nullptr;
      for (const auto& [value, position] : sorted) {
        const std::int64_t group = add(value);
        if (inv) inv[position] = group;
      }
    }
    values = make_empty({static_cast<std::int64_t>(distinct.size())}, x.dtype(), kCPU);
    std::copy(distinct.begin(), distinct.end(), values.data_ptr<T>());
    if (want_counts) {
      counts = make_empty({static_cast<std::int64_t>(group_sizes.size())}, kInt64, kCPU);
      std::copy(group_sizes.begin(), group_sizes.end(), counts.data_ptr<std::int64_t>());
    }
  });
}

// Long inputs are cut into a fixed number of blocks (set by the length, never by the thread
// count), each counted into its own histogram in parallel, then added in block order: the
// floating-point sums are the same on every machine.
void bincount_kernel(const Tensor& x, const Tensor& weights, const Tensor& out) {
  const std::int64_t n = x.numel(), bins = out.numel();
  const std::int64_t* v = x.data_ptr<std::int64_t>();
  visit_dtype(out.dtype(), [&]<class T>() {
    if constexpr (std::is_same_v<T, bool> || std::is_same_v<T, std::uint8_t>) {
      CAKE_FAIL("bincount: counts are int64 or floating point");
    } else {
      const T* w = weights.defined() ? weights.data_ptr<T>() : nullptr;
      T* o = out.data_ptr<T>();
      auto count = [&](std::int64_t lo, std::int64_t hi, T* hist) {
        if (w) {
          for (std::int64_t i = lo; i < hi; ++i) hist[v[i]] += w[i];
        } else {
          for (std::int64_t i = lo; i < hi; ++i) hist[v[i]] += T(1);
        }
      };
      constexpr std::int64_t kBlock = 1 << 16;
      const std::int64_t blocks = std::min<std::int64_t>(16, n / kBlock);
      if (blocks < 2 || blocks * bins > n) {  // short, or histograms larger than the input
        count(0, n, o);
        return;
      }
      std::vector<T> hists(static_cast<std::size_t>(blocks * bins), T(0));
      const std::int64_t per_block = (n + blocks - 1) / blocks;
      parallel_for(0, blocks, 1, [&](std::int64_t lo, std::int64_t hi) {
        for (std::int64_t b = lo; b < hi; ++b)
          count(b * per_block, std::min(n, (b + 1) * per_block), hists.data() + b * bins);
      });
      parallel_for(0, bins, kParallelGrain / blocks, [&](std::int64_t lo, std::int64_t hi) {
        for (std::int64_t b = 0; b < blocks; ++b)
          for (std::int64_t j = lo; j < hi; ++j) o[j] += hists[static_cast<std::size_t>(b * bins + j)];
      });
    }
  });
}

// ---- searchsorted -------------------------------------------------------------------------------

// One binary search per value (std::lower_bound, or upper_bound with `right`), all the values in
// parallel (one shared row of a million values is as parallel as a million rows).
void searchsorted_kernel(const Tensor& sorted, const Tensor& values, bool right, const Tensor& out) {
  const std::int64_t k = values.size(1), m = sorted.size(1);
  const bool shared_row = sorted.size(0) == 1;
  visit_dtype(values.dtype(), [&]<class T>() {
    if constexpr (std::is_same_v<T, bool> || std::is_same_v<T, std::uint8_t>) {
      CAKE_FAIL("searchsorted: values are compared as int64 or floating point");
    } else {
      const T* s = sorted.data_ptr<T>();
      const T* v = values.data_ptr<T>();
      std::int64_t* o = out.data_ptr<std::int64_t>();
      // A search costs about log2(m) comparisons, so a few thousand values make a task.
      parallel_for(0, values.numel(), 4096, [&](std::int64_t lo, std::int64_t hi) {
        for (std::int64_t p = lo; p < hi; ++p) {
          const T* first = s + (shared_row ? 0 : (p / k) * m);
          const T value = v[p];
          const T* at = right ? std::upper_bound(first, first + m, value) : std::lower_bound(first, first + m, value);
          o[p] = at - first;
        }
      });
    }
  });
}

// ---- running products, extremes and log-sum-exps ------------------------------------------------

// The lines along `dim` of the layout [outer, n, inner] are scanned in parallel, each in order by
// its own copy of `fold`: fold.first(x[0], at) starts it, fold.next(x[j], at, j) folds in element
// j; each returns the value to store at `at`, the element's offset.
template <class T, class Fold>
void scan_lines(const Tensor& x, std::int64_t dim, const Tensor& values, const Fold& fold) {
  std::int64_t outer = 1, inner = 1;
  for (std::int64_t d = 0; d < x.dim(); ++d) {
    if (d < dim) outer *= x.size(d);
    if (d > dim) inner *= x.size(d);
  }
  const std::int64_t n = x.size(dim);
  const T* in = x.data_ptr<T>();
  T* out = values.data_ptr<T>();
  parallel_for(0, outer * inner, std::max<std::int64_t>(1, kParallelGrain / n), [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t line = lo; line < hi; ++line) {
      Fold running = fold;
      const std::int64_t base = (line / inner) * n * inner + line % inner;
      out[base] = static_cast<T>(running.first(in[base], base));
      for (std::int64_t j = 1; j < n; ++j) {
        const std::int64_t at = base + j * inner;
        out[at] = static_cast<T>(running.next(in[at], at, j));
      }
    }
  });
}

// Running products and log-sum-exps; float32 accumulates in double, as PyTorch's CPU scans.
template <class T>
struct RunningProduct {
  using Acc = std::conditional_t<std::is_same_v<T, float>, double, T>;
  Acc acc{};
  Acc first(T v, std::int64_t) { return acc = static_cast<Acc>(v); }
  Acc next(T v, std::int64_t, std::int64_t) { return acc *= static_cast<Acc>(v); }
};
template <class T>
struct RunningLogSumExp {
  using Acc = std::conditional_t<std::is_same_v<T, float>, double, T>;
  Acc acc{};
  Acc first(T v, std::int64_t) { return acc = static_cast<Acc>(v); }
  Acc next(T v, std::int64_t, std::int64_t) { return acc = ops::LogAddExp{}(acc, static_cast<Acc>(v)); }
};
// The running maximum (or minimum) and where it was reached: a later element takes over when it
// is a NaN, or when no NaN has been met and it is at least (at most) the extreme so far, so ties
// go to the last position and a NaN, once met, stays (PyTorch's rule).
template <class T>
struct RunningExtreme {
  bool largest;
  std::int64_t* where;
  T extreme{};
  std::int64_t position = 0;
  T first(T v, std::int64_t at) {
    where[at] = position = 0;
    return extreme = v;
  }
  T next(T v, std::int64_t at, std::int64_t j) {
    if (ops::IsNan{}(v) || (!ops::IsNan{}(extreme) && (largest ? v >= extreme : v <= extreme))) {
      extreme = v;
      position = j;
    }
    where[at] = position;
    return extreme;
  }
};

void scan_kernel(const Tensor& x, std::int64_t dim, native::ScanOp op, const Tensor& values, const Tensor& indices) {
  visit_dtype(x.dtype(), [&]<class T>() {
    switch (op) {
      case native::ScanOp::Prod:
        if constexpr (std::is_same_v<T, bool>) CAKE_FAIL("cumprod: bool inputs are multiplied as int64");
        else scan_lines<T>(x, dim, values, RunningProduct<T>{});
        return;
      case native::ScanOp::LogSumExp:
        if constexpr (!std::is_floating_point_v<T>) CAKE_FAIL("logcumsumexp: expected a floating-point tensor");
        else scan_lines<T>(x, dim, values, RunningLogSumExp<T>{});
        return;
      case native::ScanOp::Max:
      case native::ScanOp::Min:
        scan_lines<T>(x, dim, values, RunningExtreme<T>{op == native::ScanOp::Max, indices.data_ptr<std::int64_t>()});
        return;
    }
  });
}

}  // namespace

CAKE_REGISTER_KERNEL(native::gather_stub, DeviceType::CPU, &gather_kernel);
CAKE_REGISTER_KERNEL(native::scatter_add_stub, DeviceType::CPU, &scatter_add_kernel);
CAKE_REGISTER_KERNEL(native::scatter_stub, DeviceType::CPU, &scatter_kernel);
CAKE_REGISTER_KERNEL(native::masked_select_stub, DeviceType::CPU, &masked_select_kernel);
CAKE_REGISTER_KERNEL(native::masked_scatter_stub, DeviceType::CPU, &masked_scatter_kernel);
CAKE_REGISTER_KERNEL(native::sort_stub, DeviceType::CPU, &sort_kernel);
CAKE_REGISTER_KERNEL(native::topk_stub, DeviceType::CPU, &topk_kernel);
CAKE_REGISTER_KERNEL(native::cumsum_stub, DeviceType::CPU, &cumsum_kernel);
CAKE_REGISTER_KERNEL(native::unique_stub, DeviceType::CPU, &unique_kernel);
CAKE_REGISTER_KERNEL(native::bincount_stub, DeviceType::CPU, &bincount_kernel);
CAKE_REGISTER_KERNEL(native::searchsorted_stub, DeviceType::CPU, &searchsorted_kernel);
CAKE_REGISTER_KERNEL(native::scan_stub, DeviceType::CPU, &scan_kernel);
CAKE_REGISTER_KERNEL(native::kthvalue_stub, DeviceType::CPU, &kthvalue_kernel);

}  // namespace cake::cpu
