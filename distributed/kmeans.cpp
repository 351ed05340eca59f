// kmeans.cpp: k-means over row shards; the single-process loop of algorithms/cluster/kmeans.cpp
// with every sum over points all-reduced. See kmeans.h for the plan and the references.
#include "cake/distributed/kmeans.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "cake/algorithms/cluster/kmeans_steps.h"
#include "cake/algorithms/detail/common.h"
#include "cake/distributed/detail/shards.h"
#include "cake/tensor/creation.h"

namespace cake::distributed {

namespace {

namespace detail = algorithms::detail;
namespace km = cluster::kmeans;
using detail::for_each_distance_block;

using shards::Layout;
using shards::over_ranks;

// Rows of the whole data set, by global index, onto every rank: the rank holding a row writes it
// (with its squared norm) into a zeroed buffer, and a sum over ranks delivers it everywhere.
template <class T>
std::vector<double> fetch_rows(ProcessGroup& group, const Layout& layout, const km::Dataset<T>& data,
                               const std::vector<std::int64_t>& rows) {
  const std::int64_t d = data.d;
  std::vector<double> buffer(rows.size() * static_cast<std::size_t>(d + 1), 0.0);
  for (std::size_t t = 0; t < rows.size(); ++t) {
    if (!layout.holds(rows[t])) continue;
    const std::int64_t i = rows[t] - layout.begin();
    double* out = &buffer[t * static_cast<std::size_t>(d + 1)];
    for (std::int64_t j = 0; j < d; ++j) out[j] = static_cast<double>(data.row(i)[j]);
    out[d] = static_cast<double>(data.sq_norms[static_cast<std::size_t>(i)]);
  }
  return over_ranks(group, buffer);
}

// k-means++ seeding over the shards; the draws follow km::kmeans_plus_plus one for one.
// `chosen`, when given, receives the global rows picked as centres.
template <class T>
std::vector<T> seed_plus_plus(ProcessGroup& group, const Layout& layout, const km::Dataset<T>& data, std::int64_t k,
                              std::vector<std::int64_t>* chosen = nullptr) {
  const std::int64_t n = data.n, d = data.d;
  const std::int64_t trials = 2 + static_cast<std::int64_t>(std::log(static_cast<double>(k)));
  std::vector<T> centers(static_cast<std::size_t>(k * d));
  auto take = [&](std::int64_t c, const double* row) {
    for (std::int64_t j = 0; j < d; ++j) centers[static_cast<std::size_t>(c * d + j)] = static_cast<T>(row[j]);
  };
  // First centre: a uniform draw among all N rows. closest = D(x)^2 of the local rows.
  const std::int64_t first = detail::integer_draws(0, layout.n, 1)[0];
  const std::vector<double> first_row = fetch_rows(group, layout, data, {first});
  take(0, first_row.data());
  if (chosen != nullptr) chosen->assign(1, first);
  const T first_sq = static_cast<T>(first_row[static_cast<std::size_t>(d)]);
  std::vector<T> closest(static_cast<std::size_t>(n));
  for_each_distance_block(data.x, data.sq_norms.data(), n, d, centers.data(), &first_sq, 1,
                          [&](int, std::int64_t lo, std::int64_t hi, const T* dist) {
                            for (std::int64_t i = lo; i < hi; ++i) closest[static_cast<std::size_t>(i)] = dist[i - lo];
                          });
  std::vector<double> cumulative(static_cast<std::size_t>(n));
  std::vector<T> candidates(static_cast<std::size_t>(trials * d)), candidate_sq(static_cast<std::size_t>(trials));
  std::vector<T> to_candidates(static_cast<std::size_t>(n * trials));
  const int p = group.world_size();
  for (std::int64_t c = 1; c < k; ++c) {
    // The local cumulative D^2, and every rank's total: the global cumulative sum is the
    // ranks' prefix plus the local one.
    double running = 0.0;
    for (std::int64_t i = 0; i < n; ++i) cumulative[static_cast<std::size_t>(i)] = running += closest[static_cast<std::size_t>(i)];
    std::vector<double> totals(static_cast<std::size_t>(p), 0.0);
    totals[static_cast<std::size_t>(group.rank())] = running;
    totals = over_ranks(group, totals);
    double total = 0.0;
    for (double t : totals) total += t;
    // Candidates with probability D^2 / sum D^2: each rank finds the draws that land in it.
    const std::vector<double> u = detail::uniform_draws(trials);
    std::vector<std::int64_t> ids(static_cast<std::size_t>(trials), 0);
    for (std::int64_t t = 0; t < trials; ++t) {
      const double target = u[static_cast<std::size_t>(t)] * total;
      double prefix = 0.0;
      int owner = p - 1;
      for (int r = 0; r < p; ++r) {
        if (prefix + totals[static_cast<std::size_t>(r)] >= target && layout.offsets[static_cast<std::size_t>(r) + 1] > layout.offsets[static_cast<std::size_t>(r)]) {
          owner = r;
          break;
        }
        prefix += totals[static_cast<std::size_t>(r)];
      }
      if (owner != group.rank()) continue;
      auto it = std::lower_bound(cumulative.begin(), cumulative.end(), target - prefix);
      ids[static_cast<std::size_t>(t)] = layout.begin() + std::min<std::int64_t>(it - cumulative.begin(), n - 1);
    }
    std::vector<double> id_values(ids.begin(), ids.end());
    id_values = over_ranks(group, id_values);  // exactly one rank wrote each, the others 0
    for (std::int64_t t = 0; t < trials; ++t) ids[static_cast<std::size_t>(t)] = static_cast<std::int64_t>(id_values[static_cast<std::size_t>(t)]);
    const std::vector<double> rows = fetch_rows(group, layout, data, ids);
    for (std::int64_t t = 0; t < trials; ++t) {
      const double* row = &rows[static_cast<std::size_t>(t * (d + 1))];
      for (std::int64_t j = 0; j < d; ++j) candidates[static_cast<std::size_t>(t * d + j)] = static_cast<T>(row[j]);
      candidate_sq[static_cast<std::size_t>(t)] = static_cast<T>(row[d]);
    }
    // The potential of each candidate, sum_i min(D(x_i)^2, |x_i - candidate|^2), over all ranks.
    std::vector<std::vector<double>> potential(static_cast<std::size_t>(detail::max_threads()),
                                               std::vector<double>(static_cast<std::size_t>(trials), 0.0));
    for_each_distance_block(data.x, data.sq_norms.data(), n, d, candidates.data(), candidate_sq.data(), trials,
                            [&](int thread, std::int64_t lo, std::int64_t hi, const T* dist) {
                              auto& pot = potential[static_cast<std::size_t>(thread)];
                              for (std::int64_t i = lo; i < hi; ++i)
                                for (std::int64_t t = 0; t < trials; ++t) {
                                  const T v = std::min(closest[static_cast<std::size_t>(i)], dist[(i - lo) * trials + t]);
                                  to_candidates[static_cast<std::size_t>(i * trials + t)] = v;
                                  pot[static_cast<std::size_t>(t)] += v;
                                }
                            });
    std::vector<double> local(static_cast<std::size_t>(trials));
    detail::reduce_partials(potential, local.data(), trials);
    const std::vector<double> global = over_ranks(group, local);
    const std::int64_t best = std::min_element(global.begin(), global.end()) - global.begin();
    take(c, &rows[static_cast<std::size_t>(best * (d + 1))]);
    if (chosen != nullptr) chosen->push_back(ids[static_cast<std::size_t>(best)]);
    for (std::int64_t i = 0; i < n; ++i)
      closest[static_cast<std::size_t>(i)] = to_candidates[static_cast<std::size_t>(i * trials + best)];
  }
  return centers;
}

// k distinct rows chosen uniformly (the same permutation on every rank), as km::init_random.
template <class T>
std::vector<T> seed_random(ProcessGroup& group, const Layout& layout, const km::Dataset<T>& data, std::int64_t k) {
  const std::vector<std::int64_t> order = detail::permutation(layout.n);
  const std::vector<double> rows = fetch_rows(group, layout, data, {order.begin(), order.begin() + k});
  std::vector<T> centers(static_cast<std::size_t>(k * data.d));
  for (std::int64_t c = 0; c < k; ++c)
    for (std::int64_t j = 0; j < data.d; ++j)
      centers[static_cast<std::size_t>(c * data.d + j)] = static_cast<T>(rows[static_cast<std::size_t>(c * (data.d + 1) + j)]);
  return centers;
}

// km::relocate_empty_clusters over all ranks: every emptied cluster takes the point farthest
// from its centre, from a cluster that keeps at least one. Each rank offers its m + k farthest
// points (m empty clusters; at most k points are ever skipped, one per cluster left with one
// point), all ranks see all offers in the single-process order (distance descending, then
// global row), and apply the same moves to the replicated sums and counts; the owner of a
// moved point relabels it. Returns how many points moved.
template <class T>
std::int64_t relocate_empty(ProcessGroup& group, const Layout& layout, const km::Dataset<T>& data,
                            km::Clustering<T>& state) {
  const std::int64_t k = state.k, d = state.d, n = data.n;
  std::vector<std::int64_t> empty_clusters;
  for (std::int64_t j = 0; j < k; ++j)
    if (state.counts[static_cast<std::size_t>(j)] == 0) empty_clusters.push_back(j);
  if (empty_clusters.empty()) return 0;  // the counts are global: every rank agrees
  std::vector<T> far(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i)
    far[static_cast<std::size_t>(i)] = detail::squared_distance(
        data.row(i), &state.centers[static_cast<std::size_t>(state.labels[static_cast<std::size_t>(i)] * d)], d);
  std::vector<std::int64_t> order(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) order[static_cast<std::size_t>(i)] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::int64_t a, std::int64_t b) {
    return far[static_cast<std::size_t>(a)] > far[static_cast<std::size_t>(b)];
  });
  const std::int64_t offered = std::min<std::int64_t>(n, static_cast<std::int64_t>(empty_clusters.size()) + k);
  // One row per offer: distance, global row, label, then the point.
  Tensor offers = empty({offered, d + 3}, kFloat64);
  double* o = offers.data_ptr<double>();
  for (std::int64_t t = 0; t < offered; ++t) {
    const std::int64_t i = order[static_cast<std::size_t>(t)];
    double* row = o + t * (d + 3);
    row[0] = static_cast<double>(far[static_cast<std::size_t>(i)]);
    row[1] = static_cast<double>(layout.begin() + i);
    row[2] = static_cast<double>(state.labels[static_cast<std::size_t>(i)]);
    for (std::int64_t j = 0; j < d; ++j) row[3 + j] = static_cast<double>(data.row(i)[j]);
  }
  const Tensor all = group.all_gather(offers);
  const double* a = all.data_ptr<double>();
  std::vector<std::int64_t> ranked(static_cast<std::size_t>(all.size(0)));
  for (std::size_t t = 0; t < ranked.size(); ++t) ranked[t] = static_cast<std::int64_t>(t);
  std::sort(ranked.begin(), ranked.end(), [&](std::int64_t x, std::int64_t y) {
    const double* rx = a + x * (d + 3);
    const double* ry = a + y * (d + 3);
    return rx[0] != ry[0] ? rx[0] > ry[0] : rx[1] < ry[1];
  });
  std::int64_t moved = 0;
  std::size_t next = 0;
  for (const std::int64_t cluster : empty_clusters) {
    auto label_of = [&](std::size_t t) { return static_cast<std::int64_t>(a[ranked[t] * (d + 3) + 2]); };
    while (next < ranked.size() && state.counts[static_cast<std::size_t>(label_of(next))] <= 1) ++next;
    if (next == ranked.size()) break;
    const double* row = a + ranked[next] * (d + 3);
    const std::int64_t from = label_of(next++);
    for (std::int64_t j = 0; j < d; ++j) {
      state.sums[static_cast<std::size_t>(from * d + j)] -= row[3 + j];
      state.sums[static_cast<std::size_t>(cluster * d + j)] += row[3 + j];
    }
    --state.counts[static_cast<std::size_t>(from)];
    ++state.counts[static_cast<std::size_t>(cluster)];
    const std::int64_t global = static_cast<std::int64_t>(row[1]);
    if (layout.holds(global)) state.labels[static_cast<std::size_t>(global - layout.begin())] = cluster;
    ++moved;
  }
  return moved;
}

