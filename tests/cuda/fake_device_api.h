// tests/cuda/fake_device_api.h: a DeviceApi that runs on the host, for tests without a GPU.
//
// Device memory is host memory under a capacity the test sets; the next N mallocs can be made
// to fail (out of memory) or to throw (any other error); copies and memsets happen at once.
// Events do NOT complete by themselves: a recorded event stays pending until the test calls
// complete_events() (or someone synchronizes it), which is how the allocator's cross-stream
// rule is observed. Stream capture is recorded, not run: begin_capture marks the stream, work
// queued on it meanwhile still happens at once (the fake has no kernels to defer), end_capture
// returns a fake graph, and launches are counted; so host-side capture logic is what is tested.
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
#include <string>
#include <vector>

#include "cake/cuda/device_api.h"

namespace cake::cuda::testing {

inline constexpr std::size_t KiB = 1024, MiB = 1024 * 1024;

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
  int captures_begun = 0, captures_ended = 0, graph_launches = 0, waits = 0;
  int mallocs_while_capturing = 0, records_while_capturing = 0;
  std::size_t live_graphs() const { return graphs_.size() + execs_.size(); }
  bool capturing(Stream s) const { return capturing_.count(s) != 0; }
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
    if (!capturing_.empty()) ++mallocs_while_capturing;
    return p;
  }
  void free(void* ptr) override {
    refuse_while_capturing("cudaFree");
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
  void synchronize_stream(Stream) override {
    refuse_while_capturing("cudaStreamSynchronize");
    complete_events();
  }
  void synchronize_device() override {
    refuse_while_capturing("cudaDeviceSynchronize");
    complete_events();
  }
  Event create_event() override {
    auto e = reinterpret_cast<Event>(next_handle_++);
    events_[e] = true;  // a fresh event counts as complete, as in CUDA
    return e;
  }
  void destroy_event(Event event) override { events_.erase(event); }
  void record_event(Event event, Stream) override {
    events_.at(event) = false;
    ++records;
    if (!capturing_.empty()) ++records_while_capturing;
  }
  bool query_event(Event event) override {
    refuse_while_capturing("cudaEventQuery");
    return events_.at(event);
  }
  void synchronize_event(Event event) override {
    refuse_while_capturing("cudaEventSynchronize");
    events_.at(event) = true;
    ++event_syncs;
  }
  void stream_wait_event(Stream, Event event) override {
    events_.at(event);  // must exist
    ++waits;
  }
  void begin_capture(Stream stream) override {
    if (stream == nullptr) throw std::runtime_error("fake device: capture on the legacy default stream");
    if (!capturing_.insert(stream).second) throw std::runtime_error("fake device: stream already capturing");
    ++captures_begun;
  }
  GraphTemplate end_capture(Stream stream) override {
    if (capturing_.erase(stream) == 0) throw std::runtime_error("fake device: stream not capturing");
    ++captures_ended;
    auto g = reinterpret_cast<GraphTemplate>(next_handle_++);
    graphs_.insert(g);
    return g;
  }
  CaptureStatus capture_status(Stream stream) override {
    return capturing_.count(stream) ? CaptureStatus::Active : CaptureStatus::None;
  }
  GraphExec instantiate(GraphTemplate graph) override {
    if (!graphs_.count(graph)) throw std::runtime_error("fake device: instantiate of an unknown graph");
    auto e = reinterpret_cast<GraphExec>(next_handle_++);
    execs_.insert(e);
    return e;
  }
  void destroy_graph(GraphTemplate graph) override {
    if (graphs_.erase(graph) == 0) throw std::runtime_error("fake device: destroy of an unknown graph");
  }
  void launch_graph(GraphExec exec, Stream) override {
    if (!execs_.count(exec)) throw std::runtime_error("fake device: launch of an unknown graph");
    ++graph_launches;
  }
  void destroy_graph_exec(GraphExec exec) override {
    if (execs_.erase(exec) == 0) throw std::runtime_error("fake device: destroy of an unknown graph exec");
  }

 private:
  // The calls that would invalidate a real thread-local capture (or are illegal during one).
  void refuse_while_capturing(const char* call) const {
    if (!capturing_.empty()) throw std::runtime_error(std::string("fake device: ") + call + " during stream capture");
  }

  std::size_t capacity_;
  std::size_t used_ = 0;
  std::map<void*, std::size_t> device_;
  std::set<void*> host_;
  std::map<Event, bool> events_;
  std::set<Stream> capturing_;
  std::set<void*> graphs_, execs_;
  std::uintptr_t next_handle_ = 0x1000;
};

}  // namespace cake::cuda::testing
