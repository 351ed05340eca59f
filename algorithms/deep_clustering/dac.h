// dac.h: Deep Adaptive Image Clustering (Chang, Wang, Meng, Xiang & Pan 2017, ICCV): clustering
// as a binary "same cluster or not?" decision on pairs of images, learnt from the pairs the
// network is already sure about.
//
//   auto net = std::make_shared<cake::networks::ConvNet>(
//       cake::networks::ConvNetOptions{.sobel = false, .num_outputs = 10, .head_norm = true, .classifier_norm = true});
//   cake::deep_clustering::DAC dac(*net, {.augment = cake::data::RandomAffine(10, 0.1, 0.95, 1.05)},
//                                  {.epochs = 100, .batch_size = 128, .seed = 0});
//   cake::train::TrainResult result = dac.fit(images, labels);   // labels only for the log
//   cake::Tensor clusters = dac.predict(images);                  // argmax of the label features
//
// The model (Pastore 2025, "Deep Adaptive Image Clustering (2)-(6)"; Chang et al. 2017,
// section 3):
//   label features  l_i = f(x_i; w) in R^k, k the number of clusters, with l_ih >= 0 and
//                   |l_i|_2 = 1: here the softmax of the network's k outputs, L2-normalised
//                   (label_features; the released code ends in a softmax, then normalises in
//                   its similarity layer);
//   similarity      g(x_i, x_j) = l_i . l_j, in [0, 1] for such vectors;
//   selection       r_ij = 1 when l_i . l_j >= u(lambda), 0 when l_i . l_j < l(lambda), none
//                   otherwise; v_ij = 1 for the selected pairs (eq. 6 and 8);
//   loss            E(w) = sum_ij v_ij L(r_ij, l_i . l_j), L the binary cross-entropy
//                   -r log g - (1 - r) log(1 - g) (eq. 10), here divided by the m^2 pairs of a
//                   batch of m images (as the TensorFlow re-implementation's mean);
//   curriculum      lambda grows after every epoch, so u falls and l rises and more pairs are
//                   selected; training stops once l(lambda) > u(lambda) (Algorithm 1, line 10);
//   clusters        c_i = argmax_h l_ih (Algorithm 1, lines 11-13).
//
// The thresholds: u(lambda) = 0.95 - lambda, l(lambda) = 0.455 + 0.1 lambda, lambda from 0 by
// 0.0099 per epoch, from the TensorFlow re-implementation (github.com/HongtaoYang/DAC-tensorflow,
// DAC.py). That step is eq. (12), lambda := lambda - eta dE/dlambda with E(lambda) =
// u(lambda) - l(lambda), whose derivative is -1.1, and eta = 0.009. The authors' own Keras code
// (github.com/vector-1127/DAC, MNIST/mnist.py) instead uses ONE threshold moved from 0.9 to 0.5
// over 20 epochs, every pair selected, and a squared error; the two-threshold form is the one
// the paper and Algorithm 1 (Pastore 2025) describe, so it is the default here. 46 epochs pass
// before l > u (lambda_46 = 0.4455; lambda_47 = 0.4554 > 0.45, where u and l cross).
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <vector>

#include "cake/algorithms/networks/convnets.h"
#include "cake/algorithms/train/trainer.h"
#include "cake/data/dataloader.h"
#include "cake/tensor/tensor.h"

namespace cake::deep_clustering {

// u(lambda) = upper0 + upper_slope lambda, l(lambda) = lower0 + lower_slope lambda, and
// lambda_e = lambda0 + (e - 1) lambda_step in epoch e (1-based).
struct DACSchedule {
  double lambda0 = 0.0;
  double lambda_step = 0.0099;
  double upper0 = 0.95, upper_slope = -1.0;
  double lower0 = 0.455, lower_slope = 0.1;

