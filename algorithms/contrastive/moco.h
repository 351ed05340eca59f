// moco.h: Momentum Contrast (He, Fan, Wu, Xie & Girshick 2020, CVPR, "Momentum Contrast for
// Unsupervised Visual Representation Learning"): an encoder learns features without labels by
// telling, for each image, a second augmented view of it apart from the views of other images.
//
//   auto encoder = std::make_shared<cake::contrastive::ContrastiveEncoder>(
//       cake::contrastive::EncoderOptions{.backbone = "small"});
//   cake::contrastive::MoCo moco(*encoder, {.queue_size = 4096, .momentum = 0.99, .temperature = 0.1,
//                                           .augment = cake::data::RandomResizedCrop(28, 0.5)},
//                                {.epochs = 20, .batch_size = 256, .seed = 0});
//   cake::train::TrainResult result = moco.fit(images);            // images [N, 1, 28, 28]
//   cake::Tensor features = moco.features(test_images);             // [N, 128], frozen backbone
//   cake::Tensor trunk = moco.conv_features(test_images);           // [N, 9216], the conv trunk under it
//
// The method (He et al. 2020, section 3 and Algorithm 1):
//   query          q = f_q(x^q), key k = f_k(x^k): two random augmentations x^q, x^k of the same
//                  image through two encoders of the same architecture, each output L2-normalised
//                  (section 3.3, "Technical details");
//   dictionary     a queue of the keys of the last K images (section 3.2, "Dictionary as a
//                  queue"): the current batch's keys are enqueued after each step, the oldest
//                  dropped; they are the negatives of the next steps;
//   loss           InfoNCE, eq. (1):  L_q = -log exp(q.k+ / tau) / sum_{i=0}^{K} exp(q.k_i / tau),
//                  the sum over the positive k+ and the K queued keys: a (K+1)-way softmax
//                  classifier that must pick k+; tau is the temperature;
//   momentum       the key encoder gets no gradient; after each step of the query encoder
//                  theta_k <- m theta_k + (1 - m) theta_q, eq. (2), so the keys in the queue
//                  come from slowly changing encoders and stay comparable (section 3.2,
//                  "Momentum update"; the paper finds m = 0.999 far better than m = 0).
// The official single-GPU demo (facebookresearch/moco, branch colab-notebook,
// colab/moco_cifar10_demo.ipynb) sets K = 4096, m = 0.99, tau = 0.1, SGD lr 0.06 (batch 512),
// momentum 0.9, weight decay 5e-4 and a cosine learning rate: the defaults below, with the
// lr halved for half the batch (the linear scaling of the demo's lr).
//
// NOTE [ Batch norm leakage on one device ]
// With batch norm in the encoders, a query and its positive key normalised with the statistics
// of the same batch can "cheat": the batch statistics tell the network which samples belong
// together, and the loss falls without the features improving (He et al. 2020, section 3.3,
// "Shuffling BN"). The paper computes the keys on a batch shuffled across GPUs. On one device
// the authors' demo splits every batch into sub-batches with their own statistics ("split BN",
// bn_splits = 8) and shuffles the batch before the key encoder, so a key's statistics come from
// a different group of images than its query's; He recommends this for one GPU (issue
// facebookresearch/moco #47) and reports group norm about 2 points worse. Here: the key
// encoder sees the batch in a random order (shuffle_bn) and both encoders run on bn_splits
// sub-batches in training mode, which is split BN (each sub-batch is normalised by its own
// statistics). The poster's small ConvNet has no batch norm, so this only matters for the vgg
// and alexnet backbones.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "cake/algorithms/networks/convnets.h"
#include "cake/algorithms/train/trainer.h"
#include "cake/data/dataloader.h"
#include "cake/nn/module.h"
#include "cake/nn/sequential.h"
#include "cake/tensor/tensor.h"

