// latent_clustering.cpp: k-means or a Gaussian mixture on standardised codes.
#include "algorithms/deep_clustering/latent_clustering.h"

#include "algorithms/mixture/gaussian_mixture.h"
#include "algorithms/cluster/kmeans.h"
#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "tensor/creation.h"

namespace cake::algorithms {

Tensor standardize_columns(const Tensor& x) {
  CAKE_CHECK(x.dim() == 2 && x.size(0) >= 2, "standardize_columns: expected [N, D] with N >= 2, got shape ", x.sizes());
  NoGradGuard no_grad;
  const Tensor x64 = x.detach().to(kFloat64);
  const Tensor mean = x64.mean({0}, true);
  Tensor std = x64.std({0}, true, 0);
  std = where(std > Scalar(0.0), std, ones_like(std));
  return (x64 - mean) / std;
}

Tensor cluster_codes(const Tensor& codes, const LatentClusteringOptions& options) {
  CAKE_CHECK(codes.dim() == 2, "cluster_codes: expected codes [N, D], got shape ", codes.sizes());
  CAKE_CHECK(options.n_clusters >= 1 && options.n_clusters <= codes.size(0), "cluster_codes: n_clusters must be in [1, ",
             codes.size(0), "], got ", options.n_clusters);
  const Tensor x = options.standardize ? standardize_columns(codes) : codes.detach().to(kFloat64);
  if (options.method == "kmeans") {
    KMeans kmeans({.n_clusters = options.n_clusters, .n_init = options.n_init, .random_state = options.seed});
    return kmeans.fit_predict(x);
  }
  if (options.method == "gmm") {
    GaussianMixture gmm({.n_components = options.n_clusters, .covariance_type = options.covariance_type,
                         .n_init = options.n_init, .random_state = options.seed});
    return gmm.fit_predict(x);
  }
  CAKE_FAIL("cluster_codes: method must be \"kmeans\" or \"gmm\", got \"", options.method, "\"");
}

}  // namespace cake::algorithms
