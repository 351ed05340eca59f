// The CUDA caching allocator and the pinned staging copies, against a fake device
// (tests/cuda/fake_device_api.h): these run on every machine, GPU or not, and under the
// sanitizers. The rules tested are those of NOTE [ Caching device allocator ].
#include <doctest/doctest.h>

#include <cstring>
#include <numeric>
#include <stdexcept>
#include <vector>

#include "cake/cuda/caching_allocator.h"
#include "cake/cuda/transfer.h"
#include "cuda/fake_device_api.h"
#include "cake/tensor/error.h"

using cake::cuda::CachingAllocator;
using cake::cuda::Stream;
using cake::cuda::testing::FakeDeviceApi;

using cake::cuda::testing::KiB;
using cake::cuda::testing::MiB;

TEST_CASE("sizes round to 512 bytes and pick a segment by size class") {
  CHECK(CachingAllocator::round_size(1) == 512);
  CHECK(CachingAllocator::round_size(512) == 512);
  CHECK(CachingAllocator::round_size(513) == 1024);
  CHECK(CachingAllocator::segment_size(512) == 2 * MiB);
  CHECK(CachingAllocator::segment_size(1 * MiB) == 2 * MiB);
  CHECK(CachingAllocator::segment_size(1 * MiB + 512) == 20 * MiB);
  CHECK(CachingAllocator::segment_size(10 * MiB) == 10 * MiB);
  CHECK(CachingAllocator::segment_size(11 * MiB) == 12 * MiB);
}

TEST_CASE("small blocks are split from one segment and reused after free") {
  FakeDeviceApi fake;
  CachingAllocator alloc(fake);
  void* a = alloc.allocate(1000, nullptr);
  void* b = alloc.allocate(3000, nullptr);
  CHECK(fake.mallocs == 1);  // both from one 2 MiB segment
  CHECK(static_cast<char*>(b) - static_cast<char*>(a) == 1024);
  CHECK(reinterpret_cast<std::uintptr_t>(b) % 512 == 0);
  auto s = alloc.stats();
  CHECK(s.allocated_bytes == 1024 + 3072);
  CHECK(s.reserved_bytes == 2 * MiB);
  alloc.deallocate(a, 1000);
  void* c = alloc.allocate(800, nullptr);  // the freed 1 KiB block, best fit
  CHECK(c == a);
  CHECK(fake.mallocs == 1);
  alloc.deallocate(b, 3000);
  alloc.deallocate(c, 800);
  s = alloc.stats();
  CHECK(s.allocated_bytes == 0);
  CHECK(s.peak_allocated_bytes == 1024 + 3072);
  CHECK(s.reserved_bytes == 2 * MiB);  // cached, not returned
  CHECK(fake.frees == 0);
}

TEST_CASE("freed neighbours merge back into the whole segment") {
  FakeDeviceApi fake;
  CachingAllocator alloc(fake);
  std::vector<void*> blocks;
  for (int i = 0; i < 4; ++i) blocks.push_back(alloc.allocate(256 * KiB, nullptr));
  CHECK(fake.mallocs == 1);
  // Free in an order that exercises merging with the next, the previous, and both.
  alloc.deallocate(blocks[1], 0);
  alloc.deallocate(blocks[3], 0);
  alloc.deallocate(blocks[2], 0);
  alloc.deallocate(blocks[0], 0);
  // The segment is whole again: two requests of the largest small size (1 MiB) fill it.
  void* big = alloc.allocate(1 * MiB, nullptr);
  void* big2 = alloc.allocate(1 * MiB, nullptr);
  CHECK(fake.mallocs == 1);
  CHECK(big == blocks[0]);
  CHECK(static_cast<char*>(big2) - static_cast<char*>(big) == static_cast<std::ptrdiff_t>(1 * MiB));
  alloc.deallocate(big, 0);
  alloc.deallocate(big2, 0);
  alloc.empty_cache();
  CHECK(fake.frees == 1);
  CHECK(fake.in_use() == 0);
  CHECK(alloc.stats().reserved_bytes == 0);
}

TEST_CASE("small and large requests never share a segment; huge ones get their own") {
  FakeDeviceApi fake;
  CachingAllocator alloc(fake);
  void* small = alloc.allocate(4 * KiB, nullptr);
  void* large = alloc.allocate(3 * MiB, nullptr);
  CHECK(fake.mallocs == 2);
  CHECK(alloc.stats().reserved_bytes == 2 * MiB + 20 * MiB);
  void* large2 = alloc.allocate(5 * MiB, nullptr);  // split from the rest of the 20 MiB segment
  CHECK(fake.mallocs == 2);
  void* huge = alloc.allocate(15 * MiB + 1, nullptr);  // a segment of its own, rounded to 2 MiB
  CHECK(fake.mallocs == 3);
  CHECK(alloc.stats().reserved_bytes == 2 * MiB + 20 * MiB + 16 * MiB);
  for (void* p : {small, large, large2, huge}) alloc.deallocate(p, 0);
  alloc.empty_cache();
  CHECK(fake.live_device_allocations() == 0);
}

