// output.cpp: run folders, their lifecycle, and atomic file writes (see output.h and its NOTE).
#include "tools/output.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <vector>
#include <sstream>
#include <system_error>

#include "cake/data/file_io.h"
#include "cake/tensor/error.h"

namespace cake::cli {

namespace fs = std::filesystem;

namespace {

// `path` made absolute, with . and .. resolved and symbolic links followed as far as it exists.
fs::path resolved(const fs::path& path) {
  fs::path p = fs::weakly_canonical(fs::absolute(path));
  if (!p.has_filename() && p.has_parent_path()) p = p.parent_path();  // "R/" -> "R"
  return p;
}

// Whether `path` is `folder` or lies inside it.
bool inside(const fs::path& path, const fs::path& folder) {
  const fs::path p = resolved(path), f = resolved(folder);
  auto [in_folder, in_path] = std::mismatch(f.begin(), f.end(), p.begin(), p.end());
  return in_folder == f.end();
}

bool marked(const fs::path& dir) { return fs::is_regular_file(dir / kRunMarker); }

// "20261202T051012Z-12345": when and by which process; unique enough for one machine.
std::string new_run_id() {
  const std::time_t now = std::time(nullptr);
  char text[32];
  std::strftime(text, sizeof text, "%Y%m%dT%H%M%SZ", std::gmtime(&now));
  return std::string(text) + "-" + std::to_string(::getpid());
}

void write_marker(const fs::path& dir, const std::string& run_id, const std::string& algorithm) {
  write_json_file(dir / kRunMarker,
                  {{"run_id", run_id},
                   {"algorithm", algorithm},
                   {"note", "written by `cake run`: this folder holds a run, which `cake run --overwrite` may replace"}});
}

bool process_alive(long pid) { return pid > 0 && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM); }

// Removes `<name>.unfinished-<pid>` and `<name>.replaced-<pid>` folders beside `target` that a
// killed run left behind: only marked ones, and only when their process is gone.
void remove_abandoned_siblings(const fs::path& target) {
  const fs::path parent = target.parent_path().empty() ? fs::path(".") : target.parent_path();
  const std::string name = target.filename().string();
  std::error_code error;
  for (fs::directory_iterator it(parent, error), end; !error && it != end; it.increment(error)) {
    const std::string entry = it->path().filename().string();
    for (const char* kind : {".unfinished-", ".replaced-"}) {
      const std::string prefix = name + kind;
      if (entry.rfind(prefix, 0) != 0 || !it->is_directory() || !marked(it->path())) continue;
      const std::string pid = entry.substr(prefix.size());
      if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos) continue;
      if (process_alive(std::stol(pid))) continue;
      std::error_code ignored;
      fs::remove_all(it->path(), ignored);
    }
  }
}

// A run's checkpoint: checkpoint.safetensors, or a phase's <phase>_checkpoint.safetensors when
// the command trains in phases (vade's pretraining, vae-ensemble's members and VAEs), so a run
// stopped before its last phase began can be resumed too.
bool holds_checkpoint(const fs::path& dir) {
  for (const fs::directory_entry& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_regular_file() && name.ends_with("checkpoint.safetensors")) return true;
  }
  return false;
}

}  // namespace

