// Tests for optim::GradScaler (optim/grad_scaler.h): the scaled loss, unscaled gradients and the
// plain update when they are finite; a skipped step and a halved scale on overflow; growth after
// growth_interval clean steps; the once-per-iteration rule; checkpoint state; and float16
// autocast training recovering from a scale so large that its gradients overflow.
#include <cmath>
#include <limits>

#include "helpers.h"
#include "optim/grad_scaler_testing.h"

using namespace cake;
using cake::testing::check_close;
using cake::testing::values;

TEST_CASE("GradScaler: finite gradients are unscaled and the step is the plain one") {
  const Tensor w = tensor({1.0, -2.0}, {2}).to(kFloat32).requires_grad_(true);
  const Tensor w_plain = w.detach().clone().requires_grad_(true);
  optim::SGD sgd({w}, optim::SGDOptions{.lr = 0.1}), plain({w_plain}, optim::SGDOptions{.lr = 0.1});
  optim::GradScaler scaler({.init_scale = 1024.0});
  const Tensor loss = (w * w).sum();
  CHECK(scaler.scale(loss).item<double>() == doctest::Approx(5.0 * 1024));
  scaler.scale(loss).backward();
  CHECK(values(w.grad()) == std::vector<double>{2048.0, -4096.0});
  CHECK(scaler.step(sgd));
  CHECK(values(w.grad()) == std::vector<double>{2.0, -4.0});
  scaler.update();
  (w_plain * w_plain).sum().backward();
  plain.step();
  check_close(w, w_plain, 0, 0);
  CHECK(scaler.get_scale() == 1024.0);
}

TEST_CASE("GradScaler: an inf or NaN gradient skips the step and halves the scale; growth after the interval") {
  const Tensor w = tensor({1.0, 2.0}, {2}).to(kFloat32).requires_grad_(true);
  optim::SGD sgd({w}, optim::SGDOptions{.lr = 0.1});
  optim::GradScaler scaler({.init_scale = 8.0, .growth_interval = 3});
  for (double bad : {std::numeric_limits<double>::infinity(), std::numeric_limits<double>::quiet_NaN()}) {
    sgd.zero_grad();
    (w * tensor({1.0, bad}, {2}).to(kFloat32)).sum().backward();
    const std::vector<double> before = values(w);
    CHECK(!scaler.step(sgd));
    CHECK(values(w) == before);
    scaler.update();
  }
  CHECK(scaler.get_scale() == 2.0);
  for (int i = 0; i < 3; ++i) {
    sgd.zero_grad();
    scaler.scale((w * w).sum()).backward();
    CHECK(scaler.step(sgd));
    scaler.update();
  }
  CHECK(scaler.get_scale() == 4.0);  // three clean iterations: doubled once
  CHECK(scaler.state_dict().at("growth_tracker") == 0.0);
}

TEST_CASE("GradScaler: unscale_ once per iteration, state round trip, disabled passes through, bad options") {
  const Tensor w = ones({3}).requires_grad_(true);
  optim::SGD sgd({w}, optim::SGDOptions{.lr = 0.5});
  optim::GradScaler scaler({.init_scale = 4.0});
  scaler.scale(w.sum()).backward();
  scaler.unscale_(sgd);
  CHECK(values(w.grad()) == std::vector<double>{1.0, 1.0, 1.0});
  CHECK_THROWS_WITH_AS(scaler.unscale_(sgd), doctest::Contains("already called"), Error);
  CHECK(scaler.step(sgd));  // does not unscale twice
  CHECK(values(w) == std::vector<double>{0.5, 0.5, 0.5});
  scaler.update();

  optim::GradScaler restored({.init_scale = 1.0});
  restored.load_state_dict({{"scale", 32.0}, {"growth_tracker", 5.0}});
  CHECK(restored.get_scale() == 32.0);
  CHECK(restored.state_dict().at("growth_tracker") == 5.0);
  CHECK_THROWS_WITH_AS(restored.load_state_dict({{"scale", 1.0}}), doctest::Contains("growth_tracker"), Error);

  optim::GradScaler off({.enabled = false});
  CHECK(off.get_scale() == 1.0);
  const Tensor loss = w.sum();
  CHECK(off.scale(loss).item<double>() == loss.item<double>());
  CHECK_THROWS_WITH_AS(optim::GradScaler({.init_scale = 0.0}), doctest::Contains("init_scale"), Error);
  CHECK_THROWS_WITH_AS(optim::GradScaler({.backoff_factor = 1.5}), doctest::Contains("backoff_factor"), Error);
}

TEST_CASE("float16 autocast: a scale whose gradients overflow float16 backs off until steps run, then trains") {
  const testing::ScaledRun run = testing::train_float16_from_huge_scale(kCPU, 128, 6);
  INFO("skipped " << run.skipped << " steps, scale now " << run.final_scale << ", loss " << run.first_loss << " -> "
                  << run.last_loss);
  CHECK(run.skipped >= 20);                      // 2^40 down to below 2^16 / |gradient| takes 20+ halvings
  CHECK(run.skipped <= 40);
  CHECK(run.final_scale < std::ldexp(1.0, 20));
  CHECK(run.last_loss < 0.1 * run.first_loss);   // and the remaining steps trained
}
