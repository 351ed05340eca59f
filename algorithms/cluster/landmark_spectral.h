// landmark_spectral.h: landmark-based spectral clustering (Chen & Cai 2011, "Large Scale Spectral
// Clustering with Landmark-Based Representation", AAAI), the "SC-LS" baseline of the JULE talk's
// tables (Yang, Parikh & Batra 2016), where it is the strongest classical method on MNIST-full.
//
//   cake::cluster::LandmarkSpectralClustering lsc({.n_clusters = 10, .n_landmarks = 1000,
//                                                   .random_state = 0});
//   cake::Tensor labels = lsc.fit_predict(X);     // [n] int64; O(n p d), no n x n matrix
//   cake::Tensor fresh = lsc.predict(X_new);      // new points through the same landmarks
//
// Spectral clustering on n points needs the eigenvectors of an n x n affinity (spectral.h). Chen &
// Cai replace that affinity by one of rank p << n built through p landmark points u_1 .. u_p,
// whose eigenvectors come from a p x p problem. The steps, each a function of the .cpp:
//   1. Landmarks: p centres of k-means run for a few iterations from random rows (the paper's
//      choice, section "Landmark selection"), or p random rows of X.
//   2. Representation (the paper's landmark-based sparse coding): each x_i is written through its r nearest landmarks
//      U<i> with Nadaraya-Watson weights
//          z_ji = K(x_i, u_j) / sum_{j' in U<i>} K(x_i, u_j')  for j in U<i>, 0 otherwise,
//      K(x, u) = exp(-|x - u|^2 / (2 h^2)), h = the mean distance from a point to its r nearest
//      landmarks. Z [p, n] is sparse, r entries per column, and each column sums to 1.
//   3. The graph W = Z^T D^-1 Z (D = diag of Z's row sums, the landmarks' degrees) has degree 1
//      at every point, so its normalised affinity is W itself, and with Zhat = D^-1/2 Z,
//      W = Zhat^T Zhat: the eigenvectors of W are Zhat's right singular vectors. They come from
//      the p x p matrix G = Zhat Zhat^T = A Sigma^2 A^T (its top k eigenpairs) as
//          B^T = Sigma^-1 A^T Zhat         [k, n]   (the paper's Algorithm 1).
//      The first pair is always sigma = 1 with a constant vector (W 1 = 1).
//   4. The rows of B, scaled to unit length as Ng, Jordan & Weiss do (`normalize_rows`; Chen &
//      Cai's Algorithm 1 clusters B as it is), are clustered by k-means.
// Cost: the landmarks' k-means and step 2 are O(n p d) (blocked GEMM), steps 3-4 O(n r^2 + p^3 +
// n k^2): the 70,000 Fashion-MNIST images take seconds, where the exact method needs a 70,000-node graph.
//
// New points (predict): steps 2-3 applied to them with the fitted landmarks, h, D, A and Sigma give
// their rows of B (the Nystrom-like extension the representation makes free), and each takes the
// label of the nearest k-means centre. On the training data this reproduces the fitted labels.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cake/algorithms/cluster/clusterer.h"
#include "cake/algorithms/cluster/kmeans.h"
#include "cake/tensor/tensor.h"

namespace cake::cluster {

enum class LandmarkSelection { KMeans, Random };
LandmarkSelection parse_landmark_selection(const std::string& name);  // "kmeans", "random"

struct LandmarkSpectralClusteringOptions {
  std::int64_t n_clusters = 8;
  std::int64_t n_landmarks = 1000;        // p (the paper's default)
  std::int64_t n_nearest_landmarks = 5;   // r (the paper's default)
  LandmarkSelection landmark_selection = LandmarkSelection::KMeans;
  std::int64_t landmark_max_iter = 10;    // iterations of the landmarks' k-means ("a few")
  bool normalize_rows = true;             // unit rows of B before k-means (see step 4)
  std::int64_t n_init = 10;               // restarts of the final k-means
  std::optional<std::uint64_t> random_state = std::nullopt;
};

// Z^T of step 2, stored by rows: point i is sum_t weight[i r + t] u_{landmark[i r + t]}.
struct LandmarkCodes {
  std::int64_t n = 0, r = 0;
  std::vector<std::int64_t> landmark;  // [n, r], nearest landmark first
  std::vector<double> weight;          // [n, r], each row sums to 1
};

// Step 2 for the rows of x [m, d] given landmarks [p, d]. bandwidth <= 0: h is the mean distance
// from the rows of x to their r nearest landmarks, written back; > 0: that h is used.
LandmarkCodes landmark_representation(const Tensor& x, const Tensor& landmarks, std::int64_t n_nearest,
                                      double& bandwidth);

class LandmarkSpectralClustering : public Clusterer {
 public:
  explicit LandmarkSpectralClustering(LandmarkSpectralClusteringOptions options = {});

  LandmarkSpectralClustering& fit(const Tensor& x) override;
  Tensor fit_predict(const Tensor& x) override;
  Tensor predict(const Tensor& x) const override;  // steps 2-4 with the fitted model
  bool can_predict() const override { return true; }
  // The rows of B [m, k] of new points (unit length when normalize_rows), before k-means.
  Tensor transform(const Tensor& x) const;
  std::string name() const override { return "landmark-spectral"; }

  const Tensor& labels() const override;        // [n] int64
  const Tensor& landmarks() const;              // [p, d] float64
  const Tensor& embedding() const;              // B of the training data [n, k] float64 (step 4)
  const Tensor& singular_values() const;        // sigma_1 >= ... >= sigma_k of Zhat, [k] float64
  // The mean of each cluster's training points [K, d] (the centres of the data space, as the
  // other clusterers give); the k-means centres in the embedding are embedding_centers() [K, k].
  Tensor centers() const override;
  const Tensor& embedding_centers() const;
  double bandwidth() const { return bandwidth_; }  // h of step 2
  const LandmarkSpectralClusteringOptions& options() const { return options_; }

 private:
  void check_fitted(const char* who) const;
  Tensor embed(const LandmarkCodes& codes) const;  // B of step 3 (with step 4's scaling)

  LandmarkSpectralClusteringOptions options_;
  Tensor landmarks_, labels_, embedding_, singular_values_, cluster_means_;
  Tensor projection_;  // D^-1/2 A Sigma^-1 [p, k]: B = Z^T projection_
  double bandwidth_ = 0.0;
  KMeans kmeans_;  // step 4's k-means, kept for predict
};

}  // namespace cake::cluster
