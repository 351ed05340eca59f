// dictionary_learning.h: sparse coding against a dictionary (SparseCoder, sparse_encode) and
// learning the dictionary itself (DictionaryLearning).
//
//   cake::decomposition::DictionaryLearning dl({.n_components = 32, .alpha = 0.5, .random_state = 0});
//   dl.fit(X);                                   // X [n, f]
//   cake::Tensor D = dl.components();            // [32, f] atoms, each of norm <= 1
//   cake::Tensor code = dl.transform(X);         // [n, 32], OMP by default
//   cake::decomposition::SparseCoder coder(D, {.transform_n_nonzero_coefs = 3});
//   cake::Tensor sparse = coder.transform(X);    // at most 3 atoms per sample
//
// Sparse coding (Olshausen & Field 1997): write each sample x as a combination of a few atoms,
// x ~ D^T c. Three coders (transform_algorithm):
//   omp        Orthogonal Matching Pursuit (Pati, Rezaiifar & Krishnaprasad 1993) in its
//              Gram-matrix form "Batch-OMP" (Rubinstein, Zibulevsky & Elad 2008, Alg. 2): add the
//              atom most correlated with the residual, re-fit all chosen atoms by least squares
//              (Cholesky factor of their Gram matrix, grown by one row per step); stop after
//              n_nonzero_coefs atoms.
//   lasso_cd   the lasso min_c 1/2 ||x - D^T c||^2 + alpha ||c||_1 by cyclic coordinate descent on
//              the Gram matrix G = D D^T (Friedman, Hastie & Tibshirani 2010, eq. 5):
//              c_j <- S(b_j - sum_{l != j} G_jl c_l, alpha) / G_jj,  S the soft threshold,
//              stopped by the duality gap.
//   threshold  c = S(D x, alpha), one shot.
// Dictionary learning (Mairal, Bach, Ponce & Sapiro 2009, "Online dictionary learning for
// sparse coding", in its batch form, scikit-learn's dict_learning) alternates
//   1. code: the lasso codes of all samples for the current dictionary (warm started);
//   2. dictionary: one pass of block coordinate descent over the atoms (Mairal et al. 2009,
//      Alg. 2) with A = C^T C and B = X^T C: d_k <- d_k + (b_k - D^T a_k) / A_kk, then projected
//      onto the unit ball; an unused atom (A_kk ~ 0) is redrawn from a random sample;
// until the cost 1/2 ||X - C D||^2 + alpha ||C||_1 decreases by less than tol of itself.
// The dictionary starts from the SVD of X, as in scikit-learn.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cake/tensor/tensor.h"

namespace cake::decomposition {

enum class SparseCodingAlgorithm { OMP, LassoCD, Threshold };
SparseCodingAlgorithm parse_sparse_coding_algorithm(const std::string& name);  // "omp", "lasso_cd", "threshold"

// Codes [n, k] of X [n, f] against the dictionary [k, f] (rows are atoms).
//   n_nonzero_coefs (OMP): default max(f / 10, 1), at most k.
//   alpha (lasso_cd, threshold): default 1.
//   init (lasso_cd): a warm start [n, k].
//   lasso_tol: the duality-gap tolerance of lasso_cd, relative to ||x||^2 (scikit-learn's 1e-4).
Tensor sparse_encode(const Tensor& x, const Tensor& dictionary, SparseCodingAlgorithm algorithm,
                     std::optional<std::int64_t> n_nonzero_coefs = std::nullopt,
                     std::optional<double> alpha = std::nullopt, std::int64_t max_iter = 1000, bool positive = false,
                     const Tensor& init = {}, double lasso_tol = 1e-4);

struct SparseCoderOptions {
  SparseCodingAlgorithm transform_algorithm = SparseCodingAlgorithm::OMP;
  std::optional<std::int64_t> transform_n_nonzero_coefs = std::nullopt;
  std::optional<double> transform_alpha = std::nullopt;
  bool split_sign = false;    // [max(c, 0), max(-c, 0)]: 2k non-negative features
  bool positive_code = false;  // lasso_cd / threshold: c >= 0
  std::int64_t transform_max_iter = 1000;
};

class SparseCoder {
 public:
  explicit SparseCoder(Tensor dictionary, SparseCoderOptions options = {});
  Tensor transform(const Tensor& x) const;
  const Tensor& components() const { return dictionary_; }

 private:
  Tensor dictionary_;
  SparseCoderOptions options_;
};

struct DictionaryLearningOptions {
  std::int64_t n_components = 0;  // 0: as many as features
  double alpha = 1.0;             // the lasso weight while learning
  std::int64_t max_iter = 1000;
  double tol = 1e-8;
  // How codes are found while learning: the lasso by coordinate descent, "cd" (scikit-learn's
  // other choice, LARS, solves the same lasso).
  SparseCodingAlgorithm transform_algorithm = SparseCodingAlgorithm::OMP;
  std::optional<std::int64_t> transform_n_nonzero_coefs = std::nullopt;
  std::optional<double> transform_alpha = std::nullopt;  // unset: alpha
  bool split_sign = false;
  std::optional<std::uint64_t> random_state = std::nullopt;  // redrawing unused atoms
  bool positive_code = false;
  bool positive_dict = false;
  std::int64_t transform_max_iter = 1000;
};

class DictionaryLearning {
 public:
  explicit DictionaryLearning(DictionaryLearningOptions options = {});

  DictionaryLearning& fit(const Tensor& x);
  Tensor fit_transform(const Tensor& x);      // fit, then transform (scikit-learn 1.2)
  Tensor transform(const Tensor& x) const;    // sparse codes with the transform_* options

  const Tensor& components() const;           // [k, f] atoms
  const std::vector<double>& error() const { return error_; }  // the cost after each iteration
  std::int64_t n_iter() const { return n_iter_; }
  const DictionaryLearningOptions& options() const { return options_; }

 private:
  DictionaryLearningOptions options_;
  Tensor components_;
  std::vector<double> error_;
  std::int64_t n_iter_ = 0;
};

}  // namespace cake::decomposition

// Compatibility: the spellings from before algorithms/ was split into family namespaces
// (docs/architecture.md, "The algorithms: families and namespaces"). They name the same
// entities; new code uses cake::decomposition.
namespace cake::algorithms {
using ::cake::decomposition::SparseCodingAlgorithm;
using ::cake::decomposition::parse_sparse_coding_algorithm;
using ::cake::decomposition::sparse_encode;
using ::cake::decomposition::SparseCoderOptions;
using ::cake::decomposition::SparseCoder;
using ::cake::decomposition::DictionaryLearningOptions;
using ::cake::decomposition::DictionaryLearning;
}  // namespace cake::algorithms