TEST_CASE("a large block is not split into slivers of 1 MiB or less") {
  FakeDeviceApi fake;
  CachingAllocator alloc(fake);
  void* a = alloc.allocate(19 * MiB + 512, nullptr);  // leaves 512 KiB - 512 of 20 MiB: kept whole
  CHECK(alloc.stats().allocated_bytes == 20 * MiB);
  alloc.deallocate(a, 0);
}

TEST_CASE("a block freed on one stream is reused by another only after the free's event completes") {
  FakeDeviceApi fake;
  CachingAllocator alloc(fake);
  Stream s1 = fake.create_stream(), s2 = fake.create_stream();
  void* a = alloc.allocate(64 * KiB, s1);
  alloc.deallocate(a, 0);
  CHECK(fake.records == 1);
  // Same stream: at once.
  void* again = alloc.allocate(64 * KiB, s1);
  CHECK(again == a);
  alloc.deallocate(again, 0);
  // Another stream while s1 may still be using it: a fresh segment.
  void* b = alloc.allocate(64 * KiB, s2);
  CHECK(b != a);
  CHECK(fake.mallocs == 2);
  alloc.deallocate(b, 0);
  // Once the device has run past both frees, a third stream may adopt a whole free segment.
  fake.complete_events();
  Stream s3 = fake.create_stream();
  void* c = alloc.allocate(64 * KiB, s3);
  CHECK(fake.mallocs == 2);
  CHECK((c == a || c == b));
  // That segment now belongs to s3 and its free is pending, so s1 gets the other one (its own,
  // or s2's, whose free has completed), still without a new device allocation.
  alloc.deallocate(c, 0);
  void* d = alloc.allocate(1 * MiB, s1);
  CHECK(d != c);
  CHECK(fake.mallocs == 2);
  alloc.deallocate(d, 0);
}

TEST_CASE("a partly used segment is never handed to another stream") {
  FakeDeviceApi fake;
  CachingAllocator alloc(fake);
  Stream s1 = fake.create_stream(), s2 = fake.create_stream();
  void* live = alloc.allocate(4 * KiB, s1);
  void* gone = alloc.allocate(4 * KiB, s1);
  alloc.deallocate(gone, 0);
  fake.complete_events();
  void* other = alloc.allocate(4 * KiB, s2);
  CHECK(fake.mallocs == 2);
  CHECK(other != gone);
  alloc.deallocate(live, 0);
  alloc.deallocate(other, 0);
}

TEST_CASE("out of memory frees the cache and retries; then it is a clear error") {
  FakeDeviceApi fake(21 * MiB);
  CachingAllocator alloc(fake);
  Stream s1 = fake.create_stream();
  void* a = alloc.allocate(4 * KiB, s1);
  alloc.deallocate(a, 0);  // a cached 2 MiB segment, its free event still pending
  CHECK(alloc.stats().reserved_bytes == 2 * MiB);
  // 5 MiB needs a 20 MiB segment, which does not fit beside the cached 2 MiB: the cache goes,
  // after waiting for the pending event, and the retry succeeds.
  void* big = alloc.allocate(5 * MiB, nullptr);
  CHECK(big != nullptr);
  CHECK(alloc.stats().num_oom_retries == 1);
  CHECK(fake.event_syncs == 1);
  CHECK(alloc.stats().reserved_bytes == 20 * MiB);
  // 16 MiB fits neither the 15 MiB rest of that segment nor the device, and nothing is left to
  // free: the error names the request and the memory state.
  try {
    (void)alloc.allocate(16 * MiB, nullptr);
    FAIL("expected an out-of-memory error");
  } catch (const cake::Error& e) {
    const std::string msg = e.what();
    CHECK(msg.find("CUDA out of memory") != std::string::npos);
    CHECK(msg.find("tried to allocate 16.00 MiB") != std::string::npos);
    CHECK(msg.find("20.00 MiB reserved") != std::string::npos);
  }
  CHECK(alloc.stats().num_oom_retries == 2);
  alloc.deallocate(big, 0);
  // A transient failure is retried transparently.
  alloc.empty_cache();
  fake.fail_next_mallocs = 1;
  void* c = alloc.allocate(3 * MiB, nullptr);
  CHECK(c != nullptr);
  CHECK(alloc.stats().num_oom_retries == 3);
  alloc.deallocate(c, 0);
}

