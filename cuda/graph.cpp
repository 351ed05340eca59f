// cuda/graph.cpp: see graph.h.
//
// NOTE [ CUDA graphs ]
// Stream capture (CUDA Programming Guide, "CUDA Graphs", "Creating a Graph Using Stream
// Capture") records the work queued on a stream between cudaStreamBeginCapture and
// cudaStreamEndCapture into a graph instead of running it; cudaGraphInstantiate makes it
// launchable and cudaGraphLaunch replays it. What that means for Cake:
//   * Kernels are recorded with their arguments by value: pointers, sizes and host scalars.
//     Replays reuse them all. So shapes are fixed, inputs change by copying into the captured
//     tensors, and a scalar computed on the host (Adam's bias correction, a learning rate, the
//     random generator's offset) stays what it was at capture: optimisers need their capturable
//     mode, where such scalars live on the device and kernels advance them (optim/adam.h).
//   * The host does not run the graph's work while capturing, so it cannot wait for a result:
//     item(), copies to the host, synchronize() and empty_cache() are refused with an error
//     naming the operation (check_not_capturing, cuda/device_api.h), before CUDA would mark the
//     capture invalid. Copies from the host are refused too: the staging buffer they read is
//     refilled by the host, so a replay would copy whatever it held by then.
//   * Capture runs on a stream of its own, never the legacy default stream (which orders itself
//     with every blocking stream and cannot be captured), in thread-local mode: only this
//     thread's unsafe calls break it.
//   * Memory: the caching allocator serves the capturing stream from the graph's private pool
//     (NOTE [ Graph pools ] in caching_allocator.cpp), which lives as long as the graph.
//   * Libraries: cuBLAS (12.2 and later: workspace through stream-ordered allocation) and cuDNN
//     calls are captured like kernels; cuDNN's workspace comes from Cake's allocator, hence the
//     pool. Their first calls choose algorithms and create handles, which is why a captured
//     step is run eagerly a few times first (the Trainer warms up on the side stream).
#include "cake/cuda/graph.h"

#include <exception>
#include <mutex>
#include <vector>

#include "cake/tensor/allocator.h"
#include "cake/tensor/error.h"

