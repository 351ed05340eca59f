// graph_agglomerative.cpp: `cake run graph-agglomerative`, agglomerative clustering on the directed
// k-NN graph by maximum incremental path integral (AC-PIC, the default), zeta function (AC-Zell) or
// graph degree linkage (AC-GDL) (algorithms/cluster/graph_agglomerative.h).
//
//   cake run graph-agglomerative --data fashion-mnist:test --set n_clusters=10 descriptor=zeta
//
// The run leaves labels.npy, the number of initial clusters (the nearest-neighbour components),
// the graph's kernel width and the outlying groups joined at the end in metrics.json, and the usual scores and figures when labels
// are known; progress counts the merges.
#include <string>

#include "cake/algorithms/cluster/graph_agglomerative.h"
#include "tools/errors.h"
#include "tools/library_defaults.h"
#include "tools/output.h"
#include "tools/registry.h"

namespace cake::cli::graph_agglomerative_command {
namespace {

void run_graph_agglomerative(RunContext& ctx) {
  using namespace cake::cluster;
  const std::int64_t k = ctx.params.get_int("n_neighbors");
  if (ctx.n_rows() <= k)
    throw UsageError("graph-agglomerative: needs more samples than n_neighbors (" + std::to_string(k) + "), got " +
                     std::to_string(ctx.n_rows()));
  bool started = false;
  GraphAgglomerativeClustering model({.n_clusters = ctx.params.get_int("n_clusters"),
                                      .descriptor = parse_graph_descriptor(ctx.params.get_string("descriptor")),
                                      .n_neighbors = k,
                                      .a = ctx.params.get_float("a"),
                                      .z = ctx.params.get_float("z"),
                                      .min_cluster_fraction = ctx.params.get_float("min_cluster_fraction"),
                                      .on_merge = [&](std::int64_t done, std::int64_t total) {
                                        if (!started) ctx.progress->start("merge", total);
                                        started = true;
                                        ctx.progress->update(done);
                                        if (ctx.stop_requested && ctx.stop_requested())
                                          throw RunInterrupted("graph-agglomerative: interrupted (no checkpoint: run it again)");
                                      }});
  ctx.progress->message("graph-agglomerative: the " + std::to_string(k) + "-NN graph of " + std::to_string(ctx.n_rows()) +
                        " samples, then merges by " + ctx.params.get_string("descriptor"));
  const Tensor labels = model.fit_predict(ctx.data.cpu());
  if (started) ctx.progress->finish();
  ctx.metrics["initial_clusters"] = model.n_initial_clusters();
  ctx.metrics["sigma2"] = model.sigma2();
  ctx.metrics["outlying_groups"] = model.n_outlying_groups();
  ctx.save_labels(labels);
}

const std::vector<std::string> kDescriptors = {"path", "zeta", "gdl"};
using O = cluster::GraphAgglomerativeClusteringOptions;

}  // namespace

CAKE_REGISTER_ALGORITHM({
    .name = "graph-agglomerative",
    .summary = "agglomerative clustering on the directed k-NN graph: path integral (AC-PIC), zeta function (AC-Zell) "
               "or graph degree linkage (AC-GDL)",
    .reference = "Zhang, Zhao & Wang 2013 (path integral); Zhao & Tang 2008 (zeta); Zhang, Wang, Zhao & Tang 2012 (GDL)",
    .params = {{"n_clusters", ParamType::Int, library_default(&O::n_clusters), "number of clusters"},
               {"descriptor", ParamType::String, library_choice(&O::descriptor, cluster::parse_graph_descriptor, kDescriptors),
                "what a merge maximises: the increment of the path integral or of the zeta descriptor, or GDL's affinity",
                kDescriptors},
               {"n_neighbors", ParamType::Int, library_default(&O::n_neighbors), "K of the directed K-NN graph"},
               {"a", ParamType::Float, library_default(&O::a),
                "sigma^2 = a times the mean squared distance to the K neighbours"},
               {"z", ParamType::Float, library_default(&O::z), "the walks' weight per step, in (0, 1)"},
               {"min_cluster_fraction", ParamType::Float, library_default(&O::min_cluster_fraction),
                "clusters under this fraction of an even share are outlying groups, joined at the end (0: the papers' process)"}},
    .run = run_graph_agglomerative,
});

}  // namespace cake::cli::graph_agglomerative_command
