// tests/distributed/ddp_testing.h: the data-parallel check shared by the multi-rank test
// (test_ranks.cpp, CPU ranks over MPI) and the NCCL test (test_nccl_gpu.cpp, one GPU rank).
#pragma once

#include <doctest/doctest.h>

#include <cstdint>
#include <memory>

#include "cake/distributed/data_parallel.h"
#include "cake/nn/activation.h"
#include "cake/nn/functional.h"
#include "cake/nn/linear.h"
#include "cake/nn/sequential.h"
#include "cake/optim/sgd.h"
#include "cake/tensor/random.h"

namespace cake::testing {

// Linear(6, 8) Tanh Linear(8, 3), its weights drawn from `seed`.
inline std::shared_ptr<nn::Sequential> small_net(std::uint64_t seed) {
  manual_seed(seed);
  return std::make_shared<nn::Sequential>(nn::Linear(6, 8), nn::Tanh(), nn::Linear(8, 3));
}

// Three SGD steps (lr 0.1, MSE) of `net` on its rank's rows (x, y) with the gradients synchronised
// by `ddp`, beside three plain steps of `reference` on all the rows (x_all, y_all); then every
// parameter of the two must agree within `tolerance` (compared on the CPU).
inline void check_three_steps_agree(nn::Module& net, distributed::DistributedDataParallel& ddp, nn::Module& reference,
                                    const Tensor& x, const Tensor& y, const Tensor& x_all, const Tensor& y_all,
                                    double tolerance) {
  namespace F = nn::functional;
  optim::SGD sgd(net.parameters(), {.lr = 0.1});
  optim::SGD sgd_ref(reference.parameters(), {.lr = 0.1});
  for (int step = 0; step < 3; ++step) {
    sgd.zero_grad();
    F::mse_loss(net.forward(x), y).backward();
    ddp.synchronize_gradients();
    sgd.step();
    sgd_ref.zero_grad();
    F::mse_loss(reference.forward(x_all), y_all).backward();
    sgd_ref.step();
  }
  const auto trained = net.named_parameters(), expected = reference.named_parameters();
  REQUIRE(trained.size() == expected.size());
  for (std::size_t i = 0; i < trained.size(); ++i) {
    CAPTURE(trained[i].first);
    const Tensor difference = trained[i].second.cpu().to(kFloat64) - expected[i].second.cpu().to(kFloat64);
    CHECK(difference.abs().max().item<double>() < tolerance);
  }
  CHECK(ddp.stats().steps == 3);
}

}  // namespace cake::testing
