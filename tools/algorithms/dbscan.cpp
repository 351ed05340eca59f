// dbscan.cpp: `cake run dbscan`, density-based clustering with noise (algorithms/cluster/dbscan.h);
// noise is labelled -1.
#include <algorithm>
#include <cstdint>

#include "cake/algorithms/cluster/dbscan.h"
#include "tools/library_defaults.h"
#include "tools/registry.h"

namespace cake::cli::dbscan_command {
namespace {

void run_dbscan(RunContext& ctx) {
  using namespace cake::cluster;
  DBSCAN model({.eps = ctx.params.get_float("eps"),
                .min_samples = ctx.params.get_int("min_samples"),
                .algorithm = parse_neighbor_algorithm(ctx.params.get_string("algorithm")),
                .leaf_size = ctx.params.get_int("leaf_size")});
  ctx.progress->start("dbscan", 1);
  const Tensor labels = model.fit_predict(ctx.data.cpu());
  ctx.progress->update(1);
  ctx.progress->finish();
  const std::int64_t* l = labels.data_ptr<std::int64_t>();
  ctx.metrics["n_clusters"] = model.n_clusters();
  ctx.metrics["n_noise"] = std::count(l, l + labels.numel(), std::int64_t{-1});
  ctx.metrics["n_core_samples"] = model.core_sample_indices().numel();
  ctx.save_labels(labels);
}

const std::vector<std::string> kNeighborAlgorithms = {"auto", "kd_tree", "brute"};
using O = cluster::DBSCANOptions;

}  // namespace

CAKE_REGISTER_ALGORITHM({
    .name = "dbscan",
    .summary = "DBSCAN density clustering; noise labelled -1 (k-d tree in low dimension, GEMM otherwise)",
    .reference = "Ester, Kriegel, Sander & Xu 1996, A density-based algorithm for discovering clusters (KDD)",
    .params = {{"eps", ParamType::Float, library_default(&O::eps), "neighbourhood radius"},
               {"min_samples", ParamType::Int, library_default(&O::min_samples),
                "neighbours (the sample included) that make a core sample"},
               {"algorithm", ParamType::String,
                library_choice(&O::algorithm, cluster::parse_neighbor_algorithm, kNeighborAlgorithms), "neighbour search",
                kNeighborAlgorithms},
               {"leaf_size", ParamType::Int, library_default(&O::leaf_size), "k-d tree leaf size"}},
    .run = run_dbscan,
});

}  // namespace cake::cli::dbscan_command
