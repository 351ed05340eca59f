// kmeans_steps.h: the parts k-means is built from, each swappable on its own (as mlpack's
// methods/kmeans): an initialisation, one assignment step (Lloyd's or Elkan's), the
// empty-cluster policy, the centre update and the stopping rule. KMeans (kmeans.h) strings them
// together; MiniBatchKMeans and GaussianMixture reuse the initialisation and the assignment.
//
//   kmeans::Dataset<float> data(x, n, d);                       // x row-major, centred
//   kmeans::Clustering<float> state(n, k, d, kmeans::init_kmeans_plus_plus(data, k));
//   auto step = kmeans::make_assign_step<float>("elkan");
//   for (int it = 0; it < 300; ++it) {
//     std::int64_t changed = step->assign(data, state);
//     changed += kmeans::relocate_empty_clusters(data, state, *step);
//     double shift = kmeans::update_centers(state, shifts);
//     step->centers_moved(data, state, shifts);
//     if (changed == 0 || shift <= tol) break;
//   }
//
// The objective (Lloyd 1982; MacQueen 1967) is the inertia
//     J(c, mu) = sum_i | x_i - mu_{c(i)} |^2,                                        (1)
// lowered alternately in the labels c (each point to its nearest centre) and in the centres
// mu (each centre to the mean of its points, the minimiser of (1) for fixed labels):
//     c(i) = argmin_j | x_i - mu_j |^2,        mu_j = (1 / |C_j|) sum_{i in C_j} x_i.      (2)
// Every step of (2) lowers J or leaves it unchanged, so the loop ends at a fixed point.
//
// Both steps keep the cluster sums sum_{i in C_j} x_i in float64, so the update is one division
// and Elkan's step can patch them for the few points that change cluster instead of re-reading
// every point.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cake/tensor/tensor.h"

namespace cake::cluster::kmeans {

// The data every step reads: X [n x d] row-major (not owned) and its squared row norms.
template <class T>
struct Dataset {
  const T* x = nullptr;
  std::int64_t n = 0, d = 0;
  std::vector<T> sq_norms;
  Dataset(const T* x, std::int64_t n, std::int64_t d);
  const T* row(std::int64_t i) const { return x + i * d; }
};

// What one iteration updates: the centres, each point's label, and per cluster the sum and
// count of its points.
template <class T>
struct Clustering {
  std::int64_t k = 0, d = 0;
  std::vector<T> centers;       // k x d
  std::vector<std::int64_t> labels;  // n; -1 before the first assignment
  std::vector<double> sums;     // k x d
  std::vector<std::int64_t> counts;  // k
  Clustering(std::int64_t n, std::int64_t k, std::int64_t d, std::vector<T> initial_centers);
};

// ---- initialisation -----------------------------------------------------------------------
// k-means++ (Arthur & Vassilvitskii 2007, "k-means++: the advantages of careful seeding"), in
// scikit-learn's greedy form: the first centre is a uniformly random point; each next one is
// the best of `n_local_trials` candidates drawn with probability D(x)^2 / sum D^2 (D = distance
// to the nearest centre so far), "best" meaning the one that lowers sum D^2 the most. The
// default n_local_trials (-1) is 2 + floor(ln k), as scikit-learn. Returns the k x d centres
// and the rows of the data they were taken from (a Gaussian mixture seeds its
// responsibilities from those rows).
template <class T>
struct Seeding {
  std::vector<T> centers;             // k x d, centre c = row indices[c] of the data
  std::vector<std::int64_t> indices;  // k
};
template <class T>
Seeding<T> kmeans_plus_plus(const Dataset<T>& data, std::int64_t k, std::int64_t n_local_trials = -1);
// The centres of kmeans_plus_plus alone (the same draws).
template <class T>
std::vector<T> init_kmeans_plus_plus(const Dataset<T>& data, std::int64_t k, std::int64_t n_local_trials = -1);
// k distinct points chosen uniformly at random (Forgy's method).
template <class T>
std::vector<T> init_random(const Dataset<T>& data, std::int64_t k);

// ---- one assignment step ------------------------------------------------------------------
// Assigns every point to its nearest centre (the left half of (2)), updating labels, sums and
// counts in `state`; returns how many labels changed. After the centres move, centers_moved()
// is told each centre's Euclidean shift (Elkan's bounds need it); invalidate(i) says point i's
// label was changed from outside (the empty-cluster policy).
template <class T>
class AssignStep {
 public:
  virtual ~AssignStep() = default;
  virtual std::int64_t assign(const Dataset<T>& data, Clustering<T>& state) = 0;
  virtual void centers_moved(const Dataset<T>& data, const Clustering<T>& state, const std::vector<double>& shifts) {
    (void)data, (void)state, (void)shifts;
  }
  virtual void invalidate(std::int64_t point) { (void)point; }
};

// Lloyd's step: all n x k distances, one GEMM per block of rows (|x|^2 - 2 x.mu + |mu|^2), the
// argmin, and the cluster sums accumulated in the same pass while the block is in cache.
template <class T>
class LloydStep final : public AssignStep<T> {
 public:
  std::int64_t assign(const Dataset<T>& data, Clustering<T>& state) override;

