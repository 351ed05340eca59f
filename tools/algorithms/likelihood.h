// likelihood.h: the log-likelihood step that `cake run rbm` and `cake run dbm` share: their
// ais_runs, ais_steps and likelihood_rows parameters, checked, and the scores of
// likelihood_scores (tools/evaluation.h) added to metrics.json.
#pragma once

#include <string>

#include "tools/errors.h"
#include "tools/evaluation.h"
#include "tools/registry.h"

namespace cake::cli {

// The default of ais_steps: the schedule of Salakhutdinov & Murray's code (ais_schedule()).
inline const char* const kAisSteps = "14500";

inline void check_likelihood_params(const RunContext& ctx, const std::string& command) {
  const std::int64_t runs = ctx.params.get_int("ais_runs"), steps = ctx.params.get_int("ais_steps");
  if (runs < 0) throw UsageError(command + ": ais_runs must be >= 0 (0 skips the log-likelihood), got " + std::to_string(runs));
  if (runs > 0 && steps < 3) throw UsageError(command + ": ais_steps must be at least 3, got " + std::to_string(steps));
  if (ctx.params.get_int("likelihood_rows") < 0)
    throw UsageError(command + ": likelihood_rows must be >= 0 (0: every row), got " +
                     std::to_string(ctx.params.get_int("likelihood_rows")));
}

// Adds the log-likelihood scores of `machine` (an RBM or a DBM) fitted on x, unless ais_runs is 0.
template <class Machine>
void add_likelihood_scores(RunContext& ctx, const Machine& machine, const Tensor& x) {
  const LikelihoodScoring scoring{.runs = ctx.params.get_int("ais_runs"),
                                  .steps = ctx.params.get_int("ais_steps"),
                                  .rows = ctx.params.get_int("likelihood_rows"),
                                  .seed = ctx.seed};
  if (scoring.runs == 0) return;
  ctx.progress->message("log Z by annealed importance sampling: " + std::to_string(scoring.runs) + " runs of " +
                        std::to_string(scoring.steps) + " steps");
  ctx.metrics.update(likelihood_scores(machine, x, ctx.test_data.defined() ? ctx.test_data.cpu() : Tensor(), scoring));
}

}  // namespace cake::cli
