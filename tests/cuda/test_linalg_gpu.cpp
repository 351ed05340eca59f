// GPU test (skipped with exit 77 without a device): linalg::eigh on CUDA (native::eigh_stub's
// cuSOLVER kernel, cuda/backend/linalg_cusolver.cpp) against the CPU's LAPACK, and PCA's
// principal_axes with its eigenproblem on the device against the same function on the CPU.
//
// An eigendecomposition is not unique: each eigenvector is determined up to sign, so vectors
// are compared column by column after aligning signs, and only for spectra with clear gaps (the
// perturbation of an eigenvector is about eps |A| / gap: Golub & Van Loan, "Matrix
// Computations", 4th ed., section 8.1.3). Every result is also checked on its own terms, as the
// CPU tests do: A = V diag(w) V^T, V^T V = I, w ascending. Tolerances scale with n eps |A|, the
// backward error of a stable symmetric eigensolver (ibid., section 8.3).
// Run by tools/cuda-check.sh and tools/cuda-bundle.sh.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "cake/algorithms/detail/device_steps.h"
#include "cake/autograd/ops.h"
#include "cake/cuda/cuda.h"
#include "cake/tensor/creation.h"
#include "cake/tensor/linalg.h"
#include "cake/tensor/random.h"
#include "cuda/cuda_testing.h"

using namespace cake;
namespace steps = cake::algorithms::detail;

namespace {

const Device kGpu = parse_device("cuda");

// Everything is compared on the CPU in float64, so the comparison itself adds no rounding.
Tensor host64(const Tensor& t) { return t.cpu().to(kFloat64); }

double max_abs_diff(const Tensor& a, const Tensor& b) {
  return a.numel() == 0 ? 0.0 : (host64(a) - host64(b)).abs().max().item<double>();
}

double max_abs(const Tensor& t) { return t.numel() == 0 ? 0.0 : host64(t).abs().max().item<double>(); }

double epsilon(DType dtype) {
  return dtype == kFloat32 ? std::numeric_limits<float>::epsilon() : std::numeric_limits<double>::epsilon();
}

// The allowance for an n x n problem of size |A|: 20 n eps |A| (see the header).
double allowance(DType dtype, std::int64_t n, double norm) {
  return 20.0 * static_cast<double>(n) * epsilon(dtype) * std::max(norm, 1.0);
}

// (G + G^T) / 2 for a Gaussian G [n, n]: eigenvalues spread over about [-sqrt(2n), sqrt(2n)],
// some negative, gaps random (so its eigenvectors are not compared between devices).
Tensor gaussian_symmetric(std::int64_t n) {
  const Tensor g = randn({n, n}, kFloat64);
  return ((g + g.t()) * 0.5).contiguous();
}

// A = Q diag(lambda) Q^T with Q orthogonal (the Q of a Gaussian's QR) and known eigenvalues
// lambda_i = i - (n - 1) / 2 (ascending, gaps of 1, negative and positive): its eigenvectors
// are Q's columns, up to sign.
struct KnownSpectrum {
  Tensor a, values, vectors;  // float64, CPU
};
KnownSpectrum known_spectrum(std::int64_t n) {
  const Tensor q = linalg::qr(randn({n, n}, kFloat64)).Q.contiguous();
  const Tensor lambda = arange(0.0, static_cast<double>(n), 1.0, kFloat64) - 0.5 * static_cast<double>(n - 1);
  const Tensor a = matmul(q * lambda.unsqueeze(0), q.t());
  return {((a + a.t()) * 0.5).contiguous(), lambda, q};  // symmetric to the last bit
}

// The largest difference between the columns of u and v once each column of u is given the
// sign that best matches v's (an eigenvector's sign is arbitrary).
double max_diff_up_to_sign(const Tensor& u, const Tensor& v) {
  const Tensor a = host64(u), b = host64(v);
  const Tensor sign = 1.0 - 2.0 * ((a * b).sum(0, true) < 0.0).to(kFloat64);  // [1, n]
  return max_abs_diff(a * sign, b);
}

// What every eigh result must satisfy on its own: shapes, dtype, device, ascending eigenvalues,
// A = V diag(w) V^T and V^T V = I (computed on the host in float64).
void check_decomposition(const Tensor& a, const linalg::EighResult& r, double tol) {
  const std::int64_t n = a.size(-1);
  CHECK(r.eigenvalues.device() == a.device());
  CHECK(r.eigenvectors.device() == a.device());
  CHECK(r.eigenvalues.dtype() == a.dtype());
  CHECK(r.eigenvectors.dtype() == a.dtype());
  REQUIRE(r.eigenvalues.sizes() == Shape{n});
  REQUIRE(r.eigenvectors.sizes() == Shape{n, n});
  const Tensor w = host64(r.eigenvalues), v = host64(r.eigenvectors);
  if (n > 1) CHECK((w.narrow(0, 1, n - 1) - w.narrow(0, 0, n - 1)).min().item<double>() >= 0.0);
  CHECK(max_abs_diff(matmul(v * w.unsqueeze(0), v.t()), a) < tol);
  CHECK(max_abs_diff(matmul(v.t(), v), eye(n, -1, kFloat64)) < tol / std::max(max_abs(a), 1.0));
}

}  // namespace

