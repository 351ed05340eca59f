// native/indexing.h: gathering, scattering, joining, sorting and counting, without autograd.
//
//   Tensor rows = cake::native::index_select(table, 0, ids);        // table[ids[i], :]
//   Tensor picked = cake::native::gather(logits, 1, labels);        // logits[i, labels[i, j]]
//   Tensor sums = cake::native::index_add(zeros, 0, cluster, x);     // per-cluster row sums
//   auto [values, order] = cake::native::sort(x, -1, false);         // stable, per row
//   Tensor joined = cake::native::cat({a, b, c}, 1);                 // one allocation
//
// The differentiable versions live in autograd/ops/indexing.cpp; most users want cake::gather,
// cake::cat, ... from autograd/ops.h instead.
//
// NOTE [ Gather and scatter are the two index primitives ]
// index_select is gather with an index that is the same along every other dimension, and
// index_add is scatter_add with such an index: the native layer expands the 1-D index to the
// full shape as a view with zero strides (no copy) and calls the gather or scatter_add kernel.
// So each backend writes two index kernels, not four, and the backward of each op is the other
// primitive: d gather = scatter_add of the gradient, d scatter_add = gather of the gradient.
//
// Index values must lie in [0, size) of the indexed dimension; a value outside is a cake::Error
// naming the op, the value, the dimension and its size. (Negative indices do not wrap, as in
// PyTorch.) The kernels check each index as they read it, so validation costs no extra pass;
// an in-place scatter_add_/index_add_ that fails may have updated part of its destination.
#pragma once

#include <string_view>
#include <utility>
#include <vector>

#include "cake/tensor/dispatch.h"
#include "cake/tensor/tensor.h"

