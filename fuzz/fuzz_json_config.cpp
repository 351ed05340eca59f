// libFuzzer target: a --config file: cli::read_json_file (size bound, duplicate keys, syntax),
// then the parameters resolved against an algorithm with one parameter of every type, and the
// seed as a previous run's config.json would carry it.
#include "fuzz_file.h"
#include "fuzz_params.h"
#include "tools/output.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = cake::fuzz::scratch_file(data, size, ".json");
  cake::fuzz::expect_clean_refusal([&] {
    const nlohmann::json config = cake::cli::read_json_file(path);
    const nlohmann::json params = config.is_object() && config.contains("params") ? config["params"] : config;
    const cake::cli::Params p = cake::cli::resolve_params(cake::fuzz::every_type(), params, {});
    cake::fuzz::read_back(p);
    if (config.is_object() && config.contains("seed")) cake::fuzz::parse_seed(config["seed"]);
    (void)cake::cli::dump_json(config, 2);
  });
  return 0;
}
