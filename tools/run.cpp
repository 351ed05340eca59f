// run.cpp: `cake run ALGORITHM --data ...`, the path every algorithm takes.
//
//   1. check everything the user typed before any work: the algorithm, its parameters
//      (defaults < --config < --set; with --resume the run's own config.json comes first), the
//      device, the output folder (every refusal of tools/output.h, before anything is touched);
//   2. load the data (a named data set or a file, with labels when known);
//   3. create the run folder (a temporary sibling when it replaces an earlier run, see the NOTE
//      in tools/output.h) and write config.json (so even a failed run says what it was);
//   4. seed Cake's generator, run the algorithm with a progress reporter; Ctrl-C or SIGTERM
//      sets a flag the training loop polls, and the run stops at a safe point (exit 130);
//   5. write metrics.json (n_samples, time_s, the scores save_labels added, the algorithm's own),
//      move the run into its place, and print a summary.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <thread>

#include "cake/cuda/cuda.h"
#include "cake/data/file_io.h"
#include "cake/distributed/process_group.h"
#include "cake/tensor/creation.h"
#include "cake/tensor/parallel.h"
#include "cake/tensor/random.h"
#include "cake/tensor/safetensors.h"
#include "tools/build_info.h"
#include "tools/commands.h"
#include "tools/dataset.h"
#include "tools/device_support.h"
#include "tools/errors.h"
#include "tools/evaluation.h"
#include "tools/output.h"
#include "tools/params.h"
#include "tools/progress.h"

