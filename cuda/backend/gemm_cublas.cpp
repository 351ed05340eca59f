// cuda/backend/gemm_cublas.cpp: native::gemm_stub on cuBLAS (a host API, so g++ compiles this).
//
// cuBLAS is column-major; Cake's matrices are row-major. A row-major C = A B has the memory of
// the column-major C^T = B^T A^T, so the call swaps the operands and the M/N sizes and needs no
// transposition of the data: a row-major [K, N] B *is* a column-major [N, K] B^T with the same
// leading dimension. A transposed view (NOTE [ BLAS on strided views ] in native/linalg.h)
// flips the op to CUBLAS_OP_T, exactly as CblasTrans does on the CPU.
// A batch whose matrices lie at a constant stride (contiguous batches, broadcast operands with
// stride 0) is one cublasGemmStridedBatchedEx call; any other batch is one call per matrix.
// bfloat16 and float16 operands multiply on the tensor cores with float32 accumulation, into a
// result of their own type or of float32 (native::gemm's contract).
#include <cublas_v2.h>

#include <algorithm>
#include <vector>

#include "cake/cuda/cuda.h"
#include "cake/cuda/device_api.h"
#include "cake/tensor/native/elementwise.h"
#include "cake/tensor/native/linalg.h"

namespace cake::cuda {
namespace {

void check_cublas(cublasStatus_t s, const char* what) {
  CAKE_CHECK(s == CUBLAS_STATUS_SUCCESS, "cuBLAS error in ", what, ": ", cublasGetStatusName(s), ": ",
             cublasGetStatusString(s));
}

// One handle per thread (cuBLAS handles are not meant to be shared across threads while in use);
// created on first use, which is after a CUDA tensor exists, so a device is known to be present.
cublasHandle_t handle() {
  thread_local cublasHandle_t h = [] {
    cublasHandle_t created = nullptr;
    check_cublas(cublasCreate(&created), "cublasCreate");
    return created;
  }();
  check_cublas(cublasSetStream(h, static_cast<cudaStream_t>(current_stream())), "cublasSetStream");
  // float32 on tensor cores rounds the inputs to TF32 (10-bit mantissa): opt-in only.
  // CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION: without it cuBLAS may reduce the partial
  // sums of a split-K GEMM in the *output* type, so a bfloat16/float16 result would be rounded
  // more than once (many units in the last place where the partial sums cancel), not the float32
  // accumulation rounded once that native::gemm promises and the CPU reference computes (cuBLAS
  // guide, cublasMath_t; PyTorch sets it unless allow_{bf16,fp16}_reduced_precision_reduction).
  // It changes nothing where the output type is the compute type (float32, float64).
  const int mode = (allow_tf32() ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH) |
                   CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION;
  check_cublas(cublasSetMathMode(h, static_cast<cublasMath_t>(mode)), "cublasSetMathMode");
  return h;
}

// The constant stride between consecutive matrices, or -1 when there is none.
std::int64_t uniform_stride(const std::vector<std::int64_t>& offsets) {
  if (offsets.size() < 2) return 0;
  const std::int64_t step = offsets[1] - offsets[0];
  for (std::size_t i = 2; i < offsets.size(); ++i)
    if (offsets[i] - offsets[i - 1] != step) return -1;
  return step;
}

int blas_int(std::int64_t v) {
  CAKE_CHECK(v <= 2147483647, "matmul on CUDA: size or stride ", v, " exceeds cuBLAS's 32-bit index range");
  return static_cast<int>(v);
}

// How cuBLAS sees one dtype combination: the operands' and the result's types, the arithmetic.
// Every combination goes through the *Ex calls, whose compute type says how products are
// accumulated: float32 for float32 (TF32 tensor cores when allowed) and for the 16-bit floats
// (tensor cores, products accumulated in float32: the cuBLAS guide's table of cublasGemmEx's
// supported combinations), float64 for float64.
struct GemmTypes {
  cudaDataType_t operands;
  cudaDataType_t result;
  cublasComputeType_t compute;
  bool double_scalars;  // alpha and beta are passed as double (64F compute) or float
};

cudaDataType_t cuda_data_type(DType t) {
  switch (t) {
    case kFloat32: return CUDA_R_32F;
    case kFloat64: return CUDA_R_64F;
    case kBFloat16: return CUDA_R_16BF;
    case kFloat16: return CUDA_R_16F;
    default:
      CAKE_FAIL("matmul on CUDA: dtype ", dtype_name(t),
                " has no cuBLAS GEMM; convert to a floating dtype (integer matmul runs on the CPU only)");
  }
}

GemmTypes gemm_types(DType operands, DType result) {
  if (operands == kFloat64) return {CUDA_R_64F, CUDA_R_64F, CUBLAS_COMPUTE_64F, true};
  const cublasComputeType_t compute =
      operands == kFloat32 && allow_tf32() ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
  return {cuda_data_type(operands), cuda_data_type(result), compute, false};
}

void gemm_kernel(const Tensor& a, const Tensor& b, const Tensor& out, Scalar alpha, Scalar beta) {
  const GemmTypes types = gemm_types(a.dtype(), out.dtype());
  const std::int64_t M = out.size(-2), N = out.size(-1), K = a.size(-1);
  if (M == 0 || N == 0) return;
  if (K == 0) {  // an empty sum: out = beta * out, which cuBLAS is not asked to special-case
    CAKE_CHECK(beta.to_double() == 0.0 || !is_half(out.dtype()), "matmul on CUDA: beta != 0 with K == 0 and a ",
               dtype_name(out.dtype()), " result");
    if (beta.to_double() == 0.0) native::fill_(out, 0);
    else native::binary_(native::BinaryOp::Mul, out, beta);
    return;
  }
  const native::MatrixLayout la = *native::blas_layout(a), lb = *native::blas_layout(b), lc = *native::blas_layout(out);
  const cublasOperation_t op_a = la.transposed ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t op_b = lb.transposed ? CUBLAS_OP_T : CUBLAS_OP_N;
  // A leading dimension must be at least the row length, even for a single row.
  const int lda = blas_int(std::max<std::int64_t>(la.ld, la.transposed ? M : K));
  const int ldb = blas_int(std::max<std::int64_t>(lb.ld, lb.transposed ? K : N));
  const int ldc = blas_int(std::max<std::int64_t>(lc.ld, N));
  const auto* pa = static_cast<const char*>(a.raw_data());
  const auto* pb = static_cast<const char*>(b.raw_data());
  auto* pc = static_cast<char*>(out.raw_data());
  const std::int64_t operand_size = static_cast<std::int64_t>(a.element_size());
  const std::int64_t result_size = static_cast<std::int64_t>(out.element_size());
  const std::vector<std::int64_t> oa = native::batch_matrix_offsets(a);
  const std::vector<std::int64_t> ob = native::batch_matrix_offsets(b);
  const std::vector<std::int64_t> oc = native::batch_matrix_offsets(out);
  const std::int64_t sa = uniform_stride(oa), sb = uniform_stride(ob), sc = uniform_stride(oc);
  const double alpha64 = alpha.to_double(), beta64 = beta.to_double();
  const auto alpha32 = static_cast<float>(alpha64), beta32 = static_cast<float>(beta64);
  const void* p_alpha = types.double_scalars ? static_cast<const void*>(&alpha64) : &alpha32;
  const void* p_beta = types.double_scalars ? static_cast<const void*>(&beta64) : &beta32;
  cublasHandle_t h = handle();
  // Column-major C^T [N, M] = B^T [N, K] A^T [K, M]: operands swapped, see the header comment.
  if ((sa >= 0 && sb >= 0 && sc > 0) || oc.size() == 1) {
    const int batch = blas_int(static_cast<std::int64_t>(oc.size()));
    check_cublas(cublasGemmStridedBatchedEx(h, op_b, op_a, blas_int(N), blas_int(M), blas_int(K), p_alpha, pb,
                                            types.operands, ldb, sb < 0 ? 0 : sb, pa, types.operands, lda,
                                            sa < 0 ? 0 : sa, p_beta, pc, types.result, ldc, sc < 0 ? 0 : sc, batch,
                                            types.compute, CUBLAS_GEMM_DEFAULT),
                 "cublasGemmStridedBatchedEx");
    return;
  }
  for (std::size_t i = 0; i < oc.size(); ++i)
    check_cublas(cublasGemmEx(h, op_b, op_a, blas_int(N), blas_int(M), blas_int(K), p_alpha, pb + ob[i] * operand_size,
                              types.operands, ldb, pa + oa[i] * operand_size, types.operands, lda, p_beta,
                              pc + oc[i] * result_size, types.result, ldc, types.compute, CUBLAS_GEMM_DEFAULT),
                 "cublasGemmEx");
}

}  // namespace

CAKE_REGISTER_KERNEL(native::gemm_stub, DeviceType::CUDA, &gemm_kernel);

}  // namespace cake::cuda
