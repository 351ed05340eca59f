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

// Opaque handles: cudaStream_t and cudaEvent_t in the real API. A null Stream is CUDA's
// legacy default stream, which orders itself with every other stream of the device.
using Stream = void*;
using Event = void*;

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
};

// The real CUDA runtime (a build with CUDA); throws cake::Error naming the reason otherwise.
DeviceApi& device_api();

// The stream new kernels, copies and allocations of this thread go to (default: null, CUDA's
// legacy default stream).
Stream current_stream();
void set_current_stream(Stream stream);

}  // namespace cake::cuda
