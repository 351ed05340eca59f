// cpu/blas_kernels.cpp: the CPU GEMM behind matmul, addmm and cdist_squared.
//
// float32/float64 call OpenBLAS (cblas_sgemm / cblas_dgemm) straight on the operands' memory:
// row-major and transposed views need no copy (NOTE [ BLAS on strided views ] in
// native/linalg.h), and the result is written directly into `out` with the caller's alpha and
// beta. A batch is one GEMM per matrix, broadcast operands simply repeating a pointer.
// int64/uint8 have no BLAS, so they take naive_gemm below: a plain loop, correct, not fast.
#include <cblas.h>

#include <climits>
#include <type_traits>
#include <vector>

#include "tensor/native/elementwise.h"
#include "tensor/native/linalg.h"
#include "tensor/parallel.h"

namespace cake::cpu {
namespace {

// One overload per precision, so the batch loop below is written once.
void blas_gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, blasint m, blasint n, blasint k, float alpha, const float* a,
               blasint lda, const float* b, blasint ldb, float beta, float* c, blasint ldc) {
  cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
void blas_gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, blasint m, blasint n, blasint k, double alpha, const double* a,
               blasint lda, const double* b, blasint ldb, double beta, double* c, blasint ldc) {
  cblas_dgemm(CblasRowMajor, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

blasint blas_int(std::int64_t v) {
  CAKE_CHECK(v <= INT_MAX, "matmul: size or stride ", v, " exceeds OpenBLAS's 32-bit index range");
  return static_cast<blasint>(v);
}

// The element offset of every matrix of `t` (dims all but the last two are the batch), in
// row-major batch order. A broadcast batch dim has stride 0, so its offsets repeat.
std::vector<std::int64_t> matrix_offsets(const Tensor& t) {
  const std::int64_t batch_dims = t.dim() - 2;
  std::int64_t count = 1;
  for (std::int64_t d = 0; d < batch_dims; ++d) count *= t.sizes()[d];
  std::vector<std::int64_t> offsets(static_cast<std::size_t>(count));
  Shape index(static_cast<std::size_t>(batch_dims), 0);
  std::int64_t offset = 0;
  for (std::int64_t i = 0; i < count; ++i) {
    offsets[static_cast<std::size_t>(i)] = offset;
    for (std::int64_t d = batch_dims - 1; d >= 0; --d) {  // advance the odometer
      if (++index[d] < t.sizes()[d]) {
        offset += t.strides()[d];
        break;
      }
      offset -= (t.sizes()[d] - 1) * t.strides()[d];
      index[d] = 0;
    }
  }
  return offsets;
}

// OpenBLAS runs a GEMM this small (M*N*K) on one thread anyway (interface/gemm.c: below
// 65536 * GEMM_MULTITHREAD_THRESHOLD), so for a batch of them the threads are better spent
// on different matrices.
constexpr std::int64_t kSmallGemmWork = 65536 * 4;

template <class T>
void blas_batched_gemm(const Tensor& a, const Tensor& b, const Tensor& out, T alpha, T beta) {
  const std::int64_t M = out.size(-2), N = out.size(-1), K = a.size(-1);
  const native::MatrixLayout la = *native::blas_layout(a), lb = *native::blas_layout(b);
  const native::MatrixLayout lc = *native::blas_layout(out);
  const std::vector<std::int64_t> oa = matrix_offsets(a), ob = matrix_offsets(b), oc = matrix_offsets(out);
  const T* pa = a.data_ptr<T>();
  const T* pb = b.data_ptr<T>();
  T* pc = out.data_ptr<T>();
  const auto batch = static_cast<std::int64_t>(oc.size());
  auto one_matrix = [&](std::int64_t i) {
    const auto s = static_cast<std::size_t>(i);
    blas_gemm(la.transposed ? CblasTrans : CblasNoTrans, lb.transposed ? CblasTrans : CblasNoTrans, blas_int(M),
              blas_int(N), blas_int(K), alpha, pa + oa[s], blas_int(la.ld), pb + ob[s], blas_int(lb.ld), beta,
              pc + oc[s], blas_int(lc.ld));
  };
  const std::int64_t work = M * N * K;
  if (batch > 1 && work <= kSmallGemmWork) {
    // Split the batch across threads when it holds enough work to pay for starting them.
    const std::int64_t grain = std::max<std::int64_t>(1, 32768 / std::max<std::int64_t>(work, 1));
    parallel_for(0, batch, grain, [&](std::int64_t lo, std::int64_t hi) {
      for (std::int64_t i = lo; i < hi; ++i) one_matrix(i);
    });
  } else {
    for (std::int64_t i = 0; i < batch; ++i) one_matrix(i);
  }
}

// The reference GEMM, for the integer dtypes: out = beta * out + alpha * a @ b, loop order
// i, k, j so the inner loop runs along rows of b and out. uint8 wraps modulo 256, as PyTorch.
template <class T>
void naive_gemm(const Tensor& a, const Tensor& b, const Tensor& out, T alpha, T beta) {
  const std::int64_t M = out.size(-2), N = out.size(-1), K = a.size(-1);
  const std::vector<std::int64_t> oa = matrix_offsets(a), ob = matrix_offsets(b), oc = matrix_offsets(out);
  const std::int64_t a_rs = a.stride(-2), a_cs = a.stride(-1), b_rs = b.stride(-2), b_cs = b.stride(-1);
  const std::int64_t c_rs = out.stride(-2), c_cs = out.stride(-1);
  const T* pa = a.data_ptr<T>();
  const T* pb = b.data_ptr<T>();
  T* pc = out.data_ptr<T>();
  const auto batch = static_cast<std::int64_t>(oc.size());
  // One task per output row of the whole batch.
  parallel_for(0, batch * M, std::max<std::int64_t>(1, 32768 / std::max<std::int64_t>(N * K, 1)),
               [&](std::int64_t lo, std::int64_t hi) {
                 std::vector<T> row(static_cast<std::size_t>(N));
                 for (std::int64_t r = lo; r < hi; ++r) {
                   const auto s = static_cast<std::size_t>(r / M);
                   const std::int64_t i = r % M;
                   std::fill(row.begin(), row.end(), T(0));
                   for (std::int64_t k = 0; k < K; ++k) {
                     const T aik = pa[oa[s] + i * a_rs + k * a_cs];
                     const T* brow = pb + ob[s] + k * b_rs;
                     for (std::int64_t j = 0; j < N; ++j) row[j] = static_cast<T>(row[j] + aik * brow[j * b_cs]);
                   }
                   T* crow = pc + oc[s] + i * c_rs;
                   for (std::int64_t j = 0; j < N; ++j) {
                     const T scaled = static_cast<T>(alpha * row[j]);
                     crow[j * c_cs] = beta == T(0) ? scaled : static_cast<T>(beta * crow[j * c_cs] + scaled);
                   }
                 }
               });
}

void gemm_kernel(const Tensor& a, const Tensor& b, const Tensor& out, Scalar alpha, Scalar beta) {
  if (a.size(-1) == 0) {  // an empty sum: out = beta * out (BLAS is not asked about K = 0)
    if (beta.to_double() == 0.0) native::fill_(out, 0);
    else native::binary_(native::BinaryOp::Mul, out, beta);
    return;
  }
  visit_dtype(out.dtype(), [&]<class T>() {
    if constexpr (std::is_floating_point_v<T>) {
      blas_batched_gemm<T>(a, b, out, alpha.to<T>(), beta.to<T>());
    } else if constexpr (std::is_same_v<T, bool>) {
      CAKE_FAIL("matmul: bool tensors cannot be multiplied");
    } else {
      naive_gemm<T>(a, b, out, alpha.to<T>(), beta.to<T>());
    }
  });
}

}  // namespace

CAKE_REGISTER_KERNEL(native::gemm_stub, DeviceType::CPU, &gemm_kernel);

}  // namespace cake::cpu
