// optim.h: all of cake::optim: the optimisers, learning-rate schedulers and gradient clipping.
//
//   cake::optim::AdamW opt(model->parameters(), {.lr = 3e-4});
//   cake::optim::CosineAnnealingLR schedule(opt, /*T_max=*/epochs);
//   ... loss.backward(); cake::optim::clip_grad_norm_(model->parameters(), 1.0); opt.step(); ...
#pragma once

#include "optim/adagrad.h"
#include "optim/adam.h"
#include "optim/clip_grad.h"
#include "optim/lr_scheduler.h"
#include "optim/optimizer.h"
#include "optim/rmsprop.h"
#include "optim/sgd.h"
