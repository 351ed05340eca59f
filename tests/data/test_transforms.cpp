// Tests for data/transforms.h: known answers, naive references (Sobel as an explicit 3x3
// cross-correlation, crops searched over every offset), statistics of the random transforms,
// reproducibility under manual_seed, and the errors.
#include <cmath>
#include <set>

#include "cake/data/transforms.h"
#include "helpers.h"

using namespace cake;
using namespace cake::data;
using cake::testing::check_close;
using cake::testing::values;

namespace {
// Element (n, c, i, j) of a contiguous [N, C, H, W] value list.
struct Image4 {
  std::vector<double> v;
  std::int64_t n, c, h, w;
  explicit Image4(const Tensor& t) : v(values(t)), n(t.size(0)), c(t.size(1)), h(t.size(2)), w(t.size(3)) {}
  double at(std::int64_t s, std::int64_t ch, std::int64_t i, std::int64_t j) const {
    return v[((s * c + ch) * h + i) * w + j];
  }
};

// The naive Sobel: grey = channel mean, then out[k](i, j) = sum_ab K_k[a][b] grey(i + a - 1, j + b - 1).
std::vector<double> naive_sobel(const Tensor& x) {
  const Image4 im(x);
  const double kx[3][3] = {{1, 0, -1}, {2, 0, -2}, {1, 0, -1}};
  const double ky[3][3] = {{1, 2, 1}, {0, 0, 0}, {-1, -2, -1}};
  auto grey = [&](std::int64_t s, std::int64_t i, std::int64_t j) {
    if (i < 0 || i >= im.h || j < 0 || j >= im.w) return 0.0;
    double sum = 0;
    for (std::int64_t ch = 0; ch < im.c; ++ch) sum += im.at(s, ch, i, j);
    return sum / static_cast<double>(im.c);
  };
  std::vector<double> out;
  for (std::int64_t s = 0; s < im.n; ++s)
    for (const auto* k : {kx, ky})
      for (std::int64_t i = 0; i < im.h; ++i)
        for (std::int64_t j = 0; j < im.w; ++j) {
          double sum = 0;
          for (int a = 0; a < 3; ++a)
            for (int b = 0; b < 3; ++b) sum += k[a][b] * grey(s, i + a - 1, j + b - 1);
          out.push_back(sum);
        }
  return out;
}
}  // namespace

TEST_CASE("transforms: Normalize per channel, or one value for all") {
  const Tensor x = tensor({1, 2, 3, 4, 5, 6, 7, 8}, {2, 2, 1, 2});  // N=2, C=2, 1x2 images
  const Tensor y = Normalize({1.0, 3.0}, {2.0, 0.5})(x);
  check_close(y, tensor({0, 0.5, 0, 2, 2, 2.5, 8, 10}, {2, 2, 1, 2}));
  check_close(Normalize({1.0}, {2.0})(x), (x - 1.0) / 2.0);
  // Flat features [N, D] normalise per feature (dim 1), and float64 stays float64.
  const Tensor flat = tensor({1, 10, 3, 30}, {2, 2}, kFloat64);
  const Tensor z = Normalize({2.0, 20.0}, {1.0, 10.0})(flat);
  CHECK(z.dtype() == kFloat64);
  CHECK(values(z) == std::vector<double>{-1, -1, 1, 1});
  CHECK_THROWS_AS(Normalize({0.5, 0.5, 0.5}, {1.0, 1.0, 1.0})(x), Error);  // 3 means, 2 channels
  CHECK_THROWS_AS(Normalize({0.5}, {0.0}), Error);
  CHECK_THROWS_AS(Normalize({0.5, 0.1}, {1.0}), Error);
}

