// umap.h: Uniform Manifold Approximation and Projection (McInnes, Healy & Melville 2018, "UMAP:
// Uniform Manifold Approximation and Projection for Dimension Reduction", arXiv:1802.03426),
// with the interface and defaults of its reference implementation, umap-learn (umap.UMAP, 0.5).
//
//   cake::Tensor X = cake::randn({1000, 10});
//   cake::manifold::UMAP umap({.n_neighbors = 15, .min_dist = 0.1, .random_state = 0});
//   cake::Tensor Y = umap.fit_transform(X);    // X [N, D] -> Y [N, 2], X's dtype
//   cake::Tensor Y_new = umap.transform(cake::randn({50, 10}));   // new points, the layout kept
//   const cake::neighbors::SparseGraph& w = umap.graph();   // the fuzzy simplicial set
//
// The steps (paper section 3 and appendix C; each is a function of cake::manifold::umap below):
//  1. k nearest neighbours of every point (k = n_neighbors, the point itself included):
//     exact below exact_max_samples points, NN-descent above (algorithms/neighbors/nn_descent.h).
//  2. Local metrics (section 3.1, Definition 7 and Algorithm 3 "SmoothKNNDist"): for point i,
//     rho_i = distance to its nearest neighbour at a distance > 0 (local_connectivity = 1),
//     sigma_i by binary search so that
//         sum_j exp(-max(0, d_ij - rho_i) / sigma_i) = log2(k)                         (section 3.1)
//     which gives each point a neighbourhood of the same fuzzy size, wherever the data are dense.
//  3. Directed memberships w_ij = exp(-max(0, d_ij - rho_i) / sigma_i) (every point's nearest
//     neighbour has w = 1: the manifold is locally connected), symmetrised by the probabilistic
//     t-conorm, the fuzzy union (section 3.1, Algorithm 2 "FuzzySimplicialSet"):
//         w_ij^sym = w_ij + w_ji - w_ij w_ji
//     (set_op_mix_ratio mixes it with the intersection w_ij w_ji, as umap-learn).
//  4. The low-dimensional similarity v_ij = 1 / (1 + a |y_i - y_j|^2b), with a, b fitted by least
//     squares to the curve that is 1 up to min_dist and exp(-(d - min_dist) / spread) beyond
//     (section 3.2 and Definition 11; umap-learn's find_ab_params).
//  5. Initial layout: the eigenvectors of the normalised graph Laplacian
//     L = I - D^-1/2 W D^-1/2 with the smallest non-zero eigenvalues (section 3.2, spectral
//     embedding, Belkin & Niyogi 2003), scaled so the largest coordinate is 10, plus N(0, 1e-4^2)
//     noise. A disconnected graph has its components laid out one by one around separate
//     centres (umap-learn's multi_component_layout); random (uniform in [-10, 10]) when the
//     eigensolver fails or there are too many components (on_message and init_used() say so),
//     or on request; "pca" is the data's first principal components.
//     Every start is then rescaled to [0, 10] per dimension, as umap-learn does.
//  6. Optimise the fuzzy set cross-entropy
//         C = sum_ij w_ij log(w_ij / v_ij) + (1 - w_ij) log((1 - w_ij) / (1 - v_ij))      (section 3.2)
//     by stochastic gradient descent (Algorithm 5 "OptimizeEmbedding"): edge (i, j) is sampled
//     once every 1 / w_ij epochs (in units of the largest weight), pulling y_i and y_j together
//     with the attractive gradient -2ab d^2(b-1) / (1 + a d^2b) (y_i - y_j); each sample draws
//     negative_sample_rate random points k pushed away from y_i by the repulsive gradient
//     2b / ((0.001 + d^2)(1 + a d^2b)) (y_i - y_k) (the 0.001 keeps it finite at d = 0); every
//     gradient coordinate is clipped to [-4, 4]; the learning rate falls linearly to 0.
//
// Reproducible: with a random_state, the same input gives the same embedding on the same machine,
// whatever the thread count (NN-descent is thread-count independent; the spectral start's
// eigensolver sums in a fixed order, algorithms/detail/lanczos.cpp; the SGD runs on one thread,
// in edge order, with its own random stream).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cake/algorithms/neighbors/nn_descent.h"
#include "cake/algorithms/neighbors/sparse_graph.h"
#include "cake/tensor/tensor.h"

