// figures.cpp: line plots, scatter plots, confusion matrices and cluster grids (see figures.h).
//
// Every plot follows the same recipe: work out the data ranges, round them out to "nice" tick
// values, map data to pixels through a Frame, draw grid, data, axes, labels and legend, in
// that order so text stays on top.
#include "tools/figures.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <numeric>
#include <optional>

#include "cake/tensor/creation.h"

namespace cake::cli::figures {

using image::Canvas;
using image::Color;

namespace {

// ---- tensors to plain vectors ----------------------------------------------------------------

std::vector<double> to_doubles(const Tensor& t) {
  const Tensor c = t.detach().to(kCPU, kFloat64).contiguous();
  const double* p = c.data_ptr<double>();
  return {p, p + c.numel()};
}

std::vector<std::int64_t> to_labels(const Tensor& t, const char* what) {
  CAKE_CHECK(t.dim() == 1, what, ": expected labels of shape [N], got ", t.sizes());
  const Tensor c = t.detach().to(kCPU, kInt64).contiguous();
  const std::int64_t* p = c.data_ptr<std::int64_t>();
  return {p, p + c.numel()};
}

// ---- axes ------------------------------------------------------------------------------------

// A plot area in pixels and the data ranges it shows. Pixel rows grow downwards, data y upwards.
struct Frame {
  int left, top, width, height;
  double x0, x1, y0, y1;
  double px(double x) const { return left + (x - x0) / (x1 - x0) * (width - 1); }
  double py(double y) const { return top + (height - 1) - (y - y0) / (y1 - y0) * (height - 1); }
};

// The labels of one axis's ticks, all in one format: as many decimals as tell neighbouring
// ticks apart, in scientific notation when the numbers are very large or the steps tiny.
std::vector<std::string> tick_labels(const std::vector<double>& ticks) {
  const double step = ticks.size() > 1 ? ticks[1] - ticks[0] : 1.0;
  double biggest = 0;
  for (double t : ticks) biggest = std::max(biggest, std::abs(t));
  const int step_exponent = static_cast<int>(std::floor(std::log10(step) + 1e-9));
  std::vector<std::string> labels;
  char text[32];
  for (double t : ticks) {
    if (std::abs(t) < 1e-9 * step) t = 0.0;  // no "-0" or "1e-17" for the tick at zero
    if (biggest < 1e6 && step >= 1e-3) {
      std::snprintf(text, sizeof text, "%.*f", std::max(0, -step_exponent), t);
    } else {
      const int exponent = static_cast<int>(std::floor(std::log10(biggest)));
      std::snprintf(text, sizeof text, "%.*e", std::max(0, exponent - step_exponent), t);
    }
    labels.emplace_back(text);
  }
  return labels;
}

void draw_title(Canvas& canvas, const std::string& title) {
  const int scale = image::text_width(title, 2) + 20 <= canvas.width() ? 2 : 1;
  canvas.draw_text((canvas.width() - image::text_width(title, scale)) / 2, 10, title, image::kBlack, scale);
}

// Grid lines and tick labels at the given ticks, the frame, and the axis labels.
void draw_axes(Canvas& canvas, const Frame& f, const std::vector<double>& x_ticks, const std::vector<double>& y_ticks,
               const std::string& x_label, const std::string& y_label) {
  const std::vector<std::string> x_text = tick_labels(x_ticks), y_text = tick_labels(y_ticks);
  int widest_y_label = 0;
  for (std::size_t i = 0; i < x_ticks.size(); ++i) {
    const int px = static_cast<int>(std::lround(f.px(x_ticks[i])));
    canvas.fill_rect(px, f.top, 1, f.height, image::kLightGray);
    canvas.fill_rect(px, f.top + f.height, 1, 4, image::kBlack);
    const std::string& text = x_text[i];
    canvas.draw_text(px - image::text_width(text) / 2, f.top + f.height + 8, text, image::kBlack);
  }
  for (std::size_t i = 0; i < y_ticks.size(); ++i) {
    const int py = static_cast<int>(std::lround(f.py(y_ticks[i])));
    canvas.fill_rect(f.left, py, f.width, 1, image::kLightGray);
    canvas.fill_rect(f.left - 4, py, 4, 1, image::kBlack);
    const std::string& text = y_text[i];
    widest_y_label = std::max(widest_y_label, image::text_width(text));
    canvas.draw_text(f.left - 8 - image::text_width(text), py - image::kCapHeight / 2, text, image::kBlack);
  }
  canvas.draw_rect(f.left - 1, f.top - 1, f.width + 2, f.height + 2, image::kBlack);
  canvas.draw_text(f.left + (f.width - image::text_width(x_label)) / 2, f.top + f.height + 26, x_label, image::kBlack);
  canvas.draw_text_up(f.left - 8 - widest_y_label - 8 - image::text_height(), f.top + (f.height - image::text_width(y_label)) / 2,
                      y_label, image::kBlack);
}

// A boxed legend whose top-left corner is (x, y): a swatch (a dot, or a line segment) and a name
// per entry. Returns its width.
struct LegendEntry {
  std::string name;
  Color color;
};
int legend_width(const std::vector<LegendEntry>& entries) {
  int widest = 0;
  for (const auto& e : entries) widest = std::max(widest, image::text_width(e.name));
  return widest + 38;
}
void draw_legend(Canvas& canvas, int x, int y, const std::vector<LegendEntry>& entries, bool as_lines) {
  const int row = 14, width = legend_width(entries), height = static_cast<int>(entries.size()) * row + 8;
  canvas.fill_rect(x, y, width, height, image::kWhite);
  canvas.draw_rect(x, y, width, height, image::kGray);
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const int cy = y + 4 + static_cast<int>(i) * row + row / 2;
    if (as_lines) {
      canvas.draw_line(x + 6, cy, x + 24, cy, entries[i].color, 2);
    } else {
      canvas.fill_circle(x + 15, cy, 4, entries[i].color);
    }
    canvas.draw_text(x + 32, cy - image::kCapHeight / 2, entries[i].name, image::kBlack);
  }
}

}  // namespace

