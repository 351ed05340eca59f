// cuda/transfer.h: host <-> device copies through page-locked staging buffers.
//
// The DMA engines can only read and write page-locked ("pinned") host memory; given ordinary
// pageable memory, cudaMemcpy first copies it into a pinned buffer of the driver's, and blocks
// the calling thread throughout. Cake keeps two pinned buffers of its own and pipelines the
// copy in chunks: while chunk i crosses the bus from one buffer, the CPU fills the other with
// chunk i+1 (an event per buffer says when it is free again).
//
//   cake::cuda::PinnedStaging staging(cake::cuda::device_api());
//   staging.host_to_device(dev_ptr, host_ptr, nbytes, stream);   // returns once staged
//   staging.device_to_host(host_ptr, dev_ptr, nbytes, stream);   // returns when the data is there
//
// host_to_device returns as soon as the last chunk is staged: the caller may reuse its host
// memory at once, the device side completes in stream order.
#pragma once

#include <array>
#include <cstddef>
#include <mutex>

#include "cake/cuda/device_api.h"

namespace cake::cuda {

class PinnedStaging {
 public:
  static constexpr std::size_t kDefaultChunk = 4 << 20;

  explicit PinnedStaging(DeviceApi& api, std::size_t chunk_bytes = kDefaultChunk);
  ~PinnedStaging();
  PinnedStaging(const PinnedStaging&) = delete;
  PinnedStaging& operator=(const PinnedStaging&) = delete;

  void host_to_device(void* device_dst, const void* host_src, std::size_t nbytes, Stream stream);
  void device_to_host(void* host_dst, const void* device_src, std::size_t nbytes, Stream stream);
  std::size_t chunk_bytes() const { return chunk_; }

 private:
  void ensure_buffers();

  DeviceApi& api_;
  std::size_t chunk_;
  std::mutex mutex_;
  std::array<void*, 2> buffers_{};
  std::array<Event, 2> events_{};
  std::array<bool, 2> in_flight_{};
};

}  // namespace cake::cuda