TEST_CASE("transforms: RandomCrop cuts a window of the zero-padded image, at random offsets") {
  manual_seed(3);
  const Tensor x = rand({64, 2, 6, 5});
  const std::int64_t size = 4, pad = 2;
  const Tensor y = RandomCrop(size, pad)(x);
  CHECK(y.sizes() == Shape{64, 2, 4, 4});
  const Image4 in(x), out(y);
  std::set<std::pair<std::int64_t, std::int64_t>> offsets_used;
  for (std::int64_t s = 0; s < 64; ++s) {
    // Search every offset of the padded image for the one this crop came from.
    bool found = false;
    for (std::int64_t top = 0; top <= 6 + 2 * pad - size && !found; ++top)
      for (std::int64_t left = 0; left <= 5 + 2 * pad - size && !found; ++left) {
        bool same = true;
        for (std::int64_t ch = 0; ch < 2; ++ch)
          for (std::int64_t i = 0; i < size; ++i)
            for (std::int64_t j = 0; j < size; ++j) {
              const std::int64_t r = top + i - pad, c = left + j - pad;
              const double expected = r >= 0 && r < 6 && c >= 0 && c < 5 ? in.at(s, ch, r, c) : 0.0;
              same = same && out.at(s, ch, i, j) == expected;
            }
        if (same) offsets_used.insert({top, left}), found = true;
      }
    CHECK(found);
  }
  CHECK(offsets_used.size() > 20);  // 9 x 8 possible offsets; 64 draws hit many of them
  // The same seed gives the same crops; a full-size crop without padding is the identity.
  manual_seed(3);
  const Tensor again = RandomCrop(size, pad)(rand({64, 2, 6, 5}));
  CHECK(equal(again, y));
  const Tensor square = rand({3, 1, 6, 6});
  CHECK(equal(RandomCrop(6)(square), square));
  CHECK_THROWS_AS(RandomCrop(9, 1)(square), Error);  // 9 > 6 + 2
  CHECK_THROWS_AS(RandomCrop(0), Error);
}

TEST_CASE("transforms: RandomHorizontalFlip mirrors about a fraction p of the samples") {
  manual_seed(5);
  const Tensor x = rand({400, 1, 2, 3}, kFloat64);
  CHECK(equal(RandomHorizontalFlip(0.0)(x), x));
  const Tensor mirrored = RandomHorizontalFlip(1.0)(x);
  const Image4 in(x), all(mirrored);
  for (std::int64_t s = 0; s < 400; ++s)
    for (std::int64_t i = 0; i < 2; ++i)
      for (std::int64_t j = 0; j < 3; ++j) REQUIRE(all.at(s, 0, i, j) == in.at(s, 0, i, 2 - j));
  const Image4 half(RandomHorizontalFlip(0.5)(x));
  int flipped = 0;
  for (std::int64_t s = 0; s < 400; ++s) {
    const bool same = half.at(s, 0, 0, 0) == in.at(s, 0, 0, 0) && half.at(s, 0, 1, 2) == in.at(s, 0, 1, 2);
    const bool mirror = half.at(s, 0, 0, 0) == in.at(s, 0, 0, 2) && half.at(s, 0, 1, 2) == in.at(s, 0, 1, 0);
    REQUIRE(same != mirror);  // each sample is exactly one of the two
    flipped += mirror;
  }
  CHECK(flipped > 150);  // Binomial(400, 0.5): 200 +- 10
  CHECK(flipped < 250);
  CHECK_THROWS_AS(RandomHorizontalFlip(1.5), Error);
}

TEST_CASE("transforms: GaussianNoise has the asked spread, clips to [0, 1] on request") {
  manual_seed(7);
  const Tensor x = full({50, 1, 20, 20}, 0.5);
  CHECK(equal(GaussianNoise(0.0)(x), x));
  const std::vector<double> noise = values(GaussianNoise(0.2)(x) - x);
  double mean = 0, square = 0;
  for (double v : noise) mean += v, square += v * v;
  mean /= static_cast<double>(noise.size());
  const double std = std::sqrt(square / static_cast<double>(noise.size()) - mean * mean);
  CHECK(std::abs(mean) < 0.005);
  CHECK(std == doctest::Approx(0.2).epsilon(0.02));
  const std::vector<double> clipped = values(GaussianNoise(2.0, true)(x));
  CHECK(*std::min_element(clipped.begin(), clipped.end()) == 0.0);
  CHECK(*std::max_element(clipped.begin(), clipped.end()) == 1.0);
  CHECK(values(x)[0] == 0.5);  // the input is untouched
  manual_seed(1);
  const Tensor a = GaussianNoise(0.3)(x);
  manual_seed(1);
  CHECK(equal(GaussianNoise(0.3)(x), a));
  CHECK_THROWS_AS(GaussianNoise(-1.0), Error);
  CHECK_THROWS_AS(GaussianNoise(1.0)(zeros({2, 2}, kInt64)), Error);
}

