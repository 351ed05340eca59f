// functional.h: nn::functional, the stateless layer functions and losses (torch.nn.functional).
//
//   namespace F = cake::nn::functional;
//   auto h = F::relu(F::conv2d(x, w, b, {.stride = 2, .padding = 1}));
//   auto p = F::max_pool2d(h, 2);                               // kernel 2, stride 2
//   auto loss = F::cross_entropy(F::linear(p.flatten(1), w2, b2), labels);   // labels: int64
//   auto kl = F::gaussian_kl(mu, logvar, F::Reduction::Sum);
//   auto up = F::pixel_shuffle(h, 2);                           // [8, 16, 14, 14] -> [8, 4, 28, 28]
//   auto patches = F::unfold(x, F::UnfoldFuncOptions({7, 7}).stride(7));   // [8, 49, 16]: 7 x 7 patches as columns
//   auto image = F::fold(patches, F::FoldFuncOptions({28, 28}, {7, 7}).stride(7));   // back: no overlaps
//
// The layers (nn/linear.h, conv.h, pooling.h, normalization.h, activation.h, rearrange.h) hold parameters and call these. Every function here is differentiable
// because it is built from the differentiable ops of autograd/ (ops.h, nn_ops.h); each loss
// states its formula, and the ones with a numerically stable rewrite say why.
//
// Losses take the reduction third: Reduction::Mean (the default) averages over all elements,
// Sum adds them, None returns the per-element (or per-sample) losses, and BatchMean divides the
// sum by the batch size (size of dim 0), which is what makes kl_div a true KL per sample.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <tuple>

#include "cake/autograd/nn_ops.h"
#include "cake/nn/options.h"
#include "cake/tensor/tensor.h"

namespace cake::nn {

enum class Reduction { None, Mean, Sum, BatchMean };

namespace functional {

using nn::Reduction;

// ---- activations -----------------------------------------------------------------------------
Tensor relu(const Tensor& x);
Tensor leaky_relu(const Tensor& x, double negative_slope = 0.01);
Tensor elu(const Tensor& x, double alpha = 1.0);
Tensor gelu(const Tensor& x);  // exact erf form
Tensor sigmoid(const Tensor& x);
Tensor tanh(const Tensor& x);
// softplus(x) = log(1 + e^{beta x}) / beta, computed as max(.., 0) + log1p(e^-|..|) so it never
// overflows, and x itself where beta x > threshold (PyTorch's cut-off: there the two differ by
// less than e^-threshold / beta).
Tensor softplus(const Tensor& x, double beta = 1.0, double threshold = 20.0);
Tensor silu(const Tensor& x);  // x sigmoid(x)
Tensor logsigmoid(const Tensor& x);  // log sigmoid(x) = -softplus(-x)
// PReLU (He et al. 2015, "Delving Deep into Rectifiers", eq. 1): max(0, x) + a min(0, x), with
// a learned slope a per channel (weight [C] along dim 1 of x [N, C, ...]) or one for all (weight [1]).
Tensor prelu(const Tensor& x, const Tensor& weight);
// Mish (Misra 2019, eq. 1): x tanh(softplus(x)).
Tensor mish(const Tensor& x);
// hardtanh(x) = clamp(x, min_val, max_val); relu6(x) = hardtanh(x, 0, 6) (Krizhevsky 2010; the
// bounded range suits low-precision arithmetic, which is why MobileNet uses it).
Tensor hardtanh(const Tensor& x, double min_val = -1.0, double max_val = 1.0);
Tensor relu6(const Tensor& x);
// softsign(x) = x / (1 + |x|) (Turian et al. 2009): tanh's shape with polynomial tails.
Tensor softsign(const Tensor& x);
// SELU (Klambauer et al. 2017, "Self-Normalizing Neural Networks", eq. 2): scale elu(x, alpha)
// with the two constants of its section 3 that keep zero-mean, unit-variance activations so.
Tensor selu(const Tensor& x);
// CELU (Barron 2017, "Continuously Differentiable Exponential Linear Units", eq. 1):
// max(0, x) + min(0, alpha (e^{x / alpha} - 1)) = alpha elu(x / alpha): C1 for every alpha.
Tensor celu(const Tensor& x, double alpha = 1.0);
// hardsigmoid(x) = relu6(x + 3) / 6 and hardswish(x) = x hardsigmoid(x) (Howard et al. 2019,
// "Searching for MobileNetV3", section 5.2): piecewise-linear stand-ins for sigmoid and swish.
Tensor hardsigmoid(const Tensor& x);
Tensor hardswish(const Tensor& x);
// Randomized leaky ReLU (Xu et al. 2015, "Empirical Evaluation of Rectified Activations in
// Convolutional Network", section 2.4): in training each negative element is scaled by its own
// slope drawn from U(lower, upper); in evaluation by the mean slope (lower + upper) / 2.
Tensor rrelu(const Tensor& x, double lower = 1.0 / 8.0, double upper = 1.0 / 3.0, bool training = false);
// softmin(x) = softmax(-x) along dim: the smallest entries get the most weight.
Tensor softmin(const Tensor& x, std::int64_t dim);
// GLU (Dauphin et al. 2017, "Language Modeling with Gated Convolutional Networks", eq. 1): x cut
// into halves a, b along dim (of even size), a sigmoid(b): b gates a.
Tensor glu(const Tensor& x, std::int64_t dim = -1);
// x where x > threshold, else value.
Tensor threshold(const Tensor& x, double threshold, double value);
// Shrinkage: tanhshrink(x) = x - tanh(x); softshrink(x) = x - clamp(x, -lambd, lambd), the
// soft-thresholding operator (the proximal step of an L1 penalty, as in ISTA for sparse coding);
// hardshrink(x) = x where |x| > lambd, else 0.
Tensor tanhshrink(const Tensor& x);
Tensor softshrink(const Tensor& x, double lambd = 0.5);
Tensor hardshrink(const Tensor& x, double lambd = 0.5);
Tensor softmax(const Tensor& x, std::int64_t dim);
Tensor log_softmax(const Tensor& x, std::int64_t dim);

// ---- layers ----------------------------------------------------------------------------------
// y = x W^T + b; x [..., in], weight [out, in], bias [out] or undefined.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = {});
// y_o = x1^T W_o x2 + b_o; x1 [..., in1], x2 [..., in2] (the same leading dims), weight
// [out, in1, in2], bias [out] or undefined.
Tensor bilinear(const Tensor& x1, const Tensor& x2, const Tensor& weight, const Tensor& bias = {});

// Square (same in both spatial dimensions) convolution settings; cake::conv2d takes a
// cake::Conv2dParams for rectangular ones. Each setting is one number, so the 1-D functions
// share the structs (Conv1dFuncOptions is ConvFuncOptions, as is Conv2dFuncOptions).
// Both take {.stride = 2} and libtorch's Conv2dFuncOptions().stride(2) (see nn/options.h).
struct ConvFuncOptions {
  using Self = ConvFuncOptions;
  CAKE_ARG(std::int64_t, stride) = 1;
  CAKE_ARG(std::int64_t, padding) = 0;
  CAKE_ARG(std::int64_t, dilation) = 1;
  CAKE_ARG(std::int64_t, groups) = 1;
};
struct ConvTransposeFuncOptions {
  using Self = ConvTransposeFuncOptions;
  CAKE_ARG(std::int64_t, stride) = 1;
  CAKE_ARG(std::int64_t, padding) = 0;
  CAKE_ARG(std::int64_t, output_padding) = 0;
  CAKE_ARG(std::int64_t, dilation) = 1;
  CAKE_ARG(std::int64_t, groups) = 1;
};
using Conv1dFuncOptions = ConvFuncOptions;
using Conv2dFuncOptions = ConvFuncOptions;
using ConvTranspose1dFuncOptions = ConvTransposeFuncOptions;
using ConvTranspose2dFuncOptions = ConvTransposeFuncOptions;
Conv2dParams to_params(const Conv2dFuncOptions& options);
ConvTranspose2dParams to_params(const ConvTranspose2dFuncOptions& options);
// The convolutions and pools take x [N, C, H, W] or one unbatched image [C, H, W], as PyTorch's.
// x [N, C_in, H, W], weight [C_out, C_in / groups, k, k].
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias = {}, const Conv2dFuncOptions& options = {});
// x [N, C_in, H, W], weight [C_in, C_out / groups, k, k]; output size
// (H - 1) stride - 2 padding + dilation (k - 1) + output_padding + 1.
Tensor conv_transpose2d(const Tensor& x, const Tensor& weight, const Tensor& bias = {},
                        const ConvTranspose2dFuncOptions& options = {});
// Square pooling windows; the stride defaults to the kernel size (non-overlapping windows).
Tensor max_pool2d(const Tensor& x, std::int64_t kernel_size, std::optional<std::int64_t> stride = std::nullopt,
                  std::int64_t padding = 0, bool ceil_mode = false);
Tensor avg_pool2d(const Tensor& x, std::int64_t kernel_size, std::optional<std::int64_t> stride = std::nullopt,
                  std::int64_t padding = 0, bool ceil_mode = false, bool count_include_pad = true);
Tensor adaptive_avg_pool2d(const Tensor& x, Pair output_size);

// The 1-D layers, on sequences x [N, C, L] or one unbatched [C, L] (as the 2-D layers above take
// [N, C, H, W] or [C, H, W]: a batch of one). Each runs its 2-D counterpart above on x viewed as
// [N, C, 1, L] with a 1 x k window: the same kernels (oneDNN on the CPU, cuDNN on CUDA) and the
// same gradients.
// x [N, C_in, L], weight [C_out, C_in / groups, k]; output length
// (L + 2 padding - dilation (k - 1) - 1) / stride + 1.
Tensor conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias = {}, const Conv1dFuncOptions& options = {});
// x [N, C_in, L], weight [C_in, C_out / groups, k]; output length
// (L - 1) stride - 2 padding + dilation (k - 1) + output_padding + 1.
Tensor conv_transpose1d(const Tensor& x, const Tensor& weight, const Tensor& bias = {},
                        const ConvTranspose1dFuncOptions& options = {});
