// cuda/graph.h: CUDA graphs, a whole step's kernels recorded once and replayed for the host cost
// of one launch, in the manner of torch.cuda.CUDAGraph and torch.cuda.graph.
//
//   cake::cuda::SideStream side;                        // captures run off the legacy stream
//   cake::cuda::StreamGuard on_side(side.get());
//   cake::Tensor x = cake::zeros({64, 64}).cuda(), w = cake::randn({64, 64}).cuda();
//   cake::cuda::Graph graph;
//   cake::Tensor y;
//   graph.capture([&] { y = cake::matmul(x, w).relu(); });   // recorded, not run
//   x.copy_(cake::randn({64, 64}).cuda());                    // new data into the static input
//   graph.replay();                                           // y = relu(x w) for the new x
//
// A training step of a small network is hundreds of small kernels, each costing the host a few
// microseconds to launch: the GPU waits for the CPU ("launch-bound"). A graph hands the driver
// the whole step at once. The price is that a graph is fixed: the same kernels, the same
// arguments, the same addresses on every replay. Hence the rules (NOTE [ CUDA graphs ] in
// graph.cpp): the shapes are fixed; inputs change only by copying into the tensors the capture
// read ("static inputs"), outputs are read from the tensors it wrote; no host synchronisation
// inside (item(), copies to the host: refused with a named error); host scalars baked into
// kernels (a step count, a learning rate, a random seed) do not advance between replays, so
// optimisers must be capturable (optim/adam.h); the memory a capture allocates belongs to the
// graph (a private pool of the caching allocator) until reset().
#pragma once

#include <functional>

#include "cake/cuda/caching_allocator.h"
#include "cake/cuda/device_api.h"

namespace cake::cuda {

// A stream other than the legacy default one (non-blocking: it does not order itself with the
// legacy stream), for StreamGuard. SideStream() borrows one of the process's side streams and
// gives it back when it goes, so two live SideStreams never share one (a capture records all the
// work of its stream, whichever thread queued it). The streams are never destroyed, as PyTorch's
// stream pool's are not: the caching allocator remembers the stream of every segment and records
// an event on it whenever a tensor made there is freed, which may be long after the code that
// used the stream has returned (an optimiser's state, gradients).
// SideStream(api) makes a stream of its own and destroys it with the object: for tests on a fake
// device only.
class SideStream {
 public:
  SideStream();
  explicit SideStream(DeviceApi& api);
  ~SideStream();
  SideStream(const SideStream&) = delete;
  SideStream& operator=(const SideStream&) = delete;
  Stream get() const { return stream_; }

 private:
  DeviceApi* owner_;  // null: a pooled stream, never destroyed
  Stream stream_;
};

class Graph {
 public:
  // On the process's device and caching allocator (throws without a CUDA device).
  Graph();
  // On any device API and allocator: tests drive a fake device this way.
  Graph(DeviceApi& api, CachingAllocator& allocator);
  ~Graph();
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;

  // Records, instead of running, the work this thread queues on its current stream until
  // capture_end(). The current stream must not be the legacy default stream (StreamGuard).
  // Allocations on it come from a new private pool, or from `pool` (another graph's pool(), so
  // that graphs replayed one after the other share their temporaries' memory).
  void capture_begin(PoolId pool = 0);
  // Ends the capture and instantiates the graph; throws if the capture was broken.
  void capture_end();
  // capture_begin(pool); work(); capture_end(); if work throws, the capture is abandoned (the
  // graph stays empty, its memory is released) and the exception goes on.
  void capture(const std::function<void()>& work, PoolId pool = 0);
  // Launches the graph on the current stream: the captured kernels run again on the same
  // addresses. Asynchronous, like any kernel launch.
  void replay();
  // Destroys the graph and releases its pool (the memory goes back once no graph holds it and
  // its tensors are freed). The object can capture again.
  void reset();

  bool capturing() const { return state_ == State::Capturing; }
  bool captured() const { return state_ == State::Captured; }
  // The private pool of this graph (0 before capture_begin).
  PoolId pool() const { return pool_; }

 private:
  friend class GraphCapture;
  enum class State { Empty, Capturing, Captured };
  void abandon_capture() noexcept;

  DeviceApi& api_;
  CachingAllocator& allocator_;
  State state_ = State::Empty;
  Stream stream_ = nullptr;
  PoolId pool_ = 0;
  GraphExec exec_ = nullptr;
};

// The captured region as a scope: the constructor begins the capture, the destructor ends it
// (or abandons it when the scope is left by an exception).
//   { cake::cuda::GraphCapture capture(graph); loss = step(static_x); }   // recorded
class GraphCapture {
 public:
  explicit GraphCapture(Graph& graph, PoolId pool = 0);
  // Throws if ending the capture fails (and no other exception is in flight).
  ~GraphCapture() noexcept(false);
  GraphCapture(const GraphCapture&) = delete;
  GraphCapture& operator=(const GraphCapture&) = delete;

 private:
  Graph& graph_;
  int exceptions_;
};

}  // namespace cake::cuda
