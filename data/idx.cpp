// idx.cpp: the IDX reader, on top of zlib's gz* functions, which read gzip and raw files
// alike ("transparent" mode), so one code path serves both.
#include "cake/data/idx.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <memory>
#include <ostream>
#include <system_error>
#include <vector>

#include "cake/data/file_io.h"
#include "cake/tensor/native/elementwise.h"

namespace cake::data {
namespace {

struct GzCloser {
  void operator()(gzFile_s* f) const { gzclose(f); }
};
using GzFile = std::unique_ptr<gzFile_s, GzCloser>;

// Deflate cannot compress better than about 1032:1, so a compressed file of n bytes holds at
// most ~1032 n bytes. Checking the header against this bound before allocating means a
// corrupt header cannot make us allocate terabytes.
constexpr std::uint64_t kMaxDeflateRatio = 1032;

// The type codes and their element sizes in bytes.
struct IdxType {
  std::uint8_t code;
  std::size_t size;
};
constexpr IdxType kIdxTypes[] = {{0x08, 1}, {0x09, 1}, {0x0B, 2}, {0x0C, 4}, {0x0D, 4}, {0x0E, 8}};

// Reads exactly `bytes` bytes or throws, telling a truncated file from a corrupt one.
void read_exactly(gzFile file, void* dst, std::uint64_t bytes, const std::filesystem::path& path, const char* what) {
  auto* out = static_cast<unsigned char*>(dst);
  while (bytes > 0) {
    // gzread takes an unsigned count and returns an int, so read in chunks below INT_MAX.
    const unsigned chunk = static_cast<unsigned>(std::min<std::uint64_t>(bytes, 1u << 30));
    const int got = gzread(file, out, chunk);
    if (got <= 0) {
      int code = Z_OK;
      const char* message = gzerror(file, &code);
      // A clean end of a raw file, or zlib's "unexpected end of file" (Z_BUF_ERROR) inside a
      // gzip stream, both mean the file was cut short; anything else is corruption.
      CAKE_CHECK(code == Z_OK || code == Z_BUF_ERROR, quoted(path), ": corrupt compressed data in the IDX ", what,
                 " (zlib: ", message, ")");
      CAKE_FAIL(quoted(path), ": truncated IDX file (", bytes, " bytes of the ", what, " missing)");
    }
    out += got;
    bytes -= static_cast<std::uint64_t>(got);
  }
}

// Decodes `count` big-endian elements of type From into a new tensor of dtype To.
template <class From, class To>
Tensor decode_big_endian(const std::vector<unsigned char>& raw, const Shape& shape) {
  Tensor out = make_empty(shape, dtype_of<To>(), kCPU);
  To* dst = out.data_ptr<To>();
  const std::int64_t count = out.numel();
  for (std::int64_t i = 0; i < count; ++i) {
    unsigned char bytes[sizeof(From)];
    for (std::size_t b = 0; b < sizeof(From); ++b) bytes[b] = raw[i * sizeof(From) + sizeof(From) - 1 - b];
    From value;
    std::memcpy(&value, bytes, sizeof(From));
    dst[i] = static_cast<To>(value);
  }
  return out;
}

Tensor decode(std::uint8_t code, const std::vector<unsigned char>& raw, const Shape& shape) {
  switch (code) {
    case 0x08: return decode_big_endian<std::uint8_t, std::int64_t>(raw, shape);  // labels
    case 0x09: return decode_big_endian<std::int8_t, std::int64_t>(raw, shape);
    case 0x0B: return decode_big_endian<std::int16_t, std::int64_t>(raw, shape);
    case 0x0C: return decode_big_endian<std::int32_t, std::int64_t>(raw, shape);
    case 0x0D: return decode_big_endian<float, float>(raw, shape);
    case 0x0E: return decode_big_endian<double, double>(raw, shape);
  }
  CAKE_FAIL("read_idx: unknown type code ", int{code});
}

}  // namespace

Tensor read_idx(const std::filesystem::path& path) {
  std::error_code ec;
  check_regular_file(path);
  const std::uint64_t file_size = std::filesystem::file_size(path, ec);
  CAKE_CHECK(!ec, quoted(path), ": cannot read the file size: ", ec.message());
  GzFile file(gzopen(path.c_str(), "rb"));
  CAKE_CHECK(file != nullptr, quoted(path), ": cannot open for reading");
  gzbuffer(file.get(), 1 << 17);

  unsigned char magic[4];
  read_exactly(file.get(), magic, 4, path, "magic number");
  CAKE_CHECK(magic[0] == 0 && magic[1] == 0, quoted(path),
             ": not an IDX file (wrong magic: the first two bytes must be zero)");
  const IdxType* type = nullptr;
  for (const IdxType& t : kIdxTypes)
    if (t.code == magic[2]) type = &t;
  CAKE_CHECK(type != nullptr, quoted(path), ": unknown IDX type code ", int{magic[2]},
             " (expected 0x08, 0x09, 0x0B, 0x0C, 0x0D or 0x0E)");
  const int ndim = magic[3];
  CAKE_CHECK(ndim >= 1, quoted(path), ": IDX file with zero dimensions");

  std::vector<unsigned char> dim_bytes(static_cast<std::size_t>(ndim) * 4);
  read_exactly(file.get(), dim_bytes.data(), dim_bytes.size(), path, "dimensions");
  Shape shape(static_cast<std::size_t>(ndim));
  std::uint64_t bytes = type->size;
  for (int d = 0; d < ndim; ++d) {
    const unsigned char* p = &dim_bytes[static_cast<std::size_t>(d) * 4];
    shape[d] = static_cast<std::int64_t>(std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 |
                                         std::uint32_t{p[2]} << 8 | std::uint32_t{p[3]});
    CAKE_CHECK(!__builtin_mul_overflow(bytes, static_cast<std::uint64_t>(shape[d]), &bytes), quoted(path),
               ": the IDX shape ", shape, " overflows");
  }
  const bool compressed = gzdirect(file.get()) == 0;
  if (compressed)
    CAKE_CHECK(bytes <= kMaxDeflateRatio * file_size, quoted(path), ": the IDX header promises ", bytes,
               " bytes of data for shape ", shape, ", more than a ", file_size, "-byte gzip file can hold");
  else
    CAKE_CHECK(bytes <= file_size - 4 - dim_bytes.size(), quoted(path), ": truncated IDX file (the header promises ",
               bytes, " bytes of data for shape ", shape, ", the file has ", file_size - 4 - dim_bytes.size(), ")");

  // uint8 images are read straight into the tensor; everything else is decoded.
  Tensor out;
  if (type->code == 0x08 && ndim > 1) {
    out = make_empty(shape, kUInt8, kCPU);
    read_exactly(file.get(), out.raw_data(), bytes, path, "data");
  } else {
    std::vector<unsigned char> raw(bytes);
    read_exactly(file.get(), raw.data(), bytes, path, "data");
    out = decode(type->code, raw, shape);
  }
  // One more read must find the end: it also makes zlib verify the gzip CRC.
  unsigned char extra;
  const int trailing = gzread(file.get(), &extra, 1);
  CAKE_CHECK(trailing >= 0, quoted(path), ": corrupt compressed data at the end of the IDX file");
  CAKE_CHECK(trailing == 0, quoted(path), ": unexpected bytes after the IDX data (shape ", shape, ")");
  return out;
}

namespace {

template <class T>
void append_big_endian(std::string& out, T value) {
  unsigned char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));
  for (std::size_t b = sizeof(T); b-- > 0;) out.push_back(static_cast<char>(bytes[b]));
}

