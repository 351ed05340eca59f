// library_defaults.h: a command-line parameter's default, read from the library's options struct.
//
//   {"n_init", ParamType::Int, library_default(&cluster::KMeansOptions::n_init), "independent starts"}
//   {"alpha_H", ParamType::Float, library_default(&decomposition::NMFOptions::alpha_H, "-1"), "..."}
//   {"linkage", ParamType::String, library_choice(&cluster::AgglomerativeClusteringOptions::linkage,
//                                                 cluster::parse_linkage, kLinkages), "...", kLinkages}
//
// The wrappers in tools/algorithms/ take their defaults from a default-constructed options struct
// instead of restating them as text, so `cake run kmeans` and cake::cluster::KMeans start from
// the same settings and cannot drift apart (tests/tools/test_cli_defaults.cpp checks each one).
// The text is what `cake help ALG` shows and what --set would take.
#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace cake::cli {

inline std::string default_text(std::int64_t v) { return std::to_string(v); }
inline std::string default_text(bool v) { return v ? "true" : "false"; }
inline std::string default_text(const std::string& v) { return v; }
// The shortest text that reads back as exactly v, in printf's %g style ("0.0001", "1e-06").
inline std::string default_text(double v) {
  char buffer[32];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), v, std::chars_format::general);
  if (ec != std::errc()) throw std::logic_error("default_text: cannot format a double");
  return std::string(buffer, end);
}

// The default of `field` in a default-constructed Options.
template <class Options, class T>
std::string library_default(T Options::*field) {
  const Options defaults{};
  return default_text(defaults.*field);
}

// An optional field: its default, or `unset` (the command line's spelling of "no value", e.g.
// "-1" or "0") when the library leaves it empty.
template <class Options, class T>
std::string library_default(std::optional<T> Options::*field, const std::string& unset) {
  const Options defaults{};
  const std::optional<T> v = defaults.*field;
  return v ? default_text(*v) : unset;
}

// An enum field: the one of `choices` that `parse` turns into the library's default.
template <class Options, class Enum>
std::string library_choice(Enum Options::*field, Enum (*parse)(const std::string&), const std::vector<std::string>& choices) {
  const Options defaults{};
  const Enum wanted = defaults.*field;
  for (const std::string& choice : choices)
    if (parse(choice) == wanted) return choice;
  throw std::logic_error("library_choice: the library's default is none of the listed choices");
}

}  // namespace cake::cli
