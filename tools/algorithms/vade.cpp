// vade.cpp: `cake run vade`, Variational Deep Embedding (Jiang et al. 2017), pretraining included.
//
//   cake run vade --data fashion-mnist:train --out runs/vade
//   cake run vade --data fashion-mnist:train --out runs/vade --set pretrain_epochs=100 epochs=300
//
// Two phases in one command (algorithms/deep_clustering/vade.h):
//   1. pretraining, as the paper: an MLPAutoencoder with VaDE's layers (784-500-500-2000-10) on
//      the MSE per pixel, then a diagonal GMM on its codes; that "AE + GMM" clustering is the
//      starting point, scored as ae_gmm_nmi / ae_gmm_acc / ae_gmm_ari. Its checkpoint is
//      pretrain_checkpoint.safetensors, its model autoencoder.safetensors.
//   2. VaDE: the autoencoder's weights and the GMM's pi, mu_c, sigma_c^2 start the model, trained
//      on the negative ELBO (eq. 11) with the released code's Adam (eps 1e-4), lr 0.002 x0.9
//      every 10 epochs down to 0.0002, batch 100. Cluster of an image: argmax_c gamma_c.
// The papers train and score on all 70,000 images (train and test splits together); so does this
// command by default (use_test=true; the test labels are only used for scoring). metrics.json:
// nmi / acc / ari on the training rows (save_labels), test_* on the test split (held out when
// use_test=false), all_* on both,
// the starting point's ae_gmm_* alike. Figures: cluster_samples.png (images of each cluster),
// component_samples.png (decoded draws mu_c + sigma_c eps of each component, one row per
// component), loss_curve.png and pretrain_loss_curve.png, confusion_matrix.png, the latent space.
// A --resume continues whichever phase was interrupted.
#include <cmath>
#include <filesystem>

#include "cake/algorithms/deep_clustering/vade.h"
#include "cake/autograd/grad_mode.h"
#include "cake/autograd/ops.h"
#include "cake/distributed/data_parallel.h"
#include "cake/nn/checkpoint.h"
#include "cake/optim/adam.h"
#include "tools/algorithms/network_runs.h"
#include "tools/evaluation.h"
#include "tools/figures.h"
#include "tools/output.h"

