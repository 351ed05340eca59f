// autograd/ops/view.cpp: differentiable views and shape changes.
//
// A view's backward maps the gradient of the view back to the input's shape: a reshape reshapes
// back, a transpose transposes back, a narrow/select/slice writes the gradient into the right
// place of a zero tensor, an expand sums over the expanded dims. Each backward is made of
// differentiable ops (the views themselves, autograd::sum_to, and embed below), so the
// backward of a view can be recorded (create_graph) and differentiated again.
#include <algorithm>

#include "cake/autograd/function.h"
#include "cake/autograd/ops.h"
#include "cake/tensor/creation.h"
#include "cake/tensor/native/elementwise.h"
#include "cake/tensor/native/reduce.h"
#include "cake/tensor/native/view.h"

namespace cake {

using autograd::needs_grad;
using autograd::record;
using autograd::TensorList;


Tensor view(const Tensor& x, const Shape& shape) {
  Tensor y = native::view(x, shape);
  if (needs_grad({x}))
    record("ViewBackward", {x}, {y}, [s = x.sizes()](const TensorList& g) { return TensorList{reshape(g[0], s)}; });
  return y;
}

Tensor reshape(const Tensor& x, const Shape& shape) {
  Tensor y = native::reshape(x, shape);
  if (needs_grad({x}))
    record("ReshapeBackward", {x}, {y}, [s = x.sizes()](const TensorList& g) { return TensorList{reshape(g[0], s)}; });
  return y;
}

Tensor transpose(const Tensor& x, std::int64_t dim0, std::int64_t dim1) {
  Tensor y = native::transpose(x, dim0, dim1);
  if (needs_grad({x}))
    record("TransposeBackward", {x}, {y},
           [dim0, dim1](const TensorList& g) { return TensorList{transpose(g[0], dim0, dim1)}; });
  return y;
}

Tensor permute(const Tensor& x, const Shape& dims) {
  Tensor y = native::permute(x, dims);
  if (needs_grad({x})) {
    Shape inverse(dims.size());
    for (std::size_t i = 0; i < dims.size(); ++i)
      inverse[native::wrap_dim(dims[i], x.dim(), "permute")] = static_cast<std::int64_t>(i);
    record("PermuteBackward", {x}, {y}, [inverse](const TensorList& g) { return TensorList{permute(g[0], inverse)}; });
  }
  return y;
}

// Views that pick part of x (narrow, slice, select): the gradient lands in the same part of a
// zero tensor of x's shape.
using PartView = Tensor (*)(const Tensor&, const Shape&);
static Tensor part_view(const char* name, const Tensor& x, PartView make, const Shape& args);

// The adjoint of a part view: g written into the same part of a zero tensor of shape s. Its
// own backward is the part view again, so the pair differentiates to any order.
static Tensor embed(const Tensor& g, PartView make, const Shape& args, const Shape& s) {
  Tensor full = zeros(s, {g.dtype(), g.device()});
  native::copy_(make(full, args), g);
  if (needs_grad({g}))
    record("EmbedBackward", {g}, {full},
           [make, args](const TensorList& gg) { return TensorList{part_view("PartViewBackward", gg[0], make, args)}; });
  return full;
}

static Tensor part_view(const char* name, const Tensor& x, PartView make, const Shape& args) {
  Tensor y = make(x, args);
  if (needs_grad({x})) {
    record(name, {x}, {y},
           [make, args, s = x.sizes()](const TensorList& g) { return TensorList{embed(g[0], make, args, s)}; });
  }
  return y;
}

Tensor narrow(const Tensor& x, std::int64_t dim, std::int64_t start, std::int64_t length) {
  return part_view("NarrowBackward", x,
                   [](const Tensor& t, const Shape& a) { return native::narrow(t, a[0], a[1], a[2]); }, {dim, start, length});
}
Tensor slice(const Tensor& x, std::int64_t dim, std::int64_t start, std::int64_t end, std::int64_t step) {
  return part_view("SliceBackward", x,
                   [](const Tensor& t, const Shape& a) { return native::slice(t, a[0], a[1], a[2], a[3]); },
                   {dim, start, end, step});
}
Tensor select(const Tensor& x, std::int64_t dim, std::int64_t index) {
  return part_view("SelectBackward", x, [](const Tensor& t, const Shape& a) { return native::select(t, a[0], a[1]); },
                   {dim, index});
}

// The diagonal of dims a[1], a[2] with offset a[0] as a strided view: x's other dims, then the
// diagonal, whose stride is the sum of the two dims' strides (one step down and one right).
static Tensor diagonal_view(const Tensor& t, const Shape& a) {
  const std::int64_t offset = a[0], dim1 = a[1], dim2 = a[2];
  Shape sizes, strides;
  for (std::int64_t d = 0; d < t.dim(); ++d) {
    if (d == dim1 || d == dim2) continue;
    sizes.push_back(t.size(d));
    strides.push_back(t.stride(d));
  }
  const std::int64_t rows = t.size(dim1), cols = t.size(dim2);
  const std::int64_t length = std::max<std::int64_t>(0, offset >= 0 ? std::min(rows, cols - offset) : std::min(rows + offset, cols));
  std::int64_t start = t.storage_offset();
  if (length > 0) start += offset >= 0 ? offset * t.stride(dim2) : -offset * t.stride(dim1);
  sizes.push_back(length);
  strides.push_back(t.stride(dim1) + t.stride(dim2));
  return native::as_strided(t, sizes, strides, start);
}

Tensor diagonal(const Tensor& x, std::int64_t offset, std::int64_t dim1, std::int64_t dim2) {
  CAKE_CHECK(x.dim() >= 2, "diagonal: expected a tensor with at least 2 dims, got shape ", x.sizes());
  dim1 = native::wrap_dim(dim1, x.dim(), "diagonal");
  dim2 = native::wrap_dim(dim2, x.dim(), "diagonal");
  CAKE_CHECK(dim1 != dim2, "diagonal: dim1 and dim2 are both ", dim1);
  return part_view("DiagonalBackward", x, &diagonal_view, {offset, dim1, dim2});
}

Tensor unsqueeze(const Tensor& x, std::int64_t dim) {
  Tensor y = native::unsqueeze(x, dim);
  if (needs_grad({x}))
    record("UnsqueezeBackward", {x}, {y}, [s = x.sizes()](const TensorList& g) { return TensorList{reshape(g[0], s)}; });
  return y;
}
Tensor squeeze(const Tensor& x) {
  Tensor y = native::squeeze(x);
  if (needs_grad({x}))
    record("SqueezeBackward", {x}, {y}, [s = x.sizes()](const TensorList& g) { return TensorList{reshape(g[0], s)}; });
  return y;
}
Tensor squeeze(const Tensor& x, std::int64_t dim) {
  Tensor y = native::squeeze(x, dim);
  if (needs_grad({x}))
    record("SqueezeBackward", {x}, {y}, [s = x.sizes()](const TensorList& g) { return TensorList{reshape(g[0], s)}; });
  return y;
}

Tensor expand(const Tensor& x, const Shape& shape) {
  Tensor y = native::expand(x, shape);
  if (needs_grad({x}))
    record("ExpandBackward", {x}, {y}, [s = x.sizes()](const TensorList& g) { return TensorList{autograd::sum_to(g[0], s)}; });
  return y;
}
Tensor broadcast_to(const Tensor& x, const Shape& shape) { return expand(x, shape); }

Tensor flatten(const Tensor& x, std::int64_t start_dim, std::int64_t end_dim) {
  if (x.dim() == 0) return reshape(x, {1});
  start_dim = native::wrap_dim(start_dim, x.dim(), "flatten");
  end_dim = native::wrap_dim(end_dim, x.dim(), "flatten");
  CAKE_CHECK(start_dim <= end_dim, "flatten: start_dim ", start_dim, " is after end_dim ", end_dim);
  Shape shape;
  std::int64_t merged = 1;
  for (std::int64_t d = 0; d < x.dim(); ++d) {
    if (d < start_dim || d > end_dim) {
      shape.push_back(x.sizes()[d]);
    } else {
      merged *= x.sizes()[d];
      if (d == end_dim) shape.push_back(merged);
    }
  }
  return reshape(x, shape);
}

// Reverses each named dim by reading it through the index list n-1, ..., 0: index_select, so
// the gradient is index_select's (the same reversal of the gradient).
Tensor flip(const Tensor& x, const Shape& dims) {
  std::vector<bool> flipped(static_cast<std::size_t>(x.dim()), false);
  Tensor y = x;
  for (std::int64_t given : dims) {
    const std::int64_t d = native::wrap_dim(given, x.dim(), "flip");
    CAKE_CHECK(!flipped[static_cast<std::size_t>(d)], "flip: dim ", d, " appears more than once in ", dims);
    flipped[static_cast<std::size_t>(d)] = true;
    const std::int64_t n = x.size(d);
    y = index_select(y, d, arange(static_cast<double>(n - 1), -1.0, -1.0, kInt64).to(x.device()));
  }
  return y;
}

// Tiling as a view and one copy: x (with leading ones added to reach repeats.size() dims) is
// viewed as [1, s0, 1, s1, ...], expanded to [r0, s0, r1, s1, ...] and reshaped to
// [r0 s0, r1 s1, ...]. The gradient is expand's and reshape's: copies summed back.
Tensor repeat(const Tensor& x, const Shape& repeats) {
  CAKE_CHECK(static_cast<std::int64_t>(repeats.size()) >= x.dim(), "repeat: ", repeats.size(),
             " repeat counts for a tensor of shape ", x.sizes(), "; give at least one per dimension");
  const std::size_t n = repeats.size(), added = n - static_cast<std::size_t>(x.dim());
  Shape interleaved, expanded, tiled;
  for (std::size_t d = 0; d < n; ++d) {
    CAKE_CHECK(repeats[d] >= 0, "repeat: counts must be >= 0, got ", repeats);
    const std::int64_t size = d < added ? 1 : x.size(static_cast<std::int64_t>(d - added));
    interleaved.push_back(1), interleaved.push_back(size);
    expanded.push_back(repeats[d]), expanded.push_back(size);
    tiled.push_back(repeats[d] * size);
  }
  return reshape(expand(reshape(x, interleaved), expanded), tiled);
}

// The last `shift` elements (modulo the size), then the rest: cat of two narrows, so the
// gradient is rolled back by the same two pieces.
Tensor roll(const Tensor& x, std::int64_t shift, std::int64_t dim) {
  CAKE_CHECK(x.dim() > 0, "roll: expected an input with at least one dimension, got a 0-d tensor");
  const std::int64_t d = native::wrap_dim(dim, x.dim(), "roll"), n = x.size(d);
  const std::int64_t s = n == 0 ? 0 : ((shift % n) + n) % n;
  if (s == 0) return clone(x);
  return cat({narrow(x, d, n - s, s), narrow(x, d, 0, n - s)}, d);
}

Tensor contiguous(const Tensor& x) { return x.is_contiguous() ? x : clone(x); }

Tensor clone(const Tensor& x) {
  Tensor y = native::clone(x);
  if (needs_grad({x})) record("CloneBackward", {x}, {y}, [](const TensorList& g) { return TensorList{g[0]}; });
  return y;
}

Tensor to(const Tensor& x, Device device, DType dtype) {
  if (x.device() == device && x.dtype() == dtype) return x;
  Tensor y = native::to_dtype(native::to_device(x, device), dtype);
  if (needs_grad({x}) && is_floating(dtype)) {
    record("ToBackward", {x}, {y}, [d = x.device(), t = x.dtype()](const TensorList& g) {
      return TensorList{to(g[0], d, t)};
    });
  }
  return y;
}

}  // namespace cake
