// fuzz_params.h: an algorithm entry with one parameter of every type (and a choice list), for
// the targets that fuzz parameter parsing; read_back reads every value through its typed
// getter, as a run function would.
#pragma once

#include <string>

#include "tools/params.h"
#include "tools/registry.h"

namespace cake::fuzz {

inline const cli::AlgorithmEntry& every_type() {
  using cli::ParamType;
  static const cli::AlgorithmEntry entry{
      .name = "fuzz",
      .summary = "one parameter of every type",
      .reference = "",
      .params = {{"n_clusters", ParamType::Int, "8", "an int"},
                 {"tol", ParamType::Float, "1e-4", "a float"},
                 {"init", ParamType::String, "k-means++", "a choice", {"k-means++", "random"}},
                 {"name", ParamType::String, "", "any string"},
                 {"verbose", ParamType::Bool, "false", "a bool"},
                 {"hidden", ParamType::IntList, "64,32", "an int list"},
                 {"weights", ParamType::FloatList, "", "a float list"}},
      .run = nullptr,
  };
  return entry;
}

inline void read_back(const cli::Params& p) {
  (void)p.get_int("n_clusters");
  (void)p.get_float("tol");
  (void)p.get_string("init");
  (void)p.get_string("name");
  (void)p.get_bool("verbose");
  (void)p.get_int_list("hidden");
  (void)p.get_float_list("weights");
}

inline void parse_seed(const std::string& text) { (void)cli::parse_seed(text, "--seed"); }
inline void parse_seed(const nlohmann::json& value) { (void)cli::parse_seed(value, "seed"); }

}  // namespace cake::fuzz
