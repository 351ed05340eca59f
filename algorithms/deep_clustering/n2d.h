// n2d.h: N2D, "(Not Too) Deep Clustering" (McConville, Santos-Rodriguez, Piechocki & Craddock
// 2020, "N2D: (Not Too) Deep Clustering via Clustering the Local Manifold of an Autoencoded
// Embedding", ICPR 2020): an autoencoder's codes, their local manifold learned by UMAP, and a
// Gaussian mixture on the manifold.
//
//   cake::networks::MLPAutoencoder ae({500, 500, 2000}, 10);        // train it first (cake run n2d does)
//   cake::Tensor images = cake::rand({1000, 1, 28, 28});
//   cake::deep_clustering::N2D n2d({.n_clusters = 10, .random_state = 0});
//   cake::Tensor labels = n2d.fit_predict(ae, images);                // or n2d.fit_predict(codes)
//   const cake::Tensor& manifold = n2d.manifold();                    // [N, n_clusters]
//   cake::Tensor views = cake::deep_clustering::join_views(                // codes and pixels side by side
//       {cake::networks::encode_all(ae, images), images.reshape({1000, 784})});
//   cake::Tensor joined_labels = n2d.fit_predict(views);
//
// Why (the paper's section III): an autoencoder's code keeps what is needed to redraw an image
// but says nothing about which codes belong together; clustering it directly (AE + k-means)
// works only as far as the classes happen to form round blobs. UMAP rebuilds the code space's
// local neighbourhood graph and lays it out in a few dimensions, which pulls the points of one
// manifold together and pushes the others apart; a mixture of full-covariance Gaussians then
// finds those groups, also when they are elongated. The paper's settings (section IV): UMAP to
// n_clusters dimensions with 20 neighbours and min_dist 0 (points of a cluster may pack
// tightly, which is what a clusterer wants rather than what a picture wants), Euclidean
// distance; GMM with full covariances. Its autoencoder is DEC's 784-500-500-2000-10 trained for
// 1000 epochs with Adam, batch 256 (the command `cake run n2d` trains it; see
// docs/algorithms/umap_n2d.md).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "cake/algorithms/manifold/umap.h"
#include "cake/algorithms/mixture/gaussian_mixture.h"
#include "cake/algorithms/networks/autoencoder.h"
#include "cake/tensor/tensor.h"

namespace cake::deep_clustering {

struct N2DOptions {
  std::int64_t n_clusters = 10;
  std::int64_t umap_dim = 0;               // 0: n_clusters, the paper's choice
  std::int64_t n_neighbors = 20;
  double min_dist = 0.0;
  std::string metric = "euclidean";        // UMAP's, "euclidean" | "cosine"
  std::int64_t n_epochs = 0;               // UMAP's; 0: its automatic 200 / 500
  std::string covariance_type = "full";    // the GMM's
  std::int64_t n_init = 1;                 // GMM initialisations
  std::optional<std::uint64_t> random_state = std::nullopt;
  std::function<void(const std::string&)> on_message = nullptr;           // UMAP's steps
  std::function<void(std::int64_t, std::int64_t)> on_epoch = nullptr;     // UMAP's epochs
};

// Several representations of the same N rows side by side (McConville et al. cluster one, an
// autoencoder's codes; the lecture's ensembles join several models' views of an image). Each
// view [N, D_v] is scaled so that its rows have unit root-mean-square length, then the views are
// concatenated to [N, sum D_v]: no view outweighs another by the size of its numbers or by its
// width. A view of all-zero rows is refused (it has no scale).
Tensor join_views(const std::vector<Tensor>& views);

class N2D {
 public:
  explicit N2D(N2DOptions options = {});

  // Cluster labels int64 [N] of codes [N, D]: UMAP to umap_dim dimensions, then the GMM.
  Tensor fit_predict(const Tensor& codes);
  // The same on the codes of `images` under a trained autoencoder (networks::encode_all).
  Tensor fit_predict(networks::Autoencoder& model, const Tensor& images);

  const Tensor& manifold() const;                     // the UMAP embedding, [N, umap_dim]
  const manifold::UMAP& umap() const;
  const mixture::GaussianMixture& mixture() const;
  const Tensor& labels() const;
  const N2DOptions& options() const { return options_; }

 private:
  void check_fitted(const char* who) const;
  N2DOptions options_;
  manifold::UMAP umap_;
  mixture::GaussianMixture gmm_;
  Tensor manifold_, labels_;
};

}  // namespace cake::deep_clustering
