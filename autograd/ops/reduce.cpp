// autograd/ops/reduce.cpp: differentiable reductions.
//
// The backward of a reduction broadcasts the gradient back over the reduced dims: for sum the
// gradient is copied to every element, for mean it is divided by the count, for max/min it goes
// to the elements equal to the extreme (split evenly between ties, as PyTorch's amax).
// var, std, logsumexp and norm are composites of the primitives, so they need no backward here.
// The backwards use differentiable ops (reshape, expand, multiplication by a constant mask), so
// they are recorded in a create_graph backward and second derivatives work.
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

Tensor prod(const Tensor& x, const Shape& dims, bool keepdim) {
  return native::reduce(native::ReduceOp::Prod, x, dims, keepdim);
}

}  // namespace cake
