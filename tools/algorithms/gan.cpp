// gan.cpp: `cake run gan` (Goodfellow et al. 2014) and `cake run infogan` (Chen et al. 2016) on
// 28x28 images, with InfoGAN's networks (algorithms/networks/infogan_nets.h).
//
//   cake run infogan --data fashion-mnist:train --out runs/infogan --seed 0   # scored on the test split too
//   cake run infogan --out runs/infogan --resume                 # continue after Ctrl-C
//   cake run gan --data fashion-mnist:train --set epochs=2
//
// log.jsonl has a row per epoch: L_D, L_G, mean D(x) and D(G(z)), the information term's two
// parts (infogan), the probe samples' spread across noise and across the categorical code, and
// for infogan the clustering scores of Q's argmax (NMI/ACC/ARI, categories used, the largest
// category's share), plus a "warnings" list when collapse shows (generative::collapse_warnings).
// Files: model.safetensors (G and D/Q), labels.npy (infogan: argmax_c Q(c|x)), figures
// samples.png (infogan: a row per value of the categorical code, a column per noise vector;
// gan: a grid of samples), continuous_<j>.png (a row per category, code j swept from -2 to 2
// along the columns), losses.png, d_outputs.png, information.png, scores.png. Everything is
// described in docs/algorithms/infogan.md.
#include <cmath>

#include "cake/algorithms/generative/infogan.h"
#include "cake/nn/checkpoint.h"
#include "cake/tensor/creation.h"
#include "cake/distributed/data_parallel.h"
#include "cake/distributed/sync_batchnorm.h"
#include "tools/algorithms/deep_clustering_runs.h"
#include "tools/algorithms/network_runs.h"
#include "tools/errors.h"
#include "tools/library_defaults.h"

