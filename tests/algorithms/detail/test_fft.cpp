// Tests of the FFT (algorithms/detail/fft.h): the 1-D transform against the DFT by its
// definition on every kind of length it accepts (powers of two, of three, of five and mixed),
// the inverse as a round trip, the 2-D transform against the 2-D definition (also with the
// zero-row shortcuts), and a circular convolution through the transform against the direct sum.
#include <algorithm>
#include <cmath>
#include <numbers>
#include <vector>

#include "cake/algorithms/detail/fft.h"
#include "helpers.h"

using namespace cake;
using cake::algorithms::detail::Complex;
using cake::algorithms::detail::Fft;
using cake::algorithms::detail::Fft2d;
using cake::algorithms::detail::naive_dft;
using cake::algorithms::detail::next_fast_length;

namespace {

std::vector<Complex> random_complex(std::int64_t n) {
  const Tensor r = randn({n, 2}, kFloat64);
  const double* v = r.data_ptr<double>();
  std::vector<Complex> out(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) out[static_cast<std::size_t>(i)] = {v[2 * i], v[2 * i + 1]};
  return out;
}

// The 2-D DFT by its definition: X[k, l] = sum_{j, m} x[j, m] e^(-2 pi i (jk / rows + ml / cols)).
std::vector<Complex> naive_dft2(const std::vector<Complex>& x, std::int64_t rows, std::int64_t cols) {
  std::vector<Complex> out(x.size());
  for (std::int64_t k = 0; k < rows; ++k)
    for (std::int64_t l = 0; l < cols; ++l) {
      Complex sum = 0.0;
      for (std::int64_t j = 0; j < rows; ++j)
        for (std::int64_t m = 0; m < cols; ++m) {
          const double turns = static_cast<double>(j * k % rows) / static_cast<double>(rows) +
                               static_cast<double>(m * l % cols) / static_cast<double>(cols);
          sum += x[static_cast<std::size_t>(j * cols + m)] * std::polar(1.0, -2.0 * std::numbers::pi * turns);
        }
      out[static_cast<std::size_t>(k * cols + l)] = sum;
    }
  return out;
}

}  // namespace

TEST_CASE("fft: next_fast_length rounds up to 2^a 3^b 5^c") {
  CHECK(next_fast_length(1) == 1);
  CHECK(next_fast_length(7) == 8);
  CHECK(next_fast_length(11) == 12);
  CHECK(next_fast_length(97) == 100);
  CHECK(next_fast_length(300) == 300);
  CHECK(next_fast_length(301) == 320);
  CHECK(next_fast_length(1001) == 1024);
  CHECK_THROWS_AS(next_fast_length(0), Error);
}

TEST_CASE("fft: the 1-D transform is the DFT, and inverse undoes it") {
  manual_seed(11);
  // Every radix alone and mixed, odd lengths, the trivial ones; relative error ~ eps log n.
  for (const std::int64_t n : {1, 2, 3, 4, 5, 6, 8, 9, 10, 12, 15, 16, 25, 27, 30, 32, 45, 60, 64, 75, 81, 96, 125, 128,
                               150, 243, 256, 300, 360, 480, 625, 1000, 1024}) {
    CAPTURE(n);
    const Fft fft(n);
    CHECK(fft.size() == n);
    const std::vector<Complex> x = random_complex(n);
    std::vector<Complex> fast = x, reference(x.size());
    fft.forward(fast.data());
    naive_dft(x.data(), reference.data(), n, false);
    CHECK(testing::max_relative_error(fast, reference) < 1e-13);
    // The inverse of the reference spectrum is x again (and matches the naive inverse).
    std::vector<Complex> back = reference, naive_back(x.size());
    fft.inverse(back.data());
    naive_dft(reference.data(), naive_back.data(), n, true);
    CHECK(testing::max_relative_error(back, x) < 1e-13);
    CHECK(testing::max_relative_error(naive_back, x) < 1e-12);
  }
}