std::vector<double> nice_ticks(double lo, double hi, int target) {
  if (!(hi > lo)) {
    const double pad = lo != 0.0 ? 0.1 * std::abs(lo) : 1.0;
    lo -= pad;
    hi += pad;
  }
  // A step of 1, 2 or 5 times a power of ten near (hi - lo) / target.
  const double raw = (hi - lo) / std::max(target, 1);
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  const double residual = raw / magnitude;
  const double step = magnitude * (residual < 1.5 ? 1 : residual < 3 ? 2 : residual < 7 ? 5 : 10);
  std::vector<double> ticks;
  const double first = std::floor(lo / step + 1e-9), last = std::ceil(hi / step - 1e-9);
  for (double k = first; k <= last; ++k) ticks.push_back(k * step);  // k * step, not a running sum: no drift
  return ticks;
}

// ---- line plot -------------------------------------------------------------------------------

Canvas line_plot(const std::string& title, const std::string& x_label, const std::string& y_label, const Series& series) {
  std::size_t steps = 1;
  double lo = INFINITY, hi = -INFINITY;
  for (const auto& [name, values] : series) {
    steps = std::max(steps, values.size());
    for (double v : values) {
      if (!std::isfinite(v)) continue;
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
  }
  if (!std::isfinite(lo)) {  // nothing finite to show: an empty frame
    lo = 0;
    hi = 1;
  }

  // Steps are whole numbers: every one of them up to ten, else 1-2-5 ticks.
  std::vector<double> x_ticks;
  if (steps <= 10) {
    for (std::size_t i = 1; i <= std::max<std::size_t>(steps, 2); ++i) x_ticks.push_back(static_cast<double>(i));
  } else {
    x_ticks = nice_ticks(1, static_cast<double>(steps), 8);
  }
  const std::vector<double> y_ticks = nice_ticks(lo, hi, 6);

  Canvas canvas(720, 450);
  const int left = 90, top = 44, right = 24, bottom = 56;
  const Frame f{left, top, canvas.width() - left - right, canvas.height() - top - bottom,
                x_ticks.front(), x_ticks.back(), y_ticks.front(), y_ticks.back()};
  draw_title(canvas, title);
  draw_axes(canvas, f, x_ticks, y_ticks, x_label, y_label);

  std::vector<LegendEntry> legend;
  for (std::size_t s = 0; s < series.size(); ++s) {
    const Color color = image::palette(static_cast<std::int64_t>(s));
    const auto& values = series[s].second;
    legend.push_back({series[s].first, color});
    // Segments between consecutive finite points; dots too when there are few.
    for (std::size_t i = 0; i < values.size(); ++i) {
      if (!std::isfinite(values[i])) continue;
      const double x = f.px(static_cast<double>(i + 1)), y = f.py(values[i]);
      if (i + 1 < values.size() && std::isfinite(values[i + 1]))
        canvas.draw_line(x, y, f.px(static_cast<double>(i + 2)), f.py(values[i + 1]), color, 2);
      if (values.size() <= 60) canvas.fill_circle(x, y, 3, color);
    }
  }
  if (series.size() > 1) draw_legend(canvas, f.left + f.width - legend_width(legend) - 8, f.top + 8, legend, true);
  return canvas;
}

// ---- bar plot --------------------------------------------------------------------------------

Canvas bar_plot(const std::string& title, const std::string& y_label, const std::vector<std::string>& categories,
                const Series& series) {
  for (const auto& [name, values] : series)
    CAKE_CHECK(values.size() == categories.size(), "bar_plot: series '", name, "' has ", values.size(),
               " values for ", categories.size(), " categories");
  double hi = 0.0, lo = 0.0;  // bars start at 0
  for (const auto& [name, values] : series)
    for (double v : values)
      if (std::isfinite(v)) hi = std::max(hi, v), lo = std::min(lo, v);
  if (!(hi > lo)) hi = lo + 1.0;
  const int groups = std::max<int>(1, static_cast<int>(categories.size()));
  Canvas canvas(std::max(480, 120 + groups * (24 * static_cast<int>(series.size()) + 40)), 450);
  const int left = 90, top = 44, right = 24, bottom = 56;
  // Room above the tallest bar for its value label and the legend (top right), so that neither
  // covers a bar.
  const double plot_height = canvas.height() - top - bottom;
  const double reserved = 8 + 14 * static_cast<double>(series.size()) + 8 + image::kCapHeight + 8;
  const std::vector<double> y_ticks = nice_ticks(lo, hi * plot_height / (plot_height - reserved), 6);

  const Frame f{left, top, canvas.width() - left - right, canvas.height() - top - bottom,
                0.0, static_cast<double>(groups), y_ticks.front(), y_ticks.back()};
  draw_title(canvas, title);
  draw_axes(canvas, f, {}, y_ticks, "", y_label);

  const double group_width = static_cast<double>(f.width) / groups;
  const double bar = std::max(4.0, (group_width - 24.0) / std::max<std::size_t>(series.size(), 1));
  std::vector<LegendEntry> legend;
  for (std::size_t s = 0; s < series.size(); ++s) legend.push_back({series[s].first, image::palette(static_cast<std::int64_t>(s))});
  for (int c = 0; c < groups && c < static_cast<int>(categories.size()); ++c) {
    const double start = f.left + c * group_width + 12.0;
    for (std::size_t s = 0; s < series.size(); ++s) {
      const double v = series[s].second[static_cast<std::size_t>(c)];
      if (!std::isfinite(v)) continue;
      const int x = static_cast<int>(std::lround(start + static_cast<double>(s) * bar));
      const int y_top = static_cast<int>(std::lround(f.py(std::max(v, 0.0)))), y_zero = static_cast<int>(std::lround(f.py(std::min(v, 0.0))));
      canvas.fill_rect(x, y_top, std::max(1, static_cast<int>(bar) - 2), std::max(1, y_zero - y_top), legend[s].color);
      char text[32];
      std::snprintf(text, sizeof text, "%.3f", v);
      canvas.draw_text(x + (static_cast<int>(bar) - 2 - image::text_width(text)) / 2, y_top - image::kCapHeight - 4, text,
                       image::kBlack);
    }
    const std::string& name = categories[static_cast<std::size_t>(c)];
    canvas.draw_text(static_cast<int>(std::lround(f.left + (c + 0.5) * group_width)) - image::text_width(name) / 2,
                     f.top + f.height + 8, name, image::kBlack);
  }
  if (!series.empty()) draw_legend(canvas, f.left + f.width - legend_width(legend) - 8, f.top + 8, legend, false);
  return canvas;
}

// ---- scatter plot ----------------------------------------------------------------------------

Canvas scatter_plot(const std::string& title, const Tensor& points, const Tensor& labels, const ScatterOptions& options) {
  const std::vector<std::string>& names = options.names;
  CAKE_CHECK(points.dim() == 2 && points.size(1) == 2, "scatter_plot: expected points [N, 2], got ", points.sizes());
  const std::vector<double> xy = to_doubles(points);
  const std::size_t n = xy.size() / 2;
  std::vector<std::int64_t> label(n, 0);
  if (labels.defined()) {
    label = to_labels(labels, "scatter_plot");
    CAKE_CHECK(label.size() == n, "scatter_plot: ", n, " points but ", label.size(), " labels");
  }

  double x_lo = INFINITY, x_hi = -INFINITY, y_lo = INFINITY, y_hi = -INFINITY;
  for (std::size_t i = 0; i < n; ++i) {
    if (!std::isfinite(xy[2 * i]) || !std::isfinite(xy[2 * i + 1])) continue;
    x_lo = std::min(x_lo, xy[2 * i]);
    x_hi = std::max(x_hi, xy[2 * i]);
    y_lo = std::min(y_lo, xy[2 * i + 1]);
    y_hi = std::max(y_hi, xy[2 * i + 1]);
  }
  if (!std::isfinite(x_lo)) {  // nothing finite to show: an empty unit square
    x_lo = y_lo = 0;
    x_hi = y_hi = 1;
  }
  const std::vector<double> x_ticks = nice_ticks(x_lo, x_hi, 6), y_ticks = nice_ticks(y_lo, y_hi, 6);

  // The legend: one entry per distinct label (at most 24 named, then a count).
  std::vector<std::int64_t> distinct(label.begin(), label.end());
  std::sort(distinct.begin(), distinct.end());
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  std::vector<LegendEntry> legend;
  if (labels.defined()) {
    for (std::int64_t k : distinct) {
      if (legend.size() == 24) {
        // (built by appending: GCC 12 warns falsely about "+" + std::string, bug 105329)
        std::string more = "and ";
        more += std::to_string(distinct.size() - 24);
        more += " more";
        legend.push_back({more, image::kWhite});
        break;
      }
      std::string name = k < 0                                             ? "noise"
                         : k < static_cast<std::int64_t>(names.size()) ? names[static_cast<std::size_t>(k)]
                                                                           : options.label_prefix + " " + std::to_string(k);
      legend.push_back({name, image::palette(k)});
    }
  }

  const int legend_w = legend.empty() ? 0 : legend_width(legend) + 16;
  Canvas canvas(640 + legend_w, 600);
  const int left = 90, top = 44, bottom = 56;
  const Frame f{left, top, 640 - left - 24, canvas.height() - top - bottom,
                x_ticks.front(), x_ticks.back(), y_ticks.front(), y_ticks.back()};
  draw_title(canvas, title);
  draw_axes(canvas, f, x_ticks, y_ticks, options.x_label, options.y_label);

  // Smaller, more transparent dots as the cloud gets denser. Points are drawn in a scrambled
  // (but fixed) order so the last class in the file does not cover all others.
  const double radius = n <= 500 ? 3.0 : n <= 5000 ? 2.0 : 1.5;
  const double alpha = n <= 2000 ? 0.85 : 0.55;
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [](std::size_t a, std::size_t b) {
    return (a * 2654435761u) % 4294967296u < (b * 2654435761u) % 4294967296u;
  });
  for (std::size_t i : order) {
    if (!std::isfinite(xy[2 * i]) || !std::isfinite(xy[2 * i + 1])) continue;
    canvas.fill_circle(f.px(xy[2 * i]), f.py(xy[2 * i + 1]), radius, image::palette(label[i]), alpha);
  }
  canvas.draw_rect(f.left - 1, f.top - 1, f.width + 2, f.height + 2, image::kBlack);
  if (!legend.empty()) draw_legend(canvas, 640, f.top, legend, false);
  return canvas;
}

