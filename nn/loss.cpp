// loss.cpp: nn::functional's losses. Each is written as its formula in differentiable ops, so
// autograd derives the gradient; the formulas and the stable rewrites are in functional.h.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numbers>
#include <vector>

#include "cake/autograd/ops.h"
#include "cake/nn/functional.h"
#include "cake/tensor/creation.h"

namespace cake::nn::functional {

Tensor reduce_loss(const Tensor& loss, Reduction reduction) {
  switch (reduction) {
    case Reduction::None: return loss;
    case Reduction::Mean: return loss.mean();
    case Reduction::Sum: return loss.sum();
    case Reduction::BatchMean:
      CAKE_CHECK(loss.dim() >= 1 && loss.size(0) > 0, "Reduction::BatchMean needs a batch dimension, got shape ",
                 loss.sizes());
      return loss.sum() / static_cast<double>(loss.size(0));
  }
  CAKE_FAIL("reduce_loss: invalid reduction ", static_cast<int>(reduction));
}

static void check_same_shape(const char* loss, const Tensor& input, const Tensor& target) {
  CAKE_CHECK(input.sizes() == target.sizes(), loss, ": input of shape ", input.sizes(), " and target of shape ",
             target.sizes(), " must have the same shape (a silent broadcast here is usually a bug)");
}

static void check_floating(const char* loss, const Tensor& t, const char* what) {
  CAKE_CHECK(t.is_floating_point(), loss, ": ", what, " must be float32 or float64, got ", dtype_name(t.dtype()));
}

// ---- regression ------------------------------------------------------------------------------
Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
  check_same_shape("mse_loss", input, target);
  return reduce_loss((input - target).square(), reduction);
}

Tensor l1_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
  check_same_shape("l1_loss", input, target);
  return reduce_loss((input - target).abs(), reduction);
}

// The quadratic piece where |d| < beta, the linear one elsewhere; the two meet with equal value
// and slope at |d| = beta. beta = 0 leaves only the linear piece (the quadratic one would
// divide by zero even where it is not chosen, and its NaN gradient would reach the input).
Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, Reduction reduction, double beta) {
  check_same_shape("smooth_l1_loss", input, target);
  CAKE_CHECK(beta >= 0.0, "smooth_l1_loss: beta must be >= 0, got ", beta);
  const Tensor d = (input - target).abs();
  if (beta == 0.0) return reduce_loss(d, reduction);
  return reduce_loss(where(d.detach().lt(beta), 0.5 * d.square() / beta, d - 0.5 * beta), reduction);
}

Tensor huber_loss(const Tensor& input, const Tensor& target, Reduction reduction, double delta) {
  check_same_shape("huber_loss", input, target);
  CAKE_CHECK(delta > 0.0, "huber_loss: delta must be > 0, got ", delta);
  const Tensor d = (input - target).abs();
  return reduce_loss(where(d.detach().le(delta), 0.5 * d.square(), delta * (d - 0.5 * delta)), reduction);
}

// ---- binary classification -------------------------------------------------------------------
Tensor binary_cross_entropy(const Tensor& input, const Tensor& target, Reduction reduction, const Tensor& weight) {
  check_same_shape("binary_cross_entropy", input, target);
  check_floating("binary_cross_entropy", input, "input");
  if (input.numel() > 0) {
    const double lo = input.detach().min().item<double>(), hi = input.detach().max().item<double>();
    CAKE_CHECK(lo >= 0.0 && hi <= 1.0, "binary_cross_entropy: input must be probabilities in [0, 1], found values in [",
               lo, ", ", hi, "]; pass logits to binary_cross_entropy_with_logits instead");
  }
  // log(0) = -inf would make 0 * log(0) = nan; PyTorch clamps each log at -100.
  Tensor log_p = input.log().clamp_min(-100.0);
  Tensor log_not_p = (1.0 - input).log().clamp_min(-100.0);
  Tensor loss = -(target * log_p + (1.0 - target) * log_not_p);
  if (weight.defined()) loss = loss * weight;
  return reduce_loss(loss, reduction);
}

Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target, Reduction reduction,
                                        const Tensor& weight, const Tensor& pos_weight) {
  check_same_shape("binary_cross_entropy_with_logits", input, target);
  check_floating("binary_cross_entropy_with_logits", input, "input");
  const Tensor softplus_neg = -logsigmoid(input);  // softplus(-x) without softplus's cut-off at 20
  Tensor loss = pos_weight.defined() ? (1.0 - target) * input + ((pos_weight - 1.0) * target + 1.0) * softplus_neg
                                     : (1.0 - target) * input + softplus_neg;
  if (weight.defined()) loss = loss * weight;
  return reduce_loss(loss, reduction);
}

