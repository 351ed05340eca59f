#include <limits>
#include <numeric>

#include "helpers.h"
#include "cake/tensor/native/elementwise.h"
#include "cake/tensor/native/view.h"

using namespace cake;
using cake::testing::check_close;
using cake::testing::values;

TEST_CASE("creation: shapes, dtypes and values") {
  Tensor z = zeros({2, 3});
  CHECK(z.sizes() == Shape{2, 3});
  CHECK(z.dtype() == kFloat32);
  CHECK(z.device() == Device::cpu());
  CHECK(values(z) == std::vector<double>(6, 0.0));
  CHECK(values(ones({3}, kInt64)) == std::vector<double>{1, 1, 1});
  CHECK(values(full({2}, 2.5, kFloat64)) == std::vector<double>{2.5, 2.5});
  CHECK(values(arange(4)) == std::vector<double>{0, 1, 2, 3});
  CHECK(arange(4).dtype() == kInt64);
  CHECK(values(arange(1.0, 2.0, 0.25)) == std::vector<double>{1.0, 1.25, 1.5, 1.75});
  CHECK(values(linspace(0, 1, 5)) == std::vector<double>{0, 0.25, 0.5, 0.75, 1.0});
  CHECK(values(eye(2)) == std::vector<double>{1, 0, 0, 1});
  Tensor t = tensor({1.0, 2.0, 3.0, 4.0}, {2, 2}, kFloat64);
  CHECK(t.dtype() == kFloat64);
  CHECK(values(t) == std::vector<double>{1, 2, 3, 4});
  CHECK_THROWS_AS(tensor({1.0, 2.0}, {3}), Error);
  CHECK(empty({0, 3}).numel() == 0);
}

TEST_CASE("random: same seed, same numbers; sensible moments") {
  manual_seed(42);
  Tensor a = randn({1000});
  manual_seed(42);
  Tensor b = randn({1000});
  CHECK(equal(a, b));
  Tensor c = randn({1000});
  CHECK_FALSE(equal(a, c));
  manual_seed(1);
  Tensor u = rand({100000}, kFloat64);
  CHECK(u.mean().item<double>() == doctest::Approx(0.5).epsilon(0.01));
  CHECK(u.min().item<double>() >= 0.0);
  CHECK(u.max().item<double>() < 1.0);
  Tensor n = randn({100000});
  CHECK(n.mean().item<double>() == doctest::Approx(0.0).epsilon(0.02).scale(1));
  CHECK(n.std().item<double>() == doctest::Approx(1.0).epsilon(0.02));
  Tensor r = randint(3, 7, {1000});
  CHECK(r.min().item<std::int64_t>() == 3);
  CHECK(r.max().item<std::int64_t>() == 6);
  Tensor p = randperm(50);
  auto v = values(p);
  std::sort(v.begin(), v.end());
  for (int i = 0; i < 50; ++i) CHECK(v[static_cast<std::size_t>(i)] == i);
}

TEST_CASE("elementwise: broadcasting and promotion") {
  Tensor a = tensor({1.0, 2.0, 3.0}, {3, 1});
  Tensor b = tensor({10.0, 20.0}, {2});
  Tensor c = a + b;
  CHECK(c.sizes() == Shape{3, 2});
  CHECK(values(c) == std::vector<double>{11, 21, 12, 22, 13, 23});
  CHECK((arange(3) + 1).dtype() == kInt64);
  CHECK((arange(3) + 0.5).dtype() == kFloat32);
  CHECK((arange(3) / 2).dtype() == kFloat32);
  CHECK((a.to(kFloat64) * a).dtype() == kFloat64);
  CHECK_THROWS_WITH_AS(zeros({2, 3}) + zeros({4}), doctest::Contains("[2, 3] and [4]"), Error);
  check_close(tensor({-1.0, 0.0, 2.0}).relu(), tensor({0.0, 0.0, 2.0}));
  check_close(tensor({0.0}).sigmoid(), tensor({0.5}));
  check_close(tensor({-1000.0, 1000.0}).sigmoid(), tensor({0.0, 1.0}));
  check_close(tensor({-2.0, 0.5, 3.0}).clamp(-1.0, 1.0), tensor({-1.0, 0.5, 1.0}));
  CHECK(values(tensor({1.0, 2.0}) < tensor({2.0, 2.0})) == std::vector<double>{1, 0});
  check_close(where(tensor({1.0, -1.0}) > 0, tensor({5.0, 5.0}), tensor({7.0, 7.0})), tensor({5.0, 7.0}));
}

