// params.cpp: parsing, checking and reading algorithm parameters (see params.h, registry.h).
#include "tools/params.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <sstream>

#include "tools/errors.h"

namespace cake::cli {

using nlohmann::json;

const char* type_name(ParamType type) {
  switch (type) {
    case ParamType::Int: return "int";
    case ParamType::Float: return "float";
    case ParamType::String: return "string";
    case ParamType::Bool: return "bool";
    case ParamType::IntList: return "int list";
    case ParamType::FloatList: return "float list";
  }
  return "?";
}

namespace {

std::string trim(const std::string& text) {
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string::npos) return "";
  const auto last = text.find_last_not_of(" \t");
  return text.substr(first, last - first + 1);
}

bool parse_int(const std::string& text, std::int64_t& value) {
  const std::string t = trim(text);
  const char* begin = t.data() + (t.size() > 1 && t[0] == '+' ? 1 : 0);
  const auto [end, error] = std::from_chars(begin, t.data() + t.size(), value);
  return error == std::errc() && end == t.data() + t.size() && !t.empty();
}

bool parse_float(const std::string& text, double& value) {
  const std::string t = trim(text);
  if (t.empty()) return false;
  char* end = nullptr;
  value = std::strtod(t.c_str(), &end);
  return end == t.c_str() + t.size() && std::isfinite(value);
}

bool parse_bool(const std::string& text, bool& value) {
  std::string t = trim(text);
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  const bool is_true = t == "true" || t == "1" || t == "yes" || t == "on";
  const bool is_false = t == "false" || t == "0" || t == "no" || t == "off";
  value = is_true;
  return is_true || is_false;
}

// "64,32,10" or "[64, 32, 10]" into its items ("" and "[]" are the empty list).
std::vector<std::string> split_list(const std::string& text) {
  std::string t = trim(text);
  if (t.size() >= 2 && t.front() == '[' && t.back() == ']') t = trim(t.substr(1, t.size() - 2));
  std::vector<std::string> items;
  if (t.empty()) return items;
  std::stringstream stream(t);
  for (std::string item; std::getline(stream, item, ',');) items.push_back(trim(item));
  return items;
}

// " (outside the int range ...)" when `text` is a whole number too large for int64.
std::string int_range_note(const std::string& text) {
  const std::string t = trim(text);
  const std::size_t digits = t.find_first_not_of("+-") == std::string::npos ? 0 : t.find_first_not_of("+-");
  if (t.empty() || digits > 1 || t.size() == digits ||
      t.find_first_not_of("0123456789", digits) != std::string::npos)
    return "";
  return " (outside the int range [-9223372036854775808, 9223372036854775807])";
}

[[noreturn]] void ill_typed(const std::string& algorithm, const ParamSpec& spec, const std::string& got) {
  std::string message = algorithm + ": parameter " + spec.name + " expects " +
                        (spec.type == ParamType::Int ? "an " : "a ") + type_name(spec.type) + ", got " + got;
  if (spec.type == ParamType::IntList || spec.type == ParamType::FloatList) message += " (write lists as 64,32,10)";
  throw UsageError(message);
}

void check_choice(const std::string& algorithm, const ParamSpec& spec, const std::string& value) {
  if (spec.choices.empty() || std::find(spec.choices.begin(), spec.choices.end(), value) != spec.choices.end()) return;
  std::string allowed;
  for (const auto& choice : spec.choices) allowed += (allowed.empty() ? "" : ", ") + choice;
  throw UsageError(algorithm + ": parameter " + spec.name + " must be one of {" + allowed + "}, got '" + value + "'");
}

// The classic edit distance, to suggest the parameter a typo meant.
std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

const ParamSpec& find_spec(const AlgorithmEntry& algorithm, const std::string& name) {
  for (const auto& spec : algorithm.params)
    if (spec.name == name) return spec;
  std::string message = algorithm.name + " has no parameter '" + name + "'.";
  const ParamSpec* closest = nullptr;
  std::size_t best = 3;  // suggest only near misses
  for (const auto& spec : algorithm.params) {
    const std::size_t d = edit_distance(name, spec.name);
    if (d < best) {
      best = d;
      closest = &spec;
    }
  }
  if (closest) message += " Did you mean " + closest->name + "?";
  if (algorithm.params.empty()) {
    message += " It takes no parameters.";
  } else {
    message += " Valid parameters:\n" + describe_params(algorithm);
  }
  throw UsageError(message);
}

std::string json_kind(const json& value) {
  if (value.is_boolean()) return "a boolean (" + value.dump() + ")";
  if (value.is_number()) return "the number " + value.dump();
  if (value.is_string()) return "the string " + value.dump();
  if (value.is_array()) return "the array " + value.dump();
  if (value.is_null()) return "null";
  return "the object " + value.dump();
}

}  // namespace

