// registry.h: how an algorithm plugs into the `cake` command line.
//
// The library classes in algorithms/ know nothing about the CLI. Each algorithm gets a small
// wrapper in tools/algorithms/<name>.cpp that declares its parameters and a run function,
// and registers itself, all in a namespace of its own (the files are compiled in unity
// batches, where two commands' run() would otherwise meet):
//
//   namespace cake::cli::kmeans_command {
//   CAKE_REGISTER_ALGORITHM({
//       .name = "kmeans",
//       .summary = "k-means clustering (Lloyd, k-means++ init, restarts)",
//       .reference = "Lloyd 1982; Arthur & Vassilvitskii 2007 (k-means++)",
//       .params = {{"n_clusters", ParamType::Int, "8", "number of clusters"},
//                  {"init", ParamType::String, "k-means++", "initialisation", {"k-means++", "random"}}},
//       .run = [](RunContext& ctx) {
//         cake::algorithms::KMeans km({.n_clusters = ctx.params.get_int("n_clusters")});
//         cake::Tensor labels = km.fit_predict(ctx.data);
//         ctx.metrics["inertia"] = km.inertia();
//         ctx.save_labels(labels);   // labels.npy, and nmi/ari/acc when true labels are known
//       },
//   });
//   }  // namespace cake::cli::kmeans_command
//
// The command line (tools/main.cpp) resolves --set/--config values against `params` (unknown
// or ill-typed names are refused with the list of valid ones), loads --data, prepares --out,
// calls run(), then writes config.json and metrics.json.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cake/distributed/process_group.h"
#include "cake/tensor/tensor.h"

namespace cake::cli {

enum class ParamType { Int, Float, String, Bool, IntList, FloatList };

struct ParamSpec {
  std::string name;
  ParamType type;
  std::string default_value;  // as it would be typed after --set name=...
  std::string help;
  std::vector<std::string> choices = {};  // for String: the allowed values (empty = any)
  // A parameter added with a default that changes what the command computes: the value that
  // runs recorded before it existed used (their config.json lacks it), so that a --resume of such
  // a run continues it as it was. Empty: the default is the old behaviour.
  std::optional<std::string> legacy_value = std::nullopt;
};

// Resolved parameter values (defaults overridden by --config then --set).
class Params {
 public:
  std::int64_t get_int(const std::string& name) const;
  double get_float(const std::string& name) const;
  const std::string& get_string(const std::string& name) const;
  bool get_bool(const std::string& name) const;
  std::vector<std::int64_t> get_int_list(const std::string& name) const;
  std::vector<double> get_float_list(const std::string& name) const;
  const nlohmann::json& json() const { return values_; }
  nlohmann::json& json() { return values_; }

 private:
  nlohmann::json values_;
};

// Reports progress: a bar with rate, ETA and the current objective on a terminal, plain
// periodic lines otherwise, nothing with --quiet.
class Progress {
 public:
  virtual ~Progress() = default;
  // Starts a phase of `total` steps ("epoch", "iteration", ...).
  virtual void start(const std::string& phase, std::int64_t total) = 0;
  // Step `step` (1-based) is done; `values` are shown beside the bar (e.g. {"loss", 0.03}).
  virtual void update(std::int64_t step, const std::vector<std::pair<std::string, double>>& values = {}) = 0;
  virtual void finish() = 0;
  // A line of text that does not disturb the bar.
  virtual void message(const std::string& text) = 0;
};

// Everything a run function gets. Outputs go through the save_* helpers so that every
// algorithm leaves the same files (see tools/run_context.cpp).
//
// Where things live: `data` and `test_data` are already on `device` (so an algorithm built
// from Cake ops runs there by itself; one with its own CPU loops calls .cpu()); `labels` and
// `test_labels` stay on the CPU. The save_* helpers accept tensors on any device.
struct RunContext {
  std::string algorithm;        // the registered name, e.g. "kmeans"
  Tensor data;                  // [N, D] float32, rows are samples
  Tensor labels;                // [N] int64 ground truth, or undefined
  std::optional<Shape> image_shape;  // {C, H, W} when the rows are flattened images
  std::vector<std::string> class_names;  // names of the true labels, when the data set has them
  std::string data_name;        // as given to --data
  Params params;
  std::uint64_t seed = 0;       // cake::manual_seed(seed) has been called before run()
  Device device = kCPU;
  bool quiet = false;
  std::filesystem::path out_dir;
  Progress* progress = nullptr;  // never null (a silent one with --quiet)
  // Extra data sets a training algorithm may use (e.g. the test split of a named data set).
  Tensor test_data, test_labels;
  // Under mpirun, a command that shards rows (MultiRank::Sharded) given a .npy file reads only
  // its own rows (tools/dataset.h, load_input_shard): `data` then holds rows
  // [data_shard->begin, data_shard->end) of n_rows(), while `labels` holds every row's.
  // Unset otherwise: `data` holds every row.
  std::optional<distributed::Shard> data_shard;
  std::int64_t total_rows = 0;  // set with data_shard
  // The number of samples of the run, whichever part of them `data` holds.
  std::int64_t n_rows() const { return data_shard ? total_rows : data.size(0); }
  // A Sharded command's rows on this rank and where they sit among all of them: `data` itself
  // when it was read as a shard, else its shard_rows() slice.
  struct LocalRows {
    Tensor x;
    distributed::Shard shard;
  };
  LocalRows local_rows(const distributed::ProcessGroup& group) const;