// ---- confusion matrix ------------------------------------------------------------------------

Canvas confusion_plot(const std::string& title, const metrics::ContingencyTable& table,
                      const std::vector<std::string>& row_names) {
  const std::vector<std::int64_t> n = to_labels(table.counts.flatten(), "confusion_plot");
  const std::int64_t rows = static_cast<std::int64_t>(table.row_labels.size());
  const std::size_t table_columns = table.col_labels.size();
  CAKE_CHECK(static_cast<std::int64_t>(row_names.size()) == rows, "confusion_plot: ", rows, " rows but ", row_names.size(), " names");

  // Columns: clusters by size; beyond 40 the smallest are pooled as "rest"; noise comes last.
  std::vector<std::int64_t> size(table_columns, 0);
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::size_t c = 0; c < table_columns; ++c) size[c] += n[static_cast<std::size_t>(r) * table_columns + c];
  std::vector<std::size_t> clusters;  // indices into the table's columns
  std::optional<std::size_t> noise;
  for (std::size_t c = 0; c < table_columns; ++c) {
    if (table.col_labels[c] < 0) {
      noise = c;
    } else {
      clusters.push_back(c);
    }
  }
  std::stable_sort(clusters.begin(), clusters.end(), [&](std::size_t a, std::size_t b) { return size[a] > size[b]; });
  constexpr std::size_t kMaxColumns = 40;
  const bool pooled = clusters.size() > kMaxColumns;
  std::vector<std::size_t> column_of(table_columns);  // table column -> plotted column
  if (pooled) clusters.resize(kMaxColumns - 1);
  const std::size_t rest_column = clusters.size(), noise_column = clusters.size() + (pooled ? 1 : 0);
  const std::size_t columns = noise_column + (noise ? 1 : 0);
  std::fill(column_of.begin(), column_of.end(), rest_column);
  for (std::size_t j = 0; j < clusters.size(); ++j) column_of[clusters[j]] = j;
  if (noise) column_of[*noise] = noise_column;

  std::vector<std::int64_t> counts(static_cast<std::size_t>(rows) * columns, 0), row_total(static_cast<std::size_t>(rows), 0);
  for (std::int64_t r = 0; r < rows; ++r) {
    for (std::size_t c = 0; c < table_columns; ++c) {
      const std::int64_t count = n[static_cast<std::size_t>(r) * table_columns + c];
      counts[static_cast<std::size_t>(r) * columns + column_of[c]] += count;
      row_total[static_cast<std::size_t>(r)] += count;
    }
  }
  // Order the cluster columns by their majority class (then size), so that a clustering that
  // matches the classes shows a diagonal; pooled and noise columns stay at the end.
  std::vector<std::size_t> order(clusters.size());
  std::iota(order.begin(), order.end(), 0);
  auto majority = [&](std::size_t j) {
    std::int64_t best = 0;
    for (std::int64_t r = 1; r < rows; ++r)
      if (counts[static_cast<std::size_t>(r) * columns + j] > counts[static_cast<std::size_t>(best) * columns + j]) best = r;
    return best;
  };
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return majority(a) < majority(b); });
  for (std::size_t j = clusters.size(); j < columns; ++j) order.push_back(j);
  auto column_name = [&](std::size_t j) -> std::string {
    if (j < clusters.size()) return std::to_string(table.col_labels[clusters[j]]);
    return noise && j == noise_column ? "noise" : "rest";
  };

  // Layout: class names on the left, cluster ids on top, one square cell per count.
  const int cell = std::clamp(520 / static_cast<int>(std::max<std::int64_t>(rows, static_cast<std::int64_t>(columns))), 10, 48);
  int name_w = 0, header_h = 0;
  for (const auto& name : row_names) name_w = std::max(name_w, image::text_width(name));
  bool rotate_headers = false;
  for (std::size_t j = 0; j < columns; ++j) rotate_headers |= image::text_width(column_name(j)) + 4 > cell;
  for (std::size_t j = 0; j < columns; ++j)
    header_h = std::max(header_h, rotate_headers ? image::text_width(column_name(j)) : image::text_height());
  const int grid_left = 40 + name_w + 8, grid_top = 44 + 14 + header_h + 6;
  const int grid_w = cell * static_cast<int>(columns), grid_h = cell * static_cast<int>(rows);
  const std::string footnote = "colour: fraction of the true class; numbers: counts";
  const int width = std::max({grid_left + grid_w + 20, image::text_width(title, 2) + 40,
                              grid_left + image::text_width(footnote) + 20});
  Canvas canvas(width, grid_top + grid_h + 40);
  draw_title(canvas, title);
  canvas.draw_text(grid_left + (grid_w - image::text_width("predicted cluster")) / 2, 36, "predicted cluster", image::kBlack);
  canvas.draw_text_up(12, grid_top + (grid_h - image::text_width("true class")) / 2, "true class", image::kBlack);

  for (std::size_t c = 0; c < columns; ++c) {
    const std::size_t j = order[c];
    const std::string name = column_name(j);
    const int x = grid_left + static_cast<int>(c) * cell;
    if (rotate_headers) {
      canvas.draw_text_up(x + (cell - image::text_height()) / 2, grid_top - 6 - image::text_width(name), name, image::kBlack);
    } else {
      canvas.draw_text(x + (cell - image::text_width(name)) / 2, grid_top - 6 - image::text_height(), name, image::kBlack);
    }
  }
  for (std::int64_t r = 0; r < rows; ++r) {
    const std::string& name = row_names[static_cast<std::size_t>(r)];
    const int y = grid_top + static_cast<int>(r) * cell;
    canvas.draw_text(grid_left - 8 - image::text_width(name), y + (cell - image::text_height()) / 2, name, image::kBlack);
    for (std::size_t c = 0; c < columns; ++c) {
      const std::int64_t count = counts[static_cast<std::size_t>(r) * columns + order[c]];
      const double fraction = row_total[static_cast<std::size_t>(r)] ? static_cast<double>(count) / row_total[static_cast<std::size_t>(r)] : 0.0;
      const int x = grid_left + static_cast<int>(c) * cell;
      canvas.fill_rect(x, y, cell, cell, image::sequential(fraction));
      const std::string text = std::to_string(count);
      // Numbers only in cells wide enough to keep neighbouring counts apart.
      if (count > 0 && cell >= 18 && image::text_width(text) + 4 <= cell)
        canvas.draw_text(x + (cell - image::text_width(text)) / 2, y + (cell - image::text_height()) / 2, text,
                         fraction > 0.5 ? image::kWhite : image::kBlack);
    }
  }
  canvas.draw_rect(grid_left - 1, grid_top - 1, grid_w + 2, grid_h + 2, image::kGray);
  canvas.draw_text(grid_left, grid_top + grid_h + 14, footnote, image::kGray);
  return canvas;
}

