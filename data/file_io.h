// file_io.h: the small file helpers every reader and writer in data/ shares.
//
//   std::string text = cake::data::read_text_file("table.csv");          // whole file
//   cake::data::write_file_atomic("copy.csv", [&](std::ostream& out) { out << text; });
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
#include <string_view>

namespace cake::data {

// The whole file as bytes; cake::Error naming the path when it is missing, not a regular
// file (see check_regular_file), unreadable, or larger than `max_bytes`.
std::string read_text_file(const std::filesystem::path& path, std::uintmax_t max_bytes = UINTMAX_MAX);

// Throws cake::Error unless `path` is a regular file (symbolic links followed), saying what it
// is instead: "no such file", "is a directory, not a file", "is a FIFO/socket/device, not a
// regular file" (reading /dev/zero or a pipe would never end, or block), "cannot be accessed".
void check_regular_file(const std::filesystem::path& path);

// Calls `write` with a binary stream to a temporary file, then renames it to `path`. Any
// failure (including an exception from `write`) removes the temporary file and throws
// cake::Error naming `path`.
void write_file_atomic(const std::filesystem::path& path, const std::function<void(std::ostream&)>& write);

// "a.npy" in messages: the path as the user spelled it, quoted (through printable(), so a
// path of arbitrary bytes cannot make a message invalid UTF-8).
std::string quoted(const std::filesystem::path& path);

// Whether `text` is well-formed UTF-8 (no overlong forms, surrogates or code points > U+10FFFF).
bool is_valid_utf8(std::string_view text);
// `text` unchanged when it is valid UTF-8 without control characters; otherwise each byte that
// is not part of a printable UTF-8 character is written \xNN and each backslash \\, so the
// original bytes can be recovered exactly (Linux paths are byte strings, JSON and terminals
// want text).
std::string printable(std::string_view text);

}  // namespace cake::data
