// sync_batchnorm.h: batch norm whose statistics are those of the global batch of a
// data-parallel run (PyTorch's SyncBatchNorm), and the differentiable all-reduce beneath it.
//
//   auto group = cake::distributed::init_process_group();
//   auto net = std::make_shared<cake::nn::Sequential>(cake::nn::Conv2d(1, 8, 3), cake::nn::BatchNorm2d(8));
//   std::int64_t layers = cake::distributed::convert_sync_batchnorm(*net, *group);   // 1
//   cake::distributed::DistributedDataParallel ddp(*net, *group);
//   cake::Tensor y = net->forward(cake::randn({4, 1, 8, 8}));   // normalised over every rank's batch
//
// Each rank's BatchNorm normally normalises with the mean and variance of its own batch (B / p
// samples when p ranks share a batch of B), so a data-parallel run differs from one process
// with batch B and small per-rank batches make the statistics noisy (Ioffe & Szegedy 2015 use
// the whole mini-batch). Synchronised, every rank uses the statistics of all p batches together:
// per channel, an all-reduce of (sum_i x_i, count) gives the mean, a second of
// sum_i (x_i - mean)^2 the variance, and in backward the same two all-reduces carry the
// gradients of those sums, so outputs, input gradients, parameter gradients (after DDP's
// averaging) and running statistics equal one process's BatchNorm on the concatenated batch, up
// to rounding (tests/distributed/test_ranks.cpp: 1e-12 in float64, on 2 and 3 ranks with
// uneven shards). The cost: two all-reduces of C values per layer in forward and two in
// backward, each a synchronisation point of all ranks. In evaluation mode, and with one rank,
// the layer is plain BatchNorm.
//
// convert_sync_batchnorm changes the layers in place (it installs a statistics reducer,
// nn::BatchStatisticsReducer, in every BatchNorm1d/2d of the tree) rather than swapping
// modules as PyTorch does: a Cake parent holds its layers in its own members as well as in the
// registry, so a swapped registry entry would not be the layer its forward calls. Parameter and
// buffer names, and so checkpoints, are unchanged. Every rank must run the layers in the same
// order (it does: the replicas are the same network); the group must outlive the network.
#pragma once

#include <cstdint>
#include <memory>

#include "cake/distributed/process_group.h"
#include "cake/nn/normalization.h"

namespace cake::distributed {

// The sum over the ranks of `local` (any shape), recorded for autograd: the gradient of each
// rank's input is the sum over the ranks of the gradients of the output (d/dx_r of
// sum_q L_q(y), with y = sum_r x_r the same on every rank). Every rank must call it, and its
// backward, in the same order.
Tensor all_reduce_sum(ProcessGroup& group, const Tensor& local);

// The reducer that makes a BatchNorm synchronised over `group`.
std::shared_ptr<nn::BatchStatisticsReducer> make_statistics_reducer(ProcessGroup& group);

// Makes every BatchNorm1d/2d in `module`'s tree (the module itself included) synchronised over
// `group`; returns how many layers it changed.
std::int64_t convert_sync_batchnorm(nn::Module& module, ProcessGroup& group);

// A synchronised batch norm layer built as such: input [N, C], [N, C, L] or [N, C, H, W].
class SyncBatchNorm : public nn::BatchNormBase {
 public:
  SyncBatchNorm(std::int64_t num_features, ProcessGroup& group, const nn::BatchNormOptions& options = {});
  std::shared_ptr<nn::Module> clone() const override;
  std::string name() const override { return "SyncBatchNorm"; }

 protected:
  void check_input(const Tensor& x) const override;

 private:
  ProcessGroup* group_;
};

}  // namespace cake::distributed