// ---- cluster exemplars -----------------------------------------------------------------------

Canvas cluster_grid(const std::string& title, const Tensor& images, const Tensor& predicted, std::int64_t per_cluster,
                    std::int64_t max_clusters) {
  CAKE_CHECK(images.dim() == 4, "cluster_grid: expected images [N, C, H, W], got ", images.sizes());
  const std::vector<std::int64_t> p = to_labels(predicted, "cluster_grid");
  CAKE_CHECK(static_cast<std::int64_t>(p.size()) == images.size(0), "cluster_grid: ", images.size(0), " images but ",
             p.size(), " labels");
  std::map<std::int64_t, std::vector<std::int64_t>> members;
  for (std::size_t i = 0; i < p.size(); ++i) members[p[i]].push_back(static_cast<std::int64_t>(i));
  // The largest clusters, shown in id order (noise, -1, first if it is among them).
  std::vector<std::int64_t> shown;
  for (const auto& [c, m] : members) shown.push_back(c);
  std::stable_sort(shown.begin(), shown.end(), [&](std::int64_t a, std::int64_t b) { return members[a].size() > members[b].size(); });
  if (static_cast<std::int64_t>(shown.size()) > max_clusters) shown.resize(static_cast<std::size_t>(max_clusters));
  std::sort(shown.begin(), shown.end());

  const std::int64_t h = images.size(2), w = images.size(3);
  CAKE_CHECK(per_cluster >= 1 && per_cluster <= 1000 && h <= data::image::kMaxCanvasSide && w <= data::image::kMaxCanvasSide,
             "cluster_grid: ", per_cluster, " images of ", h, " x ", w, " per row are too large for a figure");
  const int scale = h <= 32 && w <= 32 ? 2 : 1, padding = 2;
  const int row_h = static_cast<int>(h) * scale + padding;
  const int label_w = image::text_width("noise (n=00000)") + 12;
  const int grid_w = static_cast<int>(per_cluster) * (static_cast<int>(w) * scale + padding) + padding;
  Canvas canvas(std::max(label_w + grid_w + 10, image::text_width(title, 2) + 40),
                44 + static_cast<int>(shown.size()) * row_h + 10);
  draw_title(canvas, title);
  const Tensor cpu_images = images.detach().cpu();
  for (std::size_t r = 0; r < shown.size(); ++r) {
    const auto& m = members[shown[r]];
    // Members spread evenly through the cluster: the first, then every (size / k)-th.
    const std::int64_t k = std::min<std::int64_t>(per_cluster, static_cast<std::int64_t>(m.size()));
    std::vector<std::int64_t> picks;
    for (std::int64_t i = 0; i < k; ++i) picks.push_back(m[static_cast<std::size_t>(i * static_cast<std::int64_t>(m.size()) / k)]);
    Tensor chosen = empty({k, images.size(1), h, w}, cpu_images.dtype());
    for (std::int64_t i = 0; i < k; ++i) chosen[i].copy_(cpu_images[picks[static_cast<std::size_t>(i)]]);
    const int y = 44 + static_cast<int>(r) * row_h;
    const std::string name = (shown[r] < 0 ? std::string("noise") : std::to_string(shown[r])) + " (n=" + std::to_string(m.size()) + ")";
    canvas.draw_text(label_w - 8 - image::text_width(name), y + (row_h - image::text_height()) / 2, name, image::kBlack);
    canvas.draw_canvas(image::image_grid(chosen, per_cluster, padding, scale), label_w, y - padding);
  }
  return canvas;
}

