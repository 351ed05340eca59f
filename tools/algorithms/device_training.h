// device_training.h: the Trainer's device options as CLI parameters, shared by every command
// that trains a network (network_runs.h's with_training_params, deep_clustering_runs.h's
// training_params):
//
//   cake run conv-autoencoder --device cuda --set precision=bfloat16 cuda_graph=true
//
// precision: float32, or mixed precision in bfloat16 / float16 (autograd/autocast.h; float16
// with dynamic loss scaling, optim/grad_scaler.h); cuda_graph: capture the training step
// (cuda/graph.h). Both are TrainerOptions fields (algorithms/train/trainer.h).
#pragma once

#include <vector>

#include "cake/algorithms/train/trainer.h"
#include "tools/registry.h"

namespace cake::cli {

std::vector<ParamSpec> device_training_params();
// Sets options.precision and options.cuda_graph from those parameters, when the command declares
// them (a command with its own step, such as gan, does not).
void apply_device_training_params(const RunContext& ctx, train::TrainerOptions& options);

}  // namespace cake::cli
