// CUDA graphs' host-side logic against a fake device (tests/cuda/fake_device_api.h): the
// Graph state machine, the allocator's private pools (NOTE [ Graph pools ]), the refusal of
// synchronising operations while capturing (NOTE [ CUDA graphs ]), and the stream guard. The
// fake records captures instead of running them, and throws on any call that would break a
// real capture (cudaEventQuery, cudaEventSynchronize, cudaFree, a device synchronisation), so
// every case below also checks that the allocator makes none. Runs on every machine.
#include <doctest/doctest.h>

#include <cstring>
#include <stdexcept>
#include <string>

#include "cake/cuda/caching_allocator.h"
#include "cake/cuda/graph.h"
#include "cake/cuda/transfer.h"
#include "cake/optim/adam.h"
#include "cake/optim/sgd.h"
#include "cake/tensor/creation.h"
#include "cake/tensor/random.h"
#include "cake/tensor/error.h"
#include "cuda/fake_device_api.h"

using cake::cuda::CachingAllocator;
using cake::cuda::Graph;
using cake::cuda::GraphCapture;
using cake::cuda::SideStream;
using cake::cuda::Stream;
using cake::cuda::StreamGuard;
using cake::cuda::testing::FakeDeviceApi;

using cake::cuda::testing::KiB;
using cake::cuda::testing::MiB;

namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}
}  // namespace

// A fake device, a caching allocator on it, and a side stream made current: what a capture needs.
struct OnSideStream {
  FakeDeviceApi fake;
  CachingAllocator alloc{fake};
  SideStream side{fake};
  StreamGuard guard{side.get(), fake};
};

TEST_CASE_FIXTURE(OnSideStream, "a capture allocates from its own pool, never from the general cache") {
  void* general = alloc.allocate(4 * KiB, side.get());
  alloc.deallocate(general, 0);  // cached on the side stream
  Graph graph(fake, alloc);
  graph.capture_begin();
  CHECK(fake.capturing(side.get()));
  void* a = alloc.allocate(4 * KiB);  // on the current stream: the capture's
  CHECK(a != general);                // the cached general block is not the pool's
  CHECK(fake.mallocs_while_capturing == 1);
  alloc.deallocate(a, 0);
  void* b = alloc.allocate(4 * KiB);  // the pool reuses its own freed block, in capture order
  CHECK(b == a);
  alloc.deallocate(b, 0);
  graph.capture_end();
  CHECK(graph.captured());
  CHECK(fake.records_while_capturing == 0);
  CHECK(alloc.pool_reserved_bytes(graph.pool()) == 2 * MiB);
  // After the capture, eager allocations on the same stream never receive the pool's blocks
  // (the replays write them).
  void* eager = alloc.allocate(4 * KiB);
  CHECK(eager == general);
  void* eager2 = alloc.allocate(4 * KiB);
  CHECK(eager2 != a);
  alloc.deallocate(eager, 0);
  alloc.deallocate(eager2, 0);
  // empty_cache gives back the general segment only: the graph still replays into its pool.
  alloc.empty_cache();
  CHECK(fake.live_device_allocations() == 1);
  graph.replay();
  CHECK(fake.graph_launches == 1);
  const cake::cuda::PoolId pool = graph.pool();
  graph.reset();
  CHECK(alloc.pool_reserved_bytes(pool) == 0);
  CHECK(fake.live_device_allocations() == 0);
  CHECK(fake.live_graphs() == 0);
}

TEST_CASE_FIXTURE(OnSideStream, "a general block freed during a capture records its event after the capture") {
  void* before = alloc.allocate(8 * KiB, nullptr);  // a tensor of the legacy stream
  const int records = fake.records;
  Graph graph(fake, alloc);
  graph.capture_begin();
  alloc.deallocate(before, 0);  // no event now: recording on any stream would touch the capture
  CHECK(fake.records == records);
  // Another stream may not adopt the segment while its event is deferred (no query happens).
  void* other = alloc.allocate(8 * KiB, reinterpret_cast<Stream>(0x42));
  CHECK(other != before);
  alloc.deallocate(other, 0);
  graph.capture_end();
  CHECK(fake.records > records);  // the deferred events, recorded once the capture is over
  CHECK(fake.records_while_capturing == 0);
}

