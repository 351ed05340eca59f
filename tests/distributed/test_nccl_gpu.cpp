// The NCCL backend on a GPU, one rank (NCCL refuses two ranks on one GPU, and the GPU machine has
// one): every collective on CUDA tensors through the same interface as the MPI backend, and a
// data-parallel step on the GPU equal to the plain step on the CPU. Without a device this program
// exits 77 (skipped); a build without NCCL checks only the clear error.
#include <doctest/doctest.h>

#include "cuda/cuda_testing.h"
#include "distributed/ddp_testing.h"

#include "cake/distributed/data_parallel.h"
#include "cake/distributed/process_group.h"
#include "cake/tensor/creation.h"
#include "cake/tensor/error.h"
#include "cake/tensor/random.h"

using namespace cake;
namespace dist = cake::distributed;
using cake::testing::small_net;

namespace {

double max_abs_diff(const Tensor& a, const Tensor& b) {
  return (a.to(Device::cpu()).to(kFloat64) - b.to(Device::cpu()).to(kFloat64)).abs().max().item<double>();
}

}  // namespace

TEST_CASE("nccl, one rank: every collective on CUDA tensors") {
  if (!dist::backend_available("nccl")) {
    CHECK_THROWS_WITH_AS(dist::init_process_group({.backend = "nccl"}), doctest::Contains("not built"), cake::Error);
    return;
  }
  const auto g = dist::init_process_group({.backend = "nccl"});
  REQUIRE(g->backend() == "nccl");
  REQUIRE(g->world_size() == 1);
  REQUIRE(g->rank() == 0);
  const Device gpu = Device::cuda();

  Tensor x = full({1000}, 2.5, TensorOptions{kFloat32, gpu});
  g->all_reduce(x, dist::ReduceOp::Sum);
  CHECK(x.device().is_cuda());
  CHECK(max_abs_diff(x, full({1000}, 2.5)) == 0.0);
  Tensor m = arange(0.0, 6.0, 1.0, TensorOptions{kFloat64, gpu}).view({2, 3});
  g->all_reduce(m, dist::ReduceOp::Mean);
  CHECK(max_abs_diff(m, arange(0.0, 6.0, 1.0, kFloat64).view({2, 3})) == 0.0);
  g->all_reduce(m, dist::ReduceOp::Max);
  CHECK(m[1][2].item<double>() == 5.0);

  auto work = g->all_reduce_async(x, dist::ReduceOp::Sum);
  work->wait();
  CHECK(work->ready());
  CHECK(x[999].item<double>() == 2.5);

  Tensor b = full({4}, 7.0, TensorOptions{kFloat32, gpu});
  g->broadcast(b, 0);
  CHECK(b[3].item<double>() == 7.0);
  CHECK_THROWS_WITH_AS(g->broadcast(b, 1), doctest::Contains("root 1"), cake::Error);

  const Tensor mine = randn({5, 3}, TensorOptions{kFloat32, gpu});
  const Tensor gathered = g->all_gather(mine);
  CHECK(gathered.sizes() == mine.sizes());
  CHECK(max_abs_diff(gathered, mine) == 0.0);
  const Tensor scattered = g->reduce_scatter(mine, dist::ReduceOp::Sum);
  CHECK(max_abs_diff(scattered, mine) == 0.0);
  g->barrier();
}

TEST_CASE("nccl, one rank: a data-parallel step on the GPU equals the plain step on the CPU") {
  if (!dist::backend_available("nccl")) return;
  const auto g = dist::init_process_group({.backend = "nccl"});
  manual_seed(3);
  const Tensor X = randn({8, 6}), Y = randn({8, 3});
  const Tensor X_gpu = X.to(Device::cuda()), Y_gpu = Y.to(Device::cuda());
  for (const bool overlap : {true, false}) {
    CAPTURE(overlap);
    auto net = small_net(100);
    net->to(Device::cuda());
    dist::DistributedDataParallel ddp(*net, *g, {.bucket_bytes = 64, .overlap = overlap});
    CHECK(ddp.num_buckets() >= 2);
    auto reference = small_net(100);
    cake::testing::check_three_steps_agree(*net, ddp, *reference, X_gpu, Y_gpu, X, Y, 1e-5);
    for (const Tensor& p : net->parameters()) CHECK(p.device().is_cuda());
  }
}
