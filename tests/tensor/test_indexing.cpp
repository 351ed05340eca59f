// test_indexing.cpp: every indexing / joining / sorting kernel against a naive loop written
// here from the definition, on random shapes (size-1 dims, empty tensors, negative dims) and
// non-contiguous layouts (transposed, narrowed); known answers; and the errors for bad input.
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <string>

#include "helpers.h"
#include "cake/tensor/native/indexing.h"

using namespace cake;
using cake::testing::check_close;
using cake::testing::values;
using cake::testing::from_values;
using cake::testing::int_values;

namespace {

// ---- small utilities ---------------------------------------------------------------------------

std::int64_t rnd(std::int64_t lo, std::int64_t hi) { return randint(lo, hi + 1, {}).item<std::int64_t>(); }  // inclusive

Shape random_shape(int rank, std::int64_t lo, std::int64_t hi) {
  Shape s;
  for (int i = 0; i < rank; ++i) s.push_back(rnd(lo, hi));
  return s;
}

std::vector<std::int64_t> unravel(std::int64_t i, const Shape& shape) {
  std::vector<std::int64_t> idx(shape.size());
  for (std::size_t d = shape.size(); d-- > 0;) {
    idx[d] = i % shape[d];
    i /= shape[d];
  }
  return idx;
}

std::int64_t ravel(const std::vector<std::int64_t>& idx, const Shape& shape) {
  std::int64_t i = 0;
  for (std::size_t d = 0; d < shape.size(); ++d) i = i * shape[d] + idx[d];
  return i;
}

enum class Layout { Contiguous, Transposed, Narrowed };
constexpr Layout kLayouts[] = {Layout::Contiguous, Layout::Transposed, Layout::Narrowed};

// The same values as t, held in a non-contiguous view: dims reversed in memory, or a window
// of a wider tensor.
Tensor in_layout(const Tensor& t, Layout layout) {
  if (t.dim() == 0 || layout == Layout::Contiguous) return t;
  if (layout == Layout::Transposed && t.dim() >= 2) {
    Shape reversed(static_cast<std::size_t>(t.dim()));
    std::iota(reversed.rbegin(), reversed.rend(), 0);
    return t.permute(reversed).contiguous().permute(reversed);
  }
  Shape wide = t.sizes();
  wide.back() += 3;
  Tensor big = zeros(wide, t.dtype());
  Tensor window = big.narrow(-1, 1, t.sizes().back());
  window.copy_(t);
  return window;
}

Tensor random_values(const Shape& shape, DType dtype) {
  if (dtype == kInt64) return randint(-50, 50, shape);
  return randn(shape, dtype);
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}
bool mentions(const std::string& message, const std::string& part) { return message.find(part) != std::string::npos; }

// ---- naive references --------------------------------------------------------------------------

std::vector<double> naive_gather(const Tensor& x, std::int64_t dim, const Tensor& index) {
  const auto xv = values(x), iv = values(index);
  std::vector<double> out(iv.size());
  for (std::size_t i = 0; i < iv.size(); ++i) {
    auto p = unravel(static_cast<std::int64_t>(i), index.sizes());
    p[dim] = static_cast<std::int64_t>(iv[i]);
    out[i] = xv[static_cast<std::size_t>(ravel(p, x.sizes()))];
  }
  return out;
}

std::vector<double> naive_scatter_add(const Tensor& x, std::int64_t dim, const Tensor& index, const Tensor& src,
                                      double alpha = 1.0) {
  auto out = values(x);
  const auto iv = values(index), sv = values(src);
  for (std::size_t i = 0; i < iv.size(); ++i) {
    auto p = unravel(static_cast<std::int64_t>(i), index.sizes());
    p[dim] = static_cast<std::int64_t>(iv[i]);
    out[static_cast<std::size_t>(ravel(p, x.sizes()))] += alpha * sv[i];
  }
  return out;
}

// out[p with dim = index[p]] = src[p] in row-major order of p: of repeated targets, the last
// along dim is written last (the positions that share a target differ only along dim).
std::vector<double> naive_scatter(const Tensor& x, std::int64_t dim, const Tensor& index, const Tensor& src) {
  auto out = values(x);
  const auto iv = values(index), sv = values(src);
  for (std::size_t i = 0; i < iv.size(); ++i) {
    auto p = unravel(static_cast<std::int64_t>(i), index.sizes());
    p[dim] = static_cast<std::int64_t>(iv[i]);
    out[static_cast<std::size_t>(ravel(p, x.sizes()))] = sv[i];
  }
  return out;
}

// torch.scatter_reduce by its definition: each output element's group is its own value (when
// included) and the src values index sends to it; elements with no src value keep their own.
std::vector<double> naive_scatter_reduce(const Tensor& x, std::int64_t dim, const Tensor& index, const Tensor& src,
                                         const std::string& reduce, bool include_self) {
  const auto xv = values(x), iv = values(index), sv = values(src);
  std::vector<std::vector<double>> groups(xv.size());
  for (std::size_t i = 0; i < iv.size(); ++i) {
    auto p = unravel(static_cast<std::int64_t>(i), index.sizes());
    p[dim] = static_cast<std::int64_t>(iv[i]);
    groups[static_cast<std::size_t>(ravel(p, x.sizes()))].push_back(sv[i]);
  }
  std::vector<double> out = xv;
  for (std::size_t e = 0; e < out.size(); ++e) {
    std::vector<double>& group = groups[e];
    if (group.empty()) continue;
    if (include_self) group.push_back(xv[e]);
    double r = reduce == "prod" ? 1.0 : 0.0;
    if (reduce == "amax") r = *std::max_element(group.begin(), group.end());
    if (reduce == "amin") r = *std::min_element(group.begin(), group.end());
    for (double v : group) {
      if (reduce == "sum" || reduce == "mean") r += v;
      if (reduce == "prod") r *= v;
    }
    if (reduce == "mean") r /= static_cast<double>(group.size());
    out[e] = r;
  }
  return out;
}

std::vector<double> naive_index_select(const Tensor& x, std::int64_t dim, const Tensor& index, Shape& shape) {
  const auto xv = values(x), iv = values(index);
  shape = x.sizes();
  shape[dim] = static_cast<std::int64_t>(iv.size());
  std::vector<double> out(static_cast<std::size_t>(shape_numel(shape)));
  for (std::size_t i = 0; i < out.size(); ++i) {
    auto p = unravel(static_cast<std::int64_t>(i), shape);
    p[dim] = static_cast<std::int64_t>(iv[static_cast<std::size_t>(p[dim])]);
    out[i] = xv[static_cast<std::size_t>(ravel(p, x.sizes()))];
  }
  return out;
}

std::vector<double> naive_index_add(const Tensor& x, std::int64_t dim, const Tensor& index, const Tensor& source,
                                    double alpha) {
  auto out = values(x);
  const auto iv = values(index), sv = values(source);
  for (std::size_t i = 0; i < sv.size(); ++i) {
    auto p = unravel(static_cast<std::int64_t>(i), source.sizes());
    p[dim] = static_cast<std::int64_t>(iv[static_cast<std::size_t>(p[dim])]);
    out[static_cast<std::size_t>(ravel(p, x.sizes()))] += alpha * sv[i];
  }
  return out;
}

// NaN after every number, ties in order of position.
bool naive_less(double a, double b) { return a < b || (std::isnan(b) && !std::isnan(a)); }

// Stable sort of every row along dim: (values, indices) in row-major order of x's shape.
std::pair<std::vector<double>, std::vector<double>> naive_sort(const Tensor& x, std::int64_t dim, bool descending) {
  const auto xv = values(x);
  std::vector<double> v(xv.size()), ix(xv.size());
  const std::int64_t n = x.sizes()[dim];
  for (std::size_t i = 0; i < xv.size(); ++i) {
    auto p = unravel(static_cast<std::int64_t>(i), x.sizes());
    if (p[dim] != 0) continue;  // visit each row once, from its first element
    std::vector<std::int64_t> order(static_cast<std::size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    auto value = [&](std::int64_t j) {
      auto q = p;
      q[dim] = j;
      return xv[static_cast<std::size_t>(ravel(q, x.sizes()))];
    };
    std::stable_sort(order.begin(), order.end(), [&](std::int64_t a, std::int64_t b) {
      return descending ? naive_less(value(b), value(a)) : naive_less(value(a), value(b));
    });
    for (std::int64_t j = 0; j < n; ++j) {
      auto q = p;
      q[dim] = j;
      const auto at = static_cast<std::size_t>(ravel(q, x.sizes()));
      v[at] = value(order[static_cast<std::size_t>(j)]);
      ix[at] = static_cast<double>(order[static_cast<std::size_t>(j)]);
    }
  }
  return {v, ix};
}

std::vector<double> naive_cumsum(const Tensor& x, std::int64_t dim, bool reverse) {
  const auto xv = values(x);
  std::vector<double> out(xv.size());
  const std::int64_t n = x.sizes()[dim];
  for (std::size_t i = 0; i < xv.size(); ++i) {
    auto p = unravel(static_cast<std::int64_t>(i), x.sizes());
    if (p[dim] != 0) continue;  // walk each line along dim once, from its first element
    double s = 0;
    for (std::int64_t step = 0; step < n; ++step) {
      p[dim] = reverse ? n - 1 - step : step;
      const auto at = static_cast<std::size_t>(ravel(p, x.sizes()));
      s += xv[at];
      out[at] = s;
    }
  }
  return out;
}

}  // namespace

// ---- gather / scatter_add -------------------------------------------------------------------------

TEST_CASE("gather matches the naive loop on random shapes, dtypes and layouts") {
  manual_seed(11);
  const DType dtypes[] = {kFloat32, kFloat64, kInt64};
  for (int trial = 0; trial < 72; ++trial) {
    const int rank = 1 + trial % 4;
    const Shape xs = random_shape(rank, 1, 5);
    const std::int64_t dim = rnd(-rank, rank - 1), d = dim < 0 ? dim + rank : dim;
    Shape is = xs;
    for (int k = 0; k < rank; ++k) is[k] = k == d ? rnd(0, 6) : rnd(trial % 9 == 0 ? 0 : 1, xs[k]);
    const Tensor x = in_layout(random_values(xs, dtypes[trial % 3]), kLayouts[trial % 3]);
    const Tensor index = in_layout(randint(0, xs[d], is), kLayouts[(trial / 3) % 3]);
    INFO("x ", shape_str(xs), " index ", shape_str(is), " dim ", dim);
    const Tensor out = gather(x, dim, index);
    CHECK(out.dtype() == x.dtype());
    check_close(out, from_values(naive_gather(x, d, index), is));
  }
}

// One random scatter problem of the naive-loop tests: rank 1-4, a destination x, an index with
// repeats (up to 8 entries along dim, some trials with an empty dim), src of index's shape, each
// in one of the layouts, int64 or float64.
namespace {
struct ScatterTrial {
  Shape xs, is;
  std::int64_t dim = 0, d = 0;  // as passed (maybe negative) and wrapped
  DType dtype = kFloat64;
  Tensor x, index, src;
};
ScatterTrial random_scatter_trial(int trial) {
  ScatterTrial t;
  const int rank = 1 + trial % 4;
  t.xs = random_shape(rank, 1, 5);
  t.dim = rnd(-rank, rank - 1);
  t.d = t.dim < 0 ? t.dim + rank : t.dim;
  t.is = t.xs;
  for (int k = 0; k < rank; ++k) t.is[k] = k == t.d ? rnd(0, 8) : rnd(trial % 11 == 0 ? 0 : 1, t.xs[k]);
  t.dtype = trial % 2 ? kFloat64 : kInt64;
  t.x = in_layout(random_values(t.xs, t.dtype), kLayouts[trial % 3]);
  t.index = in_layout(randint(0, t.xs[t.d], t.is), kLayouts[(trial / 3) % 3]);
  t.src = in_layout(random_values(t.is, t.dtype), kLayouts[(trial / 9) % 3]);
  return t;
}
}  // namespace

TEST_CASE("scatter_add matches the naive loop, duplicates accumulate") {
  manual_seed(12);
  for (int trial = 0; trial < 60; ++trial) {
    const ScatterTrial t = random_scatter_trial(trial);
    INFO("x ", shape_str(t.xs), " index ", shape_str(t.is), " dim ", t.dim);
    const Tensor out = scatter_add(t.x, t.dim, t.index, t.src);
    CHECK(out.dtype() == t.dtype);
    check_close(out, from_values(naive_scatter_add(t.x, t.d, t.index, t.src), t.xs), 1e-12, 1e-12);
  }
}

TEST_CASE("scatter matches the naive loop: of repeated indices the last along dim lands") {
  manual_seed(15);
  for (int trial = 0; trial < 60; ++trial) {
    const ScatterTrial t = random_scatter_trial(trial);
    INFO("x ", shape_str(t.xs), " index ", shape_str(t.is), " dim ", t.dim);
    const Tensor out = scatter(t.x, t.dim, t.index, t.src);
    CHECK(out.dtype() == t.dtype);
    check_close(out, from_values(naive_scatter(t.x, t.d, t.index, t.src), t.xs), 1e-12, 1e-12);
    // A src larger than index: only index's extent is read.
    Shape larger = t.is;
    for (auto& size : larger) size += 1;
    const Tensor big = random_values(larger, t.dtype);
    Tensor within = big;
    for (std::int64_t k = 0; k < big.dim(); ++k) within = within.narrow(k, 0, t.is[static_cast<std::size_t>(k)]);
    check_close(scatter(t.x, t.dim, t.index, big), from_values(naive_scatter(t.x, t.d, t.index, within), t.xs), 1e-12,
                1e-12);
  }
}

TEST_CASE("scatter_reduce matches its definition: five reductions, with and without x's own values") {
  manual_seed(16);
  const std::vector<std::string> reductions = {"sum", "prod", "mean", "amax", "amin"};
  for (int trial = 0; trial < 60; ++trial) {
    const ScatterTrial t = random_scatter_trial(trial);
    for (const std::string& reduce : reductions) {
      if (reduce == "mean" && t.dtype == kInt64) continue;  // mean needs floating point
      for (bool include_self : {true, false}) {
        INFO("x ", shape_str(t.xs), " index ", shape_str(t.is), " dim ", t.dim, " ", reduce, " include_self ",
             include_self);
        const Tensor out = scatter_reduce(t.x, t.dim, t.index, t.src, reduce, include_self);
        CHECK(out.dtype() == t.dtype);
        check_close(out, from_values(naive_scatter_reduce(t.x, t.d, t.index, t.src, reduce, include_self), t.xs),
                    1e-12, 1e-12);
      }
    }
  }
  // NaN wins in amax and amin, from x or from src.
  const Tensor x = tensor({1.0, std::nan(""), 3.0}, {3}, kFloat64);
  const Tensor index = tensor(std::vector<std::int64_t>{0, 1, 2, 2}, {4}, kInt64);
  const Tensor src = tensor({std::nan(""), 5.0, 2.0, 7.0}, {4}, kFloat64);
  for (const char* reduce : {"amax", "amin"}) {
    const auto v = values(scatter_reduce(x, 0, index, src, reduce));
    CHECK(std::isnan(v[0]));
    CHECK(std::isnan(v[1]));
    CHECK(v[2] == (std::string(reduce) == "amax" ? 7.0 : 2.0));
  }
}

TEST_CASE("gather and scatter_add on large inputs (parallel paths)") {
  manual_seed(13);
  for (std::int64_t dim : {0, 1}) {
    const Tensor x = randn({300, 200}, kFloat64);
    const Tensor index = randint(0, x.size(dim), {300, 200});
    check_close(gather(x, dim, index), from_values(naive_gather(x, dim, index), index.sizes()));
    const Tensor src = randn({300, 200}, kFloat64);
    check_close(scatter_add(x, dim, index, src), from_values(naive_scatter_add(x, dim, index, src), x.sizes()), 1e-12,
                1e-12);
  }
  // Few destinations, many duplicates: the order of accumulation is fixed, so float32 results
  // are bitwise the same with one thread as with several.
  const Tensor target = zeros({4, 3000});
  const Tensor index = randint(0, 4, {50, 3000});
  const Tensor src = randn({50, 3000});
  const Tensor many = scatter_add(target, 0, index, src);
  const int threads = get_num_threads();
  set_num_threads(1);
  const Tensor one = scatter_add(target, 0, index, src);
  set_num_threads(threads);
  CHECK(equal(many, one));
  // scatter with many duplicates: the same element lands with one thread as with several.
  const Tensor written = scatter(target, 0, index, src);
  set_num_threads(1);
  const Tensor written_alone = scatter(target, 0, index, src);
  set_num_threads(threads);
  CHECK(equal(written, written_alone));
  check_close(written, from_values(naive_scatter(target, 0, index, src), target.sizes()), 0, 0);
}

TEST_CASE("index_select and index_add match the naive loops") {
  manual_seed(14);
  for (int trial = 0; trial < 60; ++trial) {
    const int rank = 1 + trial % 4;
    const Shape xs = random_shape(rank, 1, 5);
    const std::int64_t dim = rnd(-rank, rank - 1), d = dim < 0 ? dim + rank : dim;
    const std::int64_t n = trial % 10 == 0 ? 0 : rnd(1, 7);
    const DType dtype = trial % 3 == 0 ? kInt64 : kFloat64;
    const Tensor x = in_layout(random_values(xs, dtype), kLayouts[trial % 3]);
    // Every other element of a longer index: a non-contiguous 1-D index.
    const Tensor index = trial % 2 ? randint(0, xs[d], {2 * n}).slice(0, 0, 2 * n, 2) : randint(0, xs[d], {n});
    INFO("x ", shape_str(xs), " n ", n, " dim ", dim);
    Shape shape;
    const auto expected = naive_index_select(x, d, index, shape);
    check_close(index_select(x, dim, index), from_values(expected, shape));

    const Tensor source = in_layout(random_values(shape, dtype), kLayouts[(trial / 3) % 3]);
    const double alpha = dtype == kInt64 ? 3.0 : -0.5;
    const Tensor added = dtype == kInt64 ? index_add(x, dim, index, source, 3) : index_add(x, dim, index, source, -0.5);
    check_close(added, from_values(naive_index_add(x, d, index, source, alpha), xs), 1e-12, 1e-12);
  }
  // 0-d index: one slice.
  const Tensor x = randn({3, 4}, kFloat64);
  const Tensor i = full({}, 2, kInt64);
  check_close(index_select(x, 1, i), x.narrow(1, 2, 1));
}

TEST_CASE("index_select and index_add on large inputs (row copies, k-means sums)") {
  manual_seed(15);
  const Tensor table = randn({5000, 16}, kFloat64);
  const Tensor rows = randint(0, 5000, {4000});
  Shape shape;
  check_close(index_select(table, 0, rows), from_values(naive_index_select(table, 0, rows, shape), shape));
  // Per-cluster sums of 20000 points in 3-D and of 2000 points in 512-D.
  for (std::int64_t width : {3, 512}) {
    const std::int64_t points = width == 3 ? 20000 : 2000;
    const Tensor x = randn({points, width}, kFloat64);
    const Tensor cluster = randint(0, 7, {points});
    const Tensor sums = index_add(zeros({7, width}, kFloat64), 0, cluster, x);
    check_close(sums, from_values(naive_index_add(zeros({7, width}, kFloat64), 0, cluster, x, 1.0), {7, width}), 1e-10,
                1e-10);
  }
}

TEST_CASE("index ops: out-of-range indices and bad arguments are errors that name the value") {
  const Tensor x = randn({3, 5});
  const Tensor bad = tensor(std::vector<std::int64_t>{0, 7, 1}, {3});
  std::string m = error_of([&] { index_select(x, 1, bad); });
  CHECK(mentions(m, "index_select"));
  CHECK(mentions(m, "index 7"));
  CHECK(mentions(m, "dimension 1 of size 5"));
  CHECK_THROWS_AS(index_select(x, 1, tensor(std::vector<std::int64_t>{-1}, {1})), Error);
  CHECK_THROWS_AS(index_select(x, 2, bad), Error);                         // no dimension 2
  CHECK_THROWS_AS(index_select(x, 0, bad.to(kFloat32)), Error);            // not int64
  CHECK_THROWS_AS(index_select(x, 0, zeros({2, 2}, kInt64)), Error);       // not 1-D
  m = error_of([&] { gather(x, -1, tensor(std::vector<std::int64_t>{0, 5}, {1, 2})); });
  CHECK(mentions(m, "gather"));
  CHECK(mentions(m, "index 5"));
  // The first bad index in row-major order is named, whatever the thread count.
  Tensor many = randint(0, 5, {400, 300});
  many.select(0, 7).select(0, 3).fill_(-2);
  many.select(0, 300).select(0, 0).fill_(9);
  m = error_of([&] { gather(randn({400, 5}), 1, many); });
  CHECK(mentions(m, "index -2 is out of range for dimension 1 of size 5"));
  m = error_of([&] { scatter_add(zeros({400, 5}), 1, many, ones({400, 300})); });
  CHECK(mentions(m, "scatter_add: index -2"));
  m = error_of([&] { index_add(zeros({4, 5}), 1, many.select(0, 300), ones({4, 300})); });
  CHECK(mentions(m, "index_add: index 9"));
  CHECK_THROWS_AS(gather(empty({3, 0}), 1, zeros({3, 1}, kInt64)), Error);  // nothing to gather from
  CHECK_THROWS_AS(gather(x, 0, zeros({3}, kInt64)), Error);                // rank differs
  CHECK_THROWS_AS(gather(x, 0, zeros({2, 6}, kInt64)), Error);             // wider than x
  CHECK_THROWS_AS(scatter_add(x, 0, tensor(std::vector<std::int64_t>{3}, {1, 1}), ones({1, 1})), Error);
  CHECK_THROWS_AS(scatter_add(x, 0, zeros({1, 2}, kInt64), ones({1, 1})), Error);  // src smaller than index
  CHECK_THROWS_AS(scatter(x, 0, zeros({1, 2}, kInt64), ones({2})), Error);          // src of another rank
  CHECK_THROWS_AS(scatter(x, 0, tensor(std::vector<std::int64_t>{3}, {1, 1}), 1.0), Error);
  CHECK(mentions(error_of([&] { scatter_reduce(x, 0, zeros({1, 2}, kInt64), ones({1, 2}), "max"); }),
                 "reduce must be one of"));
  CHECK(mentions(error_of([&] { scatter_reduce(zeros({3}, kInt64), 0, zeros({1}, kInt64), ones({1}, kInt64), "mean"); }),
                 "needs a floating-point tensor"));
  CHECK_THROWS_AS(index_add(x, 0, bad, ones({3, 5})), Error);              // 7 >= 3
  CHECK_THROWS_AS(index_add(x, 0, zeros({2}, kInt64), ones({3, 5})), Error);  // source shape
  CHECK_THROWS_AS(index_add(zeros({3}, kInt64), 0, zeros({1}, kInt64), ones({1}, kInt64), 0.5), Error);
  CHECK_THROWS_AS(gather(full({}, 1.0), 0, zeros({}, kInt64)), Error);     // 0-d input
  Tensor expanded = zeros({1, 4}).expand({3, 4});
  CHECK_THROWS_AS(native::index_add_(expanded, 1, zeros({1}, kInt64), ones({3, 1})), Error);
}

// ---- masks ---------------------------------------------------------------------------------------

TEST_CASE("masked_fill, masked_select and masked_scatter match the naive loops") {
  manual_seed(16);
  for (int trial = 0; trial < 36; ++trial) {
    const int rank = 1 + trial % 3;
    const Shape xs = random_shape(rank, trial % 12 == 0 ? 0 : 1, 6);
    Shape ms = xs;  // the mask broadcasts: some dims of size 1, maybe fewer dims
    for (auto& s : ms) if (rnd(0, 2) == 0) s = 1;
    if (trial % 4 == 0) ms.erase(ms.begin());
    const Tensor x = in_layout(random_values(xs, trial % 2 ? kFloat64 : kInt64), kLayouts[trial % 3]);
    const Tensor mask = in_layout(rand(ms) < 0.4, kLayouts[(trial / 3) % 3]);
    INFO("x ", shape_str(xs), " mask ", shape_str(ms));
    const Tensor mb = mask.expand(xs);
    const auto xv = values(x), mv = values(mb);
    std::vector<double> filled = xv, selected;
    for (std::size_t i = 0; i < xv.size(); ++i) {
      if (mv[i] == 0) continue;
      filled[i] = -7;
      selected.push_back(xv[i]);
    }
    check_close(masked_fill(x, mask, -7), from_values(filled, xs));
    const Tensor picked = masked_select(x, mask);
    CHECK(picked.dim() == 1);
    CHECK(picked.dtype() == x.dtype());
    check_close(picked, from_values(selected, {static_cast<std::int64_t>(selected.size())}));
    // masked_scatter puts them back where they came from.
    const Tensor back = native::masked_scatter(zeros_like(x), mask, picked);
    std::vector<double> expected(xv.size(), 0.0);
    for (std::size_t i = 0; i < xv.size(); ++i) expected[i] = mv[i] != 0 ? xv[i] : 0.0;
    check_close(back, from_values(expected, xs));
  }
  // The mask broadcasts against x in masked_select (x broadcasts too).
  const Tensor x = tensor({1.0, 2.0, 3.0}, {3});
  const Tensor mask = tensor(std::vector<bool>{true, false}, {2, 1});
  CHECK(values(masked_select(x, mask)) == std::vector<double>{1, 2, 3});
  // A long mask (parallel counting).
  const Tensor big = randn({1000, 300}, kFloat64);
  const Tensor positive = big > 0;
  const auto bv = values(big);
  std::vector<double> kept;
  for (double v : bv) if (v > 0) kept.push_back(v);
  const Tensor kept_t = from_values(kept, {static_cast<std::int64_t>(kept.size())});
  check_close(sort(masked_select(big.t(), positive.t())).first, sort(kept_t).first);
  check_close(masked_select(big, positive), from_values(kept, {static_cast<std::int64_t>(kept.size())}));
  CHECK_THROWS_AS(masked_fill(x, zeros({3}), 1.0), Error);                 // mask not bool
  CHECK_THROWS_AS(masked_fill(x, tensor(std::vector<bool>{true, false}, {2, 1}), 1.0), Error);  // x would grow
  CHECK_THROWS_AS(native::masked_scatter(x, x > 0, zeros({2})), Error);    // src too short
}

// ---- cat / stack / split -----------------------------------------------------------------------

TEST_CASE("cat joins any number of tensors, any layouts and dtypes") {
  manual_seed(17);
  for (int trial = 0; trial < 30; ++trial) {
    const int rank = 1 + trial % 3;
    const Shape base = random_shape(rank, 1, 4);
    const std::int64_t dim = rnd(-rank, rank - 1), d = dim < 0 ? dim + rank : dim;
    const int count = static_cast<int>(rnd(1, 6));
    std::vector<Tensor> parts;
    Shape out_shape = base;
    out_shape[d] = 0;
    for (int i = 0; i < count; ++i) {
      Shape s = base;
      s[d] = rnd(0, 3);
      out_shape[d] += s[d];
      parts.push_back(in_layout(random_values(s, i % 3 == 2 ? kInt64 : kFloat32), kLayouts[(trial + i) % 3]));
    }
    const Tensor out = cat(parts, dim);
    CHECK(out.dtype() == kFloat32);  // int64 parts promote
    REQUIRE(out.sizes() == out_shape);
    std::int64_t offset = 0;
    for (const Tensor& p : parts) {  // each part sits in its slice
      check_close(out.narrow(d, offset, p.size(d)), p.to(kFloat32));
      offset += p.size(d);
    }
  }
  // Many small pieces, and the 1-D empty tensors that cat skips.
  std::vector<Tensor> many;
  for (int i = 0; i < 500; ++i) many.push_back(full({1, 3}, static_cast<double>(i), kFloat64));
  const Tensor joined = cat(many, 0);
  CHECK(joined.sizes() == Shape{500, 3});
  CHECK(values(joined.select(1, 2)) == values(arange(500)));
  CHECK(cat({empty({0}), ones({2, 2}), empty({0})}, 1).sizes() == Shape{2, 2});
  CHECK(cat({empty({0}), empty({0})}).sizes() == Shape{0});
  CHECK(cat({ones({2}, kInt64), ones({1}, kFloat64)}).dtype() == kFloat64);
  std::string m = error_of([] { cat({ones({2, 3}), ones({2, 4})}, 0); });
  CHECK(mentions(m, "[2, 3]"));
  CHECK(mentions(m, "[2, 4]"));
  CHECK_THROWS_AS(cat({}, 0), Error);
  CHECK_THROWS_AS(cat({ones({2, 3}), ones({2, 3, 1})}, 0), Error);
  CHECK_THROWS_AS(cat({ones({2, 3})}, 2), Error);
}

TEST_CASE("stack, split and chunk") {
  const Tensor a = tensor({1.0, 2.0, 3.0}, {3}), b = tensor({4.0, 5.0, 6.0}, {3});
  CHECK(values(stack({a, b})) == std::vector<double>{1, 2, 3, 4, 5, 6});
  const Tensor s1 = stack({a, b}, -1);
  CHECK(s1.sizes() == Shape{3, 2});
  CHECK(values(s1) == std::vector<double>{1, 4, 2, 5, 3, 6});
  CHECK(stack({full({}, 1.0), full({}, 2.0)}).sizes() == Shape{2});
  CHECK_THROWS_AS(stack({a, ones({4})}), Error);
  CHECK_THROWS_AS(stack({a, b}, 2), Error);

  const Tensor x = arange(0.0, 14.0).reshape({2, 7});
  auto pieces = split(x, 3, 1);
  REQUIRE(pieces.size() == 3);
  CHECK(pieces[0].sizes() == Shape{2, 3});
  CHECK(pieces[2].sizes() == Shape{2, 1});
  CHECK(values(pieces[2]) == std::vector<double>{6, 13});
  CHECK(pieces[1].storage() == x.storage());  // views, no copies
  auto sized = split(x, std::vector<std::int64_t>{2, 0, 5}, -1);
  REQUIRE(sized.size() == 3);
  CHECK(sized[1].numel() == 0);
  CHECK(values(sized[2].select(0, 0)) == std::vector<double>{2, 3, 4, 5, 6});
  CHECK(chunk(x, 3, 1).size() == 3);                   // 7 -> 3 + 3 + 1
  CHECK(chunk(arange(6), 4).size() == 3);              // ceil(6/4) = 2 -> 2 + 2 + 2, as PyTorch
  CHECK(chunk(arange(6), 4)[2].numel() == 2);
  CHECK(split(empty({0}), 2).size() == 1);
  CHECK(equal(cat(chunk(x, 2, 0), 0), x));
  CHECK_THROWS_AS(split(x, std::vector<std::int64_t>{3, 3}, 1), Error);   // 6 != 7
  CHECK_THROWS_AS(split(x, 0, 1), Error);
  CHECK_THROWS_AS(chunk(x, 0, 1), Error);
}

// ---- sort / topk / argsort ---------------------------------------------------------------------

TEST_CASE("sort is stable and matches the naive stable sort (ties, NaN, layouts, dims)") {
  manual_seed(18);
  for (int trial = 0; trial < 48; ++trial) {
    const int rank = 1 + trial % 3;
    const Shape xs = random_shape(rank, trial % 16 == 0 ? 0 : 1, 9);
    const std::int64_t dim = rnd(-rank, rank - 1), d = dim < 0 ? dim + rank : dim;
    const bool descending = trial % 2 == 1;
    // Few distinct values, so rows are full of ties; float32 rows get NaNs too.
    Tensor x = randint(0, 4, xs).to(trial % 3 == 0 ? kInt64 : kFloat32);
    if (trial % 3 == 1) x = masked_fill(x, rand(xs) < 0.1, std::numeric_limits<double>::quiet_NaN());
    x = in_layout(x, kLayouts[trial % 3]);
    INFO("x ", shape_str(xs), " dim ", dim, " descending ", descending);
    const auto [v, i] = sort(x, dim, descending);
    const auto [ev, ei] = naive_sort(x, d, descending);
    check_close(v, from_values(ev, xs), 0, 0);
    CHECK(i.dtype() == kInt64);
    CHECK(values(i) == ei);
    CHECK(values(argsort(x, dim, descending)) == ei);
  }
  // Known answer: ties keep their order, NaN goes last (first when descending).
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const Tensor x = tensor({2.0, nan, 1.0, 2.0, 1.0});
  CHECK(int_values(argsort(x)) == std::vector<std::int64_t>{2, 4, 0, 3, 1});
  CHECK(int_values(argsort(x, 0, true)) == std::vector<std::int64_t>{1, 0, 3, 2, 4});
  // Long rows full of ties (std::sort's insertion sort is stable only on short ranges).
  const Tensor tied = randint(0, 3, {40, 300}).to(kFloat32);
  for (std::int64_t dim : {0, 1}) {
    for (bool descending : {false, true}) {
      const auto [tv, ti] = sort(tied, dim, descending);
      CHECK(values(ti) == naive_sort(tied, dim, descending).second);
    }
  }
  // A long row and many rows (parallel over rows).
  const Tensor big = randn({200, 500}, kFloat64);
  const auto [bv, bi] = sort(big, 0);
  const auto [ebv, ebi] = naive_sort(big, 0, false);
  CHECK(values(bv) == ebv);
  CHECK(values(bi) == ebi);
  const auto [s0v, s0i] = sort(full({}, 3.0));
  CHECK(s0v.item<double>() == 3.0);
  CHECK(s0i.item<std::int64_t>() == 0);
}

TEST_CASE("topk is the head of the stable sort; unsorted keeps row order") {
  manual_seed(19);
  for (int trial = 0; trial < 40; ++trial) {
    const int rank = 1 + trial % 3;
    const Shape xs = random_shape(rank, 1, 8);
    const std::int64_t dim = rnd(-rank, rank - 1), d = dim < 0 ? dim + rank : dim;
    const std::int64_t k = rnd(0, xs[d]);
    const bool largest = trial % 2 == 0;
    const Tensor x = in_layout(randint(0, 5, xs).to(kFloat64), kLayouts[trial % 3]);
    INFO("x ", shape_str(xs), " dim ", dim, " k ", k, " largest ", largest);
    const auto [sv, si] = sort(x, dim, largest);
    const auto [v, i] = topk(x, k, dim, largest, true);
    check_close(v, sv.narrow(d, 0, k), 0, 0);
    CHECK(values(i) == values(si.narrow(d, 0, k)));
    // Unsorted: the same elements, in the order they appear in the row.
    const auto [uv, ui] = topk(x, k, dim, largest, false);
    const Tensor order = std::get<1>(sort(si.narrow(d, 0, k), dim));
    CHECK(values(ui) == values(gather(si.narrow(d, 0, k), dim, order)));
    check_close(uv, gather(x, dim, ui), 0, 0);
  }
  const Tensor x = tensor({3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0});
  auto [v, i] = topk(x, 3);
  CHECK(values(v) == std::vector<double>{9, 6, 5});
  CHECK(int_values(i) == std::vector<std::int64_t>{5, 7, 4});
  std::tie(v, i) = topk(x, 2, 0, false);
  CHECK(values(v) == std::vector<double>{1, 1});
  CHECK(int_values(i) == std::vector<std::int64_t>{1, 3});
  // NaN counts as the largest value.
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const Tensor xn = tensor({1.0, nan, 3.0, nan, 2.0});
  CHECK(int_values(topk(xn, 2).second) == std::vector<std::int64_t>{1, 3});
  CHECK(int_values(topk(xn, 3).second) == std::vector<std::int64_t>{1, 3, 2});
  CHECK(int_values(topk(xn, 3, 0, true, false).second) == std::vector<std::int64_t>{1, 2, 3});
  CHECK(int_values(topk(xn, 2, 0, false).second) == std::vector<std::int64_t>{0, 4});
  CHECK(int_values(topk(xn, 5, 0, false).second) == std::vector<std::int64_t>{0, 4, 2, 1, 3});
  CHECK_THROWS_AS(topk(x, 9), Error);
  CHECK_THROWS_AS(topk(x, -1), Error);
  CHECK(topk(full({}, 2.0), 1).first.dim() == 0);
}

// ---- cumsum ----------------------------------------------------------------------------------------

TEST_CASE("cumsum (and the reverse scan) match the naive sums") {
  manual_seed(20);
  for (int trial = 0; trial < 48; ++trial) {
    const int rank = 1 + trial % 4;
    const Shape xs = random_shape(rank, trial % 12 == 0 ? 0 : 1, 6);
    const std::int64_t dim = rnd(-rank, rank - 1), d = dim < 0 ? dim + rank : dim;
    const bool reverse = trial % 2 == 1;
    const DType dtype = trial % 3 == 0 ? kInt64 : kFloat64;
    const Tensor x = in_layout(random_values(xs, dtype), kLayouts[trial % 3]);
    INFO("x ", shape_str(xs), " dim ", dim, " reverse ", reverse);
    const Tensor out = native::cumsum(x, dim, reverse);
    CHECK(out.dtype() == dtype);
    check_close(out, from_values(naive_cumsum(x, d, reverse), xs), 1e-12, 1e-12);
  }
  CHECK(cumsum(tensor(std::vector<bool>{true, false, true}), 0).dtype() == kInt64);
  CHECK(values(cumsum(tensor(std::vector<bool>{true, false, true}), 0)) == std::vector<double>{1, 1, 2});
  CHECK(values(cumsum(tensor({1.0, 2.0, 3.0, 4.0}, {2, 2}), 0)) == std::vector<double>{1, 2, 4, 6});
  CHECK(cumsum(full({}, 2.0), 0).item<double>() == 2.0);
  // float32 sums accumulate in double: 10^6 additions of 0.1 stay accurate.
  const Tensor tenths = full({1000000}, 0.1);
  CHECK(cumsum(tenths, 0)[-1].item<double>() == doctest::Approx(100000.0).epsilon(1e-6));
  // Long rows, and many short columns (parallel paths).
  const Tensor big = randn({300, 400}, kFloat64);
  for (std::int64_t dim : {0, 1})
    check_close(cumsum(big, dim), from_values(naive_cumsum(big, dim, false), big.sizes()), 1e-10, 1e-10);
  CHECK_THROWS_AS(cumsum(big, 2), Error);
}

// ---- unique / bincount / one_hot / embedding --------------------------------------------------

TEST_CASE("unique: sorted values, inverse and counts") {
  const Tensor x = tensor(std::vector<std::int64_t>{3, 1, 3, 2, 1, 3}, {2, 3});
  const UniqueResult u = unique(x, true, true);
  CHECK(int_values(u.values) == std::vector<std::int64_t>{1, 2, 3});
  CHECK(u.inverse.sizes() == Shape{2, 3});
  CHECK(int_values(u.inverse) == std::vector<std::int64_t>{2, 0, 2, 1, 0, 2});
  CHECK(int_values(u.counts) == std::vector<std::int64_t>{2, 1, 3});
  const UniqueResult plain = unique(x);
  CHECK(!plain.inverse.defined());
  CHECK(!plain.counts.defined());
  CHECK(unique(empty({0})).values.numel() == 0);
  CHECK(values(unique(tensor(std::vector<bool>{true, false, true}, {3})).values) == std::vector<double>{0, 1});
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const UniqueResult un = unique(tensor({2.0, nan, 1.0, 2.0, nan}), true, true);
  REQUIRE(un.values.numel() == 4);  // each NaN on its own, after the numbers
  CHECK(values(un.values.narrow(0, 0, 2)) == std::vector<double>{1, 2});
  CHECK(int_values(un.inverse) == std::vector<std::int64_t>{1, 2, 0, 1, 3});
  CHECK(int_values(un.counts) == std::vector<std::int64_t>{1, 2, 1, 1});
  CHECK(unique(tensor({2.0, nan, 1.0, 2.0, nan})).values.numel() == 4);
  // Random floats with repeats, against std::map, on a transposed input.
  manual_seed(21);
  const Tensor r = (randint(0, 40, {30, 20}).to(kFloat64) * 0.25).t();
  const UniqueResult ur = unique(r, true, true);
  std::map<double, std::int64_t> counts;
  for (double v : values(r)) ++counts[v];
  std::vector<double> keys, numbers;
  for (auto [k, n] : counts) {
    keys.push_back(k);
    numbers.push_back(static_cast<double>(n));
  }
  CHECK(values(ur.values) == keys);
  CHECK(values(ur.counts) == numbers);
  check_close(index_select(ur.values, 0, ur.inverse.reshape({-1})).reshape(r.sizes()), r, 0, 0);
}

TEST_CASE("bincount with weights and minlength") {
  const Tensor x = tensor(std::vector<std::int64_t>{0, 1, 1, 3, 1}, {5});
  CHECK(int_values(bincount(x)) == std::vector<std::int64_t>{1, 3, 0, 1});
  CHECK(bincount(x).dtype() == kInt64);
  CHECK(bincount(x, {}, 6).numel() == 6);
  const Tensor w = tensor({0.5, 1.0, 2.0, 4.0, 8.0}, {5}, kFloat64);
  CHECK(values(bincount(x, w)) == std::vector<double>{0.5, 11.0, 0.0, 4.0});
  CHECK(bincount(x, w).dtype() == kFloat64);
  CHECK(values(bincount(empty({0}, kInt64), {}, 3)) == std::vector<double>{0, 0, 0});
  CHECK(values(bincount(tensor(std::vector<std::uint8_t>{2, 2}, {2}))) == std::vector<double>{0, 0, 2});
  std::string m = error_of([] { bincount(tensor(std::vector<std::int64_t>{1, -4}, {2})); });
  CHECK(mentions(m, "-4"));
  CHECK_THROWS_AS(bincount(zeros({2, 2}, kInt64)), Error);
  CHECK_THROWS_AS(bincount(x, ones({4})), Error);
  CHECK_THROWS_AS(bincount(ones({3})), Error);
  // A long input (per-block histograms) against the naive count, with float32 weights.
  manual_seed(22);
  const Tensor big = randint(0, 100, {500000});
  const Tensor bw = rand({500000});
  std::vector<double> expected(100, 0.0), expected_w(100, 0.0);
  const auto bv = values(big), wv = values(bw);
  for (std::size_t i = 0; i < bv.size(); ++i) {
    expected[static_cast<std::size_t>(bv[i])] += 1;
    expected_w[static_cast<std::size_t>(bv[i])] += wv[i];
  }
  CHECK(values(bincount(big)) == expected);
  check_close(bincount(big, bw), from_values(expected_w, {100}), 1e-4);
}

TEST_CASE("one_hot and embedding") {
  const Tensor labels = tensor(std::vector<std::int64_t>{2, 0, 1, 2}, {2, 2});
  const Tensor h = one_hot(labels);
  CHECK(h.dtype() == kInt64);
  CHECK(h.sizes() == Shape{2, 2, 3});
  CHECK(int_values(h) == std::vector<std::int64_t>{0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 1});
  CHECK(one_hot(labels, 5).sizes() == Shape{2, 2, 5});
  CHECK(one_hot(empty({0}, kInt64), 4).sizes() == Shape{0, 4});
  CHECK(equal(one_hot(labels.t(), 3), one_hot(labels, 3).transpose(0, 1)));
  std::string m = error_of([&] { one_hot(labels, 2); });
  CHECK(mentions(m, "label 2"));
  CHECK_THROWS_AS(one_hot(empty({0}, kInt64)), Error);
  CHECK_THROWS_AS(one_hot(labels.to(kFloat32)), Error);
  CHECK_THROWS_AS(one_hot(tensor(std::vector<std::int64_t>{-1}, {1})), Error);

  const Tensor weight = arange(0.0, 12.0).reshape({4, 3});
  const Tensor ids = tensor(std::vector<std::int64_t>{3, 0, 3}, {3, 1});
  const Tensor e = embedding(weight, ids);
  CHECK(e.sizes() == Shape{3, 1, 3});
  CHECK(values(e) == std::vector<double>{9, 10, 11, 0, 1, 2, 9, 10, 11});
  CHECK(embedding(weight, full({}, 1, kInt64)).sizes() == Shape{3});
  CHECK(embedding(weight, empty({2, 0}, kInt64)).sizes() == Shape{2, 0, 3});
  m = error_of([&] { embedding(weight, tensor(std::vector<std::int64_t>{4}, {1})); });
  CHECK(mentions(m, "embedding: index 4 is out of range for dimension 0 of size 4"));
  CHECK_THROWS_AS(embedding(arange(3.0, 6.0), ids), Error);
}

// ---- gradients beyond the finite-difference table ------------------------------------------------

TEST_CASE("indexing gradients: split pieces left unused, cat of mixed dtypes, repeated rows") {
  Tensor x = arange(0.0, 6.0, 1.0, kFloat64).reshape({2, 3}).requires_grad_();
  auto pieces = split(x, 1, 1);
  (pieces[2] * 3.0).sum().backward();
  CHECK(values(x.grad()) == std::vector<double>{0, 0, 3, 0, 0, 3});

  Tensor a = ones({2}, kFloat32).requires_grad_();
  Tensor b = ones({3}, kFloat64).requires_grad_();
  Tensor c = cat({a, arange(2), b});
  CHECK(c.dtype() == kFloat64);
  (c * arange(0.0, 7.0, 1.0, kFloat64)).sum().backward();
  CHECK(a.grad().dtype() == kFloat32);
  CHECK(values(a.grad()) == std::vector<double>{0, 1});
  CHECK(values(b.grad()) == std::vector<double>{4, 5, 6});

  Tensor w = ones({3, 2}, kFloat64).requires_grad_();
  embedding(w, tensor(std::vector<std::int64_t>{2, 2, 0, 2}, {2, 2})).sum().backward();
  CHECK(values(w.grad()) == std::vector<double>{1, 1, 0, 0, 3, 3});

  // Integer results carry no gradient.
  Tensor y = randn({4}, kFloat64).requires_grad_();
  CHECK(!argsort(y).requires_grad());
  CHECK(sort(y).first.requires_grad());
  CHECK(!sort(y).second.requires_grad());
}
