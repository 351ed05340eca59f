// n2d.cpp: N2D's pipeline, codes -> UMAP -> Gaussian mixture (see n2d.h).
#include "cake/algorithms/deep_clustering/n2d.h"

#include <cmath>

#include "cake/autograd/ops.h"
#include "cake/tensor/creation.h"

namespace cake::deep_clustering {

namespace {

manifold::UMAPOptions umap_options(const N2DOptions& o) {
  return {.n_neighbors = o.n_neighbors,
          .n_components = o.umap_dim > 0 ? o.umap_dim : o.n_clusters,
          .metric = o.metric,
          .n_epochs = o.n_epochs,
          .min_dist = o.min_dist,
          .random_state = o.random_state,
          .on_message = o.on_message,
          .on_epoch = o.on_epoch};
}

N2DOptions checked(N2DOptions o) {
  CAKE_CHECK(o.n_clusters >= 1, "N2D: n_clusters must be at least 1, got ", o.n_clusters);
  CAKE_CHECK(o.umap_dim >= 0, "N2D: umap_dim must be >= 0 (0: n_clusters), got ", o.umap_dim);
  return o;
}

}  // namespace

Tensor join_views(const std::vector<Tensor>& views) {
  CAKE_CHECK(!views.empty(), "join_views: no views given");
  const std::int64_t n = views.front().defined() ? views.front().size(0) : 0;
  std::vector<Tensor> scaled;
  for (std::size_t v = 0; v < views.size(); ++v) {
    const Tensor& view = views[v];
    CAKE_CHECK(view.defined() && view.dim() == 2 && view.size(0) == n, "join_views: view ", v,
               " must be [N, D] with the N = ", n, " rows of view 0, got ",
               view.defined() ? shape_str(view.sizes()) : "an undefined tensor");
    const Tensor x = view.detach().cpu().to(kFloat64);
    // The root of the mean squared row length: sqrt(sum_ij x_ij^2 / N).
    const double rms = std::sqrt(x.square().sum().item<double>() / static_cast<double>(n));
    CAKE_CHECK(rms > 0.0 && std::isfinite(rms), "join_views: view ", v, " has rows of root-mean-square length ", rms,
               " (all zero, or not finite): it cannot be scaled");
    scaled.push_back(x / Scalar(rms));
  }
  return cat(scaled, 1);
}

N2D::N2D(N2DOptions options)
    : options_(checked(std::move(options))),
      umap_(umap_options(options_)),
      gmm_({.n_components = options_.n_clusters,
            .covariance_type = options_.covariance_type,
            .n_init = options_.n_init,
            .random_state = options_.random_state}) {}

Tensor N2D::fit_predict(const Tensor& codes) {
  CAKE_CHECK(codes.dim() == 2, "N2D.fit_predict: codes must be [N, D], got shape ", codes.sizes());
  CAKE_CHECK(codes.size(0) >= options_.n_clusters, "N2D.fit_predict: ", codes.size(0), " codes for ",
             options_.n_clusters, " clusters");
  // UMAP's layout in float64: the GMM's covariances of a tight cluster (min_dist 0) need it.
  manifold_ = umap_.fit_transform(codes.detach().cpu().to(kFloat64));
  if (options_.on_message) options_.on_message("N2D: Gaussian mixture (" + options_.covariance_type + ") with " +
                                               std::to_string(options_.n_clusters) + " components");
  labels_ = gmm_.fit_predict(manifold_);
  return labels_;
}

Tensor N2D::fit_predict(networks::Autoencoder& model, const Tensor& images) {
  return fit_predict(networks::encode_all(model, images));
}

void N2D::check_fitted(const char* who) const {
  CAKE_CHECK(labels_.defined(), who, ": this N2D is not fitted yet; call fit_predict first");
}
const Tensor& N2D::manifold() const {
  check_fitted("N2D.manifold");
  return manifold_;
}
const manifold::UMAP& N2D::umap() const {
  check_fitted("N2D.umap");
  return umap_;
}
const mixture::GaussianMixture& N2D::mixture() const {
  check_fitted("N2D.mixture");
  return gmm_;
}
const Tensor& N2D::labels() const {
  check_fitted("N2D.labels");
  return labels_;
}

}  // namespace cake::deep_clustering
