// latent_clustering.cpp: any Clusterer on standardised codes.
#include "cake/algorithms/deep_clustering/latent_clustering.h"

#include <algorithm>

#include "cake/autograd/grad_mode.h"
#include "cake/autograd/ops.h"
#include "cake/tensor/creation.h"

namespace cake::deep_clustering {

Tensor standardize_columns(const Tensor& x) {
  CAKE_CHECK(x.dim() == 2 && x.size(0) >= 2, "standardize_columns: expected [N, D] with N >= 2, got shape ", x.sizes());
  NoGradGuard no_grad;
  const Tensor x64 = x.detach().to(kFloat64);
  const Tensor mean = x64.mean({0}, true);
  Tensor std = x64.std({0}, true, 0);
  std = where(std > Scalar(0.0), std, ones_like(std));
  return (x64 - mean) / std;
}

Tensor cluster_codes(const Tensor& codes, cluster::Clusterer& clusterer, bool standardize) {
  CAKE_CHECK(codes.dim() == 2, "cluster_codes: expected codes [N, D], got shape ", codes.sizes());
  const Tensor x = standardize ? standardize_columns(codes) : codes.detach().to(kFloat64);
  return clusterer.fit_predict(x);
}

Tensor cluster_codes(const Tensor& codes, const LatentClusteringOptions& options) {
  CAKE_CHECK(codes.dim() == 2, "cluster_codes: expected codes [N, D], got shape ", codes.sizes());
  CAKE_CHECK(options.n_clusters >= 1 && options.n_clusters <= codes.size(0), "cluster_codes: n_clusters must be in [1, ",
             codes.size(0), "], got ", options.n_clusters);
  // The common settings go to every clusterer that has them (k-means has no covariance_type,
  // DBSCAN no n_clusters), so no method is named here; options.params are passed as given.
  const std::vector<std::string> accepted = cluster::clusterer_parameters(options.method);
  const auto accepts = [&](const std::string& key) { return std::find(accepted.begin(), accepted.end(), key) != accepted.end(); };
  cluster::ClustererParams params;
  if (accepts("n_clusters")) params.insert_or_assign("n_clusters", options.n_clusters);
  if (accepts("n_init")) params.insert_or_assign("n_init", options.n_init);
  if (accepts("random_state")) params.insert_or_assign("random_state", options.seed);
  if (accepts("covariance_type")) params.insert_or_assign("covariance_type", options.covariance_type);
  for (const auto& [key, value] : options.params) params.insert_or_assign(key, value);
  const std::unique_ptr<cluster::Clusterer> clusterer = cluster::make_clusterer(options.method, params);
  return cluster_codes(codes, *clusterer, options.standardize);
}

}  // namespace cake::deep_clustering
