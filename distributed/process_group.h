// process_group.h: the processes of one distributed run and the collectives among them.
//
//   auto group = cake::distributed::init_process_group();   // from mpirun's environment
//   cake::Tensor g = cake::ones({4});
//   group->all_reduce(g, cake::distributed::ReduceOp::Mean); // the same values on every rank
//   cake::Tensor all = group->all_gather(g);                // [4 * world_size]
//   bool writes_outputs = group->rank() == 0;               // one rank writes files
//
// A process group is the set of processes (ranks 0..world_size-1) that run the same program
// on different shards of the data, as MPI's communicator (MPI Forum, "MPI: A Message-Passing
// Interface Standard", version 3.1, chapter 5, "Collective Communication") and PyTorch's
// torch.distributed.ProcessGroup. Every collective must be called by every rank, in the same
// order, with tensors of the same dtype and (except all_gather's first dimension) shape.
//
// Backends, behind this one interface:
//   "mpi"    CPU tensors, through the MPI library the build found (CAKE_WITH_MPI; Open MPI
//            here). Chosen when the program was started by mpirun/mpiexec.
//   "nccl"   CUDA tensors, through NVIDIA's NCCL (built with the CUDA backend). Its ranks are
//            found through MPI (ncclUniqueId broadcast from rank 0), so more than one rank
//            needs mpirun too; one GPU per rank (NCCL refuses two ranks on one GPU).
//   "local"  one process, world size 1: every collective is the identity (a mean over one
//            rank is the value itself). What a program gets when it was not launched by an
//            MPI launcher, so that the same code runs alone.
//
// Timeouts: every collective waits at most timeout_seconds (CAKE_DIST_TIMEOUT_S in the
// environment, 300 s by default) and then throws a cake::Error naming the collective and the
// rank, instead of hanging silently when a peer died or took a different path through the
// program. The operation stays posted: the next collective first completes it (so a late peer
// can still catch up). A peer that crashes is normally noticed sooner: mpirun ends the whole
// job when one of its processes exits with an error.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "cake/tensor/tensor.h"

namespace cake::distributed {

enum class ReduceOp { Sum, Mean, Max };
const char* to_string(ReduceOp op);

// A collective started without waiting (all_reduce_async); wait() returns once the result is in
// the tensor, or throws on timeout. Destroying an unfinished Work waits for it.
class Work {
 public:
  virtual ~Work() = default;
  virtual bool ready() = 0;  // true once finished (also drives the transfer forward)
  virtual void wait() = 0;
};

class ProcessGroup {
 public:
  virtual ~ProcessGroup() = default;
  virtual int rank() const = 0;
  virtual int world_size() const = 0;
  virtual std::string backend() const = 0;  // "mpi", "nccl" or "local"

  // Returns once every rank has called it.
  virtual void barrier() = 0;
  // Overwrites `tensor` on every rank with root's values.
  virtual void broadcast(Tensor& tensor, int root = 0) = 0;
  // Replaces `tensor` on every rank by the element-wise sum, mean or maximum over the ranks.
  virtual void all_reduce(Tensor& tensor, ReduceOp op = ReduceOp::Sum) = 0;
  // The same, started now and finished by the returned Work (the tensor must stay alive and
  // untouched until then). The data-parallel wrapper overlaps these with the backward pass.
  virtual std::unique_ptr<Work> all_reduce_async(Tensor& tensor, ReduceOp op = ReduceOp::Sum) = 0;
  // Every rank's tensor, concatenated along dim 0 in rank order. The ranks' first dimensions
  // may differ (the shards of N rows over p ranks); the other dimensions must agree.
  virtual Tensor all_gather(const Tensor& tensor) = 0;
  // The reduction over ranks of `tensor` ([world_size * m, ...]), of which rank r keeps rows
  // [r*m, (r+1)*m): all_reduce followed by each rank taking its block, at the cost of one.
  virtual Tensor reduce_scatter(const Tensor& tensor, ReduceOp op = ReduceOp::Sum) = 0;

  // How long a collective may wait for the other ranks before it fails (seconds).
  double timeout_seconds() const { return timeout_seconds_; }
  void set_timeout(double seconds);

 protected:
  double timeout_seconds_ = 300.0;
};

struct InitOptions {
  // "auto": "mpi" when launched by an MPI launcher (and built with MPI), else "local".
  // "mpi", "nccl" or "local" ask for that backend, and fail with the reason when it is
  // unavailable (not built, not launched, no GPU).
  std::string backend = "auto";
  double timeout_seconds = -1.0;  // < 0: CAKE_DIST_TIMEOUT_S, or 300
};

// Creates the group for this process from the launcher's environment. MPI is initialised once
// per process; later calls return new handles on the same world.
std::shared_ptr<ProcessGroup> init_process_group(const InitOptions& options = {});

// The process-wide group the CLI and the data-parallel helpers use: made on first use by
// init_process_group() (backend "auto"), or the one set_default_group() installed.
ProcessGroup& default_group();
void set_default_group(std::shared_ptr<ProcessGroup> group);

// What the environment says, without initialising anything: true when an MPI launcher
// (Open MPI's mpirun, MPICH/Hydra's mpiexec, PMIx) started this process, and its world size
// (1 otherwise).
bool launched_by_mpi();
int launcher_world_size();
// Whether this build can use the backend: "mpi" (built with MPI), "nccl" (built with CUDA
// and NCCL), "local" (always).
bool backend_available(const std::string& backend);

// Rows [begin, end) of n that rank `rank` of `world_size` holds when n rows are split into
// contiguous shards as evenly as possible (the first n % world_size ranks hold one more).
struct Shard {
  std::int64_t begin = 0, end = 0;
  std::int64_t size() const { return end - begin; }
};
Shard shard_rows(std::int64_t n, int rank, int world_size);

}  // namespace cake::distributed
