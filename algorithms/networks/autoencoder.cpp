// autoencoder.cpp: the convolutional and fully connected autoencoders and their objectives.
#include "cake/algorithms/networks/autoencoder.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "cake/autograd/grad_mode.h"
#include "cake/autograd/ops.h"
#include "cake/data/transforms.h"
#include "cake/nn/activation.h"
#include "cake/nn/conv.h"
#include "cake/nn/functional.h"
#include "cake/nn/init.h"
#include "cake/nn/linear.h"
#include "cake/tensor/creation.h"
#include "cake/tensor/safetensors.h"

namespace cake::networks {

namespace F = nn::functional;

namespace {

// Output side of a convolution: floor((in + 2 pad - kernel) / stride) + 1, or 0 when the
// kernel does not fit in the padded input at all (C++ division truncates -1 / 2 to 0, which
// would otherwise pass for one output row).
std::int64_t conv_out(std::int64_t in, std::int64_t kernel, std::int64_t stride, std::int64_t pad) {
  if (in + 2 * pad < kernel) return 0;
  return (in + 2 * pad - kernel) / stride + 1;
}

// The output_padding that makes a transposed convolution from `in` land exactly on `target`:
// its output is (in - 1) stride - 2 pad + kernel + output_padding. A strided convolution maps
// several input sizes to one output size; output_padding picks which one to go back to.
std::int64_t output_padding_for(std::int64_t in, std::int64_t target, std::int64_t kernel, std::int64_t stride,
                                std::int64_t pad) {
  const std::int64_t padding = target - ((in - 1) * stride - 2 * pad + kernel);
  CAKE_CHECK(padding >= 0 && padding < stride, "autoencoder: no transposed convolution maps ", in, " back to ", target);
  return padding;
}

// The inverse of the sigmoid at the mean pixel values, clamped to [0.01, 0.99] first: a pixel
// that is 0 in every image (the border of Fashion-MNIST) would otherwise ask for -infinity,
// and at logit(0.01) = -4.6 the sigmoid still passes 1% of the gradient.
Tensor logit_of(const Tensor& mean) {
  const Tensor p = mean.clamp(0.01, 0.99);
  return (p / (1.0 - p)).log();
}

void check_image_shape(const Shape& shape, const char* who) {
  CAKE_CHECK(shape.size() == 3 && shape[0] > 0 && shape[1] > 0 && shape[2] > 0, who,
             ": image_shape must be {C, H, W} with positive sizes, got ", shape);
}

}  // namespace

Autoencoder::Autoencoder(Shape image_shape) : image_shape_(std::move(image_shape)) {}

void Autoencoder::check_images(const Tensor& images, const char* who) const {
  CAKE_CHECK(images.dim() == 4 && images.size(1) == image_shape_[0] && images.size(2) == image_shape_[1] &&
                 images.size(3) == image_shape_[2],
             who, ": expected images [N, ", image_shape_[0], ", ", image_shape_[1], ", ", image_shape_[2], "], got shape ",
             images.sizes());
}

// ---- ConvAutoencoder -----------------------------------------------------------------------------

ConvAutoencoder::ConvAutoencoder(std::int64_t latent_dim, Shape image_shape)
    : Autoencoder(std::move(image_shape)), latent_dim_(latent_dim) {
  check_image_shape(image_shape_, "ConvAutoencoder");
  CAKE_CHECK(latent_dim > 0, "ConvAutoencoder: latent_dim must be positive, got ", latent_dim);
  const std::int64_t channels = image_shape_[0];
  // Spatial sizes after each of the three convolutions (28 -> 14 -> 7 -> 3 for MNIST).
  const std::int64_t h1 = conv_out(image_shape_[1], 3, 2, 1), w1 = conv_out(image_shape_[2], 3, 2, 1);
  const std::int64_t h2 = conv_out(h1, 3, 2, 1), w2 = conv_out(w1, 3, 2, 1);
  const std::int64_t h3 = conv_out(h2, 3, 2, 0), w3 = conv_out(w2, 3, 2, 0);
  CAKE_CHECK(h3 > 0 && w3 > 0, "ConvAutoencoder: images of ", image_shape_[1], "x", image_shape_[2],
             " are too small for three stride-2 convolutions (need at least 9x9)");
  const std::int64_t flat = 32 * h3 * w3;  // 288 for 28x28

  encoder_ = register_module("encoder", std::make_shared<nn::Sequential>());
  encoder_->push_back(std::make_shared<nn::Conv2d>(channels, 8, 3, nn::Conv2dOptions{.stride = 2, .padding = 1}));
  encoder_->push_back(std::make_shared<nn::ReLU>());
  encoder_->push_back(std::make_shared<nn::Conv2d>(8, 16, 3, nn::Conv2dOptions{.stride = 2, .padding = 1}));
  encoder_->push_back(std::make_shared<nn::ReLU>());
  encoder_->push_back(std::make_shared<nn::Conv2d>(16, 32, 3, nn::Conv2dOptions{.stride = 2, .padding = 0}));
  encoder_->push_back(std::make_shared<nn::ReLU>());
  encoder_->push_back(std::make_shared<nn::Flatten>());
  encoder_->push_back(std::make_shared<nn::Linear>(flat, 64));
  encoder_->push_back(std::make_shared<nn::ReLU>());
  encoder_->push_back(std::make_shared<nn::Linear>(64, latent_dim));

  decoder_ = register_module("decoder", std::make_shared<nn::Sequential>());
  decoder_->push_back(std::make_shared<nn::Linear>(latent_dim, 64));
  decoder_->push_back(std::make_shared<nn::ReLU>());
  decoder_->push_back(std::make_shared<nn::Linear>(64, flat));
  decoder_->push_back(std::make_shared<nn::ReLU>());
  decoder_->push_back(std::make_shared<nn::Unflatten>(1, Shape{32, h3, w3}));
  auto up = [](std::int64_t in, std::int64_t out, std::int64_t pad, std::int64_t output_padding) {
    return std::make_shared<nn::ConvTranspose2d>(
        in, out, 3, nn::ConvTranspose2dOptions{.stride = 2, .padding = pad, .output_padding = output_padding});
  };
  decoder_->push_back(up(32, 16, 0, output_padding_for(h3, h2, 3, 2, 0)));
  decoder_->push_back(std::make_shared<nn::ReLU>());
  decoder_->push_back(up(16, 8, 1, output_padding_for(h2, h1, 3, 2, 1)));
  decoder_->push_back(std::make_shared<nn::ReLU>());
  decoder_->push_back(up(8, channels, 1, output_padding_for(h1, image_shape_[1], 3, 2, 1)));
  decoder_->push_back(std::make_shared<nn::Sigmoid>());
  // Only the heights were matched above; a non-square image needs the widths to agree too.
  CAKE_CHECK(output_padding_for(w3, w2, 3, 2, 0) == output_padding_for(h3, h2, 3, 2, 0) &&
                 output_padding_for(w2, w1, 3, 2, 1) == output_padding_for(h2, h1, 3, 2, 1) &&
                 output_padding_for(w1, image_shape_[2], 3, 2, 1) == output_padding_for(h1, image_shape_[1], 3, 2, 1),
             "ConvAutoencoder: images of ", image_shape_[1], "x", image_shape_[2],
             " need different output paddings along the two axes; use square images");
}

void ConvAutoencoder::init_output_bias(const Tensor& mean_image) {
  CAKE_CHECK(mean_image.dim() == 3 && mean_image.size(0) == image_shape_[0], "ConvAutoencoder::init_output_bias: expected a mean image [",
             image_shape_[0], ", H, W], got shape ", mean_image.sizes());
  auto last = decoder_->at<nn::ConvTranspose2d>(decoder_->size() - 2);  // before the Sigmoid
  NoGradGuard no_grad;
  last->bias.copy_(logit_of(mean_image.mean({1, 2})));
}

Tensor ConvAutoencoder::encode(const Tensor& images) {
  check_images(images, "ConvAutoencoder::encode");
  return encoder_->forward(images);
}

Tensor ConvAutoencoder::decode(const Tensor& codes) {
  CAKE_CHECK(codes.dim() == 2 && codes.size(1) == latent_dim_, "ConvAutoencoder::decode: expected codes [N, ",
             latent_dim_, "], got shape ", codes.sizes());
  return decoder_->forward(codes);
}

// ---- MLPAutoencoder ------------------------------------------------------------------------------

namespace {

template <class Activation>
std::int64_t append_linear_stack(nn::Sequential& net, std::int64_t width, const std::vector<std::int64_t>& hidden) {
  for (std::int64_t h : hidden) {
    net.push_back(std::make_shared<nn::Linear>(width, h));
    net.push_back(std::make_shared<Activation>());
    width = h;
  }
  return width;
}

}  // namespace

std::int64_t append_linear_relu_stack(nn::Sequential& net, std::int64_t width, const std::vector<std::int64_t>& hidden) {
  return append_linear_stack<nn::ReLU>(net, width, hidden);
}

std::int64_t append_linear_sigmoid_stack(nn::Sequential& net, std::int64_t width, const std::vector<std::int64_t>& hidden) {
  return append_linear_stack<nn::Sigmoid>(net, width, hidden);
}

MLPAutoencoder::MLPAutoencoder(std::vector<std::int64_t> hidden, std::int64_t latent_dim, Shape image_shape,
                               MLPAutoencoderOptions options)
    : Autoencoder(std::move(image_shape)), hidden_(std::move(hidden)), latent_dim_(latent_dim), options_(options) {
  check_image_shape(image_shape_, "MLPAutoencoder");
  CAKE_CHECK(latent_dim > 0, "MLPAutoencoder: latent_dim must be positive, got ", latent_dim);
  for (std::int64_t h : hidden_) CAKE_CHECK(h > 0, "MLPAutoencoder: hidden sizes must be positive, got ", h);
  const std::int64_t pixels = shape_numel(image_shape_);

  encoder_ = register_module("encoder", std::make_shared<nn::Sequential>());
  encoder_->push_back(std::make_shared<nn::Flatten>());
  const auto append_hidden = options_.sigmoid_hidden ? append_linear_sigmoid_stack : append_linear_relu_stack;
  std::int64_t width = append_hidden(*encoder_, pixels, hidden_);
  encoder_->push_back(std::make_shared<nn::Linear>(width, latent_dim));

  decoder_ = register_module("decoder", std::make_shared<nn::Sequential>());
  width = append_hidden(*decoder_, latent_dim, {hidden_.rbegin(), hidden_.rend()});
  decoder_->push_back(std::make_shared<nn::Linear>(width, pixels));
  if (!options_.linear_output) decoder_->push_back(std::make_shared<nn::Sigmoid>());
  decoder_->push_back(std::make_shared<nn::Unflatten>(1, image_shape_));
  // The buffer is the file's record of the output (load_autoencoder reads it); its value is unused.
  if (options_.linear_output) register_buffer("linear_output", ones({1}));
  if (options_.sigmoid_hidden) register_buffer("sigmoid_hidden", ones({1}));

  CAKE_CHECK(!(options_.variance_scaling_init && options_.glorot_uniform_init),
             "MLPAutoencoder: choose one of variance_scaling_init and glorot_uniform_init");
  if (options_.variance_scaling_init || options_.glorot_uniform_init) {
    // Keras' initialisations; both start biases at 0.
    //   VarianceScaling(scale, "fan_in", "uniform"): U(-limit, limit), limit = sqrt(3 scale / fan_in);
    //     with scale 1/3 (DEC-keras) the limit is sqrt(1 / fan_in).
    //   glorot_uniform: U(-limit, limit), limit = sqrt(6 / (fan_in + fan_out)).
    NoGradGuard no_grad;
    for (const auto& linear : linear_layers()) {
      if (options_.glorot_uniform_init) {
        nn::init::xavier_uniform_(linear->weight);
      } else {
        const double limit = std::sqrt(1.0 / static_cast<double>(linear->in_features));
        nn::init::uniform_(linear->weight, -limit, limit);
      }
      linear->bias.zero_();
    }
  }
}

void MLPAutoencoder::init_output_bias(const Tensor& mean_image) {
  CAKE_CHECK(mean_image.sizes() == image_shape_, "MLPAutoencoder::init_output_bias: expected a mean image ", image_shape_,
             ", got shape ", mean_image.sizes());
  const std::size_t last_linear = decoder_->size() - (options_.linear_output ? 2 : 3);  // before [Sigmoid,] Unflatten
  auto last = decoder_->at<nn::Linear>(last_linear);
  const Tensor mean = mean_image.reshape({-1});
  NoGradGuard no_grad;
  last->bias.copy_(options_.linear_output ? mean : logit_of(mean));
}

std::shared_ptr<MLPAutoencoder> dec_autoencoder(std::int64_t latent_dim, Shape image_shape) {
  return std::make_shared<MLPAutoencoder>(kDECHidden, latent_dim, std::move(image_shape),
                                          MLPAutoencoderOptions{.linear_output = true, .variance_scaling_init = true});
}

std::shared_ptr<MLPAutoencoder> n2d_autoencoder(std::int64_t latent_dim, Shape image_shape) {
  return std::make_shared<MLPAutoencoder>(kDECHidden, latent_dim, std::move(image_shape),
                                          MLPAutoencoderOptions{.linear_output = true, .glorot_uniform_init = true});
}

std::vector<std::shared_ptr<nn::Linear>> MLPAutoencoder::linear_layers() const {
  std::vector<std::shared_ptr<nn::Linear>> layers;
  for (const auto& half : {encoder_, decoder_})
    for (std::size_t i = 0; i < half->size(); ++i)
      if (auto linear = std::dynamic_pointer_cast<nn::Linear>((*half)[i])) layers.push_back(linear);
  return layers;
}

Tensor MLPAutoencoder::encode(const Tensor& images) {
  check_images(images, "MLPAutoencoder::encode");
  return encoder_->forward(images);
}

Tensor MLPAutoencoder::decode(const Tensor& codes) {
  CAKE_CHECK(codes.dim() == 2 && codes.size(1) == latent_dim_, "MLPAutoencoder::decode: expected codes [N, ",
             latent_dim_, "], got shape ", codes.sizes());
  return decoder_->forward(codes);
}

// ---- objectives ------------------------------------------------------------------------------------

Tensor reconstruction_loss(Autoencoder& model, const Tensor& images) {
  return F::mse_loss(model.forward(images), images);
}

Tensor cross_entropy_reconstruction_loss(Autoencoder& model, const Tensor& images) {
  return F::binary_cross_entropy(model.forward(images), images);
}

Tensor denoising_loss(Autoencoder& model, const Tensor& images, const DenoisingOptions& options) {
  const Tensor noisy = data::GaussianNoise(options.sigma, options.clip)(images);
  return F::mse_loss(model.forward(noisy), images);
}

Tensor masked_loss(Autoencoder& model, const Tensor& images, const MaskingOptions& options) {
  const data::MaskedBatch masked = data::RandomMask(options.patch, options.ratio).apply(images);
  const Tensor squared_error = (model.forward(masked.masked) - images).square();
  if (!options.hidden_only || options.ratio == 0.0) return squared_error.mean();
  // Mean over hidden pixels: the mask [N, 1, H, W] broadcasts over the channels, so every
  // hidden position counts C times in the numerator and in the denominator.
  const double hidden = masked.mask.sum().item<double>() * static_cast<double>(images.size(1));
  return (squared_error * masked.mask).sum() / std::max(hidden, 1.0);
}

// ---- files ----------------------------------------------------------------------------------------

std::shared_ptr<Autoencoder> load_autoencoder(const std::string& path, const Shape& image_shape) {
  const SafetensorsFile file = load_safetensors(path);
  // A trainer checkpoint stores "model.<name>" and "best.<name>" (trainer.h); a saved module
  // stores "<name>" with its type under "cake.module".
  std::string type, prefix;
  if (auto it = file.metadata.find("cake.module"); it != file.metadata.end()) {
    type = it->second;
  } else if (auto model_type = file.metadata.find("model.type"); model_type != file.metadata.end()) {
    type = model_type->second;
    prefix = file.tensors.count("best.encoder.0.weight") || file.tensors.count("best.encoder.1.weight") ? "best." : "model.";
  }
  auto weight = [&](const std::string& name) -> const Tensor* {
    auto it = file.tensors.find(prefix + name);
    return it == file.tensors.end() ? nullptr : &it->second;
  };
  std::shared_ptr<Autoencoder> model;
  if (type == "ConvAutoencoder") {
    const Tensor* last = weight("encoder.9.weight");  // Linear(64 -> latent), see the layer list
    CAKE_CHECK(last != nullptr && last->dim() == 2, path, ": a ConvAutoencoder file without '", prefix,
               "encoder.9.weight'");
    model = std::make_shared<ConvAutoencoder>(last->size(0), image_shape);
  } else if (type == "MLPAutoencoder") {
    // Linear layers sit at encoder.1, encoder.3, ... (after the Flatten, between the ReLUs);
    // all but the last are hidden layers, the last gives the code.
    std::vector<std::int64_t> sizes;
    for (int index = 1; const Tensor* w = weight("encoder." + std::to_string(index) + ".weight"); index += 2)
      sizes.push_back(w->size(0));
    CAKE_CHECK(!sizes.empty(), path, ": an MLPAutoencoder file without '", prefix, "encoder.1.weight'");
    const std::int64_t latent = sizes.back();
    sizes.pop_back();
    model = std::make_shared<MLPAutoencoder>(sizes, latent, image_shape,
                                             MLPAutoencoderOptions{.linear_output = weight("linear_output") != nullptr,
                                                                   .sigmoid_hidden = weight("sigmoid_hidden") != nullptr});
  } else {
    CAKE_FAIL(path, ": not an autoencoder saved by Cake (expected a ConvAutoencoder or MLPAutoencoder model file or ",
              "training checkpoint, found ", type.empty() ? std::string("no model type") : "a " + type, ")");
  }
  std::map<std::string, Tensor> state;
  for (const auto& [name, tensor] : file.tensors)
    if (name.rfind(prefix, 0) == 0) state[name.substr(prefix.size())] = tensor;
  model->load_state_dict(state, true, path);
  return model;
}

// ---- the mean-image plateau ---------------------------------------------------------------------

Tensor mean_image(const Tensor& images) {
  CAKE_CHECK(images.dim() == 4 && images.size(0) > 0, "mean_image: expected images [N, C, H, W], got shape ", images.sizes());
  NoGradGuard no_grad;
  return images.to(kFloat64).mean({0}).to(kFloat32);
}

double mean_image_mse(const Tensor& images) {
  const Tensor mean = mean_image(images).to(kFloat64);
  NoGradGuard no_grad;
  const Tensor sums = map_batches([&](const Tensor& x) { return (x.to(kFloat64) - mean).square().sum().reshape({1}); },
                                  images, 4096);
  return sums.sum().item<double>() / static_cast<double>(images.numel());
}

// ---- helpers -------------------------------------------------------------------------------------

Tensor map_batches(const std::function<Tensor(const Tensor&)>& fn, const Tensor& x, std::int64_t batch_size) {
  CAKE_CHECK(batch_size > 0, "map_batches: batch_size must be positive, got ", batch_size);
  CAKE_CHECK(x.dim() >= 1 && x.size(0) > 0, "map_batches: expected a non-empty batch of rows, got shape ", x.sizes());
  NoGradGuard no_grad;
  std::vector<Tensor> parts;
  for (std::int64_t start = 0; start < x.size(0); start += batch_size)
    parts.push_back(fn(x.narrow(0, start, std::min(batch_size, x.size(0) - start))));
  return parts.size() == 1 ? parts.front() : cat(parts, 0);
}

Tensor encode_all(Autoencoder& model, const Tensor& images, std::int64_t batch_size) {
  const bool was_training = model.is_training();
  model.eval();
  Tensor codes = map_batches([&](const Tensor& x) { return model.encode(x); }, images, batch_size);
  model.train(was_training);
  return codes;
}

double reconstruction_mse(Autoencoder& model, const Tensor& images, double noise_sigma, bool clip,
                          std::int64_t batch_size) {
  const bool was_training = model.is_training();
  model.eval();
  const Tensor per_batch_sums = map_batches(
      [&](const Tensor& x) {
        const Tensor input = noise_sigma > 0.0 ? data::GaussianNoise(noise_sigma, clip)(x) : x;
        return (model.forward(input) - x).square().sum().reshape({1}).to(kFloat64);
      },
      images, batch_size);
  model.train(was_training);
  return per_batch_sums.sum().item<double>() / static_cast<double>(images.numel());
}

}  // namespace cake::networks
