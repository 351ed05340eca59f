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
//   // one cycle over a whole run, stepped after every batch (lr and momentum both move)
//   cake::optim::OneCycleLR one_cycle(opt, /*max_lr=*/0.5, /*total_steps=*/1000);
//
// Each epoch-based scheduler is a closed form lr_at(epoch) of the optimiser's initial learning
// rate (recorded in Optimizer::initial_lr by the first scheduler attached, as PyTorch's
// "initial_lr"). Constructing one sets the lr for epoch 0; step() advances one epoch and sets
// the lr for it. OneCycleLR and CyclicLR also set the momentum (beta1 for Adam) of each step,
// as PyTorch's cycle_momentum. ReduceLROnPlateau instead reacts to a measured metric.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
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
  // Called by set_epoch after the lrs are set: the momentum-cycling schedules set it here.
  virtual void set_momentum_at(std::int64_t /*epoch*/) {}
  friend class SequentialLR;  // which hands the call on to the scheduler in charge

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

// lr = base lr_lambda(epoch), for any function of the epoch.
class LambdaLR : public LRScheduler {
 public:
  LambdaLR(Optimizer& optimizer, std::function<double(std::int64_t)> lr_lambda);
  using LRScheduler::lr_at;
  double lr_at(std::int64_t epoch, double base) const override;
  std::function<double(std::int64_t)> lr_lambda;
};

// lr = base lr_lambda(1) lr_lambda(2) ... lr_lambda(epoch): each step multiplies the lr by the
// function of the new epoch. The products are kept, so a step costs one call.
class MultiplicativeLR : public LRScheduler {
 public:
  MultiplicativeLR(Optimizer& optimizer, std::function<double(std::int64_t)> lr_lambda);
  using LRScheduler::lr_at;
  double lr_at(std::int64_t epoch, double base) const override;
  std::function<double(std::int64_t)> lr_lambda;

 private:
  mutable std::vector<double> products_{1.0};  // products_[e]: the factor at epoch e
};

// lr = base factor for the first total_iters epochs, then base.
class ConstantLR : public LRScheduler {
 public:
  explicit ConstantLR(Optimizer& optimizer, double factor = 1.0 / 3.0, std::int64_t total_iters = 5);
  using LRScheduler::lr_at;
  double lr_at(std::int64_t epoch, double base) const override;
  double factor;
  std::int64_t total_iters;
};

// Polynomial decay to zero over total_iters epochs: lr = base (1 - min(epoch, total) / total)^power.
class PolynomialLR : public LRScheduler {
 public:
  explicit PolynomialLR(Optimizer& optimizer, std::int64_t total_iters = 5, double power = 1.0);
  using LRScheduler::lr_at;
  double lr_at(std::int64_t epoch, double base) const override;
  std::int64_t total_iters;
  double power;
};

// SGDR (Loshchilov & Hutter, "SGDR: Stochastic Gradient Descent with Warm Restarts", ICLR 2017,
// eq. 5): cosine annealing from base to eta_min over a period T_i, then a restart at base; the
// first period is T_0 epochs and each next one T_mult times longer.
// lr = eta_min + (base - eta_min) (1 + cos(pi T_cur / T_i)) / 2, T_cur the epochs since the restart.
class CosineAnnealingWarmRestarts : public LRScheduler {
 public:
  CosineAnnealingWarmRestarts(Optimizer& optimizer, std::int64_t T_0, std::int64_t T_mult = 1, double eta_min = 0.0);
  using LRScheduler::lr_at;
  double lr_at(std::int64_t epoch, double base) const override;
  std::int64_t T_0, T_mult;
  double eta_min;
};

enum class AnnealStrategy { Cos, Linear };

