// umap.cpp: Uniform Manifold Approximation and Projection (algorithms/manifold/umap.h),
// registered as `umap`.
//
//   cake run umap --data fashion-mnist:test --set n_neighbors=15 min_dist=0.1
//   cake run umap --data codes.npy --labels classes.npy --set clusters=runs/kmeans/labels.npy
//   cake run umap --data fashion-mnist:train:10000 --set transform=fashion-mnist:test:2000
//
// Parameters carry umap-learn's names and defaults (umap.UMAP, 0.5; McInnes, Healy & Melville
// 2018). The embedding goes to embedding.npy and embedding.png (coloured by class when labels
// are known); with `clusters` (an int64 labels.npy, e.g. another run's) also
// embedding_clusters.png coloured by those clusters. metrics.json gets the trustworthiness T(5)
// (Venna & Kaski 2001) and the k-NN preservation (10 neighbours) of the embedding, with labels
// its 1-NN accuracy, on a random subset of metric_samples points when there are more (each needs
// all pairwise distances; tools/evaluation.h), the curve parameters a, b and the start used.
// With `transform` (an .npy or a named data set of the same width) those samples are then placed
// in the fitted layout without moving it (UMAP::transform) and written to transformed.npy.
#include <string>

#include "cake/algorithms/manifold/umap.h"
#include "cake/data/datasets.h"
#include "cake/data/image.h"
#include "cake/data/npy.h"
#include "tools/errors.h"
#include "tools/evaluation.h"
#include "tools/figures.h"
#include "tools/library_defaults.h"
#include "tools/registry.h"

