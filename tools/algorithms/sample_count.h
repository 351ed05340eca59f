// sample_count.h: the check the clustering commands make of a count that cannot exceed the number
// of samples (n_clusters, n_components, n_landmarks), with one message for all of them.
#pragma once

#include <cstdint>
#include <string>

#include "tools/errors.h"
#include "tools/registry.h"

namespace cake::cli {

// The integer parameter `name` of `command`; a UsageError unless 1 <= value <= the run's samples.
inline std::int64_t count_up_to_samples(const RunContext& ctx, const std::string& command, const std::string& name) {
  const std::int64_t value = ctx.params.get_int(name);
  if (value < 1 || value > ctx.n_rows())
    throw UsageError(command + ": " + name + " must be between 1 and the number of samples (" +
                     std::to_string(ctx.n_rows()) + "), got " + std::to_string(value));
  return value;
}

}  // namespace cake::cli