TEST_CASE_FIXTURE(OnSideStream, "a tensor made in a capture outlives the graph's release, then its memory goes back") {
  Graph graph(fake, alloc);
  void* output = nullptr;
  graph.capture([&] { output = alloc.allocate(1 * MiB); });
  graph.reset();
  CHECK(fake.live_device_allocations() == 1);  // the output still lives in the pool's segment
  alloc.deallocate(output, 0);
  CHECK(fake.live_device_allocations() == 0);  // its last block freed: the segment goes back
  CHECK(alloc.stats().reserved_bytes == 0);
}

TEST_CASE_FIXTURE(OnSideStream, "two graphs can share a pool, which lives until both are reset") {
  Graph first(fake, alloc), second(fake, alloc);
  void* temporary = nullptr;
  first.capture([&] {
    temporary = alloc.allocate(64 * KiB);
    alloc.deallocate(temporary, 0);
  });
  void* reused = nullptr;
  second.capture([&] { reused = alloc.allocate(64 * KiB); }, first.pool());
  CHECK(reused == temporary);  // the first graph's freed temporary
  CHECK(fake.mallocs == 1);
  const cake::cuda::PoolId pool = first.pool();
  first.reset();
  CHECK(alloc.pool_reserved_bytes(pool) == 2 * MiB);  // the second graph still holds it
  alloc.deallocate(reused, 0);
  second.reset();
  CHECK(alloc.pool_reserved_bytes(pool) == 0);
  CHECK(fake.live_device_allocations() == 0);
}

TEST_CASE("capture rules: a side stream, no nesting, replay only after capture") {
  FakeDeviceApi fake;
  CachingAllocator alloc(fake);
  Graph graph(fake, alloc);
  CHECK(error_of([&] { graph.capture_begin(); }).find("legacy default stream") != std::string::npos);
  CHECK(error_of([&] { graph.replay(); }).find("nothing captured") != std::string::npos);
  SideStream side(fake);
  StreamGuard guard(side.get(), fake);
  graph.capture_begin();
  Graph other(fake, alloc);
  CHECK(error_of([&] { other.capture_begin(); }).find("captures do not nest") != std::string::npos);
  CHECK(error_of([&] { StreamGuard elsewhere(reinterpret_cast<Stream>(0x99), fake); })
            .find("while this thread is capturing") != std::string::npos);
  graph.capture_end();
  CHECK(error_of([&] { graph.capture_begin(); }).find("already captured") != std::string::npos);
  graph.replay();
  graph.replay();
  CHECK(fake.graph_launches == 2);
}

TEST_CASE_FIXTURE(OnSideStream, "an exception inside the captured work abandons the capture and its pool") {
  Graph graph(fake, alloc);
  CHECK_THROWS_AS(graph.capture([&] {
    alloc.deallocate(alloc.allocate(KiB), 0);
    throw std::runtime_error("inside");
  }),
                  std::runtime_error);
  CHECK_FALSE(graph.captured());
  CHECK(cake::cuda::capturing_stream() == nullptr);
  CHECK_FALSE(fake.capturing(side.get()));
  CHECK(fake.live_graphs() == 0);
  CHECK(fake.live_device_allocations() == 0);  // the abandoned pool's segment went back
  {  // the scope form: the same on an exception, a graph otherwise
    CHECK_THROWS_AS(([&] {
                      GraphCapture capture(graph);
                      throw std::runtime_error("inside the scope");
                    }()),
                    std::runtime_error);
    CHECK_FALSE(graph.captured());
    { GraphCapture capture(graph); }
    CHECK(graph.captured());
  }
}

TEST_CASE("operations that wait for the device are refused while capturing, by name") {
  FakeDeviceApi fake;
  CachingAllocator alloc(fake);
  cake::cuda::PinnedStaging staging(fake, 4 * KiB);
  SideStream side(fake);
  StreamGuard guard(side.get(), fake);
  void* device = alloc.allocate(KiB, side.get());
  char host[KiB] = {};
  Graph graph(fake, alloc);
  graph.capture_begin();
  const std::string to_host = error_of([&] { staging.device_to_host(host, device, KiB, side.get()); });
  CHECK(to_host.find("item()") != std::string::npos);
  CHECK(to_host.find("CUDA graph is being captured") != std::string::npos);
  CHECK(error_of([&] { staging.host_to_device(device, host, KiB, side.get()); }).find("from the host") !=
        std::string::npos);
  CHECK(error_of([&] { alloc.empty_cache(); }).find("empty_cache()") != std::string::npos);
  CHECK(fake.capturing(side.get()));  // refused before anything reached the device
  graph.capture_end();
  staging.device_to_host(host, device, KiB, side.get());  // allowed again
  alloc.deallocate(device, 0);
}

