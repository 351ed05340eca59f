// autograd/ops/scan.cpp: running products, maxima, minima and log-sum-exps; kthvalue, the
// median, nanmedian and the quantiles; searchsorted.
//
// NOTE [ Scans by doubling ]
// Without a gradient to record, cumprod and logcumsumexp run the native scan (one pass in order,
// native::scan: as PyTorch's, and as fast). With one, they run as a differentiable composite: an
// inclusive scan y[i] = x[0] o x[1] o ... o x[i] of an associative operation o takes ceil(log2 n)
// steps of Hillis & Steele's doubling ("Data parallel algorithms", CACM 1986): after the step
// with offset s, y[i] combines x[i - 2s + 1 .. i]; the step combines each y[i] with y[i - s]
// (earlier, later) and leaves the first s in place. Each step is one differentiable operation
// over the whole tensor (a multiplication, a logaddexp), so the scans need no backward of their
// own: autograd differentiates the steps, zeros included (the product's gradient at a zero is the
// product of the others, not y / x), and second derivatives come for free. It costs O(n log n)
// work and rounds in another order than the one pass (values agree to rounding). cummax and
// cummin take their positions from the native scan and gather the values, so their gradient
// goes to the element chosen.
//
// kthvalue and the medians select one element per row (native::kthvalue), the quantiles read
// the sorted elements; their gradient goes back to the elements chosen, as PyTorch's.
#include <cmath>
#include <limits>
#include <string>

#include "cake/autograd/function.h"
#include "cake/autograd/ops.h"
#include "cake/tensor/creation.h"
#include "cake/tensor/native/elementwise.h"
#include "cake/tensor/native/indexing.h"
#include "cake/tensor/native/reduce.h"

