// Tests of the neural-network kernels (tensor/native/nn_kernels.h) through the differentiable
// ops of autograd/nn_ops.h, against naive reference loops written here in double precision:
// convolution and transposed convolution (values and all three gradients), pooling, batch norm
// and softmax. Every comparison runs on both CPU implementations (oneDNN when compiled, and
// Cake's fallback) and in float32 and float64.
#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "helpers.h"
#include "cake/tensor/native/nn_kernels.h"

using namespace cake;
using cake::testing::check_close;
using cake::testing::values;
using cake::testing::from_values;

namespace {

using Values = std::vector<double>;

// The CPU paths to run: oneDNN (only when compiled in) and the fallback.
std::vector<bool> onednn_settings() {
  if (native::onednn_compiled()) return {true, false};
  return {false};
}
const char* path_name(bool onednn) { return onednn ? "oneDNN" : "fallback"; }

struct Tolerance {
  double rtol, atol;
};
Tolerance tolerance_for(DType dtype) { return dtype == kFloat32 ? Tolerance{1e-4, 1e-4} : Tolerance{1e-10, 1e-10}; }


// A random integer in [low, high] from Cake's generator (so manual_seed fixes the shapes too).
std::int64_t draw(std::int64_t low, std::int64_t high) { return randint(low, high + 1, {1}).item<std::int64_t>(); }

// A random tensor that is a non-contiguous view when asked: its last two dims transposed, or,
// where that still leaves it contiguous (size-1 dims), every other entry of a longer dim 0.
Tensor random_input(const Shape& shape, DType dtype, bool non_contiguous) {
  if (!non_contiguous || shape.size() < 2) return randn(shape, dtype);
  Shape swapped = shape;
  std::swap(swapped[swapped.size() - 1], swapped[swapped.size() - 2]);
  Tensor t = randn(swapped, dtype).transpose(-1, -2);
  if (t.is_contiguous()) {
    Shape doubled = shape;
    doubled[0] *= 2;
    t = randn(doubled, dtype).slice(0, 0, doubled[0], 2);
  }
  return t;
}

// ---- convolution reference -----------------------------------------------------------------
struct ConvCase {
  std::int64_t batch, in_channels, out_channels, height, width, kernel_h, kernel_w;
  Pair stride{1, 1}, padding{0, 0}, dilation{1, 1}, output_padding{0, 0};
  std::int64_t groups = 1;
  bool bias = true;
  bool transposed = false;
  bool non_contiguous = false;

