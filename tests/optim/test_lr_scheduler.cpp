// Tests for the learning-rate schedulers: the lr sequence each produces, step by step, against
// values worked out from torch.optim.lr_scheduler's definitions.
#include <cmath>
#include <numbers>

#include "helpers.h"

using namespace cake;

namespace {

struct Fixture {
  Tensor p = zeros({1}).requires_grad_();
  optim::SGD opt{{p}, {.lr = 1.0}};
};

// The lr at epochs 0..n-1: the constructor sets epoch 0, each step() the next.
std::vector<double> sequence(optim::Optimizer& opt, optim::LRScheduler& scheduler, int n) {
  std::vector<double> out{opt.lr()};
  for (int i = 1; i < n; ++i) {
    scheduler.step();
    out.push_back(opt.lr());
  }
  return out;
}

void check_sequence(const std::vector<double>& got, const std::vector<double>& expected) {
  REQUIRE(got.size() == expected.size());
  for (std::size_t i = 0; i < got.size(); ++i)
    CHECK_MESSAGE(got[i] == doctest::Approx(expected[i]).epsilon(1e-12), "epoch ", i, ": ", got[i], " vs ", expected[i]);
}

}  // namespace

TEST_CASE("StepLR: gamma every step_size epochs") {
  Fixture f;
  optim::StepLR s(f.opt, 3, 0.5);
  check_sequence(sequence(f.opt, s, 8), {1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25});
  CHECK(s.last_epoch() == 7);
  CHECK(s.get_last_lr() == 0.25);
}

TEST_CASE("MultiStepLR: gamma at each milestone (given in any order)") {
  Fixture f;
  optim::MultiStepLR s(f.opt, {5, 2}, 0.1);
  check_sequence(sequence(f.opt, s, 7), {1, 1, 0.1, 0.1, 0.1, 0.01, 0.01});
}

TEST_CASE("ExponentialLR: gamma every epoch") {
  Fixture f;
  optim::ExponentialLR s(f.opt, 0.9);
  check_sequence(sequence(f.opt, s, 4), {1, 0.9, 0.81, 0.729});
}

TEST_CASE("CosineAnnealingLR: half a cosine from base to eta_min over T_max epochs") {
  Fixture f;
  optim::CosineAnnealingLR s(f.opt, 4, 0.2);
  // eta_min + (1 - eta_min)(1 + cos(pi t / 4)) / 2 for t = 0..4: cos = 1, 1/sqrt2, 0, -1/sqrt2, -1.
  const double h = std::numbers::sqrt2 / 2;
  check_sequence(sequence(f.opt, s, 5), {1.0, 0.2 + 0.8 * (1 + h) / 2, 0.6, 0.2 + 0.8 * (1 - h) / 2, 0.2});
}

TEST_CASE("LinearLR: linear warm-up then constant") {
  Fixture f;
  optim::LinearLR s(f.opt, 0.25, 1.0, 3);
  check_sequence(sequence(f.opt, s, 6), {0.25, 0.5, 0.75, 1.0, 1.0, 1.0});
}

TEST_CASE("SequentialLR: warm-up followed by cosine annealing, from the initial lr") {
  Fixture f;
  auto warmup = std::make_shared<optim::LinearLR>(f.opt, 0.5, 1.0, 2);
  auto cosine = std::make_shared<optim::CosineAnnealingLR>(f.opt, 2);
  // The cosine schedule was built while warm-up had set lr 0.5; it still anneals from the
  // optimiser's initial lr of 1, as PyTorch's "initial_lr" does.
  CHECK(cosine->base_lr() == 1.0);
  optim::SequentialLR s(f.opt, {warmup, cosine}, {2});
  check_sequence(sequence(f.opt, s, 5), {0.5, 0.75, 1.0, 0.5, 0.0});
  s.set_epoch(1);  // resuming jumps straight to an epoch
  CHECK(f.opt.lr() == doctest::Approx(0.75));
  CHECK_THROWS_AS(optim::SequentialLR(f.opt, {warmup, cosine}, {}), Error);
}

TEST_CASE("ReduceLROnPlateau: reduces after patience bad epochs, then waits out the cooldown") {
  Fixture f;
  optim::ReduceLROnPlateau s(f.opt, {.factor = 0.5, .patience = 2, .cooldown = 1, .min_lr = 0.2});
  // Epoch:   1    2    3    4    5    6    7    8    9   10
  // metric:  1.0  0.9  0.95 0.95 0.95 0.95 0.95 0.95 0.95 0.95
  // bad:     0    0    1    2    3->reduce(0.5), cooldown 1
  //                                   6: cooldown eats it, 7: 1, 8: 2, 9: 3 -> 0.25, 10: cooldown
  const std::vector<double> metrics{1.0, 0.9, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95};
  const std::vector<double> expected{1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25};
  for (std::size_t i = 0; i < metrics.size(); ++i) {
    s.step(metrics[i]);
    CHECK_MESSAGE(f.opt.lr() == doctest::Approx(expected[i]), "epoch ", i + 1);
  }
  CHECK(s.best == 0.9);
  // min_lr bounds the reductions: three more plateaus take it to 0.2, not 0.125.
  for (int i = 0; i < 20; ++i) s.step(0.95);
  CHECK(f.opt.lr() == doctest::Approx(0.2));
}

TEST_CASE("ReduceLROnPlateau in max mode with an absolute threshold") {
  Fixture f;
  optim::ReduceLROnPlateau s(f.opt, {.mode = optim::ReduceLROnPlateauOptions::Mode::Max, .factor = 0.1, .patience = 0,
                                     .threshold = 0.05,
                                     .threshold_mode = optim::ReduceLROnPlateauOptions::ThresholdMode::Abs});
  s.step(0.5);   // best 0.5
  CHECK(f.opt.lr() == 1.0);
  s.step(0.54);  // not better by 0.05: bad epoch, patience 0: reduce
  CHECK(f.opt.lr() == doctest::Approx(0.1));
  s.step(0.6);   // better
  CHECK(f.opt.lr() == doctest::Approx(0.1));
}