// ---- multi-class classification --------------------------------------------------------------
// Checks the int64 class targets of a [N, C, d...] input against [N, d...] and the class range.
static void check_class_targets(const char* loss, const Tensor& input, const Tensor& target,
                                std::int64_t ignore_index) {
  CAKE_CHECK(target.dtype() == kInt64, loss, ": class targets must be int64, got ", dtype_name(target.dtype()),
             " (a floating-point target of the input's shape is read as class probabilities by cross_entropy)");
  CAKE_CHECK(input.dim() >= 2, loss, ": input must be [N, C] or [N, C, d...], got shape ", input.sizes());
  Shape expected = input.sizes();
  expected.erase(expected.begin() + 1);
  CAKE_CHECK(target.sizes() == expected, loss, ": target of shape ", target.sizes(), " does not match input of shape ",
             input.sizes(), " (expected target shape ", expected, ")");
  if (target.numel() == 0) return;
  const Tensor valid = target != Scalar(ignore_index);
  const Tensor safe = where(valid, target, zeros_like(target));
  const std::int64_t lo = safe.min().item<std::int64_t>(), hi = safe.max().item<std::int64_t>();
  CAKE_CHECK(lo >= 0 && hi < input.size(1), loss, ": class targets must lie in [0, ", input.size(1),
             ") (or equal ignore_index ", ignore_index, "), found values in [", lo, ", ", hi, "]");
}

Tensor nll_loss(const Tensor& log_probs, const Tensor& target, Reduction reduction, const Tensor& weight,
                std::int64_t ignore_index) {
  check_class_targets("nll_loss", log_probs, target, ignore_index);
  check_floating("nll_loss", log_probs, "input");
  const std::int64_t classes = log_probs.size(1);
  if (weight.defined())
    CAKE_CHECK(weight.dim() == 1 && weight.size(0) == classes, "nll_loss: weight must have one entry per class (",
               classes, "), got shape ", weight.sizes());
  // Ignored targets are pointed at class 0 for the lookup, then multiplied by a zero weight.
  const Tensor valid = target != Scalar(ignore_index);
  const Tensor safe_target = where(valid, target, zeros_like(target));
  const Tensor picked = gather(log_probs, 1, safe_target.unsqueeze(1)).squeeze(1);  // log p(t_i)
  Tensor sample_weight = valid.to(log_probs.dtype());
  if (weight.defined())
    sample_weight = sample_weight * index_select(weight.to(log_probs.dtype()), 0, safe_target.flatten()).view(target.sizes());
  const Tensor loss = -picked * sample_weight;
  // Mean is a weighted mean: divided by the total weight of the counted targets, not by N.
  if (reduction == Reduction::Mean) return loss.sum() / sample_weight.sum();
  return reduce_loss(loss, reduction);
}

Tensor cross_entropy(const Tensor& logits, const Tensor& target, Reduction reduction, const Tensor& weight,
                     std::int64_t ignore_index) {
  check_floating("cross_entropy", logits, "input");
  const Tensor log_probs = functional::log_softmax(logits, 1);
  if (!target.is_floating_point()) return nll_loss(log_probs, target, reduction, weight, ignore_index);
  // Class probabilities: -sum_c w_c t_c log p_c per sample.
  check_same_shape("cross_entropy", logits, target);
  Tensor weighted = target * log_probs;
  if (weight.defined()) {
    Shape along_classes(static_cast<std::size_t>(logits.dim()), 1);
    along_classes[1] = logits.size(1);
    weighted = weighted * weight.view(along_classes);
  }
  return reduce_loss(-weighted.sum({1}), reduction);
}

// ---- divergences -----------------------------------------------------------------------------
Tensor kl_div(const Tensor& input, const Tensor& target, Reduction reduction, bool log_target) {
  check_same_shape("kl_div", input, target);
  Tensor pointwise;
  if (log_target) {
    pointwise = target.exp() * (target - input);
  } else {
    // t log t is 0 at t = 0 (its limit); log is taken of 1 there so no -inf (or nan gradient)
    // ever appears.
    const Tensor positive = target > Scalar(0.0);
    const Tensor safe_log = where(positive, target, ones_like(target)).log();
    pointwise = target * (safe_log - input);
  }
  return reduce_loss(pointwise, reduction);
}

