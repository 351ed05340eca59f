// kmeans_steps.cpp: k-means++ seeding, Lloyd's and Elkan's assignment steps, the empty-cluster
// policy and the centre update. See kmeans_steps.h for the maths and the references.
#include "cake/algorithms/cluster/kmeans_steps.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "cake/algorithms/detail/common.h"

namespace cake::cluster::kmeans {

namespace detail = algorithms::detail;  // the shared kernels (algorithms/detail/)

using detail::for_each_distance_block;
using detail::max_threads;
using detail::squared_distance;

template <class T>
Dataset<T>::Dataset(const T* x_, std::int64_t n_, std::int64_t d_)
    : x(x_), n(n_), d(d_), sq_norms(static_cast<std::size_t>(n_)) {
  detail::row_squared_norms(x, n, d, sq_norms.data());
}

template <class T>
Clustering<T>::Clustering(std::int64_t n, std::int64_t k_, std::int64_t d_, std::vector<T> initial_centers)
    : k(k_),
      d(d_),
      centers(std::move(initial_centers)),
      labels(static_cast<std::size_t>(n), -1),
      sums(static_cast<std::size_t>(k_ * d_), 0.0),
      counts(static_cast<std::size_t>(k_), 0) {
  CAKE_CHECK(static_cast<std::int64_t>(centers.size()) == k * d, "k-means: expected ", k, "x", d,
             " initial centres, got ", centers.size(), " values");
}

// ---- initialisation -----------------------------------------------------------------------

template <class T>
Seeding<T> kmeans_plus_plus(const Dataset<T>& data, std::int64_t k, std::int64_t n_local_trials) {
  const std::int64_t n = data.n, d = data.d;
  CAKE_CHECK(k >= 1 && k <= n, "k-means++: cannot choose ", k, " centres from ", n, " points");
  if (n_local_trials < 1) n_local_trials = 2 + static_cast<std::int64_t>(std::log(static_cast<double>(k)));
  Seeding<T> seeding{std::vector<T>(static_cast<std::size_t>(k * d)), std::vector<std::int64_t>(static_cast<std::size_t>(k))};
  std::vector<T>& centers = seeding.centers;
  auto take_point = [&](std::int64_t center, std::int64_t point) {
    std::copy(data.row(point), data.row(point) + d, centers.begin() + center * d);
    seeding.indices[static_cast<std::size_t>(center)] = point;
  };

  // First centre: uniform. closest[i] = D(x_i)^2, the squared distance to the nearest centre.
  const std::int64_t first = detail::integer_draws(0, n, 1)[0];
  take_point(0, first);
  std::vector<T> closest(static_cast<std::size_t>(n));
  const T first_sq = data.sq_norms[static_cast<std::size_t>(first)];
  for_each_distance_block(data.x, data.sq_norms.data(), n, d, centers.data(), &first_sq, 1,
                          [&](int, std::int64_t lo, std::int64_t hi, const T* dist) {
                            for (std::int64_t i = lo; i < hi; ++i) closest[static_cast<std::size_t>(i)] = dist[i - lo];
                          });

  std::vector<double> cumulative(static_cast<std::size_t>(n));
  std::vector<T> candidates(static_cast<std::size_t>(n_local_trials * d)), candidate_sq(static_cast<std::size_t>(n_local_trials));
  std::vector<T> to_candidates(static_cast<std::size_t>(n * n_local_trials));  // n x trials
  std::vector<std::int64_t> candidate_ids(static_cast<std::size_t>(n_local_trials));
  const int threads = max_threads();
  for (std::int64_t c = 1; c < k; ++c) {
    // Draw candidates with probability D^2 / sum D^2: invert the cumulative sum (in float64).
    double running = 0.0;
    for (std::int64_t i = 0; i < n; ++i) cumulative[static_cast<std::size_t>(i)] = running += closest[static_cast<std::size_t>(i)];
    const std::vector<double> u = detail::uniform_draws(n_local_trials);
    for (std::int64_t t = 0; t < n_local_trials; ++t) {
      const double target = u[static_cast<std::size_t>(t)] * running;
      auto it = std::lower_bound(cumulative.begin(), cumulative.end(), target);
      const std::int64_t id = std::min<std::int64_t>(it - cumulative.begin(), n - 1);
      candidate_ids[static_cast<std::size_t>(t)] = id;
      std::copy(data.row(id), data.row(id) + d, candidates.begin() + t * d);
      candidate_sq[static_cast<std::size_t>(t)] = data.sq_norms[static_cast<std::size_t>(id)];
    }
    // Potential of each candidate: sum_i min(D(x_i)^2, |x_i - candidate|^2).
    std::vector<std::vector<double>> potential(static_cast<std::size_t>(threads),
                                               std::vector<double>(static_cast<std::size_t>(n_local_trials), 0.0));
    for_each_distance_block(data.x, data.sq_norms.data(), n, d, candidates.data(), candidate_sq.data(), n_local_trials,
                            [&](int thread, std::int64_t lo, std::int64_t hi, const T* dist) {
                              auto& pot = potential[static_cast<std::size_t>(thread)];
                              for (std::int64_t i = lo; i < hi; ++i)
                                for (std::int64_t t = 0; t < n_local_trials; ++t) {
                                  const T v = std::min(closest[static_cast<std::size_t>(i)], dist[(i - lo) * n_local_trials + t]);
                                  to_candidates[static_cast<std::size_t>(i * n_local_trials + t)] = v;
                                  pot[static_cast<std::size_t>(t)] += v;
                                }
                            });
    std::vector<double> total(static_cast<std::size_t>(n_local_trials));
    detail::reduce_partials(potential, total.data(), n_local_trials);
    const std::int64_t best = std::min_element(total.begin(), total.end()) - total.begin();
    take_point(c, candidate_ids[static_cast<std::size_t>(best)]);
    for (std::int64_t i = 0; i < n; ++i)
      closest[static_cast<std::size_t>(i)] = to_candidates[static_cast<std::size_t>(i * n_local_trials + best)];
  }
  return seeding;
}

template <class T>
std::vector<T> init_kmeans_plus_plus(const Dataset<T>& data, std::int64_t k, std::int64_t n_local_trials) {
  return kmeans_plus_plus(data, k, n_local_trials).centers;
}

template <class T>
std::vector<T> init_random(const Dataset<T>& data, std::int64_t k) {
  CAKE_CHECK(k >= 1 && k <= data.n, "k-means random init: cannot choose ", k, " centres from ", data.n, " points");
  const std::vector<std::int64_t> order = detail::permutation(data.n);
  std::vector<T> centers(static_cast<std::size_t>(k * data.d));
  for (std::int64_t c = 0; c < k; ++c)
    std::copy(data.row(order[static_cast<std::size_t>(c)]), data.row(order[static_cast<std::size_t>(c)]) + data.d,
              centers.begin() + c * data.d);
  return centers;
}

// ---- Lloyd ----------------------------------------------------------------------------------

namespace {
template <class T>
std::vector<T> squared_norms_of(const std::vector<T>& centers, std::int64_t k, std::int64_t d) {
  std::vector<T> sq(static_cast<std::size_t>(k));
  detail::row_squared_norms(centers.data(), k, d, sq.data());
  return sq;
}

template <class T>
void add_row(double* sum, const T* row, std::int64_t d, double sign) {
#pragma omp simd
  for (std::int64_t j = 0; j < d; ++j) sum[j] += sign * static_cast<double>(row[j]);
}
}  // namespace

template <class T>
std::int64_t LloydStep<T>::assign(const Dataset<T>& data, Clustering<T>& state) {
  const std::int64_t k = state.k, d = state.d;
  const int threads = max_threads();
  partial_sums_.resize(static_cast<std::size_t>(threads));
  partial_counts_.resize(static_cast<std::size_t>(threads));
  for (int t = 0; t < threads; ++t) {
    partial_sums_[static_cast<std::size_t>(t)].assign(static_cast<std::size_t>(k * d), 0.0);
    partial_counts_[static_cast<std::size_t>(t)].assign(static_cast<std::size_t>(k), 0);
  }
  std::vector<std::int64_t> changed(static_cast<std::size_t>(threads), 0);
  const std::vector<T> center_sq = squared_norms_of(state.centers, k, d);
  for_each_distance_block(
      data.x, data.sq_norms.data(), data.n, d, state.centers.data(), center_sq.data(), k,
      [&](int thread, std::int64_t lo, std::int64_t hi, const T* dist) {
        double* sums = partial_sums_[static_cast<std::size_t>(thread)].data();
        std::int64_t* counts = partial_counts_[static_cast<std::size_t>(thread)].data();
        for (std::int64_t i = lo; i < hi; ++i) {
          const T* row = dist + (i - lo) * k;
          const std::int64_t label = std::min_element(row, row + k) - row;  // ties: lowest index
          std::int64_t& old = state.labels[static_cast<std::size_t>(i)];
          if (old != label) ++changed[static_cast<std::size_t>(thread)];
          old = label;
          add_row(sums + label * d, data.row(i), d, 1.0);
          ++counts[label];
        }
      });
  detail::reduce_partials(partial_sums_, state.sums.data(), k * d);
  for (std::int64_t j = 0; j < k; ++j) {
    std::int64_t c = 0;
    for (const auto& p : partial_counts_) c += p[static_cast<std::size_t>(j)];
    state.counts[static_cast<std::size_t>(j)] = c;
  }
  return std::accumulate(changed.begin(), changed.end(), std::int64_t{0});
}

// ---- Elkan ----------------------------------------------------------------------------------

template <class T>
void ElkanStep<T>::compute_center_distances(const Clustering<T>& state) {
  const std::int64_t k = state.k, d = state.d;
  half_dist_.assign(static_cast<std::size_t>(k * k), T(0));
  half_min_.assign(static_cast<std::size_t>(k), std::numeric_limits<T>::infinity());
  for (std::int64_t a = 0; a < k; ++a)
    for (std::int64_t b = a + 1; b < k; ++b) {
      const T h = T(0.5) * std::sqrt(squared_distance(&state.centers[static_cast<std::size_t>(a * d)],
                                                      &state.centers[static_cast<std::size_t>(b * d)], d));
      half_dist_[static_cast<std::size_t>(a * k + b)] = half_dist_[static_cast<std::size_t>(b * k + a)] = h;
      half_min_[static_cast<std::size_t>(a)] = std::min(half_min_[static_cast<std::size_t>(a)], h);
      half_min_[static_cast<std::size_t>(b)] = std::min(half_min_[static_cast<std::size_t>(b)], h);
    }
}

// The first assignment knows nothing: compute every distance (as Lloyd, one GEMM per block),
// which also gives tight bounds u(x) = d(x, c(x)) and l(x, j) = d(x, mu_j).
template <class T>
std::int64_t ElkanStep<T>::assign_all(const Dataset<T>& data, Clustering<T>& state) {
  const std::int64_t n = data.n, k = state.k;
  upper_.assign(static_cast<std::size_t>(n), T(0));
  lower_.assign(static_cast<std::size_t>(n * k), T(0));
  LloydStep<T> lloyd;
  const std::int64_t changed = lloyd.assign(data, state);  // labels, sums, counts
  const std::vector<T> center_sq = squared_norms_of(state.centers, k, state.d);
  for_each_distance_block(data.x, data.sq_norms.data(), n, data.d, state.centers.data(), center_sq.data(), k,
                          [&](int, std::int64_t lo, std::int64_t hi, const T* dist) {
                            for (std::int64_t i = lo; i < hi; ++i) {
                              T* l = &lower_[static_cast<std::size_t>(i * k)];
                              for (std::int64_t j = 0; j < k; ++j) l[j] = std::sqrt(dist[(i - lo) * k + j]);
                              upper_[static_cast<std::size_t>(i)] = l[state.labels[static_cast<std::size_t>(i)]];
                            }
                          });
  initialised_ = true;
  return changed;
}

template <class T>
std::int64_t ElkanStep<T>::assign(const Dataset<T>& data, Clustering<T>& state) {
  compute_center_distances(state);
  if (!initialised_) return assign_all(data, state);
  const std::int64_t n = data.n, k = state.k, d = state.d;
  struct Move {
    std::int64_t point, from, to;
  };
  const int threads = max_threads();
  std::vector<std::vector<Move>> moves(static_cast<std::size_t>(threads));
  parallel_for(0, n, detail::grain_for(8 * k), [&](std::int64_t lo, std::int64_t hi) {
    auto& my_moves = moves[static_cast<std::size_t>(detail::thread_index())];
    for (std::int64_t i = lo; i < hi; ++i) {
      const std::int64_t old_label = state.labels[static_cast<std::size_t>(i)];
      std::int64_t label = old_label;
      T u = upper_[static_cast<std::size_t>(i)];
      if (u <= half_min_[static_cast<std::size_t>(label)]) continue;  // Lemma 1: nothing can be nearer
      T* l = &lower_[static_cast<std::size_t>(i * k)];
      const T* x = data.row(i);
      bool tight = false;
      for (std::int64_t j = 0; j < k; ++j) {
        if (j == label) continue;
        if (u <= l[j] || u <= half_dist_[static_cast<std::size_t>(label * k + j)]) continue;
        if (!tight) {  // tighten u(x) to the true distance before paying for d(x, mu_j)
          u = std::sqrt(squared_distance(x, &state.centers[static_cast<std::size_t>(label * d)], d));
          l[label] = u;
          tight = true;
          if (u <= l[j] || u <= half_dist_[static_cast<std::size_t>(label * k + j)]) continue;
        }
        const T dj = std::sqrt(squared_distance(x, &state.centers[static_cast<std::size_t>(j * d)], d));
        l[j] = dj;
        if (dj < u) {
          label = j;
          u = dj;
        }
      }
      upper_[static_cast<std::size_t>(i)] = u;
      if (label != old_label) {
        state.labels[static_cast<std::size_t>(i)] = label;
        my_moves.push_back({i, old_label, label});
      }
    }
  });
  // Patch the cluster sums for the points that moved; parallel over feature columns so that
  // every sum sees the moves in the same order whatever the thread count.
  std::vector<Move> all;
  for (const auto& m : moves) all.insert(all.end(), m.begin(), m.end());
  parallel_for(0, d, detail::grain_for(2 * static_cast<std::int64_t>(all.size())), [&](std::int64_t lo, std::int64_t hi) {
    for (const Move& m : all) {
      const T* x = data.row(m.point);
      double* from = &state.sums[static_cast<std::size_t>(m.from * d)];
      double* to = &state.sums[static_cast<std::size_t>(m.to * d)];
      for (std::int64_t j = lo; j < hi; ++j) {
        from[j] -= static_cast<double>(x[j]);
        to[j] += static_cast<double>(x[j]);
      }
    }
  });
  for (const Move& m : all) {
    --state.counts[static_cast<std::size_t>(m.from)];
    ++state.counts[static_cast<std::size_t>(m.to)];
  }
  return static_cast<std::int64_t>(all.size());
}

template <class T>
void ElkanStep<T>::centers_moved(const Dataset<T>& data, const Clustering<T>& state, const std::vector<double>& shifts) {
  const std::int64_t k = state.k;
  std::vector<T> p(static_cast<std::size_t>(k));
  for (std::int64_t j = 0; j < k; ++j) p[static_cast<std::size_t>(j)] = static_cast<T>(shifts[static_cast<std::size_t>(j)]);
  parallel_for(0, data.n, detail::grain_for(2 * k), [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t i = lo; i < hi; ++i) {
      upper_[static_cast<std::size_t>(i)] += p[static_cast<std::size_t>(state.labels[static_cast<std::size_t>(i)])];
      T* l = &lower_[static_cast<std::size_t>(i * k)];
      for (std::int64_t j = 0; j < k; ++j) l[j] = std::max(T(0), l[j] - p[static_cast<std::size_t>(j)]);
    }
  });
}