namespace cake::cli::umap_command {

namespace {

void run_umap(RunContext& ctx) {
  const Tensor x = ctx.data.cpu();
  const std::int64_t n = x.size(0);
  manifold::UMAPOptions options{.n_neighbors = ctx.params.get_int("n_neighbors"),
                                .n_components = ctx.params.get_int("n_components"),
                                .metric = ctx.params.get_string("metric"),
                                .n_epochs = ctx.params.get_int("n_epochs"),
                                .learning_rate = ctx.params.get_float("learning_rate"),
                                .init = ctx.params.get_string("init"),
                                .min_dist = ctx.params.get_float("min_dist"),
                                .spread = ctx.params.get_float("spread"),
                                .set_op_mix_ratio = ctx.params.get_float("set_op_mix_ratio"),
                                .local_connectivity = ctx.params.get_float("local_connectivity"),
                                .repulsion_strength = ctx.params.get_float("repulsion_strength"),
                                .negative_sample_rate = ctx.params.get_int("negative_sample_rate"),
                                .nn_method = ctx.params.get_string("nn_method"),
                                .random_state = ctx.seed,
                                .on_message = [&](const std::string& text) { ctx.progress->message(text); },
                                .on_epoch = [&](std::int64_t epoch, std::int64_t) { ctx.progress->update(epoch); }};
  // Read the clusters first, so that a bad file fails before the embedding is computed.
  Tensor clusters;
  if (const std::string file = ctx.params.get_string("clusters"); !file.empty()) {
    clusters = data::read_npy(file);
    if (clusters.dim() != 1 || clusters.size(0) != n || clusters.is_floating_point())
      throw UsageError("umap: clusters must be integer labels, one per sample (" + std::to_string(n) + "), got " +
                       file + " of shape " + shape_str(clusters.sizes()));
  }
  // New points to place in the fitted layout afterwards (UMAP.transform), read first too.
  Tensor new_points;
  if (const std::string spec = ctx.params.get_string("transform"); !spec.empty()) {
    new_points = data::is_named_dataset(spec) ? data::load_named(spec).images : data::read_npy(spec);
    if (new_points.dim() < 2 || new_points.numel() / std::max<std::int64_t>(new_points.size(0), 1) != x.size(1))
      throw UsageError("umap: transform needs " + std::to_string(x.size(1)) + " features per sample, as the data, got " +
                       spec + " of shape " + shape_str(new_points.sizes()));
    new_points = new_points.reshape({new_points.size(0), x.size(1)}).to(x.dtype());
  }
  manifold::UMAP model(options);
  const std::int64_t epochs = options.n_epochs > 0 ? options.n_epochs : (n <= 10000 ? 500 : 200);
  ctx.progress->start("epoch", epochs);
  const Tensor embedding = model.fit_transform(x);
  ctx.progress->finish();

  ctx.metrics["a"] = model.a();
  ctx.metrics["b"] = model.b();
  ctx.metrics["n_epochs"] = model.n_epochs();
  ctx.metrics["init"] = model.init_used();
  ctx.metrics["nn_method"] = model.used_nn_descent() ? "nn_descent" : "exact";
  ctx.metrics["graph_edges"] = model.graph().nnz();
  ctx.progress->message("umap: scoring the embedding (trustworthiness, k-NN preservation)");
  const nlohmann::json scores = embedding_scores(x, embedding, ctx.params.get_int("metric_samples"), ctx.seed, ctx.labels);
  for (const auto& item : scores.items()) ctx.metrics[item.key()] = item.value();
  ctx.save_embedding(embedding);
  if (new_points.defined()) {
    ctx.progress->message("umap: placing " + std::to_string(new_points.size(0)) + " new samples in the layout (transform)");
    data::write_npy(ctx.path("transformed.npy"), model.transform(new_points));
    ctx.metrics["transformed_samples"] = new_points.size(0);
  }
  if (clusters.defined() && embedding.size(1) >= 2) {
    const bool projected = embedding.size(1) > 2;
    const Tensor points = projected ? figures::principal_components_2d(embedding) : embedding;
    // (save_embedding has already warned when this build writes no figures.)
    if (image::png_available())
      image::write_png(ctx.path("embedding_clusters.png"),
                       figures::scatter_plot("umap: embedding coloured by cluster", points, clusters,
                                             {.label_prefix = "cluster",
                                              .x_label = projected ? "principal component 1" : "dimension 1",
                                              .y_label = projected ? "principal component 2" : "dimension 2"}));
  }
}

using O = manifold::UMAPOptions;

}  // namespace

CAKE_REGISTER_ALGORITHM({
    .name = "umap",
    .summary = "UMAP embedding: fuzzy k-NN graph (exact or NN-descent), spectral start, SGD with negative sampling",
    .reference = "McInnes, Healy & Melville 2018 (UMAP, arXiv:1802.03426); Dong, Moses & Li 2011 (NN-descent)",
    .params = {{"n_neighbors", ParamType::Int, library_default(&O::n_neighbors), "size of the local neighbourhood (the point itself included)"},
               {"n_components", ParamType::Int, library_default(&O::n_components), "embedding dimension"},
               {"min_dist", ParamType::Float, library_default(&O::min_dist), "how tightly points may pack in the embedding"},
               {"spread", ParamType::Float, library_default(&O::spread), "scale of the embedded points"},
               {"n_epochs", ParamType::Int, library_default(&O::n_epochs), "SGD epochs; 0: 500 up to 10,000 points, 200 above"},
               {"learning_rate", ParamType::Float, library_default(&O::learning_rate), "initial SGD step, falling linearly to 0"},
               {"negative_sample_rate", ParamType::Int, library_default(&O::negative_sample_rate), "negative samples per positive one"},
               {"local_connectivity", ParamType::Float, library_default(&O::local_connectivity), "neighbours each point is assumed connected to"},
               {"set_op_mix_ratio", ParamType::Float, library_default(&O::set_op_mix_ratio), "1: fuzzy union of the directed graphs, 0: intersection"},
               {"repulsion_strength", ParamType::Float, library_default(&O::repulsion_strength), "weight of the negative samples"},
               {"metric", ParamType::String, library_default(&O::metric), "input distance", {"euclidean", "cosine"}},
               {"init", ParamType::String, library_default(&O::init), "initial layout (spectral: component by component when the graph is disconnected)", {"spectral", "random", "pca"}},
               {"nn_method", ParamType::String, library_default(&O::nn_method), "k-NN search; auto: exact up to 4096 points, NN-descent above", {"auto", "exact", "nn_descent"}},
               {"metric_samples", ParamType::Int, "5000", "trustworthiness and k-NN preservation on at most this many random points (0: all)"},
               {"clusters", ParamType::String, "", "int64 labels.npy (one per sample) to colour embedding_clusters.png by"},
               {"transform", ParamType::String, "", "new samples (.npy, or a named data set) to place in the fitted layout; written to transformed.npy"}},
    .run = run_umap,
});

}  // namespace cake::cli::umap_command
