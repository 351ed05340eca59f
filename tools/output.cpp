// output.cpp: run directories and atomic file writes (see output.h).
#include "tools/output.h"

#include <algorithm>
#include <fstream>
#include <vector>
#include <sstream>
#include <system_error>

#include "data/file_io.h"
#include "tensor/error.h"
#include "tools/errors.h"

namespace cake::cli {

namespace fs = std::filesystem;

namespace {
// A directory may be replaced by --overwrite when it is empty or was written by `cake run`.
bool replaceable(const fs::path& dir) {
  return fs::is_empty(dir) || fs::exists(dir / "config.json");
}
}  // namespace

void check_output_dir(const std::string& out, bool overwrite) {
  if (out.empty() || !fs::exists(out)) return;
  if (!fs::is_directory(out)) throw UsageError("--out " + out + " exists and is not a directory");
  if (!overwrite) throw UsageError("--out " + out + " already exists; pass --overwrite to replace it");
  if (!replaceable(out))
    throw UsageError("--out " + out + " is not empty and holds no config.json, so it does not look like a run "
                     "directory; refusing to delete it even with --overwrite");
}

fs::path prepare_output_dir(const std::string& out, const std::string& algorithm, bool overwrite,
                            const fs::path& runs_root) {
  std::error_code error;
  if (out.empty()) {
    fs::create_directories(runs_root, error);
    CAKE_CHECK(!error, "cannot create ", runs_root.string(), ": ", error.message());
    // create_directory reports whether it made the directory, so two runs started at once
    // cannot both take the same N.
    for (int n = 1;; ++n) {
      const fs::path dir = runs_root / (algorithm + "-" + std::to_string(n));
      if (fs::create_directory(dir, error)) return dir;
      CAKE_CHECK(!error || error == std::errc::file_exists, "cannot create ", dir.string(), ": ", error.message());
    }
  }
  const fs::path dir(out);
  check_output_dir(out, overwrite);
  if (fs::exists(dir)) {
    fs::remove_all(dir, error);
    CAKE_CHECK(!error, "cannot remove the old ", dir.string(), ": ", error.message());
  }
  fs::create_directories(dir, error);
  CAKE_CHECK(!error, "cannot create ", dir.string(), ": ", error.message());
  return dir;
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
