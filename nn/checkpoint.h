// checkpoint.h: saving and loading a module's parameters and buffers as a safetensors file.
//
//   cake::save(*net, "net.safetensors");        // every parameter and buffer, by dotted name
//   auto again = std::make_shared<Net>();
//   cake::load(*again, "net.safetensors");      // same names and shapes required
//   # Python: safetensors.torch.load_file("net.safetensors") -> {"conv.weight": ..., ...}
//
// The format, its validation, the atomic write and the checksum are described in
// tensor/safetensors.h; optimiser state has its own save/load in optim/optimizer.h.
#pragma once

#include <string>

#include "cake/nn/module.h"
#include "cake/tensor/safetensors.h"

namespace cake {

// module.state_dict() under its dotted names; metadata records the module's type name.
void save(const nn::Module& module, const std::string& path);
// Copies the file's tensors into the module (keeping each tensor's device, converting dtype).
// With strict, names and shapes must match exactly; a mismatch names the tensor, both shapes
// (or the missing side) and the file. Nothing is modified unless everything checks out.
void load(nn::Module& module, const std::string& path, bool strict = true);

}  // namespace cake
