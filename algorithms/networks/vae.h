// vae.h: variational autoencoders (Kingma & Welling 2014, "Auto-Encoding Variational Bayes"):
// the encoder returns a distribution over codes instead of a point, and a KL term keeps those
// distributions close to N(0, I), so that decoding a random N(0, I) draw gives a plausible image.
//
//   auto vae = std::make_shared<cake::networks::ConvVAE>(/*latent_dim=*/16);
//   cake::networks::VAELoss l = cake::networks::vae_loss(*vae, images, {.beta = 1.0});
//   l.total.backward();                                  // l.reconstruction, l.kl for the log
//   cake::Tensor fakes = vae->sample(64);                // [64, 1, 28, 28], decoded N(0, I) draws
//   cake::Tensor path = vae->interpolate(images[0], images[1], 10);   // [10, 1, 28, 28]
//
// The model: q(z | x) = N(mu(x), diag(sigma^2(x))) from the encoder (which outputs mu and
// log sigma^2, so the variance is positive without a constraint), p(z) = N(0, I), and a decoder
// p(x | z). Training minimises, per sample, the negative evidence lower bound
//     L(x) = E_{z ~ q(z|x)}[-log p(x | z)] + beta KL(q(z | x) || N(0, I))          (Bortoletto 2021, eq. 1)
// with beta = 1 the VAE and beta > 1 the beta-VAE (Higgins et al. 2017). The KL term has the
// closed form (Kingma & Welling, appendix B)
//     KL = -1/2 sum_j (1 + log sigma_j^2 - mu_j^2 - sigma_j^2),
// and the expectation is estimated with ONE draw through the reparameterisation trick
//     z = mu + sigma * eps,  eps ~ N(0, I)                                          (Bortoletto 2021, eq. 2)
// which moves the randomness into eps so that gradients flow into mu and sigma.
//
// Two likelihoods, both from the decoder's logits l (x_hat = sigmoid(l) is the image it shows):
//   Bernoulli: -log p(x|z) = sum_pixels BCE(sigmoid(l), x), computed from the logits
//              (binary_cross_entropy_with_logits never forms log(0)); Kingma & Welling's choice.
//   Gaussian:  -log p(x|z) = sum_pixels (x - x_hat)^2, Bortoletto's (2021) ||x - x_hat||^2 (the negative
//              log-density of N(x_hat, I / 2) up to a constant).
// Both are summed over pixels and averaged over the batch, like the KL: the loss is "per image".
//
// ConvVAE is Bortoletto's (2021) network (section 5.1):
//   encoder  Conv(1->64, 4x4, stride 2, pad 1) ReLU      28x28 -> 14x14
//            Conv(64->128, 4x4, stride 2, pad 1) ReLU    14x14 -> 7x7
//            Flatten (6272), then two heads: Linear(6272->latent) for mu and for log sigma^2
//   decoder  Linear(latent->6272) ReLU Unflatten(128, 7, 7)
//            ConvT(128->64, 4x4, stride 2, pad 1) ReLU   7x7   -> 14x14
//            ConvT(64->1, 4x4, stride 2, pad 1)          14x14 -> 28x28 (logits)
// MLPVAE: Flatten, Linear ReLU per hidden size, heads Linear(-> latent) for mu and log sigma^2;
// decoder mirrored, ending in Linear(-> C*H*W) logits (PyTorch's example: 784-400-20).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cake/nn/linear.h"
#include "cake/nn/module.h"
#include "cake/nn/sequential.h"
#include "cake/tensor/tensor.h"

namespace cake::networks {

// q(z | x) = N(mean, diag(exp(logvar))), one row per image.
struct GaussianPosterior {
  Tensor mean;    // [N, latent]
  Tensor logvar;  // [N, latent], log sigma^2
};

class VariationalAutoencoder : public nn::Module {
 public:
  virtual GaussianPosterior encode(const Tensor& images) = 0;  // [N, C, H, W] -> two [N, latent]
  virtual Tensor decode_logits(const Tensor& codes) = 0;       // [N, latent] -> [N, C, H, W]
  virtual std::int64_t latent_dim() const = 0;
  const Shape& image_shape() const { return image_shape_; }

