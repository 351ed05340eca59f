// lr_scheduler.cpp: the closed forms of the epoch-based schedules, and ReduceLROnPlateau's
// bookkeeping (torch.optim.lr_scheduler's algorithm).
#include "cake/optim/lr_scheduler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

namespace cake::optim {

LRScheduler::LRScheduler(Optimizer& optimizer) : optimizer_(optimizer) {
  for (std::size_t g = 0; g < optimizer.param_groups().size(); ++g) {
    std::optional<double>& initial = optimizer.group_initial_lr(g);
    if (!initial) initial = optimizer.group_lr(g);
    base_lrs_.push_back(*initial);
  }
  base_lr_ = base_lrs_.at(0);
}

std::vector<double> LRScheduler::get_last_lrs() const {
  std::vector<double> lrs;
  for (std::size_t g = 0; g < optimizer_.param_groups().size(); ++g) lrs.push_back(optimizer_.group_lr(g));
  return lrs;
}

void LRScheduler::step() { set_epoch(last_epoch_ + 1); }

void LRScheduler::set_epoch(std::int64_t epoch) {
  CAKE_CHECK(epoch >= 0, "LRScheduler::set_epoch: epoch must be non-negative, got ", epoch);
  last_epoch_ = epoch;
  CAKE_CHECK(base_lrs_.size() == optimizer_.param_groups().size(), "LRScheduler: the optimiser has ",
             optimizer_.param_groups().size(), " parameter groups but had ", base_lrs_.size(),
             " when the scheduler was made");
  for (std::size_t g = 0; g < base_lrs_.size(); ++g) optimizer_.set_group_lr(g, lr_at(epoch, base_lrs_[g]));
}

// ---- StepLR, MultiStepLR, ExponentialLR --------------------------------------------------------

StepLR::StepLR(Optimizer& optimizer, std::int64_t step_size, double gamma)
    : LRScheduler(optimizer), step_size(step_size), gamma(gamma) {
  CAKE_CHECK(step_size > 0, "StepLR: step_size must be positive, got ", step_size);
  start();
}

double StepLR::lr_at(std::int64_t epoch, double base) const {
  return base * std::pow(gamma, static_cast<double>(epoch / step_size));
}

MultiStepLR::MultiStepLR(Optimizer& optimizer, std::vector<std::int64_t> milestones_in, double gamma)
    : LRScheduler(optimizer), milestones(std::move(milestones_in)), gamma(gamma) {
  std::sort(milestones.begin(), milestones.end());
  start();
}

double MultiStepLR::lr_at(std::int64_t epoch, double base) const {
  const auto passed = std::upper_bound(milestones.begin(), milestones.end(), epoch) - milestones.begin();
  return base * std::pow(gamma, static_cast<double>(passed));
}

ExponentialLR::ExponentialLR(Optimizer& optimizer, double gamma) : LRScheduler(optimizer), gamma(gamma) { start(); }

double ExponentialLR::lr_at(std::int64_t epoch, double base) const {
  return base * std::pow(gamma, static_cast<double>(epoch));
}

// ---- CosineAnnealingLR, LinearLR -----------------------------------------------------------------

CosineAnnealingLR::CosineAnnealingLR(Optimizer& optimizer, std::int64_t T_max, double eta_min)
    : LRScheduler(optimizer), T_max(T_max), eta_min(eta_min) {
  CAKE_CHECK(T_max > 0, "CosineAnnealingLR: T_max must be positive, got ", T_max);
  start();
}

double CosineAnnealingLR::lr_at(std::int64_t epoch, double base) const {
  const double progress = static_cast<double>(epoch) / static_cast<double>(T_max);
  return eta_min + (base - eta_min) * (1.0 + std::cos(std::numbers::pi * progress)) / 2.0;
}

LinearLR::LinearLR(Optimizer& optimizer, double start_factor, double end_factor, std::int64_t total_iters)
    : LRScheduler(optimizer), start_factor(start_factor), end_factor(end_factor), total_iters(total_iters) {
  CAKE_CHECK(start_factor > 0.0 && start_factor <= 1.0 && end_factor >= 0.0 && end_factor <= 1.0,
             "LinearLR: start_factor must lie in (0, 1] and end_factor in [0, 1], got ", start_factor, " and ",
             end_factor);
  CAKE_CHECK(total_iters > 0, "LinearLR: total_iters must be positive, got ", total_iters);
  start();
}

double LinearLR::lr_at(std::int64_t epoch, double base) const {
  const double progress = static_cast<double>(std::min(epoch, total_iters)) / static_cast<double>(total_iters);
  return base * (start_factor + (end_factor - start_factor) * progress);
}

// ---- SequentialLR --------------------------------------------------------------------------------

SequentialLR::SequentialLR(Optimizer& optimizer, std::vector<std::shared_ptr<LRScheduler>> schedulers_in,
                           std::vector<std::int64_t> milestones_in)
    : LRScheduler(optimizer), schedulers(std::move(schedulers_in)), milestones(std::move(milestones_in)) {
  CAKE_CHECK(!schedulers.empty() && milestones.size() + 1 == schedulers.size(), "SequentialLR: ", schedulers.size(),
             " schedulers need ", schedulers.empty() ? 0 : schedulers.size() - 1, " milestones, got ", milestones.size());
  CAKE_CHECK(std::is_sorted(milestones.begin(), milestones.end()), "SequentialLR: milestones must be increasing, got ",
             milestones);
  start();
}

double SequentialLR::lr_at(std::int64_t epoch, double base) const {
  const auto k = std::upper_bound(milestones.begin(), milestones.end(), epoch) - milestones.begin();
  const std::int64_t started = k == 0 ? 0 : milestones[static_cast<std::size_t>(k - 1)];
  return schedulers[static_cast<std::size_t>(k)]->lr_at(epoch - started, base);
}

// ---- ReduceLROnPlateau ---------------------------------------------------------------------------

using PlateauMode = ReduceLROnPlateauOptions::Mode;
using PlateauThreshold = ReduceLROnPlateauOptions::ThresholdMode;

ReduceLROnPlateau::ReduceLROnPlateau(Optimizer& optimizer, const ReduceLROnPlateauOptions& options)
    : options(options),
      best(options.mode() == PlateauMode::Min ? std::numeric_limits<double>::infinity()
                                            : -std::numeric_limits<double>::infinity()),
      optimizer_(optimizer) {
  CAKE_CHECK(options.factor() > 0.0 && options.factor() < 1.0, "ReduceLROnPlateau: factor must lie in (0, 1), got ",
             options.factor());
  CAKE_CHECK(options.patience() >= 0 && options.cooldown() >= 0, "ReduceLROnPlateau: patience and cooldown must be >= 0");
}

bool ReduceLROnPlateau::is_better(double metric) const {
  const double t = options.threshold();
  const bool relative = options.threshold_mode() == PlateauThreshold::Rel;
  if (options.mode() == PlateauMode::Min) return metric < (relative ? best * (1.0 - t) : best - t);
  return metric > (relative ? best * (1.0 + t) : best + t);
}

void ReduceLROnPlateau::step(double metric) {
  if (is_better(metric)) {
    best = metric;
    num_bad_epochs = 0;
  } else {
    ++num_bad_epochs;
  }
  if (cooldown_counter > 0) {  // bad epochs during the cooldown do not count
    --cooldown_counter;
    num_bad_epochs = 0;
  }
  if (num_bad_epochs > options.patience()) {
    for (std::size_t g = 0; g < optimizer_.param_groups().size(); ++g) {
      const double old_lr = optimizer_.group_lr(g);
      const double new_lr = std::max(old_lr * options.factor(), options.min_lr());
      if (old_lr - new_lr > options.eps()) optimizer_.set_group_lr(g, new_lr);
    }
    cooldown_counter = options.cooldown();
    num_bad_epochs = 0;
  }
}

}  // namespace cake::optim