struct Run {
  double inertia = std::numeric_limits<double>::infinity();
  std::int64_t n_iter = 0;
};

// One Lloyd run to convergence; local labels into `labels`, the global inertia returned.
template <class T>
Run run_once(ProcessGroup& group, const Layout& layout, const km::Dataset<T>& data, km::Clustering<T>& state,
             const cluster::KMeansOptions& options, double tolerance, std::int64_t* labels) {
  km::LloydStep<T> step;
  const km::StoppingRule stop{options.max_iter, tolerance};
  const std::int64_t k = state.k, d = state.d;
  std::vector<double> shifts, packed(static_cast<std::size_t>(k * d + k + 1));
  Run run;
  for (std::int64_t iteration = 1;; ++iteration) {
    const std::int64_t changed_here = step.assign(data, state);
    // Sums, counts and the number of changed labels, summed over ranks in one message.
    std::copy(state.sums.begin(), state.sums.end(), packed.begin());
    for (std::int64_t j = 0; j < k; ++j) packed[static_cast<std::size_t>(k * d + j)] = static_cast<double>(state.counts[static_cast<std::size_t>(j)]);
    packed.back() = static_cast<double>(changed_here);
    packed = over_ranks(group, packed);
    std::copy(packed.begin(), packed.begin() + k * d, state.sums.begin());
    for (std::int64_t j = 0; j < k; ++j) state.counts[static_cast<std::size_t>(j)] = static_cast<std::int64_t>(packed[static_cast<std::size_t>(k * d + j)]);
    std::int64_t changed = static_cast<std::int64_t>(packed.back());
    changed += relocate_empty(group, layout, data, state);
    const double squared_shift = km::update_centers(state, shifts);
    run.n_iter = iteration;
    if (stop.done(iteration, changed, squared_shift)) break;
  }
  const double local = km::assign_nearest(data, state.centers.data(), k, labels);
  run.inertia = over_ranks(group, {local})[0];
  return run;
}

