// utils.cpp: torch::nn::utils' parameter vectors, and the padded and packed batches of
// sequences of torch::nn::utils::rnn (nn/utils.h).
#include "cake/nn/utils.h"

#include <algorithm>
#include <string>
#include <tuple>
#include <utility>

#include "cake/autograd/grad_mode.h"
#include "cake/autograd/ops.h"
#include "cake/nn/functional.h"
#include "cake/tensor/creation.h"

namespace cake::nn::utils {

Tensor parameters_to_vector(const std::vector<Tensor>& parameters) {
  std::vector<Tensor> flat;
  flat.reserve(parameters.size());
  for (const Tensor& p : parameters) flat.push_back(p.reshape({-1}));
  return cat(flat, 0);
}

void vector_to_parameters(const Tensor& vec, const std::vector<Tensor>& parameters) {
  std::int64_t total = 0;
  for (const Tensor& p : parameters) total += p.numel();
  CAKE_CHECK(vec.dim() == 1 && vec.numel() == total, "vector_to_parameters: expected a 1-D tensor of ", total,
             " elements (the parameters' total), got shape ", vec.sizes());
  const NoGradGuard no_grad;
  std::int64_t offset = 0;
  for (const Tensor& p : parameters) {
    Tensor target = p;
    target.copy_(vec.narrow(0, offset, p.numel()).view(p.sizes()));
    offset += p.numel();
  }
}

namespace rnn {

Tensor pad_sequence(const std::vector<Tensor>& sequences, bool batch_first, double padding_value) {
  CAKE_CHECK(!sequences.empty(), "pad_sequence: no sequences given");
  const Tensor& first = sequences.front();
  CAKE_CHECK(first.dim() >= 1, "pad_sequence: sequences must be at least 1-D [length, *], got shape ", first.sizes());
  std::int64_t longest = 0;
  for (const Tensor& s : sequences) {
    CAKE_CHECK(s.dim() == first.dim() && std::equal(s.sizes().begin() + 1, s.sizes().end(), first.sizes().begin() + 1),
               "pad_sequence: every sequence must be [length, *] with the same *; got shapes ", first.sizes(), " and ",
               s.sizes());
    longest = std::max(longest, s.size(0));
  }
  // F::pad's list runs from the last dim to the first; only the first (time) gets an "after".
  std::vector<Tensor> padded;
  padded.reserve(sequences.size());
  for (const Tensor& s : sequences) {
    Shape amounts(2 * static_cast<std::size_t>(s.dim()), 0);
    amounts.back() = longest - s.size(0);
    padded.push_back(functional::pad(s, amounts, functional::PadMode::Constant, padding_value));
  }
  return stack(padded, batch_first ? 0 : 1);
}

// ---- packed sequences (NOTE [ The packed layout ] in utils.h) --------------------------------

namespace {

// The entries of a 1-D int64 CPU tensor, to check and to print in messages as [5, 3, 2].
Shape entries_of(const Tensor& t) {
  const Tensor c = t.contiguous();
  const std::int64_t* first = c.data_ptr<std::int64_t>();
  return Shape(first, first + c.numel());
}

bool non_increasing(const Shape& v) { return std::is_sorted(v.rbegin(), v.rend()); }

Tensor to_device(const Tensor& t, Device device) { return t.defined() ? t.to(device) : t; }

// [T, B] bool: whether sequence b (of the sorted `lengths`) still has a step at time t.
Tensor steps_present(const Tensor& lengths, std::int64_t steps) {
  return arange(steps).unsqueeze(1).lt(lengths.unsqueeze(0));
}

// Where each packed row lives in a padded batch [T, B, *] flattened to [T B, *] ([B, T, *] to
// [B T, *] with batch_first): packed order is time-major, and at step t the sorted sequences b
// with lengths[b] > t, each in the caller's column order[b]. One int64 index per packed row, so
// packing is one index_select of these rows, and padding its inverse.
Tensor padded_rows(const Tensor& lengths, const Tensor& order, std::int64_t steps, bool batch_first) {
  const std::int64_t batch = lengths.size(0);
  const Tensor t = arange(steps).unsqueeze(1), b = order.unsqueeze(0);  // [T, 1] and [1, B]
  const Tensor row = batch_first ? b * steps + t : t * batch + b;       // [T, B]: the row of (t, b)
  return masked_select(row, steps_present(lengths, steps));
}

// lengths as a 1-D int64 CPU tensor, checked against the padded input's B and T.
Tensor checked_lengths(const char* who, const Tensor& lengths, const Tensor& input, std::int64_t steps,
                       std::int64_t batch) {
  CAKE_CHECK(lengths.defined() && lengths.dim() == 1 && !lengths.is_floating_point(), who,
             ": lengths must be a 1-D integer tensor, got ",
             lengths.defined() ? shape_str(lengths.sizes()) + " " + dtype_name(lengths.dtype()) : "undefined");
  Tensor host = lengths.to(Device::cpu(), kInt64);
  const Shape v = entries_of(host);
  CAKE_CHECK(host.size(0) == batch, who, ": expected ", batch, " lengths (the batch size of input ", input.sizes(),
             "), got ", v.size(), ": ", v);
  CAKE_CHECK(std::all_of(v.begin(), v.end(), [](std::int64_t n) { return n > 0; }), who,
             ": every length must be positive, got lengths ", v);
  CAKE_CHECK(std::all_of(v.begin(), v.end(), [&](std::int64_t n) { return n <= steps; }), who, ": lengths ", v,
             " exceed the input's ", steps, " time steps (input shape ", input.sizes(), ")");
  return host;
}

// pack_padded_sequence, with the name of the function the user called for its messages.
PackedSequence pack(const char* who, const Tensor& input, const Tensor& lengths, bool batch_first,
                    bool enforce_sorted) {
  CAKE_CHECK(input.dim() >= 2, who, ": expected input [T, B, *] ([B, T, *] with batch_first), got shape ",
             input.sizes());
  const std::int64_t steps = input.size(batch_first ? 1 : 0), batch = input.size(batch_first ? 0 : 1);
  Tensor sorted_lengths = checked_lengths(who, lengths, input, steps, batch), sorted_indices;
  if (enforce_sorted) {
    CAKE_CHECK(non_increasing(entries_of(sorted_lengths)), who,
               ": lengths must be sorted in decreasing order when enforce_sorted is true, got ",
               entries_of(sorted_lengths), "; pass enforce_sorted = false to have them sorted here");
  } else {
    // Stable, as PyTorch's CPU sort: equal lengths keep the caller's order.
    std::tie(sorted_lengths, sorted_indices) = sorted_lengths.sort(0, /*descending=*/true);
  }
  const Tensor order = sorted_indices.defined() ? sorted_indices : arange(batch);
  const Tensor rows = padded_rows(sorted_lengths, order, steps, batch_first);
  const std::int64_t longest = sorted_lengths[0].item<std::int64_t>();
  const Tensor batch_sizes = steps_present(sorted_lengths, longest).sum(1).to(kInt64);
  return PackedSequence(input.flatten(0, 1).index_select(0, rows.to(input.device())), batch_sizes,
                        to_device(sorted_indices, input.device()));
}

}  // namespace

PackedSequence::PackedSequence(Tensor data, Tensor batch_sizes, Tensor sorted_indices, Tensor unsorted_indices)
    : data_(std::move(data)),
      batch_sizes_(std::move(batch_sizes)),
      sorted_indices_(std::move(sorted_indices)),
      unsorted_indices_(std::move(unsorted_indices)) {
  CAKE_CHECK(data_.defined() && data_.dim() >= 1, "PackedSequence: data must be [sum of lengths, *], got ",
             data_.defined() ? shape_str(data_.sizes()) : "undefined");
  CAKE_CHECK(batch_sizes_.defined() && batch_sizes_.dim() == 1 && batch_sizes_.dtype() == kInt64 &&
                 batch_sizes_.is_cpu() && batch_sizes_.numel() > 0,
             "PackedSequence: batch_sizes must be a non-empty 1-D int64 tensor on the CPU");
  const Shape sizes = entries_of(batch_sizes_);
  std::int64_t rows = 0;
  for (std::int64_t n : sizes) rows += n;
  CAKE_CHECK(sizes.back() > 0 && non_increasing(sizes) && rows == data_.size(0),
             "PackedSequence: batch_sizes must be positive, non-increasing and sum to data.size(0) = ", data_.size(0),
             ", got ", sizes);
  if (!unsorted_indices_.defined()) unsorted_indices_ = invert_permutation(sorted_indices_);
  for (const Tensor* p : {&sorted_indices_, &unsorted_indices_}) {
    CAKE_CHECK(!p->defined() || p->sizes() == Shape{sizes.front()},
               "PackedSequence: sorted_indices and unsorted_indices must be [batch] = [", sizes.front(),
               "], got shape ", p->sizes());
  }
}

PackedSequence PackedSequence::to(Device device) const {
  return PackedSequence(data_.to(device), batch_sizes_, to_device(sorted_indices_, device),
                        to_device(unsorted_indices_, device));
}

PackedSequence PackedSequence::to(DType dtype) const {
  return PackedSequence(data_.to(dtype), batch_sizes_, sorted_indices_, unsorted_indices_);
}

Tensor invert_permutation(const Tensor& permutation) {
  if (!permutation.defined()) return {};
  CAKE_CHECK(permutation.dim() == 1 && permutation.dtype() == kInt64,
             "invert_permutation: expected a 1-D int64 tensor, got shape ", permutation.sizes(), " ",
             dtype_name(permutation.dtype()));
  const Tensor positions = arange(permutation.numel(), {kInt64, permutation.device()});
  return zeros_like(permutation).scatter(0, permutation, positions);  // inverse[permutation[i]] = i
}

PackedSequence pack_padded_sequence(Tensor input, Tensor lengths, bool batch_first, bool enforce_sorted) {
  return pack("pack_padded_sequence", input, lengths, batch_first, enforce_sorted);
}

std::tuple<Tensor, Tensor> pad_packed_sequence(const PackedSequence& sequence, bool batch_first,
                                               double padding_value, std::optional<std::int64_t> total_length) {
  const Tensor& data = sequence.data();
  const std::int64_t longest = sequence.batch_sizes().size(0);
  const std::int64_t batch = sequence.batch_sizes()[0].item<std::int64_t>();
  const std::int64_t steps = total_length.value_or(longest);
  CAKE_CHECK(steps >= longest, "pad_packed_sequence: expected total_length to be at least the length of the "
             "longest sequence, ", longest, ", got total_length = ", steps);
  // Sorted sequence b is as long as the number of steps that still run more than b sequences.
  const Tensor lengths = sequence.batch_sizes().unsqueeze(1).gt(arange(batch).unsqueeze(0)).sum(0).to(kInt64);
  const Tensor& unsorted = sequence.unsorted_indices();
  const Tensor order = sequence.sorted_indices().defined() ? sequence.sorted_indices().cpu() : arange(batch);
  const Tensor rows = padded_rows(lengths, order, steps, batch_first);
  // Padded row r copies the packed row that lands there, or the padding row appended after the
  // data: one index_select, whose backward returns each packed row's gradient to it.
  const std::int64_t packed = data.size(0);
  const Tensor source = full({steps * batch}, packed, kInt64).scatter(0, rows, arange(packed));
  Shape one_row = data.sizes(), padded_shape = data.sizes();
  one_row[0] = 1;
  padded_shape[0] = batch;
  padded_shape.insert(padded_shape.begin() + (batch_first ? 1 : 0), steps);
  const Tensor padding = full(one_row, padding_value, {data.dtype(), data.device()});
  const Tensor padded = cat({data, padding}, 0).index_select(0, source.to(data.device())).view(padded_shape);
  return {padded, unsorted.defined() ? lengths.index_select(0, unsorted.cpu()) : lengths};
}

PackedSequence pack_sequence(const std::vector<Tensor>& sequences, bool enforce_sorted) {
  CAKE_CHECK(!sequences.empty(), "pack_sequence: no sequences given");
  const Tensor padded = pad_sequence(sequences);
  std::vector<std::int64_t> lengths;
  for (const Tensor& s : sequences) lengths.push_back(s.size(0));
  return pack("pack_sequence", padded, tensor(lengths), /*batch_first=*/false, enforce_sorted);
}

}  // namespace rnn

}  // namespace cake::nn::utils
