// gaussian_mixture.h: a mixture of K Gaussians fitted by expectation-maximisation, with
// scikit-learn's interface (sklearn.mixture.GaussianMixture) and its four covariance models.
//
//   cake::mixture::GaussianMixture gmm({.n_components = 10, .covariance_type = "diag",
//                                       .random_state = 0});
//   cake::Tensor labels = gmm.fit_predict(X);     // X [N, D] float32 or float64
//   double ll = gmm.score(X);                     // mean log-likelihood per sample
//   double bic = gmm.bic(X);
//   auto [samples, components] = gmm.sample(100);
//
// The model (Bishop 2006, "Pattern Recognition and Machine Learning", section 9.2):
//     p(x) = sum_k pi_k N(x | mu_k, Sigma_k).                                             (9.7)
// EM alternates
//   E-step: responsibilities gamma_ik = pi_k N(x_i | mu_k, Sigma_k) / sum_j pi_j N(x_i | mu_j, Sigma_j)   (9.23)
//   M-step: N_k = sum_i gamma_ik, mu_k = (1/N_k) sum_i gamma_ik x_i,                      (9.24, 9.27)
//           Sigma_k = (1/N_k) sum_i gamma_ik (x_i - mu_k)(x_i - mu_k)^T + reg_covar I,      (9.25)
//           pi_k = N_k / N,                                                                (9.26)
// and each iteration cannot lower the log-likelihood (9.28); it stops when the mean
// log-likelihood changes by less than tol. covariance_type restricts Sigma_k: "full" (any SPD
// matrix per component), "tied" (one matrix shared by all), "diag" (diagonal per component),
// "spherical" (sigma_k^2 I per component).
//
// As scikit-learn, every density is evaluated through the Cholesky factor of the precision,
// P_k with Sigma_k^-1 = P_k P_k^T, so that
//     log N(x | mu_k, Sigma_k) = -1/2 (D log 2 pi + |(x - mu_k)^T P_k|^2) + sum_j log (P_k)_jj,
// with no inverse or determinant formed, and the E-step runs in log space with log-sum-exp so
// that responsibilities of points far from every component do not underflow to 0 / 0.
// Parameters are float64 whatever the data's dtype (float32 data are converted once).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cake/algorithms/cluster/clusterer.h"
#include "cake/tensor/tensor.h"

namespace cake::mixture {

struct GaussianMixtureOptions {
  std::int64_t n_components = 1;
  std::string covariance_type = "full";  // "full" | "tied" | "diag" | "spherical"
  double tol = 1e-3;                     // on the change of the mean log-likelihood
  double reg_covar = 1e-6;               // added to the covariance diagonals (keeps them SPD)
  std::int64_t max_iter = 100;
  std::int64_t n_init = 1;               // initialisations; the best final likelihood wins
  std::string init_params = "kmeans";    // "kmeans" | "k-means++" | "random" | "random_from_data"
  Tensor weights_init = {};              // [K]
  Tensor means_init = {};                // [K, D]
  Tensor precisions_init = {};           // shaped as covariances() for covariance_type
  std::optional<std::uint64_t> random_state = std::nullopt;
  bool warm_start = false;               // fit starts from the previous fit's parameters
  // Where fit's E-steps run: on a CUDA device the log-responsibilities come from GEMMs and
  // log-sum-exp in tensor operations (algorithms/detail/device_steps.h) and are copied back for
  // the M-step, which stays on the CPU. The initialisation and predict() are CPU code.
  Device device = kCPU;
};

// What a fit leaves: the parameters (float64, shaped as the accessors below say) and how EM went.
struct GaussianMixtureState {
  Tensor weights, means, covariances, precisions_cholesky;
  bool converged = false;
  std::int64_t n_iter = 0;
  double lower_bound = 0.0;                 // mean log-likelihood at the last E-step
  std::vector<double> lower_bound_history;  // at every E-step
};

// A Clusterer (algorithms/cluster/clusterer.h): its centres are the means, its responsibilities
// the posteriors of predict_proba.
class GaussianMixture : public cluster::Clusterer {
 public:
  explicit GaussianMixture(GaussianMixtureOptions options = {});
  // A mixture fitted elsewhere (cake::distributed::fit_gaussian_mixture fits on row shards):
  // predict, score, bic and sample work as after fit; labels() is empty (no training rows).
  GaussianMixture(GaussianMixtureOptions options, GaussianMixtureState fitted);

  GaussianMixture& fit(const Tensor& X) override;
  Tensor fit_predict(const Tensor& X) override;     // [N] int64
  Tensor predict(const Tensor& X) const override;   // most responsible component, [N] int64
  bool can_predict() const override { return true; }
  Tensor responsibilities(const Tensor& X) const override { return predict_proba(X); }
  const Tensor& labels() const override;            // [N] int64, predict() of the training data
  Tensor centers() const override { return means(); }
  std::string name() const override { return "gmm"; }
  Tensor predict_proba(const Tensor& X) const;      // responsibilities [N, K] float64
  Tensor score_samples(const Tensor& X) const;      // log p(x_i), [N] float64
  double score(const Tensor& X) const;              // mean of score_samples
  double bic(const Tensor& X) const;                // -2 N score + n_parameters log N
  double aic(const Tensor& X) const;                // -2 N score + 2 n_parameters
  // n samples drawn from the fitted mixture: ([n, D] float64, [n] int64 component of each),
  // grouped by component as scikit-learn's.
  std::pair<Tensor, Tensor> sample(std::int64_t n) const;

  // Fitted attributes (float64). covariances() and precisions_cholesky() are [K, D, D] (full),
  // [D, D] (tied), [K, D] (diag) or [K] (spherical); precisions() = P P^T likewise.
  const Tensor& weights() const;
  const Tensor& means() const;
  const Tensor& covariances() const;
  const Tensor& precisions_cholesky() const;
  Tensor precisions() const;
  bool converged() const;
  std::int64_t n_iter() const;
  double lower_bound() const;  // mean log-likelihood at the last E-step of the best run
  // The mean log-likelihood at every E-step of the best run (EM never lowers it), for curves.
  const std::vector<double>& lower_bound_history() const;
  std::int64_t n_parameters() const;  // free parameters of the model (for bic/aic)
  const GaussianMixtureOptions& options() const { return options_; }

 private:
  void check_fitted(const char* who) const;
  void adopt(GaussianMixtureState fitted, std::int64_t n_features);
  Tensor as_float64(const Tensor& X, const char* who) const;
  GaussianMixtureOptions options_;
  Tensor weights_, means_, covariances_, precisions_cholesky_, labels_;
  bool converged_ = false;
  std::int64_t n_iter_ = 0, n_features_ = 0;
  double lower_bound_ = 0.0;
  std::vector<double> lower_bound_history_;
};

}  // namespace cake::mixture

// Compatibility: the spellings from before algorithms/ was split into family namespaces
// (docs/architecture.md, "The algorithms: families and namespaces"). They name the same
// entities; new code uses cake::mixture.
namespace cake::algorithms {
using ::cake::mixture::GaussianMixtureOptions;
using ::cake::mixture::GaussianMixture;
}  // namespace cake::algorithms
