// npy.h: reading and writing NumPy's .npy array files.
//
//   cake::Tensor x = cake::data::read_npy("features.npy");   // e.g. float32 [N, D]
//   cake::data::write_npy("labels.npy", labels);              // int64 [N]; np.load reads it
//   cake::Tensor some = cake::data::read_npy_rows("features.npy", 100, 50);   // rows 100..149 only
//
// The format (numpy/lib/format.py, "NEP 1"): the magic string "\x93NUMPY", a version byte
// pair (1.0, 2.0 or 3.0), the length of a header (2 bytes in 1.0, 4 bytes after), the header
// itself, a Python dict literal such as
//     {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
// padded with spaces so the data starts at a multiple of 64 bytes, then the raw elements.
//
// Read: float32 '<f4', float64 '<f8', uint8 '|u1', int64 '<i8', bool '|b1', and int32 '<i4'
// (widened to int64, Cake's one integer type). Little-endian, C order. Big-endian data,
// Fortran order, structured and other dtypes are refused by name.
// Written: float32, float64, int64, uint8 and bool, as version 1.0.
#pragma once

#include <cstdint>
#include <filesystem>

#include "cake/tensor/tensor.h"

namespace cake::data {

struct NpyOptions {
  // When false, a NaN in a floating-point file is an error naming its element index.
  bool allow_nan = true;
};

// Reads a .npy file into a new contiguous CPU tensor. Any fault (missing file, wrong magic,
// unsupported version or dtype, Fortran order, a header that does not parse, truncated or
// oversized data) is a cake::Error naming the file and the fault.
Tensor read_npy(const std::filesystem::path& path, const NpyOptions& options = {});

// The shape of the array in a .npy file, from its header (the file is checked as read_npy does,
// but no data are read).
Shape npy_shape(const std::filesystem::path& path);

// Rows [begin, begin + count) of the array (along its first dimension): read_npy(path).narrow(0,
// begin, count), but only those rows' bytes are read, after one seek past the rows before them.
// So each rank of a distributed run reads its own shard of one file
// (cake::distributed::read_npy_shard).
Tensor read_npy_rows(const std::filesystem::path& path, std::int64_t begin, std::int64_t count,
                     const NpyOptions& options = {});

// Writes `tensor` (any device, any strides) as a C-order .npy file. Atomic: the bytes go to a
// temporary file that is renamed to `path` once complete.
void write_npy(const std::filesystem::path& path, const Tensor& tensor);

}  // namespace cake::data