namespace cake::manifold {

struct UMAPOptions {
  std::int64_t n_neighbors = 15;      // k, the point itself included (umap-learn's convention)
  std::int64_t n_components = 2;
  std::string metric = "euclidean";   // "euclidean" | "cosine"
  std::int64_t n_epochs = 0;          // 0: 500 up to 10,000 points, 200 above (umap-learn)
  double learning_rate = 1.0;         // initial SGD rate alpha, falling linearly to 0
  std::string init = "spectral";      // "spectral" | "random" | "pca"
  Tensor init_embedding = {};         // [N, n_components]: start here instead
  double min_dist = 0.1;              // how tightly points may pack in the embedding
  double spread = 1.0;                // the scale of the embedded points
  double set_op_mix_ratio = 1.0;      // 1: fuzzy union, 0: fuzzy intersection
  double local_connectivity = 1.0;    // neighbours assumed connected (rho is the distance to this many)
  double repulsion_strength = 1.0;    // gamma, the weight of the negative samples
  std::int64_t negative_sample_rate = 5;
  double a = 0.0, b = 0.0;            // 0: fitted from min_dist and spread
  std::string nn_method = "auto";     // "auto" | "exact" | "nn_descent"
  std::int64_t exact_max_samples = 4096;  // "auto": exact k-NN up to this many points
  std::optional<std::uint64_t> random_state = std::nullopt;
  // Called with a line of text at each step (what umap-learn prints with verbose=True).
  std::function<void(const std::string&)> on_message = nullptr;
  // Called after every epoch with the 1-based epoch and the total (for a progress bar).
  std::function<void(std::int64_t epoch, std::int64_t n_epochs)> on_epoch = nullptr;
};

class UMAP {
 public:
  explicit UMAP(UMAPOptions options = {});

  UMAP& fit(const Tensor& X);
  Tensor fit_transform(const Tensor& X);       // [N, n_components], X's dtype
  // New points [M, D] placed in the fitted layout, which stays as it is (umap-learn's
  // transform): each point's n_neighbors nearest fitted points (exact search), its fuzzy
  // memberships to them (one fewer neighbour assumed connected, as it is not its own
  // neighbour), a start at their membership-weighted mean, then the SGD of step 6 pulling it
  // toward them and pushing it from random fitted points, a third of the epochs (100 up to
  // 10,000 new points, 30 above, by default) at a quarter of the learning rate. [M,
  // n_components], X's dtype; deterministic for a random_state. The model keeps the tensor fit
  // was given, not a copy: change it in place and transform searches the changed points.
  Tensor transform(const Tensor& X) const;

  const Tensor& embedding() const;
  const neighbors::SparseGraph& graph() const;  // the symmetric fuzzy simplicial set, [N, N]
  const neighbors::KnnResult& knn() const;      // the k-NN the graph was built from
  double a() const;                             // the curve 1 / (1 + a d^2b) used
  double b() const;
  std::int64_t n_epochs() const;                // epochs run
  const std::string& init_used() const;         // "spectral", "random", "pca", "given", with the
                                                // details in parentheses (components, a fallback's reason)
  bool used_nn_descent() const;
  const UMAPOptions& options() const { return options_; }