template <class T>
void ElkanStep<T>::invalidate(std::int64_t point) {
  // An infinite upper bound makes the next assign() recompute this point's distances.
  if (initialised_) upper_[static_cast<std::size_t>(point)] = std::numeric_limits<T>::infinity();
}

template <class T>
std::unique_ptr<AssignStep<T>> make_assign_step(const std::string& algorithm) {
  if (algorithm == "lloyd") return std::make_unique<LloydStep<T>>();
  if (algorithm == "elkan") return std::make_unique<ElkanStep<T>>();
  CAKE_FAIL("k-means: unknown algorithm \"", algorithm, "\" (expected \"lloyd\" or \"elkan\")");
}

// ---- empty clusters, update, tolerance, final assignment --------------------------------------

template <class T>
std::int64_t relocate_empty_clusters(const Dataset<T>& data, Clustering<T>& state, AssignStep<T>& step) {
  const std::int64_t k = state.k, d = state.d, n = data.n;
  std::vector<std::int64_t> empty;
  for (std::int64_t j = 0; j < k; ++j)
    if (state.counts[static_cast<std::size_t>(j)] == 0) empty.push_back(j);
  if (empty.empty()) return 0;
  // Squared distance of every point to the centre it is assigned to.
  std::vector<T> far(static_cast<std::size_t>(n));
  parallel_for(0, n, detail::grain_for(d), [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t i = lo; i < hi; ++i)
      far[static_cast<std::size_t>(i)] =
          squared_distance(data.row(i), &state.centers[static_cast<std::size_t>(state.labels[static_cast<std::size_t>(i)] * d)], d);
  });
  std::vector<std::int64_t> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::int64_t a, std::int64_t b) {
    return far[static_cast<std::size_t>(a)] > far[static_cast<std::size_t>(b)];
  });
  std::int64_t moved = 0;
  std::size_t next = 0;
  for (const std::int64_t cluster : empty) {
    while (next < order.size() && state.counts[static_cast<std::size_t>(state.labels[static_cast<std::size_t>(order[next])])] <= 1)
      ++next;  // never empty the donor cluster
    if (next == order.size()) break;
    const std::int64_t i = order[next++];
    const std::int64_t from = state.labels[static_cast<std::size_t>(i)];
    add_row(&state.sums[static_cast<std::size_t>(from * d)], data.row(i), d, -1.0);
    add_row(&state.sums[static_cast<std::size_t>(cluster * d)], data.row(i), d, 1.0);
    --state.counts[static_cast<std::size_t>(from)];
    ++state.counts[static_cast<std::size_t>(cluster)];
    state.labels[static_cast<std::size_t>(i)] = cluster;
    step.invalidate(i);
    ++moved;
  }
  return moved;
}

