#include "cake/data/file_io.h"

#include <unistd.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <system_error>

#include "cake/tensor/error.h"

namespace cake::data {

namespace {
// The length of the well-formed UTF-8 sequence starting at text[i], or 0 (RFC 3629, section 4).
std::size_t utf8_sequence(std::string_view text, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char b0 = byte(i);
  if (b0 < 0x80) return 1;
  std::size_t length = 0;
  unsigned char low = 0x80, high = 0xBF;  // the allowed range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    length = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    length = 3;
    if (b0 == 0xE0) low = 0xA0;   // no overlong forms
    if (b0 == 0xED) high = 0x9F;  // no UTF-16 surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    length = 4;
    if (b0 == 0xF0) low = 0x90;
    if (b0 == 0xF4) high = 0x8F;  // nothing above U+10FFFF
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  if (byte(i + 1) < low || byte(i + 1) > high) return 0;
  for (std::size_t k = 2; k < length; ++k)
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  return length;
}
}  // namespace

bool is_valid_utf8(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t length = utf8_sequence(text, i);
    if (length == 0) return false;
    i += length;
  }
  return true;
}

std::string printable(std::string_view text) {
  bool clean = is_valid_utf8(text);
  for (const char c : text) clean = clean && static_cast<unsigned char>(c) >= 0x20 && c != 0x7F;
  if (clean) return std::string(text);
  static const char* const kHex = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < text.size();) {
    const auto b = static_cast<unsigned char>(text[i]);
    const std::size_t length = utf8_sequence(text, i);
    if (b == '\\') {
      out += "\\\\";
    } else if (length == 0 || b < 0x20 || b == 0x7F) {
      out += "\\x";
      out.push_back(kHex[b >> 4]);
      out.push_back(kHex[b & 15]);
    } else {
      out.append(text.substr(i, length));
      i += length;
      continue;
    }
    ++i;
  }
  return out;
}

std::string quoted(const std::filesystem::path& path) {
  // Built by appending: GCC 12 warns falsely (-Wrestrict) on "'" + std::string.
  std::string text(1, '\'');
  text += printable(path.string());
  text.push_back('\'');
  return text;
}

void check_regular_file(const std::filesystem::path& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  switch (status.type()) {
    case fs::file_type::regular: return;
    case fs::file_type::not_found: CAKE_FAIL(quoted(path), ": no such file");
    case fs::file_type::directory: CAKE_FAIL(quoted(path), ": is a directory, not a file");
    case fs::file_type::fifo: CAKE_FAIL(quoted(path), ": is a FIFO (named pipe), not a regular file");
    case fs::file_type::socket: CAKE_FAIL(quoted(path), ": is a socket, not a regular file");
    case fs::file_type::block:
    case fs::file_type::character: CAKE_FAIL(quoted(path), ": is a device, not a regular file");
    default: break;
  }
  CAKE_FAIL(quoted(path), ": cannot be accessed", ec ? ": " + ec.message() : std::string());
}

std::string read_text_file(const std::filesystem::path& path, std::uintmax_t max_bytes) {
  check_regular_file(path);
  std::error_code ec;
  const std::uintmax_t size = std::filesystem::file_size(path, ec);
  CAKE_CHECK(!ec, quoted(path), ": cannot read its size: ", ec.message());
  CAKE_CHECK(size <= max_bytes, quoted(path), ": ", size, " bytes, more than the ", max_bytes, " this reader accepts");
  std::ifstream in(path, std::ios::binary);
  CAKE_CHECK(in.good(), quoted(path), ": cannot open for reading");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  CAKE_CHECK(!in.bad(), quoted(path), ": read error");
  return std::move(buffer).str();
}

void write_file_atomic(const std::filesystem::path& path, const std::function<void(std::ostream&)>& write) {
  // The temporary name is unique per process and per call, so two writers of the same target
  // never share a temporary file; the last rename wins, whole.
  static std::atomic<std::uint64_t> counter{0};
  std::filesystem::path temp = path;
  temp += ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
  auto remove_temp = [&] {
    std::error_code ignored;
    std::filesystem::remove(temp, ignored);
  };
  try {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    CAKE_CHECK(out.good(), quoted(path), ": cannot open ", quoted(temp), " for writing");
    write(out);
    out.flush();
    CAKE_CHECK(out.good(), quoted(path), ": write error (disk full?)");
    out.close();
    CAKE_CHECK(!out.fail(), quoted(path), ": error closing the file");
  } catch (...) {
    remove_temp();
    throw;
  }
  std::error_code ec;
  std::filesystem::rename(temp, path, ec);
  if (ec) {
    remove_temp();
    CAKE_FAIL(quoted(path), ": cannot rename the temporary file into place: ", ec.message());
  }
}

}  // namespace cake::data
