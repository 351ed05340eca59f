// gan.cpp: the GAN losses, the latent draws and the alternating training loop (gan.h).
#include "cake/algorithms/generative/gan.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <sstream>

#include "cake/algorithms/train/history_table.h"
#include "cake/algorithms/train/running_fit.h"
#include "cake/autograd/grad_mode.h"
#include "cake/autograd/ops.h"
#include "cake/data/dataloader.h"
#include "cake/nn/functional.h"
#include "cake/optim/adam.h"
#include "cake/tensor/creation.h"
#include "cake/tensor/random.h"

namespace cake::generative {

namespace F = nn::functional;

namespace {

constexpr std::size_t kHistoryColumns = 16;

// The Trainer trains one module: this one holds G and D, so one checkpoint has both (with
// their batch-norm statistics).
class GANPair : public nn::Module {
 public:
  GANPair(std::shared_ptr<networks::GANGenerator> g, std::shared_ptr<networks::GANDiscriminator> d) {
    register_module("generator", std::move(g));
    register_module("discriminator", std::move(d));
  }
  std::string name() const override { return "GANPair"; }
};

// D is held fixed during the G step by switching its parameters' requires_grad off: the G
// step's backward then computes no gradient for D's weights at all (only through D, to G).
void set_trainable(const std::vector<Tensor>& params, bool on) {
  for (const Tensor& p : params) const_cast<Tensor&>(p).requires_grad_(on);
}

// An optimiser's state_dict in the Trainer's state slot: its tensors, and its metadata as text
// entries, with the lists of names so that they can be read back.
std::string join_lines(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& line : lines) out += line + "\n";
  return out;
}
std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}
void save_optimizer(const optim::Optimizer& optimizer, const std::string& prefix, train::StateWriter& out) {
  const SafetensorsFile state = optimizer.state_dict();
  std::vector<std::string> tensor_names, metadata_names;
  for (const auto& [name, value] : state.tensors) {
    tensor_names.push_back(name);
    out.tensor(prefix + ".t." + name, value);
  }
  for (const auto& [name, value] : state.metadata) {
    metadata_names.push_back(name);
    out.text(prefix + ".m." + name, value);
  }
  out.text(prefix + ".tensors", join_lines(tensor_names));
  out.text(prefix + ".metadata", join_lines(metadata_names));
}
void load_optimizer(optim::Optimizer& optimizer, const std::string& prefix, const train::StateReader& in) {
  SafetensorsFile state;
  for (const std::string& name : split_lines(in.text(prefix + ".tensors")))
    state.tensors[name] = in.tensor(prefix + ".t." + name);
  for (const std::string& name : split_lines(in.text(prefix + ".metadata")))
    state.metadata[name] = in.text(prefix + ".m." + name);
  optimizer.load_state_dict(state, "the checkpoint's state " + prefix);
}

// Mean over images of the per-pixel standard deviation across dim 1 of images [A, B, P].
double mean_spread(const Tensor& grouped) {
  if (grouped.size(1) < 2) return 0.0;
  return grouped.std({1}).mean().item<double>();
}

}  // namespace

// ---- latents and losses ---------------------------------------------------------------------------

Latent make_latent(const LatentSpec& spec, Tensor noise, Tensor category, Tensor continuous) {
  CAKE_CHECK(noise.defined() && noise.dim() == 2 && noise.size(1) == spec.noise, "make_latent: expected noise [N, ",
             spec.noise, "], got ", noise.defined() ? shape_str(noise.sizes()) : "an undefined tensor");
  const std::int64_t n = noise.size(0);
  std::vector<Tensor> parts{noise.to(kFloat32)};
  if (spec.categories > 0) {
    CAKE_CHECK(category.defined() && category.dim() == 1 && category.size(0) == n,
               "make_latent: expected categories [", n, "], got ",
               category.defined() ? shape_str(category.sizes()) : "an undefined tensor");
    parts.push_back(F::one_hot(category.to(kInt64), spec.categories).to(kFloat32));
  }
  if (spec.continuous > 0) {
    CAKE_CHECK(continuous.defined() && continuous.dim() == 2 && continuous.size(0) == n &&
                   continuous.size(1) == spec.continuous,
               "make_latent: expected continuous codes [", n, ", ", spec.continuous, "], got ",
               continuous.defined() ? shape_str(continuous.sizes()) : "an undefined tensor");
    parts.push_back(continuous.to(kFloat32));
  }
  Latent z{.noise = std::move(noise), .category = std::move(category), .continuous = std::move(continuous), .input = {}};
  z.input = cat(parts, 1);
  return z;
}