  double lambda(std::int64_t epoch) const { return lambda0 + static_cast<double>(epoch - 1) * lambda_step; }
  double upper(double lambda) const { return upper0 + upper_slope * lambda; }
  double lower(double lambda) const { return lower0 + lower_slope * lambda; }
  // Algorithm 1: repeat { train an epoch with lambda_e; lambda := lambda_{e+1} } until
  // l(lambda) > u(lambda). The number of epochs that loop trains (at least 1; a schedule whose
  // thresholds never cross is refused).
  std::int64_t epochs_until_stop() const;
};

// softmax(logits) along dim 1, then each row divided by its Euclidean norm: non-negative, unit rows.
Tensor label_features(const Tensor& logits);

// The selected pairs of a similarity matrix S [m, m] (eq. 6 and 8 of the paper); or of m_r of
// its rows, S [m_r, m], the similarities of a rank's images (rows self_offset .. self_offset +
// m_r - 1 of the batch) to all m images of the batch (a data-parallel step, below).
struct PairSelection {
  Tensor positive;  // S's dtype, S's shape: 1 where S_ij >= upper (r_ij = 1)
  Tensor negative;  // 1 where S_ij < lower (r_ij = 0)
  std::int64_t n_positive = 0, n_negative = 0;  // over the pairs of two different images
  double selected_fraction = 0.0;               // (n_positive + n_negative) / (m_r (m - 1))
  double positive_fraction = 0.0;               // n_positive / (m_r (m - 1))
};
PairSelection select_pairs(const Tensor& similarity, double upper, double lower, std::int64_t self_offset = 0);

// sum_ij v_ij L(r_ij, l_i . l_j) / m^2 for label features [m, k] (eq. 10): the pairs are chosen
// from the similarities (no gradient flows through the choice), the similarities clamped to
// [eps, 1 - eps] inside the logarithms. Writes the selection when `selection` is not null.
Tensor dac_pair_loss(const Tensor& features, double upper, double lower, PairSelection* selection = nullptr,
                     double eps = 1e-7);
// The same loss with the pairs chosen by other label features of the same m images, `chooser`
// [m, k] (no gradient through it): the released Keras code labels the pairs from the network's
// predictions on the un-augmented images and trains on augmented copies of them
// (github.com/vector-1127/DAC, MNIST/mnist.py), so the network must give two views of an image
// the similarities its clean view earned.
Tensor dac_pair_loss(const Tensor& features, const Tensor& chooser, double upper, double lower,
                     PairSelection* selection = nullptr, double eps = 1e-7);

// How right the "same" pairs are: of the pairs of two different images whose label features
// [m, k] have similarity >= upper, the fraction whose true classes [m] agree (NaN when no pair is
// above upper). A diagnostic, not part of the algorithm: DAC learns its clusters from these
// pairs, so a run whose "same" pairs stay as wrong as its first epoch's cannot end better than
// that (measured on Fashion-MNIST, docs/algorithms/deepcluster_dac.md); with ten even classes a
// random pair shares its class one time in ten.
double same_pair_precision(const Tensor& features, const Tensor& classes, double upper);

// ---- data-parallel training (several ranks, each with its part of every batch) ----------------

// The label features of the whole batch [m, k], every rank's part in rank order and without a
// graph, as an all-gather gives them; this rank's rows start at `offset`.
struct GatheredBatch {
  Tensor all;
  std::int64_t offset = 0;
  int ranks = 1;
};

// Eq. (10) split over ranks. A pair (i, j) of the batch can join images of two ranks, so each
// rank pairs its own label features `mine` [m_r, k] (with their graph) with the gathered batch
// (without). Its share of the loss,
//   A_r = (1/m^2) sum_{i in rank} sum_j v_ij L(r_ij, l_i . l_j),   sum over the ranks = E(w),
// is returned times batch.ranks (the Trainer and DDP average over the ranks) and with twice
// its gradient: l_i enters E through the pairs (i, j) and (j, i), and with every l_j held
// fixed here A_r sees only the first, so dE/dl_i = 2 dA_r/dl_i (S is symmetric, the diagonal
// included). The ranks' mean gradient is then E's over the whole batch: a step on p ranks is one
// process's step (tests/distributed/test_ranks.cpp); on one rank, with batch.all = features,
// value and gradient equal dac_pair_loss's.
Tensor dac_pair_loss_part(const Tensor& mine, const GatheredBatch& batch, double upper, double lower,
                          PairSelection* selection = nullptr, double eps = 1e-7);
// The same with the pairs chosen by other label features of the batch's images, gathered the same
// way (`chooser`, no gradient): dac_pair_loss(features, chooser, ...) split over ranks.
Tensor dac_pair_loss_part(const Tensor& mine, const GatheredBatch& batch, const GatheredBatch& chooser, double upper,
                          double lower, PairSelection* selection = nullptr, double eps = 1e-7);

// The label features that choose a batch's pairs when DAC trains by chunks (DACOptions::chunk_size):
// computed for a whole chunk of clean images when its first batch arrives, then read by every
// batch of the chunk's passes, so the pairs of a chunk are those of the network at its start.
class ChunkChooser {
 public:
  ChunkChooser(std::int64_t n, std::int64_t chunk, std::int64_t passes, std::uint64_t seed);
  // Epoch `epoch`'s order, data::chunked_passes_order(n, chunk, passes, seed, epoch): every
  // chunk's images `passes` times in a row; forgets the previous epoch's features.
  void start_epoch(std::int64_t epoch);
  const Tensor& order() const { return order_; }
  // The chooser rows [B, k] of a batch of images of one chunk (`indices` [B], as the order gives
  // them); `clean_features(images)` gives the label features of a chunk's images [C] and is
  // called when the batch is the first of its chunk.
  Tensor for_batch(const Tensor& indices, const std::function<Tensor(const Tensor&)>& clean_features);

