// cuda/caching_allocator.cpp: see caching_allocator.h.
//
// NOTE [ Caching device allocator ]
// Memory is obtained from the device in segments and handed out in blocks:
//   * Sizes round up to 512 bytes. Requests up to 1 MiB are "small" and share 2 MiB segments;
//     larger ones share 20 MiB segments, or get a segment of their own from 10 MiB up. Small and
//     large blocks never share a segment, so a long-lived small tensor cannot pin a big segment.
//   * A cached block larger than the request is split; the rest stays free (small pool: any rest
//     of at least 512 bytes; large pool: only a rest above 1 MiB, so large segments do not
//     crumble into slivers). A freed block merges with free neighbours of its segment.
//   * Each segment belongs to one stream. A block freed on stream S is reusable by S at once:
//     S runs its work in order, so any later kernel on S starts after the freed tensor's last
//     use. Another stream T has no such ordering with S, so when the free is queued an event is
//     recorded on S, and T may take over the memory only once that event has completed (and
//     only a wholly free segment, so that a segment's blocks always share one stream).
//   * When the device is out of memory, every wholly free segment is given back (after waiting
//     for its event) and the request is retried once; only then is it an error.
// PyTorch's allocator follows the same plan (c10/cuda/CUDACachingAllocator.cpp); this one keeps
// only the parts above and the graph pools below, one device per allocator, no expandable
// segments.
//
// NOTE [ Graph pools ]
// A CUDA graph (cuda/graph.h) records kernels with the addresses they were given during the
// capture, and every replay reads and writes those addresses again. So the memory a capture
// allocates belongs to the graph for as long as the graph lives, even after the capture freed
// it (a temporary freed mid-step is written again by the next replay). The rules:
//   * While stream S is being captured for pool P, allocations on S are served from P's own
//     segments (a cache miss asks the device for a new segment, which cudaMalloc allows during
//     a capture, see DeviceApi::begin_capture); frees of P's blocks go back to P only. No other
//     stream and no eager allocation ever searches P, so a replay never overwrites a tensor it
//     does not own. A capture may reuse P's freed blocks, in its own order, exactly as eager code
//     reuses blocks on one stream: the graph replays that same order.
//   * P's segments never move to another stream (no adoption) and are never given back while P
//     is held: empty_cache() and the out-of-memory retry leave them alone.
//   * Several graphs may share P (retain_pool), as PyTorch's pool handles allow: graphs captured
//     one after the other on the same stream and replayed in that order may reuse each other's
//     freed temporaries. When the last holder releases P, its unused segments go back to the
//     device, and each segment with a live tensor (a graph's output still referenced) when that
//     tensor is freed (or, freed during another capture, when that capture ends).
//   * During a capture the allocator makes no call that would break it: no cudaEventQuery or
//     cudaEventSynchronize (adoption across streams and the out-of-memory retry are skipped), no
//     cudaFree, and no event record on any stream (an event recorded on the capturing stream
//     becomes part of the capture and may not be queried later; one on the legacy stream would
//     order it with the capture). A general-pool block freed during the capture marks its
//     segment "event deferred": no other stream may adopt the segment until the capture ends and
//     the event is recorded then.
//   * A tensor allocated before the capture and read by it is NOT protected: the graph keeps its
//     address, so the tensor must outlive the graph (the same rule as PyTorch's). Static inputs,
//     parameters and optimiser state are such tensors; the Trainer keeps them.
#include "cake/cuda/caching_allocator.h"

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "cake/tensor/error.h"

