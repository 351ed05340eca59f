// graph_degree_linkage.h: agglomerative clustering on a directed k-nearest-neighbour graph with
// the graph-degree-linkage affinity (Zhang, Wang, Zhao & Tang 2012, "Graph Degree Linkage:
// Agglomerative Clustering on a Directed Graph", ECCV), merged by the criterion of JULE (Yang,
// Parikh & Batra 2016, "Joint Unsupervised Learning of Deep Representations and Image
// Clusters", CVPR; the talk's slide "Loss at time-step t"), which looks at a cluster's K_c nearest clusters, not only the first.
//
//   cake::cluster::GdlGraph g = cake::cluster::gdl_graph(x, {.n_neighbors = 20, .a = 1.0});
//   std::vector<std::int64_t> start = cake::cluster::nearest_neighbor_clusters(g);  // ~4 per cluster
//   cake::cluster::GdlAgglomeration agg(g, start, {.k_c = 5, .lambda = 1.0});
//   std::vector<cake::cluster::GdlMerge> merges = agg.merge_until(10);
//   std::vector<std::int64_t> labels = agg.compact_labels();                        // 0..9
//
// The graph (Zhang et al., section 2; JULE's a and K_s). Sample i points to its K_s nearest samples N(i) with
//   w_ij = exp(-|x_i - x_j|^2 / sigma^2)  for j in N(i), 0 otherwise,
//   sigma^2 = a / (n K_s) sum_i sum_{j in N(i)} |x_i - x_j|^2.
//
// The affinity (Zhang et al., section 2, "average indegree times outdegree"; JULE section 3). For clusters C_a, C_b with W_ab the
// block of W with rows in C_a and columns in C_b,
//   A(C_a -> C_b) = 1/|C_a|^2 1' W_ab W_ba 1 = 1/|C_a|^2 sum_{k in C_b} in_a(k) out_a(k),
//   A(C_a, C_b)   = A(C_a -> C_b) + A(C_b -> C_a),
// where in_a(k) = sum_{i in C_a} w_ik is the weight k receives from C_a (its in-degree from
// C_a) and out_a(k) = sum_{j in C_a} w_kj what it sends there: a sample of C_b holds C_b to
// C_a when it is both pointed at by C_a and points back ("degree linkage").
//
// The merge criterion (JULE section 3.2; the talk's "Loss at time-step t"). With N[1], N[2], ... the clusters in decreasing order
// of affinity to C_i (missing ones count as affinity 0), the loss of merging C_i with N[1] is
//   L(C_i) = -A(C_i, N[1]) - lambda / (K_c - 1) sum_{k=2}^{K_c} (A(C_i, N[1]) - A(C_i, N[k])),
// and every step merges the cluster with the smallest loss into its nearest cluster: close to
// its first neighbour AND far from the next ones, so the merge is unambiguous. K_c = 1 (or
// lambda = 0) is plain GDL, which merges the pair of highest affinity.
//
// Speed. Merging C_m and C_n into C changes only the affinities of C (in a k-NN graph every
// other pair keeps its value), so the clusters' losses live in a priority queue and a merge
// rescores C and its neighbours alone. The affinities are kept exact, as unnormalised sums
// S(a -> b) = sum_{k in C_b} in_a(k) out_a(k):
//   S(i -> C) = S(i -> C_m) + S(i -> C_n)                  (a sum over the members of C),
//   S(C -> i) = S(C_m -> i) + S(C_n -> i) + sum_{k in C_i} (in_m(k) out_n(k) + in_n(k) out_m(k)),
// and the cross terms need only the graph around the SMALLER cluster C_n (in_n, out_n are zero
// elsewhere), so a merge costs about |C_n| K_s^2 plus the rescoring, not a pass over all
// clusters. (JULE's released code instead approximates the second line without the cross
// terms, github.com/jwyang/JULE.torch, agg_clustering.lua, run_step_fast; the talk's slide
// "Approximation" gives a size-weighted variant of that shortcut.)
//
// Node ids follow scipy's layout: the initial clusters are the leaves 0 .. C-1, and the t-th
// merge (from 0) creates node C + t, so the merges form a tree a caller can cut at any number
// of clusters (labels_after).
#pragma once

#include <cstdint>
#include <optional>
#include <queue>
#include <unordered_map>
#include <vector>

#include "cake/algorithms/neighbors/sparse_graph.h"
#include "cake/tensor/tensor.h"