 private:
  std::int64_t n_, chunk_, passes_;
  std::uint64_t seed_;
  Tensor order_;
  std::vector<std::int64_t> chunk_of_, row_of_;  // per image: its chunk this epoch, its row in it
  std::vector<Tensor> members_;                  // per chunk: its images
  std::int64_t current_ = -1;                    // the chunk whose features_ these are
  Tensor features_;
};

struct DACOptions {
  DACSchedule schedule = {};
  double lr = 1e-4;        // RMSprop; both released codes use 1e-3, a tenth measured better on Fashion-MNIST
  double rmsprop_alpha = 0.9;  // the squared-gradient smoothing of Keras' and TensorFlow's RMSprop
  data::Transform augment = nullptr;  // the training augmentation (none: the images as they are)
  // Choose each batch's pairs from the label features of the un-augmented images (a forward
  // pass without a graph, in training mode: batch statistics, as the released code's batch
  // norms) and train on the augmented ones, as the authors' Keras code labels its pairs
  // (github.com/vector-1127/DAC, MNIST/mnist.py); false: choose them from the augmented images'
  // own label features (the TensorFlow re-implementation). Better on three Fashion-MNIST seeds
  // (docs/algorithms/deepcluster_dac.md). No effect without `augment`.
  bool pairs_from_clean = true;
  // The released Keras code's rhythm (github.com/vector-1127/DAC, MNIST/mnist.py: chunks of 1000
  // images, 5 passes): the images are visited a chunk of `chunk_size` at a time (rounded up to a
  // multiple of the batch size, so that no batch spans two chunks); the chunk's pairs are chosen
  // once, from the clean label features of the network as it is when the chunk starts, and the
  // network trains `chunk_passes` passes over the chunk's augmented images against them
  // (data::chunked_passes_order). An epoch is then chunk_passes passes over the data. 0: no
  // chunks, every batch's pairs are chosen by the network of its own step. Needs an augmentation
  // and pairs_from_clean; not combined with gather_batch.
  std::int64_t chunk_size = 0;
  std::int64_t chunk_passes = 1;
  std::int64_t eval_batch_size = 512;
  // Data-parallel training: gathers every rank's label features of the batch (an all_gather;
  // tools/algorithms/dac.cpp sets it under mpirun), and the loss becomes dac_pair_loss_part.
  // Empty in one process.
  std::function<GatheredBatch(const Tensor& mine)> gather_batch = nullptr;
};

// One epoch (a row of log.jsonl); NaN where it does not apply.
struct DACEpoch {
  std::int64_t epoch = 0;
  double lambda = 0.0, upper = 0.0, lower = 0.0;
  double selected_fraction = 0.0;  // mean over the epoch's batches
  double positive_fraction = 0.0;  // of the off-diagonal pairs, "same cluster"
  double loss = 0.0;               // mean over samples
  double nmi = std::numeric_limits<double>::quiet_NaN();  // argmax clusters against the labels
  double acc = std::numeric_limits<double>::quiet_NaN();
  std::int64_t clusters_used = 0;  // distinct argmax values over the data
  double seconds = 0.0;
  // same_pair_precision at the epoch's u on (up to) 2,000 images spread evenly over the data,
  // after the epoch (labels given; NaN otherwise).
  double same_precision = std::numeric_limits<double>::quiet_NaN();
};

class DAC {
 public:
  // trainer: epochs (the most to train; the stop rule may end sooner), batch_size, seed,
  // checkpoint_path, resume_from, should_stop; patience and restore_best are ignored.
  DAC(networks::ConvNet& net, DACOptions options, train::TrainerOptions trainer);

  void on_epoch_end(std::function<void(const DACEpoch&)> callback) { on_epoch_end_ = std::move(callback); }
  // Trains on images [N, C, H, W] (labels, optional, only for the log).
  train::TrainResult fit(const Tensor& images, const Tensor& labels = {});
  // Label features [N, k] of images (evaluation mode, no graph), and their argmax clusters [N].
  Tensor features(const Tensor& images);
  Tensor predict(const Tensor& images);

  // Where checkpoints go from now on, also in the middle of fit (e.g. after the run's folder
  // was moved into place).
  void set_checkpoint_path(std::string path);

  const std::vector<DACEpoch>& history() const { return history_; }
  double lambda() const { return lambda_; }
  const DACOptions& options() const { return options_; }

 private:
  networks::ConvNet& net_;
  train::Trainer* active_trainer_ = nullptr;  // while fit runs
  DACOptions options_;
  train::TrainerOptions trainer_options_;
  std::function<void(const DACEpoch&)> on_epoch_end_;
  std::vector<DACEpoch> history_;
  double lambda_ = 0.0;
};

Tensor dac_history_tensor(const std::vector<DACEpoch>& history);
std::vector<DACEpoch> dac_history_from(const Tensor& table);

}  // namespace cake::deep_clustering
