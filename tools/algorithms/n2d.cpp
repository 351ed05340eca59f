// n2d.cpp: `cake run n2d`, N2D (McConville et al. 2020): an autoencoder, UMAP of its codes, and a
// Gaussian mixture on the UMAP manifold (algorithms/deep_clustering/n2d.h).
//
//   cake run n2d --data fashion-mnist:all --out runs/n2d                 # the paper's recipe
//   cake run n2d --data fashion-mnist:all --out runs/n2d --set epochs=50  # a shorter pretraining
//   cake run n2d --data fashion-mnist:all --out runs/n2d --set pretrained=runs/dec/model.safetensors
//       # UMAP + GMM on the codes of an autoencoder trained before (here dec's)
//
// The defaults are the paper's, as the authors' n2d.py runs it: DEC's 784-500-500-2000-10 MLP
// with a linear output and Keras' Glorot-uniform weights and zero biases (model=n2d,
// output_bias=layer), trained on the reconstruction error with Adam lr 1e-3, batch 256, for 1000
// epochs on every image (val_fraction 0, no early stopping): about two and a half hours on two
// cores here. Then UMAP of the codes of every training image to n_clusters dimensions
// (umap_neighbors 20, umap_min_dist 0) and a full-covariance GMM. Files: everything an
// autoencoder run leaves (model.safetensors, reconstructions.png, embedding.npy of the codes, ...;
// docs/algorithms/autoencoders.md), then manifold.npy (the UMAP embedding clustered), labels.npy
// with nmi/ari/acc in metrics.json when labels are known, cluster_samples.png (a row of samples
// per cluster), confusion_matrix.png, and umap_2d.npy / umap_classes.png / umap_clusters.png: a
// 2-D UMAP of (up to plot_samples) codes coloured by class and by cluster.
#include <algorithm>

#include "cake/algorithms/deep_clustering/n2d.h"
#include "cake/algorithms/detail/common.h"
#include "cake/data/npy.h"
#include "cake/tensor/creation.h"
#include "tools/algorithms/network_runs.h"
#include "tools/figures.h"
#include "tools/library_defaults.h"

