// cuda/device_api.cpp: the per-thread current stream and capture state, the stream guard, and
// device_api() for builds without CUDA.
#include "cake/cuda/device_api.h"

#include "cake/tensor/error.h"

namespace cake::cuda {

namespace {
thread_local Stream current = nullptr;
thread_local Stream capturing = nullptr;

// `waiter` waits for the work queued on `producer` so far, through a throwaway event.
void order_after(DeviceApi& api, Stream waiter, Stream producer) {
  Event e = api.create_event();
  api.record_event(e, producer);
  api.stream_wait_event(waiter, e);
  api.destroy_event(e);  // CUDA keeps a recorded event alive until its work is done
}
}  // namespace

Stream current_stream() { return current; }
void set_current_stream(Stream stream) { current = stream; }

StreamGuard::StreamGuard(Stream stream, DeviceApi* api) : api_(api), previous_(current), stream_(stream) {
  if (stream_ == previous_) return;
  CAKE_CHECK(capturing == nullptr, "cake::cuda::StreamGuard: cannot switch streams while this thread is capturing a "
                                   "CUDA graph (the capture would miss the work queued on the other stream)");
  if (api_ == nullptr) api_ = &device_api();
  order_after(*api_, stream_, previous_);
  current = stream_;
}

StreamGuard::~StreamGuard() {
  if (stream_ == previous_) return;
  current = previous_;
  try {
    order_after(*api_, previous_, stream_);
  } catch (...) {  // a destructor must not throw; the device is in trouble and the next call says so
  }
}

Stream capturing_stream() { return capturing; }
void set_capturing_stream(Stream stream) { capturing = stream; }

void check_not_capturing(const char* operation) {
  CAKE_CHECK(capturing == nullptr, operation,
             " makes the host wait for the device, which cannot happen while a CUDA graph is being captured on this "
             "thread: a graph records device work only, and the wait would break the capture. Move it out of the "
             "captured region (read results after replay(), from tensors the graph writes)");
}

#ifndef CAKE_HAVE_CUDA
DeviceApi& device_api() { CAKE_FAIL("cake::cuda::device_api: Cake was built without CUDA (CAKE_WITH_CUDA=OFF)"); }
#endif

}  // namespace cake::cuda
