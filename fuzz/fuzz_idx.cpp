// libFuzzer target: data::read_idx on arbitrary bytes (raw IDX, or gzip'd: zlib's gzopen
// reads both, so compressed inputs exercise the size checks after inflation too).
#include "cake/data/idx.h"
#include "fuzz_file.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = cake::fuzz::scratch_file(data, size, ".idx");
  cake::fuzz::expect_clean_refusal([&] { cake::data::read_idx(path); });
  return 0;
}