template <class T>
double update_centers(Clustering<T>& state, std::vector<double>& shifts) {
  const std::int64_t k = state.k, d = state.d;
  shifts.assign(static_cast<std::size_t>(k), 0.0);
  double total = 0.0;
  for (std::int64_t j = 0; j < k; ++j) {
    const std::int64_t count = state.counts[static_cast<std::size_t>(j)];
    if (count == 0) continue;  // only when there are fewer points than clusters: keep the centre
    T* mu = &state.centers[static_cast<std::size_t>(j * d)];
    const double* sum = &state.sums[static_cast<std::size_t>(j * d)];
    double shift = 0.0;
    for (std::int64_t f = 0; f < d; ++f) {
      const T updated = static_cast<T>(sum[f] / static_cast<double>(count));
      const double delta = static_cast<double>(updated) - static_cast<double>(mu[f]);
      shift += delta * delta;
      mu[f] = updated;
    }
    shifts[static_cast<std::size_t>(j)] = std::sqrt(shift);
    total += shift;
  }
  return total;
}

template <class T>
double absolute_tolerance(const Dataset<T>& data, double tol) {
  if (tol == 0.0 || data.n == 0) return 0.0;
  // mean_j var_j = (1/d) sum_j (E[x_j^2] - E[x_j]^2), accumulated in float64.
  std::vector<double> mean(static_cast<std::size_t>(data.d), 0.0);
  double sq = 0.0;
  for (std::int64_t i = 0; i < data.n; ++i) {
    add_row(mean.data(), data.row(i), data.d, 1.0);
    sq += static_cast<double>(data.sq_norms[static_cast<std::size_t>(i)]);
  }
  double mean_sq = 0.0;
  for (double m : mean) mean_sq += (m / static_cast<double>(data.n)) * (m / static_cast<double>(data.n));
  const double variance = (sq / static_cast<double>(data.n) - mean_sq) / static_cast<double>(data.d);
  return tol * std::max(variance, 0.0);
}

