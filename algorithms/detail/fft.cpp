// fft.cpp: the mixed-radix Cooley-Tukey FFT of detail/fft.h (see there for the algorithm).
#include "cake/algorithms/detail/fft.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>

#include "cake/algorithms/detail/common.h"
#include "cake/tensor/error.h"
#include "cake/tensor/parallel.h"

namespace cake::algorithms::detail {

namespace {

// e^(-2 pi i t / n), with t reduced mod n first so that large products j k stay exact.
Complex unit_root(std::int64_t t, std::int64_t n) {
  const double angle = -2.0 * std::numbers::pi * static_cast<double>(t % n) / static_cast<double>(n);
  return std::polar(1.0, angle);
}

// a * b and a * conj(b), written out: std::complex's operator* checks for NaN results (C99
// Annex G) and calls a library routine when it finds one, which keeps it out of vector loops.
inline Complex multiply(Complex a, Complex b) {
  return {a.real() * b.real() - a.imag() * b.imag(), a.real() * b.imag() + a.imag() * b.real()};
}
inline Complex multiply_conj(Complex a, Complex b) {
  return {a.real() * b.real() + a.imag() * b.imag(), a.imag() * b.real() - a.real() * b.imag()};
}

// z times W_4 = -i (forward) or conj(W_4) = +i (inverse).
template <bool Inverse>
inline Complex times_quarter_root(Complex z) {
  return Inverse ? Complex{-z.imag(), z.real()} : Complex{z.imag(), -z.real()};
}

// One pass of the iterative transform: for every block of length span * radix and every k <
// span, the radix values x_q = data[block + q span + k] times their twiddles W^{qk}, then the
// radix-point DFT of them written back to the same places (y_s at block + s span + k).
template <int Radix, bool Inverse>
void apply_pass(Complex* data, std::int64_t n, std::int64_t span, const Complex* twiddles, const Complex* roots) {
  const std::int64_t length = span * Radix;
  for (std::int64_t block = 0; block < n; block += length) {
    Complex* d = data + block;
    for (std::int64_t k = 0; k < span; ++k) {
      std::array<Complex, Radix> x;
      x[0] = d[k];
      for (int q = 1; q < Radix; ++q) {
        const Complex w = twiddles[k * (Radix - 1) + q - 1];
        x[q] = Inverse ? multiply_conj(d[q * span + k], w) : multiply(d[q * span + k], w);
      }
      if constexpr (Radix == 2) {
        d[k] = x[0] + x[1];
        d[span + k] = x[0] - x[1];
      } else if constexpr (Radix == 4) {
        const Complex even_sum = x[0] + x[2], even_diff = x[0] - x[2];
        const Complex odd_sum = x[1] + x[3], odd_diff = times_quarter_root<Inverse>(x[1] - x[3]);
        d[k] = even_sum + odd_sum;
        d[span + k] = even_diff + odd_diff;
        d[2 * span + k] = even_sum - odd_sum;
        d[3 * span + k] = even_diff - odd_diff;
      } else {
        // y_s = sum_q x_q W_r^{qs}, the definition (r = 3 or 5: a handful of products).
        for (int s = 0; s < Radix; ++s) {
          Complex y = x[0];
          for (int q = 1; q < Radix; ++q) {
            const Complex w = roots[(q * s) % Radix];
            y += Inverse ? multiply_conj(x[q], w) : multiply(x[q], w);
          }
          d[s * span + k] = y;
        }
      }
    }
  }
}

}  // namespace

std::int64_t next_fast_length(std::int64_t n) {
  CAKE_CHECK(n >= 1, "next_fast_length: expected a positive length, got ", n);
  for (std::int64_t m = n;; ++m) {
    std::int64_t rest = m;
    for (const std::int64_t p : {2, 3, 5})
      while (rest % p == 0) rest /= p;
    if (rest == 1) return m;
  }
}

void naive_dft(const Complex* in, Complex* out, std::int64_t n, bool inverse) {
  for (std::int64_t k = 0; k < n; ++k) {
    Complex sum = 0.0;
    for (std::int64_t j = 0; j < n; ++j) {
      const Complex w = unit_root(j * k, n);
      sum += inverse ? multiply_conj(in[j], w) : multiply(in[j], w);
    }
    out[k] = inverse ? sum / static_cast<double>(n) : sum;
  }
}

// ---- the 1-D plan ----------------------------------------------------------------------------

Fft::Fft(std::int64_t n) : n_(n) {
  CAKE_CHECK(n >= 1 && next_fast_length(n) == n, "Fft: the length must be 2^a 3^b 5^c, got ", n,
             " (next_fast_length gives ", n >= 1 ? next_fast_length(n) : 1, ")");
  // Factors, the first pass first: as many 4s as possible (fewer passes), then 2, 3, 5.
  std::vector<int> radices;
  std::int64_t rest = n;
  while (rest % 4 == 0) radices.push_back(4), rest /= 4;
  for (const int p : {2, 3, 5})
    while (rest % p == 0) radices.push_back(p), rest /= p;

  std::int64_t span = 1;
  for (const int r : radices) {
    Pass pass{r, span, std::vector<Complex>(static_cast<std::size_t>(span * (r - 1)))};
    for (std::int64_t k = 0; k < span; ++k)
      for (int q = 1; q < r; ++q) pass.twiddles[static_cast<std::size_t>(k * (r - 1) + q - 1)] = unit_root(q * k, span * r);
    passes_.push_back(std::move(pass));
    span *= r;
  }
  for (std::int64_t t = 0; t < 3; ++t) roots3_.push_back(unit_root(t, 3));
  for (std::int64_t t = 0; t < 5; ++t) roots5_.push_back(unit_root(t, 5));

  // Digit reversal: position pos = sum_s q_s span_s (q_s < r_s, span_s the span of pass s) must
  // hold the input x_j with j = q_last + r_last (q_{last-1} + r_{last-1} (...)): the last pass
  // splits x by j mod r_last into its r_last sub-sequences, the pass before by the next digit.
  std::vector<std::int64_t> source(static_cast<std::size_t>(n));
  for (std::int64_t pos = 0; pos < n; ++pos) {
    std::int64_t remainder = pos, index = 0, stride = 1;
    for (auto pass = passes_.rbegin(); pass != passes_.rend(); ++pass) {
      index += remainder / pass->span * stride;
      remainder %= pass->span;
      stride *= pass->radix;
    }
    source[static_cast<std::size_t>(pos)] = index;
  }
  // The permutation data[pos] <- data[source[pos]] follows cycles pos -> source[pos] -> ...;
  // fixed points (source[pos] == pos) need nothing.
  std::vector<bool> placed(static_cast<std::size_t>(n), false);
  cycle_start_.push_back(0);
  for (std::int64_t start = 0; start < n; ++start) {
    if (placed[static_cast<std::size_t>(start)] || source[static_cast<std::size_t>(start)] == start) continue;
    for (std::int64_t pos = start; !placed[static_cast<std::size_t>(pos)]; pos = source[static_cast<std::size_t>(pos)]) {
      placed[static_cast<std::size_t>(pos)] = true;
      cycles_.push_back(pos);
    }
    cycle_start_.push_back(static_cast<std::int64_t>(cycles_.size()));
  }
}

void Fft::forward(Complex* data) const { transform(data, false); }
void Fft::inverse(Complex* data) const { transform(data, true); }

void Fft::transform(Complex* data, bool inverse) const {
  for (std::size_t k = 0; k + 1 < cycle_start_.size(); ++k) {
    const std::int64_t* cycle = cycles_.data() + cycle_start_[k];
    const std::int64_t length = cycle_start_[k + 1] - cycle_start_[k];
    const Complex first = data[cycle[0]];
    for (std::int64_t t = 0; t + 1 < length; ++t) data[cycle[t]] = data[cycle[t + 1]];
    data[cycle[length - 1]] = first;
  }
  for (const Pass& pass : passes_) {
    const Complex* tw = pass.twiddles.data();
    switch (pass.radix) {
      case 2: inverse ? apply_pass<2, true>(data, n_, pass.span, tw, nullptr) : apply_pass<2, false>(data, n_, pass.span, tw, nullptr); break;
      case 4: inverse ? apply_pass<4, true>(data, n_, pass.span, tw, nullptr) : apply_pass<4, false>(data, n_, pass.span, tw, nullptr); break;
      case 3: inverse ? apply_pass<3, true>(data, n_, pass.span, tw, roots3_.data()) : apply_pass<3, false>(data, n_, pass.span, tw, roots3_.data()); break;
      default: inverse ? apply_pass<5, true>(data, n_, pass.span, tw, roots5_.data()) : apply_pass<5, false>(data, n_, pass.span, tw, roots5_.data()); break;
    }
  }
  if (inverse) {
    const double scale = 1.0 / static_cast<double>(n_);
    for (std::int64_t i = 0; i < n_; ++i) data[i] *= scale;
  }
}

// ---- the 2-D transform ------------------------------------------------------------------------

namespace {
// Columns copied out together: 16 complex values (256 bytes, four cache lines) per row read.
constexpr std::int64_t kColumnBlock = 16;
}  // namespace

Fft2d::Fft2d(std::int64_t rows, std::int64_t cols) : row_fft_(cols), column_fft_(rows) {}

void Fft2d::forward(Complex* data, std::int64_t nonzero_rows, std::int64_t count) {
  rows_pass(data, nonzero_rows < 0 ? rows() : std::min(nonzero_rows, rows()), count, false);
  columns_pass(data, count, false);
}

void Fft2d::inverse(Complex* data, std::int64_t needed_rows, std::int64_t count) {
  columns_pass(data, count, true);
  rows_pass(data, needed_rows < 0 ? rows() : std::min(needed_rows, rows()), count, true);
}

// The first `used_rows` rows of each of the `count` arrays.
void Fft2d::rows_pass(Complex* data, std::int64_t used_rows, std::int64_t count, bool inverse) const {
  const std::int64_t rows = this->rows(), cols = this->cols();
  parallel_for(0, count * used_rows, grain_for(20 * cols), [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t t = lo; t < hi; ++t) {
      Complex* row = data + (t / used_rows * rows + t % used_rows) * cols;
      inverse ? row_fft_.inverse(row) : row_fft_.forward(row);
    }
  });
}

