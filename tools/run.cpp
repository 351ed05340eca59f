// run.cpp: `cake run ALGORITHM --data ...`, the path every algorithm takes.
//
//   1. check everything the user typed before any work: the algorithm, its parameters
//      (defaults < --config < --set), the device, the output directory;
//   2. load the data (a named data set or a file, with labels when known);
//   3. create the output directory and write config.json (so even a failed run says what it was);
//   4. seed Cake's generator, run the algorithm with a progress reporter;
//   5. write metrics.json (n_samples, time_s, the scores save_labels added, the algorithm's own)
//      and print a summary.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <iostream>

#include "cuda/cuda.h"
#include "data/file_io.h"
#include "tensor/parallel.h"
#include "tensor/random.h"
#include "tools/commands.h"
#include "tools/dataset.h"
#include "tools/errors.h"
#include "tools/evaluation.h"
#include "tools/output.h"
#include "tools/params.h"
#include "tools/progress.h"

namespace cake::cli {

namespace fs = std::filesystem;

namespace {

// --device: "cpu", "cuda" or "cuda:N", and only what this build and machine can run.
Device resolve_device(const std::string& text) {
  Device device;
  try {
    device = parse_device(text);
  } catch (const cake::Error&) {
    throw UsageError("--device: expected cpu, cuda or cuda:N, got '" + text + "'");
  }
  if (device.is_cuda()) {
#ifndef CAKE_HAVE_CUDA
    throw UsageError("--device " + text + ": this cake was built without CUDA (configure with -DCAKE_WITH_CUDA=ON on a "
                     "machine with the CUDA toolkit); use --device cpu");
#else
    if (!cuda::is_available()) throw UsageError("--device " + text + ": no CUDA device is available on this machine");
    if (device.index >= cuda::device_count())
      throw UsageError("--device " + text + ": there are only " + std::to_string(cuda::device_count()) + " CUDA devices");
#endif
  }
  return device;
}

// --config: a JSON object of parameters, or a previous run's config.json (its "params"; its
// seed too unless --seed is given).
struct ConfigFile {
  nlohmann::json params;
  std::optional<std::uint64_t> seed;
};
ConfigFile read_config(const std::string& file, const std::string& algorithm) {
  ConfigFile config;
  if (file.empty()) return config;
  const nlohmann::json j = read_json_file(file);
  if (!j.is_object()) throw UsageError("--config " + file + ": expected a JSON object");
  if (!j.contains("params")) {
    config.params = j;
    return config;
  }
  if (j.contains("algorithm") && j["algorithm"] != algorithm)
    throw UsageError("--config " + file + " is the configuration of a " + j["algorithm"].dump() + " run, not " + algorithm);
  config.params = j["params"];
  if (j.contains("seed") && !j["seed"].is_null()) config.seed = parse_seed(j["seed"], "--config " + file + ": seed");
  return config;
}

std::string utc_timestamp() {
  const std::time_t now = std::time(nullptr);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  return text;
}

// The closing lines: the headline scores and where everything went.
void print_summary(const RunContext& ctx, double seconds) {
  char elapsed[32];
  std::snprintf(elapsed, sizeof elapsed, "%.2f", seconds);
  std::cout << ctx.algorithm << " finished in " << elapsed << " s on " << ctx.data.size(0) << " samples";
  if (ctx.metrics.contains("n_clusters")) std::cout << ", " << ctx.metrics["n_clusters"] << " clusters";
  std::cout << "\n";
  std::string line;
  for (const char* name : {"nmi", "ari", "acc"}) {
    if (!ctx.metrics.contains(name)) continue;
    char score[32];
    std::snprintf(score, sizeof score, "  %s %.4f", name, ctx.metrics[name].get<double>());
    line += score;
  }
  if (!line.empty()) std::cout << line << "\n";
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(ctx.out_dir)) files.push_back(entry.path().filename().string());
  std::sort(files.begin(), files.end());
  std::cout << "outputs in " << data::printable(ctx.out_dir.string()) << "/:";
  for (const auto& f : files) std::cout << " " << f;
  std::cout << "\n";
}

}  // namespace

int run_command(const RunOptions& options) {
  using clock = std::chrono::steady_clock;
  const AlgorithmEntry& algorithm = find_algorithm(options.algorithm);
  const ConfigFile config = read_config(options.config, algorithm.name);

  RunContext ctx;
  ctx.algorithm = algorithm.name;
  ctx.params = resolve_params(algorithm, config.params, options.assignments);
  ctx.seed = options.seed.value_or(config.seed.value_or(0));
  ctx.device = resolve_device(options.device);
  ctx.quiet = options.quiet;
  check_output_dir(options.out, options.overwrite);
  if (options.threads > 0) set_num_threads(options.threads);

  InputData input = load_input(options.data, options.labels);
  ctx.data = input.data.to(ctx.device);
  ctx.labels = input.labels;
  ctx.image_shape = input.image_shape;
  ctx.class_names = input.class_names;
  ctx.data_name = options.data;
  if (input.test_data.defined()) {
    ctx.test_data = input.test_data.to(ctx.device);
    ctx.test_labels = input.test_labels;
  }

  ctx.out_dir = prepare_output_dir(options.out, algorithm.name, options.overwrite);
  nlohmann::json record = {
      {"algorithm", algorithm.name},
      {"params", ctx.params.json()},
      {"seed", ctx.seed},
      // Paths and the command line are byte strings on Linux; data::printable keeps them
      // readable JSON and recoverable (invalid UTF-8 bytes as \xNN).
      {"data", data::printable(options.data)},
      {"labels", options.labels.empty() ? nlohmann::json(nullptr) : nlohmann::json(data::printable(options.labels))},
      {"device", to_string(ctx.device)},
      {"threads", get_num_threads()},
      {"cake_version", CAKE_VERSION_STRING},
      {"git_commit", CAKE_GIT_COMMIT},
      {"command", data::printable(options.command_line)},
      {"started_at", utc_timestamp()},
  };
  write_json_file(ctx.path("config.json"), record);
  ctx.log({{"event", "start"}, {"algorithm", algorithm.name}, {"n_samples", ctx.data.size(0)}});

  std::unique_ptr<Progress> progress = make_progress(options.quiet);
  ctx.progress = progress.get();
  manual_seed(ctx.seed);
  const auto started = clock::now();
  try {
    algorithm.run(ctx);
  } catch (const std::exception& e) {
    progress->finish();  // end the bar's line before the error is printed
    ctx.log({{"event", "error"}, {"message", e.what()}});
    throw;
  }
  progress->finish();
  const double seconds = std::chrono::duration<double>(clock::now() - started).count();

  ctx.metrics["n_samples"] = ctx.data.size(0);
  ctx.metrics["n_features"] = ctx.data.size(1);
  ctx.metrics["time_s"] = seconds;
  write_json_file(ctx.path("metrics.json"), ctx.metrics);
  ctx.log({{"event", "end"}, {"time_s", seconds}});
  if (!options.quiet) print_summary(ctx, seconds);
  return 0;
}

}  // namespace cake::cli