Tensor max_pool1d(const Tensor& x, std::int64_t kernel_size, std::optional<std::int64_t> stride = std::nullopt,
                  std::int64_t padding = 0, bool ceil_mode = false);
Tensor avg_pool1d(const Tensor& x, std::int64_t kernel_size, std::optional<std::int64_t> stride = std::nullopt,
                  std::int64_t padding = 0, bool ceil_mode = false, bool count_include_pad = true);
// Power-average pooling: (sum of x^p over each window)^(1/p), as PyTorch's lp_pool (an average
// pool of x^p times the window's size, then the root); p = 1 sums, large p nears max pooling.
// Square windows without padding; the stride defaults to the kernel size.
Tensor lp_pool2d(const Tensor& x, double norm_type, std::int64_t kernel_size,
                 std::optional<std::int64_t> stride = std::nullopt, bool ceil_mode = false);
Tensor lp_pool1d(const Tensor& x, double norm_type, std::int64_t kernel_size,
                 std::optional<std::int64_t> stride = std::nullopt, bool ceil_mode = false);
// Output position i averages input positions [floor(i L / out), ceil((i + 1) L / out)).
Tensor adaptive_avg_pool1d(const Tensor& x, std::int64_t output_size);
// Adaptive max pooling, PyTorch's windows: output cell i of an axis of size `in` takes the
// maximum over [floor(i in / out), ceil((i + 1) in / out)), so the windows tile the axis (and
// overlap where out does not divide in). x [N, C, H, W] or [C, H, W]; [N, C, L] for the 1-D form.
// A rectangle's maximum is the maximum over its rows of each row's maximum, so the 2-D pool is
// the 1-D pool along W and then along H. The gradient goes to the first maximal input of each
// window in row-major order, as PyTorch's.
Tensor adaptive_max_pool2d(const Tensor& x, Pair output_size);
Tensor adaptive_max_pool1d(const Tensor& x, std::int64_t output_size);
// PyTorch's argument order: the running statistics come before the affine parameters.
Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight = {},
                  const Tensor& bias = {}, bool training = false, double momentum = 0.1, double eps = 1e-5);
Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight = {}, const Tensor& bias = {},
                  double eps = 1e-5);
// Group normalisation (Wu & He 2018, "Group Normalization", eq. 1-3): x [N, C, *] with C
// divisible by num_groups; each sample's groups of C / num_groups channels are normalised by
// their own mean and biased variance, then y = x_hat weight[c] + bias[c] (weight, bias [C]).
// Written with differentiable tensor ops, so its gradient is theirs.
Tensor group_norm(const Tensor& x, std::int64_t num_groups, const Tensor& weight = {}, const Tensor& bias = {},
                  double eps = 1e-5);
// Local response normalisation (Krizhevsky, Sutskever & Hinton 2012, "ImageNet Classification
// with Deep Convolutional Neural Networks", section 3.3) in PyTorch's form: over the channels of
// x [N, C, *],
//   y_c = x_c / (k + alpha / size * sum_{c' = c - size/2}^{c + (size - 1)/2} x_c'^2)^beta
// where channels outside [0, C) count as zero (so alpha is divided by size at the edges too).
// The paper's n = 5, alpha = 1e-4, beta = 0.75, k = 2 is local_response_norm(x, 5, 1e-4, 0.75, 2).
Tensor local_response_norm(const Tensor& x, std::int64_t size, double alpha = 1e-4, double beta = 0.75,
                           double k = 1.0);
// Instance normalisation (Ulyanov, Vedaldi & Lempitsky 2016, "Instance Normalization: The
// Missing Ingredient for Fast Stylization", eq. 2): each sample's each channel of x [N, C, *] is
// normalised by its own mean and biased variance over the spatial positions (group_norm with one
// channel per group), then y = x_hat weight[c] + bias[c]. With use_input_stats false it uses the
// running statistics instead (PyTorch's evaluation mode with track_running_stats); with it true
// and running_mean / running_var given, these are updated as batch norm's from the per-instance
// statistics averaged over the batch: running = (1 - momentum) running + momentum stat, with the
// unbiased variance. PyTorch's argument order.
Tensor instance_norm(const Tensor& x, const Tensor& running_mean = {}, const Tensor& running_var = {},
                     const Tensor& weight = {}, const Tensor& bias = {}, bool use_input_stats = true,
                     double momentum = 0.1, double eps = 1e-5);

