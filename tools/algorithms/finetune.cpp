// finetune.cpp: `cake run finetune`, a classifier on a pretrained autoencoder's frozen encoder.
//
//   cake run conv-autoencoder --data fashion-mnist:train --out runs/cae
//   cake run finetune --data fashion-mnist:train --out runs/ft --set checkpoint=runs/cae/model.safetensors
//
// Bortoletto 2021, section 4: the encoder of a trained autoencoder (its model.safetensors or its
// checkpoint.safetensors), frozen, feeds Linear(code -> 64) ReLU Linear(64 -> classes) and a
// log-softmax, trained on the negative log-likelihood of the labels (algorithms/train/finetune.h).
// metrics.json gets test_accuracy (Bortoletto 2021: 0.9513 on MNIST); confusion_matrix.png shows the
// test set's true against predicted classes.
//
// Full fine-tuning, Shen 2024, "Finetuning in practice" (pretrained weights W move to W'
// on the labelled task):
//   cake run finetune --data fashion-mnist:train --out runs/ft-full
//       --set checkpoint=runs/cae/model.safetensors freeze=false
// trains the encoder too, in its own optimiser group at lr * encoder_lr_scale (default 1), the head at lr.
// Either way metrics.json also has probe_accuracy, the linear probe (logistic regression) on the
// pretrained encoder's frozen codes before any fine-tuning, the baseline both modes are compared
// with, finetune_mode ("frozen" or "full") and encoder_weight_change (||W' - W|| / ||W||).
#include "cake/algorithms/contrastive/moco.h"
#include "cake/algorithms/train/finetune.h"
#include "cake/autograd/ops.h"
#include "cake/distributed/data_parallel.h"
#include "cake/nn/checkpoint.h"
#include "cake/nn/functional.h"
#include "cake/optim/adam.h"
#include "tools/algorithms/network_runs.h"
#include "tools/errors.h"

