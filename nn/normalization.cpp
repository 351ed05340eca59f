// normalization.cpp: BatchNorm1d/2d and LayerNorm.
#include "cake/nn/normalization.h"

#include <sstream>

#include "cake/autograd/grad_mode.h"
#include "cake/nn/functional.h"
#include "cake/nn/init.h"
#include "cake/tensor/creation.h"

namespace cake::nn {

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

void BatchNormBase::reset_running_stats() {
  NoGradGuard no_grad;
  running_mean.zero_();
  running_var.fill_(1.0);
  num_batches_tracked.zero_();
}

void BatchNormBase::reset_parameters() {
  reset_running_stats();
  if (options.affine) {
    init::ones_(weight);
    init::zeros_(bias);
  }
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
  Tensor y = functional::batch_norm(input, running_mean, running_var, weight, bias, is_training(), options.momentum,
                                    options.eps);
  return sequence ? y.squeeze(3) : y;
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

}  // namespace cake::nn
