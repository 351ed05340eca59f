// Which dispatch stubs have a CUDA kernel. Runs without a GPU: registration happens when the
// library loads, so the table below is read from the stubs themselves.
//
// In a build with CUDA every stub must have a CUDA kernel (a kernel of Cake's, a cuBLAS/cuDNN/
// CUB call, or glue built from those); the test names any stub without one.
// The table must list every stub in the sources: the test scans the headers for
// CAKE_DECLARE_DISPATCH and fails on any it does not know, so a new stub cannot be forgotten.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <string>
#include <vector>

#include "cake/optim/fused.h"
#include "cake/tensor/dispatch.h"
#include "cake/tensor/native/elementwise.h"
#include "cake/tensor/native/indexing.h"
#include "cake/tensor/native/linalg.h"
#include "cake/tensor/native/nn_kernels.h"
#include "cake/tensor/native/reduce.h"
#include "cake/tensor/random.h"

namespace {

struct StubRow {
  std::string name;
  bool cpu, cuda;
};

template <class Stub>
StubRow row(const Stub& stub) {
  return {stub.name, stub.kernels[static_cast<int>(cake::DeviceType::CPU)] != nullptr,
          stub.kernels[static_cast<int>(cake::DeviceType::CUDA)] != nullptr};
}

std::vector<StubRow> all_stubs() {
  using namespace cake::native;
  namespace fused = cake::optim::fused;
  return {row(unary_stub), row(binary_stub), row(where_stub), row(copy_stub), row(fill_stub),
          row(reduce_stub), row(arg_reduce_stub), row(gemm_stub), row(cdist_squared_stub), row(nearest_rows_stub),
          row(eigh_stub), row(cake::native::random_stub),
          row(conv2d_forward_stub), row(conv2d_backward_data_stub), row(conv2d_backward_weight_stub),
          row(max_pool2d_forward_stub), row(max_pool2d_backward_stub), row(avg_pool2d_forward_stub),
          row(avg_pool2d_backward_stub), row(adaptive_avg_pool2d_forward_stub),
          row(adaptive_avg_pool2d_backward_stub), row(batch_norm_forward_stub), row(batch_norm_backward_stub),
          row(softmax_stub), row(softmax_backward_stub), row(grid_sample_forward_stub),
          row(grid_sample_backward_stub), row(gather_stub), row(scatter_add_stub), row(scatter_stub),
          row(masked_select_stub), row(masked_scatter_stub), row(sort_stub), row(topk_stub), row(cumsum_stub),
          row(unique_stub), row(bincount_stub), row(searchsorted_stub), row(scan_stub), row(kthvalue_stub), row(fused::adam_stub), row(fused::sgd_stub)};
}

}  // namespace

TEST_CASE("every stub declared in the sources is in the table") {
  const char* root = std::getenv("CAKE_SOURCE_DIR");
  REQUIRE_MESSAGE(root != nullptr, "CAKE_SOURCE_DIR is set by tests/CMakeLists.txt");
  std::set<std::string> declared;
  // A declaration line: CAKE_DECLARE_DISPATCH(FnType, name_stub);
  const std::string declare = "CAKE_DECLARE_DISPATCH(";
  for (const char* dir : {"tensor", "autograd", "nn", "optim", "algorithms", "cuda", "data"}) {
    const std::filesystem::path folder = std::filesystem::path(root) / dir;
    if (!std::filesystem::exists(folder)) continue;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(folder)) {
      if (entry.path().extension() != ".h") continue;
      std::ifstream in(entry.path());
      for (std::string line; std::getline(in, line);) {
        const std::size_t start = line.find_first_not_of(" \t");
        if (start == std::string::npos || line.compare(start, declare.size(), declare) != 0) continue;
        const std::size_t comma = line.find(',', start), close = line.find(')', start);
        if (comma == std::string::npos || close == std::string::npos || close < comma) continue;
        std::string name = line.substr(comma + 1, close - comma - 1);
        name.erase(0, name.find_first_not_of(" \t"));
        name.erase(name.find_last_not_of(" \t") + 1);
        declared.insert(name);
      }
    }
  }
  std::set<std::string> listed;
  for (const StubRow& r : all_stubs()) listed.insert(r.name);
  for (const std::string& name : declared) CHECK_MESSAGE(listed.count(name) == 1, name, " is missing from all_stubs()");
  CHECK(declared.size() == listed.size());
}

TEST_CASE("every stub has a CPU kernel, and a CUDA kernel in a build with CUDA") {
  std::vector<std::string> missing;
  int with_cuda = 0;
  for (const StubRow& r : all_stubs()) {
    CHECK_MESSAGE(r.cpu, r.name, " has no CPU kernel");
    if (r.cuda) ++with_cuda;
    else missing.push_back(r.name);
  }
  if (!cake::cuda_backend_compiled()) {
    CHECK(with_cuda == 0);
    std::cout << "CUDA backend not compiled in: no stub has a CUDA kernel\n";
    return;
  }
  std::cout << "CUDA kernels: " << with_cuda << " of " << all_stubs().size() << " stubs\n";
  for (const std::string& name : missing) CHECK_MESSAGE(false, name, " has no CUDA kernel");
  const bool copies_registered = cake::native::cross_device_copy != nullptr;  // host <-> device
  CHECK(copies_registered);
}