  std::string describe() const {
    std::ostringstream out;
    out << (transposed ? "conv_transpose2d" : "conv2d") << " N" << batch << " C" << in_channels << "->" << out_channels
        << " " << height << "x" << width << " k" << kernel_h << "x" << kernel_w << " s" << stride[0] << "," << stride[1]
        << " p" << padding[0] << "," << padding[1] << " d" << dilation[0] << "," << dilation[1] << " op"
        << output_padding[0] << "," << output_padding[1] << " g" << groups << (bias ? " bias" : "")
        << (non_contiguous ? " non-contiguous" : "");
    return out.str();
  }
  std::int64_t out_h() const {
    return transposed ? (height - 1) * stride[0] - 2 * padding[0] + dilation[0] * (kernel_h - 1) + output_padding[0] + 1
                      : (height + 2 * padding[0] - dilation[0] * (kernel_h - 1) - 1) / stride[0] + 1;
  }
  std::int64_t out_w() const {
    return transposed ? (width - 1) * stride[1] - 2 * padding[1] + dilation[1] * (kernel_w - 1) + output_padding[1] + 1
                      : (width + 2 * padding[1] - dilation[1] * (kernel_w - 1) - 1) / stride[1] + 1;
  }
  Shape input_shape() const { return {batch, in_channels, height, width}; }
  Shape weight_shape() const {
    return transposed ? Shape{in_channels, out_channels / groups, kernel_h, kernel_w}
                      : Shape{out_channels, in_channels / groups, kernel_h, kernel_w};
  }
  Shape output_shape() const { return {batch, out_channels, out_h(), out_w()}; }
};

struct ConvResult {
  Values y, gx, gw, gb;
};

// Direct convolution, straight from the definition, with all three gradients for a given gy:
//   y[n][co][oh][ow] = b[co] + sum_{ci in co's group, kh, kw} x[n][ci][oh*s - p + kh*d][ow*s - p + kw*d] w[co][ci'][kh][kw]
// and for the transposed convolution the scatter form (PyTorch's documentation):
//   y[n][co][ih*s - p + kh*d][iw*s - p + kw*d] += x[n][ci][ih][iw] w[ci][co'][kh][kw]
// Each product x * w contributes gy * w to gx, gy * x to gw; gb sums gy.
ConvResult naive_conv(const ConvCase& c, const Values& x, const Values& w, const Values& b, const Values& gy) {
  const std::int64_t OH = c.out_h(), OW = c.out_w(), H = c.height, W = c.width;
  const std::int64_t cin_g = c.in_channels / c.groups, cout_g = c.out_channels / c.groups;
  ConvResult r{Values(static_cast<std::size_t>(c.batch * c.out_channels * OH * OW), 0.0), Values(x.size(), 0.0),
               Values(w.size(), 0.0), Values(static_cast<std::size_t>(c.out_channels), 0.0)};
  auto at = [](std::int64_t i) { return static_cast<std::size_t>(i); };
  for (std::int64_t n = 0; n < c.batch; ++n)
    for (std::int64_t ci = 0; ci < c.in_channels; ++ci)
      for (std::int64_t co = 0; co < c.out_channels; ++co) {
        const std::int64_t grp = ci / cin_g;
        if (co / cout_g != grp) continue;  // channels of different groups never meet
        for (std::int64_t kh = 0; kh < c.kernel_h; ++kh)
          for (std::int64_t kw = 0; kw < c.kernel_w; ++kw) {
            const std::int64_t wi = c.transposed ? ((ci * cout_g + co % cout_g) * c.kernel_h + kh) * c.kernel_w + kw
                                                 : ((co * cin_g + ci % cin_g) * c.kernel_h + kh) * c.kernel_w + kw;
            if (!c.transposed) {
              for (std::int64_t oh = 0; oh < OH; ++oh)
                for (std::int64_t ow = 0; ow < OW; ++ow) {
                  const std::int64_t ih = oh * c.stride[0] - c.padding[0] + kh * c.dilation[0];
                  const std::int64_t iw = ow * c.stride[1] - c.padding[1] + kw * c.dilation[1];
                  if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                  const std::int64_t xi = ((n * c.in_channels + ci) * H + ih) * W + iw;
                  const std::int64_t yi = ((n * c.out_channels + co) * OH + oh) * OW + ow;
                  r.y[at(yi)] += x[at(xi)] * w[at(wi)];
                  r.gx[at(xi)] += gy[at(yi)] * w[at(wi)];
                  r.gw[at(wi)] += gy[at(yi)] * x[at(xi)];
                }
            } else {
              for (std::int64_t ih = 0; ih < H; ++ih)
                for (std::int64_t iw = 0; iw < W; ++iw) {
                  const std::int64_t oh = ih * c.stride[0] - c.padding[0] + kh * c.dilation[0];
                  const std::int64_t ow = iw * c.stride[1] - c.padding[1] + kw * c.dilation[1];
                  if (oh < 0 || oh >= OH || ow < 0 || ow >= OW) continue;
                  const std::int64_t xi = ((n * c.in_channels + ci) * H + ih) * W + iw;
                  const std::int64_t yi = ((n * c.out_channels + co) * OH + oh) * OW + ow;
                  r.y[at(yi)] += x[at(xi)] * w[at(wi)];
                  r.gx[at(xi)] += gy[at(yi)] * w[at(wi)];
                  r.gw[at(wi)] += gy[at(yi)] * x[at(xi)];
                }
            }
          }
      }
  for (std::int64_t n = 0; n < c.batch; ++n)
    for (std::int64_t co = 0; co < c.out_channels; ++co)
      for (std::int64_t p = 0; p < OH * OW; ++p) {
        const std::int64_t yi = (n * c.out_channels + co) * OH * OW + p;
        if (c.bias) r.y[at(yi)] += b[at(co)];
        r.gb[at(co)] += gy[at(yi)];
      }
  return r;
}

// Runs one case through the differentiable op and compares value and gradients with the
// reference, for both dtypes and both CPU paths.
void check_conv_case(const ConvCase& c) {
  for (DType dtype : {kFloat32, kFloat64}) {
    for (bool onednn : onednn_settings()) {
      INFO(c.describe(), " ", dtype_name(dtype), " ", path_name(onednn));
      native::OneDnnGuard guard(onednn);
      Tensor x = random_input(c.input_shape(), dtype, c.non_contiguous).requires_grad_();
      Tensor w = random_input(c.weight_shape(), dtype, c.non_contiguous).requires_grad_();
      Tensor b = c.bias ? randn({c.out_channels}, dtype).requires_grad_() : Tensor();
      Tensor gy = randn(c.output_shape(), dtype);
      Tensor y = c.transposed ? conv_transpose2d(x, w, b,
                                                 {.stride = c.stride, .padding = c.padding,
                                                  .output_padding = c.output_padding, .dilation = c.dilation,
                                                  .groups = c.groups})
                              : conv2d(x, w, b,
                                       {.stride = c.stride, .padding = c.padding, .dilation = c.dilation,
                                        .groups = c.groups});
      y.backward(gy);
      const ConvResult ref = naive_conv(c, values(x), values(w), c.bias ? values(b) : Values(), values(gy));
      const Tolerance tol = tolerance_for(dtype);
      check_close(y, from_values(ref.y, c.output_shape(), kFloat64), tol.rtol, tol.atol);
      check_close(x.grad(), from_values(ref.gx, c.input_shape(), kFloat64), tol.rtol, tol.atol);
      check_close(w.grad(), from_values(ref.gw, c.weight_shape(), kFloat64), tol.rtol, tol.atol);
      if (c.bias) check_close(b.grad(), from_values(ref.gb, {c.out_channels}, kFloat64), tol.rtol, tol.atol);
    }
  }
}

// A random valid case: small sizes, every parameter drawn.
ConvCase random_conv_case(bool transposed) {
  for (;;) {
    ConvCase c{};
    c.transposed = transposed;
    c.groups = draw(1, 3);
    c.batch = draw(1, 3);
    c.in_channels = c.groups * draw(1, 3);
    c.out_channels = c.groups * draw(1, 3);
    c.height = draw(1, 9), c.width = draw(1, 9);
    c.kernel_h = draw(1, 4), c.kernel_w = draw(1, 4);
    c.stride = {draw(1, 3), draw(1, 3)};
    c.dilation = {draw(1, 2), draw(1, 2)};
    c.padding = {draw(0, 2), draw(0, 2)};
    c.bias = draw(0, 1) == 1;
    c.non_contiguous = draw(0, 1) == 1;
    if (transposed) {
      c.output_padding = {draw(0, std::max(c.stride[0], c.dilation[0]) - 1),
                          draw(0, std::max(c.stride[1], c.dilation[1]) - 1)};
    }
    const bool valid = transposed ? c.out_h() > 0 && c.out_w() > 0
                                  : c.height + 2 * c.padding[0] >= c.dilation[0] * (c.kernel_h - 1) + 1 &&
                                        c.width + 2 * c.padding[1] >= c.dilation[1] * (c.kernel_w - 1) + 1;
    if (valid) return c;
  }
}

// ---- pooling reference ---------------------------------------------------------------------
struct PoolCase {
  std::int64_t batch, channels, height, width;
  Pool2dParams params;
  std::string describe() const {
    const Pair s = params.stride.value_or(params.kernel);
    std::ostringstream out;
    out << "N" << batch << " C" << channels << " " << height << "x" << width << " k" << params.kernel[0] << "x"
        << params.kernel[1] << " s" << s[0] << "," << s[1] << " p" << params.padding[0] << "," << params.padding[1]
        << (params.ceil_mode ? " ceil" : "") << (params.count_include_pad ? " include_pad" : "");
    return out.str();
  }
};

// PyTorch's output size, written from its documentation: floor or ceil of
// (in + 2p - k) / s + 1, where a ceil-mode window must start inside the input or left padding.
std::int64_t pool_out(std::int64_t in, std::int64_t k, std::int64_t s, std::int64_t p, bool ceil_mode) {
  const double exact = static_cast<double>(in + 2 * p - k) / static_cast<double>(s);
  auto out = static_cast<std::int64_t>(ceil_mode ? std::ceil(exact) : std::floor(exact)) + 1;
  if (ceil_mode && (out - 1) * s >= in + p) --out;
  return out;
}

struct PoolResult {
  Values max, max_grad, avg, avg_grad;
  std::int64_t out_h, out_w;
};

// For every window, visits each of the k*k kernel positions and classifies it as inside the
// input, inside the padding, or beyond the padding (a ceil-mode overhang).
PoolResult naive_pool(const PoolCase& c, const Values& x, const Values& gy_max, const Values& gy_avg) {
  const Pool2dParams& p = c.params;
  const Pair s = p.stride.value_or(p.kernel);
  PoolResult r;
  r.out_h = pool_out(c.height, p.kernel[0], s[0], p.padding[0], p.ceil_mode);
  r.out_w = pool_out(c.width, p.kernel[1], s[1], p.padding[1], p.ceil_mode);
  const std::int64_t planes = c.batch * c.channels, H = c.height, W = c.width;
  r.max.assign(static_cast<std::size_t>(planes * r.out_h * r.out_w), 0.0);
  r.avg = r.max;
  r.max_grad.assign(x.size(), 0.0);
  r.avg_grad = r.max_grad;
  for (std::int64_t plane = 0; plane < planes; ++plane)
    for (std::int64_t oh = 0; oh < r.out_h; ++oh)
      for (std::int64_t ow = 0; ow < r.out_w; ++ow) {
        double best = -INFINITY, sum = 0.0;
        std::int64_t best_at = -1, in_input = 0, in_padded = 0;
        for (std::int64_t kh = 0; kh < p.kernel[0]; ++kh)
          for (std::int64_t kw = 0; kw < p.kernel[1]; ++kw) {
            const std::int64_t ih = oh * s[0] - p.padding[0] + kh, iw = ow * s[1] - p.padding[1] + kw;
            if (ih < H + p.padding[0] && iw < W + p.padding[1]) ++in_padded;
            if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
            ++in_input;
            const std::int64_t at = plane * H * W + ih * W + iw;
            sum += x[static_cast<std::size_t>(at)];
            if (best_at < 0 || x[static_cast<std::size_t>(at)] > best) best = x[static_cast<std::size_t>(at)], best_at = at;
          }
        const auto o = static_cast<std::size_t>((plane * r.out_h + oh) * r.out_w + ow);
        const double divisor = static_cast<double>(p.count_include_pad ? in_padded : in_input);
        r.max[o] = best;
        r.avg[o] = sum / divisor;
        r.max_grad[static_cast<std::size_t>(best_at)] += gy_max[o];
        for (std::int64_t kh = 0; kh < p.kernel[0]; ++kh)
          for (std::int64_t kw = 0; kw < p.kernel[1]; ++kw) {
            const std::int64_t ih = oh * s[0] - p.padding[0] + kh, iw = ow * s[1] - p.padding[1] + kw;
            if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
            r.avg_grad[static_cast<std::size_t>(plane * H * W + ih * W + iw)] += gy_avg[o] / divisor;
          }
      }
  return r;
}

void check_pool_case(const PoolCase& c) {
  for (DType dtype : {kFloat32, kFloat64}) {
    for (bool onednn : onednn_settings()) {
      INFO(c.describe(), " ", dtype_name(dtype), " ", path_name(onednn));
      native::OneDnnGuard guard(onednn);
      Tensor x = randn({c.batch, c.channels, c.height, c.width}, dtype).requires_grad_();
      Tensor y_max = max_pool2d(x, c.params);
      Tensor y_avg = avg_pool2d(x, c.params);
      Tensor gy_max = randn(y_max.sizes(), dtype), gy_avg = randn(y_avg.sizes(), dtype);
      const PoolResult ref = naive_pool(c, values(x), values(gy_max), values(gy_avg));
      const Shape out_shape{c.batch, c.channels, ref.out_h, ref.out_w};
      const Tolerance tol = tolerance_for(dtype);
      check_close(y_max, from_values(ref.max, out_shape, kFloat64), tol.rtol, tol.atol);
      check_close(y_avg, from_values(ref.avg, out_shape, kFloat64), tol.rtol, tol.atol);
      {
        NoGradGuard no_grad;  // inference: max pooling without indices (oneDNN's path)
        check_close(max_pool2d(x, c.params), y_max, 0, 0);
        check_close(avg_pool2d(x, c.params), y_avg, 0, 0);
      }
      auto grads = autograd::grad({y_max, y_avg}, {x}, {gy_max, gy_avg});
      Values expected = ref.max_grad;
      for (std::size_t i = 0; i < expected.size(); ++i) expected[i] += ref.avg_grad[i];
      check_close(grads[0], from_values(expected, x.sizes(), kFloat64), tol.rtol, tol.atol);
    }
  }
}

}  // namespace