namespace cake::cli::vade_command {
namespace {

using namespace networks;
namespace fs = std::filesystem;

std::vector<ParamSpec> params() {
  std::vector<ParamSpec> p{
      {"hidden", ParamType::IntList, "500,500,2000", "hidden layer sizes of the encoder (the paper's 784-500-500-2000-10)"},
      {"latent_dim", ParamType::Int, "10", "size of the code z (the paper: 10)"},
      {"n_clusters", ParamType::Int, "10", "number of mixture components K"},
      {"likelihood", ParamType::String, "bernoulli",
       "p(x | z): bernoulli (summed binary cross-entropy, the paper's for images) or gaussian (summed squared error)",
       {"bernoulli", "gaussian"}},
      {"use_test", ParamType::Bool, "true",
       "train and cluster on the test split too (the papers' 70,000-image protocol; test labels only score)"},
      {"pretrain_epochs", ParamType::Int, "50", "epochs of the autoencoder pretraining (at least 1)"},
      {"pretrain_lr", ParamType::Float, "0.001", "Adam's learning rate for the pretraining"},
      {"pretrain_batch_size", ParamType::Int, "256", "mini-batch of the pretraining"},
      {"gmm_n_init", ParamType::Int, "3", "EM restarts of the diagonal GMM on the pretrained codes"},
      {"lr_decay", ParamType::Float, "0.9", "the learning rate is multiplied by this every decay_every epochs"},
      {"decay_every", ParamType::Int, "10", "epochs between two learning-rate decays"},
      {"lr_floor", ParamType::Float, "0.0002", "the learning rate never falls below this"},
      {"component_samples", ParamType::Int, "10", "images generated per mixture component in component_samples.png"},
      {"monitor_every", ParamType::Int, "5",
       "every this many VaDE epochs, log the clusters' nmi/acc in log.jsonl (0: never; costs one pass over the images)"}};
  for (ParamSpec& spec : analysis_params()) p.push_back(spec);
  return with_training_params(p, {.epochs = 100, .batch_size = 100, .lr = 0.002, .weight_decay = 0.0, .patience = 0});
}

// The scores of a clustering of `rows` (the training rows, then the test rows when present) as
// prefix + nmi / acc / ari (training rows), prefix + test_*, prefix + all_*.
void record_scores(RunContext& ctx, const std::string& prefix, const Tensor& predicted, std::int64_t n_train,
                   const Tensor& test_labels) {
  const Tensor p = predicted.cpu();
  auto put = [&](const std::string& part, const Tensor& truth, const Tensor& pred) {
    const nlohmann::json scores = clustering_scores(truth, pred);
    for (const char* key : {"nmi", "acc", "ari"}) ctx.metrics[prefix + part + key] = scores[key];
  };
  if (ctx.labels.defined()) put("", ctx.labels, p.narrow(0, 0, n_train));
  if (test_labels.defined() && p.size(0) > n_train) {
    put("test_", test_labels, p.narrow(0, n_train, p.size(0) - n_train));
    if (ctx.labels.defined()) put("all_", cat({ctx.labels.cpu(), test_labels.cpu()}, 0), p);
  }
}

// Phase 1: the autoencoder, with its own checkpoint, log lines and curve.
std::shared_ptr<cake::networks::MLPAutoencoder> pretrain(RunContext& ctx, const RunImages& images,
                                                         const std::string& resume_dir) {
  const std::int64_t epochs = ctx.params.get_int("pretrain_epochs");
  if (epochs < 1) throw UsageError("vade: pretrain_epochs must be at least 1, got " + std::to_string(epochs));
  auto autoencoder = std::make_shared<cake::networks::MLPAutoencoder>(
      ctx.params.get_int_list("hidden"), ctx.params.get_int("latent_dim"), images.image_shape);
  autoencoder->to(ctx.device);
  cake::networks::MLPAutoencoder& model = *autoencoder;
  optim::Adam adam(model.parameters(), {.lr = ctx.params.get_float("pretrain_lr")});
  const std::string checkpoint = "pretrain_checkpoint.safetensors";
  std::string resume;
  if (!resume_dir.empty() && fs::exists(fs::path(resume_dir) / checkpoint)) resume = (fs::path(resume_dir) / checkpoint).string();
  const Device device = ctx.device;
  algorithms::TrainerOptions options{.epochs = epochs,
                                     .batch_size = ctx.params.get_int("pretrain_batch_size"),
                                     .patience = 0,
                                     .seed = ctx.seed,
                                     .checkpoint_path = ctx.path(checkpoint).string(),
                                     .resume_from = resume,
                                     .should_stop = ctx.stop_requested};
  apply_device_training_params(ctx, options);
  const auto ddp = data_parallel(ctx, model, options, images.train.size(0));  // under mpirun
  algorithms::Trainer trainer(
      model, adam, [&, device](const data::Batch& b) { return cake::networks::reconstruction_loss(model, b.x.to(device)); },
      options);
  ctx.progress->start("pretraining epoch", epochs);
  trainer.on_epoch_end([&](const algorithms::EpochStats& s) {
    if (ctx.publish) {  // the first checkpoint exists: the run takes its place in --out
      ctx.publish();
      // (Under mpirun only rank 0 writes checkpoints: the others have no path to follow.)
      if (!trainer.options().checkpoint_path.empty()) trainer.set_checkpoint_path(ctx.path(checkpoint).string());
    }
    nlohmann::json record = {{"phase", "pretrain"}, {"pretrain_epoch", s.epoch}, {"train_loss", s.train_loss},
                             {"epoch_time_s", s.seconds}};
    if (!std::isnan(s.val_loss)) record["val_loss"] = s.val_loss;
    ctx.log(record);
    std::vector<std::pair<std::string, double>> shown{{"train", s.train_loss}};
    if (!std::isnan(s.val_loss)) shown.emplace_back("val", s.val_loss);
    ctx.progress->update(s.epoch, shown);
  });
  const algorithms::TrainResult result =
      trainer.fit(dataset(images.train), images.val.defined() ? dataset(images.val) : nullptr);
  ctx.progress->finish();
  if (result.stop_reason == algorithms::StopReason::Interrupted) throw RunInterrupted(result.message);
  CAKE_CHECK(result.stop_reason != algorithms::StopReason::NonFiniteLoss, "vade: pretraining: ", result.message);
  if (result.resumed_from_epoch > 0)
    ctx.progress->message("pretraining resumed from epoch " + std::to_string(result.resumed_from_epoch) + " of " + resume);
  std::vector<double> train_curve, val_curve;
  for (const algorithms::EpochStats& s : result.history) train_curve.push_back(s.train_loss), val_curve.push_back(s.val_loss);
  figures::Series series{{"train", train_curve}};
  if (images.val.defined()) series.emplace_back("validation", val_curve);
  ctx.save_curve("pretrain_loss_curve.png", "vade: autoencoder pretraining, MSE per pixel", series, "epoch");
  ctx.metrics["pretrain_train_loss"] = result.history.back().train_loss;
  if (!std::isnan(result.history.back().val_loss)) ctx.metrics["pretrain_val_loss"] = result.history.back().val_loss;
  save(model, ctx.path("autoencoder.safetensors").string());
  return autoencoder;
}

void run(RunContext& ctx) {
  RunImages images = run_images(ctx);
  const std::int64_t n_train = images.all.size(0);
  // The papers' protocol: the test images are clustered (and trained on) with the rest.
  const bool use_test = ctx.params.get_bool("use_test") && images.test.defined();
  Tensor everything = images.all;
  if (use_test) {
    images.train = cat({images.train, images.test}, 0);
    images.train_labels = Tensor();  // never trained on; the scores below use them
    everything = cat({images.all, images.test}, 0);
  }
  const Tensor test_labels = use_test ? images.test_labels : Tensor();

  // Where a resume looks for the checkpoints of both phases: the run's own folder (--resume) or
  // the folder of the `resume` parameter's checkpoint.
  algorithms::TrainerOptions options = trainer_options(ctx);
  const std::string resume_dir = options.resume_from.empty() ? "" : fs::path(options.resume_from).parent_path().string();
  if (!options.resume_from.empty() && !fs::exists(options.resume_from)) options.resume_from.clear();  // stopped in phase 1

  // ---- phase 1: autoencoder + diagonal GMM -------------------------------------------------------
  const auto autoencoder = pretrain(ctx, images, resume_dir);
  const std::int64_t k = ctx.params.get_int("n_clusters");
  auto vade = std::make_shared<deep_clustering::VaDE>(ctx.params.get_int_list("hidden"), ctx.params.get_int("latent_dim"),
                                                      k, images.image_shape);
  vade->to(ctx.device);
  ctx.progress->message("fitting a diagonal GMM with " + std::to_string(k) + " components on the pretrained codes ...");
  mixture::GaussianMixture gmm({.n_components = k,
                                .covariance_type = "diag",
                                .n_init = ctx.params.get_int("gmm_n_init"),
                                .random_state = ctx.seed});
  const Tensor start = deep_clustering::initialize_vade(*vade, *autoencoder, everything, gmm);
  record_scores(ctx, "ae_gmm_", start, n_train, test_labels);
  nlohmann::json pretrained = {{"event", "pretrained"}};
  if (ctx.metrics.contains("ae_gmm_acc")) pretrained["ae_gmm_acc"] = ctx.metrics["ae_gmm_acc"];
  ctx.log(pretrained);

  // ---- phase 2: VaDE ----------------------------------------------------------------------------------
  deep_clustering::VaDE& model = *vade;
  const deep_clustering::VaDELossOptions loss_options{
      .likelihood = ctx.params.get_string("likelihood") == "gaussian" ? cake::networks::Likelihood::Gaussian
                                                                      : cake::networks::Likelihood::Bernoulli};
  const deep_clustering::VaDESchedule schedule{.lr = ctx.params.get_float("lr"),
                                               .decay = ctx.params.get_float("lr_decay"),
                                               .every = ctx.params.get_int("decay_every"),
                                               .floor = ctx.params.get_float("lr_floor")};
  if (schedule.every < 1) throw UsageError("vade: decay_every must be at least 1, got " + std::to_string(schedule.every));
  // The released code's Adam: epsilon 1e-4.
  optim::Adam adam(model.parameters(), optim::AdamOptions(schedule.lr).eps(1e-4).weight_decay(ctx.params.get_float("weight_decay")));
  const Device device = ctx.device;
  const algorithms::BatchLoss loss = [&, device](const data::Batch& batch) {
    return deep_clustering::vade_loss(model, batch.x.to(device), loss_options).total;
  };
  const auto ddp = data_parallel(ctx, model, options, images.train.size(0));  // under mpirun
  algorithms::Trainer trainer(model, adam, loss, options);
  // The released code prints the clustering accuracy every epoch; here every monitor_every
  // epochs, in log.jsonl (evaluation mode, no random draws: the training is unchanged by it).
  const std::int64_t monitor_every = ctx.params.get_int("monitor_every");
  deep_clustering::attach_schedule(trainer, adam, schedule, [&](std::int64_t epoch) {
    const std::int64_t done = epoch - 1;
    if (monitor_every <= 0 || done < 1 || done % monitor_every != 0 || !ctx.labels.defined()) return;
    const Tensor clusters = model.predict(everything.narrow(0, 0, n_train)).cpu();
    const nlohmann::json scores = clustering_scores(ctx.labels, clusters);
    ctx.log({{"monitor_epoch", done}, {"nmi", scores["nmi"]}, {"acc", scores["acc"]}, {"lr", adam.group_lr(0)}});
  });
  ctx.log({{"event", "vade"}});
  train_and_log(ctx, trainer, images, "negative ELBO per image");
  save(model, ctx.path("model.safetensors").string());
  ctx.metrics["final_lr"] = adam.group_lr(0);
  const Tensor weights = model.weights().detach().to(kCPU, kFloat64).contiguous();
  ctx.metrics["mixture_weights"] = std::vector<double>(weights.data_ptr<double>(), weights.data_ptr<double>() + k);

  // ---- clusters, scores, figures --------------------------------------------------------------------
  const Tensor predicted = model.predict(everything).cpu();
  ctx.save_labels(predicted.narrow(0, 0, n_train));  // nmi / acc / ari, cluster_samples.png, confusion_matrix.png
  record_scores(ctx, "", predicted, n_train, test_labels);
  if (!use_test && images.test.defined() && images.test_labels.defined()) {  // held out: scored, never trained on
    const nlohmann::json scores = clustering_scores(images.test_labels, model.predict(images.test).cpu());
    for (const char* key : {"nmi", "acc", "ari"}) ctx.metrics[std::string("test_") + key] = scores[key];
  }
  {
    NoGradGuard no_grad;
    const std::int64_t per = ctx.params.get_int("component_samples");
    if (per > 0) {
      std::vector<Tensor> rows;
      for (std::int64_t c = 0; c < k; ++c) rows.push_back(model.sample(c, per));
      save_image_rows(ctx, "component_samples.png", rows);
    }
  }
  const Tensor train_codes = model.encode_mean_all(images.all);
  const Tensor test_codes = images.test.defined() ? model.encode_mean_all(images.test) : Tensor();
  save_latent_space(ctx, train_codes, test_codes, images.test_labels);
  linear_probe_metric(ctx, train_codes, images.all_labels, test_codes, images.test_labels);
}

CAKE_REGISTER_ALGORITHM({
    .name = "vade",
    .summary = "Variational Deep Embedding: a VAE with a Gaussian-mixture prior, pretrained AE + GMM start",
    .reference = "Jiang, Zheng, Tan, Tang & Zhou 2017 (Variational Deep Embedding, IJCAI)",
    .params = params(),
    .run = run,
    .example = "cake run vade --data fashion-mnist:train:2000 --out runs/vade --set pretrain_epochs=2 epochs=2 use_test=false",
    .multi_rank = MultiRank::DataParallel,
});

}  // namespace
}  // namespace cake::cli::vade_command