// Resizing [N, C, H, W] images: nearest neighbour or bilinear, to `size` ({H, W}) or by
// `scale_factor` (both dims), as torch.nn.functional.interpolate:
//   F::interpolate(x, F::InterpolateFuncOptions().scale_factor(2).mode(cake::kBilinear))
//   F::interpolate(x, {.size = cake::Pair{7, 7}})                      // nearest, the default
// Nearest takes source index floor(dst * in / out) (PyTorch's "nearest"); bilinear with
// align_corners = false samples at (dst + 0.5) in / out - 0.5 (pixel centres), with true at
// dst (in - 1) / (out - 1) (corner pixels aligned). Differs from libtorch in one respect:
// size and scale_factor are one Pair / one number, not std::vector.
enum class InterpolateMode { Nearest, Bilinear };
struct InterpolateFuncOptions {
  using Self = InterpolateFuncOptions;
  CAKE_ARG(Pair, size) = Pair{0, 0};        // {0, 0}: unset, use scale_factor
  CAKE_ARG(double, scale_factor) = 0.0;     // 0: unset, use size
  CAKE_ARG(InterpolateMode, mode) = InterpolateMode::Nearest;
  CAKE_ARG(bool, align_corners) = false;    // bilinear only
};
Tensor interpolate(const Tensor& x, const InterpolateFuncOptions& options);
// Padding as torch.nn.functional.pad: `pad` holds (before, after) counts for the last dims, the
// last dim first: {1, 1} pads the last dim by one on each side, {1, 1, 2, 0} also the dim before
// it by two in front. Constant fills with `value` (a negative count crops); Reflect mirrors
// without repeating the edge (counts < the dim's size), Replicate repeats the edge, Circular
// wraps around (counts <= the size). Differentiable in x.
enum class PadMode { Constant, Reflect, Replicate, Circular };
Tensor pad(const Tensor& x, const Shape& pad, PadMode mode = PadMode::Constant, double value = 0.0);
const char* pad_mode_name(PadMode mode);  // "constant", "reflect", "replicate", "circular"
// ---- moving pixels between space and channels ----------------------------------------------
// Sub-pixel rearrangement (Shi et al. 2016, "Real-Time Single Image and Video Super-Resolution
// Using an Efficient Sub-Pixel Convolutional Neural Network", eq. 4, the periodic shuffle PS):
// pixel_shuffle takes x [*, C r^2, H, W] to [*, C, H r, W r], output pixel (c, h r + i, w r + j)
// being input (c r^2 + i r + j, h, w); pixel_unshuffle is its inverse. A reshape, a permute and
// a reshape: no arithmetic, so the gradient is the inverse rearrangement.
Tensor pixel_shuffle(const Tensor& x, std::int64_t upscale_factor);
Tensor pixel_unshuffle(const Tensor& x, std::int64_t downscale_factor);
// [N, C, *] with C = g k: the channels seen as [g, k] are transposed to [k, g], so that each group
// of a grouped convolution next sees channels of every group (ShuffleNet, Zhang et al. 2018).
Tensor channel_shuffle(const Tensor& x, std::int64_t groups);
// Sliding blocks as columns (im2col) and back (col2im), libtorch's F::unfold and F::fold. For
// x [N, C, H, W] (or [C, H, W]) unfold returns [N, C kh kw, L]: column l holds the kh x kw block
// at the l-th of the L = out_h out_w block positions (row-major), the rows ordered (c, i, j) for
// kernel offset (i, j), with out = (size + 2 padding - dilation (k - 1) - 1) / stride + 1 per dim
// and zeros read outside the image. fold is unfold's adjoint: it adds every column entry back at
// the pixel it came from (overlaps summed) into an image of output_size, so
// <unfold(x), y> = <x, fold(y)>, and fold(unfold(x)) is x times the number of blocks covering
// each pixel. UnfoldFuncOptions({2, 3}).padding(1).stride(2): a setter's single number sets both dims.
struct UnfoldFuncOptions {
  using Self = UnfoldFuncOptions;
  CAKE_ARG(Pair, kernel_size) = Pair{1, 1};
  CAKE_ARG(Pair, dilation) = Pair{1, 1};
  CAKE_ARG(Pair, padding) = Pair{0, 0};
  CAKE_ARG(Pair, stride) = Pair{1, 1};
};
// FoldFuncOptions({H, W}, {kh, kw}).stride(2): output_size is the image's {H, W}.
struct FoldFuncOptions {
  using Self = FoldFuncOptions;
  CAKE_ARG(Pair, output_size) = Pair{1, 1};
  CAKE_ARG(Pair, kernel_size) = Pair{1, 1};
  CAKE_ARG(Pair, dilation) = Pair{1, 1};
  CAKE_ARG(Pair, padding) = Pair{0, 0};
  CAKE_ARG(Pair, stride) = Pair{1, 1};
};
Tensor unfold(const Tensor& x, const UnfoldFuncOptions& options);
// columns [N, C kh kw, L] (or [C kh kw, L]) -> [N, C, H, W] (or [C, H, W]).
Tensor fold(const Tensor& columns, const FoldFuncOptions& options);

// Inverted dropout (Srivastava et al. 2014): in training, zeroes each element with probability
// p and scales the survivors by 1 / (1 - p), so the expected output equals the input and
// evaluation needs no rescaling. Identity when not training.
Tensor dropout(const Tensor& x, double p = 0.5, bool training = true);
// Channel dropout (SpatialDropout: Tompson et al. 2015, "Efficient Object Localization Using
// Convolutional Networks"): zeroes whole feature maps of x [N, C, H, W] (or unbatched [C, H, W],
// as libtorch reads a 3-D input) with probability p and scales the kept ones by 1 / (1 - p).
// Neighbouring pixels are strongly correlated, so dropping single pixels barely regularises.
Tensor dropout2d(const Tensor& x, double p = 0.5, bool training = true);
// The same for sequences: whole channels of x [N, C, L] (or unbatched [C, L]).
Tensor dropout1d(const Tensor& x, double p = 0.5, bool training = true);
// A draw from the Gumbel-softmax (concrete) distribution over `dim` (Jang, Gu & Poole 2017;
// Maddison, Mnih & Teh 2017): softmax((logits + g) / tau), g standard Gumbel draws, a
// differentiable relaxation of sampling a category (discrete VAEs). With hard, the forward value
// is the one-hot of the draw's largest entry and the gradient the soft draw's (straight-through).
Tensor gumbel_softmax(const Tensor& logits, double tau = 1.0, bool hard = false, std::int64_t dim = -1);
// Alpha dropout (Klambauer et al. 2017, "Self-Normalizing Neural Networks", section 3, eq. 9),
// SELU's companion: dropped elements take SELU's negative saturation value -alpha' (not 0), and
// an affine map a x + b chosen from p restores zero mean and unit variance; PyTorch's constants.
// The feature form draws one mask per (sample, channel) of [N, C, ...], as dropout2d.
Tensor alpha_dropout(const Tensor& x, double p = 0.5, bool training = false);
Tensor feature_alpha_dropout(const Tensor& x, double p = 0.5, bool training = false);
// int64 class indices [...] -> int64 [..., num_classes] (num_classes -1: max label + 1).
Tensor one_hot(const Tensor& labels, std::int64_t num_classes = -1);
// Rows of `weight` [num_embeddings, dim] picked by int64 `indices` of any shape. With padding_idx
// the rows looked up at that index pass no gradient to it (its entry stays as it is, PyTorch's
// padding token); with max_norm each row looked up whose norm_type-norm exceeds max_norm is first
// rescaled to it, in place (no gradient), as torch.embedding_renorm_.
Tensor embedding(const Tensor& indices, const Tensor& weight);
Tensor embedding(const Tensor& indices, const Tensor& weight, std::optional<std::int64_t> padding_idx,
                 std::optional<double> max_norm = std::nullopt, double norm_type = 2.0);
// How EmbeddingBag reduces a bag's rows: cake::kSum, cake::kMean (the default) or cake::kMax.
class EmbeddingBagMode {
 public:
  enum Kind { Sum, Mean, Max };
  constexpr EmbeddingBagMode(Kind kind = Mean) : kind_(kind) {}  // NOLINT: implicit, as libtorch's variant
  EmbeddingBagMode(Reduction reduction);                          // NOLINT: kSum or kMean
  constexpr Kind kind() const { return kind_; }
  constexpr bool operator==(const EmbeddingBagMode&) const = default;
  const char* name() const;  // "sum", "mean" or "max"