namespace cake::cli {

namespace fs = std::filesystem;

namespace {

// --device: "cpu", "cuda" or "cuda:N", and only what this build and machine can run. A command
// without a CUDA path (tools/device_support.h) says so on stderr and runs on the CPU; one that
// nobody has classified is refused.
Device resolve_device(const std::string& text, const std::string& command) {
  Device device;
  try {
    device = parse_device(text);
  } catch (const cake::Error&) {
    throw UsageError("--device: expected cpu, cuda or cuda:N, got '" + text + "'");
  }
  if (device.is_cuda()) {
    const std::optional<DeviceSupport> support = device_support(command);
    if (!support)
      throw UsageError("--device " + text + ": " + command + " has not been checked for CUDA (it is missing from "
                       "tools/device_support.cpp); use --device cpu");
    if (!support->cuda) {
      std::cerr << "cake: warning: " << cpu_only_warning(command, *support) << "\n";
      return kCPU;
    }
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
  std::cout << ctx.algorithm << " finished in " << elapsed << " s on " << ctx.n_rows() << " samples";
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
  for (const auto& entry : fs::directory_iterator(ctx.out_dir))
    if (entry.path().filename().string().front() != '.') files.push_back(entry.path().filename().string());
  std::sort(files.begin(), files.end());
  std::cout << "outputs in " << data::printable(ctx.out_dir.string()) << "/:";
  for (const auto& f : files) std::cout << " " << f;
  std::cout << "\n";
}

// Ctrl-C and SIGTERM: the first sets a flag (std::atomic<bool> is lock-free, so setting it is
// safe in a handler) and the training loop stops at its next batch; SA_RESETHAND restores the
// default action, so a second Ctrl-C quits at once.
std::atomic<bool> stop_requested{false};

void request_stop(int) {  // a signal handler: async-signal-safe calls only
  stop_requested.store(true);
  const char message[] = "\ncake: stopping at the next safe point (Ctrl-C again to quit at once)\n";
  [[maybe_unused]] const ssize_t ignored = ::write(STDERR_FILENO, message, sizeof message - 1);
}

class StopHandlers {
 public:
  StopHandlers() {
    stop_requested.store(false);
    struct sigaction action {};
    action.sa_handler = request_stop;
    action.sa_flags = SA_RESETHAND;
    sigemptyset(&action.sa_mask);
    ::sigaction(SIGINT, &action, &old_int_);
    ::sigaction(SIGTERM, &action, &old_term_);
  }
  ~StopHandlers() {
    ::sigaction(SIGINT, &old_int_, nullptr);
    ::sigaction(SIGTERM, &old_term_, nullptr);
  }
  StopHandlers(const StopHandlers&) = delete;
  StopHandlers& operator=(const StopHandlers&) = delete;

 private:
  struct sigaction old_int_ {}, old_term_ {};
};

// Parameters a --resume may change: how far to train, and what is computed after training.
// Everything else would make the resumed run differ from the run that was started.
bool changeable_on_resume(const std::string& name) {
  // epochs, and the evaluations after training (they read the trained network, not change it).
  return name == "epochs" || name == "tsne_samples" || name == "probe" || name == "n2d" || name == "n2d_pixel_pca";
}

// A file a run reads, and what named it: "data", "labels", "config", or a parameter's name.
struct RunInput {
  fs::path path;
  std::string named_by;
};

// Text without the spaces around it.
std::string trimmed(const std::string& text) {
  const std::size_t first = text.find_first_not_of(' ');
  return first == std::string::npos ? "" : text.substr(first, text.find_last_not_of(' ') - first + 1);
}

// The files a parameter's value may name: the value itself or, in a comma-separated list, each
// item and the file part of each "name=file" item (vae-ensemble's feature_members=a=x.npy,b=y.npy),
// without the spaces around them.
std::vector<std::string> files_named_by(const std::string& value) {
  std::vector<std::string> names{trimmed(value)};
  if (value.find_first_of(",=") == std::string::npos) return names;
  for (std::size_t start = 0; start <= value.size();) {
    const std::size_t end = std::min(value.find(',', start), value.size());
    const std::string item = trimmed(value.substr(start, end - start));
    names.push_back(item);
    if (const std::size_t equals = item.find('='); equals != std::string::npos)
      names.push_back(trimmed(item.substr(equals + 1)));
    start = end + 1;
  }
  return names;
}

// The files a run reads: the data, labels and config files, and every existing file a parameter
// names (resume=..., pretrained=..., the files of a list).
std::vector<RunInput> run_input_files(const RunOptions& options, const nlohmann::json& params) {
  std::vector<RunInput> candidates{{options.data, "data"}, {options.labels, "labels"}, {options.config, "config"}};
  for (const auto& item : params.items())
    if (item.value().is_string())
      for (const std::string& name : files_named_by(item.value().get<std::string>())) candidates.push_back({name, item.key()});
  std::vector<RunInput> existing;
  std::error_code error;
  for (const RunInput& input : candidates)
    if (!input.path.empty() && fs::exists(input.path, error)) existing.push_back(input);
  return existing;
}

// The paths of the files a run reads, which a --overwrite must never delete.
std::vector<fs::path> run_inputs(const RunOptions& options, const nlohmann::json& params) {
  std::vector<fs::path> paths;
  for (const RunInput& input : run_input_files(options, params)) paths.push_back(input.path);
  return paths;
}

// ---- what a --resume checks of the files ---------------------------------------------------------------
// A run records the size and a hash of each file it trains from; a --resume whose file has
// changed (same path, other bytes: a regenerated features.npy, an edited data set) would mix
// two trainings in one run without a word, so it is refused like a changed parameter.

// {"path", "bytes", "fnv1a64"} of a regular file; its hash is FNV-1a/64 of every byte (not a
// cryptographic hash: it tells a changed file, not a forged one). Null when it cannot be read.
nlohmann::json file_fingerprint(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return nullptr;
  std::vector<char> buffer(std::size_t{1} << 20);
  std::uint64_t hash = kFnv1aOffset, bytes = 0;
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    const auto got = static_cast<std::size_t>(in.gcount());
    hash = fnv1a64(buffer.data(), got, hash);
    bytes += got;
  }
  if (in.bad()) return nullptr;
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash));
  return {{"path", data::printable(path.string())}, {"bytes", bytes}, {"fnv1a64", hex}};
}

// Whether the run's training depends on the bytes of this input: the data and labels, and a
// file named by a free-text parameter (one without a list of allowed values, whose words are
// never files) in text that looks like a path (a '/' or a '.': "mean", "conv" or "adam" beside
// a file of that name in the current folder are not its inputs). Not the config file (its values
// are compared as parameters) nor resume=PATH (only the starting point of a run; a --resume
// continues from the run's own checkpoint).
bool training_reads(const RunInput& input, const AlgorithmEntry& algorithm) {
  if (input.named_by == "data" || input.named_by == "labels") return true;
  if (input.named_by == "config" || input.named_by == "resume") return false;
  const auto spec = std::find_if(algorithm.params.begin(), algorithm.params.end(),
                                 [&](const ParamSpec& p) { return p.name == input.named_by; });
  if (spec != algorithm.params.end() && !spec->choices.empty()) return false;
  return input.path.string().find_first_of("/.") != std::string::npos;
}

