// mpi_group.cpp: the "mpi" backend, CPU tensors through the MPI library (Open MPI here).
// Compiled only when CMake found MPI (CAKE_WITH_MPI); the only file that includes <mpi.h>.
//
// Every collective is MPI's non-blocking form (MPI_Iallreduce, MPI_Ibcast, ...; MPI 3.1
// section 5.12) completed by polling MPI_Test against a deadline: MPI itself has no timeout,
// and a blocking MPI_Allreduce whose peer never arrives waits for ever without a word.
// The C API only: Open MPI's deprecated C++ bindings warn under -Wextra.
#ifndef OMPI_SKIP_MPICXX
#define OMPI_SKIP_MPICXX 1
#endif
#ifndef MPICH_SKIP_MPICXX
#define MPICH_SKIP_MPICXX 1
#endif
#include <mpi.h>

#include <atomic>
#include <climits>
#include <cstring>
#include <vector>

#include "cake/distributed/detail/backends.h"
#include "cake/tensor/creation.h"

namespace cake::distributed::detail {

namespace {

void check_mpi(int code, const char* call) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  CAKE_FAIL(call, " failed: ", std::string(text, static_cast<std::size_t>(length)));
}

// MPI is initialised once per process, on first use, and finalised at exit; after a
// collective timed out and was never completed, MPI_Finalize could wait for ever, so the
// process aborts the job instead (mpirun then stops every rank with the message).
struct MpiRuntime {
  MpiRuntime() {
    int initialised = 0;
    MPI_Initialized(&initialised);
    if (!initialised) {
      int provided = 0;
      // FUNNELED: collectives are called by one thread (the one that runs backward()).
      check_mpi(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
      owns = true;
    }
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  }
  ~MpiRuntime() {
    int finalised = 0;
    MPI_Finalized(&finalised);
    if (!owns || finalised) return;
    if (unfinished.load() > 0) MPI_Abort(MPI_COMM_WORLD, 1);
    else MPI_Finalize();
  }
  bool owns = false;
  std::atomic<int> unfinished{0};  // collectives that timed out and are still posted
};

MpiRuntime& runtime() {
  static MpiRuntime instance;
  return instance;
}

MPI_Datatype mpi_type(DType dtype) {
  switch (dtype) {
    case DType::Float32: return MPI_FLOAT;
    case DType::Float64: return MPI_DOUBLE;
    case DType::Int64: return MPI_INT64_T;
    case DType::UInt8:
    case DType::Bool: return MPI_UINT8_T;
    case DType::BFloat16:
    case DType::Float16: break;  // MPI has no 16-bit float type (and no sum over raw bits)
  }
  CAKE_FAIL("mpi backend: unsupported dtype ", dtype_name(dtype));
}

MPI_Op mpi_op(ReduceOp op) { return op == ReduceOp::Max ? MPI_MAX : MPI_SUM; }

int checked_count(std::int64_t n, const char* what) {
  CAKE_CHECK(n <= INT_MAX, what, ": ", n, " elements exceed MPI's int count; split the tensor");
  return static_cast<int>(n);
}

// x /= p for a floating-point contiguous tensor: the mean from the sum.
void divide(Tensor& x, int p) {
  if (x.dtype() == kFloat32) {
    float* v = x.data_ptr<float>();
    for (std::int64_t i = 0, n = x.numel(); i < n; ++i) v[i] /= static_cast<float>(p);
  } else {
    double* v = x.data_ptr<double>();
    for (std::int64_t i = 0, n = x.numel(); i < n; ++i) v[i] /= static_cast<double>(p);
  }
}

class MpiGroup;

// An all-reduce in flight: the request, the contiguous buffer it reduces in place, and the
// tensor the result goes back to (when that was not contiguous).
class MpiWork final : public Work {
 public:
  MpiWork(MpiGroup& group, MPI_Request request, Tensor buffer, Tensor target, ReduceOp op)
      : group_(group), request_(request), buffer_(std::move(buffer)), target_(std::move(target)), op_(op) {}
  ~MpiWork() override;
  bool ready() override;
  void wait() override;

 private:
  void finish();
  MpiGroup& group_;
  MPI_Request request_;
  Tensor buffer_, target_;
  ReduceOp op_;
  bool done_ = false;
};

class MpiGroup final : public ProcessGroup {
 public:
  explicit MpiGroup(double timeout) {
    runtime();
    timeout_seconds_ = timeout;
    // A communicator of its own, so that this group's collectives never match another's.
    check_mpi(MPI_Comm_dup(MPI_COMM_WORLD, &comm_), "MPI_Comm_dup");
    MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN);
    MPI_Comm_rank(comm_, &rank_);
    MPI_Comm_size(comm_, &size_);
  }
  ~MpiGroup() override {
    int finalised = 0;
    MPI_Finalized(&finalised);
    if (!finalised && pending_.empty()) MPI_Comm_free(&comm_);
  }

