// spectral.cpp: `cake run spectral`, spectral clustering after Ng, Jordan & Weiss 2002
// (algorithms/cluster/spectral.h): RBF or k-NN affinity, top eigenvectors of D^-1/2 A D^-1/2
// (dense or thick-restart Lanczos), unit rows, then k-means or CPQR.
#include "algorithms/cluster/spectral.h"
#include "tools/registry.h"

namespace cake::cli {
namespace {

void run_spectral(RunContext& ctx) {
  using namespace cake::algorithms;
  SpectralClustering model({.n_clusters = ctx.params.get_int("n_clusters"),
                            .affinity = parse_spectral_affinity(ctx.params.get_string("affinity")),
                            .gamma = ctx.params.get_float("gamma"),
                            .n_neighbors = ctx.params.get_int("n_neighbors"),
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

}  // namespace

CAKE_REGISTER_ALGORITHM({
    .name = "spectral",
    .summary = "spectral clustering: RBF or k-NN affinity, normalised affinity eigenvectors, k-means or CPQR",
    .reference = "Ng, Jordan & Weiss 2002, On spectral clustering; Wu & Simon 2000 (thick-restart Lanczos)",
    .params = {{"n_clusters", ParamType::Int, "8", "number of clusters"},
               {"affinity", ParamType::String, "rbf", "how samples are connected", {"rbf", "nearest_neighbors"}},
               {"gamma", ParamType::Float, "1.0", "RBF width: exp(-gamma |x - y|^2)"},
               {"n_neighbors", ParamType::Int, "10", "k of the k-NN affinity graph"},
               {"eigen_solver", ParamType::String, "auto", "eigensolver", {"auto", "dense", "lanczos"}},
               {"n_components", ParamType::Int, "0", "eigenvectors kept (0: n_clusters)"},
               {"eigen_tol", ParamType::Float, "1e-7", "Lanczos residual tolerance"},
               {"assign_labels", ParamType::String, "kmeans", "how the embedding becomes labels",
                {"kmeans", "cluster_qr"}},
               {"n_init", ParamType::Int, "10", "k-means restarts"}},
    .run = run_spectral,
});

}  // namespace cake::cli
