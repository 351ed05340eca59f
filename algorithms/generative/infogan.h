// infogan.h: InfoGAN (Chen, Duan, Houthooft, Schulman, Sutskever & Abbeel 2016, "InfoGAN:
// Interpretable Representation Learning by Information Maximizing Generative Adversarial
// Nets", NIPS): a GAN whose generator input carries latent codes c beside the noise z, trained
// so that the codes can be read back from the images. With a 10-valued categorical code on
// digits, the code comes to pick the digit class, and a recognition network's guess of it
// clusters real images (5% error on MNIST, section 7).
//
//   auto g = std::make_shared<cake::networks::GANGenerator>();       // 62 noise + 10 + 2 codes
//   auto d = std::make_shared<cake::networks::GANDiscriminator>();   // D and Q
//   cake::generative::InfoGAN infogan(g, d, {}, {}, {.epochs = 20, .batch_size = 128, .seed = 0});
//   cake::train::TrainResult result = infogan.fit(images, labels);   // labels only for the log
//   cake::Tensor clusters = infogan.predict(images);                 // argmax_c Q(c | x), [N]
//   cake::Tensor fakes = infogan.sample(100, /*seed=*/3);
//
// The objective (section 5, eq. 6):
//     min_{G,Q} max_D  V(D, G) - lambda L_I(G, Q),
//     L_I(G, Q) = E_{c ~ P(c), x ~ G(z, c)}[log Q(c | x)] + H(c)  <=  I(c; G(z, c)),
// a variational lower bound on the mutual information between the codes and the images (eq.
// 4-5: Q(c|x) stands in for the true posterior; the bound is tight when they agree). H(c) is a
// constant of the prior, so maximising L_I is minimising Q's cross-entropy on the codes that
// made the images:
//   categorical c ~ Cat(K, 1/K):  log Q(c|x) = log_softmax(Q's logits)[c], H(c) = log K;
//   continuous  c ~ U(-1, 1):     log Q(c|x) = log N(c; mu(x), sigma(x)^2) (a factored Gaussian,
//                                 Appendix C), sigma = 1 unless the network learns log sigma;
//                                 H(c) = log 2 per code.
// lambda: "For discrete latent codes, we always set lambda to 1"; for continuous ones the paper
// suggests a smaller value to keep the term on the GAN's scale (section 6), while the authors'
// MNIST code uses 1 for both with sigma fixed at 1 (run_mnist_exp.py, info_reg_coeff=1.0): the
// defaults here. As in that code, the term enters BOTH steps: the D step trains Q (and the
// trunk it shares with D) on the images of that step; the G step trains G to make its codes
// legible, with D and Q fixed (infogan_trainer.py adds -lambda * MI to both losses and updates
// only d_* or g_* variables in each).
//
// Clustering: the cluster of a real image is argmax_c Q(c | x) (evaluation mode, the batch
// norms' running statistics). Which cluster is which class is unknown, so ACC matches them
// with the Hungarian method (metrics::acc). The history adds, per epoch, NMI/ACC/ARI against
// labels when given, how many categories Q's argmax uses and the largest one's share, and how
// much the categorical code changes the probe samples (code_spread: 0 means G ignores it).
#pragma once

#include <cstdint>
#include <memory>

#include "cake/algorithms/generative/gan.h"

namespace cake::generative {

struct InfoGANOptions {
  double lambda_categorical = 1.0;
  double lambda_continuous = 1.0;
};

// The estimate of L_I for one batch, per kind of code (scalars; undefined for a kind absent).
struct InformationTerm {
  Tensor categorical;  // mean_i log Q(c_i | x_i) + log K
  Tensor continuous;   // sum over codes of (mean_i log N(c_ij; mu_ij, sigma_ij^2) + log 2)
  // lambda_cat * CE + lambda_cont * NLL: the quantity to minimise (-lambda L_I without the constants).
  Tensor loss;
};
InformationTerm information_term(const LatentSpec& spec, const Latent& z, const networks::DiscriminatorOutput& q,
                                 const InfoGANOptions& options = {});

class InfoGAN : public GAN {
 public:
  InfoGAN(std::shared_ptr<networks::GANGenerator> generator, std::shared_ptr<networks::GANDiscriminator> discriminator,
          GANOptions options, InfoGANOptions info, train::TrainerOptions trainer);

  // Q(c | x) for images [N, C, 28, 28]: the categorical code's probabilities [N, K] on the CPU
  // (evaluation mode, no graph, in batches).
  Tensor category_probabilities(const Tensor& images);
  // argmax_c Q(c | x), int64 [N]: the clusters.
  Tensor predict(const Tensor& images);
  const InfoGANOptions& info_options() const { return info_; }

 protected:
  GeneratedTerm generated_term(const Latent& z, const networks::DiscriminatorOutput& out) override;
  void score_epoch(GANEpoch& epoch, const Tensor& images, const Tensor& labels) override;

 private:
  InfoGANOptions info_;
};

}  // namespace cake::generative
