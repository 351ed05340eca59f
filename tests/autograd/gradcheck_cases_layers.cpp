// Gradient-check rows for the vision layers of nn::functional: instance_norm, pixel_shuffle,
// pixel_unshuffle, unfold, fold, adaptive_max_pool2d / 1d, the padding_mode of Conv1d and
// Conv2d, unpooling, and the convolutions and pools on one unbatched sample. Each is a composition of differentiable ops (reshapes and permutes, index_select and
// index_add, max along a dim, F::pad), so these rows check that the compositions carry the
// gradient, and, through the table's gradgradcheck, its derivative too. float64 finite differences.
#include "cake/nn/nn.h"
#include "gradcheck_table.h"
#include "nn/pytorch_reference.h"

using namespace cake;
namespace F = cake::nn::functional;
using cake::testing::inputs;
using cake::testing::TensorList;

namespace {

// The geometry of the unfold and fold rows: every setting away from its default.
const F::UnfoldFuncOptions kBlocks = F::UnfoldFuncOptions({2, 3}).dilation({2, 1}).padding(1).stride(2);
const F::FoldFuncOptions kFoldBlocks = F::FoldFuncOptions({5, 6}, {2, 3}).dilation({2, 1}).padding(1).stride(2);

// A convolution layer with fixed weights (the same on every call, as finite differences need),
// on x's device and in its dtype, applied to x: the row checks the gradient with respect to the
// input through the padding.
template <class Layer, class Options>
Tensor through_layer(const Options& options, const Tensor& x) {
  Layer layer(options);
  cake::testing::set_params(*layer);
  layer->to(x.device(), x.dtype());
  return layer(x);
}

// A constant per-channel vector beside x, on its device and in its dtype.
Tensor channel_constant(std::initializer_list<double> values, const Tensor& x) {
  return tensor(values, {static_cast<std::int64_t>(values.size())}).to(x.dtype()).to(x.device());
}

}  // namespace

