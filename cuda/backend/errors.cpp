// cuda/backend/errors.cpp: CUDA error codes to cake::Error (see check.cuh).
#include <cuda_runtime.h>

#include "cuda/backend/check.cuh"
#include "tensor/error.h"

namespace cake::cuda {

void throw_cuda_error(int code, const char* what) {
  const auto e = static_cast<cudaError_t>(code);
  CAKE_FAIL("CUDA error in ", what, ": ", cudaGetErrorName(e), " (", code, "): ", cudaGetErrorString(e));
}

}  // namespace cake::cuda
