// Tests for data/dataloader.h and data/sampler.h: batches cover the data exactly once per
// epoch, shuffles are reproducible by (seed, epoch) and leave the global generator alone,
// drop_last, custom samplers, transforms, DeepCluster's uniform pseudo-label sampler and DAC's
// chunked order.
#include <algorithm>
#include <map>
#include <numeric>
#include <set>

#include "cake/data/dataloader.h"
#include "cake/data/sampler.h"
#include "helpers.h"

using namespace cake;
using namespace cake::data;
using cake::testing::values;

namespace {
std::vector<std::int64_t> as_ints(const Tensor& t) {
  std::vector<std::int64_t> out;
  for (double v : values(t)) out.push_back(static_cast<std::int64_t>(v));
  return out;
}

// Features [n, 2, 3] whose sample i holds the values 100 i + 0..5; labels 10 i.
TensorDataset numbered(std::int64_t n) {
  return TensorDataset(arange(0.0, static_cast<double>(n * 6), 1.0, kFloat32).view({n, 2, 3}) +
                           arange(n).to(kFloat32).view({n, 1, 1}) * 94.0,
                       arange(n) * 10);
}
}  // namespace

TEST_CASE("dataloader: in order, every sample once, last batch short") {
  DataLoader loader(numbered(10), {.batch_size = 4});
  CHECK(loader.num_batches() == 3);
  std::vector<std::int64_t> seen, sizes;
  for (const Batch& batch : loader) {
    sizes.push_back(batch.x.size(0));
    CHECK(batch.x.sizes() == Shape{batch.x.size(0), 2, 3});
    CHECK(batch.x.is_contiguous());
    for (std::int64_t j = 0; j < batch.x.size(0); ++j) {
      const std::int64_t index = as_ints(batch.indices)[j];
      seen.push_back(index);
      CHECK(values(batch.x[j])[0] == 100.0 * index);  // the right rows were gathered
      CHECK(as_ints(batch.y)[j] == 10 * index);
    }
  }
  CHECK(sizes == std::vector<std::int64_t>{4, 4, 2});
  CHECK(seen == std::vector<std::int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  CHECK(loader.epoch() == 1);
}

TEST_CASE("dataloader: drop_last and a data set without labels") {
  DataLoader loader(TensorDataset(randn({10, 3})), {.batch_size = 4, .drop_last = true});
  CHECK(loader.num_batches() == 2);
  std::int64_t batches = 0;
  for (const Batch& batch : loader) {
    CHECK(batch.x.size(0) == 4);
    CHECK_FALSE(batch.y.defined());
    ++batches;
  }
  CHECK(batches == 2);
  // Fewer samples than a batch with drop_last: no batch at all.
  DataLoader tiny(TensorDataset(randn({3, 2})), {.batch_size = 4, .drop_last = true});
  CHECK(tiny.begin() == tiny.end());
}

TEST_CASE("dataloader: shuffling is a permutation, reproducible by seed and epoch, new each epoch") {
  auto epoch_order = [](DataLoader& loader) {
    std::vector<std::int64_t> order;
    for (const Batch& batch : loader)
      for (std::int64_t v : as_ints(batch.indices)) order.push_back(v);
    return order;
  };
  DataLoader a(numbered(50), {.batch_size = 8, .shuffle = true, .seed = 5});
  DataLoader b(numbered(50), {.batch_size = 8, .shuffle = true, .seed = 5});
  DataLoader c(numbered(50), {.batch_size = 8, .shuffle = true, .seed = 6});
  const auto a0 = epoch_order(a), a1 = epoch_order(a);
  CHECK(a0 == epoch_order(b));
  CHECK(a1 == epoch_order(b));
  CHECK(a0 != a1);                // a new order each epoch
  CHECK(a0 != epoch_order(c));    // and per seed
  std::vector<std::int64_t> sorted = a0;
  std::sort(sorted.begin(), sorted.end());
  std::vector<std::int64_t> expected(50);
  std::iota(expected.begin(), expected.end(), 0);
  CHECK(sorted == expected);
  // An epoch can be replayed: the order is a pure function of (seed, epoch).
  CHECK(as_ints(a.order(1)) == a1);
  a.set_epoch(0);
  CHECK(epoch_order(a) == a0);
  CHECK(as_ints(a.order(3)) == as_ints(seeded_permutation(50, 5, 3)));
}

TEST_CASE("dataloader: shuffling never touches the global random generator") {
  manual_seed(123);
  const Tensor expected = randn({4});
  manual_seed(123);
  DataLoader loader(numbered(20), {.batch_size = 3, .shuffle = true, .seed = 9});
  for (const Batch& batch : loader) (void)batch;
  CHECK(equal(randn({4}), expected));
}

TEST_CASE("dataloader: transforms run on each batch; samplers choose the order") {
  DataLoader scaled(numbered(6), {.batch_size = 4, .transform = [](Tensor x) { return x * 2.0; }});
  const Batch first = *scaled.begin();  // a copy: the iterator owns the batch it points to
  CHECK(values(first.x[1])[0] == 200.0);

  // A sampler giving indices with repeats, a different length from the data set.
  DataLoader sampled(numbered(6), {.batch_size = 2, .sampler = [](std::int64_t epoch) {
                                     return tensor(std::vector<std::int64_t>{5, 5, epoch, 1, 0});
                                   }});
  CHECK(sampled.num_batches() == 3);
  std::vector<std::int64_t> seen;
  for (const Batch& batch : sampled)
    for (std::int64_t v : as_ints(batch.y)) seen.push_back(v);
  CHECK(seen == std::vector<std::int64_t>{50, 50, 0, 10, 0});
  for (const Batch& batch : sampled) (void)batch;  // epoch 1
  CHECK(as_ints(sampled.order(1)) == std::vector<std::int64_t>{5, 5, 1, 1, 0});
}

TEST_CASE("dataloader: non-contiguous features are gathered correctly; bad input is refused") {
  const Tensor base = arange(0.0, 24.0, 1.0, kFloat64).view({4, 6});
  TensorDataset transposed(base.t(), arange(6));  // 6 samples of 4 features, strided view
  const Batch batch = transposed.get_batch(tensor(std::vector<std::int64_t>{2, 0}));
  CHECK(values(batch.x) == std::vector<double>{2, 8, 14, 20, 0, 6, 12, 18});
  CHECK_THROWS_AS(transposed.get_batch(tensor(std::vector<std::int64_t>{6})), Error);
  CHECK_THROWS_AS(transposed.get_batch(tensor(std::vector<std::int64_t>{-1})), Error);
  CHECK_THROWS_AS(transposed.get_batch(tensor({0.0})), Error);
  CHECK_THROWS_AS(TensorDataset(randn({4, 2}), arange(3)), Error);
  CHECK_THROWS_AS(TensorDataset{Tensor{}}, Error);
  CHECK_THROWS_AS(DataLoader(transposed, {.batch_size = 0}), Error);
}

TEST_CASE("sampler: Philox draws are uniform and unbiased enough to see") {
  PhiloxStream stream(1, 0);
  std::vector<int> counts(6, 0);
  for (int i = 0; i < 60000; ++i) ++counts[stream.below(6)];
  for (int c : counts) CHECK(std::abs(c - 10000) < 500);  // about 5 standard deviations
  double sum = 0;
  for (int i = 0; i < 10000; ++i) sum += stream.uniform();
  CHECK(sum / 10000 == doctest::Approx(0.5).epsilon(0.02));
  CHECK(PhiloxStream(1, 0).next() == PhiloxStream(1, 0).next());
  CHECK(PhiloxStream(1, 0).next() != PhiloxStream(1, 1).next());
  CHECK(PhiloxStream(1, 0).next() != PhiloxStream(2, 0).next());
}

TEST_CASE("sampler: uniform over pseudo-labels, whatever the cluster sizes") {
  // One huge cluster (label 4, 900 samples), two medium ones and a singleton (label -1).
  std::vector<std::int64_t> labels(900, 4);
  labels.insert(labels.end(), 60, 7);
  labels.insert(labels.end(), 39, 100);
  labels.push_back(-1);
  const Tensor label_tensor = tensor(labels);
  UniformLabelSampler sampler(label_tensor, 1000, 11);
  const std::vector<std::int64_t> indices = as_ints(sampler(0));
  REQUIRE(indices.size() == 1000);
  std::map<std::int64_t, int> per_label;
  for (std::int64_t i : indices) {
    REQUIRE(i >= 0);
    REQUIRE(i < 1000);
    ++per_label[labels[i]];
  }
  // 4 non-empty labels: each contributes 1000 / 4 + 1 = 251 to the pool of 1004, cut to 1000.
  REQUIRE(per_label.size() == 4);
  for (const auto& [label, count] : per_label) {
    CHECK(count >= 247);
    CHECK(count <= 251);
  }
  // The huge cluster is sampled without replacement: no index twice.
  std::set<std::int64_t> big;
  for (std::int64_t i : indices)
    if (labels[i] == 4) CHECK(big.insert(i).second);
  // Reproducible per (seed, epoch), different across epochs.
  CHECK(as_ints(sampler(0)) == indices);
  CHECK(as_ints(sampler(1)) != indices);
  CHECK(as_ints(UniformLabelSampler(label_tensor, 1000, 12)(0)) != indices);
  // As a DataLoader sampler.
  DataLoader loader(TensorDataset(randn({1000, 2}), label_tensor), {.batch_size = 100, .sampler = sampler});
  CHECK(loader.num_batches() == 10);

  CHECK_THROWS_AS(UniformLabelSampler(label_tensor, 0, 1), Error);
  CHECK_THROWS_AS(UniformLabelSampler(label_tensor.to(kFloat32), 10, 1), Error);
  CHECK_THROWS_AS(UniformLabelSampler(tensor(std::vector<std::int64_t>{}), 10, 1), Error);
}

TEST_CASE("sampler: chunked passes, each chunk's images several times in a row, a new order each pass") {
  // 23 images in chunks of 5 (the last has 3), 3 passes each.
  const std::int64_t n = 23, chunk = 5, passes = 3;
  const std::vector<std::int64_t> order = as_ints(chunked_passes_order(n, chunk, passes, 4, 1));
  REQUIRE(order.size() == static_cast<std::size_t>(n * passes));
  std::set<std::int64_t> seen;
  bool some_pass_reordered = false;
  for (std::int64_t start = 0; start < n; start += chunk) {
    const std::int64_t size = std::min(chunk, n - start);
    const auto block = order.begin() + start * passes;
    const std::vector<std::int64_t> first(block, block + size);
    std::vector<std::int64_t> members = first;
    std::sort(members.begin(), members.end());
    CHECK(std::adjacent_find(members.begin(), members.end()) == members.end());  // each image once a pass
    for (std::int64_t pass = 1; pass < passes; ++pass) {
      std::vector<std::int64_t> again(block + pass * size, block + (pass + 1) * size);
      if (again != first) some_pass_reordered = true;
      std::sort(again.begin(), again.end());
      CHECK(again == members);  // the same images, in a new order
    }
    for (std::int64_t i : members) CHECK(seen.insert(i).second);  // chunks do not overlap
  }
  CHECK(seen.size() == static_cast<std::size_t>(n));  // and cover the data
  CHECK(*seen.begin() == 0);
  CHECK(*seen.rbegin() == n - 1);
  CHECK(some_pass_reordered);
  // A pure function of (seed, stream); one pass of one chunk of everything is a permutation.
  CHECK(as_ints(chunked_passes_order(n, chunk, passes, 4, 1)) == order);
  CHECK(as_ints(chunked_passes_order(n, chunk, passes, 4, 2)) != order);
  CHECK(as_ints(chunked_passes_order(n, chunk, passes, 5, 1)) != order);
  std::vector<std::int64_t> whole = as_ints(chunked_passes_order(n, n, 1, 4, 1));
  std::sort(whole.begin(), whole.end());
  std::vector<std::int64_t> identity(n);
  std::iota(identity.begin(), identity.end(), 0);
  CHECK(whole == identity);
  CHECK_THROWS_AS(chunked_passes_order(n, 0, 1, 4, 1), Error);
  CHECK_THROWS_AS(chunked_passes_order(n, 5, 0, 4, 1), Error);
}
