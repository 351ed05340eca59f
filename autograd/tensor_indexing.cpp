// autograd/tensor_indexing.cpp: Tensor::index and Tensor::index_put_, libtorch's spelling of
// Python's x[...] (torch::indexing):
//
//   using namespace cake::indexing;
//   x.index({Slice(), 0})            // x[:, 0]
//   x.index({Slice(1, None, 2)})     // x[1::2]
//   x.index({"...", -1})             // x[..., -1]
//   x.index({mask})                  // x[mask], mask a bool tensor: a 1-D result
//   x.index_put_({Slice(), 0}, 7.0)  // x[:, 0] = 7
//
// index() is made of the differentiable ops select, slice, unsqueeze, reshape and index_select,
// so it is differentiable exactly where they are. Integers, Slices and None give views of x;
// a tensor index copies (as in NumPy's "advanced indexing").
#include <algorithm>
#include <limits>

#include "cake/autograd/ops.h"
#include "cake/tensor/creation.h"

namespace cake {

using indexing::TensorIndex;
using Kind = indexing::TensorIndex::Kind;

indexing::TensorIndex::TensorIndex(const char* text) : kind(Kind::Ellipsis) {
  CAKE_CHECK(text != nullptr && std::string(text) == "...", "index: the only string index is \"...\", got \"",
             text ? text : "", "\"");
}

namespace {

// How many dims of the indexed tensor an entry consumes.
std::int64_t dims_consumed(const TensorIndex& idx) {
  switch (idx.kind) {
    case Kind::Integer:
    case Kind::Slice: return 1;
    case Kind::Tensor: return idx.tensor.dtype() == kBool ? idx.tensor.dim() : 1;
    default: return 0;
  }
}

// The flat (row-major) positions of the true entries of a bool mask, as int64 on `device`.
Tensor true_positions(const Tensor& mask, Device device) {
  Tensor m = mask.detach().cpu().contiguous();
  const bool* p = m.data_ptr<bool>();
  std::vector<std::int64_t> positions;
  for (std::int64_t i = 0; i < m.numel(); ++i)
    if (p[i]) positions.push_back(i);
  return tensor(positions, {static_cast<std::int64_t>(positions.size())}).to(device);
}

// Walks the index list, calling `basic(out, d, idx)` for Integer/Slice/None entries (which
// return the new tensor and the next dim) and `advanced(out, d, idx)` for tensor entries.
struct IndexPlan {
  std::int64_t ellipsis_span = 0;
};

IndexPlan plan(const Tensor& x, const std::vector<TensorIndex>& indices) {
  std::int64_t consumed = 0, ellipses = 0, tensors = 0;
  for (const TensorIndex& idx : indices) {
    consumed += dims_consumed(idx);
    ellipses += idx.kind == Kind::Ellipsis;
    tensors += idx.kind == Kind::Tensor;
  }
  CAKE_CHECK(ellipses <= 1, "index: at most one Ellipsis, got ", ellipses);
  CAKE_CHECK(tensors <= 1, "index: Cake supports one tensor index per index() call, got ", tensors,
             " (index one at a time, or combine them into one int64 index)");
  CAKE_CHECK(consumed <= x.dim(), "index: too many indices (", consumed, " dims) for a tensor of shape ", x.sizes());
  return {x.dim() - consumed};
}

// Applies an Integer / Slice / None entry at dim d; returns the next dim.
std::int64_t apply_basic(Tensor& out, std::int64_t d, const TensorIndex& idx) {
  switch (idx.kind) {
    case Kind::Integer: out = select(out, d, idx.integer); return d;
    case Kind::Slice: {
      const std::int64_t step = idx.slice.step.value_or(1);
      CAKE_CHECK(step > 0, "index: Slice step must be positive, got ", step);
      out = slice(out, d, idx.slice.start.value_or(0), idx.slice.stop.value_or(std::numeric_limits<std::int64_t>::max()),
                  step);
      return d + 1;
    }
    case Kind::None: out = unsqueeze(out, d); return d + 1;
    default: return d;
  }
}

// A bool mask over dims [d, d + k) as the int64 positions of its true entries in those dims
// flattened; checks that the mask's shape matches.
Tensor mask_as_positions(const Tensor& out, std::int64_t d, const Tensor& mask) {
  const std::int64_t k = mask.dim();
  CAKE_CHECK(k > 0, "index: a 0-d bool index is not supported");
  CAKE_CHECK(Shape(out.sizes().begin() + d, out.sizes().begin() + d + k) == mask.sizes(), "index: the bool mask of shape ",
             mask.sizes(), " does not match dims ", d, "..", d + k - 1, " of the indexed shape ", out.sizes());
  return true_positions(mask, out.device());
}

}  // namespace

Tensor Tensor::index(std::initializer_list<TensorIndex> indices) const {
  return index(std::vector<TensorIndex>(indices));
}

Tensor Tensor::index(const std::vector<TensorIndex>& indices) const {
  const IndexPlan p = plan(*this, indices);
  Tensor out = *this;
  std::int64_t d = 0;
  for (const TensorIndex& idx : indices) {
    if (idx.kind == Kind::Ellipsis) {
      d += p.ellipsis_span;
    } else if (idx.kind != Kind::Tensor) {
      d = apply_basic(out, d, idx);
    } else if (idx.tensor.dtype() == kBool) {
      // x[mask]: the dims the mask covers become one dim holding the selected elements.
      const std::int64_t k = idx.tensor.dim();
      Tensor positions = mask_as_positions(out, d, idx.tensor);
      out = cake::index_select(cake::flatten(out, d, d + k - 1), d, positions);
      d += 1;
    } else {
      CAKE_CHECK(idx.tensor.dtype() == kInt64, "index: a tensor index must be int64 or bool, got ",
                 dtype_name(idx.tensor.dtype()));
      // x[:, idx]: dim d is replaced by the index's shape.
      const Tensor& index_tensor = idx.tensor;
      out = cake::index_select(out, d, cake::reshape(index_tensor, {-1}));
      Shape shape(out.sizes().begin(), out.sizes().begin() + d);
      shape.insert(shape.end(), index_tensor.sizes().begin(), index_tensor.sizes().end());
      shape.insert(shape.end(), out.sizes().begin() + d + 1, out.sizes().end());
      out = cake::reshape(out, shape);
      d += index_tensor.dim();
    }
  }
  return out;
}

Tensor& Tensor::index_put_(std::initializer_list<TensorIndex> indices, const Tensor& value) {
  return index_put_(std::vector<TensorIndex>(indices), value);
}
Tensor& Tensor::index_put_(std::initializer_list<TensorIndex> indices, Scalar value) {
  return index_put_(std::vector<TensorIndex>(indices), value);
}
Tensor& Tensor::index_put_(const std::vector<TensorIndex>& indices, Scalar value) {
  return index_put_(indices, full({}, value, {dtype(), device()}));
}

// x[indices] = value. Basic indices give a view of x, written with copy_ (value broadcasts).
// A tensor index writes element by element into views of x, so any strides work.
Tensor& Tensor::index_put_(const std::vector<TensorIndex>& indices, const Tensor& value) {
  const IndexPlan p = plan(*this, indices);
  Tensor out = *this;
  std::int64_t d = 0;
  const TensorIndex* advanced = nullptr;
  std::vector<TensorIndex> rest;  // entries after the tensor index, applied to each piece
  for (const TensorIndex& idx : indices) {
    if (advanced) {
      rest.push_back(idx);
    } else if (idx.kind == Kind::Ellipsis) {
      d += p.ellipsis_span;
    } else if (idx.kind == Kind::Tensor) {
      advanced = &idx;
    } else {
      d = apply_basic(out, d, idx);
    }
  }
  if (!advanced) {
    out.copy_(value);  // out is a view of *this; copy_ checks in-place rules and bumps the version
    return *this;
  }
  // The result shape x.index(indices) would have; value broadcasts to it, and its dim d runs
  // over the picked entries.
  Tensor target;
  {
    NoGradGuard no_grad;
    target = detach().index(indices);
  }
  Tensor v = value.detach().to(device(), dtype()).expand(target.sizes());
  const Tensor& t = advanced->tensor;
  CAKE_CHECK(t.dim() > 0, "index_put_: a 0-d tensor index is not supported; use an integer");
  // Entries after the tensor index apply to each picked piece, from the same dim d.
  std::vector<TensorIndex> shifted(static_cast<std::size_t>(d), TensorIndex(indexing::Slice()));
  shifted.insert(shifted.end(), rest.begin(), rest.end());
  std::vector<std::vector<std::int64_t>> picks;  // one multi-index into dims [d, d + k) per entry
  if (t.dtype() == kBool) {
    mask_as_positions(out, d, t);  // shape check
    Tensor positions = true_positions(t, Device::cpu());
    const std::int64_t* pos = positions.data_ptr<std::int64_t>();
    for (std::int64_t i = 0; i < positions.numel(); ++i) {
      std::vector<std::int64_t> multi(static_cast<std::size_t>(t.dim()));
      std::int64_t flat = pos[i];
      for (std::int64_t j = t.dim(); j-- > 0;) {
        multi[static_cast<std::size_t>(j)] = flat % t.size(j);
        flat /= t.size(j);
      }
      picks.push_back(multi);
    }
  } else {
    CAKE_CHECK(t.dtype() == kInt64, "index_put_: a tensor index must be int64 or bool, got ", dtype_name(t.dtype()));
    Tensor flat = t.detach().cpu().contiguous();
    for (std::int64_t i = 0; i < flat.numel(); ++i) picks.push_back({flat.data_ptr<std::int64_t>()[i]});
    v = v.reshape([&] {
      Shape s(v.sizes().begin(), v.sizes().begin() + d);
      s.push_back(flat.numel());
      s.insert(s.end(), v.sizes().begin() + d + t.dim(), v.sizes().end());
      return s;
    }());
  }
  for (std::size_t i = 0; i < picks.size(); ++i) {
    Tensor piece = out;
    for (std::int64_t j : picks[i]) piece = piece.select(d, j);
    Tensor src = v.select(d, static_cast<std::int64_t>(i));
    if (!rest.empty()) piece = piece.index(shifted);
    piece.copy_(src);
  }
  return *this;
}

}  // namespace cake
