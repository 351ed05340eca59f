// Tests for the learning-rate schedulers: the lr sequence each produces, step by step, against
// values worked out from torch.optim.lr_scheduler's definitions.
#include <cmath>
#include <numbers>

#include "helpers.h"

using namespace cake;
using cake::testing::contains;
using cake::testing::error_message;

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

// ---- the schedules added beside PyTorch's: values printed by PyTorch 1.13 ----------------------
// (SGD(lr=0.1, momentum=0.9) or Adam(lr=0.1), the scheduler made, then optimiser.step() and
// scheduler.step() n times, recording param_groups[0]['lr'] and its momentum / betas[0]):
//   OneCycleLR(sgd, max_lr=1.0, total_steps=10)
//   OneCycleLR(adam, max_lr=0.5, total_steps=12, pct_start=0.25, anneal_strategy='linear',
//              three_phase=True, div_factor=10, final_div_factor=100)
//   CyclicLR(sgd, base_lr=0.01, max_lr=0.1, step_size_up=3, step_size_down=2, mode='triangular2')
//   CyclicLR(sgd, 0.01, 0.1, step_size_up=2, mode='exp_range', gamma=0.9, cycle_momentum=False)
//   CosineAnnealingWarmRestarts(sgd, T_0=3, T_mult=2, eta_min=0.01); (sgd, T_0=4)
//   PolynomialLR(sgd, total_iters=4, power=2.0); ConstantLR(sgd, factor=0.5, total_iters=3)
//   LambdaLR(sgd, lambda e: 0.95**e); MultiplicativeLR(sgd, lambda e: 0.9 if e % 2 else 0.5)
// OneCycleLR's last value, at step total_steps (after the last batch), is Cake's own: the final
// lr again, where PyTorch's formula runs on past the end (0.0495 and momentum 0.945 in the first
// case, a negative lr, -0.00657, in the linear one).
namespace {

struct MomentumFixture {
  Tensor p = zeros({1}).requires_grad_();
  optim::SGD sgd{{p}, {.lr = 0.1, .momentum = 0.9}};
};

// The momentum (beta1 for Adam) at steps 0..n-1, stepping the scheduler (which also sets the lr).
std::vector<double> momentum_sequence(optim::Optimizer& opt, optim::LRScheduler& scheduler, int n) {
  std::vector<double> out{*opt.group_momentum(0)};
  for (int i = 1; i < n; ++i) {
    scheduler.step();
    out.push_back(*opt.group_momentum(0));
  }
  return out;
}

}  // namespace

TEST_CASE("OneCycleLR: up to max_lr over pct_start of the steps, then cosine down, momentum against it") {
  MomentumFixture f;
  optim::OneCycleLR s(f.sgd, 1.0, 10);
  check_sequence(sequence(f.sgd, s, 11),
                 {0.040000000000000036, 0.52, 1.0, 0.9504846320134737, 0.8117456539497631, 0.6112620219362893,
                  0.38874197806371075, 0.18825834605023697, 0.049519367986526286, 4e-06, 4e-06});
  MomentumFixture g;
  optim::OneCycleLR t(g.sgd, 1.0, 10);
  check_sequence(momentum_sequence(g.sgd, t, 11),
                 {0.95, 0.8999999999999999, 0.85, 0.854951556604879, 0.8688255099070633, 0.8888739533021842,
                  0.9111260466978157, 0.9311744900929366, 0.945048443395121, 0.95, 0.95});
  CHECK(contains(error_message([&] { t.step(); }), "OneCycleLR: step 11 is past total_steps = 10"));
}

TEST_CASE("SequentialLR hands the momentum on to the scheduler in charge") {
  // Two constant steps, then OneCycleLR's momentum from its own step 0, as PyTorch's
  // SequentialLR (each child's step sets its momentum).
  MomentumFixture f;
  auto hold = std::make_shared<optim::ConstantLR>(f.sgd, 0.5, 2);
  auto cycle = std::make_shared<optim::OneCycleLR>(f.sgd, 1.0, 10);
  optim::SequentialLR s(f.sgd, {hold, cycle}, {2});
  const std::vector<double> momentum = momentum_sequence(f.sgd, s, 6);
  check_sequence(std::vector<double>(momentum.begin() + 2, momentum.end()),
                 {0.95, 0.8999999999999999, 0.85, 0.854951556604879});
  s.set_epoch(3);  // resuming sets it too
  CHECK(*f.sgd.group_momentum(0) == doctest::Approx(0.9));
}
TEST_CASE("OneCycleLR: three linear phases, and Adam's beta1 as the momentum") {
  Tensor p = zeros({1}).requires_grad_();
  optim::Adam adam({p}, {.lr = 0.1});
  const auto options = optim::OneCycleLROptions()
                           .pct_start(0.25)
                           .anneal_strategy(optim::AnnealStrategy::Linear)
                           .three_phase(true)
                           .div_factor(10)
                           .final_div_factor(100);
  optim::OneCycleLR s(adam, 0.5, 12, options);
  std::vector<double> lrs{adam.lr()}, beta1{*adam.group_momentum(0)};
  for (int i = 0; i < 12; ++i) {
    s.step();
    lrs.push_back(adam.lr());
    beta1.push_back(adam.options.betas().first);
  }
  check_sequence(lrs, {0.05, 0.275, 0.5, 0.275, 0.04999999999999999, 0.042928571428571434, 0.03585714285714286,
                       0.02878571428571429, 0.021714285714285717, 0.014642857142857145, 0.007571428571428576,
                       0.0005000000000000004, 0.0005000000000000004});
  check_sequence(beta1, {0.95, 0.8999999999999999, 0.85, 0.8999999999999999, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95,
                         0.95, 0.95, 0.95});
  CHECK(adam.options.betas().second == 0.999);  // beta2 untouched
  // An optimiser with no momentum to cycle is refused unless cycle_momentum is off.
  optim::Adagrad adagrad({p}, {.lr = 0.1});
  CHECK(contains(error_message([&] { optim::OneCycleLR(adagrad, 0.5, 12); }), "Adagrad has no momentum (nor beta1)"));
  optim::OneCycleLR plain(adagrad, 0.5, 12, optim::OneCycleLROptions().cycle_momentum(false));
  CHECK(adagrad.lr() == doctest::Approx(0.02));
}

