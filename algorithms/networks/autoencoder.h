// autoencoder.h: deterministic autoencoders: an encoder squeezes an image into a short code z,
// a decoder rebuilds the image from z, and both are trained to make the rebuilt image match.
//
//   auto ae = std::make_shared<cake::networks::ConvAutoencoder>(/*latent_dim=*/16);
//   cake::Tensor z = ae->encode(images);          // [N, 1, 28, 28] -> [N, 16]
//   cake::Tensor x_hat = ae->decode(z);           // [N, 16] -> [N, 1, 28, 28], values in (0, 1)
//   cake::Tensor loss = cake::networks::reconstruction_loss(*ae, images);   // per-pixel MSE
//   // denoising (Vincent et al. 2008): corrupt the input, compare with the clean image
//   cake::Tensor dloss = cake::networks::denoising_loss(*ae, images, {.sigma = 0.3});
//   // masked (He et al. 2021): hide patches, score the rebuilt hidden pixels
//   cake::Tensor mloss = cake::networks::masked_loss(*ae, images, {.patch = 4, .ratio = 0.5});
//
// The objective (Bortoletto 2021, section 2; Shen 2024, "Autoencoder"): min_theta ||x - decode(encode(x))||^2,
// here as the mean squared error per pixel. With a code much shorter than the image the network
// cannot learn the identity and has to keep what matters most for rebuilding it (Bortoletto 2021,
// section 1.1). Both models end in a sigmoid because the images are in [0, 1].
//
// ConvAutoencoder is Bortoletto's (2021) network, layer for layer (section 2.1; "the decoder
// architecture is symmetric"):
//   encoder  Conv(1->8, 3x3, stride 2, pad 1) ReLU        28x28 -> 14x14
//            Conv(8->16, 3x3, stride 2, pad 1) ReLU       14x14 -> 7x7
//            Conv(16->32, 3x3, stride 2, pad 0) ReLU      7x7   -> 3x3
//            Flatten (288) Linear(288->64) ReLU Linear(64->latent)
//   decoder  Linear(latent->64) ReLU Linear(64->288) ReLU Unflatten(32, 3, 3)
//            ConvT(32->16, 3x3, stride 2, pad 0) ReLU     3x3   -> 7x7
//            ConvT(16->8, 3x3, stride 2, pad 1, out pad 1) ReLU  7x7 -> 14x14
//            ConvT(8->1, 3x3, stride 2, pad 1, out pad 1) Sigmoid  14x14 -> 28x28
// Other image sizes work too: the flattened size and the output paddings that undo each
// stride are computed from the image shape.
//
// MLPAutoencoder is the fully connected one (the poster 'Unsupervised Visual Learning': 784 -> 128 -> 12 and back):
//   encoder  Flatten, then Linear ReLU for each hidden size, then Linear(-> latent)
//   decoder  the same sizes in reverse, ending in Linear(-> C*H*W) Sigmoid, Unflatten.
// dec_autoencoder() builds the autoencoder of DEC (Xie, Girshick & Farhadi 2016, "Unsupervised
// Deep Embedding for Clustering Analysis", section 3.2): d-500-500-2000-10, ReLU hidden layers,
// a linear code and (as the authors' and the reference Keras re-implementation's decoder) a
// linear output, weights drawn as Keras' VarianceScaling(1/3, fan_in, uniform). n2d_autoencoder()
// is the same network as N2D's authors build it (McConville et al. 2020): Glorot-uniform weights.
//
// NOTE [ The mean-image plateau ]
// A decoder whose output starts at sigmoid(0) = 0.5 everywhere first has to learn the mean
// image: until it has, the cheapest move for every image is towards that same mean, and a
// network can settle there, reconstructing every input as the mean image (its loss then sits at
// mean_image_mse(images), the per-pixel variance around the mean image) with codes that carry
// nothing about the input. init_output_bias starts the output ON the mean image instead (the
// bias of the last layer = the inverse link of the mean pixel: its logit under a sigmoid, the
// value itself for a linear output), so that the first gradient steps already go to what
// distinguishes one image from the mean (a standard "initialise the final bias to the data
// mean" recipe). The MLP's last layer has one bias per pixel, so it starts on the mean image
// exactly; the conv decoder's last transposed convolution has one bias per channel, so it starts
// on each channel's mean pixel. run_autoencoder (the CLI) calls it before training, unless
// output_bias=layer, and reports the plateau when the final loss is still near mean_image_mse.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cake/nn/linear.h"
#include "cake/nn/module.h"
#include "cake/nn/sequential.h"
#include "cake/tensor/tensor.h"

