// test_files.h: a scratch folder per test program and byte-level file helpers for the reader
// tests in tests/data/.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "helpers.h"  // error_message

namespace cake::testing {

// A fresh folder under $TMPDIR, else the RAM-backed /dev/shm when there is one (the fuzz test
// writes thousands of small files), else the system temp dir; removed at destruction.
inline std::filesystem::path scratch_root() {
  std::error_code ec;
  if (!std::getenv("TMPDIR") && std::filesystem::is_directory("/dev/shm", ec)) return "/dev/shm";
  return std::filesystem::temp_directory_path();
}

class ScratchDir {
 public:
  explicit ScratchDir(const std::string& name) : path_(scratch_root() / (name + "_" + std::to_string(::getpid()))) {
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  std::filesystem::path operator/(const std::string& file) const { return path_ / file; }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline void write_bytes(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline std::string read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The folder of the checked-in fixture files next to this header. CTest passes the source tree
// as CAKE_SOURCE_DIR; __FILE__ is the fallback (a compiler cache may make it relative).
inline std::filesystem::path fixture_dir() {
  if (const char* source = std::getenv("CAKE_SOURCE_DIR")) return std::filesystem::path(source) / "tests/data/fixtures";
  return std::filesystem::path(__FILE__).parent_path() / "fixtures";
}

}  // namespace cake::testing