namespace cake {

using native::BinaryOp;

namespace {

// The inclusive scan of y along dim with combine(earlier, later), by doubling (NOTE above).
template <class Combine>
Tensor doubling_scan(Tensor y, std::int64_t dim, Combine combine) {
  const std::int64_t n = y.size(dim);
  for (std::int64_t offset = 1; offset < n; offset *= 2) {
    const Tensor settled = narrow(y, dim, 0, offset);
    const Tensor combined = combine(narrow(y, dim, 0, n - offset), narrow(y, dim, offset, n - offset));
    y = cat({settled, combined}, dim);
  }
  return y;
}

// The running maximum (or minimum) and where it was reached, by the native scan (PyTorch's rule:
// ties go to the last position, a NaN once met stays); the values are then gathered from x, so
// the gradient goes to the element chosen.
std::pair<Tensor, Tensor> running_extreme(const Tensor& x, std::int64_t dim, bool largest, const char* op) {
  CAKE_CHECK(x.defined(), op, ": the input is undefined");
  if (x.dim() == 0) return {x.clone(), zeros({}, TensorOptions(kInt64, x.device()))};
  dim = native::wrap_dim(dim, x.dim(), op);
  const Tensor indices = native::scan(x.detach(), dim, largest ? native::ScanOp::Max : native::ScanOp::Min).second;
  return {gather(x, dim, indices), indices};
}

}  // namespace

Tensor cumprod(const Tensor& x, std::int64_t dim) {
  CAKE_CHECK(x.defined(), "cumprod: the input is undefined");
  // Integers multiply as int64, as PyTorch's cumprod.
  const Tensor start = is_integral(x.dtype()) ? x.to(kInt64) : x;
  if (x.dim() == 0) return start.clone();
  dim = native::wrap_dim(dim, x.dim(), "cumprod");
  if (!autograd::needs_grad({x})) return native::scan(start, dim, native::ScanOp::Prod).first;  // one pass
  return doubling_scan(start, dim, [](const Tensor& earlier, const Tensor& later) { return earlier * later; });
}

Tensor logcumsumexp(const Tensor& x, std::int64_t dim) {
  CAKE_CHECK(x.defined(), "logcumsumexp: the input is undefined");
  CAKE_CHECK(is_floating(x.dtype()), "logcumsumexp: expected a floating-point tensor, got ", dtype_name(x.dtype()));
  if (x.dim() == 0) return x.clone();
  dim = native::wrap_dim(dim, x.dim(), "logcumsumexp");
  if (!autograd::needs_grad({x})) return native::scan(x, dim, native::ScanOp::LogSumExp).first;  // one pass
  return doubling_scan(x, dim, [](const Tensor& earlier, const Tensor& later) { return logaddexp(earlier, later); });
}

std::pair<Tensor, Tensor> cummax(const Tensor& x, std::int64_t dim) { return running_extreme(x, dim, true, "cummax"); }
std::pair<Tensor, Tensor> cummin(const Tensor& x, std::int64_t dim) { return running_extreme(x, dim, false, "cummin"); }

// ---- kthvalue, median, nanmedian ---------------------------------------------------------------
// One element of each row in stable ascending order (native::kthvalue: an O(n) selection on the
// CPU, not a sort); the values are gathered from x, so the gradient goes to the element chosen.
namespace {

std::pair<Tensor, Tensor> select_ranked(const Tensor& x, std::int64_t dim, bool keepdim, native::KthRank rank,
                                        std::int64_t k) {
  Tensor index;
  {
    NoGradGuard no_grad;
    index = native::kthvalue(x.detach(), dim, rank, k).second;
  }
  if (x.dim() == 0) return {x.clone(), index};
  dim = native::wrap_dim(dim, x.dim(), "kthvalue");
  Tensor values = gather(x, dim, index);
  if (!keepdim) {
    values = squeeze(values, dim);
    index = squeeze(index, dim);
  }
  return {values, index};
}

}  // namespace

std::pair<Tensor, Tensor> kthvalue(const Tensor& x, std::int64_t k, std::int64_t dim, bool keepdim) {
  CAKE_CHECK(x.defined(), "kthvalue: the input is undefined");
  return select_ranked(x, dim, keepdim, native::KthRank::Fixed, k - 1);
}

// The lower middle element (index (n - 1) / 2) of the sorted row; a row holding a NaN has the
// NaN (its first) as its median, as torch.median.
std::pair<Tensor, Tensor> median(const Tensor& x, std::int64_t dim, bool keepdim) {
  CAKE_CHECK(x.defined(), "median: the input is undefined");
  if (x.dim() == 0) return {x.clone(), zeros({}, TensorOptions(kInt64, x.device()))};
  dim = native::wrap_dim(dim, x.dim(), "median");
  const std::int64_t n = x.size(dim);
  CAKE_CHECK(n > 0, "median: dim ", dim, " of shape ", x.sizes(), " is empty");
  Tensor index;
  {
    NoGradGuard no_grad;
    index = native::kthvalue(x.detach(), dim, native::KthRank::Fixed, (n - 1) / 2).second;
    if (is_floating(x.dtype())) {
      const Tensor nan = isnan(x.detach());
      const Tensor first_nan = argmax(nan.to(kInt64), dim, /*keepdim=*/true);
      index = where(any(nan, {dim}, /*keepdim=*/true), first_nan, index);
    }
  }
  Tensor values = gather(x, dim, index);
  if (!keepdim) {
    values = squeeze(values, dim);
    index = squeeze(index, dim);
  }
  return {values, index};
}

Tensor median(const Tensor& x) {
  CAKE_CHECK(x.defined() && x.numel() > 0, "median: the input is empty");
  return median(reshape(x, {-1}), 0).first;
}

// The median of each row's numbers, NaNs left out (torch.nanmedian); a row of NaNs only gives NaN.
std::pair<Tensor, Tensor> nanmedian(const Tensor& x, std::int64_t dim, bool keepdim) {
  CAKE_CHECK(x.defined(), "nanmedian: the input is undefined");
  if (x.dim() > 0) {
    const std::int64_t d = native::wrap_dim(dim, x.dim(), "nanmedian");
    CAKE_CHECK(x.size(d) > 0, "nanmedian: dim ", d, " of shape ", x.sizes(), " is empty");
  }
  return select_ranked(x, dim, keepdim, native::KthRank::MiddleOfNumbers, 0);
}

Tensor nanmedian(const Tensor& x) {
  CAKE_CHECK(x.defined() && x.numel() > 0, "nanmedian: the input is empty");
  return nanmedian(reshape(x, {-1}), 0).first;
}

// ---- quantiles ---------------------------------------------------------------------------------
namespace {

enum class Interpolation { Linear, Lower, Higher, Nearest, Midpoint };

Interpolation parse_interpolation(std::string_view name) {
  if (name == "linear") return Interpolation::Linear;
  if (name == "lower") return Interpolation::Lower;
  if (name == "higher") return Interpolation::Higher;
  if (name == "nearest") return Interpolation::Nearest;
  if (name == "midpoint") return Interpolation::Midpoint;
  CAKE_FAIL("quantile: interpolation must be \"linear\", \"lower\", \"higher\", \"nearest\" or \"midpoint\", got \"",
            std::string(name), "\"");
}

// The q-quantile of each row of the sorted tensor along its last dim (n elements; any NaN is
// last, and makes the row's quantile NaN). Position q (n - 1) falls between the sorted elements
// at its floor and its ceiling.
Tensor quantile_of_sorted(const Tensor& sorted, const Tensor& has_nan, double q, Interpolation how) {
  const std::int64_t n = sorted.size(-1);
  const double position = q * static_cast<double>(n - 1);
  const std::int64_t below = static_cast<std::int64_t>(std::floor(position));
  const std::int64_t above = static_cast<std::int64_t>(std::ceil(position));
  const Tensor low = select(sorted, -1, below), high = select(sorted, -1, above);
  Tensor value;
  switch (how) {
    case Interpolation::Linear: value = lerp(low, high, position - static_cast<double>(below)); break;
    case Interpolation::Lower: value = low; break;
    case Interpolation::Higher: value = high; break;
    case Interpolation::Nearest: value = std::nearbyint(position) == static_cast<double>(below) ? low : high; break;
    case Interpolation::Midpoint: value = (low + high) * 0.5; break;
  }
  return where(has_nan, full_like(value, std::numeric_limits<double>::quiet_NaN()), value);
}

}  // namespace

Tensor quantile(const Tensor& x, const Tensor& q, std::optional<std::int64_t> dim, bool keepdim,
                std::string_view interpolation) {
  CAKE_CHECK(x.defined() && q.defined(), "quantile: an input is undefined");
  CAKE_CHECK(is_floating(x.dtype()), "quantile: expected a floating-point tensor, got ", dtype_name(x.dtype()));
  CAKE_CHECK(q.dim() <= 1, "quantile: q must be a number or a 1-D tensor, got shape ", q.sizes());
  const Interpolation how = parse_interpolation(interpolation);
  const Tensor qs = q.to(kCPU).to(kFloat64).reshape({-1}).contiguous();
  const double* q_values = qs.data_ptr<double>();
  for (std::int64_t i = 0; i < qs.numel(); ++i)
    CAKE_CHECK(q_values[i] >= 0.0 && q_values[i] <= 1.0, "quantile: q must lie in [0, 1], got ", q_values[i]);

  // Rows along the last dim: the chosen dim moved last, or everything flattened into one row.
  Tensor rows = dim ? movedim(x, *dim, -1) : reshape(x, {-1});
  CAKE_CHECK(rows.dim() == 0 || rows.size(-1) > 0, "quantile: cannot take quantiles of an empty ",
             dim ? "dim" : "tensor", " (shape ", x.sizes(), ")");
  if (rows.dim() == 0) rows = reshape(rows, {1});
  const Tensor sorted = sort(rows, -1).first;
  Tensor has_nan;
  {
    NoGradGuard no_grad;
    has_nan = any(isnan(rows.detach()), {-1});
  }
  std::vector<Tensor> per_q;
  for (std::int64_t i = 0; i < qs.numel(); ++i) {
    Tensor value = quantile_of_sorted(sorted, has_nan, q_values[i], how);
    if (keepdim) {
      if (dim) {
        value = unsqueeze(value, native::wrap_dim(*dim, x.dim(), "quantile"));
      } else {
        value = reshape(value, Shape(static_cast<std::size_t>(x.dim()), 1));
      }
    }
    per_q.push_back(value);
  }
  return q.dim() == 0 ? per_q[0] : stack(per_q, 0);
}

Tensor quantile(const Tensor& x, double q, std::optional<std::int64_t> dim, bool keepdim, std::string_view interpolation) {
  return quantile(x, full({}, q, kFloat64), dim, keepdim, interpolation);
}

// ---- searching ---------------------------------------------------------------------------------
Tensor searchsorted(const Tensor& sorted, const Tensor& values, bool right) {
  return native::searchsorted(sorted, values, right);
}

Tensor bucketize(const Tensor& x, const Tensor& boundaries, bool right) {
  CAKE_CHECK(boundaries.dim() == 1, "bucketize: boundaries must be 1-D, got shape ", boundaries.sizes());
  return native::searchsorted(boundaries, x, right);
}

}  // namespace cake