// ---- convolution ----------------------------------------------------------------------------
TEST_CASE("conv2d: value and gradients match a direct convolution") {
  manual_seed(11);
  std::vector<ConvCase> cases = {
      {.batch = 2, .in_channels = 3, .out_channels = 4, .height = 7, .width = 6, .kernel_h = 3, .kernel_w = 3},
      {.batch = 1, .in_channels = 2, .out_channels = 3, .height = 8, .width = 9, .kernel_h = 3, .kernel_w = 3,
       .stride = {2, 2}, .padding = {1, 1}},
      {.batch = 2, .in_channels = 1, .out_channels = 8, .height = 28, .width = 28, .kernel_h = 3, .kernel_w = 3,
       .stride = {2, 2}, .padding = {1, 1}},  // the autoencoder's first layer (smaller batch)
      {.batch = 2, .in_channels = 4, .out_channels = 2, .height = 6, .width = 7, .kernel_h = 2, .kernel_w = 4,
       .stride = {1, 2}, .padding = {1, 0}, .bias = false},  // non-square kernel, unequal strides
      {.batch = 1, .in_channels = 4, .out_channels = 6, .height = 9, .width = 9, .kernel_h = 3, .kernel_w = 3,
       .padding = {2, 2}, .dilation = {2, 2}, .groups = 2},
      {.batch = 3, .in_channels = 6, .out_channels = 6, .height = 5, .width = 5, .kernel_h = 3, .kernel_w = 3,
       .padding = {1, 1}, .groups = 6},  // depthwise
      {.batch = 2, .in_channels = 5, .out_channels = 3, .height = 4, .width = 6, .kernel_h = 1, .kernel_w = 1,
       .non_contiguous = true},  // pointwise: the fallback skips im2col
      {.batch = 2, .in_channels = 3, .out_channels = 2, .height = 8, .width = 5, .kernel_h = 3, .kernel_w = 2,
       .stride = {3, 2}, .padding = {0, 1}, .non_contiguous = true},  // rows never read (floor)
      {.batch = 1, .in_channels = 2, .out_channels = 2, .height = 1, .width = 1, .kernel_h = 1, .kernel_w = 1},
  };
  for (int i = 0; i < 14; ++i) cases.push_back(random_conv_case(false));
  for (const ConvCase& c : cases) check_conv_case(c);
}

