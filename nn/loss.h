// loss.h: the losses of nn/functional.h as modules, libtorch's nn::MSELoss and the rest.
//
//   namespace nn = cake::nn;
//   nn::CrossEntropyLoss criterion;                                   // reduction Mean
//   cake::Tensor loss = criterion(logits, labels);                    // = F::cross_entropy(logits, labels)
//   nn::MSELoss summed(nn::MSELossOptions(cake::kSum));
//   nn::BCEWithLogitsLoss weighted(nn::BCEWithLogitsLossOptions().pos_weight(positive_weight));
//   nn::TripletMarginLoss triplet(nn::TripletMarginLossOptions().margin(0.5).swap(true));
//   cake::Tensor metric = triplet(anchor, positive, negative);        // embeddings [N, D] each
//   nn::GaussianNLLLoss heteroscedastic(nn::GaussianNLLLossOptions().full(true));
//   cake::Tensor nll = heteroscedastic(mean, targets, variance);      // a predicted mean and variance
//
// A loss module holds its options and nothing else (no parameters): forward(input, target), or
// forward of three tensors for the losses that compare three, calls the function of the same
// name with them. The option structs are the functional ones (F::MSELossFuncOptions ...), so a
// setting means the same in both spellings.
#pragma once

#include <string>

#include "cake/nn/functional.h"
#include "cake/nn/module.h"

