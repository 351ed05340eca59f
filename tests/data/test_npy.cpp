// Tests for data/npy.h: files written by NumPy (tests/data/fixtures/, made by
// make_npy_fixtures.py), round trips through write_npy, and every refused input by name.
#include <cmath>
#include <cstring>

#include "cake/data/npy.h"
#include "helpers.h"
#include "test_files.h"

using namespace cake;
using cake::data::read_npy;
using cake::data::write_npy;
using cake::testing::error_message;
using cake::testing::values;

namespace {

// A hand-made .npy file: magic, version, header length, header (padded to 64 with '\n'), data.
std::string npy_bytes(const std::string& dict, const std::string& data, int major = 1) {
  std::string header = dict;
  const std::size_t prefix = major == 1 ? 10 : 12;
  while ((prefix + header.size() + 1) % 64 != 0) header.push_back(' ');
  header.push_back('\n');
  std::string out = "\x93NUMPY";
  out.push_back(static_cast<char>(major));
  out.push_back('\0');
  const std::size_t len = header.size();
  for (std::size_t b = 0; b < (major == 1 ? 2u : 4u); ++b) out.push_back(static_cast<char>(len >> (8 * b)));
  return out + header + data;
}

std::string floats(std::initializer_list<float> v) {
  std::string s(v.size() * 4, '\0');
  std::memcpy(s.data(), std::data(v), s.size());
  return s;
}

}  // namespace

TEST_CASE("npy: reads every supported dtype as NumPy wrote it") {
  const auto dir = testing::fixture_dir();
  Tensor f4 = read_npy(dir / "f4_2x3.npy");
  CHECK(f4.dtype() == kFloat32);
  CHECK(f4.sizes() == Shape{2, 3});
  CHECK(values(f4) == std::vector<double>{0, 0.5, 1, 1.5, 2, 2.5});
  Tensor f8 = read_npy(dir / "f8_vec.npy");
  CHECK(f8.dtype() == kFloat64);
  CHECK(values(f8) == std::vector<double>{1.5, -2.25, M_PI});
  Tensor u1 = read_npy(dir / "u1_3x4.npy");
  CHECK(u1.dtype() == kUInt8);
  CHECK(u1.sizes() == Shape{3, 4});
  CHECK(values(u1)[11] == 220);
  Tensor i8 = read_npy(dir / "i8_vec.npy");
  CHECK(i8.dtype() == kInt64);
  CHECK(values(i8) == std::vector<double>{-1, 0, 7, 1099511627776.0});
  Tensor i4 = read_npy(dir / "i4_2x2.npy");  // int32 is widened to int64
  CHECK(i4.dtype() == kInt64);
  CHECK(values(i4) == std::vector<double>{1, -2, 3, 2147483647});
  Tensor b1 = read_npy(dir / "b1_vec.npy");
  CHECK(b1.dtype() == kBool);
  CHECK(values(b1) == std::vector<double>{1, 0, 1});
  Tensor scalar = read_npy(dir / "f8_scalar.npy");
  CHECK(scalar.dim() == 0);
  CHECK(scalar.item<double>() == 2.5);
  Tensor f2 = read_npy(dir / "float16.npy");  // np.arange(3, dtype="<f2")
  CHECK(f2.dtype() == kFloat16);
  CHECK(values(f2) == std::vector<double>{0, 1, 2});
  Tensor empty = read_npy(dir / "f4_empty.npy");
  CHECK(empty.sizes() == Shape{0, 3});
}

TEST_CASE("npy: format versions 1.0, 2.0 and 3.0") {
  const auto dir = testing::fixture_dir();
  CHECK(values(read_npy(dir / "v2_f4.npy")) == std::vector<double>{0, 1, 2, 3});
  CHECK(values(read_npy(dir / "v3_f4.npy")) == std::vector<double>{0, 1, 2, 3});
  // A header with double quotes, no trailing comma, Python 2 long integers and extra spaces.
  testing::ScratchDir scratch("cake_test_npy_versions");
  testing::write_bytes(scratch / "odd.npy",
                       npy_bytes("{ \"descr\" : \"<f4\" , \"shape\" : ( 2L , ) , \"fortran_order\" : False }",
                                 floats({1.5f, -3.0f}), 2));
  CHECK(values(read_npy(scratch / "odd.npy")) == std::vector<double>{1.5, -3.0});
}