namespace cake::cli::n2d_command {
namespace {

using namespace networks;
using O = deep_clustering::N2DOptions;

std::vector<ParamSpec> params() {
  std::vector<ParamSpec> p = autoencoder_params("n2d", 10, "500,500,2000");
  set_default(p, "output_bias", "layer");
  const std::vector<ParamSpec> own{
      {"n_clusters", ParamType::Int, library_default(&O::n_clusters), "number of clusters (GMM components)"},
      {"umap_dim", ParamType::Int, library_default(&O::umap_dim), "UMAP dimensions clustered (0: n_clusters, the paper's choice)"},
      {"umap_neighbors", ParamType::Int, library_default(&O::n_neighbors), "UMAP's n_neighbors"},
      {"umap_min_dist", ParamType::Float, library_default(&O::min_dist), "UMAP's min_dist (0: clusters may pack tightly)"},
      {"umap_metric", ParamType::String, library_default(&O::metric), "UMAP's distance between codes", {"euclidean", "cosine"}},
      {"umap_epochs", ParamType::Int, library_default(&O::n_epochs), "UMAP's SGD epochs (0: 500 up to 10,000 codes, 200 above)"},
      {"covariance_type", ParamType::String, library_default(&O::covariance_type), "covariance of each Gaussian", {"full", "diag", "tied", "spherical"}},
      {"n_init", ParamType::Int, library_default(&O::n_init), "GMM initialisations; the best likelihood wins"},
      {"plot_samples", ParamType::Int, "10000", "codes in the 2-D UMAP figures umap_classes.png / umap_clusters.png (0: none)"},
      pretrained_param()};
  p.insert(p.end(), own.begin(), own.end());
  for (ParamSpec& spec : analysis_params()) p.push_back(spec);
  p = with_training_params(p, {.epochs = 1000, .batch_size = 256, .lr = 1e-3, .weight_decay = 0.0, .patience = 0});
  set_default(p, "val_fraction", "0");  // the paper trains on every image, holding none out
  return p;
}

// A 2-D UMAP (min_dist 0.1, for a readable picture) of up to plot_samples codes, drawn by class
// (when known) and by cluster.
void save_umap_figures(RunContext& ctx, const Tensor& codes, const Tensor& clusters) {
  const std::int64_t n = codes.size(0), wanted = ctx.params.get_int("plot_samples");
  if (wanted <= 0 || n < 3) return;
  std::vector<std::int64_t> pick;
  {
    algorithms::detail::SeedScope scope(ctx.seed);
    pick = algorithms::detail::permutation(n);
  }
  pick.resize(static_cast<std::size_t>(std::min(n, wanted)));
  std::sort(pick.begin(), pick.end());
  const std::int64_t m = static_cast<std::int64_t>(pick.size());
  const Tensor index = tensor(pick, {m});
  ctx.progress->message("n2d: 2-D UMAP of " + std::to_string(m) + " codes for the figures");
  manifold::UMAP umap({.n_neighbors = std::min(ctx.params.get_int("umap_neighbors"), m),
                       .metric = ctx.params.get_string("umap_metric"),
                       .random_state = ctx.seed});
  const Tensor points = umap.fit_transform(codes.detach().cpu().index_select(0, index).to(kFloat64));
  data::write_npy(ctx.path("umap_2d.npy"), points);
  const figures::ScatterOptions axes{.x_label = "UMAP 1", .y_label = "UMAP 2"};
  if (ctx.labels.defined()) {
    figures::ScatterOptions by_class = axes;
    by_class.names = ctx.class_names;
    write_figure(ctx, "umap_classes.png",
                 figures::scatter_plot("n2d: UMAP of the codes, by class", points, ctx.labels.index_select(0, index), by_class));
  }
  figures::ScatterOptions by_cluster = axes;
  by_cluster.label_prefix = "cluster";
  write_figure(ctx, "umap_clusters.png",
               figures::scatter_plot("n2d: UMAP of the codes, by cluster", points, clusters.index_select(0, index), by_cluster));
}

void run_n2d(RunContext& ctx) {
  const AutoencoderRun run = trained_or_pretrained_autoencoder(ctx, {.model = ctx.params.get_string("model")});
  deep_clustering::N2D n2d({.n_clusters = ctx.params.get_int("n_clusters"),
                            .umap_dim = ctx.params.get_int("umap_dim"),
                            .n_neighbors = ctx.params.get_int("umap_neighbors"),
                            .min_dist = ctx.params.get_float("umap_min_dist"),
                            .metric = ctx.params.get_string("umap_metric"),
                            .n_epochs = ctx.params.get_int("umap_epochs"),
                            .covariance_type = ctx.params.get_string("covariance_type"),
                            .n_init = ctx.params.get_int("n_init"),
                            .random_state = ctx.seed,
                            .on_message = [&](const std::string& text) { ctx.progress->message(text); },
                            .on_epoch = [&](std::int64_t epoch, std::int64_t) { ctx.progress->update(epoch); }});
  const std::int64_t n = run.train_codes.size(0), umap_epochs = ctx.params.get_int("umap_epochs");
  ctx.progress->start("umap epoch", umap_epochs > 0 ? umap_epochs : (n <= 10000 ? 500 : 200));
  const Tensor labels = n2d.fit_predict(run.train_codes);
  ctx.progress->finish();
  data::write_npy(ctx.path("manifold.npy"), n2d.manifold());
  ctx.metrics["umap_init"] = n2d.umap().init_used();
  ctx.save_labels(labels);
  save_umap_figures(ctx, run.train_codes, labels);
}

CAKE_REGISTER_ALGORITHM({
    .name = "n2d",
    .summary = "N2D: autoencoder codes -> UMAP to n_clusters dimensions -> Gaussian mixture",
    .reference = "McConville, Santos-Rodriguez, Piechocki & Craddock 2020 (N2D, ICPR); McInnes et al. 2018 (UMAP)",
    .params = params(),
    .run = run_n2d,
    .multi_rank = MultiRank::DataParallelPretraining,
});

}  // namespace
}  // namespace cake::cli::n2d_command
