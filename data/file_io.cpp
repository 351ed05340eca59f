#include "data/file_io.h"

#include <unistd.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <system_error>

#include "tensor/error.h"

namespace cake::data {

std::string quoted(const std::filesystem::path& path) {
  // Built by appending: GCC 12 warns falsely (-Wrestrict) on "'" + std::string.
  std::string text(1, '\'');
  text += path.string();
  text.push_back('\'');
  return text;
}

std::string read_text_file(const std::filesystem::path& path) {
  std::error_code ec;
  CAKE_CHECK(std::filesystem::is_regular_file(path, ec), quoted(path), ": no such file");
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
