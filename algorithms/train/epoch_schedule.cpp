// epoch_schedule.cpp: the step decay's closed form and the hook that applies a schedule.
#include "cake/algorithms/train/epoch_schedule.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include "cake/tensor/safetensors.h"

namespace cake::train {

double StepDecay::at(std::int64_t epoch) const {
  CAKE_CHECK(epoch >= 1 && every >= 1, "StepDecay: epochs count from 1 and every must be at least 1, got epoch ", epoch,
             ", every ", every);
  return std::max(floor, lr * std::pow(decay, static_cast<double>((epoch - 1) / every)));
}

void attach_lr_schedule(Trainer& trainer, optim::Optimizer& optimizer, std::function<double(std::int64_t)> lr_at,
                        std::function<void(std::int64_t)> also) {
  CAKE_CHECK(static_cast<bool>(lr_at), "attach_lr_schedule: the schedule is empty");
  auto set_lr = [&optimizer](double lr) {
    for (std::size_t g = 0; g < optimizer.param_groups().size(); ++g) optimizer.set_group_lr(g, lr);
  };
  // A resumed run: its checkpoint holds the lr of the epoch it ended; start from that one so
  // that the Trainer sees no change of settings.
  const std::string& resume = trainer.options().resume_from;
  std::int64_t checkpoint_epoch = 0;
  if (!resume.empty()) {
    const SafetensorsFile checkpoint = load_safetensors(resume);
    const auto epoch = checkpoint.metadata.find("trainer.epoch");
    if (epoch != checkpoint.metadata.end()) checkpoint_epoch = std::stoll(epoch->second);
  }
  set_lr(lr_at(std::max<std::int64_t>(checkpoint_epoch, 1)));
  trainer.on_epoch_begin([set_lr, lr_at = std::move(lr_at), also = std::move(also)](std::int64_t epoch) {
    set_lr(lr_at(epoch));
    if (also) also(epoch);
  });
}

}  // namespace cake::train
