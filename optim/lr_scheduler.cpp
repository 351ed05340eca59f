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
  set_momentum_at(epoch);
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

// ---- LambdaLR, MultiplicativeLR, ConstantLR, PolynomialLR ----------------------------------------

LambdaLR::LambdaLR(Optimizer& optimizer, std::function<double(std::int64_t)> lr_lambda_in)
    : LRScheduler(optimizer), lr_lambda(std::move(lr_lambda_in)) {
  CAKE_CHECK(static_cast<bool>(lr_lambda), "LambdaLR: lr_lambda is empty");
  start();
}

double LambdaLR::lr_at(std::int64_t epoch, double base) const { return base * lr_lambda(epoch); }

MultiplicativeLR::MultiplicativeLR(Optimizer& optimizer, std::function<double(std::int64_t)> lr_lambda_in)
    : LRScheduler(optimizer), lr_lambda(std::move(lr_lambda_in)) {
  CAKE_CHECK(static_cast<bool>(lr_lambda), "MultiplicativeLR: lr_lambda is empty");
  start();
}

double MultiplicativeLR::lr_at(std::int64_t epoch, double base) const {
  while (static_cast<std::int64_t>(products_.size()) <= epoch) {
    const auto next = static_cast<std::int64_t>(products_.size());
    products_.push_back(products_.back() * lr_lambda(next));
  }
  return base * products_[static_cast<std::size_t>(epoch)];
}

ConstantLR::ConstantLR(Optimizer& optimizer, double factor, std::int64_t total_iters)
    : LRScheduler(optimizer), factor(factor), total_iters(total_iters) {
  CAKE_CHECK(factor >= 0.0 && factor <= 1.0, "ConstantLR: factor must lie in [0, 1], got ", factor);
  CAKE_CHECK(total_iters >= 0, "ConstantLR: total_iters must be non-negative, got ", total_iters);
  start();
}

double ConstantLR::lr_at(std::int64_t epoch, double base) const { return epoch < total_iters ? base * factor : base; }

PolynomialLR::PolynomialLR(Optimizer& optimizer, std::int64_t total_iters, double power)
    : LRScheduler(optimizer), total_iters(total_iters), power(power) {
  CAKE_CHECK(total_iters > 0, "PolynomialLR: total_iters must be positive, got ", total_iters);
  start();
}

double PolynomialLR::lr_at(std::int64_t epoch, double base) const {
  const double progress = static_cast<double>(std::min(epoch, total_iters)) / static_cast<double>(total_iters);
  return base * std::pow(1.0 - progress, power);
}

// ---- CosineAnnealingWarmRestarts -------------------------------------------------------------------

CosineAnnealingWarmRestarts::CosineAnnealingWarmRestarts(Optimizer& optimizer, std::int64_t T_0, std::int64_t T_mult,
                                                         double eta_min)
    : LRScheduler(optimizer), T_0(T_0), T_mult(T_mult), eta_min(eta_min) {
  CAKE_CHECK(T_0 > 0, "CosineAnnealingWarmRestarts: T_0 must be positive, got ", T_0);
  CAKE_CHECK(T_mult >= 1, "CosineAnnealingWarmRestarts: T_mult must be at least 1, got ", T_mult);
  start();
}

// The period holding `epoch` is found by whole-number steps (PyTorch takes a logarithm instead,
// which rounds): periods of T_0, T_0 T_mult, T_0 T_mult^2, ... end one after another.
double CosineAnnealingWarmRestarts::lr_at(std::int64_t epoch, double base) const {
  std::int64_t period = T_0, since_restart = epoch;
  if (T_mult == 1) {
    since_restart = epoch % T_0;
  } else {
    while (since_restart >= period) {
      since_restart -= period;
      period *= T_mult;
    }
  }
  const double progress = static_cast<double>(since_restart) / static_cast<double>(period);
  return eta_min + (base - eta_min) * (1.0 + std::cos(std::numbers::pi * progress)) / 2.0;
}

// ---- OneCycleLR ------------------------------------------------------------------------------------

OneCycleLR::OneCycleLR(Optimizer& optimizer, double max_lr, std::int64_t total_steps, const OneCycleLROptions& o)
    : LRScheduler(optimizer), max_lr(max_lr), total_steps(total_steps), options(o) {
  CAKE_CHECK(total_steps > 0, "OneCycleLR: total_steps must be positive, got ", total_steps);
  CAKE_CHECK(max_lr > 0.0, "OneCycleLR: max_lr must be positive, got ", max_lr);
  CAKE_CHECK(o.pct_start >= 0.0 && o.pct_start <= 1.0, "OneCycleLR: pct_start must lie in [0, 1], got ", o.pct_start());
  CAKE_CHECK(o.div_factor > 0.0 && o.final_div_factor > 0.0, "OneCycleLR: div_factor and final_div_factor must be "
             "positive, got ", o.div_factor(), " and ", o.final_div_factor());
  CAKE_CHECK(!o.cycle_momentum || optimizer.group_momentum(0).has_value(), "OneCycleLR: ", optimizer.name(),
             " has no momentum (nor beta1) to cycle; pass OneCycleLROptions().cycle_momentum(false)");
  const double initial_lr = max_lr / o.div_factor, min_lr = initial_lr / o.final_div_factor;
  const double low = o.base_momentum, high = o.max_momentum;
  const double rise_end = o.pct_start * static_cast<double>(total_steps) - 1.0;
  const double last = static_cast<double>(total_steps) - 1.0;
  // PyTorch's phase boundaries: up to max_lr, (three_phase: back to the initial lr,) down to min_lr.
  if (o.three_phase) {
    phases_ = {{rise_end, initial_lr, max_lr, high, low},
               {2.0 * o.pct_start * static_cast<double>(total_steps) - 2.0, max_lr, initial_lr, low, high},
               {last, initial_lr, min_lr, high, high}};
  } else {
    phases_ = {{rise_end, initial_lr, max_lr, high, low}, {last, max_lr, min_lr, low, high}};
  }
  start();
}

