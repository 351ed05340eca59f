// infogan_nets.h: the generator G, and the discriminator D with its recognition network Q, of
// InfoGAN for 28x28 grey images (Chen, Duan, Houthooft, Schulman, Sutskever & Abbeel 2016,
// "InfoGAN: Interpretable Representation Learning by Information Maximizing Generative
// Adversarial Nets", NIPS, Appendix C.1, Table 1). The plain GAN uses the same two networks
// without codes and without Q.
//
//   cake::networks::GANGenerator g({.noise = 62, .categories = 10, .continuous = 2});
//   cake::networks::GANDiscriminator d({.categories = 10, .continuous = 2});
//   cake::Tensor images = g.forward(cake::rand({16, 74}) * 2 - 1);   // [16, 74] -> [16, 1, 28, 28] in (0, 1)
//   cake::networks::DiscriminatorOutput out = d.run(images);
//   // out.logit [16] (D(x) = sigmoid(logit)), out.category_logits [16, 10], out.continuous_mean [16, 2]
//
// Table 1 of the paper, as built here (k = 4x4 kernels, stride 2, padding 1, so 28 -> 14 -> 7):
//
//   D and Q (shared trunk)                      G
//   input 28x28 grey image                      input in R^74
//   conv 4x4, 64, stride 2, lReLU               FC 1024, ReLU, batchnorm
//   conv 4x4, 128, stride 2, lReLU, batchnorm   FC 7x7x128, ReLU, batchnorm
//   FC 1024, lReLU, batchnorm                   upconv 4x4, 64, stride 2, ReLU, batchnorm
//   D: FC 1 (the logit of D(x))                 upconv 4x4, 1 channel (then a sigmoid)
//   Q: FC 128, batchnorm, lReLU, FC outputs
//
// The order "linear, batchnorm, nonlinearity" is the authors' code's (github.com/openai/InfoGAN,
// infogan/models/regularized_gan.py: fully_connected, fc_batch_norm, then the activation); the
// table lists the activation first, but a batch norm after a ReLU would undo its zero floor.
// The 74 inputs are the paper's split for MNIST (Appendix C.1): 62 noise variables, one
// categorical code of 10 values (one-hot) and 2 continuous codes, in that order. The leaky ReLU
// rate is the paper's 0.1 (Appendix C; the released code's leaky_rectify defaults to 0.01). G
// ends in a sigmoid, so images are in (0, 1) like the data (the released code's MeanBernoulli
// output). Q's outputs: the categorical code's logits (softmax, Appendix C), and per continuous
// code the mean of a Gaussian posterior, plus its log standard deviation when learn_std is on
// ("the recognition network outputs its mean and standard deviation, where the standard
// deviation is parameterized through an exponential transformation", Appendix C). The authors'
// MNIST run fixes the standard deviation at 1 (launchers/run_mnist_exp.py, Uniform(1,
// fix_std=True)), the default here.
//
// Initialisation as DCGAN and the released code: weights N(0, 0.02^2), biases 0, batch-norm
// scales N(1, 0.02^2) (infogan/misc/custom_ops.py). A layer followed by a batch norm has no
// bias (the released code has one, but the batch norm subtracts any constant: its gradient is
// 0 and it never moves). `width` and `hidden` are Table 1's at their defaults; the tests shrink
// them to run in milliseconds.
#pragma once

#include <cstdint>
#include <memory>

#include "cake/nn/activation.h"
#include "cake/nn/conv.h"
#include "cake/nn/linear.h"
#include "cake/nn/module.h"
#include "cake/nn/normalization.h"
#include "cake/tensor/tensor.h"

namespace cake::networks {

struct GANGeneratorOptions {
  std::int64_t noise = 62;       // incompressible noise z
  std::int64_t categories = 10;  // values of the one categorical code (0: none, a plain GAN)
  std::int64_t continuous = 2;   // continuous codes
  std::int64_t hidden = 1024;    // width of the first FC layer
  std::int64_t width = 64;       // channels of the 14x14 upconv layer; the 7x7 maps have 2 width (128)
  std::int64_t channels = 1;     // of the images produced (28x28)
  // The input size: noise + categories (one-hot) + continuous = 74 for the paper's MNIST.
  std::int64_t input_dim() const { return noise + categories + continuous; }
};

class GANGenerator : public nn::Module {
 public:
  explicit GANGenerator(GANGeneratorOptions options = {});
  // latent [N, input_dim] -> images [N, channels, 28, 28] in (0, 1).
  Tensor forward(const Tensor& latent) override;
  const GANGeneratorOptions& options() const { return options_; }
  std::string name() const override { return "GANGenerator"; }

 private:
  GANGeneratorOptions options_;
  std::shared_ptr<nn::Linear> fc1_, fc2_;
  std::shared_ptr<nn::BatchNorm1d> bn1_, bn2_;
  std::shared_ptr<nn::ConvTranspose2d> up1_, up2_;
  std::shared_ptr<nn::BatchNorm2d> bn3_;
};

struct GANDiscriminatorOptions {
  std::int64_t categories = 10;  // Q's categorical outputs (0 and continuous = 0: no Q, a plain GAN)
  std::int64_t continuous = 2;   // Q's continuous codes
  bool learn_std = false;        // Q also outputs log sigma per continuous code (else sigma = 1)
  std::int64_t hidden = 1024;    // width of the shared FC layer
  std::int64_t q_hidden = 128;   // width of Q's own FC layer
  std::int64_t width = 64;       // channels of the first conv layer; the second has 2 width (128)
  std::int64_t channels = 1;     // of the 28x28 input images
  double leaky_slope = 0.1;      // Appendix C
  bool has_q() const { return categories > 0 || continuous > 0; }
};

// One pass of D and Q over a batch. Q's tensors are undefined when there is no Q (or no code
// of that kind); continuous_log_std is undefined unless learn_std.
struct DiscriminatorOutput {
  Tensor logit;               // [N]: D(x) = sigmoid(logit), the probability that x is real
  Tensor category_logits;     // [N, categories]: Q(c | x) = softmax
  Tensor continuous_mean;     // [N, continuous]
  Tensor continuous_log_std;  // [N, continuous]
};

class GANDiscriminator : public nn::Module {
 public:
  explicit GANDiscriminator(GANDiscriminatorOptions options = {});
  // images [N, channels, 28, 28] -> D's logit and Q's outputs, from one pass of the shared trunk.
  DiscriminatorOutput run(const Tensor& images);
  // The logit of D alone, [N] (Module's interface).
  Tensor forward(const Tensor& images) override { return run(images).logit; }
  // The shared trunk's output [N, hidden].
  Tensor trunk(const Tensor& images);
  // Every parameter of Q's own layers (a subset of parameters()).
  std::vector<Tensor> q_parameters() const;
  const GANDiscriminatorOptions& options() const { return options_; }
  std::string name() const override { return "GANDiscriminator"; }

 private:
  GANDiscriminatorOptions options_;
  std::shared_ptr<nn::Conv2d> conv1_, conv2_;
  std::shared_ptr<nn::BatchNorm2d> bn2_;
  std::shared_ptr<nn::Linear> fc_;
  std::shared_ptr<nn::BatchNorm1d> bn_fc_;
  std::shared_ptr<nn::Linear> d_head_;
  std::shared_ptr<nn::Linear> q_fc_;       // null without Q
  std::shared_ptr<nn::BatchNorm1d> q_bn_;  // null without Q
  std::shared_ptr<nn::Linear> q_out_;      // null without Q
};

}  // namespace cake::networks