namespace cake::contrastive {

// The encoder f of MoCo: a backbone giving features, then a projection head giving the
// normalised embedding that the loss compares.
//   "small"    the poster's network ("2 Conv2d, 1 maxpooling followed by a FC layer", Unsupervised
//              Visual Learning poster, MoCo panel): Conv(C->32, 3x3) ReLU Conv(32->64, 3x3) ReLU
//              MaxPool 2x2 Flatten Linear(64 (S-4)/2 (S-4)/2 -> feature_dim); on 28x28 images
//              64 x 12 x 12 = 9216 inputs to the Linear layer. No batch norm.
//   "vgg", "alexnet"  the convnets of DeepCluster and DAC (algorithms/networks/convnets.h), with
//              their classifier's last Linear layer (feature_dim units) as the features and no
//              dropout.
// Head (MoCo v2, Chen, Fan, Girshick & He 2020, "Improved Baselines with Momentum Contrastive
// Learning", section 3): ReLU, Linear(feature_dim -> feature_dim), ReLU, Linear(-> dim); with
// mlp_head = false MoCo v1's single Linear(feature_dim -> dim) after the ReLU. The head is thrown
// away after training. Two layers can be evaluated: features(), the backbone's last layer (the
// poster's 128 FC units), and conv_features(), the trunk under it. The paper's linear protocol
// (section 4.1) reads the ResNet's pooled trunk, the layer under its 128-D output fc (section
// 3.3); the poster's FC layer plays that output layer's role, so `cake run moco` fits its probe
// and k-NN on conv_features and clusters features() (docs/algorithms/moco.md).
struct EncoderOptions {
  std::string backbone = "small";  // "small" | "vgg" | "alexnet"
  std::int64_t in_channels = 1;
  std::int64_t image_size = 28;
  std::int64_t feature_dim = 128;  // the backbone's output (the poster's FC layer: 128 units)
  std::int64_t dim = 128;          // the embedding q, k (He et al. 2020, section 3.3: 128-D)
  bool mlp_head = true;
  std::int64_t bn_splits = 8;      // split BN in training mode (NOTE above); 1: one batch
};

class ContrastiveEncoder : public nn::Module {
 public:
  explicit ContrastiveEncoder(EncoderOptions options = {});
  // The normalised embedding [N, dim] (unit rows) of images [N, C, H, W].
  Tensor forward(const Tensor& images) override;
  // The backbone's features [N, feature_dim], before the head.
  Tensor features(const Tensor& images);
  // The convolutional trunk's output, flattened: the input of the backbone's last Linear layer
  // (small: [N, 64 x 12 x 12] on 28x28 images). Always one batch (no split BN).
  Tensor conv_features(const Tensor& images);
  // Whether the backbone has batch norm (then training runs on bn_splits sub-batches).
  bool has_batch_norm() const { return options_.backbone != "small"; }
  const EncoderOptions& options() const { return options_; }
  std::string name() const override { return "ContrastiveEncoder"; }

 private:
  void check_images(const Tensor& images) const;
  Tensor backbone_forward(const Tensor& images);
  EncoderOptions options_;
  std::shared_ptr<nn::Sequential> small_;         // backbone "small"
  std::shared_ptr<networks::ConvNet> convnet_;    // backbone "vgg" / "alexnet"
  std::shared_ptr<nn::Sequential> head_;
};

// The backbone of an encoder as a module of its own: forward(images) = encoder.features(images).
// What a classifier or a probe puts on top of a pretrained MoCo encoder (train::EncoderClassifier,
// `cake run finetune`); the encoder is shared, not copied.
class EncoderFeatures : public nn::Module {
 public:
  explicit EncoderFeatures(std::shared_ptr<ContrastiveEncoder> encoder);
  Tensor forward(const Tensor& images) override { return encoder_->features(images); }
  std::int64_t feature_dim() const { return encoder_->options().feature_dim; }
  std::string name() const override { return "EncoderFeatures(" + encoder_->options().backbone + ")"; }

 private:
  std::shared_ptr<ContrastiveEncoder> encoder_;
};

// Whether a safetensors file (a moco run's model.safetensors, or its checkpoint.safetensors)
// holds a ContrastiveEncoder: tensors "backbone.*" and "head.*" (under "model." in a checkpoint).
bool is_contrastive_encoder_file(const std::string& path);
// Rebuilds the encoder saved there: the backbone, feature_dim, dim and head are read from the
// tensor shapes; image_shape {C, H, W} is that of the images it will see. Errors name the file.
std::shared_ptr<ContrastiveEncoder> load_contrastive_encoder(const std::string& path, const Shape& image_shape);

// theta_k <- m theta_k + (1 - m) theta_q for every parameter, in place and without a graph
// (eq. 2). Buffers (batch norm's running statistics) are not averaged: as in the authors' code,
// the key encoder's own forward passes keep them. The modules must have the same parameters.
void momentum_update(nn::Module& key, const nn::Module& query, double momentum);

// The dictionary: K keys of `dim` numbers in one preallocated tensor, first in, first out.
// enqueue writes a batch's keys at the pointer and moves it on, wrapping around at K, so the
// queue always holds the K most recent keys (a batch larger than K leaves its last K).
class KeyQueue {
 public:
  // Starts with K random unit vectors (as the authors' code), drawn from the global generator,
  // on `device`.
  KeyQueue(std::int64_t size, std::int64_t dim, Device device = kCPU);
  void enqueue(const Tensor& keys);  // keys [B, dim], detached; copied in
  const Tensor& keys() const { return keys_; }  // [K, dim] float32, in storage order
  std::int64_t pointer() const { return pointer_; }  // the next row to be written
  std::int64_t size() const { return keys_.size(0); }
  // For checkpoints: the whole state (keys of the same shape, moved to the queue's device).
  void restore(const Tensor& keys, std::int64_t pointer);