namespace cake::networks {

// The interface the trainers, figures and clustering code use: any encoder/decoder pair.
class Autoencoder : public nn::Module {
 public:
  virtual Tensor encode(const Tensor& images) = 0;  // [N, C, H, W] -> [N, latent_dim]
  virtual Tensor decode(const Tensor& codes) = 0;   // [N, latent_dim] -> [N, C, H, W]
  Tensor forward(const Tensor& images) override { return decode(encode(images)); }
  virtual std::int64_t latent_dim() const = 0;
  const Shape& image_shape() const { return image_shape_; }  // {C, H, W}
  // The encoder half as a module of its own (shared, not copied), e.g. to fine-tune on it.
  virtual std::shared_ptr<nn::Module> encoder() const = 0;
  // Sets the bias of the decoder's last layer so that the output starts near `mean_image`
  // [C, H, W] (NOTE [ The mean-image plateau ]). A model without such a bias keeps its weights.
  virtual void init_output_bias(const Tensor& mean_image) { (void)mean_image; }

 protected:
  explicit Autoencoder(Shape image_shape);
  // Checks that images are [N, C, H, W] with this model's {C, H, W}.
  void check_images(const Tensor& images, const char* who) const;
  Shape image_shape_;
};

class ConvAutoencoder : public Autoencoder {
 public:
  explicit ConvAutoencoder(std::int64_t latent_dim = 16, Shape image_shape = {1, 28, 28});
  Tensor encode(const Tensor& images) override;
  Tensor decode(const Tensor& codes) override;
  std::int64_t latent_dim() const override { return latent_dim_; }
  std::shared_ptr<nn::Module> encoder() const override { return encoder_; }
  std::string name() const override { return "ConvAutoencoder"; }
  // One bias per output channel: the logit of each channel's mean pixel.
  void init_output_bias(const Tensor& mean_image) override;

