// Tests for data/csv.h: header detection, label columns by name and index, integer and text
// labels, quoting and line ends, round trips through write_csv, and every error by name.
#include <cmath>

#include "cake/data/csv.h"
#include "cake/data/file_io.h"
#include "helpers.h"
#include "test_files.h"

using namespace cake;
using cake::data::CsvOptions;
using cake::data::read_csv;
using cake::data::write_csv;
using cake::testing::error_message;
using cake::testing::values;

namespace {
struct CsvFile {
  testing::ScratchDir dir{"cake_test_csv"};
  std::filesystem::path write(const std::string& name, const std::string& text) {
    testing::write_bytes(dir / name, text);
    return dir / name;
  }
};
}  // namespace

TEST_CASE("csv: a header is detected; the label column is chosen by name or index") {
  CsvFile f;
  const auto path = f.write("iris.csv", "sepal,petal,class\n5.1,1.4,0\n4.9,1.3,0\n6.3,6.0,2\n");
  const auto by_name = read_csv(path, {.label_name = "class"});
  CHECK(by_name.columns == std::vector<std::string>{"sepal", "petal"});
  CHECK(by_name.features.dtype() == kFloat32);
  CHECK(by_name.features.sizes() == Shape{3, 2});
  testing::check_close(by_name.features, tensor({5.1, 1.4, 4.9, 1.3, 6.3, 6.0}, {3, 2}));
  CHECK(by_name.labels.dtype() == kInt64);
  CHECK(values(by_name.labels) == std::vector<double>{0, 0, 2});
  CHECK(by_name.class_names.empty());

  const auto by_index = read_csv(path, {.label_index = -1});  // the last column
  CHECK(equal(by_index.labels, by_name.labels));
  const auto first = read_csv(path, {.label_index = 0});
  CHECK(first.columns == std::vector<std::string>{"petal", "class"});
  // 5.1, 4.9, 6.3 are not integers, so they are categories, numbered in sorted order.
  CHECK(first.class_names == std::vector<std::string>{"4.9", "5.1", "6.3"});
  CHECK(values(first.labels) == std::vector<double>{1, 0, 2});
}

TEST_CASE("csv: numeric first row is data; header can be forced either way") {
  CsvFile f;
  const auto plain = f.write("plain.csv", "1,2,3\n4,5,6\n");
  const auto data = read_csv(plain);
  CHECK(data.features.sizes() == Shape{2, 3});
  CHECK(data.columns == std::vector<std::string>{"0", "1", "2"});
  CHECK_FALSE(data.labels.defined());
  const auto forced = read_csv(plain, {.header = true});
  CHECK(forced.columns == std::vector<std::string>{"1", "2", "3"});
  CHECK(forced.features.sizes() == Shape{1, 3});
  const auto header_only = read_csv(f.write("header_only.csv", "a,b\n"));
  CHECK(header_only.features.sizes() == Shape{0, 2});
}

TEST_CASE("csv: text labels are numbered in sorted order") {
  CsvFile f;
  const auto path = f.write("text.csv", "x,species\n1,virginica\n2,setosa\n3,versicolor\n4,setosa\n");
  const auto d = read_csv(path, {.label_name = "species"});
  CHECK(d.class_names == std::vector<std::string>{"setosa", "versicolor", "virginica"});
  CHECK(values(d.labels) == std::vector<double>{2, 0, 1, 0});
  // Integral floats count as integers; negative ids are kept.
  const auto ints = read_csv(f.write("ints.csv", "x,y\n1,-1\n2,3.0\n"), {.label_index = 1});
  CHECK(values(ints.labels) == std::vector<double>{-1, 3});
  CHECK(ints.class_names.empty());
}