TEST_CASE("elementwise: non-contiguous operands match contiguous results") {
  manual_seed(3);
  Tensor x = randn({4, 5, 6}, kFloat64);
  Tensor xt = x.transpose(0, 2);  // non-contiguous
  Tensor y = randn({6, 5, 4}, kFloat64);
  check_close(xt * y + xt, xt.contiguous() * y + xt.contiguous(), 0, 0);
  // A contiguous run's exp is glibc's vector version, a strided one the scalar: both are within
  // 4 units in the last place of the true value (tensor/cpu/vector_math.h), so allow that.
  check_close(xt.exp(), xt.contiguous().exp(), 4 * std::numeric_limits<double>::epsilon(), 0);
  // A large tensor goes through the parallel path.
  Tensor big = randn({300, 400});
  check_close((big * 2.0).sum(), big.sum() * 2.0, 1e-4, 1e-2);
}

TEST_CASE("views share storage and bump versions") {
  Tensor x = arange(12).view({3, 4});
  Tensor t = x.transpose(0, 1);
  CHECK(t.sizes() == Shape{4, 3});
  CHECK_FALSE(t.is_contiguous());
  CHECK(values(t.contiguous()) == std::vector<double>{0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11});
  Tensor row = x.select(0, 1);
  CHECK(values(row) == std::vector<double>{4, 5, 6, 7});
  Tensor col = x.narrow(1, 1, 2);
  CHECK(values(col) == std::vector<double>{1, 2, 5, 6, 9, 10});
  CHECK(values(x.slice(1, 0, 4, 2)) == std::vector<double>{0, 2, 4, 6, 8, 10});
  CHECK(x.unsqueeze(0).sizes() == Shape{1, 3, 4});
  CHECK(x.unsqueeze(-1).sizes() == Shape{3, 4, 1});
  CHECK(x.unsqueeze(0).squeeze().sizes() == Shape{3, 4});
  CHECK(tensor({1.0}, {1}).expand({3, 2}).sizes() == Shape{3, 2});
  CHECK(x.flatten().sizes() == Shape{12});
  CHECK(x.reshape({-1, 6}).sizes() == Shape{2, 6});
  CHECK_THROWS_AS(t.view({12}), Error);  // needs a copy
  CHECK(t.reshape({12}).sizes() == Shape{12});
  CHECK(x.permute({1, 0}).sizes() == Shape{4, 3});
  const auto v0 = x.version();
  row.fill_(0);
  CHECK(x.version() == v0 + 1);
  CHECK(values(x.select(0, 1)) == std::vector<double>{0, 0, 0, 0});
}

TEST_CASE("reductions: against loops, any dims, keepdim") {
  manual_seed(5);
  Tensor x = randn({3, 4, 5}, kFloat64);
  auto v = values(x);
  // sum over dim 1 by hand
  std::vector<double> expected;
  for (int i = 0; i < 3; ++i)
    for (int k = 0; k < 5; ++k) {
      double s = 0;
      for (int j = 0; j < 4; ++j) s += v[static_cast<std::size_t>(i * 20 + j * 5 + k)];
      expected.push_back(s);
    }
  check_close(x.sum({1}), tensor(expected, {3, 5}, kFloat64), 1e-12, 1e-12);
  CHECK(x.sum({1}, true).sizes() == Shape{3, 1, 5});
  CHECK(x.sum({0, 2}).sizes() == Shape{4});
  check_close(x.sum({0, 2}), x.transpose(0, 1).contiguous().view({4, 15}).sum({1}), 1e-12, 1e-12);
  CHECK(x.sum().item<double>() == doctest::Approx(std::accumulate(v.begin(), v.end(), 0.0)));
  CHECK(x.mean({-1}).sizes() == Shape{3, 4});
  auto [mx, idx] = max(x, 2);
  CHECK(mx.sizes() == Shape{3, 4});
  CHECK(idx.dtype() == kInt64);
  check_close(mx, x.amax({2}));
  CHECK(argmax(tensor({1.0, 5.0, 3.0})).item<std::int64_t>() == 1);
  // Float32 pairwise summation of many ones is exact.
  CHECK(ones({10000000}).sum().item<float>() == 10000000.0f);
}
