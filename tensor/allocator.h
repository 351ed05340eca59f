// allocator.h: where tensor memory comes from.
//
// A fresh large buffer costs one page fault per 4 KiB page the first time it is touched
// (about 6.6 us each on our machines): a 256x64x14x14 float activation is 3,136 pages, 20 ms
// of faults before any arithmetic. Training allocates the same sizes every step, so the CPU
// allocator caches freed blocks by size class and hands them back out, exactly like PyTorch's
// CUDA caching allocator does for device memory. See NOTE [ Caching allocator ] in allocator.cpp.
//
//   void* p = cake::cpu_allocator().allocate(1024);
//   cake::cpu_allocator().deallocate(p, 1024);          // kept for the next 1 KiB request
//   cake::empty_cache();                                // gives cached blocks back to the OS
#pragma once

#include <cstddef>
#include <cstdint>

#include "cake/tensor/device.h"

namespace cake {

class Allocator {
 public:
  virtual ~Allocator() = default;
  virtual void* allocate(std::size_t nbytes) = 0;
  virtual void deallocate(void* ptr, std::size_t nbytes) = 0;
  virtual Device device() const = 0;
};

struct MemoryStats {
  std::size_t allocated_bytes = 0;       // handed out to live tensors now
  std::size_t peak_allocated_bytes = 0;  // the most ever handed out at once
  std::size_t cached_bytes = 0;          // freed by tensors, kept for reuse
  std::size_t num_os_allocations = 0;    // requests that missed the cache
};

// Every buffer is aligned to this many bytes (a cache line; enough for AVX-512 loads).
inline constexpr std::size_t kCpuAlignment = 64;

Allocator& cpu_allocator();
MemoryStats cpu_memory_stats();
// Frees every cached (unused) CPU block.
void empty_cache();

}  // namespace cake