 private:
  Kind kind_;
};
// The rows of `weight` picked by int64 `input`, reduced per bag (torch's embedding_bag, without
// forming the [bags, length, dim] lookup): a 2-D input [B, N] is B bags of N indices; a 1-D input
// is cut into bags starting at `offsets` [B] (the first 0, non-decreasing; include_last_offset:
// B + 1 entries, the last the end). An empty bag gives zeros. per_sample_weights (input's shape,
// mode sum only) scale each row first; entries equal to padding_idx take no part (a mean divides
// by the others); max_norm renormalises the rows looked up, as embedding's. [B, dim].
Tensor embedding_bag(const Tensor& input, const Tensor& weight, const Tensor& offsets = {},
                     EmbeddingBagMode mode = EmbeddingBagMode::Mean, const Tensor& per_sample_weights = {},
                     bool include_last_offset = false, std::optional<std::int64_t> padding_idx = std::nullopt,
                     std::optional<double> max_norm = std::nullopt, double norm_type = 2.0);

// ---- similarity --------------------------------------------------------------------------------
// x / max(||x||_p, eps) along dim.
Tensor normalize(const Tensor& x, double p = 2.0, std::int64_t dim = 1, double eps = 1e-12);
// sum(x1 * x2, dim) / (max(||x1||, eps) * max(||x2||, eps)); x1 and x2 broadcast.
Tensor cosine_similarity(const Tensor& x1, const Tensor& x2, std::int64_t dim = 1, double eps = 1e-8);

// The p-norm distances between every pair of rows i < j of x [N, M], row by row of the upper
// triangle (torch.pdist): N (N - 1) / 2 values, read from cdist(x, x, p).
Tensor pdist(const Tensor& x, double p = 2.0);
// ||x1 - x2 + eps||_p over the last dim (PyTorch's pairwise_distance: eps keeps the norm's
// gradient finite where x1 = x2); x1 and x2 broadcast.
Tensor pairwise_distance(const Tensor& x1, const Tensor& x2, double p = 2.0, double eps = 1e-6, bool keepdim = false);

// ---- losses ------------------------------------------------------------------------------------
// Applies a reduction to per-element losses (exposed for losses written outside this file).
Tensor reduce_loss(const Tensor& loss, Reduction reduction);

// (input - target)^2 and |input - target|; input and target must have the same shape.
Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean);
Tensor l1_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean);
// With d = input - target: 0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta (Girshick 2015,
// Fast R-CNN eq. 3, for beta = 1); beta = 0 is l1_loss. huber_loss is the same curve scaled by
// delta (= beta): 0.5 d^2 where |d| <= delta, else delta (|d| - 0.5 delta) (Huber 1964).
Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean,
                      double beta = 1.0);
Tensor huber_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean,
                  double delta = 1.0);
// -w [t log x + (1 - t) log(1 - x)] for probabilities x in [0, 1]; each log is clamped at
// -100 as PyTorch does, so x = 0 or 1 gives a large finite loss, not infinity.
Tensor binary_cross_entropy(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean,
                            const Tensor& weight = {});
// The same on logits x, without forming sigmoid(x): with softplus(-x) = max(-x, 0) + log1p(e^-|x|),
//   loss = (1 - t) x + (1 + (pos_weight - 1) t) softplus(-x),
// which stays finite for any x (log(sigmoid(x)) would underflow to -inf for x << 0).
Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target,
                                        Reduction reduction = Reduction::Mean, const Tensor& weight = {},
                                        const Tensor& pos_weight = {});
// Negative log-likelihood of int64 class targets: log_probs [N, C] (or [N, C, d...]) and target
// [N] (or [N, d...]); loss_i = -w[t_i] log_probs[i, t_i]. Mean divides by the summed weights of
// the targets that are not ignore_index, as PyTorch does.
Tensor nll_loss(const Tensor& log_probs, const Tensor& target, Reduction reduction = Reduction::Mean,
                const Tensor& weight = {}, std::int64_t ignore_index = -100);
// nll_loss(log_softmax(logits, 1), target): log_softmax subtracts the row maximum before
// exponentiating, so large logits cannot overflow. A floating-point target of the logits' shape
// is read as class probabilities instead: loss_i = -sum_c target[i, c] log_softmax(logits)[i, c].
Tensor cross_entropy(const Tensor& logits, const Tensor& target, Reduction reduction = Reduction::Mean,
                     const Tensor& weight = {}, std::int64_t ignore_index = -100);
// Kullback-Leibler divergence KL(target || model) with PyTorch's convention: `input` holds
// log-probabilities of the model, `target` probabilities (or log-probabilities when
// log_target): pointwise target (log target - input), 0 where target is 0. Use
// Reduction::BatchMean for the mathematically proper KL per sample.
Tensor kl_div(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean,
              bool log_target = false);
// KL(N(mu, exp(logvar)) || N(0, I)) per sample (Kingma & Welling 2014, appendix B):
//   -1/2 sum_j (1 + logvar_j - mu_j^2 - exp(logvar_j)),
// summed over every dim but the first; Mean averages over the batch.
Tensor gaussian_kl(const Tensor& mu, const Tensor& logvar, Reduction reduction = Reduction::Mean);
// InfoNCE (van den Oord et al. 2018; MoCo, He et al. 2020, eq. 1): with q, k+ and the negatives
// L2-normalised, loss_i = -log( e^{q.k+ / T} / (e^{q.k+ / T} + sum_n e^{q.n / T}) ).
// query and positive_key are [N, D]; negative_keys is [M, D] (shared, e.g. MoCo's queue) or
// [N, M, D] (per query); undefined means in-batch negatives (the other rows' positive keys).
Tensor info_nce(const Tensor& query, const Tensor& positive_key, const Tensor& negative_keys = {},
                double temperature = 0.1, Reduction reduction = Reduction::Mean);
// NT-Xent (SimCLR, Chen et al. 2020, eq. 1): for the 2N normalised views z = [z1; z2], the
// positive of view i is its other view and the 2N - 2 remaining views are negatives; cosine
// similarities divided by T, the self-similarity excluded. Per-view losses, averaged over 2N.
Tensor nt_xent(const Tensor& z1, const Tensor& z2, double temperature = 0.5, Reduction reduction = Reduction::Mean);

// ---- margin and embedding losses ----------------------------------------------------------------
// Targets y hold +1 (similar, or "x1 ranks higher") and -1 (dissimilar); all are per sample.
// Triplet loss (Schroff et al. 2015, FaceNet, section 3.1, with PyTorch's unsquared distances):
//   max(d(a, p) - d(a, n) + margin, 0), d = pairwise_distance with p and eps; with swap (the
//   "anchor swap" of Balntas et al. 2016), d(a, n) becomes min(d(a, n), d(p, n)): the negative is
//   measured from whichever of anchor and positive it is closer to, the harder case.
Tensor triplet_margin_loss(const Tensor& anchor, const Tensor& positive, const Tensor& negative,
                           Reduction reduction = Reduction::Mean, double margin = 1.0, double p = 2.0,
                           double eps = 1e-6, bool swap = false);
// max(0, -y (x1 - x2) + margin): x1 should exceed x2 by the margin where y = 1, and the other way
// round where y = -1.
Tensor margin_ranking_loss(const Tensor& input1, const Tensor& input2, const Tensor& target,
                           Reduction reduction = Reduction::Mean, double margin = 0.0);
// 1 - cos(x1, x2) where y = 1, max(0, cos(x1, x2) - margin) where y = -1, cos over the last dim
// of [N, D] (or [D]) inputs with PyTorch's guard: x1.x2 / sqrt((|x1|^2 + 1e-12)(|x2|^2 + 1e-12)).
Tensor cosine_embedding_loss(const Tensor& input1, const Tensor& input2, const Tensor& target,
                             Reduction reduction = Reduction::Mean, double margin = 0.0);
// x where y = 1, max(0, margin - x) where y = -1: for x a distance between a pair.
Tensor hinge_embedding_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean,
                            double margin = 1.0);
// log(1 + e^{-y x}) (the logistic loss of a +-1 label), averaged over all elements by Mean.
Tensor soft_margin_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean);
// Per sample of x [N, C] with 0/1 targets: -1/C sum_c w_c [y_c log sigmoid(x_c) + (1 - y_c) log sigmoid(-x_c)].
Tensor multilabel_soft_margin_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean,
                                   const Tensor& weight = {});

