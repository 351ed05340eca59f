// agglomerative.cpp: `cake run agglomerative`, hierarchical agglomerative clustering
// (algorithms/cluster/agglomerative.h): ward, complete, average or single linkage, optionally
// restricted to a k-nearest-neighbour connectivity graph, cut into n_clusters clusters or at a
// distance threshold.
#include <algorithm>
#include <vector>

#include "cake/algorithms/cluster/agglomerative.h"
#include "tools/library_defaults.h"
#include "tools/registry.h"

namespace cake::cli::agglomerative_command {
namespace {

void run_agglomerative(RunContext& ctx) {
  using namespace cake::cluster;
  const double threshold = ctx.params.get_float("distance_threshold");
  AgglomerativeClusteringOptions options;
  options.linkage = parse_linkage(ctx.params.get_string("linkage"));
  options.connectivity_n_neighbors = ctx.params.get_int("connectivity_n_neighbors");
  if (threshold > 0) {
    options.n_clusters = std::nullopt;
    options.distance_threshold = threshold;
  } else {
    options.n_clusters = ctx.params.get_int("n_clusters");
  }
  AgglomerativeClustering model(options);
  ctx.progress->start("merge tree", 1);
  const Tensor labels = model.fit_predict(ctx.data.cpu());
  ctx.progress->update(1);
  ctx.progress->finish();
  const std::vector<double>& heights = model.tree().distances;
  ctx.metrics["n_clusters"] = model.n_clusters();
  ctx.metrics["n_leaves"] = model.n_leaves();
  ctx.metrics["n_connected_components"] = model.n_connected_components();
  if (!heights.empty()) ctx.metrics["max_merge_distance"] = *std::max_element(heights.begin(), heights.end());
  ctx.save_labels(labels);
  ctx.save_curve("merge_distances.png", "linkage distance of each merge", {{"distance", heights}});
}

const std::vector<std::string> kLinkages = {"ward", "complete", "average", "single"};
using O = cluster::AgglomerativeClusteringOptions;

}  // namespace

CAKE_REGISTER_ALGORITHM({
    .name = "agglomerative",
    .summary = "hierarchical agglomerative clustering: ward/complete/average/single linkage, optional k-NN connectivity",
    .reference = "Müllner 2011, Modern hierarchical, agglomerative clustering algorithms (NN-chain, MST); Ward 1963",
    .params = {{"n_clusters", ParamType::Int, library_default(&O::n_clusters, "2"),
                "clusters to cut the tree into (ignored with distance_threshold)"},
               {"distance_threshold", ParamType::Float, library_default(&O::distance_threshold, "0"),
                "> 0: cut where merges reach this linkage distance"},
               {"linkage", ParamType::String, library_choice(&O::linkage, cluster::parse_linkage, kLinkages),
                "cluster distance", kLinkages},
               {"connectivity_n_neighbors", ParamType::Int, library_default(&O::connectivity_n_neighbors),
                "> 0: only clusters joined in the k-nearest-neighbour graph may merge"}},
    .run = run_agglomerative,
});

}  // namespace cake::cli::agglomerative_command