CAKE_GRADCHECK_CASES(layers) {
  return {
      {"instance_norm affine", [] { return inputs({{2, 3, 4, 5}, {3}, {3}}); },
       [](const TensorList& x) { return F::instance_norm(x[0], {}, {}, x[1], x[2]); }},
      {"instance_norm 1-D, no affine", [] { return inputs({{2, 3, 6}}); },
       [](const TensorList& x) { return F::instance_norm(x[0]); }},
      {"instance_norm running statistics", [] { return inputs({{2, 3, 4}, {3}, {3}}); },
       [](const TensorList& x) {
         const Tensor running_mean = channel_constant({0.5, -0.25, 0.0}, x[0]);
         const Tensor running_var = channel_constant({1.5, 0.5, 2.0}, x[0]);
         return F::instance_norm(x[0], running_mean, running_var, x[1], x[2], /*use_input_stats=*/false);
       }},
      {"pixel_shuffle 2", [] { return inputs({{2, 8, 2, 3}}); },
       [](const TensorList& x) { return F::pixel_shuffle(x[0], 2); }},
      {"pixel_unshuffle 3", [] { return inputs({{1, 2, 6, 3}}); },
       [](const TensorList& x) { return F::pixel_unshuffle(x[0], 3); }},
      {"unfold padding stride dilation", [] { return inputs({{1, 2, 5, 6}}); },
       [](const TensorList& x) { return F::unfold(x[0], kBlocks); }},
      {"fold padding stride dilation", [] { return inputs({{2, 12, 9}}); },
       [](const TensorList& x) { return F::fold(x[0], kFoldBlocks); }},
      {"fold overlapping blocks", [] { return inputs({{1, 8, 12}}); },
       [](const TensorList& x) { return F::fold(x[0], F::FoldFuncOptions({4, 5}, {2, 2})); }},
      {"adaptive_max_pool2d 7x9 to 3x4", [] { return inputs({{2, 2, 7, 9}}); },
       [](const TensorList& x) { return F::adaptive_max_pool2d(x[0], {3, 4}); }},
      {"adaptive_max_pool1d 10 to 4", [] { return inputs({{2, 3, 10}}); },
       [](const TensorList& x) { return F::adaptive_max_pool1d(x[0], 4); }},
      {"Conv2d padding_mode reflect", [] { return inputs({{1, 2, 4, 5}}); },
       [](const TensorList& x) {
         return through_layer<nn::Conv2d>(nn::Conv2dOptions(2, 3, 3).stride(2).padding(2).padding_mode(cake::kReflect),
                                          x[0]);
       }},
      {"Conv2d padding_mode circular", [] { return inputs({{1, 2, 4, 5}}); },
       [](const TensorList& x) {
         return through_layer<nn::Conv2d>(nn::Conv2dOptions(2, 3, 3).padding(1).padding_mode(cake::kCircular), x[0]);
       }},
      {"Conv1d padding_mode replicate", [] { return inputs({{2, 2, 6}}); },
       [](const TensorList& x) {
         const auto options = nn::Conv1dOptions(2, 2, 3).padding(2).dilation(2).padding_mode(cake::kReplicate);
         return through_layer<nn::Conv1d>(options, x[0]);
       }},
      // One unbatched sample ([C, H, W], [C, L]) runs as a batch of one through views.
      {"conv2d unbatched [C, H, W]", [] { return inputs({{3, 5, 4}, {2, 3, 3, 2}, {2}}); },
       [](const TensorList& x) { return F::conv2d(x[0], x[1], x[2], F::Conv2dFuncOptions().padding(1)); }},
      {"conv_transpose2d unbatched", [] { return inputs({{2, 3, 3}, {2, 3, 2, 2}, {3}}); },
       [](const TensorList& x) { return F::conv_transpose2d(x[0], x[1], x[2], F::ConvTranspose2dFuncOptions().stride(2)); }},
      {"max_pool2d and avg_pool2d unbatched", [] { return inputs({{2, 5, 6}}); },
       [](const TensorList& x) { return F::max_pool2d(x[0], 2) + F::avg_pool2d(x[0], 2); }},
      {"adaptive_avg_pool2d unbatched", [] { return inputs({{2, 5, 7}}); },
       [](const TensorList& x) { return F::adaptive_avg_pool2d(x[0], {2, 3}); }},
      {"Conv2d padding_mode reflect, unbatched", [] { return inputs({{2, 4, 5}}); },
       [](const TensorList& x) {
         return through_layer<nn::Conv2d>(nn::Conv2dOptions(2, 3, 3).padding(1).padding_mode(cake::kReflect), x[0]);
       }},
      {"conv1d unbatched [C, L]", [] { return inputs({{3, 8}, {2, 3, 3}, {2}}); },
       [](const TensorList& x) { return F::conv1d(x[0], x[1], x[2], {.stride = 2, .padding = 1}); }},
      {"conv_transpose1d unbatched", [] { return inputs({{2, 4}, {2, 3, 3}}); },
       [](const TensorList& x) { return F::conv_transpose1d(x[0], x[1], {}, {.stride = 2}); }},
      {"max_unpool2d at fixed indices", [] { return inputs({{1, 2, 2, 3}}); },
       [](const TensorList& x) {
         const Tensor at = tensor(std::vector<std::int64_t>{0, 3, 5, 12, 14, 17, 1, 2, 9, 7, 15, 16}, {1, 2, 2, 3});
         return F::max_unpool2d(x[0], at, F::MaxUnpool2dFuncOptions(2).output_size({4, 5}));
       }},
      // Windows that do not overlap: of two that chose one input, unpooling keeps one value, but
      // each copy gets the gradient read back there (scatter's adjoint, as PyTorch's).
      {"max_unpool2d of max_pool2d_with_indices, padding and ceil_mode", [] { return inputs({{1, 2, 5, 6}}); },
       [](const TensorList& x) {
         const auto [y, at] = F::max_pool2d_with_indices(x[0], F::MaxPool2dFuncOptions(2).padding(1).ceil_mode(true));
         return F::max_unpool2d(y, at, F::MaxUnpool2dFuncOptions(2).padding(1).output_size({5, 6}));
       }},
      {"max_unpool1d of max_pool1d_with_indices, unbatched", [] { return inputs({{2, 9}}); },
       [](const TensorList& x) {
         const auto [y, at] = F::max_pool1d_with_indices(x[0], F::MaxPool1dFuncOptions(2));
         return F::max_unpool1d(y, at, F::MaxUnpool1dFuncOptions(2).output_size({9}));
       }},
      {"the 1-D pools unbatched", [] { return inputs({{2, 9}}); },
       [](const TensorList& x) {
         return F::max_pool1d(x[0], 3) + F::avg_pool1d(x[0], 3) + F::adaptive_avg_pool1d(x[0], 3) +
                F::adaptive_max_pool1d(x[0], 3);
       }},
  };
}
