// checkpoint.cpp: module checkpoints on top of the safetensors reader and writer.
#include "cake/nn/checkpoint.h"

namespace cake {

void save(const nn::Module& module, const std::string& path) {
  TensorMap tensors;
  for (const auto& [name, tensor] : module.state_dict()) tensors.emplace(name, tensor);
  save_safetensors(path, tensors, {{"cake.module", module.name()}});
}

void load(nn::Module& module, const std::string& path, bool strict) {
  module.load_state_dict(load_safetensors(path).tensors, strict, "'" + path + "'");
}

}  // namespace cake
