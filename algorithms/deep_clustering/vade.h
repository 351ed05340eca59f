// vade.h: Variational Deep Embedding (Jiang, Zheng, Tan, Tang & Zhou 2017, "Variational Deep
// Embedding: An Unsupervised and Generative Approach to Clustering", IJCAI): a VAE whose prior
// is a mixture of K Gaussians, so that the cluster of an image is the mixture component that
// most probably generated its code, and each component decodes into images of its cluster.
//
//   cake::deep_clustering::VaDE vade({500, 500, 2000}, /*latent_dim=*/10, /*n_clusters=*/10);
//   // the paper's start: an autoencoder with the same layers, pretrained, then a diagonal GMM
//   // on its codes (pretrain_vade does both with a Trainer; or by hand:)
//   vade.load_autoencoder(*ae);                                   // a trained MLPAutoencoder
//   vade.set_mixture(gmm.weights(), gmm.means(), gmm.covariances());
//   cake::deep_clustering::VaDELoss l = cake::deep_clustering::vade_loss(vade, images);
//   l.total.backward();                                           // negative ELBO per image
//   cake::Tensor clusters = vade.predict(images);                 // argmax_c gamma_c, int64 [N]
//   cake::Tensor sevens = vade.sample(/*component=*/3, 16);       // decode(mu_c + sigma_c eps)
//
// The generative model (section 3.1): c ~ Cat(pi), z | c ~ N(mu_c, diag(sigma_c^2)), x | z from
// the decoder (Bernoulli pixels for images in [0, 1]). The posterior is approximated by
// q(z, c | x) = q(z | x) q(c | x) with q(z | x) = N(mu~(x), diag(sigma~^2(x))) from the encoder
// (section 3.2). The evidence lower bound, estimated with ONE draw z = mu~ + sigma~ * eps (the
// reparameterisation trick, networks/vae.h), is (eq. 11; J latent dimensions, D pixels):
//
//   L(x) = sum_i [x_i log mu_x,i + (1 - x_i) log(1 - mu_x,i)]                  reconstruction
//        - 1/2 sum_c gamma_c sum_j [log sigma_cj^2 + sigma~_j^2 / sigma_cj^2
//                                   + (mu~_j - mu_cj)^2 / sigma_cj^2]            E_q[log p(z | c)]
//        + sum_c gamma_c log(pi_c / gamma_c)                                     -KL(q(c | x) || p(c))
//        + 1/2 sum_j (1 + log sigma~_j^2)                                        entropy of q(z | x)
//
// (the J/2 log 2 pi of p(z | c) and of the entropy cancel; they are kept below so that each
// term is the exact expectation it names). gamma_c = q(c | x) is the posterior of the component
// given the drawn code (section 3.3, eq. 16, the choice that maximises the bound):
//
//   gamma_c = p(c) p(z | c) / sum_c' p(c') p(z | c'),
//
// computed in log space (log-softmax of log pi_c + log N(z | mu_c, sigma_c^2)) so that codes far
// from every component do not give 0 / 0. Gradients flow through gamma too, as in the authors'
// released code. vade_loss returns the NEGATIVE bound, averaged over the batch, split as
//   total = reconstruction + latent + cluster, where
//   latent  = E_q(z,c|x)[-log p(z | c)] - H[q(z | x)]  (the Gaussian part of KL(q(z,c|x) || p(z,c))),
//   cluster = KL(q(c | x) || p(c)) = sum_c gamma_c (log gamma_c - log pi_c).
//
// Parameterisation: pi = softmax(pi_logits) (so it stays a distribution under Adam), the means
// mu_c and the LOG variances log sigma_c^2 (positive variances without a constraint), all
// module parameters trained with the network (the authors train them with their own Adam at the
// same learning rate, 0.002, decayed x0.9 every 10 epochs down to 0.0002).
//
// Pretraining (section 4; the authors' released VaDE.py loads a pretrained autoencoder's
// layers into the encoder's hidden layers, its code layer into mu~ and its decoder, then fits a
// diagonal GMM on the codes mu~(x) for mu_c and sigma_c^2). Without it the mixture starts
// wherever its random initialisation puts it and, as users of the released code report, all
// images tend to fall into one cluster. pretrain_vade trains the autoencoder (Adam, MSE per
// pixel) and fits the GMM; here pi is initialised from the GMM's weights as well.
// Clusters: predict takes argmax_c gamma_c at the posterior mean z = mu~(x) (deterministic; the
// authors' script draws z).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cake/algorithms/mixture/gaussian_mixture.h"
#include "cake/algorithms/networks/autoencoder.h"
#include "cake/algorithms/networks/vae.h"
#include "cake/algorithms/train/trainer.h"
#include "cake/data/dataloader.h"
#include "cake/nn/linear.h"
#include "cake/nn/module.h"
#include "cake/nn/sequential.h"
#include "cake/optim/optimizer.h"
#include "cake/tensor/tensor.h"