Tensor gaussian_kl(const Tensor& mu, const Tensor& logvar, Reduction reduction) {
  check_same_shape("gaussian_kl", mu, logvar);
  CAKE_CHECK(mu.dim() >= 2, "gaussian_kl: mu and logvar must be [N, D...] (one row per sample), got shape ",
             mu.sizes());
  Shape feature_dims;
  for (std::int64_t d = 1; d < mu.dim(); ++d) feature_dims.push_back(d);
  const Tensor per_sample = ((logvar + 1.0) - mu.square() - logvar.exp()).sum(feature_dims) * -0.5;
  return reduce_loss(per_sample, reduction);
}

// ---- margin and embedding losses -------------------------------------------------------------
Tensor triplet_margin_loss(const Tensor& anchor, const Tensor& positive, const Tensor& negative, Reduction reduction,
                           double margin, double p, double eps, bool swap) {
  CAKE_CHECK(anchor.dim() == positive.dim() && anchor.dim() == negative.dim(), "triplet_margin_loss: anchor of shape ",
             anchor.sizes(), ", positive of shape ", positive.sizes(), " and negative of shape ", negative.sizes(),
             " must have the same number of dims");
  const Tensor to_positive = pairwise_distance(anchor, positive, p, eps);
  Tensor to_negative = pairwise_distance(anchor, negative, p, eps);
  if (swap) to_negative = minimum(to_negative, pairwise_distance(positive, negative, p, eps));
  return reduce_loss((to_positive - to_negative + margin).clamp_min(0.0), reduction);
}

Tensor margin_ranking_loss(const Tensor& input1, const Tensor& input2, const Tensor& target, Reduction reduction,
                           double margin) {
  check_same_shape("margin_ranking_loss", input1, input2);
  check_same_shape("margin_ranking_loss", input1, target);
  return reduce_loss((-target * (input1 - input2) + margin).clamp_min(0.0), reduction);
}

// The terms are picked with where, as PyTorch does: a target other than +-1 contributes nothing.
Tensor cosine_embedding_loss(const Tensor& input1, const Tensor& input2, const Tensor& target, Reduction reduction,
                             double margin) {
  check_same_shape("cosine_embedding_loss", input1, input2);
  CAKE_CHECK(input1.dim() == 1 || input1.dim() == 2, "cosine_embedding_loss: inputs must be [N, D] or [D], got shape ",
             input1.sizes());
  Shape expected = input1.sizes();
  expected.pop_back();
  CAKE_CHECK(target.sizes() == expected, "cosine_embedding_loss: target of shape ", target.sizes(),
             " does not match inputs of shape ", input1.sizes(), " (expected target shape ", expected, ")");
  const std::int64_t d = input1.dim() - 1;
  // PyTorch's EPSILON = 1e-12 inside the square root keeps a zero vector from dividing by zero.
  const Tensor dot = (input1 * input2).sum({d});
  const Tensor cos = dot / ((input1.square().sum({d}) + 1e-12) * (input2.square().sum({d}) + 1e-12)).sqrt();
  const Tensor zero = zeros_like(cos);
  const Tensor similar = where(target == Scalar(1.0), 1.0 - cos, zero);
  const Tensor dissimilar = where(target == Scalar(-1.0), (cos - margin).clamp_min(0.0), zero);
  return reduce_loss(similar + dissimilar, reduction);
}

// PyTorch's form: x where y != -1, plus max(0, margin - x) where y != 1.
Tensor hinge_embedding_loss(const Tensor& input, const Tensor& target, Reduction reduction, double margin) {
  check_same_shape("hinge_embedding_loss", input, target);
  const Tensor zero = zeros_like(input);
  const Tensor as_distance = where(target != Scalar(-1.0), input, zero);
  const Tensor below_margin = where(target != Scalar(1.0), (margin - input).clamp_min(0.0), zero);
  return reduce_loss(as_distance + below_margin, reduction);
}

// log(1 + e^{-y x}) = -log sigmoid(y x), which stays finite for any y x.
Tensor soft_margin_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
  check_same_shape("soft_margin_loss", input, target);
  return reduce_loss(-logsigmoid(target * input), reduction);
}

Tensor multilabel_soft_margin_loss(const Tensor& input, const Tensor& target, Reduction reduction,
                                   const Tensor& weight) {
  check_same_shape("multilabel_soft_margin_loss", input, target);
  CAKE_CHECK(input.dim() >= 1, "multilabel_soft_margin_loss: expected an input of shape [N, C] or [C], got shape ",
             input.sizes());
  const std::int64_t classes = input.dim() - 1;
  Tensor loss = -(target * logsigmoid(input) + (1.0 - target) * logsigmoid(-input));
  if (weight.defined()) {
    CAKE_CHECK(weight.dim() == 1 && weight.size(0) == input.size(classes),
               "multilabel_soft_margin_loss: weight of shape ", weight.sizes(),
               " must have one entry per class of the input of shape ", input.sizes());
    loss = loss * weight;
  }
  return reduce_loss(loss.mean({classes}), reduction);  // the mean over classes, 1/C sum_c
}