namespace cake::cuda {

struct CachingAllocator::Segment {
  char* base = nullptr;
  std::size_t size = 0;
  bool small = false;
  Stream stream = nullptr;
  PoolId pool = 0;
  Event last_free = nullptr;    // recorded on `stream` at each free; null before the first
  bool event_deferred = false;  // freed into during a capture; its event is recorded at the end
};

struct CachingAllocator::Block {
  Segment* segment = nullptr;
  char* ptr = nullptr;
  std::size_t size = 0;
  bool allocated = false;
  Block* prev = nullptr;  // neighbours in the segment, by address
  Block* next = nullptr;
  bool whole_segment() const { return prev == nullptr && next == nullptr; }
};

namespace {
std::string mib(std::size_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f MiB", static_cast<double>(bytes) / (1 << 20));
  return text;
}
}  // namespace

CachingAllocator::CachingAllocator(DeviceApi& api, Device device) : api_(api), device_(device) {}

CachingAllocator::~CachingAllocator() {
  // Gives back every segment, live blocks included (their tensors must be gone by now).
  std::set<Segment*> segments;
  for (auto& [ptr, b] : allocated_blocks_) segments.insert(b->segment);
  for (auto& [ptr, b] : free_blocks_) segments.insert(b->segment);
  for (auto& [ptr, b] : allocated_blocks_) delete b;
  for (auto& [ptr, b] : free_blocks_) delete b;
  for (Segment* s : segments) {
    try {
      if (s->last_free != nullptr) api_.destroy_event(s->last_free);
      api_.free(s->base);
    } catch (...) {  // a destructor must not throw; the process is ending anyway
    }
    delete s;
  }
}

std::size_t CachingAllocator::round_size(std::size_t nbytes) {
  if (nbytes < kMinBlockSize) return kMinBlockSize;
  return (nbytes + kMinBlockSize - 1) / kMinBlockSize * kMinBlockSize;
}

std::size_t CachingAllocator::segment_size(std::size_t rounded) {
  if (rounded <= kSmallSize) return kSmallSegment;
  if (rounded < kMinLargeAlloc) return kLargeSegment;
  return (rounded + kRoundLarge - 1) / kRoundLarge * kRoundLarge;
}

CachingAllocator::FreeKey CachingAllocator::key_of(const Block* b) {
  return {b->segment->pool, b->segment->small, b->segment->stream, b->size, b->ptr};
}

void CachingAllocator::insert_free(Block* b) {
  free_.insert(key_of(b));
  free_blocks_[b->ptr] = b;
}

void CachingAllocator::erase_free(Block* b) {
  free_.erase(key_of(b));
  free_blocks_.erase(b->ptr);
}

void* CachingAllocator::allocate(std::size_t nbytes) { return allocate(nbytes, current_stream()); }

void* CachingAllocator::allocate(std::size_t nbytes, Stream stream) {
  if (nbytes == 0) return nullptr;
  const std::lock_guard lock(mutex_);
  const std::size_t size = round_size(nbytes);
  const bool small = size <= kSmallSize;
  const auto capture = capturing_.find(stream);
  const PoolId pool = capture == capturing_.end() ? 0 : capture->second;
  Block* b = find_free_block(size, small, stream, pool);
  // Adoption queries events: never for a private pool, never while a capture is underway.
  if (b == nullptr && pool == 0 && capturing_.empty()) b = adopt_segment_from_other_stream(size, small, stream);
  if (b == nullptr) b = new_segment(size, small, stream, pool, nbytes);

  // Split off the rest when it is worth keeping (see the NOTE).
  const std::size_t rest = b->size - size;
  if (small ? rest >= kMinBlockSize : rest > kSmallSize) {
    auto* tail = new Block{b->segment, b->ptr + size, rest, false, b, b->next};
    if (b->next != nullptr) b->next->prev = tail;
    b->next = tail;
    b->size = size;
    insert_free(tail);
  }
  b->allocated = true;
  allocated_blocks_[b->ptr] = b;
  stats_.allocated_bytes += b->size;
  stats_.peak_allocated_bytes = std::max(stats_.peak_allocated_bytes, stats_.allocated_bytes);
  if (const int poison = poison_byte_.load(); poison >= 0) api_.memset_async(b->ptr, poison, nbytes, stream);
  return b->ptr;
}

CachingAllocator::Block* CachingAllocator::find_free_block(std::size_t size, bool small, Stream stream,
                                                          PoolId pool) {
  auto it = free_.lower_bound(FreeKey{pool, small, stream, size, nullptr});
  if (it == free_.end() || it->pool != pool || it->small != small || it->stream != stream) return nullptr;
  Block* b = free_blocks_.at(it->ptr);
  erase_free(b);
  return b;
}

CachingAllocator::Block* CachingAllocator::adopt_segment_from_other_stream(std::size_t size, bool small,
                                                                           Stream stream) {
  Block* best = nullptr;
  for (auto& [ptr, b] : free_blocks_) {
    const Segment& s = *b->segment;
    if (!b->whole_segment() || s.pool != 0 || s.event_deferred || s.small != small || s.stream == stream ||
        b->size < size)
      continue;
    if (best != nullptr && best->size <= b->size) continue;
    if (s.last_free != nullptr && !api_.query_event(s.last_free)) continue;  // still in use there
    best = b;
  }
  if (best == nullptr) return nullptr;
  erase_free(best);
  best->segment->stream = stream;
  return best;
}

CachingAllocator::Block* CachingAllocator::new_segment(std::size_t size, bool small, Stream stream, PoolId pool,
                                                       std::size_t requested) {
  const std::size_t seg_size = segment_size(size);
  void* base = api_.malloc(seg_size);
  // Freeing the cache would call cudaFree, which would break a capture underway.
  CAKE_CHECK(base != nullptr || capturing_.empty(), "CUDA out of memory on ", to_string(device_),
             " while capturing a CUDA graph: tried to allocate ", mib(requested),
             "; the cache cannot be freed during a capture. Call cake::cuda::empty_cache() before capturing, or "
             "capture a smaller step");
  if (base == nullptr) {
    // Out of memory: give back the cache and retry once.
    ++stats_.num_oom_retries;
    release_cached_segments();
    base = api_.malloc(seg_size);
  }
  if (base == nullptr) {
    const MemoryInfo info = api_.memory_info();
    CAKE_FAIL("CUDA out of memory on ", to_string(device_), ": tried to allocate ", mib(requested), " (a segment of ",
              mib(seg_size), "); Cake holds ", mib(stats_.allocated_bytes), " in tensors and ",
              mib(stats_.reserved_bytes), " reserved in all; the device has ", mib(info.free_bytes), " free of ",
              mib(info.total_bytes));
  }
  auto* s = new Segment{static_cast<char*>(base), seg_size, small, stream, pool, nullptr, false};
  if (pool != 0) pools_.at(pool).reserved += seg_size;
  ++stats_.num_device_allocs;
  stats_.reserved_bytes += seg_size;
  stats_.peak_reserved_bytes = std::max(stats_.peak_reserved_bytes, stats_.reserved_bytes);
  return new Block{s, s->base, seg_size, false, nullptr, nullptr};
}

void CachingAllocator::deallocate(void* ptr, std::size_t /*nbytes*/) {
  if (ptr == nullptr) return;
  const std::lock_guard lock(mutex_);
  auto it = allocated_blocks_.find(ptr);
  CAKE_CHECK(it != allocated_blocks_.end(), "CachingAllocator::deallocate: ", ptr,
             " was not allocated by this allocator (or was freed twice)");
  Block* b = it->second;
  allocated_blocks_.erase(it);
  b->allocated = false;
  stats_.allocated_bytes -= b->size;

  mark_free_point(*b->segment);

  // Merge with free neighbours: prev absorbs b, b absorbs next.
  if (b->next != nullptr && !b->next->allocated) {
    Block* n = b->next;
    erase_free(n);
    b->size += n->size;
    b->next = n->next;
    if (n->next != nullptr) n->next->prev = b;
    delete n;
  }
  if (b->prev != nullptr && !b->prev->allocated) {
    Block* p = b->prev;
    erase_free(p);
    p->size += b->size;
    p->next = b->next;
    if (b->next != nullptr) b->next->prev = p;
    delete b;
    b = p;
  }
  insert_free(b);
  // The last block of a released pool's segment: the segment goes back (NOTE [ Graph pools ]).
  if (b->segment->pool != 0 && b->whole_segment() && releasable(b)) release_segment(b);
}

// Marks the point after a freed block's last use on its segment's stream, for other streams
// (NOTE [ Caching device allocator ]). A private pool's segments never change stream, so they
// need no event; during a capture the event waits for its end (NOTE [ Graph pools ]).
void CachingAllocator::mark_free_point(Segment& s) {
  if (s.pool != 0) return;
  if (!capturing_.empty()) {
    s.event_deferred = true;
    events_deferred_.insert(&s);
    return;
  }
  if (s.last_free == nullptr) s.last_free = api_.create_event();
  api_.record_event(s.last_free, s.stream);
}

// Whether a wholly free segment may go back to the device now: never during a capture (cudaFree
// would break it), never from a held private pool (its graph replays into it).
bool CachingAllocator::releasable(const Block* whole) const {
  if (!capturing_.empty()) return false;
  const PoolId pool = whole->segment->pool;
  return pool == 0 || pools_.at(pool).holds == 0;
}

void CachingAllocator::release_segment(Block* whole) {
  Segment* s = whole->segment;
  erase_free(whole);
  if (s->pool != 0) {
    // No event says when the graph's last replay is done with this memory: wait for the device.
    api_.synchronize_device();
    PoolInfo& info = pools_.at(s->pool);
    info.reserved -= s->size;
    if (info.holds == 0 && info.reserved == 0) pools_.erase(s->pool);
  }
  if (s->last_free != nullptr) {
    // cudaFree would wait for the device anyway; waiting on the event says why, and keeps the
    // fake device (which frees at once) honest.
    if (!api_.query_event(s->last_free)) api_.synchronize_event(s->last_free);
    api_.destroy_event(s->last_free);
  }
  api_.free(s->base);
  ++stats_.num_device_frees;
  stats_.reserved_bytes -= s->size;
  delete whole;
  delete s;
}

void CachingAllocator::release_cached_segments() {
  std::vector<Block*> wholes;
  for (auto& [ptr, b] : free_blocks_)
    if (b->whole_segment() && releasable(b)) wholes.push_back(b);
  for (Block* b : wholes) release_segment(b);
}

void CachingAllocator::empty_cache() {
  check_not_capturing("cake::cuda::empty_cache()");
  const std::lock_guard lock(mutex_);
  release_cached_segments();
}

// ---- private pools (NOTE [ Graph pools ]) ------------------------------------------------------

PoolId CachingAllocator::create_pool() {
  const std::lock_guard lock(mutex_);
  const PoolId pool = next_pool_++;
  pools_[pool].holds = 1;
  return pool;
}

void CachingAllocator::retain_pool(PoolId pool) {
  const std::lock_guard lock(mutex_);
  auto it = pools_.find(pool);
  CAKE_CHECK(pool != 0 && it != pools_.end() && it->second.holds > 0, "CachingAllocator::retain_pool: pool ", pool,
             " is not a live private pool");
  ++it->second.holds;
}

void CachingAllocator::release_pool(PoolId pool) {
  const std::lock_guard lock(mutex_);
  auto it = pools_.find(pool);
  CAKE_CHECK(pool != 0 && it != pools_.end() && it->second.holds > 0, "CachingAllocator::release_pool: pool ", pool,
             " is not held");
  for (const auto& [stream, captured] : capturing_)
    CAKE_CHECK(captured != pool || it->second.holds > 1, "CachingAllocator::release_pool: pool ", pool,
               " is being captured into");
  if (--it->second.holds > 0) return;
  if (it->second.reserved == 0) {
    pools_.erase(it);
    return;
  }
  if (!capturing_.empty()) return;  // its free segments go back at the next empty_cache() or free
  std::vector<Block*> wholes;
  for (auto& [ptr, b] : free_blocks_)
    if (b->whole_segment() && b->segment->pool == pool) wholes.push_back(b);
  for (Block* b : wholes) release_segment(b);
}

void CachingAllocator::begin_capture(Stream stream, PoolId pool) {
  const std::lock_guard lock(mutex_);
  CAKE_CHECK(stream != nullptr, "CachingAllocator::begin_capture: a graph cannot be captured on the legacy default "
                                "stream; make a stream current first (cake::cuda::StreamGuard)");
  auto it = pools_.find(pool);
  CAKE_CHECK(pool != 0 && it != pools_.end() && it->second.holds > 0, "CachingAllocator::begin_capture: pool ", pool,
             " is not a live private pool");
  CAKE_CHECK(capturing_.emplace(stream, pool).second, "CachingAllocator::begin_capture: stream ", stream,
             " is already being captured");
}

void CachingAllocator::end_capture(Stream stream) {
  const std::lock_guard lock(mutex_);
  CAKE_CHECK(capturing_.erase(stream) == 1, "CachingAllocator::end_capture: stream ", stream, " is not being captured");
  if (!capturing_.empty()) return;
  // The events of the general blocks freed during the capture (NOTE [ Graph pools ]).
  for (Segment* s : events_deferred_) {
    s->event_deferred = false;
    if (s->last_free == nullptr) s->last_free = api_.create_event();
    api_.record_event(s->last_free, s->stream);
  }
  events_deferred_.clear();
  // Segments of released pools whose last block was freed during the capture (a graph's output
  // dropped while the next graph was captured, as the Trainer's loss is) could not go back then;
  // they go now, instead of waiting for an empty_cache() or an out-of-memory retry.
  std::vector<Block*> orphans;
  for (auto& [ptr, b] : free_blocks_)
    if (b->whole_segment() && b->segment->pool != 0 && pools_.at(b->segment->pool).holds == 0) orphans.push_back(b);
  for (Block* b : orphans) release_segment(b);
}

std::size_t CachingAllocator::pool_reserved_bytes(PoolId pool) const {
  const std::lock_guard lock(mutex_);
  auto it = pools_.find(pool);
  return it == pools_.end() ? 0 : it->second.reserved;
}

AllocatorStats CachingAllocator::stats() const {
  const std::lock_guard lock(mutex_);
  return stats_;
}

void CachingAllocator::reset_peak_stats() {
  const std::lock_guard lock(mutex_);
  stats_.peak_allocated_bytes = stats_.allocated_bytes;
  stats_.peak_reserved_bytes = stats_.reserved_bytes;
}

}  // namespace cake::cuda
