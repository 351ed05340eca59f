// normalization.h: batch normalisation (Ioffe & Szegedy 2015), layer normalisation (Ba et al.
// 2016), group normalisation (Wu & He 2018), instance normalisation (Ulyanov et al. 2016) and
// local response normalisation (Krizhevsky et al. 2012).
//
//   auto bn = std::make_shared<cake::nn::BatchNorm2d>(16);   // per-channel over [N, 16, H, W]
//   bn->forward(x);      // training: batch statistics; updates running_mean / running_var
//   bn->eval();
//   bn->forward(x);      // evaluation: the running statistics
//   auto ln = std::make_shared<cake::nn::LayerNorm>(cake::Shape{64});   // over the last dim
//   cake::nn::BatchNorm2d bn2(cake::nn::BatchNorm2dOptions(16).momentum(0.01));   // libtorch's spelling
//   cake::nn::GroupNorm gn(4, 16);                            // 4 groups of 4 channels, per sample
//   cake::nn::LocalResponseNorm lrn(cake::nn::LocalResponseNormOptions(5).k(2));   // AlexNet's
//   cake::nn::InstanceNorm2d in(cake::nn::InstanceNorm2dOptions(16).affine(true));   // per sample and channel
//   cake::Tensor styled = in(x);
//
// y = (x - mean) / sqrt(var + eps) * weight + bias. BatchNorm's running statistics follow
// PyTorch: running = (1 - momentum) running + momentum batch, with the unbiased batch variance.
// Its buffers carry PyTorch's names (running_mean, running_var, num_batches_tracked), so
// checkpoints line up with PyTorch's state dicts.
#pragma once

#include <cstdint>
#include <string>

#include "cake/nn/module.h"
#include "cake/nn/options.h"

namespace cake::nn {

// BatchNorm2dOptions(16).momentum(0.01), or {.momentum = 0.01} beside the feature count.
struct BatchNormOptions {
  using Self = BatchNormOptions;
  CAKE_ARG(std::int64_t, num_features) = 0;  // ignored by the constructors that take it as an argument
  CAKE_ARG(double, eps) = 1e-5;
  CAKE_ARG(double, momentum) = 0.1;
  CAKE_ARG(bool, affine) = true;  // learn weight (gamma, starts at 1) and bias (beta, starts at 0)
};
using BatchNorm1dOptions = BatchNormOptions;
using BatchNorm2dOptions = BatchNormOptions;

// Sums per-channel batch statistics over the replicas of a data-parallel run, so that a
// BatchNorm in training mode normalises with the statistics of the global batch: synchronised
// batch norm (PyTorch's SyncBatchNorm). nn defines only this seam; cake::distributed
// (distributed/sync_batchnorm.h) implements it with an all-reduce over a process group.
class BatchStatisticsReducer {
 public:
  virtual ~BatchStatisticsReducer() = default;
  // How many replicas share the batch; with 1 the layer is plain BatchNorm.
  virtual int replicas() const = 0;
  // The element-wise sum over the replicas of `local` (a 1-D tensor), recorded for autograd:
  // its backward sums the incoming gradients over the replicas as well.
  virtual Tensor sum(const Tensor& local) = 0;
};

// Shared by BatchNorm1d and BatchNorm2d, which differ only in the input ranks they accept.
class BatchNormBase : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  void reset_running_stats();
  void reset_parameters();
  std::string extra_repr() const override;

  std::int64_t num_features = 0;
  BatchNormOptions options;
  Tensor weight, bias;                  // [num_features], undefined without affine
  Tensor running_mean, running_var;     // [num_features] buffers
  Tensor num_batches_tracked;           // int64 scalar buffer: training batches seen
  // Set: in training, the mean and variance are those of the batches of all replicas together
  // (see BatchStatisticsReducer); null (the default): those of this process's batch alone.
  // Not copied by clone().
  std::shared_ptr<BatchStatisticsReducer> statistics_reducer;

 protected:
  BatchNormBase() = default;  // for empty holders
  BatchNormBase(std::int64_t num_features, const BatchNormOptions& options);
  // Throws unless x has a rank this layer accepts.
  virtual void check_input(const Tensor& x) const = 0;

 private:
  // Training with a reducer: x [N, C, H, W], statistics summed over the replicas.
  Tensor synchronized_forward(const Tensor& x);
};

// Over [N, C] or [N, C, L], per feature C.
class BatchNorm1d : public BatchNormBase, public Holder<BatchNorm1d> {
 public:
  explicit BatchNorm1d(std::int64_t num_features, const BatchNormOptions& options = {})
      : BatchNormBase(num_features, options) {}
  explicit BatchNorm1d(const BatchNormOptions& options) : BatchNormBase(options.num_features, options) {}
  CAKE_HOLDER_CONSTRUCTORS(BatchNorm1d)
  std::shared_ptr<Module> clone() const override {
    return copy_state_into(std::make_shared<BatchNorm1d>(num_features, options));
  }
  std::string name() const override { return "BatchNorm1d"; }