void check_output(const OutputRequest& request) {
  const std::string& out = request.out;
  if (request.resume && request.overwrite)
    throw UsageError("--resume continues the run in --out and --overwrite replaces it: pass one of them");
  if (out.empty()) {
    if (request.resume) throw UsageError("--resume continues the run in --out: name its folder, e.g. --out runs/cae --resume");
    return;
  }
  const fs::path dir(out);
  if (fs::exists(dir) && !fs::is_directory(dir)) throw UsageError("--out " + out + " exists and is not a directory");
  if (request.resume) {
    if (!fs::exists(dir)) throw UsageError("--resume: --out " + out + " does not exist; there is no run to continue");
    if (!marked(dir) && !fs::exists(dir / "config.json"))
      throw UsageError("--resume: " + out + " holds neither " + kRunMarker + " nor config.json, so it is not a run of cake");
    if (!holds_checkpoint(dir))
      throw UsageError("--resume: " + out + " holds no checkpoint.safetensors (only the training algorithms write one, "
                       "after their first epoch); start it again with --overwrite");
    return;
  }
  if (!fs::exists(dir)) return;
  if (!request.overwrite)
    throw UsageError("--out " + out + " already exists; pass --overwrite to replace it (or --resume to continue a "
                     "training run there)");
  if (inside(fs::current_path(), dir))
    throw UsageError("--out " + out + " is the current folder or one of its parents; refusing to replace it even with "
                     "--overwrite");
  if (!fs::is_empty(dir) && !marked(dir))
    throw UsageError("--out " + out + " is not empty and holds no " + kRunMarker +
                     " marker, so cake did not create it; refusing to delete it even with --overwrite (a run of an "
                     "older cake has no marker either: delete that folder yourself)");
  for (const fs::path& input : request.inputs) {
    if (input.empty() || !fs::exists(input) || !inside(input, dir)) continue;
    std::string message = "--out " + out + " --overwrite would delete " + input.string() +
                          ", which this run reads; write the new run to another folder";
    if (input.filename() == "checkpoint.safetensors") message += " (to continue that run in place: --out " + out + " --resume)";
    throw UsageError(message);
  }
}

RunFolder::RunFolder(const OutputRequest& request) : run_id_(new_run_id()) {
  check_output(request);
  std::error_code error;
  if (request.out.empty()) {
    fs::create_directories(request.runs_root, error);
    CAKE_CHECK(!error, "cannot create ", request.runs_root.string(), ": ", error.message());
    // create_directory reports whether it made the directory, so two runs started at once
    // cannot both take the same N.
    for (int n = 1;; ++n) {
      const fs::path dir = request.runs_root / (request.algorithm + "-" + std::to_string(n));
      if (fs::create_directory(dir, error)) {
        target_ = dir_ = dir;
        break;
      }
      CAKE_CHECK(!error || error == std::errc::file_exists, "cannot create ", dir.string(), ": ", error.message());
    }
    write_marker(dir_, run_id_, request.algorithm);
    return;
  }
  target_ = fs::path(request.out).lexically_normal();
  if (!target_.has_filename() && target_.has_parent_path()) target_ = target_.parent_path();
  if (request.resume) {
    dir_ = target_;
    if (!marked(dir_)) write_marker(dir_, run_id_, request.algorithm);  // a run of an older cake
    return;
  }
  if (!fs::exists(target_)) {
    fs::create_directories(target_, error);
    CAKE_CHECK(!error, "cannot create ", target_.string(), ": ", error.message());
    dir_ = target_;
    write_marker(dir_, run_id_, request.algorithm);
    return;
  }
  // Replacing a run: the new one goes into a sibling first (the same file system, so that the
  // final move is a rename).
  remove_abandoned_siblings(target_);
  const fs::path temporary = target_.string() + ".unfinished-" + std::to_string(::getpid());
  fs::create_directory(temporary, error);
  if (error || !fs::is_directory(temporary))
    CAKE_FAIL("cannot create the folder ", temporary.string(), " for the new run beside ", target_.string(), " (",
              error ? error.message() : "it exists and is not a folder", "); the old run is untouched");
  dir_ = temporary;
  write_marker(dir_, run_id_, request.algorithm);
}

RunFolder::~RunFolder() {
  if (published() || dir_.empty()) return;
  std::error_code ignored;
  fs::remove_all(dir_, ignored);  // a run that failed before publish(): the old run stays
}

