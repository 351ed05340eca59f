// safetensors.cpp: the safetensors reader (validating every header field) and the atomic
// writer. See safetensors.h for the layout and the reasons behind each check.
#include "cake/tensor/safetensors.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <vector>

#include "cake/tensor/creation.h"

namespace cake {

// The format stores little-endian bytes and Cake writes its memory as is.
static_assert(std::endian::native == std::endian::little, "safetensors I/O assumes a little-endian machine");

namespace {

// Header lengths above this are refused before any allocation (the reference implementation's
// limit too): a corrupt length must not make us allocate gigabytes.
constexpr std::uint64_t kMaxHeaderBytes = 100'000'000;

using Json = nlohmann::json;

template <class... Args>
[[noreturn]] void fail(const std::string& path, const Args&... args) {
  throw Error(detail::concat("safetensors file '", path, "': ", args...));
}

const char* dtype_code(DType dtype) {
  switch (dtype) {
    case DType::Float32: return "F32";
    case DType::Float64: return "F64";
    case DType::Int64: return "I64";
    case DType::UInt8: return "U8";
    case DType::Bool: return "BOOL";
    case DType::BFloat16: return "BF16";
    case DType::Float16: return "F16";
  }
  return "?";
}

bool parse_dtype_code(const std::string& code, DType& dtype) {
  static const std::array<DType, 7> all{DType::Float32, DType::Float64, DType::Int64,   DType::UInt8,
                                        DType::Bool,    DType::BFloat16, DType::Float16};
  for (DType d : all)
    if (code == dtype_code(d)) {
      dtype = d;
      return true;
    }
  return false;
}

std::string hex64(std::uint64_t value) {
  char buffer[17];
  std::snprintf(buffer, sizeof buffer, "%016llx", static_cast<unsigned long long>(value));
  return buffer;
}

// The start of the whole-file hash: the header as nlohmann::json dumps it (object keys sorted,
// no spaces), without the kFileChecksumKey entry. A canonical form rather than the file's own
// bytes, so the writer can hash before it knows the hash, and padding does not matter.
std::uint64_t header_hash(Json header) {
  if (header.contains("__metadata__") && header["__metadata__"].is_object()) header["__metadata__"].erase(kFileChecksumKey);
  const std::string text = header.dump();
  return fnv1a64(text.data(), text.size());
}

// ---- writing ------------------------------------------------------------------------------

// Owns the temporary file until commit(): if anything throws first, the destructor removes it,
// so a failed save leaves neither a partial file nor a stray temporary behind.
class AtomicFile {
 public:
  explicit AtomicFile(const std::string& path) : path_(path) {
    const std::filesystem::path target(path);
    dir_ = target.parent_path().empty() ? std::filesystem::path(".") : target.parent_path();
    // ".<name>.tmp-XXXXXX" beside the target (rename is only atomic within one file system).
    // Built with append: GCC 12 warns falsely (-Wrestrict) on chained string operator+.
    std::string hidden_name(".");
    hidden_name.append(target.filename().string()).append(".tmp-XXXXXX");
    std::string pattern = (dir_ / hidden_name).string();
    fd_ = ::mkstemp(pattern.data());
    if (fd_ < 0) fail(path, "cannot create a temporary file in '", dir_.string(), "': ", std::strerror(errno));
    temp_ = pattern;
  }
  ~AtomicFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!temp_.empty()) ::unlink(temp_.c_str());
  }
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, std::size_t size) {
    const char* p = static_cast<const char*>(data);
    while (size > 0) {
      const ssize_t n = ::write(fd_, p, size);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) fail(path_, "write failed (", std::strerror(n < 0 ? errno : EIO), "); the previous file is untouched");
      p += n;
      size -= static_cast<std::size_t>(n);
    }
  }

  // Flush to disk, then atomically replace the target; then flush the directory entry.
  void commit() {
    if (::fchmod(fd_, 0644) != 0 || ::fsync(fd_) != 0)
      fail(path_, "fsync failed (", std::strerror(errno), "); the previous file is untouched");
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) fail(path_, "close failed (", std::strerror(errno), "); the previous file is untouched");
    if (::rename(temp_.c_str(), path_.c_str()) != 0)
      fail(path_, "cannot rename the temporary file into place (", std::strerror(errno), ")");
    temp_.clear();
    const int dir_fd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY);
    if (dir_fd >= 0) {
      ::fsync(dir_fd);  // best effort: some file systems refuse fsync on directories
      ::close(dir_fd);
    }
  }

 private:
  std::string path_, temp_;
  std::filesystem::path dir_;
  int fd_ = -1;
};

}  // namespace

