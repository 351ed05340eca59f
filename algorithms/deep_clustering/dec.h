// dec.h: Deep Embedded Clustering (DEC; Xie, Girshick & Farhadi 2016, "Unsupervised Deep
// Embedding for Clustering Analysis", ICML) and Improved DEC (IDEC; Guo, Gao, Liu & Yin 2017,
// "Improved Deep Embedded Clustering with Local Structure Preservation", IJCAI): clustering
// that goes on training the encoder of a pretrained autoencoder so that its codes fall into
// sharper clusters.
//
//   cake::Tensor images = cake::rand({500, 1, 28, 28});            // [N, C, H, W]
//   auto ae = cake::networks::dec_autoencoder(/*latent_dim=*/10);   // pretrain it on the images first
//   cake::deep_clustering::DECResult r = cake::deep_clustering::fit_dec(ae, images, {.n_clusters = 10});
//   // r.labels: int64 [N]; r.initial_labels: k-means on the pretrained codes (the AE + k-means
//   // baseline); r.refreshes: one record per target refresh (the sharpening over iterations).
//   // IDEC: the same with .reconstruction = true (loss = L_r + gamma L_c, Adam).
//
// The model (section 3.1). Codes z_i = f(x_i) from the encoder, k centres mu_j (trainable).
//   eq. (1)  q_ij = (1 + ||z_i - mu_j||^2 / alpha)^(-(alpha+1)/2) / sum_j' (same for j')
//            the Student's t kernel as a soft assignment of point i to cluster j (alpha = 1);
//   eq. (3)  p_ij = (q_ij^2 / f_j) / sum_j' (q_ij'^2 / f_j'),  f_j = sum_i q_ij
//            the target: squaring sharpens confident assignments, dividing by the soft
//            cluster size f_j keeps large clusters from swallowing the rest;
//   eq. (2)  L_c = KL(P || Q) = sum_i sum_j p_ij log(p_ij / q_ij)
//            minimised over the encoder and the centres by SGD, with P held fixed between
//            refreshes (it is a target, not a function of the weights).
// IDEC (Guo et al. 2017, eq. (6)) keeps the decoder and adds the reconstruction error,
//   L = L_r + gamma L_c,  L_r = ||x - g(z)||^2 (the mean squared error per pixel here),
// so that the clustering loss cannot distort the embedding far from what describes the images.
//
// The procedure (section 3.1.3, and the reference Keras re-implementation DEC-keras by Guo, whose
// settings are the defaults here): centres from k-means (n_init 20) on the pretrained codes; P
// recomputed over the whole data set every update_interval = 140 optimiser steps; stop once fewer
// than tol = 0.1% of the points changed cluster between two refreshes, or after max_iter steps.
// DEC: SGD lr 0.01, momentum 0.9, batch 256; IDEC: Adam (lr 0.001), gamma 0.1.
//
// Training runs in cake::train::Trainer (algorithms/train/trainer.h), so it gets the NaN stop,
// checkpoints after every epoch and an exact resume: the centres are a parameter of the model;
// the target P, the last labels, the step counter and the refresh history are the "dec" state
// of the checkpoint (Trainer::add_state).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cake/algorithms/networks/autoencoder.h"
#include "cake/algorithms/train/trainer.h"
#include "cake/nn/module.h"
#include "cake/tensor/tensor.h"

namespace cake::deep_clustering {

// ---- the three equations --------------------------------------------------------------------------

// eq. (1): soft assignments q [N, K] of codes z [N, D] to centres [K, D] (rows sum to 1).
// Differentiable in both z and the centres.
Tensor soft_assignment(const Tensor& z, const Tensor& centres, double alpha = 1.0);
// eq. (3): the target distribution p [N, K] of soft assignments q [N, K]. Computed without a graph.
Tensor target_distribution(const Tensor& q);
// eq. (2): KL(P || Q) summed over clusters and averaged over the rows (the per-sample mean a
// mini-batch optimiser uses; Keras' "kld" loss). p is a constant; the gradient flows through q.
// Terms with p_ij = 0 count 0 (the limit of p log p).
Tensor kl_clustering_loss(const Tensor& p, const Tensor& q);
// The fraction of positions where two label vectors [N] differ (DEC's stopping criterion).
double label_change_fraction(const Tensor& before, const Tensor& after);

// ---- the model ----------------------------------------------------------------------------------------

// An autoencoder and k trainable centres in its code space. forward(images) = q (eq. 1).
class DECModel : public nn::Module {
 public:
  DECModel(std::shared_ptr<networks::Autoencoder> autoencoder, std::int64_t n_clusters, double alpha = 1.0);
  Tensor forward(const Tensor& images) override { return soft_assign(images); }
  Tensor soft_assign(const Tensor& images);  // [N, C, H, W] -> q [N, K]
  networks::Autoencoder& autoencoder() { return *autoencoder_; }
  const std::shared_ptr<networks::Autoencoder>& autoencoder_ptr() const { return autoencoder_; }
  std::int64_t n_clusters() const { return centres.size(0); }
  double alpha() const { return alpha_; }
  std::string name() const override { return "DECModel"; }

