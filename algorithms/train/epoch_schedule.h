// epoch_schedule.h: a learning rate that is a function of the epoch, driven from the Trainer.
//
//   const cake::train::StepDecay decay{.lr = 3e-4, .decay = 0.1, .every = 20};  // epochs 1-20, then 3e-5
//   cake::train::attach_lr_schedule(trainer, optimizer, [decay](std::int64_t e) { return decay.at(e); });
//   trainer.fit(train_set);
//
// The schedule is a pure function of the 1-based epoch, so a run resumed from a checkpoint
// follows it exactly (the Trainer's NOTE on resume in trainer.h). Epoch-based rather than
// step-based, as torch.optim.lr_scheduler's StepLR, because the Trainer's checkpoints and hooks
// are per epoch.
#pragma once

#include <cstdint>
#include <functional>

#include "cake/algorithms/train/trainer.h"
#include "cake/optim/optimizer.h"

namespace cake::train {

// The step decay of many released training scripts (VaDE's, StepLR's):
// lr * decay^floor((epoch - 1) / every), never below floor. Epochs 1..every train at lr, the next
// `every` at lr * decay, and so on. decay = 1 is a constant learning rate.
struct StepDecay {
  double lr = 1e-3;
  double decay = 1.0;
  std::int64_t every = 1;
  double floor = 0.0;
  double at(std::int64_t epoch) const;
};

// Sets the optimiser's learning rate (every parameter group's) to lr_at(epoch) in the trainer's
// on_epoch_begin hook. When the trainer resumes, the lr of the checkpoint's epoch is set before
// fit, so that the resume reports no spurious "lr changed" (trainer.h). The hook takes the
// trainer's on_epoch_begin slot; `also` (when given) is called there after the lr is set, for
// the caller's own per-epoch work.
void attach_lr_schedule(Trainer& trainer, optim::Optimizer& optimizer, std::function<double(std::int64_t epoch)> lr_at,
                        std::function<void(std::int64_t epoch)> also = {});

}  // namespace cake::train
