// libFuzzer target: the command line's --set assignments and --seed text. The input is split
// at newlines into "name=value" assignments (the last line is also tried as a seed), resolved
// against an algorithm with one parameter of every type.
#include <string>
#include <vector>

#include "fuzz_file.h"
#include "fuzz_params.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> assignments;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t end = std::min(text.find('\n', start), text.size());
    assignments.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  cake::fuzz::expect_clean_refusal([&] {
    const cake::cli::Params p = cake::cli::resolve_params(cake::fuzz::every_type(), nullptr, assignments);
    cake::fuzz::read_back(p);
    (void)cake::cli::describe_params(cake::fuzz::every_type());
  });
  cake::fuzz::expect_clean_refusal([&] { cake::fuzz::parse_seed(assignments.back()); });
  return 0;
}
