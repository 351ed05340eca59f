// dbm.h: the deep Boltzmann machine (Salakhutdinov & Hinton 2009, "Deep Boltzmann Machines",
// AISTATS): several layers of binary hidden units, every connection between neighbouring layers
// undirected, trained by mean-field inference for the data and persistent Markov chains for the
// model.
//
//   cake::generative::DBMOptions options{.layer_sizes = {500, 1000}, .random_state = 0};
//   options.pretraining.n_iter = 10;
//   options.n_iter = 10;
//   cake::generative::DeepBoltzmannMachine dbm(options);
//   dbm.fit(X);                                  // X [n, 784] in [0, 1]
//   cake::Tensor features = dbm.transform(X);    // [n, 1000]: mean-field q(h2 = 1 | v)
//   cake::Tensor samples = dbm.sample(X.narrow(0, 0, 10), 100);   // Gibbs chains from images
//
// The model (section 2, eq. 1, here with biases, and with any number L of hidden layers h^1..h^L,
// h^0 = v):
//   E(h^0, ..., h^L) = -sum_l (h^{l-1})^T W_l^T h^l - sum_l b_l . h^l        W_l [n_l, n_{l-1}]
// Each layer depends only on its two neighbours, so a layer's units are independent given them:
//   p(h^l_j = 1 | h^{l-1}, h^{l+1}) = sigmoid(W_l h^{l-1} + W_{l+1}^T h^{l+1} + b_l)_j    (section 2)
// and the odd layers are independent given the even ones (v included), which makes a Gibbs sweep
// two half-steps: the odd layers given the even, then the even given the odd.
//
// Learning (section 3, Algorithm 1). The likelihood's gradient for W_l is
// E_data[h^l (h^{l-1})^T] - E_model[h^l (h^{l-1})^T]; unlike an RBM's, even the data term needs the
// posterior over the hidden layers, which is intractable. Both are approximated:
//   * data term: the mean-field posterior q(h | v) = prod_j mu_j, found by the fixed-point
//     equations (section 3), mu^l = sigmoid(W_l mu^{l-1} + W_{l+1}^T mu^{l+1} + b_l), mu^0 = v, run
//     until no mu moves more than mean_field_tol (at most mean_field_steps sweeps); started from
//     the bottom-up pass with doubled weights below the top, the recognition that the pretraining
//     was made for (Salakhutdinov & Larochelle 2010);
//   * model term: n_particles persistent chains ("fantasy particles", Tieleman 2008), advanced
//     gibbs_steps sweeps per update.
// Pretraining (section 3.1): a stack of RBMs as for a deep belief network, but the bottom RBM's
// p(h | v) uses 2 W (its visible layer counted twice, as in the DBM h^1 hears v and h^2) and the
// top RBM's p(v | h) uses 2 W; an RBM between them is trained plainly and its weights halved
// (Salakhutdinov & Hinton 2012, "An efficient learning procedure for deep Boltzmann machines").
// A hidden layer's bias is the mean of the two RBM biases that describe it.
//
// Settings: the paper's MNIST model is 784-500-1000, 100 particles, pretraining 100 epochs a layer
// and 500 epochs of joint training. The defaults here follow the authors' RBM settings (momentum
// 0.5 then 0.9, weight decay 2e-4, batches of 100) with the learning rate decaying geometrically
// from learning_rate to final_learning_rate over the epochs (Algorithm 1: "decrease alpha_t").
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "cake/algorithms/generative/rbm.h"
#include "cake/tensor/safetensors.h"
#include "cake/tensor/tensor.h"

