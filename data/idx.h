// idx.h: reading IDX files, the format of MNIST and Fashion-MNIST (LeCun et al., 1998).
//
//   cake::Tensor images = cake::data::read_idx("train-images-idx3-ubyte.gz");  // uint8 [60000, 28, 28]
//   cake::Tensor labels = cake::data::read_idx("train-labels-idx1-ubyte.gz");  // int64 [60000]
//   cake::data::write_idx("codes-idx2-float", codes);                          // float32 [N, D]
//
// An IDX file is a 4-byte magic number (two zero bytes, a type code, the number of
// dimensions), one big-endian uint32 per dimension, then the elements in C order, big-endian.
// Files may be gzip-compressed (detected from the content, not the name) or raw.
//
// Types: 0x08 unsigned byte, 0x09 signed byte, 0x0B int16, 0x0C int32, 0x0D float32,
// 0x0E float64. Unsigned bytes stay uint8 (images), except in a 1-D file, which holds labels
// and becomes int64 (Cake's label dtype); the signed integer types become int64.
#pragma once

#include <filesystem>

#include "cake/tensor/tensor.h"

namespace cake::data {

// Reads an IDX file (gzip or raw) into a new contiguous CPU tensor. Faults (missing file,
// wrong magic, unknown type code, truncated or corrupt data, trailing bytes) are a
// cake::Error naming the file and the fault.
Tensor read_idx(const std::filesystem::path& path);

// Writes a tensor as IDX: uint8 as unsigned bytes (0x08), int64 as int32 (0x0C, values must
// fit), float32 (0x0D), float64 (0x0E); with `gzip`, compressed. Atomic (temporary file, then
// rename). Mainly for tests and for handing data to other MNIST tools.
void write_idx(const std::filesystem::path& path, const Tensor& tensor, bool gzip = false);

}  // namespace cake::data
