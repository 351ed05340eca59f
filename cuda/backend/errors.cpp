// cuda/backend/errors.cpp: CUDA error codes to cake::Error (see check.cuh).
#include <cuda_runtime.h>

#include "cake/cuda/backend/check.cuh"
#include "cake/cuda/backend/kernel_api.h"
#include "cake/tensor/error.h"

namespace cake::cuda {

void throw_cuda_error(int code, const char* what) {
  const auto e = static_cast<cudaError_t>(code);
  CAKE_FAIL("CUDA error in ", what, ": ", cudaGetErrorName(e), " (", code, "): ", cudaGetErrorString(e));
}

namespace kernels {
// elementwise_ops.cuh: a row reached with an element type its operand rule excludes.
void refuse(const char* op, ScalarType type) {
  static constexpr const char* names[] = {"bool", "uint8", "int64", "float32", "float64"};
  CAKE_FAIL(op, " on CUDA: not supported for dtype ", names[static_cast<int>(type)]);
}
}  // namespace kernels

}  // namespace cake::cuda
