// cuda/backend/device_api_cuda.cpp: DeviceApi on the CUDA runtime (cuda/device_api.h).
//
// NOTE [ Sticky no-device error ]
// On a machine with the toolkit but no GPU (CI, this project's build machines), the first
// runtime call, cudaGetDeviceCount, returns cudaErrorInsufficientDriver (35), and the runtime
// remembers it: every later call fails the same way. So Cake asks once, caches the answer,
// treats any error as zero devices, and makes no other CUDA call after a zero answer; every
// entry point below first checks the cached count and throws a clear cake::Error instead.
#include <cuda_runtime.h>

#include <mutex>

#include "cake/cuda/backend/check.cuh"
#include "cake/cuda/device_api.h"
#include "cake/tensor/error.h"

namespace cake::cuda {
namespace {

int probe_device_count() {
  static std::once_flag once;
  static int count = 0;
  std::call_once(once, [] {
    int n = 0;
    if (cudaGetDeviceCount(&n) == cudaSuccess) count = n;
  });
  return count;
}

void require_device() {
  CAKE_CHECK(probe_device_count() > 0, "CUDA: no CUDA device is available (the driver reports none, or no driver "
                                       "is installed); use Device::cpu(), or check cake::cuda::is_available() first");
}

class CudaDeviceApi final : public DeviceApi {
 public:
  int device_count() override { return probe_device_count(); }
  MemoryInfo memory_info() override {
    require_device();
    MemoryInfo info;
    check(cudaMemGetInfo(&info.free_bytes, &info.total_bytes), "cudaMemGetInfo");
    return info;
  }
  void* malloc(std::size_t nbytes) override {
    require_device();
    void* p = nullptr;
    // While this thread captures a graph (thread-local mode) cudaMalloc counts as "potentially
    // unsafe" and would invalidate the capture. It is safe for Cake: the allocator never frees a
    // graph's memory while the graph lives, and replays keep the addresses the capture saw. So
    // the thread is switched to relaxed mode around the call, as PyTorch's allocator does
    // (cudaThreadExchangeStreamCaptureMode, push-pop as the runtime's documentation suggests).
    cudaStreamCaptureMode mode = cudaStreamCaptureModeRelaxed;
    check(cudaThreadExchangeStreamCaptureMode(&mode), "cudaThreadExchangeStreamCaptureMode");
    const cudaError_t e = cudaMalloc(&p, nbytes);
    check(cudaThreadExchangeStreamCaptureMode(&mode), "cudaThreadExchangeStreamCaptureMode");
    if (e == cudaErrorMemoryAllocation) {
      (void)cudaGetLastError();  // not sticky: clear it, the caller frees its cache and retries
      return nullptr;
    }
    check(e, "cudaMalloc");
    return p;
  }
  void free(void* ptr) override { check(cudaFree(ptr), "cudaFree"); }
  void* malloc_host(std::size_t nbytes) override {
    require_device();
    void* p = nullptr;
    check(cudaMallocHost(&p, nbytes), "cudaMallocHost");
    return p;
  }
  void free_host(void* ptr) override { check(cudaFreeHost(ptr), "cudaFreeHost"); }
  void memcpy_async(void* dst, const void* src, std::size_t nbytes, CopyKind kind, Stream stream) override {
    const cudaMemcpyKind k = kind == CopyKind::HostToDevice   ? cudaMemcpyHostToDevice
                             : kind == CopyKind::DeviceToHost ? cudaMemcpyDeviceToHost
                             : kind == CopyKind::DeviceToDevice ? cudaMemcpyDeviceToDevice
                                                                : cudaMemcpyHostToHost;
    check(cudaMemcpyAsync(dst, src, nbytes, k, static_cast<cudaStream_t>(stream)), "cudaMemcpyAsync");
  }
  void memset_async(void* dst, int byte, std::size_t nbytes, Stream stream) override {
    check(cudaMemsetAsync(dst, byte, nbytes, static_cast<cudaStream_t>(stream)), "cudaMemsetAsync");
  }
  Stream create_stream() override {
    require_device();
    cudaStream_t s = nullptr;
    check(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), "cudaStreamCreate");
    return s;
  }
  void destroy_stream(Stream stream) override {
    check(cudaStreamDestroy(static_cast<cudaStream_t>(stream)), "cudaStreamDestroy");
  }
  void synchronize_stream(Stream stream) override {
    check(cudaStreamSynchronize(static_cast<cudaStream_t>(stream)), "cudaStreamSynchronize");
  }
  void synchronize_device() override {
    if (probe_device_count() > 0) check(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
  }
  Event create_event() override {
    require_device();
    cudaEvent_t e = nullptr;
    // Timing off: such events are cheaper to record and to query.
    check(cudaEventCreateWithFlags(&e, cudaEventDisableTiming), "cudaEventCreate");
    return e;
  }
  void destroy_event(Event event) override { check(cudaEventDestroy(static_cast<cudaEvent_t>(event)), "cudaEventDestroy"); }
  void record_event(Event event, Stream stream) override {
    check(cudaEventRecord(static_cast<cudaEvent_t>(event), static_cast<cudaStream_t>(stream)), "cudaEventRecord");
  }
  bool query_event(Event event) override {
    const cudaError_t e = cudaEventQuery(static_cast<cudaEvent_t>(event));
    if (e == cudaErrorNotReady) return false;
    check(e, "cudaEventQuery");
    return true;
  }
  void synchronize_event(Event event) override {
    check(cudaEventSynchronize(static_cast<cudaEvent_t>(event)), "cudaEventSynchronize");
  }
  void stream_wait_event(Stream stream, Event event) override {
    check(cudaStreamWaitEvent(static_cast<cudaStream_t>(stream), static_cast<cudaEvent_t>(event), 0),
          "cudaStreamWaitEvent");
  }
  // Thread-local mode: another thread may keep using the device (a data loader, a logger)
  // without breaking this capture; this thread's own unsafe calls still do.
  void begin_capture(Stream stream) override {
    require_device();
    check(cudaStreamBeginCapture(static_cast<cudaStream_t>(stream), cudaStreamCaptureModeThreadLocal),
          "cudaStreamBeginCapture");
  }
  GraphTemplate end_capture(Stream stream) override {
    cudaGraph_t graph = nullptr;
    const cudaError_t e = cudaStreamEndCapture(static_cast<cudaStream_t>(stream), &graph);
    if (e == cudaErrorStreamCaptureInvalidated) {  // the capture is over either way; say why it failed
      (void)cudaGetLastError();
      if (graph != nullptr) cudaGraphDestroy(graph);
      CAKE_FAIL("CUDA graph capture was invalidated by an operation that cannot be captured (a synchronisation, "
                "an event query, work on the legacy default stream); Cake's own such operations are refused "
                "with a named error, so this came from a library or from another stream");
    }
    check(e, "cudaStreamEndCapture");
    return graph;
  }
  CaptureStatus capture_status(Stream stream) override {
    cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
    check(cudaStreamIsCapturing(static_cast<cudaStream_t>(stream), &status), "cudaStreamIsCapturing");
    return status == cudaStreamCaptureStatusActive      ? CaptureStatus::Active
           : status == cudaStreamCaptureStatusInvalidated ? CaptureStatus::Invalidated
                                                          : CaptureStatus::None;
  }
  GraphExec instantiate(GraphTemplate graph) override {
    cudaGraphExec_t exec = nullptr;
    check(cudaGraphInstantiate(&exec, static_cast<cudaGraph_t>(graph), 0), "cudaGraphInstantiate");
    return exec;
  }
  void destroy_graph(GraphTemplate graph) override {
    check(cudaGraphDestroy(static_cast<cudaGraph_t>(graph)), "cudaGraphDestroy");
  }
  void launch_graph(GraphExec exec, Stream stream) override {
    check(cudaGraphLaunch(static_cast<cudaGraphExec_t>(exec), static_cast<cudaStream_t>(stream)), "cudaGraphLaunch");
  }
  void destroy_graph_exec(GraphExec exec) override {
    check(cudaGraphExecDestroy(static_cast<cudaGraphExec_t>(exec)), "cudaGraphExecDestroy");
  }
};

}  // namespace

DeviceApi& device_api() {
  // Never destroyed: at process exit the CUDA runtime may already be gone (cudaErrorCudartUnloading).
  static auto* api = new CudaDeviceApi;
  return *api;
}

}  // namespace cake::cuda
