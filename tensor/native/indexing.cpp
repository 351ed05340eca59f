// native/indexing.cpp: argument checks, output shapes and dispatch for the indexing, joining,
// sorting and counting ops. The loops themselves are in cpu/indexing_kernels.cpp.
#include "cake/tensor/native/indexing.h"

#include <algorithm>
#include <limits>
#include <numeric>

#include "cake/tensor/native/elementwise.h"
#include "cake/tensor/native/reduce.h"
#include "cake/tensor/native/view.h"

namespace cake::native {

CAKE_DEFINE_DISPATCH(GatherFn, gather_stub);
CAKE_DEFINE_DISPATCH(ScatterAddFn, scatter_add_stub);
CAKE_DEFINE_DISPATCH(ScatterFn, scatter_stub);
CAKE_DEFINE_DISPATCH(MaskedSelectFn, masked_select_stub);
CAKE_DEFINE_DISPATCH(MaskedScatterFn, masked_scatter_stub);
CAKE_DEFINE_DISPATCH(SortFn, sort_stub);
CAKE_DEFINE_DISPATCH(TopkFn, topk_stub);
CAKE_DEFINE_DISPATCH(CumsumFn, cumsum_stub);
CAKE_DEFINE_DISPATCH(UniqueFn, unique_stub);
CAKE_DEFINE_DISPATCH(BincountFn, bincount_stub);
CAKE_DEFINE_DISPATCH(SearchsortedFn, searchsorted_stub);
CAKE_DEFINE_DISPATCH(ScanFn, scan_stub);
CAKE_DEFINE_DISPATCH(KthvalueFn, kthvalue_stub);

namespace {

void check_same_device(const Tensor& a, const Tensor& b, const char* op) {
  CAKE_CHECK(a.device() == b.device(), op, ": tensors are on different devices, ", to_string(a.device()), " and ",
             to_string(b.device()));
}

void check_int64_index(const Tensor& index, const char* op) {
  CAKE_CHECK(index.defined(), op, ": the index tensor is undefined");
  CAKE_CHECK(index.dtype() == kInt64, op, ": index must be int64, got ", dtype_name(index.dtype()));
}

// The indexed input must have a dimension to index.
void check_has_dims(const Tensor& x, const char* op) {
  CAKE_CHECK(x.dim() > 0, op, ": expected an input with at least one dimension, got a 0-d tensor");
}

// Smallest and largest value of a non-empty int64 tensor, by two reductions, so this works on
// every device without reading the data here.
std::pair<std::int64_t, std::int64_t> min_max(const Tensor& index) {
  return {reduce(ReduceOp::Min, index, {}, false).item<std::int64_t>(),
          reduce(ReduceOp::Max, index, {}, false).item<std::int64_t>()};
}

// A 1-D (or 0-d) index seen with the sizes of `shape`: the same index value along every
// dimension but `dim`, as zero strides (a view, no copy). See NOTE [ Gather and scatter are
// the two index primitives ] in indexing.h.
Tensor expand_along(const Tensor& index, const Shape& shape, std::int64_t dim) {
  Shape strides(shape.size(), 0);
  strides[static_cast<std::size_t>(dim)] = index.dim() == 1 ? index.strides()[0] : 0;
  return make_view(index, shape, strides, index.storage_offset());
}

// The output's shape with `size` at `dim`.
Shape with_size_at(Shape shape, std::int64_t dim, std::int64_t size) {
  shape[static_cast<std::size_t>(dim)] = size;
  return shape;
}

Tensor zeros_of(const Shape& shape, DType dtype, Device device) {
  Tensor out = make_empty(shape, dtype, device);
  fill_(out, 0);
  return out;
}

// A destination written in place must not hold one element at two positions (an expanded view):
// the writes would race and the result would depend on the order.
void check_no_overlap(const Tensor& out, const char* op) {
  for (std::int64_t d = 0; d < out.dim(); ++d)
    CAKE_CHECK(out.sizes()[d] <= 1 || out.strides()[d] != 0, op, ": the destination of shape ", out.sizes(),
               " has stride 0 in dimension ", d, " (an expanded view); write into a contiguous tensor instead");
}

// gather/scatter: index has x's rank and fits inside x in every dimension but dim.
void check_index_fits(const Tensor& x, std::int64_t dim, const Tensor& index, const char* op) {
  CAKE_CHECK(index.dim() == x.dim(), op, ": index of shape ", index.sizes(), " must have the rank of the input ",
             x.sizes());
  for (std::int64_t d = 0; d < x.dim(); ++d)
    CAKE_CHECK(d == dim || index.sizes()[d] <= x.sizes()[d], op, ": index of shape ", index.sizes(),
               " is larger than the input ", x.sizes(), " in dimension ", d);
}

// scatter/scatter_add read src only where index has an element, as PyTorch: src may be larger
// than index in any dimension (never smaller, never of another rank), and is viewed at index's
// extent, with no copy.
Tensor src_within_index(const Tensor& src, const Tensor& index, const char* op) {
  CAKE_CHECK(src.dim() == index.dim(), op, ": src of shape ", src.sizes(), " must have the rank of index ",
             index.sizes());
  Tensor view = src;
  for (std::int64_t d = 0; d < src.dim(); ++d) {
    CAKE_CHECK(src.sizes()[d] >= index.sizes()[d], op, ": src of shape ", src.sizes(),
               " is smaller than index ", index.sizes(), " in dimension ", d);
    if (src.sizes()[d] != index.sizes()[d]) view = narrow(view, d, 0, index.sizes()[d]);
  }
  return view;
}

// What scatter and scatter_add check before their kernel runs: the index, the devices, the
// destination (no two positions share an element) and src (src_within_index); dim is wrapped in
// place. Returns src at index's extent in out's dtype.
Tensor checked_scatter_source(const Tensor& out, std::int64_t& dim, const Tensor& index, const Tensor& src,
                              const char* op) {
  check_int64_index(index, op);
  check_has_dims(out, op);
  check_same_device(out, index, op);
  check_same_device(out, src, op);
  dim = wrap_dim(dim, out.dim(), op);
  check_index_fits(out, dim, index, op);
  check_no_overlap(out, op);
  return to_dtype(src_within_index(src, index, op), out.dtype());
}

// The index kernels check every index as they read it and throw "index 7 is out of range for
// dimension 1 of size 5"; the op's name and the input's shape are added here.
template <class Launch>
void run_index_kernel(const char* op, const Shape& input_shape, Launch&& launch) {
  try {
    launch();
  } catch (const Error& e) {
    CAKE_FAIL(op, ": ", e.what(), " (input of shape ", input_shape, ")");
  }
}

// index_select under the name of the op the user called (index_select or embedding).
Tensor select_slices(const Tensor& x, std::int64_t dim, const Tensor& index, const char* op) {
  check_int64_index(index, op);
  check_has_dims(x, op);
  check_same_device(x, index, op);
  dim = wrap_dim(dim, x.dim(), op);
  CAKE_CHECK(index.dim() <= 1, op, ": index must be 1-D, got shape ", index.sizes());
  Tensor out = make_empty(with_size_at(x.sizes(), dim, index.numel()), x.dtype(), x.device());
  if (out.numel() > 0)
    run_index_kernel(op, x.sizes(), [&] { gather_stub(x.device(), x, dim, expand_along(index, out.sizes(), dim), out); });
  return out;
}

}  // namespace

// ---- gather / scatter ----------------------------------------------------------------------

Tensor gather(const Tensor& x, std::int64_t dim, const Tensor& index) {
  check_int64_index(index, "gather");
  check_has_dims(x, "gather");
  check_same_device(x, index, "gather");
  dim = wrap_dim(dim, x.dim(), "gather");
  check_index_fits(x, dim, index, "gather");
  Tensor out = make_empty(index.sizes(), x.dtype(), x.device());
  if (out.numel() > 0) run_index_kernel("gather", x.sizes(), [&] { gather_stub(x.device(), x, dim, index, out); });
  return out;
}

void scatter_add_(const Tensor& out, std::int64_t dim, const Tensor& index, const Tensor& src) {
  CAKE_CHECK(out.dtype() != kBool, "scatter_add: cannot add into a bool tensor");
  const Tensor values = checked_scatter_source(out, dim, index, src, "scatter_add");
  if (index.numel() > 0)
    run_index_kernel("scatter_add", out.sizes(), [&] { scatter_add_stub(out.device(), out, dim, index, values, Scalar(1)); });
  out.bump_version();
}

Tensor scatter_add(const Tensor& x, std::int64_t dim, const Tensor& index, const Tensor& src) {
  Tensor out = clone(x);
  scatter_add_(out, dim, index, src);
  return out;
}

void scatter_(const Tensor& out, std::int64_t dim, const Tensor& index, const Tensor& src) {
  const Tensor values = checked_scatter_source(out, dim, index, src, "scatter");
  if (index.numel() > 0)
    run_index_kernel("scatter", out.sizes(), [&] { scatter_stub(out.device(), out, dim, index, values, ScatterReduce::None); });
  out.bump_version();
}

// The value as a 0-d tensor of out's dtype seen with index's shape through zero strides: the
// kernel reads one element for every position, with no tensor of index's size made.
void scatter_(const Tensor& out, std::int64_t dim, const Tensor& index, Scalar value) {
  scatter_(out, dim, index, expand(scalar_tensor(value, out.dtype(), out.device()), index.sizes()));
}

Tensor scatter(const Tensor& x, std::int64_t dim, const Tensor& index, const Tensor& src) {
  Tensor out = clone(x);
  scatter_(out, dim, index, src);
  return out;
}

Tensor scatter(const Tensor& x, std::int64_t dim, const Tensor& index, Scalar value) {
  Tensor out = clone(x);
  scatter_(out, dim, index, value);
  return out;
}

namespace {

enum class ReduceKind { Sum, Prod, Mean, Amax, Amin };

ReduceKind parse_reduce(std::string_view reduce) {
  if (reduce == "sum") return ReduceKind::Sum;
  if (reduce == "prod") return ReduceKind::Prod;
  if (reduce == "mean") return ReduceKind::Mean;
  if (reduce == "amax") return ReduceKind::Amax;
  if (reduce == "amin") return ReduceKind::Amin;
  CAKE_FAIL("scatter_reduce: reduce must be one of \"sum\", \"prod\", \"mean\", \"amax\", \"amin\", got \"", reduce,
            "\"");
}

// The value that leaves a reduction unchanged: where include_self is false, out's own element is
// replaced by it before the reduction, so only the scattered values count.
Scalar reduction_identity(ReduceKind kind, DType dtype) {
  const bool largest = kind == ReduceKind::Amin;  // amin starts from the largest value, amax the smallest
  switch (kind) {
    case ReduceKind::Sum:
    case ReduceKind::Mean: return Scalar(0);
    case ReduceKind::Prod: return Scalar(1);
    case ReduceKind::Amax:
    case ReduceKind::Amin: break;
  }
  if (dtype == kBool) return Scalar(largest);
  if (dtype == kUInt8) return Scalar(std::int64_t{largest ? 255 : 0});
  if (dtype == kInt64)
    return Scalar(largest ? std::numeric_limits<std::int64_t>::max() : std::numeric_limits<std::int64_t>::min());
  return Scalar(largest ? std::numeric_limits<double>::infinity() : -std::numeric_limits<double>::infinity());
}

}  // namespace

namespace {

// The kernels of one scatter_reduce_, its arguments checked (values: src in out's dtype). Sum
// goes to the scatter_add kernel, prod / amax / amin to the scatter kernel's reductions, and the
// mean is the sum divided by a count scattered the same way (out's own element counting once
// when included).
void run_scatter_reduce(const Tensor& out, std::int64_t dim, const Tensor& index, const Tensor& values, ReduceKind kind,
                        bool include_self) {
  if (!include_self) {
    const Tensor identity =
        expand(scalar_tensor(reduction_identity(kind, out.dtype()), out.dtype(), out.device()), index.sizes());
    scatter_stub(out.device(), out, dim, index, identity, ScatterReduce::None);
  }
  switch (kind) {
    case ReduceKind::Sum: return scatter_add_stub(out.device(), out, dim, index, values, Scalar(1));
    case ReduceKind::Prod: return scatter_stub(out.device(), out, dim, index, values, ScatterReduce::Prod);
    case ReduceKind::Amax: return scatter_stub(out.device(), out, dim, index, values, ScatterReduce::Amax);
    case ReduceKind::Amin: return scatter_stub(out.device(), out, dim, index, values, ScatterReduce::Amin);
    case ReduceKind::Mean: break;
  }
  const Tensor counts = zeros_of(out.sizes(), out.dtype(), out.device());
  if (include_self) fill_(counts, 1);
  const Tensor one = expand(scalar_tensor(1, out.dtype(), out.device()), index.sizes());
  scatter_add_stub(out.device(), counts, dim, index, one, Scalar(1));
  scatter_add_stub(out.device(), out, dim, index, values, Scalar(1));
  // Elements nothing points at (count 0 without include_self) keep their own value.
  copy_(out, binary(BinaryOp::Div, out, binary(BinaryOp::Maximum, counts, 1.0)));
}

}  // namespace

void scatter_reduce_(const Tensor& out, std::int64_t dim, const Tensor& index, const Tensor& src,
                     std::string_view reduce, bool include_self) {
  const ReduceKind kind = parse_reduce(reduce);
  CAKE_CHECK(kind != ReduceKind::Mean || out.is_floating_point(),
             "scatter_reduce: \"mean\" needs a floating-point tensor, got ", dtype_name(out.dtype()));
  CAKE_CHECK(kind != ReduceKind::Sum || out.dtype() != kBool, "scatter_reduce: cannot add into a bool tensor");
  const Tensor values = checked_scatter_source(out, dim, index, src, "scatter_reduce");
  if (index.numel() > 0)
    run_index_kernel("scatter_reduce", out.sizes(),
                     [&] { run_scatter_reduce(out, dim, index, values, kind, include_self); });
  out.bump_version();
}

Tensor scatter_reduce(const Tensor& x, std::int64_t dim, const Tensor& index, const Tensor& src,
                      std::string_view reduce, bool include_self) {
  Tensor out = clone(x);
  scatter_reduce_(out, dim, index, src, reduce, include_self);
  return out;
}

Tensor index_select(const Tensor& x, std::int64_t dim, const Tensor& index) {
  return select_slices(x, dim, index, "index_select");
}

void index_add_(const Tensor& out, std::int64_t dim, const Tensor& index, const Tensor& source, Scalar alpha) {
  check_int64_index(index, "index_add");
  check_has_dims(out, "index_add");
  check_same_device(out, index, "index_add");
  check_same_device(out, source, "index_add");
  CAKE_CHECK(out.dtype() != kBool, "index_add: cannot add into a bool tensor");
  CAKE_CHECK(out.is_floating_point() || alpha.is_integral(), "index_add: a fractional alpha ", alpha.to_double(),
             " cannot scale an integer tensor of dtype ", dtype_name(out.dtype()));
  dim = wrap_dim(dim, out.dim(), "index_add");
  CAKE_CHECK(index.dim() <= 1, "index_add: index must be 1-D, got shape ", index.sizes());
  const Shape expected = with_size_at(out.sizes(), dim, index.numel());
  CAKE_CHECK(source.sizes() == expected, "index_add: source of shape ", source.sizes(), " must have shape ", expected,
             " (the destination ", out.sizes(), " with ", index.numel(), " indices at dimension ", dim, ")");
  check_no_overlap(out, "index_add");
  if (source.numel() > 0) {
    const Tensor values = to_dtype(source, out.dtype());
    run_index_kernel("index_add", out.sizes(), [&] {
      scatter_add_stub(out.device(), out, dim, expand_along(index, expected, dim), values, alpha);
    });
  }
  out.bump_version();
}

Tensor index_add(const Tensor& x, std::int64_t dim, const Tensor& index, const Tensor& source, Scalar alpha) {
  Tensor out = clone(x);
  index_add_(out, dim, index, source, alpha);
  return out;
}

// ---- masks ---------------------------------------------------------------------------------

static void check_mask(const Tensor& mask, const char* op) {
  CAKE_CHECK(mask.defined(), op, ": the mask is undefined");
  CAKE_CHECK(mask.dtype() == kBool, op, ": mask must be a bool tensor, got ", dtype_name(mask.dtype()));
}

// The mask broadcast to exactly x's shape (x itself does not broadcast).
static Tensor mask_for(const Tensor& x, const Tensor& mask, const char* op) {
  check_mask(mask, op);
  check_same_device(x, mask, op);
  CAKE_CHECK(broadcast_shapes(x.sizes(), mask.sizes(), op) == x.sizes(), op, ": mask of shape ", mask.sizes(),
             " does not broadcast to the input's shape ", x.sizes());
  return expand(mask, x.sizes());
}

Tensor masked_fill(const Tensor& x, const Tensor& mask, Scalar value) {
  const Tensor m = mask_for(x, mask, "masked_fill");
  return where(m, scalar_tensor(value, x.dtype(), x.device()), x);
}

Tensor masked_select(const Tensor& x, const Tensor& mask) {
  check_mask(mask, "masked_select");
  check_same_device(x, mask, "masked_select");
  const Shape shape = broadcast_shapes(x.sizes(), mask.sizes(), "masked_select");
  return masked_select_stub(x.device(), expand(x, shape), expand(mask, shape));
}

Tensor masked_scatter(const Tensor& x, const Tensor& mask, const Tensor& src) {
  const Tensor m = mask_for(x, mask, "masked_scatter");
  check_same_device(x, src, "masked_scatter");
  const std::int64_t needed = sum(m).item<std::int64_t>();
  CAKE_CHECK(src.numel() >= needed, "masked_scatter: the mask selects ", needed, " elements but src of shape ",
             src.sizes(), " has only ", src.numel());
  Tensor out = clone(x);
  if (needed > 0) masked_scatter_stub(x.device(), out, m, reshape(contiguous(to_dtype(src, x.dtype())), {-1}));
  return out;
}

// ---- joining and splitting -----------------------------------------------------------------

// PyTorch's rule, kept so that `acc = cat({acc, piece})` can start from an empty tensor: a 1-D
// tensor with no elements takes no part in the shape checks.
static bool skipped_by_cat(const Tensor& t) { return t.dim() == 1 && t.sizes()[0] == 0; }

Tensor cat(const std::vector<Tensor>& tensors, std::int64_t dim) {
  CAKE_CHECK(!tensors.empty(), "cat: expected a non-empty list of tensors");
  DType dtype = tensors[0].dtype();
  std::size_t ref = tensors.size();  // the first tensor that takes part
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    CAKE_CHECK(tensors[i].defined(), "cat: tensor ", i, " is undefined");
    check_same_device(tensors[0], tensors[i], "cat");
    dtype = promote_types(dtype, tensors[i].dtype());
    if (ref == tensors.size() && !skipped_by_cat(tensors[i])) ref = i;
  }
  if (ref == tensors.size()) return make_empty({0}, dtype, tensors[0].device());
  const Tensor& first = tensors[ref];
  CAKE_CHECK(first.dim() > 0, "cat: zero-dimensional tensor (at position ", ref, ") cannot be concatenated");
  dim = wrap_dim(dim, first.dim(), "cat");
  Shape shape = first.sizes();
  shape[dim] = 0;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    if (skipped_by_cat(t)) continue;
    bool same = t.dim() == first.dim();
    for (std::int64_t d = 0; same && d < t.dim(); ++d) same = d == dim || t.sizes()[d] == first.sizes()[d];
    CAKE_CHECK(same, "cat: tensor ", i, " has shape ", t.sizes(), " but tensor ", ref, " has shape ", first.sizes(),
               "; they must match in every dimension except ", dim);
    shape[dim] += t.sizes()[dim];
  }
  Tensor out = make_empty(shape, dtype, first.device());
  std::int64_t offset = 0;
  for (const Tensor& t : tensors) {
    if (skipped_by_cat(t)) continue;
    const std::int64_t length = t.sizes()[dim];
    if (length > 0 && out.numel() > 0) copy_(narrow(out, dim, offset, length), t);
    offset += length;
  }
  return out;
}

