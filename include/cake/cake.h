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

#include "cake/tensor/creation.h"
#include "cake/tensor/device.h"
#include "cake/tensor/dtype.h"
#include "cake/tensor/error.h"
#include "cake/tensor/linalg.h"
#include "cake/tensor/parallel.h"
#include "cake/tensor/random.h"
#include "cake/tensor/tensor.h"

#include "cake/autograd/autocast.h"
#include "cake/autograd/custom_function.h"
#include "cake/autograd/einsum.h"
#include "cake/autograd/engine.h"
#include "cake/autograd/grad_mode.h"
#include "cake/autograd/gradcheck.h"
#include "cake/autograd/nn_ops.h"
#include "cake/autograd/ops.h"
#include "cake/autograd/spatial.h"
#include "cake/cuda/cuda.h"

#include "cake/tensor/safetensors.h"
#include "cake/nn/nn.h"
#include "cake/optim/optim.h"

#include "cake/data/csv.h"
#include "cake/data/dataloader.h"
#include "cake/data/datasets.h"
#include "cake/data/idx.h"
#include "cake/data/npy.h"
#include "cake/data/sampler.h"
#include "cake/data/transforms.h"

// algorithms/, by family (docs/architecture.md, "Layout"): the estimators and their helpers.
#include "cake/algorithms/capsules/scae.h"
#include "cake/algorithms/cluster/agglomerative.h"
#include "cake/algorithms/cluster/clusterer.h"
#include "cake/algorithms/cluster/dbscan.h"
#include "cake/algorithms/cluster/graph_agglomerative.h"
#include "cake/algorithms/cluster/graph_degree_linkage.h"
#include "cake/algorithms/cluster/kmeans.h"
#include "cake/algorithms/cluster/landmark_spectral.h"
#include "cake/algorithms/cluster/lloyd_kmeans.h"
#include "cake/algorithms/cluster/minibatch_kmeans.h"
#include "cake/algorithms/cluster/nmf_clustering.h"
#include "cake/algorithms/cluster/sparse_subspace.h"
#include "cake/algorithms/cluster/spectral.h"
#include "cake/algorithms/contrastive/moco.h"
#include "cake/algorithms/decomposition/deep_semi_nmf.h"
#include "cake/algorithms/decomposition/dictionary_learning.h"
#include "cake/algorithms/decomposition/fastica.h"
#include "cake/algorithms/decomposition/nmf.h"
#include "cake/algorithms/decomposition/pca.h"
#include "cake/algorithms/deep_clustering/dac.h"
#include "cake/algorithms/deep_clustering/dec.h"
#include "cake/algorithms/deep_clustering/deepcluster.h"
#include "cake/algorithms/deep_clustering/jule.h"
#include "cake/algorithms/deep_clustering/latent_clustering.h"
#include "cake/algorithms/deep_clustering/n2d.h"
#include "cake/algorithms/deep_clustering/vade.h"
#include "cake/algorithms/generative/ais.h"
#include "cake/algorithms/generative/dbm.h"
#include "cake/algorithms/generative/dbn.h"
#include "cake/algorithms/generative/gan.h"
#include "cake/algorithms/generative/infogan.h"
#include "cake/algorithms/generative/made.h"
#include "cake/algorithms/generative/rbm.h"
#include "cake/algorithms/manifold/tsne.h"
#include "cake/algorithms/manifold/umap.h"
#include "cake/algorithms/metrics/hungarian.h"
#include "cake/algorithms/metrics/metrics.h"
#include "cake/algorithms/mixture/gaussian_mixture.h"
#include "cake/algorithms/neighbors/kd_tree.h"
#include "cake/algorithms/neighbors/nn_descent.h"
#include "cake/algorithms/neighbors/sparse_graph.h"
#include "cake/algorithms/networks/autoencoder.h"
#include "cake/algorithms/networks/convnets.h"
#include "cake/algorithms/networks/infogan_nets.h"
#include "cake/algorithms/networks/vae.h"
#include "cake/algorithms/train/epoch_schedule.h"
#include "cake/algorithms/train/finetune.h"
#include "cake/algorithms/train/history_table.h"
#include "cake/algorithms/train/linear_probe.h"
#include "cake/algorithms/train/trainer.h"

// distributed/: process groups, data-parallel training, synchronised batch norm, sharded
// k-means, GMM, PCA and clustering scores, reading a rank's rows (no MPI header).
#include "cake/distributed/data_parallel.h"
#include "cake/distributed/gmm.h"
#include "cake/distributed/kmeans.h"
#include "cake/distributed/metrics.h"
#include "cake/distributed/pca.h"
#include "cake/distributed/process_group.h"
#include "cake/distributed/shard_io.h"
#include "cake/distributed/sync_batchnorm.h"
