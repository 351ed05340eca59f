// libFuzzer target: data::read_csv on arbitrary text. The first byte picks the options (header
// forced or detected, a label column by index, the delimiter, allow_nan), the rest is the file.
#include "cake/data/csv.h"
#include "fuzz_file.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t choice = data[0];
  cake::data::CsvOptions options;
  if (choice & 1) options.header = (choice & 2) != 0;
  if (choice & 4) options.label_index = (choice & 8) ? -1 : 0;
  if (choice & 16) options.delimiter = (choice & 32) ? ';' : '\t';
  options.allow_nan = (choice & 64) != 0;
  const auto path = cake::fuzz::scratch_file(data + 1, size - 1, ".csv");
  cake::fuzz::expect_clean_refusal([&] { cake::data::read_csv(path, options); });
  return 0;
}
