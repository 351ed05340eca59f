// run_context.cpp: the files every run leaves behind (see RunContext in registry.h).
//
// Arrays are .npy (data/npy.h), records are JSON, figures are PNG (tools/figures.h on
// data/image.h). Figures are a convenience: in a build without stb_image_write they are
// skipped with one warning, and the arrays and metrics are still written.
#include <fstream>
#include <iostream>

#include "cake/algorithms/metrics/metrics.h"
#include "cake/data/file_io.h"
#include "cake/data/image.h"
#include "cake/data/npy.h"
#include "tools/evaluation.h"
#include "tools/figures.h"
#include "tools/output.h"
#include "tools/registry.h"

namespace cake::cli {

namespace {

std::string with_png_extension(const std::string& file) {
  return file.size() >= 4 && file.compare(file.size() - 4, 4, ".png") == 0 ? file : file + ".png";
}

// Writes a figure, or warns once that this build cannot.
void write_figure(const RunContext& ctx, const std::string& file, const image::Canvas& canvas) {
  if (!image::png_available()) {
    static bool warned = false;
    if (!warned && !ctx.quiet)
      std::cerr << "warning: this cake was built without stb_image_write (libstb-dev); no figures are written\n";
    warned = true;
    return;
  }
  image::write_png(ctx.path(with_png_extension(file)), canvas);
}

// Whether images of the run's image_shape can be drawn as a figure (a grid of up to 10 x 10 of
// them, at scale 2 when small, plus margins): images far larger than a figure may be (a .npy of
// shape [N, 1, 200000]) skip the figure with a note instead of failing the run after the work.
bool image_figure_fits(const RunContext& ctx, const std::string& file) {
  const std::int64_t h = (*ctx.image_shape)[1], w = (*ctx.image_shape)[2];
  const std::int64_t scale = h <= 32 && w <= 32 ? 2 : 1;
  const bool fits = w <= data::image::kMaxCanvasSide && h <= data::image::kMaxCanvasSide &&
                    data::image::canvas_fits(10 * (scale * w + 2) + 300, 10 * (scale * h + 2) + 100);
  if (!fits)
    ctx.progress->message("figure " + file + " skipped: images of " + std::to_string(h) + " x " + std::to_string(w) +
                          " pixels are too large to draw");
  return fits;
}

// "T-shirt/top" for class 0 of Fashion-MNIST, "3" for class 3 of an unnamed labelling.
std::vector<std::string> row_names(const cake::metrics::ContingencyTable& table, const std::vector<std::string>& class_names) {
  std::vector<std::string> names;
  for (std::int64_t label : table.row_labels)
    names.push_back(label >= 0 && label < static_cast<std::int64_t>(class_names.size())
                        ? class_names[static_cast<std::size_t>(label)]
                        : std::to_string(label));
  return names;
}

}  // namespace

void RunContext::log(const nlohmann::json& record) {
  std::ofstream out(path("log.jsonl"), std::ios::app);
  out << dump_json(record) << '\n';
  CAKE_CHECK(out.good(), "cannot append to ", data::quoted(path("log.jsonl")));
}

RunContext::LocalRows RunContext::local_rows(const distributed::ProcessGroup& group) const {
  const Tensor x = data.cpu();
  if (data_shard) return {x, *data_shard};
  const distributed::Shard shard = distributed::shard_rows(x.size(0), group.rank(), group.world_size());
  return {x.narrow(0, shard.begin, shard.size()), shard};
}

void RunContext::save_labels(const Tensor& predicted) {
  const std::int64_t n = n_rows();
  CAKE_CHECK(predicted.dim() == 1 && predicted.size(0) == n, algorithm, ": save_labels expects one label per sample, shape [",
             n, "], got ", predicted.sizes());
  CAKE_CHECK(!predicted.is_floating_point(), algorithm, ": save_labels expects integer labels, got ",
             dtype_name(predicted.dtype()));
  predicted_labels = predicted.detach().to(kCPU, kInt64).contiguous();
  data::write_npy(path("labels.npy"), predicted_labels);

  const LabelCounts counts = count_labels(predicted_labels);
  metrics["n_clusters"] = counts.clusters;
  if (counts.noise > 0) metrics["n_noise"] = counts.noise;
  if (labels.defined()) {
    metrics.update(clustering_scores(labels, predicted_labels));
    const cake::metrics::ContingencyTable table = cake::metrics::contingency_matrix(labels, predicted_labels);
    write_figure(*this, "confusion_matrix.png",
                 figures::confusion_plot(algorithm + ": classes vs clusters", table, row_names(table, class_names)));
  }
  // The figures that draw the samples themselves use the rows this process holds: all of them,
  // or under mpirun with a sharded read, rank 0's (the rank that writes the figures).
  const Tensor shown_labels =
      data_shard ? predicted_labels.narrow(0, data_shard->begin, data_shard->size()).contiguous() : predicted_labels;
  const std::int64_t shown = data.size(0);
  if (image_shape && image_figure_fits(*this, "cluster_samples.png")) {
    const Tensor images = data.detach().cpu().reshape({shown, (*image_shape)[0], (*image_shape)[1], (*image_shape)[2]});
    write_figure(*this, "cluster_samples.png",
                 figures::cluster_grid(algorithm + ": samples of each cluster", images, shown_labels));
  }
  if (data.size(1) == 2)
    write_figure(*this, "clusters.png",
                 figures::scatter_plot(algorithm + ": clusters", data, shown_labels,
                                       {.label_prefix = "cluster", .x_label = "feature 0", .y_label = "feature 1"}));
}

void RunContext::save_embedding(const Tensor& embedding, const std::string& name) {
  CAKE_CHECK(embedding.dim() == 2 && embedding.size(0) == n_rows(), algorithm,
             ": save_embedding expects one row per sample, shape [", n_rows(), ", D], got ", embedding.sizes());
  const Tensor e = embedding.detach().cpu().contiguous();
  data::write_npy(path(name + ".npy"), e);
  if (e.size(1) < 2) return;  // nothing to draw in the plane
  const bool projected = e.size(1) > 2;
  const Tensor points = projected ? figures::principal_components_2d(e) : e;
  const std::string title = algorithm + ": " + name + (projected ? " (first two principal components)" : "");
  figures::ScatterOptions options{.x_label = projected ? "principal component 1" : "dimension 1",
                                  .y_label = projected ? "principal component 2" : "dimension 2"};
  // Coloured by the true classes when known, else by the clusters found (if any).
  if (labels.defined()) {
    options.names = class_names;
    write_figure(*this, name + ".png", figures::scatter_plot(title, points, labels, options));
  } else {
    options.label_prefix = "cluster";
    write_figure(*this, name + ".png", figures::scatter_plot(title, points, predicted_labels, options));
  }
}

void RunContext::save_curve(const std::string& file, const std::string& title,
                            const std::vector<std::pair<std::string, std::vector<double>>>& series,
                            const std::string& x_label) {
  const std::string y_label = series.size() == 1 ? series.front().first : "value";
  write_figure(*this, file, figures::line_plot(title, x_label, y_label, series));
}

void RunContext::save_image_grid(const std::string& file, const Tensor& images, std::int64_t columns) {
  Tensor grid = images.detach().cpu();
  if (grid.dim() == 2) {
    CAKE_CHECK(image_shape && shape_numel(*image_shape) == grid.size(1), algorithm, ": save_image_grid got rows of ",
               grid.size(1), " values but the data are not images of that size");
    grid = grid.reshape({grid.size(0), (*image_shape)[0], (*image_shape)[1], (*image_shape)[2]});
  }
  const int scale = grid.size(-1) <= 32 ? 2 : 1;
  if (!image_figure_fits(*this, file)) return;
  write_figure(*this, file, image::image_grid(grid, columns, 2, scale));
}

}  // namespace cake::cli
