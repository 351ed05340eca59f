// nccl_group.cpp: the "nccl" backend, CUDA tensors through NVIDIA's NCCL (Collective
// Communications Library). Compiled only with the CUDA backend and NCCL; the only file that
// includes <nccl.h>.
//
// Ranks: one process per GPU. The ranks, and the ncclUniqueId that lets them find each other
// (ncclCommInitRank), come from the MPI world when the program was launched by mpirun (rank 0
// draws the id, an MPI broadcast hands it to the others); without a launcher the group has one
// rank. Each rank uses GPU (local rank mod GPU count), local rank from Open MPI's
// OMPI_COMM_WORLD_LOCAL_RANK.
//
// Limits (stated, not hidden):
//   - CUDA tensors only, on this rank's GPU; all_gather needs the same first dimension on every
//     rank (NCCL's ncclAllGather has one count).
//   - Collectives run on a stream of this group after cake::cuda::synchronize(), and return
//     when finished (polled against the timeout); all_reduce_async returns at once and its
//     Work polls the stream, so the host can go on queueing backward kernels meanwhile.
//   - A timeout aborts the communicator (ncclCommAbort): the group is unusable afterwards.
#include <cuda_runtime.h>
#include <nccl.h>

#include <cstdlib>
#include <cstring>

#include "cake/cuda/cuda.h"
#include "cake/distributed/detail/backends.h"
#include "cake/tensor/creation.h"

namespace cake::distributed::detail {

namespace {

void check_nccl(ncclResult_t result, const char* call) {
  CAKE_CHECK(result == ncclSuccess, call, " failed: ", ncclGetErrorString(result));
}
void check_cuda(cudaError_t result, const char* call) {
  CAKE_CHECK(result == cudaSuccess, call, " failed: ", cudaGetErrorString(result));
}

ncclDataType_t nccl_type(DType dtype) {
  switch (dtype) {
    case DType::Float32: return ncclFloat32;
    case DType::Float64: return ncclFloat64;
    case DType::Int64: return ncclInt64;
    case DType::UInt8:
    case DType::Bool: return ncclUint8;
    case DType::BFloat16: return ncclBfloat16;
    case DType::Float16: return ncclFloat16;
  }
  CAKE_FAIL("nccl backend: unsupported dtype ", dtype_name(dtype));
}

ncclRedOp_t nccl_op(ReduceOp op) {
  switch (op) {
    case ReduceOp::Sum: return ncclSum;
    case ReduceOp::Mean: return ncclAvg;  // NCCL 2.10+
    case ReduceOp::Max: return ncclMax;
  }
  return ncclSum;
}

class NcclGroup;

class NcclWork final : public Work {
 public:
  NcclWork(NcclGroup& group, Tensor buffer, Tensor target) : group_(group), buffer_(std::move(buffer)), target_(std::move(target)) {}
  ~NcclWork() override {
    try {
      wait();
    } catch (...) {  // the communicator was aborted; nothing to throw to from a destructor
    }
  }
  bool ready() override;
  void wait() override;

 private:
  NcclGroup& group_;
  Tensor buffer_, target_;
  bool done_ = false;
};

class NcclGroup final : public ProcessGroup {
 public:
  NcclGroup(double timeout, std::shared_ptr<ProcessGroup> bootstrap) {
    timeout_seconds_ = timeout;
    CAKE_CHECK(cuda::is_available(), "the nccl backend needs a CUDA GPU, and none is available on this machine");
    rank_ = bootstrap ? bootstrap->rank() : 0;
    size_ = bootstrap ? bootstrap->world_size() : 1;
    const char* local = std::getenv("OMPI_COMM_WORLD_LOCAL_RANK");
    device_ = (local ? std::atoi(local) : 0) % cuda::device_count();
    check_cuda(cudaSetDevice(device_), "cudaSetDevice");
    ncclUniqueId id;
    if (rank_ == 0) check_nccl(ncclGetUniqueId(&id), "ncclGetUniqueId");
    if (bootstrap) {
      Tensor bytes = zeros({static_cast<std::int64_t>(sizeof id)}, kUInt8);
      if (rank_ == 0) std::memcpy(bytes.raw_data(), &id, sizeof id);
      bootstrap->broadcast(bytes, 0);
      std::memcpy(&id, bytes.raw_data(), sizeof id);
    }
    check_nccl(ncclCommInitRank(&comm_, size_, id, rank_), "ncclCommInitRank");
    check_cuda(cudaStreamCreate(&stream_), "cudaStreamCreate");
  }
  ~NcclGroup() override {
    if (comm_ && !aborted_) ncclCommDestroy(comm_);
    if (stream_) cudaStreamDestroy(stream_);
  }

  int rank() const override { return rank_; }
  int world_size() const override { return size_; }
  std::string backend() const override { return "nccl"; }

  void barrier() override {
    Tensor one = ones({1}, TensorOptions(kFloat32, Device::cuda(device_)));
    all_reduce(one, ReduceOp::Sum);
  }

  void broadcast(Tensor& tensor, int root) override {
    check_tensor(tensor, "broadcast");
    CAKE_CHECK(root >= 0 && root < size_, "broadcast: root ", root, " is not a rank of ", size_);
    Tensor buffer = tensor.is_contiguous() ? tensor : tensor.contiguous();
    cuda::synchronize();
    check_nccl(ncclBroadcast(buffer.raw_data(), buffer.raw_data(), static_cast<std::size_t>(buffer.numel()),
                             nccl_type(buffer.dtype()), root, comm_, stream_), "ncclBroadcast");
    wait_stream("broadcast");
    if (!buffer.is_same(tensor)) tensor.copy_(buffer);
  }

