// autograd/ops/sampling.cpp: draws from the Bernoulli, categorical (multinomial) and normal
// distributions with tensor parameters, made from the global generator's uniform and normal
// draws (manual_seed fixes them), so every backend samples through kernels it already has.
// The results carry no gradient.
#include <cmath>
#include <limits>

#include "cake/autograd/ops.h"
#include "cake/tensor/creation.h"

namespace cake {

namespace {

// The smallest and largest element as doubles (one host read each).
std::pair<double, double> range_of(const Tensor& x) {
  return {x.min().item<double>(), x.max().item<double>()};
}

}  // namespace

// 1 where a uniform draw falls below p.
Tensor bernoulli(const Tensor& p) {
  NoGradGuard no_grad;
  CAKE_CHECK(p.defined() && is_floating(p.dtype()), "bernoulli: expected floating-point probabilities");
  if (p.numel() == 0) return empty_like(p);
  const auto [low, high] = range_of(p);
  CAKE_CHECK(low >= 0.0 && high <= 1.0, "bernoulli: probabilities must lie in [0, 1], got values from ", low, " to ", high);
  return lt(rand_like(p), p).to(p.dtype());
}

Tensor bernoulli(const Tensor& x, double p) {
  NoGradGuard no_grad;
  CAKE_CHECK(p >= 0.0 && p <= 1.0, "bernoulli: p must lie in [0, 1], got ", p);
  return lt(rand(x.sizes(), TensorOptions(kFloat64, x.device())), full({}, p, TensorOptions(kFloat64, x.device())))
      .to(x.dtype());
}

// With replacement, the inverse of each row's cumulative distribution at uniform points: the
// category of u in [0, total) is the first whose running sum exceeds u. Without, the Gumbel
// top-k trick: the k largest of log w_i + G_i (G_i standard Gumbel draws, -log(-log u)) are k
// draws without replacement, in order, with probabilities proportional to w.
Tensor multinomial(const Tensor& weights, std::int64_t num_samples, bool replacement) {
  NoGradGuard no_grad;
  CAKE_CHECK(weights.defined() && (weights.dim() == 1 || weights.dim() == 2),
             "multinomial: expected weights of shape [K] or [N, K], got ", weights.defined() ? weights.sizes() : Shape{});
  CAKE_CHECK(is_floating(weights.dtype()), "multinomial: expected floating-point weights, got ",
             dtype_name(weights.dtype()));
  CAKE_CHECK(num_samples > 0, "multinomial: num_samples must be positive, got ", num_samples);
  const Tensor rows = weights.dim() == 1 ? weights.unsqueeze(0) : weights;
  const std::int64_t categories = rows.size(1);
  CAKE_CHECK(categories > 0, "multinomial: the weights have no categories (shape ", weights.sizes(), ")");
  const auto [low, high] = range_of(rows);
  CAKE_CHECK(low >= 0.0 && std::isfinite(high), "multinomial: weights must be finite and non-negative, got values from ",
             low, " to ", high);
  const Tensor positive = count_nonzero(rows, {1});
  CAKE_CHECK(positive.min().item<std::int64_t>() > 0, "multinomial: a row of weights sums to zero");
  Tensor samples;
  if (replacement) {
    const Tensor cumulative = cumsum(rows.to(kFloat64), 1);
    const Tensor totals = narrow(cumulative, 1, categories - 1, 1);
    const Tensor points = rand({rows.size(0), num_samples}, TensorOptions(kFloat64, rows.device())) * totals;
    samples = clamp(searchsorted(cumulative.contiguous(), points, /*right=*/true), std::nullopt,
                    static_cast<double>(categories - 1));
  } else {
    CAKE_CHECK(num_samples <= categories, "multinomial: cannot draw ", num_samples, " of ", categories,
               " categories without replacement");
    CAKE_CHECK(positive.min().item<std::int64_t>() >= num_samples, "multinomial: a row has fewer than ", num_samples,
               " categories of non-zero weight to draw without replacement");
    const Tensor uniform = clamp(rand(rows.sizes(), TensorOptions(kFloat64, rows.device())),
                                 std::numeric_limits<double>::min(), std::nullopt);
    const Tensor keys = log(rows.to(kFloat64)) - log(-log(uniform));
    samples = std::get<1>(keys.topk(num_samples, 1));
  }
  return weights.dim() == 1 ? samples.squeeze(0) : samples;
}

Tensor normal(const Tensor& mean, const Tensor& std) {
  NoGradGuard no_grad;
  CAKE_CHECK(mean.defined() && std.defined() && is_floating(mean.dtype()) && is_floating(std.dtype()),
             "normal: expected floating-point means and standard deviations");
  if (std.numel() > 0)
    CAKE_CHECK(std.min().item<double>() >= 0.0, "normal: standard deviations must be >= 0, got ", std.min().item<double>());
  const Tensor scale = std.expand_as(mean + std);
  return mean + std * randn(scale.sizes(), TensorOptions(promote_types(mean.dtype(), std.dtype()), mean.device()));
}
Tensor normal(const Tensor& mean, double std) {
  return normal(mean, full({}, std, TensorOptions(mean.dtype(), mean.device())));
}
Tensor normal(double mean, const Tensor& std) {
  return normal(full({}, mean, TensorOptions(std.dtype(), std.device())), std);
}

}  // namespace cake
