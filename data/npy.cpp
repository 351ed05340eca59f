// npy.cpp: the .npy header parser, the reader and the writer (see npy.h for the format).
#include "cake/data/npy.h"

#include <bit>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "cake/data/file_io.h"
#include "cake/tensor/native/elementwise.h"

namespace cake::data {
namespace {

static_assert(std::endian::native == std::endian::little,
              "the .npy reader and writer assume a little-endian host");

constexpr char kMagic[] = "\x93NUMPY";
constexpr std::size_t kMagicSize = 6;
// Data starts at a multiple of this many bytes (numpy >= 1.9 writes 64, older ones 16).
constexpr std::size_t kAlignment = 64;

// ---- the header dict ------------------------------------------------------------------------
// The header is a Python literal; we parse exactly the subset numpy writes: a dict whose keys
// are strings and whose values are strings, True/False or tuples of non-negative integers.
struct HeaderValue {
  enum class Kind { String, Bool, Tuple } kind = Kind::String;
  std::string text;
  bool flag = false;
  Shape tuple;
};

class HeaderParser {
 public:
  HeaderParser(std::string_view text, const std::filesystem::path& path) : text_(text), path_(path) {}

  std::map<std::string, HeaderValue> parse_dict() {
    std::map<std::string, HeaderValue> dict;
    skip_space();
    expect('{');
    while (true) {
      skip_space();
      if (peek() == '}') break;
      std::string key = parse_string();
      skip_space();
      expect(':');
      skip_space();
      CAKE_CHECK(!dict.count(key), where(), "the key '", key, "' appears twice");
      CAKE_CHECK(key != "descr" || (peek() != '[' && peek() != '{'), quoted(path_),
                 ": structured dtypes (a list or dict 'descr') are not supported");
      dict[key] = parse_value();
      skip_space();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      CAKE_CHECK(peek() == '}', where(), "expected ',' or '}' in the header dict");
    }
    ++pos_;  // '}'
    skip_space();
    CAKE_CHECK(pos_ == text_.size(), where(), "unexpected text after the header dict");
    return dict;
  }

 private:
  std::string where() const {
    return quoted(path_) + ": malformed .npy header at character " + std::to_string(pos_) + ": ";
  }
  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' || text_[pos_] == '\r'))
      ++pos_;
  }
  void expect(char c) {
    CAKE_CHECK(peek() == c, where(), "expected '", c, "'");
    ++pos_;
  }
  bool consume_word(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }
  std::string parse_string() {
    const char quote = peek();
    CAKE_CHECK(quote == '\'' || quote == '"', where(), "expected a quoted string");
    ++pos_;
    const std::size_t end = text_.find(quote, pos_);
    CAKE_CHECK(end != std::string_view::npos, where(), "unterminated string");
    std::string s(text_.substr(pos_, end - pos_));
    pos_ = end + 1;
    return s;
  }
  std::int64_t parse_int() {
    // Dims are bounded far below 2^62, so a number with more digits is a corrupt header.
    std::int64_t value = 0;
    int digits = 0;
    while (peek() >= '0' && peek() <= '9') {
      CAKE_CHECK(++digits <= 18, where(), "dimension too large");
      value = value * 10 + (peek() - '0');
      ++pos_;
    }
    CAKE_CHECK(digits > 0, where(), "expected a non-negative integer");
    if (peek() == 'L') ++pos_;  // Python 2 numpy wrote long integers as 3L
    return value;
  }
  HeaderValue parse_value() {
    HeaderValue value;
    const char c = peek();
    if (c == '\'' || c == '"') {
      value.kind = HeaderValue::Kind::String;
      value.text = parse_string();
    } else if (consume_word("True")) {
      value.kind = HeaderValue::Kind::Bool;
      value.flag = true;
    } else if (consume_word("False")) {
      value.kind = HeaderValue::Kind::Bool;
      value.flag = false;
    } else if (c == '(' || c == '[') {
      const char close = c == '(' ? ')' : ']';
      value.kind = HeaderValue::Kind::Tuple;
      ++pos_;
      while (true) {
        skip_space();
        if (peek() == close) break;
        value.tuple.push_back(parse_int());
        skip_space();
        if (peek() == ',') {
          ++pos_;
          continue;
        }
        CAKE_CHECK(peek() == close, where(), "expected ',' or '", close, "' in the shape");
      }
      ++pos_;
    } else if (c == '{') {
      CAKE_FAIL(where(), "nested dicts (structured dtypes) are not supported");
    } else {
      CAKE_FAIL(where(), "expected a string, True/False or a tuple");
    }
    return value;
  }

