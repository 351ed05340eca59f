// deepcluster.h: DeepCluster (Caron, Bojanowski, Joulin & Douze 2018, "Deep Clustering for
// Unsupervised Learning of Visual Features", ECCV): a convnet learns from the clusters of its
// own features.
//
//   auto net = std::make_shared<cake::networks::ConvNet>(cake::networks::ConvNetOptions{.num_outputs = 100});
//   cake::deep_clustering::DeepCluster dc(*net, {.n_clusters = 100, .augment = cake::data::RandomResizedCrop(28)},
//                                         {.epochs = 30, .batch_size = 256, .seed = 0});
//   dc.on_epoch_end([](const cake::deep_clustering::DeepClusterEpoch& e) { std::cout << e.nmi_previous << "\n"; });
//   cake::train::TrainResult result = dc.fit(images, labels);   // labels only for the log
//   cake::Tensor codes = dc.embed(images);                       // PCA-whitened, L2-normalised features
//   cake::Tensor scored = dc.evaluation_features(images);        // what the K = classes k-means scores
//
// Every epoch (Caron et al. 2018, section 3.2; Pastore 2025, "DeepCluster pipeline: going step
// by step", steps 5 to 8):
//   1. the features of every image, the layer before the classifier head, computed WITHOUT
//      augmentation and in evaluation mode (ConvNet::features);
//   2. PCA to pca_dim dimensions with whitening, then each row scaled to unit length
//      (decomposition::pca_whiten_l2);
//   3. k-means with n_clusters centroids, kmeans_iter Lloyd iterations from random data points
//      (the faiss k-means of the original: 20 iterations, a fresh seed every epoch), with the
//      paper's empty-cluster rule and a guard against a giant cluster (cluster_features below);
//   4. the assignments become the pseudo-labels y_n, and the classifier head W is re-initialised
//      (N(0, 0.01), bias 0: the original's top layer);
//   5. one epoch of   min_{theta, W} (1/N) sum_n CE(W relu(f_theta(x_n)), y_n)   (eq. 1 of the
//      paper) by SGD (lr 0.05, momentum 0.9 for the body, plain SGD for the fresh head, weight
//      decay 1e-5, batch 256) over images drawn UNIFORMLY OVER THE PSEUDO-LABELS
//      (data::UniformLabelSampler; section 3.3, "Avoiding trivial parametrization": with a
//      huge cluster the network could predict it for every image), each with the training
//      augmentation (random resized crop, flips where they make sense).
// The run is driven by train::Trainer: the pseudo-labels, centroids, previous assignment and
// the per-epoch history are its algorithm state (add_state), the generator state covers the
// k-means seeds, the head's draws, dropout and augmentation, so a resumed run ends bit for bit
// where an uninterrupted one does.
//
// Over-clustering: with n_clusters equal to the number of classes DeepCluster degenerates on
// small 10-class sets (facebookresearch/deepcluster issues 22, 85, 86: NMI to the truth below
// 0.1, very uneven clusters); the original uses 10 000 clusters for ImageNet's 1000 classes,
// and the default here is 100 for 10-class 28x28 sets. Evaluate with k-means at the number of
// classes on evaluation_features() instead.
//
// The score's k-means runs by default in the space the pseudo-labels come from: step 2's
// whitened, unit-length rows (eval_whiten = true). Whitening gives each of pca_dim directions
// unit variance, which can help or hurt a k-means with only as many clusters as classes; measured
// on Fashion-MNIST (docs/algorithms/deepcluster_dac.md, "Which features the score clusters"),
// the network trained on the 60 000 training images scores NMI 0.61 whitened to 32 dimensions and
// 0.42 on its unit-length features, while networks trained on 10 000 images sometimes do better
// unwhitened. eval_whiten = false scores the unit-length features.
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

// ---- the clustering step ----------------------------------------------------------------------

// PCA to min(pca_dim, D, N - 1) dimensions with whitening, then unit rows (float32 out).
Tensor preprocess_features(const Tensor& features, std::int64_t pca_dim);