Tensor stack(const std::vector<Tensor>& tensors, std::int64_t dim) {
  CAKE_CHECK(!tensors.empty(), "stack: expected a non-empty list of tensors");
  const Tensor& first = tensors[0];
  CAKE_CHECK(first.defined(), "stack: tensor 0 is undefined");
  dim = wrap_dim(dim, first.dim() + 1, "stack");
  std::vector<Tensor> pieces;
  pieces.reserve(tensors.size());
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    CAKE_CHECK(tensors[i].defined(), "stack: tensor ", i, " is undefined");
    CAKE_CHECK(tensors[i].sizes() == first.sizes(), "stack: tensor ", i, " has shape ", tensors[i].sizes(),
               " but tensor 0 has shape ", first.sizes(), "; stack needs equal shapes");
    pieces.push_back(unsqueeze(tensors[i], dim));
  }
  return cat(pieces, dim);
}

std::vector<std::int64_t> split_sizes(std::int64_t size, std::int64_t split_size) {
  CAKE_CHECK(split_size > 0, "split: split_size must be positive, got ", split_size);
  const std::int64_t pieces = std::max<std::int64_t>(1, (size + split_size - 1) / split_size);
  std::vector<std::int64_t> sizes(static_cast<std::size_t>(pieces), split_size);
  sizes.back() = size - split_size * (pieces - 1);
  return sizes;
}