TEST_CASE("csv: quoting, spaces, comments, blank lines, CRLF, a byte-order mark, other delimiters") {
  CsvFile f;
  const auto path = f.write("messy.csv",
                            "\xEF\xBB\xBF# a comment line\r\n"
                            "\"first, name\" , \"say \"\"hi\"\"\",label\r\n"
                            "\r\n"
                            "  1.5 , -2e3 , 7\r\n"
                            "# another comment\n"
                            "+3,\"4\",8");  // no newline at the end
  const auto d = read_csv(path, {.label_name = "label"});
  CHECK(d.columns == std::vector<std::string>{"first, name", "say \"hi\""});
  testing::check_close(d.features, tensor({1.5, -2000.0, 3.0, 4.0}, {2, 2}));
  CHECK(values(d.labels) == std::vector<double>{7, 8});
  const auto tabs = read_csv(f.write("tabs.tsv", "a\tb\n1\t2\n"), {.delimiter = '\t'});
  CHECK(tabs.columns == std::vector<std::string>{"a", "b"});
  CHECK(values(tabs.features) == std::vector<double>{1, 2});
  const auto semicolons = read_csv(f.write("semi.csv", "1;2\n3;4\n"), {.delimiter = ';'});
  CHECK(values(semicolons.features) == std::vector<double>{1, 2, 3, 4});
}

TEST_CASE("csv: NaN and empty fields need allow_nan") {
  CsvFile f;
  const auto path = f.write("nan.csv", "a,b\n1,nan\n,2\n");
  const auto d = read_csv(path, {.allow_nan = true});
  const auto v = values(d.features);
  CHECK(std::isnan(v[1]));
  CHECK(std::isnan(v[2]));
  std::string message = error_message([&] { read_csv(path); });
  CHECK(message.find("nan.csv") != std::string::npos);
  CHECK(message.find("line 2, column 'b': NaN") != std::string::npos);
  message = error_message([&] { read_csv(f.write("empty_field.csv", "a,b\n1,2\n,2\n")); });
  CHECK(message.find("line 3, column 'a': empty field") != std::string::npos);
}

TEST_CASE("csv: write then read gives back the values exactly") {
  CsvFile f;
  manual_seed(4);
  const Tensor x = randn({20, 3});
  write_csv(f.dir / "x.csv", x, {"alpha", "beta, gamma", "delta"});
  const auto back = read_csv(f.dir / "x.csv");
  CHECK(back.columns == std::vector<std::string>{"alpha", "beta, gamma", "delta"});
  CHECK(equal(back.features, x));  // shortest round-trip formatting loses nothing
  // float64 values written in full are read as float32: equal to the float32 rounding.
  const Tensor d = randn({5, 2}, kFloat64);
  write_csv(f.dir / "d.csv", d);
  CHECK(equal(read_csv(f.dir / "d.csv").features, d.to(kFloat32)));
  // Integer, bool and 1-D tensors.
  write_csv(f.dir / "labels.csv", tensor({3, -1, 7}, {}, kInt64), {"label"});
  CHECK(testing::read_bytes(f.dir / "labels.csv") == "label\n3\n-1\n7\n");
  write_csv(f.dir / "flags.csv", tensor({1, 0}, {1, 2}, kBool));
  CHECK(testing::read_bytes(f.dir / "flags.csv") == "1,0\n");
  write_csv(f.dir / "bytes.csv", tensor({255, 0}, {2}, kUInt8));
  CHECK(testing::read_bytes(f.dir / "bytes.csv") == "255\n0\n");
  // A transposed (non-contiguous) tensor is written in logical order.
  write_csv(f.dir / "t.csv", tensor({1, 2, 3, 4, 5, 6}, {2, 3}, kInt64).t());
  CHECK(testing::read_bytes(f.dir / "t.csv") == "1,4\n2,5\n3,6\n");
  CHECK_THROWS_AS(write_csv(f.dir / "bad.csv", zeros({2, 2, 2})), Error);
  CHECK_THROWS_AS(write_csv(f.dir / "bad.csv", zeros({2, 2}), {"only one"}), Error);
}

