// storage.h: a block of bytes on a device, shared by every tensor that views it:
//   cake::Tensor a = cake::zeros({2, 3}), b = a.t();   bool shared = a.storage() == b.storage();   // true
// Storage knows nothing of shapes or dtypes (that is the view's job, see tensor.h). It owns its
// bytes through an Allocator, or borrows them (from_blob) with an optional deleter.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

#include "cake/tensor/allocator.h"
#include "cake/tensor/device.h"

namespace cake {

struct StorageImpl {
  StorageImpl(std::size_t nbytes, Allocator& allocator)
      : data(nbytes ? allocator.allocate(nbytes) : nullptr), nbytes(nbytes), device(allocator.device()),
        allocator(&allocator) {}
  StorageImpl(void* borrowed, std::size_t nbytes, Device device, std::function<void(void*)> deleter)
      : data(borrowed), nbytes(nbytes), device(device), deleter(std::move(deleter)) {}
  ~StorageImpl() {
    if (allocator != nullptr) allocator->deallocate(data, nbytes);
    else if (deleter) deleter(data);
  }
  StorageImpl(const StorageImpl&) = delete;
  StorageImpl& operator=(const StorageImpl&) = delete;

  void* data = nullptr;
  std::size_t nbytes = 0;
  Device device;
  Allocator* allocator = nullptr;        // owner, or null when borrowed
  std::function<void(void*)> deleter;    // for borrowed memory, may be empty

  // NOTE [ Version counter ]
  // Bumped by every in-place write to this storage. Autograd records the version of each
  // tensor it saves for backward and checks it again when backward reads it: a mismatch means
  // the saved value was overwritten in place and the gradient would silently be wrong, so
  // backward throws instead. Views share storage, hence share the counter, as in PyTorch.
  std::uint64_t version = 0;
};

using Storage = std::shared_ptr<StorageImpl>;

}  // namespace cake