std::vector<std::int64_t> chunk_sizes(std::int64_t size, std::int64_t chunks) {
  CAKE_CHECK(chunks > 0, "chunk: the number of chunks must be positive, got ", chunks);
  // As PyTorch: pieces of ceil(size / chunks), so there may be fewer than `chunks` of them.
  return split_sizes(size, std::max<std::int64_t>(1, (size + chunks - 1) / chunks));
}

std::vector<Tensor> split(const Tensor& x, const std::vector<std::int64_t>& sizes, std::int64_t dim) {
  check_has_dims(x, "split");
  dim = wrap_dim(dim, x.dim(), "split");
  std::int64_t total = 0;
  for (std::int64_t s : sizes) {
    CAKE_CHECK(s >= 0, "split: negative size ", s, " in ", sizes);
    total += s;
  }
  CAKE_CHECK(total == x.sizes()[dim], "split: sizes ", sizes, " sum to ", total, " but dimension ", dim,
             " of the input ", x.sizes(), " has size ", x.sizes()[dim]);
  std::vector<Tensor> pieces;
  pieces.reserve(sizes.size());
  std::int64_t start = 0;
  for (std::int64_t s : sizes) {
    pieces.push_back(narrow(x, dim, start, s));
    start += s;
  }
  return pieces;
}

