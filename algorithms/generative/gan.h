// gan.h: generative adversarial networks (Goodfellow, Pouget-Abadie, Mirza, Xu, Warde-Farley,
// Ozair, Courville & Bengio 2014, "Generative Adversarial Nets", NIPS): a generator G turns
// random inputs into images, a discriminator D tells them from real ones, and the two are
// trained against each other. InfoGAN (infogan.h) is this training with one more term.
//
//   auto g = std::make_shared<cake::networks::GANGenerator>(
//       cake::networks::GANGeneratorOptions{.noise = 74, .categories = 0, .continuous = 0});
//   auto d = std::make_shared<cake::networks::GANDiscriminator>(
//       cake::networks::GANDiscriminatorOptions{.categories = 0, .continuous = 0});
//   cake::generative::GAN gan(g, d, {}, {.epochs = 20, .batch_size = 128, .seed = 0});
//   cake::train::TrainResult result = gan.fit(images);       // images [N, 1, 28, 28] in [0, 1]
//   cake::Tensor fakes = gan.sample(64, /*seed=*/7);          // the same 64 images for seed 7
//
// The game (Goodfellow et al. 2014, eq. 1):
//     min_G max_D V(D, G) = E_{x ~ data}[log D(x)] + E_{z ~ p(z)}[log(1 - D(G(z)))].
// Training alternates, per mini-batch of real images (Algorithm 1, with k = 1 step of D):
//   D step  minimise  L_D = -mean log D(x) - mean log(1 - D(G(z)))    (fresh z; G fixed)
//   G step  minimise  L_G = -mean log D(G(z))                          (fresh z; D fixed)
// L_G is the "non-saturating" generator loss of section 3: early on D rejects G's samples
// with confidence and log(1 - D(G(z))) has almost no gradient, while -log D(G(z)) has the same
// fixed point and strong gradients. Both losses are computed from D's logit l
// (D = sigmoid(l)) as softplus(-l) = -log D and softplus(l) = -log(1 - D), which never form
// log(0).
//
// Settings and stabilisers, from InfoGAN's paper (Chen et al. 2016, Appendix C) and its
// released code (github.com/openai/InfoGAN, infogan_trainer.py, run_mnist_exp.py):
//   * Adam with beta1 = 0.5 (DCGAN's choice; the default 0.9 oscillates), lr 2e-4 for D and
//     1e-3 for G ("learning rate is 2e-4 for D and 1e-3 for G", Appendix C.1).
//   * Batch normalisation in both networks, leaky ReLU in D, ReLU in G (networks/infogan_nets.h),
//     DCGAN's N(0, 0.02^2) initialisation. D sees real and generated images in separate batches,
//     so its batch statistics are never a mix.
//   * One D step and one G step per mini-batch, each with its own draw of z.
//   * z ~ U(-1, 1)^noise, the released code's prior (Uniform(62)).
//
// GANs are unstable (the loss of one player is no measure of progress, and G may "collapse" to
// a few images). After every epoch the history records mean D(x) and D(G(z)) over the epoch's
// batches (near 1 and 0: D wins and G's gradients fade; both near 1/2: the balance the theory
// aims at), the losses, and the spread of a fixed probe set of samples: `noise_spread`, the
// per-pixel standard deviation across different noise (0: every z gives the same image, mode
// collapse). collapse_warnings() turns those numbers into words.
//
// Resume is exact: the training runs through train::Trainer (its optimiser is G's Adam, its
// loss the G step; the D step runs first inside that loss with D's own Adam, whose state
// travels in the checkpoint's state slot "gan", with the history). Every draw comes from the
// global generator, which the checkpoint saves.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "cake/algorithms/networks/infogan_nets.h"
#include "cake/algorithms/train/trainer.h"
#include "cake/tensor/tensor.h"

