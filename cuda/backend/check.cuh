// cuda/backend/check.cuh: turning CUDA errors into cake::Error (for the .cu files, which do not
// include tensor/error.h: the throw happens in cuda/backend/errors.cpp).
#pragma once

#include <cuda_runtime.h>

namespace cake::cuda {

// Throws cake::Error "CUDA error in <what>: <cudaGetErrorString>" (defined in errors.cpp).
[[noreturn]] void throw_cuda_error(int code, const char* what);

inline void check(cudaError_t code, const char* what) {
  if (code != cudaSuccess) throw_cuda_error(static_cast<int>(code), what);
}
// After a kernel launch: a bad configuration is reported here, a fault in the kernel later, by
// the next synchronising call.
inline void check_launch(const char* kernel) { check(cudaGetLastError(), kernel); }

}  // namespace cake::cuda