namespace cake::cli::finetune_command {
namespace {

using namespace networks;

std::vector<ParamSpec> params() {
  std::vector<ParamSpec> p{
      {"checkpoint", ParamType::String, "",
       "model.safetensors (or checkpoint.safetensors) of an autoencoder run, or of a moco run (its backbone's features)"},
      {"hidden", ParamType::Int, "64", "units of the hidden layer of the head (Bortoletto 2021, section 4, uses 64)"},
      {"freeze", ParamType::Bool, "true", "keep the encoder fixed and train only the head (as Bortoletto 2021, section 4)"},
      {"encoder_lr_scale", ParamType::Float, "1",
       "freeze=false: the encoder trains at lr times this (its own optimiser group), the head at lr; an "
       "autoencoder's encoder must move far to classify, so 1 beats 0.3 and 0.1 "
       "(docs/algorithms/autoencoders.md)"},
      {"probe", ParamType::Bool, "true",
       "fit a linear probe (logistic regression) on the pretrained encoder's frozen codes first: probe_accuracy"},
      sync_bn_param()};
  // 60 epochs: full fine-tuning is still improving at 30 (docs/algorithms/autoencoders.md); a
  // frozen encoder's head stops early on the validation loss.
  return with_training_params(p, {.epochs = 60, .batch_size = 256, .lr = 1e-3, .weight_decay = 0.0, .patience = 10});
}

double accuracy(const Tensor& predicted, const Tensor& truth) {
  return eq(predicted.cpu(), truth.cpu()).to(kFloat64).mean().item<double>();
}

void run(RunContext& ctx) {
  const std::string& checkpoint = ctx.params.get_string("checkpoint");
  CAKE_CHECK(!checkpoint.empty(), "finetune: set checkpoint=<model.safetensors of an autoencoder run>, e.g. train one "
             "with `cake run conv-autoencoder --data ", ctx.data_name, " --out runs/cae` and pass ",
             "checkpoint=runs/cae/model.safetensors");
  const RunImages images = run_images(ctx);
  CAKE_CHECK(images.train_labels.defined(), "finetune: the training data have no labels to learn");
  const std::int64_t num_classes = images.all_labels.max().item<std::int64_t>() + 1;

  // The pretrained encoder: an autoencoder's, or a MoCo run's backbone (algorithms/contrastive/moco.h).
  std::shared_ptr<nn::Module> encoder;
  std::int64_t code_dim = 0;
  std::string encoder_name;
  std::shared_ptr<algorithms::Autoencoder> autoencoder;
  if (contrastive::is_contrastive_encoder_file(checkpoint)) {
    auto features = std::make_shared<contrastive::EncoderFeatures>(
        contrastive::load_contrastive_encoder(checkpoint, images.image_shape));
    code_dim = features->feature_dim();
    encoder_name = features->name();
    encoder = features;
  } else {
    autoencoder = algorithms::load_autoencoder(checkpoint, images.image_shape);
    code_dim = autoencoder->latent_dim();
    encoder_name = autoencoder->name();
    encoder = autoencoder->encoder();
  }
  ctx.progress->message("encoder from " + checkpoint + ": " + encoder_name + ", " + std::to_string(code_dim) +
                        "-dimensional codes");
  auto classifier = std::make_shared<algorithms::EncoderClassifier>(encoder, code_dim, num_classes,
                                                                    ctx.params.get_int("hidden"),
                                                                    ctx.params.get_bool("freeze"));
  classifier->to(ctx.device);
  const bool frozen = classifier->encoder_frozen();
  ctx.metrics["finetune_mode"] = frozen ? "frozen" : "full";

  // The baseline: a linear probe on the codes of the pretrained encoder, before it moves.
  if (ctx.params.get_bool("probe") && images.test.defined()) {
    ctx.progress->message("linear probe on the pretrained encoder's codes ...");
    auto codes_of = [&](const Tensor& x) {
      if (autoencoder) return algorithms::encode_all(*autoencoder, x);
      const bool was_training = encoder->is_training();
      encoder->eval();
      Tensor codes = algorithms::map_batches([&](const Tensor& batch) { return encoder->forward(batch); }, x);
      encoder->train(was_training);
      return codes;
    };
    linear_probe_metric(ctx, codes_of(images.all), images.all_labels, codes_of(images.test), images.test_labels);
  }

  // Two optimiser groups when the encoder trains too: the head at lr, the encoder at
  // lr * encoder_lr_scale (algorithms/train/finetune.h).
  const double encoder_lr_scale = ctx.params.get_float("encoder_lr_scale");
  if (!(encoder_lr_scale >= 0.0))
    throw UsageError("finetune: encoder_lr_scale must be non-negative, got " + std::to_string(encoder_lr_scale));
  const optim::AdamOptions adam_options =
      optim::AdamOptions(ctx.params.get_float("lr")).weight_decay(ctx.params.get_float("weight_decay"));
  optim::Adam adam(cake::train::finetune_param_groups(*classifier, adam_options, encoder_lr_scale), adam_options);
  if (!frozen) ctx.metrics["encoder_lr"] = adam.group_lr(1);
  std::vector<Tensor> encoder_before;
  for (const Tensor& p : classifier->encoder_parameters()) encoder_before.push_back(p.detach().clone());
  const Device device = ctx.device;
  const algorithms::BatchLoss loss = [&, device](const data::Batch& batch) {
    return nn::functional::nll_loss(classifier->forward(batch.x.to(device)), batch.y.to(device));
  };
  algorithms::TrainerOptions settings = trainer_options(ctx);
  const auto ddp = data_parallel(ctx, *classifier, settings, images.train.size(0));  // under mpirun
  algorithms::Trainer trainer(*classifier, adam, loss, settings);
  train_and_log(ctx, trainer, images, "negative log-likelihood");
  save(*classifier, ctx.path("model.safetensors").string());
  ctx.metrics["encoder_weight_change"] = cake::train::relative_change(classifier->encoder_parameters(), encoder_before);

  if (images.val.defined()) ctx.metrics["val_accuracy"] = accuracy(classifier->predict(images.val), images.val_labels);
  if (images.test.defined()) {
    const Tensor predicted = classifier->predict(images.test).cpu();
    ctx.metrics["test_loss"] = trainer.evaluate(*dataset(images.test, images.test_labels));
    ctx.metrics["test_accuracy"] = accuracy(predicted, images.test_labels);
    save_confusion_matrix(ctx, "confusion_matrix.png", "finetune: test set", images.test_labels, predicted, num_classes);
  }
}

CAKE_REGISTER_ALGORITHM({
    .name = "finetune",
    .summary = "classifier head (64 hidden, log-softmax, NLL) on a pretrained autoencoder's encoder, frozen or fine-tuned",
    .reference = "Bortoletto 2021, section 4; Shen 2024 (pretraining and fine-tuning)",
    .params = params(),
    .run = run,
    .example = "cake run conv-autoencoder --data fashion-mnist:train --out runs/cae --set epochs=1\n"
               "  cake run finetune --data fashion-mnist:train --set checkpoint=runs/cae/model.safetensors",
    .multi_rank = MultiRank::DataParallel,
});

}  // namespace
}  // namespace cake::cli::finetune_command
