// ops.h: Cake's public operations on tensors.
//
//   auto y = cake::tanh(cake::matmul(x, w) + b);
//   auto loss = y.pow(2.0).mean();
//   loss.backward();
//
// Each differentiable op is defined in autograd/ops/<family>.cpp, its backward written right
// under its forward; it computes with the native kernels (tensor/native/) and records a graph
// node when an input requires a gradient. Ops marked "no grad" return tensors that never
// require one (comparisons, indices, counts).
#pragma once

#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "cake/autograd/engine.h"
#include "cake/autograd/grad_mode.h"
#include "cake/tensor/tensor.h"

namespace cake {

// ---- elementwise (autograd/ops/elementwise.cpp) --------------------------------------------
Tensor add(const Tensor& a, const Tensor& b, Scalar alpha = 1);  // a + alpha * b
Tensor sub(const Tensor& a, const Tensor& b, Scalar alpha = 1);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor neg(const Tensor& x);
Tensor abs(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor log1p(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor rsqrt(const Tensor& x);
Tensor square(const Tensor& x);
Tensor pow(const Tensor& x, double exponent);
Tensor pow(const Tensor& x, const Tensor& exponent);
Tensor tanh(const Tensor& x);
Tensor sigmoid(const Tensor& x);
Tensor silu(const Tensor& x);  // x * sigmoid(x), a.k.a. swish
Tensor relu(const Tensor& x);
Tensor leaky_relu(const Tensor& x, double negative_slope = 0.01);
Tensor elu(const Tensor& x, double alpha = 1.0);
Tensor gelu(const Tensor& x);  // exact (erf) form, as PyTorch's default
Tensor sin(const Tensor& x);
Tensor cos(const Tensor& x);
Tensor reciprocal(const Tensor& x);
Tensor clamp(const Tensor& x, std::optional<double> min, std::optional<double> max);
Tensor maximum(const Tensor& a, const Tensor& b);
Tensor minimum(const Tensor& a, const Tensor& b);
Tensor where(const Tensor& condition, const Tensor& a, const Tensor& b);
Tensor sign(const Tensor& x);   // no grad
Tensor floor(const Tensor& x);  // no grad
Tensor ceil(const Tensor& x);   // no grad
Tensor trunc(const Tensor& x);  // no grad: towards zero
Tensor round(const Tensor& x);  // no grad
// Comparisons and predicates: bool tensors, no grad.
Tensor eq(const Tensor& a, const Tensor& b);
Tensor ne(const Tensor& a, const Tensor& b);
Tensor lt(const Tensor& a, const Tensor& b);
Tensor le(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, const Tensor& b);
Tensor ge(const Tensor& a, const Tensor& b);
Tensor isnan(const Tensor& x);
Tensor isfinite(const Tensor& x);
Tensor logical_not(const Tensor& x);
Tensor logical_and(const Tensor& a, const Tensor& b);
Tensor logical_or(const Tensor& a, const Tensor& b);
// True when shapes match and every pair satisfies |a - b| <= atol + rtol * |b| (NaNs unequal).
bool allclose(const Tensor& a, const Tensor& b, double rtol = 1e-5, double atol = 1e-8);
// True when shapes, dtypes and all values are equal.
bool equal(const Tensor& a, const Tensor& b);

// ---- views and shape (autograd/ops/view.cpp) ------------------------------------------------
Tensor view(const Tensor& x, const Shape& shape);
Tensor reshape(const Tensor& x, const Shape& shape);
Tensor transpose(const Tensor& x, std::int64_t dim0, std::int64_t dim1);
Tensor permute(const Tensor& x, const Shape& dims);
Tensor narrow(const Tensor& x, std::int64_t dim, std::int64_t start, std::int64_t length);
Tensor slice(const Tensor& x, std::int64_t dim, std::int64_t start, std::int64_t end, std::int64_t step = 1);
Tensor select(const Tensor& x, std::int64_t dim, std::int64_t index);
Tensor unsqueeze(const Tensor& x, std::int64_t dim);
Tensor squeeze(const Tensor& x);
Tensor squeeze(const Tensor& x, std::int64_t dim);
Tensor expand(const Tensor& x, const Shape& shape);
Tensor flatten(const Tensor& x, std::int64_t start_dim = 0, std::int64_t end_dim = -1);
Tensor broadcast_to(const Tensor& x, const Shape& shape);
// The elements in reverse order along each of dims (torch.flip); a copy.
Tensor flip(const Tensor& x, const Shape& dims);
// x tiled repeats[d] times along dim d (torch's Tensor.repeat); with more counts than dims, x
// gains leading dims of size 1 first: repeat(x [2, 3], {4, 1, 2}) is [4, 2, 6].
Tensor repeat(const Tensor& x, const Shape& repeats);
// Elements shifted `shift` places along dim, those pushed off the end coming back at the start
// (torch.roll along one dim): roll(x, 1, 0) puts the last row first. A copy.
Tensor roll(const Tensor& x, std::int64_t shift, std::int64_t dim);
Tensor contiguous(const Tensor& x);
Tensor clone(const Tensor& x);
Tensor to(const Tensor& x, Device device, DType dtype);

// ---- reductions (autograd/ops/reduce.cpp); empty dims = all dims ----------------------------
Tensor sum(const Tensor& x, const Shape& dims = {}, bool keepdim = false);
Tensor mean(const Tensor& x, const Shape& dims = {}, bool keepdim = false);
// correction=1 is the unbiased (n-1) estimator, as torch.var's default.
Tensor var(const Tensor& x, const Shape& dims = {}, bool keepdim = false, std::int64_t correction = 1);
Tensor std(const Tensor& x, const Shape& dims = {}, bool keepdim = false, std::int64_t correction = 1);
Tensor amax(const Tensor& x, const Shape& dims = {}, bool keepdim = false);
Tensor amin(const Tensor& x, const Shape& dims = {}, bool keepdim = false);
// (values, indices) along dim; values are differentiable, indices int64.
std::pair<Tensor, Tensor> max(const Tensor& x, std::int64_t dim, bool keepdim = false);
std::pair<Tensor, Tensor> min(const Tensor& x, std::int64_t dim, bool keepdim = false);
Tensor argmax(const Tensor& x, std::optional<std::int64_t> dim = std::nullopt, bool keepdim = false);  // no grad
Tensor argmin(const Tensor& x, std::optional<std::int64_t> dim = std::nullopt, bool keepdim = false);  // no grad
Tensor logsumexp(const Tensor& x, const Shape& dims, bool keepdim = false);
Tensor norm(const Tensor& x, double p = 2.0, const Shape& dims = {}, bool keepdim = false);
Tensor prod(const Tensor& x, const Shape& dims = {}, bool keepdim = false);  // no grad
// Whether any / every element over dims is nonzero (bool; no grad).
Tensor any(const Tensor& x, const Shape& dims = {}, bool keepdim = false);
Tensor all(const Tensor& x, const Shape& dims = {}, bool keepdim = false);
Tensor cumsum(const Tensor& x, std::int64_t dim);  // defined beside sort, in autograd/ops/indexing.cpp

// ---- indexing and joining (autograd/ops/indexing.cpp) ---------------------------------------
Tensor index_select(const Tensor& x, std::int64_t dim, const Tensor& index);
Tensor gather(const Tensor& x, std::int64_t dim, const Tensor& index);
// out = x with src's values added at index along dim (out-of-place; differentiable in x, src).
Tensor scatter_add(const Tensor& x, std::int64_t dim, const Tensor& index, const Tensor& src);
// out = x with src's values (or the scalar value) written at index along dim, as torch.scatter:
// out[i][j] = src[i][j] at i = index[i][j] (dim 0). Differentiable in x (zero where written)
// and src (the gradient read back at index). Of repeated indices one value lands (native/indexing.h).
Tensor scatter(const Tensor& x, std::int64_t dim, const Tensor& index, const Tensor& src);
Tensor scatter(const Tensor& x, std::int64_t dim, const Tensor& index, Scalar value);
// torch.scatter_reduce: x with the src values at index along dim reduced into it by "sum",
// "prod", "mean", "amax" or "amin" (include_self false: x's elements that index points at take no
// part). Differentiable in x and src with PyTorch's rules (ties of amax/amin share the gradient).
Tensor scatter_reduce(const Tensor& x, std::int64_t dim, const Tensor& index, const Tensor& src,
                      std::string_view reduce, bool include_self = true);
Tensor index_add(const Tensor& x, std::int64_t dim, const Tensor& index, const Tensor& source, Scalar alpha = 1);
Tensor masked_fill(const Tensor& x, const Tensor& mask, Scalar value);
Tensor masked_select(const Tensor& x, const Tensor& mask);  // 1-D
Tensor cat(const std::vector<Tensor>& tensors, std::int64_t dim = 0);
Tensor stack(const std::vector<Tensor>& tensors, std::int64_t dim = 0);
std::vector<Tensor> split(const Tensor& x, std::int64_t split_size, std::int64_t dim = 0);
std::vector<Tensor> split(const Tensor& x, const std::vector<std::int64_t>& sizes, std::int64_t dim = 0);
std::vector<Tensor> chunk(const Tensor& x, std::int64_t chunks, std::int64_t dim = 0);
// The slices x.select(dim, i) for every i (views).
std::vector<Tensor> unbind(const Tensor& x, std::int64_t dim = 0);
// [n, x.dim()] int64: the coordinates of the n nonzero elements in row-major order. No grad.
Tensor nonzero(const Tensor& x);
// (values, indices); stable sort. Values are differentiable.
std::pair<Tensor, Tensor> sort(const Tensor& x, std::int64_t dim = -1, bool descending = false);
std::pair<Tensor, Tensor> topk(const Tensor& x, std::int64_t k, std::int64_t dim = -1, bool largest = true,
                               bool sorted = true);
Tensor argsort(const Tensor& x, std::int64_t dim = -1, bool descending = false);  // no grad
// Sorted unique values (1-D); with inverse indices and counts when asked. No grad.
struct UniqueResult {
  Tensor values, inverse, counts;
};
UniqueResult unique(const Tensor& x, bool return_inverse = false, bool return_counts = false);
Tensor bincount(const Tensor& x, const Tensor& weights = {}, std::int64_t minlength = 0);  // no grad
Tensor one_hot(const Tensor& labels, std::int64_t num_classes = -1);  // int64 in, int64 out
// Rows of a table picked by an int64 index tensor of any shape (Embedding's lookup).
Tensor embedding(const Tensor& weight, const Tensor& indices);

// ---- linear algebra (autograd/ops/linalg.cpp) ------------------------------------------------
// NumPy matmul semantics: 1-D vectors, batched and broadcast leading dims.
Tensor matmul(const Tensor& a, const Tensor& b);
Tensor mm(const Tensor& a, const Tensor& b);
Tensor bmm(const Tensor& a, const Tensor& b);
// beta * c + alpha * (a @ b)
Tensor addmm(const Tensor& c, const Tensor& a, const Tensor& b, Scalar beta = 1, Scalar alpha = 1);
Tensor outer(const Tensor& a, const Tensor& b);
Tensor dot(const Tensor& a, const Tensor& b);
Tensor trace(const Tensor& x);
// Squared Euclidean distances between rows: out[i][j] = |a_i - b_j|^2, via one GEMM.
Tensor cdist_squared(const Tensor& a, const Tensor& b);
// p-norm distances between rows, as torch.cdist: a [P, M], b [R, M] -> [P, R] (or batched
// [B, P, M], [B, R, M] -> [B, P, R]); p > 0, or infinity for the largest coordinate gap. p = 2
// is sqrt(cdist_squared), one GEMM. The gradient of a zero distance is 0, as PyTorch's.
Tensor cdist(const Tensor& a, const Tensor& b, double p = 2.0);

}  // namespace cake
