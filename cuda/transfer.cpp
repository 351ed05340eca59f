// cuda/transfer.cpp: see transfer.h.
#include "cake/cuda/transfer.h"

#include <algorithm>
#include <cstring>

namespace cake::cuda {

PinnedStaging::PinnedStaging(DeviceApi& api, std::size_t chunk_bytes) : api_(api), chunk_(chunk_bytes) {}

PinnedStaging::~PinnedStaging() {
  for (int k = 0; k < 2; ++k) {
    try {
      if (events_[k] != nullptr) {
        api_.synchronize_event(events_[k]);
        api_.destroy_event(events_[k]);
      }
      if (buffers_[k] != nullptr) api_.free_host(buffers_[k]);
    } catch (...) {  // a destructor must not throw
    }
  }
}

void PinnedStaging::ensure_buffers() {
  for (int k = 0; k < 2; ++k) {
    if (buffers_[k] == nullptr) buffers_[k] = api_.malloc_host(chunk_);
    if (events_[k] == nullptr) events_[k] = api_.create_event();
  }
}

void PinnedStaging::host_to_device(void* device_dst, const void* host_src, std::size_t nbytes, Stream stream) {
  if (nbytes == 0) return;
  // The staging buffer is refilled by the host on every call: a captured copy would replay
  // whatever the buffer holds later, and waiting for a buffer would break the capture.
  check_not_capturing("a copy from the host to a CUDA tensor (.cuda(), .to(cuda), a CPU tensor used in a CUDA op)");
  const std::lock_guard lock(mutex_);
  ensure_buffers();
  auto* dst = static_cast<char*>(device_dst);
  const auto* src = static_cast<const char*>(host_src);
  for (std::size_t off = 0, i = 0; off < nbytes; off += chunk_, ++i) {
    const int k = static_cast<int>(i % 2);
    const std::size_t len = std::min(chunk_, nbytes - off);
    // The buffer may still be feeding an earlier copy (this call's or a previous one's).
    if (in_flight_[k]) api_.synchronize_event(events_[k]);
    std::memcpy(buffers_[k], src + off, len);
    api_.memcpy_async(dst + off, buffers_[k], len, CopyKind::HostToDevice, stream);
    api_.record_event(events_[k], stream);
    in_flight_[k] = true;
  }
}

void PinnedStaging::device_to_host(void* host_dst, const void* device_src, std::size_t nbytes, Stream stream) {
  if (nbytes == 0) return;
  check_not_capturing("a copy from a CUDA tensor to the host (item(), .cpu(), .to(cpu), printing)");
  const std::lock_guard lock(mutex_);
  ensure_buffers();
  auto* dst = static_cast<char*>(host_dst);
  const auto* src = static_cast<const char*>(device_src);
  // Queue chunk i, then drain chunk i-1 while chunk i is on the bus.
  std::size_t pending_off = 0, pending_len = 0;
  int pending = -1;
  auto drain = [&] {
    api_.synchronize_event(events_[pending]);
    in_flight_[pending] = false;
    std::memcpy(dst + pending_off, buffers_[pending], pending_len);
  };
  for (std::size_t off = 0, i = 0; off < nbytes; off += chunk_, ++i) {
    const int k = static_cast<int>(i % 2);
    const std::size_t len = std::min(chunk_, nbytes - off);
    if (in_flight_[k]) {  // an earlier host_to_device may still read this buffer
      api_.synchronize_event(events_[k]);
      in_flight_[k] = false;
    }
    api_.memcpy_async(buffers_[k], src + off, len, CopyKind::DeviceToHost, stream);
    api_.record_event(events_[k], stream);
    in_flight_[k] = true;
    if (pending >= 0) drain();
    pending = k;
    pending_off = off;
    pending_len = len;
  }
  drain();
}

}  // namespace cake::cuda