 private:
  std::int64_t latent_dim_;
  std::shared_ptr<nn::Sequential> encoder_, decoder_;
};

// Appends Linear(width, h) + ReLU for each h in `hidden` to `net`; returns the last width.
// The hidden part of both MLP models (autoencoder and VAE), encoder and mirrored decoder.
std::int64_t append_linear_relu_stack(nn::Sequential& net, std::int64_t width, const std::vector<std::int64_t>& hidden);
// The same with logistic units (Linear + Sigmoid), as the layers of a deep belief network.
std::int64_t append_linear_sigmoid_stack(nn::Sequential& net, std::int64_t width, const std::vector<std::int64_t>& hidden);

// How an MLPAutoencoder ends and starts.
struct MLPAutoencoderOptions {
  // false: the decoder ends in a sigmoid (outputs in (0, 1), for images in [0, 1]); true: it
  // ends in the last Linear layer, as DEC's autoencoder (Xie et al. 2016, section 3.2). Saved
  // with the model (a buffer "linear_output"), so load_autoencoder rebuilds the same network.
  bool linear_output = false;
  // false: the library's Linear initialisation (PyTorch's); true: every weight drawn from
  // U(-sqrt(1/fan_in), sqrt(1/fan_in)) and every bias 0, which is Keras'
  // VarianceScaling(scale=1/3, mode="fan_in", distribution="uniform") (limit sqrt(3 scale /
  // fan_in)), the initialisation of the reference DEC implementation (DEC-keras, Guo 2017).
  bool variance_scaling_init = false;
  // true: every weight drawn from Glorot & Bengio's (2010) uniform U(-b, b), b = sqrt(6 / (fan_in +
  // fan_out)), and every bias 0: Keras' default Dense initialisation, which N2D's autoencoder
  // uses (McConville et al. 2020, the authors' n2d.py). At most one of the two *_init flags.
  bool glorot_uniform_init = false;
  // true: logistic hidden units (Linear + Sigmoid) instead of ReLU, the units of a deep belief
  // network unrolled into an autoencoder (Hinton & Salakhutdinov 2006; generative/dbn.h). Saved
  // with the model (a buffer "sigmoid_hidden"), so load_autoencoder rebuilds the same network.
  bool sigmoid_hidden = false;
};

class MLPAutoencoder : public Autoencoder {
 public:
  MLPAutoencoder(std::vector<std::int64_t> hidden = {128}, std::int64_t latent_dim = 12, Shape image_shape = {1, 28, 28},
                 MLPAutoencoderOptions options = {});
  Tensor encode(const Tensor& images) override;
  Tensor decode(const Tensor& codes) override;
  std::int64_t latent_dim() const override { return latent_dim_; }
  std::shared_ptr<nn::Module> encoder() const override { return encoder_; }
  std::string name() const override { return "MLPAutoencoder"; }
  const std::vector<std::int64_t>& hidden() const { return hidden_; }
  bool linear_output() const { return options_.linear_output; }
  bool sigmoid_hidden() const { return options_.sigmoid_hidden; }
  // The Linear layers in order: the encoder's (hidden..., code), then the decoder's (hidden...,
  // output), e.g. to start them from other weights (DeepBeliefNetwork::unroll).
  std::vector<std::shared_ptr<nn::Linear>> linear_layers() const;
  // One bias per pixel: the logit of each pixel's mean (sigmoid output) or the mean itself (linear).
  void init_output_bias(const Tensor& mean_image) override;

