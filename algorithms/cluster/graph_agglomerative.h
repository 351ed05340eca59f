// graph_agglomerative.h: agglomerative clustering on a directed k-nearest-neighbour graph by a
// cluster's structural descriptor, the family of Wei Zhang and colleagues' graph agglomerative
// clustering; three baselines of the JULE talk's tables. The path integral (Zhang, Zhao & Wang 2013,
// "Agglomerative clustering via maximum incremental path integral", Pattern Recognition) is the
// talk's AC-PIC and the default; the zeta function (Zhao & Tang 2008, "Cyclizing clusters via zeta
// function of a graph", NIPS) is AC-Zell; graph degree linkage (Zhang, Wang, Zhao & Tang 2012, ECCV)
// is AC-GDL, run by graph_degree_linkage.h's engine with K_c = 1.
//
//   cake::cluster::GraphAgglomerativeClustering pic({.n_clusters = 10});   // AC-PIC
//   cake::Tensor labels = pic.fit_predict(X);                             // X [n, d]: [n] int64
//   cake::cluster::GraphAgglomerativeClustering zell({.n_clusters = 10, .descriptor = cake::cluster::GraphDescriptor::Zeta});
//
// The graph is GDL's (gdl_graph: each sample points to its K nearest, w_ij = exp(-d_ij^2 / sigma^2)),
// made a random walk, P = D^-1 W (each row sums to 1); the first clusters are GDL's too, the
// components of the nearest-neighbour graph (nearest_neighbor_clusters). P_C is the walk kept inside
// a set C of samples (the rows and columns of C), and
//   (I - z P_C)^-1 = sum_{k >= 0} z^k P_C^k
// sums the walks of every length that stay in C, a walk of length k weighted by z^k (0 < z < 1).
// The descriptors read it two ways (the authors' code computes both from this matrix):
//   path integral  S_C = 1/|C|^2 1' (I - z P_C)^-1 1: the walks between any two members, on average
//                  (the paper's "path integral" of the cluster);
//   zeta           x_C = 1/|C| sum_{i in C} log [(I - z P_C)^-1]_ii: the walks that return to their start,
//                  the cycles that Zhao & Tang count through the graph's zeta function.
// A cluster whose members reach each other by many short walks is a coherent cluster. Merging C_a and
// C_b adds the walks that pass through the other cluster; the affinity of the pair is that increment,
//   A(C_a, C_b) = (S_{C_a | C_a u C_b} - S_{C_a}) + (S_{C_b | C_a u C_b} - S_{C_b}),
// with S_{C_a | C} = 1/|C_a|^2 1_a' (I - z P_C)^-1 1_a the descriptor of C_a's members counted with the
// walks of C (for zeta, the mean over C_a's members of log [(I - z P_C)^-1]_ii), and every step merges
// the pair of largest affinity ("maximum incremental path integral"), down to n_clusters or, with
// min_cluster_fraction (below), to n_clusters clusters of a reasonable size.
//
// Computing it. The series converges geometrically (P_C's rows sum to at most 1), so each descriptor
// is a few sparse products on the k-NN graph: the terms are summed until the rest is below 1e-16 of
// the sum (about 9 terms at z = 0.01). Only the walk terms (k >= 1) are kept, so the increments are
// not lost in the rounding of the identity's 1/|C|. A walk from C_a back to C_a through C_b needs an
// edge each way, so pairs linked one way only (or not at all) have affinity exactly 0 and only pairs
// with edges both ways are scored; a merge rescores the new cluster with its neighbours, found from
// its members' edges. Path integral: O(K |C|) per term of a cluster C. Zeta needs the diagonal of the
// inverse, one walk per member, O(K |C|^2) per cluster; from 65 to 4,096 samples one dense inverse
// (LAPACK) is faster and serves instead, so zeta stays the slowest of the three on large clusters.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "cake/algorithms/cluster/clusterer.h"
#include "cake/algorithms/neighbors/sparse_graph.h"
#include "cake/tensor/tensor.h"