// ---- PCA for plotting ------------------------------------------------------------------------

Tensor principal_components_2d(const Tensor& x) {
  CAKE_CHECK(x.dim() == 2 && x.size(1) >= 2, "principal_components_2d: expected [N, D] with D >= 2, got ", x.sizes());
  const std::int64_t n = x.size(0), d = x.size(1);
  std::vector<double> v = to_doubles(x);
  // Centre the columns.
  for (std::int64_t j = 0; j < d; ++j) {
    double mean = 0;
    for (std::int64_t i = 0; i < n; ++i) mean += v[static_cast<std::size_t>(i * d + j)];
    mean /= static_cast<double>(std::max<std::int64_t>(n, 1));
    for (std::int64_t i = 0; i < n; ++i) v[static_cast<std::size_t>(i * d + j)] -= mean;
  }
  // Power iteration w <- Xc^T Xc w (the covariance times w, without forming the D x D matrix),
  // the second direction kept orthogonal to the first (Gram-Schmidt deflation).
  std::vector<std::vector<double>> directions;
  for (int component = 0; component < 2; ++component) {
    std::vector<double> w(static_cast<std::size_t>(d));
    for (std::int64_t j = 0; j < d; ++j) w[static_cast<std::size_t>(j)] = 1.0 / static_cast<double>(1 + (j + component) % d);
    for (int iteration = 0; iteration < 300; ++iteration) {
      for (const auto& u : directions) {
        const double dot = std::inner_product(w.begin(), w.end(), u.begin(), 0.0);
        for (std::int64_t j = 0; j < d; ++j) w[static_cast<std::size_t>(j)] -= dot * u[static_cast<std::size_t>(j)];
      }
      const double norm = std::sqrt(std::inner_product(w.begin(), w.end(), w.begin(), 0.0));
      if (norm == 0.0) break;  // no variance left in the remaining directions
      for (double& wj : w) wj /= norm;
      std::vector<double> next(static_cast<std::size_t>(d), 0.0);
      for (std::int64_t i = 0; i < n; ++i) {
        const double* row = v.data() + i * d;
        const double s = std::inner_product(row, row + d, w.begin(), 0.0);
        for (std::int64_t j = 0; j < d; ++j) next[static_cast<std::size_t>(j)] += s * row[j];
      }
      double change = 0, next_norm = std::sqrt(std::inner_product(next.begin(), next.end(), next.begin(), 0.0));
      if (next_norm == 0.0) break;
      for (std::int64_t j = 0; j < d; ++j) change += std::abs(next[static_cast<std::size_t>(j)] / next_norm - w[static_cast<std::size_t>(j)]);
      w = next;
      if (change < 1e-9 * static_cast<double>(d)) break;
    }
    for (const auto& u : directions) {
      const double dot = std::inner_product(w.begin(), w.end(), u.begin(), 0.0);
      for (std::int64_t j = 0; j < d; ++j) w[static_cast<std::size_t>(j)] -= dot * u[static_cast<std::size_t>(j)];
    }
    const double norm = std::sqrt(std::inner_product(w.begin(), w.end(), w.begin(), 0.0));
    for (double& wj : w) wj = norm > 0 ? wj / norm : 0.0;
    directions.push_back(w);
  }
  Tensor out = empty({n, 2}, kFloat32);
  float* o = out.data_ptr<float>();
  for (std::int64_t i = 0; i < n; ++i)
    for (int c = 0; c < 2; ++c)
      o[i * 2 + c] = static_cast<float>(std::inner_product(v.data() + i * d, v.data() + (i + 1) * d,
                                                           directions[static_cast<std::size_t>(c)].begin(), 0.0));
  return out;
}

}  // namespace cake::cli::figures