template <class T>
double assign_nearest(const Dataset<T>& data, const T* centers, std::int64_t k, std::int64_t* labels) {
  const std::int64_t d = data.d;
  std::vector<T> center_sq(static_cast<std::size_t>(k));
  detail::row_squared_norms(centers, k, d, center_sq.data());
  std::vector<std::vector<double>> inertia(static_cast<std::size_t>(max_threads()), std::vector<double>(1, 0.0));
  for_each_distance_block(data.x, data.sq_norms.data(), data.n, d, centers, center_sq.data(), k,
                          [&](int thread, std::int64_t lo, std::int64_t hi, const T* dist) {
                            double local = 0.0;
                            for (std::int64_t i = lo; i < hi; ++i) {
                              const T* row = dist + (i - lo) * k;
                              const std::int64_t label = std::min_element(row, row + k) - row;
                              if (labels) labels[i] = label;
                              local += static_cast<double>(squared_distance(data.row(i), centers + label * d, d));
                            }
                            inertia[static_cast<std::size_t>(thread)][0] += local;
                          });
  double total = 0.0;
  detail::reduce_partials(inertia, &total, 1);
  return total;
}

namespace {
// Runs body(data, centred_centers) with X and the centres both shifted by the centres' mean.
template <class T, class Body>
void with_centred(const Tensor& X, const Tensor& centers, const Body& body) {
  const std::int64_t k = centers.size(0), d = centers.size(1);
  std::vector<double> shift(static_cast<std::size_t>(d), 0.0);
  const T* c = centers.data_ptr<T>();
  for (std::int64_t i = 0; i < k; ++i)
    for (std::int64_t j = 0; j < d; ++j) shift[static_cast<std::size_t>(j)] += static_cast<double>(c[i * d + j]) / static_cast<double>(k);
  const Tensor xc = detail::subtract_row<T>(X, shift), cc = detail::subtract_row<T>(centers, shift);
  const Dataset<T> data(xc.data_ptr<T>(), X.size(0), d);
  body(data, cc);
}
}  // namespace

