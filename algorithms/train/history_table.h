// history_table.h: a per-epoch history (a vector of plain records) stored as one float64 tensor,
// [epochs, columns], so that it travels in a checkpoint through the Trainer's state slot and a
// resumed run reports the same curves as an uninterrupted one.
//
// An algorithm says once how one record becomes a row of numbers and back; the loops, the shape
// check and its error message live here.
//
// Example (Epoch, to_row and from_row are the algorithm's own: a record and its two mappings,
// functions such as std::array<double, 2> to_row(const Epoch&)):
//   cake::Tensor table = cake::train::history_to_table(history, to_row);   // [epochs, 2]
//   std::vector<Epoch> back = cake::train::history_from_table(table, "MyAlgorithm", from_row);
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "cake/tensor/creation.h"
#include "cake/tensor/tensor.h"

namespace cake::train {

template <class Record, std::size_t Columns>
Tensor history_to_table(const std::vector<Record>& history, std::array<double, Columns> (*to_row)(const Record&)) {
  const auto rows = static_cast<std::int64_t>(history.size());
  Tensor table = zeros({rows, static_cast<std::int64_t>(Columns)}, kFloat64);
  double* out = table.data_ptr<double>();
  for (const Record& record : history) {
    const std::array<double, Columns> row = to_row(record);
    out = std::copy(row.begin(), row.end(), out);
  }
  return table;
}

// `owner` names the algorithm in the error raised for a table of the wrong shape (a checkpoint
// from another algorithm or another version).
template <class Record, std::size_t Columns>
std::vector<Record> history_from_table(const Tensor& table_in, std::string_view owner,
                                       Record (*from_row)(const std::array<double, Columns>&)) {
  const auto columns = static_cast<std::int64_t>(Columns);
  CAKE_CHECK(table_in.defined() && table_in.dim() == 2 && table_in.size(1) == columns, owner,
             ": the checkpoint's history must be [epochs, ", columns, "], got ",
             table_in.defined() ? shape_str(table_in.sizes()) : "an undefined tensor");
  const Tensor table = table_in.to(kCPU, kFloat64).contiguous();
  const double* in = table.data_ptr<double>();
  std::vector<Record> history;
  history.reserve(static_cast<std::size_t>(table.size(0)));
  for (std::int64_t r = 0; r < table.size(0); ++r, in += columns) {
    std::array<double, Columns> row;
    std::copy(in, in + columns, row.begin());
    history.push_back(from_row(row));
  }
  return history;
}

}  // namespace cake::train