 private:
  std::vector<std::int64_t> hidden_;
  std::int64_t latent_dim_;
  MLPAutoencoderOptions options_;
  std::shared_ptr<nn::Sequential> encoder_, decoder_;
};

// The hidden sizes of DEC's autoencoder (Xie et al. 2016, section 3.2: d-500-500-2000-10).
inline const std::vector<std::int64_t> kDECHidden = {500, 500, 2000};
// DEC's autoencoder: hidden kDECHidden, code latent_dim (10 in the paper, the number of
// clusters), linear output, VarianceScaling(1/3, fan_in, uniform) weights and zero biases.
std::shared_ptr<MLPAutoencoder> dec_autoencoder(std::int64_t latent_dim = 10, Shape image_shape = {1, 28, 28});
// N2D's autoencoder (McConville et al. 2020, section IV): DEC's sizes and linear output, but
// Keras' default initialisation (Glorot-uniform weights, zero biases), as the authors' n2d.py
// builds it; they train it with Adam (lr 1e-3), batch 256, for 1000 epochs.
std::shared_ptr<MLPAutoencoder> n2d_autoencoder(std::int64_t latent_dim = 10, Shape image_shape = {1, 28, 28});

// ---- objectives -------------------------------------------------------------------------------

// Mean squared error per pixel between decode(encode(x)) and x.
Tensor reconstruction_loss(Autoencoder& model, const Tensor& images);

// Cross-entropy per pixel between decode(encode(x)) and x, for images in [0, 1] read as
// probabilities (Hinton & Salakhutdinov 2006 fine-tune their deep autoencoder on it); needs an
// output in (0, 1) (a sigmoid output layer).
Tensor cross_entropy_reconstruction_loss(Autoencoder& model, const Tensor& images);

struct DenoisingOptions {
  double sigma = 0.3;  // standard deviation of the Gaussian noise added to the input
  bool clip = true;    // clamp the noisy input to [0, 1], the range of clean images
};
// Denoising autoencoder (Vincent et al. 2008; Bortoletto 2021, section 3): the encoder sees
// x + sigma * eps, eps ~ N(0, I), the loss compares the output with the CLEAN x, so the code
// must capture the image's structure rather than its pixels. Draws eps from the global generator.
Tensor denoising_loss(Autoencoder& model, const Tensor& images, const DenoisingOptions& options = {});

struct MaskingOptions {
  std::int64_t patch = 4;  // side of the square patches (a 28x28 image has 7x7 of size 4)
  double ratio = 0.5;      // fraction of the patches hidden in each image
  bool hidden_only = true; // score only the hidden pixels (as MAE); false: every pixel
};
// Masked autoencoder objective (He et al. 2021, "Masked Autoencoders Are Scalable Vision
// Learners", section 3; Shen 2024, "Self-supervision (masking)"): a random `ratio` of the
// patches of each image is set to 0 (data::RandomMask), the model rebuilds the whole image, and
// the loss is the mean squared error over the hidden pixels: the visible ones can be copied, the
// hidden ones must be inferred from context. Draws the masks from the global generator.
Tensor masked_loss(Autoencoder& model, const Tensor& images, const MaskingOptions& options = {});

// ---- files ----------------------------------------------------------------------------------------

// Rebuilds a trained autoencoder from a file: a model saved with cake::save(model, path) (the
// model.safetensors of a run) or a training checkpoint of algorithms::Trainer (its best
// weights). The architecture is read back from the tensor shapes (the code size, the hidden
// sizes); image_shape is that of the images it will see. Errors name the file and what is
// missing or unexpected.
std::shared_ptr<Autoencoder> load_autoencoder(const std::string& path, const Shape& image_shape = {1, 28, 28});

// ---- the mean-image plateau ---------------------------------------------------------------------

// The mean image [C, H, W] of images [N, C, H, W] (float32, on their device).
Tensor mean_image(const Tensor& images);
// The mean squared error per pixel of rebuilding every image as the mean image: the mean over
// pixels of each pixel's variance (divisor N). A reconstruction loss near it means the model
// has learnt the mean image and nothing about the individual image (NOTE above).
double mean_image_mse(const Tensor& images);
// An autoencoder is on the plateau when its reconstruction MSE is at least this fraction of
// mean_image_mse.
inline constexpr double kPlateauRatio = 0.9;

// ---- helpers ------------------------------------------------------------------------------------

// fn applied to consecutive slices of `batch_size` rows of x, results concatenated along dim 0,
// in evaluation mode semantics the caller sets up (runs under NoGradGuard).
Tensor map_batches(const std::function<Tensor(const Tensor&)>& fn, const Tensor& x, std::int64_t batch_size = 1000);
// The codes of many images: model.encode in batches, in evaluation mode, without a graph.
Tensor encode_all(Autoencoder& model, const Tensor& images, std::int64_t batch_size = 1000);
// The mean squared error per pixel of the model's reconstructions of `images` (optionally of
// their noisy versions when noise_sigma > 0, compared with the clean ones), in batches.
double reconstruction_mse(Autoencoder& model, const Tensor& images, double noise_sigma = 0.0, bool clip = true,
                          std::int64_t batch_size = 1000);

}  // namespace cake::networks

// Compatibility: the spellings from before algorithms/ was split into family namespaces
// (docs/architecture.md, "The algorithms: families and namespaces"). They name the same
// entities; new code uses cake::networks.
namespace cake::algorithms {
using ::cake::networks::Autoencoder;
using ::cake::networks::ConvAutoencoder;
using ::cake::networks::append_linear_relu_stack;
using ::cake::networks::MLPAutoencoder;
using ::cake::networks::reconstruction_loss;
using ::cake::networks::cross_entropy_reconstruction_loss;
using ::cake::networks::DenoisingOptions;
using ::cake::networks::denoising_loss;
using ::cake::networks::MaskingOptions;
using ::cake::networks::masked_loss;
using ::cake::networks::load_autoencoder;
using ::cake::networks::map_batches;
using ::cake::networks::encode_all;
using ::cake::networks::reconstruction_mse;
}  // namespace cake::algorithms