std::vector<Tensor> split(const Tensor& x, std::int64_t split_size, std::int64_t dim) {
  check_has_dims(x, "split");
  return split(x, split_sizes(x.sizes()[wrap_dim(dim, x.dim(), "split")], split_size), dim);
}

std::vector<Tensor> chunk(const Tensor& x, std::int64_t chunks, std::int64_t dim) {
  check_has_dims(x, "chunk");
  return split(x, chunk_sizes(x.sizes()[wrap_dim(dim, x.dim(), "chunk")], chunks), dim);
}

// ---- sorting and scans ---------------------------------------------------------------------

std::pair<Tensor, Tensor> sort(const Tensor& x, std::int64_t dim, bool descending) {
  if (x.dim() == 0) {
    wrap_dim(dim, 0, "sort");
    return {clone(x), zeros_of({}, kInt64, x.device())};
  }
  dim = wrap_dim(dim, x.dim(), "sort");
  Tensor values = make_empty(x.sizes(), x.dtype(), x.device());
  Tensor indices = make_empty(x.sizes(), kInt64, x.device());
  if (x.numel() > 0) sort_stub(x.device(), x, dim, descending, values, indices);
  return {values, indices};
}

std::pair<Tensor, Tensor> topk(const Tensor& x, std::int64_t k, std::int64_t dim, bool largest, bool sorted) {
  if (x.dim() == 0) {  // a single element: as a 1-D row of one
    auto [values, indices] = topk(reshape(x, {1}), k, dim, largest, sorted);
    if (k == 1) return {reshape(values, {}), reshape(indices, {})};
    return {values, indices};
  }
  dim = wrap_dim(dim, x.dim(), "topk");
  const std::int64_t size = x.sizes()[dim];
  CAKE_CHECK(k >= 0 && k <= size, "topk: k = ", k, " is out of range for dimension ", dim, " of size ", size,
             " (input of shape ", x.sizes(), ")");
  const Shape shape = with_size_at(x.sizes(), dim, k);
  Tensor values = make_empty(shape, x.dtype(), x.device());
  Tensor indices = make_empty(shape, kInt64, x.device());
  if (values.numel() > 0) topk_stub(x.device(), x, k, dim, largest, sorted, values, indices);
  return {values, indices};
}

