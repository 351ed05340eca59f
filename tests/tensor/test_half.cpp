// Tests for the 16-bit floating-point types (tensor/half.h) and tensors that hold them: the
// conversions' rounding (to nearest, ties to even) on known bit patterns, exhaustively over
// every 16-bit pattern, and against the two neighbours of random floats; promotion; tensors'
// conversion, fill, printing and safetensors round trip; matmul and convolution of 16-bit
// tensors (float32 accumulation, one rounding); the clear refusal of every other op.
#include <bit>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <random>
#include <sstream>

#include "helpers.h"
#include "cake/tensor/native/linalg.h"

using namespace cake;
using cake::testing::check_close;
using cake::testing::values;

namespace {

float from_bits(std::uint32_t u) { return std::bit_cast<float>(u); }

template <class H>
float as_float(std::uint16_t bits) {
  return static_cast<float>(H::from_bits(bits));
}

// The property that defines round-to-nearest-even: no representable neighbour of the result is
// nearer to f, and at a tie the result's last bit is 0. Checked for finite f that do not overflow.
template <class H>
void check_nearest_even(float f) {
  const std::uint16_t r = H(f).bits;
  const double exact = f, got = as_float<H>(r);
  const std::uint16_t magnitude = r & 0x7fffu;
  for (int step : {-1, 1}) {
    const int neighbour_magnitude = static_cast<int>(magnitude) + step * (std::signbit(got) ? -1 : 1);
    if (neighbour_magnitude < 0 || neighbour_magnitude >= (std::is_same_v<H, Half> ? 0x7c00 : 0x7f80)) continue;
    const auto neighbour = static_cast<std::uint16_t>((r & 0x8000u) | static_cast<std::uint16_t>(neighbour_magnitude));
    const double other = as_float<H>(neighbour);
    const double d_got = std::abs(got - exact), d_other = std::abs(other - exact);
    CHECK_MESSAGE(d_got <= d_other, "f = " << f << " rounded to " << got << ", but " << other << " is nearer");
    if (d_got == d_other) CHECK_MESSAGE((r & 1u) == 0, "f = " << f << ": a tie must round to the even pattern");
  }
}

}  // namespace

TEST_CASE("bfloat16: known roundings, ties to even, inf and NaN") {
  CHECK(BFloat16(1.0f).bits == 0x3f80);
  CHECK(static_cast<float>(BFloat16(3.14159f)) == 3.140625f);
  CHECK(BFloat16(from_bits(0x3f808000u)).bits == 0x3f80);  // 1 + 2^-8: halfway, 0x3f80 is even
  CHECK(BFloat16(from_bits(0x3f818000u)).bits == 0x3f82);  // 1 + 3 * 2^-8: halfway, up to even
  CHECK(BFloat16(from_bits(0x3f808001u)).bits == 0x3f81);  // just past halfway
  CHECK(BFloat16(-2.0f).bits == 0xc000);
  CHECK(BFloat16(std::numeric_limits<float>::max()).bits == 0x7f80);  // rounds past the largest finite to inf
  CHECK(std::isinf(static_cast<float>(BFloat16(std::numeric_limits<float>::infinity()))));
  CHECK(std::isnan(static_cast<float>(BFloat16(std::numeric_limits<float>::quiet_NaN()))));
  CHECK(static_cast<float>(BFloat16(1e-40f)) > 0.0f);  // float32's subnormals are bfloat16's too
}

TEST_CASE("float16: known roundings, overflow, subnormals, signed zero") {
  CHECK(Half(1.0f).bits == 0x3c00);
  CHECK(Half(0.1f).bits == 0x2e66);
  CHECK(Half(65504.0f).bits == 0x7bff);             // the largest finite half
  CHECK(Half(65519.0f).bits == 0x7bff);             // below the midpoint to 65536
  CHECK(Half(65520.0f).bits == 0x7c00);             // the midpoint: ties to even = inf
  CHECK(Half(1e6f).bits == 0x7c00);
  CHECK(Half(-1e6f).bits == 0xfc00);
  CHECK(Half(std::ldexp(1.0f, -14)).bits == 0x0400);  // the least normal
  CHECK(Half(std::ldexp(1.0f, -24)).bits == 0x0001);  // the least subnormal
  CHECK(Half(std::ldexp(1.0f, -25)).bits == 0x0000);  // half of it: tie, to even (zero)
  CHECK(Half(std::ldexp(1.5f, -25)).bits == 0x0001);
  CHECK(Half(std::ldexp(3.0f, -25)).bits == 0x0002);  // 1.5 units: tie between 1 and 2, to 2
  CHECK(Half(std::ldexp(1.0f, -30)).bits == 0x0000);
  CHECK(Half(-0.0f).bits == 0x8000);
  CHECK(as_float<Half>(0x0001) == std::ldexp(1.0f, -24));
  CHECK(as_float<Half>(0x03ff) == std::ldexp(1023.0f, -24));
  CHECK(std::isnan(static_cast<float>(Half(std::numeric_limits<float>::quiet_NaN()))));
}