TEST_CASE_FIXTURE(OnSideStream, "out of memory during a capture is an error, without freeing the cache") {
  alloc.deallocate(alloc.allocate(KiB), 0);  // a cached segment the retry would want to free
  Graph graph(fake, alloc);
  graph.capture_begin();
  fake.fail_next_mallocs = 1;
  CHECK(error_of([&] { (void)alloc.allocate(KiB * 4); }).find("while capturing a CUDA graph") != std::string::npos);
  // (a cached general segment exists, but the pool may not use it: a new segment was needed)
  CHECK(fake.frees == 0);
  graph.capture_end();
}

TEST_CASE("the stream guard orders the two streams both ways and restores the current stream") {
  FakeDeviceApi fake;
  SideStream side(fake);
  CHECK(cake::cuda::current_stream() == nullptr);
  {
    StreamGuard guard(side.get(), fake);
    CHECK(cake::cuda::current_stream() == side.get());
    CHECK(fake.waits == 1);  // the side stream waits for the legacy stream's work
    StreamGuard same(side.get(), fake);  // already current: nothing to order
    CHECK(fake.waits == 1);
  }
  CHECK(cake::cuda::current_stream() == nullptr);
  CHECK(fake.waits == 2);  // and the legacy stream for the side stream's
  CHECK(fake.live_events() == 0);
}

// Capturable Adam/AdamW (optim/adam.h) on the CPU runs the tensor-op form of the same update,
// with t and lr read from tensors: it must follow the default mode's trajectory.
TEST_CASE("capturable Adam and AdamW follow the default mode, with the step count in the state") {
  for (const bool decoupled : {false, true}) {
    for (const bool amsgrad : {false, true}) {
      cake::manual_seed(3);
      const cake::Tensor start = cake::randn({5, 4}, cake::kFloat64);
      cake::Tensor a = start.clone(), b = start.clone();
      a.requires_grad_(true);
      b.requires_grad_(true);
      std::unique_ptr<cake::optim::Optimizer> plain, capturable;
      if (decoupled) {
        plain = std::make_unique<cake::optim::AdamW>(std::vector{a}, cake::optim::AdamWOptions{.lr = 0.01, .amsgrad = amsgrad});
        capturable = std::make_unique<cake::optim::AdamW>(
            std::vector{b}, cake::optim::AdamWOptions{.lr = 0.01, .amsgrad = amsgrad, .capturable = true});
      } else {
        plain = std::make_unique<cake::optim::Adam>(
            std::vector{a}, cake::optim::AdamOptions{.lr = 0.01, .weight_decay = 0.1, .amsgrad = amsgrad});
        capturable = std::make_unique<cake::optim::Adam>(
            std::vector{b},
            cake::optim::AdamOptions{.lr = 0.01, .weight_decay = 0.1, .amsgrad = amsgrad, .capturable = true});
      }
      for (int step = 0; step < 6; ++step) {
        if (step == 3) {  // a schedule's change reaches the device lr
          plain->set_group_lr(0, 0.003);
          capturable->set_group_lr(0, 0.003);
          capturable->sync_device_lr();
        }
        const cake::Tensor g = cake::randn({5, 4}, cake::kFloat64);
        a.set_grad(g.clone());
        b.set_grad(g.clone());
        plain->step();
        capturable->step();
      }
      CHECK((a.detach() - b.detach()).abs().max().item<double>() < 1e-12);
      REQUIRE(capturable->state(0).tensors.count("step") == 1);
      CHECK(capturable->state(0).tensors.at("step").item<double>() == 6.0);
      CHECK(capturable->state(0).step == 6);
    }
  }
}

