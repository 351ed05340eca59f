// deep_clustering_runs.h: what the command-line wrappers of DeepCluster and DAC share (their
// convnet and augmentation parameters, the images of a run, the Trainer options, the epoch
// bookkeeping of a training run and the evaluation of learned features).
//
//   std::vector<ParamSpec> p = deep_runs::convnet_params("vgg", true);
//   auto net = std::make_shared<cake::networks::ConvNet>(deep_runs::convnet_options(ctx, 100, false));
//   data::Transform augment = deep_runs::augmentation(ctx);       // crop, flip, jitter
//   deep_runs::EpochBookkeeping book(ctx, epochs, [&](auto path) { dc.set_checkpoint_path(path); });
//
// Every file a run leaves is listed in docs/algorithms/deepcluster_dac.md.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "cake/algorithms/deep_clustering/dac.h"
#include "cake/algorithms/networks/convnets.h"
#include "cake/algorithms/train/trainer.h"
#include "cake/data/dataloader.h"
#include "cake/distributed/data_parallel.h"
#include "tools/registry.h"

namespace cake::cli::deep_runs {

// arch, sobel, hidden, dropout.
std::vector<ParamSpec> convnet_params(const std::string& arch, bool sobel);
// crop_scale, hflip, jitter with the given defaults.
std::vector<ParamSpec> augmentation_params(double crop_scale, bool jitter);
// epochs, batch_size, lr, weight_decay, resume.
std::vector<ParamSpec> training_params(std::int64_t epochs, std::int64_t batch_size, double lr, double weight_decay);

// The ConvNet the parameters describe, for ctx's images, with num_outputs head units (and the
// head's and the classifier's batch norms when asked: ConvNetOptions).
cake::networks::ConvNetOptions convnet_options(const RunContext& ctx, std::int64_t num_outputs, bool head_norm,
                                         bool classifier_norm = false);
// Whether hflip=auto flips: yes for Fashion-MNIST (a mirrored shoe or shirt is still one), no
// for digits (a mirrored 2 is no digit) and for data sets Cake does not know.
bool auto_flip(const std::string& data_name);
// The training augmentation: RandomResizedCrop(side, crop_scale) when crop_scale < 1,
// RandomHorizontalFlip(0.5) when hflip says so, RandomAffine(10, 0.1, 0.95, 1.05) with jitter.
// nullptr when none applies.
data::Transform augmentation(const RunContext& ctx);

// Every row of ctx.data as images [N, C, H, W] on ctx.device; an error for non-image data.
Tensor run_images(const RunContext& ctx);
// Trainer options from the parameters: checkpoints in <out>/checkpoint.safetensors, --resume
// or resume=PATH, Ctrl-C at a safe point.
train::TrainerOptions trainer_options(const RunContext& ctx);

// After every epoch of a training run: moves the run folder into place once the first
// checkpoint exists (and points the checkpoints there), then updates the progress bar.
void epoch_done(RunContext& ctx, std::int64_t epoch, const std::vector<std::pair<std::string, double>>& shown,
                const std::function<void(const std::string&)>& set_checkpoint_path);
// After fit: logs a resume, throws RunInterrupted for an interrupted run and cake::Error for a
// non-finite loss, records epochs_run and stop_reason.
void finish_training(RunContext& ctx, const train::TrainResult& result);

// ---- under mpirun (a data-parallel run, ddp from networks::data_parallel) ----

// Rank 0's parameters and batch-norm statistics copied to every rank (PyTorch's DDP broadcasts
// its buffers likewise), then `compute` on this rank's rows of `images` (distributed::shard_rows),
// all-gathered in row order: every rank gets the same [N, ...] result, each row computed once.
Tensor gather_sharded(distributed::DistributedDataParallel& ddp, const Tensor& images,
                      const std::function<Tensor(const Tensor& rows)>& compute);

// DeepClusterOptions::all_features for p ranks: rank 0's parameters and batch-norm statistics
// copied to every rank (PyTorch's DDP broadcasts its buffers likewise), then each rank computes
// the features of its own rows (distributed::shard_rows) and the ranks all-gather them in row
// order. Every rank gets the same [N, D] features, each forward pass runs on one rank only.
std::function<Tensor(cake::networks::ConvNet&, const Tensor&)> sharded_features(distributed::DistributedDataParallel& ddp);

// DACOptions::gather_batch for p ranks: every rank's label features of its part of the batch,
// all-gathered in rank order (rank r's rows start after the rows of ranks 0..r-1).
std::function<deep_clustering::GatheredBatch(const Tensor&)> gathered_batch(distributed::DistributedDataParallel& ddp);

// The test split's clusters [N_test] against its labels: test_nmi, test_acc, test_ari and
// test_samples in metrics.json (for runs whose --data names a training split).
void test_split_scores(RunContext& ctx, const Tensor& test_clusters);

// `n2d` (default false) and `n2d_pixel_pca` (the given default, measured per command): N2D's
// UMAP + GMM on the scoring rows too (n2d_scores).
std::vector<ParamSpec> n2d_params(std::int64_t default_pixel_pca);
// Refuses bad n2d_* values; called before training, so that a bad value does not cost a run.
void check_n2d_params(const RunContext& ctx);
// N2D's second half (McConville et al. 2020) on learned features: UMAP of the scoring rows to k
// dimensions (20 neighbours, min_dist 0), then a full-covariance GMM with 5 starts. With
// n2d_pixel_pca = p > 0 the rows are joined (deep_clustering::join_views) with the images' first
// p principal components (PCA fitted on the training images): the network's view and the
// pixels' linear view side by side. Every image is clustered, the test split's rows (when
// defined) after the training rows, as DEC, IDEC and N2D score: n2d_labels.npy, n2d_samples, and
// n2d_nmi / n2d_acc / n2d_ari when labels are known.
void n2d_scores(RunContext& ctx, const Tensor& train_rows, const Tensor& test_rows, std::int64_t k);

// Frozen features [N, D] of every training image (and of the test split, when there is one):
// knn_accuracy (leave-one-out k-NN with k = 10 on up to 10000 L2-normalised rows) and
// probe_accuracy (logistic regression: on the training features, scored on the test
// features, or on the first 80% scored on the rest without a test split). Needs labels. The
// metrics' names start with `prefix` when one is given (a second kind of feature).
void feature_metrics(RunContext& ctx, const Tensor& features, const Tensor& labels, const Tensor& test_features,
                     const Tensor& test_labels, const std::string& prefix = "");

}  // namespace cake::cli::deep_runs