struct OneCycleLROptions {
  using Self = OneCycleLROptions;
  CAKE_ARG(double, pct_start) = 0.3;                             // the share of the steps spent rising
  CAKE_ARG(AnnealStrategy, anneal_strategy) = AnnealStrategy::Cos;
  CAKE_ARG(double, div_factor) = 25.0;                           // initial lr = max_lr / div_factor
  CAKE_ARG(double, final_div_factor) = 1e4;                      // last lr = initial lr / final_div_factor
  CAKE_ARG(bool, three_phase) = false;                           // fall back to the initial lr before the end
  CAKE_ARG(bool, cycle_momentum) = true;                         // momentum moves against the lr
  CAKE_ARG(double, base_momentum) = 0.85;
  CAKE_ARG(double, max_momentum) = 0.95;
};

// The 1cycle policy (Smith & Topin, "Super-Convergence", 2018, section 3; the schedule of
// PyTorch's OneCycleLR), stepped once per batch: the lr rises from max_lr / div_factor to max_lr
// over pct_start of the total_steps, then anneals to its initial value / final_div_factor; the
// momentum moves the other way, from max_momentum down to base_momentum and back. The optimiser's
// own lr is not used: every group follows max_lr. Stepping past total_steps is an error; step
// total_steps itself keeps the last lr (PyTorch's formula runs on past the end there).
class OneCycleLR : public LRScheduler {
 public:
  OneCycleLR(Optimizer& optimizer, double max_lr, std::int64_t total_steps, const OneCycleLROptions& options = {});
  using LRScheduler::lr_at;
  double lr_at(std::int64_t step, double base) const override;
  double momentum_at(std::int64_t step) const;
  double max_lr;
  std::int64_t total_steps;
  OneCycleLROptions options;

 private:
  // One phase: the value moves from `start` to `end` (fractions of the phase's range) by the
  // anneal strategy while the step goes from the previous phase's end_step to this one's.
  struct Phase {
    double end_step;
    double start_lr, end_lr, start_momentum, end_momentum;
  };
  // The phase holding `step` and how far through it the step is (0 at its start, 1 at its end).
  std::pair<const Phase*, double> locate(std::int64_t step) const;
  double anneal(double start, double end, double fraction) const;
  void set_momentum_at(std::int64_t step) override;
  std::vector<Phase> phases_;
};

enum class CyclicMode { Triangular, Triangular2, ExpRange };

struct CyclicLROptions {
  using Self = CyclicLROptions;
  CAKE_ARG(std::int64_t, step_size_up) = 2000;                     // steps from base_lr up to max_lr
  CAKE_ARG(std::optional<std::int64_t>, step_size_down) = std::nullopt;  // and back (default: the same)
  CAKE_ARG(CyclicMode, mode) = CyclicMode::Triangular;
  CAKE_ARG(double, gamma) = 1.0;                                  // exp_range: amplitude gamma^step
  CAKE_ARG(bool, cycle_momentum) = true;
  CAKE_ARG(double, base_momentum) = 0.8;
  CAKE_ARG(double, max_momentum) = 0.9;
};

// Cyclical learning rates (Smith, "Cyclical Learning Rates for Training Neural Networks", WACV
// 2017, section 3.1), stepped once per batch: the lr goes linearly from base_lr up to max_lr and
// back, forever; triangular2 halves the amplitude every cycle, exp_range scales it by gamma^step.
// The momentum moves the other way between max_momentum and base_momentum. The optimiser's own
// lr is not used.
class CyclicLR : public LRScheduler {
 public:
  CyclicLR(Optimizer& optimizer, double base_lr, double max_lr, const CyclicLROptions& options = {});
  using LRScheduler::lr_at;
  double lr_at(std::int64_t step, double base) const override;
  double momentum_at(std::int64_t step) const;
  double min_lr, max_lr;  // min_lr: the cycle's bottom (PyTorch's base_lr)
  CyclicLROptions options;

 private:
  // Where `step` is in its cycle (0 at the bottom, 1 at the top) times the amplitude's scale.
  double height(std::int64_t step) const;
  void set_momentum_at(std::int64_t step) override;
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

 protected:
  // The momentum follows the scheduler in charge too (OneCycleLR and CyclicLR cycle it).
  void set_momentum_at(std::int64_t epoch) override;

 private:
  // The scheduler in charge at `epoch` and the epoch it took over.
  std::pair<LRScheduler*, std::int64_t> in_charge(std::int64_t epoch) const;
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
