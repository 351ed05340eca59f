// agglomerative.h: hierarchical agglomerative clustering (ward, complete, average and single
// linkage), with an optional connectivity graph, and the merge tree it builds.
//
//   cake::cluster::AgglomerativeClustering ward({.n_clusters = 10});
//   cake::Tensor labels = ward.fit_predict(X);      // [n] int64
//   cake::Tensor children = ward.children();        // [n - 1, 2]: node n + i merged children[i]
//   cake::Tensor heights = ward.distances();        // [n - 1], non-decreasing for these linkages
//
// Start with every sample its own cluster and repeatedly merge the two closest clusters; the
// linkage says what "closest" means (Müllner 2011, "Modern hierarchical, agglomerative
// clustering algorithms", arXiv:1109.2378, Table 1):
//   single    d(A, B) = min ||a - b||
//   complete  d(A, B) = max ||a - b||
//   average   d(A, B) = mean ||a - b||
//   ward      d(A, B) = sqrt(2 |A||B| / (|A| + |B|)) ||mean(A) - mean(B)||   (Ward 1963)
// After merging I and J into K, every linkage but single obeys the Lance-Williams recurrence
// (Lance & Williams 1967) d(K, L) = f(d(I, L), d(J, L), d(I, J), |I|, |J|, |L|), and all four
// are *reducible* (d(K, L) >= min(d(I, L), d(J, L))), which is what lets the nearest-neighbour
// chain (Murtagh 1983; Müllner 2011, Fig. 4) find the same merges as the naive O(n^3)
// algorithm in O(n^2) time: follow nearest neighbours until two clusters are each other's
// nearest, merge them, continue from the remaining chain.
//
// The steps, each a free function below:
//   1. linkage_tree: the merge tree. Unconstrained: ward/complete/average by the NN-chain on a
//      dense distance matrix, single by Prim's minimum spanning tree (Müllner's
//      MST-LINKAGE-CORE, Fig. 6). With a connectivity graph only connected clusters may merge:
//      a priority queue of the graph's edges, merged neighbour lists, and ward's distances from
//      cluster sizes and sums (scikit-learn's structured algorithm).
//   2. cut_tree: the flat labels of the top n_clusters clusters, numbered as scikit-learn's.
// The tree uses scipy's layout (also scikit-learn's children_): merges sorted by distance,
// the i-th creates node n + i, a leaf is a node < n; for ward, children, distances and labels
// equal scikit-learn's on data without tied distances.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cake/algorithms/neighbors/sparse_graph.h"
#include "cake/algorithms/cluster/clusterer.h"
#include "cake/tensor/tensor.h"

namespace cake::cluster {

enum class Linkage { Ward, Complete, Average, Single };
Linkage parse_linkage(const std::string& name);  // "ward", "complete", "average", "single"
const char* linkage_name(Linkage linkage);

struct AgglomerativeClusteringOptions {
  // Exactly one of n_clusters and distance_threshold is set (set n_clusters = std::nullopt
  // when you give a threshold): cut into n_clusters clusters, or where merges reach the
  // threshold.
  std::optional<std::int64_t> n_clusters = 2;
  std::optional<double> distance_threshold = std::nullopt;
  Linkage linkage = Linkage::Ward;
  // > 0: constrain merges to the symmetrised k-nearest-neighbour graph of the data
  // (kneighbors_graph(X, k), sklearn's usual `connectivity`); components it leaves apart are
  // joined by their closest pair of samples first, as scikit-learn does.
  std::int64_t connectivity_n_neighbors = 0;
};

// The full merge tree of n leaves (n - 1 merges).
struct MergeTree {
  std::int64_t n_leaves = 0;
  std::vector<std::array<std::int64_t, 2>> children;  // merge i creates node n_leaves + i
  std::vector<double> distances;                       // the linkage distance of merge i
};

// Step 1. X is [n, d] float32/float64 (distances are computed in float64). With a
// connectivity graph (n x n, any weights; an edge in either direction connects) merges are
// restricted to connected clusters.
MergeTree linkage_tree(const Tensor& x, Linkage linkage, const neighbors::SparseGraph* connectivity = nullptr);

// Step 2. Flat labels for the n_clusters clusters left after the last n_clusters - 1 merges
// are undone, numbered as scikit-learn's _hc_cut numbers them.
std::vector<std::int64_t> cut_tree(const MergeTree& tree, std::int64_t n_clusters);

// A Clusterer that labels only its training data (predict throws).
class AgglomerativeClustering : public Clusterer {
 public:
  explicit AgglomerativeClustering(AgglomerativeClusteringOptions options = {});

  AgglomerativeClustering& fit(const Tensor& x) override;
  // With an explicit connectivity graph (overrides connectivity_n_neighbors).
  AgglomerativeClustering& fit(const Tensor& x, const neighbors::SparseGraph& connectivity);
  Tensor fit_predict(const Tensor& x) override;

  const Tensor& labels() const override;  // [n] int64
  std::string name() const override { return "agglomerative"; }
  const Tensor& children() const;   // [n - 1, 2] int64
  const Tensor& distances() const;  // [n - 1] float64
  std::int64_t n_leaves() const { return tree_.n_leaves; }
  std::int64_t n_clusters() const { return n_clusters_; }  // sklearn's n_clusters_
  std::int64_t n_connected_components() const { return n_connected_components_; }
  const MergeTree& tree() const { return tree_; }
  const AgglomerativeClusteringOptions& options() const { return options_; }

 private:
  AgglomerativeClustering& fit_tree(const Tensor& x, const neighbors::SparseGraph* connectivity);

  AgglomerativeClusteringOptions options_;
  MergeTree tree_;
  Tensor labels_, children_, distances_;
  std::int64_t n_clusters_ = 0;
  std::int64_t n_connected_components_ = 1;
};

}  // namespace cake::cluster

// Compatibility: the spellings from before algorithms/ was split into family namespaces
// (docs/architecture.md, "The algorithms: families and namespaces"). They name the same
// entities; new code uses cake::cluster.
namespace cake::algorithms {
using ::cake::cluster::Linkage;
using ::cake::cluster::parse_linkage;
using ::cake::cluster::linkage_name;
using ::cake::cluster::AgglomerativeClusteringOptions;
using ::cake::cluster::MergeTree;
using ::cake::cluster::linkage_tree;
using ::cake::cluster::cut_tree;
using ::cake::cluster::AgglomerativeClustering;
}  // namespace cake::algorithms
