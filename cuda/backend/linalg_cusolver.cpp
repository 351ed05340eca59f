// cuda/backend/linalg_cusolver.cpp: native::eigh_stub on cuSOLVER (a host API, so g++ compiles
// this), the symmetric eigendecomposition behind linalg::eigh and PCA's principal axes.
//
// cusolverDnXsyevd is the 64-bit generic form of LAPACK's ?syevd, the routine the CPU kernel
// calls: Householder reduction to a tridiagonal matrix, then Cuppen's divide and conquer on it
// (Cuppen 1981, "A divide and conquer method for the symmetric tridiagonal eigenproblem",
// Numerische Mathematik 36), eigenvalues in ascending order (cuSOLVER documentation, "cuSOLVER
// Dense LAPACK Function Reference", cusolverDnXsyevd; https://docs.nvidia.com/cuda/cusolver/).
//
// Layout: cuSOLVER is column-major and the stub's buffer row-major. The row-major buffer of a
// symmetric matrix is the same matrix column-major, so cuSOLVER reads it as it is; its upper
// triangle is our lower one (hence CUBLAS_FILL_MODE_UPPER: eigh reads the lower triangle), and
// it writes the eigenvectors as the columns of a column-major matrix, which is the stub's
// contract (NOTE [ Row-major buffers, column-major LAPACK ] in tensor/linalg.cpp).
//
// Memory: the device workspace and the per-matrix `info` flags are uint8 tensors from Cake's
// caching allocator, not a cudaMalloc per call. They are freed when the kernel returns, with
// the work that uses them still queued on the current stream; the allocator reuses a block
// freed on a stream only for work queued after it there (or after an event), so that is safe
// (as the sort scratch in indexing_glue.cpp). The host workspace, when cuSOLVER asks for one,
// lives until the flags have been read back, after which the stream has run past every call.
#include <cuda_runtime.h>
#include <cusolverDn.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

#include "cake/cuda/device_api.h"
#include "cake/tensor/native/elementwise.h"
#include "cake/tensor/native/linalg.h"

