// finetune.cpp: the classifier head on a (frozen) pretrained encoder.
#include "cake/algorithms/train/finetune.h"

#include <cmath>

#include "cake/algorithms/networks/autoencoder.h"
#include "cake/autograd/grad_mode.h"
#include "cake/autograd/ops.h"
#include "cake/nn/functional.h"

namespace cake::train {

namespace F = nn::functional;
using networks::map_batches;  // algorithms/networks/autoencoder.h

EncoderClassifier::EncoderClassifier(std::shared_ptr<nn::Module> encoder, std::int64_t code_dim,
                                     std::int64_t num_classes, std::int64_t hidden, bool freeze_encoder)
    : encoder_(std::move(encoder)), frozen_(freeze_encoder) {
  CAKE_CHECK(encoder_ != nullptr, "EncoderClassifier: the encoder is null");
  CAKE_CHECK(code_dim > 0 && num_classes >= 2 && hidden > 0, "EncoderClassifier: needs code_dim > 0, hidden > 0 and ",
             "at least 2 classes, got code_dim ", code_dim, ", hidden ", hidden, ", ", num_classes, " classes");
  register_module("encoder", encoder_);
  hidden_layer_ = register_module("fc1", std::make_shared<nn::Linear>(code_dim, hidden));
  output_layer_ = register_module("fc2", std::make_shared<nn::Linear>(hidden, num_classes));
  if (frozen_) {
    for (Tensor p : encoder_->parameters()) p.requires_grad_(false);
    encoder_->eval();
  }
}

Tensor EncoderClassifier::forward(const Tensor& inputs) {
  Tensor codes;
  if (frozen_) {
    NoGradGuard no_grad;  // nothing below the codes needs a gradient: record no graph there
    codes = encoder_->forward(inputs);
  } else {
    codes = encoder_->forward(inputs);
  }
  CAKE_CHECK(codes.dim() == 2 && codes.size(1) == hidden_layer_->in_features, "EncoderClassifier: the encoder gave ",
             "codes of shape ", codes.sizes(), ", expected [N, ", hidden_layer_->in_features, "]");
  return F::log_softmax(output_layer_->forward(F::relu(hidden_layer_->forward(codes))), 1);
}

std::vector<Tensor> EncoderClassifier::head_parameters() const {
  std::vector<Tensor> params = hidden_layer_->parameters();
  for (const Tensor& p : output_layer_->parameters()) params.push_back(p);
  return params;
}

std::vector<Tensor> EncoderClassifier::trainable_parameters() const {
  if (frozen_) return head_parameters();
  return parameters();
}

Tensor EncoderClassifier::predict(const Tensor& inputs, std::int64_t batch_size) {
  const bool was_training = is_training();
  eval();
  Tensor classes = map_batches([&](const Tensor& x) { return forward(x).argmax(1); }, inputs, batch_size);
  train(was_training);
  return classes;
}

double relative_change(const std::vector<Tensor>& now, const std::vector<Tensor>& before) {
  CAKE_CHECK(now.size() == before.size(), "relative_change: ", now.size(), " tensors now, ", before.size(), " before");
  double moved = 0.0, size = 0.0;
  for (std::size_t i = 0; i < now.size(); ++i) {
    CAKE_CHECK(now[i].sizes() == before[i].sizes(), "relative_change: tensor ", i, " has shape ", now[i].sizes(),
               " now and ", before[i].sizes(), " before");
    const Tensor a = now[i].detach().to(kCPU, kFloat64), b = before[i].detach().to(kCPU, kFloat64);
    moved += (a - b).square().sum().item<double>();
    size += b.square().sum().item<double>();
  }
  return size > 0.0 ? std::sqrt(moved / size) : std::sqrt(moved);
}

void EncoderClassifier::train(bool on) {
  nn::Module::train(on);
  if (frozen_) encoder_->eval();
}

}  // namespace cake::train
