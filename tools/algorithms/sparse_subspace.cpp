// sparse_subspace.cpp: `cake run sparse-subspace`, sparse subspace clustering after Elhamifar &
// Vidal 2013, with the lasso codes of the paper or SSC-OMP's greedy codes (You, Robinson & Vidal
// 2016) (algorithms/cluster/sparse_subspace.h).
//
//   cake run sparse-subspace --data fashion-mnist:test:5000 --set n_clusters=10 solver=omp
//
// The run leaves labels.npy, the affinity's size and the codes' sparsity in metrics.json
// (nonzeros per code, lambda for the lasso), and the usual scores and figures when labels are
// known. The n x n Gram matrix bounds n (about 46,000 float32 samples).
#include <string>

#include "cake/algorithms/cluster/sparse_subspace.h"
#include "tools/errors.h"
#include "tools/library_defaults.h"
#include "tools/registry.h"

namespace cake::cli::sparse_subspace_command {
namespace {

void run_sparse_subspace(RunContext& ctx) {
  using namespace cake::cluster;
  const std::int64_t limit = max_subspace_samples(static_cast<std::int64_t>(ctx.data.element_size()));
  if (ctx.n_rows() > limit)
    throw UsageError("sparse-subspace: " + std::to_string(ctx.n_rows()) + " samples need an n x n Gram matrix; at most " +
                     std::to_string(limit) + " fit (keep the first N with --data NAME:N, or use landmark-spectral)");
  SparseSubspaceClustering model({.n_clusters = ctx.params.get_int("n_clusters"),
                                  .solver = parse_subspace_solver(ctx.params.get_string("solver")),
                                  .alpha = ctx.params.get_float("alpha"),
                                  .n_nonzero = ctx.params.get_int("n_nonzero"),
                                  .normalize = ctx.params.get_bool("normalize"),
                                  .max_iter = ctx.params.get_int("max_iter"),
                                  .tol = ctx.params.get_float("tol"),
                                  .n_init = ctx.params.get_int("n_init"),
                                  .random_state = ctx.seed});
  ctx.progress->message("sparse-subspace: " + ctx.params.get_string("solver") + " codes of " +
                        std::to_string(ctx.n_rows()) + " samples by one another, then spectral clustering");
  ctx.progress->start("sparse subspace clustering", 1);
  const Tensor labels = model.fit_predict(ctx.data.cpu());
  ctx.progress->update(1);
  ctx.progress->finish();
  const neighbors::SparseGraph& c = model.coefficients();
  ctx.metrics["nonzeros_per_code"] = static_cast<double>(c.nnz()) / static_cast<double>(c.n);
  ctx.metrics["affinity_edges"] = model.affinity_graph().nnz();
  if (model.lambda() > 0) ctx.metrics["lambda"] = model.lambda();
  ctx.save_labels(labels);
}

const std::vector<std::string> kSolvers = {"lasso", "omp"};
using O = cluster::SparseSubspaceClusteringOptions;

}  // namespace

CAKE_REGISTER_ALGORITHM({
    .name = "sparse-subspace",
    .summary = "sparse subspace clustering: each sample coded by the others (lasso or OMP), spectral clustering of "
               "the codes",
    .reference = "Elhamifar & Vidal 2013, Sparse Subspace Clustering (TPAMI); You, Robinson & Vidal 2016 (SSC-OMP)",
    .params = {{"n_clusters", ParamType::Int, library_default(&O::n_clusters), "number of clusters (subspaces)"},
               {"solver", ParamType::String, library_choice(&O::solver, cluster::parse_subspace_solver, kSolvers),
                "how each sample is coded by the others", kSolvers},
               {"alpha", ParamType::Float, library_default(&O::alpha),
                "lasso: lambda = alpha / mu (> 1; the paper uses 20 for faces)"},
               {"n_nonzero", ParamType::Int, library_default(&O::n_nonzero), "omp: most samples in a code"},
               {"normalize", ParamType::Bool, library_default(&O::normalize), "scale samples to unit length first"},
               {"max_iter", ParamType::Int, library_default(&O::max_iter), "lasso: coordinate-descent sweeps"},
               {"tol", ParamType::Float, library_default(&O::tol), "lasso: duality-gap tolerance, relative"},
               {"n_init", ParamType::Int, library_default(&O::n_init), "restarts of the spectral step's k-means"}},
    .run = run_sparse_subspace,
});

}  // namespace cake::cli::sparse_subspace_command
