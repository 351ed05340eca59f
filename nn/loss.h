// loss.h: the losses of nn/functional.h as modules, libtorch's nn::MSELoss and the rest.
//
//   namespace nn = cake::nn;
//   nn::CrossEntropyLoss criterion;                                   // reduction Mean
//   cake::Tensor loss = criterion(logits, labels);                    // = F::cross_entropy(logits, labels)
//   nn::MSELoss summed(nn::MSELossOptions(cake::kSum));
//   nn::BCEWithLogitsLoss weighted(nn::BCEWithLogitsLossOptions().pos_weight(positive_weight));
//
// A loss module holds its options and nothing else (no parameters): forward(input, target)
// calls the function of the same name with them. The option structs are the functional ones
// (F::MSELossFuncOptions ...), so a setting means the same in both spellings.
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

// One class per loss: Options, the function it calls and its printed name.
#define CAKE_LOSS_MODULE(Class, OptionsType, function)                                              \
  class Class : public Module, public Holder<Class> {                                                 \
   public:                                                                                           \
    CAKE_HOLDER_CONSTRUCTORS(Class)                                                                  \
    Class() = default;                                                                               \
    explicit Class(const OptionsType& options) : options(options) {}                                 \
    std::shared_ptr<Module> clone() const override { return std::make_shared<Class>(*this); }        \
    Tensor forward(const Tensor& input, const Tensor& target) {                                      \
      return functional::function(input, target, options);                                           \
    }                                                                                                \
    std::string name() const override { return #Class; }                                             \
    OptionsType options;                                                                             \
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

#undef CAKE_LOSS_MODULE

}  // namespace cake::nn
