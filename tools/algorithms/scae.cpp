// scae.cpp: `cake run scae`, the Stacked Capsule Autoencoder (Kosiorek, Sabour, Teh & Hinton
// 2019) trained on images, then unsupervised classification from its object capsules.
//
//   cake run scae --data fashion-mnist:train --out runs/scae --set epochs=10
//   cake run scae --data mnist:train --set n_part_caps=30 n_obj_caps=16    # the poster's ablation
//   cake run scae --out runs/scae --resume                                  # continue after Ctrl-C
//   cake run scae --data mnist:train --set ablation=true     # 30/16, 40/32, 60/40 part/object capsules
//   cake run scae --data mnist:train --set canvas=40         # the released run's random placement
//
// Training lowers -log p(image) - log p(parts) plus the sparsity terms (algorithms/capsules/
// scae.h). Afterwards every image's object presences [N, K] (no noise) are clustered by k-means
// with n_clusters: labels.npy with nmi/acc/ari (the paper's unsupervised classification,
// section 3.2); a logistic-regression probe on the presences scores probe_accuracy (on the test
// split when the data set has one). The same for the posterior presences (the share of the parts
// each object explains, which the released evaluation clusters too): posterior_* metrics and
// posterior_presences.npy. lr_decay < 1 lowers the learning rate every decay_every epochs.
// log.jsonl has a row per epoch (loss, log-likelihoods, sparsity terms, mean presence); figures: templates.png (the learned templates),
// reconstructions.png (image, reconstruction, and the 8 most present parts' transformed
// templates), loss_curve.png, presences.png (the presences' first two principal components),
// tsne.png (a t-SNE of the presences of up to 2000 images).
// With ablation=true the poster's three configurations (part/object capsules 30/16, 40/32,
// 60/40) are trained one after the other with the same settings and seed (no checkpoints):
// a log row and metrics per configuration, and ablation.png.
#include <algorithm>
#include <cmath>

#include "cake/algorithms/capsules/scae.h"
#include "cake/algorithms/cluster/kmeans.h"
#include "cake/algorithms/manifold/tsne.h"
#include "cake/autograd/grad_mode.h"
#include "cake/autograd/nn_ops.h"
#include "cake/autograd/ops.h"
#include "cake/distributed/data_parallel.h"
#include "cake/nn/checkpoint.h"
#include "cake/nn/functional.h"
#include "cake/tensor/random.h"
#include "cake/algorithms/train/linear_probe.h"
#include "tools/algorithms/deep_clustering_runs.h"
#include "tools/algorithms/network_runs.h"
#include "tools/errors.h"
#include "tools/output.h"
#include "tools/figures.h"