// The fingerprints of the files training_reads, each once.
nlohmann::json input_fingerprints(const RunOptions& options, const AlgorithmEntry& algorithm, const nlohmann::json& params) {
  nlohmann::json fingerprints = nlohmann::json::array();
  std::error_code error;
  for (const RunInput& input : run_input_files(options, params)) {
    if (!training_reads(input, algorithm) || !fs::is_regular_file(input.path, error)) continue;
    nlohmann::json fingerprint = file_fingerprint(input.path);
    if (!fingerprint.is_null() && std::find(fingerprints.begin(), fingerprints.end(), fingerprint) == fingerprints.end())
      fingerprints.push_back(std::move(fingerprint));
  }
  return fingerprints;
}

// "a, b, c".
std::string joined(const std::vector<std::string>& items) {
  std::string text;
  for (const std::string& item : items) text += (text.empty() ? "" : ", ") + item;
  return text;
}

// "X.npy changed since the run started (...)" for each file the run recorded whose bytes differ
// from `now` (input_fingerprints of the resumed run), matched by path. A run recorded before
// Cake kept fingerprints has none to compare.
std::vector<std::string> changed_inputs(const nlohmann::json& recorded, const nlohmann::json& now) {
  std::vector<std::string> changes;
  if (!recorded.contains("input_files") || !recorded["input_files"].is_array()) return changes;
  for (const nlohmann::json& before : recorded["input_files"]) {
    if (!before.contains("path") || !before["path"].is_string()) continue;
    const std::string path = before["path"].get<std::string>();
    const auto same_path = [&](const nlohmann::json& f) { return f["path"] == before["path"]; };
    const auto current = std::find_if(now.begin(), now.end(), same_path);
    if (current == now.end()) {
      const bool relative = fs::path(path).is_relative();
      changes.push_back(path + " (read when the run started) is missing or unreadable now" +
                        (relative ? std::string(" (a relative path, read from the current folder: resume from the folder "
                                                "the run was started in)")
                                  : std::string()));
    } else if (*current != before) {
      changes.push_back(path + " changed since the run started (" + before.value("bytes", nlohmann::json()).dump() +
                        " -> " + (*current)["bytes"].dump() + " bytes, FNV-1a " +
                        before.value("fnv1a64", std::string("?")) + " -> " + (*current)["fnv1a64"].get<std::string>() + ")");
    }
  }
  return changes;
}

// The value of every parameter in a run recorded before the parameter existed: its legacy_value
// where it has one, else its default.
nlohmann::json values_before_added(const AlgorithmEntry& algorithm) {
  AlgorithmEntry before = algorithm;
  for (ParamSpec& spec : before.params)
    if (spec.legacy_value) spec.default_value = *spec.legacy_value;
  return resolve_params(before, nlohmann::json::object(), {}).json();
}

// "lr: 0.001 -> 0.01" for every parameter (and the seed, data and labels) that a --resume
// would change, except those changeable_on_resume.
// A parameter the recorded config.json lacks was added to Cake after the run started; the run
// behaved as its default does (a new parameter's default keeps the old behaviour) or, for a
// parameter whose default changed the command, as its legacy_value says, so only another value
// is a change.
std::vector<std::string> resume_conflicts(const nlohmann::json& recorded, const AlgorithmEntry& algorithm,
                                          const RunContext& ctx, const RunOptions& options) {
  std::vector<std::string> conflicts;
  const nlohmann::json& before = recorded.contains("params") ? recorded["params"] : nlohmann::json::object();
  const nlohmann::json defaults = values_before_added(algorithm);
  for (const auto& item : ctx.params.json().items()) {
    if (changeable_on_resume(item.key())) continue;
    if (before.contains(item.key())) {
      const nlohmann::json& old = before[item.key()];
      if (old != item.value()) conflicts.push_back(item.key() + " " + old.dump() + " -> " + item.value().dump());
    } else if (item.value() != defaults[item.key()]) {
      conflicts.push_back(item.key() + " (not recorded: the run used " + defaults[item.key()].dump() + ") -> " +
                          item.value().dump());
    }
  }
  auto compare = [&](const char* name, const nlohmann::json& now) {
    const nlohmann::json old = recorded.contains(name) ? recorded[name] : nlohmann::json(nullptr);
    if (old != now) conflicts.push_back(std::string(name) + " " + old.dump() + " -> " + now.dump());
  };
  compare("seed", ctx.seed);
  compare("data", options.data);
  compare("labels", options.labels.empty() ? nlohmann::json(nullptr) : nlohmann::json(options.labels));
  return conflicts;
}

