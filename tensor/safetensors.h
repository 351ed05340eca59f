// safetensors.h: reading and writing named tensors in the safetensors format
// (https://github.com/huggingface/safetensors), which Python tools read directly:
//
//   std::map<std::string, cake::Tensor> tensors{{"w", cake::randn({2, 3})}, {"step", cake::tensor({3.0})}};
//   cake::save(tensors, "state.safetensors");
//   auto back = cake::load_tensors("state.safetensors");        // the same names and values
//   # Python: safetensors.torch.load_file("state.safetensors")
//
// The layout: an 8-byte little-endian header length N, N bytes of JSON, then the raw
// little-endian bytes of every tensor, back to back:
//   {"__metadata__": {"key": "value", ...},
//    "w": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]}, ...}
// data_offsets are [begin, end) in the data section (after the header). Dtypes: "F32", "F64",
// "I64", "U8", "BOOL".
//
// Why this format and these checks: loading a checkpoint can never run code (unlike a pickle),
// and every header field is validated before a byte of data is trusted: the header length
// against the file size, the JSON's structure, each dtype string, each shape against its byte
// range, every range inside the data section, no two ranges overlapping and no bytes unowned.
// Writes are atomic (a temporary file in the same directory, fsync, rename), so a crash
// mid-save leaves the previous file intact; and a FNV-1a/64 hash of the whole file (the
// header, metadata included, in a canonical form, then the data section) is stored in the
// metadata ("checksum.fnv1a64.file"), so that corruption or an edit of any byte that matters
// (a tensor's offsets, a metadata value) is detected on load. Files of older Cake versions
// carry "checksum.fnv1a64", a hash of the data section only, which is still verified; files
// without either (from Python, say) load too. Every error names the file and the fault.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "cake/tensor/tensor.h"

namespace cake {

using TensorMap = std::map<std::string, Tensor>;
using MetadataMap = std::map<std::string, std::string>;

// What a safetensors file holds: named tensors (on the CPU) and the string-to-string metadata.
struct SafetensorsFile {
  TensorMap tensors;
  MetadataMap metadata;  // the "__metadata__" map, without Cake's own checksum entry
};

// The metadata key under which older Cake versions stored the data section's hash (16 hex
// digits); still verified on load, no longer written.
inline constexpr const char* kChecksumKey = "checksum.fnv1a64";
// The metadata key of the whole-file hash Cake writes now: FNV-1a/64 over the header JSON
// without this entry (as nlohmann::json::dump writes it: keys sorted, no spaces), then over
// the data section.
inline constexpr const char* kFileChecksumKey = "checksum.fnv1a64.file";

// Writes atomically; tensors on any device are copied to the CPU first. `metadata` must not
// use kChecksumKey or kFileChecksumKey: the writer fills in the latter.
void save_safetensors(const std::string& path, const TensorMap& tensors, const MetadataMap& metadata = {});
// Reads and validates a whole file; throws cake::Error naming the file and the fault.
SafetensorsFile load_safetensors(const std::string& path);

// Removes the hidden temporary files (".<name>.tmp-XXXXXX" beside `path`) that a save killed
// before its rename left behind; returns how many. Call it only where no other process is
// saving to `path` at the same moment (e.g. when a training run starts).
int remove_stale_temporaries(const std::string& path);

// FNV-1a, 64 bits (Fowler, Noll, Vo): h = (h xor byte) * 1099511628211, starting from
// 14695981039346656037. Pass the previous result as `hash` to continue over several buffers.
inline constexpr std::uint64_t kFnv1aOffset = 14695981039346656037ull;
std::uint64_t fnv1a64(const void* data, std::size_t size, std::uint64_t hash = kFnv1aOffset);

// The short spellings for a map of tensors.
void save(const TensorMap& tensors, const std::string& path);
TensorMap load_tensors(const std::string& path);
void load(TensorMap& tensors, const std::string& path);  // replaces the map's contents

}  // namespace cake
