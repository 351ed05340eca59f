// gaussian_mixture_em.h: the EM loop of GaussianMixture (gaussian_mixture.h), written over rows
// that may be one shard of the data. Not a public API: GaussianMixture::fit_predict and
// cake::distributed::fit_gaussian_mixture (distributed/gmm.h) are its two callers.
//
// Every quantity EM needs from the data is a sum over rows (Bishop 2006, section 9.2.2): the
// soft counts N_k = sum_i gamma_ik, the weighted sums sum_i gamma_ik x_i, the weighted scatter
// sum_i gamma_ik (x_i - mu_k)(x_i - mu_k)^T (or its diagonal), and the log-likelihood
// sum_i log p(x_i). So the loop reads its rows through one hook, `sum_over_shards`, that turns a
// buffer of this shard's sums into the sums over all shards: the identity in one process, an
// all-reduce over the ranks of a process group in distributed/gmm.cpp. With the same
// initial responsibilities both run the same iterations, up to the rounding of sums taken in
// another order.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "cake/algorithms/mixture/gaussian_mixture.h"

namespace cake::mixture::em {

// Replaces a buffer of sums over this shard's rows by the sums over every shard, in place.
using SumOverShards = std::function<void(std::vector<double>&)>;

// The rows this process holds and what it needs to know about all of them.
struct Rows {
  const double* x = nullptr;     // [n, d] row-major float64
  std::int64_t n = 0, d = 0;     // this shard
  std::int64_t n_total = 0;      // over all shards (the divisor of the mean log-likelihood)
  // Only for covariance_type "tied": the mean of all rows and X_c^T X_c of all rows centred by it.
  std::vector<double> mean, centred_gram;
  // The same rows on the device where the E-steps run (GaussianMixtureOptions::device);
  // undefined: the E-steps run on the CPU, on x.
  Tensor x_device;
};

// Initial responsibilities [n, K] of this shard's rows, for the run-th initialisation (drawn
// from the generator in effect, as scikit-learn's _initialize_parameters).
using InitialResponsibilities = std::function<std::vector<double>(std::int64_t run)>;

// Refuses full or tied covariances beyond a few thousand features, naming the ways out.
void check_feature_count(const GaussianMixtureOptions& o, std::int64_t d);

// Runs o.n_init initialisations (or one from `start`, when given) to convergence and returns the
// best by final mean log-likelihood, as GaussianMixture::fit_predict.
GaussianMixtureState fit(const GaussianMixtureOptions& o, const Rows& rows, const InitialResponsibilities& initial,
                         const SumOverShards& sum_over_shards, const GaussianMixtureState* start = nullptr);

// The most responsible component of each of the n rows x under a fitted state: [n] int64.
Tensor predict(const GaussianMixtureOptions& o, const GaussianMixtureState& state, const double* x, std::int64_t n,
               std::int64_t d);

// sum_i log p(x_i) over the n rows x under a fitted state.
double sum_log_likelihood(const GaussianMixtureOptions& o, const GaussianMixtureState& state, const double* x,
                          std::int64_t n, std::int64_t d);

}  // namespace cake::mixture::em