std::pair<Tensor, Tensor> kthvalue(const Tensor& x, std::int64_t dim, KthRank rank, std::int64_t k) {
  CAKE_CHECK(x.defined(), "kthvalue: the input is undefined");
  if (x.dim() == 0) {  // a single element: as a 1-D row of one
    auto [values, indices] = kthvalue(reshape(x, {1}), 0, rank, k);
    return {reshape(values, {}), reshape(indices, {})};
  }
  dim = wrap_dim(dim, x.dim(), "kthvalue");
  const std::int64_t size = x.sizes()[dim];
  CAKE_CHECK(size > 0, "kthvalue: dim ", dim, " of shape ", x.sizes(), " is empty");
  CAKE_CHECK(rank != KthRank::Fixed || (k >= 0 && k < size), "kthvalue: k = ", k + 1,
             " is out of range for dimension ", dim, " of size ", size, " (k counts from 1)");
  const Shape shape = with_size_at(x.sizes(), dim, 1);
  Tensor values = make_empty(shape, x.dtype(), x.device());
  Tensor indices = make_empty(shape, kInt64, x.device());
  if (values.numel() > 0) kthvalue_stub(x.device(), x, dim, rank, k, values, indices);
  return {values, indices};
}

Tensor cumsum(const Tensor& x, std::int64_t dim, bool reverse) {
  const DType dtype = is_integral(x.dtype()) ? kInt64 : x.dtype();
  dim = wrap_dim(dim, x.dim(), "cumsum");
  const Tensor in = to_dtype(x, dtype);
  if (x.dim() == 0) return clone(in);
  Tensor out = make_empty(x.sizes(), dtype, x.device());
  if (out.numel() > 0) cumsum_stub(x.device(), in, dim, reverse, out);
  return out;
}

