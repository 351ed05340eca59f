// The algorithms reach BLAS and LAPACK only through tensor/'s public numerics layer
// (tensor/blas.h, tensor/pairwise.h, tensor/linalg.h), never through <cblas.h>, hand-declared
// Fortran routines or a backend's internal headers (tensor/cpu/...): that is the seam a CUDA
// backend serves without the algorithms changing. This test reads every source file under
// algorithms/ and tools/ and names any that crosses it.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

std::string read_file(const fs::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

TEST_CASE("algorithms/ and tools/ use the public numerics layer, never BLAS, LAPACK or tensor/cpu/ directly") {
  const char* source_dir = std::getenv("CAKE_SOURCE_DIR");
  REQUIRE_MESSAGE(source_dir != nullptr, "CAKE_SOURCE_DIR is not set (ctest sets it)");
  const std::vector<std::string> forbidden = {"#include <cblas.h>", "#include <lapacke.h>", "#include \"tensor/cpu/", "#include \"cake/tensor/cpu/",
                                              "extern \"C\"", "cblas_", "openblas_set_num_threads"};
  std::int64_t files = 0;
  for (const char* folder : {"algorithms", "tools"}) {
    for (const auto& entry : fs::recursive_directory_iterator(fs::path(source_dir) / folder)) {
      const std::string ext = entry.path().extension().string();
      if (!entry.is_regular_file() || (ext != ".h" && ext != ".cpp")) continue;
      ++files;
      const std::string text = read_file(entry.path());
      for (const std::string& pattern : forbidden)
        CHECK_MESSAGE(text.find(pattern) == std::string::npos, entry.path().string() << " contains `" << pattern
                                                                                     << "`: use tensor/blas.h or tensor/linalg.h");
    }
  }
  CHECK(files > 50);  // the folders were found and read
}

// The installed package exports only include/ (as include/cake/...), so the library's own files
// must include each other as "cake/tensor/tensor.h", never "tensor/tensor.h" (which would only
// resolve inside this repository), and no installed header may need OpenMP, MPI or NCCL.
TEST_CASE("library files include Cake as cake/..., and no installed header uses OpenMP, MPI or NCCL") {
  const char* source_dir = std::getenv("CAKE_SOURCE_DIR");
  REQUIRE_MESSAGE(source_dir != nullptr, "CAKE_SOURCE_DIR is not set (ctest sets it)");
  const std::vector<std::string> layers = {"tensor", "autograd", "nn", "optim", "data", "algorithms", "distributed", "cuda"};
  std::int64_t files = 0;
  for (const std::string& folder : layers) {
    for (const auto& entry : fs::recursive_directory_iterator(fs::path(source_dir) / folder)) {
      const std::string ext = entry.path().extension().string();
      if (!entry.is_regular_file() || (ext != ".h" && ext != ".cpp" && ext != ".cu" && ext != ".cuh")) continue;
      ++files;
      const std::string text = read_file(entry.path());
      for (const std::string& layer : layers)
        CHECK_MESSAGE(text.find("#include \"" + layer + "/") == std::string::npos,
                      entry.path().string() << " includes \"" << layer << "/...\": write \"cake/" << layer << "/...\"");
      const bool installed_header = ext == ".h" && entry.path().string().find("/detail/") == std::string::npos;
      if (installed_header) {
        CHECK_MESSAGE(text.find("#include <omp.h>") == std::string::npos, entry.path().string() << " includes <omp.h>");
        CHECK_MESSAGE(text.find("#pragma omp") == std::string::npos, entry.path().string() << " has an OpenMP pragma");
        // MPI and NCCL stay inside distributed/backend/*.cpp: the installed package needs neither.
        for (const char* hidden : {"#include <mpi.h>", "#include <nccl.h>"})
          CHECK_MESSAGE(text.find(hidden) == std::string::npos, entry.path().string() << " contains " << hidden);
      }
    }
  }
  CHECK(files > 200);
}