  nlohmann::json metrics;       // written to metrics.json after run() returns
  Tensor predicted_labels;      // int64 [N] on the CPU: what save_labels last saved

  // One line of log.jsonl (per iteration/epoch values).
  void log(const nlohmann::json& record);
  // labels.npy (int64, -1 for noise); adds n_clusters, and nmi/ari/acc/purity/... when labels
  // are known, to metrics; figures: the confusion matrix (labels known), a grid of samples per
  // cluster (image data), the clusters in the plane (2-D data).
  void save_labels(const Tensor& predicted);
  // embedding.npy; a 2-D scatter figure coloured by label when it has 2 columns (or its first
  // two principal components otherwise).
  void save_embedding(const Tensor& embedding, const std::string& name = "embedding");
  // A curve figure (e.g. loss per epoch) from the named series, plotted against step 1, 2, ...
  void save_curve(const std::string& file, const std::string& title,
                  const std::vector<std::pair<std::string, std::vector<double>>>& series,
                  const std::string& x_label = "step");
  // An image grid figure: images [N, C, H, W] or [N, H*W] with image_shape, values in [0, 1].
  void save_image_grid(const std::string& file, const Tensor& images, std::int64_t columns);
  // --resume: the run's own checkpoint to continue from (empty otherwise; the `resume`
  // parameter, a checkpoint of another run, is separate).
  std::filesystem::path resume_checkpoint;
  // True once Ctrl-C or SIGTERM asked the run to stop: a long loop stops at a safe point and
  // throws RunInterrupted (tools/output.h). Empty outside `cake run`.
  std::function<bool()> stop_requested;
  // Moves a run that is being written into a temporary folder into its place (--out),
  // replacing the earlier run there; out_dir follows. Training calls it once the first
  // checkpoint exists, `cake run` after success otherwise. Empty outside `cake run`.
  std::function<void()> publish;

  // Path of a file inside the output directory.
  std::filesystem::path path(const std::string& file) const { return out_dir / file; }
};

// How a command runs under `mpirun -np P` with P > 1 (docs/distributed.md, "The CLI under
// mpirun"). `cake run` refuses a SingleProcess command launched on several ranks, so that P
// ranks never silently compute P identical copies of one run.
enum class MultiRank {
  SingleProcess,            // one process only: refused under mpirun with P > 1
  Sharded,                  // the rows are split over the ranks, the sums all-reduced (kmeans, gmm, pca)
  DataParallel,             // the network trains data-parallel, batch_size / P samples per rank
  DataParallelPretraining,  // the autoencoder trains data-parallel; what follows it runs on every rank
};
const char* multi_rank_text(MultiRank mode);

struct AlgorithmEntry {
  std::string name;
  std::string summary;
  std::string reference;  // the paper(s) it implements
  std::vector<ParamSpec> params;
  std::function<void(RunContext&)> run;
  // The command line `cake help` prints as the example, when the generic one (the first
  // parameter at its default) would not run: a required parameter, or one that needs an
  // earlier run's output. Must run as printed.
  std::string example = {};
  // Under mpirun with several ranks (see MultiRank); new commands are single-process until
  // they say otherwise.
  MultiRank multi_rank = MultiRank::SingleProcess;
};

void register_algorithm(AlgorithmEntry entry);
const std::map<std::string, AlgorithmEntry>& algorithms();

struct AlgorithmRegistrar {
  explicit AlgorithmRegistrar(AlgorithmEntry entry) { register_algorithm(std::move(entry)); }
};

}  // namespace cake::cli

#define CAKE_CLI_CONCAT2(a, b) a##b
#define CAKE_CLI_CONCAT(a, b) CAKE_CLI_CONCAT2(a, b)
#define CAKE_REGISTER_ALGORITHM(...) \
  static ::cake::cli::AlgorithmRegistrar CAKE_CLI_CONCAT(cake_algorithm_, __LINE__)(::cake::cli::AlgorithmEntry __VA_ARGS__)
