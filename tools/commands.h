// commands.h: the five subcommands of `cake`, each a plain function that main() calls after
// parsing (tools/main.cpp). They print their results to stdout and return the exit code;
// mistakes in how they were called throw UsageError (exit 2), other failures cake::Error.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tools/registry.h"

namespace cake::cli {

// `cake list`: the registered algorithms with their one-line summaries.
int list_command();

// `cake help ALGORITHM`: summary, the paper it implements, and its parameters.
int help_command(const std::string& algorithm);

// `cake run ALGORITHM --data ...`: see tools/run.cpp.
struct RunOptions {
  std::string algorithm;
  std::string data;
  std::string labels;
  std::string config;                    // a JSON file of parameters (or a previous config.json)
  std::vector<std::string> assignments;  // --set name=value ...
  std::string out;                       // empty: runs/ALGORITHM-N
  bool overwrite = false;                // replace the run in `out` (tools/output.h)
  bool resume = false;                   // continue the run in `out` from its checkpoint
  std::optional<std::uint64_t> seed;     // default 0
  std::string device;                    // empty: cpu, or with --resume the run's own
  int threads = 0;                       // 0: OpenMP's default, or with --resume the run's own
  bool quiet = false;
  std::string command_line;              // recorded in config.json
};
int run_command(const RunOptions& options);


// `cake eval --pred labels.npy [--labels y.npy] [--data X.npy] [--json]`: the clustering's
// scores against true labels (NMI, ACC, ARI, ...) and, with the clustered samples, the scores
// from the data alone (silhouette, Davies-Bouldin, Calinski-Harabasz).
// `cake eval --embedding E.npy --data X.npy [--labels y.npy]`: how well an embedding of X keeps
// its neighbourhoods (trustworthiness, k-NN preservation; with labels the 1-NN accuracy).
struct EvalOptions {
  std::string predicted;                 // --pred ("": no clustering to score)
  std::string embedding;                 // --embedding ("": no embedding to score)
  std::string truth;                     // --labels ("": no label-based scores)
  std::string data;                      // --data ("": no data-based scores)
  std::int64_t sample_size = 10000;      // samples for the silhouette and the embedding's scores (0: all)
  std::uint64_t seed = 0;
  bool as_json = false;
};
int eval_command(const EvalOptions& options);

// `cake summary RUN... [--keys nmi,acc] [--json]`: the scores of finished runs (their
// metrics.json) side by side, then the mean and sample standard deviation of each over the runs
// (n - 1 in the denominator), as a "mean of three seeds" is reported. Keys are dotted paths
// into metrics.json ("ae_kmeans.acc"); without --keys, nmi, acc, ari and ami where every run has
// them, else every number at the top level that all the runs share.
struct SummaryOptions {
  std::vector<std::string> runs;
  std::vector<std::string> keys;
  bool as_json = false;
};
int summary_command(const SummaryOptions& options);

// The registered algorithm called `name`, or a UsageError that suggests what was meant.
const AlgorithmEntry& find_algorithm(const std::string& name);

}  // namespace cake::cli
