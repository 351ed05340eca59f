// Gradient-check rows for the neural-network ops (autograd/nn_ops.h): convolution, transposed
// convolution, pooling, batch norm (training and evaluation), layer norm, softmax. float64, so
// every row exercises Cake's fallback kernels (oneDNN has no float64).
#include "cake/nn/functional.h"
#include "gradcheck_table.h"

using namespace cake;
using cake::testing::inputs;
using cake::testing::TensorList;

namespace {
// A [N, C, H, W] input stored as [N, C, W, H] and transposed: a non-contiguous view.
Tensor transposed_input(const Shape& nchw) { return randn({nchw[0], nchw[1], nchw[3], nchw[2]}, kFloat64).transpose(2, 3); }
}  // namespace

CAKE_GRADCHECK_CASES(nn) {
  return {
      // padding (nn/functional.h): a copy through index_select or cat, so each input element's
      // gradient is the sum over the output positions that copy it
      {"pad constant, one side cropped", [] { return inputs({{2, 3, 4}}); },
       [](const TensorList& x) { return nn::functional::pad(x[0], {1, -1, 2, 0}, nn::functional::PadMode::Constant, 0.5); }},
      {"pad reflect", [] { return TensorList{transposed_input({1, 2, 4, 3})}; },
       [](const TensorList& x) { return nn::functional::pad(x[0], {2, 1, 1, 3}, nn::functional::PadMode::Reflect); }},
      {"pad replicate", [] { return inputs({{2, 3, 3}}); },
       [](const TensorList& x) { return nn::functional::pad(x[0], {3, 2}, nn::functional::PadMode::Replicate); }},
      {"pad circular", [] { return inputs({{1, 2, 3, 4}}); },
       [](const TensorList& x) { return nn::functional::pad(x[0], {4, 1, 0, 3}, nn::functional::PadMode::Circular); }},
      // local response normalisation: a window of channels, odd and even (the even one reaches
      // one channel further back), on [N, C, H, W] and [N, C, L]
      {"local_response_norm size 3", [] { return inputs({{2, 5, 2, 3}}); },
       [](const TensorList& x) { return nn::functional::local_response_norm(x[0], 3, 0.5, 0.75, 1.5); }},
      {"local_response_norm size 4, 3-D, non-contiguous", [] { return TensorList{randn({2, 4, 6}, kFloat64).transpose(1, 2)}; },
       [](const TensorList& x) { return nn::functional::local_response_norm(x[0], 4, 0.3, 0.6, 2.0); }},
      // convolution: input, weight, bias
      {"conv2d", [] { return inputs({{2, 3, 5, 5}, {4, 3, 3, 3}, {4}}); },
       [](const TensorList& x) { return conv2d(x[0], x[1], x[2]); }},
      {"conv2d in an autocast scope (float64 is never lowered)", [] { return inputs({{2, 3, 5, 5}, {4, 3, 3, 3}, {4}}); },
       [](const TensorList& x) {
         const autocast scope(x[0].device(), kBFloat16);
         return conv2d(x[0], x[1], x[2]);
       }},
      {"conv2d stride padding", [] { return inputs({{2, 2, 6, 5}, {3, 2, 3, 2}, {3}}); },
       [](const TensorList& x) { return conv2d(x[0], x[1], x[2], {.stride = {2, 1}, .padding = {1, 1}}); }},
      {"conv2d dilation groups", [] { return inputs({{1, 4, 7, 7}, {6, 2, 3, 3}}); },
       [](const TensorList& x) { return conv2d(x[0], x[1], {}, {.padding = {1, 2}, .dilation = {2, 2}, .groups = 2}); }},
      {"conv2d non-contiguous input", [] { return TensorList{transposed_input({2, 2, 4, 6}), randn({3, 2, 2, 2}, kFloat64)}; },
       [](const TensorList& x) { return conv2d(x[0], x[1], {}, {.stride = {2, 2}}); }},
      {"conv2d pointwise", [] { return inputs({{2, 3, 3, 4}, {2, 3, 1, 1}, {2}}); },
       [](const TensorList& x) { return conv2d(x[0], x[1], x[2]); }},
      // transposed convolution: input, weight [C_in, C_out / g, kH, kW], bias
      {"conv_transpose2d", [] { return inputs({{2, 3, 3, 3}, {3, 2, 3, 3}, {2}}); },
       [](const TensorList& x) { return conv_transpose2d(x[0], x[1], x[2], {.stride = {2, 2}}); }},
      {"conv_transpose2d padding output_padding", [] { return inputs({{1, 2, 4, 3}, {2, 3, 3, 3}, {3}}); },
       [](const TensorList& x) {
         return conv_transpose2d(x[0], x[1], x[2], {.stride = {2, 2}, .padding = {1, 1}, .output_padding = {1, 0}});
       }},
      {"conv_transpose2d groups dilation", [] { return inputs({{1, 4, 3, 3}, {4, 1, 2, 3}}); },
       [](const TensorList& x) {
         return conv_transpose2d(x[0], x[1], {}, {.stride = {1, 2}, .output_padding = {0, 1}, .dilation = {2, 1}, .groups = 2});
       }},
      {"conv_transpose2d non-contiguous input", [] { return TensorList{transposed_input({2, 2, 3, 4}), randn({2, 2, 3, 3}, kFloat64)}; },
       [](const TensorList& x) { return conv_transpose2d(x[0], x[1], {}, {.stride = {2, 2}, .padding = {1, 1}}); }},
      // pooling (random normal inputs: ties within a max window have probability zero)
      {"max_pool2d", [] { return inputs({{2, 2, 6, 6}}); },
       [](const TensorList& x) { return max_pool2d(x[0], {.kernel = {2, 2}}); }},
      {"max_pool2d overlapping padded ceil", [] { return inputs({{1, 2, 7, 6}}); },
       [](const TensorList& x) {
         return max_pool2d(x[0], {.kernel = {3, 3}, .stride = Pair{2, 2}, .padding = {1, 1}, .ceil_mode = true});
       }},
      {"max_pool2d non-contiguous", [] { return TensorList{transposed_input({1, 2, 4, 6})}; },
       [](const TensorList& x) { return max_pool2d(x[0], {.kernel = {2, 3}}); }},
      {"avg_pool2d", [] { return inputs({{2, 2, 6, 6}}); },
       [](const TensorList& x) { return avg_pool2d(x[0], {.kernel = {2, 2}}); }},
      {"avg_pool2d padded ceil include_pad", [] { return inputs({{1, 2, 7, 5}}); },
       [](const TensorList& x) {
         return avg_pool2d(x[0], {.kernel = {3, 2}, .stride = Pair{2, 2}, .padding = {1, 1}, .ceil_mode = true});
       }},
      {"avg_pool2d exclude_pad", [] { return inputs({{1, 2, 5, 5}}); },
       [](const TensorList& x) {
         return avg_pool2d(x[0], {.kernel = {3, 3}, .stride = Pair{1, 1}, .padding = {1, 1}, .count_include_pad = false});
       }},
      {"adaptive_avg_pool2d", [] { return inputs({{2, 2, 7, 5}}); },
       [](const TensorList& x) { return adaptive_avg_pool2d(x[0], {3, 2}); }},
      {"adaptive_avg_pool2d global", [] { return TensorList{transposed_input({2, 3, 4, 5})}; },
       [](const TensorList& x) { return adaptive_avg_pool2d(x[0], {1, 1}); }},
      // batch norm: training goes through the batch statistics; running stats are fresh each call
      {"batch_norm train 4-D", [] { return inputs({{3, 2, 3, 2}, {2}, {2}}); },
       [](const TensorList& x) {
         return batch_norm(x[0], x[1], x[2], zeros({2}, kFloat64), ones({2}, kFloat64), true);
       }},
      {"batch_norm train 2-D no affine", [] { return inputs({{5, 3}}); },
       [](const TensorList& x) { return batch_norm(x[0], {}, {}, {}, {}, true); }},
      {"batch_norm train non-contiguous", [] { return TensorList{transposed_input({2, 3, 3, 2}), randn({3}, kFloat64)}; },
       [](const TensorList& x) { return batch_norm(x[0], x[1], {}, {}, {}, true, 0.1, 1e-3); }},
      {"batch_norm eval", [] { return inputs({{3, 2, 2, 2}, {2}, {2}}); },
       [](const TensorList& x) {
         return batch_norm(x[0], x[1], x[2], tensor({0.5, -0.2}, {2}, kFloat64), tensor({1.5, 0.7}, {2}, kFloat64), false);
       }},
      // layer norm over the trailing dims
      {"layer_norm", [] { return inputs({{3, 4, 5}, {4, 5}, {4, 5}}); },
       [](const TensorList& x) { return layer_norm(x[0], {4, 5}, x[1], x[2]); }},
      {"layer_norm no affine non-contiguous", [] { return inputs({{4, 3}}); },
       [](const TensorList& x) { return layer_norm(x[0].t(), {4}); }},
      // group norm (nn/functional.h): affine, without affine, and a 3-D input
      {"group_norm", [] { return inputs({{2, 6, 2, 3}, {6}, {6}}); },
       [](const TensorList& x) { return nn::functional::group_norm(x[0], 3, x[1], x[2]); }},
      {"group_norm no affine [N, C, L]", [] { return inputs({{3, 4, 5}}); },
       [](const TensorList& x) { return nn::functional::group_norm(x[0], 2); }},
      // interpolate (nn/functional.h): nearest and bilinear, by size and by scale
      {"interpolate nearest scale 2", [] { return inputs({{1, 2, 3, 4}}); },
       [](const TensorList& x) {
         return nn::functional::interpolate(x[0], nn::functional::InterpolateFuncOptions().scale_factor(2.0));
       }},
      {"interpolate nearest size", [] { return inputs({{2, 1, 4, 3}}); },
       [](const TensorList& x) {
         return nn::functional::interpolate(x[0], nn::functional::InterpolateFuncOptions().size(Pair{3, 5}));
       }},
      {"interpolate bilinear scale 2", [] { return inputs({{1, 2, 3, 4}}); },
       [](const TensorList& x) {
         return nn::functional::interpolate(x[0],
                                            nn::functional::InterpolateFuncOptions().scale_factor(2.0).mode(kBilinear));
       }},
      {"interpolate bilinear size align_corners", [] { return inputs({{1, 1, 3, 4}}); },
       [](const TensorList& x) {
         return nn::functional::interpolate(
             x[0], nn::functional::InterpolateFuncOptions().size(Pair{5, 2}).mode(kBilinear).align_corners(true));
       }},
      // softmax along any dim
      {"softmax last", [] { return inputs({{3, 5}}); }, [](const TensorList& x) { return softmax(x[0], -1); }},
      {"softmax dim 0", [] { return inputs({{4, 3, 2}}); }, [](const TensorList& x) { return softmax(x[0], 0); }},
      {"softmax non-contiguous", [] { return inputs({{3, 4}}); }, [](const TensorList& x) { return softmax(x[0].t(), 1); }},
      {"log_softmax last", [] { return inputs({{3, 5}}); }, [](const TensorList& x) { return log_softmax(x[0], 1); }},
      {"log_softmax middle", [] { return inputs({{2, 4, 3}}); }, [](const TensorList& x) { return log_softmax(x[0], 1); }},
  };
}
