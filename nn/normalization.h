// normalization.h: batch normalisation (Ioffe & Szegedy 2015) and layer normalisation (Ba et
// al. 2016).
//
//   auto bn = std::make_shared<cake::nn::BatchNorm2d>(16);   // per-channel over [N, 16, H, W]
//   bn->forward(x);      // training: batch statistics; updates running_mean / running_var
//   bn->eval();
//   bn->forward(x);      // evaluation: the running statistics
//   auto ln = std::make_shared<cake::nn::LayerNorm>(cake::Shape{64});   // over the last dim
//
// y = (x - mean) / sqrt(var + eps) * weight + bias. BatchNorm's running statistics follow
// PyTorch: running = (1 - momentum) running + momentum batch, with the unbiased batch variance.
// Its buffers carry PyTorch's names (running_mean, running_var, num_batches_tracked), so
// checkpoints line up with PyTorch's state dicts.
#pragma once

#include <cstdint>
#include <string>

#include "nn/module.h"

namespace cake::nn {

struct BatchNormOptions {
  double eps = 1e-5;
  double momentum = 0.1;
  bool affine = true;  // learn weight (gamma, starts at 1) and bias (beta, starts at 0)
};

// Shared by BatchNorm1d and BatchNorm2d, which differ only in the input ranks they accept.
class BatchNormBase : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  void reset_running_stats();
  void reset_parameters();
  std::string extra_repr() const override;

  std::int64_t num_features;
  BatchNormOptions options;
  Tensor weight, bias;                  // [num_features], undefined without affine
  Tensor running_mean, running_var;     // [num_features] buffers
  Tensor num_batches_tracked;           // int64 scalar buffer: training batches seen

 protected:
  BatchNormBase(std::int64_t num_features, const BatchNormOptions& options);
  // Throws unless x has a rank this layer accepts.
  virtual void check_input(const Tensor& x) const = 0;
};

// Over [N, C] or [N, C, L], per feature C.
class BatchNorm1d : public BatchNormBase {
 public:
  explicit BatchNorm1d(std::int64_t num_features, const BatchNormOptions& options = {})
      : BatchNormBase(num_features, options) {}
  std::string name() const override { return "BatchNorm1d"; }

 protected:
  void check_input(const Tensor& x) const override;
};

// Over [N, C, H, W], per channel C.
class BatchNorm2d : public BatchNormBase {
 public:
  explicit BatchNorm2d(std::int64_t num_features, const BatchNormOptions& options = {})
      : BatchNormBase(num_features, options) {}
  std::string name() const override { return "BatchNorm2d"; }

 protected:
  void check_input(const Tensor& x) const override;
};

// Normalises over the trailing dims given by normalized_shape, per sample; the same in
// training and evaluation.
class LayerNorm : public Module {
 public:
  explicit LayerNorm(Shape normalized_shape, double eps = 1e-5, bool elementwise_affine = true);
  Tensor forward(const Tensor& x) override;
  std::string name() const override { return "LayerNorm"; }
  std::string extra_repr() const override;

  Shape normalized_shape;
  double eps;
  Tensor weight, bias;  // of normalized_shape, undefined without elementwise_affine
};

}  // namespace cake::nn
