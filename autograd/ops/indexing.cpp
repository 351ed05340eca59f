// autograd/ops/indexing.cpp: differentiable indexing, gathering, joining, sorting and scans.
//
// The backward rules pair up (NOTE [ Gather and scatter are the two index primitives ] in
// tensor/native/indexing.h): what reads x at some indices sends its gradient back by adding at
// the same indices, and what adds at some indices receives its gradient by reading there.
//   gather        <->  scatter_add        index_select  <->  index_add
//   masked_select <->  masked_scatter     cat           <->  narrow (split is cat's adjoint)
//   scatter: src's gradient is read back with gather; x's is zeroed where scatter wrote
//   scatter_reduce: as scatter_add for sum, scaled for mean, shared among ties for amax/amin,
//                   times the other members' product for prod
// sort and topk read x at their indices, so their values' gradient is scattered back the same
// way. Integer outputs (indices, counts, one_hot) never carry a gradient.
#include <algorithm>
#include <string>
#include <string_view>

#include "cake/autograd/function.h"
#include "cake/autograd/ops.h"
#include "cake/tensor/creation.h"
#include "cake/tensor/native/elementwise.h"
#include "cake/tensor/native/indexing.h"
#include "cake/tensor/native/reduce.h"
#include "cake/tensor/native/view.h"