TEST_CASE("a device error other than out-of-memory propagates and leaves the allocator usable") {
  FakeDeviceApi fake;
  CachingAllocator alloc(fake);
  fake.throw_next_mallocs = 1;
  CHECK_THROWS_AS((void)alloc.allocate(4 * KiB, nullptr), std::runtime_error);
  void* a = alloc.allocate(4 * KiB, nullptr);
  CHECK(a != nullptr);
  CHECK(alloc.stats().allocated_bytes == 4 * KiB);
  alloc.deallocate(a, 0);
}

TEST_CASE("freeing an unknown pointer is an error, not corruption") {
  FakeDeviceApi fake;
  CachingAllocator alloc(fake);
  int x = 0;
  CHECK_THROWS_AS(alloc.deallocate(&x, 4), cake::Error);
  alloc.deallocate(nullptr, 0);  // a no-op, like free(nullptr)
  CHECK(alloc.allocate(0, nullptr) == nullptr);
}

TEST_CASE("peak statistics track the high-water mark and can be reset") {
  FakeDeviceApi fake;
  CachingAllocator alloc(fake);
  void* a = alloc.allocate(100 * KiB, nullptr);
  void* b = alloc.allocate(200 * KiB, nullptr);
  alloc.deallocate(a, 0);
  alloc.deallocate(b, 0);
  CHECK(alloc.stats().peak_allocated_bytes == 300 * KiB);
  alloc.reset_peak_stats();
  CHECK(alloc.stats().peak_allocated_bytes == 0);
  CHECK(alloc.stats().peak_reserved_bytes == 2 * MiB);
}

TEST_CASE("poisoned blocks: every block handed out is filled while poisoning is on, and only then") {
  FakeDeviceApi fake;
  CachingAllocator alloc(fake);
  auto bytes_of = [](void* p, std::size_t n) {
    const auto* c = static_cast<const unsigned char*>(p);
    return std::vector<unsigned char>(c, c + n);
  };
  alloc.set_poison_byte(0xFF);
  void* a = alloc.allocate(1000, nullptr);
  CHECK(bytes_of(a, 1000) == std::vector<unsigned char>(1000, 0xFF));
  std::memset(a, 0x11, 1000);
  alloc.deallocate(a, 1000);
  void* b = alloc.allocate(1000, nullptr);  // the same block again, poisoned again
  CHECK(b == a);
  CHECK(bytes_of(b, 1000) == std::vector<unsigned char>(1000, 0xFF));
  std::memset(b, 0x22, 1000);
  alloc.deallocate(b, 1000);
  alloc.set_poison_byte(-1);
  void* c = alloc.allocate(1000, nullptr);  // reused as it was left
  CHECK(bytes_of(c, 1000) == std::vector<unsigned char>(1000, 0x22));
  alloc.deallocate(c, 1000);
}

TEST_CASE("the allocator gives everything back when destroyed") {
  FakeDeviceApi fake;
  {
    CachingAllocator alloc(fake);
    (void)alloc.allocate(5 * KiB, nullptr);  // still live at destruction
    void* b = alloc.allocate(50 * MiB, nullptr);
    alloc.deallocate(b, 0);
  }
  CHECK(fake.live_device_allocations() == 0);
  CHECK(fake.live_events() == 0);
}

TEST_CASE("pinned staging copies host -> device -> host in chunks, both buffers alternating") {
  FakeDeviceApi fake;
  CachingAllocator alloc(fake);
  cake::cuda::PinnedStaging staging(fake, /*chunk_bytes=*/1000);
  std::vector<std::uint8_t> src(4500), back(4500, 0);
  std::iota(src.begin(), src.end(), std::uint8_t{0});
  void* dev = alloc.allocate(src.size(), nullptr);
  staging.host_to_device(dev, src.data(), src.size(), nullptr);
  CHECK(fake.records == 5);      // one event per chunk
  CHECK(fake.event_syncs == 3);  // chunks 3, 4, 5 waited for the buffer of chunk 1, 2, 3
  CHECK(std::memcmp(dev, src.data(), src.size()) == 0);
  staging.device_to_host(back.data(), dev, back.size(), nullptr);
  CHECK(back == src);
  staging.host_to_device(dev, src.data(), 0, nullptr);  // empty copies do nothing
  alloc.deallocate(dev, 0);
}
