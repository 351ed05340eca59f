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
// travels along too, so a resumed run reports the whole curve. The checkpoint's checksum covers
// its header and metadata as well as its data (tensor/safetensors.h), so an edited
// "trainer.epoch" is refused rather than silently skipping training.
//
// NOTE [ An algorithm's own state: hooks and the state slot ]
// Many algorithms carry state beside the weights: DeepCluster re-clusters at the start of every
// epoch (pseudo-labels, centroids, a fresh head; Caron et al. 2018, "Deep Clustering for
// Unsupervised Learning of Visual Features", section 3.2), DAC moves its threshold lambda
// (Chang et al. 2017, section 3.3), MoCo keeps a queue and a momentum encoder (He et al. 2020,
// section 3.2), DEC refreshes its target distribution every few steps (Xie et al. 2016,
// section 3.1.3). The Trainer drives them with four hooks and saves their state in the same
// atomic checkpoint:
//
//   struct Threshold : cake::algorithms::TrainState {       // DAC's lambda, say
//     double lambda = 0.95; cake::Tensor centroids;
//     void save(cake::algorithms::StateWriter& out) const override {
//       out.scalar("lambda", lambda);
//       out.tensor("centroids", centroids);
//     }
//     void load(const cake::algorithms::StateReader& in) override {
//       lambda = in.scalar("lambda");
//       centroids = in.tensor("centroids");
//     }
//   } threshold;
//   trainer.add_state("dac", threshold);                    // saved as "state.dac.*"
//   trainer.on_epoch_begin([&](std::int64_t epoch) { threshold.lambda -= 0.01; /* re-cluster */ });
//   trainer.on_batch_begin([&](const BatchInfo& b) { if (b.step % 10 == 0) refresh_targets(); });
//
// (or, without a class: trainer.add_state("dac", save_function, load_function).) The order of
// one epoch is: on_epoch_begin(epoch); for each batch: on_batch_begin, the step, on_batch_end;
// validation; the checkpoint (the model, the optimiser, the generator AND every registered
// state, as they are now); on_epoch_end. So state must only change in on_epoch_begin,
// on_batch_begin, on_batch_end or the loss itself, never in on_epoch_end, which runs after the
// checkpoint and is for logging. A resume loads the states before the first hook runs, and a
// run killed at any moment (kill -9) and resumed ends with the same numbers as one never
// stopped: the lost part of an epoch is recomputed from the last checkpoint exactly.
// Random draws inside hooks must come from the global generator (its state is saved) or from
// a generator seeded by the epoch.
//
// NOTE [ Stopping early on request, and changed settings on resume ]
// `should_stop` is polled before every batch; when it returns true (a Ctrl-C handler set a
// flag, say) the Trainer abandons the current epoch and returns StopReason::Interrupted: the
// last checkpoint stays as it was, so a resume redoes that epoch exactly. Resuming applies the
// caller's settings where they differ from the checkpoint's (the optimiser's hyperparameters
// such as lr and weight_decay, batch_size, seed) and lists each difference in
// TrainResult::resume_changes, so nothing is silently ignored; the caller may refuse them.
#pragma once

#include <concepts>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "cake/data/dataloader.h"
#include "cake/nn/module.h"
#include "cake/optim/grad_scaler.h"
#include "cake/optim/optimizer.h"
#include "cake/tensor/safetensors.h"

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
  Interrupted,    // should_stop() returned true; the last checkpoint is untouched
};

struct TrainResult {
  std::vector<EpochStats> history;  // every epoch so far, including those before a resume
  StopReason stop_reason = StopReason::MaxEpochs;
  std::string message;              // the reason in words (for a log or an error)
  std::int64_t best_epoch = 0;      // the epoch of the lowest validation loss (0: none yet)
  double best_val_loss = std::numeric_limits<double>::infinity();
  std::int64_t resumed_from_epoch = 0;  // the checkpoint's epoch, 0 for a fresh start
  // On a resume: each setting that differs from the checkpoint's and was applied as the caller
  // asked, e.g. "lr: 0.001 -> 0.0001" or "batch_size: 16 -> 32". Empty for an exact resume.
  std::vector<std::string> resume_changes;
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
  // Polled before every batch: true stops the run at that safe point (StopReason::Interrupted).
  std::function<bool()> should_stop = {};
  // Data-parallel training (cake/distributed/data_parallel.h, make_data_parallel, sets these):
  // `sampler` gives each epoch's order (this rank's shard) instead of the seeded shuffle,
  // `after_backward` runs between backward and the optimiser step (the gradient all-reduce),
  // and every batch loss passes through `reduce_loss` (the mean over the ranks) before it is
  // checked and recorded, so that all ranks take the same decisions.
  data::Sampler sampler = nullptr;
  std::function<void()> after_backward = {};
  std::function<double(double)> reduce_loss = {};
  // On CUDA: capture the training step (zero_grad, loss, backward, optimiser step) in a CUDA
  // graph once and replay it for every batch of the same shape (NOTE [ The Trainer's CUDA
  // graph ] in trainer.cpp). For launch-bound models (many small kernels per step). Ignored for
  // a model on the CPU.
  bool cuda_graph = false;
  // Mixed precision (autograd/autocast.h): kFloat32 (off), kBFloat16 or kFloat16. The batch
  // loss (and the validation loss) is computed under cake::autocast for the model's device, so
  // its matmuls and convolutions run in 16 bits on the tensor cores; parameters, optimiser state
  // and the remaining ops stay float32. kFloat16 adds dynamic loss scaling (optim::GradScaler:
  // steps whose gradients overflow are skipped; its scale is kept in the checkpoint).
  DType precision = kFloat32;
};

