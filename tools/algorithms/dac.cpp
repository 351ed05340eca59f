// dac.cpp: `cake run dac`, Deep Adaptive Image Clustering (Chang et al. 2017) on a convnet.
//
//   cake run dac --data fashion-mnist:test --out runs/dac --seed 0
//   cake run dac --out runs/dac --resume                   # continue after Ctrl-C
//
// The network's n_clusters outputs, through a softmax and L2 normalisation, are the label
// features; every batch selects the pairs whose similarity is above u(lambda) ("same") or below
// l(lambda) ("different") and lowers their binary cross-entropy; lambda grows each epoch until
// l > u (Algorithm 1; algorithms/deep_clustering/dac.h). The cluster of an image is the argmax of
// its label features: labels.npy with nmi/ari/acc (and test_nmi/test_acc/test_ari on the test
// split when --data names a training split). log.jsonl has a row per epoch (lambda, u, l,
// the fraction of pairs selected, the loss, NMI/ACC, and with labels same_precision: how many of
// the pairs above u share a class); figures: thresholds.png, dac_scores.png,
// loss_curve.png, cluster_samples.png, confusion_matrix.png.
#include <cmath>

#include "cake/algorithms/deep_clustering/dac.h"
#include "cake/data/npy.h"
#include "cake/nn/checkpoint.h"
#include "tools/algorithms/deep_clustering_runs.h"
#include "tools/algorithms/network_runs.h"
#include "tools/errors.h"
#include "tools/figures.h"

