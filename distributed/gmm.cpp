// gmm.cpp: EM for Gaussian mixtures over row shards: GaussianMixture's loop
// (algorithms/mixture/detail/gaussian_mixture_em.h) with every sum over rows all-reduced, and
// initial responsibilities drawn identically on every rank. See gmm.h.
#include "cake/distributed/gmm.h"

#include "cake/algorithms/detail/common.h"
#include "cake/algorithms/mixture/detail/gaussian_mixture_em.h"
#include "cake/distributed/detail/shards.h"
#include "cake/distributed/kmeans.h"
#include "cake/tensor/blas.h"

namespace cake::distributed {

namespace {

namespace common = algorithms::detail;
using shards::Layout;

// One-hot responsibilities [n, K] of this rank's rows: row `global_rows[c]` of the whole data
// set starts component c (the seeds of "k-means++" and "random_from_data").
std::vector<double> one_hot_seeds(const Layout& layout, const std::vector<std::int64_t>& global_rows, std::int64_t k) {
  std::vector<double> resp(static_cast<std::size_t>(layout.local_rows() * k), 0.0);
  for (std::int64_t c = 0; c < k; ++c) {
    const std::int64_t row = global_rows[static_cast<std::size_t>(c)];
    if (layout.holds(row)) resp[static_cast<std::size_t>((row - layout.begin()) * k + c)] = 1.0;
  }
  return resp;
}

// scikit-learn's _initialize_parameters over the shards, the same draws as
// mixture::GaussianMixture's initial_responsibilities on the concatenated rows.
std::vector<double> initial_responsibilities(ProcessGroup& group, const Layout& layout, const Tensor& X,
                                             const mixture::GaussianMixtureOptions& o) {
  const std::int64_t n = layout.local_rows(), k = o.n_components;
  if (o.init_params == "kmeans") {
    const KMeansResult fit = fit_kmeans(group, X, {.n_clusters = k, .n_init = 1});
    std::vector<double> resp(static_cast<std::size_t>(n * k), 0.0);
    const std::int64_t* l = fit.labels.data_ptr<std::int64_t>();
    for (std::int64_t i = 0; i < n; ++i) resp[static_cast<std::size_t>(i * k + l[i])] = 1.0;
    return resp;
  }
  if (o.init_params == "random") {
    // All N x K draws on every rank (so that the generator advances as in one process); this
    // rank normalises its own rows'.
    const std::vector<double> u = common::uniform_draws(layout.n * k);
    std::vector<double> resp(static_cast<std::size_t>(n * k));
    for (std::int64_t i = 0; i < n; ++i) {
      const double* row = &u[static_cast<std::size_t>((layout.begin() + i) * k)];
      double s = 0.0;
      for (std::int64_t c = 0; c < k; ++c) s += row[c];
      for (std::int64_t c = 0; c < k; ++c) resp[static_cast<std::size_t>(i * k + c)] = row[c] / s;
    }
    return resp;
  }
  if (o.init_params == "random_from_data") {
    std::vector<std::int64_t> seeds = common::permutation(layout.n);
    seeds.resize(static_cast<std::size_t>(k));
    return one_hot_seeds(layout, seeds, k);
  }
  return one_hot_seeds(layout, kmeans_plus_plus_rows(group, X, k), k);  // "k-means++"
}

// The mean of all rows and X_c^T X_c of all rows centred by it, for the tied M-step.
void centred_gram(ProcessGroup& group, const Layout& layout, const Tensor& X, mixture::em::Rows& rows) {
  const std::int64_t n = rows.n, d = rows.d;
  rows.mean = common::column_means(rows.x, n, d);
  for (double& m : rows.mean) m *= static_cast<double>(n);
  shards::sum_over_ranks(group, rows.mean);
  for (double& m : rows.mean) m /= static_cast<double>(layout.n);
  const Tensor centred = common::subtract_row<double>(X, rows.mean);
  rows.centred_gram.assign(static_cast<std::size_t>(d * d), 0.0);
  blas::gram<double>(d, n, 1.0, centred.data_ptr<double>(), d, 0.0, rows.centred_gram.data(), d);
  shards::sum_over_ranks(group, rows.centred_gram);
}

}  // namespace

GaussianMixtureResult fit_gaussian_mixture(ProcessGroup& group, const Tensor& X_local,
                                           const mixture::GaussianMixtureOptions& options) {
  CAKE_CHECK(!options.warm_start, "distributed GaussianMixture: warm_start needs a previous fit; start from "
             "weights_init, means_init and precisions_init instead");
  const Tensor X = common::data_matrix(X_local, "distributed GaussianMixture", 1).to(kFloat64).contiguous();
  const std::int64_t n = X.size(0), d = X.size(1), k = options.n_components;
  const Layout layout = shards::make_layout(group, n, d, "distributed GaussianMixture");
  CAKE_CHECK(layout.n >= std::max<std::int64_t>(2, k), "distributed GaussianMixture: ", layout.n,
             " rows over all ranks; n_components ", k, " needs at least ", std::max<std::int64_t>(2, k));
  mixture::em::check_feature_count(options, d);
  if (!options.random_state) shards::check_generators_agree(group, "distributed GaussianMixture");
  common::SeedScope seed(options.random_state);

  mixture::em::Rows rows{X.data_ptr<double>(), n, d, layout.n, {}, {}, {}};  // x, n, d, n_total
  if (options.covariance_type == "tied") centred_gram(group, layout, X, rows);
  mixture::GaussianMixtureState state = mixture::em::fit(
      options, rows, [&](std::int64_t) { return initial_responsibilities(group, layout, X, options); },
      [&](std::vector<double>& sums) { shards::sum_over_ranks(group, sums); });
  Tensor labels = mixture::em::predict(options, state, rows.x, n, d);
  return {mixture::GaussianMixture(options, std::move(state)), std::move(labels), layout.n};
}

double score(ProcessGroup& group, const mixture::GaussianMixture& model, const Tensor& X_local) {
  const Tensor X = X_local.detach().cpu().to(kFloat64).contiguous();
  std::vector<double> sums{X.size(0) > 0 ? model.score_samples(X).sum().item<double>() : 0.0,
                           static_cast<double>(X.size(0))};
  shards::sum_over_ranks(group, sums);
  CAKE_CHECK(sums[1] > 0, "distributed GaussianMixture score: no samples on any rank");
  return sums[0] / sums[1];
}

}  // namespace cake::distributed
