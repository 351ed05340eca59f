// convnets.h: small convolutional networks for 28x28 images (MNIST, Fashion-MNIST), the
// feature extractors of DeepCluster and DAC (algorithms/deep_clustering/).
//
//   auto net = std::make_shared<cake::networks::ConvNet>(
//       cake::networks::ConvNetOptions{.arch = "vgg", .sobel = true, .num_outputs = 100});
//   cake::Tensor logits = net->forward(images);       // [N, 1, 28, 28] -> [N, 100]
//   cake::Tensor f = net->features(images);           // [N, 512], the layer before the head
//   net->reset_head(0.01);                            // DeepCluster: a fresh head every epoch
//   auto other = std::make_shared<cake::networks::ConvNet>(cake::networks::ConvNetOptions{.num_outputs = 10});
//   other->load_body(*net);                           // the same body under a head of another size
//
// DeepCluster (Caron et al. 2018, "Deep Clustering for Unsupervised Learning of Visual
// Features", section 4.1; Pastore 2025, "AlexNet in DeepCluster") trains an AlexNet whose local
// response normalisation is replaced by batch normalisation, or a VGG-16 with batch
// normalisation, on Sobel-filtered grey images. Both are built for 224x224 ImageNet crops; here
// they are scaled down for 28x28 inputs while keeping their shape:
//
//   "vgg"      blocks of 3x3 convolutions (padding 1) + BatchNorm + ReLU, a 2x2 max-pool after
//              each block: [32, 32] 28 -> 14, [64, 64] 14 -> 7, [128] 7 -> 3; then the
//              classifier Linear(128*3*3 -> hidden) ReLU Dropout Linear(hidden -> hidden).
//   "alexnet"  five convolutions with BatchNorm + ReLU as AlexNet's (two wide ones with pooling,
//              three 3x3 at the smallest resolution, a last pooling):
//              conv5x5-48 pool 28 -> 14, conv3x3-96 pool 14 -> 7, conv3x3-128, conv3x3-128,
//              conv3x3-96 pool 7 -> 3; then Dropout Linear(96*3*3 -> hidden) ReLU Dropout
//              Linear(hidden -> hidden), AlexNet's classifier.
//   "dac"      the network of DAC's released code for MNIST (Chang et al. 2017;
//              github.com/HongtaoYang/DAC-tensorflow, module.py mnistNetwork), all convolution:
//              3x3 valid convolutions 64, 64, 64 (28 -> 22), max-pool (11), 128, 128, 128 (5),
//              max-pool (2), a 1x1 convolution to 10 channels, average-pool (1); every
//              convolution followed by a batch norm WITHOUT learnt scale and shift (theirs has
//              trainable=False) and a ReLU, and a batch norm after each pooling; He-normal
//              weights. The classifier is one Linear(10 -> hidden) with identity weights, a batch
//              norm without scale and shift (the features), then ReLU and the head, also
//              identity-initialised (fc8 and fc9 there). hidden is 10, as there (the option is
//              ignored); dropout and classifier_norm do not apply.
//              Needs images of at least 26x26.
//
// features(x) is the output of the classifier's last Linear BEFORE its ReLU, as DeepCluster's
// code clusters it (facebookresearch/deepcluster main.py removes the classifier's last ReLU
// while computing features); forward(x) = head(ReLU(features(x))). The head is a Linear layer
// of num_outputs units that reset_head re-initialises in place (weights N(0, std), bias 0, as
// DeepCluster's top layer); load_body copies every other weight from a network of the same
// architecture, which puts a trained body under a head of another size.
//
// Input: with sobel, the grey image goes through the fixed Sobel filter (data/transforms.h,
// two channels: horizontal and vertical gradients), which removes colour and raises local
// contrast (Caron et al. 2018, section 4.1); without, the network sees the image channels
// as they are. The filter is part of forward and features, so callers always pass images.
// Other image sizes work as long as three 2x2 poolings fit (at least 8x8).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "cake/nn/linear.h"
#include "cake/nn/module.h"
#include "cake/nn/normalization.h"
#include "cake/nn/sequential.h"
#include "cake/tensor/tensor.h"

