// finetune.h: transfer learning from an autoencoder: its trained encoder, frozen, under a small
// classifier head that alone is trained on labels (Bortoletto 2021, section 4; Shen 2024, "Finetuning").
//
//   auto ae = std::make_shared<cake::networks::ConvAutoencoder>(16);
//   cake::load(*ae, "autoencoder.safetensors");                  // pretrained without labels
//   auto clf = std::make_shared<cake::train::EncoderClassifier>(ae->encoder(), 16, 10);
//   cake::optim::Adam adam(clf->head_parameters(), {.lr = 1e-3});
//   cake::Tensor loss = cake::nn::functional::nll_loss(clf->forward(images), labels);
//   cake::Tensor predicted = clf->predict(test_images);            // int64 [N]
//
// The head is Bortoletto's (2021): Linear(code -> 64) ReLU Linear(64 -> classes) and a log-softmax, so
// that the loss is the negative log-likelihood of the true class,
//     loss = -(1/N) sum_i log softmax(W2 relu(W1 z_i + b1) + b2)_{y_i},   z_i = encoder(x_i).
// (log-softmax + NLL is cross-entropy; log-softmax subtracts the row maximum first, so it never
// overflows.) With the encoder frozen its parameters get no gradient, and its forward pass runs
// without recording a graph at all: training costs the head's work plus one encoder pass.
//
// Full fine-tuning (freeze_encoder = false) is the recipe of Shen 2024, "Finetuning in practice" (
// pretrain on task A, giving weights W; initialise a second network with W; train it on task B,
// giving W'): the encoder moves too. A pretrained encoder is usually given a smaller learning
// rate than the freshly initialised head, so that the first large, noisy gradients of the random
// head do not wreck what pretraining learned; finetune_param_groups builds those two groups:
//
//   auto clf = std::make_shared<cake::train::EncoderClassifier>(ae->encoder(), 16, 10, 64, /*freeze_encoder=*/false);
//   const cake::optim::AdamOptions options(1e-3);
//   cake::optim::Adam adam(cake::train::finetune_param_groups(*clf, options, /*encoder_lr_scale=*/0.1),
//                          options);                           // head 1e-3, encoder 1e-4
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cake/nn/linear.h"
#include "cake/nn/module.h"
#include "cake/optim/optimizer.h"
#include "cake/tensor/tensor.h"

namespace cake::train {

class EncoderClassifier : public nn::Module {
 public:
  // encoder maps a batch of inputs to codes [N, code_dim]. With freeze_encoder its parameters
  // stop requiring gradients (they are shared with whatever module owns the encoder).
  EncoderClassifier(std::shared_ptr<nn::Module> encoder, std::int64_t code_dim, std::int64_t num_classes = 10,
                    std::int64_t hidden = 64, bool freeze_encoder = true);
  // Log-probabilities of the classes, [N, num_classes].
  Tensor forward(const Tensor& inputs) override;
  // The parameters to train: the head's (and the encoder's when it is not frozen).
  std::vector<Tensor> trainable_parameters() const;
  std::vector<Tensor> head_parameters() const;
  // The encoder's parameters (trained only when it is not frozen).
  std::vector<Tensor> encoder_parameters() const { return encoder_->parameters(); }
  // The most probable class of each input, int64 [N], in batches, without a graph.
  Tensor predict(const Tensor& inputs, std::int64_t batch_size = 1000);
  // A frozen encoder stays in evaluation mode whatever mode the classifier is put in.
  void train(bool on = true) override;
  bool encoder_frozen() const { return frozen_; }
  std::string name() const override { return "EncoderClassifier"; }

 private:
  std::shared_ptr<nn::Module> encoder_;
  std::shared_ptr<nn::Linear> hidden_layer_, output_layer_;
  bool frozen_;
};

// The optimiser groups of fine-tuning: group 0 the head, which takes the optimiser's defaults;
// group 1 (only when the encoder is not frozen) the encoder, with a copy of `defaults` whose
// learning rate is scaled by encoder_lr_scale (usually in (0, 1]; 0 keeps the encoder in place).
// Pass the same defaults to the optimiser: Adam(finetune_param_groups(clf, o, 0.1), o).
template <class Options>
std::vector<optim::OptimizerParamGroup> finetune_param_groups(const EncoderClassifier& model, const Options& defaults,
                                                              double encoder_lr_scale) {
  CAKE_CHECK(encoder_lr_scale >= 0.0, "finetune_param_groups: encoder_lr_scale must be non-negative, got ",
             encoder_lr_scale);
  std::vector<optim::OptimizerParamGroup> groups;
  groups.emplace_back(model.head_parameters());
  if (!model.encoder_frozen()) {
    Options encoder = defaults;
    encoder.lr = defaults.lr * encoder_lr_scale;
    groups.emplace_back(model.encoder_parameters(), optim::OptimizerOptions(encoder));
  }
  return groups;
}

// The relative distance ||W' - W|| / ||W|| between the encoder's parameters now and `before`
// (a copy taken when fine-tuning started): 0 for a frozen encoder, how far W moved otherwise.
double relative_change(const std::vector<Tensor>& now, const std::vector<Tensor>& before);

}  // namespace cake::train

// Compatibility: the spellings from before algorithms/ was split into family namespaces
// (docs/architecture.md, "The algorithms: families and namespaces"). They name the same
// entities; new code uses cake::train.
namespace cake::algorithms {
using ::cake::train::EncoderClassifier;
}  // namespace cake::algorithms