namespace cake::cuda {
namespace {

const char* status_name(cusolverStatus_t s) {
  switch (s) {
    case CUSOLVER_STATUS_SUCCESS: return "CUSOLVER_STATUS_SUCCESS";
    case CUSOLVER_STATUS_NOT_INITIALIZED: return "CUSOLVER_STATUS_NOT_INITIALIZED";
    case CUSOLVER_STATUS_ALLOC_FAILED: return "CUSOLVER_STATUS_ALLOC_FAILED";
    case CUSOLVER_STATUS_INVALID_VALUE: return "CUSOLVER_STATUS_INVALID_VALUE";
    case CUSOLVER_STATUS_ARCH_MISMATCH: return "CUSOLVER_STATUS_ARCH_MISMATCH";
    case CUSOLVER_STATUS_EXECUTION_FAILED: return "CUSOLVER_STATUS_EXECUTION_FAILED";
    case CUSOLVER_STATUS_INTERNAL_ERROR: return "CUSOLVER_STATUS_INTERNAL_ERROR";
    case CUSOLVER_STATUS_NOT_SUPPORTED: return "CUSOLVER_STATUS_NOT_SUPPORTED";
    case CUSOLVER_STATUS_INVALID_WORKSPACE: return "CUSOLVER_STATUS_INVALID_WORKSPACE";
    default: return "a cuSOLVER error";
  }
}

// cuSOLVER has no cusolverGetStatusString, so the message carries the enumerator and its number.
void check_cusolver(cusolverStatus_t s, const char* what) {
  CAKE_CHECK(s == CUSOLVER_STATUS_SUCCESS, "cuSOLVER error in ", what, ": ", status_name(s), " (",
             static_cast<int>(s), ")");
}

// A cuSOLVER handle and the options object of its generic (64-bit) API, default algorithm.
struct Solver {
  cusolverDnHandle_t handle = nullptr;
  cusolverDnParams_t params = nullptr;
};

// One Solver per thread and device: a handle belongs to the device that was current when it was
// created, and should not be used by two threads at once (as the cuBLAS and cuDNN handles in
// gemm_cublas.cpp and conv_cudnn.cpp). Created on first use, when a CUDA tensor exists and so a
// device is present; never destroyed, because at exit the CUDA runtime may already be gone.
// Rebound to Cake's current stream at every use, so the solve is ordered with the kernels around it.
Solver solver_for(Device device) {
  int current = -1;
  CAKE_CHECK(cudaGetDevice(&current) == cudaSuccess && current == device.index, "linalg.eigh on ",
             to_string(device), ": the current CUDA device is ", current,
             " (Cake serves cuda:0 only for now; docs/cuda.md, Known costs and limits)");
  thread_local std::unordered_map<int, Solver> solvers;
  Solver& s = solvers[device.index];
  if (s.handle == nullptr) {
    check_cusolver(cusolverDnCreate(&s.handle), "cusolverDnCreate");
    check_cusolver(cusolverDnCreateParams(&s.params), "cusolverDnCreateParams");
    // The same input gives the same bits on every run (syevd may otherwise trade that for speed),
    // as Cake's own reductions do. The math mode stays CUSOLVER_DEFAULT_MATH: full float32 and
    // float64 arithmetic, no emulation in lower precision.
    check_cusolver(cusolverDnSetDeterministicMode(s.handle, CUSOLVER_DETERMINISTIC_RESULTS),
                   "cusolverDnSetDeterministicMode");
  }
  check_cusolver(cusolverDnSetStream(s.handle, static_cast<cudaStream_t>(current_stream())), "cusolverDnSetStream");
  return s;
}

// Device memory from the caching allocator: a uint8 tensor of at least one byte.
Tensor device_bytes(std::size_t bytes, Device device) {
  return make_empty({static_cast<std::int64_t>(std::max<std::size_t>(bytes, 1))}, kUInt8, device);
}

// The element type as cuSOLVER's generic API names it; the arithmetic is done in the same type.
cudaDataType data_type(DType dtype) {
  switch (dtype) {
    case kFloat32: return CUDA_R_32F;
    case kFloat64: return CUDA_R_64F;
    default:
      CAKE_FAIL("linalg.eigh on CUDA: expected float32 or float64, got ", dtype_name(dtype),
                " (cuSOLVER's syevd has no other real type)");
  }
}

// Reads back the `count` info flags and names the first matrix that failed, as the CPU kernel
// does: info > 0 is "i off-diagonal elements of the tridiagonal form did not converge to zero";
// info < 0 (an illegal argument) would be a bug here, reported with its number all the same.
void check_infos(const Tensor& info, std::int64_t count, const Tensor& vectors) {
  const Tensor host = native::to_device(info, Device::cpu());  // waits for the solves
  std::vector<int> flags(static_cast<std::size_t>(count));
  std::memcpy(flags.data(), host.raw_data(), flags.size() * sizeof(int));
  for (std::int64_t i = 0; i < count; ++i) {
    const int code = flags[static_cast<std::size_t>(i)];
    if (code == 0) continue;
    const std::string where = count > 1 ? " (matrix " + std::to_string(i) + " of the batch)" : "";
    if (code > 0)
      CAKE_FAIL("linalg.eigh: the eigenvalue iteration did not converge for the matrix of shape ", vectors.sizes(),
                where, " (cuSOLVER info ", code, ")");
    CAKE_FAIL("linalg.eigh on CUDA: cusolverDnXsyevd rejected argument ", -code, " for the matrix of shape ",
              vectors.sizes(), where, " (an internal error)");
  }
}

void eigh_cusolver(const Tensor& vectors, const Tensor& values) {
  const std::int64_t n = vectors.size(-1), count = vectors.numel() / (n * n);
  const cudaDataType type = data_type(vectors.dtype());
  const std::size_t element = vectors.element_size();
  const Solver s = solver_for(vectors.device());
  auto* a = static_cast<std::byte*>(vectors.raw_data());
  auto* w = static_cast<std::byte*>(values.raw_data());
  const cusolverEigMode_t jobz = CUSOLVER_EIG_MODE_VECTOR;
  const cublasFillMode_t uplo = CUBLAS_FILL_MODE_UPPER;  // our lower triangle (header comment)
  // Every matrix of the batch has the same n, so one query sizes the workspace for all of them.
  std::size_t device_size = 0, host_size = 0;
  check_cusolver(cusolverDnXsyevd_bufferSize(s.handle, s.params, jobz, uplo, n, type, a, n, type, w, type,
                                             &device_size, &host_size),
                 "cusolverDnXsyevd_bufferSize");
  const Tensor device_work = device_bytes(device_size, vectors.device());
  std::vector<std::byte> host_work(host_size);
  const Tensor info = device_bytes(static_cast<std::size_t>(count) * sizeof(int), vectors.device());
  auto* flags = static_cast<int*>(info.raw_data());
  // One call per matrix; the flags are read once, after the last (one host synchronisation).
  for (std::int64_t i = 0; i < count; ++i) {
    std::byte* matrix = a + static_cast<std::size_t>(i * n * n) * element;
    std::byte* eigenvalues = w + static_cast<std::size_t>(i * n) * element;
    check_cusolver(cusolverDnXsyevd(s.handle, s.params, jobz, uplo, n, type, matrix, n, type, eigenvalues, type,
                                    device_work.raw_data(), device_size, host_size > 0 ? host_work.data() : nullptr,
                                    host_size, flags + i),
                   "cusolverDnXsyevd");
  }
  check_infos(info, count, vectors);
}

}  // namespace

CAKE_REGISTER_KERNEL(native::eigh_stub, DeviceType::CUDA, &eigh_cusolver);

}  // namespace cake::cuda
