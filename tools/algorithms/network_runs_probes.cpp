// network_runs_probes.cpp: what the network runs measure with a classifier (network_runs.h):
// the linear probe on learned codes and the confusion matrix of a fine-tuned classifier.
#include <algorithm>

#include "tools/evaluation.h"
#include "tools/algorithms/network_runs.h"
#include "tools/figures.h"

namespace cake::cli::networks {

void linear_probe_metric(RunContext& ctx, const Tensor& train_codes, const Tensor& train_labels,
                         const Tensor& test_codes, const Tensor& test_labels) {
  if (!ctx.params.get_bool("probe") || !train_labels.defined() || !test_codes.defined() || !test_labels.defined()) return;
  ctx.metrics.update(linear_probe_scores(train_codes, train_labels, test_codes, test_labels));
}

void save_confusion_matrix(RunContext& ctx, const std::string& file, const std::string& title,
                           const Tensor& true_labels, const Tensor& predicted, std::int64_t num_classes) {
  const Tensor counts = metrics::confusion_matrix(true_labels, predicted, num_classes).contiguous();
  const std::int64_t* n = counts.data_ptr<std::int64_t>();
  auto name = [&](std::int64_t k) {
    return k < static_cast<std::int64_t>(ctx.class_names.size()) ? ctx.class_names[static_cast<std::size_t>(k)]
                                                                  : std::to_string(k);
  };
  const int cell = 44;
  int name_w = 0;
  for (std::int64_t k = 0; k < num_classes; ++k) name_w = std::max(name_w, image::text_width(name(k)));
  const int left = 40 + name_w + 8, top = 48 + name_w + 8, grid = cell * static_cast<int>(num_classes);
  image::Canvas canvas(std::max(left + grid + 20, image::text_width(title, 2) + 40), top + grid + 36);
  canvas.draw_text(20, 14, title, image::kBlack, 2);
  canvas.draw_text(left + (grid - image::text_width("predicted class")) / 2, 38, "predicted class", image::kBlack);
  canvas.draw_text_up(12, top + (grid - image::text_width("true class")) / 2, "true class", image::kBlack);
  for (std::int64_t r = 0; r < num_classes; ++r) {
    const int y = top + static_cast<int>(r) * cell;
    canvas.draw_text(left - 8 - image::text_width(name(r)), y + (cell - image::text_height()) / 2, name(r), image::kBlack);
    canvas.draw_text_up(left + static_cast<int>(r) * cell + (cell - image::text_height()) / 2,
                        top - 6 - image::text_width(name(r)), name(r), image::kBlack);
    std::int64_t row_total = 0;
    for (std::int64_t c = 0; c < num_classes; ++c) row_total += n[r * num_classes + c];
    for (std::int64_t c = 0; c < num_classes; ++c) {
      const std::int64_t count = n[r * num_classes + c];
      const double fraction = row_total > 0 ? static_cast<double>(count) / static_cast<double>(row_total) : 0.0;
      const int x = left + static_cast<int>(c) * cell;
      canvas.fill_rect(x, y, cell, cell, image::sequential(fraction));
      const std::string text = std::to_string(count);
      if (count > 0)
        canvas.draw_text(x + (cell - image::text_width(text)) / 2, y + (cell - image::text_height()) / 2, text,
                         fraction > 0.5 ? image::kWhite : image::kBlack);
    }
  }
  canvas.draw_rect(left - 1, top - 1, grid + 2, grid + 2, image::kGray);
  canvas.draw_text(left, top + grid + 14, "colour: fraction of the true class; numbers: counts", image::kGray);
  write_figure(ctx, file, canvas);
}

}  // namespace cake::cli::networks
