// cuda/cuda.h: the CUDA backend's public face.
//
//   if (cake::cuda::is_available()) model.to(cake::Device::cuda());
//
// In a build without CUDA (CAKE_WITH_CUDA=OFF or no toolkit) everything here still exists:
// is_available() is false and device_count() is 0, and any op on a CUDA tensor is a clear
// cake::Error.
#pragma once

#include <cstddef>

namespace cake::cuda {

// True when Cake was built with CUDA and a GPU is present. The answer is computed once: on a
// machine without a usable driver the CUDA runtime's first error is sticky, so Cake asks once,
// treats any error as "no device", and makes no other CUDA call afterwards.
bool is_available();
int device_count();
// Waits for all queued GPU work (for timing).
void synchronize();
// Frees the cached, unused device memory of the caching allocator (cuda/caching_allocator.h).
void empty_cache();
struct MemoryStats {
  std::size_t allocated_bytes = 0, peak_allocated_bytes = 0, cached_bytes = 0;
  std::size_t reserved_bytes = 0;  // allocated + cached: what Cake holds from the device
};
MemoryStats memory_stats();
// For tests: every CUDA allocation from now on is filled with 0xFF bytes (NaN in float32 and
// float64, -1 in int64), so an output element a kernel forgets to write is caught. Off by default.
void set_poison_allocations(bool poison);
// TF32 tensor cores for float32 matmul/conv: off by default (exact float32 results).
void set_allow_tf32(bool allow);
bool allow_tf32();

}  // namespace cake::cuda