 private:
  std::vector<std::vector<double>> partial_sums_;
  std::vector<std::vector<std::int64_t>> partial_counts_;
};

// Elkan's step (Elkan 2003, "Using the triangle inequality to accelerate k-means"): keeps an
// upper bound u(x) >= d(x, c(x)) and lower bounds l(x, j) <= d(x, mu_j) for every point and
// centre, and skips d(x, mu_j) whenever the triangle inequality shows mu_j cannot be nearer:
//     u(x) <= s(c(x)) = 1/2 min_{j != c(x)} d(mu_c(x), mu_j)        (Lemma 1: x stays put)
//     u(x) <= l(x, j)  or  u(x) <= 1/2 d(mu_c(x), mu_j)               (mu_j cannot win)
// When centre j moves by p(j), the bounds stay valid as u(x) += p(c(x)), l(x, j) -= p(j).
// Memory: n x k lower bounds. Gives the same labels and centres as Lloyd's step.
template <class T>
class ElkanStep final : public AssignStep<T> {
 public:
  std::int64_t assign(const Dataset<T>& data, Clustering<T>& state) override;
  void centers_moved(const Dataset<T>& data, const Clustering<T>& state, const std::vector<double>& shifts) override;
  void invalidate(std::int64_t point) override;

 private:
  std::int64_t assign_all(const Dataset<T>& data, Clustering<T>& state);
  void compute_center_distances(const Clustering<T>& state);
  bool initialised_ = false;
  std::vector<T> upper_;      // n
  std::vector<T> lower_;      // n x k
  std::vector<T> half_dist_;  // k x k: 1/2 d(mu_a, mu_b)
  std::vector<T> half_min_;   // k: s(a) = min_{b != a} half_dist_[a][b]
};

// "lloyd" or "elkan"; anything else is an error listing both.
template <class T>
std::unique_ptr<AssignStep<T>> make_assign_step(const std::string& algorithm);

// ---- empty-cluster policy -------------------------------------------------------------------
// A cluster that lost all its points would keep a meaningless centre. As scikit-learn, each
// empty cluster takes the point farthest from its current centre (the point the model explains
// worst), moved out of a cluster that keeps at least one point. Returns how many points moved.
template <class T>
std::int64_t relocate_empty_clusters(const Dataset<T>& data, Clustering<T>& state, AssignStep<T>& step);

// ---- centre update and stopping rule --------------------------------------------------------
// mu_j = sums_j / counts_j (the right half of (2)). Writes each centre's Euclidean shift into
// `shifts` and returns sum_j shift_j^2, scikit-learn's convergence measure.
template <class T>
double update_centers(Clustering<T>& state, std::vector<double>& shifts);

// scikit-learn's tolerance: tol times the mean over features of the data's variance, so that
// tol means the same on data of any scale.
template <class T>
double absolute_tolerance(const Dataset<T>& data, double tol);

// Stop when no label changed (a fixed point of (2)), when the centres moved less than the
// tolerance in total (sum of squared shifts), or after max_iter iterations.
struct StoppingRule {
  std::int64_t max_iter = 300;
  double tolerance = 0.0;  // absolute, see absolute_tolerance
  bool done(std::int64_t iteration, std::int64_t labels_changed, double squared_shift) const {
    return labels_changed == 0 || squared_shift <= tolerance || iteration >= max_iter;
  }
};

// ---- reading the result -------------------------------------------------------------------
// Nearest centre of every point into `labels` (may be null), and the inertia (1), computed from
// the exact differences |x - mu|^2 rather than the GEMM expansion.
template <class T>
double assign_nearest(const Dataset<T>& data, const T* centers, std::int64_t k, std::int64_t* labels);

// Tensor-level helpers for fitted estimators (KMeans, MiniBatchKMeans): both X [n x d] and the
// centres [k x d] (same dtype, contiguous CPU) are shifted by the centres' mean first, for the
// precision of the GEMM distance form. Nearest-centre labels [n] int64 (and the inertia when
// `inertia` is not null), and the Euclidean distances [n x k].
Tensor nearest_centers(const Tensor& X, const Tensor& centers, double* inertia);
Tensor distances_to_centers(const Tensor& X, const Tensor& centers);

}  // namespace cake::cluster::kmeans

// Compatibility: the spellings from before algorithms/ was split into family namespaces
// (docs/architecture.md, "The algorithms: families and namespaces"). They name the same
// entities; new code uses cake::cluster::kmeans.
namespace cake::algorithms::kmeans {
using ::cake::cluster::kmeans::Dataset;
using ::cake::cluster::kmeans::Clustering;
using ::cake::cluster::kmeans::init_kmeans_plus_plus;
using ::cake::cluster::kmeans::init_random;
using ::cake::cluster::kmeans::AssignStep;
using ::cake::cluster::kmeans::LloydStep;
using ::cake::cluster::kmeans::ElkanStep;
using ::cake::cluster::kmeans::make_assign_step;
using ::cake::cluster::kmeans::relocate_empty_clusters;
using ::cake::cluster::kmeans::update_centers;
using ::cake::cluster::kmeans::absolute_tolerance;
using ::cake::cluster::kmeans::StoppingRule;
using ::cake::cluster::kmeans::assign_nearest;
using ::cake::cluster::kmeans::nearest_centers;
using ::cake::cluster::kmeans::distances_to_centers;
}  // namespace cake::algorithms::kmeans