// Where a training batch is: passed to on_batch_begin.
struct BatchInfo {
  std::int64_t epoch = 0;        // 1-based
  std::int64_t batch = 0;        // 1-based within the epoch
  std::int64_t num_batches = 0;  // batches per epoch
  std::int64_t step = 0;         // optimiser steps taken before this batch, over the whole run
};

// Writes an algorithm's state into the checkpoint: named tensors (exact dtype and bits), and
// scalars, integers and text as metadata that read back exactly. Names are the algorithm's
// own ("queue", "lambda"); the Trainer prefixes them with the state's registered name.
class StateWriter {
 public:
  void tensor(const std::string& name, const Tensor& value);
  void scalar(const std::string& name, double value);
  void integer(const std::string& name, std::int64_t value);
  void text(const std::string& name, const std::string& value);

 private:
  friend class Trainer;
  StateWriter(std::string prefix, TensorMap& tensors, MetadataMap& metadata)
      : prefix_(std::move(prefix)), tensors_(tensors), metadata_(metadata) {}
  std::string key(const std::string& name, const char* kind);
  std::string prefix_;
  TensorMap& tensors_;
  MetadataMap& metadata_;
};

// Reads back what a StateWriter wrote; a missing or mistyped entry is an error naming the
// checkpoint file, the state and the entry. Tensors come back on the CPU.
class StateReader {
 public:
  Tensor tensor(const std::string& name) const;
  double scalar(const std::string& name) const;
  std::int64_t integer(const std::string& name) const;
  std::string text(const std::string& name) const;
  bool contains(const std::string& name) const;

 private:
  friend class Trainer;
  StateReader(std::string prefix, std::string path, const SafetensorsFile& file)
      : prefix_(std::move(prefix)), path_(std::move(path)), file_(file) {}
  const std::string& entry(const std::string& name, const char* kind) const;
  std::string prefix_, path_;
  const SafetensorsFile& file_;
};

// An algorithm's state beyond the weights, saved into (and restored from) each checkpoint.
struct TrainState {
  virtual ~TrainState() = default;
  virtual void save(StateWriter& out) const = 0;
  virtual void load(const StateReader& in) = 0;
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
  // Called at the start of every epoch (1-based), before its first batch: re-clustering,
  // refreshing targets, moving a threshold. See the NOTE on state above.
  void on_epoch_begin(std::function<void(std::int64_t epoch)> callback) { on_epoch_begin_ = std::move(callback); }
  // Called before every training batch (before zero_grad and the loss).
  void on_batch_begin(std::function<void(const BatchInfo&)> callback) { on_batch_begin_ = std::move(callback); }

  // Registers an algorithm's own state under `name` (letters, digits, '_' and '-'): saved into
  // every checkpoint, restored on resume before any hook runs. The object must outlive fit().
  void add_state(const std::string& name, TrainState& state);
  // The same with two functions instead of a class.
  void add_state(const std::string& name, std::function<void(StateWriter&)> save,
                 std::function<void(const StateReader&)> load);

  // Where checkpoints go from now on (e.g. after the run's folder was moved into place).
  void set_checkpoint_path(std::string path) { options_.checkpoint_path = std::move(path); }

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
  double train_one_epoch(data::DataLoader& loader);  // NaN after a non-finite loss or an interruption
  void save_checkpoint(const TrainResult& result, std::int64_t epochs_without_improvement) const;
  std::int64_t load_checkpoint(TrainResult& result);  // returns epochs without improvement

  nn::Module& model_;
  optim::Optimizer& optimizer_;
  BatchLoss loss_, validation_loss_;
  TrainerOptions options_;
  std::function<void(const EpochStats&)> on_epoch_end_;
  std::function<void(std::int64_t, std::int64_t, double)> on_batch_end_;
  std::function<void(std::int64_t)> on_epoch_begin_;
  std::function<void(const BatchInfo&)> on_batch_begin_;
  struct NamedState {
    std::string name;
    std::function<void(StateWriter&)> save;
    std::function<void(const StateReader&)> load;
  };
  std::vector<NamedState> states_;
  // The loss of a batch under the run's precision (autocast for the model's device when on).
  Tensor precise_loss(const BatchLoss& loss, const data::Batch& batch) const;
  std::unique_ptr<optim::GradScaler> scaler_;  // float16 only
  struct CapturedStep;  // trainer.cpp: the CUDA graph of the step, its static batch and loss
  std::shared_ptr<CapturedStep> captured_;
  bool eager_step(const data::Batch& batch, double& value);  // false: the loss was not finite
  bool graph_step(const data::Batch& batch, double& value);  // false: this batch runs eagerly
  bool capture_step(CapturedStep& step);
  std::vector<Tensor> captured_tensors() const;
  std::int64_t steps_ = 0;  // optimiser steps taken so far (BatchInfo::step)
  bool interrupted_ = false;
  nn::NamedTensors best_state_;  // a copy of the weights at the best validation epoch
  std::int64_t nonfinite_epoch_ = 0, nonfinite_batch_ = 0;
  double nonfinite_value_ = 0.0;
};

// "max_epochs", "early_stopping", "non_finite_loss" or "interrupted", for metrics files.
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
