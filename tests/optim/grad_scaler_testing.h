// tests/optim/grad_scaler_testing.h: the float16 loss-scaling run that tests/optim/test_grad_scaler.cpp
// runs on the CPU and tests/cuda/test_half_gpu.cpp on a GPU: a linear regression trained under
// float16 autocast with a GradScaler started at 2^40, so large that the scaled gradients overflow
// float16 and the first steps must be skipped while the scale backs off.
#pragma once

#include <cmath>

#include "cake/cake.h"

namespace cake::testing {

struct ScaledRun {
  int skipped = 0;          // steps skipped for an overflowing gradient
  double first_loss = 0, last_loss = 0;
  double final_scale = 0;
};

inline ScaledRun train_float16_from_huge_scale(Device device, std::int64_t rows, std::uint64_t seed) {
  manual_seed(seed);
  const Tensor x = randn({rows, 16}).to(device);
  const Tensor target = x.narrow(1, 0, 1) - 0.5 * x.narrow(1, 3, 1);
  nn::Linear layer(16, 1);
  layer->to(device);
  optim::SGD sgd(layer->parameters(), {.lr = 0.05});
  optim::GradScaler scaler({.init_scale = std::ldexp(1.0, 40)});  // 2^40 x gradients ~1: inf in float16
  ScaledRun run;
  for (int step = 0; step < 120; ++step) {
    sgd.zero_grad();
    Tensor loss;
    {
      autocast guard(device, kFloat16);
      loss = (layer->forward(x) - target).pow(2).mean();
    }
    run.last_loss = loss.item<double>();
    if (step == 0) run.first_loss = run.last_loss;
    scaler.scale(loss).backward();
    run.skipped += scaler.step(sgd) ? 0 : 1;
    scaler.update();
  }
  run.final_scale = scaler.get_scale();
  return run;
}

}  // namespace cake::testing