void check_options(const cluster::KMeansOptions& o) {
  CAKE_CHECK(o.n_clusters >= 1 && o.n_init >= 1 && o.max_iter >= 1 && o.tol >= 0.0,
             "distributed k-means: n_clusters, n_init and max_iter must be at least 1 and tol non-negative");
  CAKE_CHECK(o.init == "k-means++" || o.init == "random", "distributed k-means: unknown init \"", o.init,
             "\" (expected \"k-means++\" or \"random\", or pass init_centers)");
}

}  // namespace

KMeansResult fit_kmeans(ProcessGroup& group, const Tensor& X_local, const cluster::KMeansOptions& options) {
  check_options(options);
  const Tensor X = detail::data_matrix(X_local, "distributed k-means", 1);
  const std::int64_t n = X.size(0), d = X.size(1), k = options.n_clusters;
  const Layout layout = shards::make_layout(group, n, d, "distributed k-means");
  CAKE_CHECK(k <= layout.n, "distributed k-means: n_clusters ", k, " exceeds the ", layout.n, " rows of all ranks");
  if (options.init_centers.defined())
    CAKE_CHECK(options.init_centers.dim() == 2 && options.init_centers.size(0) == k && options.init_centers.size(1) == d,
               "distributed k-means: init_centers must have shape [", k, ", ", d, "], got ", options.init_centers.sizes());
  if (!options.random_state) shards::check_generators_agree(group, "distributed k-means");
  detail::SeedScope seed(options.random_state);
  KMeansResult result;
  result.n_samples = layout.n;
  visit_floating(X.dtype(), "distributed k-means", [&]<class T>() {
    // Centring by the global column means (scikit-learn's, for the GEMM distances' precision).
    std::vector<double> mean = detail::column_means(X.data_ptr<T>(), n, d);
    for (double& m : mean) m *= static_cast<double>(n);
    mean = over_ranks(group, mean);
    for (double& m : mean) m /= static_cast<double>(layout.n);
    const Tensor centred = detail::subtract_row<T>(X, mean);
    const km::Dataset<T> data(centred.data_ptr<T>(), n, d);
    // The tolerance: tol x the mean feature variance of all rows (km::absolute_tolerance).
    std::vector<double> moments = detail::column_means(data.x, n, d);
    for (double& m : moments) m *= static_cast<double>(n);
    double sq = 0.0;
    for (std::int64_t i = 0; i < n; ++i) sq += static_cast<double>(data.sq_norms[static_cast<std::size_t>(i)]);
    moments.push_back(sq);
    moments = over_ranks(group, moments);
    double mean_sq = 0.0;
    for (std::int64_t j = 0; j < d; ++j) mean_sq += std::pow(moments[static_cast<std::size_t>(j)] / static_cast<double>(layout.n), 2);
    const double variance = (moments.back() / static_cast<double>(layout.n) - mean_sq) / static_cast<double>(d);
    const double tolerance = options.tol * std::max(variance, 0.0);

    const std::int64_t runs = options.init_centers.defined() ? 1 : options.n_init;
    Tensor best_labels = empty({n}, kInt64), labels = empty({n}, kInt64);
    std::vector<T> best_centers;
    Run best;
    for (std::int64_t r = 0; r < runs; ++r) {
      std::vector<T> start;
      if (options.init_centers.defined()) {
        const Tensor given = options.init_centers.detach().cpu().to(kFloat64).contiguous();
        const double* g = given.data_ptr<double>();
        start.resize(static_cast<std::size_t>(k * d));
        for (std::int64_t c = 0; c < k; ++c)
          for (std::int64_t j = 0; j < d; ++j)
            start[static_cast<std::size_t>(c * d + j)] = static_cast<T>(g[c * d + j] - mean[static_cast<std::size_t>(j)]);
      } else {
        start = options.init == "k-means++" ? seed_plus_plus(group, layout, data, k) : seed_random(group, layout, data, k);
      }
      km::Clustering<T> state(n, k, d, std::move(start));
      const Run run = run_once(group, layout, data, state, options, tolerance, labels.data_ptr<std::int64_t>());
      if (r == 0 || run.inertia < best.inertia) {  // the inertia is global: every rank picks the same run
        best = run;
        best_centers = state.centers;
        std::swap(best_labels, labels);
      }
    }
    CAKE_CHECK(std::isfinite(best.inertia), "distributed k-means: the inertia is ", best.inertia,
               ": squared distances overflowed; rescale the data");
    result.centers = empty({k, d}, X.dtype());
    T* c = result.centers.data_ptr<T>();
    for (std::int64_t i = 0; i < k; ++i)
      for (std::int64_t j = 0; j < d; ++j)
        c[i * d + j] = static_cast<T>(static_cast<double>(best_centers[static_cast<std::size_t>(i * d + j)]) +
                                      mean[static_cast<std::size_t>(j)]);
    result.labels = best_labels;
    result.inertia = best.inertia;
    result.n_iter = best.n_iter;
  });
  return result;
}

std::vector<std::int64_t> kmeans_plus_plus_rows(ProcessGroup& group, const Tensor& X_local, std::int64_t k) {
  const Tensor X = detail::data_matrix(X_local, "distributed k-means++", 1);
  const Layout layout = shards::make_layout(group, X.size(0), X.size(1), "distributed k-means++");
  CAKE_CHECK(k >= 1 && k <= layout.n, "distributed k-means++: k must be in [1, ", layout.n, "], got ", k);
  std::vector<std::int64_t> rows;
  visit_floating(X.dtype(), "distributed k-means++", [&]<class T>() {
    const km::Dataset<T> data(X.data_ptr<T>(), X.size(0), X.size(1));
    seed_plus_plus(group, layout, data, k, &rows);
  });
  return rows;
}

}  // namespace cake::distributed