namespace cake::networks {

struct ConvNetOptions {
  std::string arch = "vgg";        // "vgg" | "alexnet" | "dac"
  bool sobel = true;               // Sobel-filtered grey input (2 channels) instead of the raw channels
  std::int64_t in_channels = 1;    // channels of the images given to forward (1 grey, 3 RGB)
  std::int64_t image_size = 28;    // height = width of the images
  std::int64_t hidden = 512;       // width of the classifier's two Linear layers = feature size
  std::int64_t num_outputs = 10;   // units of the head (classes, or clusters)
  double dropout = 0.5;            // in the classifier, as AlexNet's and VGG's
  // A BatchNorm1d without learnt scale and shift, then a ReLU, on the head's outputs: how DAC's
  // released networks end before their softmax (github.com/vector-1127/DAC MNIST/mnist.py;
  // github.com/HongtaoYang/DAC-tensorflow module.py, batch norm with trainable=False). Every
  // output unit is then centred with unit variance over the batch and, after the ReLU, active
  // for part of it: the network cannot make all label features alike (a collapse the pairwise
  // loss would otherwise reward, since "same" pairs are the easy ones).
  bool head_norm = false;
  // A BatchNorm1d after each of the classifier's two Linear layers (before the ReLU), as DAC's
  // released networks put a batch norm after every layer. Without it a pairwise loss can reach
  // zero by a collapse: the classifier's ReLUs die, every image gets the same logits, the head's
  // batch norm maps them all to 0 and every pair looks "same" (measured: docs/algorithms/deepcluster_dac.md).
  bool classifier_norm = false;
};

class ConvNet : public nn::Module {
 public:
  explicit ConvNet(ConvNetOptions options = {});

  Tensor forward(const Tensor& images) override;  // [N, C, H, W] -> logits [N, num_outputs]
  Tensor features(const Tensor& images);          // [N, C, H, W] -> [N, hidden], before the head
  // The convolutional trunk's output, flattened: [N, channels x side x side], the classifier's input.
  Tensor conv_features(const Tensor& images);
  // The network's input: the Sobel channels of the images (with sobel), or the images.
  Tensor input(const Tensor& images) const;

  // Weights ~ N(0, std^2) and bias 0, in place (the tensors keep their identity, so an optimiser
  // holding them keeps working). Draws from the global generator. The dac arch: identity
  // weights (its released code's initialiser), std unused.
  void reset_head(double std = 0.01);
  // Copies the parameters and buffers of everything but the head from `other`, a network with
  // the same arch, input and hidden size (its head may differ).
  void load_body(const ConvNet& other);
  std::shared_ptr<nn::Linear> head() const { return head_; }
  // Every parameter but the head's (the "body": convolutions, batch norms, classifier).
  std::vector<Tensor> body_parameters() const;

  std::int64_t feature_dim() const { return options_.hidden; }
  std::int64_t num_outputs() const { return head_->weight.size(0); }
  const ConvNetOptions& options() const { return options_; }
  std::string name() const override { return "ConvNet"; }

 private:
  void check_images(const Tensor& images, const char* who) const;
  void build_dac(std::int64_t channels);  // the trunk, classifier and head of the "dac" arch
  ConvNetOptions options_;
  std::shared_ptr<nn::Sequential> convs_, classifier_;
  std::shared_ptr<nn::Linear> head_;
  std::shared_ptr<nn::BatchNorm1d> head_norm_;  // null without options.head_norm
};

// The features of many images: net.features in batches, in evaluation mode (batch norm with
// its running statistics, no dropout), without a graph; the mode is restored afterwards.
Tensor features_all(ConvNet& net, const Tensor& images, std::int64_t batch_size = 512);
// The same for the logits (forward).
Tensor logits_all(ConvNet& net, const Tensor& images, std::int64_t batch_size = 512);

}  // namespace cake::networks
