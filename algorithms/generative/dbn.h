// dbn.h: the deep belief network, a stack of restricted Boltzmann machines trained one layer at a
// time (Hinton, Osindero & Teh 2006, "A fast learning algorithm for deep belief nets", Neural
// Computation), and its use to start a deep autoencoder (Hinton & Salakhutdinov 2006, "Reducing
// the dimensionality of data with neural networks", Science).
//
//   cake::generative::DeepBeliefNetwork dbn({.layer_sizes = {1000, 500, 250, 30}, .random_state = 0});
//   dbn.fit(X);                                    // X [n, 784] in [0, 1]: four RBMs, bottom up
//   cake::Tensor codes = dbn.transform(X);         // [n, 30]: the up-pass of means
//   auto autoencoder = dbn.unroll({1, 28, 28});    // 784-1000-500-250-30-250-500-1000-784
//   cake::Tensor dreams = dbn.sample(X.narrow(0, 0, 10), 1000);   // top-level Gibbs, then down
//
// Greedy learning (Hinton et al. 2006, section 4): fit an RBM to the data; its hidden units'
// probabilities given each training vector become the data of the next RBM, and so on up. Each
// new layer improves a variational lower bound on the log-likelihood of the data (section 4's
// argument, under conditions the practice relaxes). The result is a generative model whose top
// two layers form an undirected associative memory (the top RBM) and whose lower layers are
// directed, top-down, through each RBM's p(v | h) (Figure 1): sample() draws from it.
//
// The deep autoencoder (Hinton & Salakhutdinov 2006, Figure 1, "unrolling"): the encoder applies
// the RBMs' recognition weights bottom up (x -> sigmoid(W_1 x + b_1) -> ... -> the code), the
// decoder their transposes top down with each RBM's visible biases (code -> sigmoid(W_L^T h +
// a_L) -> ... -> sigmoid(W_1^T h + a_1)). The code layer is linear: the top RBM has Gaussian
// hidden units (gaussian_top), whose mean is their linear input. Back-propagation then fine-tunes
// the whole network on the reconstruction error (the paper minimises the cross-entropy by
// conjugate gradients; the `dbn` command uses Adam, see docs/algorithms/rbm_dbn.md).
//
// Settings (hinton_rbm_options) are those of the authors' code for the paper (rbm.m,
// rbmhidlinear.m, mnistdeepauto.m): CD-1 with sampled binary hidden states and visible
// probabilities, learning rate 0.1 (0.001 for the Gaussian top layer), momentum 0.5 for 5 epochs
// then 0.9, weight decay 2e-4, weights from N(0, 0.1^2), batches of 100; 50 epochs a layer in the
// paper (the released script's own setting is 10).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cake/algorithms/generative/rbm.h"
#include "cake/algorithms/networks/autoencoder.h"
#include "cake/tensor/safetensors.h"
#include "cake/tensor/tensor.h"

namespace cake::generative {

// The RBM settings of Hinton & Salakhutdinov's code (above), for every layer but the top's learning rate.
RBMOptions hinton_rbm_options();

struct DBNOptions {
  // Hidden units of each RBM, bottom up; the first RBM's visible units are the data's features.
  // The paper's MNIST autoencoder: 784-1000-500-250-30.
  std::vector<std::int64_t> layer_sizes = {1000, 500, 250, 30};
  RBMOptions rbm = hinton_rbm_options();  // every layer's settings; n_components and random_state are set per layer
  // The top RBM's hidden units are linear with unit-variance Gaussian noise (the code layer).
  bool gaussian_top = true;
  double top_learning_rate = 0.001;  // the top RBM's learning rate when gaussian_top (rbmhidlinear.m)
  std::optional<std::uint64_t> random_state = std::nullopt;  // layer l's RBM gets random_state + l
  // After every epoch of every layer: the layer (from 0), the epoch (from 1), its reconstruction error.
  std::function<void(std::size_t layer, std::int64_t epoch, double reconstruction_error)> on_epoch = {};
};

class DeepBeliefNetwork {
 public:
  explicit DeepBeliefNetwork(DBNOptions options = {});

  // Greedy layer-wise training: RBM l is fitted to the hidden means of RBM l - 1 given the data.
  DeepBeliefNetwork& fit(const Tensor& x);
  // The up-pass: each layer's mean_hidden applied in turn; [n, layer_sizes.back()].
  Tensor transform(const Tensor& x) const;
  // Draws from the generative model: the data `start` [n, d] is passed up to the top RBM's visible
  // layer, that RBM's Gibbs chain runs `gibbs_steps` steps, and its visible probabilities come down
  // through the directed layers as means (p(v | h) of each lower RBM). [n, d], in [0, 1].
  Tensor sample(const Tensor& start, std::int64_t gibbs_steps) const;
  // The deep autoencoder with these weights (Figure 1): MLPAutoencoder with hidden layer_sizes
  // minus the last, code size layer_sizes.back(), logistic hidden units, a sigmoid output, and
  // encoder / decoder weights W_l / W_l^T with biases b_l / a_l. A Bernoulli top gives a code
  // that is the linear input of the top layer's units (their logits), not their probabilities.
  std::shared_ptr<networks::MLPAutoencoder> unroll(const Shape& image_shape) const;

  const std::vector<RBM>& layers() const { return layers_; }
  bool fitted() const { return !layers_.empty() && layers_.back().fitted(); }
  const DBNOptions& options() const { return options_; }

  // The fitted stack as named tensors ("layer<l>.weights", ".hidden_bias", ".visible_bias") and
  // back: a DBN saved with cake::save(dbn.state_dict(), path) is rebuilt by load_state_dict.
  TensorMap state_dict() const;
  void load_state_dict(const TensorMap& state, const std::string& source = "state_dict");

 private:
  RBMOptions layer_options(std::size_t layer) const;

  DBNOptions options_;
  std::vector<RBM> layers_;
};

}  // namespace cake::generative
