// file_io.h: the small file helpers every reader and writer in data/ shares.
//
//   std::string text = cake::data::read_text_file("table.csv");          // whole file
//   cake::data::write_file_atomic("out.npy", [&](std::ostream& out) { out.write(...); });
//
// Writers go through write_file_atomic: the bytes go to a temporary file beside the target,
// which is renamed over it only after a successful write. A crash or a full disk therefore
// never leaves a half-written file under the real name (rename is atomic on POSIX file
// systems when both names are in one directory).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <iosfwd>
#include <string>

namespace cake::data {

// The whole file as bytes; cake::Error naming the path when it is missing or unreadable.
std::string read_text_file(const std::filesystem::path& path);

// Calls `write` with a binary stream to a temporary file, then renames it to `path`. Any
// failure (including an exception from `write`) removes the temporary file and throws
// cake::Error naming `path`.
void write_file_atomic(const std::filesystem::path& path, const std::function<void(std::ostream&)>& write);

// "a.npy" in messages: the path as the user spelled it, quoted.
std::string quoted(const std::filesystem::path& path);

}  // namespace cake::data
