// csv.h: numeric tables in comma-separated text.
//
//   auto iris = cake::data::read_csv("iris.csv", {.label_name = "species"});
//   // iris.features: float32 [150, 4]; iris.labels: int64 [150];
//   // iris.columns: {"sepal_length", ...}; iris.class_names: {"setosa", ...} (text labels)
//   cake::data::write_csv("embedding.csv", embedding, {"x", "y"});
//
// Reading: one record per line; fields split at the delimiter; RFC 4180 quoting ("a,b" and
// "" for a quote inside quotes); surrounding spaces, blank lines, lines starting with '#',
// a UTF-8 byte-order mark and CRLF line ends are ignored. Features must be finite float32
// numbers (NaN, infinities, values beyond +-3.4e38 and empty fields only with allow_nan). The
// first row is a header when its feature fields are all names (no numbers), unless `header`
// forces the choice; a first row mixing names and numbers is read as data, and the error on
// its first non-number says so (a typo in the first row never silently becomes the header). The label column, chosen by name or
// index, may hold integers (kept as they are) or text (numbered in sorted order, the names
// kept in class_names).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "cake/tensor/tensor.h"

namespace cake::data {

struct CsvOptions {
  char delimiter = ',';
  // Whether the first row names the columns; std::nullopt detects it from the content.
  std::optional<bool> header = std::nullopt;
  // The label column by name (needs a header) or by index (negative counts from the end);
  // at most one of the two. Neither: every column is a feature and `labels` is undefined.
  std::optional<std::string> label_name = std::nullopt;
  std::optional<std::int64_t> label_index = std::nullopt;
  // When false, NaN, infinite (or beyond float32) and empty feature fields are errors naming
  // the line and column.
  bool allow_nan = false;
};

struct CsvData {
  Tensor features;                       // float32 [rows, feature columns]
  Tensor labels;                         // int64 [rows]; undefined without a label column
  std::vector<std::string> columns;      // the feature columns' names ("0", "1", ... without a header)
  std::vector<std::string> class_names;  // for text labels: the name of label i; else empty
};

// Reads a CSV file. Faults (missing file, ragged rows, a non-numeric feature, an unknown label
// column, NaN when not allowed) are a cake::Error naming the file, line and column.
CsvData read_csv(const std::filesystem::path& path, const CsvOptions& options = {});

// Writes a 1-D (one column) or 2-D tensor of any dtype as CSV, with an optional header (one
// name per column). Floats are written in the shortest form that reads back to the same
// value. Atomic: written to a temporary file, then renamed.
void write_csv(const std::filesystem::path& path, const Tensor& table, const std::vector<std::string>& header = {},
               char delimiter = ',');

}  // namespace cake::data