void Fft2d::columns_pass(Complex* data, std::int64_t count, bool inverse) {
  const std::int64_t rows = this->rows(), cols = this->cols();
  const std::size_t block_size = static_cast<std::size_t>(kColumnBlock * rows);
  column_block_.resize(static_cast<std::size_t>(max_threads()));
  for (auto& block : column_block_)
    if (block.size() != block_size) block.assign(block_size, Complex{});
  const std::int64_t blocks = (cols + kColumnBlock - 1) / kColumnBlock;
  parallel_for(0, count * blocks, grain_for(20 * rows * kColumnBlock), [&](std::int64_t lo, std::int64_t hi) {
    Complex* buffer = column_block_[static_cast<std::size_t>(thread_index())].data();
    for (std::int64_t t = lo; t < hi; ++t) {
      Complex* array = data + t / blocks * rows * cols;
      const std::int64_t first = t % blocks * kColumnBlock, width = std::min(kColumnBlock, cols - first);
      for (std::int64_t r = 0; r < rows; ++r)
        for (std::int64_t c = 0; c < width; ++c) buffer[c * rows + r] = array[r * cols + first + c];
      for (std::int64_t c = 0; c < width; ++c)
        inverse ? column_fft_.inverse(buffer + c * rows) : column_fft_.forward(buffer + c * rows);
      for (std::int64_t r = 0; r < rows; ++r)
        for (std::int64_t c = 0; c < width; ++c) array[r * cols + first + c] = buffer[c * rows + r];
    }
  });
}

}  // namespace cake::algorithms::detail