std::pair<Tensor, Tensor> scan(const Tensor& x, std::int64_t dim, ScanOp op) {
  CAKE_CHECK(x.defined(), "scan: the input is undefined");
  CAKE_CHECK(op != ScanOp::LogSumExp || is_floating(x.dtype()), "logcumsumexp: expected a floating-point tensor, got ",
             dtype_name(x.dtype()));
  const DType dtype = op == ScanOp::Prod && is_integral(x.dtype()) ? kInt64 : x.dtype();
  const Tensor in = contiguous(to_dtype(x, dtype));
  Tensor values = make_empty(x.sizes(), dtype, x.device()), indices;
  if (op == ScanOp::Max || op == ScanOp::Min) indices = make_empty(x.sizes(), kInt64, x.device());
  if (x.dim() == 0) {  // one element: itself, at position 0
    copy_(values, in);
    if (indices.defined()) fill_(indices, 0);
    return {values, indices};
  }
  dim = wrap_dim(dim, x.dim(), "scan");
  if (x.numel() > 0) scan_stub(x.device(), in, dim, op, values, indices);
  return {values, indices};
}

// A sorted [..., M] against values [..., K] with the same leading dims is R = prod(...) rows;
// a 1-D sorted is one row shared by all the values, seen as [1, numel].
Tensor searchsorted(const Tensor& sorted, const Tensor& values, bool right) {
  CAKE_CHECK(sorted.defined() && values.defined(), "searchsorted: an input is undefined");
  CAKE_CHECK(sorted.dim() >= 1, "searchsorted: the sorted sequence must have at least one dim, got shape ",
             sorted.sizes());
  check_same_device(sorted, values, "searchsorted");
  const bool shared = sorted.dim() == 1;
  if (!shared) {
    CAKE_CHECK(values.dim() == sorted.dim() && std::equal(sorted.sizes().begin(), sorted.sizes().end() - 1,
                                                          values.sizes().begin()),
               "searchsorted: the sorted sequence ", sorted.sizes(), " and the values ", values.sizes(),
               " must have the same leading dims (or the sequence must be 1-D)");
  }
  DType dtype = promote_types(sorted.dtype(), values.dtype());
  if (dtype == kBool || dtype == kUInt8) dtype = kInt64;
  const std::int64_t m = sorted.size(-1);
  const std::int64_t k = shared ? values.numel() : (values.dim() == 0 ? 1 : values.size(-1));
  const std::int64_t rows = shared ? 1 : (k == 0 ? 0 : values.numel() / k);
  Tensor out = make_empty(values.sizes(), kInt64, values.device());
  if (values.numel() == 0) return out;
  const Tensor s = contiguous(to_dtype(sorted, dtype)).reshape({shared ? 1 : rows, m});
  const Tensor v = contiguous(to_dtype(values, dtype)).reshape({rows, k});
  searchsorted_stub(values.device(), s, v, right, out.reshape({rows, k}));
  return out;
}