// The multi-class hinge loss (Weston & Watkins 1999; Crammer & Singer 2001 take the max instead of
// the sum) of scores x [N, C] (or [C]) against int64 classes y [N] (or a scalar):
//   1/C sum_{i != y} w_y max(0, margin - x_y + x_i)^p, p 1 or 2, w per class (optional).
Tensor multi_margin_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean,
                         std::int64_t p = 1, double margin = 1.0, const Tensor& weight = {});
// The multi-label hinge loss of scores x [N, C] (or [C]) against int64 targets [N, C] (or [C]) that
// list each sample's classes and end at the first -1: 1/C sum over listed classes j and
// unlisted classes i of max(0, 1 - (x_j - x_i)).
Tensor multilabel_margin_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean);
// Connectionist temporal classification (Graves, Fernandez, Gomez & Schmidhuber, ICML 2006):
// -log p(target | input), the probability summed over every alignment of the target with the
// frames (repeats merged, blanks dropped), by the forward recursion of section 4.1 in log space.
// log_probs [T, N, C] (log-softmax over C; [T, C] unbatched), targets [N, S] padded or 1-D (the
// targets one after another), input_lengths and target_lengths [N] (int64). An impossible target
// (too long for its frames) has loss +inf, or 0 and no gradient with zero_infinity. Reduction
// Mean (PyTorch's) divides each loss by its target length, then averages over the batch.
Tensor ctc_loss(const Tensor& log_probs, const Tensor& targets, const Tensor& input_lengths,
                const Tensor& target_lengths, std::int64_t blank = 0, Reduction reduction = Reduction::Mean,
                bool zero_infinity = false);
// The triplet loss with any distance: max(d(a, p) - d(a, n) + margin, 0), d(u, v) per row of
// [N, D] inputs (default: pairwise_distance, the Euclidean distance); swap as triplet_margin_loss.
using DistanceFunction = std::function<Tensor(const Tensor&, const Tensor&)>;
Tensor triplet_margin_with_distance_loss(const Tensor& anchor, const Tensor& positive, const Tensor& negative,
                                         const DistanceFunction& distance_function = {}, double margin = 1.0,
                                         bool swap = false, Reduction reduction = Reduction::Mean);

// ---- likelihood losses ---------------------------------------------------------------------------
// Negative log-likelihood of target under N(input, var) (Nix & Weigend 1994):
//   1/2 (log max(var, eps) + (input - target)^2 / max(var, eps)) [+ 1/2 log(2 pi) if full].
// var has input's shape, or it without the last dim, or with the last dim 1 (one variance per
// sample, broadcast). As PyTorch does, the clamp at eps lets the gradient through unchanged.
Tensor gaussian_nll_loss(const Tensor& input, const Tensor& target, const Tensor& var,
                         Reduction reduction = Reduction::Mean, bool full = false, double eps = 1e-6);
// Negative log-likelihood of the count target under Poisson(rate), dropping log(target!):
//   e^input - target input with log_input (input = log rate), else input - target log(input + eps).
// full adds Stirling's approximation of log(target!), target log target - target + 1/2 log(2 pi target),
// where target > 1.
Tensor poisson_nll_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean,
                        bool log_input = true, bool full = false, double eps = 1e-8);

