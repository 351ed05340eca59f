// gmm.cpp: the Gaussian mixture fitted by EM (algorithms/mixture/gaussian_mixture.h), registered as
// `gmm`.
//
//   cake run gmm --data X.npy --set n_components=10 covariance_type=diag
//
// Parameters carry scikit-learn's names and defaults (sklearn.mixture.GaussianMixture, 1.2;
// Dempster, Laird & Rubin 1977), read from cake::mixture::GaussianMixtureOptions. Each sample is
// labelled with its most responsible component. metrics.json gets the mean log-likelihood per
// sample and the information criteria BIC and AIC; objective.png shows the log-likelihood at
// every EM iteration, which EM never lowers. Under `mpirun -np P cake run gmm ...` the P ranks
// share the rows (distributed/gmm.h) and write the labels of one process.
// With `--device cuda` the E-steps of the fit run on the GPU (GaussianMixtureOptions::device);
// the initialisation, the M-steps and the final scores are CPU code.
#include <cmath>
#include <optional>
#include <string>

#include "cake/algorithms/mixture/gaussian_mixture.h"
#include "cake/data/npy.h"
#include "cake/distributed/gmm.h"
#include "cake/tensor/creation.h"
#include "tools/algorithms/sample_count.h"
#include "tools/errors.h"
#include "tools/library_defaults.h"
#include "tools/registry.h"

namespace cake::cli::gmm_command {
namespace {

void run_gmm(RunContext& ctx) {
  const Tensor x = ctx.data.cpu();
  const std::int64_t k = count_up_to_samples(ctx, "gmm", "n_components");
  const mixture::GaussianMixtureOptions options{.n_components = k,
                                                .covariance_type = ctx.params.get_string("covariance_type"),
                                                .tol = ctx.params.get_float("tol"),
                                                .reg_covar = ctx.params.get_float("reg_covar"),
                                                .max_iter = ctx.params.get_int("max_iter"),
                                                .n_init = ctx.params.get_int("n_init"),
                                                .init_params = ctx.params.get_string("init_params"),
                                                .device = ctx.data.device()};
  ctx.progress->start("gmm", 1);
  mixture::GaussianMixture model(options);
  Tensor labels;
  std::optional<double> total_log_likelihood;  // under mpirun: summed over the ranks' rows
  distributed::ProcessGroup& group = distributed::default_group();
  if (group.world_size() == 1) {
    labels = model.fit_predict(x);
  } else {
    // Under mpirun: each rank fits on its own rows, the sufficient statistics all-reduced and
    // the initial draws the same from the same --seed; the labels are gathered in row order,
    // the log-likelihood summed over the ranks.
    const Tensor mine = ctx.local_rows(group).x;
    distributed::GaussianMixtureResult fit = distributed::fit_gaussian_mixture(group, mine, options);
    labels = group.all_gather(fit.labels);
    model = std::move(fit.model);
    Tensor sum = full({1}, model.score(mine) * static_cast<double>(mine.size(0)), kFloat64);
    group.all_reduce(sum, distributed::ReduceOp::Sum);
    total_log_likelihood = sum.item<double>();
  }
  ctx.progress->update(1, {{"log_likelihood_bound", model.lower_bound()}});
  ctx.progress->finish();

  const std::vector<double>& history = model.lower_bound_history();
  for (std::size_t i = 0; i < history.size(); ++i)
    ctx.log({{"iteration", static_cast<std::int64_t>(i + 1)}, {"log_likelihood", history[i]}});
  if (!total_log_likelihood) {
    ctx.metrics["log_likelihood"] = model.score(x);
    ctx.metrics["bic"] = model.bic(x);
    ctx.metrics["aic"] = model.aic(x);
  } else {
    // The same definitions (scikit-learn's GaussianMixture.score, bic, aic) from the sum over
    // every rank's rows: the mean log-likelihood per sample, BIC = -2 log L + p log N and
    // AIC = -2 log L + 2 p, for p free parameters.
    const auto n = static_cast<double>(ctx.n_rows());
    const auto p = static_cast<double>(model.n_parameters());
    ctx.metrics["log_likelihood"] = *total_log_likelihood / n;
    ctx.metrics["bic"] = -2.0 * *total_log_likelihood + p * std::log(n);
    ctx.metrics["aic"] = -2.0 * *total_log_likelihood + 2.0 * p;
  }
  ctx.metrics["converged"] = model.converged();
  ctx.metrics["n_iter"] = model.n_iter();
  ctx.metrics["n_parameters"] = model.n_parameters();
  ctx.save_labels(labels);
  data::write_npy(ctx.path("means.npy"), model.means());
  data::write_npy(ctx.path("weights.npy"), model.weights());
  ctx.save_curve("objective.png", "GMM mean log-likelihood per EM iteration", {{"log-likelihood", history}},
                 "iteration");
}

using O = mixture::GaussianMixtureOptions;

}  // namespace

CAKE_REGISTER_ALGORITHM({
    .name = "gmm",
    .summary = "Gaussian mixture fitted by EM: full, tied, diag or spherical covariances",
    .reference = "Dempster, Laird & Rubin 1977 (EM); Bishop 2006, PRML section 9.2",
    .params = {{"n_components", ParamType::Int, library_default(&O::n_components), "number of mixture components"},
               {"covariance_type", ParamType::String, library_default(&O::covariance_type),
                "covariance of each component", {"full", "tied", "diag", "spherical"}},
               {"tol", ParamType::Float, library_default(&O::tol), "stop when the mean log-likelihood gains less than this"},
               {"reg_covar", ParamType::Float, library_default(&O::reg_covar),
                "added to covariance diagonals so they stay positive definite"},
               {"max_iter", ParamType::Int, library_default(&O::max_iter), "most EM iterations per start"},
               {"n_init", ParamType::Int, library_default(&O::n_init), "independent starts; the highest likelihood wins"},
               {"init_params", ParamType::String, library_default(&O::init_params), "initial responsibilities",
                {"kmeans", "k-means++", "random", "random_from_data"}}},
    .run = run_gmm,
    .multi_rank = MultiRank::Sharded,
});

}  // namespace cake::cli::gmm_command
