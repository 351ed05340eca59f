// autograd/ops/reduce.cpp: differentiable reductions.
//
// The backward of a reduction broadcasts the gradient back over the reduced dims: for sum the
// gradient is copied to every element, for mean it is divided by the count, for max/min it goes
// to the elements equal to the extreme (split evenly between ties, as PyTorch's amax).
// var, std, logsumexp and norm are composites of the primitives, so they need no backward here.
// The backwards use differentiable ops (reshape, expand, multiplication by a constant mask), so
// they are recorded in a create_graph backward and second derivatives work.
#include <algorithm>
#include <cmath>

#include "cake/autograd/function.h"
#include "cake/autograd/ops.h"
#include "cake/tensor/creation.h"
#include "cake/tensor/native/elementwise.h"
#include "cake/tensor/native/reduce.h"
#include "cake/tensor/native/view.h"

namespace cake {

using autograd::needs_grad;
using autograd::record;
using autograd::SavedTensor;
using autograd::TensorList;

namespace {
// g has the reduced shape (keepdim or not); returns it with the reduced dims as size 1.
Tensor unsqueeze_reduced(const Tensor& g, const Shape& input_sizes, const Shape& dims) {
  return reshape(g, native::reduced_shape(input_sizes, dims, true));
}
std::int64_t count_of(const Shape& sizes, const Shape& dims) {
  std::int64_t n = 1;
  for (std::int64_t d : dims) n *= sizes[d];
  return n;
}
}  // namespace

Tensor sum(const Tensor& x, const Shape& dims_in, bool keepdim) {
  const Shape dims = native::reduction_dims(x, dims_in, "sum");
  Tensor y = native::sum(x, dims, keepdim);
  if (needs_grad({x})) {
    record("SumBackward", {x}, {y}, [dims, s = x.sizes()](const TensorList& g) {
      return TensorList{contiguous(expand(unsqueeze_reduced(g[0], s, dims), s))};
    });
  }
  return y;
}

Tensor mean(const Tensor& x, const Shape& dims_in, bool keepdim) {
  const Shape dims = native::reduction_dims(x, dims_in, "mean");
  Tensor y = native::mean(x, dims, keepdim);
  if (needs_grad({x})) {
    record("MeanBackward", {x}, {y}, [dims, s = x.sizes()](const TensorList& g) {
      const double scale = 1.0 / static_cast<double>(std::max<std::int64_t>(count_of(s, dims), 1));
      Tensor expanded = expand(unsqueeze_reduced(g[0], s, dims), s);
      return TensorList{expanded * scale};
    });
  }
  return y;
}

// var = sum((x - mean)^2) / (n - correction), as a composite (two passes, numerically stable).
Tensor var(const Tensor& x, const Shape& dims_in, bool keepdim, std::int64_t correction) {
  const Shape dims = native::reduction_dims(x, dims_in, "var");
  const std::int64_t n = count_of(x.sizes(), dims);
  Tensor centred = x - mean(x, dims, true);
  const double denom = static_cast<double>(std::max<std::int64_t>(n - correction, 0));
  return sum(centred * centred, dims, keepdim) / denom;
}

Tensor std(const Tensor& x, const Shape& dims, bool keepdim, std::int64_t correction) {
  return sqrt(var(x, dims, keepdim, correction));
}

static Tensor extreme(const char* name, native::ReduceOp op, const Tensor& x, const Shape& dims_in, bool keepdim) {
  const Shape dims = native::reduction_dims(x, dims_in, name);
  Tensor y = native::reduce(op, x, dims, keepdim);
  if (needs_grad({x})) {
    record(name, {x}, {y}, [dims, sx = SavedTensor(x), sy = SavedTensor(y)](const TensorList& g) {
      // The share of each element is a constant (a mask over the extremes), so only g carries
      // a graph here.
      const Tensor xv = sx.get().detach();
      Tensor y_full = native::expand(native::reshape(sy.get().detach(), native::reduced_shape(xv.sizes(), dims, true)),
                                     xv.sizes());
      Tensor hit = native::to_dtype(native::binary(native::BinaryOp::Eq, xv, y_full), xv.dtype());
      Tensor count = native::sum(hit, dims, true);
      Tensor share = native::binary(native::BinaryOp::Div, hit, count);
      return TensorList{share * unsqueeze_reduced(g[0], xv.sizes(), dims)};
    });
  }
  return y;
}
Tensor amax(const Tensor& x, const Shape& dims, bool keepdim) { return extreme("AmaxBackward", native::ReduceOp::Max, x, dims, keepdim); }
Tensor amin(const Tensor& x, const Shape& dims, bool keepdim) { return extreme("AminBackward", native::ReduceOp::Min, x, dims, keepdim); }

// max/min along a dim with indices: the gradient goes to the selected index only.
static std::pair<Tensor, Tensor> extreme_with_indices(bool is_max, const Tensor& x, std::int64_t dim, bool keepdim) {
  auto [values, indices] = is_max ? native::max_with_indices(x, dim, keepdim) : native::min_with_indices(x, dim, keepdim);
  if (needs_grad({x})) {
    const std::int64_t d = native::wrap_dim(dim, x.dim(), is_max ? "max" : "min");
    record(is_max ? "MaxBackward" : "MinBackward", {x}, {values},
           [d, s = x.sizes(), idx = SavedTensor(indices)](const TensorList& g) {
             Tensor grad = zeros(s, {g[0].dtype(), g[0].device()});
             Tensor gk = reshape(g[0], native::reduced_shape(s, {d}, true));
             Tensor ik = native::reshape(idx.get(), native::reduced_shape(s, {d}, true));
             return TensorList{scatter_add(grad, d, ik, gk)};
           });
  }
  return {values, indices};
}
std::pair<Tensor, Tensor> max(const Tensor& x, std::int64_t dim, bool keepdim) { return extreme_with_indices(true, x, dim, keepdim); }
std::pair<Tensor, Tensor> min(const Tensor& x, std::int64_t dim, bool keepdim) { return extreme_with_indices(false, x, dim, keepdim); }

Tensor argmax(const Tensor& x, std::optional<std::int64_t> dim, bool keepdim) {
  if (!dim) return native::max_with_indices(native::reshape(x, {-1}), 0, false).second;
  return native::max_with_indices(x, *dim, keepdim).second;
}
Tensor argmin(const Tensor& x, std::optional<std::int64_t> dim, bool keepdim) {
  if (!dim) return native::min_with_indices(native::reshape(x, {-1}), 0, false).second;
  return native::min_with_indices(x, *dim, keepdim).second;
}

// log sum exp(x) = m + log sum exp(x - m) with m the max (detached: the identity holds for
// any m, so its gradient contributions cancel exactly; detaching keeps them out of the graph).
Tensor logsumexp(const Tensor& x, const Shape& dims_in, bool keepdim) {
  const Shape dims = native::reduction_dims(x, dims_in, "logsumexp");
  Tensor m = native::reduce(native::ReduceOp::Max, x, dims, true);
  // Rows that are all -inf would give inf - inf = nan; shift them by 0 instead.
  m = native::where(native::unary(native::UnaryOp::IsFinite, m), m, zeros_like(m));
  Tensor out = log(sum(exp(x - m), dims, true)) + m;
  return keepdim ? out : reshape(out, native::reduced_shape(x.sizes(), dims, false));
}

// p-norm: (sum |x|^p)^(1/p); p = inf gives max |x|. The 2-norm's gradient at 0 is taken as 0.
Tensor norm(const Tensor& x, double p, const Shape& dims, bool keepdim) {
  if (std::isinf(p)) return p > 0 ? amax(abs(x), dims, keepdim) : amin(abs(x), dims, keepdim);
  if (p == 2.0) {
    Tensor ss = sum(x * x, dims, keepdim);
    return sqrt(ss);
  }
  if (p == 1.0) return sum(abs(x), dims, keepdim);
  return pow(sum(pow(abs(x), p), dims, keepdim), 1.0 / p);
}

// Whether any / every element over dims is nonzero: a count of the nonzero ones, compared with
// 0 or with the number of elements counted. Bool, no grad (an empty dim gives false / true).
namespace {
Tensor nonzero_count(const Tensor& x, const Shape& dims, bool keepdim) {
  return native::sum(x.ne(0).to(kInt64), dims, keepdim);
}
std::int64_t counted(const Tensor& x, const Shape& dims) {
  if (dims.empty()) return x.numel();
  std::int64_t n = 1;
  for (std::int64_t d : dims) n *= x.size(native::wrap_dim(d, x.dim(), "all"));
  return n;
}
}  // namespace
Tensor any(const Tensor& x, const Shape& dims, bool keepdim) { return nonzero_count(x, dims, keepdim).gt(0); }
Tensor all(const Tensor& x, const Shape& dims, bool keepdim) {
  return nonzero_count(x, dims, keepdim).eq(counted(x, dims));
}

// d prod / dx_i = the product of the other elements of x_i's group. Computed as the product of
// those before it times those after it (exclusive running products from both ends), which holds
// with zeros too, where y / x_i would divide by zero.
namespace {
// The exclusive running product along the last dim: out[..., i] = v[..., 0] * ... * v[..., i-1].
Tensor exclusive_cumprod(const Tensor& v) {
  const std::int64_t n = v.size(-1);
  return cumprod(cat({ones_like(narrow(v, -1, 0, 1)), narrow(v, -1, 0, n - 1)}, -1), -1);
}
Tensor products_of_others(const Tensor& x, const Shape& dims) {
  Shape order, kept_sizes;
  for (std::int64_t d = 0; d < x.dim(); ++d) {
    if (std::find(dims.begin(), dims.end(), d) == dims.end()) {
      order.push_back(d);
      kept_sizes.push_back(x.size(d));
    }
  }
  order.insert(order.end(), dims.begin(), dims.end());
  Shape grouped_sizes = kept_sizes;
  grouped_sizes.push_back(count_of(x.sizes(), dims));
  const Tensor grouped = reshape(permute(x, order), grouped_sizes);  // [kept..., group]
  const Tensor before = exclusive_cumprod(grouped);
  const Tensor after = flip(exclusive_cumprod(flip(grouped, {-1})), {-1});
  Shape permuted_sizes;
  for (std::int64_t d : order) permuted_sizes.push_back(x.size(d));
  Shape inverse(order.size());
  for (std::size_t i = 0; i < order.size(); ++i) inverse[static_cast<std::size_t>(order[i])] = static_cast<std::int64_t>(i);
  return permute(reshape(before * after, permuted_sizes), inverse);
}
}  // namespace

Tensor prod(const Tensor& x, const Shape& dims_in, bool keepdim) {
  Tensor y = native::reduce(native::ReduceOp::Prod, x, dims_in, keepdim);
  if (needs_grad({x})) {
    const Shape dims = native::reduction_dims(x, dims_in, "prod");
    record("ProdBackward", {x}, {y}, [dims, sx = SavedTensor(x)](const TensorList& g) {
      const Tensor xv = sx.get();
      if (xv.numel() == 0) return TensorList{zeros_like(xv)};
      return TensorList{expand(unsqueeze_reduced(g[0], xv.sizes(), dims), xv.sizes()) * products_of_others(xv, dims)};
    });
  }
  return y;
}

// ---- NaN-skipping and paired reductions ------------------------------------------------------
Tensor nansum(const Tensor& x, const Shape& dims, bool keepdim) {
  if (!is_floating(x.dtype())) return sum(x, dims, keepdim);
  return sum(where(isnan(x), zeros_like(x), x), dims, keepdim);
}

// The sum of the non-NaN elements over their count (NaN where there are none: 0 / 0).
Tensor nanmean(const Tensor& x, const Shape& dims, bool keepdim) {
  CAKE_CHECK(is_floating(x.dtype()), "nanmean: expected a floating-point tensor, got ", dtype_name(x.dtype()));
  const Tensor counted_elements = native::sum(logical_not(isnan(x)).to(x.dtype()), native::reduction_dims(x, dims, "nanmean"), keepdim);
  return nansum(x, dims, keepdim) / counted_elements;
}

Tensor count_nonzero(const Tensor& x, const Shape& dims) {
  return nonzero_count(x, native::reduction_dims(x, dims, "count_nonzero"), false);
}

std::pair<Tensor, Tensor> var_mean(const Tensor& x, const Shape& dims, bool keepdim, std::int64_t correction) {
  return {var(x, dims, keepdim, correction), mean(x, dims, keepdim)};
}
std::pair<Tensor, Tensor> std_mean(const Tensor& x, const Shape& dims, bool keepdim, std::int64_t correction) {
  return {std(x, dims, keepdim, correction), mean(x, dims, keepdim)};
}

std::pair<Tensor, Tensor> aminmax(const Tensor& x, std::optional<std::int64_t> dim, bool keepdim) {
  const Shape dims = dim ? Shape{*dim} : Shape{};
  return {amin(x, dims, keepdim), amax(x, dims, keepdim)};
}

}  // namespace cake