// ---- libtorch's FuncOptions for the functions above with settings ----------------------------
// F::softmax(x, F::SoftmaxFuncOptions(1)), F::leaky_relu(x, F::LeakyReLUFuncOptions().negative_slope(0.2)),
// F::dropout(x, F::DropoutFuncOptions().p(0.2).training(false)), F::normalize(x, F::NormalizeFuncOptions().dim(0)).
struct SoftmaxFuncOptions {
  using Self = SoftmaxFuncOptions;
  CAKE_ARG(std::int64_t, dim) = -1;
};
using LogSoftmaxFuncOptions = SoftmaxFuncOptions;
struct LeakyReLUFuncOptions {
  using Self = LeakyReLUFuncOptions;
  CAKE_ARG(double, negative_slope) = 0.01;
};
struct ELUFuncOptions {
  using Self = ELUFuncOptions;
  CAKE_ARG(double, alpha) = 1.0;
};
struct DropoutFuncOptions {
  using Self = DropoutFuncOptions;
  CAKE_ARG(double, p) = 0.5;
  CAKE_ARG(bool, training) = true;
};
using Dropout2dFuncOptions = DropoutFuncOptions;
struct SoftplusFuncOptions {
  using Self = SoftplusFuncOptions;
  CAKE_ARG(double, beta) = 1.0;
  CAKE_ARG(double, threshold) = 20.0;
};
struct HardtanhFuncOptions {
  using Self = HardtanhFuncOptions;
  CAKE_ARG(double, min_val) = -1.0;
  CAKE_ARG(double, max_val) = 1.0;
};
struct PairwiseDistanceFuncOptions {
  using Self = PairwiseDistanceFuncOptions;
  CAKE_ARG(double, p) = 2.0;
  CAKE_ARG(double, eps) = 1e-6;
  CAKE_ARG(bool, keepdim) = false;
};
struct NormalizeFuncOptions {
  using Self = NormalizeFuncOptions;
  CAKE_ARG(double, p) = 2.0;
  CAKE_ARG(std::int64_t, dim) = 1;
  CAKE_ARG(double, eps) = 1e-12;
};
struct CosineSimilarityFuncOptions {
  using Self = CosineSimilarityFuncOptions;
  CAKE_ARG(std::int64_t, dim) = 1;
  CAKE_ARG(double, eps) = 1e-8;
};
// F::pad(x, F::PadFuncOptions({1, 1, 2, 2}).mode(cake::kReflect)).
struct PadFuncOptions {
  using Self = PadFuncOptions;
  CAKE_ARG(Shape, pad);
  CAKE_ARG(PadMode, mode) = PadMode::Constant;
  CAKE_ARG(double, value) = 0.0;
};
// F::local_response_norm(x, F::LocalResponseNormFuncOptions(5).alpha(1e-4).beta(0.75).k(2)).
struct LocalResponseNormFuncOptions {
  using Self = LocalResponseNormFuncOptions;
  CAKE_ARG(std::int64_t, size);
  CAKE_ARG(double, alpha) = 1e-4;
  CAKE_ARG(double, beta) = 0.75;
  CAKE_ARG(double, k) = 1.0;
};
// Square windows, as max_pool2d / avg_pool2d above; the stride defaults to the kernel size.
// One number per setting, so the 1-D pools share them (MaxPool1dFuncOptions is MaxPoolFuncOptions).
struct MaxPoolFuncOptions {
  using Self = MaxPoolFuncOptions;
  CAKE_ARG(std::int64_t, kernel_size);
  CAKE_ARG(std::optional<std::int64_t>, stride) = std::nullopt;
  CAKE_ARG(std::int64_t, padding) = 0;
  CAKE_ARG(bool, ceil_mode) = false;
};
struct AvgPoolFuncOptions {
  using Self = AvgPoolFuncOptions;
  CAKE_ARG(std::int64_t, kernel_size);
  CAKE_ARG(std::optional<std::int64_t>, stride) = std::nullopt;
  CAKE_ARG(std::int64_t, padding) = 0;
  CAKE_ARG(bool, ceil_mode) = false;
  CAKE_ARG(bool, count_include_pad) = true;
};
using MaxPool1dFuncOptions = MaxPoolFuncOptions;
using MaxPool2dFuncOptions = MaxPoolFuncOptions;
// The max pooling that max_unpool2d / max_unpool1d undo: its kernel, stride (default: the kernel)
// and padding. output_size (empty: the size that pooling maps back from the input, (in - 1)
// stride - 2 padding + kernel) picks among the sizes the pooling maps to the same input size,
// which differ when it dropped a remainder: the last 2 (1-D: 1) entries count, so x.sizes() of
// the pooled tensor's input serves as is.
struct MaxUnpoolFuncOptions {
  using Self = MaxUnpoolFuncOptions;
  CAKE_ARG(std::int64_t, kernel_size);
  CAKE_ARG(std::optional<std::int64_t>, stride) = std::nullopt;
  CAKE_ARG(std::int64_t, padding) = 0;
  CAKE_ARG(Shape, output_size) = Shape{};
};
using MaxUnpool1dFuncOptions = MaxUnpoolFuncOptions;
using MaxUnpool2dFuncOptions = MaxUnpoolFuncOptions;
using AvgPool1dFuncOptions = AvgPoolFuncOptions;
using AvgPool2dFuncOptions = AvgPoolFuncOptions;
// F::adaptive_avg_pool1d(x, F::AdaptiveAvgPool1dFuncOptions(4)).
struct AdaptiveAvgPool1dFuncOptions {
  using Self = AdaptiveAvgPool1dFuncOptions;
  CAKE_ARG(std::int64_t, output_size);
};
// F::adaptive_max_pool2d(x, F::AdaptiveMaxPool2dFuncOptions({3, 2})), ...Pool1dFuncOptions(4).
struct AdaptiveMaxPool2dFuncOptions {
  using Self = AdaptiveMaxPool2dFuncOptions;
  CAKE_ARG(Pair, output_size);
};
struct AdaptiveMaxPool1dFuncOptions {
  using Self = AdaptiveMaxPool1dFuncOptions;
  CAKE_ARG(std::int64_t, output_size);
};
// F::instance_norm(x, F::InstanceNormFuncOptions().running_mean(m).running_var(v).use_input_stats(false)).
struct InstanceNormFuncOptions {
  using Self = InstanceNormFuncOptions;
  CAKE_ARG(Tensor, running_mean) = Tensor();
  CAKE_ARG(Tensor, running_var) = Tensor();
  CAKE_ARG(Tensor, weight) = Tensor();
  CAKE_ARG(Tensor, bias) = Tensor();
  CAKE_ARG(bool, use_input_stats) = true;
  CAKE_ARG(double, momentum) = 0.1;
  CAKE_ARG(double, eps) = 1e-5;
};
// F::pixel_shuffle(x, F::PixelShuffleFuncOptions(2)), F::pixel_unshuffle(x, F::PixelUnshuffleFuncOptions(2)).
struct PixelShuffleFuncOptions {
  using Self = PixelShuffleFuncOptions;
  CAKE_ARG(std::int64_t, upscale_factor);
};
struct PixelUnshuffleFuncOptions {
  using Self = PixelUnshuffleFuncOptions;
  CAKE_ARG(std::int64_t, downscale_factor);
};
// The losses' settings: F::mse_loss(a, b, F::MSELossFuncOptions(cake::kSum)),
// F::cross_entropy(x, y, F::CrossEntropyFuncOptions().ignore_index(-1)). The reduction comes
// first, as in libtorch; nn/loss.h's loss modules take the same structs (nn::MSELossOptions).
struct MSELossFuncOptions {
  using Self = MSELossFuncOptions;
  CAKE_ARG(Reduction, reduction) = Reduction::Mean;
};
using L1LossFuncOptions = MSELossFuncOptions;
struct SmoothL1LossFuncOptions {
  using Self = SmoothL1LossFuncOptions;
  CAKE_ARG(Reduction, reduction) = Reduction::Mean;
  CAKE_ARG(double, beta) = 1.0;
};
struct HuberLossFuncOptions {
  using Self = HuberLossFuncOptions;
  CAKE_ARG(Reduction, reduction) = Reduction::Mean;
  CAKE_ARG(double, delta) = 1.0;
};
struct BinaryCrossEntropyFuncOptions {
  using Self = BinaryCrossEntropyFuncOptions;
  CAKE_ARG(Tensor, weight) = Tensor();
  CAKE_ARG(Reduction, reduction) = Reduction::Mean;
};
struct BinaryCrossEntropyWithLogitsFuncOptions {
  using Self = BinaryCrossEntropyWithLogitsFuncOptions;
  CAKE_ARG(Tensor, weight) = Tensor();
  CAKE_ARG(Reduction, reduction) = Reduction::Mean;
  CAKE_ARG(Tensor, pos_weight) = Tensor();
};
struct NLLLossFuncOptions {
  using Self = NLLLossFuncOptions;
  CAKE_ARG(Tensor, weight) = Tensor();
  CAKE_ARG(std::int64_t, ignore_index) = -100;
  CAKE_ARG(Reduction, reduction) = Reduction::Mean;
};
using CrossEntropyFuncOptions = NLLLossFuncOptions;
struct KLDivFuncOptions {
  using Self = KLDivFuncOptions;
  CAKE_ARG(Reduction, reduction) = Reduction::Mean;
  CAKE_ARG(bool, log_target) = false;
};
// The margin and likelihood losses' settings, in libtorch's field order (reduction last):
// F::triplet_margin_loss(a, p, n, F::TripletMarginLossFuncOptions().margin(0.5).swap(true)).
struct TripletMarginLossFuncOptions {
  using Self = TripletMarginLossFuncOptions;
  CAKE_ARG(double, margin) = 1.0;
  CAKE_ARG(double, p) = 2.0;
  CAKE_ARG(double, eps) = 1e-6;
  CAKE_ARG(bool, swap) = false;
  CAKE_ARG(Reduction, reduction) = Reduction::Mean;
};
struct MarginRankingLossFuncOptions {
  using Self = MarginRankingLossFuncOptions;
  CAKE_ARG(double, margin) = 0.0;
  CAKE_ARG(Reduction, reduction) = Reduction::Mean;
};
using CosineEmbeddingLossFuncOptions = MarginRankingLossFuncOptions;  // the same two settings
struct HingeEmbeddingLossFuncOptions {
  using Self = HingeEmbeddingLossFuncOptions;
  CAKE_ARG(double, margin) = 1.0;
  CAKE_ARG(Reduction, reduction) = Reduction::Mean;
};
using SoftMarginLossFuncOptions = MSELossFuncOptions;  // the reduction alone
struct MultilabelSoftMarginLossFuncOptions {
  using Self = MultilabelSoftMarginLossFuncOptions;
  CAKE_ARG(Tensor, weight) = Tensor();
  CAKE_ARG(Reduction, reduction) = Reduction::Mean;
};
struct EmbeddingFuncOptions {  // EmbeddingFuncOptions().padding_idx(0).max_norm(1.0)
  using Self = EmbeddingFuncOptions;
  CAKE_ARG(std::optional<std::int64_t>, padding_idx) = std::nullopt;
  CAKE_ARG(std::optional<double>, max_norm) = std::nullopt;
  CAKE_ARG(double, norm_type) = 2.0;
};
inline Tensor embedding(const Tensor& indices, const Tensor& weight, const EmbeddingFuncOptions& o) {
  return functional::embedding(indices, weight, o.padding_idx(), o.max_norm(), o.norm_type());
}
struct EmbeddingBagFuncOptions {  // EmbeddingBagFuncOptions().offsets(starts).mode(cake::kSum)
  using Self = EmbeddingBagFuncOptions;
  CAKE_ARG(Tensor, offsets) = Tensor();
  CAKE_ARG(std::optional<double>, max_norm) = std::nullopt;
  CAKE_ARG(double, norm_type) = 2.0;
  CAKE_ARG(EmbeddingBagMode, mode) = EmbeddingBagMode::Mean;
  CAKE_ARG(Tensor, per_sample_weights) = Tensor();
  CAKE_ARG(bool, include_last_offset) = false;
  CAKE_ARG(std::optional<std::int64_t>, padding_idx) = std::nullopt;
};
inline Tensor embedding_bag(const Tensor& input, const Tensor& weight, const EmbeddingBagFuncOptions& o) {
  return functional::embedding_bag(input, weight, o.offsets(), o.mode(), o.per_sample_weights(), o.include_last_offset(),
                                   o.padding_idx(), o.max_norm(), o.norm_type());
}
struct CTCLossFuncOptions {  // CTCLossFuncOptions().blank(0).zero_infinity(true)
  using Self = CTCLossFuncOptions;
  CAKE_ARG(std::int64_t, blank) = 0;
  CAKE_ARG(Reduction, reduction) = Reduction::Mean;
  CAKE_ARG(bool, zero_infinity) = false;
};
inline Tensor ctc_loss(const Tensor& log_probs, const Tensor& targets, const Tensor& input_lengths,
                       const Tensor& target_lengths, const CTCLossFuncOptions& o) {
  return functional::ctc_loss(log_probs, targets, input_lengths, target_lengths, o.blank(), o.reduction(),
                              o.zero_infinity());
}
struct MultiMarginLossFuncOptions {  // MultiMarginLossFuncOptions().p(2).margin(0.5).weight(w)
  using Self = MultiMarginLossFuncOptions;
  CAKE_ARG(std::int64_t, p) = 1;
  CAKE_ARG(double, margin) = 1.0;
  CAKE_ARG(Tensor, weight) = Tensor();
  CAKE_ARG(Reduction, reduction) = Reduction::Mean;
};
using MultilabelMarginLossFuncOptions = MSELossFuncOptions;  // the reduction alone
// ...FuncOptions().distance_function(f).margin(0.5).swap(true). Written out rather than with
// CAKE_ARG: a std::function member makes a struct non-standard-layout, which CAKE_ARG's offsets
// cannot address; the builder and getters read the same as the others'.
class TripletMarginWithDistanceLossFuncOptions {
 public:
  using Self = TripletMarginWithDistanceLossFuncOptions;
  Self& distance_function(DistanceFunction f) { distance_function_ = std::move(f); return *this; }
  const DistanceFunction& distance_function() const { return distance_function_; }  // empty: pairwise_distance
  Self& margin(double value) { margin_ = value; return *this; }
  double margin() const { return margin_; }
  Self& swap(bool value) { swap_ = value; return *this; }
  bool swap() const { return swap_; }
  Self& reduction(Reduction value) { reduction_ = value; return *this; }
  Reduction reduction() const { return reduction_; }