// Scores x [N, C] with int64 classes y [N]; an unbatched [C] with a scalar class is a batch of one.
namespace {
struct ClassScores {
  Tensor scores;   // [N, C]
  Tensor classes;  // int64 [N]
  bool unbatched;
};
ClassScores class_scores(const char* loss, const Tensor& input, const Tensor& target) {
  CAKE_CHECK(input.dim() == 1 || input.dim() == 2, loss, ": expected scores [N, C] or [C], got shape ", input.sizes());
  CAKE_CHECK(target.dtype() == kInt64, loss, ": target must hold int64 classes, got ", dtype_name(target.dtype()));
  const bool unbatched = input.dim() == 1;
  const Tensor scores = unbatched ? input.unsqueeze(0) : input;
  const Tensor classes = target.reshape({-1});
  CAKE_CHECK(classes.size(0) == scores.size(0) && target.dim() <= 1, loss, ": target of shape ", target.sizes(),
             " should hold one class per row of the scores of shape ", input.sizes());
  CAKE_CHECK(classes.numel() == 0 || (amin(classes).item<std::int64_t>() >= 0 &&
                                      amax(classes).item<std::int64_t>() < scores.size(1)),
             loss, ": target holds a class outside [0, ", scores.size(1), ")");
  return {scores, classes, unbatched};
}
}  // namespace

Tensor multi_margin_loss(const Tensor& input, const Tensor& target, Reduction reduction, std::int64_t p, double margin,
                         const Tensor& weight) {
  CAKE_CHECK(p == 1 || p == 2, "multi_margin_loss: p must be 1 or 2, got ", p);
  const auto [x, y, unbatched] = class_scores("multi_margin_loss", input, target);
  const std::int64_t classes = x.size(1);
  const Tensor own_score = gather(x, 1, y.unsqueeze(1));  // x_y, [N, 1]
  Tensor hinge = (x - own_score + margin).clamp_min(0.0);
  if (p == 2) hinge = hinge.square();
  if (weight.defined()) {
    CAKE_CHECK(weight.dim() == 1 && weight.size(0) == classes, "multi_margin_loss: weight of shape ", weight.sizes(),
               " must have one entry per class (", classes, ")");
    hinge = hinge * index_select(weight, 0, y).unsqueeze(1);
  }
  const Tensor not_own = (cake::one_hot(y, classes) == Scalar(0)).to(x.dtype());  // the sum skips i = y
  Tensor per_sample = (hinge * not_own).sum({1}) / static_cast<double>(classes);
  if (unbatched) per_sample = per_sample.squeeze(0);
  return reduce_loss(per_sample, reduction);
}

// The listed classes of a row are its entries before the first -1 (`listed`); they are marked in
// `is_target` by a scatter-add of `listed` (an unlisted entry adds 0 wherever it points).
Tensor multilabel_margin_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
  CAKE_CHECK(input.dim() == 1 || input.dim() == 2, "multilabel_margin_loss: expected scores [N, C] or [C], got shape ",
             input.sizes());
  CAKE_CHECK(target.dtype() == kInt64 && target.sizes() == input.sizes(), "multilabel_margin_loss: target must be int64 "
             "of the scores' shape ", input.sizes(), ", got ", dtype_name(target.dtype()), " of shape ", target.sizes());
  const bool unbatched = input.dim() == 1;
  const Tensor x = unbatched ? input.unsqueeze(0) : input, t = unbatched ? target.unsqueeze(0) : target;
  const std::int64_t classes = x.size(1);
  CAKE_CHECK(t.numel() == 0 || (amin(t).item<std::int64_t>() >= -1 && amax(t).item<std::int64_t>() < classes),
             "multilabel_margin_loss: target holds a class outside [0, ", classes, ") other than the end mark -1");
  const Tensor listed = cumsum((t == Scalar(-1)).to(x.dtype()), 1).eq(0.0).to(x.dtype());  // before the first -1
  const Tensor pointed = t.clamp_min(0);
  const Tensor is_target = scatter_add(zeros_like(x), 1, pointed, listed).gt(0.0);
  const Tensor unlisted = is_target.logical_not().to(x.dtype());
  const Tensor listed_scores = gather(x, 1, pointed);  // x_j for each listed position j, [N, C]
  // hinge[n, j, i] = max(0, 1 - (x_j - x_i)), kept where j is listed and i is not.
  const Tensor hinge = (1.0 - (listed_scores.unsqueeze(2) - x.unsqueeze(1))).clamp_min(0.0);
  Tensor per_sample = (hinge * listed.unsqueeze(2) * unlisted.unsqueeze(1)).sum({1, 2}) / static_cast<double>(classes);
  if (unbatched) per_sample = per_sample.squeeze(0);
  return reduce_loss(per_sample, reduction);
}