// The whole file's bytes, uncompressed.
std::string encode_idx(const Tensor& t, const std::filesystem::path& path) {
  std::string out;
  const DType dtype = t.dtype();
  const std::uint8_t code = dtype == kUInt8 ? 0x08 : dtype == kInt64 ? 0x0C : dtype == kFloat32 ? 0x0D : 0x0E;
  CAKE_CHECK(dtype != kBool, "write_idx ", quoted(path), ": bool tensors have no IDX type; convert to uint8");
  CAKE_CHECK(t.dim() >= 1 && t.dim() <= 255, "write_idx ", quoted(path), ": IDX needs 1 to 255 dimensions, got shape ",
             t.sizes());
  out.append({'\0', '\0', static_cast<char>(code), static_cast<char>(t.dim())});
  for (std::int64_t size : t.sizes()) {
    CAKE_CHECK(size <= std::numeric_limits<std::uint32_t>::max(), "write_idx ", quoted(path), ": dimension ", size,
               " does not fit IDX's 32 bits");
    append_big_endian(out, static_cast<std::uint32_t>(size));
  }
  visit_dtype(dtype, [&]<class T>() {
    const T* p = t.data_ptr<T>();
    for (std::int64_t i = 0; i < t.numel(); ++i) {
      if constexpr (std::is_same_v<T, std::int64_t>) {
        CAKE_CHECK(p[i] >= std::numeric_limits<std::int32_t>::min() && p[i] <= std::numeric_limits<std::int32_t>::max(),
                   "write_idx ", quoted(path), ": value ", p[i], " at index ", i, " does not fit IDX's int32");
        append_big_endian(out, static_cast<std::int32_t>(p[i]));
      } else if constexpr (!std::is_same_v<T, bool>) {
        append_big_endian(out, p[i]);
      }
    }
  });
  return out;
}

}  // namespace

void write_idx(const std::filesystem::path& path, const Tensor& tensor, bool gzip) {
  CAKE_CHECK(tensor.defined(), "write_idx ", quoted(path), ": the tensor is undefined");
  const std::string bytes = encode_idx(native::contiguous(native::to_device(tensor.detach(), kCPU)), path);
  std::string payload = bytes;
  if (gzip) {
    // One gzip member (windowBits 15 + 16 selects the gzip wrapper), compressed in one call,
    // which zlib's 32-bit counts limit to 4 GB.
    CAKE_CHECK(bytes.size() < (std::uint64_t{1} << 32), "write_idx ", quoted(path), ": ", bytes.size(),
               " bytes is too large to compress in one call");
    z_stream stream{};
    CAKE_CHECK(deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK,
               "write_idx ", quoted(path), ": zlib deflateInit2 failed");
    payload.resize(deflateBound(&stream, bytes.size()));
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
    stream.avail_in = static_cast<uInt>(bytes.size());
    stream.next_out = reinterpret_cast<Bytef*>(payload.data());
    stream.avail_out = static_cast<uInt>(payload.size());
    const int status = deflate(&stream, Z_FINISH);
    payload.resize(stream.total_out);
    deflateEnd(&stream);
    CAKE_CHECK(status == Z_STREAM_END, "write_idx ", quoted(path), ": zlib deflate failed");
  }
  write_file_atomic(path, [&](std::ostream& out) { out.write(payload.data(), static_cast<std::streamsize>(payload.size())); });
}

}  // namespace cake::data