namespace cake::generative {

struct DBMOptions {
  std::vector<std::int64_t> layer_sizes = {500, 1000};  // hidden layers, bottom up (the paper's MNIST DBM)
  // Settings of the pretraining RBMs (n_components, scales and random_state are set per layer).
  RBMOptions pretraining = {.learning_rate = 0.05, .batch_size = 100, .n_iter = 100, .persistent = false,
                            .sample_visible = false, .momentum = 0.5, .final_momentum = 0.9, .weight_decay = 2e-4,
                            .init_std = 0.01, .shuffle = true};
  std::int64_t n_iter = 500;  // epochs of joint training
  std::int64_t batch_size = 100;
  std::int64_t n_particles = 100;
  // Sweeps of the persistent chains per update. With 1 the chains lag behind the moving model and
  // joint training lowered the exact likelihood of the test data in 5 seeds of 6; with 5 it raised
  // it in all 6 (test_dbm.cpp, docs/algorithms/rbm_dbn.md).
  std::int64_t gibbs_steps = 5;
  std::int64_t mean_field_steps = 30;
  double mean_field_tol = 1e-7;
  double learning_rate = 0.001;
  double final_learning_rate = 1e-5;
  double momentum = 0.5, final_momentum = 0.9;
  std::int64_t momentum_epochs = 5;
  double weight_decay = 2e-4;
  std::optional<std::uint64_t> random_state = std::nullopt;  // pretraining layer l: random_state + 1 + l
  // After every pretraining epoch (layer from 0) and every joint epoch (layer = -1): the epoch
  // (from 1) and the mean squared error of the one-step reconstructions, respectively of the
  // mean-field reconstructions p(v | mu^1) of the epoch's batches.
  std::function<void(int layer, std::int64_t epoch, double reconstruction_error)> on_epoch = {};
};

class DeepBoltzmannMachine {
 public:
  explicit DeepBoltzmannMachine(DBMOptions options = {});

  DeepBoltzmannMachine& fit(const Tensor& x);       // pretrain, then train
  DeepBoltzmannMachine& pretrain(const Tensor& x);  // the RBM stack, composed (section 3.1)
  DeepBoltzmannMachine& train(const Tensor& x);     // n_iter epochs of Algorithm 1 from the current weights

  // The mean-field posterior of every hidden layer given v: {mu^1, ..., mu^L}.
  std::vector<Tensor> mean_field(const Tensor& v) const;
  Tensor transform(const Tensor& x) const;  // mu^L, the top layer's mean-field posterior
  // Gibbs chains started at `start` [n, d] (the hidden layers from its mean-field posterior), run
  // `steps` sweeps; returns the last visible probabilities p(v | h^1).
  Tensor sample(const Tensor& start, std::int64_t steps) const;
  // The exact log-likelihood of each row [n] (float64) for a two-layer DBM whose first hidden layer
  // has at most 20 units (given h^1, v and h^2 are independent, so sums over h^1 suffice).
  Tensor log_likelihood(const Tensor& x) const;

  const std::vector<Tensor>& weights() const { return weights_; }  // W_l [n_l, n_{l-1}]
  const std::vector<Tensor>& biases() const { return biases_; }    // b_0 (visible), b_1, ..., b_L
  bool fitted() const { return !weights_.empty(); }
  const DBMOptions& options() const { return options_; }
  // Sets the parameters: weights W_1..W_L and biases b_0..b_L (e.g. of a test or another run).
  void set_parameters(std::vector<Tensor> weights, std::vector<Tensor> biases);

  // "weight<l>" (l from 1) and "bias<l>" (l from 0), and back.
  TensorMap state_dict() const;
  void load_state_dict(const TensorMap& state, const std::string& source = "state_dict");

 private:
  // The input of layer l (1..L) from its neighbours' states (below, and above unless l = L).
  Tensor layer_input(std::size_t l, const Tensor& below, const Tensor* above) const;
  Tensor visible_mean(const Tensor& h1) const;
  // One Gibbs sweep of `states` {v, h^1, ..., h^L}: odd layers, then even layers (v included).
  void gibbs_sweep(std::vector<Tensor>& states) const;
  Tensor checked(const Tensor& x, const char* who) const;

  DBMOptions options_;
  std::vector<Tensor> weights_, biases_;
};

}  // namespace cake::generative