Latent sample_latent(const LatentSpec& spec, std::int64_t n, Device device) {
  CAKE_CHECK(n > 0, "sample_latent: n must be positive, got ", n);
  const TensorOptions on{kFloat32, device};
  Tensor noise = rand({n, spec.noise}, on) * 2.0 - 1.0;
  Tensor category = spec.categories > 0 ? randint(0, spec.categories, {n}, {kInt64, device}) : Tensor();
  Tensor continuous = spec.continuous > 0 ? rand({n, spec.continuous}, on) * 2.0 - 1.0 : Tensor();
  return make_latent(spec, std::move(noise), std::move(category), std::move(continuous));
}

Latent latent_rows(const Latent& z, std::int64_t begin, std::int64_t n) {
  CAKE_CHECK(begin >= 0 && n >= 1 && begin + n <= z.input.size(0), "latent_rows: rows ", begin, "..", begin + n - 1,
             " of a latent batch of ", z.input.size(0));
  const auto rows = [&](const Tensor& t) { return t.defined() ? t.narrow(0, begin, n).contiguous() : Tensor(); };
  return {.noise = rows(z.noise), .category = rows(z.category), .continuous = rows(z.continuous), .input = rows(z.input)};
}

Latent sample_latent(const LatentSpec& spec, std::int64_t n, std::uint64_t seed, Device device) {
  const GeneratorState saved = get_rng_state();
  manual_seed(seed);
  Latent z = sample_latent(spec, n, device);
  set_rng_state(saved);
  return z;
}

Tensor discriminator_loss(const Tensor& real_logit, const Tensor& fake_logit) {
  CAKE_CHECK(real_logit.defined() && fake_logit.defined() && real_logit.dim() == 1 && fake_logit.dim() == 1,
             "discriminator_loss: expected logits [N] and [M]");
  return F::softplus(-real_logit).mean() + F::softplus(fake_logit).mean();
}

Tensor generator_loss(const Tensor& fake_logit) {
  CAKE_CHECK(fake_logit.defined() && fake_logit.dim() == 1, "generator_loss: expected logits [N]");
  return F::softplus(-fake_logit).mean();
}

std::vector<std::string> collapse_warnings(const GANEpoch& e, const LatentSpec& spec, double collapse_spread) {
  std::vector<std::string> out;
  std::ostringstream s;
  if (e.noise_spread < collapse_spread) {
    s << "mode collapse: samples with different noise differ by " << e.noise_spread << " per pixel (below "
      << collapse_spread << ")";
    out.push_back(s.str());
    s.str("");
  }
  if (spec.categories > 0 && std::isfinite(e.code_spread) && e.code_spread < collapse_spread) {
    s << "the categorical code is ignored: its values change the samples by " << e.code_spread << " per pixel";
    out.push_back(s.str());
    s.str("");
  }
  if (spec.categories > 0 && e.clusters_used > 0 && 2 * e.clusters_used < spec.categories) {
    s << "Q's argmax uses only " << e.clusters_used << " of " << spec.categories << " categories";
    out.push_back(s.str());
    s.str("");
  }
  if (spec.categories > 0 && std::isfinite(e.largest_cluster) && e.largest_cluster > 0.5) {
    s << "one category holds " << e.largest_cluster << " of the images";
    out.push_back(s.str());
    s.str("");
  }
  if (e.d_real > 0.99 && e.d_fake < 0.01) out.push_back("D wins outright (D(x) > 0.99, D(G(z)) < 0.01): G's gradients fade");
  return out;
}

// ---- history ---------------------------------------------------------------------------------------