// "cuda" and "cuda:0" name one device; text that is no device is left to resolve_device to refuse.
bool same_device(const std::string& a, const std::string& b) {
  try {
    return parse_device(a) == parse_device(b);
  } catch (const cake::Error&) {
    return true;
  }
}

// A resumed run continues on the device and with the thread count it last ran with, unless
// --device or --threads says otherwise: results depend on both (OpenBLAS's SGEMM, for one, sums
// in another order with another thread count), so only the same ones continue a run bit for bit
// as if it had never stopped. Another choice is allowed (the run may move to another machine)
// and said once.
// Returns whether the device was taken from the record (for resolve_device's refusal to say so).
bool continue_where_recorded(const nlohmann::json& recorded, RunOptions& options) {
  const auto recorded_threads = recorded.contains("threads") && recorded["threads"].is_number_integer()
                                    ? recorded["threads"].get<std::int64_t>()
                                    : std::int64_t{0};
  const std::string recorded_device =
      recorded.contains("device") && recorded["device"].is_string() ? recorded["device"].get<std::string>() : "";
  std::vector<std::string> changes;
  if (options.threads == 0 && recorded_threads >= 1 && recorded_threads <= 1024) {
    options.threads = static_cast<int>(recorded_threads);
    const unsigned cores = std::thread::hardware_concurrency();
    if (cores > 0 && recorded_threads > cores && !options.quiet)
      std::cerr << "cake: note: the run used " << recorded_threads << " threads and continues with them on this "
                << cores << "-core machine; --threads " << cores << " is faster, but its numbers differ in the last "
                << "bits from a run never stopped\n";
  } else if (options.threads > 0 && recorded_threads > 0 && options.threads != recorded_threads) {
    changes.push_back("threads " + std::to_string(recorded_threads) + " -> " + std::to_string(options.threads));
  }
  const bool device_from_record = options.device.empty() && !recorded_device.empty();
  if (options.device.empty())
    options.device = recorded_device;
  else if (!recorded_device.empty() && !same_device(options.device, recorded_device))
    changes.push_back("device " + recorded_device + " -> " + options.device);
  if (!changes.empty() && !options.quiet) {
    std::cerr << "cake: note: --resume with " << joined(changes) << ": training continues, but its numbers will differ in the "
              << "last bits from a run never stopped\n";
  }
  return device_from_record;
}

// Where a rank other than 0 writes (its outputs are rank 0's, so nobody reads them).
struct ScratchFolder {
  explicit ScratchFolder(int rank)
      : path(fs::temp_directory_path() / ("cake-rank" + std::to_string(rank) + "-" + std::to_string(::getpid()))) {}
  ~ScratchFolder() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
  ScratchFolder(const ScratchFolder&) = delete;
  ScratchFolder& operator=(const ScratchFolder&) = delete;
  fs::path path;
};

// The one rule for commands under mpirun (registry.h, MultiRank): a single-process command
// started on several ranks is refused on every rank, before any data is read, rather than run
// P times over the same rows.
void check_multi_rank(const AlgorithmEntry& algorithm) {
  const distributed::ProcessGroup& group = distributed::default_group();
  const int p = group.world_size();
  if (p == 1) return;
  if (algorithm.multi_rank == MultiRank::SingleProcess)
    throw UsageError(algorithm.name + " runs in one process only, but it was started on " + std::to_string(p) +
                     " ranks (mpirun): every rank would compute the same run. Run it without mpirun (`cake run " +
                     algorithm.name + " ...`); docs/distributed.md lists the commands that use several ranks");
}

// Under mpirun, each rank of a Sharded command reads its own rows of the --data file. A rank
// that fails (a NaN in its rows, a truncated file) must not leave the others waiting in the
// first collective until the timeout: the ranks agree first, and every rank stops with a
// message, the failing one with its own reason.
ShardedInput load_shards_together(const std::string& data_spec, const std::string& labels) {
  distributed::ProcessGroup& group = distributed::default_group();
  ShardedInput mine;
  std::exception_ptr failure;
  try {
    mine = load_input_shard(data_spec, labels, group);
  } catch (...) {
    failure = std::current_exception();
  }
  Tensor failed_ranks = full({1}, failure ? 1.0 : 0.0, kFloat64);
  group.all_reduce(failed_ranks, distributed::ReduceOp::Sum);
  if (failure) std::rethrow_exception(failure);
  const auto others = static_cast<std::int64_t>(failed_ranks.item<double>());
  CAKE_CHECK(others == 0, "--data ", data::printable(data_spec), ": ", others, " other rank(s) could not read their rows ",
             "(their messages say why); rank ", group.rank(), " stops with them");
  return mine;
}

}  // namespace

