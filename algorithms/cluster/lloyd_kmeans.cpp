// lloyd_kmeans.cpp: Lloyd's loop in Cake tensor operations, one function per line of the
// lecture's pseudocode (see lloyd_kmeans.h for the algorithm and why it stops).
#include "cake/algorithms/cluster/lloyd_kmeans.h"

#include <cmath>
#include <limits>
#include <utility>

#include "cake/algorithms/detail/common.h"
#include "cake/autograd/grad_mode.h"
#include "cake/autograd/ops.h"
#include "cake/tensor/creation.h"

namespace cake::cluster {
namespace {

// Line 1: k distinct samples, picked by a random permutation (so the seed fixes them).
Tensor random_centres(const Tensor& x, std::int64_t k) {
  const Tensor chosen = randperm(x.size(0)).narrow(0, 0, k).to(x.device());
  return index_select(x, 0, chosen);
}

// Line 5: each sample to its nearest centre. All N x k squared distances come from one GEMM,
// |x_i - mu_j|^2 = |x_i|^2 - 2 x_i . mu_j + |mu_j|^2 (cdist_squared); min over the centres gives
// the distance and the index (ties go to the lower j).
struct Assignment {
  Tensor labels;   // int64 [N]
  double inertia;  // sum_i |x_i - mu_{y_i}|^2, the k-means objective
};
Assignment assign(const Tensor& x, const Tensor& centres) {
  auto [nearest, labels] = cake::min(cdist_squared(x, centres), 1);
  return {labels, nearest.sum().item<double>()};
}

// Line 7: each centre moves to the mean of its samples, sum_{i : y_i = j} x_i / N_j. index_add
// sums the rows of x into the row of their label; bincount counts them. An empty cluster
// (N_j = 0) keeps its centre.
Tensor update(const Tensor& x, const Tensor& labels, const Tensor& centres) {
  const Tensor sums = index_add(zeros_like(centres), 0, labels, x);
  const Tensor counts = bincount(labels, {}, centres.size(0)).to(x.dtype()).unsqueeze(1);
  return where(counts > 0.0, sums / counts.clamp_min(1.0), centres);
}

struct Run {
  Tensor centres, labels;
  double inertia = 0.0;
  std::int64_t iterations = 0;
  std::vector<double> history;
};

// Lines 2-10 from the given centres.
Run lloyd(const Tensor& x, Tensor centres, std::int64_t max_iter, std::int64_t restart,
          const std::function<void(const LloydIteration&)>& on_iteration) {
  Run run;
  run.centres = std::move(centres);
  for (std::int64_t t = 1; t <= max_iter; ++t) {
    const Assignment a = assign(x, run.centres);                                  // line 5
    const std::int64_t changed =                                                  // line 8
        run.labels.defined() ? (a.labels != run.labels).to(kInt64).sum().item<std::int64_t>() : x.size(0);
    run.labels = a.labels;
    run.centres = update(x, run.labels, run.centres);                             // line 7
    run.iterations = t;
    run.history.push_back(a.inertia);
    if (on_iteration) on_iteration({.restart = restart, .iteration = t, .inertia = a.inertia, .changed = changed});
    if (changed == 0) break;
  }
  // The objective of the final centres (each iteration measured the centres before its update).
  const Assignment final_assignment = assign(x, run.centres);
  run.labels = final_assignment.labels;
  run.inertia = final_assignment.inertia;
  return run;
}

}  // namespace

LloydKMeans::LloydKMeans(LloydKMeansOptions options) : options_(std::move(options)) {}

LloydKMeans& LloydKMeans::fit(const Tensor& X) {
  const LloydKMeansOptions& o = options_;
  CAKE_CHECK(X.dim() == 2 && (X.dtype() == kFloat32 || X.dtype() == kFloat64),
             "LloydKMeans.fit: expected X [N, D] float32 or float64, got shape ", X.sizes(), " ", X.dtype());
  const std::int64_t n = X.size(0), k = o.n_clusters;
  CAKE_CHECK(k >= 1 && k <= n, "LloydKMeans.fit: n_clusters must be between 1 and the number of samples (", n,
             "), got ", k);
  CAKE_CHECK(o.max_iter >= 1 && o.n_init >= 1, "LloydKMeans.fit: max_iter and n_init must be at least 1, got ",
             o.max_iter, " and ", o.n_init);
  if (o.init_centers.defined())
    CAKE_CHECK(o.init_centers.dim() == 2 && o.init_centers.size(0) == k && o.init_centers.size(1) == X.size(1),
               "LloydKMeans.fit: init_centers must be [n_clusters, features] = [", k, ", ", X.size(1), "], got ",
               o.init_centers.sizes());
  NoGradGuard no_grad;
  algorithms::detail::SeedScope seed(o.random_state);
  const Tensor x = X.detach();
  const std::int64_t starts = o.init_centers.defined() ? 1 : o.n_init;

  Run best;
  best.inertia = std::numeric_limits<double>::infinity();
  for (std::int64_t r = 0; r < starts; ++r) {
    Tensor start = o.init_centers.defined() ? o.init_centers.detach().to(x.device()).to(x.dtype()) : random_centres(x, k);
    Run run = lloyd(x, std::move(start), o.max_iter, r, on_iteration);
    if (r == 0 || run.inertia < best.inertia) {  // the first run even when its inertia is NaN
      best = std::move(run);
      best_restart_ = r;
    }
  }
  CAKE_CHECK(std::isfinite(best.inertia), "LloydKMeans.fit: the inertia is ", best.inertia,
             ": the squared distances overflowed (values too large or not finite); rescale the data");
  centers_ = best.centres;
  labels_ = best.labels;
  inertia_ = best.inertia;
  n_iter_ = best.iterations;
  inertia_history_ = std::move(best.history);
  return *this;
}

Tensor LloydKMeans::fit_predict(const Tensor& X) { return fit(X).labels(); }

Tensor LloydKMeans::predict(const Tensor& X) const {
  check_fitted("LloydKMeans.predict");
  CAKE_CHECK(X.dim() == 2 && X.size(1) == centers_.size(1), "LloydKMeans.predict: expected X [N, ", centers_.size(1),
             "], got shape ", X.sizes());
  NoGradGuard no_grad;
  return assign(X.detach().to(centers_.device()).to(centers_.dtype()), centers_).labels;
}

void LloydKMeans::check_fitted(const char* who) const {
  CAKE_CHECK(centers_.defined(), who, ": this LloydKMeans is not fitted yet; call fit first");
}

const Tensor& LloydKMeans::labels() const {
  check_fitted("LloydKMeans.labels");
  return labels_;
}
const Tensor& LloydKMeans::cluster_centers() const {
  check_fitted("LloydKMeans.cluster_centers");
  return centers_;
}
double LloydKMeans::inertia() const {
  check_fitted("LloydKMeans.inertia");
  return inertia_;
}
std::int64_t LloydKMeans::n_iter() const {
  check_fitted("LloydKMeans.n_iter");
  return n_iter_;
}
std::int64_t LloydKMeans::best_restart() const {
  check_fitted("LloydKMeans.best_restart");
  return best_restart_;
}
const std::vector<double>& LloydKMeans::inertia_history() const {
  check_fitted("LloydKMeans.inertia_history");
  return inertia_history_;
}

}  // namespace cake::cluster
