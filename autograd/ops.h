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
// ---- more elementwise maths (autograd/ops/math.cpp) -------------------------------------------
// Trigonometric, hyperbolic, exponential and special functions, as torch's of the same names;
// each derivative is stated at the op. The special functions are tensor/special_functions.h.
Tensor tan(const Tensor& x);
Tensor asin(const Tensor& x);
Tensor acos(const Tensor& x);
Tensor atan(const Tensor& x);
Tensor sinh(const Tensor& x);
Tensor cosh(const Tensor& x);
Tensor asinh(const Tensor& x);
Tensor acosh(const Tensor& x);
Tensor atanh(const Tensor& x);
Tensor expm1(const Tensor& x);  // e^x - 1, exact for small x
Tensor exp2(const Tensor& x);
Tensor log2(const Tensor& x);
Tensor log10(const Tensor& x);
Tensor erf(const Tensor& x);
Tensor erfc(const Tensor& x);    // 1 - erf(x), exact in the tail
Tensor erfinv(const Tensor& x);  // the inverse of erf on (-1, 1)
Tensor lgamma(const Tensor& x);  // ln |Gamma(x)|
Tensor digamma(const Tensor& x);  // d/dx ln Gamma(x)
// The n-th derivative of the digamma function (n >= 0; n = 1 is the trigamma).
Tensor polygamma(std::int64_t n, const Tensor& x);
Tensor sinc(const Tensor& x);  // sin(pi x) / (pi x), 1 at 0
Tensor frac(const Tensor& x);  // x - trunc(x); gradient 1
// log(x / (1 - x)), the inverse of the sigmoid; with eps, x is first clamped to [eps, 1 - eps].
Tensor logit(const Tensor& x, std::optional<double> eps = std::nullopt);
// NaN, +inf and -inf replaced by `nan`, `posinf` (default: the dtype's largest finite value)
// and `neginf` (the lowest); the gradient passes where x is finite, as PyTorch's.
Tensor nan_to_num(const Tensor& x, double nan = 0.0, std::optional<double> posinf = std::nullopt,
                  std::optional<double> neginf = std::nullopt);
Tensor atan2(const Tensor& a, const Tensor& b);  // the angle of the point (b, a), in (-pi, pi]
Tensor hypot(const Tensor& a, const Tensor& b);  // sqrt(a^2 + b^2) without overflow
Tensor copysign(const Tensor& a, const Tensor& b);  // |a| with b's sign
// a - trunc(a / b) b (sign of a, C's fmod) and a - floor(a / b) b (sign of b, Python's %).
// Integer tensors stay integer; an integer division by zero is refused.
Tensor fmod(const Tensor& a, const Tensor& b);
Tensor fmod(const Tensor& a, Scalar b);
Tensor remainder(const Tensor& a, const Tensor& b);
Tensor remainder(const Tensor& a, Scalar b);
Tensor floor_divide(const Tensor& a, const Tensor& b);  // floor(a / b), Python's //; no grad
Tensor floor_divide(const Tensor& a, Scalar b);
Tensor logaddexp(const Tensor& a, const Tensor& b);  // log(e^a + e^b) without overflow
Tensor xlogy(const Tensor& a, const Tensor& b);      // a log b, 0 where a == 0
// a + weight (b - a), weight a tensor (broadcast) or a number (torch.lerp).
Tensor lerp(const Tensor& a, const Tensor& b, const Tensor& weight);
Tensor lerp(const Tensor& a, const Tensor& b, Scalar weight);
Tensor addcmul(const Tensor& x, const Tensor& t1, const Tensor& t2, Scalar value = 1);  // x + value t1 t2
Tensor addcdiv(const Tensor& x, const Tensor& t1, const Tensor& t2, Scalar value = 1);  // x + value t1 / t2
// |a - b| <= atol + rtol |b| elementwise (bool, no grad); NaNs equal only with equal_nan.
Tensor isclose(const Tensor& a, const Tensor& b, double rtol = 1e-5, double atol = 1e-8, bool equal_nan = false);

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