namespace {

std::array<double, kHistoryColumns> gan_row(const GANEpoch& e) {
  return {static_cast<double>(e.epoch), e.d_loss, e.g_loss, e.d_real, e.d_fake, e.info_categorical,
          e.info_continuous, e.noise_spread, e.code_spread, e.nmi, e.acc, e.ari,
          static_cast<double>(e.clusters_used), e.largest_cluster, e.seconds, 0.0};
}

GANEpoch gan_record(const std::array<double, kHistoryColumns>& v) {
  return {.epoch = static_cast<std::int64_t>(v[0]),
          .d_loss = v[1],
          .g_loss = v[2],
          .d_real = v[3],
          .d_fake = v[4],
          .info_categorical = v[5],
          .info_continuous = v[6],
          .noise_spread = v[7],
          .code_spread = v[8],
          .nmi = v[9],
          .acc = v[10],
          .ari = v[11],
          .clusters_used = static_cast<std::int64_t>(v[12]),
          .largest_cluster = v[13],
          .seconds = v[14]};
}

}  // namespace

Tensor gan_history_tensor(const std::vector<GANEpoch>& history) { return train::history_to_table(history, gan_row); }

std::vector<GANEpoch> gan_history_from(const Tensor& table) {
  return train::history_from_table(table, "GAN", gan_record);
}

// ---- the algorithm ----------------------------------------------------------------------------------

GAN::GAN(std::shared_ptr<networks::GANGenerator> generator, std::shared_ptr<networks::GANDiscriminator> discriminator,
         GANOptions options, train::TrainerOptions trainer)
    : generator_(std::move(generator)),
      discriminator_(std::move(discriminator)),
      options_(options),
      trainer_options_(std::move(trainer)) {
  CAKE_CHECK(generator_ && discriminator_, "GAN: the generator and the discriminator must not be null");
  const networks::GANGeneratorOptions& g = generator_->options();
  const networks::GANDiscriminatorOptions& d = discriminator_->options();
  CAKE_CHECK(g.categories == d.categories && g.continuous == d.continuous, "GAN: G takes ", g.categories,
             " categories and ", g.continuous, " continuous codes but Q outputs ", d.categories, " and ", d.continuous);
  CAKE_CHECK(g.channels == d.channels, "GAN: G makes ", g.channels, "-channel images but D reads ", d.channels);
  CAKE_CHECK(options_.lr_d > 0.0 && options_.lr_g > 0.0, "GAN: the learning rates must be positive, got lr_d ",
             options_.lr_d, " and lr_g ", options_.lr_g);
  CAKE_CHECK(options_.probe_noise >= 2, "GAN: probe_noise must be at least 2, got ", options_.probe_noise);
  spec_ = {.noise = g.noise, .categories = g.categories, .continuous = g.continuous};
}

Device GAN::device() const { return discriminator_->parameters().front().device(); }

GeneratedTerm GAN::generated_term(const Latent&, const networks::DiscriminatorOutput&) { return {}; }

void GAN::score_epoch(GANEpoch&, const Tensor&, const Tensor&) {}

Tensor GAN::generate(const Latent& latent) {
  const bool was_training = generator_->is_training();
  generator_->eval();
  NoGradGuard no_grad;
  std::vector<Tensor> parts;
  const std::int64_t n = latent.input.size(0), step = std::max<std::int64_t>(options_.eval_batch_size, 1);
  for (std::int64_t start = 0; start < n; start += step)
    parts.push_back(generator_->forward(latent.input.narrow(0, start, std::min(step, n - start)).to(device())).cpu());
  generator_->train(was_training);
  return cat(parts, 0);
}

Tensor GAN::sample(std::int64_t n, std::uint64_t seed) { return generate(sample_latent(spec_, n, seed)); }

void GAN::set_checkpoint_path(std::string path) {
  trainer_options_.checkpoint_path = path;
  if (active_trainer_) active_trainer_->set_checkpoint_path(std::move(path));
}