TEST_CASE("every 16-bit pattern survives float and back; random floats round to the nearest, ties to even") {
  for (std::uint32_t b = 0; b <= 0xffffu; ++b) {
    const auto bits = static_cast<std::uint16_t>(b);
    const float hf = as_float<Half>(bits), bf = as_float<BFloat16>(bits);
    if (std::isnan(hf)) CHECK(std::isnan(static_cast<float>(Half(hf))));
    else if (Half(hf).bits != bits) FAIL_CHECK("half pattern " << b << " did not survive");
    if (std::isnan(bf)) CHECK(std::isnan(static_cast<float>(BFloat16(bf))));
    else if (BFloat16(bf).bits != bits) FAIL_CHECK("bfloat16 pattern " << b << " did not survive");
  }
  std::mt19937 gen(7);
  std::uniform_real_distribution<float> exponent(-26.0f, 15.9f);
  std::uniform_int_distribution<std::uint32_t> any_bits(0, 0xffffffffu);
  for (int i = 0; i < 20000; ++i) {
    const float f = std::ldexp(1.0f + static_cast<float>(i % 997) / 997.0f, static_cast<int>(exponent(gen)));
    check_nearest_even<Half>(i % 2 ? f : -f);
    const float g = from_bits(any_bits(gen));
    if (std::isfinite(g) && std::abs(g) < 3.0e38f) check_nearest_even<BFloat16>(g);
  }
  // Exact midpoints between two halves, where only the tie rule decides.
  for (std::uint16_t b = 0x0400; b < 0x7bff; b = static_cast<std::uint16_t>(b + 37)) {
    const float mid = (as_float<Half>(b) + as_float<Half>(static_cast<std::uint16_t>(b + 1))) / 2.0f;
    CHECK(Half(mid).bits == ((b & 1u) ? b + 1 : b));
  }
}

TEST_CASE("16-bit dtypes: sizes, names, promotion") {
  CHECK(element_size(kBFloat16) == 2);
  CHECK(element_size(kFloat16) == 2);
  CHECK(std::string(dtype_name(kBFloat16)) == "bfloat16");
  CHECK(std::string(dtype_name(kHalf)) == "float16");
  CHECK(is_floating(kBFloat16));
  CHECK(promote_types(kBFloat16, kFloat16) == kFloat32);  // neither holds the other
  CHECK(promote_types(kFloat16, kFloat32) == kFloat32);
  CHECK(promote_types(kInt64, kBFloat16) == kBFloat16);
  CHECK(promote_types(kFloat64, kFloat16) == kFloat64);
  CHECK(promote_types(kBool, kFloat16) == kFloat16);
}

TEST_CASE("16-bit tensors convert, fill, print and save; other ops refuse them by name") {
  const Tensor x = tensor({1.0, 3.14159, -65520.0, 1e-8, 0.5}, {5});
  const Tensor h = x.to(kFloat16), b = x.to(kBFloat16);
  CHECK(h.dtype() == kFloat16);
  CHECK(h.nbytes() == 10);
  CHECK(values(h) == std::vector<double>{1.0, 3.140625, -INFINITY, 0.0, 0.5});
  CHECK(values(b) == std::vector<double>{1.0, 3.140625, -65536.0, static_cast<double>(as_float<BFloat16>(BFloat16(1e-8f).bits)), 0.5});
  CHECK(values(h.to(kBFloat16)) == values(h.to(kFloat32).to(kBFloat16)));
  CHECK(values(full({3}, 2.5, kBFloat16)) == std::vector<double>{2.5, 2.5, 2.5});
  CHECK(values(zeros({2, 2}, kFloat16)) == std::vector<double>(4, 0.0));
  CHECK(b.narrow(0, 1, 1).item<float>() == 3.140625f);
  CHECK(values(b.t().contiguous()) == values(b));  // a strided copy of 16-bit elements
  std::ostringstream printed;
  printed << b;
  CHECK(printed.str().find("bfloat16") != std::string::npos);

  const auto path = std::filesystem::temp_directory_path() / "cake_test_half.safetensors";
  save_safetensors(path.string(), {{"h", h}, {"b", b}});
  const SafetensorsFile loaded = load_safetensors(path.string());
  CHECK(loaded.tensors.at("h").dtype() == kFloat16);
  CHECK(values(loaded.tensors.at("b")) == values(b));
  std::filesystem::remove(path);

  CHECK_THROWS_WITH_AS((void)(b + b), doctest::Contains("bfloat16"), Error);
  CHECK_THROWS_WITH_AS((void)h.sum(), doctest::Contains("float16"), Error);
  CHECK_THROWS_WITH_AS((void)b.exp(), doctest::Contains(".to(cake::kFloat32)"), Error);
}