namespace cake::cli::gan_command {
namespace {

using generative::GANEpoch;

nlohmann::json number_or_null(double value) { return std::isfinite(value) ? nlohmann::json(value) : nlohmann::json(nullptr); }

std::vector<ParamSpec> params(bool info) {
  std::vector<ParamSpec> p{
      {"noise", ParamType::Int, info ? library_default(&generative::LatentSpec::noise) : "74",
       "incompressible noise variables z ~ U(-1, 1) (InfoGAN: 62, the gan: all 74 inputs)"},
      {"lr_d", ParamType::Float, library_default(&generative::GANOptions::lr_d), "Adam's learning rate for D (and Q)"},
      {"lr_g", ParamType::Float, library_default(&generative::GANOptions::lr_g), "Adam's learning rate for G"},
      {"beta1", ParamType::Float, library_default(&generative::GANOptions::beta1), "Adam's beta1 for both (DCGAN's 0.5)"},
      {"width", ParamType::Int, library_default(&cake::networks::GANDiscriminatorOptions::width),
       "channels of D's first conv and G's last upconv (the others have twice as many); Table 1: 64"},
      {"hidden", ParamType::Int, library_default(&cake::networks::GANDiscriminatorOptions::hidden),
       "width of the FC layer after the convolutions in D and the first FC layer of G; Table 1: 1024"},
      {"epochs", ParamType::Int, "5",
       "passes over the images (on Fashion-MNIST's 60000 training images: 2345 updates of 128; the scores "
       "settle by then, docs/algorithms/infogan.md)"},
      {"batch_size", ParamType::Int, "128", "images per mini-batch (one D step and one G step each)"},
      {"resume", ParamType::String, "",
       "start from this checkpoint.safetensors of another run; to continue a run in its own folder exactly, use "
       "--out RUN --resume instead"},
      cli::networks::sync_bn_param()};
  if (info) {
    p.push_back({"categories", ParamType::Int, library_default(&generative::LatentSpec::categories),
                 "values of the categorical code (= clusters)"});
    p.push_back({"continuous", ParamType::Int, library_default(&generative::LatentSpec::continuous),
                 "continuous codes c ~ U(-1, 1)"});
    p.push_back({"lambda_categorical", ParamType::Float, library_default(&generative::InfoGANOptions::lambda_categorical),
                 "weight of the categorical code's information term (the paper's 1)"});
    p.push_back({"lambda_continuous", ParamType::Float, library_default(&generative::InfoGANOptions::lambda_continuous),
                 "weight of the continuous codes' information term (the authors' MNIST code: 1)"});
    p.push_back({"learn_std", ParamType::Bool, "false",
                 "Q also outputs the log standard deviation of each continuous code (else it is fixed at 1)"});
  }
  return p;
}

nlohmann::json epoch_row(const GANEpoch& e, const generative::LatentSpec& spec, double collapse_spread) {
  nlohmann::json row = {{"epoch", e.epoch},
                        {"d_loss", e.d_loss},
                        {"g_loss", e.g_loss},
                        {"d_real", e.d_real},
                        {"d_fake", e.d_fake},
                        {"info_categorical", number_or_null(e.info_categorical)},
                        {"info_continuous", number_or_null(e.info_continuous)},
                        {"noise_spread", e.noise_spread},
                        {"code_spread", number_or_null(e.code_spread)},
                        {"nmi", number_or_null(e.nmi)},
                        {"acc", number_or_null(e.acc)},
                        {"ari", number_or_null(e.ari)},
                        {"clusters_used", e.clusters_used},
                        {"largest_cluster", number_or_null(e.largest_cluster)},
                        {"seconds", e.seconds}};
  const std::vector<std::string> warnings = generative::collapse_warnings(e, spec, collapse_spread);
  if (!warnings.empty()) row["warnings"] = warnings;
  return row;
}

// The figures of the paper's Figure 2: rows = the categorical code's values, columns = noise
// (samples.png), and for each continuous code a row per category with the code swept from -2 to
// 2 (continuous_<j>.png; the prior covers [-1, 1], so the ends extrapolate as the paper's do).
void save_sample_figures(RunContext& ctx, generative::GAN& gan, std::uint64_t seed) {
  const generative::LatentSpec& spec = gan.spec();
  const std::int64_t columns = 10;
  if (spec.categories == 0) {
    ctx.save_image_grid("samples.png", gan.sample(100, seed), columns);
    return;
  }
  const std::int64_t k = spec.categories;
  const generative::Latent base = generative::sample_latent(spec, columns, seed);
  std::vector<std::int64_t> noise_row, code;
  for (std::int64_t r = 0; r < k * columns; ++r) {
    noise_row.push_back(r % columns);
    code.push_back(r / columns);
  }
  const Tensor noise = base.noise.index_select(0, tensor(noise_row));
  const Tensor category = tensor(code);
  const Tensor zero_codes = spec.continuous > 0 ? zeros({k * columns, spec.continuous}) : Tensor();
  ctx.save_image_grid("samples.png", gan.generate(generative::make_latent(spec, noise, category, zero_codes)), columns);
  for (std::int64_t j = 0; j < spec.continuous; ++j) {
    // One noise vector for the whole figure, so only the category (rows) and code j (columns) change.
    const Tensor one_noise = base.noise.narrow(0, 0, 1).index_select(0, zeros({k * columns}, kInt64));
    Tensor swept = zeros({k * columns, spec.continuous});
    float* s = swept.data_ptr<float>();
    for (std::int64_t r = 0; r < k * columns; ++r)
      s[r * spec.continuous + j] = static_cast<float>(-2.0 + 4.0 * static_cast<double>(r % columns) / (columns - 1));
    ctx.save_image_grid("continuous_" + std::to_string(j + 1) + ".png",
                        gan.generate(generative::make_latent(spec, one_noise, category, swept)), columns);
  }
}

void run(RunContext& ctx, bool info) {
  const Tensor images = deep_runs::run_images(ctx);
  const Shape& shape = *ctx.image_shape;
  if (shape[1] != 28 || shape[2] != 28)
    throw UsageError(ctx.algorithm + ": the networks of InfoGAN's Table 1 take 28x28 images, got " +
                     std::to_string(shape[1]) + "x" + std::to_string(shape[2]));
  const std::int64_t noise = ctx.params.get_int("noise");
  const std::int64_t categories = info ? ctx.params.get_int("categories") : 0;
  const std::int64_t continuous = info ? ctx.params.get_int("continuous") : 0;
  if (ctx.params.get_int("width") < 1 || ctx.params.get_int("hidden") < 1)
    throw UsageError(ctx.algorithm + ": width and hidden must be at least 1");
  if (noise < 0 || categories < 0 || continuous < 0 || categories == 1 || noise + categories + continuous == 0)
    throw UsageError(ctx.algorithm + ": noise, categories and continuous must be >= 0 (categories not 1, not all 0)");
  auto g = std::make_shared<cake::networks::GANGenerator>(cake::networks::GANGeneratorOptions{
      .noise = noise,
      .categories = categories,
      .continuous = continuous,
      .hidden = ctx.params.get_int("hidden"),
      .width = ctx.params.get_int("width"),
      .channels = shape[0]});
  auto d = std::make_shared<cake::networks::GANDiscriminator>(cake::networks::GANDiscriminatorOptions{
      .categories = categories,
      .continuous = continuous,
      .learn_std = info && ctx.params.get_bool("learn_std"),
      .hidden = ctx.params.get_int("hidden"),
      .width = ctx.params.get_int("width"),
      .channels = shape[0]});
  g->to(ctx.device);
  d->to(ctx.device);
  generative::GANOptions options{
      .lr_d = ctx.params.get_float("lr_d"), .lr_g = ctx.params.get_float("lr_g"), .beta1 = ctx.params.get_float("beta1")};
  // Under mpirun: G trains data-parallel through the Trainer (its DDP, the distributed sampler
  // of the real images), D through a DDP of its own, all-reduced between the D step's backward
  // and D's Adam step; each rank generates its rows of the whole batch's latents.
  train::TrainerOptions trainer = deep_runs::trainer_options(ctx);
  if (ctx.params.get_bool("sync_bn") && distributed::default_group().world_size() > 1)
    distributed::convert_sync_batchnorm(*d, distributed::default_group());  // G's: data_parallel converts it
  const auto ddp_g = cli::networks::data_parallel(ctx, *g, trainer, images.size(0));
  std::unique_ptr<distributed::DistributedDataParallel> ddp_d;
  if (ddp_g) {
    ddp_d = std::make_unique<distributed::DistributedDataParallel>(*d, ddp_g->group());
    options.rank = ddp_g->group().rank();
    options.ranks = ddp_g->group().world_size();
    options.after_d_backward = [&ddp_d] { ddp_d->synchronize_gradients(); };
  }
  std::unique_ptr<generative::GAN> gan;
  generative::InfoGAN* infogan = nullptr;
  if (info) {
    auto model = std::make_unique<generative::InfoGAN>(
        g, d, options,
        generative::InfoGANOptions{.lambda_categorical = ctx.params.get_float("lambda_categorical"),
                                   .lambda_continuous = ctx.params.get_float("lambda_continuous")},
        trainer);
    infogan = model.get();
    gan = std::move(model);
  } else {
    gan = std::make_unique<generative::GAN>(g, d, options, trainer);
  }

  ctx.progress->start("epoch", ctx.params.get_int("epochs"));
  gan->on_epoch_end([&](const GANEpoch& e) {
    ctx.log(epoch_row(e, gan->spec(), options.collapse_spread));
    std::vector<std::pair<std::string, double>> shown{{"D(x)", e.d_real}, {"D(G(z))", e.d_fake}};
    if (std::isfinite(e.info_categorical)) shown.emplace_back("L_I cat", e.info_categorical);
    if (std::isfinite(e.acc)) shown.emplace_back("acc", e.acc);
    deep_runs::epoch_done(ctx, e.epoch, shown, [&](const std::string& path) { gan->set_checkpoint_path(path); });
  });
  const train::TrainResult result = gan->fit(images, ctx.labels);
  if (result.resumed_from_epoch > 0)
    for (const GANEpoch& e : gan->history())
      if (e.epoch <= result.resumed_from_epoch) {
        nlohmann::json row = epoch_row(e, gan->spec(), options.collapse_spread);
        row["from_checkpoint"] = true;
        ctx.log(row);
      }
  deep_runs::finish_training(ctx, result);
  save(*g, ctx.path("generator.safetensors").string());
  save(*d, ctx.path("discriminator.safetensors").string());

  // Curves over the epochs: the balance of the game and the information term.
  std::vector<double> d_loss, g_loss, d_real, d_fake, info_cat, info_cont, nmi, acc, noise_spread, code_spread;
  for (const GANEpoch& e : gan->history()) {
    d_loss.push_back(e.d_loss);
    g_loss.push_back(e.g_loss);
    d_real.push_back(e.d_real);
    d_fake.push_back(e.d_fake);
    info_cat.push_back(e.info_categorical);
    info_cont.push_back(e.info_continuous);
    nmi.push_back(e.nmi);
    acc.push_back(e.acc);
    noise_spread.push_back(e.noise_spread);
    code_spread.push_back(e.code_spread);
  }
  ctx.save_curve("losses.png", ctx.algorithm + ": L_D and L_G per epoch", {{"L_D", d_loss}, {"L_G", g_loss}}, "epoch");
  ctx.save_curve("d_outputs.png", ctx.algorithm + ": mean D(x) and D(G(z)) per epoch",
                 {{"D(x)", d_real}, {"D(G(z))", d_fake}}, "epoch");
  if (info) {
    ctx.save_curve("information.png", "infogan: the information term L_I per epoch (categorical bound: log K)",
                   {{"L_I categorical", info_cat}, {"L_I continuous", info_cont}}, "epoch");
    ctx.save_curve("spread.png", "infogan: per-pixel spread of the probe samples",
                   {{"across noise", noise_spread}, {"across the categorical code", code_spread}}, "epoch");
    if (ctx.labels.defined())
      ctx.save_curve("scores.png", "infogan: argmax Q(c|x) against the classes", {{"NMI", nmi}, {"ACC", acc}}, "epoch");
  }
  save_sample_figures(ctx, *gan, ctx.seed);

  if (!gan->history().empty()) {
    const GANEpoch& last = gan->history().back();
    ctx.metrics["d_real"] = last.d_real;
    ctx.metrics["d_fake"] = last.d_fake;
    ctx.metrics["noise_spread"] = last.noise_spread;
    ctx.metrics["warnings"] = generative::collapse_warnings(last, gan->spec(), options.collapse_spread);
    if (info) {
      ctx.metrics["info_categorical"] = number_or_null(last.info_categorical);
      ctx.metrics["code_spread"] = number_or_null(last.code_spread);
    }
  }
  if (infogan && categories > 0) {
    const Tensor clusters = infogan->predict(images);
    ctx.save_labels(clusters);  // nmi/ari/acc against the labels
    if (ctx.test_data.defined()) {
      Shape test_shape{ctx.test_data.size(0)};
      test_shape.insert(test_shape.end(), shape.begin(), shape.end());
      const Tensor test_clusters = infogan->predict(ctx.test_data.reshape(test_shape));
      if (ctx.test_labels.defined()) deep_runs::test_split_scores(ctx, test_clusters);
    }
  }
}

CAKE_REGISTER_ALGORITHM({
    .name = "gan",
    .summary = "generative adversarial network with InfoGAN's convolutional G and D (no latent codes)",
    .reference = "Goodfellow et al. 2014 (NIPS), 'Generative Adversarial Nets', eq. 1 and Algorithm 1",
    .params = params(false),
    .run = [](RunContext& ctx) { run(ctx, false); },
    .example = "cake run gan --data fashion-mnist:test:1000 --set epochs=1",
    .multi_rank = MultiRank::DataParallel,
});

CAKE_REGISTER_ALGORITHM({
    .name = "infogan",
    .summary = "InfoGAN: a GAN with a categorical and continuous latent codes made legible by Q; clusters by Q's argmax",
    .reference = "Chen, Duan, Houthooft, Schulman, Sutskever & Abbeel 2016 (NIPS), 'InfoGAN', eq. 6, Appendix C.1",
    .params = params(true),
    .run = [](RunContext& ctx) { run(ctx, true); },
    .example = "cake run infogan --data fashion-mnist:test:1000 --set epochs=1",
    .multi_rank = MultiRank::DataParallel,
});

}  // namespace
}  // namespace cake::cli::gan_command