TEST_CASE("conv_transpose2d: value and gradients match the scatter definition") {
  manual_seed(12);
  std::vector<ConvCase> cases = {
      {.batch = 2, .in_channels = 32, .out_channels = 16, .height = 3, .width = 3, .kernel_h = 3, .kernel_w = 3,
       .stride = {2, 2}, .transposed = true},  // the autoencoder's decoder, first layer
      {.batch = 2, .in_channels = 16, .out_channels = 8, .height = 7, .width = 7, .kernel_h = 3, .kernel_w = 3,
       .stride = {2, 2}, .padding = {1, 1}, .output_padding = {1, 1}, .transposed = true},
      {.batch = 1, .in_channels = 4, .out_channels = 6, .height = 4, .width = 5, .kernel_h = 2, .kernel_w = 3,
       .stride = {2, 1}, .padding = {0, 1}, .groups = 2, .transposed = true},
      {.batch = 2, .in_channels = 3, .out_channels = 2, .height = 5, .width = 4, .kernel_h = 3, .kernel_w = 3,
       .stride = {3, 2}, .padding = {1, 0}, .dilation = {1, 2}, .output_padding = {2, 1}, .bias = false,
       .transposed = true, .non_contiguous = true},  // output_padding beyond padding
      {.batch = 1, .in_channels = 2, .out_channels = 2, .height = 3, .width = 3, .kernel_h = 1, .kernel_w = 1,
       .dilation = {2, 2}, .output_padding = {1, 1}, .transposed = true},  // output_padding < dilation
  };
  for (int i = 0; i < 14; ++i) cases.push_back(random_conv_case(true));
  for (const ConvCase& c : cases) check_conv_case(c);
}