Tensor triplet_margin_with_distance_loss(const Tensor& anchor, const Tensor& positive, const Tensor& negative,
                                         const DistanceFunction& distance_function, double margin, bool swap,
                                         Reduction reduction) {
  CAKE_CHECK(margin > 0.0, "triplet_margin_with_distance_loss: margin must be positive, got ", margin);
  const DistanceFunction distance =
      distance_function ? distance_function : [](const Tensor& u, const Tensor& v) { return pairwise_distance(u, v); };
  const Tensor to_positive = distance(anchor, positive);
  Tensor to_negative = distance(anchor, negative);
  if (swap) to_negative = minimum(to_negative, distance(positive, negative));
  return reduce_loss((to_positive - to_negative + margin).clamp_min(0.0), reduction);
}

// ---- likelihood losses -----------------------------------------------------------------------
// var broadcast against input: the same shape, the shape with the last dim 1, or without it.
static Tensor variance_like(const Tensor& var, const Tensor& input) {
  if (var.sizes() == input.sizes()) return var;
  Shape last_dim_one = input.sizes(), no_last_dim = input.sizes();
  if (!last_dim_one.empty()) last_dim_one.back() = 1;
  if (!no_last_dim.empty()) no_last_dim.pop_back();
  if (input.dim() >= 1 && var.sizes() == last_dim_one) return var;
  CAKE_CHECK(input.dim() >= 1 && var.sizes() == no_last_dim, "gaussian_nll_loss: var of shape ", var.sizes(),
             " does not fit input of shape ", input.sizes(), " (expected ", input.sizes(), ", ", last_dim_one, " or ",
             no_last_dim, ")");
  return var.unsqueeze(-1);
}

Tensor gaussian_nll_loss(const Tensor& input, const Tensor& target, const Tensor& var, Reduction reduction, bool full,
                         double eps) {
  check_same_shape("gaussian_nll_loss", input, target);
  CAKE_CHECK(eps >= 0.0, "gaussian_nll_loss: eps must be >= 0, got ", eps);
  const Tensor variance = variance_like(var, input);
  CAKE_CHECK(variance.numel() == 0 || variance.detach().min().item<double>() >= 0.0,
             "gaussian_nll_loss: var has a negative entry");
  // max(var, eps) in value, but with the gradient of var itself: PyTorch clamps a copy under
  // no_grad, so that a variance at the floor still learns. Adding the (constant) lift does that.
  const Tensor detached = variance.detach();
  const Tensor floored = variance + (detached.clamp_min(eps) - detached);
  Tensor loss = 0.5 * (floored.log() + (input - target).square() / floored);
  if (full) loss = loss + 0.5 * std::log(2.0 * std::numbers::pi);
  return reduce_loss(loss, reduction);
}

Tensor poisson_nll_loss(const Tensor& input, const Tensor& target, Reduction reduction, bool log_input, bool full,
                        double eps) {
  check_same_shape("poisson_nll_loss", input, target);
  // With rate r: -log P(t | r) = r - t log r + log(t!); log(t!) does not depend on r.
  Tensor loss = log_input ? input.exp() - target * input : input - target * (input + eps).log();
  if (full) {
    // Stirling's log(t!) ~ t log t - t + 1/2 log(2 pi t), counted only where t > 1 (PyTorch's
    // rule: below that the approximation is poor and log(t!) is 0 at t = 0 and 1 anyway).
    const Tensor above_one = target > Scalar(1.0);
    const Tensor t = where(above_one, target, ones_like(target));
    const Tensor stirling = t * t.log() - t + 0.5 * (t * (2.0 * std::numbers::pi)).log();
    loss = loss + where(above_one, stirling, zeros_like(stirling));
  }
  return reduce_loss(loss, reduction);
}

// ---- contrastive -----------------------------------------------------------------------------
static Tensor class_labels(const std::vector<std::int64_t>& labels, Device device) {
  return tensor(labels, {static_cast<std::int64_t>(labels.size())}).to(device);
}

