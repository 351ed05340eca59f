// sampler.h: orders in which a data loader visits samples, drawn from private Philox streams.
//
//   cake::Tensor order = cake::data::seeded_permutation(60000, /*seed=*/7, /*stream=*/epoch);
//   cake::data::UniformLabelSampler sampler(pseudo_labels, pseudo_labels.numel(), /*seed=*/7);
//   cake::Tensor indices = sampler(epoch);   // int64 [N], every pseudo-label equally often
//
// Why a private stream: a loader that shuffled with the global generator would shift every
// later draw of the program (weight initialisation, dropout, augmentation) whenever the data
// set size or the number of epochs changed. Keying a Philox stream (tensor/philox.h) by the
// loader's seed and the epoch makes each epoch's order a pure function of (seed, epoch), and
// leaves the global generator exactly where it was.
#pragma once

#include <cstdint>

#include "cake/tensor/tensor.h"

namespace cake::data {

// Uniform 64-bit draws from the Philox4x32-10 stream keyed by `seed`; `stream` selects one of
// 2^64 independent sequences (the counter's upper half), e.g. one per epoch.
class PhiloxStream {
 public:
  PhiloxStream(std::uint64_t seed, std::uint64_t stream) : seed_(seed), stream_(stream) {}
  std::uint64_t next();
  // Uniform in [0, n), n > 0, without modulo bias (rejection of the top partial range).
  std::uint64_t below(std::uint64_t n);
  // Uniform in [0, 1) with 53 random bits.
  double uniform();

 private:
  std::uint64_t seed_, stream_;
  std::uint64_t group_ = 0;  // the next Philox counter
  std::uint32_t words_[4] = {};
  int used_ = 4;  // words of words_ already handed out
};

// A random permutation of 0..n-1 (int64 [n]) by Fisher-Yates on PhiloxStream(seed, stream).
Tensor seeded_permutation(std::int64_t n, std::uint64_t seed, std::uint64_t stream);

// The data in chunks, each chunk visited `passes` times in a row: a seeded permutation of
// 0..n-1 cut into chunks of `chunk` samples (the last one smaller when chunk does not divide n),
// each repeated `passes` times in a new order every pass. int64 [n * passes], a pure function
// of (seed, stream). The rhythm of DAC's released code, which labels the pairs of a chunk of
// images once and then trains several passes over its augmented copies
// (github.com/vector-1127/DAC, MNIST/mnist.py: chunks of 1000 images, 5 passes).
Tensor chunked_passes_order(std::int64_t n, std::int64_t chunk, std::int64_t passes, std::uint64_t seed,
                            std::uint64_t stream);

// DeepCluster's sampler (Caron et al., 2018, section 3.3 "Avoiding trivial parametrization":
// "sample images based on a uniform distribution over the classes, or pseudo-labels"). Each
// non-empty pseudo-label contributes the same number of indices, floor(num_samples / K) + 1
// for K non-empty labels, drawn without replacement when the label has that many samples and
// with replacement otherwise; the pooled indices are shuffled and cut to num_samples. So a
// huge cluster cannot dominate an epoch and a tiny one is still seen.
class UniformLabelSampler {
 public:
  // labels: int64 [N] with any values (e.g. -1 or sparse ids); num_samples > 0.
  UniformLabelSampler(const Tensor& labels, std::int64_t num_samples, std::uint64_t seed);
  // The indices of one epoch: int64 [num_samples], a pure function of (seed, epoch).
  Tensor operator()(std::int64_t epoch = 0) const;
  std::int64_t num_samples() const { return num_samples_; }

 private:
  std::vector<std::vector<std::int64_t>> members_;  // sample indices of each non-empty label
  std::int64_t num_samples_;
  std::uint64_t seed_;
};

}  // namespace cake::data
