// cuda/caching_allocator.h: device memory for tensors, cached by size class, per stream.
//
// cudaMalloc and cudaFree are slow (tens of microseconds to milliseconds) and cudaFree
// synchronises the whole device, so a training loop that allocated and freed its activations
// through them every step would stall. This allocator asks the device for large *segments*,
// carves tensors' *blocks* out of them, and keeps freed blocks for the next request of a similar
// size, in the manner of PyTorch's CUDA caching allocator (see NOTE [ Caching device allocator ]
// in caching_allocator.cpp for the rules and the reasons).
//
//   cake::cuda::CachingAllocator alloc(cake::cuda::device_api());
//   void* p = alloc.allocate(4096, stream);   // a 4 KiB block of a 2 MiB segment
//   alloc.deallocate(p, 4096);                // cached, reusable at once on `stream`
//   alloc.empty_cache();                      // gives unused segments back to the device
//
// It talks to the device only through DeviceApi (cuda/device_api.h), so its tests run against a
// fake device on machines without a GPU (tests/cuda/test_allocator.cpp, tests/cuda/test_graph.cpp).
//
// CUDA graphs (cuda/graph.h) get private pools: while a stream is being captured, its
// allocations come from the graph's pool, whose memory no other allocation ever receives
// (NOTE [ Graph pools ] in caching_allocator.cpp).
//   cake::cuda::PoolId pool = alloc.create_pool();
//   alloc.begin_capture(stream, pool);   // allocations on `stream` now come from `pool`
//   alloc.end_capture(stream);
//   alloc.release_pool(pool);            // the graph is gone: the pool's memory goes back
#pragma once

#include <atomic>
#include <cstdint>
#include <cstddef>
#include <memory>
#include <mutex>
#include <set>
#include <tuple>
#include <unordered_map>

#include "cake/cuda/device_api.h"
#include "cake/tensor/allocator.h"

namespace cake::cuda {

// A memory pool: 0 is the general pool, others are private pools of CUDA graphs.
using PoolId = std::uint64_t;

struct AllocatorStats {
  std::size_t allocated_bytes = 0;       // in blocks handed out now (rounded sizes)
  std::size_t peak_allocated_bytes = 0;  // the most ever handed out at once
  std::size_t reserved_bytes = 0;        // in segments obtained from the device (allocated + cached)
  std::size_t peak_reserved_bytes = 0;
  std::size_t num_device_allocs = 0;     // segments obtained from the device (cache misses)
  std::size_t num_device_frees = 0;      // segments given back
  std::size_t num_oom_retries = 0;       // times the cache was freed to satisfy a request
};

class CachingAllocator final : public Allocator {
 public:
  // Sizes are rounded up to a multiple of this; every block is aligned to it.
  static constexpr std::size_t kMinBlockSize = 512;
  // Requests up to this size come from the small pool, carved from kSmallSegment segments.
  static constexpr std::size_t kSmallSize = 1 << 20;
  static constexpr std::size_t kSmallSegment = 2 << 20;
  // Requests below kMinLargeAlloc share kLargeSegment segments; larger ones get their own,
  // rounded up to a multiple of kRoundLarge.
  static constexpr std::size_t kLargeSegment = 20 << 20;
  static constexpr std::size_t kMinLargeAlloc = 10 << 20;
  static constexpr std::size_t kRoundLarge = 2 << 20;

  explicit CachingAllocator(DeviceApi& api, Device device = Device::cuda(0));
  ~CachingAllocator() override;
  CachingAllocator(const CachingAllocator&) = delete;
  CachingAllocator& operator=(const CachingAllocator&) = delete;

  // Allocator: on the calling thread's current stream (cuda/device_api.h).
  void* allocate(std::size_t nbytes) override;
  void deallocate(void* ptr, std::size_t nbytes) override;
  Device device() const override { return device_; }

  // A block that `stream` may use at once; throws cake::Error when the device is out of memory
  // even after the cache was freed (the message gives the request and the statistics).
  void* allocate(std::size_t nbytes, Stream stream);
  // Gives every wholly unused segment back to the device (waiting for its last use first).
  void empty_cache();
  AllocatorStats stats() const;
  void reset_peak_stats();
  // For tests: fill every block handed out from now on with `byte` (queued on the block's
  // stream), or stop with -1. 0xFF makes float32/float64 NaN and int64 -1, so a kernel that
  // leaves an output element unwritten cannot pass a comparison by luck.
  void set_poison_byte(int byte) { poison_byte_ = byte; }

  // ---- private pools for CUDA graphs (NOTE [ Graph pools ]) ----
  // A new private pool, held once by its creator.
  PoolId create_pool();
  // Another holder (a second graph sharing the pool, as PyTorch's graph_pool_handle()).
  void retain_pool(PoolId pool);
  // Drops one hold. When the last goes, the pool's unused segments are given back to the device
  // (after waiting for it: replays may still be running), and each segment still holding a live
  // tensor is given back when that tensor is freed.
  void release_pool(PoolId pool);
  // From begin_capture to end_capture, allocations on `stream` come from `pool`, and the
  // allocator makes no call that would break a capture (event queries, synchronisation, cudaFree).
  void begin_capture(Stream stream, PoolId pool);
  void end_capture(Stream stream);
  // Bytes the device gave to `pool`'s segments (0 for a released, emptied pool).
  std::size_t pool_reserved_bytes(PoolId pool) const;
  // The size a request is served with, and the segment size a cache miss asks the device for.
  static std::size_t round_size(std::size_t nbytes);
  static std::size_t segment_size(std::size_t rounded);

 private:
  struct Segment;
  struct Block;
  // Free blocks ordered so that lower_bound finds the smallest fitting block of a pool.
  struct FreeKey {
    PoolId pool;
    bool small;
    Stream stream;
    std::size_t size;
    char* ptr;
    auto tie() const { return std::make_tuple(pool, small, stream, size, ptr); }
    bool operator<(const FreeKey& o) const { return tie() < o.tie(); }
  };

  struct PoolInfo {
    int holds = 0;
    std::size_t reserved = 0;
  };

  Block* find_free_block(std::size_t size, bool small, Stream stream, PoolId pool);
  Block* adopt_segment_from_other_stream(std::size_t size, bool small, Stream stream);
  Block* new_segment(std::size_t size, bool small, Stream stream, PoolId pool, std::size_t requested);
  void mark_free_point(Segment& s);
  bool releasable(const Block* whole) const;
  void release_cached_segments();
  void release_segment(Block* whole);
  void insert_free(Block* b);
  void erase_free(Block* b);
  static FreeKey key_of(const Block* b);

  DeviceApi& api_;
  Device device_;
  mutable std::mutex mutex_;
  std::atomic<int> poison_byte_{-1};
  std::set<FreeKey> free_;
  std::unordered_map<char*, Block*> free_blocks_;       // ptr -> free block
  std::unordered_map<void*, Block*> allocated_blocks_;  // ptr -> live block
  AllocatorStats stats_;
  PoolId next_pool_ = 1;
  std::unordered_map<PoolId, PoolInfo> pools_;       // live private pools (held, or holding memory)
  std::unordered_map<Stream, PoolId> capturing_;     // streams being captured, and their pools
  std::set<Segment*> events_deferred_;               // general segments freed into during a capture
};

}  // namespace cake::cuda
