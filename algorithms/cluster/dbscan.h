// dbscan.h: DBSCAN, density-based clustering with noise (Ester, Kriegel, Sander & Xu, KDD 1996).
//
//   cake::cluster::DBSCAN db({.eps = 0.3, .min_samples = 10});
//   cake::Tensor labels = db.fit_predict(X);        // [n] int64, -1 marks noise
//   cake::Tensor core = db.core_sample_indices();   // ascending
//
// The model, in the paper's terms: N_eps(p) = {q : ||p - q|| <= eps} (p itself included). A point
// is a *core point* when |N_eps(p)| >= min_samples. Clusters are the connected components of
// the "directly density-reachable" relation among core points (q in N_eps(p), p core), each
// with the non-core points within eps of one of its cores ("border" points); everything else is
// noise. Two swappable steps:
//   1. radius_neighborhoods: every N_eps(p), through a k-d tree in low dimension (d <= 8) or
//      blocked GEMM distances otherwise (the `algorithm` option picks).
//   2. expand_clusters: a depth-first search from each unlabelled core point in index order,
//      the loop of scikit-learn's dbscan_inner, so clusters are numbered in order of discovery
//      and a border point reachable from two clusters joins the one found first. Labels equal
//      scikit-learn's exactly.
// DBSCAN::fit runs the two steps as written for high dimension; in low dimension it fuses them
// and keeps no neighbourhood lists (memory O(n)): the k-d tree counts |N_eps(p)| for the core
// flags, and the search of step 2 asks the tree for each core point's neighbourhood.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cake/algorithms/cluster/clusterer.h"
#include "cake/tensor/tensor.h"

namespace cake::cluster {

// How the eps-neighbourhoods are found (sklearn's `algorithm`).
enum class NeighborAlgorithm { Auto, KDTree, Brute };
NeighborAlgorithm parse_neighbor_algorithm(const std::string& name);  // "auto", "kd_tree", "brute"

struct DBSCANOptions {
  double eps = 0.5;                 // neighbourhood radius (Euclidean)
  std::int64_t min_samples = 5;     // |N_eps(p)| needed for a core point, p itself included
  NeighborAlgorithm algorithm = NeighborAlgorithm::Auto;  // Auto: k-d tree when d <= 8
  std::int64_t leaf_size = 30;      // k-d tree leaf size
};

// N_eps of every sample: neighbours of i are indices[indptr[i] .. indptr[i + 1]) (i included).
struct Neighborhoods {
  std::vector<std::int64_t> indptr{0};
  std::vector<std::int64_t> indices;
  std::int64_t size(std::int64_t i) const { return indptr[i + 1] - indptr[i]; }
};

// Step 1. X is [n, d] float32/float64; exact Euclidean distances decide membership. Each list is
// in increasing index order, or, with sort_results = false (scikit-learn's default for
// radius_neighbors), in the k-d tree's visiting order, which is cheaper.
Neighborhoods radius_neighborhoods(const Tensor& x, double eps, NeighborAlgorithm algorithm = NeighborAlgorithm::Auto,
                                   std::int64_t leaf_size = 30, bool sort_results = true);

// Step 2. Labels (-1 noise) from the neighbourhoods and the core flags.
std::vector<std::int64_t> expand_clusters(const Neighborhoods& neighborhoods, const std::vector<char>& is_core);

// A Clusterer that labels only its training data (predict throws); -1 marks noise.
class DBSCAN : public Clusterer {
 public:
  explicit DBSCAN(DBSCANOptions options = {});

  DBSCAN& fit(const Tensor& x) override;
  Tensor fit_predict(const Tensor& x) override;
  std::string name() const override { return "dbscan"; }

  const Tensor& labels() const override;      // [n] int64, -1 for noise
  const Tensor& core_sample_indices() const;  // [n_core] int64, ascending
  const Tensor& components() const;           // [n_core, d]: the core samples, X's dtype
  std::int64_t n_clusters() const { return n_clusters_; }
  const DBSCANOptions& options() const { return options_; }

 private:
  DBSCANOptions options_;
  Tensor labels_, core_sample_indices_, components_;
  std::int64_t n_clusters_ = 0;
};

}  // namespace cake::cluster

// Compatibility: the spellings from before algorithms/ was split into family namespaces
// (docs/architecture.md, "The algorithms: families and namespaces"). They name the same
// entities; new code uses cake::cluster.
namespace cake::algorithms {
using ::cake::cluster::NeighborAlgorithm;
using ::cake::cluster::parse_neighbor_algorithm;
using ::cake::cluster::DBSCANOptions;
using ::cake::cluster::Neighborhoods;
using ::cake::cluster::radius_neighborhoods;
using ::cake::cluster::expand_clusters;
using ::cake::cluster::DBSCAN;
}  // namespace cake::algorithms
