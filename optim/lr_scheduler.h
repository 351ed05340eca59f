// lr_scheduler.h: learning-rate schedules, as torch.optim.lr_scheduler.
//
//   cake::optim::SGD opt(params, {.lr = 0.1, .momentum = 0.9});
//   cake::optim::CosineAnnealingLR cosine(opt, /*T_max=*/100);
//   for (int epoch = 0; epoch < 100; ++epoch) {
//     train_one_epoch(opt);
//     cosine.step();                         // lr for the next epoch
//   }
//   // warm-up then cosine: 5 epochs from lr/10 up to lr, then the cosine schedule
//   auto warmup = std::make_shared<cake::optim::LinearLR>(opt, 0.1, 1.0, 5);
//   auto decay = std::make_shared<cake::optim::CosineAnnealingLR>(opt, 95);
//   cake::optim::SequentialLR schedule(opt, {warmup, decay}, {5});
//
// Each epoch-based scheduler is a closed form lr_at(epoch) of the optimiser's initial learning
// rate (recorded in Optimizer::initial_lr by the first scheduler attached, as PyTorch's
// "initial_lr"). Constructing one sets the lr for epoch 0; step() advances one epoch and sets
// the lr for it. ReduceLROnPlateau instead reacts to a measured metric.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "cake/nn/options.h"
#include "cake/optim/optimizer.h"

namespace cake::optim {

class LRScheduler {
 public:
  explicit LRScheduler(Optimizer& optimizer);
  virtual ~LRScheduler() = default;

  // Advances one epoch and sets the optimiser's lr to lr_at(the new epoch).
  void step();
  // Jumps to `epoch` (to resume training) and sets the lr for it.
  void set_epoch(std::int64_t epoch);
  // The lr of the first parameter group (get_last_lrs: of every group).
  double get_last_lr() const { return optimizer_.group_lr(0); }
  std::vector<double> get_last_lrs() const;
  std::int64_t last_epoch() const { return last_epoch_; }
  double base_lr() const { return base_lr_; }
  // The learning rate at `epoch` (0 = before the first step()) of the first group.
  virtual double lr_at(std::int64_t epoch) const { return lr_at(epoch, base_lr_); }
  // The learning rate at `epoch` of a group whose initial lr is `base`: each group of the
  // optimiser follows the schedule from its own initial lr, as in PyTorch. A scheduler
  // overrides this one (the built-in ones do) or the one above, which then scales by
  // base / base_lr() for the other groups.
  virtual double lr_at(std::int64_t epoch, double base) const {
    return base_lr_ == 0.0 ? 0.0 : lr_at(epoch) * (base / base_lr_);
  }

 protected:
  // Every concrete scheduler calls this at the end of its constructor: it sets the epoch-0 lr
  // (a virtual call, so it cannot happen in this base's constructor).
  void start() { set_epoch(0); }

  Optimizer& optimizer_;
  double base_lr_;                 // the first group's initial lr
  std::vector<double> base_lrs_;   // every group's
  std::int64_t last_epoch_ = 0;
};

// lr = base gamma^floor(epoch / step_size)
class StepLR : public LRScheduler {
 public:
  StepLR(Optimizer& optimizer, std::int64_t step_size, double gamma = 0.1);
  using LRScheduler::lr_at;
  double lr_at(std::int64_t epoch, double base) const override;
  std::int64_t step_size;
  double gamma;
};

// lr = base gamma^(number of milestones <= epoch)
class MultiStepLR : public LRScheduler {
 public:
  MultiStepLR(Optimizer& optimizer, std::vector<std::int64_t> milestones, double gamma = 0.1);
  using LRScheduler::lr_at;
  double lr_at(std::int64_t epoch, double base) const override;
  std::vector<std::int64_t> milestones;  // sorted
  double gamma;
};

// lr = base gamma^epoch
class ExponentialLR : public LRScheduler {
 public:
  ExponentialLR(Optimizer& optimizer, double gamma);
  using LRScheduler::lr_at;
  double lr_at(std::int64_t epoch, double base) const override;
  double gamma;
};

// SGDR's annealing without restarts (Loshchilov & Hutter 2017, eq. 5):
// lr = eta_min + (base - eta_min) (1 + cos(pi epoch / T_max)) / 2
class CosineAnnealingLR : public LRScheduler {
 public:
  CosineAnnealingLR(Optimizer& optimizer, std::int64_t T_max, double eta_min = 0.0);
  using LRScheduler::lr_at;
  double lr_at(std::int64_t epoch, double base) const override;
  std::int64_t T_max;
  double eta_min;
};

// Linear warm-up (or decay): the factor moves linearly from start_factor to end_factor over
// total_iters epochs, then stays: lr = base (start + (end - start) min(epoch, total) / total).
class LinearLR : public LRScheduler {
 public:
  explicit LinearLR(Optimizer& optimizer, double start_factor = 1.0 / 3.0, double end_factor = 1.0,
                    std::int64_t total_iters = 5);
  using LRScheduler::lr_at;
  double lr_at(std::int64_t epoch, double base) const override;
  double start_factor, end_factor;
  std::int64_t total_iters;
};

// Runs schedulers one after another: scheduler k takes over at milestones[k - 1] and counts its
// own epochs from there. All must drive the same optimiser.
class SequentialLR : public LRScheduler {
 public:
  SequentialLR(Optimizer& optimizer, std::vector<std::shared_ptr<LRScheduler>> schedulers,
               std::vector<std::int64_t> milestones);
  using LRScheduler::lr_at;
  double lr_at(std::int64_t epoch, double base) const override;
  std::vector<std::shared_ptr<LRScheduler>> schedulers;
  std::vector<std::int64_t> milestones;
};

struct ReduceLROnPlateauOptions {
  using Self = ReduceLROnPlateauOptions;
  enum class Mode { Min, Max };                // is a lower or a higher metric better?
  enum class ThresholdMode { Rel, Abs };
  CAKE_ARG(Mode, mode) = Mode::Min;
  CAKE_ARG(double, factor) = 0.1;                         // new lr = lr * factor
  CAKE_ARG(std::int64_t, patience) = 10;                  // epochs without improvement tolerated
  CAKE_ARG(double, threshold) = 1e-4;                     // what counts as an improvement
  CAKE_ARG(ThresholdMode, threshold_mode) = ThresholdMode::Rel;
  CAKE_ARG(std::int64_t, cooldown) = 0;                   // epochs to wait after a reduction
  CAKE_ARG(double, min_lr) = 0.0;
  CAKE_ARG(double, eps) = 1e-8;                           // smaller changes of lr are skipped
};

// Divides the lr (of every parameter group) by 1 / factor once the metric has not improved for
// more than `patience` epochs. "Improved" (Rel, Min mode): metric < best (1 - threshold).
class ReduceLROnPlateau {
 public:
  explicit ReduceLROnPlateau(Optimizer& optimizer, const ReduceLROnPlateauOptions& options = {});
  void step(double metric);
  double get_last_lr() const { return optimizer_.group_lr(0); }

  ReduceLROnPlateauOptions options;
  double best;
  std::int64_t num_bad_epochs = 0;
  std::int64_t cooldown_counter = 0;

 private:
  bool is_better(double metric) const;
  Optimizer& optimizer_;
};

}  // namespace cake::optim