TEST_CASE("npy: write then read gives back every dtype, shape and value") {
  testing::ScratchDir scratch("cake_test_npy_roundtrip");
  manual_seed(1);
  const std::vector<Tensor> cases = {
      randn({3, 4}),
      randn({2, 3, 5}, kFloat64),
      randint(-1000000000000LL, 1000000000000LL, {7}),
      randint(0, 256, {4, 4}, kUInt8),
      rand({5}) > 0.5,
      full({}, 4.25, kFloat64),  // 0-dimensional
      zeros({0, 7}),             // empty
      randn({6, 4}).transpose(0, 1),  // non-contiguous: written in logical C order
      randn({8}).slice(0, 1, 8, 3),
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const auto path = scratch / ("case" + std::to_string(i) + ".npy");
    write_npy(path, cases[i]);
    const Tensor back = read_npy(path);
    CHECK(back.dtype() == cases[i].dtype());
    CHECK(back.sizes() == cases[i].sizes());
    CHECK(equal(back, cases[i].contiguous()));
    // The data starts on a 64-byte boundary, as NumPy writes it.
    const std::string bytes = testing::read_bytes(path);
    const std::size_t header_len = static_cast<unsigned char>(bytes[8]) | static_cast<unsigned char>(bytes[9]) << 8;
    CHECK((10 + header_len) % 64 == 0);
    CHECK(bytes[10 + header_len - 1] == '\n');
  }
  // Overwriting is atomic: no temporary file is left beside the target.
  write_npy(scratch / "case0.npy", cases[1]);
  CHECK(read_npy(scratch / "case0.npy").dtype() == kFloat64);
  std::size_t files = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(scratch.path())) ++files;
  CHECK(files == cases.size());
}

TEST_CASE("npy: NaN is read unless allow_nan is off") {
  const auto path = testing::fixture_dir() / "f4_nan.npy";
  CHECK(std::isnan(values(read_npy(path))[1]));
  const std::string message = error_message([&] { read_npy(path, {.allow_nan = false}); });
  CHECK(message.find("f4_nan.npy") != std::string::npos);
  CHECK(message.find("NaN at element 1") != std::string::npos);
}