namespace cake::cli::scae_command {
namespace {

std::vector<ParamSpec> params() {
  std::vector<ParamSpec> p{
      {"n_part_caps", ParamType::Int, "40", "part capsules M (the released MNIST run: 40)"},
      {"n_obj_caps", ParamType::Int, "32", "object capsules K (the released MNIST run: 32)"},
      {"template_size", ParamType::Int, "11", "side of the learned templates"},
      {"encoder_width", ParamType::Int, "128", "channels of the part encoder's 4 conv layers"},
      {"position_bias", ParamType::Bool, "true",
       "a learned bias per position and channel on the part encoder's feature map, as the released code "
       "(false: without it, the network of runs started before 5 December 2026, which resume so)",
       {},
       "false"},
      {"part_mixture", ParamType::String, "normalised",
       "the part likelihood's mixing weights a_k a_kn: normalised over the objects' candidates as the paper's eq. 7, "
       "or released: the raw weights, as the released code computes it (docs/algorithms/scae.md)",
       {"normalised", "released"}},
      {"n_clusters", ParamType::Int, "10", "k of the k-means on object presences"},
      {"eval_batch_size", ParamType::Int, "256", "images per batch when computing presences"},
      {"canvas", ParamType::Int, "0",
       "train on each image placed at a random position on a black canvas x canvas canvas, drawn anew every step "
       "(the released MNIST run: 40 for 28x28 digits); presences and figures use the image in the canvas's middle. "
       "0: the images as they are"},
      {"canvas_shift", ParamType::Bool, "true",
       "with canvas: a random position per image and step (the released run); false: every training image in the "
       "canvas's middle (the released run's input size, without the shifts)"},
      {"lr_decay", ParamType::Float, "1",
       "multiply the learning rate by this every decay_every epochs (1: constant, as the released run)"},
      {"decay_every", ParamType::Int, "10", "epochs between two learning-rate decays (with lr_decay < 1)"},
      {"probe", ParamType::Bool, "true", "fit a linear probe (logistic regression) on the object presences"},
      {"ablation", ParamType::Bool, "false",
       "train the part/object capsule counts 30/16, 40/32 and 60/40 in turn (ignores n_part_caps, n_obj_caps)"}};
  for (ParamSpec& spec : deep_runs::training_params(10, 128, 3e-5, 0.0)) p.push_back(spec);
  return p;
}

capsules::SCAEOptions model_options(const RunContext& ctx) {
  if (!ctx.image_shape) throw UsageError("scae: needs image data (e.g. --data fashion-mnist:train)");
  const Shape& shape = *ctx.image_shape;
  if (shape[1] != shape[2]) throw UsageError("scae: needs square images, got " + shape_str(shape));
  capsules::SCAEOptions o;
  o.channels = shape[0];
  const std::int64_t canvas = ctx.params.get_int("canvas");
  if (canvas != 0 && canvas < shape[1])
    throw UsageError("scae: canvas " + std::to_string(canvas) + " is smaller than the images (" +
                     std::to_string(shape[1]) + " pixels wide); use 0 or at least " + std::to_string(shape[1]));
  if (canvas == 0 && !ctx.params.get_bool("canvas_shift"))
    throw UsageError("scae: canvas_shift=false places images on a canvas: set canvas too (e.g. canvas=40)");
  o.image_size = canvas > 0 ? canvas : shape[1];
  o.n_part_caps = ctx.params.get_int("n_part_caps");
  o.n_obj_caps = ctx.params.get_int("n_obj_caps");
  o.template_size = ctx.params.get_int("template_size");
  o.encoder_width = ctx.params.get_int("encoder_width");
  o.position_bias = ctx.params.get_bool("position_bias");
  o.normalised_part_mixture = ctx.params.get_string("part_mixture") == "normalised";
  o.n_classes = ctx.params.get_int("n_clusters");
  if (o.n_part_caps < 1 || o.n_obj_caps < 1 || o.template_size < 2 || o.encoder_width < 1)
    throw UsageError("scae: n_part_caps, n_obj_caps and encoder_width must be positive and template_size >= 2");
  if (o.image_size < 23) throw UsageError("scae: images must be at least 23 pixels wide (the encoder's 4 conv layers)");
  return o;
}

capsules::SCAETrainOptions train_options(const RunContext& ctx, std::int64_t batch_size) {
  // RMSProp's epsilon follows the whole batch (the released code's 0.1 / batch), also when each
  // rank takes a part of it.
  const double lr_decay = ctx.params.get_float("lr_decay");
  const std::int64_t decay_every = ctx.params.get_int("decay_every");
  if (!(lr_decay > 0.0) || decay_every < 1)
    throw UsageError("scae: lr_decay must be positive and decay_every at least 1, got " + std::to_string(lr_decay) +
                     " and " + std::to_string(decay_every));
  return {.lr = ctx.params.get_float("lr"),
          .lr_decay = lr_decay,
          .decay_every = decay_every,
          .eps = 0.1 / static_cast<double>(batch_size),
          .canvas = ctx.params.get_int("canvas"),
          .canvas_shift = ctx.params.get_bool("canvas_shift")};
}

// What the model sees of images [N, C, S, S] outside training: the images themselves, or with
// canvas set, each in the middle of its canvas.
Tensor model_view(const RunContext& ctx, const Tensor& images) {
  const std::int64_t canvas = ctx.params.get_int("canvas");
  return canvas > 0 ? capsules::centred_canvas(images, canvas) : images;
}

// Prior and posterior object presences [N, K] of images [N, C, S, S], eval_batch_size images at
// a time.
capsules::SCAE::Presences presences_of(const RunContext& ctx, capsules::SCAE& scae, const Tensor& images) {
  const std::int64_t batch = ctx.params.get_int("eval_batch_size");
  std::vector<Tensor> prior, posterior;
  for (std::int64_t start = 0; start < images.size(0); start += batch) {
    const Tensor chunk = images.narrow(0, start, std::min(batch, images.size(0) - start));
    const capsules::SCAE::Presences p = scae.presences(model_view(ctx, chunk), batch);
    prior.push_back(p.prior.cpu());
    posterior.push_back(p.posterior.cpu());
  }
  return {.prior = cat(prior, 0), .posterior = cat(posterior, 0)};
}

// The test split as images [N, C, S, S] (undefined without one).
Tensor test_images(const RunContext& ctx) {
  if (!ctx.test_data.defined()) return {};
  Shape shape{ctx.test_data.size(0)};
  shape.insert(shape.end(), ctx.image_shape->begin(), ctx.image_shape->end());
  return ctx.test_data.reshape(shape);
}

// Rows of [image, reconstruction, the 8 most present parts' transformed templates x presence].
Tensor reconstruction_rows(capsules::SCAE& scae, const Tensor& images) {
  scae.eval();
  NoGradGuard no_grad;
  const capsules::PartCapsules parts = scae.part_encoder->encode(images);
  const Tensor presence = parts.presence_logit.sigmoid();
  const capsules::Rendering r =
      scae.template_decoder->render(parts.pose, nn::functional::logsigmoid(parts.presence_logit), parts.feature);
  const Tensor reconstruction = (softmax(r.log_weights, 1) * r.means).sum({1});
  const std::int64_t shown = std::min<std::int64_t>(8, scae.options.n_part_caps);
  const Tensor top = topk(presence, shown, 1).second;  // [B, shown]
  std::vector<Tensor> rows;
  for (std::int64_t b = 0; b < images.size(0); ++b) {
    std::vector<Tensor> row{images.narrow(0, b, 1), reconstruction.narrow(0, b, 1).clamp(0.0, 1.0)};
    for (std::int64_t j = 0; j < shown; ++j) {
      const std::int64_t m = top.select(0, b).select(0, j).item<std::int64_t>();
      row.push_back(r.transformed.select(0, b).select(0, m).unsqueeze(0) * presence.select(0, b).select(0, m).item<double>());
    }
    rows.push_back(cat(row, 0));
  }
  return cat(rows, 0).clamp(0.0, 1.0);
}

// The poster's ablation: each configuration trained from the same seed, then k-means ACC and a
// linear probe on its object presences (first 80% of the images to fit, the rest to score,
// or the test split when there is one).
void run_ablation(RunContext& ctx, const Tensor& images) {
  if (!ctx.labels.defined()) throw UsageError("scae: ablation=true needs labelled data (it scores each configuration)");
  const std::vector<std::pair<std::int64_t, std::int64_t>> configs = {{30, 16}, {40, 32}, {60, 40}};
  train::TrainerOptions trainer = deep_runs::trainer_options(ctx);
  trainer.checkpoint_path.clear();
  trainer.resume_from.clear();
  std::vector<std::string> names;
  figures::Series bars = {{"k-means ACC", {}}, {"NMI", {}}, {"linear probe", {}}};
  const std::int64_t k = ctx.params.get_int("n_clusters");
  for (const auto& [parts, objects] : configs) {
    capsules::SCAEOptions options = model_options(ctx);
    options.n_part_caps = parts;
    options.n_obj_caps = objects;
    const std::string name = std::to_string(parts) + "/" + std::to_string(objects);
    ctx.progress->message("ablation: " + name + " part/object capsules");
    manual_seed(ctx.seed);
    capsules::SCAE scae(options);
    scae.to(ctx.device);
    train::TrainerOptions settings = trainer;
    const capsules::SCAETrainOptions fit_options = train_options(ctx, settings.batch_size);
    const auto ddp = networks::data_parallel(ctx, scae, settings, images.size(0));  // under mpirun
    ctx.progress->start("epoch " + name, ctx.params.get_int("epochs"));
    const train::TrainResult result = capsules::fit(scae, images, fit_options, settings,
                                                    [&](const capsules::SCAEEpoch& e, train::Trainer&) {
                                                      ctx.log({{"config", name}, {"epoch", e.epoch}, {"loss", e.loss},
                                                               {"image_ll", e.image_ll}, {"part_ll", e.part_ll},
                                                               {"seconds", e.seconds}});
                                                      ctx.progress->update(e.epoch, {{"loss", e.loss}});
                                                    });
    ctx.progress->finish();
    if (result.stop_reason == train::StopReason::Interrupted) throw RunInterrupted(result.message);
    if (result.stop_reason == train::StopReason::NonFiniteLoss) CAKE_FAIL("scae: ", name, ": ", result.message);
    const capsules::SCAE::Presences both = presences_of(ctx, scae, images);
    const Tensor presences = both.prior.to(kFloat64);
    const capsules::PresenceClustering scores = capsules::cluster_presences(presences, ctx.labels, k, ctx.seed);
    const capsules::PresenceClustering posterior =
        capsules::cluster_presences(both.posterior.to(kFloat64), ctx.labels, k, ctx.seed);
    const std::int64_t cut = presences.size(0) * 4 / 5;
    double probe = train::linear_probe(presences.narrow(0, 0, cut), ctx.labels.narrow(0, 0, cut),
                                       presences.narrow(0, cut, presences.size(0) - cut),
                                       ctx.labels.narrow(0, cut, presences.size(0) - cut));
    if (ctx.test_data.defined() && ctx.test_labels.defined()) {
      const Tensor test = presences_of(ctx, scae, test_images(ctx)).prior.to(kFloat64);
      probe = train::linear_probe(presences, ctx.labels, test, ctx.test_labels);
    }
    const nlohmann::json row = {{"nmi", scores.nmi},           {"acc", scores.acc},
                                {"ari", scores.ari},           {"probe_accuracy", probe},
                                {"posterior_nmi", posterior.nmi}, {"posterior_acc", posterior.acc}};
    nlohmann::json logged = row;
    logged["config"] = name;
    ctx.log(logged);
    ctx.metrics["ablation"][name] = row;
    names.push_back(name);
    bars[0].second.push_back(scores.acc);
    bars[1].second.push_back(scores.nmi);
    bars[2].second.push_back(probe);
  }
  networks::write_figure(ctx, "ablation.png", figures::bar_plot("scae: part/object capsule counts", "score", names, bars));
}

void run(RunContext& ctx) {
  const Tensor images = deep_runs::run_images(ctx);
  if (ctx.params.get_float("weight_decay") != 0.0)
    throw UsageError("scae: weight_decay is not used (RMSProp without decay, as the released code); leave it at 0");
  if (ctx.params.get_bool("ablation")) return run_ablation(ctx, images);
  const capsules::SCAEOptions options = model_options(ctx);
  capsules::SCAE scae(options);
  scae.to(ctx.device);
  train::TrainerOptions trainer = deep_runs::trainer_options(ctx);
  const capsules::SCAETrainOptions fit_options = train_options(ctx, trainer.batch_size);
  const auto ddp = networks::data_parallel(ctx, scae, trainer, images.size(0));  // under mpirun

  std::vector<double> loss, image_ll, part_ll;
  ctx.progress->start("epoch", ctx.params.get_int("epochs"));
  const train::TrainResult result = capsules::fit(
      scae, images, fit_options, trainer, [&](const capsules::SCAEEpoch& e, train::Trainer& t) {
        ctx.log({{"epoch", e.epoch},
                 {"loss", e.loss},
                 {"image_ll", e.image_ll},
                 {"part_ll", e.part_ll},
                 {"prior_within", e.prior_within},
                 {"prior_between", e.prior_between},
                 {"posterior_within", e.posterior_within},
                 {"posterior_between", e.posterior_between},
                 {"mean_presence", e.mean_presence},
                 {"seconds", e.seconds}});
        loss.push_back(e.loss);
        image_ll.push_back(e.image_ll);
        part_ll.push_back(e.part_ll);
        deep_runs::epoch_done(ctx, e.epoch, {{"loss", e.loss}, {"image_ll", e.image_ll}, {"part_ll", e.part_ll}},
                              [&](const std::string& path) { t.set_checkpoint_path(path); });
      });
  deep_runs::finish_training(ctx, result);
  save(scae, ctx.path("model.safetensors").string());
  ctx.save_curve("loss_curve.png", "scae: the joint loss and its log-likelihoods per epoch",
                 {{"loss", loss}, {"-log p(image)", [&] {
                    std::vector<double> v;
                    for (double x : image_ll) v.push_back(-x);
                    return v;
                  }()},
                  {"-log p(parts)", [&] {
                     std::vector<double> v;
                     for (double x : part_ll) v.push_back(-x);
                     return v;
                   }()}},
                 "epoch");

  // Figures: the templates, and reconstructions with the parts that made them.
  ctx.save_image_grid("templates.png", scae.template_decoder->templates().detach(), 10);
  const std::int64_t shown = std::min<std::int64_t>(8, images.size(0));
  ctx.save_image_grid("reconstructions.png", reconstruction_rows(scae, model_view(ctx, images.narrow(0, 0, shown))),
                      2 + std::min<std::int64_t>(8, options.n_part_caps));

  // Unsupervised classification from the object presences, prior and posterior (the released
  // evaluation clusters both); labels.npy and the headline nmi/acc/ari are the prior ones.
  const capsules::SCAE::Presences both = presences_of(ctx, scae, images);
  const Tensor& presences = both.prior;
  cluster::KMeans kmeans({.n_clusters = ctx.params.get_int("n_clusters"), .n_init = 10, .random_state = ctx.seed});
  ctx.save_labels(kmeans.fit_predict(presences.to(kFloat64)));
  ctx.save_embedding(presences, "presences");
  // A t-SNE of the presence vectors of up to 2000 images, coloured by class (the poster's figure
  // shows one of the object capsules' embeddings).
  if (ctx.labels.defined() && presences.size(0) >= 50) {
    const std::int64_t n = std::min<std::int64_t>(presences.size(0), 2000);
    manifold::TSNE tsne({.perplexity = 30, .random_state = ctx.seed});
    const Tensor points = tsne.fit_transform(presences.narrow(0, 0, n).to(kFloat64));
    networks::write_figure(ctx, "tsne.png",
                           figures::scatter_plot("scae: t-SNE of object presences (" + std::to_string(n) + " images)",
                                                 points, ctx.labels.narrow(0, 0, n), {.names = ctx.class_names}));
  }
  ctx.metrics["mean_presence"] = presences.mean().item<double>();
  ctx.save_embedding(both.posterior, "posterior_presences");
  const std::int64_t k = ctx.params.get_int("n_clusters");
  if (ctx.labels.defined()) {
    const capsules::PresenceClustering posterior = capsules::cluster_presences(both.posterior, ctx.labels, k, ctx.seed);
    ctx.metrics["posterior_nmi"] = posterior.nmi;
    ctx.metrics["posterior_acc"] = posterior.acc;
    ctx.metrics["posterior_ari"] = posterior.ari;
  }
  capsules::SCAE::Presences test;
  if (ctx.test_data.defined()) {
    test = presences_of(ctx, scae, test_images(ctx));
    if (ctx.test_labels.defined()) {
      for (const auto& [prefix, rows] : {std::pair{"test_", test.prior}, std::pair{"test_posterior_", test.posterior}}) {
        const capsules::PresenceClustering scores = capsules::cluster_presences(rows, ctx.test_labels, k, ctx.seed);
        ctx.metrics[std::string(prefix) + "nmi"] = scores.nmi;
        ctx.metrics[std::string(prefix) + "acc"] = scores.acc;
        ctx.metrics[std::string(prefix) + "ari"] = scores.ari;
      }
    }
  }
  deep_runs::feature_metrics(ctx, presences, ctx.labels, test.prior, ctx.test_labels);
  deep_runs::feature_metrics(ctx, both.posterior, ctx.labels, test.posterior, ctx.test_labels, "posterior_");
}

CAKE_REGISTER_ALGORITHM({
    .name = "scae",
    .summary = "Stacked Capsule Autoencoder: part capsules (templates under affine poses) and object capsules "
               "(set transformer), k-means on object presences",
    .reference = "Kosiorek, Sabour, Teh & Hinton 2019 (NeurIPS), 'Stacked Capsule Autoencoders', sections 2-3",
    .params = params(),
    .run = run,
    .example = "cake run scae --data fashion-mnist:test:256 --set epochs=1 encoder_width=16 n_part_caps=8 n_obj_caps=4",
    .multi_rank = MultiRank::DataParallel,
});

}  // namespace
}  // namespace cake::cli::scae_command
