// kmeans.h: k-means clustering with scikit-learn's interface.
//
//   cake::cluster::KMeans km({.n_clusters = 10, .n_init = 10, .random_state = 0});
//   cake::Tensor labels = km.fit_predict(X);          // X [N, D] float32 or float64
//   double j = km.inertia();                          // sum of squared distances, eq. (1)
//   cake::Tensor mu = km.cluster_centers();           // [10, D], X's dtype
//
// Minimises the inertia J = sum_i |x_i - mu_{c(i)}|^2 (Lloyd 1982, "Least squares quantization
// in PCM") by alternating the two steps of kmeans_steps.h: nearest-centre labels, then centres
// as means. Starts from k-means++ seeds (Arthur & Vassilvitskii 2007) or random points, runs
// n_init times from different seeds and keeps the run with the lowest inertia (k-means only
// finds a local minimum, and a bad start gives a bad one). algorithm="elkan" (Elkan 2003)
// reaches the same fixed point with far fewer distance computations on well-clustered data.
//
// As scikit-learn, the data are centred (column means subtracted) before clustering: the GEMM
// form of the distance |x|^2 - 2 x.mu + |mu|^2 loses precision when |x| >> |x - mu|. tol is
// relative to the mean feature variance; see kmeans::absolute_tolerance.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "cake/algorithms/cluster/clusterer.h"
#include "cake/tensor/tensor.h"

namespace cake::cluster {

struct KMeansOptions {
  std::int64_t n_clusters = 8;
  std::string init = "k-means++";  // "k-means++" | "random"
  Tensor init_centers = {};        // [n_clusters, features]: start from these (then n_init = 1)
  std::int64_t n_init = 10;        // restarts; the lowest inertia wins (scikit-learn 1.2's default)
  std::int64_t max_iter = 300;
  double tol = 1e-4;               // on the total squared centre shift, relative to mean variance
  std::optional<std::uint64_t> random_state = std::nullopt;  // unset: cake's global generator
  std::string algorithm = "lloyd";  // "lloyd" | "elkan"
};

class KMeans : public Clusterer {
 public:
  explicit KMeans(KMeansOptions options = {});

  KMeans& fit(const Tensor& X) override;
  Tensor fit_predict(const Tensor& X) override;     // labels [N] int64
  Tensor fit_transform(const Tensor& X);            // distances to the centres [N, K]
  Tensor predict(const Tensor& X) const override;   // nearest centre [N] int64
  bool can_predict() const override { return true; }
  Tensor transform(const Tensor& X) const;          // Euclidean distances [N, K], X's dtype
  double score(const Tensor& X) const;              // -inertia of X under the fitted centres

  // Fitted attributes (scikit-learn's names without the trailing underscore).
  const Tensor& cluster_centers() const;  // [K, D], the data's dtype
  const Tensor& labels() const override;  // [N] int64, of the training data
  Tensor centers() const override { return cluster_centers(); }
  std::string name() const override { return "kmeans"; }
  double inertia() const;                 // eq. (1) on the training data
  std::int64_t n_iter() const;            // iterations of the winning run
  std::int64_t n_features_in() const { return n_features_; }
  const KMeansOptions& options() const { return options_; }

 private:
  void check_fitted(const char* who) const;
  KMeansOptions options_;
  Tensor centers_, labels_;
  double inertia_ = 0.0;
  std::int64_t n_iter_ = 0;
  std::int64_t n_features_ = 0;
};

}  // namespace cake::cluster

// Compatibility: the spellings from before algorithms/ was split into family namespaces
// (docs/architecture.md, "The algorithms: families and namespaces"). They name the same
// entities; new code uses cake::cluster.
namespace cake::algorithms {
using ::cake::cluster::KMeansOptions;
using ::cake::cluster::KMeans;
}  // namespace cake::algorithms
