// summary.cpp: `cake summary RUN...` (see commands.h): the scores of several finished runs side
// by side, with their mean and standard deviation, as a "mean of three seeds" is reported.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>

#include "tools/commands.h"
#include "tools/errors.h"
#include "tools/output.h"

namespace cake::cli {

namespace fs = std::filesystem;

namespace {

// The scores shown when --keys is not given: these clustering scores where every run has them;
// otherwise every top-level number the runs share.
const char* const kClusteringKeys[] = {"nmi", "acc", "ari", "ami"};

// metrics.json's entry at a dotted key ("nmi", "ae_kmeans.acc"), or null when there is none.
const nlohmann::json* entry_at(const nlohmann::json& metrics, const std::string& key) {
  const nlohmann::json* node = &metrics;
  for (std::size_t start = 0; start <= key.size();) {
    const std::size_t end = std::min(key.find('.', start), key.size());
    const std::string part = key.substr(start, end - start);
    if (!node->is_object() || !node->contains(part)) return nullptr;
    node = &(*node)[part];
    start = end + 1;
  }
  return node;
}

// The entry when it is a number.
std::optional<double> number_at(const nlohmann::json& metrics, const std::string& key) {
  const nlohmann::json* node = entry_at(metrics, key);
  if (node == nullptr || !node->is_number()) return std::nullopt;
  return node->get<double>();
}

// Whether the entry is there but null (how a NaN score is written to JSON).
bool is_null_at(const nlohmann::json& metrics, const std::string& key) {
  const nlohmann::json* node = entry_at(metrics, key);
  return node != nullptr && node->is_null();
}

struct Run {
  std::string path;
  nlohmann::json metrics, seed;
};

Run read_run(const std::string& path) {
  const fs::path metrics = fs::path(path) / "metrics.json";
  if (!fs::exists(metrics))
    throw UsageError("summary: " + path + " holds no metrics.json (not a run folder, or a run that has not finished)");
  Run run{path, read_json_file(metrics), nullptr};
  const fs::path config = fs::path(path) / "config.json";
  if (fs::exists(config)) run.seed = read_json_file(config).value("seed", nlohmann::json());
  return run;
}

std::vector<std::string> default_keys(const std::vector<Run>& runs) {
  const auto everywhere = [&](const std::string& key) {
    for (const Run& run : runs)
      if (!number_at(run.metrics, key)) return false;
    return true;
  };
  std::vector<std::string> keys;
  for (const char* key : kClusteringKeys)
    if (everywhere(key)) keys.emplace_back(key);
  if (!keys.empty()) return keys;
  for (const auto& item : runs.front().metrics.items())
    if (item.value().is_number() && everywhere(item.key())) keys.push_back(item.key());
  return keys;
}

// Mean and sample standard deviation (n - 1 in the denominator; none for a single run).
struct Spread {
  double mean = 0.0;
  std::optional<double> std;
};
Spread spread_of(const std::vector<double>& values) {
  Spread s;
  for (double v : values) s.mean += v / static_cast<double>(values.size());
  if (values.size() < 2) return s;
  double squares = 0.0;
  for (double v : values) squares += (v - s.mean) * (v - s.mean);
  s.std = std::sqrt(squares / static_cast<double>(values.size() - 1));
  return s;
}

std::string cell(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.4f", value);
  return text;
}

}  // namespace

int summary_command(const SummaryOptions& options) {
  if (options.runs.empty()) throw UsageError("summary: give the run folders to compare (e.g. runs/dec-s0 runs/dec-s1)");
  std::vector<Run> runs;
  for (const std::string& path : options.runs) runs.push_back(read_run(path));
  const std::vector<std::string> keys = options.keys.empty() ? default_keys(runs) : options.keys;
  if (keys.empty()) throw UsageError("summary: the runs share no numeric score; name some with --keys");

  // The table: one row a run, then the mean and the standard deviation of each column.
  std::vector<std::vector<double>> columns(keys.size());
  nlohmann::json rows = nlohmann::json::array();
  for (const Run& run : runs) {
    nlohmann::json row = {{"run", run.path}, {"seed", run.seed}};
    for (std::size_t k = 0; k < keys.size(); ++k) {
      const std::optional<double> value = number_at(run.metrics, keys[k]);
      if (!value) {
        throw UsageError("summary: " + run.path + "/metrics.json has no number at '" + keys[k] + "'" +
                         (is_null_at(run.metrics, keys[k]) ? " (it holds null: the score was not a number, e.g. NaN)" : ""));
      }
      columns[k].push_back(*value);
      row[keys[k]] = *value;
    }
    rows.push_back(row);
  }
  nlohmann::json mean = nlohmann::json::object(), deviation = nlohmann::json::object();
  for (std::size_t k = 0; k < keys.size(); ++k) {
    const Spread s = spread_of(columns[k]);
    mean[keys[k]] = s.mean;
    deviation[keys[k]] = s.std ? nlohmann::json(*s.std) : nlohmann::json(nullptr);
  }
  if (options.as_json) {
    std::cout << nlohmann::json{{"runs", rows}, {"n_runs", runs.size()}, {"mean", mean}, {"std", deviation}}.dump(2)
              << "\n";
    return 0;
  }

  std::size_t name_width = ("mean of " + std::to_string(runs.size())).size();
  for (const Run& run : runs) name_width = std::max(name_width, run.path.size());
  const auto print_row = [&](const std::string& name, const std::string& seed, const std::vector<std::string>& cells) {
    std::printf("%-*s  %-6s", static_cast<int>(name_width), name.c_str(), seed.c_str());
    for (std::size_t k = 0; k < cells.size(); ++k)
      std::printf("  %*s", static_cast<int>(std::max<std::size_t>(keys[k].size(), 8)), cells[k].c_str());
    std::printf("\n");
  };
  print_row("run", "seed", keys);
  for (std::size_t r = 0; r < runs.size(); ++r) {
    std::vector<std::string> cells;
    for (std::size_t k = 0; k < keys.size(); ++k) cells.push_back(cell(columns[k][r]));
    print_row(runs[r].path, runs[r].seed.is_null() ? "-" : runs[r].seed.dump(), cells);
  }
  std::vector<std::string> means, deviations;
  for (const std::string& key : keys) {
    means.push_back(cell(mean[key].get<double>()));
    deviations.push_back(deviation[key].is_null() ? "-" : cell(deviation[key].get<double>()));
  }
  print_row("mean of " + std::to_string(runs.size()), "", means);
  print_row("std", "", deviations);
  std::fflush(stdout);
  return 0;
}

}  // namespace cake::cli
