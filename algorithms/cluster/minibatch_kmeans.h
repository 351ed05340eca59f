// minibatch_kmeans.h: k-means on random mini-batches (Sculley 2010, "Web-scale k-means
// clustering"), with scikit-learn's interface and algorithm.
//
//   cake::cluster::MiniBatchKMeans km({.n_clusters = 10, .batch_size = 1024, .random_state = 0});
//   cake::Tensor labels = km.fit_predict(X);   // X [N, D] float32 or float64
//
// Each step draws a batch of b points, assigns each to its nearest centre, and moves every
// centre towards the mean of its batch points with a per-centre learning rate 1 / n_j, where
// n_j counts all points the centre has received so far (Sculley's Algorithm 1, eq. in line 13):
//     mu_j <- (n_j mu_j + sum_{x in batch, c(x) = j} x) / (n_j + |{x in batch : c(x) = j}|).
// Centres that received far fewer points than the busiest one (count < reassignment_ratio *
// max count) are moved to random batch points every 10 k samples, as scikit-learn does, so that
// no centre stays stranded. Stops after max_iter passes over the data, or when an exponentially
// weighted average of the batch inertia has not improved for max_no_improvement batches.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cake/algorithms/cluster/clusterer.h"
#include "cake/tensor/tensor.h"

namespace cake::cluster {

struct MiniBatchKMeansOptions {
  std::int64_t n_clusters = 8;
  std::string init = "k-means++";  // "k-means++" | "random"
  Tensor init_centers = {};        // [n_clusters, features]: start from these (then n_init = 1)
  std::int64_t max_iter = 100;     // passes over the data
  std::int64_t batch_size = 1024;
  bool compute_labels = true;      // label the training data (and compute its inertia) at the end
  std::optional<std::uint64_t> random_state = std::nullopt;
  double tol = 0.0;                // on the squared centre shift of one batch, relative to variance; 0: off
  std::int64_t max_no_improvement = 10;  // batches without a better smoothed inertia; 0: off
  std::int64_t init_size = -1;     // points the initialisation sees; -1: 3 * batch_size
  std::int64_t n_init = 3;         // initialisations tried (scored on a held-out sample)
  double reassignment_ratio = 0.01;
};

class MiniBatchKMeans : public Clusterer {
 public:
  explicit MiniBatchKMeans(MiniBatchKMeansOptions options = {});

  MiniBatchKMeans& fit(const Tensor& X) override;
  // One mini-batch step on X (the whole of X is the batch); initialises on the first call.
  MiniBatchKMeans& partial_fit(const Tensor& X);
  Tensor fit_predict(const Tensor& X) override;
  Tensor predict(const Tensor& X) const override;
  bool can_predict() const override { return true; }
  Tensor transform(const Tensor& X) const;
  double score(const Tensor& X) const;  // -inertia

  const Tensor& cluster_centers() const;  // [K, D], the data's dtype
  const Tensor& labels() const override;  // [N] int64 (when compute_labels)
  Tensor centers() const override { return cluster_centers(); }
  std::string name() const override { return "minibatch-kmeans"; }
  double inertia() const;
  std::int64_t n_iter() const;            // passes over the data, rounded up
  std::int64_t n_steps() const;           // mini-batches processed
  const MiniBatchKMeansOptions& options() const { return options_; }

 private:
  void check_fitted(const char* who) const;
  MiniBatchKMeansOptions options_;
  Tensor centers_, labels_;
  std::vector<double> counts_;  // points each centre has received
  double inertia_ = 0.0;
  std::int64_t n_iter_ = 0, n_steps_ = 0, n_features_ = 0;
  std::int64_t since_last_reassign_ = 0;
};

}  // namespace cake::cluster

// Compatibility: the spellings from before algorithms/ was split into family namespaces
// (docs/architecture.md, "The algorithms: families and namespaces"). They name the same
// entities; new code uses cake::cluster.
namespace cake::algorithms {
using ::cake::cluster::MiniBatchKMeansOptions;
using ::cake::cluster::MiniBatchKMeans;
}  // namespace cake::algorithms
