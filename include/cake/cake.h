// cake.h: everything in Cake, for `#include <cake/cake.h>`.
//
//   #include <cake/cake.h>
//   int main() {
//     cake::manual_seed(0);
//     auto w = cake::randn({3, 1}).requires_grad_();
//     auto x = cake::randn({8, 3});
//     auto loss = cake::matmul(x, w).pow(2.0).mean();
//     loss.backward();
//     std::cout << w.grad() << "\n";
//   }
//
// The layers, from the bottom: tensor/ (arrays and kernels), autograd/ (gradients), nn/ and
// optim/ (models and training), data/ (files and loaders), algorithms/ (the unsupervised
// methods). docs/architecture.md says where to start reading.
#pragma once

#include "tensor/creation.h"
#include "tensor/device.h"
#include "tensor/dtype.h"
#include "tensor/error.h"
#include "tensor/linalg.h"
#include "tensor/parallel.h"
#include "tensor/random.h"
#include "tensor/tensor.h"

#include "autograd/custom_function.h"
#include "autograd/engine.h"
#include "autograd/grad_mode.h"
#include "autograd/gradcheck.h"
#include "autograd/nn_ops.h"
#include "autograd/ops.h"
#include "cuda/cuda.h"

#include "tensor/safetensors.h"
#include "nn/nn.h"
#include "optim/optim.h"

#include "data/csv.h"
#include "data/dataloader.h"
#include "data/datasets.h"
#include "data/idx.h"
#include "data/npy.h"
#include "data/sampler.h"
#include "data/transforms.h"

#include "algorithms/autoencoder.h"
#include "algorithms/finetune.h"
#include "algorithms/hungarian.h"
#include "algorithms/latent_clustering.h"
#include "algorithms/linear_probe.h"
#include "algorithms/metrics.h"
#include "algorithms/trainer.h"
#include "algorithms/vae.h"