  // The decoder's image: sigmoid of its logits, in (0, 1).
  Tensor decode(const Tensor& codes);
  // One stochastic reconstruction: decode(mu + sigma * eps).
  Tensor forward(const Tensor& images) override;
  // Images decoded from n draws of the prior N(0, I) (global generator), without a graph.
  Tensor sample(std::int64_t n);
  // The images decoded along the straight line between the posterior means of two images
  // ([C, H, W] or [1, C, H, W]): z_t = (1 - t) mu_a + t mu_b, t = 0, 1/(steps-1), ..., 1.
  // [steps, C, H, W], without a graph.
  Tensor interpolate(const Tensor& image_a, const Tensor& image_b, std::int64_t steps);

 protected:
  explicit VariationalAutoencoder(Shape image_shape);
  void check_images(const Tensor& images, const char* who) const;
  void check_codes(const Tensor& codes, const char* who) const;
  Shape image_shape_;
};

class ConvVAE : public VariationalAutoencoder {
 public:
  explicit ConvVAE(std::int64_t latent_dim = 16, Shape image_shape = {1, 28, 28});
  GaussianPosterior encode(const Tensor& images) override;
  Tensor decode_logits(const Tensor& codes) override;
  std::int64_t latent_dim() const override { return latent_dim_; }
  std::string name() const override { return "ConvVAE"; }

 private:
  std::int64_t latent_dim_;
  std::shared_ptr<nn::Sequential> encoder_, decoder_;
  std::shared_ptr<nn::Linear> mean_head_, logvar_head_;
};

class MLPVAE : public VariationalAutoencoder {
 public:
  MLPVAE(std::vector<std::int64_t> hidden = {400}, std::int64_t latent_dim = 20, Shape image_shape = {1, 28, 28});
  GaussianPosterior encode(const Tensor& images) override;
  Tensor decode_logits(const Tensor& codes) override;
  std::int64_t latent_dim() const override { return latent_dim_; }
  std::string name() const override { return "MLPVAE"; }

 private:
  std::vector<std::int64_t> hidden_;
  std::int64_t latent_dim_;
  std::shared_ptr<nn::Sequential> encoder_, decoder_;
  std::shared_ptr<nn::Linear> mean_head_, logvar_head_;
};

// z = mu + exp(logvar / 2) * eps with eps ~ N(0, I) from the global generator.
Tensor reparameterize(const GaussianPosterior& posterior);

enum class Likelihood { Bernoulli, Gaussian };

struct VAELossOptions {
  double beta = 1.0;  // weight of the KL term (1: the VAE; > 1: beta-VAE)
  Likelihood likelihood = Likelihood::Bernoulli;
};

// The terms of the negative ELBO, each summed over a sample's pixels / latent dims and averaged
// over the batch: total = reconstruction + beta * kl.
struct VAELoss {
  Tensor total, reconstruction, kl;
};
VAELoss vae_loss(VariationalAutoencoder& model, const Tensor& images, const VAELossOptions& options = {});

// -log p(x | z) per image from the decoder's logits, averaged over the batch (see above).
Tensor reconstruction_nll(const Tensor& logits, const Tensor& images, Likelihood likelihood);

// A VAE's scores on a whole set (a run's test_loss, test_reconstruction, test_kl, test_mse):
// the negative ELBO and its two terms per image, each batch's vae_loss (one eps draw per image
// from the global generator) weighted by its size, and the squared error per pixel of the
// images decoded from their posterior means. In evaluation mode, without a graph; the model's
// mode is restored.
struct VAEEvaluation {
  double loss = 0.0, reconstruction = 0.0, kl = 0.0;  // per image; loss = reconstruction + beta * kl
  double mse = 0.0;                                    // per pixel, decoding the posterior means
};
VAEEvaluation evaluate_vae(VariationalAutoencoder& model, const Tensor& images, const VAELossOptions& options = {},
                           std::int64_t batch_size = 1000);

// Posterior means of many images, in batches, in evaluation mode, without a graph.
Tensor encode_mean_all(VariationalAutoencoder& model, const Tensor& images, std::int64_t batch_size = 1000);

}  // namespace cake::networks

// Compatibility: the spellings from before algorithms/ was split into family namespaces
// (docs/architecture.md, "The algorithms: families and namespaces"). They name the same
// entities; new code uses cake::networks.
namespace cake::algorithms {
using ::cake::networks::GaussianPosterior;
using ::cake::networks::VariationalAutoencoder;
using ::cake::networks::ConvVAE;
using ::cake::networks::MLPVAE;
using ::cake::networks::reparameterize;
using ::cake::networks::Likelihood;
using ::cake::networks::VAELossOptions;
using ::cake::networks::VAELoss;
using ::cake::networks::vae_loss;
using ::cake::networks::reconstruction_nll;
using ::cake::networks::encode_mean_all;
}  // namespace cake::algorithms