 protected:
  void check_input(const Tensor& x) const override;
};

// Over [N, C, H, W], per channel C.
class BatchNorm2d : public BatchNormBase, public Holder<BatchNorm2d> {
 public:
  explicit BatchNorm2d(std::int64_t num_features, const BatchNormOptions& options = {})
      : BatchNormBase(num_features, options) {}
  explicit BatchNorm2d(const BatchNormOptions& options) : BatchNormBase(options.num_features, options) {}
  CAKE_HOLDER_CONSTRUCTORS(BatchNorm2d)
  std::shared_ptr<Module> clone() const override {
    return copy_state_into(std::make_shared<BatchNorm2d>(num_features, options));
  }
  std::string name() const override { return "BatchNorm2d"; }

 protected:
  void check_input(const Tensor& x) const override;
};

// LayerNormOptions({64}).eps(1e-6).elementwise_affine(false), as libtorch.
struct LayerNormOptions {
  using Self = LayerNormOptions;
  CAKE_ARG(Shape, normalized_shape) = Shape{};
  CAKE_ARG(double, eps) = 1e-5;
  CAKE_ARG(bool, elementwise_affine) = true;
};

// Normalises over the trailing dims given by normalized_shape, per sample; the same in
// training and evaluation.
class LayerNorm : public Module, public Holder<LayerNorm> {
 public:
  explicit LayerNorm(Shape normalized_shape, double eps = 1e-5, bool elementwise_affine = true);
  explicit LayerNorm(const LayerNormOptions& options)
      : LayerNorm(options.normalized_shape, options.eps, options.elementwise_affine) {}
  CAKE_HOLDER_CONSTRUCTORS(LayerNorm)
  std::shared_ptr<Module> clone() const override {
    return copy_state_into(std::make_shared<LayerNorm>(normalized_shape, eps, weight.defined()));
  }
  Tensor forward(const Tensor& x) override;
  std::string name() const override { return "LayerNorm"; }
  std::string extra_repr() const override;

  Shape normalized_shape;
  double eps = 1e-5;
  Tensor weight, bias;  // of normalized_shape, undefined without elementwise_affine
};

// Group normalisation (Wu & He 2018, "Group Normalization", eq. 1-3): the channels of each
// sample split into num_groups groups, each normalised by its own mean and biased variance,
// then an optional per-channel affine map. Independent of the batch, so the same in training
// and evaluation. Input [N, C, *] with C divisible by num_groups.
struct GroupNormOptions {
  using Self = GroupNormOptions;
  CAKE_ARG(std::int64_t, num_groups) = 0;
  CAKE_ARG(std::int64_t, num_channels) = 0;
  CAKE_ARG(double, eps) = 1e-5;
  CAKE_ARG(bool, affine) = true;  // weight starts at 1, bias at 0
};

class GroupNorm : public Module, public Holder<GroupNorm> {
 public:
  GroupNorm(std::int64_t num_groups, std::int64_t num_channels, double eps = 1e-5, bool affine = true);
  explicit GroupNorm(const GroupNormOptions& options)
      : GroupNorm(options.num_groups, options.num_channels, options.eps, options.affine) {}
  CAKE_HOLDER_CONSTRUCTORS(GroupNorm)
  Tensor forward(const Tensor& x) override;
  std::shared_ptr<Module> clone() const override {
    return copy_state_into(std::make_shared<GroupNorm>(num_groups, num_channels, eps, weight.defined()));
  }
  std::string name() const override { return "GroupNorm"; }
  std::string extra_repr() const override;

  std::int64_t num_groups = 0, num_channels = 0;
  double eps = 1e-5;
  Tensor weight, bias;  // [num_channels], undefined without affine
};

// Instance normalisation (Ulyanov, Vedaldi & Lempitsky 2016, "Instance Normalization: The Missing
// Ingredient for Fast Stylization", eq. 2): each sample's each channel normalised by its own
// spatial mean and biased variance (F::instance_norm), the normalisation of style transfer and
// of many GAN generators, where one image's contrast should not depend on the others in the
// batch. PyTorch's defaults differ from BatchNorm's: no affine map, no running statistics (so the
// same in training and evaluation). With track_running_stats, training updates running_mean /
// running_var as BatchNorm does (from the per-instance statistics averaged over the batch) and
// evaluation normalises with them. InstanceNorm2dOptions(16).affine(true).track_running_stats(true).
struct InstanceNormOptions {
  using Self = InstanceNormOptions;
  CAKE_ARG(std::int64_t, num_features) = 0;
  CAKE_ARG(double, eps) = 1e-5;
  CAKE_ARG(double, momentum) = 0.1;
  CAKE_ARG(bool, affine) = false;               // weight (starts at 1) and bias (at 0), [num_features]
  CAKE_ARG(bool, track_running_stats) = false;  // buffers running_mean, running_var, num_batches_tracked
};
using InstanceNorm1dOptions = InstanceNormOptions;
using InstanceNorm2dOptions = InstanceNormOptions;

