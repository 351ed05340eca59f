// convnets.cpp: the VGG-style and AlexNet-style networks of DeepCluster and DAC (convnets.h).
#include "cake/algorithms/networks/convnets.h"

#include <algorithm>
#include <map>

#include "cake/algorithms/networks/autoencoder.h"
#include "cake/autograd/grad_mode.h"
#include "cake/data/transforms.h"
#include "cake/nn/activation.h"
#include "cake/nn/conv.h"
#include "cake/nn/init.h"
#include "cake/nn/normalization.h"
#include "cake/nn/pooling.h"

namespace cake::networks {

namespace {

// Conv(in -> out, k x k, "same" padding) + BatchNorm + ReLU. The convolution has no bias: the
// batch norm right after it subtracts any constant anyway.
void conv_bn_relu(nn::Sequential& net, std::int64_t in, std::int64_t out, std::int64_t kernel) {
  net.push_back(std::make_shared<nn::Conv2d>(
      in, out, kernel, nn::Conv2dOptions{.padding = kernel / 2, .bias = false}));
  net.push_back(std::make_shared<nn::BatchNorm2d>(out));
  net.push_back(std::make_shared<nn::ReLU>());
}

// DAC's layers: valid convolution (no bias: the batch norm after it removes one), He-normal
// weights, batch norm without scale and shift, ReLU.
void dac_conv(nn::Sequential& net, std::int64_t in, std::int64_t out, std::int64_t kernel) {
  auto conv = std::make_shared<nn::Conv2d>(in, out, kernel, nn::Conv2dOptions{.bias = false});
  nn::init::kaiming_normal_(conv->weight, 0.0, "fan_in", "relu");
  net.push_back(conv);
  net.push_back(std::make_shared<nn::BatchNorm2d>(out, nn::BatchNormOptions{.affine = false}));
  net.push_back(std::make_shared<nn::ReLU>());
}

void dac_pool_norm(nn::Sequential& net, std::shared_ptr<nn::Module> pool, std::int64_t channels) {
  net.push_back(std::move(pool));
  net.push_back(std::make_shared<nn::BatchNorm2d>(channels, nn::BatchNormOptions{.affine = false}));
}

// The side after DAC's trunk: three valid 3x3 (-6), pool, three valid 3x3 (-6), pool, pool.
std::int64_t dac_side(std::int64_t size) { return ((size - 6) / 2 - 6) / 2 / 2; }

}  // namespace

ConvNet::ConvNet(ConvNetOptions options) : options_(std::move(options)) {
  CAKE_CHECK(options_.arch == "vgg" || options_.arch == "alexnet" || options_.arch == "dac", "ConvNet: unknown arch '",
             options_.arch, "' (expected vgg, alexnet or dac)");
  CAKE_CHECK(options_.arch != "dac" || options_.image_size >= 26,
             "ConvNet: the dac arch needs images of at least 26x26, got ", options_.image_size);
  CAKE_CHECK(options_.in_channels == 1 || options_.in_channels == 3 || (!options_.sobel && options_.in_channels > 0),
             "ConvNet: in_channels must be 1 or 3 with sobel (got ", options_.in_channels, ")");
  CAKE_CHECK(options_.image_size >= 8, "ConvNet: images must be at least 8x8 for three 2x2 poolings, got ",
             options_.image_size);
  CAKE_CHECK(options_.hidden > 0 && options_.num_outputs > 0, "ConvNet: hidden and num_outputs must be positive, got ",
             options_.hidden, " and ", options_.num_outputs);
  CAKE_CHECK(options_.dropout >= 0.0 && options_.dropout < 1.0, "ConvNet: dropout must be in [0, 1), got ",
             options_.dropout);
  const std::int64_t channels = options_.sobel ? 2 : options_.in_channels;
  const std::int64_t side = options_.image_size / 2 / 2 / 2;  // three 2x2 poolings (floor each time)
  convs_ = register_module("features", std::make_shared<nn::Sequential>());
  classifier_ = register_module("classifier", std::make_shared<nn::Sequential>());
  auto pool = [&] { convs_->push_back(std::make_shared<nn::MaxPool2d>(2)); };
  std::int64_t last = 0;
  if (options_.arch == "dac") {
    options_.hidden = 10;  // fc8's width in the released network; `hidden` does not apply
    build_dac(channels);
    return;
  }
  if (options_.arch == "vgg") {
    conv_bn_relu(*convs_, channels, 32, 3);
    conv_bn_relu(*convs_, 32, 32, 3);
    pool();
    conv_bn_relu(*convs_, 32, 64, 3);
    conv_bn_relu(*convs_, 64, 64, 3);
    pool();
    conv_bn_relu(*convs_, 64, 128, 3);
    pool();
    last = 128;
  } else {
    conv_bn_relu(*convs_, channels, 48, 5);
    pool();
    conv_bn_relu(*convs_, 48, 96, 3);
    pool();
    conv_bn_relu(*convs_, 96, 128, 3);
    conv_bn_relu(*convs_, 128, 128, 3);
    conv_bn_relu(*convs_, 128, 96, 3);
    pool();
    last = 96;
  }
  convs_->push_back(std::make_shared<nn::Flatten>());
  const std::int64_t flat = last * side * side;
  // VGG's classifier: Linear ReLU Dropout Linear; AlexNet's starts with a Dropout.
  if (options_.arch == "alexnet") classifier_->push_back(std::make_shared<nn::Dropout>(options_.dropout));
  auto norm = [&] {
    if (options_.classifier_norm) classifier_->push_back(std::make_shared<nn::BatchNorm1d>(options_.hidden));
  };
  classifier_->push_back(std::make_shared<nn::Linear>(flat, options_.hidden));
  norm();
  classifier_->push_back(std::make_shared<nn::ReLU>());
  classifier_->push_back(std::make_shared<nn::Dropout>(options_.dropout));
  classifier_->push_back(std::make_shared<nn::Linear>(options_.hidden, options_.hidden));
  norm();
  head_ = register_module("head", std::make_shared<nn::Linear>(options_.hidden, options_.num_outputs));
  if (options_.head_norm)
    head_norm_ = register_module("head_norm", std::make_shared<nn::BatchNorm1d>(
                                                  options_.num_outputs, nn::BatchNormOptions{.affine = false}));
  reset_head();
}

void ConvNet::build_dac(std::int64_t channels) {
  dac_conv(*convs_, channels, 64, 3);
  dac_conv(*convs_, 64, 64, 3);
  dac_conv(*convs_, 64, 64, 3);
  dac_pool_norm(*convs_, std::make_shared<nn::MaxPool2d>(2), 64);
  dac_conv(*convs_, 64, 128, 3);
  dac_conv(*convs_, 128, 128, 3);
  dac_conv(*convs_, 128, 128, 3);
  dac_pool_norm(*convs_, std::make_shared<nn::MaxPool2d>(2), 128);
  dac_conv(*convs_, 128, 10, 1);
  dac_pool_norm(*convs_, std::make_shared<nn::AvgPool2d>(2), 10);
  convs_->push_back(std::make_shared<nn::Flatten>());
  const std::int64_t side = dac_side(options_.image_size);
  auto fc8 = std::make_shared<nn::Linear>(10 * side * side, options_.hidden);
  nn::init::eye_(fc8->weight);
  nn::init::zeros_(fc8->bias);
  classifier_->push_back(fc8);
  classifier_->push_back(std::make_shared<nn::BatchNorm1d>(options_.hidden, nn::BatchNormOptions{.affine = false}));
  head_ = register_module("head", std::make_shared<nn::Linear>(options_.hidden, options_.num_outputs));
  if (options_.head_norm)
    head_norm_ = register_module("head_norm", std::make_shared<nn::BatchNorm1d>(
                                                  options_.num_outputs, nn::BatchNormOptions{.affine = false}));
  reset_head();
}

void ConvNet::check_images(const Tensor& images, const char* who) const {
  CAKE_CHECK(images.dim() == 4 && images.size(1) == options_.in_channels && images.size(2) == options_.image_size &&
                 images.size(3) == options_.image_size,
             who, ": expected images [N, ", options_.in_channels, ", ", options_.image_size, ", ", options_.image_size,
             "], got shape ", images.sizes());
}

Tensor ConvNet::input(const Tensor& images) const {
  check_images(images, "ConvNet");
  if (!options_.sobel) return images;
  // The fixed filter of DeepCluster's first layer: no parameters, no gradient to the images.
  return data::Sobel()(images.cpu()).to(images.device());
}

Tensor ConvNet::features(const Tensor& images) { return classifier_->forward(conv_features(images)); }

Tensor ConvNet::conv_features(const Tensor& images) { return convs_->forward(input(images)); }

Tensor ConvNet::forward(const Tensor& images) {
  const Tensor logits = head_->forward(features(images).relu());
  return head_norm_ ? head_norm_->forward(logits).relu() : logits;
}

void ConvNet::reset_head(double std) {
  NoGradGuard no_grad;
  if (options_.arch == "dac") {
    nn::init::eye_(head_->weight);  // DAC's fc9: TensorFlow's identity initialiser
  } else {
    nn::init::normal_(head_->weight, 0.0, std);
  }
  nn::init::zeros_(head_->bias);
}

void ConvNet::load_body(const ConvNet& other) {
  CAKE_CHECK(other.options_.arch == options_.arch && other.options_.sobel == options_.sobel &&
                 other.options_.in_channels == options_.in_channels && other.options_.image_size == options_.image_size &&
                 other.options_.hidden == options_.hidden && other.options_.head_norm == options_.head_norm &&
                 other.options_.classifier_norm == options_.classifier_norm,
             "ConvNet::load_body: the networks differ (", other.options_.arch, " vs ", options_.arch,
             ", or their input, hidden size or batch norms)");
  std::map<std::string, Tensor> body;
  for (const auto& [name, tensor] : other.state_dict())
    if (name.rfind("head", 0) != 0) body[name] = tensor;
  for (const auto& [name, tensor] : state_dict())
    if (name.rfind("head", 0) == 0) body[name] = tensor;  // keep our own head (and its batch norm)
  load_state_dict(body, true, "ConvNet::load_body");
}

std::vector<Tensor> ConvNet::body_parameters() const {
  std::vector<Tensor> body = convs_->parameters();
  for (const Tensor& p : classifier_->parameters()) body.push_back(p);
  if (head_norm_)
    for (const Tensor& p : head_norm_->parameters()) body.push_back(p);
  return body;
}

Tensor features_all(ConvNet& net, const Tensor& images, std::int64_t batch_size) {
  const bool was_training = net.is_training();
  net.eval();
  Tensor out = map_batches([&](const Tensor& x) { return net.features(x); }, images, batch_size);
  net.train(was_training);
  return out;
}

Tensor logits_all(ConvNet& net, const Tensor& images, std::int64_t batch_size) {
  const bool was_training = net.is_training();
  net.eval();
  Tensor out = map_batches([&](const Tensor& x) { return net.forward(x); }, images, batch_size);
  net.train(was_training);
  return out;
}

}  // namespace cake::networks