// The probe set: probe_noise noise vectors, each with every value of the categorical code (the
// continuous codes at 0). noise_spread: how much the images change with the noise for a fixed
// code; code_spread: how much they change with the code for a fixed noise.
void GAN::measure_probe(GANEpoch& epoch) {
  const std::int64_t m = options_.probe_noise, k = std::max<std::int64_t>(spec_.categories, 1);
  const Latent base = sample_latent(spec_, m, options_.probe_seed);
  // Row r = noise (r / k) with category (r % k).
  std::vector<std::int64_t> which_noise, which_code;
  for (std::int64_t r = 0; r < m * k; ++r) {
    which_noise.push_back(r / k);
    which_code.push_back(r % k);
  }
  const Tensor noise = base.noise.index_select(0, tensor(which_noise));
  const Tensor category = spec_.categories > 0 ? tensor(which_code) : Tensor();
  const Tensor continuous = spec_.continuous > 0 ? zeros({m * k, spec_.continuous}) : Tensor();
  const Tensor images = generate(make_latent(spec_, noise, category, continuous)).reshape({m, k, -1});
  epoch.noise_spread = mean_spread(images.transpose(0, 1));  // [k, m, P]: across noise
  if (spec_.categories > 0) epoch.code_spread = mean_spread(images);  // [m, k, P]: across codes
}