namespace cake::deep_clustering {

// ---- the mixture prior as plain functions (float32 or float64; every one differentiable) ----------

// log p(c) + log p(z | c) for each code and component, [N, K]:
//   log pi_c - 1/2 sum_j (log 2 pi + log sigma_cj^2 + (z_j - mu_cj)^2 / sigma_cj^2).
// z [N, J]; pi_logits [K] (pi = softmax); means and logvars [K, J].
Tensor mixture_log_joint(const Tensor& z, const Tensor& pi_logits, const Tensor& means, const Tensor& logvars);
// gamma = q(c | x) = p(c | z), [N, K] (eq. 16), by a log-softmax over the components.
Tensor mixture_responsibilities(const Tensor& z, const Tensor& pi_logits, const Tensor& means, const Tensor& logvars);

// The latent terms of VaDE's negative ELBO, each averaged over the batch (see the top).
struct VaDELatentTerms {
  Tensor latent;   // E_q[-log p(z | c)] - H[q(z | x)], scalar
  Tensor cluster;  // KL(q(c | x) || p(c)), scalar
  Tensor gamma;    // q(c | x), [N, K]
};
// From the encoder's posterior q (mean, logvar [N, J]) and the drawn code z [N, J] (gamma is
// computed from z, the rest from q in closed form).
VaDELatentTerms vade_latent_terms(const networks::GaussianPosterior& q, const Tensor& z, const Tensor& pi_logits,
                                  const Tensor& means, const Tensor& logvars);

// ---- the model ----------------------------------------------------------------------------------------

class VaDE : public nn::Module {
 public:
  // Encoder: Flatten, Linear ReLU for each hidden size, then two heads Linear(-> latent_dim) for
  // mu~ and log sigma~^2; decoder mirrored, ending in Linear(-> prod(input_shape)) logits. The
  // paper's network for MNIST is hidden {500, 500, 2000}, latent 10. input_shape
  // is {C, H, W} for images or {D} for feature rows. The mixture starts at pi uniform, mu_c = 0,
  // sigma_c^2 = 1 (the released code's start before pretraining). Paper's network: section 4.
  VaDE(std::vector<std::int64_t> hidden = {500, 500, 2000}, std::int64_t latent_dim = 10, std::int64_t n_clusters = 10,
       Shape input_shape = {1, 28, 28});

  networks::GaussianPosterior encode(const Tensor& inputs);  // [N, ...input_shape] -> two [N, latent]
  Tensor decode_logits(const Tensor& codes);                 // [N, latent] -> [N, ...input_shape]
  Tensor decode(const Tensor& codes);                        // sigmoid of the logits
  Tensor forward(const Tensor& inputs) override;             // decode(mu~ + sigma~ eps)

  // The mixture: pi [K] (softmax of pi_logits), mu_c [K, J], sigma_c^2 [K, J].
  Tensor weights() const;
  const Tensor& pi_logits() const { return pi_logits_; }
  const Tensor& means() const { return means_; }
  const Tensor& logvars() const { return logvars_; }
  Tensor variances() const;
  // gamma for codes z [N, J] (eq. 16), with a graph.
  Tensor responsibilities(const Tensor& codes) const;

  // gamma at z = mu~(x) for many inputs, [N, K], in evaluation mode, without a graph.
  Tensor predict_proba(const Tensor& inputs, std::int64_t batch_size = 1000);
  // argmax_c gamma_c, int64 [N].
  Tensor predict(const Tensor& inputs, std::int64_t batch_size = 1000);
  // mu~(x) for many inputs, [N, latent], in evaluation mode, without a graph.
  Tensor encode_mean_all(const Tensor& inputs, std::int64_t batch_size = 1000);
  // n images generated from component c: decode(mu_c + sigma_c * eps), eps ~ N(0, I) from the
  // global generator; [n, ...input_shape], without a graph.
  Tensor sample(std::int64_t component, std::int64_t n);

