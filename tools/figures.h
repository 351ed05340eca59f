// figures.h: the figures a run leaves in its output directory, drawn on image::Canvas.
//
//   image::Canvas curve = figures::line_plot("k-means objective", "iteration", "inertia",
//                                            {{"inertia", {310.2, 120.7, 95.1, 94.8}}});
//   image::write_png(dir / "objective.png", curve);
//
// line_plot       a loss or objective per step, one coloured line per series
// scatter_plot    2-D points coloured by label, with a legend (embeddings, 2-D data)
// confusion_plot  true classes against predicted clusters as a heat map with counts
// cluster_grid    a row of sample images per cluster (cluster exemplars)
// bar_plot        grouped bars: one group per category, one coloured bar per series (scores)
//
// All take plain tensors on any device (they copy to the CPU) and return a canvas; writing the
// PNG is the caller's business (RunContext does it, see tools/run_context.cpp).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "cake/algorithms/metrics/metrics.h"
#include "cake/data/image.h"
#include "cake/tensor/tensor.h"

namespace cake::cli::figures {

using Series = std::vector<std::pair<std::string, std::vector<double>>>;

// Each series plotted against its step 1, 2, ..., n. Non-finite values are skipped.
image::Canvas line_plot(const std::string& title, const std::string& x_label, const std::string& y_label,
                        const Series& series);

// points [N, 2]; labels [N] integer (-1 = noise) or undefined (one colour). The legend names
// label k as names[k] when given, else "<label_prefix> k".
struct ScatterOptions {
  std::vector<std::string> names = {};
  std::string label_prefix = "class";
  std::string x_label = "", y_label = "";
};
image::Canvas scatter_plot(const std::string& title, const Tensor& points, const Tensor& labels,
                           const ScatterOptions& options = {});

// The contingency table of true classes (rows, named by row_names) against predicted clusters
// (columns) as a heat map with counts. Columns are ordered by their majority class, so a
// clustering that matches the classes shows a diagonal; noise (-1) comes last, and beyond 40
// clusters the smallest are pooled into one "rest" column. Cells are coloured by the fraction
// of their row.
image::Canvas confusion_plot(const std::string& title, const metrics::ContingencyTable& table,
                             const std::vector<std::string>& row_names);

// images [N, C, H, W] in [0, 1]; predicted [N]. One row per cluster (the largest
// `max_clusters`), `per_cluster` members picked evenly through the cluster.
image::Canvas cluster_grid(const std::string& title, const Tensor& images, const Tensor& predicted,
                           std::int64_t per_cluster = 10, std::int64_t max_clusters = 30);

// One group of bars per category (e.g. the members of an ensemble), one coloured bar per series
// in each group (e.g. NMI, ACC), series[s].second[c] the height for category c; the value is
// written above each bar. Non-finite values draw no bar.
image::Canvas bar_plot(const std::string& title, const std::string& y_label, const std::vector<std::string>& categories,
                       const Series& series);

// The projection of the rows of x [N, D] on their first two principal components, [N, 2]
// float32, by power iteration on the centred data (for plotting embeddings with D > 2).
Tensor principal_components_2d(const Tensor& x);

// Ticks at 1, 2 or 5 times a power of ten covering [lo, hi], about `target` of them.
std::vector<double> nice_ticks(double lo, double hi, int target = 6);

}  // namespace cake::cli::figures
