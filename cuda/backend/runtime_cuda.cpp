// cuda/backend/runtime_cuda.cpp: the public face (cuda/cuda.h) of a build with CUDA, the device
// allocator behind Tensor, and host <-> device copies.
//
// Without a GPU all of this still loads: is_available() is false, nothing here calls into CUDA
// beyond the one cudaGetDeviceCount (NOTE [ Sticky no-device error ]), and making a CUDA tensor
// is a clear cake::Error from the allocator.
#include <atomic>

#include "cake/cuda/caching_allocator.h"
#include "cake/cuda/cuda.h"
#include "cake/cuda/device_api.h"
#include "cake/cuda/transfer.h"
#include "cake/tensor/allocator.h"
#include "cake/tensor/native/elementwise.h"

namespace cake {
namespace detail {
extern Allocator* cuda_allocator;  // tensor/tensor.cpp
}

bool cuda_backend_compiled() { return true; }

namespace cuda {
namespace {

// Both never destroyed, for the reason in device_api().
CachingAllocator& allocator() {
  static auto* a = new CachingAllocator(device_api(), Device::cuda(0));
  return *a;
}
PinnedStaging& staging() {
  static auto* s = new PinnedStaging(device_api());
  return *s;
}

std::atomic<bool> tf32_allowed{false};

// native::cross_device_copy: contiguous src and dst of one dtype and shape (native/elementwise.cpp
// stages anything else on the source side).
void cross_device_copy(const Tensor& src, const Tensor& dst) {
  if (src.numel() == 0 && dst.numel() == 0) return;  // nothing to move (and possibly no storage)
  CAKE_CHECK(src.is_contiguous() && dst.is_contiguous() && src.dtype() == dst.dtype() && src.numel() == dst.numel(),
             "cross_device_copy: expects contiguous tensors of one dtype and size, got ", src.sizes(), " strides ",
             src.strides(), " ", dtype_name(src.dtype()), " -> ", dst.sizes(), " strides ", dst.strides(), " ",
             dtype_name(dst.dtype()));
  const std::size_t nbytes = src.nbytes();
  if (src.is_cpu() && dst.is_cuda()) {
    staging().host_to_device(dst.raw_data(), src.raw_data(), nbytes, current_stream());
  } else if (src.is_cuda() && dst.is_cpu()) {
    staging().device_to_host(dst.raw_data(), src.raw_data(), nbytes, current_stream());
  } else {
    CAKE_CHECK(src.device().index == 0 && dst.device().index == 0, "cross_device_copy: ", to_string(src.device()),
               " -> ", to_string(dst.device()), ": only cuda:0 is supported so far");
    device_api().memcpy_async(dst.raw_data(), src.raw_data(), nbytes, CopyKind::DeviceToDevice, current_stream());
  }
}

// Installed at load time: tensor.cpp's pointer and native's function pointer are constant-
// initialised (null), so this dynamic initialiser runs after them whatever the link order.
[[maybe_unused]] const bool installed = [] {
  detail::cuda_allocator = &allocator();
  native::cross_device_copy = &cross_device_copy;
  return true;
}();

}  // namespace

bool is_available() { return device_count() > 0; }
int device_count() { return device_api().device_count(); }
void synchronize() {
  check_not_capturing("cake::cuda::synchronize()");
  device_api().synchronize_device();
}
void empty_cache() { allocator().empty_cache(); }
MemoryStats memory_stats() {
  const AllocatorStats s = allocator().stats();
  MemoryStats m;
  m.allocated_bytes = s.allocated_bytes;
  m.peak_allocated_bytes = s.peak_allocated_bytes;
  m.reserved_bytes = s.reserved_bytes;
  m.cached_bytes = s.reserved_bytes - s.allocated_bytes;
  return m;
}
void set_poison_allocations(bool poison) { allocator().set_poison_byte(poison ? 0xFF : -1); }
void set_allow_tf32(bool allow) { tf32_allowed = allow; }
bool allow_tf32() { return tf32_allowed; }

}  // namespace cuda
}  // namespace cake
