// pca.cpp: principal component analysis (algorithms/decomposition/pca.h), registered as `pca`.
//
//   cake run pca --data fashion-mnist:train --set n_components=50 svd_solver=randomized
//
// Parameters carry scikit-learn's names and defaults (sklearn.decomposition.PCA, 1.2; Pearson
// 1901, Hotelling 1933; randomized SVD after Halko, Martinsson & Tropp 2011). The projection
// goes to embedding.npy, the principal directions to components.npy, and metrics.json gets
// the fraction of the total variance each component explains.
#include <numeric>
#include <string>
#include <vector>

#include "cake/algorithms/decomposition/pca.h"
#include "cake/data/npy.h"
#include "tools/errors.h"
#include "tools/library_defaults.h"
#include "tools/registry.h"

namespace cake::cli {
namespace {

std::vector<double> to_vector(const Tensor& t) {
  const Tensor c = t.to(kFloat64).contiguous();
  return {c.data_ptr<double>(), c.data_ptr<double>() + c.numel()};
}

void run_pca(RunContext& ctx) {
  const Tensor x = ctx.data.cpu();
  const std::int64_t k = ctx.params.get_int("n_components");
  if (k != -1 && (k < 1 || k > std::min(x.size(0), x.size(1))))
    throw UsageError("pca: n_components must be -1 (all) or between 1 and min(n_samples, n_features) = " +
                     std::to_string(std::min(x.size(0), x.size(1))) + ", got " + std::to_string(k));
  decomposition::PCA model({.n_components = k,
                            .whiten = ctx.params.get_bool("whiten"),
                            .svd_solver = ctx.params.get_string("svd_solver"),
                            .iterated_power = ctx.params.get_int("iterated_power"),
                            .n_oversamples = ctx.params.get_int("n_oversamples"),
                            .power_iteration_normalizer = ctx.params.get_string("power_iteration_normalizer")});
  ctx.progress->start("pca", 1);
  const Tensor embedding = model.fit_transform(x);
  ctx.progress->update(1);
  ctx.progress->finish();

  const std::vector<double> ratio = to_vector(model.explained_variance_ratio());
  ctx.metrics["explained_variance_ratio"] = ratio;
  ctx.metrics["explained_variance_ratio_sum"] = std::accumulate(ratio.begin(), ratio.end(), 0.0);
  ctx.metrics["explained_variance"] = to_vector(model.explained_variance());
  ctx.metrics["noise_variance"] = model.noise_variance();
  ctx.metrics["n_components"] = model.n_components();
  ctx.metrics["svd_solver"] = model.solver_used();
  ctx.log({{"svd_solver", model.solver_used()}, {"explained_variance_ratio_sum", ctx.metrics["explained_variance_ratio_sum"]}});
  ctx.save_embedding(embedding);
  data::write_npy(ctx.path("components.npy"), model.components());
  // The cumulative explained variance, the usual way to choose n_components.
  std::vector<double> cumulative(ratio.size());
  std::partial_sum(ratio.begin(), ratio.end(), cumulative.begin());
  ctx.save_curve("explained_variance.png", "PCA: cumulative explained variance ratio",
                 {{"cumulative explained variance ratio", cumulative}}, "components");
}

using O = decomposition::PCAOptions;

}  // namespace

CAKE_REGISTER_ALGORITHM({
    .name = "pca",
    .summary = "principal component analysis: exact SVD, covariance eigendecomposition or randomized SVD; whitening",
    .reference = "Pearson 1901; Hotelling 1933; Halko, Martinsson & Tropp 2011 (randomized SVD)",
    .params = {{"n_components", ParamType::Int, library_default(&O::n_components), "components kept; -1: min(n_samples, n_features)"},
               {"whiten", ParamType::Bool, library_default(&O::whiten), "scale the projections to unit variance"},
               {"svd_solver", ParamType::String, library_default(&O::svd_solver), "decomposition (auto picks the cheapest for the shape)",
                {"auto", "full", "covariance_eigh", "randomized"}},
               {"iterated_power", ParamType::Int, library_default(&O::iterated_power), "randomized: power iterations; -1: 7 if k < 0.1 min(N, D) else 4"},
               {"n_oversamples", ParamType::Int, library_default(&O::n_oversamples), "randomized: extra sketch columns"},
               {"power_iteration_normalizer", ParamType::String, library_default(&O::power_iteration_normalizer), "randomized: normaliser between power iterations",
                {"auto", "QR", "LU", "none"}}},
    .run = run_pca,
});

}  // namespace cake::cli
