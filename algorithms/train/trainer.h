// trainer.h: the one training loop every network in algorithms/ uses: epochs of mini-batches
// from a DataLoader, a validation loss after each epoch, early stopping with patience, a
// checkpoint after each epoch that a later run resumes from bit for bit, and a guard that stops
// the run when the loss stops being a finite number.
//
//   auto model = std::make_shared<cake::networks::ConvAutoencoder>(16);
//   cake::optim::Adam adam(model->parameters(), {.lr = 1e-3, .weight_decay = 1e-5});
//   cake::train::Trainer trainer(*model, adam,
//       [&](const cake::data::Batch& b) { return cake::nn::functional::mse_loss(model->forward(b.x), b.x); },
//       {.epochs = 150, .batch_size = 256, .patience = 10, .checkpoint_path = "run/checkpoint.safetensors"});
//   trainer.on_epoch_end([](const cake::train::EpochStats& s) { std::cout << s.train_loss << "\n"; });
//   cake::train::TrainResult result = trainer.fit(train_set, val_set);
//   // later, after an interruption: the same code with .resume_from = "run/checkpoint.safetensors"
//   // continues at the next epoch and produces the same numbers as a run that was never stopped.
//
// One epoch: model.train(); for each batch: zero the gradients, loss = batch_loss(batch), stop if
// it is not finite, backward, optimizer.step(). Then model.eval() and the mean validation loss
// under NoGradGuard. The reported losses are means over samples (each batch's mean loss weighted
// by its size), so a short last batch counts for what it holds.
//
// NOTE [ What a checkpoint holds, and why resuming is exact ]
// A run's future depends on: the weights, the optimiser's state (Adam's moments and step
// counts), the global random generator (noise, masks and the VAE's epsilon draw from it), the
// epoch counter (the DataLoader's shuffle is a pure function of its seed and the epoch, see
// data/sampler.h), and the early-stopping bookkeeping (best loss, its epoch and weights, epochs
// without improvement). All of it goes into ONE safetensors file: tensors "model.<name>",
// "best.<name>" and "optimizer.<name>", and the scalars as metadata written with enough digits
// to read back exactly (std::to_chars' shortest round trip). One file, written atomically
// (tensor/safetensors.h), so a crash while saving leaves the previous epoch's checkpoint
// whole; never a model from one epoch beside an optimiser from another. The per-epoch history
// travels along too, so a resumed run reports the whole curve.
#pragma once

#include <concepts>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "data/dataloader.h"
#include "nn/module.h"
#include "optim/optimizer.h"

namespace cake::train {

// What happened in one epoch. Losses are means per sample of the batch loss.
struct EpochStats {
  std::int64_t epoch = 0;  // 1-based
  double train_loss = 0.0;
  double val_loss = std::numeric_limits<double>::quiet_NaN();  // NaN when there is no validation set
  double seconds = 0.0;                                        // wall time of training + validation
  bool improved = false;  // the validation loss beat the best so far by more than min_delta
};

enum class StopReason {
  MaxEpochs,      // ran all `epochs`
  EarlyStopping,  // `patience` epochs in a row without a validation improvement
  NonFiniteLoss,  // a batch loss was NaN or infinite; the last good checkpoint is untouched
};

struct TrainResult {
  std::vector<EpochStats> history;  // every epoch so far, including those before a resume
  StopReason stop_reason = StopReason::MaxEpochs;
  std::string message;              // the reason in words (for a log or an error)
  std::int64_t best_epoch = 0;      // the epoch of the lowest validation loss (0: none yet)
  double best_val_loss = std::numeric_limits<double>::infinity();
  std::int64_t resumed_from_epoch = 0;  // the checkpoint's epoch, 0 for a fresh start
};

struct TrainerOptions {
  std::int64_t epochs = 10;      // the last epoch to run (a resumed run counts from the start)
  std::int64_t batch_size = 128;
  // Early stopping: stop after `patience` epochs in a row whose validation loss did not fall
  // below best - min_delta. 0 switches it off. Needs a validation set.
  std::int64_t patience = 10;
  double min_delta = 0.0;
  // After the last epoch, load the weights of the best validation epoch (as Keras'
  // restore_best_weights): the model that early stopping chose, not the one after `patience`
  // more epochs of overfitting.
  bool restore_best = true;
  std::uint64_t seed = 0;        // keys the training set's shuffle (and nothing else)
  std::string checkpoint_path = {};  // "": none; else rewritten after every epoch
  std::string resume_from = {};      // "": a fresh start; else a checkpoint to continue from
};

// The loss of one batch: a scalar tensor recording a graph (in fit) or not (in evaluate). It
// may draw random numbers (noise, masks, the VAE's epsilon) from the global generator.
using BatchLoss = std::function<Tensor(const data::Batch& batch)>;

class Trainer {
 public:
  Trainer(nn::Module& model, optim::Optimizer& optimizer, BatchLoss loss, TrainerOptions options = {});

