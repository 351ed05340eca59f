// component_images.h: rows of a components matrix (NMF parts, ICA filters, dictionary atoms)
// as an image grid, for the algorithms of tools/algorithms/ that learn one.
#pragma once

#include <algorithm>

#include "cake/tensor/creation.h"
#include "tools/registry.h"

namespace cake::cli {

// Saves the first rows of `components` [k, D] as images when the data are images: each row
// rescaled to [0, 1] on its own (min to 0, max to 1), so that signed filters show too.
inline void save_component_images(RunContext& ctx, const std::string& file, const Tensor& components) {
  if (!ctx.image_shape) return;
  Tensor rows = components.detach().cpu().to(kFloat64).contiguous().clone();
  const std::int64_t k = rows.size(0), d = rows.size(1);
  double* p = rows.data_ptr<double>();
  for (std::int64_t i = 0; i < k; ++i) {
    const auto [lo, hi] = std::minmax_element(p + i * d, p + (i + 1) * d);
    const double low = *lo, span = *hi - *lo;
    for (std::int64_t j = 0; j < d; ++j) p[i * d + j] = span > 0 ? (p[i * d + j] - low) / span : 0.0;
  }
  const std::int64_t shown = std::min<std::int64_t>(k, 64);
  ctx.save_image_grid(file, rows.narrow(0, 0, shown).to(kFloat32), std::min<std::int64_t>(shown, 8));
}

}  // namespace cake::cli