void RunFolder::publish() {
  if (published()) return;
  std::error_code error;
  if (fs::exists(target_)) {
    CAKE_CHECK(fs::is_empty(target_) || marked(target_), "cannot replace ", target_.string(),
               ": it no longer holds a run (its ", kRunMarker, " marker is gone); the new run is kept in ", dir_.string());
    // Linux swaps the two folders in one step; elsewhere (or on file systems that cannot) the
    // old run is first renamed aside, so that at no moment are both gone.
    fs::path old = dir_;
    if (::renameat2(AT_FDCWD, dir_.c_str(), AT_FDCWD, target_.c_str(), RENAME_EXCHANGE) != 0) {
      old = target_.string() + ".replaced-" + std::to_string(::getpid());
      fs::rename(target_, old, error);
      CAKE_CHECK(!error, "cannot move the old run ", target_.string(), " aside: ", error.message(),
                 "; the new run is kept in ", dir_.string());
      fs::rename(dir_, target_, error);
      CAKE_CHECK(!error, "cannot move the new run ", dir_.string(), " to ", target_.string(), ": ", error.message(),
                 "; the old run is in ", old.string());
    }
    dir_ = target_;
    fs::remove_all(old, error);
    CAKE_CHECK(!error, "the new run is in ", target_.string(), " but the old one could not be deleted from ",
               old.string(), ": ", error.message());
    return;
  }
  fs::rename(dir_, target_, error);
  CAKE_CHECK(!error, "cannot move the new run ", dir_.string(), " to ", target_.string(), ": ", error.message());
  dir_ = target_;
}

void check_output_dir(const std::string& out, bool overwrite) { check_output({.out = out, .overwrite = overwrite}); }

fs::path prepare_output_dir(const std::string& out, const std::string& algorithm, bool overwrite,
                            const fs::path& runs_root) {
  if (out.empty() || !fs::exists(out)) {
    RunFolder folder({.out = out, .algorithm = algorithm, .runs_root = runs_root});
    return folder.dir();
  }
  check_output_dir(out, overwrite);
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(out))
    if (entry.path().filename() != kRunMarker) fs::remove_all(entry.path(), error);
  CAKE_CHECK(!error, "cannot empty the old ", out, ": ", error.message());
  if (!marked(out)) write_marker(out, new_run_id(), algorithm);
  return fs::path(out);
}

std::string dump_json(const nlohmann::json& value, int indent) {
  // An invalid UTF-8 byte in a string (a message quoting a binary field, say) would make
  // dump() throw type_error 316 and lose the whole record; it becomes U+FFFD instead. Paths
  // are recorded through data::printable, which keeps their bytes recoverable.
  return value.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

void write_json_file(const fs::path& path, const nlohmann::json& value) {
  const std::string text = dump_json(value, 2);
  data::write_file_atomic(path, [&](std::ostream& out) { out << text << '\n'; });
}

nlohmann::json read_json_file(const fs::path& path) {
  // A parameter file is small: the bound keeps a mistaken --config (a data set, a log) from
  // filling memory; check_regular_file refuses /dev/zero, FIFOs and folders by name.
  const std::string text = data::read_text_file(path, kMaxJsonBytes);
  // The same key twice in one object is a mistake nlohmann::json would resolve silently (the
  // last wins): refused, naming the key. One set of seen keys per open object.
  std::vector<std::vector<std::string>> keys;
  const auto refuse_duplicates = [&](int, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    using Event = nlohmann::json::parse_event_t;
    if (event == Event::object_start) keys.emplace_back();
    if (event == Event::object_end && !keys.empty()) keys.pop_back();
    if (event == Event::key && !keys.empty()) {
      const std::string& key = parsed.get_ref<const std::string&>();
      auto& seen = keys.back();
      if (std::find(seen.begin(), seen.end(), key) != seen.end())
        throw UsageError(data::quoted(path) + ": the key \"" + data::printable(key) + "\" appears twice in one object");
      seen.push_back(key);
    }
    return true;
  };
  try {
    return nlohmann::json::parse(text, refuse_duplicates);
  } catch (const nlohmann::json::exception& e) {
    // parse_error for syntax, but also out_of_range 406 for a number beyond double
    // (1e400; found by fuzz/fuzz_json_config): every one is a fault of the file.
    CAKE_FAIL(data::quoted(path), ": not valid JSON: ", data::printable(e.what()));
  }
}

}  // namespace cake::cli