Tensor info_nce(const Tensor& query, const Tensor& positive_key, const Tensor& negative_keys, double temperature,
                Reduction reduction) {
  CAKE_CHECK(temperature > 0.0, "info_nce: temperature must be positive, got ", temperature);
  CAKE_CHECK(query.dim() == 2, "info_nce: query must be [N, D], got shape ", query.sizes());
  check_same_shape("info_nce", query, positive_key);
  const std::int64_t n = query.size(0), d = query.size(1);
  const Tensor q = normalize(query, 2.0, 1), k = normalize(positive_key, 2.0, 1);
  if (!negative_keys.defined()) {
    // In-batch negatives: row i's positive is key i, every other key is a negative.
    std::vector<std::int64_t> diagonal(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) diagonal[static_cast<std::size_t>(i)] = i;
    return cross_entropy(matmul(q, k.t()) / temperature, class_labels(diagonal, query.device()), reduction);
  }
  Tensor negative_logits;
  if (negative_keys.dim() == 2) {
    CAKE_CHECK(negative_keys.size(1) == d, "info_nce: negative_keys of shape ", negative_keys.sizes(),
               " must be [M, D] or [N, M, D] with D = ", d, " (query shape ", query.sizes(), ")");
    negative_logits = matmul(q, normalize(negative_keys, 2.0, 1).t());  // [N, M]
  } else {
    CAKE_CHECK(negative_keys.dim() == 3 && negative_keys.size(0) == n && negative_keys.size(2) == d,
               "info_nce: negative_keys of shape ", negative_keys.sizes(), " must be [M, D] or [N, M, D] with N = ", n,
               ", D = ", d, " (query shape ", query.sizes(), ")");
    const Tensor negatives = normalize(negative_keys, 2.0, 2);
    negative_logits = matmul(q.unsqueeze(1), negatives.transpose(1, 2)).squeeze(1);  // [N, M]
  }
  // MoCo's layout: the positive logit in column 0, so every label is 0.
  const Tensor positive_logits = (q * k).sum({1}, /*keepdim=*/true);  // [N, 1]
  const Tensor logits = cat({positive_logits, negative_logits}, 1) / temperature;
  return cross_entropy(logits, class_labels(std::vector<std::int64_t>(static_cast<std::size_t>(n), 0), query.device()),
                       reduction);
}

Tensor nt_xent(const Tensor& z1, const Tensor& z2, double temperature, Reduction reduction) {
  CAKE_CHECK(temperature > 0.0, "nt_xent: temperature must be positive, got ", temperature);
  CAKE_CHECK(z1.dim() == 2, "nt_xent: z1 and z2 must be [N, D], got shape ", z1.sizes());
  check_same_shape("nt_xent", z1, z2);
  const std::int64_t n = z1.size(0);
  const Tensor z = normalize(cat({z1, z2}, 0), 2.0, 1);  // [2N, D]
  Tensor similarity = matmul(z, z.t()) / temperature;     // cosine similarities / T
  // A view is not its own negative: its self-similarity gets a logit so negative (-1e30, still
  // finite in float32) that its probability underflows to exactly 0. Finite rather than -inf,
  // so that no 0 * -inf = NaN can arise downstream.
  const Tensor self = eye(2 * n, 2 * n, TensorOptions(kBool, z.device()));
  similarity = where(self, full({1}, -1e30, TensorOptions(z.dtype(), z.device())), similarity);
  // The positive of view i (< N) is view i + N, and the other way round.
  std::vector<std::int64_t> positives(static_cast<std::size_t>(2 * n));
  for (std::int64_t i = 0; i < 2 * n; ++i) positives[static_cast<std::size_t>(i)] = i < n ? i + n : i - n;
  return cross_entropy(similarity, class_labels(positives, z.device()), reduction);
}