TEST_CASE("matmul of 16-bit tensors: float32 accumulation, one rounding; float32 out from native::gemm") {
  manual_seed(3);
  for (DType t : {kBFloat16, kFloat16}) {
    const Tensor a = randn({17, 33}).to(t), b = randn({33, 9}).to(t);
    const Tensor reference = matmul(a.to(kFloat32), b.to(kFloat32));  // exact products, float32 sums
    const Tensor c = matmul(a, b);
    CHECK(c.dtype() == t);
    CHECK(values(c) == values(reference.to(t)));
    check_close(matmul(a.t().contiguous().t(), b), c, 0, 0);  // a transposed view: the same
    const Tensor batched = matmul(a.unsqueeze(0).expand({3, 17, 33}), b);
    check_close(batched.select(0, 2), c, 0, 0);
    Tensor wide = empty({17, 9});
    native::gemm(a, b, wide);
    check_close(wide, reference, 1e-6, 1e-6);
    CHECK_THROWS_WITH_AS(native::gemm(a, b, empty({17, 9}, kFloat64)), doctest::Contains("dtypes differ"), Error);
  }
  CHECK_THROWS_WITH_AS((void)matmul(ones({2, 2}, kBFloat16), ones({2, 2}, kFloat16)),
                       doctest::Contains("different dtypes"), Error);
}

TEST_CASE("conv2d of 16-bit tensors on the CPU: the float32 convolution of the same values, rounded once") {
  manual_seed(5);
  const Tensor x = randn({2, 3, 9, 9}).to(kBFloat16), w = randn({4, 3, 3, 3}).to(kBFloat16);
  const Tensor y = conv2d(x, w, Tensor(), {.stride = {2, 2}, .padding = {1, 1}});
  CHECK(y.dtype() == kBFloat16);
  const Tensor reference = conv2d(x.to(kFloat32), w.to(kFloat32), Tensor(), {.stride = {2, 2}, .padding = {1, 1}});
  CHECK(values(y) == values(reference.to(kBFloat16)));
  // The gradients flow in bfloat16 through the same kernels.
  const Tensor xg = x.detach().requires_grad_(true), wg = w.detach().requires_grad_(true);
  conv2d(xg, wg, Tensor(), {.stride = {2, 2}, .padding = {1, 1}}).to(kFloat32).sum().backward();
  REQUIRE(xg.grad().defined());
  CHECK(xg.grad().dtype() == kBFloat16);
  const Tensor x32 = x.to(kFloat32).requires_grad_(true), w32 = w.to(kFloat32).requires_grad_(true);
  conv2d(x32, w32, Tensor(), {.stride = {2, 2}, .padding = {1, 1}}).sum().backward();
  CHECK(values(xg.grad()) == values(x32.grad().to(kBFloat16)));
  CHECK(values(wg.grad()) == values(w32.grad().to(kBFloat16)));
}

TEST_CASE("conv2d of 16-bit tensors with a bias on the CPU: the bias joins the float32 sum, one rounding") {
  // The reference tests/cuda/test_half_gpu.cpp holds cuDNN to (NOTE [ 16-bit bias ] in
  // cuda/backend/conv_cudnn.cpp).
  manual_seed(6);
  const Tensor x = randn({2, 3, 9, 9}).to(kBFloat16), w = randn({4, 3, 3, 3}).to(kBFloat16);
  const Tensor b = randn({4}).to(kBFloat16);
  const Conv2dParams p{.stride = {2, 2}, .padding = {1, 1}};
  const Tensor wg = w.detach().requires_grad_(true), bg = b.detach().requires_grad_(true);
  const Tensor y = conv2d(x, wg, bg, p);
  CHECK(y.dtype() == kBFloat16);
  CHECK(values(y) == values(conv2d(x.to(kFloat32), w.to(kFloat32), b.to(kFloat32), p).to(kBFloat16)));
  y.to(kFloat32).sum().backward();
  REQUIRE(bg.grad().defined());
  CHECK(bg.grad().dtype() == kBFloat16);
  CHECK(values(bg.grad()) == std::vector<double>(4, 2.0 * 5 * 5));  // the sum of the ones: N * OH * OW
}

TEST_CASE("16-bit conv_transpose2d with a bias, and a bias gradient without the weight's, are summed in float32") {
  manual_seed(9);
  const Tensor x = randn({2, 4, 5, 5}).to(kBFloat16), w = randn({4, 3, 3, 3}).to(kBFloat16);
  const Tensor b = randn({3}).to(kBFloat16);
  const ConvTranspose2dParams p{.stride = {2, 2}};
  const Tensor y = conv_transpose2d(x, w, b, p);
  CHECK(y.dtype() == kBFloat16);
  const Tensor reference = conv_transpose2d(x.to(kFloat32), w.to(kFloat32), b.to(kFloat32), p);
  CHECK(values(y) == values(reference.to(kBFloat16)));
  // Only the bias learns: its gradient is the sum of the upstream gradient over batch and pixels.
  const Tensor w_fixed = randn({6, 4, 3, 3}).to(kBFloat16), b_learn = randn({6}).to(kBFloat16).requires_grad_(true);
  conv2d(x, w_fixed, b_learn, {}).to(kFloat32).sum().backward();
  REQUIRE(b_learn.grad().defined());
  CHECK(b_learn.grad().dtype() == kBFloat16);
  CHECK(values(b_learn.grad()) == std::vector<double>(6, 2.0 * 3 * 3));  // batch 2 x 3 x 3 output pixels
}