namespace cake::native {

// ---- kernels (one per device) ------------------------------------------------------------
// out[p] = x[p with coordinate `dim` replaced by index[p]], for every position p of out.
// index and out have the same sizes; index may hold zero strides (an expanded 1-D index).
// x has the same rank, at least index's size in every dimension but `dim`. An index outside
// [0, x.size(dim)) is a cake::Error naming the first such value (in row-major order).
using GatherFn = void (*)(const Tensor& x, std::int64_t dim, const Tensor& index, const Tensor& out);
// out[p with coordinate `dim` replaced by index[p]] += alpha * src[p], for every position p of
// src, in place. index and src have the same sizes (index may hold zero strides); out has the
// same rank and src's dtype. Duplicate indices accumulate. Indices are checked as in gather.
using ScatterAddFn = void (*)(const Tensor& out, std::int64_t dim, const Tensor& index, const Tensor& src,
                              Scalar alpha);
// out[p with coordinate `dim` replaced by index[p]] = src[p] (reduce None), or that element
// combined with src[p] (Prod: times, Amax / Amin: the larger / smaller, a NaN winning), in
// place: scatter_add's contract with the addition replaced (src may hold zero strides: a scalar
// expanded). Where indices repeat under None, one of the values lands: on the CPU the last
// along dim, on CUDA any.
enum class ScatterReduce { None, Prod, Amax, Amin };
using ScatterFn = void (*)(const Tensor& out, std::int64_t dim, const Tensor& index, const Tensor& src,
                           ScatterReduce reduce);
// x and mask (bool) have the same sizes (either may hold zero strides). masked_select returns
// the elements of x where mask is true, in row-major order, as a fresh 1-D tensor;
// masked_scatter writes src's first elements (contiguous, 1-D, long enough) to those positions
// of out, in place.
using MaskedSelectFn = Tensor (*)(const Tensor& x, const Tensor& mask);
using MaskedScatterFn = void (*)(const Tensor& out, const Tensor& mask, const Tensor& src);
// Sorts each row along `dim` (stable; NaN counts as larger than every number): values and int64
// indices are fresh tensors of x's shape.
using SortFn = void (*)(const Tensor& x, std::int64_t dim, bool descending, const Tensor& values,
                        const Tensor& indices);
// The k largest (or smallest) of each row along `dim`, into values/indices of x's shape with k
// at `dim`. Ties go to the lower index; `sorted` orders them best first, else by position.
using TopkFn = void (*)(const Tensor& x, std::int64_t k, std::int64_t dim, bool largest, bool sorted,
                        const Tensor& values, const Tensor& indices);
// Running sum along `dim` (from the end when `reverse`); out is fresh, x has out's dtype.
using CumsumFn = void (*)(const Tensor& x, std::int64_t dim, bool reverse, const Tensor& out);
// Sorted distinct values of x (any shape), with inverse (x's shape) and counts when asked (the
// other outputs are left undefined).
using UniqueFn = void (*)(const Tensor& x, bool want_inverse, bool want_counts, Tensor& values, Tensor& inverse,
                          Tensor& counts);
// out[v] += weight (1 without weights) for every value v of the int64 1-D x; out is zeroed and
// long enough, and has weights' dtype (int64 without weights). Values are valid.
using BincountFn = void (*)(const Tensor& x, const Tensor& weights, const Tensor& out);
// The running product, maximum, minimum or log-sum-exp along `dim` of x (contiguous), into
// values (x's shape and dtype) and, for Max and Min, the int64 position where the running extreme
// was reached (the last on ties; a NaN is kept once met, with its position), as PyTorch's cumprod,
// cummax, cummin and logcumsumexp. float32 accumulates in double.
enum class ScanOp { Prod, Max, Min, LogSumExp };
using ScanFn = void (*)(const Tensor& x, std::int64_t dim, ScanOp op, const Tensor& values, const Tensor& indices);
// For each row r of values [R, K] (contiguous, values' dtype = sorted's), the insertion point
// of every value in row r of sorted [R, M] (contiguous; one row shared when sorted has R = 1):
// the first position whose element is >= the value (> with `right`), into out [R, K] int64.
using SearchsortedFn = void (*)(const Tensor& sorted, const Tensor& values, bool right, const Tensor& out);
// One element of each row along `dim` in sorted order (ascending, NaN after every number,
// equal values by position: the element a stable sort puts there), into values / indices of
// x's shape with 1 at `dim`. KthRank::Fixed picks position k; KthRank::MiddleOfNumbers the
// lower middle of the row's numbers, (count - 1) / 2 with NaNs left out (a row of NaNs only
// gives its first NaN). kthvalue, median and nanmedian read it.
enum class KthRank { Fixed, MiddleOfNumbers };
using KthvalueFn = void (*)(const Tensor& x, std::int64_t dim, KthRank rank, std::int64_t k, const Tensor& values,
                            const Tensor& indices);
CAKE_DECLARE_DISPATCH(GatherFn, gather_stub);
CAKE_DECLARE_DISPATCH(ScatterAddFn, scatter_add_stub);
CAKE_DECLARE_DISPATCH(ScatterFn, scatter_stub);
CAKE_DECLARE_DISPATCH(MaskedSelectFn, masked_select_stub);
CAKE_DECLARE_DISPATCH(MaskedScatterFn, masked_scatter_stub);
CAKE_DECLARE_DISPATCH(SortFn, sort_stub);
CAKE_DECLARE_DISPATCH(TopkFn, topk_stub);
CAKE_DECLARE_DISPATCH(CumsumFn, cumsum_stub);
CAKE_DECLARE_DISPATCH(UniqueFn, unique_stub);
CAKE_DECLARE_DISPATCH(BincountFn, bincount_stub);
CAKE_DECLARE_DISPATCH(SearchsortedFn, searchsorted_stub);
CAKE_DECLARE_DISPATCH(ScanFn, scan_stub);
CAKE_DECLARE_DISPATCH(KthvalueFn, kthvalue_stub);

// ---- gather / scatter ----------------------------------------------------------------------
// out[i][j] = x[index[i][j]][j] (dim 0), x[i][index[i][j]] (dim 1), ...; index is int64 with
// x's rank and out has index's shape.
Tensor gather(const Tensor& x, std::int64_t dim, const Tensor& index);
// A copy of x with src added at index along dim. src has index's rank and at least its size in
// every dimension; only index's extent of it is read (as in PyTorch).
Tensor scatter_add(const Tensor& x, std::int64_t dim, const Tensor& index, const Tensor& src);
void scatter_add_(const Tensor& out, std::int64_t dim, const Tensor& index, const Tensor& src);
// A copy of x with src (or the scalar value) written at index along dim, src as for
// scatter_add; the in-place forms write into out.
Tensor scatter(const Tensor& x, std::int64_t dim, const Tensor& index, const Tensor& src);
Tensor scatter(const Tensor& x, std::int64_t dim, const Tensor& index, Scalar value);
void scatter_(const Tensor& out, std::int64_t dim, const Tensor& index, const Tensor& src);
void scatter_(const Tensor& out, std::int64_t dim, const Tensor& index, Scalar value);
// torch.scatter_reduce: out[index[i][j]][j] = reduce(out's element, src[i][j], ...) (dim 0),
// reduce one of "sum", "prod", "mean", "amax", "amin"; include_self = false leaves out's own
// values out of the reduction wherever index points (elements nothing points at keep them).
// "mean" needs a floating-point tensor.
Tensor scatter_reduce(const Tensor& x, std::int64_t dim, const Tensor& index, const Tensor& src,
                      std::string_view reduce, bool include_self = true);
void scatter_reduce_(const Tensor& out, std::int64_t dim, const Tensor& index, const Tensor& src,
                     std::string_view reduce, bool include_self = true);
// The slices x.select(dim, index[i]) stacked along dim; index is int64, 1-D (or 0-d).
Tensor index_select(const Tensor& x, std::int64_t dim, const Tensor& index);
// A copy of x with alpha * source.select(dim, i) added to the slice index[i] along dim.
Tensor index_add(const Tensor& x, std::int64_t dim, const Tensor& index, const Tensor& source, Scalar alpha = 1);
void index_add_(const Tensor& out, std::int64_t dim, const Tensor& index, const Tensor& source, Scalar alpha = 1);

// ---- masks ---------------------------------------------------------------------------------
// x with `value` where the bool mask (broadcast to x's shape) is true.
Tensor masked_fill(const Tensor& x, const Tensor& mask, Scalar value);
// The elements of x where mask is true (the two broadcast together), in row-major order, 1-D.
Tensor masked_select(const Tensor& x, const Tensor& mask);
// A copy of x with the positions where mask is true (mask broadcasts to x's shape) filled, in
// row-major order, with consecutive elements of src (at least as many as true entries).
Tensor masked_scatter(const Tensor& x, const Tensor& mask, const Tensor& src);

// ---- joining and splitting -----------------------------------------------------------------
// Concatenation along dim: one output allocation, then one strided copy per input into its
// narrow() slice of the output. dtypes promote; 1-D empty tensors are skipped (as in PyTorch).
Tensor cat(const std::vector<Tensor>& tensors, std::int64_t dim = 0);
// Equal-shaped tensors joined along a new dimension `dim`.
Tensor stack(const std::vector<Tensor>& tensors, std::int64_t dim = 0);
// Views of consecutive pieces along dim: of the given sizes (summing to x.size(dim)), or of
// split_size each (the last may be smaller), or `chunks` pieces of ceil(size / chunks) each.
std::vector<Tensor> split(const Tensor& x, const std::vector<std::int64_t>& sizes, std::int64_t dim = 0);
std::vector<Tensor> split(const Tensor& x, std::int64_t split_size, std::int64_t dim = 0);
std::vector<Tensor> chunk(const Tensor& x, std::int64_t chunks, std::int64_t dim = 0);
// The piece sizes split(x, split_size, dim) and chunk(x, chunks, dim) use.
std::vector<std::int64_t> split_sizes(std::int64_t size, std::int64_t split_size);
std::vector<std::int64_t> chunk_sizes(std::int64_t size, std::int64_t chunks);

// ---- sorting and scans ---------------------------------------------------------------------
// (values, int64 indices), stable: equal elements keep their order. NaN sorts as the largest.
std::pair<Tensor, Tensor> sort(const Tensor& x, std::int64_t dim = -1, bool descending = false);
// (values, indices) of the k largest (smallest when !largest) along dim; ties go to the lower
// index, so with `sorted` the result is the first k of the stable sort.
std::pair<Tensor, Tensor> topk(const Tensor& x, std::int64_t k, std::int64_t dim = -1, bool largest = true,
                               bool sorted = true);
// (values, indices) of one element of each row along dim in stable ascending order, NaN last
// (kthvalue_stub above): position k (0-based) for KthRank::Fixed, the lower middle of the
// numbers for MiddleOfNumbers. Shaped as x with 1 at dim; a 0-d x is its own row.
std::pair<Tensor, Tensor> kthvalue(const Tensor& x, std::int64_t dim, KthRank rank, std::int64_t k = 0);
// out[i] = x[0] + ... + x[i] along dim; with `reverse`, x[i] + ... + x[n-1]. Integer and bool
// inputs sum in int64; float32 sums accumulate in double.
Tensor cumsum(const Tensor& x, std::int64_t dim, bool reverse = false);
// (values, indices) of the running op along dim, one pass in order (the differentiable scans of
// autograd/ops/scan.cpp use it where no gradient is recorded); indices are undefined for Prod and
// LogSumExp. Integer and bool inputs scan as int64 (Prod, Max, Min); LogSumExp needs floats.
std::pair<Tensor, Tensor> scan(const Tensor& x, std::int64_t dim, ScanOp op);
// Insertion points of values in the sorted last dim of sorted, by binary search (torch.searchsorted):
// sorted [..., M] and values [..., K] with equal leading dims, or a 1-D sorted and any values.
Tensor searchsorted(const Tensor& sorted, const Tensor& values, bool right = false);

// ---- counting ------------------------------------------------------------------------------
struct UniqueOutputs {
  Tensor values, inverse, counts;  // inverse/counts undefined unless asked for
};
// Sorted distinct values of x (flattened); inverse[p] is the position of x[p] in values.
UniqueOutputs unique(const Tensor& x, bool return_inverse = false, bool return_counts = false);
// out[v] = number of times v occurs in the non-negative int64 1-D x (or the sum of its
// weights); length max(x) + 1, at least minlength.
Tensor bincount(const Tensor& x, const Tensor& weights = {}, std::int64_t minlength = 0);
// int64 labels of any shape -> int64 [..., num_classes] with a 1 at each label;
// num_classes = -1 takes max(labels) + 1.
Tensor one_hot(const Tensor& labels, std::int64_t num_classes = -1);
// Rows of the 2-D `weight` picked by an int64 index tensor of any shape: [..., D].
Tensor embedding(const Tensor& weight, const Tensor& indices);

}  // namespace cake::native