 private:
  Tensor keys_;
  std::int64_t pointer_ = 0;
};

// InfoNCE, eq. (1), averaged over the batch: q, k [N, D] (row i of k the positive of row i of
// q), queue [K, D] the negatives. Logits [N, 1 + K] = [q.k+, q queue^T] / tau; the loss is the
// cross-entropy of class 0. Gradients flow into q only (k and the queue are constants).
Tensor info_nce_loss(const Tensor& q, const Tensor& k, const Tensor& queue, double temperature);

struct MoCoOptions {
  std::int64_t queue_size = 4096;  // K, in keys (samples)
  double momentum = 0.99;          // m of eq. (2)
  double temperature = 0.1;        // tau of eq. (1)
  double lr = 0.03;                // SGD (demo: 0.06 for batch 512; here batch 256)
  double sgd_momentum = 0.9;
  double weight_decay = 5e-4;
  bool cosine = true;              // lr * 0.5 (1 + cos(pi (epoch - 1) / epochs)) per epoch (demo)
  bool shuffle_bn = true;          // keys computed on a shuffled batch (NOTE above)
  data::Transform augment = nullptr;  // drawn twice per image per step; none: identical views
  std::int64_t eval_batch_size = 512;
  // Data-parallel training: every rank's keys of the step, concatenated in rank order (the
  // authors' concat_all_gather before the enqueue), so that all ranks hold the same queue, the
  // keys of the whole batch. None: one process, the batch's own keys.
  std::function<Tensor(const Tensor&)> gather_keys = nullptr;
};

// One epoch (a row of log.jsonl).
struct MoCoEpoch {
  std::int64_t epoch = 0;
  double loss = 0.0;             // mean InfoNCE over samples
  double positive_similarity = 0.0;  // mean q.k+ over the epoch
  double negative_similarity = 0.0;  // mean q.k_i over the queued keys
  double lr = 0.0;
  double seconds = 0.0;
  double momentum_seconds = 0.0;  // of which in the momentum update and the queue (profiling)
};

class MoCo {
 public:
  // trainer: epochs, batch_size, seed, checkpoint_path, resume_from, should_stop; patience and
  // restore_best are ignored (there is no validation loss).
  MoCo(ContrastiveEncoder& query, MoCoOptions options, train::TrainerOptions trainer);

  void on_epoch_end(std::function<void(const MoCoEpoch&)> callback) { on_epoch_end_ = std::move(callback); }
  // Trains on images [N, C, H, W] without labels.
  train::TrainResult fit(const Tensor& images);
  // The query encoder's backbone features [N, feature_dim] (evaluation mode, no graph), CPU.
  Tensor features(const Tensor& images);
  // The same for ContrastiveEncoder::conv_features: the trunk's flattened output, CPU.
  Tensor conv_features(const Tensor& images);
  // The same for the whole query encoder: the normalised embedding [N, dim] the loss compares.
  Tensor embeddings(const Tensor& images);

  ContrastiveEncoder& query_encoder() { return query_; }
  ContrastiveEncoder& key_encoder() { return *key_; }
  const KeyQueue& queue() const { return queue_; }
  const std::vector<MoCoEpoch>& history() const { return history_; }
  const MoCoOptions& options() const { return options_; }
  void set_checkpoint_path(std::string path);

 private:
  Tensor map_query(const std::function<Tensor(ContrastiveEncoder&, const Tensor&)>& fn, const Tensor& images);
  ContrastiveEncoder& query_;
  std::shared_ptr<ContrastiveEncoder> key_;
  KeyQueue queue_;
  MoCoOptions options_;
  train::TrainerOptions trainer_options_;
  train::Trainer* active_trainer_ = nullptr;
  std::function<void(const MoCoEpoch&)> on_epoch_end_;
  std::vector<MoCoEpoch> history_;
};

// k-nearest-neighbour classification on cosine similarity, weighted as the MoCo demo's monitor
// (facebookresearch/moco colab demo, knn_predict; Wu et al. 2018, "Unsupervised Feature
// Learning via Non-Parametric Instance Discrimination", section 3.4): each of the k most
// similar training features votes for its class with weight exp(s / t). Returns the accuracy
// on the test features. Rows are L2-normalised here.
double knn_accuracy(const Tensor& train_features, const Tensor& train_labels, const Tensor& test_features,
                    const Tensor& test_labels, std::int64_t k = 200, double t = 0.1);

}  // namespace cake::contrastive
