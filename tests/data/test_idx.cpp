// Tests for data/idx.h: hand-made IDX files (raw and gzip) with known bytes, write/read round
// trips, the real Fashion-MNIST files when installed, and every refused input by name.
#include "cake/data/idx.h"
#include "helpers.h"
#include "test_files.h"

using namespace cake;
using cake::data::read_idx;
using cake::data::write_idx;
using cake::testing::error_message;
using cake::testing::values;

namespace {
// IDX header bytes: two zeros, type, ndim, then big-endian dims.
std::string idx_header(unsigned char type, std::vector<std::uint32_t> dims) {
  std::string h = {'\0', '\0', static_cast<char>(type), static_cast<char>(dims.size())};
  for (std::uint32_t d : dims)
    for (int b = 3; b >= 0; --b) h.push_back(static_cast<char>(d >> (8 * b)));
  return h;
}

// A gzip member holding `payload` in one stored (uncompressed) deflate block (RFC 1951 3.2.4,
// RFC 1952): lets the tests build any gzip content without linking zlib themselves.
std::string gzip_stored(const std::string& payload) {
  std::uint32_t crc = 0xffffffffu;  // CRC-32, bit by bit (polynomial 0xEDB88320)
  for (unsigned char c : payload) {
    crc ^= c;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
  }
  crc = ~crc;
  auto le32 = [](std::uint32_t v) {
    return std::string{static_cast<char>(v), static_cast<char>(v >> 8), static_cast<char>(v >> 16), static_cast<char>(v >> 24)};
  };
  const auto len = static_cast<std::uint16_t>(payload.size());
  std::string out("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff", 10);
  out += std::string{'\x01', static_cast<char>(len), static_cast<char>(len >> 8), static_cast<char>(~len),
                     static_cast<char>(~len >> 8)};
  return out + payload + le32(crc) + le32(static_cast<std::uint32_t>(payload.size()));
}
}  // namespace

TEST_CASE("idx: known bytes decode to the expected tensors") {
  testing::ScratchDir scratch("cake_test_idx_known");
  // uint8 images [2, 2, 3] stay uint8.
  testing::write_bytes(scratch / "images", idx_header(0x08, {2, 2, 3}) + std::string("\x00\x01\x02\x03\x04\x05\xfa\xfb\xfc\xfd\xfe\xff", 12));
  const Tensor images = read_idx(scratch / "images");
  CHECK(images.dtype() == kUInt8);
  CHECK(images.sizes() == Shape{2, 2, 3});
  CHECK(values(images) == std::vector<double>{0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255});
  // uint8 labels [4] become int64.
  testing::write_bytes(scratch / "labels", idx_header(0x08, {4}) + std::string("\x09\x00\x03\x07", 4));
  const Tensor labels = read_idx(scratch / "labels");
  CHECK(labels.dtype() == kInt64);
  CHECK(values(labels) == std::vector<double>{9, 0, 3, 7});
  // Big-endian int32 and float32.
  testing::write_bytes(scratch / "ints", idx_header(0x0C, {2}) + std::string("\xff\xff\xff\xfe\x00\x01\x00\x00", 8));
  CHECK(values(read_idx(scratch / "ints")) == std::vector<double>{-2, 65536});
  testing::write_bytes(scratch / "floats", idx_header(0x0D, {1, 1}) + std::string("\x3f\xc0\x00\x00", 4));  // 1.5f
  const Tensor f = read_idx(scratch / "floats");
  CHECK(f.dtype() == kFloat32);
  CHECK(values(f) == std::vector<double>{1.5});
  testing::write_bytes(scratch / "signed", idx_header(0x09, {2}) + std::string("\xff\x05", 2));
  CHECK(values(read_idx(scratch / "signed")) == std::vector<double>{-1, 5});
  testing::write_bytes(scratch / "shorts", idx_header(0x0B, {1}) + std::string("\x80\x00", 2));
  CHECK(values(read_idx(scratch / "shorts")) == std::vector<double>{-32768});
  // gzip is recognised from the content, whatever the file name.
  testing::write_bytes(scratch / "labels_gz_without_suffix", gzip_stored(idx_header(0x08, {3}) + "\x01\x02\x03"));
  CHECK(values(read_idx(scratch / "labels_gz_without_suffix")) == std::vector<double>{1, 2, 3});
}

