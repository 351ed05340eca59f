// spectral.cpp: `cake run spectral`, spectral clustering after Ng, Jordan & Weiss 2002
// (algorithms/cluster/spectral.h): RBF or k-NN affinity (with self-tuning widths when
// local_scaling > 0, Zelnik-Manor & Perona 2004), top eigenvectors of D^-1/2 A D^-1/2
// (dense or thick-restart Lanczos), unit rows, then k-means, CPQR or Yu & Shi's discretisation.
#include "cake/algorithms/cluster/spectral.h"
#include "tools/library_defaults.h"
#include "tools/registry.h"

namespace cake::cli::spectral_command {
namespace {

void run_spectral(RunContext& ctx) {
  using namespace cake::cluster;
  SpectralClustering model({.n_clusters = ctx.params.get_int("n_clusters"),
                            .affinity = parse_spectral_affinity(ctx.params.get_string("affinity")),
                            .gamma = ctx.params.get_float("gamma"),
                            .n_neighbors = ctx.params.get_int("n_neighbors"),
                            .local_scaling = ctx.params.get_int("local_scaling"),
                            .eigen_solver = parse_eigen_solver(ctx.params.get_string("eigen_solver")),
                            .n_components = ctx.params.get_int("n_components"),
                            .eigen_tol = ctx.params.get_float("eigen_tol"),
                            .assign_labels = parse_assign_labels(ctx.params.get_string("assign_labels")),
                            .n_init = ctx.params.get_int("n_init"),
                            .random_state = ctx.seed});
  ctx.progress->start("spectral clustering", 1);
  const Tensor labels = model.fit_predict(ctx.data.cpu());
  ctx.progress->update(1);
  ctx.progress->finish();
  const Tensor eigenvalues = model.eigenvalues().contiguous();
  const double* ev = eigenvalues.data_ptr<double>();
  ctx.metrics["eigenvalues"] = std::vector<double>(ev, ev + eigenvalues.numel());
  ctx.metrics["n_connected_components"] = model.n_connected_components();
  ctx.save_labels(labels);
  ctx.save_embedding(model.embedding(), "spectral_embedding");
}

const std::vector<std::string> kAffinities = {"rbf", "nearest_neighbors"};
const std::vector<std::string> kEigenSolvers = {"auto", "dense", "lanczos"};
const std::vector<std::string> kAssignLabels = {"kmeans", "cluster_qr", "discretize"};
using O = cluster::SpectralClusteringOptions;

}  // namespace

CAKE_REGISTER_ALGORITHM({
    .name = "spectral",
    .summary = "spectral clustering: RBF or k-NN affinity, normalised affinity eigenvectors, k-means, CPQR or discretisation",
    .reference = "Ng, Jordan & Weiss 2002, On spectral clustering; Zelnik-Manor & Perona 2004 (self-tuning); "
                 "Wu & Simon 2000 (thick-restart Lanczos)",
    .params = {{"n_clusters", ParamType::Int, library_default(&O::n_clusters), "number of clusters"},
               {"affinity", ParamType::String,
                library_choice(&O::affinity, cluster::parse_spectral_affinity, kAffinities),
                "how samples are connected", kAffinities},
               {"gamma", ParamType::Float, library_default(&O::gamma), "RBF width: exp(-gamma |x - y|^2)"},
               {"n_neighbors", ParamType::Int, library_default(&O::n_neighbors), "k of the k-NN affinity graph"},
               {"local_scaling", ParamType::Int, library_default(&O::local_scaling),
                "self-tuning widths: sigma_i = distance to the K-th neighbour, exp(-d^2 / sigma_i sigma_j) "
                "(Zelnik-Manor & Perona use 7; 0: off)"},
               {"eigen_solver", ParamType::String,
                library_choice(&O::eigen_solver, cluster::parse_eigen_solver, kEigenSolvers),
                "eigensolver", kEigenSolvers},
               {"n_components", ParamType::Int, library_default(&O::n_components), "eigenvectors kept (0: n_clusters)"},
               {"eigen_tol", ParamType::Float, library_default(&O::eigen_tol), "Lanczos residual tolerance"},
               {"assign_labels", ParamType::String,
                library_choice(&O::assign_labels, cluster::parse_assign_labels, kAssignLabels),
                "how the embedding becomes labels", kAssignLabels},
               {"n_init", ParamType::Int, library_default(&O::n_init), "k-means restarts"}},
    .run = run_spectral,
});

}  // namespace cake::cli::spectral_command
