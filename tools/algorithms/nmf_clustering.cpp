// nmf_clustering.cpp: `cake run nmf-clustering`, non-negative matrix factorisation with one part per
// cluster, each sample labelled by the part it loads on most (algorithms/cluster/nmf_clustering.h;
// the JULE talk's "NMF-LP").
//
//   cake run nmf-clustering --data fashion-mnist:test --set n_clusters=10
//
// The run leaves labels.npy, embedding.npy (the rescaled coefficients W), parts.png (the parts as
// images), the reconstruction error in metrics.json, and the usual scores and figures when labels
// are known.
#include <string>

#include "cake/algorithms/cluster/nmf_clustering.h"
#include "tools/algorithms/sample_count.h"
#include "tools/algorithms/component_images.h"
#include "tools/errors.h"
#include "tools/library_defaults.h"
#include "tools/registry.h"

namespace cake::cli::nmf_clustering_command {
namespace {

void run_nmf_clustering(RunContext& ctx) {
  using namespace cake::decomposition;
  const std::int64_t k = count_up_to_samples(ctx, "nmf-clustering", "n_clusters");
  cluster::NMFClustering model({.n_clusters = k,
                                .init = parse_nmf_init(ctx.params.get_string("init")),
                                .solver = parse_nmf_solver(ctx.params.get_string("solver")),
                                .max_iter = ctx.params.get_int("max_iter"),
                                .tol = ctx.params.get_float("tol"),
                                .random_state = ctx.seed});
  ctx.progress->start("nmf", 1);
  const Tensor labels = model.fit_predict(ctx.data.cpu());
  ctx.progress->update(1, {{"reconstruction_err", model.factorisation().reconstruction_err()}});
  ctx.progress->finish();
  ctx.metrics["reconstruction_err"] = model.factorisation().reconstruction_err();
  ctx.metrics["n_iter"] = model.factorisation().n_iter();
  ctx.save_embedding(model.coefficients());
  save_component_images(ctx, "parts.png", model.centers());
  ctx.save_labels(labels);
}

const std::vector<std::string> kInits = {"auto", "nndsvd", "nndsvda", "nndsvdar", "random"};
const std::vector<std::string> kSolvers = {"cd", "mu"};
using O = cluster::NMFClusteringOptions;

}  // namespace

CAKE_REGISTER_ALGORITHM({
    .name = "nmf-clustering",
    .summary = "NMF with one part per cluster; each sample joins the part it loads on most (NMF-LP)",
    .reference = "Xu, Liu & Gong 2003; Akata, Thurau & Bauckhage 2011; Lee & Seung 2001",
    .params = {{"n_clusters", ParamType::Int, library_default(&O::n_clusters), "number of clusters (parts)"},
               {"init", ParamType::String, library_choice(&O::init, decomposition::parse_nmf_init, kInits),
                "initial W, H", kInits},
               {"solver", ParamType::String, library_choice(&O::solver, decomposition::parse_nmf_solver, kSolvers),
                "cd: coordinate descent; mu: multiplicative updates", kSolvers},
               {"max_iter", ParamType::Int, library_default(&O::max_iter), "most iterations"},
               {"tol", ParamType::Float, library_default(&O::tol), "stopping tolerance (relative)"}},
    .run = run_nmf_clustering,
});

}  // namespace cake::cli::nmf_clustering_command