TEST_CASE("conv2d: empty batch, repeated calls, bad arguments") {
  for (bool onednn : onednn_settings()) {
    native::OneDnnGuard guard(onednn);
    Tensor x = zeros({0, 2, 5, 5}).requires_grad_(), w = randn({3, 2, 3, 3}).requires_grad_();
    Tensor y = conv2d(x, w);
    CHECK(y.sizes() == Shape{0, 3, 3, 3});
    y.sum().backward();
    CHECK(values(w.grad()) == Values(54, 0.0));
    // The same shapes twice (cached primitives) give the same numbers.
    Tensor a = randn({2, 2, 6, 6}), k = randn({3, 2, 3, 3}), b = randn({3});
    CHECK(equal(conv2d(a, k, b, {.stride = {2, 2}}), conv2d(a, k, b, {.stride = {2, 2}})));
  }
  Tensor x = randn({1, 4, 5, 5}), w = randn({2, 4, 3, 3});
  CHECK_THROWS_AS(conv2d(x, randn({2, 3, 3, 3})), Error);                      // channel mismatch
  CHECK_THROWS_AS(conv2d(x, randn({3, 2, 3, 3}), {}, {.groups = 2}), Error);   // 3 outputs, 2 groups
  CHECK_THROWS_AS(conv2d(randn({5, 5}), w), Error);                            // neither NCHW nor CHW
  CHECK(conv2d(randn({4, 5, 5}), w).sizes() == Shape{2, 3, 3});                // one unbatched image
  CHECK_THROWS_AS(conv2d(x, randn({2, 4, 7, 7})), Error);                      // kernel > input
  CHECK_THROWS_AS(conv2d(x, w, {}, {.stride = {0, 1}}), Error);
  CHECK_THROWS_AS(conv2d(x, w.to(kFloat64)), Error);                           // dtype mismatch
  CHECK_THROWS_AS(conv2d(x, w, randn({3})), Error);                            // bias size
  CHECK_THROWS_AS(conv2d(x.to(kInt64), w.to(kInt64)), Error);
  CHECK_THROWS_AS(conv_transpose2d(randn({1, 2, 3, 3}), randn({2, 2, 3, 3}), {}, {.stride = {2, 2}, .output_padding = {2, 0}}),
                  Error);
  try {
    conv2d(x, randn({2, 3, 3, 3}));
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("[1, 4, 5, 5]") != std::string::npos);  // names the shapes
  }
}

TEST_CASE("oneDNN switch: set_use_onednn and the guard") {
  const bool before = native::use_onednn();
  CHECK(before == native::onednn_compiled());  // on by default when compiled
  {
    native::OneDnnGuard guard(false);
    CHECK_FALSE(native::use_onednn());
  }
  CHECK(native::use_onednn() == before);
  native::set_use_onednn(true);
  CHECK(native::use_onednn() == native::onednn_compiled());  // cannot switch on what is not there
  native::set_use_onednn(before);
}

// ---- pooling --------------------------------------------------------------------------------
TEST_CASE("pooling: known answers") {
  Tensor x = arange(0.0, 16.0).view({1, 1, 4, 4});
  CHECK(values(max_pool2d(x, {.kernel = {2, 2}})) == Values{5, 7, 13, 15});
  CHECK(values(avg_pool2d(x, {.kernel = {2, 2}})) == Values{2.5, 4.5, 10.5, 12.5});
  // ceil mode on 5x5 with a 2x2 window: 3x3 outputs, the last row/column windows are 1 wide.
  Tensor z = arange(0.0, 25.0).view({1, 1, 5, 5});
  CHECK(values(max_pool2d(z, {.kernel = {2, 2}, .ceil_mode = true})) == Values{6, 8, 9, 16, 18, 19, 21, 23, 24});
  CHECK(values(avg_pool2d(z, {.kernel = {2, 2}, .ceil_mode = true}))[2] == 6.5);  // (4 + 9) / 2
  // padding counted (include_pad) or not: corner window of a 3x3 kernel, stride 1, padding 1.
  Tensor o = ones({1, 1, 3, 3});
  CHECK(values(avg_pool2d(o, {.kernel = {3, 3}, .stride = Pair{1, 1}, .padding = {1, 1}}))[0] == doctest::Approx(4.0 / 9));
  CHECK(values(avg_pool2d(o, {.kernel = {3, 3}, .stride = Pair{1, 1}, .padding = {1, 1}, .count_include_pad = false}))[0] ==
        1.0);
  CHECK(values(adaptive_avg_pool2d(x, {1, 1})) == Values{7.5});
  CHECK(values(adaptive_avg_pool2d(z, {2, 2})) == Values{6, 8, 16, 18});  // windows [0,3) and [2,5)
}