TEST_CASE("idx: write then read, raw and gzip, every dtype") {
  testing::ScratchDir scratch("cake_test_idx_roundtrip");
  manual_seed(2);
  const std::vector<Tensor> cases = {randint(0, 256, {5, 7, 3}, kUInt8), randint(-100000, 100000, {9}),
                                     randn({4, 6}), randn({3, 2, 2}, kFloat64), randint(0, 256, {0, 28, 28}, kUInt8)};
  for (std::size_t i = 0; i < cases.size(); ++i) {
    for (bool gzip : {false, true}) {
      const auto path = scratch / ("case" + std::to_string(i) + (gzip ? ".gz" : ""));
      write_idx(path, cases[i], gzip);
      const std::string bytes = testing::read_bytes(path);
      CHECK((bytes.substr(0, 2) == "\x1f\x8b") == gzip);  // the gzip magic, only when asked for
      const Tensor back = read_idx(path);
      CHECK(back.sizes() == cases[i].sizes());
      CHECK(equal(back, cases[i]));
    }
  }
  CHECK_THROWS_AS(write_idx(scratch / "bool", zeros({2}, kBool)), Error);
  CHECK_THROWS_AS(write_idx(scratch / "big", full({1}, 1LL << 40, kInt64)), Error);
}

TEST_CASE("idx: the installed Fashion-MNIST test labels") {
  const std::filesystem::path path = "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz";
  if (!std::filesystem::exists(path)) {
    MESSAGE("Fashion-MNIST is not installed (apt-get install -y dataset-fashion-mnist); skipped");
    return;
  }
  const Tensor labels = read_idx(path);
  CHECK(labels.sizes() == Shape{10000});
  CHECK(labels.dtype() == kInt64);
  // The test set has exactly 1000 images of each of the 10 classes.
  std::vector<int> counts(10, 0);
  for (double v : values(labels)) ++counts.at(static_cast<std::size_t>(v));
  CHECK(counts == std::vector<int>(10, 1000));
}

TEST_CASE("idx: every refused input is a cake::Error naming the file and the fault") {
  testing::ScratchDir scratch("cake_test_idx_errors");
  auto fails_with = [&](const std::string& name, const std::string& bytes, const std::string& fault) {
    testing::write_bytes(scratch / name, bytes);
    const std::string message = error_message([&] { read_idx(scratch / name); });
    INFO("message: ", message);
    CHECK(message.find(name) != std::string::npos);
    CHECK(message.find(fault) != std::string::npos);
  };
  CHECK(error_message([&] { read_idx(scratch / "missing"); }).find("no such file") != std::string::npos);
  fails_with("empty", "", "truncated IDX file");
  fails_with("magic", std::string("\x01\x02\x08\x01\x00\x00\x00\x01\x05", 9), "wrong magic");
  fails_with("type", idx_header(0x0A, {1}) + "x", "unknown IDX type code 10");
  fails_with("zero_dims", idx_header(0x08, {}), "zero dimensions");
  fails_with("short_dims", idx_header(0x08, {3, 4}).substr(0, 7), "truncated IDX file");
  fails_with("short_data", idx_header(0x08, {2, 3}) + "abc", "truncated IDX file");
  fails_with("overflow", idx_header(0x0E, {0xffffffffu, 0xffffffffu, 0xffffffffu}), "overflows");
  fails_with("trailing", idx_header(0x08, {2}) + "abc", "unexpected bytes after the IDX data");

  // gzip: a header that promises more than the compressed file can hold, a cut-off stream,
  // and a corrupted one.
  write_idx(scratch / "good.gz", full({64, 64}, 3, kUInt8), true);
  const std::string gz = testing::read_bytes(scratch / "good.gz");
  fails_with("cut.gz", gz.substr(0, gz.size() / 2), "truncated IDX file");
  std::string corrupt = gz;
  for (std::size_t i = 12; i < corrupt.size() - 8; ++i) corrupt[i] = static_cast<char>(corrupt[i] ^ 0x5a);
  testing::write_bytes(scratch / "corrupt.gz", corrupt);
  const std::string message = error_message([&] { read_idx(scratch / "corrupt.gz"); });
  CHECK(message.find("corrupt.gz") != std::string::npos);
  CHECK((message.find("corrupt compressed data") != std::string::npos ||
         message.find("truncated") != std::string::npos));
  // A valid gzip file whose IDX header claims 2^31 x 2^31 bytes: refused before allocating.
  fails_with("bomb.gz", gzip_stored(idx_header(0x08, {0x7fffffffu, 0x7fffffffu})),
             "more than a 35-byte gzip file can hold");
}