  std::string_view text_;
  const std::filesystem::path& path_;
  std::size_t pos_ = 0;
};

// How a descr maps onto a Cake dtype. int32 has no Cake dtype and is widened on read.
struct FileDType {
  DType dtype;
  std::size_t file_item_size;
  bool widen_int32;
};

FileDType parse_descr(const std::string& descr, const std::filesystem::path& path) {
  const std::string supported =
      " (supported: float32 '<f4', float64 '<f8', float16 '<f2', uint8 '|u1', int64 '<i8', int32 '<i4', bool '|b1')";
  CAKE_CHECK(descr.size() >= 2, quoted(path), ": unsupported dtype '", descr, "'", supported);
  const char order = descr[0];
  const std::string kind = descr.substr(1);
  const bool one_byte = kind == "u1" || kind == "b1";
  if (order == '>' && !one_byte)
    CAKE_FAIL(quoted(path), ": big-endian dtype '", descr, "' is not supported; convert with a.astype('<",
              kind, "')");
  CAKE_CHECK(order == '<' || order == '|' || order == '=' || order == '>', quoted(path), ": unsupported dtype '",
             descr, "'", supported);
  if (kind == "f4") return {kFloat32, 4, false};
  if (kind == "f8") return {kFloat64, 8, false};
  if (kind == "f2") return {kFloat16, 2, false};
  if (kind == "u1") return {kUInt8, 1, false};
  if (kind == "b1") return {kBool, 1, false};
  if (kind == "i8") return {kInt64, 8, false};
  if (kind == "i4") return {kInt64, 4, true};
  CAKE_FAIL(quoted(path), ": unsupported dtype '", descr, "'", supported);
}

struct NpyHeader {
  FileDType type;
  Shape shape;
  std::uint64_t data_offset;  // bytes from the start of the file
};

std::uint64_t read_little_endian(const unsigned char* p, int bytes) {
  std::uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = v << 8 | p[i];
  return v;
}

// Reads and checks the magic, version and header dict; leaves `in` at the first data byte.
NpyHeader read_header(std::ifstream& in, std::uint64_t file_size, const std::filesystem::path& path) {
  unsigned char prefix[12] = {};
  CAKE_CHECK(file_size >= 10, quoted(path), ": not a .npy file (only ", file_size, " bytes)");
  in.read(reinterpret_cast<char*>(prefix), 10);
  CAKE_CHECK(in.good(), quoted(path), ": read error in the .npy header");
  CAKE_CHECK(std::memcmp(prefix, kMagic, kMagicSize) == 0, quoted(path),
             ": not a .npy file (wrong magic; expected \\x93NUMPY)");
  const int major = prefix[6], minor = prefix[7];
  CAKE_CHECK((major == 1 || major == 2 || major == 3) && minor == 0, quoted(path), ": unsupported .npy version ",
             major, ".", minor, " (supported: 1.0, 2.0, 3.0)");
  // Version 1.0 stores the header length in 2 bytes; 2.0 and 3.0 in 4 (3.0 only adds UTF-8).
  std::uint64_t prefix_size = 10, header_length = read_little_endian(prefix + 8, 2);
  if (major >= 2) {
    CAKE_CHECK(file_size >= 12, quoted(path), ": truncated .npy header");
    in.read(reinterpret_cast<char*>(prefix + 10), 2);
    CAKE_CHECK(in.good(), quoted(path), ": read error in the .npy header");
    prefix_size = 12;
    header_length = read_little_endian(prefix + 8, 4);
  }
  CAKE_CHECK(header_length <= file_size - prefix_size, quoted(path), ": truncated .npy header (declares ",
             header_length, " bytes, the file has ", file_size - prefix_size, " after the prefix)");
  std::string text(header_length, '\0');
  in.read(text.data(), static_cast<std::streamsize>(header_length));
  CAKE_CHECK(in.good() || header_length == 0, quoted(path), ": read error in the .npy header");

  const auto dict = HeaderParser(text, path).parse_dict();
  for (const auto& [key, value] : dict)
    CAKE_CHECK(key == "descr" || key == "fortran_order" || key == "shape", quoted(path),
               ": unexpected key '", key, "' in the .npy header");
  auto field = [&](const char* key, HeaderValue::Kind kind, const char* kind_name) -> const HeaderValue& {
    auto it = dict.find(key);
    CAKE_CHECK(it != dict.end(), quoted(path), ": the .npy header has no '", key, "'");
    CAKE_CHECK(it->second.kind == kind, quoted(path), ": '", key, "' in the .npy header must be ", kind_name);
    return it->second;
  };
  NpyHeader header;
  header.type = parse_descr(field("descr", HeaderValue::Kind::String, "a string").text, path);
  CAKE_CHECK(!field("fortran_order", HeaderValue::Kind::Bool, "True or False").flag, quoted(path),
             ": Fortran-order arrays are not supported; save a C-order copy with np.ascontiguousarray(a)");
  header.shape = field("shape", HeaderValue::Kind::Tuple, "a tuple").tuple;
  header.data_offset = prefix_size + header_length;
  return header;
}

// Elements times item size, refusing overflow (a corrupt header must not wrap around).
std::uint64_t payload_bytes(const NpyHeader& header, const std::filesystem::path& path) {
  std::uint64_t count = 1;
  for (std::int64_t d : header.shape)
    CAKE_CHECK(!__builtin_mul_overflow(count, static_cast<std::uint64_t>(d), &count), quoted(path),
               ": the shape ", header.shape, " in the .npy header overflows");
  std::uint64_t bytes = 0;
  CAKE_CHECK(!__builtin_mul_overflow(count, header.type.file_item_size, &bytes), quoted(path), ": the shape ",
             header.shape, " in the .npy header overflows");
  return bytes;
}

void check_no_nan(const Tensor& t, const std::filesystem::path& path) {
  if (!t.is_floating_point()) return;
  if (is_half(t.dtype())) return check_no_nan(t.to(kFloat32), path);  // float16: exact in float32
  visit_floating(t.dtype(), "read_npy", [&]<class T>() {
    const T* p = t.data_ptr<T>();
    for (std::int64_t i = 0; i < t.numel(); ++i)
      CAKE_CHECK(!std::isnan(p[i]), quoted(path), ": NaN at element ", i, " (flat index) and allow_nan is off");
  });
}

std::string descr_for(DType dtype) {
  switch (dtype) {
    case kFloat32: return "<f4";
    case kFloat64: return "<f8";
    case kInt64: return "<i8";
    case kUInt8: return "|u1";
    case kBool: return "|b1";
    case kFloat16: return "<f2";
    case kBFloat16: break;  // NumPy has no bfloat16
  }
  CAKE_FAIL("write_npy: NumPy has no ", dtype_name(dtype), " dtype; convert with .to(cake::kFloat32) first");
}

std::string shape_literal(const Shape& shape) {
  std::string s = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  if (shape.size() == 1) s += ",";  // a Python 1-tuple needs its comma
  return s + ")";
}

// An open .npy file whose header has been read and whose size matches it.
struct OpenNpy {
  std::ifstream in;
  NpyHeader header;
};

OpenNpy open_npy(const std::filesystem::path& path) {
  std::error_code ec;
  check_regular_file(path);
  const std::uint64_t file_size = std::filesystem::file_size(path, ec);
  CAKE_CHECK(!ec, quoted(path), ": cannot read the file size: ", ec.message());
  OpenNpy file{std::ifstream(path, std::ios::binary), {}};
  CAKE_CHECK(file.in.good(), quoted(path), ": cannot open for reading");
  file.header = read_header(file.in, file_size, path);
  const std::uint64_t expected = payload_bytes(file.header, path);
  const std::uint64_t available = file_size - file.header.data_offset;
  CAKE_CHECK(available >= expected, quoted(path), ": truncated .npy data (the header promises ", expected,
             " bytes for shape ", file.header.shape, ", the file has ", available, ")");
  CAKE_CHECK(available == expected, quoted(path), ": ", available - expected,
             " unexpected bytes after the .npy data (shape ", file.header.shape, ")");
  return file;
}

// Reads out.numel() elements from where `in` stands into `out` (shaped by the caller).
void read_payload(std::ifstream& in, const NpyHeader& header, Tensor& out, const std::filesystem::path& path,
                  const NpyOptions& options) {
  const std::uint64_t expected = static_cast<std::uint64_t>(out.numel()) * header.type.file_item_size;
  // The payload goes straight into the tensor's memory, except int32 which is widened.
  if (header.type.widen_int32) {
    std::vector<std::int32_t> narrow(static_cast<std::size_t>(out.numel()));
    in.read(reinterpret_cast<char*>(narrow.data()), static_cast<std::streamsize>(expected));
    std::int64_t* wide = out.data_ptr<std::int64_t>();
    for (std::size_t i = 0; i < narrow.size(); ++i) wide[i] = narrow[i];
  } else if (expected > 0) {
    in.read(static_cast<char*>(out.raw_data()), static_cast<std::streamsize>(expected));
  }
  CAKE_CHECK(!in.fail(), quoted(path), ": read error in the .npy data");
  if (header.type.dtype == kBool) {
    // Any non-zero byte is true in numpy; Cake's bool kernels expect exactly 0 or 1.
    auto* bytes = static_cast<unsigned char*>(out.raw_data());
    for (std::int64_t i = 0; i < out.numel(); ++i) bytes[i] = bytes[i] != 0;
  }
  if (!options.allow_nan) check_no_nan(out, path);
}

}  // namespace