  // Copies a trained autoencoder with the same hidden sizes, latent size and input size into
  // the encoder's hidden layers, mu~'s head and the decoder (the logvar head keeps its own
  // initialisation, as in the released code). Errors name both architectures.
  void load_autoencoder(networks::MLPAutoencoder& autoencoder);
  // Sets pi [K], mu_c [K, J] and sigma_c^2 [K, J] (e.g. a diagonal GaussianMixture's weights,
  // means and covariances); any float dtype, converted to the model's.
  void set_mixture(const Tensor& weights, const Tensor& means, const Tensor& variances);

  std::int64_t latent_dim() const { return latent_dim_; }
  std::int64_t n_clusters() const { return n_clusters_; }
  const std::vector<std::int64_t>& hidden() const { return hidden_; }
  const Shape& input_shape() const { return input_shape_; }
  std::string name() const override { return "VaDE"; }

 private:
  void check_inputs(const Tensor& inputs, const char* who) const;
  std::vector<std::int64_t> hidden_;
  std::int64_t latent_dim_, n_clusters_;
  Shape input_shape_;
  std::shared_ptr<nn::Sequential> encoder_, decoder_;
  std::shared_ptr<nn::Linear> mean_head_, logvar_head_;
  Tensor pi_logits_, means_, logvars_;
};

// ---- the objective ----------------------------------------------------------------------------------

struct VaDELossOptions {
  // Bernoulli (summed BCE from the logits; the paper's choice for MNIST) or Gaussian (summed
  // squared error of the sigmoid output); both expect inputs in [0, 1] (networks/vae.h).
  networks::Likelihood likelihood = networks::Likelihood::Bernoulli;
};

// The negative ELBO per input (eq. 11 with one draw), averaged over the batch: total =
// reconstruction + latent + cluster (see the top of this file); gamma [N, K] for the log.
struct VaDELoss {
  Tensor total, reconstruction, latent, cluster, gamma;
};
VaDELoss vade_loss(VaDE& model, const Tensor& inputs, const VaDELossOptions& options = {});

// ---- training --------------------------------------------------------------------------------------------

// The released code's learning rate: lr * decay^floor((epoch - 1) / every), never below floor
// (epoch is 1-based: epochs 1..10 train at lr, 11..20 at lr * 0.9, ...): train::StepDecay
// (algorithms/train/epoch_schedule.h) with VaDE's numbers.
struct VaDESchedule {
  double lr = 0.002;
  double decay = 0.9;
  std::int64_t every = 10;
  double floor = 0.0002;
  double at(std::int64_t epoch) const;
};
// Drives the optimiser's learning rate by the schedule: train::attach_lr_schedule (a resumed run
// follows it exactly; it takes the trainer's on_epoch_begin slot, `also` is called there after
// the lr is set, e.g. to log the clusters of the epoch before).
void attach_schedule(train::Trainer& trainer, optim::Optimizer& optimizer, const VaDESchedule& schedule,
                     std::function<void(std::int64_t epoch)> also = {});

// The paper's initialisation (see the top): an MLPAutoencoder with the VaDE's hidden and latent
// sizes trained by `autoencoder_trainer` options on the MSE per pixel (Adam, lr), then a
// diagonal GaussianMixture with K components fitted on its codes of `fit_on` (the training
// inputs), and both copied into `model`.
struct VaDEPretrainOptions {
  train::TrainerOptions trainer = {.epochs = 50, .batch_size = 256, .patience = 0};
  double lr = 1e-3;
  std::int64_t gmm_n_init = 1;       // EM restarts on the codes (the best likelihood wins)
  std::uint64_t seed = 0;            // the GMM's random_state
  // Called after every pretraining epoch (for a progress bar or a log).
  std::function<void(const train::EpochStats&)> on_epoch_end = {};
};
struct VaDEPretrainResult {
  std::shared_ptr<networks::MLPAutoencoder> autoencoder;
  train::TrainResult training;
  Tensor codes;          // the autoencoder's codes of fit_on, [N, latent] float32
  Tensor gmm_labels;     // the GMM's clusters of those codes, int64 [N]: the starting point's clustering
  mixture::GaussianMixture gmm;
};
VaDEPretrainResult pretrain_vade(VaDE& model, std::shared_ptr<const data::Dataset> train,
                                 std::shared_ptr<const data::Dataset> validation, const Tensor& fit_on,
                                 const VaDEPretrainOptions& options = {});
// The second half alone: a diagonal GMM on the codes of an already trained autoencoder, copied
// with the autoencoder into `model`; returns the GMM's labels of the codes.
Tensor initialize_vade(VaDE& model, networks::MLPAutoencoder& autoencoder, const Tensor& fit_on,
                       mixture::GaussianMixture& gmm);

}  // namespace cake::deep_clustering
