// cake::cuda's availability queries and the behaviour of a build with or without CUDA on a
// machine with or without a GPU (NOTE [ Sticky no-device error ] in
// cuda/backend/device_api_cuda.cpp). Runs everywhere; the checks adapt to what is present.
#include <doctest/doctest.h>

#include <string>

#include "cake/cuda/cuda.h"
#include "cake/tensor/creation.h"
#include "cake/tensor/dispatch.h"
#include "cake/tensor/error.h"

TEST_CASE("is_available agrees with device_count and the answer is stable") {
  const int n = cake::cuda::device_count();
  CHECK(n >= 0);
  CHECK(cake::cuda::is_available() == (n > 0));
  for (int i = 0; i < 3; ++i) CHECK(cake::cuda::device_count() == n);  // cached, not re-probed
#ifdef CAKE_HAVE_CUDA
  CHECK(cake::cuda_backend_compiled());
#else
  CHECK_FALSE(cake::cuda_backend_compiled());
  CHECK(n == 0);
#endif
}

TEST_CASE("without a device, CUDA tensors are a clear error and the queries stay harmless") {
  if (cake::cuda::is_available()) return;  // the GPU tests cover that case
  try {
    (void)cake::zeros({2, 3}, cake::Device::cuda());
    FAIL("expected an error");
  } catch (const cake::Error& e) {
    const std::string msg = e.what();
#ifdef CAKE_HAVE_CUDA
    CHECK(msg.find("no CUDA device is available") != std::string::npos);
#else
    CHECK(msg.find("built without CUDA") != std::string::npos);
#endif
  }
  // Still no device, and nothing else broke (a second probe would see the same sticky error).
  CHECK_FALSE(cake::cuda::is_available());
  cake::cuda::synchronize();
  cake::cuda::empty_cache();
  const cake::cuda::MemoryStats s = cake::cuda::memory_stats();
  CHECK(s.allocated_bytes == 0);
  CHECK(s.reserved_bytes == 0);
  // CPU work is unaffected.
  CHECK(cake::ones({4}).sum().item<float>() == 4.0f);
}

TEST_CASE("the TF32 switch is off by default and round-trips") {
  CHECK_FALSE(cake::cuda::allow_tf32());
  cake::cuda::set_allow_tf32(true);
  CHECK(cake::cuda::allow_tf32());
  cake::cuda::set_allow_tf32(false);
  CHECK_FALSE(cake::cuda::allow_tf32());
}
