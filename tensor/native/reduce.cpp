#include "cake/tensor/native/reduce.h"

#include <algorithm>

#include "cake/tensor/native/elementwise.h"
#include "cake/tensor/native/view.h"

namespace cake::native {

CAKE_DEFINE_DISPATCH(ReduceFn, reduce_stub);
CAKE_DEFINE_DISPATCH(ArgReduceFn, arg_reduce_stub);

Shape reduction_dims(const Tensor& x, const Shape& dims, const char* op) {
  const std::int64_t n = x.dim();
  Shape out;
  if (dims.empty()) {
    for (std::int64_t d = 0; d < n; ++d) out.push_back(d);
    return out;
  }
  for (std::int64_t d : dims) {
    CAKE_CHECK(d >= -n && d < n, op, ": dimension ", d, " out of range for a tensor of shape ", x.sizes());
    out.push_back(d < 0 ? d + n : d);
  }
  std::sort(out.begin(), out.end());
  CAKE_CHECK(std::adjacent_find(out.begin(), out.end()) == out.end(), op, ": dimension repeated in ", dims);
  return out;
}

Shape reduced_shape(const Shape& sizes, const Shape& dims, bool keepdim) {
  Shape out;
  for (std::size_t d = 0; d < sizes.size(); ++d) {
    const bool reduced = std::find(dims.begin(), dims.end(), static_cast<std::int64_t>(d)) != dims.end();
    if (!reduced) out.push_back(sizes[d]);
    else if (keepdim) out.push_back(1);
  }
  return out;
}

Tensor reduce(ReduceOp op, const Tensor& x, const Shape& dims_in, bool keepdim) {
  const ReduceOpInfo& row = op_info(op);
  const Shape dims = reduction_dims(x, dims_in, row.name);
  Tensor in = x;
  if (row.accumulate == Accumulate::Int64 && is_integral(x.dtype())) in = to_dtype(x, kInt64);
  CAKE_CHECK(in.dtype() != kBool, row.name, ": not supported for bool tensors (sum them as int64)");
  if (row.empty == OnEmpty::Error) {
    for (std::int64_t d : dims)
      CAKE_CHECK(x.sizes()[d] > 0, row.name, ": cannot reduce over an empty dimension ", d, " of shape ", x.sizes());
  }
  Tensor out = make_empty(reduced_shape(in.sizes(), dims, true), in.dtype(), in.device());
  reduce_stub(in.device(), op, in, dims, out);
  return keepdim ? out : view(out, reduced_shape(in.sizes(), dims, false));
}

Tensor sum(const Tensor& x, const Shape& dims, bool keepdim) { return reduce(ReduceOp::Sum, x, dims, keepdim); }

Tensor mean(const Tensor& x, const Shape& dims_in, bool keepdim) {
  CAKE_CHECK(x.is_floating_point(), "mean: expected a floating-point tensor, got ", dtype_name(x.dtype()));
  const Shape dims = reduction_dims(x, dims_in, "mean");
  std::int64_t count = 1;
  for (std::int64_t d : dims) count *= x.sizes()[d];
  Tensor s = sum(x, dims, keepdim);
  binary_(BinaryOp::Div, s, Scalar(static_cast<double>(count)));
  return s;
}

static std::pair<Tensor, Tensor> arg_reduce(bool is_max, const Tensor& x, std::int64_t dim, bool keepdim) {
  const char* name = is_max ? "max" : "min";
  const Shape dims = reduction_dims(x, {dim}, name);
  const std::int64_t d = dims[0];
  CAKE_CHECK(x.sizes()[d] > 0, name, ": cannot reduce over an empty dimension ", d, " of shape ", x.sizes());
  const Shape kept = reduced_shape(x.sizes(), dims, true);
  Tensor values = make_empty(kept, x.dtype(), x.device());
  Tensor indices = make_empty(kept, kInt64, x.device());
  arg_reduce_stub(x.device(), is_max, x, d, values, indices);
  if (!keepdim) {
    const Shape squeezed = reduced_shape(x.sizes(), dims, false);
    values = view(values, squeezed);
    indices = view(indices, squeezed);
  }
  return {values, indices};
}

std::pair<Tensor, Tensor> max_with_indices(const Tensor& x, std::int64_t dim, bool keepdim) {
  return arg_reduce(true, x, dim, keepdim);
}
std::pair<Tensor, Tensor> min_with_indices(const Tensor& x, std::int64_t dim, bool keepdim) {
  return arg_reduce(false, x, dim, keepdim);
}

Tensor sum_to(const Tensor& grad, const Shape& shape) {
  if (grad.sizes() == shape) return grad;
  const std::int64_t lead = grad.dim() - static_cast<std::int64_t>(shape.size());
  CAKE_CHECK(lead >= 0, "sum_to: cannot reduce shape ", grad.sizes(), " to ", shape);
  Shape dims;
  for (std::int64_t d = 0; d < grad.dim(); ++d) {
    if (d < lead) dims.push_back(d);
    else if (shape[d - lead] == 1 && grad.sizes()[d] != 1) dims.push_back(d);
    else CAKE_CHECK(shape[d - lead] == grad.sizes()[d], "sum_to: cannot reduce shape ", grad.sizes(), " to ", shape);
  }
  if (dims.empty()) return view(grad, shape);
  Tensor out = sum(grad, dims, true);
  return view(out, shape);
}

}  // namespace cake::native