  void all_reduce(Tensor& tensor, ReduceOp op) override { all_reduce_async(tensor, op)->wait(); }

  std::unique_ptr<Work> all_reduce_async(Tensor& tensor, ReduceOp op) override {
    check_tensor(tensor, "all_reduce");
    CAKE_CHECK(op != ReduceOp::Mean || is_floating(tensor.dtype()), "all_reduce: a mean needs a floating-point tensor");
    Tensor buffer = tensor.is_contiguous() ? tensor : tensor.contiguous();
    cuda::synchronize();
    check_nccl(ncclAllReduce(buffer.raw_data(), buffer.raw_data(), static_cast<std::size_t>(buffer.numel()),
                             nccl_type(buffer.dtype()), nccl_op(op), comm_, stream_), "ncclAllReduce");
    return std::make_unique<NcclWork>(*this, buffer, buffer.is_same(tensor) ? Tensor() : tensor);
  }

  Tensor all_gather(const Tensor& tensor) override {
    check_tensor(tensor, "all_gather");
    CAKE_CHECK(tensor.dim() >= 1, "all_gather: expected at least one dimension, got a scalar");
    const Tensor local = tensor.detach().contiguous();
    Shape shape = local.sizes();
    shape[0] *= size_;
    Tensor out = empty(shape, TensorOptions(local.dtype(), local.device()));
    cuda::synchronize();
    check_nccl(ncclAllGather(local.raw_data(), out.raw_data(), static_cast<std::size_t>(local.numel()),
                             nccl_type(local.dtype()), comm_, stream_), "ncclAllGather");
    wait_stream("all_gather (every rank must send the same number of rows with nccl)");
    return out;
  }

  Tensor reduce_scatter(const Tensor& tensor, ReduceOp op) override {
    check_tensor(tensor, "reduce_scatter");
    CAKE_CHECK(tensor.dim() >= 1 && tensor.size(0) % size_ == 0, "reduce_scatter: the first dimension (shape ",
               tensor.sizes(), ") must be a multiple of the world size ", size_);
    const Tensor input = tensor.detach().contiguous();
    Shape shape = input.sizes();
    shape[0] /= size_;
    Tensor out = empty(shape, TensorOptions(input.dtype(), input.device()));
    cuda::synchronize();
    check_nccl(ncclReduceScatter(input.raw_data(), out.raw_data(), static_cast<std::size_t>(out.numel()),
                                 nccl_type(input.dtype()), nccl_op(op), comm_, stream_), "ncclReduceScatter");
    wait_stream("reduce_scatter");
    return out;
  }

  bool stream_done() {
    const cudaError_t state = cudaStreamQuery(stream_);
    if (state == cudaSuccess) return true;
    if (state != cudaErrorNotReady) check_cuda(state, "cudaStreamQuery");
    ncclResult_t async = ncclSuccess;
    check_nccl(ncclCommGetAsyncError(comm_, &async), "ncclCommGetAsyncError");
    check_nccl(async, "an NCCL collective");
    return false;
  }

  void wait_stream(const char* what) {
    CAKE_CHECK(!aborted_, what, ": this nccl group was aborted after an earlier timeout; create a new one");
    if (poll_until([&] { return stream_done(); }, timeout_seconds_)) return;
    ncclCommAbort(comm_);
    aborted_ = true;
    CAKE_FAIL(timeout_message(what, timeout_seconds_, rank_, size_, "nccl"), " The communicator was aborted.");
  }

 private:
  void check_tensor(const Tensor& tensor, const char* what) const {
    CAKE_CHECK(tensor.defined(), what, ": the tensor is undefined");
    CAKE_CHECK(tensor.is_cuda() && tensor.device().index == device_, what, ": the nccl backend works on tensors on cuda:",
               device_, " (this rank's GPU), got one on ", to_string(tensor.device()));
  }

  ncclComm_t comm_ = nullptr;
  cudaStream_t stream_ = nullptr;
  int rank_ = 0, size_ = 1, device_ = 0;
  bool aborted_ = false;
};

bool NcclWork::ready() {
  if (!done_ && group_.stream_done()) {
    done_ = true;
    if (target_.defined()) target_.copy_(buffer_);
  }
  return done_;
}

void NcclWork::wait() {
  if (done_) return;
  group_.wait_stream("all_reduce");
  done_ = true;
  if (target_.defined()) target_.copy_(buffer_);
}

}  // namespace

bool nccl_built() { return true; }

std::shared_ptr<ProcessGroup> make_nccl_group(double timeout_seconds) {
  std::shared_ptr<ProcessGroup> bootstrap;
  if (launched_by_mpi() && launcher_world_size() > 1) {
    CAKE_CHECK(mpi_built(), "the nccl backend with ", launcher_world_size(), " ranks finds its peers through MPI, "
               "and this Cake was built without MPI (-DCAKE_WITH_MPI=ON)");
    bootstrap = make_mpi_group(timeout_seconds);
  }
  return std::make_shared<NcclGroup>(timeout_seconds, bootstrap);
}

}  // namespace cake::distributed::detail
