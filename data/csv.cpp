// csv.cpp: a small RFC 4180 tokenizer, the numeric table reader built on it, and the writer.
#include "cake/data/csv.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <map>
#include <ostream>
#include <string_view>

#include "cake/data/file_io.h"
#include "cake/tensor/native/elementwise.h"

namespace cake::data {
namespace {

// Splits the text into records, one call to next() per record. Fields are trimmed of spaces
// and unquoted; quoted fields may hold the delimiter, newlines and "" for a quote.
class CsvTokenizer {
 public:
  CsvTokenizer(std::string_view text, char delimiter, const std::filesystem::path& path)
      : text_(text), delimiter_(delimiter), path_(path) {
    if (text_.substr(0, 3) == "\xEF\xBB\xBF") pos_ = 3;  // UTF-8 byte-order mark
  }

  // Fills `fields` with the next record; false at the end of the text. `line` is the
  // 1-based line the record starts on.
  bool next(std::vector<std::string>& fields, std::int64_t& line) {
    while (true) {
      if (pos_ >= text_.size()) return false;
      skip_blanks_in_line();
      const char c = peek();
      if (c == '\n' || c == '\r') {  // blank line
        end_line();
        continue;
      }
      if (c == '#') {  // comment line
        while (pos_ < text_.size() && text_[pos_] != '\n') ++pos_;
        end_line();
        continue;
      }
      if (pos_ >= text_.size()) return false;
      break;
    }
    line = line_;
    fields.clear();
    while (true) {
      fields.push_back(read_field());
      if (pos_ < text_.size() && text_[pos_] == delimiter_) {
        ++pos_;
        continue;
      }
      if (pos_ < text_.size()) end_line();
      return true;
    }
  }

 private:
  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  void skip_blanks_in_line() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t') && text_[pos_] != delimiter_) ++pos_;
  }
  // Consumes "\n", "\r\n" or "\r".
  void end_line() {
    if (peek() == '\r') ++pos_;
    if (peek() == '\n') ++pos_;
    ++line_;
  }
  std::string read_field() {
    skip_blanks_in_line();
    std::string field;
    if (peek() == '"') {
      const std::int64_t start_line = line_;
      ++pos_;
      while (true) {
        CAKE_CHECK(pos_ < text_.size(), quoted(path_), ": line ", start_line, ": unterminated quoted field");
        const char c = text_[pos_++];
        if (c == '"') {
          if (peek() == '"') {  // "" inside quotes is one quote
            field.push_back('"');
            ++pos_;
            continue;
          }
          break;
        }
        if (c == '\n') ++line_;
        field.push_back(c);
      }
      skip_blanks_in_line();
      CAKE_CHECK(pos_ >= text_.size() || text_[pos_] == delimiter_ || text_[pos_] == '\n' || text_[pos_] == '\r',
                 quoted(path_), ": line ", line_, ": text after a closing quote");
      return field;
    }
    const std::size_t start = pos_;
    while (pos_ < text_.size() && text_[pos_] != delimiter_ && text_[pos_] != '\n' && text_[pos_] != '\r') ++pos_;
    std::size_t end = pos_;
    while (end > start && (text_[end - 1] == ' ' || text_[end - 1] == '\t')) --end;
    return std::string(text_.substr(start, end - start));
  }