// Shared by InstanceNorm1d and InstanceNorm2d, which differ only in the input ranks they accept.
class InstanceNormBase : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  void reset_running_stats();
  void reset_parameters();
  std::string extra_repr() const override;

  InstanceNormOptions options;          // num_features included
  Tensor weight, bias;                  // [num_features], undefined without affine
  Tensor running_mean, running_var;     // [num_features] buffers, undefined without track_running_stats
  Tensor num_batches_tracked;           // int64 scalar buffer, likewise

 protected:
  InstanceNormBase() = default;  // for empty holders
  explicit InstanceNormBase(const InstanceNormOptions& options);
  // The rank of a batch: 3 for [N, C, L], 4 for [N, C, H, W]; one less is one unbatched sample.
  virtual std::int64_t batch_rank() const = 0;
  virtual const char* batch_layout() const = 0;  // "[N, C, L]", for error messages
};

class InstanceNorm1d : public InstanceNormBase, public Holder<InstanceNorm1d> {
 public:
  explicit InstanceNorm1d(std::int64_t num_features) : InstanceNormBase(InstanceNormOptions(num_features)) {}
  explicit InstanceNorm1d(const InstanceNormOptions& options) : InstanceNormBase(options) {}
  CAKE_HOLDER_CONSTRUCTORS(InstanceNorm1d)
  std::shared_ptr<Module> clone() const override { return copy_state_into(std::make_shared<InstanceNorm1d>(options)); }
  std::string name() const override { return "InstanceNorm1d"; }

 protected:
  std::int64_t batch_rank() const override { return 3; }
  const char* batch_layout() const override { return "[N, C, L]"; }
};

class InstanceNorm2d : public InstanceNormBase, public Holder<InstanceNorm2d> {
 public:
  explicit InstanceNorm2d(std::int64_t num_features) : InstanceNormBase(InstanceNormOptions(num_features)) {}
  explicit InstanceNorm2d(const InstanceNormOptions& options) : InstanceNormBase(options) {}
  CAKE_HOLDER_CONSTRUCTORS(InstanceNorm2d)
  std::shared_ptr<Module> clone() const override { return copy_state_into(std::make_shared<InstanceNorm2d>(options)); }
  std::string name() const override { return "InstanceNorm2d"; }

 protected:
  std::int64_t batch_rank() const override { return 4; }
  const char* batch_layout() const override { return "[N, C, H, W]"; }
};

// Local response normalisation across channels (Krizhevsky et al. 2012, section 3.3), the
// normalisation of AlexNet's first layers: functional::local_response_norm has the formula.
// No parameters. LocalResponseNormOptions(5).alpha(1e-4).beta(0.75).k(2), as libtorch.
struct LocalResponseNormOptions {
  using Self = LocalResponseNormOptions;
  CAKE_ARG(std::int64_t, size) = 0;
  CAKE_ARG(double, alpha) = 1e-4;
  CAKE_ARG(double, beta) = 0.75;
  CAKE_ARG(double, k) = 1.0;
};

class LocalResponseNorm : public Module, public Holder<LocalResponseNorm> {
 public:
  explicit LocalResponseNorm(std::int64_t size) : LocalResponseNorm(LocalResponseNormOptions(size)) {}
  explicit LocalResponseNorm(const LocalResponseNormOptions& options);
  CAKE_HOLDER_CONSTRUCTORS(LocalResponseNorm)
  Tensor forward(const Tensor& x) override;
  std::shared_ptr<Module> clone() const override { return std::make_shared<LocalResponseNorm>(options); }
  std::string name() const override { return "LocalResponseNorm"; }
  std::string extra_repr() const override;

  LocalResponseNormOptions options;
};

// libtorch's names for the module classes (see NOTE [ Holders: layers as values ]).
using BatchNorm1dImpl = BatchNorm1d;
using BatchNorm2dImpl = BatchNorm2d;
using LayerNormImpl = LayerNorm;
using GroupNormImpl = GroupNorm;
using LocalResponseNormImpl = LocalResponseNorm;
using InstanceNorm1dImpl = InstanceNorm1d;
using InstanceNorm2dImpl = InstanceNorm2d;

}  // namespace cake::nn
