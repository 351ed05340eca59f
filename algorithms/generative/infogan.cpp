// infogan.cpp: InfoGAN's information term and its clustering by the categorical code (infogan.h).
#include "cake/algorithms/generative/infogan.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <set>

#include "cake/algorithms/metrics/metrics.h"
#include "cake/autograd/grad_mode.h"
#include "cake/autograd/ops.h"
#include "cake/nn/functional.h"

namespace cake::generative {

namespace F = nn::functional;

InformationTerm information_term(const LatentSpec& spec, const Latent& z, const networks::DiscriminatorOutput& q,
                                 const InfoGANOptions& options) {
  InformationTerm out;
  Tensor loss;
  auto add = [&](const Tensor& term) { loss = loss.defined() ? loss + term : term; };
  if (spec.categories > 0) {
    CAKE_CHECK(q.category_logits.defined() && q.category_logits.dim() == 2 &&
                   q.category_logits.size(1) == spec.categories && z.category.defined() &&
                   z.category.size(0) == q.category_logits.size(0),
               "information_term: expected Q's logits [N, ", spec.categories, "] and codes [N]");
    // -E[log Q(c | x)]: the cross-entropy of Q's logits against the codes G was given.
    const Tensor cross_entropy = F::cross_entropy(q.category_logits, z.category.to(q.category_logits.device()));
    out.categorical = std::log(static_cast<double>(spec.categories)) - cross_entropy;
    add(cross_entropy * options.lambda_categorical);
  }
  if (spec.continuous > 0) {
    CAKE_CHECK(q.continuous_mean.defined() && q.continuous_mean.sizes() == z.continuous.sizes(),
               "information_term: expected Q's means of shape ", z.continuous.sizes());
    const Tensor c = z.continuous.to(q.continuous_mean.device());
    // log N(c; mu, sigma^2) = -1/2 log(2 pi) - log sigma - (c - mu)^2 / (2 sigma^2).
    Tensor log_density;
    if (q.continuous_log_std.defined()) {
      const Tensor& log_std = q.continuous_log_std;
      log_density = -0.5 * std::log(2.0 * std::numbers::pi) - log_std -
                    0.5 * ((c - q.continuous_mean) * (-log_std).exp()).square();
    } else {
      log_density = -0.5 * std::log(2.0 * std::numbers::pi) - 0.5 * (c - q.continuous_mean).square();
    }
    // Codes are independent: the log-densities add over codes; then the mean over the batch.
    const Tensor mean_log_density = log_density.sum({1}).mean();
    out.continuous = mean_log_density + static_cast<double>(spec.continuous) * std::log(2.0);
    add(-mean_log_density * options.lambda_continuous);
  }
  out.loss = loss;
  return out;
}

InfoGAN::InfoGAN(std::shared_ptr<networks::GANGenerator> generator,
                 std::shared_ptr<networks::GANDiscriminator> discriminator, GANOptions options, InfoGANOptions info,
                 train::TrainerOptions trainer)
    : GAN(std::move(generator), std::move(discriminator), options, std::move(trainer)), info_(info) {
  CAKE_CHECK(spec().categories > 0 || spec().continuous > 0,
             "InfoGAN: the networks have no latent code (categories = continuous = 0): that is a plain GAN");
  CAKE_CHECK(info_.lambda_categorical >= 0.0 && info_.lambda_continuous >= 0.0,
             "InfoGAN: the lambdas must be >= 0, got ", info_.lambda_categorical, " and ", info_.lambda_continuous);
}

GeneratedTerm InfoGAN::generated_term(const Latent& z, const networks::DiscriminatorOutput& out) {
  const InformationTerm term = information_term(spec(), z, out, info_);
  GeneratedTerm result{.loss = term.loss};
  if (term.categorical.defined()) result.categorical = term.categorical.item<double>();
  if (term.continuous.defined()) result.continuous = term.continuous.item<double>();
  return result;
}

Tensor InfoGAN::category_probabilities(const Tensor& images) {
  CAKE_CHECK(spec().categories > 0, "InfoGAN: the network has no categorical code to cluster by");
  CAKE_CHECK(images.defined() && images.dim() == 4, "InfoGAN: expected images [N, C, 28, 28], got ",
             images.defined() ? shape_str(images.sizes()) : "an undefined tensor");
  networks::GANDiscriminator& d = discriminator();
  const bool was_training = d.is_training();
  d.eval();
  NoGradGuard no_grad;
  std::vector<Tensor> parts;
  const std::int64_t n = images.size(0), step = std::max<std::int64_t>(options().eval_batch_size, 1);
  for (std::int64_t start = 0; start < n; start += step) {
    const Tensor batch = images.narrow(0, start, std::min(step, n - start)).to(device(), kFloat32);
    parts.push_back(d.run(batch).category_logits.softmax(1).cpu());
  }
  d.train(was_training);
  return cat(parts, 0);
}

Tensor InfoGAN::predict(const Tensor& images) { return category_probabilities(images).argmax(1); }

void InfoGAN::score_epoch(GANEpoch& epoch, const Tensor& images, const Tensor& labels) {
  if (spec().categories == 0) return;
  const Tensor clusters = predict(images).contiguous();
  const std::int64_t* c = clusters.data_ptr<std::int64_t>();
  std::vector<std::int64_t> counts(static_cast<std::size_t>(spec().categories), 0);
  for (std::int64_t i = 0; i < clusters.numel(); ++i) ++counts[static_cast<std::size_t>(c[i])];
  epoch.clusters_used = std::count_if(counts.begin(), counts.end(), [](std::int64_t k) { return k > 0; });
  epoch.largest_cluster = static_cast<double>(*std::max_element(counts.begin(), counts.end())) /
                          static_cast<double>(std::max<std::int64_t>(clusters.numel(), 1));
  if (labels.defined()) {
    epoch.nmi = metrics::nmi(labels, clusters);
    epoch.acc = metrics::acc(labels, clusters);
    epoch.ari = metrics::ari(labels, clusters);
  }
}

}  // namespace cake::generative