Tensor read_npy(const std::filesystem::path& path, const NpyOptions& options) {
  OpenNpy file = open_npy(path);
  Tensor out = make_empty(file.header.shape, file.header.type.dtype, kCPU);
  read_payload(file.in, file.header, out, path, options);
  return out;
}

Shape npy_shape(const std::filesystem::path& path) { return open_npy(path).header.shape; }

Tensor read_npy_rows(const std::filesystem::path& path, std::int64_t begin, std::int64_t count,
                     const NpyOptions& options) {
  OpenNpy file = open_npy(path);
  const Shape& shape = file.header.shape;
  CAKE_CHECK(!shape.empty(), quoted(path), ": read_npy_rows needs an array with rows, got a scalar");
  CAKE_CHECK(begin >= 0 && count >= 0 && begin <= shape[0] - count, quoted(path), ": rows [", begin, ", ", begin + count,
             ") are outside the ", shape[0], " rows of the array (shape ", shape, ")");
  std::uint64_t row_bytes = file.header.type.file_item_size;
  for (std::size_t d = 1; d < shape.size(); ++d) row_bytes *= static_cast<std::uint64_t>(shape[d]);
  Shape rows = shape;
  rows[0] = count;
  Tensor out = make_empty(rows, file.header.type.dtype, kCPU);
  // Skip the rows before `begin` without reading them: one seek.
  file.in.seekg(static_cast<std::streamoff>(file.header.data_offset + static_cast<std::uint64_t>(begin) * row_bytes));
  CAKE_CHECK(file.in.good(), quoted(path), ": cannot seek to row ", begin);
  read_payload(file.in, file.header, out, path, options);
  return out;
}

