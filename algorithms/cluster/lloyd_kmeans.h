// lloyd_kmeans.h: the plain k-means of the intro lecture, written with Cake's tensor operations:
// the version to read first.
//
//   cake::cluster::LloydKMeans km({.n_clusters = 3, .random_state = 0});
//   cake::Tensor labels = km.fit_predict(X);    // X [N, D] float32 or float64, on any device
//   double j = km.inertia();                    // sum_i |x_i - mu_{y_i}|^2
//   cake::Tensor mu = km.cluster_centers();     // [3, D]
//
// The loop (Lloyd 1982, "Least squares quantization in PCM"; the K-MEANS(k, tau, {x_i})
// procedure of the intro lecture on clustering, MIT 6.390 lecture 12):
//   1  mu = random initialisation: k distinct samples
//   2  for t = 1 .. tau (max_iter)
//   3    y_old = y
//   5    y_i  = argmin_j |x_i - mu_j|^2                 the assignment step
//   7    mu_j = (1 / N_j) sum_{i : y_i = j} x_i          the update step
//   8    if y == y_old: break                            labels stopped changing
// Neither step can raise the objective J = sum_i |x_i - mu_{y_i}|^2 (the assignment picks the
// nearest centre; the mean minimises a sum of squared distances), and there are finitely many
// labellings, so the loop stops, in a local minimum that depends on the initialisation:
// n_init > 1 repeats it from fresh random centres and keeps the lowest J. An empty cluster keeps
// its previous centre (its mean is undefined).
//
// Each step is a few lines of tensor code in lloyd_kmeans.cpp: cdist_squared and min for the
// assignment, index_add and bincount for the means, so the same code runs on the CPU or a GPU.
// KMeans (kmeans.h) computes the same fixed point from the same initial centres (the test
// checks it) and is what to use for real work: k-means++ seeds (Arthur & Vassilvitskii 2007),
// restarts, Elkan's pruned steps, and raw-pointer kernels (kmeans_steps.h) that run several
// times faster on the CPU.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "cake/algorithms/cluster/clusterer.h"
#include "cake/tensor/tensor.h"

namespace cake::cluster {

struct LloydKMeansOptions {
  std::int64_t n_clusters = 8;
  std::int64_t max_iter = 300;   // tau: most assignment/update rounds
  std::int64_t n_init = 1;       // independent random starts; the lowest inertia wins
  Tensor init_centers = {};      // [n_clusters, features]: start from these (then n_init = 1)
  std::optional<std::uint64_t> random_state = std::nullopt;  // unset: cake's global generator
};

// What one iteration did, for progress bars and logs (LloydKMeans::on_iteration).
struct LloydIteration {
  std::int64_t restart = 0;    // 0-based start
  std::int64_t iteration = 0;  // 1-based t
  double inertia = 0.0;        // J of the centres this iteration assigned to
  std::int64_t changed = 0;    // labels that changed (all N on the first iteration)
};

class LloydKMeans : public Clusterer {
 public:
  explicit LloydKMeans(LloydKMeansOptions options = {});

  LloydKMeans& fit(const Tensor& X) override;
  Tensor fit_predict(const Tensor& X) override;  // labels [N] int64
  Tensor predict(const Tensor& X) const override;  // nearest centre [N] int64
  bool can_predict() const override { return true; }
  const Tensor& labels() const override;
  Tensor centers() const override { return cluster_centers(); }
  std::string name() const override { return "kmeans-lloyd"; }

  const Tensor& cluster_centers() const;  // [K, D], X's dtype and device
  double inertia() const;                 // J of the final centres
  std::int64_t n_iter() const;            // iterations of the winning start
  std::int64_t best_restart() const;      // which start won (0-based)
  // J at every iteration of the winning start (never increasing).
  const std::vector<double>& inertia_history() const;
  const LloydKMeansOptions& options() const { return options_; }

  // Called after every iteration of every start (e.g. to drive a progress bar).
  std::function<void(const LloydIteration&)> on_iteration;

 private:
  void check_fitted(const char* who) const;
  LloydKMeansOptions options_;
  Tensor centers_, labels_;
  double inertia_ = 0.0;
  std::int64_t n_iter_ = 0, best_restart_ = 0;
  std::vector<double> inertia_history_;
};

}  // namespace cake::cluster