json parse_param_text(const std::string& algorithm, const ParamSpec& spec, const std::string& text) {
  const std::string quoted = "'" + text + "'";
  switch (spec.type) {
    case ParamType::Int: {
      std::int64_t v = 0;
      if (!parse_int(text, v)) ill_typed(algorithm, spec, quoted + int_range_note(text));
      return v;
    }
    case ParamType::Float: {
      double v = 0;
      if (!parse_float(text, v)) ill_typed(algorithm, spec, quoted);
      return v;
    }
    case ParamType::Bool: {
      bool v = false;
      if (!parse_bool(text, v)) ill_typed(algorithm, spec, quoted);
      return v;
    }
    case ParamType::String:
      check_choice(algorithm, spec, text);
      return text;
    case ParamType::IntList: {
      json list = json::array();
      for (const auto& item : split_list(text)) {
        std::int64_t v = 0;
        if (!parse_int(item, v)) ill_typed(algorithm, spec, quoted + int_range_note(item));
        list.push_back(v);
      }
      return list;
    }
    case ParamType::FloatList: {
      json list = json::array();
      for (const auto& item : split_list(text)) {
        double v = 0;
        if (!parse_float(item, v)) ill_typed(algorithm, spec, quoted);
        list.push_back(v);
      }
      return list;
    }
  }
  ill_typed(algorithm, spec, quoted);
}

json check_param_json(const std::string& algorithm, const ParamSpec& spec, const json& value) {
  // JSON has one number type: an int parameter accepts 10 and 10.0 but not 10.5.
  // Beyond int64 a value would wrap (18446744073709551615 read as -1) or, cast from a double,
  // be undefined behaviour: refused, with the range.
  auto as_int = [&](const json& v) -> std::int64_t {
    const bool too_big = (v.is_number_unsigned() && v.get<std::uint64_t>() > std::uint64_t{INT64_MAX}) ||
                         (v.is_number_float() && std::isfinite(v.get<double>()) &&
                          (v.get<double>() >= 9.2233720368547758e18 || v.get<double>() < -9.2233720368547758e18));
    if (too_big)
      throw UsageError(algorithm + ": parameter " + spec.name + " is " + json_kind(value) +
                       ", outside the int range [-9223372036854775808, 9223372036854775807]");
    if (v.is_number_integer()) return v.get<std::int64_t>();
    if (v.is_number_float() && std::nearbyint(v.get<double>()) == v.get<double>()) return static_cast<std::int64_t>(v.get<double>());
    ill_typed(algorithm, spec, json_kind(value));
  };
  auto as_float = [&](const json& v) -> double {
    if (!v.is_number() || !std::isfinite(v.get<double>())) ill_typed(algorithm, spec, json_kind(value));
    return v.get<double>();
  };
  switch (spec.type) {
    case ParamType::Int: return as_int(value);
    case ParamType::Float: return as_float(value);
    case ParamType::Bool:
      if (!value.is_boolean()) ill_typed(algorithm, spec, json_kind(value));
      return value;
    case ParamType::String:
      if (!value.is_string()) ill_typed(algorithm, spec, json_kind(value));
      check_choice(algorithm, spec, value.get<std::string>());
      return value;
    case ParamType::IntList:
    case ParamType::FloatList: {
      if (!value.is_array()) ill_typed(algorithm, spec, json_kind(value));
      json list = json::array();
      for (const auto& item : value) {
        if (spec.type == ParamType::IntList) {
          list.push_back(as_int(item));
        } else {
          list.push_back(as_float(item));
        }
      }
      return list;
    }
  }
  ill_typed(algorithm, spec, json_kind(value));
}

Params resolve_params(const AlgorithmEntry& algorithm, const json& config, const std::vector<std::string>& assignments) {
  Params params;
  for (const auto& spec : algorithm.params)
    params.json()[spec.name] = parse_param_text(algorithm.name, spec, spec.default_value);

  if (!config.is_null()) {
    if (!config.is_object()) throw UsageError("--config: expected a JSON object of parameter: value, got " + json_kind(config));
    for (const auto& [name, value] : config.items())
      params.json()[name] = check_param_json(algorithm.name, find_spec(algorithm, name), value);
  }
  std::vector<std::string> seen;
  for (const auto& assignment : assignments) {
    const auto equals = assignment.find('=');
    if (equals == std::string::npos || equals == 0)
      throw UsageError("--set: expected name=value, got '" + assignment + "'");
    const std::string name = trim(assignment.substr(0, equals));
    // Two values for one name is a mistake (an edited command line), not a silent override.
    if (std::find(seen.begin(), seen.end(), name) != seen.end())
      throw UsageError("--set: parameter " + name + " is given more than once; keep one value");
    seen.push_back(name);
    params.json()[name] = parse_param_text(algorithm.name, find_spec(algorithm, name), assignment.substr(equals + 1));
  }
  return params;
}