TEST_CASE("npy: every refused input is a cake::Error naming the file and the fault") {
  const auto dir = testing::fixture_dir();
  testing::ScratchDir scratch("cake_test_npy_errors");
  auto fails_with = [&](const std::filesystem::path& path, const std::string& fault) {
    const std::string message = error_message([&] { read_npy(path); });
    INFO("message: ", message);
    CHECK(message.find(path.filename().string()) != std::string::npos);
    CHECK(message.find(fault) != std::string::npos);
  };
  auto file_with = [&](const std::string& name, const std::string& bytes) {
    testing::write_bytes(scratch / name, bytes);
    return scratch / name;
  };
  const std::string ok_dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";

  fails_with(scratch / "missing.npy", "no such file");
  fails_with(dir / "fortran.npy", "Fortran-order arrays are not supported");
  fails_with(dir / "big_endian.npy", "big-endian dtype '>f4'");
  fails_with(dir / "structured.npy", "structured dtypes");
  fails_with(file_with("complex.npy", npy_bytes("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }",
                                                 floats({1, 2}))),
             "unsupported dtype '<c8'");
  fails_with(file_with("short.npy", "\x93NUM"), "not a .npy file");
  fails_with(file_with("magic.npy", "PK\x03\x04 this is a zip file"), "wrong magic");
  std::string v4 = npy_bytes(ok_dict, floats({1, 2}));
  v4[6] = 4;
  fails_with(file_with("v4.npy", v4), "unsupported .npy version 4.0");
  std::string long_header = npy_bytes(ok_dict, floats({1, 2}));
  long_header[9] = 0x7f;  // header length far beyond the file
  fails_with(file_with("header_len.npy", long_header), "truncated .npy header");
  fails_with(file_with("no_brace.npy", npy_bytes("'descr': '<f4'", "")), "malformed .npy header");
  fails_with(file_with("unterminated.npy", npy_bytes("{'descr", "")), "unterminated string");
  fails_with(file_with("negative.npy", npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }", "")),
             "expected a non-negative integer");
  fails_with(file_with("huge_dim.npy",
                       npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1234567890123456789,), }", "")),
             "dimension too large");
  fails_with(file_with("overflow.npy",
                       npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (4000000000, 4000000000, "
                                 "4000000000), }",
                                 "")),
             "overflows");
  fails_with(file_with("no_shape.npy", npy_bytes("{'descr': '<f4', 'fortran_order': False, }", "")),
             "has no 'shape'");
  fails_with(file_with("extra_key.npy",
                       npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': True}", "")),
             "unexpected key 'x'");
  fails_with(file_with("twice.npy", npy_bytes("{'descr': '<f4', 'descr': '<f4'}", "")), "appears twice");
  fails_with(file_with("bad_order.npy", npy_bytes("{'descr': '<f4', 'fortran_order': 0, 'shape': (2,)}", "")),
             "expected a string, True/False or a tuple");
  fails_with(file_with("shape_type.npy", npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': 'x'}", "")),
             "'shape' in the .npy header must be a tuple");
  fails_with(file_with("trailing_text.npy", npy_bytes(ok_dict + " junk", floats({1, 2}))), "unexpected text");
  fails_with(file_with("truncated.npy", npy_bytes(ok_dict, floats({1}))), "truncated .npy data");
  fails_with(file_with("trailing.npy", npy_bytes(ok_dict, floats({1, 2, 3}))), "4 unexpected bytes");
  fails_with(file_with("int16.npy", npy_bytes("{'descr': '<i2', 'fortran_order': False, 'shape': (1,), }", "ab")),
             "unsupported dtype '<i2'");
}

TEST_CASE("npy: writing refuses an undefined tensor and an unwritable path") {
  testing::ScratchDir scratch("cake_test_npy_write_errors");
  CHECK_THROWS_AS(write_npy(scratch / "x.npy", Tensor()), Error);
  const std::string message = error_message([&] { write_npy(scratch / "no_such_dir" / "x.npy", zeros({2})); });
  CHECK(message.find("x.npy") != std::string::npos);
  CHECK(message.find("cannot open") != std::string::npos);
}

TEST_CASE("npy: read_npy_rows reads a block of rows, equal to the slice of a full read") {
  testing::ScratchDir scratch("cake_test_npy_rows");
  manual_seed(2);
  const Tensor images = randn({7, 3, 2});
  write_npy(scratch / "images.npy", images);
  CHECK(data::npy_shape(scratch / "images.npy") == Shape{7, 3, 2});
  for (std::int64_t begin = 0; begin <= 7; ++begin)
    for (std::int64_t count = 0; begin + count <= 7; ++count) {
      const Tensor rows = data::read_npy_rows(scratch / "images.npy", begin, count);
      REQUIRE(rows.sizes() == Shape{count, 3, 2});
      CHECK(values(rows) == values(images.narrow(0, begin, count)));
    }
  // int32 is widened as read_npy widens it; bools are normalised to 0/1.
  const std::filesystem::path i4 = testing::fixture_dir() / "i4_2x2.npy";
  CHECK(values(data::read_npy_rows(i4, 1, 1)) == values(read_npy(i4).narrow(0, 1, 1)));
  const std::filesystem::path b1 = testing::fixture_dir() / "b1_vec.npy";
  const Tensor b = read_npy(b1);
  CHECK(values(data::read_npy_rows(b1, 1, b.size(0) - 1)) == values(b.narrow(0, 1, b.size(0) - 1)));
  CHECK(error_message([&] { data::read_npy_rows(scratch / "images.npy", 5, 3); }).find("rows [5, 8) are outside the 7 rows") !=
        std::string::npos);
  CHECK(error_message([&] { data::read_npy_rows(testing::fixture_dir() / "f8_scalar.npy", 0, 1); }).find("scalar") !=
        std::string::npos);
}

TEST_CASE("npy: float16 ('<f2') reads and writes; bfloat16, which NumPy lacks, is refused by name") {
  testing::ScratchDir scratch("cake_test_npy_half");
  const Tensor h = tensor({1.0, -2.5, 65504.0, 0.099975586}, {2, 2}).to(kFloat16);
  write_npy(scratch / "h.npy", h);
  const Tensor back = read_npy(scratch / "h.npy");
  CHECK(back.dtype() == kFloat16);
  CHECK(values(back) == values(h));
  CHECK(testing::read_bytes(scratch / "h.npy").find("'<f2'") != std::string::npos);
  // As NumPy writes float16: little-endian binary16 bits (0x3c00 = 1, 0x7e00 = NaN).
  const std::string bits("\x00\x3c\x00\x7e", 4);
  testing::write_bytes(scratch / "nan.npy", npy_bytes("{'descr': '<f2', 'fortran_order': False, 'shape': (2,), }", bits, 1));
  const std::vector<double> read = values(read_npy(scratch / "nan.npy"));
  CHECK(read[0] == 1.0);
  CHECK(std::isnan(read[1]));
  CHECK(error_message([&] { read_npy(scratch / "nan.npy", {.allow_nan = false}); }).find("NaN at element 1") !=
        std::string::npos);
  CHECK(error_message([&] { write_npy(scratch / "b.npy", h.to(kBFloat16)); }).find("NumPy has no bfloat16") !=
        std::string::npos);
}
