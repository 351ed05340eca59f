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
// The masks (the paper's construction for deep MADEs): input d gets the degree m(d) = d (the natural order 1..D),
// hidden unit k of layer l a degree m^l(k) drawn uniformly from min_k' m^{l-1}(k') .. D-1 (so no
// unit is cut off from every output), and a weight is kept when
//   from unit k' of layer l-1 to unit k of layer l:   m^l(k) >= m^{l-1}(k')
//   from hidden unit k to output d:                    d > m^L(k).
// So output 1 sees no input at all: its logit is a bias, the first coordinate's marginal.
// Cake keeps one mask and the natural order (the paper's single-mask MADE); the masks are
// buffers, saved with the weights, so a loaded model is the same distribution.
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
  std::uint64_t mask_seed = 0;               // the draw of the hidden units' degrees
};

// The degrees of every layer: inputs 1..D, then each hidden layer's draws (the paper's m^l).
std::vector<std::vector<std::int64_t>> made_degrees(std::int64_t input_size, const std::vector<std::int64_t>& hidden,
                                                    std::uint64_t mask_seed);

class MADE : public nn::Module {
 public:
  MADE(std::int64_t input_size, MADEOptions options = {});

  // Logits [N, D] of p(x_d = 1 | x_<d) for rows x [N, D] (or images [N, C, H, W], flattened).
  Tensor forward(const Tensor& x) override;
  // log p(x) [N] in nats: sum_d x_d log s(l_d) + (1 - x_d) log(1 - s(l_d)), s the logistic function.
  Tensor log_prob(const Tensor& x);
  // n rows drawn from the model, coordinate 1 first: D forward passes, no gradient.
  Tensor sample(std::int64_t n);

  std::int64_t input_size() const { return input_size_; }
  const MADEOptions& options() const { return options_; }
  const std::vector<Tensor>& masks() const { return masks_; }  // [out, in] 0/1 per layer, output last
  std::string name() const override { return "MADE"; }

 private:
  std::int64_t input_size_;
  MADEOptions options_;
  std::vector<std::shared_ptr<nn::Linear>> layers_;  // hidden layers, then the output layer
  std::vector<Tensor> masks_;
};

}  // namespace cake::generative
