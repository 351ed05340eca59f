// libFuzzer target: load_safetensors on arbitrary bytes (header length, JSON header, dtypes,
// shapes, data offsets, the checksum).
#include "fuzz_file.h"
#include "cake/tensor/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = cake::fuzz::scratch_file(data, size, ".safetensors");
  cake::fuzz::expect_clean_refusal([&] { cake::load_safetensors(path.string()); });
  return 0;
}