// ---- counting ------------------------------------------------------------------------------

UniqueOutputs unique(const Tensor& x, bool return_inverse, bool return_counts) {
  CAKE_CHECK(x.defined(), "unique: the input is undefined");
  UniqueOutputs out;
  unique_stub(x.device(), x, return_inverse, return_counts, out.values, out.inverse, out.counts);
  return out;
}

Tensor bincount(const Tensor& x, const Tensor& weights, std::int64_t minlength) {
  CAKE_CHECK(x.defined(), "bincount: the input is undefined");
  CAKE_CHECK(x.dim() == 1, "bincount: expected a 1-D tensor of non-negative integers, got shape ", x.sizes());
  CAKE_CHECK(is_integral(x.dtype()), "bincount: expected integers, got ", dtype_name(x.dtype()));
  CAKE_CHECK(minlength >= 0, "bincount: minlength must be non-negative, got ", minlength);
  const Tensor values = contiguous(to_dtype(x, kInt64));
  DType dtype = kInt64;
  Tensor w;
  if (weights.defined()) {
    check_same_device(x, weights, "bincount");
    CAKE_CHECK(weights.sizes() == x.sizes(), "bincount: weights of shape ", weights.sizes(),
               " must match the input's shape ", x.sizes());
    dtype = weights.is_floating_point() ? weights.dtype() : kInt64;
    w = contiguous(to_dtype(weights, dtype));
  }
  std::int64_t length = minlength;
  if (values.numel() > 0) {
    const auto [lo, hi] = min_max(values);
    CAKE_CHECK(lo >= 0, "bincount: values must be non-negative, got ", lo);
    length = std::max(length, hi + 1);
  }
  Tensor out = zeros_of({length}, dtype, x.device());
  if (values.numel() > 0) bincount_stub(x.device(), values, w, out);
  return out;
}

