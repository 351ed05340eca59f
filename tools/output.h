// output.h: the run folder, its lifecycle, and how files get into it.
//
//   OutputRequest request{.out = "runs/cae", .algorithm = "conv-autoencoder", .overwrite = true,
//                         .inputs = {"runs/cae/../X.npy"}};
//   check_output(request);                    // every refusal, before any data is loaded
//   RunFolder folder(request);                // a fresh folder to write into (see below)
//   write_json_file(folder.dir() / "config.json", config);   // temp file + rename: all or nothing
//   ... the run ...
//   folder.publish();                         // the new run takes the place of the old one
//
// NOTE [ The run-folder lifecycle: never lose a user's files ]
// - Cake marks every folder it creates for a run with a marker file, `.cake-run` (JSON: the run
//   id, the algorithm, when it started). --overwrite only ever replaces a folder that holds
//   that marker (or is empty); never `.`, a parent of the current folder, nor a folder that
//   holds one of the run's inputs (its --data, --labels, --config, or a file named by a
//   parameter such as resume=...). Every one of these refusals comes before the data are loaded.
// - Without --out a new runs/ALGORITHM-N is created (the first free N). A new --out folder is
//   created and written directly; a failed run leaves its config.json and log.jsonl there.
// - --overwrite of an existing run writes the new run into a temporary sibling folder named
//   `<out>.unfinished-<pid>` and swaps it into place (an atomic exchange of the two folders)
//   only once the run has succeeded, or, for a training run, once its first checkpoint exists
//   (so that an interrupted run can be resumed). Only then is the old run deleted. A run that
//   fails first leaves the old run untouched and its temporary folder is removed; one killed
//   outright leaves `<out>.unfinished-<pid>`, which the next run writing to <out> removes once
//   that process is gone.
// - --resume continues the run in --out in place from its checkpoint.safetensors.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tools/errors.h"

namespace cake::cli {

// The marker file of a folder `cake run` created.
inline constexpr const char* kRunMarker = ".cake-run";

struct OutputRequest {
  std::string out = {};                       // --out; "": a new runs/ALGORITHM-N
  std::string algorithm = {};
  bool overwrite = false;                     // --overwrite: replace the run in `out`
  bool resume = false;                        // --resume: continue the run in `out`, in place
  std::vector<std::filesystem::path> inputs = {};  // files the run reads: never in a folder it deletes
  std::filesystem::path runs_root = "runs";
};

// Every refusal (UsageError) the request can meet, without creating or deleting anything:
// called before the data are loaded, so that a mistake is reported at once and costs nothing.
void check_output(const OutputRequest& request);

// The folder a run writes into, and its move into place. See the NOTE above.
class RunFolder {
 public:
  explicit RunFolder(const OutputRequest& request);  // check_output, then create
  ~RunFolder();                                       // an unpublished temporary folder is removed
  RunFolder(const RunFolder&) = delete;
  RunFolder& operator=(const RunFolder&) = delete;

  // Where files go now: the temporary sibling until publish(), the final folder after.
  const std::filesystem::path& dir() const { return dir_; }
  // Where the run ends up (--out, or runs/ALGORITHM-N).
  const std::filesystem::path& target() const { return target_; }
  const std::string& run_id() const { return run_id_; }
  bool published() const { return dir_ == target_; }
  // Moves the temporary folder into place, replacing (then deleting) the previous run. A no-op
  // when the run is already in its place.
  void publish();

 private:
  std::filesystem::path target_, dir_;
  std::string run_id_;
};

// A run stopped by Ctrl-C or SIGTERM at a safe point: `cake run` logs it and exits with 130.
class RunInterrupted : public cake::Error {
 public:
  using cake::Error::Error;
};

// The older interface, kept for its callers: `out` if given (created; an existing one only
// with `overwrite` and under the same rules as check_output, and then emptied at once), else a
// new runs/ALGORITHM-N under `runs_root`. `cake run` itself uses RunFolder.
std::filesystem::path prepare_output_dir(const std::string& out, const std::string& algorithm, bool overwrite,
                                         const std::filesystem::path& runs_root = "runs");
// check_output for `out` and `overwrite` alone.
void check_output_dir(const std::string& out, bool overwrite);

// JSON text that never throws: invalid UTF-8 inside strings becomes U+FFFD (see output.cpp).
// Every JSON file and log line of a run goes through it.
std::string dump_json(const nlohmann::json& value, int indent = -1);

// The largest --config file read_json_file accepts.
inline constexpr std::uintmax_t kMaxJsonBytes = 16u << 20;

// Pretty-printed JSON (2-space indent), written atomically (data::write_file_atomic: a
// temporary file renamed over `path`, so readers never see half a file).
void write_json_file(const std::filesystem::path& path, const nlohmann::json& value);
// Reads and parses a JSON file; errors name the file (and the line of a syntax error), and
// refuse a folder, a FIFO or device, a file over kMaxJsonBytes, and a key repeated in an object.
nlohmann::json read_json_file(const std::filesystem::path& path);

}  // namespace cake::cli
