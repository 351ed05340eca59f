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

namespace {

void check_eval_options(const EvalOptions& options) {
  if (options.predicted.empty() && options.embedding.empty())
    throw UsageError("eval: give --pred (a clustering's labels) and/or --embedding (an embedding of --data) to score");
  if (options.truth.empty() && options.data.empty())
    throw UsageError("eval: give --labels (the true classes), --data (the samples that were clustered), or both");
  if (!options.embedding.empty() && options.data.empty())
    throw UsageError("eval: --embedding is scored against the data it embeds: give them as --data");
  if (options.sample_size < 0)
    throw UsageError("eval: --sample-size must be 0 (every sample) or positive, got " + std::to_string(options.sample_size));
}

void check_rows(const std::string& a, std::int64_t rows_a, const std::string& b, std::int64_t rows_b) {
  CAKE_CHECK(rows_a == rows_b, a, " holds ", rows_a, " rows but ", b, " holds ", rows_b);
}

// The clustering's scores: against the true classes (t) and from the data alone (x), whichever
// were given. With only --data and no score defined (one cluster, say), the reason is an error,
// as scikit-learn's silhouette_score raises: printing just the cluster count would pass for success.
nlohmann::json prediction_scores(const EvalOptions& options, const Tensor& t, const Tensor& x) {
  const Tensor p = load_labels(options.predicted, LabelRole::Prediction);
  nlohmann::json scores = nlohmann::json::object();
  if (t.defined()) {
    check_rows(options.predicted, p.size(0), options.truth, t.size(0));
    scores = clustering_scores(t, p);
  }
  if (x.defined()) {
    check_rows(options.predicted, p.size(0), options.data, x.size(0));
    std::string why_not;
    const nlohmann::json internal =
        internal_scores(x, p, {.sample_size = options.sample_size, .seed = options.seed}, why_not);
    if (internal.empty() && !t.defined() && options.embedding.empty())
      throw Error("eval: nothing to score in " + options.predicted + ": " + why_not);
    if (!why_not.empty())
      std::cerr << "cake eval: " << (internal.empty() ? "no scores from the data: " : "") << why_not << "\n";
    for (const auto& item : internal.items()) scores[item.key()] = item.value();
  }
  if (!scores.contains("n_clusters")) {  // no --labels: say what was scored all the same
    const LabelCounts counts = count_labels(p);
    scores["n_clusters"] = counts.clusters;
    if (counts.noise > 0) scores["n_noise"] = counts.noise;
  }
  return scores;
}

// How well the embedding keeps the neighbourhoods of the data (x), and the classes (t) if given.
nlohmann::json embedding_scores_of(const EvalOptions& options, const Tensor& t, const Tensor& x) {
  const Tensor e = load_input(options.embedding, "").data;
  check_rows(options.embedding, e.size(0), options.data, x.size(0));
  if (t.defined()) check_rows(options.embedding, e.size(0), options.truth, t.size(0));
  return embedding_scores(x, e, options.sample_size, options.seed, t);
}

}  // namespace

int eval_command(const EvalOptions& options) {
  check_eval_options(options);
  const Tensor t = options.truth.empty() ? Tensor() : load_labels(options.truth);
  const Tensor x = options.data.empty() ? Tensor() : load_input(options.data, "").data;
  nlohmann::json scores = nlohmann::json::object();
  if (!options.predicted.empty()) scores = prediction_scores(options, t, x);
  if (!options.embedding.empty()) {
    const nlohmann::json embedded = embedding_scores_of(options, t, x);
    for (const auto& item : embedded.items()) scores[item.key()] = item.value();
  }
  if (!scores.contains("n_samples")) scores["n_samples"] = x.defined() ? x.size(0) : t.size(0);
  std::cout << (options.as_json ? scores.dump(2) + "\n" : format_scores(scores));
  return 0;
}

}  // namespace cake::cli
