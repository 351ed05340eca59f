// Gradient-check rows for the 1-D layers of nn::functional (conv1d, conv_transpose1d, max_pool1d,
// avg_pool1d, adaptive_avg_pool1d). They run the 2-D ops on [N, C, 1, L] views, so these rows
// check that the views carry the gradients there and back. float64 finite differences.
#include "cake/nn/functional.h"
#include "gradcheck_table.h"

using namespace cake;
namespace F = cake::nn::functional;
using cake::testing::inputs;
using cake::testing::TensorList;

CAKE_GRADCHECK_CASES(conv1d) {
  return {
      {"conv1d stride padding dilation", [] { return inputs({{2, 3, 9}, {4, 3, 3}, {4}}); },
       [](const TensorList& x) { return F::conv1d(x[0], x[1], x[2], {.stride = 2, .padding = 2, .dilation = 2}); }},
      {"conv1d non-contiguous input, no bias", [] { return inputs({{2, 7, 3}, {2, 3, 2}}); },
       [](const TensorList& x) { return F::conv1d(x[0].transpose(1, 2), x[1], {}, {.padding = 1}); }},
      {"conv1d groups", [] { return inputs({{1, 4, 6}, {6, 2, 3}, {6}}); },
       [](const TensorList& x) { return F::conv1d(x[0], x[1], x[2], {.padding = 1, .groups = 2}); }},
      {"conv_transpose1d output_padding", [] { return inputs({{2, 3, 4}, {3, 2, 3}, {2}}); },
       [](const TensorList& x) {
         return F::conv_transpose1d(x[0], x[1], x[2], {.stride = 2, .padding = 1, .output_padding = 1});
       }},
      {"max_pool1d ceil_mode", [] { return inputs({{2, 3, 10}}); },
       [](const TensorList& x) { return F::max_pool1d(x[0], 3, 2, 1, /*ceil_mode=*/true); }},
      {"avg_pool1d count_include_pad false", [] { return inputs({{2, 2, 9}}); },
       [](const TensorList& x) { return F::avg_pool1d(x[0], 4, 3, 2, /*ceil_mode=*/true, false); }},
      {"adaptive_avg_pool1d 10 to 4", [] { return inputs({{2, 3, 10}}); },
       [](const TensorList& x) { return F::adaptive_avg_pool1d(x[0], 4); }},
  };
}
