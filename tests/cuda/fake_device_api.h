// tests/cuda/fake_device_api.h: a DeviceApi that runs on the host, for tests without a GPU.
//
// Device memory is host memory under a capacity the test sets; the next N mallocs can be made
// to fail (out of memory) or to throw (any other error); copies and memsets happen at once.
// Events do NOT complete by themselves: a recorded event stays pending until the test calls
// complete_events() (or someone synchronizes it), which is how the allocator's cross-stream
// rule is observed.
//
//   FakeDeviceApi fake(64 << 20);          // a 64 MiB device
//   CachingAllocator alloc(fake);
//   fake.fail_next_mallocs = 1;           // the next cudaMalloc reports out of memory
#pragma once

#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <stdexcept>
#include <vector>

#include "cake/cuda/device_api.h"

namespace cake::cuda::testing {

class FakeDeviceApi final : public DeviceApi {
 public:
  explicit FakeDeviceApi(std::size_t capacity = std::size_t{1} << 30) : capacity_(capacity) {}
  ~FakeDeviceApi() override {
    for (auto& [p, n] : device_) std::free(p);
    for (void* p : host_) std::free(p);
  }

  // ---- knobs and counters for the tests ----
  int fail_next_mallocs = 0;   // report out of memory this many times
  int throw_next_mallocs = 0;  // throw (a non-memory error) this many times
  int devices = 1;
  int mallocs = 0, frees = 0, event_syncs = 0, records = 0;
  std::size_t in_use() const { return used_; }
  std::size_t live_device_allocations() const { return device_.size(); }
  std::size_t live_events() const { return events_.size(); }
  // Completes every event recorded so far (the device caught up with all streams).
  void complete_events() {
    for (auto& [e, done] : events_) done = true;
  }
  bool is_device_pointer(const void* p) const {
    for (auto& [base, n] : device_)
      if (p >= base && p < static_cast<const char*>(base) + n) return true;
    return false;
  }

  // ---- DeviceApi ----
  int device_count() override { return devices; }
  MemoryInfo memory_info() override { return {capacity_ - used_, capacity_}; }
  void* malloc(std::size_t nbytes) override {
    if (throw_next_mallocs > 0) {
      --throw_next_mallocs;
      throw std::runtime_error("fake device: injected error");
    }
    if (fail_next_mallocs > 0) {
      --fail_next_mallocs;
      return nullptr;
    }
    if (used_ + nbytes > capacity_) return nullptr;
    // 512-byte aligned, like cudaMalloc's 256-byte-or-better alignment.
    void* p = std::aligned_alloc(512, (nbytes + 511) / 512 * 512);
    device_[p] = nbytes;
    used_ += nbytes;
    ++mallocs;
    return p;
  }
  void free(void* ptr) override {
    auto it = device_.find(ptr);
    if (it == device_.end()) throw std::runtime_error("fake device: free of an unknown pointer");
    used_ -= it->second;
    std::free(ptr);
    device_.erase(it);
    ++frees;
  }
  void* malloc_host(std::size_t nbytes) override {
    void* p = std::malloc(nbytes);
    host_.insert(p);
    return p;
  }
  void free_host(void* ptr) override {
    host_.erase(ptr);
    std::free(ptr);
  }
  void memcpy_async(void* dst, const void* src, std::size_t nbytes, CopyKind, Stream) override {
    std::memcpy(dst, src, nbytes);
  }
  void memset_async(void* dst, int byte, std::size_t nbytes, Stream) override { std::memset(dst, byte, nbytes); }
  Stream create_stream() override { return reinterpret_cast<Stream>(next_handle_++); }
  void destroy_stream(Stream) override {}
  void synchronize_stream(Stream) override { complete_events(); }
  void synchronize_device() override { complete_events(); }
  Event create_event() override {
    auto e = reinterpret_cast<Event>(next_handle_++);
    events_[e] = true;  // a fresh event counts as complete, as in CUDA
    return e;
  }
  void destroy_event(Event event) override { events_.erase(event); }
  void record_event(Event event, Stream) override {
    events_.at(event) = false;
    ++records;
  }
  bool query_event(Event event) override { return events_.at(event); }
  void synchronize_event(Event event) override {
    events_.at(event) = true;
    ++event_syncs;
  }

 private:
  std::size_t capacity_;
  std::size_t used_ = 0;
  std::map<void*, std::size_t> device_;
  std::set<void*> host_;
  std::map<Event, bool> events_;
  std::uintptr_t next_handle_ = 0x1000;
};

}  // namespace cake::cuda::testing