// ---- matrices and rearrangements (autograd/ops/structure.cpp) --------------------------------
// The lower / upper triangle of the last two dims, from the diagonal `diagonal` up (0 the main
// diagonal, > 0 above, < 0 below); the rest zero.
Tensor tril(const Tensor& x, std::int64_t diagonal = 0);
Tensor triu(const Tensor& x, std::int64_t diagonal = 0);
// The diagonal of dims dim1, dim2 (offset > 0 above the main one) as a view, that dim moved last.
Tensor diagonal(const Tensor& x, std::int64_t offset = 0, std::int64_t dim1 = 0, std::int64_t dim2 = 1);
// 1-D x: a square matrix with x on diagonal `diagonal`; 2-D x: that diagonal of x (a copy).
Tensor diag(const Tensor& x, std::int64_t diagonal = 0);
// The last dim of x put on a diagonal of two new dims dim1, dim2 of the result (torch.diag_embed).
Tensor diag_embed(const Tensor& x, std::int64_t offset = 0, std::int64_t dim1 = -2, std::int64_t dim2 = -1);
// [2, n] int64: the (row, column) coordinates of the lower / upper triangle of a rows x cols matrix.
Tensor tril_indices(std::int64_t rows, std::int64_t cols, std::int64_t offset = 0);
Tensor triu_indices(std::int64_t rows, std::int64_t cols, std::int64_t offset = 0);
// The dims at `source` moved to `destination`, the others keeping their order (a view).
Tensor movedim(const Tensor& x, std::int64_t source, std::int64_t destination);
Tensor movedim(const Tensor& x, const Shape& source, const Shape& destination);
Tensor moveaxis(const Tensor& x, std::int64_t source, std::int64_t destination);
Tensor swapaxes(const Tensor& x, std::int64_t dim0, std::int64_t dim1);  // transpose
Tensor swapdims(const Tensor& x, std::int64_t dim0, std::int64_t dim1);
// Rotated k quarter turns in the plane of dims (from the first dim towards the second).
Tensor rot90(const Tensor& x, std::int64_t k = 1, const Shape& dims = {0, 1});
// x repeated reps[d] times along dim d; fewer reps than dims count from the last dim (torch.tile).
Tensor tile(const Tensor& x, const Shape& reps);
// Coordinate grids of 1-D tensors: "ij" (matrix indexing, the default) or "xy" (the first two
// dims swapped, as NumPy's default).
std::vector<Tensor> meshgrid(const std::vector<Tensor>& tensors, std::string_view indexing = "ij");
// The Kronecker product: blocks a[i] * b, for any equal number of dims (fewer padded with 1s).
Tensor kron(const Tensor& a, const Tensor& b);
// Contracts the last `dims` dims of a with the first of b, or the listed dims pairwise.
Tensor tensordot(const Tensor& a, const Tensor& b, std::int64_t dims = 2);
Tensor tensordot(const Tensor& a, const Tensor& b, const Shape& dims_a, const Shape& dims_b);
// The matrices (0-, 1- or 2-D) on the diagonal of one block matrix, zeros elsewhere.
Tensor block_diag(const std::vector<Tensor>& tensors);
// [n1 * n2 * ..., k] rows of every combination of the k 1-D tensors' elements (the first slowest).
Tensor cartesian_prod(const std::vector<Tensor>& tensors);

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
// Differentiable for floating x (zeros included: the gradient is the product of the others).
Tensor prod(const Tensor& x, const Shape& dims = {}, bool keepdim = false);
// Whether any / every element over dims is nonzero (bool; no grad).
Tensor any(const Tensor& x, const Shape& dims = {}, bool keepdim = false);
Tensor all(const Tensor& x, const Shape& dims = {}, bool keepdim = false);
Tensor cumsum(const Tensor& x, std::int64_t dim);  // defined beside sort, in autograd/ops/indexing.cpp
// Sums and means that skip NaNs (a mean over nothing but NaNs is NaN, as torch.nanmean).
Tensor nansum(const Tensor& x, const Shape& dims = {}, bool keepdim = false);
Tensor nanmean(const Tensor& x, const Shape& dims = {}, bool keepdim = false);
Tensor count_nonzero(const Tensor& x, const Shape& dims = {});  // int64, no grad
// (var, mean) and (std, mean) in one call, as torch.var_mean / std_mean.
std::pair<Tensor, Tensor> var_mean(const Tensor& x, const Shape& dims = {}, bool keepdim = false,
                                   std::int64_t correction = 1);
