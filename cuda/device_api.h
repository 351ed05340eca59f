// cuda/device_api.h: the few CUDA runtime calls the backend's host code makes, behind one seam.
//
// The caching allocator (cuda/caching_allocator.h) and the copy glue talk to a DeviceApi, never
// to the CUDA runtime directly. The real implementation (cuda/backend/device_api_cuda.cpp) wraps
// cudaMalloc, cudaMemcpyAsync, cudaEventRecord, ...; the fake in tests/cuda/fake_device_api.h
// serves host memory, fails on demand and completes events when the test says so. That is how
// the allocator's stream and out-of-memory logic is tested on machines without a GPU.
//
//   cake::cuda::DeviceApi& api = cake::cuda::device_api();   // throws without CUDA or a GPU
//   void* p = api.malloc(1 << 20);                            // nullptr when out of memory
//   api.memset_async(p, 0, 1 << 20, nullptr);                 // nullptr = the default stream
//   api.free(p);
#pragma once

#include <cstddef>

namespace cake::cuda {

// Opaque handles: cudaStream_t, cudaEvent_t, cudaGraph_t and cudaGraphExec_t in the real API.
// A null Stream is CUDA's legacy default stream, which orders itself with every blocking stream
// of the device (not with the non-blocking ones create_stream() makes).
using Stream = void*;
using Event = void*;
using GraphTemplate = void*;  // what a capture recorded (cudaGraph_t)
using GraphExec = void*;      // its instantiation, the thing that is launched (cudaGraphExec_t)

// What cudaStreamIsCapturing says of a stream: not capturing, capturing, or capturing but already
// broken by an illegal call (the capture must still be ended, and its graph is discarded).
enum class CaptureStatus { None, Active, Invalidated };

enum class CopyKind { HostToDevice, DeviceToHost, DeviceToDevice, HostToHost };

struct MemoryInfo {
  std::size_t free_bytes = 0, total_bytes = 0;
};

class DeviceApi {
 public:
  virtual ~DeviceApi() = default;

  // Number of usable devices; 0 on any error (see NOTE [ Sticky no-device error ] in
  // cuda/backend/device_api_cuda.cpp).
  virtual int device_count() = 0;
  virtual MemoryInfo memory_info() = 0;

  // Device memory. malloc returns nullptr when the device is out of memory (the caller frees
  // its cache and retries); every other failure throws cake::Error.
  virtual void* malloc(std::size_t nbytes) = 0;
  virtual void free(void* ptr) = 0;
  // Page-locked host memory, the staging buffers of host <-> device copies.
  virtual void* malloc_host(std::size_t nbytes) = 0;
  virtual void free_host(void* ptr) = 0;

  // Queued on `stream`; they return before the work is done.
  virtual void memcpy_async(void* dst, const void* src, std::size_t nbytes, CopyKind kind, Stream stream) = 0;
  virtual void memset_async(void* dst, int byte, std::size_t nbytes, Stream stream) = 0;

  virtual Stream create_stream() = 0;
  virtual void destroy_stream(Stream stream) = 0;
  virtual void synchronize_stream(Stream stream) = 0;
  virtual void synchronize_device() = 0;

  // An event marks a point in a stream's queue: record() places it, query() says whether the
  // stream has run past it, synchronize_event() waits until it has.
  virtual Event create_event() = 0;
  virtual void destroy_event(Event event) = 0;
  virtual void record_event(Event event, Stream stream) = 0;
  virtual bool query_event(Event event) = 0;
  virtual void synchronize_event(Event event) = 0;
  // Work queued on `stream` from now on waits for `event` (on the device; the host does not wait).
  virtual void stream_wait_event(Stream stream, Event event) = 0;

  // Stream capture (CUDA graphs, cuda/graph.h). Between begin_capture and end_capture, the work
  // queued on `stream` is recorded instead of run; instantiate turns the record into a graph that
  // launch_graph replays on any stream, as often as wanted, for one launch's host cost. The
  // capture is in thread-local mode: only this thread's unsafe calls (a synchronisation, a
  // cudaEventQuery) invalidate it. malloc is allowed while capturing (the real API switches the
  // thread to relaxed mode around cudaMalloc, as PyTorch does): memory is not captured, the
  // graph's kernels simply keep the addresses they were given.
  virtual void begin_capture(Stream stream) = 0;
  virtual GraphTemplate end_capture(Stream stream) = 0;
  virtual CaptureStatus capture_status(Stream stream) = 0;
  virtual GraphExec instantiate(GraphTemplate graph) = 0;
  virtual void destroy_graph(GraphTemplate graph) = 0;
  virtual void launch_graph(GraphExec exec, Stream stream) = 0;
  virtual void destroy_graph_exec(GraphExec exec) = 0;
};

// The real CUDA runtime (a build with CUDA); throws cake::Error naming the reason otherwise.
DeviceApi& device_api();

// The stream new kernels, copies and allocations of this thread go to (default: null, CUDA's
// legacy default stream).
Stream current_stream();
void set_current_stream(Stream stream);

// Makes `stream` this thread's current stream for a scope, in the manner of `with
// torch.cuda.stream(s)` plus wait_stream at both ends: on entry `stream` waits for the work
// already queued on the previous stream (so it sees the tensors made there), on exit the
// previous stream waits for `stream`. Ordering goes through events, so the host never waits.
//   cake::cuda::StreamGuard guard(side);   // kernels from here on run on `side`
// A guard whose stream is already current does nothing.
class StreamGuard {
 public:
  explicit StreamGuard(Stream stream) : StreamGuard(stream, nullptr) {}
  StreamGuard(Stream stream, DeviceApi& api) : StreamGuard(stream, &api) {}
  ~StreamGuard();
  StreamGuard(const StreamGuard&) = delete;
  StreamGuard& operator=(const StreamGuard&) = delete;

 private:
  StreamGuard(Stream stream, DeviceApi* api);  // null api: device_api(), asked only if needed
  DeviceApi* api_;
  Stream previous_, stream_;
};

// Capture bookkeeping of this thread (cuda/graph.h sets it): the stream being captured, or null.
Stream capturing_stream();
void set_capturing_stream(Stream stream);
// Throws a clear cake::Error naming `operation` when this thread is capturing a CUDA graph: an
// operation that makes the host wait for the device (a copy to the host, item(), synchronize)
// cannot be recorded into a graph, and calling it would break the capture (NOTE [ CUDA graphs ]
// in cuda/graph.cpp).
void check_not_capturing(const char* operation);

}  // namespace cake::cuda
