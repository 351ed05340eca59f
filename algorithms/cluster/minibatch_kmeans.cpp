// minibatch_kmeans.cpp: scikit-learn's MiniBatchKMeans (sklearn/cluster/_kmeans.py, 1.2):
// initialisation on a sample scored on a held-out sample, mini-batch steps with per-centre
// learning rates, random reassignment of starved centres, and the smoothed-inertia stop.
#include "cake/algorithms/cluster/minibatch_kmeans.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "cake/algorithms/detail/common.h"
#include "cake/algorithms/cluster/kmeans_steps.h"

namespace cake::cluster {

namespace detail = algorithms::detail;  // the shared kernels (algorithms/detail/)

namespace {

using detail::squared_distance;

// Copies the rows `index` of x [n x d] into a new row-major buffer.
template <class T>
std::vector<T> gather_rows(const T* x, std::int64_t d, const std::vector<std::int64_t>& index) {
  std::vector<T> out(index.size() * static_cast<std::size_t>(d));
  for (std::size_t r = 0; r < index.size(); ++r) std::copy(x + index[r] * d, x + (index[r] + 1) * d, out.begin() + static_cast<std::ptrdiff_t>(r) * d);
  return out;
}

// The state shared by fit and partial_fit.
template <class T>
struct MiniBatchState {
  std::int64_t k, d;
  std::vector<T> centers;     // k x d
  std::vector<double>& counts;  // k
  std::int64_t& since_last_reassign;
};

// One mini-batch step (scikit-learn's _mini_batch_step): assign, move the centres with learning
// rate 1 / count, reassign starved centres when `reassign`. Returns the batch inertia.
template <class T>
double minibatch_step(const kmeans::Dataset<T>& batch, MiniBatchState<T>& state, bool reassign, double ratio) {
  const std::int64_t k = state.k, d = state.d, b = batch.n;
  std::vector<std::int64_t> labels(static_cast<std::size_t>(b));
  const double inertia = kmeans::assign_nearest(batch, state.centers.data(), k, labels.data());

  // mu_j <- (n_j mu_j + sum of its batch points) / (n_j + batch count), in float64.
  std::vector<double> sums(static_cast<std::size_t>(k * d), 0.0);
  std::vector<double> batch_counts(static_cast<std::size_t>(k), 0.0);
  for (std::int64_t i = 0; i < b; ++i) {
    const std::int64_t j = labels[static_cast<std::size_t>(i)];
    batch_counts[static_cast<std::size_t>(j)] += 1.0;
    const T* x = batch.row(i);
    double* s = &sums[static_cast<std::size_t>(j * d)];
    for (std::int64_t f = 0; f < d; ++f) s[f] += static_cast<double>(x[f]);
  }
  for (std::int64_t j = 0; j < k; ++j) {
    const double added = batch_counts[static_cast<std::size_t>(j)];
    if (added == 0.0) continue;
    double& count = state.counts[static_cast<std::size_t>(j)];
    T* mu = &state.centers[static_cast<std::size_t>(j * d)];
    const double* s = &sums[static_cast<std::size_t>(j * d)];
    for (std::int64_t f = 0; f < d; ++f)
      mu[f] = static_cast<T>((static_cast<double>(mu[f]) * count + s[f]) / (count + added));
    count += added;
  }

  if (reassign && ratio > 0.0) {
    // Centres with count < ratio * max count move to random batch points, at most b / 2 of them
    // (the ones with the smallest counts); their count becomes the smallest remaining count so
    // that they are not reassigned again at once.
    const double max_count = *std::max_element(state.counts.begin(), state.counts.end());
    std::vector<std::int64_t> starved;
    for (std::int64_t j = 0; j < k; ++j)
      if (state.counts[static_cast<std::size_t>(j)] < ratio * max_count) starved.push_back(j);
    const std::size_t limit = static_cast<std::size_t>(b / 2);
    if (starved.size() > limit) {
      std::stable_sort(starved.begin(), starved.end(), [&](std::int64_t a, std::int64_t c) {
        return state.counts[static_cast<std::size_t>(a)] < state.counts[static_cast<std::size_t>(c)];
      });
      starved.resize(limit);
    }
    if (!starved.empty()) {
      const std::vector<std::int64_t> picks = detail::permutation(b);
      std::vector<bool> is_starved(static_cast<std::size_t>(k), false);
      for (std::size_t r = 0; r < starved.size(); ++r) {
        const std::int64_t j = starved[r];
        is_starved[static_cast<std::size_t>(j)] = true;
        std::copy(batch.row(picks[r]), batch.row(picks[r]) + d, state.centers.begin() + j * d);
      }
      double min_kept = std::numeric_limits<double>::infinity();
      for (std::int64_t j = 0; j < k; ++j)
        if (!is_starved[static_cast<std::size_t>(j)]) min_kept = std::min(min_kept, state.counts[static_cast<std::size_t>(j)]);
      if (std::isfinite(min_kept))
        for (const std::int64_t j : starved) state.counts[static_cast<std::size_t>(j)] = min_kept;
    }
  }
  return inertia;
}

// scikit-learn's _random_reassign: every 10 k samples, or at once if some centre has no points.
template <class T>
bool reassign_due(MiniBatchState<T>& state, std::int64_t batch_size) {
  state.since_last_reassign += batch_size;
  const bool any_empty = std::any_of(state.counts.begin(), state.counts.end(), [](double c) { return c == 0.0; });
  if (any_empty || state.since_last_reassign >= 10 * state.k) {
    state.since_last_reassign = 0;
    return true;
  }
  return false;
}

template <class T>
std::vector<T> initial_centers(const kmeans::Dataset<T>& data, const MiniBatchKMeansOptions& o) {
  if (o.init_centers.defined()) {
    const Tensor given = o.init_centers.detach().cpu().to(dtype_of<T>()).contiguous();
    return std::vector<T>(given.data_ptr<T>(), given.data_ptr<T>() + given.numel());
  }
  return o.init == "k-means++" ? kmeans::init_kmeans_plus_plus(data, o.n_clusters) : kmeans::init_random(data, o.n_clusters);
}

void check_options(const MiniBatchKMeansOptions& o) {
  CAKE_CHECK(o.n_clusters >= 1, "MiniBatchKMeans: n_clusters must be at least 1, got ", o.n_clusters);
  CAKE_CHECK(o.batch_size >= 1, "MiniBatchKMeans: batch_size must be at least 1, got ", o.batch_size);
  CAKE_CHECK(o.max_iter >= 1, "MiniBatchKMeans: max_iter must be at least 1, got ", o.max_iter);
  CAKE_CHECK(o.n_init >= 1, "MiniBatchKMeans: n_init must be at least 1, got ", o.n_init);
  CAKE_CHECK(o.tol >= 0.0, "MiniBatchKMeans: tol must be non-negative, got ", o.tol);
  CAKE_CHECK(o.max_no_improvement >= 0, "MiniBatchKMeans: max_no_improvement must be >= 0 (0: off), got ",
             o.max_no_improvement);
  CAKE_CHECK(o.reassignment_ratio >= 0.0, "MiniBatchKMeans: reassignment_ratio must be non-negative, got ",
             o.reassignment_ratio);
  CAKE_CHECK(o.init == "k-means++" || o.init == "random", "MiniBatchKMeans: unknown init \"", o.init,
             "\" (expected \"k-means++\" or \"random\", or pass init_centers)");
}

void check_init_centers(const MiniBatchKMeansOptions& o, std::int64_t d) {
  if (o.init_centers.defined())
    CAKE_CHECK(o.init_centers.dim() == 2 && o.init_centers.size(0) == o.n_clusters && o.init_centers.size(1) == d,
               "MiniBatchKMeans: init_centers must have shape [", o.n_clusters, ", ", d, "], got ",
               o.init_centers.sizes());
}

// The smoothed-inertia stopping rule of scikit-learn's _mini_batch_convergence.
struct Convergence {
  double ewa = 0.0, ewa_min = 0.0;
  bool started = false, has_min = false;
  std::int64_t no_improvement = 0;
  bool done(std::int64_t step, std::int64_t n, std::int64_t batch_size, double batch_inertia, double squared_shift,
            double tolerance, std::int64_t max_no_improvement) {
    batch_inertia /= static_cast<double>(batch_size);
    if (step == 1) return false;  // the first batch only seeds the average
    if (!started) {
      ewa = batch_inertia;
      started = true;
    } else {
      const double alpha = std::min(1.0, static_cast<double>(batch_size) * 2.0 / static_cast<double>(n + 1));
      ewa = ewa * (1.0 - alpha) + batch_inertia * alpha;
    }
    if (tolerance > 0.0 && squared_shift <= tolerance) return true;
    if (!has_min || ewa < ewa_min) {
      no_improvement = 0;
      ewa_min = ewa;
      has_min = true;
    } else {
      ++no_improvement;
    }
    return max_no_improvement > 0 && no_improvement >= max_no_improvement;
  }
};

}  // namespace

MiniBatchKMeans::MiniBatchKMeans(MiniBatchKMeansOptions options) : options_(std::move(options)) {
  check_options(options_);
}

MiniBatchKMeans& MiniBatchKMeans::fit(const Tensor& X_in) {
  const MiniBatchKMeansOptions& o = options_;
  const Tensor X = detail::data_matrix(X_in, "MiniBatchKMeans.fit", o.n_clusters);
  const std::int64_t n = X.size(0), d = X.size(1), k = o.n_clusters;
  check_init_centers(o, d);
  const std::int64_t batch_size = std::min(o.batch_size, n);
  std::int64_t init_size = o.init_size > 0 ? o.init_size : 3 * batch_size;
  if (init_size < k) init_size = 3 * k;
  init_size = std::min(init_size, n);
  detail::SeedScope seed(o.random_state);
  visit_floating(X.dtype(), "MiniBatchKMeans.fit", [&]<class T>() {
    const T* x = X.data_ptr<T>();
    const kmeans::Dataset<T> all(x, n, d);
    const double tolerance = kmeans::absolute_tolerance(all, o.tol);

    // Initialisations, each on its own random sample, scored on one held-out sample.
    const std::vector<T> valid_rows = gather_rows(x, d, detail::integer_draws(0, n, init_size));
    const kmeans::Dataset<T> valid(valid_rows.data(), init_size, d);
    std::vector<T> best_init;
    double best_inertia = std::numeric_limits<double>::infinity();
    const std::int64_t inits = o.init_centers.defined() ? 1 : o.n_init;
    for (std::int64_t r = 0; r < inits; ++r) {
      const std::vector<T> sample_rows = gather_rows(x, d, detail::integer_draws(0, n, init_size));
      const kmeans::Dataset<T> sample(sample_rows.data(), init_size, d);
      std::vector<T> centers = initial_centers(sample, o);
      const double inertia = kmeans::assign_nearest(valid, centers.data(), k, nullptr);
      if (best_init.empty() || inertia < best_inertia) {  // never left empty, even by NaN inertias
        best_inertia = inertia;
        best_init = std::move(centers);
      }
    }

    counts_.assign(static_cast<std::size_t>(k), 0.0);
    since_last_reassign_ = 0;
    MiniBatchState<T> state{k, d, std::move(best_init), counts_, since_last_reassign_};
    Convergence convergence;
    const std::int64_t steps = std::max<std::int64_t>(1, o.max_iter * n / batch_size);
    std::int64_t step = 0;
    std::vector<T> previous;
    while (step < steps) {
      ++step;
      const std::vector<T> rows = gather_rows(x, d, detail::integer_draws(0, n, batch_size));
      const kmeans::Dataset<T> batch(rows.data(), batch_size, d);
      if (tolerance > 0.0) previous = state.centers;
      const double inertia = minibatch_step(batch, state, reassign_due(state, batch_size), o.reassignment_ratio);
      double squared_shift = 0.0;
      if (tolerance > 0.0)
        for (std::size_t i = 0; i < previous.size(); ++i) {
          const double delta = static_cast<double>(state.centers[i]) - static_cast<double>(previous[i]);
          squared_shift += delta * delta;
        }
      if (convergence.done(step, n, batch_size, inertia, squared_shift, tolerance, o.max_no_improvement)) break;
    }
    n_steps_ = step;
    n_iter_ = (step * batch_size + n - 1) / n;
    centers_ = empty({k, d}, X.dtype());
    std::copy(state.centers.begin(), state.centers.end(), centers_.data_ptr<T>());
    if (o.compute_labels) {
      labels_ = empty({n}, kInt64);
      inertia_ = kmeans::assign_nearest(all, state.centers.data(), k, labels_.data_ptr<std::int64_t>());
    } else {
      labels_ = Tensor();
      inertia_ = convergence.ewa * static_cast<double>(n);
    }
  });
  n_features_ = d;
  return *this;
}

MiniBatchKMeans& MiniBatchKMeans::partial_fit(const Tensor& X_in) {
  const MiniBatchKMeansOptions& o = options_;
  const bool first = !centers_.defined();
  const Tensor X = first ? detail::data_matrix(X_in, "MiniBatchKMeans.partial_fit", o.n_clusters)
                         : detail::data_matrix(X_in, "MiniBatchKMeans.partial_fit", 1, n_features_).to(centers_.dtype());
  const std::int64_t n = X.size(0), d = X.size(1), k = o.n_clusters;
  visit_floating(X.dtype(), "MiniBatchKMeans.partial_fit", [&]<class T>() {
    const kmeans::Dataset<T> batch(X.data_ptr<T>(), n, d);
    std::vector<T> centers;
    if (first) {
      check_init_centers(o, d);
      detail::SeedScope seed(o.random_state);
      std::int64_t init_size = o.init_size > 0 ? o.init_size : 3 * o.batch_size;
      init_size = std::min(std::max(init_size, k), n);
      const std::vector<T> rows = gather_rows(X.data_ptr<T>(), d, detail::integer_draws(0, n, init_size));
      centers = initial_centers(kmeans::Dataset<T>(rows.data(), init_size, d), o);
      counts_.assign(static_cast<std::size_t>(k), 0.0);
      since_last_reassign_ = 0;
      n_steps_ = 0;
    } else {
      centers.assign(centers_.data_ptr<T>(), centers_.data_ptr<T>() + k * d);
    }
    MiniBatchState<T> state{k, d, std::move(centers), counts_, since_last_reassign_};
    minibatch_step(batch, state, reassign_due(state, n), o.reassignment_ratio);
    centers_ = empty({k, d}, X.dtype());
    std::copy(state.centers.begin(), state.centers.end(), centers_.data_ptr<T>());
    if (o.compute_labels) {
      labels_ = empty({n}, kInt64);
      inertia_ = kmeans::assign_nearest(batch, state.centers.data(), k, labels_.data_ptr<std::int64_t>());
    }
  });
  ++n_steps_;
  n_features_ = d;
  return *this;
}

Tensor MiniBatchKMeans::fit_predict(const Tensor& X) {
  fit(X);
  return labels_.defined() ? labels_ : predict(X);
}

void MiniBatchKMeans::check_fitted(const char* who) const {
  CAKE_CHECK(centers_.defined(), who, ": this MiniBatchKMeans is not fitted yet; call fit or partial_fit first");
}

Tensor MiniBatchKMeans::predict(const Tensor& X) const {
  check_fitted("MiniBatchKMeans.predict");
  return kmeans::nearest_centers(
      detail::data_matrix(X, "MiniBatchKMeans.predict", 0, n_features_).to(centers_.dtype()), centers_, nullptr);
}

Tensor MiniBatchKMeans::transform(const Tensor& X) const {
  check_fitted("MiniBatchKMeans.transform");
  return kmeans::distances_to_centers(
      detail::data_matrix(X, "MiniBatchKMeans.transform", 0, n_features_).to(centers_.dtype()), centers_);
}

double MiniBatchKMeans::score(const Tensor& X) const {
  check_fitted("MiniBatchKMeans.score");
  double inertia = 0.0;
  kmeans::nearest_centers(detail::data_matrix(X, "MiniBatchKMeans.score", 0, n_features_).to(centers_.dtype()),
                          centers_, &inertia);
  return -inertia;
}

const Tensor& MiniBatchKMeans::cluster_centers() const {
  check_fitted("MiniBatchKMeans.cluster_centers");
  return centers_;
}
const Tensor& MiniBatchKMeans::labels() const {
  check_fitted("MiniBatchKMeans.labels");
  CAKE_CHECK(labels_.defined(), "MiniBatchKMeans.labels: fitted with compute_labels = false; call predict");
  return labels_;
}
double MiniBatchKMeans::inertia() const {
  check_fitted("MiniBatchKMeans.inertia");
  return inertia_;
}
std::int64_t MiniBatchKMeans::n_iter() const {
  check_fitted("MiniBatchKMeans.n_iter");
  return n_iter_;
}
std::int64_t MiniBatchKMeans::n_steps() const {
  check_fitted("MiniBatchKMeans.n_steps");
  return n_steps_;
}

}  // namespace cake::cluster
