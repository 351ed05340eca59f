// running_fit.h: what a deep algorithm's fit() does around its Trainer besides the maths (DAC,
// DeepCluster, JULE, MoCo, InfoGAN): it lets set_checkpoint_path() reach the running Trainer,
// hands each finished epoch's record to the user's callback, and times its phases.
//
//   std::vector<MyEpoch> history;                          // the algorithm's per-epoch records
//   std::function<void(const MyEpoch&)> on_epoch_end;      // the user's callback, if any
//   cake::train::Trainer* active = nullptr;                // what set_checkpoint_path() reaches
//   cake::train::Trainer trainer(*model, adam, batch_loss, {.epochs = 10});
//   trainer.on_batch_end([&](std::int64_t batch, std::int64_t num_batches, double loss) {
//     if (batch == num_batches) history.push_back({loss});   // complete before the checkpoint
//   });
//   cake::train::report_epochs(trainer, on_epoch_end, history);
//   cake::train::RunningTrainer running(active, trainer);  // active == &trainer until scope ends
//   cake::train::TrainResult result = trainer.fit(train_set);

#pragma once

#include <chrono>
#include <functional>
#include <vector>

#include "cake/algorithms/train/trainer.h"

namespace cake::train {

// Seconds on the steady clock since `start`: the durations of epochs and phases in the logs.
inline double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Points `slot` at `trainer` for as long as it lives and resets it to null when it ends, also
// when fit() throws. The algorithm keeps `slot` so that set_checkpoint_path() can move the
// checkpoints of a fit in progress (the CLI does, once the run's folder is in place); the
// pointer must never outlive the Trainer, which lives only in fit().
class RunningTrainer {
 public:
  RunningTrainer(Trainer*& slot, Trainer& trainer) : slot_(slot) { slot_ = &trainer; }
  ~RunningTrainer() { slot_ = nullptr; }
  RunningTrainer(const RunningTrainer&) = delete;
  RunningTrainer& operator=(const RunningTrainer&) = delete;

 private:
  Trainer*& slot_;
};

// After every epoch, calls `callback` (when set) with the last record of `history`. The
// algorithm completes that record in on_batch_end of the epoch's last batch, before the Trainer
// writes its checkpoint, so the callback sees exactly what a resumed run will report. Both
// `callback` and `history` are members of the algorithm and outlive the Trainer.
template <class Record>
void report_epochs(Trainer& trainer, const std::function<void(const Record&)>& callback,
                   const std::vector<Record>& history) {
  trainer.on_epoch_end([&callback, &history](const EpochStats&) {
    if (callback && !history.empty()) callback(history.back());
  });
}

}  // namespace cake::train