 private:
  void check_fitted(const char* who) const;
  UMAPOptions options_;
  Tensor embedding_;
  Tensor data_;  // the fitted points, for transform (shared, not copied, as umap-learn's _raw_data)
  neighbors::SparseGraph graph_;
  neighbors::KnnResult knn_;
  double a_ = 0.0, b_ = 0.0;
  std::int64_t n_epochs_ = 0;
  std::string init_used_;
  bool used_nn_descent_ = false;
};

// The steps of UMAP, exposed for tests and for other pipelines (N2D).
namespace umap {

// Step 2: rho_i and sigma_i for each row of a k-NN result whose entry 0 is the point itself
// (umap-learn's smooth_knn_dist): rho_i as above (interpolated between the floor and ceiling
// of a fractional local_connectivity), sigma_i by at most n_iter bisections until
// |sum_{t >= 1} exp(-max(0, d_it - rho_i) / sigma_i) - log2(k)| < 1e-5, then floored at
// 1e-3 times the mean distance (of the row, or of all rows when rho_i = 0).
struct SmoothKnn {
  std::vector<double> sigma, rho;
};
SmoothKnn smooth_knn_dist(const neighbors::KnnResult& knn, double local_connectivity = 1.0, std::int64_t n_iter = 64);

// Step 3a: the directed memberships w_ij, [n, n] with k - 1 entries per row (the point itself
// gets none): 1 where d_ij <= rho_i (or sigma_i = 0), exp(-(d_ij - rho_i) / sigma_i) otherwise.
neighbors::SparseGraph membership_strengths(const neighbors::KnnResult& knn, const SmoothKnn& smooth);

// Step 3b: set_op_mix_ratio (w + w^T - w * w^T) + (1 - set_op_mix_ratio) w * w^T, zeros dropped.
neighbors::SparseGraph fuzzy_union(const neighbors::SparseGraph& directed, double set_op_mix_ratio = 1.0);

// Steps 2-3 together: the symmetric fuzzy simplicial set of a k-NN result.
neighbors::SparseGraph fuzzy_simplicial_set(const neighbors::KnnResult& knn, double local_connectivity = 1.0,
                                            double set_op_mix_ratio = 1.0);

// Step 4: (a, b) minimising sum_t (1 / (1 + a x_t^2b) - f(x_t))^2 over 300 points x_t evenly
// spaced in [0, 3 spread], f(x) = 1 for x < min_dist, exp(-(x - min_dist) / spread) beyond, by
// Levenberg-Marquardt from (1, 1) (scipy.optimize.curve_fit, as umap-learn's find_ab_params).
std::pair<double, double> find_ab_params(double spread, double min_dist);

// Before steps 5-6: `graph` without the edges lighter than max w / n_epochs, which the SGD
// would sample less than once (umap-learn cuts them before computing the start, so the spectral
// layout sees the graph the SGD optimises).
neighbors::SparseGraph prune_light_edges(const neighbors::SparseGraph& graph, std::int64_t n_epochs);

// Step 5: the spectral layout [n, dim] row-major, eigenvectors 2 .. dim + 1 of the normalised
// Laplacian of `graph` (by Lanczos on D^-1/2 W D^-1/2 with its known top eigenvector
// D^1/2 1 deflated, algorithms/detail/lanczos.h). Empty, with `why` set, when the graph is
// disconnected, too small, or the solver does not converge.
std::vector<double> spectral_layout(const neighbors::SparseGraph& graph, std::int64_t dim, std::uint64_t seed,
                                    std::string& why);

// Step 5 on a graph of several connected components (umap-learn's multi_component_layout):
// each component gets its own spectral_layout (or uniform noise when it has fewer than 2 dim
// points), scaled to half the distance to the nearest other component's centre; the centres are
// the vertices +-e_l of a cross-polytope for up to 2 dim components, else a spectral layout of
// the components' centroids in the data x. A connected graph is spectral_layout's. `why` says
// what was done (or, with an empty result, why nothing could be: above 2000 components).
std::vector<double> multi_component_layout(const neighbors::SparseGraph& graph, const Tensor& x, std::int64_t dim,
                                           std::uint64_t seed, std::string& why);

// Step 6a: how many epochs apart each edge is sampled, n_epochs / (n_epochs * w / max w); -1 for
// an edge never sampled (umap-learn's make_epochs_per_sample).
std::vector<double> make_epochs_per_sample(const std::vector<double>& weights, std::int64_t n_epochs);

// Step 6b: the SGD of the cross-entropy on the edges of `graph` (both directions, as stored),
// moving y [n, dim] row-major in place. Edges lighter than max w / n_epochs are skipped, as
// umap-learn. Deterministic for a seed.
struct LayoutOptions {
  double a = 1.577, b = 0.895;
  double gamma = 1.0;                    // repulsion_strength
  double initial_alpha = 1.0;            // learning_rate
  std::int64_t negative_sample_rate = 5;
  std::int64_t n_epochs = 200;
  std::uint64_t seed = 0;
  std::function<void(std::int64_t, std::int64_t)> on_epoch = nullptr;
};
void optimize_layout(std::vector<double>& y, std::int64_t dim, const neighbors::SparseGraph& graph,
                     const LayoutOptions& options);

// The fuzzy set cross-entropy C of the layout y against `graph` (section 3.2), summed over the
// stored edges and, for the (1 - w) log(1 - v) half, over all other pairs; O(n^2 dim), for
// tests and small n.
double cross_entropy(const std::vector<double>& y, std::int64_t dim, const neighbors::SparseGraph& graph, double a,
                     double b);

// UMAP::transform's steps. The memberships of new points to their k nearest fitted points
// (`to_reference`, no point among its own neighbours): smooth_knn_dist with local_connectivity
// - 1 (at least 0), then w = exp(-max(0, d - rho) / sigma) for every one of the k, aligned with
// to_reference.indices (umap-learn's compute_membership_strengths, bipartite).
std::vector<double> transform_memberships(const neighbors::KnnResult& to_reference, double local_connectivity = 1.0);

// Step 6 for new points: y_new [m, dim] pulled toward their neighbours' places in y_reference
// [n, dim] by the weights above and pushed from random reference points; y_reference does not
// move (umap-learn's optimize_layout_euclidean with move_other=False).
void optimize_layout_toward(std::vector<double>& y_new, const std::vector<double>& y_reference, std::int64_t dim,
                            const neighbors::KnnResult& to_reference, const std::vector<double>& weights,
                            const LayoutOptions& options);

}  // namespace umap

}  // namespace cake::manifold