  // A different loss for validation (e.g. without a regulariser); the training loss otherwise.
  void set_validation_loss(BatchLoss loss) { validation_loss_ = std::move(loss); }
  // Called after every epoch, once its checkpoint is written.
  void on_epoch_end(std::function<void(const EpochStats&)> callback) { on_epoch_end_ = std::move(callback); }
  // Called after every training batch with (batch number from 1, batches per epoch, its loss).
  void on_batch_end(std::function<void(std::int64_t, std::int64_t, double)> callback) {
    on_batch_end_ = std::move(callback);
  }

  // Trains from epoch 1 (or from the checkpoint in options.resume_from) to options.epochs.
  TrainResult fit(std::shared_ptr<const data::Dataset> train, std::shared_ptr<const data::Dataset> validation = nullptr);
  template <std::derived_from<data::Dataset> D>
  TrainResult fit(D train) {
    return fit(std::make_shared<const D>(std::move(train)));
  }
  template <std::derived_from<data::Dataset> D>
  TrainResult fit(D train, D validation) {
    return fit(std::make_shared<const D>(std::move(train)), std::make_shared<const D>(std::move(validation)));
  }

  // The mean per-sample `loss` over a data set, in evaluation mode without a graph.
  double evaluate(const data::Dataset& data, const BatchLoss& loss) const;
  double evaluate(const data::Dataset& data) const { return evaluate(data, validation_loss_ ? validation_loss_ : loss_); }

  const TrainerOptions& options() const { return options_; }

 private:
  double train_one_epoch(data::DataLoader& loader);
  void save_checkpoint(const TrainResult& result, std::int64_t epochs_without_improvement) const;
  std::int64_t load_checkpoint(TrainResult& result);  // returns epochs without improvement

  nn::Module& model_;
  optim::Optimizer& optimizer_;
  BatchLoss loss_, validation_loss_;
  TrainerOptions options_;
  std::function<void(const EpochStats&)> on_epoch_end_;
  std::function<void(std::int64_t, std::int64_t, double)> on_batch_end_;
  nn::NamedTensors best_state_;  // a copy of the weights at the best validation epoch
  std::int64_t nonfinite_epoch_ = 0, nonfinite_batch_ = 0;
  double nonfinite_value_ = 0.0;
};

// "max_epochs", "early_stopping" or "non_finite_loss", for metrics files.
std::string to_string(StopReason reason);

// Splits `n` samples into a training and a validation part: a random `val_fraction` of them
// (at least one when val_fraction > 0), chosen by seeded_permutation(n, seed, ...) so the same
// seed gives the same split. Returns (train indices, validation indices), int64, each sorted.
std::pair<Tensor, Tensor> train_validation_split(std::int64_t n, double val_fraction, std::uint64_t seed);

}  // namespace cake::train

// Compatibility: the spellings from before algorithms/ was split into family namespaces
// (docs/architecture.md, "The algorithms: families and namespaces"). They name the same
// entities; new code uses cake::train.
namespace cake::algorithms {
using ::cake::train::EpochStats;
using ::cake::train::StopReason;
using ::cake::train::TrainResult;
using ::cake::train::TrainerOptions;
using ::cake::train::BatchLoss;
using ::cake::train::Trainer;
using ::cake::train::to_string;
using ::cake::train::train_validation_split;
}  // namespace cake::algorithms
