// gmm.h: a Gaussian mixture fitted by EM on data sharded by rows over the ranks of a group.
//
//   auto group = cake::distributed::init_process_group();
//   auto shard = cake::distributed::shard_rows(X.size(0), group->rank(), group->world_size());
//   cake::distributed::GaussianMixtureResult fit = cake::distributed::fit_gaussian_mixture(
//       *group, X.narrow(0, shard.begin, shard.size()), {.n_components = 4, .covariance_type = "diag", .random_state = 0});
//   cake::Tensor labels = group->all_gather(fit.labels);   // [N], in row order
//   cake::Tensor means = fit.model.means();                // the same on every rank
//
// The algorithm of cake::mixture::GaussianMixture (algorithms/mixture/gaussian_mixture.h; EM of
// Dempster, Laird & Rubin 1977 as in Bishop 2006, section 9.2.2), run by one loop shared with it
// (algorithms/mixture/detail/gaussian_mixture_em.h). Everything EM reads from the data is a sum
// over rows, the sufficient statistics: the soft counts N_k = sum_i gamma_ik, the weighted sums
// sum_i gamma_ik x_i, the weighted scatter sum_i gamma_ik (x_i - mu_k)(x_i - mu_k)^T (its
// diagonal for "diag" and "spherical"), and the log-likelihood sum_i log p(x_i). Each rank forms
// them over its own rows and an all-reduce sums them, so every rank holds the same parameters
// after every M-step; K x D x D doubles travel per iteration ("full"), whatever N is.
//
// The initial responsibilities are drawn identically on every rank (the same seed):
//   "kmeans"            distributed k-means (distributed/kmeans.h, n_init 1), as one process runs KMeans;
//   "k-means++"         the rows distributed k-means++ picks (kmeans_plus_plus_rows);
//   "random_from_data"  a permutation of all N rows, drawn on every rank;
//   "random"            the N x K uniform draws, drawn on every rank, each keeping its own rows'.
// So from the same random_state the fit equals GaussianMixture's on the concatenated rows (shards
// in rank order), up to the rounding of sums taken in another order: the test
// (tests/distributed/test_ranks.cpp) checks the parameters to 1e-9 and every label.
// warm_start is refused (there is no previous fit); every rank must hold at least one row.
#pragma once

#include <cstdint>

#include "cake/algorithms/mixture/gaussian_mixture.h"
#include "cake/distributed/process_group.h"

namespace cake::distributed {

struct GaussianMixtureResult {
  mixture::GaussianMixture model;  // fitted, the same on every rank: predict, score, bic, sample
  Tensor labels;                   // [this rank's rows] int64: the most responsible component
  std::int64_t n_samples = 0;      // over all ranks
};

// Every rank calls it with its rows X_local [n_r, D] (n_r >= 1; D the same on every rank).
GaussianMixtureResult fit_gaussian_mixture(ProcessGroup& group, const Tensor& X_local,
                                           const mixture::GaussianMixtureOptions& options);

// The mean log-likelihood per sample, (1/N) sum_i log p(x_i), over all ranks' rows
// (GaussianMixture::score on the concatenated rows).
double score(ProcessGroup& group, const mixture::GaussianMixture& model, const Tensor& X_local);

}  // namespace cake::distributed