 private:
  DistanceFunction distance_function_;
  double margin_ = 1.0;
  bool swap_ = false;
  Reduction reduction_ = Reduction::Mean;
};
struct GaussianNLLLossFuncOptions {
  using Self = GaussianNLLLossFuncOptions;
  CAKE_ARG(bool, full) = false;
  CAKE_ARG(double, eps) = 1e-6;
  CAKE_ARG(Reduction, reduction) = Reduction::Mean;
};
struct PoissonNLLLossFuncOptions {
  using Self = PoissonNLLLossFuncOptions;
  CAKE_ARG(bool, log_input) = true;
  CAKE_ARG(bool, full) = false;
  CAKE_ARG(double, eps) = 1e-8;
  CAKE_ARG(Reduction, reduction) = Reduction::Mean;
};
inline Tensor triplet_margin_loss(const Tensor& anchor, const Tensor& positive, const Tensor& negative,
                                  const TripletMarginLossFuncOptions& o) {
  return functional::triplet_margin_loss(anchor, positive, negative, o.reduction(), o.margin(), o.p(), o.eps(),
                                         o.swap());
}
inline Tensor margin_ranking_loss(const Tensor& input1, const Tensor& input2, const Tensor& target,
                                  const MarginRankingLossFuncOptions& o) {
  return functional::margin_ranking_loss(input1, input2, target, o.reduction(), o.margin());
}
inline Tensor cosine_embedding_loss(const Tensor& input1, const Tensor& input2, const Tensor& target,
                                    const CosineEmbeddingLossFuncOptions& o) {
  return functional::cosine_embedding_loss(input1, input2, target, o.reduction(), o.margin());
}
inline Tensor hinge_embedding_loss(const Tensor& input, const Tensor& target, const HingeEmbeddingLossFuncOptions& o) {
  return functional::hinge_embedding_loss(input, target, o.reduction(), o.margin());
}
inline Tensor soft_margin_loss(const Tensor& input, const Tensor& target, const SoftMarginLossFuncOptions& o) {
  return functional::soft_margin_loss(input, target, o.reduction());
}
inline Tensor multilabel_soft_margin_loss(const Tensor& input, const Tensor& target,
                                          const MultilabelSoftMarginLossFuncOptions& o) {
  return functional::multilabel_soft_margin_loss(input, target, o.reduction(), o.weight());
}
inline Tensor multi_margin_loss(const Tensor& input, const Tensor& target, const MultiMarginLossFuncOptions& o) {
  return functional::multi_margin_loss(input, target, o.reduction(), o.p(), o.margin(), o.weight());
}
inline Tensor multilabel_margin_loss(const Tensor& input, const Tensor& target,
                                     const MultilabelMarginLossFuncOptions& o) {
  return functional::multilabel_margin_loss(input, target, o.reduction());
}
inline Tensor triplet_margin_with_distance_loss(const Tensor& anchor, const Tensor& positive, const Tensor& negative,
                                                const TripletMarginWithDistanceLossFuncOptions& o) {
  return functional::triplet_margin_with_distance_loss(anchor, positive, negative, o.distance_function(), o.margin(),
                                                       o.swap(), o.reduction());
}
inline Tensor gaussian_nll_loss(const Tensor& input, const Tensor& target, const Tensor& var,
                                const GaussianNLLLossFuncOptions& o) {
  return functional::gaussian_nll_loss(input, target, var, o.reduction(), o.full(), o.eps());
}
inline Tensor poisson_nll_loss(const Tensor& input, const Tensor& target, const PoissonNLLLossFuncOptions& o) {
  return functional::poisson_nll_loss(input, target, o.reduction(), o.log_input(), o.full(), o.eps());
}
inline Tensor softplus(const Tensor& x, const SoftplusFuncOptions& o) {
  return functional::softplus(x, o.beta(), o.threshold());
}
inline Tensor hardtanh(const Tensor& x, const HardtanhFuncOptions& o) {
  return functional::hardtanh(x, o.min_val(), o.max_val());
}
inline Tensor dropout2d(const Tensor& x, const Dropout2dFuncOptions& o) {
  return functional::dropout2d(x, o.p(), o.training());
}
using Dropout1dFuncOptions = Dropout2dFuncOptions;
inline Tensor dropout1d(const Tensor& x, const Dropout1dFuncOptions& o) {
  return functional::dropout1d(x, o.p(), o.training());
}
struct GumbelSoftmaxFuncOptions {  // GumbelSoftmaxFuncOptions().tau(0.5).hard(true).dim(-1)
  using Self = GumbelSoftmaxFuncOptions;
  CAKE_ARG(double, tau) = 1.0;
  CAKE_ARG(bool, hard) = false;
  CAKE_ARG(std::int64_t, dim) = -1;
};
inline Tensor gumbel_softmax(const Tensor& logits, const GumbelSoftmaxFuncOptions& o) {
  return functional::gumbel_softmax(logits, o.tau(), o.hard(), o.dim());
}
inline Tensor pairwise_distance(const Tensor& x1, const Tensor& x2, const PairwiseDistanceFuncOptions& o) {
  return functional::pairwise_distance(x1, x2, o.p(), o.eps(), o.keepdim());
}
inline Tensor cosine_similarity(const Tensor& x1, const Tensor& x2, const CosineSimilarityFuncOptions& o) {
  return functional::cosine_similarity(x1, x2, o.dim(), o.eps());
}
inline Tensor local_response_norm(const Tensor& x, const LocalResponseNormFuncOptions& o) {
  return functional::local_response_norm(x, o.size(), o.alpha(), o.beta(), o.k());
}
inline Tensor pad(const Tensor& x, const PadFuncOptions& o) { return functional::pad(x, o.pad(), o.mode(), o.value()); }
inline Tensor max_pool2d(const Tensor& x, const MaxPool2dFuncOptions& o) {
  return functional::max_pool2d(x, o.kernel_size(), o.stride(), o.padding(), o.ceil_mode());
}
inline Tensor avg_pool2d(const Tensor& x, const AvgPool2dFuncOptions& o) {
  return functional::avg_pool2d(x, o.kernel_size(), o.stride(), o.padding(), o.ceil_mode(), o.count_include_pad());
}
inline Tensor max_pool1d(const Tensor& x, const MaxPool1dFuncOptions& o) {
  return functional::max_pool1d(x, o.kernel_size(), o.stride(), o.padding(), o.ceil_mode());
}
// The maxima and where they were (flat positions in each input plane; in each sequence for the
// 1-D form), as torch's max_pool2d_with_indices: what max_unpool2d / max_unpool1d put back.
std::tuple<Tensor, Tensor> max_pool2d_with_indices(const Tensor& x, const MaxPool2dFuncOptions& options);
std::tuple<Tensor, Tensor> max_pool1d_with_indices(const Tensor& x, const MaxPool1dFuncOptions& options);
// x [N, C, h, w] or [C, h, w] and its indices to [N, C, H, W]: zeros, with each value of x at
// its index (cake::max_unpool2d); the 1-D form on [N, C, l] or [C, l].
Tensor max_unpool2d(const Tensor& x, const Tensor& indices, const MaxUnpool2dFuncOptions& options);
Tensor max_unpool1d(const Tensor& x, const Tensor& indices, const MaxUnpool1dFuncOptions& options);
inline Tensor avg_pool1d(const Tensor& x, const AvgPool1dFuncOptions& o) {
  return functional::avg_pool1d(x, o.kernel_size(), o.stride(), o.padding(), o.ceil_mode(), o.count_include_pad());
}
inline Tensor adaptive_avg_pool1d(const Tensor& x, const AdaptiveAvgPool1dFuncOptions& o) {
  return functional::adaptive_avg_pool1d(x, o.output_size());
}
inline Tensor adaptive_max_pool2d(const Tensor& x, const AdaptiveMaxPool2dFuncOptions& o) {
  return functional::adaptive_max_pool2d(x, o.output_size());
}
inline Tensor adaptive_max_pool1d(const Tensor& x, const AdaptiveMaxPool1dFuncOptions& o) {
  return functional::adaptive_max_pool1d(x, o.output_size());
}
inline Tensor instance_norm(const Tensor& x, const InstanceNormFuncOptions& o) {
  return functional::instance_norm(x, o.running_mean(), o.running_var(), o.weight(), o.bias(), o.use_input_stats(),
                                   o.momentum(), o.eps());
}
inline Tensor pixel_shuffle(const Tensor& x, const PixelShuffleFuncOptions& o) {
  return functional::pixel_shuffle(x, o.upscale_factor());
}
inline Tensor pixel_unshuffle(const Tensor& x, const PixelUnshuffleFuncOptions& o) {
  return functional::pixel_unshuffle(x, o.downscale_factor());
}
inline Tensor mse_loss(const Tensor& input, const Tensor& target, const MSELossFuncOptions& o) {
  return functional::mse_loss(input, target, o.reduction());
}
inline Tensor l1_loss(const Tensor& input, const Tensor& target, const L1LossFuncOptions& o) {
  return functional::l1_loss(input, target, o.reduction());
}
inline Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, const SmoothL1LossFuncOptions& o) {
  return functional::smooth_l1_loss(input, target, o.reduction(), o.beta());
}
inline Tensor huber_loss(const Tensor& input, const Tensor& target, const HuberLossFuncOptions& o) {
  return functional::huber_loss(input, target, o.reduction(), o.delta());
}
inline Tensor binary_cross_entropy(const Tensor& input, const Tensor& target, const BinaryCrossEntropyFuncOptions& o) {
  return functional::binary_cross_entropy(input, target, o.reduction(), o.weight());
}
inline Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target,
                                               const BinaryCrossEntropyWithLogitsFuncOptions& o) {
  return functional::binary_cross_entropy_with_logits(input, target, o.reduction(), o.weight(), o.pos_weight());
}
inline Tensor nll_loss(const Tensor& log_probs, const Tensor& target, const NLLLossFuncOptions& o) {
  return functional::nll_loss(log_probs, target, o.reduction(), o.weight(), o.ignore_index());
}
inline Tensor cross_entropy(const Tensor& logits, const Tensor& target, const CrossEntropyFuncOptions& o) {
  return functional::cross_entropy(logits, target, o.reduction(), o.weight(), o.ignore_index());
}
inline Tensor kl_div(const Tensor& input, const Tensor& target, const KLDivFuncOptions& o) {
  return functional::kl_div(input, target, o.reduction(), o.log_target());
}
inline Tensor softmax(const Tensor& x, const SoftmaxFuncOptions& o) { return functional::softmax(x, o.dim()); }
inline Tensor log_softmax(const Tensor& x, const LogSoftmaxFuncOptions& o) { return functional::log_softmax(x, o.dim()); }
inline Tensor leaky_relu(const Tensor& x, const LeakyReLUFuncOptions& o) { return functional::leaky_relu(x, o.negative_slope()); }
inline Tensor elu(const Tensor& x, const ELUFuncOptions& o) { return functional::elu(x, o.alpha()); }
inline Tensor dropout(const Tensor& x, const DropoutFuncOptions& o) { return functional::dropout(x, o.p(), o.training()); }
inline Tensor normalize(const Tensor& x, const NormalizeFuncOptions& o) { return functional::normalize(x, o.p(), o.dim(), o.eps()); }

}  // namespace functional
}  // namespace cake::nn