void write_npy(const std::filesystem::path& path, const Tensor& tensor) {
  CAKE_CHECK(tensor.defined(), "write_npy ", quoted(path), ": the tensor is undefined");
  const Tensor host = native::contiguous(native::to_device(tensor.detach(), kCPU));
  std::string header = "{'descr': '" + descr_for(host.dtype()) + "', 'fortran_order': False, 'shape': " +
                       shape_literal(host.sizes()) + ", }";
  // Pad with spaces and end with '\n' so that the data starts on a 64-byte boundary. Version
  // 1.0 stores the header length in 2 bytes; Cake's shapes (at most a few dozen dims) always
  // fit, so version 2.0's 4-byte length is never needed.
  constexpr std::size_t kPrefix = 10;
  header.append((kAlignment - (kPrefix + header.size() + 1) % kAlignment) % kAlignment, ' ');
  header.push_back('\n');
  CAKE_CHECK(header.size() <= 65535, "write_npy ", quoted(path), ": the header for shape ", host.sizes(),
             " is too long for .npy version 1.0");
  write_file_atomic(path, [&](std::ostream& out) {
    out.write(kMagic, kMagicSize);
    const char version_and_length[4] = {1, 0, static_cast<char>(header.size() & 0xff),
                                        static_cast<char>(header.size() >> 8)};
    out.write(version_and_length, 4);
    out.write(header.data(), static_cast<std::streamsize>(header.size()));
    out.write(static_cast<const char*>(host.raw_data()), static_cast<std::streamsize>(host.nbytes()));
  });
}

}  // namespace cake::data
