// spectral.h: spectral clustering (Ng, Jordan & Weiss 2002, "On spectral clustering: analysis
// and an algorithm", NIPS).
//
//   cake::cluster::SpectralClustering sc({.n_clusters = 2,
//                                         .affinity = cake::cluster::SpectralAffinity::NearestNeighbors,
//                                         .n_neighbors = 10, .random_state = 0});
//   cake::Tensor labels = sc.fit_predict(X);   // two concentric circles come apart
//
// The algorithm of Ng, Jordan & Weiss (their section 2), each step a function below:
//   1. affinity A: the RBF kernel A_ij = exp(-gamma ||x_i - x_j||^2) (dense), or the k-nearest-
//      neighbour graph made symmetric, A = (C + C^T) / 2 (sparse, scikit-learn's
//      "nearest_neighbors"); A_ii = 0. With `local_scaling` = K > 0 either one takes the
//      self-tuning scales of Zelnik-Manor & Perona 2004 ("Self-Tuning Spectral Clustering",
//      NIPS, section 2) instead of one global width: sigma_i = the distance from x_i to its K-th
//      nearest other sample (K = 7 in the paper) and A_ij = exp(-|x_i - x_j|^2 / (sigma_i sigma_j)),
//      on all pairs (rbf) or on the k-NN graph's edges (nearest_neighbors). A point in a sparse
//      region gets a wide kernel and one in a dense region a narrow one, so clusters of different
//      densities separate where any single gamma joins one of them or splits another (the "SC-ST"
//      baseline of the JULE talk's tables). k is given, as for every Cake clusterer: the paper's
//      estimate of k from the eigenvectors' rotation cost is outside this class.
//   2. M = D^-1/2 A D^-1/2 with D = diag(row sums of A), the normalised affinity (I - M is the
//      normalised Laplacian of Chung 1997).
//   3. U = the k eigenvectors of M with the largest eigenvalues, as columns: by a dense
//      symmetric eigensolver for small n, by thick-restart Lanczos (lanczos.h) otherwise, M
//      applied as a matrix-vector product (dense GEMV or sparse CSR) and never formed. Every
//      connected component of the graph contributes the eigenvalue 1 with eigenvector
//      D^1/2 1_component; these are written down directly and deflated from the Lanczos run.
//   4. Y = U with each row scaled to unit length.
//   5. Cluster the rows of Y: k-means (the paper's choice), the deterministic column-pivoted
//      QR assignment of Damle, Minden & Ying 2019 ("cluster_qr"), or the rotation to the nearest
//      partition matrix of Yu & Shi 2003 ("discretize", the multiclass normalised cut: the
//      "N-Cuts" of the JULE talk's tables with the nearest_neighbors affinity).
// Differences from scikit-learn: scikit-learn skips step 4 and divides U by D^1/2 instead (the
// random-walk embedding); both find the same clusters on well-separated data.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cake/algorithms/neighbors/sparse_graph.h"
#include "cake/algorithms/cluster/clusterer.h"
#include "cake/tensor/tensor.h"