TEST_CASE("pooling: max and avg match naive loops, incl. padding and ceil mode") {
  manual_seed(21);
  std::vector<PoolCase> cases = {
      {2, 3, 6, 6, {.kernel = {2, 2}}},
      {1, 2, 7, 5, {.kernel = {3, 3}, .stride = Pair{2, 2}, .padding = {1, 1}}},
      {2, 2, 7, 7, {.kernel = {3, 2}, .stride = Pair{2, 3}, .padding = {1, 1}, .ceil_mode = true}},
      {1, 3, 5, 8, {.kernel = {2, 3}, .stride = Pair{2, 2}, .padding = {1, 0}, .ceil_mode = true, .count_include_pad = false}},
      {2, 1, 6, 6, {.kernel = {3, 3}, .stride = Pair{1, 1}, .padding = {1, 1}, .count_include_pad = false}},
      {1, 1, 1, 1, {.kernel = {1, 1}}},
  };
  for (int i = 0; i < 12; ++i) {
    PoolCase c{draw(1, 2), draw(1, 3), draw(3, 9), draw(3, 9), {}};
    c.params.kernel = {draw(1, 3), draw(1, 3)};
    c.params.stride = Pair{draw(1, 3), draw(1, 3)};
    c.params.padding = {draw(0, c.params.kernel[0] / 2), draw(0, c.params.kernel[1] / 2)};
    c.params.ceil_mode = draw(0, 1) == 1;
    c.params.count_include_pad = draw(0, 1) == 1;
    cases.push_back(c);
  }
  for (const PoolCase& c : cases) check_pool_case(c);
}

TEST_CASE("pooling: adaptive average pooling matches naive windows; bad arguments") {
  manual_seed(22);
  for (DType dtype : {kFloat32, kFloat64}) {
    for (Pair out : {Pair{1, 1}, Pair{3, 2}, Pair{5, 7}, Pair{7, 7}}) {
      Tensor x = randn({2, 3, 7, 5}, dtype).requires_grad_();
      Tensor y = adaptive_avg_pool2d(x, out);
      Tensor gy = randn(y.sizes(), dtype);
      y.backward(gy);
      const Values xv = values(x), gv = values(gy);
      Values ref(static_cast<std::size_t>(6 * out[0] * out[1])), ref_grad(xv.size(), 0.0);
      for (std::int64_t plane = 0; plane < 6; ++plane)
        for (std::int64_t oh = 0; oh < out[0]; ++oh)
          for (std::int64_t ow = 0; ow < out[1]; ++ow) {
            const auto h0 = static_cast<std::int64_t>(std::floor(double(oh) * 7 / out[0]));
            const auto h1 = static_cast<std::int64_t>(std::ceil(double(oh + 1) * 7 / out[0]));
            const auto w0 = static_cast<std::int64_t>(std::floor(double(ow) * 5 / out[1]));
            const auto w1 = static_cast<std::int64_t>(std::ceil(double(ow + 1) * 5 / out[1]));
            const auto o = static_cast<std::size_t>((plane * out[0] + oh) * out[1] + ow);
            double sum = 0.0;
            for (std::int64_t ih = h0; ih < h1; ++ih)
              for (std::int64_t iw = w0; iw < w1; ++iw) sum += xv[static_cast<std::size_t>(plane * 35 + ih * 5 + iw)];
            ref[o] = sum / double((h1 - h0) * (w1 - w0));
            for (std::int64_t ih = h0; ih < h1; ++ih)
              for (std::int64_t iw = w0; iw < w1; ++iw)
                ref_grad[static_cast<std::size_t>(plane * 35 + ih * 5 + iw)] += gv[o] / double((h1 - h0) * (w1 - w0));
          }
      const Tolerance tol = tolerance_for(dtype);
      check_close(y, from_values(ref, {2, 3, out[0], out[1]}, kFloat64), tol.rtol, tol.atol);
      check_close(x.grad(), from_values(ref_grad, x.sizes(), kFloat64), tol.rtol, tol.atol);
    }
  }
  Tensor x = randn({1, 1, 4, 4});
  CHECK_THROWS_AS(max_pool2d(x, {.kernel = {2, 2}, .padding = {2, 2}}), Error);  // padding > kernel / 2
  CHECK_THROWS_AS(max_pool2d(x, {.kernel = {5, 5}}), Error);
  CHECK_THROWS_AS(avg_pool2d(randn({4, 4}), {.kernel = {2, 2}}), Error);
  CHECK_THROWS_AS(adaptive_avg_pool2d(x, {0, 1}), Error);
}