std::uint64_t fnv1a64(const void* data, std::size_t size, std::uint64_t hash) {
  const auto* bytes = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < size; ++i) {
    hash ^= bytes[i];
    hash *= 1099511628211ull;
  }
  return hash;
}

void save_safetensors(const std::string& path, const TensorMap& tensors, const MetadataMap& metadata) {
  for (const char* reserved : {kChecksumKey, kFileChecksumKey})
    CAKE_CHECK(!metadata.count(reserved), "save '", path, "': the metadata key '", reserved,
               "' is reserved for the checksum Cake writes");
  // Contiguous CPU copies (no copy at all for tensors that already are), in name order.
  std::vector<std::pair<std::string, Tensor>> blobs;
  std::uint64_t offset = 0;
  Json header = Json::object();
  for (const auto& [name, tensor] : tensors) {
    CAKE_CHECK(!name.empty() && name != "__metadata__", "save '", path, "': invalid tensor name '", name, "'");
    CAKE_CHECK(tensor.defined(), "save '", path, "': tensor '", name, "' is undefined");
    Tensor cpu = tensor.detach().to(kCPU).contiguous();
    const std::uint64_t bytes = cpu.nbytes();
    header[name] = {{"dtype", dtype_code(cpu.dtype())}, {"shape", cpu.sizes()}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    blobs.emplace_back(name, std::move(cpu));
  }
  Json meta = Json::object();
  for (const auto& [key, value] : metadata) meta[key] = value;
  header["__metadata__"] = meta;
  // The whole-file hash: the canonical header (without the hash itself), then the data.
  std::uint64_t checksum = header_hash(header);
  for (const auto& blob : blobs)
    if (blob.second.nbytes() > 0) checksum = fnv1a64(blob.second.raw_data(), blob.second.nbytes(), checksum);
  header["__metadata__"][kFileChecksumKey] = hex64(checksum);
  // Pad the JSON with spaces to a multiple of 8 bytes so the data starts 8-byte aligned, as
  // the reference writer does.
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  const std::uint64_t header_length = text.size();

  AtomicFile file(path);
  file.write(&header_length, sizeof header_length);
  file.write(text.data(), text.size());
  for (const auto& blob : blobs)
    if (blob.second.nbytes() > 0) file.write(blob.second.raw_data(), blob.second.nbytes());
  file.commit();
}

// ---- reading ------------------------------------------------------------------------------

namespace {

struct Entry {
  std::string name;
  DType dtype;
  Shape shape;
  std::uint64_t begin, end;
};

std::uint64_t read_unsigned(const std::string& path, const std::string& name, const char* field, const Json& value) {
  if (!value.is_number_unsigned())
    fail(path, "tensor '", name, "': every entry of \"", field, "\" must be a non-negative integer, got ", value.dump());
  return value.get<std::uint64_t>();
}

Entry parse_entry(const std::string& path, const std::string& name, const Json& value, std::uint64_t data_size) {
  if (!value.is_object()) fail(path, "tensor '", name, "': header entry must be an object, got ", value.dump());
  for (const auto& item : value.items())
    if (item.key() != "dtype" && item.key() != "shape" && item.key() != "data_offsets")
      fail(path, "tensor '", name, "': unknown header field \"", item.key(), "\"");
  if (!value.contains("dtype") || !value["dtype"].is_string())
    fail(path, "tensor '", name, "': missing or non-string \"dtype\"");
  Entry entry{name, DType::Float32, {}, 0, 0};
  const std::string code = value["dtype"].get<std::string>();
  if (!parse_dtype_code(code, entry.dtype))
    fail(path, "tensor '", name, "': unsupported dtype \"", code, "\" (Cake reads F32, F64, I64, U8 and BOOL)");

  if (!value.contains("shape") || !value["shape"].is_array()) fail(path, "tensor '", name, "': missing \"shape\" array");
  std::uint64_t numel = 1;
  bool overflow = false;
  for (const Json& dim : value["shape"]) {
    const std::uint64_t size = read_unsigned(path, name, "shape", dim);
    if (size > static_cast<std::uint64_t>(INT64_MAX)) overflow = true;
    overflow = overflow || __builtin_mul_overflow(numel, size, &numel);
    entry.shape.push_back(static_cast<std::int64_t>(size));
  }
  std::uint64_t nbytes = 0;
  overflow = overflow || __builtin_mul_overflow(numel, element_size(entry.dtype), &nbytes);
  if (overflow) fail(path, "tensor '", name, "': shape ", value["shape"].dump(), " is too large");

  const Json& offsets = value.contains("data_offsets") ? value["data_offsets"] : Json();
  if (!offsets.is_array() || offsets.size() != 2)
    fail(path, "tensor '", name, "': \"data_offsets\" must be [begin, end], got ", offsets.dump());
  entry.begin = read_unsigned(path, name, "data_offsets", offsets[0]);
  entry.end = read_unsigned(path, name, "data_offsets", offsets[1]);
  if (entry.begin > entry.end) fail(path, "tensor '", name, "': data_offsets [", entry.begin, ", ", entry.end, "] end before they begin");
  if (entry.end > data_size)
    fail(path, "tensor '", name, "': data_offsets [", entry.begin, ", ", entry.end, "] lie outside the data section of ",
         data_size, " bytes (truncated file?)");
  if (entry.end - entry.begin != nbytes)
    fail(path, "tensor '", name, "': data_offsets [", entry.begin, ", ", entry.end, "] hold ", entry.end - entry.begin,
         " bytes but dtype ", code, " with shape ", entry.shape, " needs ", nbytes);
  return entry;
}

// Parses the JSON, refusing duplicate names (a plain parse would silently keep the last one).
Json parse_header(const std::string& path, const std::string& text) {
  std::set<std::string> seen;
  const Json::parser_callback_t refuse_duplicates = [&](int depth, Json::parse_event_t event, Json& parsed) {
    if (depth == 1 && event == Json::parse_event_t::key && !seen.insert(parsed.get<std::string>()).second)
      fail(path, "the header names '", parsed.get<std::string>(), "' twice");
    return true;
  };
  try {
    return Json::parse(text, refuse_duplicates);
  } catch (const Json::exception& e) {
    fail(path, "the header is not valid JSON (", e.what(), ")");
  }
}

}  // namespace

SafetensorsFile load_safetensors(const std::string& path) {
  std::error_code error;
  const std::uint64_t file_size = std::filesystem::file_size(path, error);
  if (error) fail(path, "cannot open (", error.message(), ")");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, "cannot open for reading");

  // 1. The header length, checked against the file before anything is allocated.
  if (file_size < 8) fail(path, "the file has ", file_size, " bytes, fewer than the 8-byte header length (truncated?)");
  std::uint64_t header_length = 0;
  in.read(reinterpret_cast<char*>(&header_length), sizeof header_length);
  if (header_length > file_size - 8)
    fail(path, "header length ", header_length, " exceeds the ", file_size - 8, " bytes after it (truncated, or not a safetensors file)");
  if (header_length > kMaxHeaderBytes) fail(path, "header length ", header_length, " exceeds the limit of ", kMaxHeaderBytes, " bytes");
  if (header_length < 2) fail(path, "header length ", header_length, " is too small to hold a JSON object");
  const std::uint64_t data_size = file_size - 8 - header_length;

  // 2. The JSON header: an object of tensor entries plus an optional "__metadata__" map.
  std::string text(header_length, '\0');
  in.read(text.data(), static_cast<std::streamsize>(header_length));
  if (!in) fail(path, "cannot read the ", header_length, "-byte header");
  if (text.front() != '{') fail(path, "the header does not start with '{' (not a safetensors file?)");
  const Json header = parse_header(path, text);
  if (!header.is_object()) fail(path, "the header is not a JSON object");

  SafetensorsFile result;
  std::vector<Entry> entries;
  std::optional<std::string> stored_checksum, stored_file_checksum;
  for (const auto& item : header.items()) {
    if (item.key() == "__metadata__") {
      if (!item.value().is_object()) fail(path, "\"__metadata__\" must be an object of strings");
      for (const auto& meta : item.value().items()) {
        if (!meta.value().is_string()) fail(path, "metadata value of '", meta.key(), "' is not a string: ", meta.value().dump());
        if (meta.key() == kChecksumKey) stored_checksum = meta.value().get<std::string>();
        else if (meta.key() == kFileChecksumKey) stored_file_checksum = meta.value().get<std::string>();
        else result.metadata[meta.key()] = meta.value().get<std::string>();
      }
      continue;
    }
    entries.push_back(parse_entry(path, item.key(), item.value(), data_size));
  }

  // 3. The byte ranges, in file order: no overlaps, no unowned bytes (the reference reader
  //    requires the data section to be exactly covered).
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  std::uint64_t covered = 0;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const Entry& e = entries[i];
    if (e.begin < covered)
      fail(path, "tensors '", entries[i - 1].name, "' and '", e.name, "' overlap (data_offsets [", entries[i - 1].begin,
           ", ", entries[i - 1].end, "] and [", e.begin, ", ", e.end, "])");
    if (e.begin > covered) fail(path, "bytes [", covered, ", ", e.begin, ") of the data section belong to no tensor");
    covered = e.end;
  }
  if (covered != data_size)
    fail(path, "the data section has ", data_size, " bytes but the tensors account for ", covered);

  // 4. The data, read straight into each tensor in file order, hashed on the way (twice: the
  //    whole-file hash continues from the header's, the old one covers the data alone).
  std::uint64_t checksum = kFnv1aOffset, file_checksum = stored_file_checksum ? header_hash(header) : 0;
  for (const Entry& e : entries) {
    Tensor t = empty(e.shape, TensorOptions(e.dtype, kCPU));
    const std::uint64_t bytes = e.end - e.begin;
    if (bytes > 0) {
      in.read(static_cast<char*>(t.raw_data()), static_cast<std::streamsize>(bytes));
      if (!in) fail(path, "cannot read the data of tensor '", e.name, "' (truncated file?)");
      checksum = fnv1a64(t.raw_data(), bytes, checksum);
      if (stored_file_checksum) file_checksum = fnv1a64(t.raw_data(), bytes, file_checksum);
    }
    if (e.dtype == DType::Bool) {
      // Any byte but 0 or 1 is not a valid C++ bool: reading it would be undefined behaviour.
      const auto* p = static_cast<const std::uint8_t*>(t.raw_data());
      for (std::uint64_t i = 0; i < bytes; ++i)
        if (p[i] > 1) fail(path, "BOOL tensor '", e.name, "' holds the byte ", static_cast<int>(p[i]), " (only 0 and 1 are booleans)");
    }
    result.tensors.emplace(e.name, std::move(t));
  }
  if (stored_file_checksum && *stored_file_checksum != hex64(file_checksum))
    fail(path, "checksum mismatch: the header records ", kFileChecksumKey, " ", *stored_file_checksum,
         " but the header and data hash to ", hex64(file_checksum),
         "; the file is corrupt or was edited (its metadata, offsets or data changed after it was written)");
  if (stored_checksum && *stored_checksum != hex64(checksum))
    fail(path, "checksum mismatch: the header records ", kChecksumKey, " ", *stored_checksum, " but the data hashes to ",
         hex64(checksum), "; the file is corrupt");
  return result;
}

int remove_stale_temporaries(const std::string& path) {
  const std::filesystem::path target(path);
  const std::filesystem::path dir = target.parent_path().empty() ? std::filesystem::path(".") : target.parent_path();
  std::string prefix(".");  // append, not operator+: see AtomicFile
  prefix.append(target.filename().string()).append(".tmp-");
  std::error_code error;
  int removed = 0;
  for (std::filesystem::directory_iterator it(dir, error), end; !error && it != end; it.increment(error)) {
    const std::string name = it->path().filename().string();
    // mkstemp's six characters exactly: nothing else of the user's is touched.
    if (name.size() == prefix.size() + 6 && name.compare(0, prefix.size(), prefix) == 0 && it->is_regular_file()) {
      std::error_code ignored;
      if (std::filesystem::remove(it->path(), ignored)) ++removed;
    }
  }
  return removed;
}

void save(const TensorMap& tensors, const std::string& path) { save_safetensors(path, tensors); }
TensorMap load_tensors(const std::string& path) { return load_safetensors(path).tensors; }
void load(TensorMap& tensors, const std::string& path) { tensors = load_tensors(path); }

}  // namespace cake