namespace cake::cluster {

enum class SpectralAffinity { RBF, NearestNeighbors };
enum class EigenSolver { Auto, Dense, Lanczos };
enum class AssignLabels { KMeans, ClusterQR, Discretize };
SpectralAffinity parse_spectral_affinity(const std::string& name);  // "rbf", "nearest_neighbors"
EigenSolver parse_eigen_solver(const std::string& name);            // "auto", "dense", "lanczos"
AssignLabels parse_assign_labels(const std::string& name);          // "kmeans", "cluster_qr", "discretize"

struct SpectralClusteringOptions {
  std::int64_t n_clusters = 8;
  SpectralAffinity affinity = SpectralAffinity::RBF;
  double gamma = 1.0;             // RBF width
  std::int64_t n_neighbors = 10;  // k of the k-NN graph
  std::int64_t local_scaling = 0; // K of the self-tuning scales sigma_i (7 in the paper); 0: off
  EigenSolver eigen_solver = EigenSolver::Auto;  // Auto: dense up to 1000 samples, Lanczos above
  std::int64_t n_components = 0;  // eigenvectors kept; 0: n_clusters
  double eigen_tol = 1e-7;        // Lanczos residual tolerance
  AssignLabels assign_labels = AssignLabels::KMeans;
  std::int64_t n_init = 10;       // k-means restarts
  std::optional<std::uint64_t> random_state = std::nullopt;  // Lanczos start vector and k-means
};

// Step 1.
Tensor rbf_affinity(const Tensor& x, double gamma);                    // [n, n] float64
neighbors::SparseGraph knn_affinity(const Tensor& x, std::int64_t n_neighbors);   // (C + C^T) / 2, self included in C
// Step 1 with self-tuning scales (Zelnik-Manor & Perona 2004, section 2); 1 <= scaling_neighbor < n.
// Dense [n, n] float64 on all pairs (diagonal 1), or the n_neighbors-NN graph's edges weighted
// the same way and made symmetric as (W + W^T) / 2. Coincident points get affinity 1.
std::vector<double> local_scales(const Tensor& x, std::int64_t scaling_neighbor);   // sigma_i, [n]
Tensor local_scaling_affinity(const Tensor& x, std::int64_t scaling_neighbor);
neighbors::SparseGraph local_scaling_knn_affinity(const Tensor& x, std::int64_t n_neighbors,
                                                  std::int64_t scaling_neighbor);

// Steps 2-4 on a given affinity (dense [n, n] or sparse; any diagonal is ignored): Y [n, k]
// float64 with unit rows (rows of isolated samples stay zero), and M's eigenvalues, descending.
// When the graph has more than k connected components the embedding has one column per
// component instead (any k of them would be an equally valid eigenbasis).
struct SpectralEmbedding {
  Tensor embedding;    // [n, k'] float64, k' = max(k, number of components)
  Tensor eigenvalues;  // [k'] float64, descending
  std::int64_t n_connected_components = 1;
};
SpectralEmbedding spectral_embedding(const Tensor& affinity, std::int64_t k, EigenSolver solver = EigenSolver::Auto,
                                     double tol = 1e-7, std::optional<std::uint64_t> random_state = std::nullopt);
SpectralEmbedding spectral_embedding(const neighbors::SparseGraph& affinity, std::int64_t k,
                                     EigenSolver solver = EigenSolver::Auto, double tol = 1e-7,
                                     std::optional<std::uint64_t> random_state = std::nullopt);

// Step 5, CPQR: the k rows of Y chosen by QR with column pivoting of Y^T give, through the
// polar factor of that k x k block, a rotation of Y whose largest |entry| per row is the label
// (Damle, Minden & Ying 2019, Alg. 1). Deterministic.
Tensor cluster_qr(const Tensor& embedding, std::int64_t k);

// Step 5, discretisation (Yu & Shi 2003, "Multiclass Spectral Clustering", ICCV):
// the partition matrix X (one 1 per row) nearest to a rotation Y R of the unit-row embedding,
// found by alternating the two exact half-steps
//   X = one-hot of each row's largest entry of Y R,    R = V U^T from the SVD X^T Y = U Omega V^T,
// until the objective trace(Omega) stops rising. R starts from k rows of Y chosen as nearly
// orthogonal as possible, the first at random (random_state). Labels [n] int64.
Tensor discretize(const Tensor& embedding, std::int64_t k, std::optional<std::uint64_t> random_state = std::nullopt,
                  std::int64_t max_iter = 30);

// A Clusterer that labels only its training data (predict throws).
class SpectralClustering : public Clusterer {
 public:
  explicit SpectralClustering(SpectralClusteringOptions options = {});

  SpectralClustering& fit(const Tensor& x) override;
  Tensor fit_predict(const Tensor& x) override;
  std::string name() const override { return "spectral"; }
  // With a precomputed affinity (scikit-learn's affinity="precomputed"): dense [n, n] or sparse.
  SpectralClustering& fit_affinity(const Tensor& affinity);
  SpectralClustering& fit_affinity(const neighbors::SparseGraph& affinity);

  const Tensor& labels() const override;   // [n] int64
  const Tensor& affinity_matrix() const;   // dense [n, n] (RBF or precomputed dense)
  const neighbors::SparseGraph& affinity_graph() const;  // sparse (nearest_neighbors or precomputed sparse)
  const Tensor& embedding() const;         // Y of step 4
  const Tensor& eigenvalues() const;
  std::int64_t n_connected_components() const { return n_connected_components_; }
  const SpectralClusteringOptions& options() const { return options_; }

 private:
  SpectralClustering& assign(SpectralEmbedding embedding);

  SpectralClusteringOptions options_;
  Tensor labels_, affinity_dense_, embedding_, eigenvalues_;
  neighbors::SparseGraph affinity_sparse_;
  bool has_sparse_ = false;
  std::int64_t n_connected_components_ = 1;
};

}  // namespace cake::cluster

// Compatibility: the spellings from before algorithms/ was split into family namespaces
// (docs/architecture.md, "The algorithms: families and namespaces"). They name the same
// entities; new code uses cake::cluster.
namespace cake::algorithms {
using ::cake::cluster::SpectralAffinity;
using ::cake::cluster::EigenSolver;
using ::cake::cluster::AssignLabels;
using ::cake::cluster::parse_spectral_affinity;
using ::cake::cluster::parse_eigen_solver;
using ::cake::cluster::parse_assign_labels;
using ::cake::cluster::SpectralClusteringOptions;
using ::cake::cluster::rbf_affinity;
using ::cake::cluster::knn_affinity;
using ::cake::cluster::SpectralEmbedding;
using ::cake::cluster::spectral_embedding;
using ::cake::cluster::cluster_qr;
using ::cake::cluster::discretize;
using ::cake::cluster::SpectralClustering;
}  // namespace cake::algorithms