// ---- batch norm -----------------------------------------------------------------------------
TEST_CASE("batch_norm: training matches the formula, updates running stats; eval is affine") {
  manual_seed(31);
  for (DType dtype : {kFloat32, kFloat64}) {
    for (bool onednn : onednn_settings()) {
      for (const Shape& shape : {Shape{8, 3}, Shape{4, 3, 5, 6}, Shape{2, 5, 1, 7}}) {
        for (bool affine : {true, false}) {
          INFO(shape_str(shape), " ", dtype_name(dtype), " ", path_name(onednn), affine ? " affine" : "");
          native::OneDnnGuard guard(onednn);
          const std::int64_t C = shape[1];
          // An offset mean (|mean| >> std) checks that the statistics are computed stably.
          Tensor x = (randn(shape, dtype) * 0.5 + 3.0).requires_grad_();
          Tensor w = affine ? (randn({C}, dtype) + 1.0).requires_grad_() : Tensor();
          Tensor b = affine ? randn({C}, dtype).requires_grad_() : Tensor();
          Tensor rm = zeros({C}, dtype), rv = ones({C}, dtype);
          Tensor y = batch_norm(x, w, b, rm, rv, true, 0.1, 1e-5);
          Tensor gy = randn(shape, dtype);
          y.backward(gy);
          // Reference in double, channel by channel.
          const Values xv = values(x), gv = values(gy);
          const Values wv = affine ? values(w) : Values(static_cast<std::size_t>(C), 1.0);
          const Values bv = affine ? values(b) : Values(static_cast<std::size_t>(C), 0.0);
          const std::int64_t S = x.numel() / (shape[0] * C), M = shape[0] * S;
          Values ref_y(xv.size()), ref_gx(xv.size()), ref_gw(static_cast<std::size_t>(C)), ref_gb(ref_gw.size());
          Values ref_rm(ref_gw.size()), ref_rv(ref_gw.size());
          for (std::int64_t c = 0; c < C; ++c) {
            auto index = [&](std::int64_t m) { return static_cast<std::size_t>((m / S * C + c) * S + m % S); };
            double mean = 0, var = 0, sum_g = 0, sum_g_xhat = 0;
            for (std::int64_t m = 0; m < M; ++m) mean += xv[index(m)] / double(M);
            for (std::int64_t m = 0; m < M; ++m) var += (xv[index(m)] - mean) * (xv[index(m)] - mean) / double(M);
            const double invstd = 1 / std::sqrt(var + 1e-5);
            const auto cc = static_cast<std::size_t>(c);
            for (std::int64_t m = 0; m < M; ++m) {
              const double xhat = (xv[index(m)] - mean) * invstd;
              ref_y[index(m)] = wv[cc] * xhat + bv[cc];
              sum_g += gv[index(m)];
              sum_g_xhat += gv[index(m)] * xhat;
            }
            for (std::int64_t m = 0; m < M; ++m) {
              const double xhat = (xv[index(m)] - mean) * invstd;
              ref_gx[index(m)] = wv[cc] * invstd / double(M) * (double(M) * gv[index(m)] - sum_g - xhat * sum_g_xhat);
            }
            ref_gw[cc] = sum_g_xhat, ref_gb[cc] = sum_g;
            ref_rm[cc] = 0.1 * mean, ref_rv[cc] = 0.9 + 0.1 * var * double(M) / double(M - 1);
          }
          const Tolerance tol = dtype == kFloat32 ? Tolerance{1e-4, 1e-4} : Tolerance{1e-9, 1e-9};
          check_close(y, from_values(ref_y, shape, kFloat64), tol.rtol, tol.atol);
          check_close(x.grad(), from_values(ref_gx, shape, kFloat64), tol.rtol, tol.atol);
          check_close(rm, from_values(ref_rm, {C}, kFloat64), tol.rtol, tol.atol);
          check_close(rv, from_values(ref_rv, {C}, kFloat64), tol.rtol, tol.atol);
          if (affine) {
            check_close(w.grad(), from_values(ref_gw, {C}, kFloat64), tol.rtol, tol.atol);
            check_close(b.grad(), from_values(ref_gb, {C}, kFloat64), tol.rtol, tol.atol);
          }
          // Evaluation mode with these running stats: (x - rm) / sqrt(rv + eps) * w + b.
          Tensor y_eval = batch_norm(x, w, b, rm, rv, false, 0.1, 1e-5);
          Values ref_eval(xv.size());
          const Values rmv = values(rm), rvv = values(rv);
          for (std::size_t i = 0; i < xv.size(); ++i) {
            const auto cc = static_cast<std::size_t>(static_cast<std::int64_t>(i) / S % C);
            ref_eval[i] = (xv[i] - rmv[cc]) / std::sqrt(rvv[cc] + 1e-5) * wv[cc] + bv[cc];
          }
          check_close(y_eval, from_values(ref_eval, shape, kFloat64), tol.rtol, tol.atol);
        }
      }
    }
  }
  CHECK_THROWS_AS(batch_norm(randn({1, 3}), {}, {}, {}, {}, true), Error);           // one value per channel
  CHECK_THROWS_AS(batch_norm(randn({4, 3}), randn({2}), {}, {}, {}, true), Error);   // weight size
  CHECK_THROWS_AS(batch_norm(randn({4, 3}), {}, {}, {}, {}, false), Error);          // eval without stats
}

