#include "cake/data/dataloader.h"

#include <algorithm>
#include <cstring>

#include "cake/data/sampler.h"
#include "cake/tensor/creation.h"
#include "cake/tensor/native/elementwise.h"
#include "cake/tensor/parallel.h"

namespace cake::data {
namespace {

// rows[indices[i]] -> out[i] for a contiguous [N, ...] tensor, one memcpy per row.
Tensor gather_rows(const Tensor& source, const Tensor& indices) {
  Shape shape = source.sizes();
  const std::int64_t n = shape[0];
  shape[0] = indices.numel();
  Tensor out = make_empty(shape, source.dtype(), kCPU);
  const std::size_t row_bytes = n > 0 ? source.nbytes() / static_cast<std::size_t>(n) : 0;
  const auto* src = static_cast<const unsigned char*>(source.raw_data());
  auto* dst = static_cast<unsigned char*>(out.raw_data());
  const std::int64_t* index = indices.data_ptr<std::int64_t>();
  const std::int64_t grain = std::max<std::int64_t>(1, (1 << 16) / std::max<std::size_t>(row_bytes, 1));
  parallel_for(0, indices.numel(), grain, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t i = lo; i < hi; ++i)
      std::memcpy(dst + i * row_bytes, src + index[i] * row_bytes, row_bytes);
  });
  return out;
}

}  // namespace

TensorDataset::TensorDataset(Tensor features, Tensor labels) {
  CAKE_CHECK(features.defined() && features.dim() >= 1, "TensorDataset: features need a sample dimension, got ",
             features.defined() ? shape_str(features.sizes()) : "an undefined tensor");
  features_ = native::contiguous(native::to_device(features.detach(), kCPU));
  if (labels.defined()) {
    CAKE_CHECK(labels.dim() >= 1 && labels.size(0) == features.size(0), "TensorDataset: ", features.size(0),
               " samples (features ", features.sizes(), ") but labels have shape ", labels.sizes());
    labels_ = native::contiguous(native::to_device(labels.detach(), kCPU));
  }
}

Batch TensorDataset::get_batch(const Tensor& indices) const {
  CAKE_CHECK(indices.dtype() == kInt64 && indices.dim() == 1, "TensorDataset::get_batch: expected int64 indices [B], got ",
             dtype_name(indices.dtype()), " ", indices.sizes());
  const Tensor index = native::contiguous(native::to_device(indices, kCPU));
  const std::int64_t* p = index.data_ptr<std::int64_t>();
  for (std::int64_t i = 0; i < index.numel(); ++i)
    CAKE_CHECK(p[i] >= 0 && p[i] < size(), "TensorDataset::get_batch: index ", p[i], " out of range for ", size(),
               " samples");
  Batch batch;
  batch.x = gather_rows(features_, index);
  if (labels_.defined()) batch.y = gather_rows(labels_, index);
  batch.indices = index;
  return batch;
}

DataLoader::DataLoader(std::shared_ptr<const Dataset> dataset, DataLoaderOptions options)
    : dataset_(std::move(dataset)), options_(std::move(options)) {
  CAKE_CHECK(dataset_ != nullptr, "DataLoader: no data set");
  CAKE_CHECK(options_.batch_size > 0, "DataLoader: batch_size must be positive, got ", options_.batch_size);
}

Tensor DataLoader::order(std::int64_t epoch) const {
  if (options_.sampler) {
    Tensor order = options_.sampler(epoch);
    CAKE_CHECK(order.defined() && order.dtype() == kInt64 && order.dim() == 1,
               "DataLoader: the sampler must return int64 indices [M]");
    return native::contiguous(native::to_device(order, kCPU));
  }
  if (options_.shuffle) return seeded_permutation(dataset_->size(), options_.seed, static_cast<std::uint64_t>(epoch));
  return arange(dataset_->size());
}

std::int64_t DataLoader::batches_for(std::int64_t samples) const {
  const std::int64_t b = options_.batch_size;
  return options_.drop_last ? samples / b : (samples + b - 1) / b;
}

std::int64_t DataLoader::num_batches() const {
  return batches_for(options_.sampler ? order(epoch_).numel() : dataset_->size());
}

DataLoader::Iterator DataLoader::begin() { return Iterator(this, order(epoch_++)); }

DataLoader::Iterator::Iterator(const DataLoader* loader, Tensor order) : loader_(loader), order_(std::move(order)) {
  stop_ = loader_->batches_for(order_.numel()) * loader_->options_.batch_size;
  load();
}

DataLoader::Iterator& DataLoader::Iterator::operator++() {
  next_ += loader_->options_.batch_size;
  load();
  return *this;
}

void DataLoader::Iterator::load() {
  if (next_ >= stop_) {
    batch_ = {};
    return;
  }
  const std::int64_t count = std::min(loader_->options_.batch_size, order_.numel() - next_);
  batch_ = loader_->dataset_->get_batch(order_.narrow(0, next_, count).contiguous());
  if (loader_->options_.transform) batch_.x = loader_->options_.transform(batch_.x);
}

}  // namespace cake::data