TEST_CASE("csv: every refused input is a cake::Error naming the file and the fault") {
  CsvFile f;
  auto fails_with = [&](const std::string& name, const std::string& text, const CsvOptions& options,
                        const std::string& fault) {
    const auto path = f.write(name, text);
    const std::string message = error_message([&] { read_csv(path, options); });
    INFO("message: ", message);
    CHECK(message.find(name) != std::string::npos);
    CHECK(message.find(fault) != std::string::npos);
  };
  CHECK(error_message([&] { read_csv(f.dir / "missing.csv"); }).find("no such file") != std::string::npos);
  fails_with("empty.csv", "\n# only a comment\n\n", {}, "empty CSV file");
  fails_with("ragged.csv", "a,b,c\n1,2,3\n4,5\n", {}, "line 3 has 2 fields, expected 3");
  fails_with("text.csv", "a,b\n1,2\n3,oops\n", {}, "line 3, column 'b': 'oops' is not a number");
  fails_with("no_column.csv", "a,b\n1,2\n", {.label_name = "y"}, "no column named 'y'; the columns are [a, b]");
  fails_with("no_header.csv", "1,2\n3,4\n", {.label_name = "y"}, "the file has no header row");
  fails_with("both.csv", "a,b\n1,2\n", {.label_name = "a", .label_index = 0}, "not both");
  fails_with("index.csv", "a,b\n1,2\n", {.label_index = 2}, "label column index 2 is out of range for 2 columns");
  fails_with("negative_index.csv", "a,b\n1,2\n", {.label_index = -3}, "label column index -3 is out of range");
  fails_with("empty_label.csv", "a,b\n1,\n", {.label_index = 1}, "line 2: empty label in column 'b'");
  fails_with("quote.csv", "a,b\n1,\"2\n", {}, "line 2: unterminated quoted field");
  fails_with("after_quote.csv", "a,b\n1,\"2\"x\n", {}, "text after a closing quote");
}

TEST_CASE("csv: infinities and values beyond float32 name their line; a mixed first row is data, not a header") {
  CsvFile f;
  std::string message = error_message([&] { read_csv(f.write("inf.csv", "a,b\n1,2\n3,-inf\n")); });
  CHECK(message.find("inf.csv': line 3, column 'b': '-inf' is infinite and allow_nan is off") != std::string::npos);
  message = error_message([&] { read_csv(f.write("big.csv", "1,2\n3,1e39\n")); });
  CHECK(message.find("line 2, column '1': '1e39' is beyond float32's range") != std::string::npos);
  const auto allowed = read_csv(f.dir / "inf.csv", {.allow_nan = true});
  CHECK(std::isinf(values(allowed.features)[3]));

  // One typo in an unlabelled first row used to make it the header, silently dropping a row.
  message = error_message([&] { read_csv(f.write("typo.csv", "1,2x,3\n4,5,6\n")); });
  CHECK(message.find("line 1, column '1': '2x' is not a number") != std::string::npos);
  CHECK(message.find("mixes numbers and text, so it is read as data, not as a header") != std::string::npos);
  // header=true still takes it as the header.
  CHECK(read_csv(f.dir / "typo.csv", {.header = true}).columns == std::vector<std::string>{"1", "2x", "3"});
  // A text label in the label column does not make the first row a header (iris without one).
  const auto iris = read_csv(f.write("iris.csv", "5.1,3.5,setosa\n6.2,2.9,virginica\n"), {.label_index = -1});
  CHECK(iris.features.sizes() == Shape{2, 2});
  CHECK(iris.class_names == std::vector<std::string>{"setosa", "virginica"});
}

TEST_CASE("files: folders, FIFOs and devices are named as such; printable() escapes bytes losslessly") {
  CsvFile f;
  std::filesystem::create_directories(f.dir / "folder.csv");
  CHECK(error_message([&] { read_csv(f.dir / "folder.csv"); }).find("is a directory, not a file") != std::string::npos);
  CHECK(error_message([&] { read_csv("/dev/zero"); }).find("'/dev/zero': is a device, not a regular file") !=
        std::string::npos);
  CHECK(error_message([&] { data::read_text_file(f.write("ten.txt", "0123456789"), 5); })
            .find("10 bytes, more than the 5 this reader accepts") != std::string::npos);
  CHECK(data::printable("plain/path ü.csv") == "plain/path ü.csv");
  CHECK(data::printable("a\xff" "b\\c\n") == "a\\xffb\\\\c\\x0a");
  CHECK(data::printable("\xed\xa0\x80") == "\\xed\\xa0\\x80");  // a UTF-16 surrogate is not UTF-8
  CHECK(data::is_valid_utf8("\xf0\x9f\x8d\xb0"));
  CHECK_FALSE(data::is_valid_utf8("\xc0\xaf"));  // overlong '/'
  CHECK(data::quoted("x\xfe.csv") == "'x\\xfe.csv'");
}
