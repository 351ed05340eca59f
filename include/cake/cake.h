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
// methods, one namespace per family: cake::cluster, cake::mixture, cake::decomposition,
// cake::manifold, cake::neighbors, cake::networks, cake::train, cake::metrics,
// cake::deep_clustering). docs/architecture.md says where to start reading.
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

// algorithms/, by family (docs/architecture.md, "Layout"): the estimators and their helpers.
#include "algorithms/cluster/agglomerative.h"
#include "algorithms/cluster/clusterer.h"
#include "algorithms/cluster/dbscan.h"
#include "algorithms/cluster/kmeans.h"
#include "algorithms/cluster/lloyd_kmeans.h"
#include "algorithms/cluster/minibatch_kmeans.h"
#include "algorithms/cluster/spectral.h"
#include "algorithms/decomposition/dictionary_learning.h"
#include "algorithms/decomposition/fastica.h"
#include "algorithms/decomposition/nmf.h"
#include "algorithms/decomposition/pca.h"
#include "algorithms/deep_clustering/latent_clustering.h"
#include "algorithms/manifold/tsne.h"
#include "algorithms/metrics/hungarian.h"
#include "algorithms/metrics/metrics.h"
#include "algorithms/mixture/gaussian_mixture.h"
#include "algorithms/neighbors/kd_tree.h"
#include "algorithms/neighbors/sparse_graph.h"
#include "algorithms/networks/autoencoder.h"
#include "algorithms/networks/vae.h"
#include "algorithms/train/finetune.h"
#include "algorithms/train/linear_probe.h"
#include "algorithms/train/trainer.h"