// The rows the score's k-means clusters, from features [N, D]: step 2's PCA-whitening and unit
// rows when eval_whiten, otherwise the features scaled to unit rows. The whitening is fitted on
// `fitted_on` when given (the training images' features, to score held-out images with the
// training run's preprocessing), otherwise on the features themselves (float32 out).
Tensor evaluation_rows(const Tensor& features, bool eval_whiten, std::int64_t pca_dim, const Tensor& fitted_on = {});

struct ClusterFeaturesOptions {
  std::int64_t n_clusters = 100;
  std::int64_t max_iter = 20;       // Lloyd iterations (faiss' niter in the original)
  // A cluster holding more than this fraction of the points is split (see below); 1 disables.
  double giant_fraction = 0.5;
};

struct PseudoLabels {
  Tensor labels;     // int64 [N] in [0, n_clusters), every cluster non-empty when N >= n_clusters
  Tensor centroids;  // float32 [n_clusters, D], the means of the final clusters
  double objective = 0.0;  // k-means objective sum_n |x_n - mu_{y_n}|^2 of the final clusters
  std::int64_t empty_splits = 0;  // empty clusters refilled by splitting another
  std::int64_t giant_splits = 0;  // giant clusters split by the guard
};

// DeepCluster's k-means on the rows of x [N, D]: random data points as the first centroids,
// then max_iter iterations of (assign every point to its nearest centroid; refill empty
// clusters; move each centroid to its points' mean), and a final assignment (as the
// original's last index.search), again refilled and then guarded against a giant cluster.
// Draws from the global generator.
//   Empty clusters (Caron et al. 2018, section 3.3, "Empty clusters"): "when a cluster becomes
//   empty, we randomly select a non-empty cluster and use its centroid with a small random
//   perturbation as the new centroid for the empty cluster. We then reassign the points
//   belonging to the non-empty cluster to the two resulting clusters." The donor is drawn with
//   probability proportional to (size - 1), as faiss does, so big clusters give first; the two
//   centroids are its mean +- eps * delta (delta a random unit direction) and its points go to
//   the side of the hyperplane through the mean that they lie on, which splits any cluster of
//   two or more distinct points.
//   Giant clusters: when, after the final assignment, one cluster holds more than
//   giant_fraction of the points, the smallest cluster gives its points to their nearest other
//   centroids (not the giant's) and takes the half of the giant on one side of a random
//   hyperplane through its mean; repeated while a cluster is still that big. k-means alone
//   would keep a dense giant (it is a local optimum); uniform sampling already stops it from
//   dominating training, and the guard stops it from swallowing the pseudo-labels.
PseudoLabels cluster_features(const Tensor& x, const ClusterFeaturesOptions& options = {});

// ---- the algorithm ------------------------------------------------------------------------------

struct DeepClusterOptions {
  std::int64_t n_clusters = 100;   // k-means' k = the head's outputs (over-clustering, see above)
  std::int64_t pca_dim = 32;       // the original uses 256 of AlexNet's 4096; 32 of ConvNet's 512 measured best here
  std::int64_t kmeans_iter = 20;
  double giant_fraction = 0.5;
  double lr = 0.05;                // SGD, the paper's settings (Pastore 2025 too)
  double momentum = 0.9;
  double weight_decay = 1e-5;
  double head_std = 0.01;          // the fresh head's N(0, head_std^2) weights
  data::Transform augment = nullptr;  // the training augmentation (none: the images as they are)
  std::int64_t eval_batch_size = 512;  // images per forward pass when computing features
  // The score's k-means (K = number of classes, the log's nmi/acc and evaluation_features)
  // clusters step 2's whitened rows (true) or the L2-normalised features (false); see above.
  bool eval_whiten = true;
  // Step 1's features of all images, [N, D] (any device). Empty: networks::features_all on every
  // image. A data-parallel run (several ranks, a replica of the network on each) sets it so that
  // each rank computes the features of its own rows and the ranks all-gather them in row order:
  // every rank then clusters the same features into the same pseudo-labels, and the per-epoch
  // forward passes are split among the ranks (tools/algorithms/deepcluster.cpp).
  std::function<Tensor(networks::ConvNet& net, const Tensor& images)> all_features = nullptr;
};

