// nmf.h: non-negative matrix factorisation X ~ W H with W, H >= 0, under the Frobenius loss.
//
//   cake::decomposition::NMF nmf({.n_components = 20});
//   cake::Tensor W = nmf.fit_transform(X);         // [n, 20], X is [n, f] and non-negative
//   cake::Tensor H = nmf.components();              // [20, f]
//   double err = nmf.reconstruction_err();          // ||X - W H||_F
//
// Objective (Lee & Seung 2001, "Algorithms for non-negative matrix factorization", eq. 1), with
// scikit-learn's optional elastic-net penalty:
//   min_{W,H >= 0} 1/2 ||X - WH||_F^2 + a_W l1 ||W||_1 + a_H l1 ||H||_1
//                                     + 1/2 a_W (1 - l1) ||W||_F^2 + 1/2 a_H (1 - l1) ||H||_F^2,
// a_W = alpha_W * f, a_H = alpha_H * n (scikit-learn 1.2's scaling), l1 = l1_ratio.
// Three swappable steps:
//   1. nmf_initialize: NNDSVD and its variants (Boutsidis & Gallopoulos 2008, "SVD based
//      initialization: a head start for nonnegative matrix factorization", Table 1) from a
//      randomized truncated SVD (Halko, Martinsson & Tropp 2011, Alg. 4.4), or scaled |normal|
//      draws.
//   2a. solver = CoordinateDescent: one exact, projected Newton step per coordinate, cycling
//      over the columns of W then of H (Cichocki & Phan 2009 "HALS"; Hsieh & Dhillon 2011),
//      w_it <- max(0, w_it - (W HH^T - XH^T)_it / (HH^T)_tt); stops when the summed projected
//      gradient falls below tol times its first value. scikit-learn's 'cd'.
//   2b. solver = MultiplicativeUpdate: Lee & Seung's rules (eq. 4),
//      H <- H * (W^T X) / (W^T W H),  W <- W * (X H^T) / (W H H^T),
//      checking the relative decrease of the loss every 10 iterations. scikit-learn's 'mu'.
// Float32 and float64 data are factorised in their own precision.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "cake/tensor/tensor.h"

namespace cake::decomposition {

// Auto: NNDSVDA when n_components <= min(n, f), Random otherwise (scikit-learn's init=None).
enum class NMFInit { Auto, NNDSVD, NNDSVDA, NNDSVDAR, Random };
enum class NMFSolver { CoordinateDescent, MultiplicativeUpdate };
NMFInit parse_nmf_init(const std::string& name);        // "auto", "nndsvd", "nndsvda", "nndsvdar", "random"
NMFSolver parse_nmf_solver(const std::string& name);    // "cd", "mu"

struct NMFOptions {
  std::int64_t n_components = 0;  // 0: as many as features (scikit-learn's None)
  NMFInit init = NMFInit::Auto;
  NMFSolver solver = NMFSolver::CoordinateDescent;
  double tol = 1e-4;
  std::int64_t max_iter = 200;
  std::optional<std::uint64_t> random_state = std::nullopt;  // SVD sketch / random init draws
  double alpha_W = 0.0;
  std::optional<double> alpha_H = std::nullopt;  // unset: the same as alpha_W
  double l1_ratio = 0.0;
};

// Step 1: the initial (W [n, k], H [k, f]) for X [n, f], in X's dtype.
std::pair<Tensor, Tensor> nmf_initialize(const Tensor& x, std::int64_t n_components, NMFInit init,
                                         std::optional<std::uint64_t> random_state = std::nullopt);

// The top-k singular triplets of X [m, n] by a randomized range finder with `power_iterations`
// QR-normalised power iterations and `oversamples` extra directions (Halko et al. 2011,
// Alg. 4.4 + 5.1): U [m, k], S [k] descending, Vh [k, n]. A thin forward to
// cake::linalg::randomized_svd (tensor/linalg.h), which new code should call.
std::tuple<Tensor, Tensor, Tensor> randomized_svd(const Tensor& x, std::int64_t k, std::int64_t oversamples = 10,
                                                  std::int64_t power_iterations = -1);

class NMF {
 public:
  explicit NMF(NMFOptions options = {});

  NMF& fit(const Tensor& x);
  Tensor fit_transform(const Tensor& x);               // W [n, k]
  Tensor transform(const Tensor& x) const;             // W for new data with H fixed
  Tensor inverse_transform(const Tensor& w) const;     // W H

  const Tensor& components() const;                    // H [k, f]
  double reconstruction_err() const { return reconstruction_err_; }  // ||X - WH||_F
  std::int64_t n_iter() const { return n_iter_; }
  std::int64_t n_components() const { return n_components_; }
  const NMFOptions& options() const { return options_; }

 private:
  NMFOptions options_;
  Tensor components_;
  double reconstruction_err_ = 0.0;
  std::int64_t n_iter_ = 0;
  std::int64_t n_components_ = 0;
};

}  // namespace cake::decomposition

// Compatibility: the spellings from before algorithms/ was split into family namespaces
// (docs/architecture.md, "The algorithms: families and namespaces"). They name the same
// entities; new code uses cake::decomposition.
namespace cake::algorithms {
using ::cake::decomposition::NMFInit;
using ::cake::decomposition::NMFSolver;
using ::cake::decomposition::parse_nmf_init;
using ::cake::decomposition::parse_nmf_solver;
using ::cake::decomposition::NMFOptions;
using ::cake::decomposition::nmf_initialize;
using ::cake::decomposition::randomized_svd;
using ::cake::decomposition::NMF;
}  // namespace cake::algorithms
