// fastica.h: independent component analysis by the FastICA fixed-point algorithm
// (Hyvärinen 1999, "Fast and robust fixed-point algorithms for independent component
// analysis", IEEE TNN 10(3)).
//
//   cake::decomposition::FastICA ica({.n_components = 3, .random_state = 0});
//   cake::Tensor S = ica.fit_transform(X);    // [n, 3] estimated sources, unit variance
//   cake::Tensor A = ica.mixing();            // [f, 3]: X ~ S A^T + mean
//
// Model: x = A s with independent, non-Gaussian sources s. After centring and whitening
// (z = K (x - mean), E[z z^T] = I), the unmixing rows w maximise the non-Gaussianity
// E[G(w^T z)] on the unit sphere. The fixed-point step (Hyvärinen 1999, eq. 20) is
//   w+ = E[z g(w^T z)] - E[g'(w^T z)] w,        then normalise,
// with g = G' one of (Hyvärinen & Oja 2000, eqs. 39-41)
//   logcosh: g(u) = tanh(a u),        g'(u) = a (1 - tanh^2(a u)),   1 <= a <= 2
//   exp:     g(u) = u exp(-u^2/2),    g'(u) = (1 - u^2) exp(-u^2/2)
//   cube:    g(u) = u^3,              g'(u) = 3 u^2                 (kurtosis)
// Swappable steps:
//   1. whiten: K from the SVD of the centred data (or the eigendecomposition of its
//      covariance), keeping n_components directions: K = D^-1 U^T, so z has unit covariance
//      (Hyvärinen, Karhunen & Oja 2001, eq. 6.33).
//   2. ica_parallel: all rows at once, then symmetric decorrelation W <- (W W^T)^-1/2 W
//      (eq. 22), or ica_deflation: one row at a time, Gram-Schmidt against the rows found
//      (eq. 21). Stop when every row's direction changes by less than tol.
//   3. unit variance: sources rescaled to variance 1 and the unmixing rows with them.
// The interface and defaults follow scikit-learn 1.2's FastICA (whiten = "unit-variance").
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "cake/tensor/tensor.h"

namespace cake::decomposition {

enum class ICAAlgorithm { Parallel, Deflation };
enum class ICAFunction { LogCosh, Exp, Cube };
enum class ICAWhiten { UnitVariance, ArbitraryVariance, None };
enum class WhitenSolver { SVD, Eigh };
ICAAlgorithm parse_ica_algorithm(const std::string& name);  // "parallel", "deflation"
ICAFunction parse_ica_function(const std::string& name);    // "logcosh", "exp", "cube"
ICAWhiten parse_ica_whiten(const std::string& name);        // "unit-variance", "arbitrary-variance", "false"
WhitenSolver parse_whiten_solver(const std::string& name);  // "svd", "eigh"

struct FastICAOptions {
  std::int64_t n_components = 0;  // 0: min(n_samples, n_features)
  ICAAlgorithm algorithm = ICAAlgorithm::Parallel;
  ICAWhiten whiten = ICAWhiten::UnitVariance;
  ICAFunction fun = ICAFunction::LogCosh;
  double fun_alpha = 1.0;  // a of logcosh, scikit-learn's fun_args={"alpha": a}
  std::int64_t max_iter = 200;
  double tol = 1e-4;
  WhitenSolver whiten_solver = WhitenSolver::SVD;
  std::optional<std::uint64_t> random_state = std::nullopt;  // for the initial unmixing matrix
  Tensor w_init = {};  // optional [k, k] initial unmixing matrix (else standard normal draws)
};

class FastICA {
 public:
  explicit FastICA(FastICAOptions options = {});

  FastICA& fit(const Tensor& x);
  Tensor fit_transform(const Tensor& x);           // sources S [n, k]
  Tensor transform(const Tensor& x) const;         // (X - mean) components^T
  Tensor inverse_transform(const Tensor& s) const;  // S mixing^T + mean

  const Tensor& components() const;  // [k, f] unmixing: S = (X - mean) components^T
  const Tensor& mixing() const;      // [f, k], the pseudo-inverse of components
  const Tensor& mean() const;        // [f] (zeros without whitening)
  const Tensor& whitening() const;   // [k, f] K (undefined without whitening)
  std::int64_t n_iter() const { return n_iter_; }
  const FastICAOptions& options() const { return options_; }

 private:
  Tensor initial_unmixing(DType dtype, std::int64_t k) const;

  FastICAOptions options_;
  Tensor components_, mixing_, mean_, whitening_;
  std::int64_t n_iter_ = 0;
};

}  // namespace cake::decomposition

// Compatibility: the spellings from before algorithms/ was split into family namespaces
// (docs/architecture.md, "The algorithms: families and namespaces"). They name the same
// entities; new code uses cake::decomposition.
namespace cake::algorithms {
using ::cake::decomposition::ICAAlgorithm;
using ::cake::decomposition::ICAFunction;
using ::cake::decomposition::ICAWhiten;
using ::cake::decomposition::WhitenSolver;
using ::cake::decomposition::parse_ica_algorithm;
using ::cake::decomposition::parse_ica_function;
using ::cake::decomposition::parse_ica_whiten;
using ::cake::decomposition::parse_whiten_solver;
using ::cake::decomposition::FastICAOptions;
using ::cake::decomposition::FastICA;
}  // namespace cake::algorithms