namespace cake {

using autograd::needs_grad;
using autograd::record;
using autograd::SavedTensor;
using autograd::create_graph_active;
using autograd::TensorList;

namespace {

// A zero tensor of `shape` on g's device and of g's dtype: the canvas a gradient is added into.
Tensor zeros_for(const Shape& shape, const Tensor& g) { return zeros(shape, {g.dtype(), g.device()}); }

// The gradient of an op that read x (of shape `shape`) at `index` along dim: g added back at
// those indices (0-d inputs of sort/topk have nothing to index).
Tensor scatter_back(const Tensor& g, const Shape& shape, std::int64_t dim, const Tensor& index) {
  if (shape.empty()) return g.numel() == 1 ? reshape(g, {}) : zeros_for({}, g);
  Tensor grad = zeros_for(shape, g);
  if (create_graph_active()) return scatter_add(grad, dim, index, g);  // recorded: differentiable in g
  native::scatter_add_(grad, dim, index, g);
  return grad;
}

// scatter and scatter_add read src only within index's extent (src may be larger, as in
// PyTorch): that part is cut out with narrow, so the rest of src gets a zero gradient.
Tensor src_at_index_extent(const Tensor& src, const Tensor& index) {
  Tensor used = src;
  for (std::int64_t d = 0; d < std::min(src.dim(), index.dim()); ++d)
    if (src.size(d) > index.size(d)) used = narrow(used, d, 0, index.size(d));
  return used;
}

// A gradient g for an input that was converted to g's dtype on the way in goes back to the
// input's dtype.
Tensor as_input_dtype(const Tensor& g, DType dtype) { return to(g, g.device(), dtype); }

}  // namespace

// ---- gather and scatter ------------------------------------------------------------------------

// out[p] = x[p with coordinate dim = index[p]]: each x element receives the sum of the
// gradients of the outputs that read it.
Tensor gather(const Tensor& x, std::int64_t dim, const Tensor& index) {
  Tensor y = native::gather(x, dim, index);
  if (needs_grad({x})) {
    record("GatherBackward", {x}, {y}, [dim, s = x.sizes(), idx = SavedTensor(index)](const TensorList& g) {
      return TensorList{scatter_back(g[0], s, dim, idx.get())};
    });
  }
  return y;
}

// out = x; out[index[i][j]][j] += src[i][j] (dim 0 case). d out/d x = identity;
// d out/d src = gather(g, dim, index).
Tensor scatter_add(const Tensor& x, std::int64_t dim, const Tensor& index, const Tensor& source) {
  const Tensor src = src_at_index_extent(source, index);
  Tensor y = native::scatter_add(x, dim, index, src);
  if (needs_grad({x, src})) {
    record("ScatterAddBackward", {x, src}, {y},
           [dim, t = src.dtype(), idx = SavedTensor(index)](const TensorList& g) {
             return TensorList{g[0], as_input_dtype(gather(g[0], dim, idx.get()), t)};
           });
  }
  return y;
}

// out = x; out[index[i][j]][j] = src[i][j] (dim 0 case). The written elements of x no longer
// reach out, so x's gradient is g with zeros scattered there; each src element's gradient is the
// g at the element it was written to, gather(g, dim, index) (for repeated indices the same g for
// every duplicate, whichever landed, as PyTorch defines it).
Tensor scatter(const Tensor& x, std::int64_t dim, const Tensor& index, const Tensor& source) {
  const Tensor src = src_at_index_extent(source, index);
  Tensor y = native::scatter(x, dim, index, src);
  if (needs_grad({x, src})) {
    record("ScatterBackward", {x, src}, {y}, [dim, t = src.dtype(), idx = SavedTensor(index)](const TensorList& g) {
      return TensorList{scatter(g[0], dim, idx.get(), Scalar(0)), as_input_dtype(gather(g[0], dim, idx.get()), t)};
    });
  }
  return y;
}

Tensor scatter(const Tensor& x, std::int64_t dim, const Tensor& index, Scalar value) {
  Tensor y = native::scatter(x, dim, index, value);
  if (needs_grad({x})) {
    record("ScatterBackward", {x}, {y}, [dim, idx = SavedTensor(index)](const TensorList& g) {
      return TensorList{scatter(g[0], dim, idx.get(), Scalar(0))};
    });
  }
  return y;
}

// ---- scatter_reduce ----------------------------------------------------------------------------

namespace {

// What scatter_reduce's backward needs besides g: the inputs, the output and how they were met.
struct ScatterReduceSaved {
  std::int64_t dim;
  std::string reduce;
  bool include_self;
  SavedTensor x, src, y, index;
};

// A float copy (g's dtype) of a bool mask: a constant of the backward, no gradient through it.
Tensor as_weights(const Tensor& mask, const Tensor& g) { return native::to_dtype(mask, g.dtype()); }

// The number of values each output element is a reduction of: [x's shape], g's dtype.
Tensor group_sizes(const ScatterReduceSaved& s, const Tensor& g) {
  const Tensor counts = zeros_for(s.x.get().sizes(), g);
  if (s.include_self) native::fill_(counts, 1);
  const Tensor one = native::expand(native::scalar_tensor(1, g.dtype(), g.device()), s.index.get().sizes());
  native::scatter_add_(counts, s.dim, s.index.get(), one);
  return counts;
}

// x's gradient where x takes no part in the reduction (include_self false, an element that index
// points at): zero there, g' elsewhere (elements nothing points at are copied to the output).
Tensor self_gradient(const ScatterReduceSaved& s, const Tensor& g_self) {
  return s.include_self ? g_self : scatter(g_self, s.dim, s.index.get(), Scalar(0));
}

// prod: the product of the other members of each value's group (the output element it was
// reduced into, with x's element when included), g times it being the value's gradient. For a
// nonzero value that is y / value (zero when another member is zero, since y is); for a zero it
// is the product of the nonzero members when it is the group's only zero, else zero.
TensorList prod_backward(const ScatterReduceSaved& s, const Tensor& g) {
  const Tensor x = s.x.get(), src = s.src.get(), y = s.y.get(), index = s.index.get();
  const Tensor x_zero = native::binary(native::BinaryOp::Eq, x, 0.0);
  const Tensor src_zero = native::binary(native::BinaryOp::Eq, src, 0.0);
  const Tensor one = native::scalar_tensor(1, x.dtype(), x.device());
  // Each group's zeros, and the product of its nonzero members (zeros replaced by 1).
  const Tensor zero_counts = s.include_self ? as_weights(x_zero, g) : zeros_for(x.sizes(), g);
  native::scatter_add_(zero_counts, s.dim, index, as_weights(src_zero, g));
  const Tensor nonzero_product = native::scatter_reduce(native::where(x_zero, one, x), s.dim, index,
                                                        native::where(src_zero, one, src), "prod", s.include_self);
  const Tensor lone_zero = native::where(native::binary(native::BinaryOp::Eq, zero_counts, 1.0), nonzero_product,
                                         native::scalar_tensor(0, x.dtype(), x.device()));
  const auto others = [&](const Tensor& value, const Tensor& is_zero, const Tensor& y_at, const Tensor& lone_at) {
    return where(is_zero, lone_at, y_at / where(is_zero, one, value));
  };
  const Tensor g_src = gather(g, s.dim, index) *
                       others(src, src_zero, gather(y, s.dim, index), native::gather(lone_zero, s.dim, index));
  return {self_gradient(s, g * others(x, x_zero, y, lone_zero)), g_src};
}

// amax / amin: the members equal to the result share g evenly (PyTorch's rule for ties).
TensorList extremum_backward(const ScatterReduceSaved& s, const Tensor& g) {
  const Tensor x = s.x.get(), src = s.src.get(), y = s.y.get(), index = s.index.get();
  Tensor x_wins = as_weights(native::binary(native::BinaryOp::Eq, x, y), g);
  if (!s.include_self) x_wins = native::scatter(x_wins, s.dim, index, Scalar(0));
  const Tensor src_wins = as_weights(native::binary(native::BinaryOp::Eq, src, native::gather(y, s.dim, index)), g);
  const Tensor winners = native::scatter_add(x_wins, s.dim, index, src_wins);
  const Tensor g_share = g / native::binary(native::BinaryOp::Maximum, winners, 1.0);
  return {g_share * x_wins, gather(g_share, s.dim, index) * src_wins};
}

TensorList scatter_reduce_backward(const ScatterReduceSaved& s, const Tensor& g) {
  if (s.reduce == "prod") return prod_backward(s, g);
  if (s.reduce == "amax" || s.reduce == "amin") return extremum_backward(s, g);
  // sum, and mean with g divided by each group's size.
  const Tensor g_each = s.reduce == "mean" ? g / native::binary(native::BinaryOp::Maximum, group_sizes(s, g), 1.0) : g;
  return {self_gradient(s, g_each), gather(g_each, s.dim, s.index.get())};
}

}  // namespace

// torch.scatter_reduce: see native/indexing.h for the forward, the helpers above for each
// reduction's gradient (PyTorch's rules).
Tensor scatter_reduce(const Tensor& x, std::int64_t dim, const Tensor& index, const Tensor& source,
                      std::string_view reduce, bool include_self) {
  const Tensor src = src_at_index_extent(source, index);
  Tensor y = native::scatter_reduce(x, dim, index, src, reduce, include_self);
  if (needs_grad({x, src})) {
    CAKE_CHECK(x.dtype() == src.dtype(), "scatter_reduce: x (", dtype_name(x.dtype()), ") and src (",
               dtype_name(src.dtype()), ") must have one dtype to be differentiated");
    ScatterReduceSaved saved{native::wrap_dim(dim, x.dim(), "scatter_reduce"), std::string(reduce), include_self,
                             SavedTensor(x), SavedTensor(src), SavedTensor(y), SavedTensor(index)};
    record("ScatterReduceBackward", {x, src}, {y},
           [saved](const TensorList& g) { return scatter_reduce_backward(saved, g[0]); });
  }
  return y;
}

// out = the slices x.select(dim, index[i]) side by side: a slice picked k times receives the
// sum of those k gradient slices (index_add into zeros).
Tensor index_select(const Tensor& x, std::int64_t dim, const Tensor& index) {
  Tensor y = native::index_select(x, dim, index);
  if (needs_grad({x})) {
    record("IndexSelectBackward", {x}, {y}, [dim, s = x.sizes(), idx = SavedTensor(index)](const TensorList& g) {
      Tensor grad = zeros_for(s, g[0]);
      if (create_graph_active()) return TensorList{index_add(grad, dim, idx.get(), g[0])};
      native::index_add_(grad, dim, idx.get(), g[0]);
      return TensorList{grad};
    });
  }
  return y;
}

// out = x; out.select(dim, index[i]) += alpha * source.select(dim, i).
// d out/d x = identity; d out/d source = alpha * index_select(g, dim, index).
Tensor index_add(const Tensor& x, std::int64_t dim, const Tensor& index, const Tensor& source, Scalar alpha) {
  Tensor y = native::index_add(x, dim, index, source, alpha);
  if (needs_grad({x, source})) {
    record("IndexAddBackward", {x, source}, {y},
           [dim, alpha, t = source.dtype(), idx = SavedTensor(index)](const TensorList& g) {
             Tensor picked = index_select(g[0], dim, idx.get());
             if (alpha.to_double() != 1.0) picked = picked * alpha;
             return TensorList{g[0], as_input_dtype(picked, t)};
           });
  }
  return y;
}

// ---- masks -------------------------------------------------------------------------------------

// The filled positions no longer depend on x: their gradient is zero.
Tensor masked_fill(const Tensor& x, const Tensor& mask, Scalar value) {
  Tensor y = native::masked_fill(x, mask, value);
  if (needs_grad({x})) {
    record("MaskedFillBackward", {x}, {y}, [m = SavedTensor(mask)](const TensorList& g) {
      return TensorList{masked_fill(g[0], m.get(), 0)};
    });
  }
  return y;
}

// out = the selected elements in row-major order; their gradients go back to the same
// positions (masked_scatter into zeros), then are summed over any dims that x was broadcast in.
Tensor masked_select(const Tensor& x, const Tensor& mask) {
  Tensor y = native::masked_select(x, mask);
  if (needs_grad({x})) {
    const Shape shape = native::broadcast_shapes(x.sizes(), mask.sizes(), "masked_select");
    record("MaskedSelectBackward", {x}, {y}, [shape, s = x.sizes(), m = SavedTensor(mask)](const TensorList& g) {
      if (create_graph_active()) {
        // Recorded: g added at the flat positions of the selected elements (index_add).
        const std::int64_t n = shape_numel(shape);
        Tensor positions = native::masked_select(native::reshape(arange(n, {kInt64, g[0].device()}), shape), m.get());
        Tensor full = index_add(zeros_for({n}, g[0]), 0, positions, g[0]);
        return TensorList{autograd::sum_to(reshape(full, shape), s)};
      }
      Tensor full = native::masked_scatter(zeros_for(shape, g[0]), m.get(), g[0]);
      return TensorList{native::sum_to(full, s)};
    });
  }
  return y;
}

// ---- joining and splitting ---------------------------------------------------------------------

// Each input's gradient is its own slice of g (a narrow view), in the input's dtype.
Tensor cat(const std::vector<Tensor>& tensors, std::int64_t dim) {
  Tensor y = native::cat(tensors, dim);
  const TensorList inputs(tensors.begin(), tensors.end());
  if (needs_grad(inputs)) {
    struct Piece {
      Shape sizes;
      DType dtype;
      bool wants_grad;
    };
    std::vector<Piece> pieces;
    for (const Tensor& t : tensors) pieces.push_back({t.sizes(), t.dtype(), t.requires_grad()});
    const std::int64_t d = native::wrap_dim(dim, y.dim(), "cat");
    record("CatBackward", inputs, {y}, [pieces, d](const TensorList& g) {
      TensorList grads;
      std::int64_t offset = 0;
      for (const Piece& p : pieces) {
        const bool skipped = p.sizes.size() == 1 && p.sizes[0] == 0;  // took no part (native::cat)
        const std::int64_t length = skipped ? 0 : p.sizes[static_cast<std::size_t>(d)];
        if (!p.wants_grad) {
          grads.emplace_back();
        } else if (skipped) {
          grads.push_back(zeros(p.sizes, {p.dtype, g[0].device()}));
        } else {
          grads.push_back(as_input_dtype(narrow(g[0], d, offset, length), p.dtype));
        }
        offset += length;
      }
      return grads;
    });
  }
  return y;
}

// Tensor i's gradient is g.select(dim, i).
Tensor stack(const std::vector<Tensor>& tensors, std::int64_t dim) {
  Tensor y = native::stack(tensors, dim);
  const TensorList inputs(tensors.begin(), tensors.end());
  if (needs_grad(inputs)) {
    const std::int64_t d = native::wrap_dim(dim, y.dim(), "stack");
    record("StackBackward", inputs, {y}, [d, n = tensors.size()](const TensorList& g) {
      TensorList grads;
      for (std::size_t i = 0; i < n; ++i) grads.push_back(select(g[0], d, static_cast<std::int64_t>(i)));
      return grads;
    });
  }
  return y;
}

// The pieces are narrow views of x recorded as one node with one output per piece: its
// backward joins the pieces' gradients with cat (the engine supplies zeros for pieces that
// received none), so splitting into k pieces costs one x-sized gradient, not k.
static std::vector<Tensor> split_views(const Tensor& x, const std::vector<std::int64_t>& sizes, std::int64_t dim) {
  std::vector<Tensor> pieces = native::split(x, sizes, dim);
  if (needs_grad({x})) {
    const std::int64_t d = native::wrap_dim(dim, x.dim(), "split");
    record("SplitBackward", {x}, TensorList(pieces.begin(), pieces.end()),
           [d](const TensorList& g) { return TensorList{cat(g, d)}; });
  }
  return pieces;
}

std::vector<Tensor> split(const Tensor& x, const std::vector<std::int64_t>& sizes, std::int64_t dim) {
  return split_views(x, sizes, dim);
}

std::vector<Tensor> split(const Tensor& x, std::int64_t split_size, std::int64_t dim) {
  CAKE_CHECK(x.dim() > 0, "split: expected an input with at least one dimension, got a 0-d tensor");
  return split_views(x, native::split_sizes(x.size(dim), split_size), dim);
}

std::vector<Tensor> chunk(const Tensor& x, std::int64_t chunks, std::int64_t dim) {
  CAKE_CHECK(x.dim() > 0, "chunk: expected an input with at least one dimension, got a 0-d tensor");
  return split_views(x, native::chunk_sizes(x.size(dim), chunks), dim);
}

std::vector<Tensor> unbind(const Tensor& x, std::int64_t dim) {
  CAKE_CHECK(x.dim() > 0, "unbind: expected an input with at least one dimension, got a 0-d tensor");
  const std::int64_t d = native::wrap_dim(dim, x.dim(), "unbind");
  std::vector<Tensor> slices;
  slices.reserve(static_cast<std::size_t>(x.size(d)));
  for (std::int64_t i = 0; i < x.size(d); ++i) slices.push_back(select(x, d, i));
  return slices;
}

// The result's length depends on the values, so they are read on the host (as PyTorch syncs
// here too); the indices go back to x's device.
Tensor nonzero(const Tensor& x) {
  const Tensor hits = x.ne(0).to(kCPU).contiguous();
  const bool* h = hits.data_ptr<bool>();
  const std::int64_t n = hits.numel(), dims = x.dim();
  std::vector<std::int64_t> coordinates;
  for (std::int64_t flat = 0; flat < n; ++flat) {
    if (!h[flat]) continue;
    std::int64_t rest = flat;
    const std::size_t first = coordinates.size();
    coordinates.resize(first + static_cast<std::size_t>(dims));
    for (std::int64_t d = dims - 1; d >= 0; --d) {
      coordinates[first + static_cast<std::size_t>(d)] = rest % x.size(d);
      rest /= x.size(d);
    }
  }
  // A 0-d x has no coordinates to count by: it is one element, nonzero or not.
  const std::int64_t found =
      dims == 0 ? static_cast<std::int64_t>(n == 1 && h[0]) : static_cast<std::int64_t>(coordinates.size()) / dims;
  Tensor out = empty({found, dims}, kInt64);
  std::copy(coordinates.begin(), coordinates.end(), out.data_ptr<std::int64_t>());
  return out.to(x.device());
}

// ---- sorting -----------------------------------------------------------------------------------

// The values are x read at the indices, so the gradient is scattered back by the indices.
std::pair<Tensor, Tensor> sort(const Tensor& x, std::int64_t dim, bool descending) {
  auto [values, indices] = native::sort(x, dim, descending);
  if (needs_grad({x})) {
    const std::int64_t d = x.dim() == 0 ? 0 : native::wrap_dim(dim, x.dim(), "sort");
    record("SortBackward", {x}, {values}, [d, s = x.sizes(), idx = SavedTensor(indices)](const TensorList& g) {
      return TensorList{scatter_back(g[0], s, d, idx.get())};
    });
  }
  return {values, indices};
}

std::pair<Tensor, Tensor> topk(const Tensor& x, std::int64_t k, std::int64_t dim, bool largest, bool sorted) {
  auto [values, indices] = native::topk(x, k, dim, largest, sorted);
  if (needs_grad({x})) {
    const std::int64_t d = x.dim() == 0 ? 0 : native::wrap_dim(dim, x.dim(), "topk");
    record("TopkBackward", {x}, {values}, [d, s = x.sizes(), idx = SavedTensor(indices)](const TensorList& g) {
      return TensorList{scatter_back(g[0], s, d, idx.get())};
    });
  }
  return {values, indices};
}

Tensor argsort(const Tensor& x, std::int64_t dim, bool descending) { return native::sort(x, dim, descending).second; }

// ---- scans -------------------------------------------------------------------------------------

// y_i = x_0 + ... + x_i, so dL/dx_j = sum over i >= j of g_i: the cumulative sum of g taken
// from the end (flip, cumsum, flip, done in one pass by the reverse scan).
Tensor cumsum(const Tensor& x, std::int64_t dim) {
  Tensor y = native::cumsum(x, dim);
  if (needs_grad({x})) {
    record("CumsumBackward", {x}, {y}, [dim](const TensorList& g) {
      // Recorded, the reverse scan is sum - cumsum + g (each element's suffix sum).
      if (create_graph_active()) return TensorList{sum(g[0], {dim}, true) - cumsum(g[0], dim) + g[0]};
      return TensorList{native::cumsum(g[0], dim, /*reverse=*/true)};
    });
  }
  return y;
}

// ---- counting (no grad) ------------------------------------------------------------------------

UniqueResult unique(const Tensor& x, bool return_inverse, bool return_counts) {
  native::UniqueOutputs u = native::unique(x, return_inverse, return_counts);
  return {u.values, u.inverse, u.counts};
}

Tensor bincount(const Tensor& x, const Tensor& weights, std::int64_t minlength) {
  return native::bincount(x, weights, minlength);
}

Tensor one_hot(const Tensor& labels, std::int64_t num_classes) { return native::one_hot(labels, num_classes); }

// ---- embedding ---------------------------------------------------------------------------------

// out[..., :] = weight[indices[...], :]. The weight's gradient is dense: row v receives the sum
// of the gradient rows of every position that looked v up (index_add into zeros).
Tensor embedding(const Tensor& weight, const Tensor& indices) {
  Tensor y = native::embedding(weight, indices);
  if (needs_grad({weight})) {
    record("EmbeddingBackward", {weight}, {y}, [s = weight.sizes(), idx = SavedTensor(indices)](const TensorList& g) {
      Tensor grad = zeros_for(s, g[0]);
      if (create_graph_active())
        return TensorList{index_add(grad, 0, reshape(idx.get(), {-1}), reshape(g[0], {-1, s[1]}))};
      const Tensor rows = native::reshape(g[0], {-1, s[1]});
      native::index_add_(grad, 0, native::reshape(idx.get(), {-1}), rows);
      return TensorList{grad};
    });
  }
  return y;
}

}  // namespace cake