// A capturable optimiser's state dict holds the 0-d device step count ("step"): it must load
// back, into a capturable optimiser (which continues from it) and into a default one (whose host
// count must then be the device count, not the host count a replayed graph left behind).
TEST_CASE("a capturable Adam's state dict loads back, the device step count included") {
  cake::manual_seed(5);
  cake::Tensor w = cake::randn({3, 2}, cake::kFloat64);
  w.requires_grad_(true);
  cake::optim::Adam saved(std::vector{w}, cake::optim::AdamOptions{.lr = 0.01, .capturable = true});
  for (int step = 0; step < 4; ++step) {
    w.set_grad(cake::randn({3, 2}, cake::kFloat64));
    saved.step();
  }
  // A replayed graph advances the device count only: pretend two replays happened.
  cake::Tensor device_count = saved.state(0).tensors.at("step");
  device_count.add_(2.0);
  const cake::SafetensorsFile state = saved.state_dict();

  cake::Tensor v = w.detach().clone();
  v.requires_grad_(true);
  cake::optim::Adam capturable(std::vector{v}, cake::optim::AdamOptions{.lr = 0.01, .capturable = true});
  REQUIRE_NOTHROW(capturable.load_state_dict(state, "memory"));
  CHECK(capturable.state(0).tensors.at("step").dtype() == cake::kFloat64);
  CHECK(capturable.state(0).tensors.at("step").item<double>() == 6.0);
  CHECK(capturable.state(0).step == 6);

  cake::optim::Adam plain(std::vector{v}, cake::optim::AdamOptions{.lr = 0.01});
  REQUIRE_NOTHROW(plain.load_state_dict(state, "memory"));
  CHECK(plain.state(0).step == 6);
  // The default mode counts on the host from there; the device count it loaded is dropped, so
  // that its own state dict does not carry a stale one.
  v.set_grad(cake::randn({3, 2}, cake::kFloat64));
  plain.step();
  CHECK(plain.state(0).step == 7);
  CHECK(plain.state(0).tensors.count("step") == 0);
}

// Optimiser state made inside a capture would be made by recorded fills that every replay runs
// again (moments zeroed, step count reset, momentum restarted): refused by name, so that the
// capture is abandoned (the Trainer then trains eagerly) instead of training wrongly.
TEST_CASE_FIXTURE(OnSideStream, "optimiser state is never created inside a capture") {
  cake::Tensor w = cake::randn({3, 2}, cake::kFloat64);
  w.requires_grad_(true);
  w.set_grad(cake::ones({3, 2}, cake::kFloat64));
  cake::optim::Adam adam(std::vector{w}, cake::optim::AdamOptions{.lr = 0.01, .capturable = true});
  cake::optim::SGD sgd(std::vector{w}, cake::optim::SGDOptions{.lr = 0.01, .momentum = 0.9});
  {
    Graph graph(fake, alloc);
    CHECK(error_of([&] { graph.capture([&] { adam.step(); }); }).find("inside a CUDA graph capture") !=
          std::string::npos);
    CHECK(error_of([&] { graph.capture([&] { sgd.step(); }); }).find("inside a CUDA graph capture") !=
          std::string::npos);
    CHECK_FALSE(graph.captured());
  }
  // After an eager (warm-up) step the state exists, and a captured step makes none.
  adam.step();
  sgd.step();
  Graph graph(fake, alloc);
  CHECK_NOTHROW(graph.capture([&] {
    adam.step();
    sgd.step();
  }));
  CHECK(graph.captured());
}

// The Trainer's pattern when it captures again: the old graph is reset while its output (the
// loss) lives, and the output is dropped inside the next capture, when nothing may be freed.
TEST_CASE_FIXTURE(OnSideStream, "a released pool's segment freed into during a later capture goes back after it") {
  Graph first(fake, alloc), second(fake, alloc);
  void* output = nullptr;
  first.capture([&] { output = alloc.allocate(KiB); });
  first.reset();
  CHECK(fake.live_device_allocations() == 1);
  void* next_output = nullptr;
  second.capture([&] {
    alloc.deallocate(output, 0);  // during the capture: no cudaFree (the fake would throw)
    next_output = alloc.allocate(KiB);
  });
  CHECK(fake.live_device_allocations() == 1);  // the first pool's segment went back at capture_end
  alloc.deallocate(next_output, 0);
  second.reset();
  CHECK(fake.live_device_allocations() == 0);
  CHECK(alloc.stats().reserved_bytes == 0);
}
