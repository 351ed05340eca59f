// registry.cpp: the table of algorithms the command line knows (see registry.h).
#include "tools/registry.h"

#include <cstdio>
#include <cstdlib>
#include <set>

#include "tools/params.h"

namespace cake::cli {

namespace {
// A function-local static: registrars in other translation units may run before any global
// of this file is constructed, and this is built on first use whatever the order.
std::map<std::string, AlgorithmEntry>& registered_algorithms() {
  static std::map<std::string, AlgorithmEntry> entries;
  return entries;
}

// Registration runs before main(), where an exception could not be reported: print the
// mistake and stop, so a broken wrapper is caught the first time `cake` starts.
[[noreturn]] void refuse(const std::string& name, const std::string& why) {
  std::fprintf(stderr, "cake: cannot register algorithm '%s': %s\n", name.c_str(), why.c_str());
  std::abort();
}
}  // namespace

const char* multi_rank_text(MultiRank mode) {
  switch (mode) {
    case MultiRank::Sharded: return "rows sharded over the ranks";
    case MultiRank::DataParallel: return "trains data-parallel";
    case MultiRank::DataParallelPretraining: return "the autoencoder trains data-parallel, the rest runs on every rank";
    case MultiRank::SingleProcess: break;
  }
  return "one process only";
}

void register_algorithm(AlgorithmEntry entry) {
  if (entry.name.empty()) refuse(entry.name, "empty name");
  if (!entry.run) refuse(entry.name, "no run function");
  if (registered_algorithms().count(entry.name)) refuse(entry.name, "the name is registered twice");
  std::set<std::string> seen;
  for (const auto& spec : entry.params) {
    if (!seen.insert(spec.name).second) refuse(entry.name, "parameter " + spec.name + " is declared twice");
    try {
      parse_param_text(entry.name, spec, spec.default_value);
    } catch (const std::exception& e) {
      refuse(entry.name, std::string("bad default: ") + e.what());
    }
  }
  std::string name = entry.name;
  registered_algorithms().emplace(std::move(name), std::move(entry));
}

const std::map<std::string, AlgorithmEntry>& algorithms() { return registered_algorithms(); }

}  // namespace cake::cli
