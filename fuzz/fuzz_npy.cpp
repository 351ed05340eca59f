// libFuzzer target: data::read_npy on arbitrary bytes (with and without allow_nan).
#include "cake/data/npy.h"
#include "fuzz_file.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = cake::fuzz::scratch_file(data, size, ".npy");
  cake::fuzz::expect_clean_refusal([&] { cake::data::read_npy(path); });
  cake::fuzz::expect_clean_refusal([&] { cake::data::read_npy(path, {.allow_nan = false}); });
  return 0;
}
