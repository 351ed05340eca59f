// kmeans.cpp: the KMeans estimator: validation, centring, restarts, and the loop of
// kmeans_steps.h (assign, relocate empty clusters, update, stop).
#include "cake/algorithms/cluster/kmeans.h"

#include <cmath>
#include <limits>

#include "cake/algorithms/detail/common.h"
#include "cake/algorithms/cluster/kmeans_steps.h"
#include "cake/tensor/creation.h"

namespace cake::cluster {

namespace detail = algorithms::detail;  // the shared kernels (algorithms/detail/)

namespace {

struct RunResult {
  double inertia = std::numeric_limits<double>::infinity();
  std::int64_t n_iter = 0;
};

// One k-means run from `centers` (centred coordinates), to convergence. Leaves the final
// centres in state.centers and returns the inertia with the labels written to `labels`.
template <class T>
RunResult run_once(const kmeans::Dataset<T>& data, kmeans::Clustering<T>& state, const KMeansOptions& options,
                   double tolerance, std::int64_t* labels) {
  auto step = kmeans::make_assign_step<T>(options.algorithm);
  const kmeans::StoppingRule stop{options.max_iter, tolerance};
  std::vector<double> shifts;
  RunResult result;
  for (std::int64_t iteration = 1;; ++iteration) {
    std::int64_t changed = step->assign(data, state);
    changed += kmeans::relocate_empty_clusters(data, state, *step);
    const double squared_shift = kmeans::update_centers(state, shifts);
    step->centers_moved(data, state, shifts);
    result.n_iter = iteration;
    if (stop.done(iteration, changed, squared_shift)) break;
  }
  // Labels that match the final centres (the last update moved them after the assignment).
  result.inertia = kmeans::assign_nearest(data, state.centers.data(), state.k, labels);
  return result;
}

template <class T>
std::vector<T> initial_centers(const kmeans::Dataset<T>& data, const KMeansOptions& options,
                               const std::vector<double>& mean) {
  const std::int64_t k = options.n_clusters, d = data.d;
  if (options.init_centers.defined()) {
    const Tensor given = options.init_centers.detach().cpu().to(kFloat64).contiguous();
    const double* p = given.data_ptr<double>();
    std::vector<T> centers(static_cast<std::size_t>(k * d));
    for (std::int64_t c = 0; c < k; ++c)
      for (std::int64_t j = 0; j < d; ++j)
        centers[static_cast<std::size_t>(c * d + j)] = static_cast<T>(p[c * d + j] - mean[static_cast<std::size_t>(j)]);
    return centers;
  }
  if (options.init == "k-means++") return kmeans::init_kmeans_plus_plus(data, k);
  return kmeans::init_random(data, k);
}

void check_options(const KMeansOptions& o) {
  CAKE_CHECK(o.n_clusters >= 1, "KMeans: n_clusters must be at least 1, got ", o.n_clusters);
  CAKE_CHECK(o.n_init >= 1, "KMeans: n_init must be at least 1, got ", o.n_init);
  CAKE_CHECK(o.max_iter >= 1, "KMeans: max_iter must be at least 1, got ", o.max_iter);
  CAKE_CHECK(o.tol >= 0.0, "KMeans: tol must be non-negative, got ", o.tol);
  CAKE_CHECK(o.init == "k-means++" || o.init == "random", "KMeans: unknown init \"", o.init,
             "\" (expected \"k-means++\" or \"random\", or pass init_centers)");
  CAKE_CHECK(o.algorithm == "lloyd" || o.algorithm == "elkan", "KMeans: unknown algorithm \"", o.algorithm,
             "\" (expected \"lloyd\" or \"elkan\")");
}

}  // namespace

KMeans::KMeans(KMeansOptions options) : options_(std::move(options)) { check_options(options_); }

KMeans& KMeans::fit(const Tensor& X_in) {
  const Tensor X = detail::data_matrix(X_in, "KMeans.fit", options_.n_clusters);
  const std::int64_t n = X.size(0), d = X.size(1), k = options_.n_clusters;
  if (options_.init_centers.defined())
    CAKE_CHECK(options_.init_centers.dim() == 2 && options_.init_centers.size(0) == k && options_.init_centers.size(1) == d,
               "KMeans.fit: init_centers must have shape [", k, ", ", d, "], got ", options_.init_centers.sizes());
  detail::SeedScope seed(options_.random_state);
  visit_floating(X.dtype(), "KMeans.fit", [&]<class T>() {
    const std::vector<double> mean = detail::column_means(X.data_ptr<T>(), n, d);
    const Tensor centred = detail::subtract_row<T>(X, mean);
    const kmeans::Dataset<T> data(centred.data_ptr<T>(), n, d);
    const double tolerance = kmeans::absolute_tolerance(data, options_.tol);
    const std::int64_t runs = options_.init_centers.defined() ? 1 : options_.n_init;

    Tensor best_labels = empty({n}, kInt64), labels = empty({n}, kInt64);
    std::vector<T> best_centers;
    RunResult best;
    for (std::int64_t run = 0; run < runs; ++run) {
      kmeans::Clustering<T> state(n, k, d, initial_centers(data, options_, mean));
      const RunResult result = run_once(data, state, options_, tolerance, labels.data_ptr<std::int64_t>());
      // The first run is kept whatever its inertia: were every inertia NaN (distances that
      // overflowed), "<" would never hold and best_centers would stay empty.
      if (run == 0 || result.inertia < best.inertia) {
        best = result;
        best_centers = state.centers;
        std::swap(best_labels, labels);
      }
    }
    CAKE_CHECK(std::isfinite(best.inertia), "KMeans.fit: the inertia is ", best.inertia,
               ": squared distances overflowed ", dtype_name(X.dtype()), "; rescale the data");
    centers_ = empty({k, d}, X.dtype());
    T* c = centers_.data_ptr<T>();
    for (std::int64_t i = 0; i < k; ++i)
      for (std::int64_t j = 0; j < d; ++j)
        c[i * d + j] = static_cast<T>(static_cast<double>(best_centers[static_cast<std::size_t>(i * d + j)]) + mean[static_cast<std::size_t>(j)]);
    labels_ = best_labels;
    inertia_ = best.inertia;
    n_iter_ = best.n_iter;
  });
  n_features_ = d;
  return *this;
}

Tensor KMeans::fit_predict(const Tensor& X) { return fit(X).labels_; }

Tensor KMeans::fit_transform(const Tensor& X) { return fit(X).transform(X); }

void KMeans::check_fitted(const char* who) const {
  CAKE_CHECK(centers_.defined(), who, ": this KMeans is not fitted yet; call fit first");
}

Tensor KMeans::predict(const Tensor& X) const {
  check_fitted("KMeans.predict");
  return kmeans::nearest_centers(detail::data_matrix(X, "KMeans.predict", 0, n_features_).to(centers_.dtype()),
                                 centers_, nullptr);
}

double KMeans::score(const Tensor& X) const {
  check_fitted("KMeans.score");
  double inertia = 0.0;
  kmeans::nearest_centers(detail::data_matrix(X, "KMeans.score", 0, n_features_).to(centers_.dtype()), centers_,
                          &inertia);
  return -inertia;
}

Tensor KMeans::transform(const Tensor& X) const {
  check_fitted("KMeans.transform");
  return kmeans::distances_to_centers(
      detail::data_matrix(X, "KMeans.transform", 0, n_features_).to(centers_.dtype()), centers_);
}

const Tensor& KMeans::cluster_centers() const {
  check_fitted("KMeans.cluster_centers");
  return centers_;
}
const Tensor& KMeans::labels() const {
  check_fitted("KMeans.labels");
  return labels_;
}
double KMeans::inertia() const {
  check_fitted("KMeans.inertia");
  return inertia_;
}
std::int64_t KMeans::n_iter() const {
  check_fitted("KMeans.n_iter");
  return n_iter_;
}

}  // namespace cake::cluster