  std::string_view text_;
  char delimiter_;
  const std::filesystem::path& path_;
  std::size_t pos_ = 0;
  std::int64_t line_ = 1;
};

// A number as from_chars reads it, plus a leading '+'. Accepts "nan" and "inf".
std::optional<double> parse_number(const std::string& field) {
  const char* begin = field.data();
  const char* end = begin + field.size();
  if (begin != end && *begin == '+') ++begin;
  double value = 0;
  const auto [ptr, ec] = std::from_chars(begin, end, value);
  if (ec != std::errc() || ptr != end || begin == end) {
    // from_chars refuses out-of-range values (1e999): they are numbers all the same.
    if (ec == std::errc::result_out_of_range && ptr == end) return value;
    return std::nullopt;
  }
  return value;
}

// How the first record reads: a header names every column (no field outside the label column
// is a number); data has numbers; a mix is most likely data with a typo, which must not
// silently become the header (and cost a row): it is read as data, whose error says so.
enum class FirstRow { Header, Data, Mixed };
FirstRow classify_first_row(const std::vector<std::string>& fields, std::optional<std::int64_t> label_index) {
  const auto count = static_cast<std::int64_t>(fields.size());
  std::int64_t label = -1;
  if (label_index) label = *label_index < 0 ? *label_index + count : *label_index;
  bool text = false, number = false;
  for (std::int64_t c = 0; c < count; ++c) {
    const std::string& f = fields[static_cast<std::size_t>(c)];
    if (f.empty()) continue;
    const bool is_number = parse_number(f).has_value();
    if (c == label) {
      text = text || !is_number;  // a text label alone does not make a header
      continue;
    }
    (is_number ? number : text) = true;
  }
  if (!text) return FirstRow::Data;
  if (!number) {
    // All text, or text only in the label column: a header only if some feature column
    // holds text too (or the label is the only column).
    for (std::int64_t c = 0; c < count; ++c)
      if (c != label && !fields[static_cast<std::size_t>(c)].empty()) return FirstRow::Header;
    return count == 1 ? FirstRow::Header : FirstRow::Data;
  }
  return FirstRow::Mixed;
}

std::int64_t resolve_label_column(const CsvOptions& options, const std::vector<std::string>& names, bool has_header,
                                  const std::filesystem::path& path) {
  const auto count = static_cast<std::int64_t>(names.size());
  if (options.label_name) {
    CAKE_CHECK(!options.label_index, quoted(path), ": give the label column by name or by index, not both");
    CAKE_CHECK(has_header, quoted(path), ": label column '", *options.label_name,
               "' chosen by name, but the file has no header row");
    const auto it = std::find(names.begin(), names.end(), *options.label_name);
    CAKE_CHECK(it != names.end(), quoted(path), ": no column named '", *options.label_name, "'; the columns are ",
               names);
    return it - names.begin();
  }
  if (options.label_index) {
    const std::int64_t index = *options.label_index < 0 ? *options.label_index + count : *options.label_index;
    CAKE_CHECK(index >= 0 && index < count, quoted(path), ": label column index ", *options.label_index,
               " is out of range for ", count, " columns");
    return index;
  }
  return -1;
}

// Labels that are all integers keep their values; otherwise they are text, numbered in
// sorted order with the names returned in class_names.
Tensor encode_labels(const std::vector<std::string>& raw, std::vector<std::string>& class_names) {
  Tensor labels = make_empty({static_cast<std::int64_t>(raw.size())}, kInt64, kCPU);
  std::int64_t* out = labels.data_ptr<std::int64_t>();
  bool all_integers = true;
  for (std::size_t i = 0; i < raw.size() && all_integers; ++i) {
    const auto value = parse_number(raw[i]);
    all_integers = value && std::isfinite(*value) && std::floor(*value) == *value && std::abs(*value) < 9.0e15;
    if (all_integers) out[i] = static_cast<std::int64_t>(*value);
  }
  if (all_integers) return labels;
  std::map<std::string, std::int64_t> ids;
  for (const std::string& name : raw) ids.emplace(name, 0);
  for (auto& [name, id] : ids) {
    id = static_cast<std::int64_t>(class_names.size());
    class_names.push_back(name);
  }
  for (std::size_t i = 0; i < raw.size(); ++i) out[i] = ids.at(raw[i]);
  return labels;
}

// A field as CSV text: quoted when it holds the delimiter, a quote, a newline or edge spaces.
std::string csv_field(const std::string& text, char delimiter) {
  const bool needs_quotes = text.find_first_of(std::string{delimiter, '"', '\n', '\r'}) != std::string::npos ||
                            (!text.empty() && (text.front() == ' ' || text.back() == ' '));
  if (!needs_quotes) return text;
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  return out + "\"";
}

// The shortest text that reads back to the same value (std::to_chars without a precision).
template <class T>
void append_value(std::string& out, T value) {
  char buffer[64];
  if constexpr (std::is_same_v<T, bool>) {
    out.push_back(value ? '1' : '0');
  } else if constexpr (std::is_same_v<T, std::uint8_t>) {
    const auto result = std::to_chars(buffer, buffer + sizeof(buffer), static_cast<int>(value));
    out.append(buffer, result.ptr);
  } else {
    const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
    out.append(buffer, result.ptr);
  }
}

}  // namespace

