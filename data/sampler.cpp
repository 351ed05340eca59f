#include "cake/data/sampler.h"

#include <algorithm>
#include <map>
#include <vector>

#include "cake/tensor/philox.h"

namespace cake::data {

std::uint64_t PhiloxStream::next() {
  if (used_ > 2) {
    // Counter = (group, stream): the lower half walks the sequence, the upper half picks it.
    const PhiloxCounter words = philox4x32_10(
        {static_cast<std::uint32_t>(group_), static_cast<std::uint32_t>(group_ >> 32),
         static_cast<std::uint32_t>(stream_), static_cast<std::uint32_t>(stream_ >> 32)},
        {static_cast<std::uint32_t>(seed_), static_cast<std::uint32_t>(seed_ >> 32)});
    std::copy(words.begin(), words.end(), words_);
    ++group_;
    used_ = 0;
  }
  const std::uint64_t value = static_cast<std::uint64_t>(words_[used_]) << 32 | words_[used_ + 1];
  used_ += 2;
  return value;
}

std::uint64_t PhiloxStream::below(std::uint64_t n) {
  CAKE_CHECK(n > 0, "PhiloxStream::below: n must be positive");
  // Values at or above `limit` would make the low residues more likely; draw again (the
  // chance is below n / 2^64).
  const std::uint64_t limit = ~std::uint64_t{0} - (~std::uint64_t{0} % n);
  std::uint64_t value;
  do value = next();
  while (value >= limit);
  return value % n;
}

double PhiloxStream::uniform() { return static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0); }

namespace {
void shuffle(std::vector<std::int64_t>& values, PhiloxStream& random) {
  // Fisher-Yates: position i swaps with a uniform position in [0, i].
  for (std::size_t i = values.size(); i > 1; --i) std::swap(values[i - 1], values[random.below(i)]);
}

Tensor to_tensor(const std::vector<std::int64_t>& values) {
  Tensor out = make_empty({static_cast<std::int64_t>(values.size())}, kInt64, kCPU);
  std::copy(values.begin(), values.end(), out.data_ptr<std::int64_t>());
  return out;
}
}  // namespace

Tensor seeded_permutation(std::int64_t n, std::uint64_t seed, std::uint64_t stream) {
  CAKE_CHECK(n >= 0, "seeded_permutation: n must be non-negative, got ", n);
  std::vector<std::int64_t> order(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) order[i] = i;
  PhiloxStream random(seed, stream);
  shuffle(order, random);
  return to_tensor(order);
}

Tensor chunked_passes_order(std::int64_t n, std::int64_t chunk, std::int64_t passes, std::uint64_t seed,
                            std::uint64_t stream) {
  CAKE_CHECK(n >= 0 && chunk > 0 && passes > 0, "chunked_passes_order: expected n >= 0, chunk > 0 and passes > 0, got n ",
             n, ", chunk ", chunk, ", passes ", passes);
  std::vector<std::int64_t> all(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) all[i] = i;
  PhiloxStream random(seed, stream);
  shuffle(all, random);
  std::vector<std::int64_t> order;
  order.reserve(static_cast<std::size_t>(n * passes));
  for (std::int64_t start = 0; start < n; start += chunk) {
    std::vector<std::int64_t> members(all.begin() + start, all.begin() + std::min(start + chunk, n));
    for (std::int64_t pass = 0; pass < passes; ++pass) {
      shuffle(members, random);
      order.insert(order.end(), members.begin(), members.end());
    }
  }
  return to_tensor(order);
}

UniformLabelSampler::UniformLabelSampler(const Tensor& labels, std::int64_t num_samples, std::uint64_t seed)
    : num_samples_(num_samples), seed_(seed) {
  CAKE_CHECK(labels.defined() && labels.dim() == 1 && labels.dtype() == kInt64,
             "UniformLabelSampler: expected int64 labels [N], got ",
             labels.defined() ? std::string(dtype_name(labels.dtype())) + " " + shape_str(labels.sizes()) : "undefined");
  CAKE_CHECK(labels.numel() > 0, "UniformLabelSampler: no labels");
  CAKE_CHECK(num_samples > 0, "UniformLabelSampler: num_samples must be positive, got ", num_samples);
  const Tensor host = labels.detach().cpu().contiguous();
  const std::int64_t* values = host.data_ptr<std::int64_t>();
  std::map<std::int64_t, std::vector<std::int64_t>> by_label;  // ordered: the same order every run
  for (std::int64_t i = 0; i < host.numel(); ++i) by_label[values[i]].push_back(i);
  for (auto& [label, members] : by_label) members_.push_back(std::move(members));
}

Tensor UniformLabelSampler::operator()(std::int64_t epoch) const {
  PhiloxStream random(seed_, static_cast<std::uint64_t>(epoch));
  const auto per_label = num_samples_ / static_cast<std::int64_t>(members_.size()) + 1;
  std::vector<std::int64_t> pool;
  pool.reserve(static_cast<std::size_t>(per_label) * members_.size());
  for (const auto& members : members_) {
    const auto size = static_cast<std::int64_t>(members.size());
    if (size >= per_label) {
      // Without replacement: the first per_label entries of a partial Fisher-Yates shuffle.
      std::vector<std::int64_t> copy = members;
      for (std::int64_t i = 0; i < per_label; ++i)
        std::swap(copy[i], copy[i + random.below(static_cast<std::uint64_t>(size - i))]);
      pool.insert(pool.end(), copy.begin(), copy.begin() + per_label);
    } else {
      for (std::int64_t i = 0; i < per_label; ++i) pool.push_back(members[random.below(members.size())]);
    }
  }
  shuffle(pool, random);
  pool.resize(static_cast<std::size_t>(num_samples_));  // the pool has K * per_label > num_samples entries
  return to_tensor(pool);
}

}  // namespace cake::data