// ---- softmax --------------------------------------------------------------------------------
TEST_CASE("softmax and log_softmax: sums to 1, match exp(x)/sum, stable for large inputs") {
  manual_seed(41);
  for (DType dtype : {kFloat32, kFloat64}) {
    const Tolerance tol = dtype == kFloat32 ? Tolerance{1e-5, 1e-6} : Tolerance{1e-12, 1e-14};
    for (std::int64_t dim : {0, 1, 2, -1}) {
      for (double scale : {1.0, 1000.0}) {
        INFO(dtype_name(dtype), " dim ", dim, " scale ", scale);
        // Large inputs (entries up to ~1e4, differences ~1e3) overflow a naive exp in any dtype.
        Tensor x = random_input({3, 4, 5}, dtype, dim == 1) * scale + (scale > 1 ? 1e4 : 0.0);
        Tensor y = softmax(x, dim), ly = log_softmax(x, dim);
        const std::int64_t d = dim < 0 ? dim + 3 : dim;
        // Reference in double: exp(x - max) / sum, along d.
        const Values xv = values(x);
        Values ref(xv.size()), ref_log(xv.size());
        const Shape sizes{3, 4, 5};
        const Shape strides{20, 5, 1};
        for (std::size_t i = 0; i < xv.size(); ++i) {
          const auto base = static_cast<std::int64_t>(i) - (static_cast<std::int64_t>(i) / strides[d] % sizes[d]) * strides[d];
          double m = -INFINITY, sum = 0;
          for (std::int64_t k = 0; k < sizes[d]; ++k) m = std::max(m, xv[static_cast<std::size_t>(base + k * strides[d])]);
          for (std::int64_t k = 0; k < sizes[d]; ++k) sum += std::exp(xv[static_cast<std::size_t>(base + k * strides[d])] - m);
          ref[i] = std::exp(xv[i] - m) / sum;
          ref_log[i] = xv[i] - m - std::log(sum);
        }
        check_close(y, from_values(ref, sizes, kFloat64), tol.rtol, tol.atol);
        check_close(ly, from_values(ref_log, sizes, kFloat64), tol.rtol, tol.atol * scale);
        const Tensor row_sums = y.sum({d});
        check_close(row_sums, ones_like(row_sums), 1e-5, 1e-6);
      }
    }
  }
  // A zero-dim tensor is a one-element row; an empty tensor stays empty.
  CHECK(softmax(tensor({3.0}, {}).view({}), 0).item<double>() == 1.0);
  CHECK(log_softmax(zeros({0, 4}), 1).sizes() == Shape{0, 4});
  CHECK_THROWS_AS(softmax(randn({2, 3}), 2), Error);
  CHECK_THROWS_AS(softmax(ones({3}, kInt64), 0), Error);
}

TEST_CASE("softmax over long rows: the row loops agree with the column blocks, forward and backward") {
  // Rows of 1037 (no vector width divides it) take the vectorised row path (inner == 1); the
  // same numbers laid out as columns take the block path. Both must agree, and a NaN must
  // spoil its own row only.
  manual_seed(42);
  for (DType dtype : {kFloat32, kFloat64}) {
    INFO(dtype_name(dtype));
    const double rtol = dtype == kFloat32 ? 1e-5 : 1e-13;
    for (bool log : {false, true}) {
      Tensor x = (randn({6, 1037}) * 4.0).to(dtype);
      const Tensor g = randn({6, 1037}).to(dtype);
      const Tensor columns = x.t().contiguous();
      const auto run = [&](const Tensor& input, std::int64_t dim) {
        return log ? log_softmax(input, dim) : softmax(input, dim);
      };
      const Tensor by_rows = run(x, 1), by_columns = run(columns, 0).t();
      check_close(by_rows, by_columns, rtol, rtol);
      const auto backward = [&](const Tensor& grad, const Tensor& y, std::int64_t dim) {
        return log ? native::log_softmax_backward(grad, y, dim) : native::softmax_backward(grad, y, dim);
      };
      const Tensor back_rows = backward(g, by_rows, 1);
      const Tensor back_columns = backward(g.t().contiguous(), run(columns, 0), 0).t();
      check_close(back_rows, back_columns, rtol, rtol * 10);
      x.index_put_({1, 500}, std::numeric_limits<double>::quiet_NaN());
      const Tensor spoiled = run(x, 1);
      CHECK(isnan(spoiled.select(0, 1)).all().item<bool>());
      CHECK_FALSE(isnan(spoiled.select(0, 0)).any().item<bool>());
    }
  }
}
