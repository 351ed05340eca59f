// tests/cuda/cuda_testing.h: for test files that need a CUDA device (test_*_gpu.cpp).
//
// Including this header makes the test program exit with code 77 before any test runs when no
// device is available; tests/CMakeLists.txt sets SKIP_RETURN_CODE 77 on every *_gpu test, so
// CTest reports it as skipped (not passed, not failed) on machines without a GPU.
#pragma once

#include <cstdio>
#include <cstdlib>

#include "cake/cuda/cuda.h"

namespace cake::testing {

inline const bool gpu_present = [] {
  if (!cake::cuda::is_available()) {
    std::printf("SKIP: no CUDA device (built %s CUDA); this test runs on a GPU machine (tools/cuda-check.sh)\n",
#ifdef CAKE_HAVE_CUDA
                "with"
#else
                "without"
#endif
    );
    std::exit(77);
  }
  return true;
}();

}  // namespace cake::testing
