#include "cake/algorithms/cluster/nmf_clustering.h"

#include "cake/autograd/ops.h"
#include "cake/tensor/error.h"

namespace cake::cluster {

NMFClustering::NMFClustering(NMFClusteringOptions options)
    : options_(options),
      nmf_({.n_components = options.n_clusters,
            .init = options.init,
            .solver = options.solver,
            .tol = options.tol,
            .max_iter = options.max_iter,
            .random_state = options.random_state}) {
  CAKE_CHECK(options_.n_clusters >= 1, "NMFClustering: n_clusters must be >= 1, got ", options_.n_clusters);
}

Tensor NMFClustering::fit_predict(const Tensor& x) {
  CAKE_CHECK(x.dim() == 2 && x.size(0) >= options_.n_clusters, "NMFClustering.fit: needs a matrix of at least ",
             options_.n_clusters, " rows (n_clusters), got ", x.shape());
  const Tensor w = nmf_.fit_transform(x);
  part_norms_ = norm(nmf_.components(), 2.0, {1});
  coefficients_ = rescaled(w);
  labels_ = argmax(coefficients_, 1);
  return labels_;
}

NMFClustering& NMFClustering::fit(const Tensor& x) {
  fit_predict(x);
  return *this;
}

Tensor NMFClustering::rescaled(const Tensor& w) const { return w * part_norms_; }

Tensor NMFClustering::predict(const Tensor& x) const {
  check_fitted("NMFClustering.predict");
  return argmax(rescaled(nmf_.transform(x)), 1);
}

void NMFClustering::check_fitted(const char* who) const {
  CAKE_CHECK(labels_.defined(), who, ": the model is not fitted; call fit first");
}

const Tensor& NMFClustering::labels() const {
  check_fitted("NMFClustering.labels");
  return labels_;
}

const Tensor& NMFClustering::coefficients() const {
  check_fitted("NMFClustering.coefficients");
  return coefficients_;
}

Tensor NMFClustering::centers() const {
  check_fitted("NMFClustering.centers");
  // A part of length 0 (a component NMF left empty) stays 0 rather than dividing by it.
  return nmf_.components() / clamp(part_norms_, 1e-30, std::nullopt).unsqueeze(1);
}

}  // namespace cake::cluster
