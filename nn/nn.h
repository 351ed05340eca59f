// nn.h: all of cake::nn (modules, layers, initialisers, functional) and checkpoints.
//
//   namespace nn = cake::nn;
//   namespace F = cake::nn::functional;
//   auto model = std::make_shared<nn::Sequential>(std::make_shared<nn::Linear>(2, 16),
//                                                 std::make_shared<nn::Tanh>(),
//                                                 std::make_shared<nn::Linear>(16, 1));
//   cake::Tensor loss = F::mse_loss(model->forward(x), y);
//   cake::save(*model, "model.safetensors");
#pragma once

#include "cake/nn/activation.h"
#include "cake/nn/any_module.h"
#include "cake/nn/attention.h"
#include "cake/nn/checkpoint.h"
#include "cake/nn/conv.h"
#include "cake/nn/functional.h"
#include "cake/nn/init.h"
#include "cake/nn/linear.h"
#include "cake/nn/loss.h"
#include "cake/nn/module.h"
#include "cake/nn/normalization.h"
#include "cake/nn/options.h"
#include "cake/nn/padding.h"
#include "cake/nn/pooling.h"
#include "cake/nn/rearrange.h"
#include "cake/nn/rnn.h"
#include "cake/nn/sequential.h"
#include "cake/nn/transformer.h"
#include "cake/nn/upsampling.h"
#include "cake/nn/utils.h"
