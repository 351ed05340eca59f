// detail/fft.h: the discrete Fourier transform in O(n log n) (Cooley & Tukey 1965), in 1-D and
// 2-D, for the grid convolutions of FFT-accelerated t-SNE (algorithms/manifold/tsne.h). Cake has no FFT
// dependency; this is the textbook mixed-radix algorithm, small and exact to rounding.
//
//   detail::Fft fft(detail::next_fast_length(300));          // 300 = 4 * 3 * 5 * 5
//   fft.forward(x.data());                                    // X_k = sum_j x_j e^(-2 pi i jk / n)
//   fft.inverse(x.data());                                    // back to x (scaled by 1 / n)
//
//   detail::Fft2d fft2(rows, cols);                           // row-major rows x cols
//   fft2.forward(grid.data());  fft2.inverse(grid.data());
//
// Lengths are n = 2^a 3^b 5^c (next_fast_length rounds up to one). A length n = r m splits
// into r interleaved sub-sequences x_{q + r t} of length m (decimation in time):
//     X_k = sum_{q<r} W_n^{qk} DFT_m(x_{q + r t})[k mod m],        W_n = e^(-2 pi i / n),
// so a radix-r "butterfly" combines r sub-transforms with the twiddle factors W_n^{qk}.
// Iteratively: permute x into mixed-radix digit-reversed order (in place, along the
// permutation's precomputed cycles), then one pass per factor of n combines neighbouring blocks of length m into blocks
// of length m r, in place, with the twiddles precomputed per pass. Radices 4 and 2 have
// hand-written butterflies; 3 and 5 use a small DFT with precomputed roots of unity.
// The 2-D transform is 1-D transforms along the rows, then along the columns (the 2-D DFT
// kernel e^(-2 pi i (jk / rows + lm / cols)) factorises).
#pragma once

#include <complex>
#include <cstdint>
#include <vector>

namespace cake::algorithms::detail {

using Complex = std::complex<double>;

// The smallest n' >= n of the form 2^a 3^b 5^c (n >= 1): the lengths Fft accepts.
std::int64_t next_fast_length(std::int64_t n);

// The reference: the DFT by its definition in O(n^2), out[k] = sum_j in[j] e^(-+2 pi i jk / n),
// with the + sign and a 1 / n scale when `inverse` (the exponent's jk is reduced mod n first,
// so the roots of unity are as exact as the FFT's twiddles).
void naive_dft(const Complex* in, Complex* out, std::int64_t n, bool inverse);

// A 1-D transform of one length, planned once (factors, permutation, twiddles) and applied to
// any number of arrays. forward and inverse are const and may run on many threads at once.
class Fft {
 public:
  explicit Fft(std::int64_t n);

  std::int64_t size() const { return n_; }
  void forward(Complex* data) const;   // X_k = sum_j x_j e^(-2 pi i jk / n)
  void inverse(Complex* data) const;   // x_j = (1 / n) sum_k X_k e^(+2 pi i jk / n)

 private:
  // One pass: combines blocks of length `span` into blocks of length span * radix, with
  // twiddles[k (radix - 1) + q - 1] = W_{span radix}^{q k} for k < span, 1 <= q < radix.
  struct Pass {
    int radix;
    std::int64_t span;
    std::vector<Complex> twiddles;
  };
  void transform(Complex* data, bool inverse) const;

  std::int64_t n_;
  std::vector<Pass> passes_;
  // The digit reversal as its cycles: positions c_0, c_1, ... with data[c_t] <- data[c_{t+1}]
  // and the last <- the first; cycle k is cycles_[cycle_start_[k], cycle_start_[k + 1]).
  std::vector<std::int64_t> cycles_, cycle_start_;
  std::vector<Complex> roots3_, roots5_;                       // W_3^t, W_5^t
};

// A 2-D transform of a row-major rows x cols array. The calls are not const: they reuse
// per-thread buffers for the column passes (a block of columns is copied to contiguous memory,
// transformed and copied back), so one Fft2d serves one caller at a time.
//
// Zero padding is common (a convolution on a grid embedded in a twice larger one), so forward
// may be told that only the first `nonzero_rows` rows hold data (the rest are zero, and the
// transform of a zero row is zero), and inverse that only the first `needed_rows` rows of the
// result are wanted (the other rows are left holding the column pass's intermediate values).
class Fft2d {
 public:
  Fft2d(std::int64_t rows, std::int64_t cols);

  std::int64_t rows() const { return column_fft_.size(); }
  std::int64_t cols() const { return row_fft_.size(); }
  // `count` arrays stored one after the other (data + k rows cols) are transformed together
  // (one parallel loop per pass over all of them: fewer thread start-ups).
  void forward(Complex* data, std::int64_t nonzero_rows = -1, std::int64_t count = 1);
  void inverse(Complex* data, std::int64_t needed_rows = -1, std::int64_t count = 1);

 private:
  void rows_pass(Complex* data, std::int64_t used_rows, std::int64_t count, bool inverse) const;
  void columns_pass(Complex* data, std::int64_t count, bool inverse);

  Fft row_fft_, column_fft_;
  std::vector<std::vector<Complex>> column_block_;  // per thread: kColumnBlock columns, each contiguous
};

}  // namespace cake::algorithms::detail
