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
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cake/nn/linear.h"
#include "cake/nn/module.h"
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

}  // namespace cake::train

// Compatibility: the spellings from before algorithms/ was split into family namespaces
// (docs/architecture.md, "The algorithms: families and namespaces"). They name the same
// entities; new code uses cake::train.
namespace cake::algorithms {
using ::cake::train::EncoderClassifier;
}  // namespace cake::algorithms