namespace cake::cluster {

struct GdlGraphOptions {
  std::int64_t n_neighbors = 20;  // K_s (JULE's table)
  double a = 1.0;                 // sigma^2 = a times the mean squared distance to the K_s neighbours
};

// The weighted directed graph and what the clustering reads from it.
struct GdlGraph {
  neighbors::SparseGraph weights;     // W: row i holds w_ij for i's K_s nearest j (never i itself)
  neighbors::SparseGraph transposed;  // W': row k holds the edges into k (k's in-edges)
  std::vector<std::int64_t> nearest;  // each sample's nearest other sample (largest w_ij)
  double sigma2 = 0.0;
};

// The graph of the rows of x [n, d] (Euclidean distances, exact k-NN), n > n_neighbors.
GdlGraph gdl_graph(const Tensor& x, const GdlGraphOptions& options = {});
// The graph of given weights (row i: i's out-edges; any positive weights), for tests and
// callers with their own neighbourhoods. sigma2 is left at 0.
GdlGraph gdl_graph(const neighbors::SparseGraph& weights);

// The initial over-segmentation (the talk's Algorithm 1: "4 samples in each cluster in average"; built as
// its released code does, agg_clustering.lua init): the connected components of the graph that
// joins each sample to its nearest neighbour. Labels 0 .. C-1 in order of first sample.
std::vector<std::int64_t> nearest_neighbor_clusters(const GdlGraph& graph);

// Reference formulas, computed directly from W (O(|C_a| + |C_b|) rows; for tests and checks).
// labels[i] is the cluster of sample i; a and b are cluster labels.
double gdl_directed_affinity(const neighbors::SparseGraph& weights, const std::vector<std::int64_t>& labels,
                             std::int64_t a, std::int64_t b);  // A(C_a -> C_b)
double gdl_affinity(const neighbors::SparseGraph& weights, const std::vector<std::int64_t>& labels, std::int64_t a,
                    std::int64_t b);                           // A(C_a, C_b)

// JULE's per-step loss L(C_i) above from C_i's affinities in decreasing order (fewer than K_c
// are padded with zeros).
double jule_step_loss(const std::vector<double>& affinities_descending, std::int64_t k_c, double lambda);

struct GdlMergeOptions {
  std::int64_t k_c = 5;  // K_c: neighbouring clusters the criterion looks at (JULE's table)
  double lambda = 1.0;   // lambda: the weight of the margin to the next K_c - 1 (JULE's table)
  // The criterion looks at K_c clusters only while more than k_c_above clusters remain; from
  // then on every step merges the pair of highest affinity (plain GDL). 0: K_c to the end, as
  // the talk writes it; JULE's released code uses 100 (agg_clustering.lua, search_clusters).
  std::int64_t k_c_above = 0;
};

// One merge: nodes a and b (scipy ids, see above) became node `node`.
struct GdlMerge {
  std::int64_t a = 0, b = 0, node = 0;
  double affinity = 0.0;  // A(C_a, C_b) when they merged
  double loss = 0.0;      // JULE's step loss L^t of the merge (negative)
};

// The merge engine. Holds a reference to the graph, which must outlive it.
class GdlAgglomeration {
 public:
  // labels: each sample's initial cluster, 0 .. C-1 (every value used).
  GdlAgglomeration(const GdlGraph& graph, const std::vector<std::int64_t>& labels, GdlMergeOptions options = {});

  // The merge of smallest loss, done; nullopt when no two clusters have a positive affinity.
  std::optional<GdlMerge> merge_once();
  // Merges until n_clusters are left (or nothing can merge; see n_clusters()).
  std::vector<GdlMerge> merge_until(std::int64_t n_clusters);

  std::int64_t n_clusters() const { return n_alive_; }
  std::int64_t n_leaves() const { return n_leaves_; }
  // Each sample's current node id.
  std::vector<std::int64_t> labels() const;
  // Each sample's cluster as 0 .. n_clusters()-1, numbered in order of first sample.
  std::vector<std::int64_t> compact_labels() const;
  // A(C_a, C_b) of two current nodes, from the kept sums (0 when they are not linked).
  double affinity(std::int64_t node_a, std::int64_t node_b) const;
  // The k current nodes of highest affinity to `node`, highest first (fewer when it has fewer).
  std::vector<std::pair<std::int64_t, double>> nearest_clusters(std::int64_t node, std::int64_t k) const;

 private:
  struct Link {
    double out = 0.0;  // S(this -> other)
    double in = 0.0;   // S(other -> this)
  };
  struct Entry {
    double loss;
    std::int64_t node;  // for a deterministic order among equal losses
    std::int64_t slot;
    std::uint64_t version;
    bool operator<(const Entry& o) const { return loss != o.loss ? loss > o.loss : node > o.node; }
  };

  double slot_affinity(std::int64_t a, std::int64_t b, const Link& link) const;
  // K_c now: options_.k_c while more than k_c_above clusters remain, then 1.
  std::int64_t current_k_c() const { return n_alive_ > options_.k_c_above ? options_.k_c : 1; }
  void rescore(std::int64_t slot);
  void initial_sums();
  // The cross terms of merging slot n into slot m: X[i] added to S(C -> i).
  void cross_terms(std::int64_t m, std::int64_t n);
  void merge_slots(std::int64_t m, std::int64_t n);

  const GdlGraph& graph_;
  GdlMergeOptions options_;
  std::int64_t n_samples_ = 0, n_leaves_ = 0, n_alive_ = 0, next_node_ = 0;
  // A "slot" holds one current cluster; merging keeps the larger's slot for the new node.
  std::vector<std::int64_t> slot_of_sample_;
  std::vector<std::vector<std::int64_t>> members_;
  std::vector<std::int64_t> node_of_slot_;
  std::unordered_map<std::int64_t, std::int64_t> slot_of_node_;
  std::vector<std::unordered_map<std::int64_t, Link>> links_;  // per slot: other slot -> sums
  std::vector<std::uint64_t> version_;
  std::priority_queue<Entry> queue_;
  // Scratch, reused by every merge (no allocation per merge once warm).
  std::vector<double> sample_in_, sample_out_;
  std::vector<std::int64_t> touched_in_, touched_out_;
  std::vector<double> slot_acc_;
  std::vector<std::int64_t> touched_slots_;
  std::vector<double> affinities_;  // rescore's
};

// Replays the first `steps` merges on the leaves (scipy ids) and returns each sample's cluster
// as 0 .. C-1-steps in order of first sample: the cut of the merge tree after that many merges.
// leaf_of_sample[i] is sample i's leaf (its initial cluster).
std::vector<std::int64_t> labels_after(const std::vector<std::int64_t>& leaf_of_sample, std::int64_t n_leaves,
                                       const std::vector<GdlMerge>& merges, std::int64_t steps);

}  // namespace cake::cluster
