#include "cake/tensor/allocator.h"

#include <cstdlib>
#include <map>
#include <mutex>
#include <vector>

#include "cake/tensor/error.h"

namespace cake {
namespace {

// NOTE [ Caching allocator ]
// Requests are rounded up to a size class: multiples of 64 bytes up to 4 KiB, then four
// classes per power of two (so at most 25% is wasted). A freed block goes onto its class's
// free list instead of back to the OS; the next request of that class pops it, already
// faulted in. The cache is bounded (kMaxCachedBytes): beyond it, freed blocks are released.
// Thread-safe with one mutex; allocation happens once per op, never per element.
constexpr std::size_t kMaxCachedBytes = std::size_t{4} << 30;

std::size_t size_class(std::size_t nbytes) {
  if (nbytes <= 4096) return (nbytes + 63) / 64 * 64;
  std::size_t power = 4096;
  while (power * 2 < nbytes) power *= 2;  // power < nbytes <= 2 * power
  const std::size_t step = power / 4;
  return (nbytes + step - 1) / step * step;
}

class CachingCpuAllocator final : public Allocator {
 public:
  ~CachingCpuAllocator() override { release_all(); }

  void* allocate(std::size_t nbytes) override {
    const std::size_t bytes = size_class(nbytes == 0 ? 1 : nbytes);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = free_.find(bytes);
      if (it != free_.end() && !it->second.empty()) {
        void* p = it->second.back();
        it->second.pop_back();
        stats_.cached_bytes -= bytes;
        note_allocated(bytes);
        return p;
      }
      ++stats_.num_os_allocations;
      note_allocated(bytes);
    }
    void* p = std::aligned_alloc(kCpuAlignment, bytes);
    if (p == nullptr) {
      empty();  // give the cache back and try once more before failing
      p = std::aligned_alloc(kCpuAlignment, bytes);
    }
    CAKE_CHECK(p != nullptr, "out of CPU memory allocating ", nbytes, " bytes");
    return p;
  }

  void deallocate(void* ptr, std::size_t nbytes) override {
    if (ptr == nullptr) return;
    const std::size_t bytes = size_class(nbytes == 0 ? 1 : nbytes);
    std::lock_guard<std::mutex> lock(mutex_);
    stats_.allocated_bytes -= bytes;
    if (stats_.cached_bytes + bytes > kMaxCachedBytes) {
      std::free(ptr);
      return;
    }
    free_[bytes].push_back(ptr);
    stats_.cached_bytes += bytes;
  }

  Device device() const override { return Device::cpu(); }

  MemoryStats stats() {
    std::lock_guard<std::mutex> lock(mutex_);
    return stats_;
  }

  void empty() {
    std::lock_guard<std::mutex> lock(mutex_);
    release_all();
  }

 private:
  void note_allocated(std::size_t bytes) {
    stats_.allocated_bytes += bytes;
    if (stats_.allocated_bytes > stats_.peak_allocated_bytes) stats_.peak_allocated_bytes = stats_.allocated_bytes;
  }
  void release_all() {
    for (auto& [bytes, blocks] : free_)
      for (void* p : blocks) std::free(p);
    free_.clear();
    stats_.cached_bytes = 0;
  }

  std::mutex mutex_;
  std::map<std::size_t, std::vector<void*>> free_;
  MemoryStats stats_;
};

CachingCpuAllocator& caching_cpu_allocator() {
  // Leaked on purpose: tensors in static storage may be destroyed after any static allocator.
  static auto* allocator = new CachingCpuAllocator();
  return *allocator;
}

}  // namespace

Allocator& cpu_allocator() { return caching_cpu_allocator(); }
MemoryStats cpu_memory_stats() { return caching_cpu_allocator().stats(); }
void empty_cache() { caching_cpu_allocator().empty(); }

}  // namespace cake