  int rank() const override { return rank_; }
  int world_size() const override { return size_; }
  std::string backend() const override { return "mpi"; }

  void barrier() override {
    finish_pending();
    MPI_Request request;
    check_mpi(MPI_Ibarrier(comm_, &request), "MPI_Ibarrier");
    wait(request, "barrier", {});
  }

  void broadcast(Tensor& tensor, int root) override {
    check_tensor(tensor, "broadcast");
    CAKE_CHECK(root >= 0 && root < size_, "broadcast: root ", root, " is not a rank of ", size_);
    finish_pending();
    Tensor buffer = tensor.is_contiguous() ? tensor : tensor.contiguous();
    MPI_Request request;
    check_mpi(MPI_Ibcast(buffer.raw_data(), checked_count(buffer.numel(), "broadcast"), mpi_type(buffer.dtype()), root,
                         comm_, &request), "MPI_Ibcast");
    wait(request, "broadcast", buffer);
    if (!buffer.is_same(tensor)) tensor.copy_(buffer);
  }

  void all_reduce(Tensor& tensor, ReduceOp op) override { all_reduce_async(tensor, op)->wait(); }

  std::unique_ptr<Work> all_reduce_async(Tensor& tensor, ReduceOp op) override {
    check_tensor(tensor, "all_reduce");
    check_op(tensor, op, "all_reduce");
    finish_pending();
    Tensor buffer = tensor.is_contiguous() ? tensor : tensor.contiguous();
    MPI_Request request;
    check_mpi(MPI_Iallreduce(MPI_IN_PLACE, buffer.raw_data(), checked_count(buffer.numel(), "all_reduce"),
                             mpi_type(buffer.dtype()), mpi_op(op), comm_, &request), "MPI_Iallreduce");
    return std::make_unique<MpiWork>(*this, request, buffer, buffer.is_same(tensor) ? Tensor() : tensor, op);
  }

  Tensor all_gather(const Tensor& tensor) override {
    check_tensor(tensor, "all_gather");
    CAKE_CHECK(tensor.dim() >= 1, "all_gather: expected at least one dimension, got a scalar");
    finish_pending();
    const Tensor local = tensor.detach().contiguous();
    // Every rank's row count and row shape first: the shards may differ in length.
    const std::int64_t row = row_numel(local);
    std::vector<std::int64_t> mine = {local.size(0), row, static_cast<std::int64_t>(local.dtype())};
    std::vector<std::int64_t> all(static_cast<std::size_t>(3 * size_));
    MPI_Request request;
    check_mpi(MPI_Iallgather(mine.data(), 3, MPI_INT64_T, all.data(), 3, MPI_INT64_T, comm_, &request), "MPI_Iallgather");
    wait(request, "all_gather", {});
    std::vector<int> counts(static_cast<std::size_t>(size_)), offsets(static_cast<std::size_t>(size_));
    std::int64_t rows = 0, total = 0;
    for (int r = 0; r < size_; ++r) {
      const std::int64_t* theirs = &all[static_cast<std::size_t>(3 * r)];
      CAKE_CHECK(theirs[1] == row && theirs[2] == mine[2], "all_gather: rank ", r, " sent rows of ", theirs[1],
                 " elements (dtype code ", theirs[2], ") but rank ", rank_, " rows of ", row, " (", dtype_name(local.dtype()),
                 "): all but the first dimension must agree");
      counts[static_cast<std::size_t>(r)] = checked_count(theirs[0] * row, "all_gather");
      offsets[static_cast<std::size_t>(r)] = checked_count(total, "all_gather");
      rows += theirs[0];
      total += theirs[0] * row;
    }
    Shape shape = local.sizes();
    shape[0] = rows;
    Tensor out = empty(shape, local.dtype());
    check_mpi(MPI_Iallgatherv(local.raw_data(), counts[static_cast<std::size_t>(rank_)], mpi_type(local.dtype()),
                              out.raw_data(), counts.data(), offsets.data(), mpi_type(local.dtype()), comm_, &request),
              "MPI_Iallgatherv");
    wait(request, "all_gather", out);
    return out;
  }

