// cuda/backend/errors.cpp: CUDA error codes to cake::Error (see check.cuh).
#include <cuda_runtime.h>

#include "cake/cuda/backend/check.cuh"
#include "cake/cuda/backend/kernel_api.h"
#include "cake/tensor/dtype.h"
#include "cake/tensor/error.h"

namespace cake::cuda {

void throw_cuda_error(int code, const char* what) {
  const auto e = static_cast<cudaError_t>(code);
  CAKE_FAIL("CUDA error in ", what, ": ", cudaGetErrorName(e), " (", code, "): ", cudaGetErrorString(e));
}

namespace kernels {
// elementwise_ops.cuh: a row reached with an element type its operand rule excludes.
void refuse(const char* op, ScalarType type) {
  const auto dtype = static_cast<DType>(type);  // the same numbering (tensor_geometry.h)
  if (is_half(dtype)) refuse_half_dtype(dtype);
  CAKE_FAIL(op, " on CUDA: not supported for dtype ", dtype_name(dtype));
}
}  // namespace kernels

}  // namespace cake::cuda