TEST_CASE("eigh on CUDA: random symmetric matrices, float32 and float64, against LAPACK") {
  manual_seed(31);
  for (DType dtype : {kFloat32, kFloat64}) {
    for (std::int64_t n : {1, 2, 17, 300}) {
      CAPTURE(dtype_name(dtype));
      CAPTURE(n);
      const Tensor a = gaussian_symmetric(n).to(dtype);  // the same matrix on both devices
      const linalg::EighResult cpu = linalg::eigh(a);
      const linalg::EighResult gpu = linalg::eigh(a.to(kGpu));
      const double tol = allowance(dtype, n, max_abs(cpu.eigenvalues));
      check_decomposition(a.to(kGpu), gpu, tol);
      CHECK(max_abs_diff(gpu.eigenvalues, cpu.eigenvalues) < tol);
    }
  }
}

TEST_CASE("eigh on CUDA: a known spectrum, eigenvectors equal LAPACK's and the truth up to sign") {
  manual_seed(32);
  for (DType dtype : {kFloat32, kFloat64}) {
    for (std::int64_t n : {1, 2, 17, 300}) {
      CAPTURE(dtype_name(dtype));
      CAPTURE(n);
      const KnownSpectrum k = known_spectrum(n);
      const Tensor a = k.a.to(dtype);
      const linalg::EighResult cpu = linalg::eigh(a);
      const linalg::EighResult gpu = linalg::eigh(a.to(kGpu));
      const double norm = std::max(max_abs(k.values), 1.0);
      const double tol = allowance(dtype, n, norm);
      check_decomposition(a.to(kGpu), gpu, tol);
      CHECK(max_abs_diff(gpu.eigenvalues, k.values) < tol);
      CHECK(max_abs_diff(gpu.eigenvalues, cpu.eigenvalues) < tol);
      // Gap 1: an eigenvector moves by about eps |A| per unit of its entries.
      const double vector_tol = tol / norm;
      CHECK(max_diff_up_to_sign(gpu.eigenvectors, k.vectors) < vector_tol);
      CHECK(max_diff_up_to_sign(gpu.eigenvectors, cpu.eigenvectors) < vector_tol);
    }
  }
}

TEST_CASE("eigh on CUDA: only the lower triangle is read, any layout, batches") {
  manual_seed(33);
  for (DType dtype : {kFloat32, kFloat64}) {
    CAPTURE(dtype_name(dtype));
    const KnownSpectrum k = known_spectrum(17);
    const Tensor a = k.a.to(dtype);
    const double tol = allowance(dtype, 17, 8.0);
    const linalg::EighResult full = linalg::eigh(a.to(kGpu));
    // Garbage above the diagonal: the cuSOLVER call must read our lower triangle (its upper).
    const Tensor index = arange(17, kInt64);
    const Tensor on_or_below = (index.unsqueeze(1) >= index.unsqueeze(0)).to(dtype);
    const Tensor lower = a * on_or_below + 1000.0 * (1.0 - on_or_below);
    const linalg::EighResult from_lower = linalg::eigh(lower.to(kGpu));
    CHECK(max_abs_diff(from_lower.eigenvalues, full.eigenvalues) < tol);
    CHECK(max_diff_up_to_sign(from_lower.eigenvectors, full.eigenvectors) < tol);
    // A transposed view (not contiguous on the device) of a symmetric matrix is the same matrix.
    const linalg::EighResult transposed = linalg::eigh(a.to(kGpu).t());
    CHECK(max_abs_diff(transposed.eigenvalues, full.eigenvalues) < tol);
    // A batch [3, 17, 17]: each matrix as on its own, and as LAPACK's batch.
    const Tensor batch = stack({a, a * 2.0, -a}, 0);
    const linalg::EighResult gpu = linalg::eigh(batch.to(kGpu));
    const linalg::EighResult cpu = linalg::eigh(batch);
    REQUIRE(gpu.eigenvalues.sizes() == Shape{3, 17});
    REQUIRE(gpu.eigenvectors.sizes() == Shape{3, 17, 17});
    CHECK(max_abs_diff(gpu.eigenvalues, cpu.eigenvalues) < 2.0 * tol);
    CHECK(max_abs_diff(gpu.eigenvalues.select(0, 1), 2.0 * full.eigenvalues) < 2.0 * tol);
    for (std::int64_t i = 0; i < 3; ++i) {
      CAPTURE(i);
      CHECK(max_diff_up_to_sign(gpu.eigenvectors.select(0, i), cpu.eigenvectors.select(0, i)) < tol);
      const Tensor v = host64(gpu.eigenvectors.select(0, i)), w = host64(gpu.eigenvalues.select(0, i));
      CHECK(max_abs_diff(matmul(v * w.unsqueeze(0), v.t()), batch.select(0, i)) < 2.0 * tol);
    }
  }
}