TEST_CASE("transforms: RandomMask hides exactly round(ratio * patches) whole patches per image") {
  manual_seed(9);
  const Tensor x = rand({16, 3, 28, 28}) + 1.0;  // values in [1, 2): a 0 can only be a mask
  const MaskedBatch m = RandomMask(7, 0.75).apply(x);
  CHECK(m.masked.sizes() == x.sizes());
  CHECK(m.mask.sizes() == Shape{16, 1, 28, 28});
  const Image4 in(x), out(m.masked), mask(m.mask);
  for (std::int64_t s = 0; s < 16; ++s) {
    int hidden_patches = 0;
    for (std::int64_t pi = 0; pi < 4; ++pi)
      for (std::int64_t pj = 0; pj < 4; ++pj) {
        const double first = mask.at(s, 0, pi * 7, pj * 7);
        hidden_patches += first == 1.0;
        for (std::int64_t i = pi * 7; i < pi * 7 + 7; ++i)
          for (std::int64_t j = pj * 7; j < pj * 7 + 7; ++j) {
            REQUIRE(mask.at(s, 0, i, j) == first);  // the mask is constant over a patch
            for (std::int64_t ch = 0; ch < 3; ++ch)
              REQUIRE(out.at(s, ch, i, j) == (first == 1.0 ? 0.0 : in.at(s, ch, i, j)));
          }
      }
    CHECK(hidden_patches == 12);  // round(0.75 * 16)
  }
  // Different images get different patches.
  CHECK_FALSE(equal(m.mask[0], m.mask[1]));
  // A grid that does not divide the image: 10x10 with patch 4 is 3x3 patches, edges smaller.
  const Tensor small = ones({2, 1, 10, 10});
  CHECK(values(RandomMask(4, 1.0, -1.0)(small)) == std::vector<double>(200, -1.0));
  CHECK(equal(RandomMask(4, 0.0)(small), small));
  // round(4.5) = 5 of the 9 patches are hidden; the patch areas are 16 (four of them), 8 (four)
  // and 4 (the corner), so a sample hides between 4 + 4 * 8 = 36 and 4 * 16 + 8 = 72 pixels.
  for (double hidden : values(RandomMask(4, 0.5).apply(small).mask.sum({1, 2, 3}))) {
    CHECK(hidden >= 36);
    CHECK(hidden <= 72);
  }
  CHECK_THROWS_AS(RandomMask(0, 0.5), Error);
  CHECK_THROWS_AS(RandomMask(4, 1.5), Error);
  CHECK_THROWS_AS(RandomMask(4, 0.5)(zeros({2, 10, 10})), Error);
}

TEST_CASE("transforms: Sobel equals the naive 3x3 cross-correlation; known edge response") {
  manual_seed(11);
  for (std::int64_t channels : {1, 3}) {
    const Tensor x = rand({2, channels, 5, 7}, kFloat64);
    const Tensor y = Sobel()(x);
    CHECK(y.sizes() == Shape{2, 2, 5, 7});
    const std::vector<double> expected = naive_sobel(x), got = values(y);
    for (std::size_t i = 0; i < got.size(); ++i) REQUIRE(got[i] == doctest::Approx(expected[i]).epsilon(1e-12));
  }
  // A vertical step (0 on the left 3 columns, 1 on the right 3): inside the image, Gx is
  // left minus right = -(1 + 2 + 1) = -4 on the two columns beside the step and 0 elsewhere;
  // Gy (top minus bottom) is 0 away from the top and bottom borders.
  Tensor step = zeros({1, 1, 5, 6});
  step.narrow(3, 3, 3).fill_(1.0);
  const Image4 edges(Sobel()(step));
  CHECK(edges.at(0, 0, 2, 2) == -4.0);
  CHECK(edges.at(0, 0, 2, 3) == -4.0);
  CHECK(edges.at(0, 0, 2, 0) == 0.0);
  CHECK(edges.at(0, 0, 2, 1) == 0.0);
  CHECK(edges.at(0, 1, 2, 4) == 0.0);
  CHECK(edges.at(0, 1, 0, 4) == -4.0);  // top border: zero padding above, ones below
  CHECK_THROWS_AS(Sobel()(zeros({1, 2, 4, 4})), Error);  // 2 channels
  CHECK_THROWS_AS(Sobel()(zeros({4, 4})), Error);
}

