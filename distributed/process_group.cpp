// process_group.cpp: choosing a backend from the environment, the single-process "local"
// group, and the helpers every backend shares (polling with a deadline, row shards).
#include "cake/distributed/process_group.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <sstream>
#include <thread>

#include "cake/distributed/detail/backends.h"

namespace cake::distributed {

const char* to_string(ReduceOp op) {
  switch (op) {
    case ReduceOp::Sum: return "sum";
    case ReduceOp::Mean: return "mean";
    case ReduceOp::Max: return "max";
  }
  return "?";
}

void ProcessGroup::set_timeout(double seconds) {
  CAKE_CHECK(seconds > 0.0, "ProcessGroup::set_timeout: the timeout must be positive, got ", seconds, " s");
  timeout_seconds_ = seconds;
}

namespace {

// One process: every collective is the identity. Checks the arguments as a real backend
// would, so that a program tested alone fails the same way.
class LocalGroup final : public ProcessGroup {
 public:
  explicit LocalGroup(double timeout) { timeout_seconds_ = timeout; }
  int rank() const override { return 0; }
  int world_size() const override { return 1; }
  std::string backend() const override { return "local"; }
  void barrier() override {}
  void broadcast(Tensor& tensor, int root) override {
    CAKE_CHECK(tensor.defined(), "broadcast: the tensor is undefined");
    CAKE_CHECK(root == 0, "broadcast: root ", root, " is not a rank of this one-process group");
  }
  void all_reduce(Tensor& tensor, ReduceOp op) override {
    CAKE_CHECK(tensor.defined(), "all_reduce: the tensor is undefined");
    CAKE_CHECK(op != ReduceOp::Mean || is_floating(tensor.dtype()), "all_reduce: a mean needs a floating-point tensor, got ",
               dtype_name(tensor.dtype()));
  }
  std::unique_ptr<Work> all_reduce_async(Tensor& tensor, ReduceOp op) override {
    all_reduce(tensor, op);
    struct Done final : Work {
      bool ready() override { return true; }
      void wait() override {}
    };
    return std::make_unique<Done>();
  }
  Tensor all_gather(const Tensor& tensor) override {
    CAKE_CHECK(tensor.defined() && tensor.dim() >= 1, "all_gather: expected a tensor with at least one dimension");
    return tensor.detach().contiguous().clone();
  }
  Tensor reduce_scatter(const Tensor& tensor, ReduceOp op) override {
    CAKE_CHECK(tensor.defined() && tensor.dim() >= 1, "reduce_scatter: expected a tensor with at least one dimension");
    Tensor out = tensor.detach().contiguous().clone();
    all_reduce(out, op);
    return out;
  }
};

double timeout_from_environment(double given) {
  if (given > 0.0) return given;
  if (const char* text = std::getenv("CAKE_DIST_TIMEOUT_S")) {
    char* end = nullptr;
    const double seconds = std::strtod(text, &end);
    CAKE_CHECK(end != text && *end == '\0' && seconds > 0.0,
               "CAKE_DIST_TIMEOUT_S: expected a positive number of seconds, got \"", text, "\"");
    return seconds;
  }
  return 300.0;
}

int environment_int(const char* name) {
  const char* text = std::getenv(name);
  return text ? std::atoi(text) : -1;
}

std::mutex default_mutex;
std::shared_ptr<ProcessGroup> default_instance;

}  // namespace

bool launched_by_mpi() {
  return std::getenv("OMPI_COMM_WORLD_SIZE") != nullptr || std::getenv("PMI_SIZE") != nullptr ||
         std::getenv("PMIX_RANK") != nullptr;
}

int launcher_world_size() {
  // Open MPI's mpirun, then MPICH/Hydra's mpiexec (PMI), then a bare PMIx launcher.
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"})
    if (const int size = environment_int(name); size >= 1) return size;
  return 1;
}

bool backend_available(const std::string& backend) {
  if (backend == "local") return true;
  if (backend == "mpi") return detail::mpi_built();
  if (backend == "nccl") return detail::nccl_built();
  return false;
}

std::shared_ptr<ProcessGroup> init_process_group(const InitOptions& options) {
  const double timeout = timeout_from_environment(options.timeout_seconds);
  const std::string& b = options.backend;
  CAKE_CHECK(b == "auto" || b == "mpi" || b == "nccl" || b == "local", "init_process_group: unknown backend \"", b,
             "\" (expected auto, mpi, nccl or local)");
  const bool launched = launched_by_mpi();
  if (b == "local" || (b == "auto" && !launched)) {
    CAKE_CHECK(!launched || launcher_world_size() == 1, "init_process_group: the \"local\" backend is one process, but "
               "mpirun started ", launcher_world_size(), " ranks; use backend \"mpi\" or \"auto\"");
    return std::make_shared<LocalGroup>(timeout);
  }
  if (b == "nccl") return detail::make_nccl_group(timeout);
  // "mpi", or "auto" under a launcher.
  CAKE_CHECK(detail::mpi_built(), "init_process_group: this process was started by an MPI launcher with ",
             launcher_world_size(), " ranks, but this Cake was built without MPI (install libopenmpi-dev and "
             "reconfigure with -DCAKE_WITH_MPI=ON); every rank would train alone");
  return detail::make_mpi_group(timeout);
}

ProcessGroup& default_group() {
  std::lock_guard<std::mutex> lock(default_mutex);
  if (!default_instance) default_instance = init_process_group();
  return *default_instance;
}

void set_default_group(std::shared_ptr<ProcessGroup> group) {
  CAKE_CHECK(group != nullptr, "set_default_group: the group is null");
  std::lock_guard<std::mutex> lock(default_mutex);
  default_instance = std::move(group);
}

Shard shard_rows(std::int64_t n, int rank, int world_size) {
  CAKE_CHECK(world_size >= 1 && rank >= 0 && rank < world_size, "shard_rows: rank ", rank, " of world size ", world_size);
  CAKE_CHECK(n >= 0, "shard_rows: negative row count ", n);
  const std::int64_t base = n / world_size, extra = n % world_size;
  const std::int64_t begin = rank * base + std::min<std::int64_t>(rank, extra);
  return {begin, begin + base + (rank < extra ? 1 : 0)};
}

namespace detail {

bool poll_until(const std::function<bool()>& ready, double timeout_seconds) {
  using clock = std::chrono::steady_clock;
  const auto started = clock::now();
  const auto deadline = started + std::chrono::duration<double>(timeout_seconds);
  // Each poll also moves the transfer on (MPI's TCP transport sends a large message fragment by
  // fragment, inside MPI_Test), so polling must be quick while data flows: a sleep between polls
  // would stretch every large transfer. So: poll and yield the core (a rank that waits lets an
  // oversubscribed peer run) for the first two seconds; only a longer wait, for a peer that is
  // busy or gone, polls every 200 us.
  const auto patient = started + std::chrono::seconds(2);
  while (!ready()) {
    const auto now = clock::now();
    if (now > deadline) return false;
    if (now < patient) std::this_thread::yield();
    else std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return true;
}

std::string timeout_message(const char* what, double seconds, int rank, int world_size, const std::string& backend) {
  std::ostringstream out;
  out << what << " timed out after " << seconds << " s on rank " << rank << " of " << world_size << " (backend "
      << backend << "): a peer has died, hangs, or called a different collective (every rank must call the same "
      << "collectives in the same order). Raise the limit with CAKE_DIST_TIMEOUT_S if a step is that slow.";
  return out.str();
}

}  // namespace detail

}  // namespace cake::distributed
