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
#include "cake/algorithms/train/finetune.h"
#include "cake/autograd/ops.h"
#include "cake/nn/checkpoint.h"
#include "cake/nn/functional.h"
#include "cake/optim/adam.h"
#include "tools/algorithms/network_runs.h"

namespace cake::cli {
namespace {

using namespace networks;

std::vector<ParamSpec> params() {
  std::vector<ParamSpec> p{
      {"checkpoint", ParamType::String, "", "model.safetensors (or checkpoint.safetensors) of an autoencoder run"},
      {"hidden", ParamType::Int, "64", "units of the hidden layer of the head (Bortoletto 2021, section 4, uses 64)"},
      {"freeze", ParamType::Bool, "true", "keep the encoder fixed and train only the head (as Bortoletto 2021, section 4)"}};
  return with_training_params(p, {.epochs = 10, .batch_size = 256, .lr = 1e-3, .weight_decay = 0.0, .patience = 5});
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

  const std::shared_ptr<algorithms::Autoencoder> autoencoder = algorithms::load_autoencoder(checkpoint, images.image_shape);
  ctx.progress->message("encoder from " + checkpoint + ": " + autoencoder->name() + ", " +
                        std::to_string(autoencoder->latent_dim()) + "-dimensional codes");
  auto classifier = std::make_shared<algorithms::EncoderClassifier>(
      autoencoder->encoder(), autoencoder->latent_dim(), num_classes, ctx.params.get_int("hidden"),
      ctx.params.get_bool("freeze"));
  classifier->to(ctx.device);
  optim::Adam adam(classifier->trainable_parameters(),
                   {.lr = ctx.params.get_float("lr"), .weight_decay = ctx.params.get_float("weight_decay")});
  const Device device = ctx.device;
  const algorithms::BatchLoss loss = [&, device](const data::Batch& batch) {
    return nn::functional::nll_loss(classifier->forward(batch.x.to(device)), batch.y.to(device));
  };
  algorithms::Trainer trainer(*classifier, adam, loss, trainer_options(ctx));
  train_and_log(ctx, trainer, images, "negative log-likelihood");
  save(*classifier, ctx.path("model.safetensors").string());

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
    .summary = "classifier head (64 hidden, log-softmax, NLL) on a pretrained autoencoder's frozen encoder",
    .reference = "Bortoletto 2021, section 4; Shen 2024 (pretraining and fine-tuning)",
    .params = params(),
    .run = run,
    .example = "cake run conv-autoencoder --data fashion-mnist:train --out runs/cae --set epochs=1\n"
               "  cake run finetune --data fashion-mnist:train --set checkpoint=runs/cae/model.safetensors",
});

}  // namespace
}  // namespace cake::cli
