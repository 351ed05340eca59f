// adam_family.h (internal): the steps Adam, AdamW, Adamax, NAdam and RAdam share, written once.
//
// Every member of the family keeps an exponential moving average of the gradient, m ("exp_avg"),
// starts it at zero and so divides by 1 - beta1^t to undo that start (Kingma & Ba 2015, section
// 3); all but Adamax also average the squared gradient, v ("exp_avg_sq"), with the same
// correction 1 - beta2^t. Their L2 weight decay is added to the gradient before the averages
// (Adadelta's too).
#pragma once

#include <cmath>

#include "cake/tensor/tensor.h"

namespace cake::optim::detail {

// The gradient with PyTorch's L2 weight decay, g + weight_decay p (the gradient of
// weight_decay / 2 ||p||^2 added), or g itself without decay.
inline Tensor with_l2_decay(const Tensor& grad, const Tensor& param, double weight_decay) {
  return weight_decay != 0.0 ? grad + param * weight_decay : grad;
}

// m <- beta1 m + (1 - beta1) g   (Kingma & Ba, Algorithm 1)
inline void update_first_moment(Tensor& exp_avg, const Tensor& grad, double beta1) {
  exp_avg.mul_(beta1).add_(grad, 1.0 - beta1);
}

// v <- beta2 v + (1 - beta2) g^2
inline void update_second_moment(Tensor& exp_avg_sq, const Tensor& grad, double beta2) {
  exp_avg_sq.mul_(beta2).add_(grad * grad, 1.0 - beta2);
}

// 1 - beta^t: the weight an average started at zero has put on the gradients so far. Dividing
// by it makes the average an unbiased estimate (Kingma & Ba, section 3).
inline double bias_correction(double beta, double t) { return 1.0 - std::pow(beta, t); }

// The checks torch.optim makes of the options every member has.
inline void check_adam_family_options(const char* optimizer, double lr, double beta1, double beta2, double eps,
                                      double weight_decay) {
  CAKE_CHECK(lr >= 0.0, optimizer, ": lr must be non-negative, got ", lr);
  CAKE_CHECK(beta1 >= 0.0 && beta1 < 1.0 && beta2 >= 0.0 && beta2 < 1.0, optimizer,
             ": betas must lie in [0, 1), got (", beta1, ", ", beta2, ")");
  CAKE_CHECK(eps >= 0.0, optimizer, ": eps must be non-negative, got ", eps);
  CAKE_CHECK(weight_decay >= 0.0, optimizer, ": weight_decay must be non-negative, got ", weight_decay);
}

}  // namespace cake::optim::detail
