// dataloader.h: data sets of samples and the loader that serves them in mini-batches.
//
//   cake::data::TensorDataset train(images, labels);        // images [N, 1, 28, 28], labels [N]
//   cake::data::DataLoader loader(train, {.batch_size = 128, .shuffle = true, .seed = 1,
//                                         .transform = cake::data::RandomHorizontalFlip(0.5)});
//   for (int epoch = 0; epoch < 10; ++epoch)
//     for (const cake::data::Batch& batch : loader) {   // each loop is the next epoch
//       auto loss = cake::nn::functional::cross_entropy(model->forward(batch.x), batch.y);
//     }
//
// Each batch is gathered into one fresh allocation (one memcpy per sample row), then the
// transform, if any, runs on the whole batch: per-batch work keeps the per-sample overhead to
// a copy. The order of epoch e is seeded_permutation(N, seed, e) (sampler.h): reproducible,
// different each epoch, and it never touches the global random generator. Transforms that
// draw random numbers (crops, flips, noise) use the global generator, so manual_seed fixes
// them too.
#pragma once

#include <concepts>
#include <cstdint>
#include <functional>
#include <memory>

#include "cake/tensor/tensor.h"

namespace cake::data {

struct Batch {
  Tensor x;        // the samples, [B, ...]
  Tensor y;        // their labels [B], or undefined when the data set has none
  Tensor indices;  // int64 [B]: which samples of the data set these are
};

// A data set: a size and a way to gather any set of samples into one batch. Gathering a
// whole batch per call (not one sample) keeps virtual calls out of the per-sample path.
class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual std::int64_t size() const = 0;
  // The samples at `indices` (int64 [B], each in [0, size())), stacked along a new dim 0.
  virtual Batch get_batch(const Tensor& indices) const = 0;
};

// Samples are the rows (dim 0) of `features`, with the matching entries of `labels`.
class TensorDataset : public Dataset {
 public:
  explicit TensorDataset(Tensor features, Tensor labels = {});
  std::int64_t size() const override { return features_.size(0); }
  Batch get_batch(const Tensor& indices) const override;
  const Tensor& features() const { return features_; }
  const Tensor& labels() const { return labels_; }

 private:
  Tensor features_, labels_;  // contiguous CPU copies (or the originals when they already are)
};

// Maps a batch to a batch (see transforms.h); applied to Batch::x.
using Transform = std::function<Tensor(Tensor)>;
// Returns the sample indices (int64 [M]) of an epoch; see UniformLabelSampler.
using Sampler = std::function<Tensor(std::int64_t epoch)>;

struct DataLoaderOptions {
  std::int64_t batch_size = 64;
  bool shuffle = false;    // a new seeded permutation every epoch
  bool drop_last = false;  // skip a last batch smaller than batch_size
  std::uint64_t seed = 0;  // keys the shuffle (and nothing else)
  Transform transform = nullptr;
  Sampler sampler = nullptr;  // when set, gives each epoch's order and `shuffle` is ignored
};

class DataLoader {
 public:
  DataLoader(std::shared_ptr<const Dataset> dataset, DataLoaderOptions options = {});
  template <std::derived_from<Dataset> D>
  DataLoader(D dataset, DataLoaderOptions options = {})
      : DataLoader(std::make_shared<const D>(std::move(dataset)), std::move(options)) {}

  class Sentinel {};
  class Iterator {
   public:
    const Batch& operator*() const { return batch_; }
    const Batch* operator->() const { return &batch_; }
    Iterator& operator++();
    bool operator==(Sentinel) const { return next_ >= stop_; }

   private:
    friend class DataLoader;
    Iterator(const DataLoader* loader, Tensor order);
    void load();
    const DataLoader* loader_;
    Tensor order_;              // the epoch's sample indices
    std::int64_t next_ = 0;     // position in order_ of the current batch
    std::int64_t stop_ = 0;     // where the last batch starts beyond
    Batch batch_;
  };

  // Starts the next epoch (epoch() then advances by one) and returns its first batch.
  Iterator begin();
  Sentinel end() const { return {}; }

  // The sample order of an epoch, without starting it.
  Tensor order(std::int64_t epoch) const;
  // Batches in one epoch (with a sampler: of the epoch that begin() starts next).
  std::int64_t num_batches() const;
  std::int64_t epoch() const { return epoch_; }
  void set_epoch(std::int64_t epoch) { epoch_ = epoch; }
  const Dataset& dataset() const { return *dataset_; }
  const DataLoaderOptions& options() const { return options_; }

 private:
  std::int64_t batches_for(std::int64_t samples) const;
  std::shared_ptr<const Dataset> dataset_;
  DataLoaderOptions options_;
  std::int64_t epoch_ = 0;
};

}  // namespace cake::data