namespace cake::nn {

using MSELossOptions = functional::MSELossFuncOptions;
using L1LossOptions = functional::L1LossFuncOptions;
using SmoothL1LossOptions = functional::SmoothL1LossFuncOptions;
using HuberLossOptions = functional::HuberLossFuncOptions;
using BCELossOptions = functional::BinaryCrossEntropyFuncOptions;
using BCEWithLogitsLossOptions = functional::BinaryCrossEntropyWithLogitsFuncOptions;
using NLLLossOptions = functional::NLLLossFuncOptions;
using CrossEntropyLossOptions = functional::CrossEntropyFuncOptions;
using KLDivLossOptions = functional::KLDivFuncOptions;
using TripletMarginLossOptions = functional::TripletMarginLossFuncOptions;
using MarginRankingLossOptions = functional::MarginRankingLossFuncOptions;
using CosineEmbeddingLossOptions = functional::CosineEmbeddingLossFuncOptions;
using HingeEmbeddingLossOptions = functional::HingeEmbeddingLossFuncOptions;
using SoftMarginLossOptions = functional::SoftMarginLossFuncOptions;
using MultiLabelSoftMarginLossOptions = functional::MultilabelSoftMarginLossFuncOptions;
using GaussianNLLLossOptions = functional::GaussianNLLLossFuncOptions;
using PoissonNLLLossOptions = functional::PoissonNLLLossFuncOptions;
using MultiMarginLossOptions = functional::MultiMarginLossFuncOptions;
using MultiLabelMarginLossOptions = functional::MultilabelMarginLossFuncOptions;
using TripletMarginWithDistanceLossOptions = functional::TripletMarginWithDistanceLossFuncOptions;
using CTCLossOptions = functional::CTCLossFuncOptions;

// One class per loss: Options, the function it calls and its printed name. CAKE_LOSS_MODULE's
// forward takes (input, target); CAKE_LOSS_MODULE_3's takes the three tensors named a, b, c.
#define CAKE_LOSS_MODULE_COMMON(Class, OptionsType)                                                 \
 public:                                                                                             \
  CAKE_HOLDER_CONSTRUCTORS(Class)                                                                    \
  Class() = default;                                                                                 \
  explicit Class(const OptionsType& options) : options(options) {}                                   \
  std::shared_ptr<Module> clone() const override { return std::make_shared<Class>(*this); }          \
  std::string name() const override { return #Class; }                                               \
  OptionsType options

#define CAKE_LOSS_MODULE(Class, OptionsType, function)                                              \
  class Class : public Module, public Holder<Class> {                                                 \
    CAKE_LOSS_MODULE_COMMON(Class, OptionsType);                                                     \
    Tensor forward(const Tensor& input, const Tensor& target) {                                      \
      return functional::function(input, target, options);                                           \
    }                                                                                                \
  }

#define CAKE_LOSS_MODULE_3(Class, OptionsType, function, a, b, c)                                   \
  class Class : public Module, public Holder<Class> {                                                 \
    CAKE_LOSS_MODULE_COMMON(Class, OptionsType);                                                     \
    Tensor forward(const Tensor& a, const Tensor& b, const Tensor& c) {                              \
      return functional::function(a, b, c, options);                                                 \
    }                                                                                                \
  }

CAKE_LOSS_MODULE(MSELoss, MSELossOptions, mse_loss);
CAKE_LOSS_MODULE(L1Loss, L1LossOptions, l1_loss);
CAKE_LOSS_MODULE(SmoothL1Loss, SmoothL1LossOptions, smooth_l1_loss);
CAKE_LOSS_MODULE(HuberLoss, HuberLossOptions, huber_loss);
CAKE_LOSS_MODULE(BCELoss, BCELossOptions, binary_cross_entropy);
CAKE_LOSS_MODULE(BCEWithLogitsLoss, BCEWithLogitsLossOptions, binary_cross_entropy_with_logits);
CAKE_LOSS_MODULE(NLLLoss, NLLLossOptions, nll_loss);
CAKE_LOSS_MODULE(CrossEntropyLoss, CrossEntropyLossOptions, cross_entropy);
CAKE_LOSS_MODULE(KLDivLoss, KLDivLossOptions, kl_div);
CAKE_LOSS_MODULE(HingeEmbeddingLoss, HingeEmbeddingLossOptions, hinge_embedding_loss);
CAKE_LOSS_MODULE(SoftMarginLoss, SoftMarginLossOptions, soft_margin_loss);
CAKE_LOSS_MODULE(MultiLabelSoftMarginLoss, MultiLabelSoftMarginLossOptions, multilabel_soft_margin_loss);
CAKE_LOSS_MODULE(PoissonNLLLoss, PoissonNLLLossOptions, poisson_nll_loss);
CAKE_LOSS_MODULE(MultiMarginLoss, MultiMarginLossOptions, multi_margin_loss);
CAKE_LOSS_MODULE(MultiLabelMarginLoss, MultiLabelMarginLossOptions, multilabel_margin_loss);
CAKE_LOSS_MODULE_3(TripletMarginLoss, TripletMarginLossOptions, triplet_margin_loss, anchor, positive, negative);
CAKE_LOSS_MODULE_3(TripletMarginWithDistanceLoss, TripletMarginWithDistanceLossOptions,
                   triplet_margin_with_distance_loss, anchor, positive, negative);
CAKE_LOSS_MODULE_3(MarginRankingLoss, MarginRankingLossOptions, margin_ranking_loss, input1, input2, target);
CAKE_LOSS_MODULE_3(CosineEmbeddingLoss, CosineEmbeddingLossOptions, cosine_embedding_loss, input1, input2, target);
CAKE_LOSS_MODULE_3(GaussianNLLLoss, GaussianNLLLossOptions, gaussian_nll_loss, input, target, var);

// forward(log_probs [T, N, C], targets, input_lengths [N], target_lengths [N]): functional::ctc_loss.
class CTCLoss : public Module, public Holder<CTCLoss> {
  CAKE_LOSS_MODULE_COMMON(CTCLoss, CTCLossOptions);
  Tensor forward(const Tensor& log_probs, const Tensor& targets, const Tensor& input_lengths,
                 const Tensor& target_lengths) {
    return functional::ctc_loss(log_probs, targets, input_lengths, target_lengths, options);
  }
};

#undef CAKE_LOSS_MODULE_3
#undef CAKE_LOSS_MODULE
#undef CAKE_LOSS_MODULE_COMMON

}  // namespace cake::nn
