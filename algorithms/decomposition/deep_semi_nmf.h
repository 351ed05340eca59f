// deep_semi_nmf.h: Semi-NMF and Deep Semi-NMF, matrix factorisations whose last factor is a
// non-negative code of each sample while the bases may have any sign.
//
//   cake::decomposition::DeepSemiNMF model({.layers = {256, 10}, .random_state = 0});
//   cake::Tensor H = model.fit_transform(X);       // [n, 10], non-negative, X is [n, f]
//   cake::Tensor R = model.inverse_transform(H);   // [n, f]: H (Z_1 Z_2)^T
//   cake::Tensor H1 = model.features(0);           // [n, 256]: the first layer's code
//   double err = model.reconstruction_err();       // ||X - R||_F
//
// Semi-NMF (Ding, Li & Jordan 2010, "Convex and semi-nonnegative matrix factorizations", IEEE
// TPAMI 32(1)) writes a data matrix of any sign as X^T ~ Z H with H >= 0: each sample is a
// non-negative combination of k basis vectors, so H reads as a soft clustering of the samples.
// Deep Semi-NMF (Trigeorgis, Bousmalis, Zafeiriou & Schuller 2014, "A deep semi-NMF model for
// learning hidden representations", ICML; the JULE talk's baseline "NMF-D") stacks m of them,
//   X^T ~ Z_1 Z_2 ... Z_m H_m,   H_m >= 0,
// with implied codes H_i ~ Z_{i+1} ... Z_m H_m of every layer, each a coarser grouping than the
// one below. Cake stores samples as rows, so its H_i is the papers' H_i transposed, [n, k_i].
//
// The steps (the ICML paper's Algorithm 1):
//   1. Pre-training, greedy: Semi-NMF of X with k_1 components, then of H_1 with k_2, and so on,
//      each started from Gillis & Kumar's exact semi-NMF of the leading k - 1 singular triplets
//      (2015, "Exact and heuristic algorithms for semi-nonnegative matrix factorization", SIAM
//      J. Matrix Anal. Appl. 36(4)) and refined by Ding's updates below for pretrain_iter sweeps
//      (the codes first lifted by 1% of their mean: a multiplicative update never moves a zero).
//   2. Fine-tuning: sweeps over the layers, i = 1 .. m, with Psi = Z_1 ... Z_{i-1} and
//      Htilde_i = Z_{i+1} ... Z_m H_m (H_m itself for i = m):
//        Z_i <- Psi^+ X^T Htilde_i^+                 (least squares; ^+ the pseudo-inverse)
//        H_i <- H_i . sqrt( ([Psi'^T X^T]^pos + [Psi'^T Psi']^neg H_i)
//                         / ([Psi'^T X^T]^neg + [Psi'^T Psi']^pos H_i) ),   Psi' = Psi Z_i,
//      where [A]^pos = (|A| + A) / 2 and [A]^neg = (|A| - A) / 2: Ding's multiplicative rule, which
//      keeps H_i non-negative and never increases ||X^T - Psi' H_i||_F. Each Z_i step is the exact
//      minimiser with the other factors fixed, and the H_m step is Ding's, so the loss
//      ||X - H_m (Z_1 ... Z_m)^T||_F never increases from one sweep to the next.
//      Stops after max_iter sweeps, or when a sweep lowers the loss by less than tol of it.
// Large products run in X's dtype; the small k x k Gram matrices are inverted in float64.
// The clustering of the papers (and of `cake run deep-semi-nmf`) is k-means on H_m.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "cake/tensor/tensor.h"

namespace cake::decomposition {

struct DeepSemiNMFOptions {
  std::vector<std::int64_t> layers = {};  // k_1, ..., k_m, each >= 2; one entry is plain Semi-NMF
  std::int64_t pretrain_iter = 100;       // Semi-NMF sweeps per layer in step 1
  std::int64_t max_iter = 500;            // fine-tuning sweeps (step 2); 0: pre-training only
  double tol = 1e-5;                      // stop when a sweep lowers the loss by less than tol of it
  std::optional<std::uint64_t> random_state = std::nullopt;  // the randomized SVD's sketch in step 1
  // Called after every sweep with its stage (0 .. m-1: pre-training that layer; m: fine-tuning),
  // its number within the stage (from 1) and the loss after it (the stage's Frobenius error).
  std::function<void(std::int64_t stage, std::int64_t sweep, double loss)> on_sweep = {};
};

class DeepSemiNMF {
 public:
  explicit DeepSemiNMF(DeepSemiNMFOptions options);

  DeepSemiNMF& fit(const Tensor& x);
  Tensor fit_transform(const Tensor& x);             // H_m [n, k_m] of x
  // H_m for new rows with the bases fixed: each row's non-negative least-squares code (coordinate
  // descent, from the clipped least-squares code), so at least as close as the fitted codes.
  Tensor transform(const Tensor& x) const;
  Tensor inverse_transform(const Tensor& h) const;   // h (Z_1 ... Z_m)^T [n, f]

  // Fitted attributes.
  const Tensor& features(std::int64_t layer) const;  // H_{layer+1} [n, k] of the training data, layer 0 .. m-1
  const Tensor& weights(std::int64_t layer) const;   // Z_{layer+1} [k_layer, k_{layer+1}] (k_0 = f)
  Tensor basis() const;                              // Z_1 ... Z_m [f, k_m]
  double reconstruction_err() const { return reconstruction_err_; }     // ||X - H_m basis()^T||_F
  const std::vector<double>& loss_history() const { return loss_history_; }  // after pre-training, then each sweep
  std::int64_t n_iter() const { return n_iter_; }    // fine-tuning sweeps run
  std::int64_t n_layers() const { return static_cast<std::int64_t>(options_.layers.size()); }
  const DeepSemiNMFOptions& options() const { return options_; }

 private:
  void check_fitted(const char* who) const;

  DeepSemiNMFOptions options_;
  std::vector<Tensor> weights_;   // Z_1 .. Z_m
  std::vector<Tensor> features_;  // H_1 .. H_m
  std::vector<double> loss_history_;
  double reconstruction_err_ = 0.0;
  std::int64_t n_iter_ = 0;
};

// One Semi-NMF of y [n, d] with k components, as step 1 makes it: returns (Z [d, k], H [n, k] >= 0)
// with y ~ H Z^T, after `sweeps` rounds of Z by least squares and H by Ding's rule.
std::pair<Tensor, Tensor> semi_nmf(const Tensor& y, std::int64_t k, std::int64_t sweeps = 100, double tol = 1e-5,
                                   std::optional<std::uint64_t> random_state = std::nullopt);

// Gillis & Kumar's exact Semi-NMF of the rank-(k-1) truncated SVD of y [n, d]: returns (Z [d, k], H [n, k] >= 0) with H Z^T equal to that truncated SVD.
std::pair<Tensor, Tensor> semi_nmf_svd_init(const Tensor& y, std::int64_t k,
                                            std::optional<std::uint64_t> random_state = std::nullopt);

}  // namespace cake::decomposition