TEST_CASE("fft: lengths with other prime factors are refused") {
  CHECK_THROWS_AS(Fft(7), Error);
  CHECK_THROWS_AS(Fft(2 * 3 * 11), Error);
  CHECK_THROWS_AS(Fft(0), Error);
}

TEST_CASE("fft: the 2-D transform is the 2-D DFT; the zero-row shortcuts change nothing") {
  manual_seed(12);
  for (const auto& [rows, cols] : std::vector<std::pair<std::int64_t, std::int64_t>>{
           {1, 1}, {1, 8}, {6, 1}, {3, 5}, {16, 12}, {20, 30}, {18, 40}}) {  // 40 columns: 2.5 column blocks
    CAPTURE(rows);
    CAPTURE(cols);
    Fft2d fft(rows, cols);
    const std::vector<Complex> x = random_complex(rows * cols);
    std::vector<Complex> fast = x;
    fft.forward(fast.data());
    const std::vector<Complex> reference = naive_dft2(x, rows, cols);
    CHECK(testing::max_relative_error(fast, reference) < 1e-13);
    std::vector<Complex> back = fast;
    fft.inverse(back.data());
    CHECK(testing::max_relative_error(back, x) < 1e-13);

    // Only the first half of the rows hold data: forward may skip the rest; inverse may compute
    // only the first half of the rows and they agree with the full inverse.
    const std::int64_t half = (rows + 1) / 2;
    std::vector<Complex> padded = x;
    std::fill(padded.begin() + half * cols, padded.end(), Complex{});
    std::vector<Complex> full = padded, skipped = padded;
    fft.forward(full.data());
    fft.forward(skipped.data(), half);
    CHECK(testing::max_relative_error(skipped, full) == 0.0);
    std::vector<Complex> partial = full;
    fft.inverse(full.data());
    fft.inverse(partial.data(), half);
    full.resize(static_cast<std::size_t>(half * cols));
    partial.resize(static_cast<std::size_t>(half * cols));
    CHECK(testing::max_relative_error(partial, full) == 0.0);

    // Two arrays at once are each transformed as alone.
    std::vector<Complex> pair = x;
    pair.insert(pair.end(), padded.begin(), padded.end());
    fft.forward(pair.data(), -1, 2);
    CHECK(testing::max_relative_error(std::vector<Complex>(pair.begin(), pair.begin() + rows * cols), reference) < 1e-13);
    std::vector<Complex> padded_spectrum = padded;
    fft.forward(padded_spectrum.data());
    CHECK(std::equal(padded_spectrum.begin(), padded_spectrum.end(), pair.begin() + rows * cols));
    fft.inverse(pair.data(), -1, 2);
    CHECK(testing::max_relative_error(std::vector<Complex>(pair.begin(), pair.begin() + rows * cols), x) < 1e-13);
    CHECK(testing::max_relative_error(std::vector<Complex>(pair.begin() + rows * cols, pair.end()), padded) < 1e-13);
  }
}

TEST_CASE("fft: circular convolution through the transform is the direct sum") {
  // (a * b)_k = sum_j a_j b_{(k - j) mod n} = inverse(forward(a) forward(b)): the identity the
  // t-SNE grid convolution rests on.
  manual_seed(13);
  const std::int64_t n = 90;
  const Fft fft(n);
  const std::vector<Complex> a = random_complex(n), b = random_complex(n);
  std::vector<Complex> direct(static_cast<std::size_t>(n));
  for (std::int64_t k = 0; k < n; ++k)
    for (std::int64_t j = 0; j < n; ++j)
      direct[static_cast<std::size_t>(k)] += a[static_cast<std::size_t>(j)] * b[static_cast<std::size_t>((k - j + n) % n)];
  std::vector<Complex> fa = a, fb = b;
  fft.forward(fa.data());
  fft.forward(fb.data());
  for (std::int64_t k = 0; k < n; ++k) fa[static_cast<std::size_t>(k)] *= fb[static_cast<std::size_t>(k)];
  fft.inverse(fa.data());
  CHECK(testing::max_relative_error(fa, direct) < 1e-13);
}
