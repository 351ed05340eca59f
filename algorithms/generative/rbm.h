// rbm.h: the restricted Boltzmann machine, an undirected generative model of binary vectors
// (Smolensky 1986; Hinton 2002, "Training products of experts by minimizing contrastive
// divergence"), trained by contrastive divergence or its persistent variant.
//
//   cake::generative::RBM rbm({.n_components = 256, .learning_rate = 0.1, .n_iter = 10, .random_state = 0});
//   rbm.fit(X);                              // X [n, d], values in [0, 1] (pixels / 255)
//   cake::Tensor h = rbm.transform(X);       // [n, 256]: P(h_j = 1 | v), the learnt features
//   cake::Tensor pl = rbm.score_samples(X);  // [n]: log pseudo-likelihood of each row
//   cake::Tensor v = rbm.gibbs(X);           // one step of the Markov chain: samples [n, d]
//
// The model (Hinton 2010, "A Practical Guide to Training Restricted Boltzmann Machines", UTML
// TR 2010-003; his notation: visible v_i with biases a_i, hidden h_j with biases b_j):
//   eq. 1  E(v, h) = -sum_i a_i v_i - sum_j b_j h_j - sum_ij v_i h_j w_ij
//   eq. 2  p(v, h) = exp(-E(v, h)) / Z,  Z = sum_{v,h} exp(-E(v, h))
// No two hidden units are connected, nor two visible ones, so each layer is independent given
// the other (eq. 7 and 8):
//   p(h_j = 1 | v) = sigmoid(b_j + sum_i v_i w_ij)      mean_hidden
//   p(v_i = 1 | h) = sigmoid(a_i + sum_j h_j w_ij)      mean_visible
// and summing out h gives the free energy (section 16.1), p(v) = exp(-F(v)) / Z:
//   F(v) = -sum_i a_i v_i - sum_j softplus(b_j + sum_i v_i w_ij)            free_energy
// Learning ascends the log-likelihood, whose gradient (eq. 5) is a difference of correlations,
//   d log p(v) / d w_ij = <v_i h_j>_data - <v_i h_j>_model,
// the first under p(h | v) with v from the data, the second under the model, which no one can
// compute. Contrastive divergence (Hinton 2002; the guide's eq. 9) replaces the model's
// correlations with those after k steps of Gibbs sampling started at the data; persistent CD
// (Tieleman 2008, "Training restricted Boltzmann machines using approximations to the
// likelihood gradient") keeps one set of chains running across updates instead, so that they
// wander towards the model's distribution. The update of every parameter is
// contrastive_divergence_gradient: it is exactly the gradient of F(v_model) - F(v_data), mean over
// each batch, with the negative samples held fixed (test_rbm.cpp checks it against autograd).
//
// Gaussian hidden units (hidden_units = Gaussian, Hinton & Salakhutdinov 2006, "Reducing the
// dimensionality of data with neural networks", Science, the code layer of their autoencoder;
// the authors' rbmhidlinear.m): h_j = b_j + sum_i v_i w_ij + N(0, 1) noise, so E gains
// sum_j h_j^2 / 2, mean_hidden is the linear input itself and the free energy's softplus
// becomes x_j^2 / 2 (plus a constant, dropped: it cancels in every ratio used here).
//
// Defaults are scikit-learn's BernoulliRBM (n_components 256, learning rate 0.1, batches of 10
// taken in row order, 10 epochs, persistent CD-1 with sampled visible states, weights from
// N(0, 0.01^2)); Hinton's recipe is weight_decay 2e-4, momentum 0.5 then 0.9 after 5 epochs,
// batches of 100, plain CD-1 with the visible probabilities (sample_visible = false), weights from
// N(0, 0.1^2). Float32 and float64 data are fitted in their own precision. With a random_state
// every draw (fit, partial_fit, the samplers) comes from the model's own stream, seeded by fit,
// as scikit-learn's; without one, from the global stream.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "cake/tensor/random.h"
#include "cake/tensor/tensor.h"

namespace cake::generative {

// Bernoulli: binary hidden units (eq. 7). Gaussian: linear units with unit-variance noise.
enum class HiddenUnits { Bernoulli, Gaussian };
HiddenUnits parse_hidden_units(const std::string& name);  // "bernoulli", "gaussian"

struct RBMOptions {
  std::int64_t n_components = 256;  // hidden units
  double learning_rate = 0.1;
  std::int64_t batch_size = 10;
  std::int64_t n_iter = 10;  // epochs over the data
  std::int64_t cd_k = 1;     // Gibbs steps in the negative phase
  // true: persistent chains (Tieleman 2008), one per batch row, as scikit-learn; false: each
  // negative phase starts at the batch's own data (Hinton 2002).
  bool persistent = true;
  // The negative phase's last visible states: binary samples (scikit-learn), or their
  // probabilities p(v | h), which removes sampling noise from the update (Hinton 2010, section 3.2).
  bool sample_visible = true;
  // The update is inc <- momentum inc + learning_rate (gradient - weight_decay W); parameters += inc.
  // momentum for the first momentum_epochs epochs, final_momentum after (Hinton 2010, section 9).
  double momentum = 0.0;
  double final_momentum = 0.0;
  std::int64_t momentum_epochs = 5;
  double weight_decay = 0.0;  // L2 on the weights only (section 10)
  double init_std = 0.01;     // weights from N(0, init_std^2), biases 0 (section 8)
  bool shuffle = false;       // false: batches in row order (scikit-learn); true: a new order each epoch
  HiddenUnits hidden_units = HiddenUnits::Bernoulli;
  // Multipliers of the weights in p(h | v) (up) and p(v | h) (down): 2 and 1 train the bottom
  // layer of a deep Boltzmann machine, 1 and 2 its top layer (Salakhutdinov & Hinton 2009,
  // section 3.1; dbm.h). The free energy and the exact quantities below need both at 1.
  double up_scale = 1.0;
  double down_scale = 1.0;
  std::optional<std::uint64_t> random_state = std::nullopt;
  // After each epoch: its number (from 1) and the mean squared error per value of the
  // one-step reconstructions p(v | h ~ p(h | v_data)) of its batches (Hinton's progress measure).
  std::function<void(std::int64_t epoch, double reconstruction_error)> on_epoch = {};
};

// The parameters' gradient of the contrastive divergence objective, for visible data v_data
// [B, d] with hidden means h_data [B, k] and negative samples v_model [B', d] with hidden means
// h_model [B', k] (eq. 5 with the model's correlations replaced by the samples'):
//   dW = h_data^T v_data / B - h_model^T v_model / B'            [k, d], as components()
//   da = mean(v_data) - mean(v_model)                              [d], visible biases
//   db = mean(h_data) - mean(h_model)                              [k], hidden biases
// The training data of a Boltzmann machine with binary visible units: X as a CPU matrix [n, d],
// finite, every value in [0, 1]; otherwise an error that names `who` and the range found.
Tensor probability_matrix(const Tensor& x, const char* who);

struct RBMGradient {
  Tensor weights, visible_bias, hidden_bias;
};
RBMGradient contrastive_divergence_gradient(const Tensor& v_data, const Tensor& h_data, const Tensor& v_model,
                                            const Tensor& h_model);

class RBM {
 public:
  explicit RBM(RBMOptions options = {});