// ---- connectionist temporal classification ----------------------------------------------------
// NOTE [ CTC's forward recursion ]
// The target l (length S) is extended with blanks, l' = (blank, l1, blank, l2, ..., lS, blank),
// 2S + 1 states. alpha_t(s), the log-probability of every path through frames 0..t that ends in
// state s, follows the recursion of Graves et al. (2006, eq. 6-7):
//   alpha_0(0) = y_0(blank),  alpha_0(1) = y_0(l1),  alpha_0(s) = -inf otherwise;
//   alpha_t(s) = y_t(l'_s) + log(e^alpha_{t-1}(s) + e^alpha_{t-1}(s-1) + e^alpha_{t-1}(s-2)),
// the third term only where l'_s is a label unlike l'_{s-2} (a path may skip the blank between
// two different labels, never between repeats), and log p(l | x) = log(e^alpha(2S) + e^alpha(2S-1))
// at each sample's last frame. Each step is a few differentiable ops over the batch's [N, 2S + 1]
// states, so autograd yields the gradient that the paper's backward variables give. The
// unreachable states hold a large finite negative number rather than -inf: a log-sum-exp of
// -inf terms has the derivative exp(-inf + inf) = NaN, which would poison the gradients of the
// reachable states through the zero that multiplies it.
namespace {
constexpr double kUnreachable = -1e30;  // "log 0", finite (float32 holds it)

// Each sample's target labels, from targets [N, S] (padded) or 1-D (one after another).
std::vector<std::vector<std::int64_t>> ctc_targets(const Tensor& targets, const std::vector<std::int64_t>& lengths,
                                                   bool one_after_another) {
  const Tensor host = targets.to(Device::cpu()).to(kInt64).contiguous();
  const std::int64_t* v = host.data_ptr<std::int64_t>();
  std::vector<std::vector<std::int64_t>> labels(lengths.size());
  std::int64_t start = 0;
  for (std::size_t n = 0; n < lengths.size(); ++n) {
    const std::int64_t* first = one_after_another ? v + start : v + static_cast<std::int64_t>(n) * host.size(1);
    const std::int64_t available = one_after_another ? host.numel() - start : host.size(1);
    CAKE_CHECK(lengths[n] <= available, "ctc_loss: target length ", lengths[n], " of sample ", n, " is more than the ",
               available, " labels its targets hold");
    labels[n].assign(first, first + lengths[n]);
    start += lengths[n];
  }
  return labels;
}

std::vector<std::int64_t> ctc_lengths(const Tensor& lengths, std::int64_t batch, const char* what) {
  CAKE_CHECK(lengths.defined() && is_integral(lengths.dtype(), false) && lengths.numel() == batch, "ctc_loss: ", what,
             " must hold one integer per sample (", batch, "), got ", lengths.defined() ? lengths.sizes() : Shape{});
  const Tensor host = lengths.to(Device::cpu()).to(kInt64).reshape({-1}).contiguous();
  return std::vector<std::int64_t>(host.data_ptr<std::int64_t>(), host.data_ptr<std::int64_t>() + batch);
}
}  // namespace