std::pair<Tensor, Tensor> std_mean(const Tensor& x, const Shape& dims = {}, bool keepdim = false,
                                   std::int64_t correction = 1);
// (amin, amax) over everything, or along dim.
std::pair<Tensor, Tensor> aminmax(const Tensor& x, std::optional<std::int64_t> dim = std::nullopt,
                                  bool keepdim = false);

// ---- scans and order statistics (autograd/ops/scan.cpp) -------------------------------------
// Inclusive scans along dim, differentiable: the running product, maximum (values, int64
// indices: the last position of the running maximum on ties, as PyTorch), minimum, and log of
// the running sum of exponentials.
Tensor cumprod(const Tensor& x, std::int64_t dim);
std::pair<Tensor, Tensor> cummax(const Tensor& x, std::int64_t dim);
std::pair<Tensor, Tensor> cummin(const Tensor& x, std::int64_t dim);
Tensor logcumsumexp(const Tensor& x, std::int64_t dim);
// The median: of all elements (the lower of the two middle ones for an even count, as
// torch.median), or along dim with int64 indices. The gradient goes to the element chosen.
Tensor median(const Tensor& x);
std::pair<Tensor, Tensor> median(const Tensor& x, std::int64_t dim, bool keepdim = false);
// The median of the numbers, NaNs left out (torch.nanmedian); a row of NaNs only gives NaN.
Tensor nanmedian(const Tensor& x);
std::pair<Tensor, Tensor> nanmedian(const Tensor& x, std::int64_t dim, bool keepdim = false);
// The k-th smallest along dim (k from 1, torch.kthvalue), with its int64 index; NaN counts as
// larger than every number, and equal values rank by position. Found by selection (O(n) per
// row on the CPU); the gradient goes to the element chosen.
std::pair<Tensor, Tensor> kthvalue(const Tensor& x, std::int64_t k, std::int64_t dim = -1, bool keepdim = false);
// The q-quantiles, q in [0, 1], of all elements (dim empty) or along dim, as torch.quantile:
// interpolation "linear" (default), "lower", "higher", "nearest" or "midpoint" between the
// sorted elements at floor and ceil of q (n - 1). A tensor q of quantiles adds a leading dim.
Tensor quantile(const Tensor& x, double q, std::optional<std::int64_t> dim = std::nullopt, bool keepdim = false,
                std::string_view interpolation = "linear");
Tensor quantile(const Tensor& x, const Tensor& q, std::optional<std::int64_t> dim = std::nullopt,
                bool keepdim = false, std::string_view interpolation = "linear");
// For each value, its insertion point in the sorted last dim of `sorted` (the first position
// whose element is >= value; with right, > value), as torch.searchsorted: sorted [..., M] with
// values [..., K] of the same leading dims, or a 1-D sorted with values of any shape. int64, no grad.
Tensor searchsorted(const Tensor& sorted, const Tensor& values, bool right = false);
// The index of the bucket of each element of x given 1-D sorted boundaries (torch.bucketize).
Tensor bucketize(const Tensor& x, const Tensor& boundaries, bool right = false);

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

// ---- sampling (autograd/ops/sampling.cpp); from the global generator (manual_seed), no grad --
// 0/1 draws with probabilities p (of p's dtype and shape), or with one probability for x's shape.
Tensor bernoulli(const Tensor& p);
Tensor bernoulli(const Tensor& x, double p);
// num_samples category indices per row of (unnormalised, non-negative) weights [K] or [N, K]:
// with replacement by the inverse CDF, without by the Gumbel top-k trick (Vieira 2014; Kool,
// van Hoof & Welling 2019). int64 [num_samples] or [N, num_samples].
Tensor multinomial(const Tensor& weights, std::int64_t num_samples, bool replacement = false);
// Normal draws with elementwise (broadcast) means and standard deviations.
Tensor normal(const Tensor& mean, const Tensor& std);
Tensor normal(const Tensor& mean, double std);
Tensor normal(double mean, const Tensor& std);

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
