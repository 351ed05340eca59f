// cuda/device_api.cpp: the per-thread current stream, and device_api() for builds without CUDA.
#include "cake/cuda/device_api.h"

#include "cake/tensor/error.h"

namespace cake::cuda {

namespace {
thread_local Stream current = nullptr;
}

Stream current_stream() { return current; }
void set_current_stream(Stream stream) { current = stream; }

#ifndef CAKE_HAVE_CUDA
DeviceApi& device_api() { CAKE_FAIL("cake::cuda::device_api: Cake was built without CUDA (CAKE_WITH_CUDA=OFF)"); }
#endif

}  // namespace cake::cuda