Tensor ctc_loss(const Tensor& log_probs, const Tensor& targets, const Tensor& input_lengths, const Tensor& target_lengths,
                std::int64_t blank, Reduction reduction, bool zero_infinity) {
  CAKE_CHECK(log_probs.defined() && is_floating(log_probs.dtype()) && (log_probs.dim() == 2 || log_probs.dim() == 3),
             "ctc_loss: expected floating-point log_probs [T, N, C] or [T, C], got ",
             log_probs.defined() ? log_probs.sizes() : Shape{});
  const bool unbatched = log_probs.dim() == 2;
  const Tensor lp = unbatched ? log_probs.unsqueeze(1) : log_probs;
  const std::int64_t frames = lp.size(0), batch = lp.size(1), classes = lp.size(2);
  CAKE_CHECK(blank >= 0 && blank < classes, "ctc_loss: blank ", blank, " is not one of the ", classes, " classes");
  const std::vector<std::int64_t> in_len = ctc_lengths(input_lengths, batch, "input_lengths");
  const std::vector<std::int64_t> tg_len = ctc_lengths(target_lengths, batch, "target_lengths");
  for (std::int64_t n = 0; n < batch; ++n) {
    CAKE_CHECK(in_len[static_cast<std::size_t>(n)] >= 0 && in_len[static_cast<std::size_t>(n)] <= frames,
               "ctc_loss: input length ", in_len[static_cast<std::size_t>(n)], " of sample ", n, " is outside [0, ", frames, "]");
    CAKE_CHECK(tg_len[static_cast<std::size_t>(n)] >= 0, "ctc_loss: target length of sample ", n, " is negative");
  }
  CAKE_CHECK(targets.defined() && is_integral(targets.dtype(), false), "ctc_loss: targets must hold integer labels");
  const bool one_after_another = unbatched || targets.dim() == 1;
  CAKE_CHECK(one_after_another || (targets.dim() == 2 && targets.size(0) == batch), "ctc_loss: targets of shape ",
             targets.sizes(), " should be [N, S] with N = ", batch, ", or 1-D");
  const auto labels = ctc_targets(targets, tg_len, one_after_another);

  // The extended targets l' [N, L] and where a state may be entered from two states back.
  std::int64_t longest = 0;
  for (std::int64_t n : tg_len) longest = std::max(longest, n);
  const std::int64_t states = 2 * longest + 1;
  std::vector<std::int64_t> extended(static_cast<std::size_t>(batch * states), blank);
  std::vector<std::uint8_t> may_skip(static_cast<std::size_t>(batch * states), 0), starts(extended.size(), 0);
  std::vector<std::int64_t> last_state(static_cast<std::size_t>(batch)), second_last(static_cast<std::size_t>(batch));
  for (std::int64_t n = 0; n < batch; ++n) {
    const auto& l = labels[static_cast<std::size_t>(n)];
    std::int64_t* row = extended.data() + n * states;
    for (std::size_t k = 0; k < l.size(); ++k) {
      CAKE_CHECK(l[k] >= 0 && l[k] < classes && l[k] != blank, "ctc_loss: target label ", l[k], " of sample ", n,
                 " is the blank or outside [0, ", classes, ")");
      row[2 * k + 1] = l[k];
    }
    for (std::int64_t s = 2; s < states; ++s)
      may_skip[static_cast<std::size_t>(n * states + s)] = row[s] != blank && row[s] != row[s - 2];
    starts[static_cast<std::size_t>(n * states)] = 1;
    if (!l.empty()) starts[static_cast<std::size_t>(n * states + 1)] = 1;
    last_state[static_cast<std::size_t>(n)] = 2 * static_cast<std::int64_t>(l.size());
    second_last[static_cast<std::size_t>(n)] = l.empty() ? 0 : 2 * static_cast<std::int64_t>(l.size()) - 1;
  }
  const Device device = lp.device();
  auto on_device = [&](const std::vector<std::int64_t>& v, const Shape& shape) { return tensor(v, shape).to(device); };
  auto mask_on_device = [&](const std::vector<std::uint8_t>& v) {
    return tensor(std::vector<std::int64_t>(v.begin(), v.end()), {batch, states}).to(device).gt(0);
  };
  const Tensor ext = on_device(extended, {batch, states});
  const Tensor skip = mask_on_device(may_skip), start = mask_on_device(starts);
  const Tensor floor = full({}, kUnreachable, TensorOptions(lp.dtype(), device));

  // y_t(l'_s) for every frame and state: [T, N, L].
  const Tensor emissions = gather(lp, 2, ext.unsqueeze(0).expand({frames, batch, states}));
  const Tensor frames_of = on_device(in_len, {batch, 1});
  Tensor alpha = where(start, emissions.select(0, 0), floor);
  for (std::int64_t t = 1; t < frames; ++t) {
    const Tensor one_back = cat({floor.expand({batch, 1}), alpha.narrow(1, 0, states - 1)}, 1);
    const Tensor two_back = states > 2 ? where(skip, cat({floor.expand({batch, 2}), alpha.narrow(1, 0, states - 2)}, 1), floor)
                                       : floor.expand({batch, states});
    const Tensor next = logsumexp(stack({alpha, one_back, two_back}, 0), {0}) + emissions.select(0, t);
    alpha = where(frames_of.gt(t), next, alpha);  // a sample's alpha stops at its last frame
  }
  const Tensor at_last = gather(alpha, 1, on_device(last_state, {batch, 1}));
  const Tensor at_second_last = where(on_device(tg_len, {batch, 1}).gt(0),
                                      gather(alpha, 1, on_device(second_last, {batch, 1})), floor);
  Tensor log_likelihood = logaddexp(at_last, at_second_last).reshape({batch});
  // No frames: the empty target has probability 1, any other 0.
  const Tensor no_frames = on_device(in_len, {batch}).eq(0);
  const Tensor empty_target = on_device(tg_len, {batch}).eq(0);
  log_likelihood = where(no_frames, where(empty_target, zeros_like(log_likelihood), floor.expand({batch})), log_likelihood);

  const Tensor impossible = log_likelihood.lt(kUnreachable / 10);
  const double infinite = std::numeric_limits<double>::infinity();
  Tensor loss = where(impossible, full_like(log_likelihood, zero_infinity ? 0.0 : infinite), -log_likelihood);
  switch (reduction) {
    case Reduction::None: return unbatched ? loss.squeeze(0) : loss;
    case Reduction::Sum: return loss.sum();
    case Reduction::Mean:
      return (loss / on_device(tg_len, {batch}).clamp_min(1).to(loss.dtype())).mean();
    case Reduction::BatchMean: break;
  }
  CAKE_FAIL("ctc_loss: the reduction must be None, Mean or Sum");
}

}  // namespace cake::nn::functional
