#include "cake/data/transforms.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "cake/autograd/ops.h"
#include "cake/tensor/creation.h"
#include "cake/tensor/native/elementwise.h"
#include "cake/tensor/parallel.h"

namespace cake::data {
namespace {

// The batch as a contiguous CPU [N, C, H, W] floating tensor, or an error naming `op`.
Tensor image_batch(const Tensor& batch, const char* op) {
  CAKE_CHECK(batch.defined() && batch.dim() == 4, op, ": expected images [N, C, H, W], got ",
             batch.defined() ? shape_str(batch.sizes()) : "an undefined tensor");
  CAKE_CHECK(batch.is_cpu(), op, ": expected a CPU tensor, got one on ", batch.device());
  CAKE_CHECK(batch.is_floating_point(), op, ": expected float32 or float64 images, got ", dtype_name(batch.dtype()));
  return native::contiguous(batch.detach());
}

// Bilinear value of plane p [h, w] at (y, x) in pixel coordinates; 0 outside the image.
template <class T>
T bilinear_zero(const T* p, std::int64_t h, std::int64_t w, double y, double x) {
  const double y0f = std::floor(y), x0f = std::floor(x);
  const auto y0 = static_cast<std::int64_t>(y0f), x0 = static_cast<std::int64_t>(x0f);
  const double dy = y - y0f, dx = x - x0f;
  auto at = [&](std::int64_t i, std::int64_t j) -> double {
    return i >= 0 && i < h && j >= 0 && j < w ? static_cast<double>(p[i * w + j]) : 0.0;
  };
  return static_cast<T>((1 - dy) * ((1 - dx) * at(y0, x0) + dx * at(y0, x0 + 1)) +
                        dy * ((1 - dx) * at(y0 + 1, x0) + dx * at(y0 + 1, x0 + 1)));
}

// Per-sample int64 draws in [0, high) from the global generator.
std::vector<std::int64_t> draw_ints(std::int64_t count, std::int64_t high) {
  std::vector<std::int64_t> out(static_cast<std::size_t>(count));
  if (count == 0) return out;
  const Tensor draws = randint(0, high, {count});
  std::copy_n(draws.data_ptr<std::int64_t>(), count, out.begin());
  return out;
}

}  // namespace

Tensor Compose::operator()(Tensor batch) const {
  for (const auto& step : steps_) batch = step(std::move(batch));
  return batch;
}

// ---- Normalize ------------------------------------------------------------------------------
Normalize::Normalize(std::vector<double> mean_, std::vector<double> std_) : mean(std::move(mean_)), std(std::move(std_)) {
  CAKE_CHECK(!mean.empty() && mean.size() == std.size(), "Normalize: need as many means as stds, got ", mean.size(),
             " and ", std.size());
  for (double s : std) CAKE_CHECK(s > 0, "Normalize: every std must be positive, got ", s);
}

Tensor Normalize::operator()(Tensor batch) const {
  CAKE_CHECK(batch.defined() && batch.dim() >= 2, "Normalize: expected a batch [N, C, ...], got ",
             batch.defined() ? shape_str(batch.sizes()) : "an undefined tensor");
  const std::int64_t channels = batch.size(1);
  const auto given = static_cast<std::int64_t>(mean.size());
  CAKE_CHECK(given == 1 || given == channels, "Normalize: ", given, " means for ", channels, " channels (batch ",
             batch.sizes(), ")");
  // mean and std as [1, C, 1, ...] so that they broadcast over samples and pixels.
  Shape shape(static_cast<std::size_t>(batch.dim()), 1);
  shape[1] = given;
  const Tensor m = tensor(mean, shape, {batch.dtype(), batch.device()});
  const Tensor s = tensor(std, shape, {batch.dtype(), batch.device()});
  return (batch - m) / s;
}

// ---- RandomCrop ---------------------------------------------------------------------------
RandomCrop::RandomCrop(std::int64_t size_, std::int64_t padding_) : size(size_), padding(padding_) {
  CAKE_CHECK(size > 0 && padding >= 0, "RandomCrop: need size > 0 and padding >= 0, got size ", size, ", padding ",
             padding);
}

Tensor RandomCrop::operator()(Tensor input) const {
  const Tensor x = image_batch(input, "RandomCrop");
  const std::int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  CAKE_CHECK(size <= h + 2 * padding && size <= w + 2 * padding, "RandomCrop: a ", size, "x", size,
             " crop does not fit images ", x.sizes(), " padded by ", padding);
  // Offsets of the window's top-left corner in the padded image.
  const std::vector<std::int64_t> top = draw_ints(n, h + 2 * padding - size + 1);
  const std::vector<std::int64_t> left = draw_ints(n, w + 2 * padding - size + 1);
  Tensor out = make_empty({n, c, size, size}, x.dtype(), kCPU);
  visit_floating(x.dtype(), "RandomCrop", [&]<class T>() {
    const T* src = x.data_ptr<T>();
    T* dst = out.data_ptr<T>();
    parallel_for(0, n * c, 16, [&](std::int64_t lo, std::int64_t hi) {
      for (std::int64_t plane = lo; plane < hi; ++plane) {
        const std::int64_t sample = plane / c;
        const T* in = src + plane * h * w;
        T* o = dst + plane * size * size;
        for (std::int64_t i = 0; i < size; ++i) {
          const std::int64_t row = top[sample] + i - padding;  // row in the unpadded image
          for (std::int64_t j = 0; j < size; ++j) {
            const std::int64_t col = left[sample] + j - padding;
            const bool inside = row >= 0 && row < h && col >= 0 && col < w;
            o[i * size + j] = inside ? in[row * w + col] : T(0);
          }
        }
      }
    });
  });
  return out;
}

// ---- RandomHorizontalFlip -----------------------------------------------------------------
RandomHorizontalFlip::RandomHorizontalFlip(double p_) : p(p_) {
  CAKE_CHECK(p >= 0.0 && p <= 1.0, "RandomHorizontalFlip: p must be in [0, 1], got ", p);
}

Tensor RandomHorizontalFlip::operator()(Tensor input) const {
  const Tensor x = image_batch(input, "RandomHorizontalFlip");
  const std::int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  const Tensor coins = rand({n}, kFloat64);
  const double* coin = coins.data_ptr<double>();
  Tensor out = make_empty(x.sizes(), x.dtype(), kCPU);
  visit_floating(x.dtype(), "RandomHorizontalFlip", [&]<class T>() {
    const T* src = x.data_ptr<T>();
    T* dst = out.data_ptr<T>();
    parallel_for(0, n * c, 16, [&](std::int64_t lo, std::int64_t hi) {
      for (std::int64_t plane = lo; plane < hi; ++plane) {
        const bool flip = coin[plane / c] < p;
        for (std::int64_t i = 0; i < h; ++i) {
          const T* in = src + (plane * h + i) * w;
          T* o = dst + (plane * h + i) * w;
          if (flip)
            std::reverse_copy(in, in + w, o);
          else
            std::copy(in, in + w, o);
        }
      }
    });
  });
  return out;
}

// ---- GaussianNoise ------------------------------------------------------------------------
GaussianNoise::GaussianNoise(double sigma_, bool clip_) : sigma(sigma_), clip(clip_) {
  CAKE_CHECK(sigma >= 0, "GaussianNoise: sigma must be non-negative, got ", sigma);
}

Tensor GaussianNoise::operator()(Tensor batch) const {
  CAKE_CHECK(batch.defined(), "GaussianNoise: undefined batch");
  CAKE_CHECK(batch.is_floating_point(), "GaussianNoise: expected a float32 or float64 batch, got ",
             dtype_name(batch.dtype()));
  Tensor noisy = batch.detach() + randn_like(batch) * sigma;
  return clip ? noisy.clamp(0.0, 1.0) : noisy;
}

// ---- RandomMask ---------------------------------------------------------------------------
RandomMask::RandomMask(std::int64_t patch_, double ratio_, double fill_) : patch(patch_), ratio(ratio_), fill(fill_) {
  CAKE_CHECK(patch > 0, "RandomMask: patch must be positive, got ", patch);
  CAKE_CHECK(ratio >= 0.0 && ratio <= 1.0, "RandomMask: ratio must be in [0, 1], got ", ratio);
}

MaskedBatch RandomMask::apply(Tensor input) const {
  const Tensor x = image_batch(input, "RandomMask");
  const std::int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  const std::int64_t grid_h = (h + patch - 1) / patch, grid_w = (w + patch - 1) / patch;
  const std::int64_t patches = grid_h * grid_w;
  const auto hidden = static_cast<std::int64_t>(std::llround(ratio * static_cast<double>(patches)));
  // A uniform random subset per sample: the `hidden` patches with the smallest random keys.
  const Tensor keys = rand({n, patches}, kFloat64);
  std::vector<std::uint8_t> is_hidden(static_cast<std::size_t>(n * patches), 0);
  parallel_for(0, n, 8, [&](std::int64_t lo, std::int64_t hi) {
    std::vector<std::int64_t> order(static_cast<std::size_t>(patches));
    for (std::int64_t s = lo; s < hi; ++s) {
      const double* key = keys.data_ptr<double>() + s * patches;
      std::iota(order.begin(), order.end(), 0);
      std::nth_element(order.begin(), order.begin() + hidden, order.end(),
                       [&](std::int64_t a, std::int64_t b) { return key[a] < key[b]; });
      for (std::int64_t k = 0; k < hidden; ++k) is_hidden[s * patches + order[k]] = 1;
    }
  });
  MaskedBatch result{make_empty(x.sizes(), x.dtype(), kCPU), make_empty({n, 1, h, w}, x.dtype(), kCPU)};
  visit_floating(x.dtype(), "RandomMask", [&]<class T>() {
    const T* src = x.data_ptr<T>();
    T* dst = result.masked.data_ptr<T>();
    T* mask = result.mask.data_ptr<T>();
    for (std::int64_t s = 0; s < n; ++s)
      for (std::int64_t i = 0; i < h; ++i)
        for (std::int64_t j = 0; j < w; ++j)
          mask[(s * h + i) * w + j] = is_hidden[s * patches + (i / patch) * grid_w + j / patch] ? T(1) : T(0);
    parallel_for(0, n * c, 16, [&](std::int64_t lo, std::int64_t hi) {
      for (std::int64_t plane = lo; plane < hi; ++plane) {
        const T* m = mask + (plane / c) * h * w;
        for (std::int64_t k = 0; k < h * w; ++k)
          dst[plane * h * w + k] = m[k] != T(0) ? static_cast<T>(fill) : src[plane * h * w + k];
      }
    });
  });
  return result;
}

// ---- RandomResizedCrop --------------------------------------------------------------------
RandomResizedCrop::RandomResizedCrop(std::int64_t size_, double scale_min_, double scale_max_, double ratio_min_,
                                     double ratio_max_)
    : size(size_), scale_min(scale_min_), scale_max(scale_max_), ratio_min(ratio_min_), ratio_max(ratio_max_) {
  CAKE_CHECK(size > 0, "RandomResizedCrop: size must be positive, got ", size);
  CAKE_CHECK(scale_min > 0 && scale_min <= scale_max && scale_max <= 1.0,
             "RandomResizedCrop: need 0 < scale_min <= scale_max <= 1, got ", scale_min, " and ", scale_max);
  CAKE_CHECK(ratio_min > 0 && ratio_min <= ratio_max, "RandomResizedCrop: need 0 < ratio_min <= ratio_max, got ",
             ratio_min, " and ", ratio_max);
}

Tensor RandomResizedCrop::operator()(Tensor input) const {
  const Tensor x = image_batch(input, "RandomResizedCrop");
  const std::int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  constexpr std::int64_t kTries = 10;
  // Four uniforms per try (area, log-ratio, top, left), drawn at once for the batch.
  const Tensor draws = rand({std::max<std::int64_t>(n, 1), kTries, 4}, kFloat64);
  const double* u = draws.data_ptr<double>();
  struct Window { double top, left, height, width; };
  std::vector<Window> windows(static_cast<std::size_t>(n));
  const double area = static_cast<double>(h * w);
  for (std::int64_t s = 0; s < n; ++s) {
    windows[s] = {0.0, 0.0, static_cast<double>(h), static_cast<double>(w)};  // the fallback: the whole image
    for (std::int64_t t = 0; t < kTries; ++t) {
      const double* v = u + (s * kTries + t) * 4;
      const double target = area * (scale_min + (scale_max - scale_min) * v[0]);
      const double ratio = std::exp(std::log(ratio_min) + (std::log(ratio_max) - std::log(ratio_min)) * v[1]);
      const auto cw = static_cast<std::int64_t>(std::llround(std::sqrt(target * ratio)));
      const auto ch = static_cast<std::int64_t>(std::llround(std::sqrt(target / ratio)));
      if (cw < 1 || ch < 1 || cw > w || ch > h) continue;
      const auto top = std::min(h - ch, static_cast<std::int64_t>(v[2] * static_cast<double>(h - ch + 1)));
      const auto left = std::min(w - cw, static_cast<std::int64_t>(v[3] * static_cast<double>(w - cw + 1)));
      windows[s] = {static_cast<double>(top), static_cast<double>(left), static_cast<double>(ch), static_cast<double>(cw)};
      break;
    }
  }
  Tensor out = make_empty({n, c, size, size}, x.dtype(), kCPU);
  visit_floating(x.dtype(), "RandomResizedCrop", [&]<class T>() {
    const T* src = x.data_ptr<T>();
    T* dst = out.data_ptr<T>();
    parallel_for(0, n * c, 16, [&](std::int64_t lo, std::int64_t hi) {
      for (std::int64_t plane = lo; plane < hi; ++plane) {
        const Window& win = windows[plane / c];
        const T* in = src + plane * h * w;
        T* o = dst + plane * size * size;
        const double sy = win.height / static_cast<double>(size), sx = win.width / static_cast<double>(size);
        for (std::int64_t i = 0; i < size; ++i) {
          // Pixel centres aligned (align_corners = false), clamped to the window's edge pixels.
          const double y = std::clamp(win.top + (static_cast<double>(i) + 0.5) * sy - 0.5, win.top,
                                      win.top + win.height - 1.0);
          for (std::int64_t j = 0; j < size; ++j) {
            const double xx = std::clamp(win.left + (static_cast<double>(j) + 0.5) * sx - 0.5, win.left,
                                         win.left + win.width - 1.0);
            o[i * size + j] = bilinear_zero(in, h, w, y, xx);
          }
        }
      }
    });
  });
  return out;
}

// ---- RandomAffine -------------------------------------------------------------------------
RandomAffine::RandomAffine(double degrees_, double translate_, double scale_min_, double scale_max_)
    : degrees(degrees_), translate(translate_), scale_min(scale_min_), scale_max(scale_max_) {
  CAKE_CHECK(degrees >= 0 && degrees <= 180, "RandomAffine: degrees must be in [0, 180], got ", degrees);
  CAKE_CHECK(translate >= 0 && translate < 1, "RandomAffine: translate must be in [0, 1), got ", translate);
  CAKE_CHECK(scale_min > 0 && scale_min <= scale_max, "RandomAffine: need 0 < scale_min <= scale_max, got ", scale_min,
             " and ", scale_max);
}

Tensor RandomAffine::operator()(Tensor input) const {
  const Tensor x = image_batch(input, "RandomAffine");
  const std::int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  // Four uniforms per sample: angle, shift x, shift y, zoom.
  const Tensor draws = rand({std::max<std::int64_t>(n, 1), 4}, kFloat64);
  const double* u = draws.data_ptr<double>();
  constexpr double kPi = 3.14159265358979323846;
  const double cy = (static_cast<double>(h) - 1) / 2, cx = (static_cast<double>(w) - 1) / 2;
  Tensor out = make_empty(x.sizes(), x.dtype(), kCPU);
  visit_floating(x.dtype(), "RandomAffine", [&]<class T>() {
    const T* src = x.data_ptr<T>();
    T* dst = out.data_ptr<T>();
    parallel_for(0, n * c, 16, [&](std::int64_t lo, std::int64_t hi) {
      for (std::int64_t plane = lo; plane < hi; ++plane) {
        const double* v = u + (plane / c) * 4;
        const double angle = (2 * v[0] - 1) * degrees * kPi / 180;
        const double tx = (2 * v[1] - 1) * translate * static_cast<double>(w);
        const double ty = (2 * v[2] - 1) * translate * static_cast<double>(h);
        const double zoom = scale_min + (scale_max - scale_min) * v[3];
        // Output pixel q comes from p = R(-angle) (q - centre - t) / zoom + centre: the inverse of
        // "zoom, rotate about the centre, then shift", so every output pixel has one source.
        const double cs = std::cos(angle) / zoom, sn = std::sin(angle) / zoom;
        const T* in = src + plane * h * w;
        T* o = dst + plane * h * w;
        for (std::int64_t i = 0; i < h; ++i)
          for (std::int64_t j = 0; j < w; ++j) {
            const double qy = static_cast<double>(i) - cy - ty, qx = static_cast<double>(j) - cx - tx;
            o[i * w + j] = bilinear_zero(in, h, w, cs * qy - sn * qx + cy, sn * qy + cs * qx + cx);
          }
      }
    });
  });
  return out;
}

// ---- Sobel --------------------------------------------------------------------------------
Tensor Sobel::operator()(Tensor input) const {
  const Tensor x = image_batch(input, "Sobel");
  const std::int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  CAKE_CHECK(c == 1 || c == 3, "Sobel: expected 1 (grey) or 3 (RGB) channels, got ", c, " (batch ", x.sizes(), ")");
  Tensor out = make_empty({n, 2, h, w}, x.dtype(), kCPU);
  visit_floating(x.dtype(), "Sobel", [&]<class T>() {
    const T* src = x.data_ptr<T>();
    T* dst = out.data_ptr<T>();
    parallel_for(0, n, 4, [&](std::int64_t lo, std::int64_t hi) {
      std::vector<T> grey(static_cast<std::size_t>(h * w));
      for (std::int64_t s = lo; s < hi; ++s) {
        const T* image = src + s * c * h * w;
        for (std::int64_t k = 0; k < h * w; ++k) {
          T sum = 0;
          for (std::int64_t ch = 0; ch < c; ++ch) sum += image[ch * h * w + k];
          grey[k] = sum / static_cast<T>(c);
        }
        // g(i, j) with zero padding outside the image.
        auto g = [&](std::int64_t i, std::int64_t j) { return i >= 0 && i < h && j >= 0 && j < w ? grey[i * w + j] : T(0); };
        T* gx = dst + s * 2 * h * w;
        T* gy = gx + h * w;
        for (std::int64_t i = 0; i < h; ++i)
          for (std::int64_t j = 0; j < w; ++j) {
            // Gx: left column minus right column, weights 1, 2, 1 down the rows.
            gx[i * w + j] = (g(i - 1, j - 1) + 2 * g(i, j - 1) + g(i + 1, j - 1)) -
                            (g(i - 1, j + 1) + 2 * g(i, j + 1) + g(i + 1, j + 1));
            // Gy: top row minus bottom row, weights 1, 2, 1 across the columns.
            gy[i * w + j] = (g(i - 1, j - 1) + 2 * g(i - 1, j) + g(i - 1, j + 1)) -
                            (g(i + 1, j - 1) + 2 * g(i + 1, j) + g(i + 1, j + 1));
          }
      }
    });
  });
  return out;
}

// ---- RandomBrightnessContrast --------------------------------------------------------------
RandomBrightnessContrast::RandomBrightnessContrast(double brightness_, double contrast_, double p_)
    : brightness(brightness_), contrast(contrast_), p(p_) {
  CAKE_CHECK(brightness >= 0 && brightness <= 1, "RandomBrightnessContrast: brightness must be in [0, 1], got ",
             brightness);
  CAKE_CHECK(contrast >= 0 && contrast <= 1, "RandomBrightnessContrast: contrast must be in [0, 1], got ", contrast);
  CAKE_CHECK(p >= 0 && p <= 1, "RandomBrightnessContrast: p must be in [0, 1], got ", p);
}

Tensor RandomBrightnessContrast::operator()(Tensor input) const {
  const Tensor x = image_batch(input, "RandomBrightnessContrast");
  const std::int64_t n = x.size(0);
  if (brightness == 0.0 && contrast == 0.0) return x.clone();  // factors of 1: nothing to draw
  // Three uniforms per sample: brightness, contrast, whether to jitter at all.
  const Tensor u = rand({n, 3}, kFloat64);
  const Tensor applied = u.narrow(1, 2, 1).lt(p).to(kFloat64);  // [n, 1]
  const Tensor b = 1.0 + applied * (brightness * (2.0 * u.narrow(1, 0, 1) - 1.0));
  const Tensor c = 1.0 + applied * (contrast * (2.0 * u.narrow(1, 1, 1) - 1.0));
  const Shape per_sample{n, 1, 1, 1};
  const Tensor lit = (x * b.reshape(per_sample).to(x.dtype())).clamp(0.0, 1.0);
  const Tensor mean = lit.mean(Shape{1, 2, 3}, true);
  const Tensor jittered = ((lit - mean) * c.reshape(per_sample).to(x.dtype()) + mean).clamp(0.0, 1.0);
  // The samples left out keep their exact values (x - mean + mean need not round back to x).
  return where(applied.reshape(per_sample).gt(0.5), jittered, x);
}

}  // namespace cake::data