namespace cake::cluster {

enum class GraphDescriptor { PathIntegral, Zeta, DegreeLinkage };
GraphDescriptor parse_graph_descriptor(const std::string& name);  // "path", "zeta", "gdl"

struct GraphAgglomerativeClusteringOptions {
  std::int64_t n_clusters = 8;
  GraphDescriptor descriptor = GraphDescriptor::PathIntegral;
  std::int64_t n_neighbors = 20;  // K (the authors' code and JULE's table)
  double a = 1.0;                 // sigma^2 = a times the mean squared distance to the K neighbours
  double z = 0.01;                // the walks' weight per step (the authors' code)
  // Outlying groups (Cake's addition, as JULE's min_cluster_fraction). A cluster of fewer than
  // min_cluster_fraction x n / n_clusters samples is a group of outliers, not one of the clusters:
  // once the larger clusters have outnumbered n_clusters, the merging stops when they are
  // n_clusters again, and each smaller one joins the large cluster its edges weigh most towards.
  // Without it, on Fashion-MNIST's raw pixels every descriptor ends with one cluster of 9,978 images
  // and nine of 2 to 4 that nothing links to both ways (docs/algorithms/classical.md).
  // 0: the papers' process, every cluster counts.
  double min_cluster_fraction = 0.05;
  // After each merge: merges done and the most there can be (initial clusters - n_clusters; fewer
  // when outlying groups stop the merging early).
  std::function<void(std::int64_t done, std::int64_t total)> on_merge = {};
};

// The descriptors of a set of samples on a random walk P (rows summing to at most 1), without the
// walks of length 0: for the path integral 1' [(I - z P_C)^-1 - I] 1 / |C|^2 restricted to
// `members`, and for zeta sum_i log [(I - z P_C)^-1]_ii / |C|. `within` is the set the walks may use
// (a superset of members; C when empty), so that path_descriptor(P, a, a u b) is S_{C_a | C_a u C_b}
// minus 1/|C_a|. For tests and for callers with their own graph.
double path_descriptor(const neighbors::SparseGraph& walk, const std::vector<std::int64_t>& members,
                       const std::vector<std::int64_t>& within, double z);
double zeta_descriptor(const neighbors::SparseGraph& walk, const std::vector<std::int64_t>& members,
                       const std::vector<std::int64_t>& within, double z);

class GraphAgglomerativeClustering : public Clusterer {
 public:
  explicit GraphAgglomerativeClustering(GraphAgglomerativeClusteringOptions options = {});

  GraphAgglomerativeClustering& fit(const Tensor& x) override;
  Tensor fit_predict(const Tensor& x) override;
  // Clusters the samples of a given graph (row i: i's out-edges, positive weights) instead of the
  // k-NN graph of data, from the nearest-neighbour components of that graph.
  GraphAgglomerativeClustering& fit_graph(const neighbors::SparseGraph& weights);
  std::string name() const override { return "graph-agglomerative"; }

  const Tensor& labels() const override;  // [n] int64, 0 .. n_clusters - 1 in order of first sample
  std::int64_t n_initial_clusters() const { return n_initial_; }
  // The outlying groups the last fit joined to larger clusters (0 with min_cluster_fraction = 0).
  std::int64_t n_outlying_groups() const { return n_outlying_; }
  double sigma2() const { return sigma2_; }  // the graph's kernel width (0 for fit_graph)
  const GraphAgglomerativeClusteringOptions& options() const { return options_; }

 private:
  void cluster_graph(const neighbors::SparseGraph& weights, const std::vector<std::int64_t>& initial);

  GraphAgglomerativeClusteringOptions options_;
  Tensor labels_;
  std::int64_t n_initial_ = 0, n_outlying_ = 0;
  double sigma2_ = 0.0;
};

}  // namespace cake::cluster
