// Tests for data/transforms.h's RandomBrightnessContrast (MoCo's grey colour jitter): the two
// factors worked by hand on a one-sample batch, the identity cases, the per-sample probability,
// the range, reproducibility under manual_seed, and the errors.
#include <algorithm>
#include <cmath>

#include "cake/data/transforms.h"
#include "helpers.h"

using namespace cake;
using namespace cake::data;
using cake::testing::error_message;
using cake::testing::values;

TEST_CASE("RandomBrightnessContrast: x' = clamp(b x), x'' = clamp(c (x' - mean) + mean), by hand") {
  const Tensor x = tensor({0.1, 0.2, 0.3, 0.4}, {1, 1, 2, 2}, kFloat64);
  // The draws are three uniforms per sample from the global generator: replay them.
  manual_seed(3);
  const std::vector<double> u = values(rand({1, 3}, kFloat64));
  const double b = 1.0 + 0.5 * (2.0 * u[0] - 1.0), c = 1.0 + 0.5 * (2.0 * u[1] - 1.0);
  manual_seed(3);
  const std::vector<double> got = values(RandomBrightnessContrast(0.5, 0.5, 1.0)(x));
  const std::vector<double> in = values(x);
  double mean = 0.0;
  for (double v : in) mean += std::clamp(b * v, 0.0, 1.0) / 4.0;
  for (std::size_t i = 0; i < 4; ++i)
    CHECK(got[i] == doctest::Approx(std::clamp(c * (std::clamp(b * in[i], 0.0, 1.0) - mean) + mean, 0.0, 1.0)));
}

TEST_CASE("RandomBrightnessContrast: identity cases, probability per sample, range, reproducibility") {
  manual_seed(0);
  const Tensor x = rand({200, 1, 6, 6});
  CHECK(values(RandomBrightnessContrast(0.0, 0.0, 1.0)(x)) == values(x));
  CHECK(values(RandomBrightnessContrast(0.4, 0.4, 0.0)(x)) == values(x));
  // p = 0.5: about half of the samples are left as they are.
  const Tensor y = RandomBrightnessContrast(0.4, 0.4, 0.5)(x);
  const std::vector<double> same = values((y - x).abs().amax(Shape{1, 2, 3}).le(0.0).to(kFloat64));
  double kept = 0.0;
  for (double v : same) kept += v;
  CHECK(kept > 70);
  CHECK(kept < 130);
  CHECK(y.min().item<double>() >= 0.0);
  CHECK(y.max().item<double>() <= 1.0);
  // Contrast alone, on images that cannot clip (values in [0.4, 0.6], c in [0.6, 1.4]), keeps each mean.
  const Tensor mid = 0.4 + x * 0.2;
  const Tensor z = RandomBrightnessContrast(0.0, 0.4, 1.0)(mid);
  cake::testing::check_close(z.mean(Shape{1, 2, 3}), mid.mean(Shape{1, 2, 3}), 1e-5, 1e-6);
  manual_seed(9);
  const Tensor a = RandomBrightnessContrast(0.4, 0.4, 0.8)(x);
  manual_seed(9);
  CHECK(values(RandomBrightnessContrast(0.4, 0.4, 0.8)(x)) == values(a));
  CHECK(error_message([] { RandomBrightnessContrast(1.5, 0.0); }).find("brightness") != std::string::npos);
  CHECK(error_message([] { RandomBrightnessContrast(0.1, 0.1, 2.0); }).find("p must") != std::string::npos);
}