Tensor nearest_centers(const Tensor& X, const Tensor& centers, double* inertia) {
  Tensor labels = empty({X.size(0)}, kInt64);
  visit_floating(X.dtype(), "k-means predict", [&]<class T>() {
    with_centred<T>(X, centers, [&](const Dataset<T>& data, const Tensor& cc) {
      const double j = assign_nearest(data, cc.data_ptr<T>(), cc.size(0), labels.data_ptr<std::int64_t>());
      if (inertia) *inertia = j;
    });
  });
  return labels;
}

Tensor distances_to_centers(const Tensor& X, const Tensor& centers) {
  const std::int64_t n = X.size(0), k = centers.size(0);
  Tensor out = empty({n, k}, X.dtype());
  visit_floating(X.dtype(), "k-means transform", [&]<class T>() {
    with_centred<T>(X, centers, [&](const Dataset<T>& data, const Tensor& cc) {
      std::vector<T> c_sq(static_cast<std::size_t>(k));
      detail::row_squared_norms(cc.data_ptr<T>(), k, data.d, c_sq.data());
      T* o = out.data_ptr<T>();
      for_each_distance_block(data.x, data.sq_norms.data(), n, data.d, cc.data_ptr<T>(), c_sq.data(), k,
                              [&](int, std::int64_t lo, std::int64_t hi, const T* dist) {
                                for (std::int64_t i = lo * k; i < hi * k; ++i) o[i] = std::sqrt(dist[i - lo * k]);
                              });
    });
  });
  return out;
}