train::TrainResult GAN::fit(const Tensor& images, const Tensor& labels) {
  CAKE_CHECK(images.defined() && images.dim() == 4, "GAN::fit: expected images [N, C, 28, 28], got ",
             images.defined() ? shape_str(images.sizes()) : "an undefined tensor");
  const std::int64_t n = images.size(0);
  CAKE_CHECK(!labels.defined() || (labels.dim() == 1 && labels.size(0) == n), "GAN::fit: ", n,
             " images but labels of shape ", labels.sizes());
  CAKE_CHECK(trainer_options_.batch_size >= 2 && n % trainer_options_.batch_size != 1,
             "GAN::fit: batch normalisation needs at least 2 images in every batch, but ", n,
             " images in batches of ", trainer_options_.batch_size, " leave a batch of 1");
  const Device dev = device();
  const Tensor truth = labels.defined() ? labels.to(kCPU, kInt64).contiguous() : Tensor();
  const Tensor scored = images.narrow(0, 0, std::min(n, options_.eval_samples));
  const Tensor scored_truth = truth.defined() ? truth.narrow(0, 0, scored.size(0)) : Tensor();

  auto pair = std::make_shared<GANPair>(generator_, discriminator_);
  const optim::AdamOptions adam{.lr = options_.lr_g, .betas = {options_.beta1, options_.beta2}};
  optim::Adam adam_g(generator_->parameters(), adam);
  optim::AdamOptions adam_d_options = adam;
  adam_d_options.lr = options_.lr_d;
  optim::Adam adam_d(discriminator_->parameters(), adam_d_options);
  const std::vector<Tensor> d_params = discriminator_->parameters();
  // D's parameters are frozen only inside a G step; whatever happens, fit leaves them trainable.
  struct Unfreeze {
    const std::vector<Tensor>& params;
    ~Unfreeze() { set_trainable(params, true); }
  } unfreeze{d_params};

  GANEpoch current;
  std::int64_t batches = 0;
  double d_loss_sum = 0.0, g_loss_sum = 0.0, d_real_sum = 0.0, d_fake_sum = 0.0, cat_sum = 0.0, cont_sum = 0.0;
  std::chrono::steady_clock::time_point started;

  // This rank's latents: its rows of the whole batch's draw (one process: all of them).
  const auto draw_latent = [&](std::int64_t m) {
    if (options_.ranks == 1) return sample_latent(spec_, m, dev);
    return latent_rows(sample_latent(spec_, m * options_.ranks, dev), options_.rank * m, m);
  };
  const train::BatchLoss loss = [&](const data::Batch& batch) {
    const Tensor real = batch.x.to(dev);
    const std::int64_t m = real.size(0);
    // D step (Goodfellow et al. 2014, Algorithm 1): G fixed, so its images carry no graph.
    set_trainable(d_params, true);
    adam_d.zero_grad();
    const Latent z_d = draw_latent(m);
    Tensor fake;
    {
      NoGradGuard no_grad;
      fake = generator_->forward(z_d.input);
    }
    const networks::DiscriminatorOutput on_real = discriminator_->run(real);
    const networks::DiscriminatorOutput on_fake = discriminator_->run(fake);
    Tensor d_total = discriminator_loss(on_real.logit, on_fake.logit);
    const double d_loss = d_total.item<double>();
    const GeneratedTerm d_term = generated_term(z_d, on_fake);
    if (d_term.loss.defined()) d_total = d_total + d_term.loss;
    // A non-finite D loss stops the run through the Trainer's guard (it sees this NaN); on
    // several ranks every rank sees the mean, so all stop at the same batch.
    const double d_value = trainer_options_.reduce_loss ? trainer_options_.reduce_loss(d_total.item<double>())
                                                        : d_total.item<double>();
    if (!std::isfinite(d_value)) return full({}, d_value);
    d_total.backward();
    if (options_.after_d_backward) options_.after_d_backward();
    adam_d.step();
    {
      NoGradGuard no_grad;
      d_real_sum += on_real.logit.sigmoid().mean().item<double>();
      d_fake_sum += on_fake.logit.sigmoid().mean().item<double>();
    }
    d_loss_sum += d_loss;
    // G step: D (and Q, which shares its trunk) fixed; the Trainer runs backward and G's Adam.
    set_trainable(d_params, false);
    const Latent z_g = draw_latent(m);
    const networks::DiscriminatorOutput on_generated = discriminator_->run(generator_->forward(z_g.input));
    Tensor g_total = generator_loss(on_generated.logit);
    g_loss_sum += g_total.item<double>();
    const GeneratedTerm g_term = generated_term(z_g, on_generated);
    if (g_term.loss.defined()) g_total = g_total + g_term.loss;
    cat_sum += g_term.categorical;
    cont_sum += g_term.continuous;
    ++batches;
    return g_total;
  };

  train::TrainerOptions trainer_options = trainer_options_;
  trainer_options.patience = 0;
  trainer_options.restore_best = false;
  train::Trainer trainer(*pair, adam_g, loss, trainer_options);
  trainer.add_state(
      "gan",
      [&](train::StateWriter& out) {
        save_optimizer(adam_d, "adam_d", out);
        out.tensor("history", gan_history_tensor(history_));
      },
      [&](const train::StateReader& in) {
        load_optimizer(adam_d, "adam_d", in);
        history_ = gan_history_from(in.tensor("history"));
      });
  trainer.on_epoch_begin([&](std::int64_t epoch) {
    current = GANEpoch{.epoch = epoch};
    batches = 0;
    d_loss_sum = g_loss_sum = d_real_sum = d_fake_sum = cat_sum = cont_sum = 0.0;
    started = std::chrono::steady_clock::now();
  });
  trainer.on_batch_end([&](std::int64_t batch, std::int64_t num_batches, double) {
    if (batch != num_batches) return;
    // The epoch's record, complete before the Trainer writes its checkpoint.
    set_trainable(d_params, true);
    const double b = static_cast<double>(std::max<std::int64_t>(batches, 1));
    // On several ranks, the mean over the ranks' parts (the same number of batches on each).
    const auto whole_batch = [&](double sum) {
      return trainer_options_.reduce_loss ? trainer_options_.reduce_loss(sum / b) : sum / b;
    };
    current.d_loss = whole_batch(d_loss_sum);
    current.g_loss = whole_batch(g_loss_sum);
    current.d_real = whole_batch(d_real_sum);
    current.d_fake = whole_batch(d_fake_sum);
    current.info_categorical = whole_batch(cat_sum);
    current.info_continuous = whole_batch(cont_sum);
    measure_probe(current);
    score_epoch(current, scored, scored_truth);
    current.seconds = train::seconds_since(started);
    history_.push_back(current);
  });
  train::report_epochs(trainer, on_epoch_end_, history_);
  const train::RunningTrainer running(active_trainer_, trainer);
  return trainer.fit(std::make_shared<const data::TensorDataset>(images.detach().to(kCPU, kFloat32).contiguous()));
}

}  // namespace cake::generative
