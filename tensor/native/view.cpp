#include "cake/tensor/native/view.h"

#include <algorithm>

#include "cake/tensor/native/elementwise.h"

namespace cake::native {

std::int64_t wrap_dim(std::int64_t dim, std::int64_t ndim, const char* op) {
  const std::int64_t n = std::max<std::int64_t>(ndim, 1);
  CAKE_CHECK(dim >= -n && dim < n, op, ": dimension ", dim, " out of range for ", ndim, "-d tensor");
  return dim < 0 ? dim + n : dim;
}

Shape infer_shape(const Shape& shape, std::int64_t numel, const Shape& from, const char* op) {
  Shape out = shape;
  std::int64_t known = 1, infer = -1;
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (out[i] == -1) {
      CAKE_CHECK(infer < 0, op, ": only one dimension can be -1 in ", shape);
      infer = static_cast<std::int64_t>(i);
    } else {
      CAKE_CHECK(out[i] >= 0, op, ": invalid size ", out[i], " in ", shape);
      known *= out[i];
    }
  }
  if (infer >= 0) {
    CAKE_CHECK(known != 0 && numel % known == 0, op, ": shape ", shape, " is invalid for input of shape ", from);
    out[infer] = numel / known;
  }
  CAKE_CHECK(shape_numel(out) == numel, op, ": shape ", shape, " is invalid for input of shape ", from, " (", numel,
             " elements)");
  return out;
}

// Strides for viewing x (sizes/strides) as `shape` without a copy, if any exist: each run of
// input dims that is contiguous in memory may be re-split freely (PyTorch's computeStride).
static std::optional<Shape> view_strides(const Shape& sizes, const Shape& strides, const Shape& shape) {
  Shape out(shape.size());
  if (shape_numel(sizes) == 0 || sizes.empty()) return contiguous_strides(shape);
  std::int64_t view_d = static_cast<std::int64_t>(shape.size()) - 1;
  std::int64_t chunk_base_stride = strides.back();
  std::int64_t tensor_numel = 1, view_numel = 1;
  for (std::int64_t d = static_cast<std::int64_t>(sizes.size()) - 1; d >= 0; --d) {
    tensor_numel *= sizes[d];
    if (d == 0 || (sizes[d - 1] != 1 && strides[d - 1] != tensor_numel * chunk_base_stride)) {
      while (view_d >= 0 && (view_numel < tensor_numel || shape[view_d] == 1)) {
        out[view_d] = view_numel * chunk_base_stride;
        view_numel *= shape[view_d];
        --view_d;
      }
      if (view_numel != tensor_numel) return std::nullopt;
      if (d > 0) {
        chunk_base_stride = strides[d - 1];
        tensor_numel = 1;
        view_numel = 1;
      }
    }
  }
  if (view_d != -1) return std::nullopt;
  return out;
}

Tensor view(const Tensor& x, const Shape& shape_in) {
  const Shape shape = infer_shape(shape_in, x.numel(), x.sizes(), "view");
  auto strides = view_strides(x.sizes(), x.strides(), shape);
  CAKE_CHECK(strides.has_value(), "view: shape ", shape_in, " is incompatible with the strides ", x.strides(),
             " of a tensor of shape ", x.sizes(), "; use reshape() (which may copy) or contiguous() first");
  return make_view(x, shape, *strides, x.storage_offset());
}

Tensor reshape(const Tensor& x, const Shape& shape_in) {
  const Shape shape = infer_shape(shape_in, x.numel(), x.sizes(), "reshape");
  if (auto strides = view_strides(x.sizes(), x.strides(), shape)) return make_view(x, shape, *strides, x.storage_offset());
  return view(clone(x), shape);
}

Tensor transpose(const Tensor& x, std::int64_t dim0, std::int64_t dim1) {
  const std::int64_t n = x.dim();
  if (n == 0) return x;
  dim0 = wrap_dim(dim0, n, "transpose");
  dim1 = wrap_dim(dim1, n, "transpose");
  Shape sizes = x.sizes(), strides = x.strides();
  std::swap(sizes[dim0], sizes[dim1]);
  std::swap(strides[dim0], strides[dim1]);
  return make_view(x, sizes, strides, x.storage_offset());
}

Tensor permute(const Tensor& x, const Shape& dims) {
  const std::int64_t n = x.dim();
  CAKE_CHECK(static_cast<std::int64_t>(dims.size()) == n, "permute: got ", dims.size(), " dims ", dims,
             " for a tensor of shape ", x.sizes());
  Shape sizes(n), strides(n);
  std::vector<bool> seen(n, false);
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t d = wrap_dim(dims[i], n, "permute");
    CAKE_CHECK(!seen[d], "permute: dimension ", d, " repeated in ", dims);
    seen[d] = true;
    sizes[i] = x.sizes()[d];
    strides[i] = x.strides()[d];
  }
  return make_view(x, sizes, strides, x.storage_offset());
}

