// device_training.cpp: the Trainer's device options as CLI parameters (device_training.h).
#include "tools/algorithms/device_training.h"

namespace cake::cli {

std::vector<ParamSpec> device_training_params() {
  return {{"precision", ParamType::String, "float32",
           "float32, or mixed precision: bfloat16 or float16 (matmuls and convolutions in 16 bits on the tensor "
           "cores, everything else in float32; float16 adds dynamic loss scaling). Pays off on a GPU; on the CPU "
           "the 16-bit products are emulated and slower",
           {"float32", "bfloat16", "float16"}},
          {"cuda_graph", ParamType::Bool, "false",
           "with --device cuda: capture the training step in a CUDA graph and replay it for every full batch "
           "(fewer kernel launches; docs/cuda.md, CUDA graphs)"}};
}

void apply_device_training_params(const RunContext& ctx, train::TrainerOptions& options) {
  // Commands whose step is their own (gan, infogan: two optimisers in one batch) do not declare
  // them, and keep the Trainer's defaults.
  if (!ctx.params.json().contains("precision")) return;
  const std::string& precision = ctx.params.get_string("precision");
  options.precision = precision == "bfloat16" ? kBFloat16 : precision == "float16" ? kFloat16 : kFloat32;
  options.cuda_graph = ctx.params.get_bool("cuda_graph");
}

}  // namespace cake::cli