namespace cake::generative {

// The split of G's input (InfoGAN's paper, section 4 and Appendix C.1): incompressible noise z
// and the latent codes c (one categorical code, continuous codes).
struct LatentSpec {
  std::int64_t noise = 62;
  std::int64_t categories = 10;  // 0: no categorical code
  std::int64_t continuous = 2;
  std::int64_t input_dim() const { return noise + categories + continuous; }
};

// A batch of G's inputs. noise ~ U(-1, 1), category ~ uniform on {0..categories-1}, continuous
// ~ U(-1, 1) (the released code's priors); `input` is [noise, one_hot(category), continuous].
struct Latent {
  Tensor noise;       // [N, noise] float32
  Tensor category;    // [N] int64, undefined without a categorical code
  Tensor continuous;  // [N, continuous] float32, undefined without continuous codes
  Tensor input;       // [N, input_dim] float32
};

// Draws n latents from the global generator.
Latent sample_latent(const LatentSpec& spec, std::int64_t n, Device device = kCPU);
// Rows begin .. begin + n - 1 of a batch of latents (every part of it).
Latent latent_rows(const Latent& z, std::int64_t begin, std::int64_t n);
// The same from a generator seeded with `seed`; the global generator is left as it was.
Latent sample_latent(const LatentSpec& spec, std::int64_t n, std::uint64_t seed, Device device = kCPU);
// Builds `input` from the parts (e.g. after setting codes by hand for a figure).
Latent make_latent(const LatentSpec& spec, Tensor noise, Tensor category, Tensor continuous);

// L_D = mean softplus(-real_logit) + mean softplus(fake_logit) = -mean log D(x) - mean log(1 - D(G(z))).
Tensor discriminator_loss(const Tensor& real_logit, const Tensor& fake_logit);
// L_G = mean softplus(-fake_logit) = -mean log D(G(z)), the non-saturating generator loss.
Tensor generator_loss(const Tensor& fake_logit);

struct GANOptions {
  double lr_d = 2e-4;      // InfoGAN, Appendix C.1
  double lr_g = 1e-3;
  double beta1 = 0.5;      // Adam's, as DCGAN and the released InfoGAN code
  double beta2 = 0.999;
  std::int64_t eval_samples = 10000;  // real images scored after each epoch (the first ones)
  std::int64_t eval_batch_size = 500;
  std::int64_t probe_noise = 10;      // noise vectors of the fixed probe set of samples
  std::uint64_t probe_seed = 20161205;  // the probe set's latents (the same every epoch)
  double collapse_spread = 0.03;      // noise_spread below this: mode collapse
  // Data-parallel training on several ranks (tools/algorithms/gan.cpp sets these under mpirun,
  // with the Trainer's options carrying the distributed sampler and G's gradient all-reduce):
  // this rank's place among `ranks`, and D's gradient all-reduce, run between the D step's
  // backward and D's Adam step. Each rank draws the latents of the whole batch (ranks x its
  // part: the same draws on every rank, those one process makes) and keeps its own rows, so
  // the ranks generate different images and together one process's batch.
  int rank = 0;
  int ranks = 1;
  std::function<void()> after_d_backward = nullptr;
};

// One epoch (a row of the run's log); NaN where it does not apply.
struct GANEpoch {
  std::int64_t epoch = 0;
  double d_loss = 0.0, g_loss = 0.0;   // L_D and L_G, means over the epoch's batches
  double d_real = 0.0, d_fake = 0.0;   // mean D(x), mean D(G(z)) in the D steps
  double info_categorical = std::numeric_limits<double>::quiet_NaN();  // InfoGAN: L_I parts
  double info_continuous = std::numeric_limits<double>::quiet_NaN();
  double noise_spread = 0.0;  // probe samples: per-pixel std across noise (mean over codes)
  double code_spread = std::numeric_limits<double>::quiet_NaN();  // ... across categories
  double nmi = std::numeric_limits<double>::quiet_NaN();          // InfoGAN: Q's argmax vs labels
  double acc = std::numeric_limits<double>::quiet_NaN();
  double ari = std::numeric_limits<double>::quiet_NaN();
  std::int64_t clusters_used = 0;   // InfoGAN: distinct argmax values over the scored images
  double largest_cluster = std::numeric_limits<double>::quiet_NaN();  // its share of them
  double seconds = 0.0;
};

// Collapse and imbalance, in words ("mode collapse: ...", "Q uses 3 of 10 categories", ...);
// empty when none shows.
std::vector<std::string> collapse_warnings(const GANEpoch& epoch, const LatentSpec& spec, double collapse_spread);

// What a regulariser on generated images adds to both steps (InfoGAN's information term).
struct GeneratedTerm {
  Tensor loss;  // scalar to add to L_D and L_G; undefined for none
  double categorical = std::numeric_limits<double>::quiet_NaN();  // values to log
  double continuous = std::numeric_limits<double>::quiet_NaN();
};

class GAN {
 public:
  // The networks' latent sizes must agree: G's input split is the LatentSpec.
  GAN(std::shared_ptr<networks::GANGenerator> generator, std::shared_ptr<networks::GANDiscriminator> discriminator,
      GANOptions options, train::TrainerOptions trainer);
  virtual ~GAN() = default;
  GAN(const GAN&) = delete;
  GAN& operator=(const GAN&) = delete;

  void on_epoch_end(std::function<void(const GANEpoch&)> callback) { on_epoch_end_ = std::move(callback); }
  // Trains on images [N, C, 28, 28] in [0, 1]; labels (optional) only score the log.
  train::TrainResult fit(const Tensor& images, const Tensor& labels = {});

  // G's images for given latents (evaluation mode, no graph), on the CPU.
  Tensor generate(const Latent& latent);
  // n images from latents drawn with `seed` (the global generator is untouched).
  Tensor sample(std::int64_t n, std::uint64_t seed);

  void set_checkpoint_path(std::string path);
  const std::vector<GANEpoch>& history() const { return history_; }
  const LatentSpec& spec() const { return spec_; }
  const GANOptions& options() const { return options_; }
  networks::GANGenerator& generator() { return *generator_; }
  networks::GANDiscriminator& discriminator() { return *discriminator_; }

 protected:
  // The extra term on generated images with latents z and D/Q's outputs on them: none here.
  virtual GeneratedTerm generated_term(const Latent& z, const networks::DiscriminatorOutput& out);
  // Scores beyond the GAN's own after an epoch (InfoGAN: clustering of `images`).
  virtual void score_epoch(GANEpoch& epoch, const Tensor& images, const Tensor& labels);
  Device device() const;

 private:
  void measure_probe(GANEpoch& epoch);
  std::shared_ptr<networks::GANGenerator> generator_;
  std::shared_ptr<networks::GANDiscriminator> discriminator_;
  GANOptions options_;
  train::TrainerOptions trainer_options_;
  LatentSpec spec_;
  train::Trainer* active_trainer_ = nullptr;  // while fit runs
  std::function<void(const GANEpoch&)> on_epoch_end_;
  std::vector<GANEpoch> history_;
};

Tensor gan_history_tensor(const std::vector<GANEpoch>& history);
std::vector<GANEpoch> gan_history_from(const Tensor& table);

}  // namespace cake::generative
