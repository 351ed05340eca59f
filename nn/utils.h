// utils.h: torch::nn::utils, the helpers that act on a model's parameters, and
// torch::nn::utils::rnn, the batches of sequences of different lengths for the recurrent layers.
//
//   cake::nn::utils::clip_grad_norm_(net->parameters(), /*max_norm=*/1.0);
//   cake::Tensor flat = cake::nn::utils::parameters_to_vector(net->parameters());   // 1-D, differentiable
//   cake::nn::utils::vector_to_parameters(flat * 0.5, net->parameters());     // copies back, in place
//   namespace rnn_utils = cake::nn::utils::rnn;
//   cake::Tensor batch = rnn_utils::pad_sequence({a, b, c});               // [5, 3, 8] from [5|3|2, 8]
//   auto packed = rnn_utils::pack_padded_sequence(batch, cake::tensor({5, 3, 2}, {3}, cake::kInt64));
//   // packed.data() [10, 8]: the 5 + 3 + 2 real steps; packed.batch_sizes() [3, 3, 2, 1, 1]
//   auto [padded, lengths] = rnn_utils::pad_packed_sequence(packed);      // batch again, lengths [5, 3, 2]
//   auto unsorted = rnn_utils::pack_sequence({c, a, b}, /*enforce_sorted=*/false);  // any order
//
// NOTE [ The packed layout ]
// A padded batch [T, B, *] makes a recurrent layer step through the padding of its shorter
// sequences, which changes their final state (and the reverse direction's every output). A
// PackedSequence keeps only the real steps. With the sequences sorted longest first, say a
// (length 3), b (2) and c (1), data() holds the rows
//     a_0 b_0 c_0 | a_1 b_1 | a_2          batch_sizes() = [3, 2, 1]
// time-major: step t is the next batch_sizes[t] rows, the first batch_sizes[t] sequences at
// time t. So a recurrent layer runs step t on a prefix of its batch, which shrinks as sequences
// end, and never sees padding. batch_sizes is a 1-D int64 CPU tensor (the loop over steps reads
// it on the host). When the batch was not sorted by length, sorted_indices() is the permutation
// that sorted it (sorted position i holds caller's sequence sorted_indices[i]) and
// unsorted_indices() its inverse; the recurrent layers take and return states in the caller's
// order through them. Both are undefined for a batch that came sorted.
#pragma once

#include <cstdint>
#include <optional>
#include <tuple>
#include <vector>

#include "cake/optim/clip_grad.h"
#include "cake/tensor/tensor.h"

namespace cake::nn::utils {

using optim::clip_grad_norm_;
using optim::clip_grad_value_;

// Every parameter flattened and concatenated, in order (differentiable, as cat is).
Tensor parameters_to_vector(const std::vector<Tensor>& parameters);
// Copies consecutive pieces of `vec` into the parameters' values (in place, without recording
// a graph); vec must hold exactly as many elements as the parameters together.
void vector_to_parameters(const Tensor& vec, const std::vector<Tensor>& parameters);

namespace rnn {

// Sequences of different lengths [L_i, *] (the same trailing shape) stacked into one batch
// [L_max, n, *] ([n, L_max, *] with batch_first), each padded after its end with padding_value,
// as torch::nn::utils::rnn::pad_sequence. Differentiable in every sequence.
Tensor pad_sequence(const std::vector<Tensor>& sequences, bool batch_first = false, double padding_value = 0.0);

// A batch of sequences of different lengths with their padding removed (see NOTE [ The packed
// layout ] above), as torch::nn::utils::rnn::PackedSequence. Build one with pack_padded_sequence
// or pack_sequence; the recurrent layers' forward_with_packed_input take and return them.
class PackedSequence {
 public:
  // data [sum of lengths, *]; batch_sizes 1-D int64 on the CPU, positive, non-increasing and
  // summing to data.size(0); sorted_indices a permutation of the batch or undefined. When only
  // sorted_indices is given, unsorted_indices is its inverse.
  explicit PackedSequence(Tensor data, Tensor batch_sizes, Tensor sorted_indices = {}, Tensor unsorted_indices = {});

  const Tensor& data() const { return data_; }
  const Tensor& batch_sizes() const { return batch_sizes_; }
  const Tensor& sorted_indices() const { return sorted_indices_; }
  const Tensor& unsorted_indices() const { return unsorted_indices_; }

  // The same sequence with data and the permutations on `device` (batch_sizes stays on the CPU),
  // or with data in `dtype`; as libtorch's to(), cuda() and cpu().
  PackedSequence to(Device device) const;
  PackedSequence to(DType dtype) const;
  PackedSequence cuda() const { return to(Device::cuda()); }
  PackedSequence cpu() const { return to(Device::cpu()); }
  bool is_cuda() const { return data_.is_cuda(); }

 private:
  Tensor data_, batch_sizes_, sorted_indices_, unsorted_indices_;
};

// The permutation's inverse: inverse[permutation[i]] = i (1-D int64).
Tensor invert_permutation(const Tensor& permutation);

// Packs a padded batch, input [T, B, *] ([B, T, *] with batch_first), whose sequence b has
// lengths[b] real steps (a 1-D integer tensor, each in [1, T]). With enforce_sorted the lengths
// must be non-increasing; without it the batch is sorted here (stably, longest first) and the
// permutation recorded. Differentiable in input (one index_select of its real rows).
PackedSequence pack_padded_sequence(Tensor input, Tensor lengths, bool batch_first = false, bool enforce_sorted = true);

// The inverse: (padded [T, B, *] ([B, T, *] with batch_first), lengths [B] int64 on the CPU),
// in the caller's order, with padding_value after each sequence's end. T is the longest length,
// or total_length when given (at least the longest: to match a padded batch that was packed).
// Differentiable in sequence.data().
std::tuple<Tensor, Tensor> pad_packed_sequence(const PackedSequence& sequence, bool batch_first = false,
                                               double padding_value = 0.0,
                                               std::optional<std::int64_t> total_length = std::nullopt);

// Packs sequences [L_i, *] directly: pack_padded_sequence(pad_sequence(sequences), their lengths,
// false, enforce_sorted). Differentiable in every sequence.
PackedSequence pack_sequence(const std::vector<Tensor>& sequences, bool enforce_sorted = true);

}  // namespace rnn

}  // namespace cake::nn::utils
