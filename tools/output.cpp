// output.cpp: run directories and atomic file writes (see output.h).
#include "tools/output.h"

#include <fstream>
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

void write_json_file(const fs::path& path, const nlohmann::json& value) {
  data::write_file_atomic(path, [&](std::ostream& out) { out << value.dump(2) << '\n'; });
}

nlohmann::json read_json_file(const fs::path& path) {
  std::ifstream in(path);
  CAKE_CHECK(in.good(), "cannot open ", path.string());
  std::stringstream text;
  text << in.rdbuf();
  try {
    return nlohmann::json::parse(text.str());
  } catch (const nlohmann::json::parse_error& e) {
    CAKE_FAIL(path.string(), ": not valid JSON: ", e.what());
  }
}

}  // namespace cake::cli