std::pair<const OneCycleLR::Phase*, double> OneCycleLR::locate(std::int64_t step) const {
  CAKE_CHECK(step <= total_steps, "OneCycleLR: step ", step, " is past total_steps = ", total_steps,
             " (make the scheduler with the number of batches of the whole run)");
  const auto at = static_cast<double>(step);
  double phase_start = 0.0;
  for (std::size_t i = 0; i < phases_.size(); ++i) {
    const Phase& phase = phases_[i];
    if (at <= phase.end_step || i + 1 == phases_.size()) {
      // 0 for a phase of one step: at its end. Step total_steps itself (after the last batch)
      // stays at the end: PyTorch extrapolates past it there, to a negative lr when linear.
      const double length = phase.end_step - phase_start;
      return {&phase, length == 0.0 ? 1.0 : std::min(1.0, (at - phase_start) / length)};
    }
    phase_start = phase.end_step;
  }
  CAKE_FAIL("OneCycleLR: no phases");  // unreachable: the constructor makes two or three
}

// Cosine: start + (end - start) (1 - cos(pi fraction)) / 2, written as PyTorch's _annealing_cos.
double OneCycleLR::anneal(double start, double end, double fraction) const {
  if (options.anneal_strategy() == AnnealStrategy::Linear) return (end - start) * fraction + start;
  return end + (start - end) / 2.0 * (std::cos(std::numbers::pi * fraction) + 1.0);
}

double OneCycleLR::lr_at(std::int64_t step, double /*base: every group follows max_lr*/) const {
  const auto [phase, fraction] = locate(step);
  return anneal(phase->start_lr, phase->end_lr, fraction);
}

double OneCycleLR::momentum_at(std::int64_t step) const {
  const auto [phase, fraction] = locate(step);
  return anneal(phase->start_momentum, phase->end_momentum, fraction);
}

void OneCycleLR::set_momentum_at(std::int64_t step) {
  if (!options.cycle_momentum) return;
  const double momentum = momentum_at(step);
  for (std::size_t g = 0; g < optimizer_.param_groups().size(); ++g) optimizer_.set_group_momentum(g, momentum);
}

// ---- CyclicLR --------------------------------------------------------------------------------------

CyclicLR::CyclicLR(Optimizer& optimizer, double base_lr, double max_lr, const CyclicLROptions& o)
    : LRScheduler(optimizer), min_lr(base_lr), max_lr(max_lr), options(o) {
  CAKE_CHECK(o.step_size_up > 0 && o.step_size_down().value_or(1) > 0,
             "CyclicLR: step_size_up and step_size_down must be positive");
  CAKE_CHECK(!o.cycle_momentum || optimizer.group_momentum(0).has_value(), "CyclicLR: ", optimizer.name(),
             " has no momentum (nor beta1) to cycle; pass CyclicLROptions().cycle_momentum(false)");
  start();
}

// Section 3.1's triangle: x runs 0 -> 1 over a cycle of up + down steps; the height rises
// linearly to 1 over the first up steps and falls back over the rest, times the mode's scale
// (triangular2: halved each cycle; exp_range: gamma^step).
double CyclicLR::height(std::int64_t step) const {
  const auto up = static_cast<double>(options.step_size_up);
  const double cycle_length = up + static_cast<double>(options.step_size_down().value_or(options.step_size_up));
  const double up_share = up / cycle_length;
  const double cycle = std::floor(1.0 + static_cast<double>(step) / cycle_length);
  const double x = 1.0 + static_cast<double>(step) / cycle_length - cycle;
  const double rise = x <= up_share ? x / up_share : (x - 1.0) / (up_share - 1.0);
  switch (options.mode()) {
    case CyclicMode::Triangular2:
      return rise / std::pow(2.0, cycle - 1.0);
    case CyclicMode::ExpRange:
      return rise * std::pow(options.gamma, static_cast<double>(step));
    case CyclicMode::Triangular:
      break;
  }
  return rise;
}

double CyclicLR::lr_at(std::int64_t step, double /*base: every group cycles between min_lr and max_lr*/) const {
  return min_lr + (max_lr - min_lr) * height(step);
}

double CyclicLR::momentum_at(std::int64_t step) const {
  return options.max_momentum - (options.max_momentum - options.base_momentum) * height(step);
}

void CyclicLR::set_momentum_at(std::int64_t step) {
  if (!options.cycle_momentum) return;
  const double momentum = momentum_at(step);
  for (std::size_t g = 0; g < optimizer_.param_groups().size(); ++g) optimizer_.set_group_momentum(g, momentum);
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

std::pair<LRScheduler*, std::int64_t> SequentialLR::in_charge(std::int64_t epoch) const {
  const auto k = std::upper_bound(milestones.begin(), milestones.end(), epoch) - milestones.begin();
  const std::int64_t started = k == 0 ? 0 : milestones[static_cast<std::size_t>(k - 1)];
  return {schedulers[static_cast<std::size_t>(k)].get(), started};
}

double SequentialLR::lr_at(std::int64_t epoch, double base) const {
  const auto [scheduler, started] = in_charge(epoch);
  return scheduler->lr_at(epoch - started, base);
}

void SequentialLR::set_momentum_at(std::int64_t epoch) {
  const auto [scheduler, started] = in_charge(epoch);
  scheduler->set_momentum_at(epoch - started);
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