namespace cake {
// libtorch's spellings of the interpolation modes: .mode(cake::kBilinear).
inline constexpr nn::functional::InterpolateMode kNearest = nn::functional::InterpolateMode::Nearest;
inline constexpr nn::functional::InterpolateMode kBilinear = nn::functional::InterpolateMode::Bilinear;
// ... of the padding modes: F::PadFuncOptions({1, 1}).mode(cake::kReflect), and of a convolution's
// padding_mode: Conv2dOptions(3, 8, 3).padding(1).padding_mode(cake::kCircular), where kZeros
// (the default) is the constant mode with value 0.
inline constexpr nn::functional::PadMode kZeros = nn::functional::PadMode::Constant;
inline constexpr nn::functional::PadMode kConstant = nn::functional::PadMode::Constant;
inline constexpr nn::functional::PadMode kReflect = nn::functional::PadMode::Reflect;
inline constexpr nn::functional::PadMode kReplicate = nn::functional::PadMode::Replicate;
inline constexpr nn::functional::PadMode kCircular = nn::functional::PadMode::Circular;
// ... and of the reductions: F::MSELossFuncOptions(cake::kSum), nn::KLDivLossOptions(cake::kBatchMean).
inline constexpr nn::Reduction kNone = nn::Reduction::None;
inline constexpr nn::Reduction kMean = nn::Reduction::Mean;
inline constexpr nn::Reduction kSum = nn::Reduction::Sum;
inline constexpr nn::Reduction kBatchMean = nn::Reduction::BatchMean;
// ... and EmbeddingBag's third mode beside kSum and kMean: nn::EmbeddingBagOptions(10, 3).mode(cake::kMax).
inline constexpr nn::functional::EmbeddingBagMode kMax = nn::functional::EmbeddingBagMode::Max;
}  // namespace cake
