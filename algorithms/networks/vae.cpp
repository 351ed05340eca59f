// vae.cpp: the convolutional and fully connected VAEs, the reparameterisation and the ELBO.
#include "cake/algorithms/networks/vae.h"

#include "cake/algorithms/networks/autoencoder.h"
#include "cake/autograd/grad_mode.h"
#include "cake/autograd/ops.h"
#include "cake/nn/activation.h"
#include "cake/nn/conv.h"
#include "cake/nn/functional.h"
#include "cake/tensor/creation.h"

namespace cake::networks {

namespace F = nn::functional;

// ---- VariationalAutoencoder ------------------------------------------------------------------------

VariationalAutoencoder::VariationalAutoencoder(Shape image_shape) : image_shape_(std::move(image_shape)) {
  CAKE_CHECK(image_shape_.size() == 3 && image_shape_[0] > 0 && image_shape_[1] > 0 && image_shape_[2] > 0,
             "VAE: image_shape must be {C, H, W} with positive sizes, got ", image_shape_);
}

void VariationalAutoencoder::check_images(const Tensor& images, const char* who) const {
  CAKE_CHECK(images.dim() == 4 && images.size(1) == image_shape_[0] && images.size(2) == image_shape_[1] &&
                 images.size(3) == image_shape_[2],
             who, ": expected images [N, ", image_shape_[0], ", ", image_shape_[1], ", ", image_shape_[2], "], got shape ",
             images.sizes());
}

void VariationalAutoencoder::check_codes(const Tensor& codes, const char* who) const {
  CAKE_CHECK(codes.dim() == 2 && codes.size(1) == latent_dim(), who, ": expected codes [N, ", latent_dim(),
             "], got shape ", codes.sizes());
}

Tensor VariationalAutoencoder::decode(const Tensor& codes) { return sigmoid(decode_logits(codes)); }

Tensor VariationalAutoencoder::forward(const Tensor& images) { return decode(reparameterize(encode(images))); }

Tensor VariationalAutoencoder::sample(std::int64_t n) {
  CAKE_CHECK(n > 0, "VAE::sample: the number of samples must be positive, got ", n);
  NoGradGuard no_grad;
  const bool was_training = is_training();
  eval();
  const Tensor weight = parameters().front();
  Tensor images = decode(randn({n, latent_dim()}, TensorOptions(weight.dtype(), weight.device())));
  train(was_training);
  return images;
}

Tensor VariationalAutoencoder::interpolate(const Tensor& image_a, const Tensor& image_b, std::int64_t steps) {
  CAKE_CHECK(steps >= 2, "VAE::interpolate: needs at least 2 steps (the two ends), got ", steps);
  auto as_batch = [](const Tensor& image) { return image.dim() == 3 ? image.unsqueeze(0) : image; };
  const Tensor a = as_batch(image_a), b = as_batch(image_b);
  check_images(a, "VAE::interpolate");
  check_images(b, "VAE::interpolate");
  CAKE_CHECK(a.size(0) == 1 && b.size(0) == 1, "VAE::interpolate: expects one image at each end, got shapes ",
             image_a.sizes(), " and ", image_b.sizes());
  NoGradGuard no_grad;
  const bool was_training = is_training();
  eval();
  const Tensor mu_a = encode(a).mean, mu_b = encode(b).mean;  // [1, latent]
  const Tensor t = linspace(0.0, 1.0, steps, TensorOptions(mu_a.dtype(), mu_a.device())).unsqueeze(1);
  Tensor images = decode(mu_a * (1.0 - t) + mu_b * t);  // [steps, latent] by broadcasting
  train(was_training);
  return images;
}

// ---- ConvVAE -----------------------------------------------------------------------------------------

ConvVAE::ConvVAE(std::int64_t latent_dim, Shape image_shape)
    : VariationalAutoencoder(std::move(image_shape)), latent_dim_(latent_dim) {
  CAKE_CHECK(latent_dim > 0, "ConvVAE: latent_dim must be positive, got ", latent_dim);
  CAKE_CHECK(image_shape_[1] % 4 == 0 && image_shape_[2] % 4 == 0, "ConvVAE: two stride-2 4x4 convolutions halve ",
             "the image twice, so its sides must be multiples of 4; got ", image_shape_[1], "x", image_shape_[2]);
  const std::int64_t channels = image_shape_[0], h = image_shape_[1] / 4, w = image_shape_[2] / 4;
  const std::int64_t flat = 128 * h * w;  // 6272 for 28x28
  const nn::Conv2dOptions halve{.stride = 2, .padding = 1};
  const nn::ConvTranspose2dOptions twice{.stride = 2, .padding = 1};

  encoder_ = register_module("encoder", std::make_shared<nn::Sequential>());
  encoder_->push_back(std::make_shared<nn::Conv2d>(channels, 64, 4, halve));
  encoder_->push_back(std::make_shared<nn::ReLU>());
  encoder_->push_back(std::make_shared<nn::Conv2d>(64, 128, 4, halve));
  encoder_->push_back(std::make_shared<nn::ReLU>());
  encoder_->push_back(std::make_shared<nn::Flatten>());
  mean_head_ = register_module("fc_mu", std::make_shared<nn::Linear>(flat, latent_dim));
  logvar_head_ = register_module("fc_logvar", std::make_shared<nn::Linear>(flat, latent_dim));

  decoder_ = register_module("decoder", std::make_shared<nn::Sequential>());
  decoder_->push_back(std::make_shared<nn::Linear>(latent_dim, flat));
  decoder_->push_back(std::make_shared<nn::ReLU>());
  decoder_->push_back(std::make_shared<nn::Unflatten>(1, Shape{128, h, w}));
  decoder_->push_back(std::make_shared<nn::ConvTranspose2d>(128, 64, 4, twice));
  decoder_->push_back(std::make_shared<nn::ReLU>());
  decoder_->push_back(std::make_shared<nn::ConvTranspose2d>(64, channels, 4, twice));
}

GaussianPosterior ConvVAE::encode(const Tensor& images) {
  check_images(images, "ConvVAE::encode");
  const Tensor features = encoder_->forward(images);
  return {mean_head_->forward(features), logvar_head_->forward(features)};
}

Tensor ConvVAE::decode_logits(const Tensor& codes) {
  check_codes(codes, "ConvVAE::decode");
  return decoder_->forward(codes);
}

// ---- MLPVAE ------------------------------------------------------------------------------------------

MLPVAE::MLPVAE(std::vector<std::int64_t> hidden, std::int64_t latent_dim, Shape image_shape)
    : VariationalAutoencoder(std::move(image_shape)), hidden_(std::move(hidden)), latent_dim_(latent_dim) {
  CAKE_CHECK(latent_dim > 0, "MLPVAE: latent_dim must be positive, got ", latent_dim);
  for (std::int64_t h : hidden_) CAKE_CHECK(h > 0, "MLPVAE: hidden sizes must be positive, got ", h);
  const std::int64_t pixels = shape_numel(image_shape_);

  encoder_ = register_module("encoder", std::make_shared<nn::Sequential>());
  encoder_->push_back(std::make_shared<nn::Flatten>());
  std::int64_t width = append_linear_relu_stack(*encoder_, pixels, hidden_);
  mean_head_ = register_module("fc_mu", std::make_shared<nn::Linear>(width, latent_dim));
  logvar_head_ = register_module("fc_logvar", std::make_shared<nn::Linear>(width, latent_dim));

  decoder_ = register_module("decoder", std::make_shared<nn::Sequential>());
  width = append_linear_relu_stack(*decoder_, latent_dim, {hidden_.rbegin(), hidden_.rend()});
  decoder_->push_back(std::make_shared<nn::Linear>(width, pixels));
  decoder_->push_back(std::make_shared<nn::Unflatten>(1, image_shape_));
}

GaussianPosterior MLPVAE::encode(const Tensor& images) {
  check_images(images, "MLPVAE::encode");
  const Tensor features = encoder_->forward(images);
  return {mean_head_->forward(features), logvar_head_->forward(features)};
}

Tensor MLPVAE::decode_logits(const Tensor& codes) {
  check_codes(codes, "MLPVAE::decode");
  return decoder_->forward(codes);
}

// ---- the objective -------------------------------------------------------------------------------------

Tensor reparameterize(const GaussianPosterior& posterior) {
  CAKE_CHECK(posterior.mean.sizes() == posterior.logvar.sizes(), "reparameterize: mean of shape ",
             posterior.mean.sizes(), " and logvar of shape ", posterior.logvar.sizes(), " differ");
  // sigma = exp(log sigma^2 / 2); eps is drawn without a graph, so gradients reach mu and sigma only.
  const Tensor eps = randn_like(posterior.mean);
  return posterior.mean + (posterior.logvar * 0.5).exp() * eps;
}

Tensor reconstruction_nll(const Tensor& logits, const Tensor& images, Likelihood likelihood) {
  CAKE_CHECK(logits.sizes() == images.sizes(), "reconstruction_nll: logits of shape ", logits.sizes(),
             " and images of shape ", images.sizes(), " differ");
  const double batch = static_cast<double>(images.size(0));
  if (likelihood == Likelihood::Bernoulli)
    return F::binary_cross_entropy_with_logits(logits, images, nn::Reduction::Sum) / batch;
  return F::mse_loss(sigmoid(logits), images, nn::Reduction::Sum) / batch;
}

VAELoss vae_loss(VariationalAutoencoder& model, const Tensor& images, const VAELossOptions& options) {
  CAKE_CHECK(options.beta >= 0.0, "vae_loss: beta must be non-negative, got ", options.beta);
  const GaussianPosterior q = model.encode(images);
  const Tensor logits = model.decode_logits(reparameterize(q));
  VAELoss loss;
  loss.reconstruction = reconstruction_nll(logits, images, options.likelihood);
  loss.kl = F::gaussian_kl(q.mean, q.logvar, nn::Reduction::Mean);
  loss.total = loss.reconstruction + loss.kl * options.beta;
  return loss;
}

VAEEvaluation evaluate_vae(VariationalAutoencoder& model, const Tensor& images, const VAELossOptions& options,
                           std::int64_t batch_size) {
  CAKE_CHECK(images.dim() >= 1 && images.size(0) > 0, "evaluate_vae: no images, got shape ", images.sizes());
  const bool was_training = model.is_training();
  model.eval();
  NoGradGuard no_grad;
  // Per batch: [loss, reconstruction, kl, squared error] summed over the batch's images.
  const Tensor sums = map_batches(
      [&](const Tensor& x) {
        const VAELoss l = vae_loss(model, x, options);
        const double n = static_cast<double>(x.size(0));
        const double squared = (model.decode(model.encode(x).mean) - x).square().sum().to(kFloat64).item<double>();
        return tensor({l.total.item<double>() * n, l.reconstruction.item<double>() * n, l.kl.item<double>() * n, squared},
                      {1, 4}, kFloat64);
      },
      images, batch_size);
  model.train(was_training);
  const Tensor total = sums.sum({0});
  const double n = static_cast<double>(images.size(0));
  return {.loss = total[0].item<double>() / n,
          .reconstruction = total[1].item<double>() / n,
          .kl = total[2].item<double>() / n,
          .mse = total[3].item<double>() / static_cast<double>(images.numel())};
}

Tensor encode_mean_all(VariationalAutoencoder& model, const Tensor& images, std::int64_t batch_size) {
  const bool was_training = model.is_training();
  model.eval();
  Tensor means = map_batches([&](const Tensor& x) { return model.encode(x).mean; }, images, batch_size);
  model.train(was_training);
  return means;
}

}  // namespace cake::networks
