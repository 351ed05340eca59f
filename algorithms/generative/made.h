// made.h: MADE, the masked autoencoder for distribution estimation (Germain, Gregor, Murray &
// Larochelle 2015, "MADE: Masked Autoencoder for Distribution Estimation", ICML): an exact
// density model of binary vectors, trained by maximum likelihood.
//
//   cake::generative::MADE made(784, {.hidden = {500}, .mask_seed = 0});
//   cake::Tensor x = cake::bernoulli(cake::rand({32, 784}));   // binary rows
//   cake::Tensor log_p = made.log_prob(x);     // [32], log p(x) in nats, exact
//   cake::Tensor loss = -log_p.mean();         // the lecture's L(D) = sum_x -log p(x), per image
//   cake::Tensor draws = made.sample(16);      // [16, 784], one coordinate at a time
//
// The model: the chain rule, log p(x) = sum_d log p(x_d | x_<d), each conditional a Bernoulli
// whose logit is output d of an autoencoder. Masks on the weights make output d depend on the
// inputs before d only (the autoregressive property), so the D conditionals come out of one
// forward pass and their product is a normalised distribution over all 2^D binary vectors.
// The masks (the paper's construction for deep MADEs): input d gets a degree m(d), its place in
// the order (1..D), hidden unit k of layer l a degree m^l(k) drawn uniformly from
// min_k' m^{l-1}(k') .. D-1 (so no unit is cut off from every output), and a weight is kept when
//   from unit k' of layer l-1 to unit k of layer l:   m^l(k) >= m^{l-1}(k')
//   from hidden unit k to output d:                    m(d) > m^L(k).
// So the first coordinate of the order sees no input at all: its logit is a bias, its marginal.
//
// Several masks (n_masks > 1, the paper's connectivity-agnostic training; with order_agnostic
// each mask also draws its own order of the inputs): mask k is drawn from (mask_seed, k), the
// training switches masks between mini-batches (set_mask), and the model is the uniform mixture
// of the n_masks distributions, log p(x) = log mean_k p_k(x) (ensemble_log_prob), each p_k exact.
// The current mask is a buffer (with its index), saved with the weights.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cake/nn/linear.h"
#include "cake/nn/module.h"
#include "cake/tensor/tensor.h"

namespace cake::generative {

struct MADEOptions {
  std::vector<std::int64_t> hidden = {500};  // hidden layer sizes (the paper's MNIST MADE: one layer of 500)
  std::uint64_t mask_seed = 0;               // the draws of the degrees
  std::int64_t n_masks = 1;                  // masks the model mixes over (1: the single-mask MADE)
  bool order_agnostic = false;               // each mask draws an order of the inputs (false: 1..D)
};

// The degrees of mask `mask_index`: the inputs' (1..D, or a drawn permutation of it when
// order_agnostic), then each hidden layer's draws (the paper's m^l).
std::vector<std::vector<std::int64_t>> made_degrees(std::int64_t input_size, const std::vector<std::int64_t>& hidden,
                                                    std::uint64_t mask_seed, std::int64_t mask_index = 0,
                                                    bool order_agnostic = false);

class MADE : public nn::Module {
 public:
  MADE(std::int64_t input_size, MADEOptions options = {});

  // Logits [N, D] of p(x_d = 1 | x_<d) under the current mask, for rows x [N, D] (or images
  // [N, C, H, W], flattened).
  Tensor forward(const Tensor& x) override;
  // log p_k(x) [N] in nats under the current mask k: sum_d x_d log s(l_d) + (1 - x_d) log(1 - s(l_d)),
  // s the logistic function. The training objective (one mask per mini-batch).
  Tensor log_prob(const Tensor& x);
  // log mean_k p_k(x) [N] over all n_masks masks: the model's distribution (log_prob when
  // n_masks = 1). For evaluation: it switches the masks in place, so it records no gradient
  // (with one mask it is log_prob, gradient included). Leaves the current mask as it was.
  Tensor ensemble_log_prob(const Tensor& x);
  // n rows drawn from the model (each row from a mask drawn uniformly), in each mask's order: D
  // forward passes per mask used, no gradient.
  Tensor sample(std::int64_t n);

  void set_mask(std::int64_t index);  // mask `index` of 0 .. n_masks - 1
  std::int64_t mask_index() const;
  std::int64_t n_masks() const { return options_.n_masks; }
  std::int64_t input_size() const { return input_size_; }
  const MADEOptions& options() const { return options_; }
  const std::vector<Tensor>& masks() const { return masks_; }  // the current [out, in] 0/1 per layer, output last
  std::vector<std::int64_t> order() const;                     // the current mask's inputs, first to last
  std::string name() const override { return "MADE"; }

 private:
  std::int64_t input_size_;
  MADEOptions options_;
  std::vector<std::shared_ptr<nn::Linear>> layers_;  // hidden layers, then the output layer
  std::vector<Tensor> masks_;
  Tensor mask_index_;  // int64 scalar buffer
};

}  // namespace cake::generative
