// Gradient-check rows for the spatial transformer (autograd/spatial.h: affine_grid, grid_sample)
// and multi-head attention (nn/attention.h). float64 finite differences against the analytic
// backward. Grid points are drawn away from pixel centres only by chance: bilinear sampling has
// a kink there, hit with probability ~1e-6 per point at the checker's step.
#include "cake/autograd/spatial.h"
#include "cake/nn/attention.h"
#include "gradcheck_table.h"

using namespace cake;
using cake::testing::inputs;
using cake::testing::TensorList;

namespace {
// A grid [N, H, W, 2] uniform in [-1.2, 1.2]: some points fall outside the image (zero padding).
Tensor random_grid(std::int64_t n, std::int64_t h, std::int64_t w) { return rand({n, h, w, 2}, kFloat64) * 2.4 - 1.2; }

// The eight projection tensors of a multi-head attention with embed_dim e, kdim, vdim.
TensorList attention_weights(std::int64_t e, std::int64_t kdim, std::int64_t vdim) {
  return inputs({{e, e}, {e}, {e, kdim}, {e}, {e, vdim}, {e}, {e, e}, {e}});
}
nn::functional::AttentionWeights as_weights(const TensorList& x, std::size_t first) {
  return {x[first], x[first + 1], x[first + 2], x[first + 3], x[first + 4], x[first + 5], x[first + 6], x[first + 7]};
}
TensorList concat(TensorList a, const TensorList& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}
}  // namespace

CAKE_GRADCHECK_CASES(spatial) {
  return {
      {"affine_grid", [] { return inputs({{2, 2, 3}}); },
       [](const TensorList& x) { return affine_grid(x[0], {2, 1, 3, 4}); }},
      {"affine_grid align_corners", [] { return inputs({{1, 2, 3}}); },
       [](const TensorList& x) { return affine_grid(x[0], {1, 3, 4, 2}, true); }},
      {"grid_sample", [] { return TensorList{randn({2, 2, 4, 5}, kFloat64), random_grid(2, 3, 3)}; },
       [](const TensorList& x) { return grid_sample(x[0], x[1]); }},
      {"grid_sample align_corners", [] { return TensorList{randn({1, 3, 5, 4}, kFloat64), random_grid(1, 4, 2)}; },
       [](const TensorList& x) { return grid_sample(x[0], x[1], true); }},
      {"grid_sample of affine_grid (spatial transformer)",
       [] { return TensorList{randn({2, 1, 5, 5}, kFloat64), randn({2, 2, 3}, kFloat64) * 0.5}; },
       [](const TensorList& x) { return grid_sample(x[0], affine_grid(x[1], {2, 1, 4, 6})); }},
      {"scaled_dot_product_attention", [] { return inputs({{2, 3, 4}, {2, 5, 4}, {2, 5, 3}, {2, 3, 5}}); },
       [](const TensorList& x) { return nn::functional::scaled_dot_product_attention(x[0], x[1], x[2], x[3]); }},
      {"multi_head_attention 2 heads",
       [] { return concat(inputs({{2, 3, 4}, {2, 5, 3}, {2, 5, 2}, {2, 5}}), attention_weights(4, 3, 2)); },
       [](const TensorList& x) {
         return nn::functional::multi_head_attention(x[0], x[1], x[2], 2, as_weights(x, 4), x[3]);
       }},
  };
}