  Tensor reduce_scatter(const Tensor& tensor, ReduceOp op) override {
    check_tensor(tensor, "reduce_scatter");
    check_op(tensor, op, "reduce_scatter");
    CAKE_CHECK(tensor.dim() >= 1 && tensor.size(0) % size_ == 0, "reduce_scatter: the first dimension (shape ",
               tensor.sizes(), ") must be a multiple of the world size ", size_);
    finish_pending();
    const Tensor input = tensor.detach().contiguous();
    Shape shape = input.sizes();
    shape[0] /= size_;
    Tensor out = empty(shape, input.dtype());
    MPI_Request request;
    check_mpi(MPI_Ireduce_scatter_block(input.raw_data(), out.raw_data(), checked_count(out.numel(), "reduce_scatter"),
                                        mpi_type(input.dtype()), mpi_op(op), comm_, &request),
              "MPI_Ireduce_scatter_block");
    wait(request, "reduce_scatter", out, input);
    if (op == ReduceOp::Mean) divide(out, size_);
    return out;
  }

  // Polls `request` until done or the deadline; on timeout the request (and the buffers it
  // reads and writes) stay posted in pending_, and the error says what happened.
  void wait(MPI_Request& request, const char* what, Tensor keep, Tensor keep_too = {}) {
    const bool done = poll_until(
        [&] {
          int flag = 0;
          check_mpi(MPI_Test(&request, &flag, MPI_STATUS_IGNORE), "MPI_Test");
          return flag != 0;
        },
        timeout_seconds_);
    if (done) return;
    pending_.push_back({request, std::move(keep), std::move(keep_too)});
    ++runtime().unfinished;
    CAKE_FAIL(timeout_message(what, timeout_seconds_, rank_, size_, "mpi"));
  }

 private:
  struct Pending {
    MPI_Request request;
    Tensor buffer, input;
  };

  static std::int64_t row_numel(const Tensor& t) {
    std::int64_t n = 1;
    for (std::int64_t d = 1; d < t.dim(); ++d) n *= t.size(d);
    return n;
  }

  void check_tensor(const Tensor& tensor, const char* what) const {
    CAKE_CHECK(tensor.defined(), what, ": the tensor is undefined");
    CAKE_CHECK(!tensor.is_cuda(), what, ": the mpi backend works on CPU tensors, got one on ", to_string(tensor.device()),
               " (use the nccl backend for CUDA tensors, or .cpu())");
  }
  static void check_op(const Tensor& tensor, ReduceOp op, const char* what) {
    CAKE_CHECK(op != ReduceOp::Mean || is_floating(tensor.dtype()), what, ": a mean needs a floating-point tensor, got ",
               dtype_name(tensor.dtype()));
  }

  // Collectives that timed out earlier are completed first (in order), so a late peer that
  // does arrive leaves the group usable again.
  void finish_pending() {
    while (!pending_.empty()) {
      Pending& p = pending_.front();
      const bool done = poll_until(
          [&] {
            int flag = 0;
            check_mpi(MPI_Test(&p.request, &flag, MPI_STATUS_IGNORE), "MPI_Test");
            return flag != 0;
          },
          timeout_seconds_);
      CAKE_CHECK(done, timeout_message("an earlier collective that timed out", timeout_seconds_, rank_, size_, "mpi"));
      pending_.erase(pending_.begin());
      --runtime().unfinished;
    }
  }

  friend class MpiWork;
  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0, size_ = 1;
  std::vector<Pending> pending_;
};

MpiWork::~MpiWork() {
  if (done_) return;
  try {
    wait();
  } catch (...) {  // the timeout left it in the group's pending list; nothing to throw to
  }
}

bool MpiWork::ready() {
  if (done_) return true;
  int flag = 0;
  check_mpi(MPI_Test(&request_, &flag, MPI_STATUS_IGNORE), "MPI_Test");
  if (flag) finish();
  return done_;
}

void MpiWork::wait() {
  if (done_) return;
  done_ = true;  // whether it finishes or times out (then the group keeps the request)
  group_.wait(request_, "all_reduce", buffer_, target_);
  done_ = false;
  finish();
}

void MpiWork::finish() {
  done_ = true;
  if (op_ == ReduceOp::Mean) divide(buffer_, group_.world_size());
  if (target_.defined()) target_.copy_(buffer_);
}

}  // namespace

bool mpi_built() { return true; }

std::shared_ptr<ProcessGroup> make_mpi_group(double timeout_seconds) {
  return std::make_shared<MpiGroup>(timeout_seconds);
}

}  // namespace cake::distributed::detail