Tensor slice(const Tensor& x, std::int64_t dim, std::int64_t start, std::int64_t end, std::int64_t step) {
  CAKE_CHECK(x.dim() > 0, "slice: cannot slice a 0-d tensor");
  dim = wrap_dim(dim, x.dim(), "slice");
  CAKE_CHECK(step > 0, "slice: step must be positive, got ", step);
  const std::int64_t size = x.sizes()[dim];
  if (start < 0) start += size;
  if (end < 0) end += size;
  start = std::clamp<std::int64_t>(start, 0, size);
  end = std::clamp<std::int64_t>(end, start, size);
  Shape sizes = x.sizes(), strides = x.strides();
  sizes[dim] = (end - start + step - 1) / step;
  strides[dim] *= step;
  return make_view(x, sizes, strides, x.storage_offset() + start * x.strides()[dim]);
}

Tensor narrow(const Tensor& x, std::int64_t dim, std::int64_t start, std::int64_t length) {
  CAKE_CHECK(x.dim() > 0, "narrow: cannot narrow a 0-d tensor");
  dim = wrap_dim(dim, x.dim(), "narrow");
  const std::int64_t size = x.sizes()[dim];
  if (start < 0) start += size;
  CAKE_CHECK(start >= 0 && length >= 0 && start + length <= size, "narrow: range [", start, ", ", start + length,
             ") out of bounds for dimension ", dim, " of size ", size, " (shape ", x.sizes(), ")");
  Shape sizes = x.sizes();
  sizes[dim] = length;
  return make_view(x, sizes, x.strides(), x.storage_offset() + start * x.strides()[dim]);
}

Tensor select(const Tensor& x, std::int64_t dim, std::int64_t index) {
  CAKE_CHECK(x.dim() > 0, "select: cannot index a 0-d tensor");
  dim = wrap_dim(dim, x.dim(), "select");
  const std::int64_t size = x.sizes()[dim];
  CAKE_CHECK(index >= -size && index < size, "select: index ", index, " out of range for dimension ", dim,
             " of size ", size, " (shape ", x.sizes(), ")");
  if (index < 0) index += size;
  Shape sizes = x.sizes(), strides = x.strides();
  const std::int64_t offset = x.storage_offset() + index * strides[dim];
  sizes.erase(sizes.begin() + dim);
  strides.erase(strides.begin() + dim);
  return make_view(x, sizes, strides, offset);
}

Tensor unsqueeze(const Tensor& x, std::int64_t dim) {
  dim = wrap_dim(dim, x.dim() + 1, "unsqueeze");
  Shape sizes = x.sizes(), strides = x.strides();
  const std::int64_t stride = dim < x.dim() ? sizes[dim] * strides[dim] : 1;
  sizes.insert(sizes.begin() + dim, 1);
  strides.insert(strides.begin() + dim, stride);
  return make_view(x, sizes, strides, x.storage_offset());
}

Tensor squeeze(const Tensor& x) {
  Shape sizes, strides;
  for (std::int64_t d = 0; d < x.dim(); ++d) {
    if (x.sizes()[d] == 1) continue;
    sizes.push_back(x.sizes()[d]);
    strides.push_back(x.strides()[d]);
  }
  return make_view(x, sizes, strides, x.storage_offset());
}

Tensor squeeze(const Tensor& x, std::int64_t dim) {
  if (x.dim() == 0) return x;
  dim = wrap_dim(dim, x.dim(), "squeeze");
  if (x.sizes()[dim] != 1) return x;
  Shape sizes = x.sizes(), strides = x.strides();
  sizes.erase(sizes.begin() + dim);
  strides.erase(strides.begin() + dim);
  return make_view(x, sizes, strides, x.storage_offset());
}

Tensor expand(const Tensor& x, const Shape& shape) {
  const std::int64_t n = static_cast<std::int64_t>(shape.size()), k = x.dim();
  CAKE_CHECK(n >= k, "expand: cannot expand shape ", x.sizes(), " to fewer dimensions ", shape);
  Shape sizes(n), strides(n);
  for (std::int64_t i = n - 1; i >= 0; --i) {
    const std::int64_t j = i - (n - k);
    const std::int64_t have = j >= 0 ? x.sizes()[j] : 1;
    std::int64_t want = shape[i];
    if (want == -1) {
      CAKE_CHECK(j >= 0, "expand: -1 is not allowed in a new leading dimension (", shape, ")");
      want = have;
    }
    CAKE_CHECK(have == want || have == 1, "expand: the expanded size ", want, " must match the existing size ", have,
               " at dimension ", i, " (", x.sizes(), " to ", shape, ")");
    sizes[i] = want;
    strides[i] = (j >= 0 && have == want) ? x.strides()[j] : 0;
  }
  return make_view(x, sizes, strides, x.storage_offset());
}

Tensor as_strided(const Tensor& x, const Shape& sizes, const Shape& strides, std::int64_t offset) {
  return make_view(x, sizes, strides, offset);
}

}  // namespace cake::native
