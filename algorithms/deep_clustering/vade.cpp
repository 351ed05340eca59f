// vade.cpp: VaDE's mixture prior, its network, the negative ELBO, the learning-rate schedule and
// the pretraining (Jiang et al. 2017; see vade.h).
#include "cake/algorithms/deep_clustering/vade.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <utility>

#include "cake/algorithms/train/epoch_schedule.h"
#include "cake/autograd/grad_mode.h"
#include "cake/autograd/ops.h"
#include "cake/nn/activation.h"
#include "cake/nn/functional.h"
#include "cake/optim/adam.h"
#include "cake/tensor/creation.h"

namespace cake::deep_clustering {

namespace F = nn::functional;

namespace {

const double kLog2Pi = std::log(2.0 * std::numbers::pi);

void check_mixture(const Tensor& z, const Tensor& pi_logits, const Tensor& means, const Tensor& logvars,
                   const char* who) {
  CAKE_CHECK(z.dim() == 2, who, ": codes must be [N, J], got shape ", z.sizes());
  CAKE_CHECK(means.dim() == 2 && means.size(1) == z.size(1), who, ": means must be [K, ", z.size(1),
             "] for codes of shape ", z.sizes(), ", got shape ", means.sizes());
  CAKE_CHECK(logvars.sizes() == means.sizes(), who, ": logvars of shape ", logvars.sizes(), " and means of shape ",
             means.sizes(), " differ");
  CAKE_CHECK(pi_logits.dim() == 1 && pi_logits.size(0) == means.size(0), who, ": pi_logits must be [", means.size(0),
             "] for means of shape ", means.sizes(), ", got shape ", pi_logits.sizes());
}

}  // namespace

// ---- the mixture prior -------------------------------------------------------------------------------

Tensor mixture_log_joint(const Tensor& z, const Tensor& pi_logits, const Tensor& means, const Tensor& logvars) {
  check_mixture(z, pi_logits, means, logvars, "mixture_log_joint");
  const double J = static_cast<double>(z.size(1));
  // [N, 1, J] against [K, J] broadcasts to [N, K, J]; the sum over j leaves [N, K].
  const Tensor scaled = (z.unsqueeze(1) - means).square() / logvars.exp();
  const Tensor log_density = (scaled.sum({2}) + logvars.sum({1}) + J * kLog2Pi) * -0.5;
  return log_density + F::log_softmax(pi_logits, 0);
}

Tensor mixture_responsibilities(const Tensor& z, const Tensor& pi_logits, const Tensor& means, const Tensor& logvars) {
  return F::softmax(mixture_log_joint(z, pi_logits, means, logvars), 1);
}

VaDELatentTerms vade_latent_terms(const networks::GaussianPosterior& q, const Tensor& z, const Tensor& pi_logits,
                                  const Tensor& means, const Tensor& logvars) {
  check_mixture(z, pi_logits, means, logvars, "vade_latent_terms");
  CAKE_CHECK(q.mean.sizes() == z.sizes() && q.logvar.sizes() == z.sizes(), "vade_latent_terms: the posterior's mean ",
             q.mean.sizes(), " and logvar ", q.logvar.sizes(), " must match the codes' shape ", z.sizes());
  const double batch = static_cast<double>(z.size(0));
  // log gamma by a log-softmax: no gamma log gamma of 0 * log 0.
  const Tensor log_gamma = F::log_softmax(mixture_log_joint(z, pi_logits, means, logvars), 1);  // [N, K]
  const Tensor gamma = log_gamma.exp();
  // E_q(z|x)[-log p(z | c)] per component in closed form, [N, K]:
  //   1/2 sum_j (log 2 pi + log sigma_cj^2 + sigma~_j^2 / sigma_cj^2 + (mu~_j - mu_cj)^2 / sigma_cj^2).
  const Tensor inv_var = (-logvars).exp();  // [K, J]
  const Tensor spread = q.logvar.exp().unsqueeze(1) + (q.mean.unsqueeze(1) - means).square();  // [N, K, J]
  const Tensor expected_nll =
      ((spread * inv_var).sum({2}) + logvars.sum({1}) + static_cast<double>(z.size(1)) * kLog2Pi) * 0.5;
  // -H[q(z | x)] = -1/2 sum_j (1 + log 2 pi + log sigma~_j^2).
  const Tensor negative_entropy = (q.logvar + (1.0 + kLog2Pi)).sum({1}) * -0.5;  // [N]
  VaDELatentTerms terms;
  terms.latent = ((gamma * expected_nll).sum({1}) + negative_entropy).sum() / batch;
  terms.cluster = (gamma * (log_gamma - F::log_softmax(pi_logits, 0))).sum() / batch;
  terms.gamma = gamma;
  return terms;
}

// ---- the model -----------------------------------------------------------------------------------------

VaDE::VaDE(std::vector<std::int64_t> hidden, std::int64_t latent_dim, std::int64_t n_clusters, Shape input_shape)
    : hidden_(std::move(hidden)), latent_dim_(latent_dim), n_clusters_(n_clusters), input_shape_(std::move(input_shape)) {
  CAKE_CHECK(latent_dim > 0, "VaDE: latent_dim must be positive, got ", latent_dim);
  CAKE_CHECK(n_clusters >= 2, "VaDE: needs at least 2 clusters, got ", n_clusters);
  CAKE_CHECK(!input_shape_.empty() && std::all_of(input_shape_.begin(), input_shape_.end(), [](std::int64_t s) { return s > 0; }),
             "VaDE: input_shape must be {C, H, W} or {D} with positive sizes, got ", input_shape_);
  for (std::int64_t h : hidden_) CAKE_CHECK(h > 0, "VaDE: hidden sizes must be positive, got ", h);
  const std::int64_t inputs = shape_numel(input_shape_);

  encoder_ = register_module("encoder", std::make_shared<nn::Sequential>());
  encoder_->push_back(std::make_shared<nn::Flatten>());
  std::int64_t width = networks::append_linear_relu_stack(*encoder_, inputs, hidden_);
  mean_head_ = register_module("fc_mu", std::make_shared<nn::Linear>(width, latent_dim));
  logvar_head_ = register_module("fc_logvar", std::make_shared<nn::Linear>(width, latent_dim));

  decoder_ = register_module("decoder", std::make_shared<nn::Sequential>());
  width = networks::append_linear_relu_stack(*decoder_, latent_dim, {hidden_.rbegin(), hidden_.rend()});
  decoder_->push_back(std::make_shared<nn::Linear>(width, inputs));
  decoder_->push_back(std::make_shared<nn::Unflatten>(1, input_shape_));

  pi_logits_ = register_parameter("pi_logits", zeros({n_clusters}));
  means_ = register_parameter("means", zeros({n_clusters, latent_dim}));
  logvars_ = register_parameter("logvars", zeros({n_clusters, latent_dim}));
}

void VaDE::check_inputs(const Tensor& inputs, const char* who) const {
  bool ok = inputs.dim() == static_cast<std::int64_t>(input_shape_.size()) + 1;
  for (std::size_t d = 0; ok && d < input_shape_.size(); ++d) ok = inputs.size(static_cast<std::int64_t>(d) + 1) == input_shape_[d];
  CAKE_CHECK(ok, who, ": expected inputs [N, ", input_shape_, "] (N then the input shape), got shape ", inputs.sizes());
}

networks::GaussianPosterior VaDE::encode(const Tensor& inputs) {
  check_inputs(inputs, "VaDE::encode");
  const Tensor features = encoder_->forward(inputs);
  return {mean_head_->forward(features), logvar_head_->forward(features)};
}

Tensor VaDE::decode_logits(const Tensor& codes) {
  CAKE_CHECK(codes.dim() == 2 && codes.size(1) == latent_dim_, "VaDE::decode: expected codes [N, ", latent_dim_,
             "], got shape ", codes.sizes());
  return decoder_->forward(codes);
}

Tensor VaDE::decode(const Tensor& codes) { return sigmoid(decode_logits(codes)); }

Tensor VaDE::forward(const Tensor& inputs) { return decode(networks::reparameterize(encode(inputs))); }

Tensor VaDE::weights() const { return F::softmax(pi_logits_, 0); }

Tensor VaDE::variances() const { return logvars_.exp(); }

Tensor VaDE::responsibilities(const Tensor& codes) const {
  return mixture_responsibilities(codes, pi_logits_, means_, logvars_);
}

Tensor VaDE::predict_proba(const Tensor& inputs, std::int64_t batch_size) {
  const bool was_training = is_training();
  eval();
  Tensor gamma = networks::map_batches([&](const Tensor& x) { return responsibilities(encode(x).mean); }, inputs, batch_size);
  train(was_training);
  return gamma;
}

Tensor VaDE::predict(const Tensor& inputs, std::int64_t batch_size) {
  return predict_proba(inputs, batch_size).argmax(1);
}

Tensor VaDE::encode_mean_all(const Tensor& inputs, std::int64_t batch_size) {
  const bool was_training = is_training();
  eval();
  Tensor means = networks::map_batches([&](const Tensor& x) { return encode(x).mean; }, inputs, batch_size);
  train(was_training);
  return means;
}

Tensor VaDE::sample(std::int64_t component, std::int64_t n) {
  CAKE_CHECK(component >= 0 && component < n_clusters_, "VaDE::sample: component ", component, " is not in [0, ",
             n_clusters_, ")");
  CAKE_CHECK(n > 0, "VaDE::sample: the number of samples must be positive, got ", n);
  NoGradGuard no_grad;
  const bool was_training = is_training();
  eval();
  const Tensor eps = randn({n, latent_dim_}, TensorOptions(means_.dtype(), means_.device()));
  const Tensor z = means_.narrow(0, component, 1) + (logvars_.narrow(0, component, 1) * 0.5).exp() * eps;
  Tensor images = decode(z);
  train(was_training);
  return images;
}

void VaDE::load_autoencoder(networks::MLPAutoencoder& autoencoder) {
  CAKE_CHECK(autoencoder.hidden() == hidden_ && autoencoder.latent_dim() == latent_dim_ &&
                 shape_numel(autoencoder.image_shape()) == shape_numel(input_shape_),
             "VaDE::load_autoencoder: the autoencoder (hidden ", Shape(autoencoder.hidden()), ", latent ",
             autoencoder.latent_dim(), ", input ", autoencoder.image_shape(), ") does not match the VaDE (hidden ",
             Shape(hidden_), ", latent ", latent_dim_, ", input ", input_shape_, ")");
  // The autoencoder's parameters in order: the encoder's hidden Linear layers, its code layer,
  // then the decoder's Linear layers (weight and bias each), exactly the layers VaDE has
  // besides the logvar head and the mixture.
  const std::vector<Tensor> source = autoencoder.parameters();
  const std::size_t hidden_params = 2 * hidden_.size();
  std::vector<Tensor> target = encoder_->parameters();
  for (const Tensor& p : mean_head_->parameters()) target.push_back(p);
  for (const Tensor& p : decoder_->parameters()) target.push_back(p);
  CAKE_CHECK(source.size() == target.size() && target.size() == 2 * hidden_params + 4,
             "VaDE::load_autoencoder: expected ", target.size(), " tensors in the autoencoder, got ", source.size());
  NoGradGuard no_grad;
  for (std::size_t i = 0; i < target.size(); ++i) {
    CAKE_CHECK(source[i].sizes() == target[i].sizes(), "VaDE::load_autoencoder: tensor ", i, " has shape ",
               source[i].sizes(), " in the autoencoder and ", target[i].sizes(), " in the VaDE");
    target[i].copy_(source[i]);
  }
}

void VaDE::set_mixture(const Tensor& weights, const Tensor& means, const Tensor& variances) {
  CAKE_CHECK(weights.dim() == 1 && weights.size(0) == n_clusters_, "VaDE::set_mixture: weights must be [", n_clusters_,
             "], got shape ", weights.sizes());
  CAKE_CHECK(means.sizes() == means_.sizes() && variances.sizes() == means_.sizes(), "VaDE::set_mixture: means and ",
             "variances must be ", means_.sizes(), ", got ", means.sizes(), " and ", variances.sizes());
  CAKE_CHECK(weights.min().item<double>() > 0.0 && variances.min().item<double>() > 0.0,
             "VaDE::set_mixture: weights and variances must be positive");
  NoGradGuard no_grad;
  pi_logits_.copy_(weights.to(kFloat64).log());  // softmax(log w) = w / sum w
  means_.copy_(means);
  logvars_.copy_(variances.to(kFloat64).log());
}

// ---- the objective -------------------------------------------------------------------------------------

VaDELoss vade_loss(VaDE& model, const Tensor& inputs, const VaDELossOptions& options) {
  const networks::GaussianPosterior q = model.encode(inputs);
  const Tensor z = networks::reparameterize(q);
  VaDELoss loss;
  loss.reconstruction = networks::reconstruction_nll(model.decode_logits(z), inputs, options.likelihood);
  const VaDELatentTerms terms = vade_latent_terms(q, z, model.pi_logits(), model.means(), model.logvars());
  loss.latent = terms.latent;
  loss.cluster = terms.cluster;
  loss.gamma = terms.gamma;
  loss.total = loss.reconstruction + loss.latent + loss.cluster;
  return loss;
}

// ---- training --------------------------------------------------------------------------------------------

double VaDESchedule::at(std::int64_t epoch) const {
  return train::StepDecay{.lr = lr, .decay = decay, .every = every, .floor = floor}.at(epoch);
}

void attach_schedule(train::Trainer& trainer, optim::Optimizer& optimizer, const VaDESchedule& schedule,
                     std::function<void(std::int64_t epoch)> also) {
  train::attach_lr_schedule(trainer, optimizer, [schedule](std::int64_t epoch) { return schedule.at(epoch); },
                            std::move(also));
}

Tensor initialize_vade(VaDE& model, networks::MLPAutoencoder& autoencoder, const Tensor& fit_on,
                       mixture::GaussianMixture& gmm) {
  CAKE_CHECK(gmm.options().covariance_type == "diag" && gmm.options().n_components == model.n_clusters(),
             "initialize_vade: the GMM must be diagonal with ", model.n_clusters(), " components, got ",
             gmm.options().covariance_type, " with ", gmm.options().n_components);
  const Tensor codes = networks::encode_all(autoencoder, fit_on).cpu();
  const Tensor labels = gmm.fit_predict(codes);
  model.load_autoencoder(autoencoder);
  model.set_mixture(gmm.weights(), gmm.means(), gmm.covariances());
  return labels;
}

VaDEPretrainResult pretrain_vade(VaDE& model, std::shared_ptr<const data::Dataset> train,
                                 std::shared_ptr<const data::Dataset> validation, const Tensor& fit_on,
                                 const VaDEPretrainOptions& options) {
  VaDEPretrainResult result;
  result.autoencoder = std::make_shared<networks::MLPAutoencoder>(model.hidden(), model.latent_dim(), model.input_shape());
  result.gmm = mixture::GaussianMixture({.n_components = model.n_clusters(),
                                         .covariance_type = "diag",
                                         .n_init = options.gmm_n_init,
                                         .random_state = options.seed});
  networks::MLPAutoencoder& autoencoder = *result.autoencoder;
  const Tensor weight = model.parameters().front();
  autoencoder.to(weight.device(), weight.dtype());
  optim::Adam adam(autoencoder.parameters(), {.lr = options.lr});
  train::Trainer trainer(
      autoencoder, adam,
      [&](const data::Batch& batch) { return networks::reconstruction_loss(autoencoder, batch.x.to(weight.device())); },
      options.trainer);
  if (options.on_epoch_end) trainer.on_epoch_end(options.on_epoch_end);
  result.training = trainer.fit(std::move(train), std::move(validation));
  CAKE_CHECK(result.training.stop_reason != train::StopReason::NonFiniteLoss, "pretrain_vade: ", result.training.message);
  result.gmm_labels = initialize_vade(model, autoencoder, fit_on, result.gmm);
  result.codes = networks::encode_all(autoencoder, fit_on);
  return result;
}

}  // namespace cake::deep_clustering