// What happened in one epoch (a row of log.jsonl). NaN where it does not apply.
struct DeepClusterEpoch {
  std::int64_t epoch = 0;
  double loss = 0.0;  // mean cross-entropy against the pseudo-labels
  // NMI(A_{e-1}; A_e) = I / sqrt(H H), the paper's stability measure (Figure 2b); NaN at epoch 1.
  double nmi_previous = std::numeric_limits<double>::quiet_NaN();
  // The pseudo-labels against the true labels (NMI), and k-means with K = number of classes on
  // the evaluation features (see eval_whiten) against them (NMI and ACC): the clustering the run
  // is scored by.
  double nmi_pseudo = std::numeric_limits<double>::quiet_NaN();
  double nmi_classes = std::numeric_limits<double>::quiet_NaN();
  double acc_classes = std::numeric_limits<double>::quiet_NaN();
  double kmeans_objective = 0.0;
  std::int64_t smallest_cluster = 0, largest_cluster = 0;
  double cluster_size_cv = 0.0;  // standard deviation / mean of the cluster sizes
  std::int64_t empty_splits = 0, giant_splits = 0;
  // Where the epoch's time went: features (forward passes), PCA, k-means, the training pass.
  double seconds_features = 0.0, seconds_pca = 0.0, seconds_kmeans = 0.0, seconds_train = 0.0;
};

class DeepCluster {
 public:
  // trainer: epochs, batch_size, seed (keys the sampler and the loader), checkpoint_path,
  // resume_from, should_stop; patience and restore_best are ignored (there is no validation loss).
  DeepCluster(networks::ConvNet& net, DeepClusterOptions options, train::TrainerOptions trainer);

  // Called after every epoch, once its checkpoint is written.
  void on_epoch_end(std::function<void(const DeepClusterEpoch&)> callback) { on_epoch_end_ = std::move(callback); }

  // Trains on images [N, C, H, W]; labels (int64 [N], optional) are only used for the log.
  train::TrainResult fit(const Tensor& images, const Tensor& labels = {});

  // The features of images, PCA-whitened to pca_dim and L2-normalised with a PCA fitted on them
  // (step 2: what the pseudo-labels' k-means clusters).
  Tensor embed(const Tensor& images);
  // What the score's k-means at the number of classes clusters: embed(images) when
  // options().eval_whiten, otherwise the L2-normalised features (evaluation_rows).
  Tensor evaluation_features(const Tensor& images);

  // Where checkpoints go from now on, also in the middle of fit (e.g. after the run's folder
  // was moved into place).
  void set_checkpoint_path(std::string path);

  const std::vector<DeepClusterEpoch>& history() const { return history_; }
  const Tensor& pseudo_labels() const { return labels_; }  // the last epoch's, int64 [N]
  const Tensor& centroids() const { return centroids_; }
  const DeepClusterOptions& options() const { return options_; }

 private:
  networks::ConvNet& net_;
  train::Trainer* active_trainer_ = nullptr;  // while fit runs
  DeepClusterOptions options_;
  train::TrainerOptions trainer_options_;
  std::function<void(const DeepClusterEpoch&)> on_epoch_end_;
  std::vector<DeepClusterEpoch> history_;
  Tensor labels_, centroids_;
};

// The history as a float64 matrix [epochs, columns] and back (how it travels in a checkpoint).
Tensor deepcluster_history_tensor(const std::vector<DeepClusterEpoch>& history);
std::vector<DeepClusterEpoch> deepcluster_history_from(const Tensor& table);

}  // namespace cake::deep_clustering
