// pca.cpp: principal component analysis (algorithms/decomposition/pca.h), registered as `pca`.
//
//   cake run pca --data fashion-mnist:train --set n_components=50 svd_solver=randomized
//
// Parameters carry scikit-learn's names and defaults (sklearn.decomposition.PCA, 1.2; Pearson
// 1901, Hotelling 1933; randomized SVD after Halko, Martinsson & Tropp 2011). The projection
// goes to embedding.npy, the principal directions to components.npy, and metrics.json gets
// the fraction of the total variance each component explains.
// With `--device cuda` the covariance and the projection are GEMMs on the GPU and the D x D
// eigenproblem is solved on the CPU (algorithms/detail/device_steps.h, principal_axes; no
// cuSOLVER yet): svd_solver and its options are then ignored, as the covariance solver has none.
#include <numeric>
#include <string>
#include <vector>

#include "cake/algorithms/decomposition/pca.h"
#include "cake/algorithms/detail/device_steps.h"
#include "cake/autograd/ops.h"
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

// What the run reports, from either path.
struct Fitted {
  Tensor embedding, components;
  std::vector<double> variance, ratio;
  double noise_variance = 0.0;
  std::int64_t n_components = 0;
  std::string solver;
};

// --device cuda: principal_axes (covariance GEMM on the device, eigh on the CPU), then the
// projection (X - mean) V^T as a GEMM on the device, divided by sqrt(variance) when whitening.
Fitted fit_on_device(const Tensor& x, std::int64_t k, bool whiten) {
  const std::int64_t rank = std::min(x.size(0), x.size(1));
  if (k == -1) k = rank;
  const algorithms::detail::PrincipalAxes axes = algorithms::detail::principal_axes(x, k);
  const Tensor kept = axes.variances.narrow(0, 0, k);
  Tensor embedding = matmul(x - axes.mean.unsqueeze(0), axes.components.t());
  if (whiten) embedding = embedding / kept.clamp_min(1e-300).sqrt().to(x.device(), x.dtype()).unsqueeze(0);
  Fitted f;
  f.embedding = embedding.cpu();
  f.components = axes.components.cpu();
  f.variance = to_vector(kept);
  const double total = axes.variances.sum().item<double>();
  for (double v : f.variance) f.ratio.push_back(total > 0.0 ? v / total : 0.0);
  // scikit-learn: the mean of the variances beyond the kept ones, up to min(N, D).
  if (k < rank) f.noise_variance = axes.variances.narrow(0, k, rank - k).mean().item<double>();
  f.n_components = k;
  f.solver = "covariance_eigh (device GEMM, CPU eigh)";
  return f;
}

Fitted fit_on_cpu(const Tensor& x, std::int64_t k, const Params& params) {
  decomposition::PCA model({.n_components = k,
                            .whiten = params.get_bool("whiten"),
                            .svd_solver = params.get_string("svd_solver"),
                            .iterated_power = params.get_int("iterated_power"),
                            .n_oversamples = params.get_int("n_oversamples"),
                            .power_iteration_normalizer = params.get_string("power_iteration_normalizer")});
  Fitted f;
  f.embedding = model.fit_transform(x);
  f.components = model.components();
  f.variance = to_vector(model.explained_variance());
  f.ratio = to_vector(model.explained_variance_ratio());
  f.noise_variance = model.noise_variance();
  f.n_components = model.n_components();
  f.solver = model.solver_used();
  return f;
}

void run_pca(RunContext& ctx) {
  const Tensor x = ctx.data.is_cuda() ? ctx.data : ctx.data.cpu();
  const std::int64_t k = ctx.params.get_int("n_components");
  if (k != -1 && (k < 1 || k > std::min(x.size(0), x.size(1))))
    throw UsageError("pca: n_components must be -1 (all) or between 1 and min(n_samples, n_features) = " +
                     std::to_string(std::min(x.size(0), x.size(1))) + ", got " + std::to_string(k));
  ctx.progress->start("pca", 1);
  const Fitted fit = x.is_cuda() ? fit_on_device(x, k, ctx.params.get_bool("whiten")) : fit_on_cpu(x, k, ctx.params);
  ctx.progress->update(1);
  ctx.progress->finish();

  const std::vector<double>& ratio = fit.ratio;
  ctx.metrics["explained_variance_ratio"] = ratio;
  ctx.metrics["explained_variance_ratio_sum"] = std::accumulate(ratio.begin(), ratio.end(), 0.0);
  ctx.metrics["explained_variance"] = fit.variance;
  ctx.metrics["noise_variance"] = fit.noise_variance;
  ctx.metrics["n_components"] = fit.n_components;
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
});

}  // namespace cake::cli
