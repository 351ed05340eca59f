// params.h: turning --config and --set text into an algorithm's typed parameters.
//
//   const AlgorithmEntry& kmeans = algorithms().at("kmeans-lloyd");
//   Params p = resolve_params(kmeans, nlohmann::json::parse(R"({"n_clusters": 5})"), {"max_iter=50"});
//   p.get_int("n_clusters");   // 5 (from the config), p.get_int("max_iter") == 50 (from --set)
//
// Every parameter starts at its declared default, the --config object overrides it, and --set
// overrides that. An unknown name, an ill-typed value or a value outside `choices` throws a
// UsageError that lists the valid parameters.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tools/registry.h"

namespace cake::cli {

// "int", "float", "string", "bool", "int list", "float list".
const char* type_name(ParamType type);

// The value of `spec` written as on the command line ("10", "0.5", "true", "64,32,10"),
// as JSON of the parameter's type; throws UsageError naming the algorithm and parameter.
nlohmann::json parse_param_text(const std::string& algorithm, const ParamSpec& spec, const std::string& text);
// The same for a value from a JSON config file (numbers, strings, booleans, arrays).
nlohmann::json check_param_json(const std::string& algorithm, const ParamSpec& spec, const nlohmann::json& value);

// Defaults, then `config` (a JSON object of name: value), then `assignments` ("name=value").
Params resolve_params(const AlgorithmEntry& algorithm, const nlohmann::json& config,
                      const std::vector<std::string>& assignments);

// A seed as typed after --seed (or found in a --config): a whole number from 0 to 2^64 - 1.
// Anything else (-1, which would wrap to 2^64 - 1; 1.5; "7"; text) is a UsageError naming
// `where` and the valid range.
std::uint64_t parse_seed(const std::string& text, const std::string& where);
std::uint64_t parse_seed(const nlohmann::json& value, const std::string& where);

// The parameter table printed by `cake help ALG` and inside errors: one line per parameter
// with its type, default, allowed values and help.
std::string describe_params(const AlgorithmEntry& algorithm);

}  // namespace cake::cli
