// infogan_nets.cpp: InfoGAN's generator and discriminator/recognition networks (infogan_nets.h).
#include "cake/algorithms/networks/infogan_nets.h"

#include "cake/autograd/ops.h"
#include "cake/nn/init.h"

namespace cake::networks {

namespace {

constexpr std::int64_t kImageSize = 28;  // Table 1 is for 28x28 images: 28 -> 14 -> 7
constexpr std::int64_t kSide = kImageSize / 4;

// DCGAN's and the released code's initialisation (infogan/misc/custom_ops.py): weights
// N(0, 0.02^2), biases 0.
template <class Layer>
void dcgan_init(Layer& layer) {
  nn::init::normal_(layer.weight, 0.0, 0.02);
  if (layer.bias.defined()) nn::init::zeros_(layer.bias);
}
// Batch-norm scales N(1, 0.02^2), shifts 0 (custom_ops.py, conv_batch_norm).
void dcgan_init_norm(nn::BatchNormBase& bn) {
  nn::init::normal_(bn.weight, 1.0, 0.02);
  nn::init::zeros_(bn.bias);
}

void check_images(const Tensor& images, std::int64_t channels, const char* who) {
  CAKE_CHECK(images.defined() && images.dim() == 4 && images.size(1) == channels && images.size(2) == kImageSize &&
                 images.size(3) == kImageSize,
             who, ": expected images [N, ", channels, ", 28, 28], got ",
             images.defined() ? shape_str(images.sizes()) : "an undefined tensor");
}

}  // namespace

GANGenerator::GANGenerator(GANGeneratorOptions options) : options_(options) {
  CAKE_CHECK(options_.noise >= 0 && options_.categories >= 0 && options_.continuous >= 0 && options_.input_dim() > 0,
             "GANGenerator: noise, categories and continuous must be >= 0 and not all 0, got ", options_.noise, ", ",
             options_.categories, ", ", options_.continuous);
  CAKE_CHECK(options_.hidden > 0 && options_.width > 0 && options_.channels > 0,
             "GANGenerator: hidden, width and channels must be positive");
  const std::int64_t w = options_.width;
  fc1_ = register_module("fc1", std::make_shared<nn::Linear>(options_.input_dim(), options_.hidden, false));
  bn1_ = register_module("bn1", std::make_shared<nn::BatchNorm1d>(options_.hidden));
  fc2_ = register_module("fc2", std::make_shared<nn::Linear>(options_.hidden, 2 * w * kSide * kSide, false));
  bn2_ = register_module("bn2", std::make_shared<nn::BatchNorm1d>(2 * w * kSide * kSide));
  up1_ = register_module("up1", std::make_shared<nn::ConvTranspose2d>(
                                    2 * w, w, 4, nn::ConvTranspose2dOptions{.stride = 2, .padding = 1, .bias = false}));
  bn3_ = register_module("bn3", std::make_shared<nn::BatchNorm2d>(w));
  up2_ = register_module("up2", std::make_shared<nn::ConvTranspose2d>(
                                    w, options_.channels, 4, nn::ConvTranspose2dOptions{.stride = 2, .padding = 1}));
  dcgan_init(*fc1_);
  dcgan_init(*fc2_);
  dcgan_init(*up1_);
  dcgan_init(*up2_);
  dcgan_init_norm(*bn1_);
  dcgan_init_norm(*bn2_);
  dcgan_init_norm(*bn3_);
}

Tensor GANGenerator::forward(const Tensor& latent) {
  CAKE_CHECK(latent.defined() && latent.dim() == 2 && latent.size(1) == options_.input_dim(),
             "GANGenerator: expected a latent batch [N, ", options_.input_dim(), "] (noise ", options_.noise,
             " + categories ", options_.categories, " + continuous ", options_.continuous, "), got ",
             latent.defined() ? shape_str(latent.sizes()) : "an undefined tensor");
  Tensor h = bn1_->forward(fc1_->forward(latent)).relu();               // FC 1024, BN, ReLU
  h = bn2_->forward(fc2_->forward(h)).relu();                           // FC 7x7x128, BN, ReLU
  h = h.reshape({h.size(0), 2 * options_.width, kSide, kSide});
  h = bn3_->forward(up1_->forward(h)).relu();                           // upconv 64: 7 -> 14
  return up2_->forward(h).sigmoid();                                    // upconv 1: 14 -> 28
}

GANDiscriminator::GANDiscriminator(GANDiscriminatorOptions options) : options_(options) {
  CAKE_CHECK(options_.categories >= 0 && options_.continuous >= 0,
             "GANDiscriminator: categories and continuous must be >= 0, got ", options_.categories, " and ",
             options_.continuous);
  CAKE_CHECK(options_.categories != 1, "GANDiscriminator: a categorical code needs at least 2 values, got 1");
  CAKE_CHECK(options_.hidden > 0 && options_.q_hidden > 0 && options_.width > 0 && options_.channels > 0,
             "GANDiscriminator: hidden, q_hidden, width and channels must be positive");
  const std::int64_t w = options_.width;
  conv1_ = register_module("conv1", std::make_shared<nn::Conv2d>(options_.channels, w, 4,
                                                                 nn::Conv2dOptions{.stride = 2, .padding = 1}));
  conv2_ = register_module("conv2", std::make_shared<nn::Conv2d>(
                                        w, 2 * w, 4, nn::Conv2dOptions{.stride = 2, .padding = 1, .bias = false}));
  bn2_ = register_module("bn2", std::make_shared<nn::BatchNorm2d>(2 * w));
  fc_ = register_module("fc", std::make_shared<nn::Linear>(2 * w * kSide * kSide, options_.hidden, false));
  bn_fc_ = register_module("bn_fc", std::make_shared<nn::BatchNorm1d>(options_.hidden));
  d_head_ = register_module("d_head", std::make_shared<nn::Linear>(options_.hidden, 1));
  dcgan_init(*conv1_);
  dcgan_init(*conv2_);
  dcgan_init(*fc_);
  dcgan_init(*d_head_);
  dcgan_init_norm(*bn2_);
  dcgan_init_norm(*bn_fc_);
  if (options_.has_q()) {
    const std::int64_t outputs = options_.categories + options_.continuous * (options_.learn_std ? 2 : 1);
    q_fc_ = register_module("q_fc", std::make_shared<nn::Linear>(options_.hidden, options_.q_hidden, false));
    q_bn_ = register_module("q_bn", std::make_shared<nn::BatchNorm1d>(options_.q_hidden));
    q_out_ = register_module("q_out", std::make_shared<nn::Linear>(options_.q_hidden, outputs));
    dcgan_init(*q_fc_);
    dcgan_init(*q_out_);
    dcgan_init_norm(*q_bn_);
  }
}

Tensor GANDiscriminator::trunk(const Tensor& images) {
  check_images(images, options_.channels, "GANDiscriminator");
  const double a = options_.leaky_slope;
  Tensor h = leaky_relu(conv1_->forward(images), a);                    // conv 64: 28 -> 14, lReLU
  h = leaky_relu(bn2_->forward(conv2_->forward(h)), a);                 // conv 128: 14 -> 7, BN, lReLU
  return leaky_relu(bn_fc_->forward(fc_->forward(h.flatten(1))), a);    // FC 1024, BN, lReLU
}

DiscriminatorOutput GANDiscriminator::run(const Tensor& images) {
  const Tensor h = trunk(images);
  DiscriminatorOutput out;
  out.logit = d_head_->forward(h).reshape({h.size(0)});
  if (!q_fc_) return out;
  const Tensor q = q_out_->forward(leaky_relu(q_bn_->forward(q_fc_->forward(h)), options_.leaky_slope));
  const std::int64_t k = options_.categories, c = options_.continuous;
  if (k > 0) out.category_logits = q.narrow(1, 0, k);
  if (c > 0) out.continuous_mean = q.narrow(1, k, c);
  if (c > 0 && options_.learn_std) out.continuous_log_std = q.narrow(1, k + c, c);
  return out;
}

std::vector<Tensor> GANDiscriminator::q_parameters() const {
  std::vector<Tensor> out;
  for (const auto& layer : {std::static_pointer_cast<nn::Module>(q_fc_), std::static_pointer_cast<nn::Module>(q_bn_),
                            std::static_pointer_cast<nn::Module>(q_out_)})
    if (layer)
      for (const Tensor& p : layer->parameters()) out.push_back(p);
  return out;
}

}  // namespace cake::networks
