// pca.cpp: principal component analysis (algorithms/decomposition/pca.h), registered as `pca`.
//
//   cake run pca --data fashion-mnist:train --set n_components=50 svd_solver=randomized
//
// Parameters carry scikit-learn's names and defaults (sklearn.decomposition.PCA, 1.2; Pearson
// 1901, Hotelling 1933; randomized SVD after Halko, Martinsson & Tropp 2011). The projection
// goes to embedding.npy, the principal directions to components.npy, and metrics.json gets
// the fraction of the total variance each component explains.
// With `--device cuda` the covariance and the projection are GEMMs on the GPU and the D x D
// eigenproblem is solved there too, by cuSOLVER (algorithms/detail/device_steps.h,
// principal_axes): svd_solver and its options are then ignored, as the covariance solver has none.
// Under `mpirun -np P cake run pca ...` the P ranks share the rows (distributed/pca.h: the mean
// and the covariance all-reduced), which is the covariance_eigh solver on the whole data.
#include <algorithm>
#include <numeric>
#include <string>
#include <vector>

#include "cake/algorithms/decomposition/pca.h"
#include "cake/algorithms/detail/device_steps.h"
#include "cake/autograd/ops.h"
#include "cake/data/npy.h"
#include "cake/distributed/pca.h"
#include "tools/errors.h"
#include "tools/library_defaults.h"
#include "tools/registry.h"

namespace cake::cli::pca_command {
namespace {

std::vector<double> to_vector(const Tensor& t) {
  const Tensor c = t.to(kFloat64).contiguous();
  return {c.data_ptr<double>(), c.data_ptr<double>() + c.numel()};
}

// What both paths leave: the projection, the components (in the data's dtype) and the variances.
struct PCAOutputs {
  Tensor embedding, components, explained_variance;
  std::vector<double> ratio;
  double noise_variance = 0.0;
  std::string solver;
};

PCAOutputs fit_one_process(const Tensor& x, const decomposition::PCAOptions& options) {
  decomposition::PCA model(options);
  PCAOutputs out;
  out.embedding = model.fit_transform(x);
  out.components = model.components();
  out.explained_variance = model.explained_variance();
  out.ratio = to_vector(model.explained_variance_ratio());
  out.noise_variance = model.noise_variance();
  out.solver = model.solver_used();
  return out;
}

// --device cuda: principal_axes (covariance GEMM and eigh on the device), then the
// projection (X - mean) V^T as a GEMM on the device, divided by sqrt(variance) when whitening.
PCAOutputs fit_on_device(const Tensor& x, std::int64_t k, bool whiten) {
  const std::int64_t rank = std::min(x.size(0), x.size(1));
  if (k == -1) k = rank;
  const algorithms::detail::PrincipalAxes axes = algorithms::detail::principal_axes(x, k);
  const Tensor kept = axes.variances.narrow(0, 0, k);
  Tensor embedding = matmul(x - axes.mean.unsqueeze(0), axes.components.t());
  if (whiten) embedding = embedding / kept.clamp_min(1e-300).sqrt().to(x.device(), x.dtype()).unsqueeze(0);
  PCAOutputs out;
  out.embedding = embedding.cpu();
  out.components = axes.components.cpu();
  out.explained_variance = kept.cpu();
  const double total = axes.variances.sum().item<double>();
  for (double v : to_vector(kept)) out.ratio.push_back(total > 0.0 ? v / total : 0.0);
  // scikit-learn: the mean of the variances beyond the kept ones, up to min(N, D).
  if (k < rank) out.noise_variance = axes.variances.narrow(0, k, rank - k).mean().item<double>();
  out.solver = "covariance_eigh (device GEMM, device eigh)";
  return out;
}

// Under mpirun: each rank holds its own rows; the mean and the covariance are all-reduced and
// every rank solves the same eigenproblem (distributed/pca.h). That is the covariance_eigh
// solver, whatever svd_solver asks; the projections are gathered back in row order.
PCAOutputs fit_sharded(RunContext& ctx, distributed::ProcessGroup& group, const decomposition::PCAOptions& options) {
  const RunContext::LocalRows mine = ctx.local_rows(group);
  const std::int64_t k = options.n_components == -1 ? std::min(ctx.n_rows(), mine.x.size(1)) : options.n_components;
  if (options.svd_solver != "auto" && options.svd_solver != "covariance_eigh")
    ctx.progress->message("pca on " + std::to_string(group.world_size()) + " ranks: svd_solver=" + options.svd_solver +
                          " is replaced by covariance_eigh (the covariance summed over the ranks)");
  const distributed::PCAResult fit = distributed::fit_pca(group, mine.x, k);
  PCAOutputs out;
  out.embedding = group.all_gather(distributed::pca_transform(fit, mine.x, options.whiten).to(mine.x.dtype()));
  out.components = fit.components.to(mine.x.dtype());
  out.explained_variance = fit.explained_variance;
  out.ratio = to_vector(fit.explained_variance_ratio);
  out.noise_variance = fit.noise_variance;
  out.solver = "covariance_eigh";
  return out;
}

void run_pca(RunContext& ctx) {
  const Tensor x = ctx.data.cpu();
  const std::int64_t k = ctx.params.get_int("n_components"), rank_bound = std::min(ctx.n_rows(), x.size(1));
  if (k != -1 && (k < 1 || k > rank_bound))
    throw UsageError("pca: n_components must be -1 (all) or between 1 and min(n_samples, n_features) = " +
                     std::to_string(rank_bound) + ", got " + std::to_string(k));
  const decomposition::PCAOptions options{.n_components = k,
                                          .whiten = ctx.params.get_bool("whiten"),
                                          .svd_solver = ctx.params.get_string("svd_solver"),
                                          .iterated_power = ctx.params.get_int("iterated_power"),
                                          .n_oversamples = ctx.params.get_int("n_oversamples"),
                                          .power_iteration_normalizer = ctx.params.get_string("power_iteration_normalizer")};
  ctx.progress->start("pca", 1);
  distributed::ProcessGroup& group = distributed::default_group();
  const PCAOutputs fit = group.world_size() > 1 ? fit_sharded(ctx, group, options)
                         : x.is_cuda()            ? fit_on_device(x, k, options.whiten)
                                                  : fit_one_process(x, options);
  ctx.progress->update(1);
  ctx.progress->finish();

  const std::vector<double>& ratio = fit.ratio;
  ctx.metrics["explained_variance_ratio"] = ratio;
  ctx.metrics["explained_variance_ratio_sum"] = std::accumulate(ratio.begin(), ratio.end(), 0.0);
  ctx.metrics["explained_variance"] = to_vector(fit.explained_variance);
  ctx.metrics["noise_variance"] = fit.noise_variance;
  ctx.metrics["n_components"] = fit.components.size(0);
  ctx.metrics["svd_solver"] = fit.solver;
  ctx.log({{"svd_solver", fit.solver}, {"explained_variance_ratio_sum", ctx.metrics["explained_variance_ratio_sum"]}});
  ctx.save_embedding(fit.embedding);
  data::write_npy(ctx.path("components.npy"), fit.components);
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
    .multi_rank = MultiRank::Sharded,
});

}  // namespace cake::cli::pca_command