namespace cake::cli::dac_command {
namespace {

nlohmann::json number_or_null(double value) { return std::isfinite(value) ? nlohmann::json(value) : nlohmann::json(nullptr); }

std::vector<ParamSpec> params() {
  std::vector<ParamSpec> p{
      {"n_clusters", ParamType::Int, "10", "clusters = units of the label features (DAC clusters at the true k)"},
      {"lambda_step", ParamType::Float, "0.0099",
       "growth of lambda per epoch; u = 0.95 - lambda, l = 0.455 + 0.1 lambda, training stops once l > u (46 epochs "
       "at the default; DAC-tensorflow's schedule)"},
      {"lambda0", ParamType::Float, "0",
       "lambda of the first epoch (Algorithm 1's input lambda): a negative value starts u above 0.95, so the first "
       "\"same\" pairs are fewer and closer, and adds epochs before l > u"},
      {"probe", ParamType::Bool, "true", "fit a linear probe (logistic regression) on the frozen label features"},
      {"classifier_norm", ParamType::Bool, "true",
       "batch norm after the classifier's Linear layers, as DAC's released networks normalise every layer (false: the "
       "classifier's ReLUs can die and every pair turn \"same\", see docs/algorithms/deepcluster_dac.md)"}};
  for (ParamSpec& spec : deep_runs::convnet_params("vgg", false)) {
    // DAC's released networks have no dropout (github.com/vector-1127/DAC MNIST/mnist.py).
    if (spec.name == "dropout") spec.default_value = "0";
    p.push_back(spec);
  }
  for (ParamSpec& spec : deep_runs::augmentation_params(1.0, true)) p.push_back(spec);
  // clean: better on three Fashion-MNIST seeds (docs/algorithms/deepcluster_dac.md, 6 December 2026).
  p.push_back({"pairs_from", ParamType::String, "clean",
               "which label features choose a batch's pairs: clean (the un-augmented images', without a graph, as the "
               "authors' Keras code labels its pairs) or augmented (the training images' own, as DAC-tensorflow)",
               {"clean", "augmented"},
               "augmented"});  // what runs recorded before 6 December 2026 did
  p.push_back({"chunk_size", ParamType::Int, "0",
               "0: every batch's pairs are chosen by the network of its own step; N: the authors' Keras rhythm, images "
               "taken N at a time (rounded up to a multiple of batch_size), the chunk's pairs chosen once from its clean "
               "images, then chunk_passes passes over its augmented copies (their code: 1000 and 5)"});
  p.push_back({"chunk_passes", ParamType::Int, "5", "passes over each chunk when chunk_size > 0 (an epoch is that many passes over the data)"});
  // lr 1e-4, a tenth of the released codes' 1e-3: better on each of three Fashion-MNIST seeds
  // (docs/algorithms/deepcluster_dac.md, "DAC: what was tried").
  for (ParamSpec& spec : deep_runs::training_params(46, 128, 1e-4, 0.0)) p.push_back(spec);
  p.push_back(cli::networks::sync_bn_param());
  return p;
}

void run(RunContext& ctx) {
  const Tensor images = deep_runs::run_images(ctx);
  const std::int64_t k = ctx.params.get_int("n_clusters");
  if (k < 2 || k > images.size(0))
    throw UsageError("dac: n_clusters must be in [2, " + std::to_string(images.size(0)) + "], got " + std::to_string(k));
  const double step = ctx.params.get_float("lambda_step");
  if (!(step > 0.0)) throw UsageError("dac: lambda_step must be positive, got " + std::to_string(step));
  if (ctx.params.get_float("weight_decay") != 0.0)
    throw UsageError("dac: weight_decay is not used (RMSprop without decay, as both released codes); leave it at 0");
  auto net = std::make_shared<cake::networks::ConvNet>(deep_runs::convnet_options(ctx, k, true, ctx.params.get_bool("classifier_norm")));
  net->to(ctx.device);
  const double lambda0 = ctx.params.get_float("lambda0");
  if (!std::isfinite(lambda0) || deep_clustering::DACSchedule{}.upper(lambda0) > 1.0)
    throw UsageError("dac: lambda0 must be finite and at least -0.05 (the first u = 0.95 - lambda0 is a similarity, at "
                     "most 1), got " + std::to_string(lambda0));
  deep_clustering::DACOptions options{.schedule = {.lambda0 = lambda0, .lambda_step = step},
                                      .lr = ctx.params.get_float("lr"),
                                      .augment = deep_runs::augmentation(ctx),
                                      .pairs_from_clean = ctx.params.get_string("pairs_from") == "clean",
                                      .chunk_size = ctx.params.get_int("chunk_size"),
                                      .chunk_passes = ctx.params.get_int("chunk_passes")};
  if (options.chunk_size < 0 || options.chunk_passes < 1)
    throw UsageError("dac: chunk_size must be >= 0 and chunk_passes >= 1, got " + std::to_string(options.chunk_size) +
                     " and " + std::to_string(options.chunk_passes));
  if (options.chunk_size > 0 && (!options.augment || !options.pairs_from_clean))
    throw UsageError("dac: chunk_size > 0 trains augmented copies against pairs chosen on the clean images: it needs "
                     "pairs_from=clean and an augmentation");
  train::TrainerOptions trainer = deep_runs::trainer_options(ctx);
  // Under mpirun: the network trains data-parallel, and every rank pairs its images with the
  // whole batch's label features (dac_pair_loss_part), so pairs across ranks are kept.
  const auto ddp = cli::networks::data_parallel(ctx, *net, trainer, images.size(0));
  if (ddp && options.chunk_size > 0)
    throw UsageError("dac: chunk_size > 0 runs in one process (its chunks choose the order of the batches); leave it at 0 under mpirun");
  if (ddp) options.gather_batch = deep_runs::gathered_batch(*ddp);
  deep_clustering::DAC dac(*net, options, trainer);
  ctx.metrics["stop_epoch"] = options.schedule.epochs_until_stop();

  auto record = [&](const deep_clustering::DACEpoch& e, bool from_checkpoint) {
    nlohmann::json row = {{"epoch", e.epoch},
                          {"lambda", e.lambda},
                          {"upper", e.upper},
                          {"lower", e.lower},
                          {"selected_fraction", e.selected_fraction},
                          {"positive_fraction", e.positive_fraction},
                          {"loss", e.loss},
                          {"nmi", number_or_null(e.nmi)},
                          {"acc", number_or_null(e.acc)},
                          {"clusters_used", e.clusters_used},
                          {"same_precision", number_or_null(e.same_precision)}};
    if (from_checkpoint) row["from_checkpoint"] = true;
    ctx.log(row);
  };
  ctx.progress->start("epoch", std::min(ctx.params.get_int("epochs"), options.schedule.epochs_until_stop()));
  dac.on_epoch_end([&](const deep_clustering::DACEpoch& e) {
    record(e, false);
    std::vector<std::pair<std::string, double>> shown{{"loss", e.loss}, {"selected", e.selected_fraction}};
    if (std::isfinite(e.nmi)) shown.emplace_back("nmi", e.nmi);
    deep_runs::epoch_done(ctx, e.epoch, shown, [&](const std::string& path) { dac.set_checkpoint_path(path); });
  });
  const train::TrainResult result = dac.fit(images, ctx.labels);
  if (result.resumed_from_epoch > 0)
    for (const auto& e : dac.history())
      if (e.epoch <= result.resumed_from_epoch) record(e, true);
  deep_runs::finish_training(ctx, result);
  save(*net, ctx.path("model.safetensors").string());
  ctx.metrics["final_lambda"] = dac.lambda();

  std::vector<double> upper, lower, selected, positive, loss, nmi, acc, same_precision;
  for (const auto& e : dac.history()) {
    upper.push_back(e.upper);
    lower.push_back(e.lower);
    selected.push_back(e.selected_fraction);
    positive.push_back(e.positive_fraction);
    loss.push_back(e.loss);
    nmi.push_back(e.nmi);
    acc.push_back(e.acc);
    same_precision.push_back(e.same_precision);
  }
  ctx.save_curve("thresholds.png", "dac: thresholds u(lambda), l(lambda) and the pairs selected per epoch",
                 {{"u (same above)", upper},
                  {"l (different below)", lower},
                  {"fraction of pairs selected", selected},
                  {"fraction of pairs 'same'", positive}},
                 "epoch");
  ctx.save_curve("loss_curve.png", "dac: pairwise binary cross-entropy per epoch", {{"loss", loss}}, "epoch");
  if (ctx.labels.defined())
    ctx.save_curve("dac_scores.png", "dac: argmax clusters against the classes, and the 'same' pairs' precision",
                   {{"NMI", nmi}, {"ACC", acc}, {"'same' pairs of one class", same_precision}}, "epoch");

  const Tensor label_features = dac.features(images).cpu();
  ctx.save_labels(label_features.argmax(1));
  Tensor test_features;
  if (ctx.test_data.defined()) {
    Shape shape{ctx.test_data.size(0)};
    shape.insert(shape.end(), ctx.image_shape->begin(), ctx.image_shape->end());
    test_features = dac.features(ctx.test_data.reshape(shape)).cpu();
  }
  if (test_features.defined() && ctx.test_labels.defined()) {
    // The held-out split, clustered as the training images are: the argmax of the label features.
    deep_runs::test_split_scores(ctx, test_features.argmax(1));
  }
  // The label features, for clustering or probing them with other tools.
  data::write_npy(ctx.path("features.npy"), label_features.contiguous());
  if (test_features.defined()) data::write_npy(ctx.path("test_features.npy"), test_features.contiguous());
  deep_runs::feature_metrics(ctx, label_features, ctx.labels, test_features, ctx.test_labels);
}

CAKE_REGISTER_ALGORITHM({
    .name = "dac",
    .summary = "Deep Adaptive Image Clustering: pairwise same/different training on confident pairs, adaptive thresholds",
    .reference = "Chang, Wang, Meng, Xiang & Pan 2017 (ICCV), 'Deep Adaptive Image Clustering', Algorithm 1",
    .params = params(),
    .run = run,
    .example = "cake run dac --data fashion-mnist:test:1000 --set epochs=6",
    .multi_rank = MultiRank::DataParallel,
});

}  // namespace
}  // namespace cake::cli::dac_command
