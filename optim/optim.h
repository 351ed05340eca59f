// optim.h: all of cake::optim: the optimisers, learning-rate schedulers and gradient clipping.
//
//   cake::optim::AdamW opt(model->parameters(), {.lr = 3e-4});
//   cake::optim::CosineAnnealingLR schedule(opt, /*T_max=*/epochs);
//   loss.backward(); cake::optim::clip_grad_norm_(model->parameters(), 1.0); opt.step(); schedule.step();
#pragma once

#include "cake/optim/adadelta.h"
#include "cake/optim/adagrad.h"
#include "cake/optim/adam.h"
#include "cake/optim/adamax.h"
#include "cake/optim/clip_grad.h"
#include "cake/optim/grad_scaler.h"
#include "cake/optim/lbfgs.h"
#include "cake/optim/lr_scheduler.h"
#include "cake/optim/nadam.h"
#include "cake/optim/optimizer.h"
#include "cake/optim/radam.h"
#include "cake/optim/rmsprop.h"
#include "cake/optim/sgd.h"
