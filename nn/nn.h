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

#include "nn/activation.h"
#include "nn/checkpoint.h"
#include "nn/conv.h"
#include "nn/functional.h"
#include "nn/init.h"
#include "nn/linear.h"
#include "nn/module.h"
#include "nn/normalization.h"
#include "nn/options.h"
#include "nn/pooling.h"
#include "nn/sequential.h"
#include "nn/upsampling.h"