TEST_CASE("CyclicLR: triangular2 halves each cycle's height, momentum against the lr; exp_range") {
  MomentumFixture f;
  const auto options = optim::CyclicLROptions().step_size_up(3).step_size_down(2).mode(optim::CyclicMode::Triangular2);
  optim::CyclicLR s(f.sgd, 0.01, 0.1, options);
  check_sequence(sequence(f.sgd, s, 17),
                 {0.01, 0.039999999999999994, 0.06999999999999999, 0.09999999999999999, 0.055, 0.01,
                  0.025000000000000015, 0.039999999999999994, 0.055, 0.03250000000000002, 0.01, 0.01750000000000001,
                  0.024999999999999998, 0.0325, 0.021250000000000012, 0.01, 0.013750000000000004});
  MomentumFixture g;
  optim::CyclicLR t(g.sgd, 0.01, 0.1, options);
  check_sequence(momentum_sequence(g.sgd, t, 17),
                 {0.9, 0.8666666666666667, 0.8333333333333334, 0.8, 0.8500000000000001, 0.9, 0.8833333333333333,
                  0.8666666666666667, 0.8500000000000001, 0.875, 0.9, 0.8916666666666667, 0.8833333333333334, 0.875,
                  0.8875000000000001, 0.9, 0.8958333333333334});
  MomentumFixture h;
  optim::CyclicLR e(h.sgd, 0.01, 0.1,
                    optim::CyclicLROptions().step_size_up(2).mode(optim::CyclicMode::ExpRange).gamma(0.9).cycle_momentum(false));
  check_sequence(sequence(h.sgd, e, 11),
                 {0.01, 0.05050000000000001, 0.0829, 0.04280500000000001, 0.01, 0.03657205000000001,
                  0.05782969000000001, 0.03152336050000001, 0.01, 0.027433922005000007, 0.041381059609000015});
  CHECK(*h.sgd.group_momentum(0) == 0.9);  // not cycled
}

TEST_CASE("CosineAnnealingWarmRestarts: SGDR's periods T_0, T_0 T_mult, ...") {
  MomentumFixture f;
  optim::CosineAnnealingWarmRestarts s(f.sgd, 3, 2, 0.01);
  check_sequence(sequence(f.sgd, s, 23),
                 {0.1, 0.0775, 0.032500000000000015, 0.1, 0.09397114317029975, 0.0775, 0.05500000000000001,
                  0.032500000000000015, 0.01602885682970026, 0.1, 0.09846666218300808, 0.09397114317029975,
                  0.08681980515339464, 0.0775, 0.06664685702961344, 0.05500000000000001, 0.04335314297038658,
                  0.032500000000000015, 0.023180194846605363, 0.01602885682970026, 0.011533337816991932, 0.1,
                  0.09961501876182148});
  MomentumFixture g;
  optim::CosineAnnealingWarmRestarts t(g.sgd, 4);
  check_sequence(sequence(g.sgd, t, 10), {0.1, 0.08535533905932738, 0.05, 0.014644660940672627, 0.1,
                                          0.08535533905932738, 0.05, 0.014644660940672627, 0.1, 0.08535533905932738});
  t.set_epoch(1'000'000'001);  // resuming far on: 1e9 + 1 = 1 (mod 4)
  CHECK(g.sgd.lr() == doctest::Approx(0.08535533905932738).epsilon(1e-12));
}

TEST_CASE("PolynomialLR, ConstantLR, LambdaLR, MultiplicativeLR: PyTorch's sequences") {
  MomentumFixture a, b, c, d;
  optim::PolynomialLR poly(a.sgd, 4, 2.0);
  check_sequence(sequence(a.sgd, poly, 7), {0.1, 0.05625, 0.024999999999999998, 0.0062499999999999995, 0, 0, 0});
  optim::ConstantLR constant(b.sgd, 0.5, 3);
  check_sequence(sequence(b.sgd, constant, 6), {0.05, 0.05, 0.05, 0.1, 0.1, 0.1});
  optim::LambdaLR lambda(c.sgd, [](std::int64_t e) { return std::pow(0.95, static_cast<double>(e)); });
  check_sequence(sequence(c.sgd, lambda, 5), {0.1, 0.095, 0.09025, 0.0857375, 0.081450625});
  int calls = 0;
  optim::MultiplicativeLR multiplicative(d.sgd, [&](std::int64_t e) {
    ++calls;
    return e % 2 ? 0.9 : 0.5;
  });
  check_sequence(sequence(d.sgd, multiplicative, 5),
                 {0.1, 0.09000000000000001, 0.045000000000000005, 0.04050000000000001, 0.020250000000000004});
  CHECK(calls == 4);  // one call per new epoch: the products are kept
  multiplicative.set_epoch(2);
  CHECK(d.sgd.lr() == doctest::Approx(0.045).epsilon(1e-12));
  CHECK(calls == 4);
  CHECK(contains(error_message([&] { optim::ConstantLR(b.sgd, 1.5); }), "ConstantLR: factor must lie in [0, 1]"));
}