  // Fits from a fresh start (random weights, zero biases) over options.n_iter epochs.
  RBM& fit(const Tensor& x);
  // One update with the rows of x as a single batch (scikit-learn's partial_fit); the first
  // call initialises the parameters.
  RBM& partial_fit(const Tensor& x);

  Tensor transform(const Tensor& x) const;      // P(h = 1 | v) [n, k] (Gaussian: E[h | v])
  Tensor mean_hidden(const Tensor& v) const;    // eq. 7 (Gaussian units: the linear input)
  Tensor mean_visible(const Tensor& h) const;   // eq. 8
  Tensor sample_hidden(const Tensor& v) const;  // h ~ p(h | v)
  Tensor sample_visible(const Tensor& h) const; // v ~ p(v | h)
  // One Gibbs step from v: h ~ p(h | v), then v' ~ p(v | h) (scikit-learn's gibbs).
  Tensor gibbs(const Tensor& v) const;
  // p(v | E[h | v]): the deterministic up-down pass, the reconstruction shown in figures.
  Tensor reconstruct(const Tensor& x) const;
  // `steps` Gibbs steps from `start` [n, d] (binary or probabilities), returning the last
  // visible probabilities p(v | h), the usual way to show an RBM's samples.
  Tensor sample(const Tensor& start, std::int64_t steps) const;

  Tensor free_energy(const Tensor& v) const;    // F(v) [n], float64
  // log P(v_i | v_-i) summed over every feature i, per row [n] (float64): the log pseudo-likelihood
  // (Besag 1975). scikit-learn's score_samples estimates the same sum from one random feature
  // per row, d log sigmoid(F(v with v_i flipped) - F(v)); here every feature is flipped, so it
  // has no randomness. Flipping is v_i -> 1 - v_i, as scikit-learn does for non-binary data.
  Tensor score_samples(const Tensor& x) const;
  // log Z by enumeration: over the hidden states when there are at most 24 Bernoulli hidden
  // units, else over the visible states when there are at most 24 (the same number: a test
  // checks both). For small models only (tests, teaching); errors name the sizes otherwise.
  double log_partition() const;
  // Exact log p(v) = -F(v) - log Z per row [n] (float64), for models log_partition accepts.
  Tensor log_likelihood(const Tensor& x) const;

  // Sets the parameters (e.g. of another implementation): W [k, d], hidden bias [k], visible bias [d].
  void set_parameters(const Tensor& weights, const Tensor& hidden_bias, const Tensor& visible_bias);

  // scikit-learn's names: W [k, d], the hidden units' biases [k], the visible units' [d].
  const Tensor& components() const { return weights_; }
  const Tensor& intercept_hidden() const { return hidden_bias_; }
  const Tensor& intercept_visible() const { return visible_bias_; }
  // The persistent chains' hidden states [batch_size, k] (scikit-learn's h_samples_).
  const Tensor& persistent_chains() const { return chains_; }
  std::int64_t n_features_in() const { return weights_.defined() ? weights_.size(1) : 0; }
  bool fitted() const { return weights_.defined(); }
  const RBMOptions& options() const { return options_; }

 private:
  class ModelStream;
  Tensor up(const Tensor& v) const;    // eq. 7 on checked input
  Tensor down(const Tensor& h) const;  // eq. 8 on checked input
  void initialize(std::int64_t features, DType dtype);
  // One update on a batch (momentum_now for this epoch); returns the batch's summed squared
  // reconstruction error.
  double update(const Tensor& batch, double momentum_now);
  Tensor checked(const Tensor& x, const char* who) const;         // fitted, [n, d], float, in the weights' dtype
  Tensor checked_hidden(const Tensor& h, const char* who) const;  // fitted, [n, k], float, in the weights' dtype
  void check_plain(const char* who) const;                        // up_scale and down_scale are 1

  RBMOptions options_;
  Tensor weights_, hidden_bias_, visible_bias_;
  Tensor weights_inc_, hidden_bias_inc_, visible_bias_inc_;  // the momentum terms
  Tensor chains_;
  mutable std::optional<GeneratorState> stream_;  // the model's own random stream (ModelStream)
};

}  // namespace cake::generative