#define CAKE_INSTANTIATE_KMEANS_STEPS(T)                                                                   \
  template struct Dataset<T>;                                                                              \
  template struct Clustering<T>;                                                                           \
  template struct Seeding<T>;                                                                              \
  template Seeding<T> kmeans_plus_plus<T>(const Dataset<T>&, std::int64_t, std::int64_t);                  \
  template std::vector<T> init_kmeans_plus_plus<T>(const Dataset<T>&, std::int64_t, std::int64_t);         \
  template std::vector<T> init_random<T>(const Dataset<T>&, std::int64_t);                                 \
  template class LloydStep<T>;                                                                             \
  template class ElkanStep<T>;                                                                             \
  template std::unique_ptr<AssignStep<T>> make_assign_step<T>(const std::string&);                         \
  template std::int64_t relocate_empty_clusters<T>(const Dataset<T>&, Clustering<T>&, AssignStep<T>&);     \
  template double update_centers<T>(Clustering<T>&, std::vector<double>&);                                 \
  template double absolute_tolerance<T>(const Dataset<T>&, double);                                        \
  template double assign_nearest<T>(const Dataset<T>&, const T*, std::int64_t, std::int64_t*);
CAKE_INSTANTIATE_KMEANS_STEPS(float)
CAKE_INSTANTIATE_KMEANS_STEPS(double)
#undef CAKE_INSTANTIATE_KMEANS_STEPS

}  // namespace cake::cluster::kmeans
