// autograd/ops/structure.cpp: matrices built or cut from others (triangles, diagonals, block
// matrices, Kronecker and tensor products) and rearrangements of dims (movedim, rot90, tile,
// meshgrid). Every op is a composite of differentiable ops (where, views, cat, matmul), so the
// gradients come from theirs: a triangle's gradient is the same triangle of the incoming one, a
// diagonal's goes back onto the diagonal, and so on.
#include <algorithm>
#include <functional>
#include <numeric>
#include <string>

#include "cake/autograd/ops.h"
#include "cake/tensor/creation.h"
#include "cake/tensor/native/view.h"

namespace cake {

namespace {

// [rows, cols] bool: true where column - row lies in the diagonals kept (<= k below, >= k above).
Tensor triangle_mask(const Tensor& x, std::int64_t k, bool lower) {
  const std::int64_t rows = x.size(-2), cols = x.size(-1);
  const TensorOptions index_options(kInt64, x.device());
  // Element (i, j) lies on diagonal j - i: kept when j <= i + k (lower) or j >= i + k (upper).
  // One broadcast comparison of a row of column numbers with a column of bounds writes the
  // bool mask directly, without an int64 matrix of diagonals first.
  const Tensor column = arange(cols, index_options).reshape({1, cols});
  const Tensor bound = arange(k, rows + k, 1, index_options).reshape({rows, 1});
  return lower ? le(column, bound) : ge(column, bound);
}

Tensor triangle(const Tensor& x, std::int64_t k, bool lower, const char* op) {
  CAKE_CHECK(x.defined(), op, ": the input is undefined");
  CAKE_CHECK(x.dim() >= 2, op, ": expected a matrix or a batch of matrices, got shape ", x.sizes());
  return where(triangle_mask(x, k, lower), x, zeros({}, TensorOptions(x.dtype(), x.device())));
}

// [2, n] int64 coordinates of the kept triangle of a rows x cols matrix, row by row.
Tensor triangle_indices(std::int64_t rows, std::int64_t cols, std::int64_t offset, bool lower, const char* op) {
  CAKE_CHECK(rows >= 0 && cols >= 0, op, ": rows and cols must be >= 0, got ", rows, " and ", cols);
  std::vector<std::int64_t> row_of, col_of;
  for (std::int64_t i = 0; i < rows; ++i) {
    for (std::int64_t j = 0; j < cols; ++j) {
      if (lower ? j - i <= offset : j - i >= offset) {
        row_of.push_back(i);
        col_of.push_back(j);
      }
    }
  }
  row_of.insert(row_of.end(), col_of.begin(), col_of.end());
  return tensor(row_of, {2, static_cast<std::int64_t>(col_of.size())});
}

}  // namespace

Tensor tril(const Tensor& x, std::int64_t diagonal) { return triangle(x, diagonal, true, "tril"); }
Tensor triu(const Tensor& x, std::int64_t diagonal) { return triangle(x, diagonal, false, "triu"); }
Tensor tril_indices(std::int64_t rows, std::int64_t cols, std::int64_t offset) {
  return triangle_indices(rows, cols, offset, true, "tril_indices");
}
Tensor triu_indices(std::int64_t rows, std::int64_t cols, std::int64_t offset) {
  return triangle_indices(rows, cols, offset, false, "triu_indices");
}

// The last dim of x (n) put on diagonal `offset` of an m x m plane, m = n + |offset|: x, padded
// with |offset| zeros to length m, times the 0/1 matrix of that diagonal (a row vector for
// offset >= 0, where out[i][i + offset] = x[i]; a column for offset < 0), then the plane's two
// dims moved to dim1 and dim2.
Tensor diag_embed(const Tensor& x, std::int64_t offset, std::int64_t dim1, std::int64_t dim2) {
  CAKE_CHECK(x.defined() && x.dim() >= 1, "diag_embed: expected a tensor with at least one dim");
  const std::int64_t out_dims = x.dim() + 1;
  dim1 = native::wrap_dim(dim1, out_dims, "diag_embed");
  dim2 = native::wrap_dim(dim2, out_dims, "diag_embed");
  CAKE_CHECK(dim1 != dim2, "diag_embed: dim1 and dim2 are both ", dim1);
  const std::int64_t shift = offset >= 0 ? offset : -offset, m = x.size(-1) + shift;
  Shape padding_shape = x.sizes();
  padding_shape.back() = shift;
  const Tensor padded = cat({x, zeros(padding_shape, TensorOptions(x.dtype(), x.device()))}, -1);
  const TensorOptions index_options(kInt64, x.device());
  const Tensor row = arange(m, index_options).reshape({m, 1}), col = arange(m, index_options).reshape({1, m});
  const Tensor on_diagonal = eq(col - row, full({}, offset, index_options));
  const Tensor spread = offset >= 0 ? unsqueeze(padded, -1) : unsqueeze(padded, -2);
  const Tensor plane = where(on_diagonal, spread, zeros({}, TensorOptions(x.dtype(), x.device())));
  return movedim(plane, {out_dims - 2, out_dims - 1}, {dim1, dim2});
}

Tensor diag(const Tensor& x, std::int64_t diagonal_index) {
  CAKE_CHECK(x.defined() && (x.dim() == 1 || x.dim() == 2), "diag: expected a 1-D or 2-D tensor, got shape ",
             x.defined() ? x.sizes() : Shape{});
  if (x.dim() == 1) return diag_embed(x, diagonal_index, 0, 1);
  return clone(diagonal(x, diagonal_index, 0, 1));
}

// ---- rearranging dims --------------------------------------------------------------------------
// The dims at `source` go to `destination`; the others fill the free places in their own order.
Tensor movedim(const Tensor& x, const Shape& source, const Shape& destination) {
  CAKE_CHECK(source.size() == destination.size(), "movedim: ", source.size(), " source dims but ",
             destination.size(), " destination dims");
  const std::int64_t n = x.dim();
  Shape order(static_cast<std::size_t>(n), -1);
  std::vector<bool> moved(static_cast<std::size_t>(n), false);
  for (std::size_t i = 0; i < source.size(); ++i) {
    const std::int64_t from = native::wrap_dim(source[i], n, "movedim"), to = native::wrap_dim(destination[i], n, "movedim");
    CAKE_CHECK(!moved[static_cast<std::size_t>(from)], "movedim: source dim ", from, " is named twice");
    CAKE_CHECK(order[static_cast<std::size_t>(to)] == -1, "movedim: destination dim ", to, " is named twice");
    moved[static_cast<std::size_t>(from)] = true;
    order[static_cast<std::size_t>(to)] = from;
  }
  std::int64_t next = 0;
  for (auto& slot : order) {
    if (slot != -1) continue;
    while (moved[static_cast<std::size_t>(next)]) ++next;
    slot = next++;
  }
  return permute(x, order);
}
Tensor movedim(const Tensor& x, std::int64_t source, std::int64_t destination) {
  return movedim(x, Shape{source}, Shape{destination});
}
Tensor moveaxis(const Tensor& x, std::int64_t source, std::int64_t destination) { return movedim(x, source, destination); }
Tensor swapaxes(const Tensor& x, std::int64_t dim0, std::int64_t dim1) { return transpose(x, dim0, dim1); }
Tensor swapdims(const Tensor& x, std::int64_t dim0, std::int64_t dim1) { return transpose(x, dim0, dim1); }

// A quarter turn from dims[0] towards dims[1] is a flip of dims[1] and a swap of the two (as
// torch.rot90); two turns flip both; three flip dims[0] and swap.
Tensor rot90(const Tensor& x, std::int64_t k, const Shape& dims) {
  CAKE_CHECK(dims.size() == 2, "rot90: expected two dims, got ", dims.size());
  CAKE_CHECK(x.dim() >= 2, "rot90: expected a tensor with at least 2 dims, got shape ", x.sizes());
  const std::int64_t first = native::wrap_dim(dims[0], x.dim(), "rot90"), second = native::wrap_dim(dims[1], x.dim(), "rot90");
  CAKE_CHECK(first != second, "rot90: the two dims are both ", first);
  switch (((k % 4) + 4) % 4) {
    case 1: return transpose(flip(x, {second}), first, second);
    case 2: return flip(x, {first, second});
    case 3: return transpose(flip(x, {first}), first, second);
    default: return clone(x);
  }
}

Tensor tile(const Tensor& x, const Shape& reps) {
  Shape full_reps = reps;
  while (static_cast<std::int64_t>(full_reps.size()) < x.dim()) full_reps.insert(full_reps.begin(), 1);
  return repeat(x, full_reps);
}

// Output k varies along axis k ("ij"), except that "xy" swaps the first two axes.
std::vector<Tensor> meshgrid(const std::vector<Tensor>& tensors, std::string_view indexing) {
  CAKE_CHECK(indexing == "ij" || indexing == "xy", "meshgrid: indexing must be \"ij\" or \"xy\", got \"",
             std::string(indexing), "\"");
  const bool xy = indexing == "xy" && tensors.size() >= 2;
  auto axis_of = [xy](std::size_t k) { return xy && k < 2 ? 1 - k : k; };
  Shape grid(tensors.size());
  for (std::size_t k = 0; k < tensors.size(); ++k) {
    CAKE_CHECK(tensors[k].dim() <= 1, "meshgrid: expected 0-D or 1-D tensors, got shape ", tensors[k].sizes(),
               " at position ", k);
    grid[axis_of(k)] = tensors[k].numel();
  }
  std::vector<Tensor> grids;
  for (std::size_t k = 0; k < tensors.size(); ++k) {
    Shape shape(tensors.size(), 1);
    shape[axis_of(k)] = -1;
    grids.push_back(expand(reshape(tensors[k], shape), grid));
  }
  return grids;
}

// ---- products ----------------------------------------------------------------------------------
// a's elements spread over the even dims and b's over the odd ones of a 2d-dim product, whose
// dims (a_k, b_k) then merge pairwise: block (i, j) of the result is a[i][j] * b.
Tensor kron(const Tensor& a, const Tensor& b) {
  const std::int64_t d = std::max(a.dim(), b.dim());
  Shape a_shape = a.sizes(), b_shape = b.sizes();
  a_shape.insert(a_shape.begin(), static_cast<std::size_t>(d - a.dim()), 1);
  b_shape.insert(b_shape.begin(), static_cast<std::size_t>(d - b.dim()), 1);
  Shape a_spread, b_spread, result;
  for (std::size_t k = 0; k < static_cast<std::size_t>(d); ++k) {
    a_spread.insert(a_spread.end(), {a_shape[k], 1});
    b_spread.insert(b_spread.end(), {1, b_shape[k]});
    result.push_back(a_shape[k] * b_shape[k]);
  }
  return reshape(reshape(a, a_spread) * reshape(b, b_spread), result);
}

// a's free dims, then the contracted ones, flattened to [free_a, K]; b's contracted dims, then
// its free ones, to [K, free_b]: one matrix product.
Tensor tensordot(const Tensor& a, const Tensor& b, const Shape& dims_a, const Shape& dims_b) {
  CAKE_CHECK(dims_a.size() == dims_b.size(), "tensordot: ", dims_a.size(), " dims of a but ", dims_b.size(),
             " dims of b to contract");
  Shape contracted_a, contracted_b;
  std::int64_t k = 1;
  for (std::size_t i = 0; i < dims_a.size(); ++i) {
    const std::int64_t da = native::wrap_dim(dims_a[i], a.dim(), "tensordot"), db = native::wrap_dim(dims_b[i], b.dim(), "tensordot");
    CAKE_CHECK(a.size(da) == b.size(db), "tensordot: dim ", da, " of a ", a.sizes(), " has size ", a.size(da),
               " but dim ", db, " of b ", b.sizes(), " has size ", b.size(db));
    contracted_a.push_back(da);
    contracted_b.push_back(db);
    k *= a.size(da);
  }
  auto free_dims = [](const Tensor& t, const Shape& contracted, Shape& sizes) {
    Shape free;
    for (std::int64_t d = 0; d < t.dim(); ++d) {
      if (std::find(contracted.begin(), contracted.end(), d) != contracted.end()) continue;
      free.push_back(d);
      sizes.push_back(t.size(d));
    }
    return free;
  };
  Shape result_sizes;
  Shape order_a = free_dims(a, contracted_a, result_sizes);
  const std::int64_t free_a = std::accumulate(result_sizes.begin(), result_sizes.end(), std::int64_t{1}, std::multiplies<>());
  Shape free_b_sizes;
  Shape order_b = contracted_b;
  const Shape free_b = free_dims(b, contracted_b, free_b_sizes);
  order_b.insert(order_b.end(), free_b.begin(), free_b.end());
  order_a.insert(order_a.end(), contracted_a.begin(), contracted_a.end());
  const std::int64_t free_b_count = std::accumulate(free_b_sizes.begin(), free_b_sizes.end(), std::int64_t{1}, std::multiplies<>());
  const Tensor product = mm(reshape(permute(a, order_a), {free_a, k}), reshape(permute(b, order_b), {k, free_b_count}));
  result_sizes.insert(result_sizes.end(), free_b_sizes.begin(), free_b_sizes.end());
  return reshape(product, result_sizes);
}

Tensor tensordot(const Tensor& a, const Tensor& b, std::int64_t dims) {
  CAKE_CHECK(dims >= 0 && dims <= a.dim() && dims <= b.dim(), "tensordot: cannot contract ", dims,
             " dims of shapes ", a.sizes(), " and ", b.sizes());
  Shape dims_a, dims_b;
  for (std::int64_t i = 0; i < dims; ++i) {
    dims_a.push_back(a.dim() - dims + i);
    dims_b.push_back(i);
  }
  return tensordot(a, b, dims_a, dims_b);
}

// Each block as a matrix (a number is 1 x 1, a vector one row), padded with zero columns to the
// full width at its place, the padded rows stacked.
Tensor block_diag(const std::vector<Tensor>& tensors) {
  if (tensors.empty()) return zeros({1, 0});
  DType dtype = tensors[0].dtype();
  std::int64_t width = 0;
  std::vector<Tensor> blocks;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    CAKE_CHECK(t.dim() <= 2, "block_diag: expected tensors with at most 2 dims, got shape ", t.sizes(), " at position ", i);
    CAKE_CHECK(t.device() == tensors[0].device(), "block_diag: tensor ", i, " is on ", t.device(), ", tensor 0 on ",
               tensors[0].device());
    dtype = promote_types(dtype, t.dtype());
    blocks.push_back(t.dim() == 2 ? t : reshape(t, {1, t.numel()}));
    width += blocks.back().size(1);
  }
  const TensorOptions options(dtype, tensors[0].device());
  std::vector<Tensor> rows;
  std::int64_t left = 0;
  for (const Tensor& block : blocks) {
    const std::int64_t r = block.size(0), c = block.size(1);
    rows.push_back(cat({zeros({r, left}, options), block.to(dtype), zeros({r, width - left - c}, options)}, 1));
    left += c;
  }
  return cat(rows, 0);
}

Tensor cartesian_prod(const std::vector<Tensor>& tensors) {
  CAKE_CHECK(!tensors.empty(), "cartesian_prod: expected at least one tensor");
  for (std::size_t i = 0; i < tensors.size(); ++i)
    CAKE_CHECK(tensors[i].dim() == 1, "cartesian_prod: expected 1-D tensors, got shape ", tensors[i].sizes(),
               " at position ", i);
  if (tensors.size() == 1) return tensors[0];
  std::vector<Tensor> columns;
  for (const Tensor& grid : meshgrid(tensors, "ij")) columns.push_back(reshape(grid, {-1}));
  return stack(columns, 1);
}

}  // namespace cake