std::uint64_t parse_seed(const std::string& text, const std::string& where) {
  std::uint64_t value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, error] = std::from_chars(text.data(), end, value);  // no sign: "-1" is refused
  if (text.empty() || error != std::errc() || ptr != end)
    throw UsageError(where + ": expected a whole number from 0 to 18446744073709551615, got '" + text + "'");
  return value;
}

std::uint64_t parse_seed(const json& value, const std::string& where) {
  if (value.is_number_unsigned()) return value.get<std::uint64_t>();
  if (value.is_number_float() && value.get<double>() >= 0 && value.get<double>() < 1.8446744073709552e19 &&
      std::floor(value.get<double>()) == value.get<double>())
    return static_cast<std::uint64_t>(value.get<double>());
  throw UsageError(where + ": expected a whole number from 0 to 18446744073709551615, got " +
                   value.dump(-1, ' ', false, json::error_handler_t::replace));
}

std::string describe_params(const AlgorithmEntry& algorithm) {
  std::size_t name_width = 4, type_width = 4, default_width = 7;
  for (const auto& spec : algorithm.params) {
    name_width = std::max(name_width, spec.name.size());
    type_width = std::max(type_width, std::string(type_name(spec.type)).size());
    default_width = std::max(default_width, spec.default_value.size());
  }
  auto pad = [](std::string text, std::size_t width) { return text.append(width + 2 - std::min(width, text.size()), ' '); };
  std::ostringstream out;
  out << "  " << pad("name", name_width) << pad("type", type_width) << pad("default", default_width) << "description\n";
  for (const auto& spec : algorithm.params) {
    out << "  " << pad(spec.name, name_width) << pad(type_name(spec.type), type_width)
        << pad(spec.default_value.empty() ? "\"\"" : spec.default_value, default_width) << spec.help;
    if (!spec.choices.empty()) {
      out << " (one of:";
      for (const auto& choice : spec.choices) out << ' ' << choice;
      out << ')';
    }
    out << '\n';
  }
  return out.str();
}

// ---- Params: typed reads of the resolved values ------------------------------------------------

namespace {
const json& lookup(const json& values, const std::string& name, const char* type) {
  const auto it = values.find(name);
  if (it == values.end()) {
    std::string declared;
    for (const auto& [key, value] : values.items()) declared += (declared.empty() ? "" : ", ") + key;
    CAKE_FAIL("Params::get_", type, ": no parameter '", name, "' (declared: ", declared.empty() ? "none" : declared, ")");
  }
  return *it;
}
[[noreturn]] void wrong_type(const std::string& name, const char* wanted, const json& value) {
  CAKE_FAIL("Params: parameter '", name, "' is ", value.dump(), ", not ", wanted, " (check its ParamType)");
}
}  // namespace

std::int64_t Params::get_int(const std::string& name) const {
  const nlohmann::json& v = lookup(values_, name, "int");
  if (!v.is_number_integer()) wrong_type(name, "an int", v);
  return v.get<std::int64_t>();
}

double Params::get_float(const std::string& name) const {
  const nlohmann::json& v = lookup(values_, name, "float");
  if (!v.is_number()) wrong_type(name, "a float", v);
  return v.get<double>();
}

const std::string& Params::get_string(const std::string& name) const {
  const nlohmann::json& v = lookup(values_, name, "string");
  if (!v.is_string()) wrong_type(name, "a string", v);
  return v.get_ref<const std::string&>();
}

bool Params::get_bool(const std::string& name) const {
  const nlohmann::json& v = lookup(values_, name, "bool");
  if (!v.is_boolean()) wrong_type(name, "a bool", v);
  return v.get<bool>();
}

std::vector<std::int64_t> Params::get_int_list(const std::string& name) const {
  const nlohmann::json& v = lookup(values_, name, "int_list");
  if (!v.is_array()) wrong_type(name, "an int list", v);
  std::vector<std::int64_t> out;
  for (const auto& item : v) {
    if (!item.is_number_integer()) wrong_type(name, "an int list", v);
    out.push_back(item.get<std::int64_t>());
  }
  return out;
}

std::vector<double> Params::get_float_list(const std::string& name) const {
  const nlohmann::json& v = lookup(values_, name, "float_list");
  if (!v.is_array()) wrong_type(name, "a float list", v);
  std::vector<double> out;
  for (const auto& item : v) {
    if (!item.is_number()) wrong_type(name, "a float list", v);
    out.push_back(item.get<double>());
  }
  return out;
}

}  // namespace cake::cli
