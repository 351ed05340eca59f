// output.h: the run directory and how files get into it.
//
//   std::filesystem::path dir = prepare_output_dir(out_flag, "kmeans", overwrite);
//   write_json_file(dir / "config.json", config);       // temp file + rename: all or nothing
//
// Without --out a fresh runs/ALGORITHM-N is taken (N = 1, 2, ...: the first that does not
// exist). An existing --out directory is refused unless --overwrite, and even then only when it
// is empty or holds a previous run (a config.json), so a typo cannot wipe an unrelated folder.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

namespace cake::cli {

// `out` if given (created; see above for existing ones), else a new runs/ALGORITHM-N under
// `runs_root`. Throws UsageError when `out` exists and may not be replaced.
std::filesystem::path prepare_output_dir(const std::string& out, const std::string& algorithm, bool overwrite,
                                         const std::filesystem::path& runs_root = "runs");

// The UsageError prepare_output_dir would throw for `out`, without creating anything: called
// before the data are loaded, so that a mistake is reported at once.
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