CsvData read_csv(const std::filesystem::path& path, const CsvOptions& options) {
  const std::string text = read_text_file(path);
  CsvTokenizer tokenizer(text, options.delimiter, path);
  std::vector<std::string> fields;
  std::int64_t line = 0;
  CAKE_CHECK(tokenizer.next(fields, line), quoted(path), ": empty CSV file (no rows)");

  const FirstRow first_row = classify_first_row(fields, options.label_name ? std::nullopt : options.label_index);
  const bool has_header = options.header.value_or(first_row == FirstRow::Header);
  const std::int64_t first_line = line;
  // Appended to a "not a number" on the first line when it mixed names and numbers.
  const std::string mixed_note = !options.header && first_row == FirstRow::Mixed
                                     ? " (line " + std::to_string(first_line) +
                                           " mixes numbers and text, so it is read as data, not as a header; "
                                           "a header row holds only column names)"
                                     : std::string();
  std::vector<std::string> names = fields;
  if (!has_header)
    for (std::size_t i = 0; i < names.size(); ++i) names[i] = std::to_string(i);
  const auto num_columns = static_cast<std::int64_t>(names.size());
  const std::int64_t label_column = resolve_label_column(options, names, has_header, path);

  CsvData data;
  for (std::int64_t c = 0; c < num_columns; ++c)
    if (c != label_column) data.columns.push_back(names[c]);
  const auto num_features = static_cast<std::int64_t>(data.columns.size());

  std::vector<float> features;
  std::vector<std::string> raw_labels;
  bool have_row = !has_header;  // the first record is data when it is not the header
  while (true) {
    if (have_row) {
      CAKE_CHECK(static_cast<std::int64_t>(fields.size()) == num_columns, quoted(path), ": line ", line, " has ",
                 fields.size(), " fields, expected ", num_columns, has_header ? " (as the header)" : " (as the first row)");
      for (std::int64_t c = 0; c < num_columns; ++c) {
        const std::string& field = fields[c];
        if (c == label_column) {
          CAKE_CHECK(!field.empty(), quoted(path), ": line ", line, ": empty label in column '", names[c], "'");
          raw_labels.push_back(field);
          continue;
        }
        std::optional<double> value = field.empty() ? std::optional<double>(NAN) : parse_number(field);
        CAKE_CHECK(value.has_value(), quoted(path), ": line ", line, ", column '", names[c], "': '", field,
                   "' is not a number", line == first_line ? mixed_note : std::string());
        CAKE_CHECK(options.allow_nan || !std::isnan(*value), quoted(path), ": line ", line, ", column '", names[c],
                   "': ", field.empty() ? "empty field" : "NaN", " and allow_nan is off");
        // Features are float32: beyond +-3.4e38 a value would become infinite.
        const float single = static_cast<float>(*value);
        CAKE_CHECK(options.allow_nan || std::isnan(*value) || std::isfinite(single), quoted(path), ": line ", line,
                   ", column '", names[c], "': '", field, "' is ",
                   std::isinf(*value) ? "infinite" : "beyond float32's range (+-3.4e38)", " and allow_nan is off");
        features.push_back(single);
      }
    }
    if (!tokenizer.next(fields, line)) break;
    have_row = true;
  }

  const auto rows = num_features > 0 ? static_cast<std::int64_t>(features.size()) / num_features
                                     : static_cast<std::int64_t>(raw_labels.size());
  data.features = make_empty({rows, num_features}, kFloat32, kCPU);
  if (!features.empty()) std::memcpy(data.features.raw_data(), features.data(), features.size() * sizeof(float));
  if (label_column >= 0) data.labels = encode_labels(raw_labels, data.class_names);
  return data;
}

void write_csv(const std::filesystem::path& path, const Tensor& table, const std::vector<std::string>& header,
               char delimiter) {
  CAKE_CHECK(table.defined(), "write_csv ", quoted(path), ": the tensor is undefined");
  CAKE_CHECK(table.dim() == 1 || table.dim() == 2, "write_csv ", quoted(path),
             ": expected a 1-D or 2-D tensor, got shape ", table.sizes());
  const Tensor host = native::contiguous(native::to_device(table.detach(), kCPU));
  const std::int64_t rows = host.size(0), cols = host.dim() == 2 ? host.size(1) : 1;
  CAKE_CHECK(header.empty() || static_cast<std::int64_t>(header.size()) == cols, "write_csv ", quoted(path), ": ",
             header.size(), " header names for ", cols, " columns");
  std::string out;
  for (std::size_t c = 0; c < header.size(); ++c) {
    if (c) out.push_back(delimiter);
    out += csv_field(header[c], delimiter);
  }
  if (!header.empty()) out.push_back('\n');
  visit_dtype(host.dtype(), [&]<class T>() {
    const T* p = host.data_ptr<T>();
    for (std::int64_t r = 0; r < rows; ++r) {
      for (std::int64_t c = 0; c < cols; ++c) {
        if (c) out.push_back(delimiter);
        append_value(out, p[r * cols + c]);
      }
      out.push_back('\n');
    }
  });
  write_file_atomic(path, [&](std::ostream& stream) { stream.write(out.data(), static_cast<std::streamsize>(out.size())); });
}

}  // namespace cake::data