namespace cake {
namespace detail {
extern Allocator* cuda_allocator;  // tensor/tensor.cpp; set by the CUDA backend at load time
}

namespace cuda {
namespace {

CachingAllocator& process_allocator() {
  auto* caching = dynamic_cast<CachingAllocator*>(detail::cuda_allocator);
  CAKE_CHECK(caching != nullptr, "cake::cuda::Graph: Cake was built without CUDA (CAKE_WITH_CUDA=OFF)");
  return *caching;
}

DeviceApi& available_device_api() {
  DeviceApi& api = device_api();
  CAKE_CHECK(api.device_count() > 0, "cake::cuda::Graph: no CUDA device is available");
  return api;
}

// The process's side streams, made on first use and never destroyed (see SideStream in graph.h).
// A stream is lent to one SideStream at a time and taken back when it goes: two live SideStreams
// never share one, which matters while one of them is captured (capture is per stream, so another
// thread's work on a shared stream would be recorded into the graph).
struct StreamLender {
  std::mutex mutex;
  std::vector<Stream> free;
};
StreamLender& stream_lender() {
  static auto* lender = new StreamLender;  // never destroyed, like the streams
  return *lender;
}

Stream borrow_stream() {
  StreamLender& lender = stream_lender();
  {
    const std::lock_guard lock(lender.mutex);
    if (!lender.free.empty()) {
      const Stream stream = lender.free.back();
      lender.free.pop_back();
      return stream;
    }
  }
  return available_device_api().create_stream();
}

void return_stream(Stream stream) {
  StreamLender& lender = stream_lender();
  const std::lock_guard lock(lender.mutex);
  lender.free.push_back(stream);
}

}  // namespace

SideStream::SideStream() : owner_(nullptr), stream_(borrow_stream()) {}
SideStream::SideStream(DeviceApi& api) : owner_(&api), stream_(api.create_stream()) {}
SideStream::~SideStream() {
  try {
    if (owner_ == nullptr) return_stream(stream_);  // a pooled stream: lent again, never destroyed
    else owner_->destroy_stream(stream_);
  } catch (...) {  // a destructor must not throw (a stream not taken back is merely not reused)
  }
}

Graph::Graph() : Graph(available_device_api(), process_allocator()) {}
Graph::Graph(DeviceApi& api, CachingAllocator& allocator) : api_(api), allocator_(allocator) {}

Graph::~Graph() {
  try {
    reset();
  } catch (...) {  // a destructor must not throw
  }
}

void Graph::capture_begin(PoolId pool) {
  CAKE_CHECK(state_ == State::Empty, "cake::cuda::Graph::capture_begin: the graph is ",
             state_ == State::Capturing ? "already capturing" : "already captured (reset() it to capture again)");
  CAKE_CHECK(capturing_stream() == nullptr,
             "cake::cuda::Graph::capture_begin: this thread is already capturing a graph (captures do not nest)");
  const Stream stream = current_stream();
  CAKE_CHECK(stream != nullptr, "cake::cuda::Graph::capture_begin: the current stream is the legacy default stream, "
                                "which cannot be captured; make a side stream current first "
                                "(cake::cuda::SideStream side; cake::cuda::StreamGuard guard(side.get());)");
  if (pool == 0) pool = allocator_.create_pool();
  else allocator_.retain_pool(pool);
  try {
    allocator_.begin_capture(stream, pool);
  } catch (...) {
    allocator_.release_pool(pool);
    throw;
  }
  try {
    api_.begin_capture(stream);
  } catch (...) {
    allocator_.end_capture(stream);
    allocator_.release_pool(pool);
    throw;
  }
  set_capturing_stream(stream);
  stream_ = stream;
  pool_ = pool;
  state_ = State::Capturing;
}

void Graph::capture_end() {
  CAKE_CHECK(state_ == State::Capturing, "cake::cuda::Graph::capture_end: no capture was begun");
  // The device's capture ends first: the allocator then records the events it deferred, which
  // must not land inside the capture.
  set_capturing_stream(nullptr);
  GraphTemplate recorded = nullptr;
  try {
    recorded = api_.end_capture(stream_);
  } catch (...) {
    allocator_.end_capture(stream_);
    allocator_.release_pool(pool_);
    state_ = State::Empty;
    pool_ = 0;
    throw;
  }
  allocator_.end_capture(stream_);
  try {
    exec_ = api_.instantiate(recorded);
  } catch (...) {
    api_.destroy_graph(recorded);
    allocator_.release_pool(pool_);
    state_ = State::Empty;
    pool_ = 0;
    throw;
  }
  // The executable graph is independent of its template (cudaGraphInstantiate copies it).
  api_.destroy_graph(recorded);
  state_ = State::Captured;
}

void Graph::capture(const std::function<void()>& work, PoolId pool) {
  capture_begin(pool);
  try {
    work();
  } catch (...) {
    abandon_capture();
    throw;
  }
  capture_end();
}

void Graph::abandon_capture() noexcept {
  if (state_ != State::Capturing) return;
  set_capturing_stream(nullptr);
  try {
    api_.destroy_graph(api_.end_capture(stream_));
  } catch (...) {  // an invalidated capture ends with an error; it is over either way
  }
  try {
    allocator_.end_capture(stream_);
    allocator_.release_pool(pool_);
  } catch (...) {
  }
  state_ = State::Empty;
  pool_ = 0;
}

void Graph::replay() {
  CAKE_CHECK(state_ == State::Captured, "cake::cuda::Graph::replay: nothing captured",
             state_ == State::Capturing ? " yet (capture_end() first)" : "");
  CAKE_CHECK(capturing_stream() == nullptr,
             "cake::cuda::Graph::replay: this thread is capturing another graph; replay after its capture_end()");
  api_.launch_graph(exec_, current_stream());
}

void Graph::reset() {
  if (state_ == State::Capturing) return abandon_capture();
  if (state_ != State::Captured) return;
  api_.destroy_graph_exec(exec_);  // replays already queued still complete
  exec_ = nullptr;
  state_ = State::Empty;
  const PoolId pool = pool_;
  pool_ = 0;
  allocator_.release_pool(pool);
}

GraphCapture::GraphCapture(Graph& graph, PoolId pool) : graph_(graph), exceptions_(std::uncaught_exceptions()) {
  graph_.capture_begin(pool);
}

GraphCapture::~GraphCapture() noexcept(false) {
  if (std::uncaught_exceptions() > exceptions_) graph_.abandon_capture();
  else graph_.capture_end();
}

}  // namespace cuda
}  // namespace cake