TEST_CASE("transforms: Compose runs its steps in order") {
  const Tensor x = full({1, 1, 2, 2}, 3.0);
  const Compose steps{Normalize({1.0}, {2.0}), [](Tensor t) { return t * 10.0; }};
  CHECK(values(steps(x)) == std::vector<double>(4, 10.0));  // (3 - 1) / 2 * 10
}

TEST_CASE("transforms: RandomResizedCrop keeps the whole image at scale 1 and ratio 1; crops resize bilinearly") {
  manual_seed(0);
  const Tensor x = rand({3, 2, 6, 6}, kFloat64);
  check_close(RandomResizedCrop(6, 1.0, 1.0, 1.0, 1.0)(x), x, 0, 1e-12);
  // A quarter of the area with ratio 1 is a 3x3 window, upsampled to 6x6: every output value
  // lies between the window's extremes, and a constant image stays constant.
  CHECK(values(RandomResizedCrop(6, 0.25, 0.25, 1.0, 1.0)(full({4, 1, 6, 6}, 0.7, kFloat64))) ==
        std::vector<double>(4 * 36, 0.7));
  // A ramp along the columns: any window of it, resized, is again a ramp (increasing in j).
  Tensor ramp = arange(6).to(kFloat64).reshape({1, 1, 1, 6}).expand({2, 1, 6, 6}).contiguous();
  const Image4 out(RandomResizedCrop(12, 0.3, 0.6)(ramp));
  CHECK(out.h == 12);
  for (std::int64_t s = 0; s < 2; ++s)
    for (std::int64_t j = 1; j < 12; ++j) CHECK(out.at(s, 0, 5, j) >= out.at(s, 0, 5, j - 1));
  CHECK_THROWS_AS(RandomResizedCrop(6, 0.0), Error);
  CHECK_THROWS_AS(RandomResizedCrop(6, 0.5, 1.0, 2.0, 1.0), Error);
}

TEST_CASE("transforms: RandomAffine is the identity without jitter; a zoom about the centre has a known answer") {
  manual_seed(1);
  const Tensor x = rand({2, 1, 7, 7}, kFloat64);
  check_close(RandomAffine(0.0, 0.0, 1.0, 1.0)(x), x, 0, 1e-12);
  // Zoom x2 about the centre (3, 3): output (i, j) reads input (3 + (i - 3) / 2, 3 + (j - 3) / 2).
  const Image4 in(x), out(RandomAffine(0.0, 0.0, 2.0, 2.0)(x));
  CHECK(out.at(0, 0, 3, 3) == doctest::Approx(in.at(0, 0, 3, 3)));
  CHECK(out.at(0, 0, 5, 3) == doctest::Approx(in.at(0, 0, 4, 3)));
  CHECK(out.at(1, 0, 3, 4) == doctest::Approx((in.at(1, 0, 3, 3) + in.at(1, 0, 3, 4)) / 2));
  // A rotation by up to 10 degrees of a centred dot keeps it near the centre; sizes are kept.
  Tensor dot = zeros({8, 1, 9, 9}, kFloat64);
  dot.narrow(2, 4, 1).narrow(3, 4, 1).fill_(1.0);
  const Image4 turned(RandomAffine(10.0)(dot));
  for (std::int64_t s = 0; s < 8; ++s) CHECK(turned.at(s, 0, 4, 4) > 0.9);
  CHECK_THROWS_AS(RandomAffine(-1.0), Error);
  CHECK_THROWS_AS(RandomAffine(5.0, 0.1, 1.2, 1.1), Error);
}