Tensor one_hot(const Tensor& labels, std::int64_t num_classes) {
  CAKE_CHECK(labels.defined(), "one_hot: the labels are undefined");
  CAKE_CHECK(labels.dtype() == kInt64, "one_hot: labels must be int64, got ", dtype_name(labels.dtype()));
  CAKE_CHECK(num_classes >= -1, "one_hot: num_classes must be -1 (infer) or non-negative, got ", num_classes);
  if (labels.numel() > 0) {
    const auto [lo, hi] = min_max(labels);
    CAKE_CHECK(lo >= 0, "one_hot: labels must be non-negative, got ", lo);
    if (num_classes == -1) num_classes = hi + 1;
    CAKE_CHECK(hi < num_classes, "one_hot: label ", hi, " is out of range for ", num_classes, " classes");
  } else {
    CAKE_CHECK(num_classes >= 0, "one_hot: cannot infer the number of classes from an empty tensor; pass num_classes");
  }
  Shape shape = labels.sizes();
  shape.push_back(num_classes);
  Tensor out = zeros_of(shape, kInt64, labels.device());
  if (labels.numel() == 0) return out;
  // A 1 scattered to each label's position along the new last dimension.
  const Tensor index = unsqueeze(labels, -1);
  const Tensor one = expand(scalar_tensor(1, kInt64, labels.device()), index.sizes());
  scatter_add_stub(out.device(), out, labels.dim(), index, one, Scalar(1));
  return out;
}

Tensor embedding(const Tensor& weight, const Tensor& indices) {
  CAKE_CHECK(weight.defined() && weight.dim() == 2,
             "embedding: weight must be 2-D [num_embeddings, embedding_dim], got shape ",
             weight.defined() ? weight.sizes() : Shape{});
  check_int64_index(indices, "embedding");
  Shape shape = indices.sizes();
  shape.push_back(weight.sizes()[1]);
  return view(select_slices(weight, 0, reshape(indices, {-1}), "embedding"), shape);
}

}  // namespace cake::native
