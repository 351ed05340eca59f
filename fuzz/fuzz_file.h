// fuzz_file.h: what every fuzz target shares. The readers take paths, so each input is written
// to one scratch file per process (in $TMPDIR, /tmp by default) and read back from there.
//
//   extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
//     cake::fuzz::expect_clean_refusal([&] { cake::data::read_npy(cake::fuzz::scratch_file(data, size, ".npy")); });
//     return 0;
//   }
//
// The contract under test: a reader either returns a value or throws cake::Error (a message
// naming the file and the fault). Any other exception aborts, so libFuzzer records it as a
// crash, as it does for the sanitizers' reports (overflows, use after free, undefined
// behaviour such as a signed overflow or an out-of-range float to int conversion).
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>

#include "cake/tensor/error.h"

namespace cake::fuzz {

inline std::filesystem::path scratch_file(const std::uint8_t* data, std::size_t size, const std::string& extension) {
  const char* dir = std::getenv("TMPDIR");
  const std::filesystem::path path = std::filesystem::path(dir && *dir ? dir : "/tmp") /
                                     ("cake_fuzz_" + std::to_string(::getpid()) + extension);
  // Removed when the process exits (libFuzzer ends its runs with exit()).
  static struct Remover {
    std::filesystem::path file;
    ~Remover() {
      std::error_code ignored;
      if (!file.empty()) std::filesystem::remove(file, ignored);
    }
  } remover;
  remover.file = path;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  return path;
}

template <class F>
void expect_clean_refusal(const F& body) {
  try {
    body();
  } catch (const cake::Error&) {
    // the documented refusal
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz: an exception other than cake::Error escaped: %s\n", e.what());
    std::abort();
  }
}

}  // namespace cake::fuzz