int run_command(const RunOptions& given) {
  using clock = std::chrono::steady_clock;
  RunOptions options = given;
  const AlgorithmEntry& algorithm = find_algorithm(options.algorithm);
  check_multi_rank(algorithm);
  const ConfigFile config = read_config(options.config, algorithm.name);

  // --resume: the run's own config.json supplies everything not given again.
  OutputRequest request{.out = options.out, .algorithm = algorithm.name, .overwrite = options.overwrite,
                        .resume = options.resume};
  nlohmann::json recorded;
  bool device_from_record = false;
  nlohmann::json base_params = config.params;
  std::optional<std::uint64_t> config_seed = config.seed;
  if (options.resume) {
    check_output(request);
    const fs::path recorded_file = fs::path(options.out) / "config.json";
    if (!fs::exists(recorded_file)) throw UsageError("--resume: " + options.out + " holds no config.json to continue from");
    recorded = read_json_file(recorded_file);
    if (recorded.value("algorithm", algorithm.name) != algorithm.name)
      throw UsageError("--resume: " + options.out + " holds a " + recorded["algorithm"].dump() + " run, not " + algorithm.name);
    nlohmann::json merged = recorded.contains("params") ? recorded["params"] : nlohmann::json::object();
    const nlohmann::json before_added = values_before_added(algorithm);
    for (const ParamSpec& spec : algorithm.params)  // the run was started before these existed
      if (spec.legacy_value && !merged.contains(spec.name)) merged[spec.name] = before_added[spec.name];
    for (const auto& item : config.params.items()) merged[item.key()] = item.value();
    base_params = merged;
    if (!config_seed && recorded.contains("seed") && recorded["seed"].is_number_unsigned())
      config_seed = recorded["seed"].get<std::uint64_t>();
    if (options.data.empty() && recorded.contains("data") && recorded["data"].is_string())
      options.data = recorded["data"].get<std::string>();
    if (options.labels.empty() && recorded.contains("labels") && recorded["labels"].is_string())
      options.labels = recorded["labels"].get<std::string>();
    device_from_record = continue_where_recorded(recorded, options);
  }
  if (options.device.empty()) options.device = "cpu";
  if (options.data.empty()) throw UsageError("--data is required (a named data set or a file; see cake run --help)");

  RunContext ctx;
  ctx.algorithm = algorithm.name;
  ctx.params = resolve_params(algorithm, base_params, options.assignments);
  ctx.seed = options.seed.value_or(config_seed.value_or(0));
  try {
    ctx.device = resolve_device(options.device, algorithm.name);
  } catch (const UsageError& e) {
    if (!device_from_record) throw;
    throw UsageError(std::string(e.what()) + " (the device the run in " + options.out +
                     " used; --device cpu continues it on the CPU)");
  }
  ctx.quiet = options.quiet;
  // Hashed after the checks that cost nothing (for a new run, after check_output below).
  nlohmann::json input_files;
  if (options.resume) {
    input_files = input_fingerprints(options, algorithm, ctx.params.json());
    const std::vector<std::string> conflicts = resume_conflicts(recorded, algorithm, ctx, options);
    const std::vector<std::string> changed_files = changed_inputs(recorded, input_files);
    const std::string fresh_start = "start a new run from its checkpoint with --out NEW --set resume=" +
                                    (fs::path(options.out) / "checkpoint.safetensors").string();
    if (!conflicts.empty())
      throw UsageError("--resume continues the run in " + options.out + " exactly as it was started, but these differ "
                       "from its config.json: " + joined(conflicts) + ". Leave them out (--resume takes them from "
                       "config.json), or " + fresh_start);
    if (!changed_files.empty())
      throw UsageError("--resume continues the run in " + options.out + " on the files it started from, but " +
                       joined(changed_files) + ". Put the original back, or " + fresh_start);
    ctx.resume_checkpoint = fs::path(options.out) / "checkpoint.safetensors";
  }
  request.inputs = run_inputs(options, ctx.params.json());
  check_output(request);
  if (!options.resume) input_files = input_fingerprints(options, algorithm, ctx.params.json());
  // Under mpirun every rank runs the algorithm; rank 0 alone prints and writes the run folder,
  // the others write into a scratch folder that is removed at the end (docs/distributed.md).
  const distributed::ProcessGroup& group = distributed::default_group();
  std::optional<ScratchFolder> scratch;
  if (group.rank() != 0) {
    scratch.emplace(group.rank());
    request = {.out = scratch->path.string(), .algorithm = algorithm.name, .overwrite = true};
    options.quiet = true;
    ctx.quiet = true;
  }
  if (options.threads > 0) set_num_threads(options.threads);

  StopHandlers stop_handlers;
  ctx.stop_requested = [] { return stop_requested.load(); };
  InputData input;
  if (group.world_size() > 1 && algorithm.multi_rank == MultiRank::Sharded && !ctx.device.is_cuda() &&
      readable_as_shards(options.data)) {
    ShardedInput mine = load_shards_together(options.data, options.labels);
    input = std::move(mine.input);
    ctx.data_shard = mine.shard;
    ctx.total_rows = mine.total_rows;
  } else {
    input = load_input(options.data, options.labels);
  }
  ctx.data = input.data.to(ctx.device);
  ctx.labels = input.labels;
  ctx.image_shape = input.image_shape;
  ctx.class_names = input.class_names;
  ctx.data_name = options.data;
  if (input.test_data.defined()) {
    ctx.test_data = input.test_data.to(ctx.device);
    ctx.test_labels = input.test_labels;
  }

  RunFolder folder(request);
  ctx.out_dir = folder.dir();
  ctx.publish = [&] {
    folder.publish();
    ctx.out_dir = folder.dir();
  };
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
      {"git_commit", git_commit()},
      {"command", data::printable(options.command_line)},
      {"started_at", utc_timestamp()},
      {"run_id", folder.run_id()},
      {"input_files", input_files},
  };
  if (options.resume) {
    // The run keeps its identity; each resume is appended to its record.
    for (const char* kept : {"started_at", "command", "run_id"})
      if (recorded.contains(kept)) record[kept] = recorded[kept];
    record["resumes"] = recorded.contains("resumes") ? recorded["resumes"] : nlohmann::json::array();
    record["resumes"].push_back({{"at", utc_timestamp()}, {"command", options.command_line}, {"threads", get_num_threads()},
                                 {"device", to_string(ctx.device)}});
  }
  write_json_file(ctx.path("config.json"), record);
  nlohmann::json start_event = {{"event", options.resume ? "resume" : "start"}, {"algorithm", algorithm.name}, {"n_samples", ctx.n_rows()}};
  if (ctx.data_shard) start_event["rows_read"] = ctx.data.size(0);  // this rank's (rank 0's) shard of the file
  ctx.log(start_event);

  std::unique_ptr<Progress> progress = make_progress(options.quiet);
  ctx.progress = progress.get();
  if (group.world_size() > 1 && algorithm.multi_rank == MultiRank::DataParallelPretraining)
    progress->message(algorithm.name + " on " + std::to_string(group.world_size()) +
                      " ranks: the autoencoder trains data-parallel; the steps after it run on every rank "
                      "(the same result everywhere; rank 0 writes it)");
  manual_seed(ctx.seed);
  const auto started = clock::now();
  try {
    if (stop_requested.load()) throw RunInterrupted("interrupted before the run started");
    algorithm.run(ctx);
  } catch (const RunInterrupted& e) {
    progress->finish();
    ctx.log({{"event", "interrupted"}, {"message", e.what()}});
    std::cerr << "interrupted: " << e.what() << "\n";
    if (folder.published() && fs::exists(ctx.path("checkpoint.safetensors")))
      std::cerr << "continue it with: cake run " << algorithm.name << " --out " << folder.target().string()
                << " --resume\n";
    return 130;  // 128 + SIGINT, the shell's convention for a run stopped by Ctrl-C
  } catch (const std::exception& e) {
    progress->finish();  // end the bar's line before the error is printed
    ctx.log({{"event", "error"}, {"message", e.what()}});
    throw;
  }
  progress->finish();
  const double seconds = std::chrono::duration<double>(clock::now() - started).count();

  ctx.metrics["n_samples"] = ctx.n_rows();
  ctx.metrics["n_features"] = ctx.data.size(1);
  ctx.metrics["time_s"] = seconds;
  ctx.metrics["world_size"] = group.world_size();
  write_json_file(ctx.path("metrics.json"), ctx.metrics);
  ctx.log({{"event", "end"}, {"time_s", seconds}});
  ctx.publish();
  if (!options.quiet) print_summary(ctx, seconds);
  return 0;
}

}  // namespace cake::cli
