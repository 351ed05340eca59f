// commands.cpp: `cake list`, `cake help ALGORITHM` and `cake eval` (see commands.h).
#include "tools/commands.h"

#include <algorithm>
#include <iostream>
#include <optional>

#include "tools/dataset.h"
#include "tools/device_support.h"
#include "tools/errors.h"
#include "tools/evaluation.h"
#include "tools/params.h"
#include "tools/registry.h"

namespace cake::cli {

const AlgorithmEntry& find_algorithm(const std::string& name) {
  const auto& table = algorithms();
  const auto it = table.find(name);
  if (it != table.end()) return it->second;
  std::string message = "unknown algorithm '" + name + "'.";
  // Suggest the names that contain what was typed, or that it contains ("kmean" -> kmeans).
  std::vector<std::string> near;
  for (const auto& [known, entry] : table)
    if (known.find(name) != std::string::npos || name.find(known) != std::string::npos) near.push_back(known);
  if (!near.empty()) {
    message += " Did you mean";
    for (std::size_t i = 0; i < near.size(); ++i) message += (i ? ", " : " ") + near[i];
    message += "?";
  }
  throw UsageError(message + " `cake list` shows them all.");
}

int list_command() {
  std::size_t width = 0;
  for (const auto& [name, entry] : algorithms()) width = std::max(width, name.size());
  for (const auto& [name, entry] : algorithms())
    std::cout << name << std::string(width + 2 - name.size(), ' ') << entry.summary << '\n';
  return 0;
}

int help_command(const std::string& algorithm) {
  const AlgorithmEntry& entry = find_algorithm(algorithm);
  std::cout << entry.name << ": " << entry.summary << "\n";
  if (!entry.reference.empty()) std::cout << "implements: " << entry.reference << "\n";
  if (const std::optional<DeviceSupport> support = device_support(entry.name))
    std::cout << "--device cuda: " << (support->cuda ? "runs on the GPU: " : "stays on the CPU: ") << support->note << "\n";
  std::cout << "under mpirun: " << multi_rank_text(entry.multi_rank) << "\n";
  std::cout << "\nparameters (set with --set name=value, or a --config JSON object):\n";
  if (entry.params.empty()) {
    std::cout << "  none\n";
  } else {
    std::cout << describe_params(entry);
  }
  std::cout << "\nexample:\n  ";
  if (!entry.example.empty()) {
    std::cout << entry.example << "\n";
    return 0;
  }
  std::cout << "cake run " << entry.name << " --data fashion-mnist:test";
  // The first parameter with a default, set to it (a parameter without one is required, and
  // `--set name=` with nothing after it would be refused).
  const auto shown = std::find_if(entry.params.begin(), entry.params.end(),
                                  [](const ParamSpec& p) { return !p.default_value.empty(); });
  if (shown != entry.params.end()) std::cout << " --set " << shown->name << "=" << shown->default_value;
  std::cout << "\n";
  return 0;
}

int eval_command(const std::string& predicted, const std::string& truth, bool as_json) {
  const Tensor p = load_labels(predicted, LabelRole::Prediction);
  const Tensor t = load_labels(truth);
  CAKE_CHECK(p.size(0) == t.size(0), predicted, " holds ", p.size(0), " labels but ", truth, " holds ", t.size(0));
  const nlohmann::json scores = clustering_scores(t, p);
  if (as_json) {
    std::cout << scores.dump(2) << "\n";
  } else {
    std::cout << format_scores(scores);
  }
  return 0;
}

}  // namespace cake::cli