TEST_CASE("eigh on CUDA: errors name the shape and the dtype; empty inputs give empty results") {
  CHECK_THROWS_WITH_AS(linalg::eigh(zeros({2, 3}).to(kGpu)), doctest::Contains("[2, 3]"), Error);
  CHECK_THROWS_WITH_AS(linalg::eigh(zeros({5, 4, 3}, kFloat64).to(kGpu)), doctest::Contains("square"), Error);
  CHECK_THROWS_WITH_AS(linalg::eigh(zeros({4}).to(kGpu)), doctest::Contains("[4]"), Error);
  CHECK_THROWS_WITH_AS(linalg::eigh(zeros({2, 2}, kInt64).to(kGpu)), doctest::Contains("float32 or float64"), Error);
  for (const Shape& shape : {Shape{0, 0}, Shape{0, 3, 3}}) {
    const linalg::EighResult r = linalg::eigh(zeros(shape, kFloat64).to(kGpu));
    Shape values_shape(shape.begin(), shape.end() - 1);
    CHECK(r.eigenvalues.sizes() == values_shape);
    CHECK(r.eigenvectors.sizes() == shape);
    CHECK(r.eigenvalues.is_cuda());
  }
}

TEST_CASE("eigh on CUDA: a NaN matrix is an error or NaN, and the device stays usable") {
  // cuSOLVER reports non-convergence through info > 0, which the kernel turns into an error
  // naming the shape; whether NaN input trips it is cuSOLVER's choice. Either way: no crash, no
  // silent finite answer, and the next call works.
  Tensor a = eye(4, -1, kFloat64);
  a.fill_(std::numeric_limits<double>::quiet_NaN());
  bool threw = false;
  try {
    const linalg::EighResult r = linalg::eigh(a.to(kGpu));
    CHECK(std::isnan(host64(r.eigenvalues).sum().item<double>()));
  } catch (const Error& e) {
    threw = true;
    CHECK(std::string(e.what()).find("[4, 4]") != std::string::npos);
  }
  MESSAGE("NaN input gave ", std::string(threw ? "an error" : "NaN eigenvalues"));
  const linalg::EighResult ok = linalg::eigh(tensor({2.0, 1.0, 1.0, 2.0}, {2, 2}, kFloat64).to(kGpu));
  CHECK(max_abs_diff(ok.eigenvalues, tensor({1.0, 3.0}, {2}, kFloat64)) < 1e-12);
}

TEST_CASE("principal_axes on CUDA: the eigenproblem on the device, the CPU's axes and variances") {
  manual_seed(34);
  // 500 points in 12 dimensions with distinct variances (scales 1..12 on random axes), so every
  // principal axis is well defined.
  const Tensor basis = linalg::qr(randn({12, 12}, kFloat64)).Q;
  const Tensor scales = arange(1.0, 13.0, 1.0, kFloat64);
  const Tensor x64 = matmul(randn({500, 12}, kFloat64) * scales.unsqueeze(0), basis.t()) + 3.0;
  for (DType dtype : {kFloat32, kFloat64}) {
    CAPTURE(dtype_name(dtype));
    const Tensor x = x64.to(dtype);
    const double tol = dtype == kFloat32 ? 1e-3 : 1e-9;
    for (std::int64_t k : {1, 5, 12}) {
      CAPTURE(k);
      const steps::PrincipalAxes cpu = steps::principal_axes(x, k);
      const steps::PrincipalAxes gpu = steps::principal_axes(x.to(kGpu), k);
      CHECK(gpu.components.is_cuda());
      CHECK(gpu.components.dtype() == dtype);
      CHECK(gpu.mean.is_cuda());
      CHECK(gpu.variances.is_cpu());  // the contract: variances come back to the host
      CHECK(gpu.variances.dtype() == kFloat64);
      REQUIRE(gpu.components.sizes() == Shape{k, 12});
      REQUIRE(gpu.variances.sizes() == Shape{12});
      // Relative to the largest variance (144): the covariance GEMM rounds differently on cuBLAS.
      CHECK(max_abs_diff(gpu.variances, cpu.variances) < tol * max_abs(cpu.variances));
      CHECK(max_diff_up_to_sign(gpu.components.t(), cpu.components.t()) < tol * 10.0);
      // Both devices apply svd_flip, so the signs agree as well.
      CHECK(max_abs_diff(gpu.components, cpu.components) < tol * 10.0);
      CHECK(max_abs_diff(gpu.mean, cpu.mean) < tol);
    }
  }
}
