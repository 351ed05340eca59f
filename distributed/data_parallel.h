// data_parallel.h: data-parallel training as PyTorch's DistributedDataParallel (Li et al.
// 2020, "PyTorch Distributed: Experiences on Accelerating Data Parallel Training", VLDB,
// section 3): every rank holds the whole model, trains on its own shard of each batch, and
// the gradients are averaged over the ranks before every optimiser step, so all ranks take the
// same step and stay identical.
//
//   auto group = cake::distributed::init_process_group();
//   cake::distributed::DistributedDataParallel ddp(*net, *group);  // broadcasts rank 0's weights
//   cake::Tensor loss = cake::nn::functional::mse_loss(net->forward(x), y);
//   loss.backward();                  // buckets start their all-reduce as gradients arrive
//   ddp.synchronize_gradients();      // waits: every .grad is now the mean over ranks
//   sgd.step();
//
// Why this gives the gradient of the whole batch: with B samples on each of p ranks and the
// loss a mean over the local batch, L_r = (1/B) sum_{i in shard r} l_i, the mean of the ranks'
// gradients is (1/p) sum_r grad L_r = (1/(pB)) sum_i grad l_i, the gradient of the mean loss
// over the concatenated batch of pB samples. So one step on p ranks equals one step of one
// process on all pB samples, up to float rounding (the summation order differs).
//
// Buckets and overlap (Li et al. 2020, sections 3.2.3-3.2.4): parameters are grouped, in
// reverse registration order (roughly the order backward produces their gradients), into
// buckets of about bucket_bytes. A hook on each parameter copies its gradient into its bucket's
// flat buffer as soon as backward produces it; when a bucket is complete (and every earlier
// bucket has been started, so all ranks start them in the same order) its all-reduce is
// started without waiting, and runs while backward computes the earlier layers' gradients.
// synchronize_gradients() starts what is left (a parameter that received no gradient
// contributes zeros), waits, and writes the means into .grad. With MPI the transfer advances
// when MPI is called, which the hooks do (MPI_Test) between layers.
//
// Rules: zero the gradients before each backward, one backward per synchronize_gradients()
// (a second gradient for a parameter in the same step is an error naming it), and the model's
// parameters must not change (number, shapes) after the wrapper is made.
//
// Batch norm: per rank. Each rank normalises with its own batch's statistics and keeps its own
// running averages (PyTorch DDP's default, without SyncBatchNorm); rank 0's running averages go
// into the checkpoint. With small per-rank batches the statistics get noisier; synchronised
// batch norm (an all-reduce of the batch mean and variance inside forward) is not implemented.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "cake/algorithms/train/trainer.h"
#include "cake/data/dataloader.h"
#include "cake/distributed/process_group.h"
#include "cake/nn/module.h"

namespace cake::distributed {

struct DataParallelOptions {
  std::int64_t bucket_bytes = 1 << 20;  // PyTorch uses 25 MiB; Cake's networks are small
  bool overlap = true;                  // start buckets from the gradient hooks
  bool broadcast_buffers = true;        // also copy rank 0's buffers (batch norm's averages) at start
};

// Time and volume of the gradient communication, summed over steps.
struct CommStats {
  std::int64_t steps = 0;
  std::int64_t bytes = 0;        // gradient bytes all-reduced per rank
  double wait_seconds = 0.0;     // spent inside synchronize_gradients (not hidden by backward)
  std::int64_t early_buckets = 0;  // buckets started by the hooks, while backward was running
};

class DistributedDataParallel {
 public:
  DistributedDataParallel(nn::Module& model, ProcessGroup& group, DataParallelOptions options = {});
  ~DistributedDataParallel();
  DistributedDataParallel(const DistributedDataParallel&) = delete;
  DistributedDataParallel& operator=(const DistributedDataParallel&) = delete;

  // Copies rank `root`'s parameters (and buffers) into every rank's model. The constructor does
  // this once; call it again after loading a checkpoint on one rank only.
  void broadcast_parameters(int root = 0);
  // After backward(): every parameter's .grad becomes the mean of the ranks' gradients.
  void synchronize_gradients();

  std::int64_t num_buckets() const;
  const CommStats& stats() const;
  ProcessGroup& group() const { return group_; }

 private:
  struct State;
  nn::Module& model_;
  ProcessGroup& group_;
  DataParallelOptions options_;
  std::shared_ptr<State> state_;  // shared with the gradient hooks, which outlive nothing
};

// PyTorch's DistributedSampler: rank `rank`'s indices of `epoch` among n samples. The epoch's
// order is the DataLoader's own shuffle (data::seeded_permutation(n, seed, epoch)), padded by
// repeating its first samples to a multiple of world_size, and rank r takes every world_size-th
// index from position r. The shards are disjoint (but for the padding), the same length on
// every rank (so all ranks run the same number of steps), reshuffled every epoch, and a pure
// function of (seed, epoch, rank, world_size): a run resumed with a different number of ranks
// continues with a different split of the same epochs.
Tensor distributed_indices(std::int64_t n, std::int64_t epoch, std::uint64_t seed, int rank, int world_size,
                           bool shuffle = true);
data::Sampler distributed_sampler(std::int64_t n, std::uint64_t seed, int rank, int world_size, bool shuffle = true);

// Sets up a Trainer's options for data-parallel training with `ddp`: each rank's shard of every
// epoch (distributed_sampler keyed by options.seed), the gradient all-reduce after backward,
// batch losses averaged over the ranks (so every rank reports the same loss and stops on a
// non-finite one together), a stop request honoured when any rank has one (all stop at the same
// batch), and checkpoints written by rank 0 only. Every rank resumes from the same checkpoint
// file (options.resume_from).
void make_data_parallel(train::TrainerOptions& options, DistributedDataParallel& ddp, std::int64_t train_size);

}  // namespace cake::distributed
