// npy.h: reading and writing NumPy's .npy array files.
//
//   cake::Tensor x = cake::data::read_npy("features.npy");   // e.g. float32 [N, D]
//   cake::data::write_npy("labels.npy", labels);              // int64 [N]; np.load reads it
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

// Writes `tensor` (any device, any strides) as a C-order .npy file. Atomic: the bytes go to a
// temporary file that is renamed to `path` once complete.
void write_npy(const std::filesystem::path& path, const Tensor& tensor);

}  // namespace cake::data
