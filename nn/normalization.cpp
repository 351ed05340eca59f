// normalization.cpp: BatchNorm1d/2d, LayerNorm, GroupNorm, InstanceNorm1d/2d and LocalResponseNorm.
#include "cake/nn/normalization.h"

#include <sstream>

#include "cake/autograd/grad_mode.h"
#include "cake/autograd/ops.h"
#include "cake/nn/functional.h"
#include "cake/nn/init.h"
#include "cake/tensor/creation.h"

namespace cake::nn {

// BatchNorm's and InstanceNorm's running statistics start as those of a standard normal: mean 0,
// variance 1, no batches seen.
static void reset_statistics(Tensor running_mean, Tensor running_var, Tensor num_batches_tracked) {
  NoGradGuard no_grad;
  running_mean.zero_();
  running_var.fill_(1.0);
  num_batches_tracked.zero_();
}

// Their affine map starts as the identity.
static void reset_affine(Tensor weight, Tensor bias) {
  init::ones_(weight);
  init::zeros_(bias);
}

BatchNormBase::BatchNormBase(std::int64_t num_features, const BatchNormOptions& options)
    : num_features(num_features), options(options) {
  CAKE_CHECK(num_features > 0, "BatchNorm: num_features must be positive, got ", num_features);
  if (options.affine) {
    weight = register_parameter("weight", empty({num_features}));
    bias = register_parameter("bias", empty({num_features}));
  }
  running_mean = register_buffer("running_mean", zeros({num_features}));
  running_var = register_buffer("running_var", ones({num_features}));
  num_batches_tracked = register_buffer("num_batches_tracked", zeros({}, kInt64));
  reset_parameters();
}

void BatchNormBase::reset_running_stats() { reset_statistics(running_mean, running_var, num_batches_tracked); }

void BatchNormBase::reset_parameters() {
  reset_running_stats();
  if (options.affine) reset_affine(weight, bias);
}

Tensor BatchNormBase::forward(const Tensor& x) {
  check_input(x);
  CAKE_CHECK(x.size(1) == num_features, name(), ": expected ", num_features, " features (dim 1) but the input has shape ",
             x.sizes());
  if (is_training()) {
    NoGradGuard no_grad;
    num_batches_tracked.add_(1);
  }
  // [N, C, L] is normalised as the image [N, C, L, 1]: the same per-channel statistics.
  const bool sequence = x.dim() == 3;
  const Tensor input = sequence ? x.unsqueeze(3) : x;
  if (is_training() && statistics_reducer != nullptr && statistics_reducer->replicas() > 1) {
    // [N, C] as [N, C, 1, 1]: the same per-channel statistics.
    const Tensor y = synchronized_forward(x.dim() == 2 ? x.unsqueeze(2).unsqueeze(3) : input);
    return x.dim() == 2 ? y.squeeze(3).squeeze(2) : sequence ? y.squeeze(3) : y;
  }
  Tensor y = functional::batch_norm(input, running_mean, running_var, weight, bias, is_training(), options.momentum,
                                    options.eps);
  return sequence ? y.squeeze(3) : y;
}

// Synchronised batch norm (Ioffe & Szegedy 2015, Algorithm 1, with the mini-batch being the
// union of every replica's batch; PyTorch's SyncBatchNorm). The per-channel sums travel, not the
// samples: first sum_i x_i with the sample count (the global mean), then sum_i (x_i - mean)^2
// (the global biased variance; the two-pass form, which does not cancel digits as
// E[x^2] - mean^2 can). Both sums are differentiable, and their backward sums the gradients over
// the replicas, so the input gradient each replica gets is that of the loss of the whole batch.
Tensor BatchNormBase::synchronized_forward(const Tensor& x) {
  const std::int64_t c = num_features;
  const Shape per_channel{1, c, 1, 1};
  const Shape dims{0, 2, 3};
  const double local_count = static_cast<double>(x.numel() / c);
  const Tensor count_here = full({1}, local_count, TensorOptions(x.dtype(), x.device()));
  const Tensor totals = statistics_reducer->sum(cat({x.sum(dims), count_here}, 0));
  const double count = totals.narrow(0, c, 1).item<double>();
  CAKE_CHECK(count > 1, name(), ": synchronised batch norm needs more than one value per channel over all replicas, got ",
             count, " (input shape ", x.sizes(), " here)");
  const Tensor mean = totals.narrow(0, 0, c) / count;
  const Tensor centred = x - mean.view(per_channel);
  const Tensor var = statistics_reducer->sum((centred * centred).sum(dims)) / count;  // biased
  const double eps = options.eps;
  Tensor y = centred * (var + eps).rsqrt().view(per_channel);
  if (options.affine) y = y * weight.view(per_channel) + bias.view(per_channel);
  NoGradGuard no_grad;  // running statistics as the unsynchronised layer: the unbiased variance
  const double m = options.momentum;
  running_mean.mul_(1.0 - m).add_(mean.detach().to(running_mean.dtype()) * m);
  running_var.mul_(1.0 - m).add_(var.detach().to(running_var.dtype()) * (m * count / (count - 1.0)));
  return y;
}

std::string BatchNormBase::extra_repr() const {
  std::ostringstream out;
  out << num_features << ", eps=" << options.eps << ", momentum=" << options.momentum
      << ", affine=" << (options.affine ? "true" : "false");
  return out.str();
}

void BatchNorm1d::check_input(const Tensor& x) const {
  CAKE_CHECK(x.dim() == 2 || x.dim() == 3, "BatchNorm1d: expected input [N, C] or [N, C, L], got shape ", x.sizes());
}

void BatchNorm2d::check_input(const Tensor& x) const {
  CAKE_CHECK(x.dim() == 4, "BatchNorm2d: expected input [N, C, H, W], got shape ", x.sizes());
}

LayerNorm::LayerNorm(Shape normalized_shape, double eps, bool elementwise_affine)
    : normalized_shape(std::move(normalized_shape)), eps(eps) {
  CAKE_CHECK(!this->normalized_shape.empty(), "LayerNorm: normalized_shape must name at least one dim");
  if (elementwise_affine) {
    weight = register_parameter("weight", ones(this->normalized_shape));
    bias = register_parameter("bias", zeros(this->normalized_shape));
  }
}

Tensor LayerNorm::forward(const Tensor& x) { return functional::layer_norm(x, normalized_shape, weight, bias, eps); }

std::string LayerNorm::extra_repr() const {
  std::ostringstream out;
  out << shape_str(normalized_shape) << ", eps=" << eps << ", elementwise_affine=" << (weight.defined() ? "true" : "false");
  return out.str();
}

GroupNorm::GroupNorm(std::int64_t num_groups, std::int64_t num_channels, double eps, bool affine)
    : num_groups(num_groups), num_channels(num_channels), eps(eps) {
  CAKE_CHECK(num_groups > 0 && num_channels > 0 && num_channels % num_groups == 0, "GroupNorm: num_channels (",
             num_channels, ") must be a positive multiple of num_groups (", num_groups, ")");
  if (affine) {
    weight = register_parameter("weight", ones({num_channels}));
    bias = register_parameter("bias", zeros({num_channels}));
  }
}

Tensor GroupNorm::forward(const Tensor& x) {
  CAKE_CHECK(x.dim() >= 2 && x.size(1) == num_channels, "GroupNorm: expected input [N, ", num_channels,
             ", *], got shape ", x.sizes());
  return functional::group_norm(x, num_groups, weight, bias, eps);
}

std::string GroupNorm::extra_repr() const {
  std::ostringstream out;
  out << num_groups << ", " << num_channels << ", eps=" << eps << ", affine=" << (weight.defined() ? "true" : "false");
  return out.str();
}

// PyTorch registers the affine parameters and the statistics buffers only when asked for, under
// BatchNorm's names, so state dicts line up.
InstanceNormBase::InstanceNormBase(const InstanceNormOptions& options) : options(options) {
  const std::int64_t c = options.num_features;
  CAKE_CHECK(c > 0, "InstanceNorm: num_features must be positive, got ", c);
  if (options.affine) {
    weight = register_parameter("weight", empty({c}));
    bias = register_parameter("bias", empty({c}));
  }
  if (options.track_running_stats) {
    running_mean = register_buffer("running_mean", zeros({c}));
    running_var = register_buffer("running_var", ones({c}));
    num_batches_tracked = register_buffer("num_batches_tracked", zeros({}, kInt64));
  }
  reset_parameters();
}

void InstanceNormBase::reset_running_stats() {
  if (options.track_running_stats) reset_statistics(running_mean, running_var, num_batches_tracked);
}

void InstanceNormBase::reset_parameters() {
  reset_running_stats();
  if (options.affine) reset_affine(weight, bias);
}

// The instance statistics in training, and always without running statistics; the running ones
// in evaluation. An unbatched sample is normalised as a batch of one.
Tensor InstanceNormBase::forward(const Tensor& x) {
  const std::int64_t rank = batch_rank();
  CAKE_CHECK(x.dim() == rank || x.dim() == rank - 1, name(), ": expected input ", batch_layout(),
             " or one unbatched sample without N, got shape ", x.sizes());
  if (x.dim() == rank - 1) return forward(x.unsqueeze(0)).squeeze(0);
  CAKE_CHECK(x.size(1) == options.num_features, name(), ": expected ", options.num_features(),
             " channels (dim 1) but the input has shape ", x.sizes());
  const bool use_input_stats = is_training() || !options.track_running_stats;
  if (use_input_stats && options.track_running_stats) {
    NoGradGuard no_grad;
    num_batches_tracked.add_(1);
  }
  return functional::instance_norm(x, running_mean, running_var, weight, bias, use_input_stats, options.momentum,
                                   options.eps);
}

std::string InstanceNormBase::extra_repr() const {
  std::ostringstream out;
  out << options.num_features() << ", eps=" << options.eps() << ", momentum=" << options.momentum()
      << ", affine=" << (options.affine ? "true" : "false")
      << ", track_running_stats=" << (options.track_running_stats ? "true" : "false");
  return out.str();
}

LocalResponseNorm::LocalResponseNorm(const LocalResponseNormOptions& options) : options(options) {
  CAKE_CHECK(options.size > 0, "LocalResponseNorm: size must be positive, got ", options.size());
}

Tensor LocalResponseNorm::forward(const Tensor& x) {
  return functional::local_response_norm(x, options.size, options.alpha, options.beta, options.k);
}

std::string LocalResponseNorm::extra_repr() const {
  std::ostringstream out;
  out << options.size() << ", alpha=" << options.alpha() << ", beta=" << options.beta() << ", k=" << options.k();
  return out.str();
}

}  // namespace cake::nn