  Tensor centres;  // [K, latent_dim], a parameter

 private:
  std::shared_ptr<networks::Autoencoder> autoencoder_;
  double alpha_;
};

// ---- training -------------------------------------------------------------------------------------------

struct DECOptions {
  std::int64_t n_clusters = 10;
  double alpha = 1.0;                  // degrees of freedom of the Student's t kernel (eq. 1)
  std::int64_t update_interval = 140;  // optimiser steps between refreshes of P (DEC-keras, MNIST/F-MNIST)
  double tol = 1e-3;                   // stop when fewer than this fraction of labels change
  std::int64_t max_iter = 20000;       // the most optimiser steps (DEC-keras' maxiter)
  std::int64_t batch_size = 256;
  // The order of the rows in the clustering phase: a fresh shuffle every epoch (true), or the rows
  // in their stored order every epoch (false), which is what DEC-keras does (its shuffle of the
  // index array is commented out) and IDEC's code too.
  bool shuffle = true;
  // The optimiser: DEC uses SGD with momentum (DEC-keras: lr 0.01, momentum 0.9); IDEC uses Adam
  // with lr 0.001 (IDEC's code for MNIST). lr <= 0 picks the method's default.
  double lr = 0.0;
  double momentum = 0.9;               // SGD only
  // IDEC: add the reconstruction loss (keeping the decoder) and weigh the clustering loss by gamma.
  bool reconstruction = false;
  double gamma = 0.1;
  std::int64_t kmeans_n_init = 20;     // restarts of the k-means that places the first centres
  std::uint64_t seed = 0;              // k-means and the batch order
  std::string checkpoint_path = {};    // "": none; else written after every epoch
  std::string resume_from = {};        // a checkpoint of an earlier fit_dec to continue exactly
  std::function<bool()> should_stop = {};  // polled before every step; true interrupts the run
};

// One refresh of the target distribution.
struct DECRefresh {
  std::int64_t step = 0;           // optimiser steps taken before it
  double label_change = 1.0;       // fraction of points whose cluster changed since the last one (1 at the first)
  double mean_max_q = 0.0;         // mean over points of max_j q_ij: how confident the assignments are
  double mean_max_p = 0.0;         // the same for the target P: always above mean_max_q (sharpening)
  double kl = 0.0;                 // KL(P || Q) per point over the whole data set
};

struct DECResult {
  Tensor labels;          // int64 [N]: argmax_j q_ij of the final model
  Tensor q;               // float32 [N, K]: the final soft assignments
  Tensor initial_labels;  // int64 [N]: k-means on the pretrained codes (the AE + k-means baseline)
  Tensor centres;         // float32 [K, latent_dim]: the final centres (CPU)
  std::vector<DECRefresh> refreshes;
  std::int64_t steps = 0;  // optimiser steps taken
  bool converged = false;  // stopped by the tol rule (false: max_iter, an interruption or a NaN)
  std::string message;     // why it stopped, in words
  train::TrainResult train;  // the Trainer's record (epochs, NaN stop, resume)
};

// Runs DEC (or IDEC with options.reconstruction) on images [N, C, H, W] from the pretrained
// `autoencoder`, whose weights it goes on training. on_refresh is called after every refresh of
// P (for logs and progress); on_epoch after every epoch's checkpoint. An interruption
// (should_stop) returns with train.stop_reason Interrupted and converged false.
DECResult fit_dec(const std::shared_ptr<networks::Autoencoder>& autoencoder, const Tensor& images,
                  const DECOptions& options = {}, const std::function<void(const DECRefresh&)>& on_refresh = {},
                  const std::function<void(const train::EpochStats&)>& on_epoch = {});

}  // namespace cake::deep_clustering
