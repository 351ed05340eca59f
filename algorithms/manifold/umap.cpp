// umap.cpp: UMAP's steps (k-NN, local metrics, fuzzy union, the a/b curve fit, spectral start,
// SGD with negative sampling) and the estimator. See umap.h for the maths and the references.
#include "cake/algorithms/manifold/umap.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <sstream>

#include "cake/algorithms/decomposition/pca.h"
#include "cake/algorithms/detail/common.h"
#include "cake/algorithms/detail/lanczos.h"
#include "cake/algorithms/detail/splitmix.h"
#include "cake/tensor/linalg.h"

namespace cake::manifold {

namespace detail = algorithms::detail;
using neighbors::KnnResult;
using neighbors::SparseGraph;
using index_t = std::int64_t;

namespace umap {

// ---- step 2: local metrics ---------------------------------------------------------------------

SmoothKnn smooth_knn_dist(const KnnResult& knn, double local_connectivity, std::int64_t n_iter) {
  constexpr double kTolerance = 1e-5;      // umap-learn's SMOOTH_K_TOLERANCE
  constexpr double kMinDistScale = 1e-3;   // umap-learn's MIN_K_DIST_SCALE
  CAKE_CHECK(local_connectivity >= 0.0, "smooth_knn_dist: local_connectivity must be >= 0, got ", local_connectivity);
  const index_t n = knn.n, k = knn.k;
  const double target = std::log2(static_cast<double>(k));
  double mean_all = 0.0;
  for (const double v : knn.distances) mean_all += v;
  mean_all /= std::max<double>(1.0, static_cast<double>(knn.distances.size()));
  SmoothKnn out{std::vector<double>(static_cast<std::size_t>(n)), std::vector<double>(static_cast<std::size_t>(n))};
  parallel_for(0, n, detail::grain_for(n_iter * k), [&](index_t lo, index_t hi) {
    std::vector<double> non_zero;
    for (index_t i = lo; i < hi; ++i) {
      const double* dist = &knn.distances[static_cast<std::size_t>(i * k)];
      non_zero.clear();
      for (index_t t = 0; t < k; ++t)
        if (dist[t] > 0.0) non_zero.push_back(dist[t]);
      // rho_i: the distance to the local_connectivity-th nearest neighbour at distance > 0,
      // interpolated for a fractional value (paper, Definition 7 and section 3.1).
      double rho = 0.0;
      const auto index = static_cast<std::size_t>(std::floor(local_connectivity));
      const double interpolation = local_connectivity - static_cast<double>(index);
      if (static_cast<double>(non_zero.size()) >= local_connectivity) {
        if (index > 0) {
          rho = non_zero[index - 1];
          if (interpolation > kTolerance) rho += interpolation * (non_zero[index] - non_zero[index - 1]);
        } else if (interpolation > kTolerance) {  // (local_connectivity < 1; 0 leaves rho at 0)
          rho = interpolation * non_zero[0];
        }
      } else if (!non_zero.empty()) {
        rho = *std::max_element(non_zero.begin(), non_zero.end());
      }
      // sigma_i by bisection on sum_{t >= 1} exp(-max(0, d - rho) / sigma) = log2(k): the sum
      // grows with sigma, from (number of d <= rho) to k - 1.
      double lo_s = 0.0, hi_s = std::numeric_limits<double>::infinity(), mid = 1.0;
      for (index_t step = 0; step < n_iter; ++step) {
        double psum = 0.0;
        for (index_t t = 1; t < k; ++t) {
          const double dd = dist[t] - rho;
          psum += dd > 0.0 ? std::exp(-dd / mid) : 1.0;
        }
        if (std::abs(psum - target) < kTolerance) break;
        if (psum > target) {
          hi_s = mid;
          mid = (lo_s + hi_s) / 2.0;
        } else {
          lo_s = mid;
          mid = std::isinf(hi_s) ? mid * 2.0 : (lo_s + hi_s) / 2.0;
        }
      }
      // A floor keeps sigma away from 0 for points whose neighbours are all at one distance.
      double mean_row = 0.0;
      for (index_t t = 0; t < k; ++t) mean_row += dist[t] / static_cast<double>(k);
      const double floor = kMinDistScale * (rho > 0.0 ? mean_row : mean_all);
      out.sigma[static_cast<std::size_t>(i)] = std::max(mid, floor);
      out.rho[static_cast<std::size_t>(i)] = rho;
    }
  });
  return out;
}

// ---- step 3: the fuzzy simplicial set ----------------------------------------------------------

SparseGraph membership_strengths(const KnnResult& knn, const SmoothKnn& smooth) {
  const index_t n = knn.n, k = knn.k;
  std::vector<std::int64_t> rows, cols;
  std::vector<double> values;
  rows.reserve(static_cast<std::size_t>(n * k));
  cols.reserve(static_cast<std::size_t>(n * k));
  values.reserve(static_cast<std::size_t>(n * k));
  for (index_t i = 0; i < n; ++i) {
    const double rho = smooth.rho[static_cast<std::size_t>(i)], sigma = smooth.sigma[static_cast<std::size_t>(i)];
    for (index_t t = 0; t < k; ++t) {
      const index_t j = knn.indices[static_cast<std::size_t>(i * k + t)];
      if (j == i || j < 0) continue;
      const double d = knn.distances[static_cast<std::size_t>(i * k + t)];
      rows.push_back(i);
      cols.push_back(j);
      values.push_back(d - rho <= 0.0 || sigma == 0.0 ? 1.0 : std::exp(-(d - rho) / sigma));
    }
  }
  return SparseGraph::from_triplets(n, rows, cols, values);
}

SparseGraph fuzzy_union(const SparseGraph& w, double set_op_mix_ratio) {
  CAKE_CHECK(set_op_mix_ratio >= 0.0 && set_op_mix_ratio <= 1.0, "fuzzy_union: set_op_mix_ratio must be in [0, 1], got ",
             set_op_mix_ratio);
  const index_t n = w.n;
  // Every entry w_ij lands in row i as the forward weight and in row j as the backward one;
  // merging a row's equal columns gives (w_ij, w_ji) for each pair.
  struct Entry {
    index_t column;
    double forward, backward;
  };
  std::vector<index_t> start(static_cast<std::size_t>(n + 1), 0);
  for (index_t i = 0; i < n; ++i)
    for (index_t e = w.indptr[i]; e < w.indptr[i + 1]; ++e) {
      ++start[static_cast<std::size_t>(i + 1)];
      ++start[static_cast<std::size_t>(w.indices[e] + 1)];
    }
  std::partial_sum(start.begin(), start.end(), start.begin());
  std::vector<Entry> entries(static_cast<std::size_t>(start.back()));
  std::vector<index_t> fill(start.begin(), start.end() - 1);
  for (index_t i = 0; i < n; ++i)
    for (index_t e = w.indptr[i]; e < w.indptr[i + 1]; ++e) {
      const index_t j = w.indices[e];
      entries[static_cast<std::size_t>(fill[static_cast<std::size_t>(i)]++)] = {j, w.values[e], 0.0};
      entries[static_cast<std::size_t>(fill[static_cast<std::size_t>(j)]++)] = {i, 0.0, w.values[e]};
    }
  SparseGraph out;
  out.n = n;
  out.indptr.assign(1, 0);
  for (index_t i = 0; i < n; ++i) {
    auto first = entries.begin() + start[static_cast<std::size_t>(i)];
    auto last = entries.begin() + start[static_cast<std::size_t>(i + 1)];
    std::sort(first, last, [](const Entry& a, const Entry& b) { return a.column < b.column; });
    for (auto it = first; it != last;) {
      const index_t column = it->column;
      double f = 0.0, b = 0.0;
      for (; it != last && it->column == column; ++it) f += it->forward, b += it->backward;
      const double product = f * b;
      const double value = set_op_mix_ratio * (f + b - product) + (1.0 - set_op_mix_ratio) * product;
      if (value != 0.0) {
        out.indices.push_back(column);
        out.values.push_back(value);
      }
    }
    out.indptr.push_back(static_cast<index_t>(out.indices.size()));
  }
  return out;
}

SparseGraph fuzzy_simplicial_set(const KnnResult& knn, double local_connectivity, double set_op_mix_ratio) {
  return fuzzy_union(membership_strengths(knn, smooth_knn_dist(knn, local_connectivity)), set_op_mix_ratio);
}

// ---- step 4: the a, b curve ----------------------------------------------------------------------

std::pair<double, double> find_ab_params(double spread, double min_dist) {
  CAKE_CHECK(spread > 0.0, "find_ab_params: spread must be positive, got ", spread);
  CAKE_CHECK(min_dist >= 0.0 && min_dist <= spread, "find_ab_params: min_dist must be in [0, spread = ", spread,
             "], got ", min_dist);
  constexpr int kPoints = 300;
  std::vector<double> x(kPoints), y(kPoints);
  for (int t = 0; t < kPoints; ++t) {
    x[t] = 3.0 * spread * t / (kPoints - 1);  // numpy.linspace(0, 3 spread, 300)
    y[t] = x[t] < min_dist ? 1.0 : std::exp(-(x[t] - min_dist) / spread);
  }
  // Residuals and the Jacobian of f(x) = 1 / (1 + a x^2b):
  //   df/da = -x^2b f^2,   df/db = -2 a x^2b ln(x) f^2   (0 at x = 0).
  auto residual_norm = [&](double a, double b) {
    double s = 0.0;
    for (int t = 0; t < kPoints; ++t) {
      const double r = 1.0 / (1.0 + a * std::pow(x[t], 2.0 * b)) - y[t];
      s += r * r;
    }
    return s;
  };
  double a = 1.0, b = 1.0, lambda = 1e-3, cost = residual_norm(a, b);
  for (int iteration = 0; iteration < 500; ++iteration) {
    double jaa = 0.0, jab = 0.0, jbb = 0.0, ga = 0.0, gb = 0.0;
    for (int t = 0; t < kPoints; ++t) {
      const double u = x[t] > 0.0 ? std::pow(x[t], 2.0 * b) : 0.0;
      const double f = 1.0 / (1.0 + a * u);
      const double r = f - y[t];
      const double da = -u * f * f;
      const double db = x[t] > 0.0 ? -2.0 * a * u * std::log(x[t]) * f * f : 0.0;
      jaa += da * da, jab += da * db, jbb += db * db;
      ga += da * r, gb += db * r;
    }
    // Levenberg-Marquardt (Marquardt 1963): (J^T J + lambda diag(J^T J)) delta = -J^T r; a
    // step that lowers the cost is taken and lambda shrinks, otherwise lambda grows.
    bool improved = false;
    for (int attempt = 0; attempt < 50 && !improved; ++attempt) {
      const double m11 = jaa * (1.0 + lambda), m22 = jbb * (1.0 + lambda), m12 = jab;
      const double det = m11 * m22 - m12 * m12;
      if (!(std::abs(det) > 0.0)) break;
      const double step_a = -(m22 * ga - m12 * gb) / det, step_b = -(m11 * gb - m12 * ga) / det;
      const double new_cost = residual_norm(a + step_a, b + step_b);
      if (std::isfinite(new_cost) && new_cost <= cost) {
        const double change = cost - new_cost;
        a += step_a, b += step_b;
        cost = new_cost;
        lambda = std::max(lambda / 10.0, 1e-12);
        improved = true;
        if (change <= 1e-15 * std::max(cost, 1e-30) && std::abs(step_a) + std::abs(step_b) < 1e-12) return {a, b};
      } else {
        lambda *= 10.0;
      }
    }
    if (!improved) break;
    if (std::abs(ga) + std::abs(gb) < 1e-14) break;
  }
  return {a, b};
}

// ---- step 5: the spectral start -----------------------------------------------------------------

std::vector<double> spectral_layout(const SparseGraph& graph, std::int64_t dim, std::uint64_t seed, std::string& why) {
  const index_t n = graph.n;
  if (n < dim + 2) {
    why = "too few points (" + std::to_string(n) + ") for " + std::to_string(dim) + " eigenvectors";
    return {};
  }
  const auto [n_components, component] = neighbors::connected_components(graph);
  if (n_components > 1) {
    why = "the graph has " + std::to_string(n_components) + " connected components";
    return {};
  }
  std::vector<double> degree(static_cast<std::size_t>(n), 0.0), s(static_cast<std::size_t>(n)),
      z(static_cast<std::size_t>(n));
  double total = 0.0;
  for (index_t i = 0; i < n; ++i) {
    for (index_t e = graph.indptr[i]; e < graph.indptr[i + 1]; ++e)
      if (graph.indices[e] != i) degree[i] += graph.values[e];
    total += degree[i];
  }
  for (index_t i = 0; i < n; ++i) {
    s[i] = degree[i] > 0.0 ? 1.0 / std::sqrt(degree[i]) : 0.0;
    z[i] = std::sqrt(degree[i] / total);  // D^1/2 1, M's eigenvector of eigenvalue 1
  }
  // M = D^-1/2 W D^-1/2 = I - L: L's smallest eigenvalues are M's largest. One thread below a
  // million edges, where a parallel region per product costs more than it saves.
  const index_t grain = graph.nnz() < (index_t{1} << 20) ? std::max<index_t>(n, 1) : 1024;
  const auto apply = [&](const double* x, double* y) {
    parallel_for(0, n, grain, [&](index_t lo, index_t hi) {
      for (index_t i = lo; i < hi; ++i) {
        double sum = 0.0;
        for (index_t e = graph.indptr[i]; e < graph.indptr[i + 1]; ++e)
          if (graph.indices[e] != i) sum += graph.values[e] * s[graph.indices[e]] * x[graph.indices[e]];
        y[i] = s[i] * sum;
      }
    });
  };
  const detail::LanczosResult r = detail::lanczos_largest(
      n, apply, {.n_eigenpairs = dim, .tol = 1e-6, .max_restarts = 300, .random_state = seed}, z, 1);
  double worst = 0.0;
  for (const double v : r.residuals) worst = std::max(worst, std::isfinite(v) ? v : std::numeric_limits<double>::infinity());
  // Not converged to 1e-6 is still a fine start; far from converged (or NaN) is not.
  if (static_cast<index_t>(r.vectors.size()) != n * dim || worst > 1e-2) {
    std::ostringstream text;
    text << "the eigensolver did not converge (residual " << worst << " after " << r.n_restarts << " restarts)";
    why = text.str();
    return {};
  }
  return r.vectors;
}

namespace {

// Where each component goes (umap-learn's component_layout, with one change): the components'
// centroids in the data, a Gaussian affinity between them, and the eigenvectors 2 .. dim + 1 of
// its normalised form, scaled to a largest coordinate of 1. The Gaussian's bandwidth is the mean
// squared distance between centroids (umap-learn's is 1, under which far-apart centroids have
// affinity 0 and the meta-layout is arbitrary).
std::vector<double> component_positions(const Tensor& x, const std::vector<std::int64_t>& component, index_t c,
                                        index_t dim) {
  const index_t n = x.size(0), d = x.size(1);
  std::vector<double> centroid(static_cast<std::size_t>(c * d), 0.0), count(static_cast<std::size_t>(c), 0.0);
  visit_floating(x.dtype(), "UMAP.fit", [&]<class T>() {
    const T* px = x.data_ptr<T>();
    for (index_t i = 0; i < n; ++i) {
      count[component[i]] += 1.0;
      for (index_t j = 0; j < d; ++j) centroid[component[i] * d + j] += static_cast<double>(px[i * d + j]);
    }
  });
  for (index_t l = 0; l < c; ++l)
    for (index_t j = 0; j < d; ++j) centroid[l * d + j] /= count[l];
  std::vector<double> d2(static_cast<std::size_t>(c * c));
  double mean = 0.0;
  for (index_t a = 0; a < c; ++a)
    for (index_t b = 0; b < c; ++b) {
      d2[a * c + b] = detail::squared_distance(&centroid[a * d], &centroid[b * d], d);
      mean += d2[a * c + b] / static_cast<double>(c * (c - 1));
    }
  Tensor m = empty({c, c}, kFloat64);
  double* pm = m.data_ptr<double>();
  std::vector<double> degree(static_cast<std::size_t>(c), 0.0);
  for (index_t a = 0; a < c; ++a)
    for (index_t b = 0; b < c; ++b) degree[a] += pm[a * c + b] = std::exp(-d2[a * c + b] / std::max(mean, 1e-300));
  for (index_t a = 0; a < c; ++a)
    for (index_t b = 0; b < c; ++b) pm[a * c + b] /= std::sqrt(degree[a] * degree[b]);
  const linalg::EighResult eig = linalg::eigh(m);  // ascending: the last is the trivial one
  const double* v = eig.eigenvectors.data_ptr<double>();
  std::vector<double> out(static_cast<std::size_t>(c * dim));
  double largest = 0.0;
  for (index_t l = 0; l < c; ++l)
    for (index_t k = 0; k < dim; ++k) largest = std::max(largest, std::abs(out[l * dim + k] = v[l * c + (c - 2 - k)]));
  for (double& value : out) value /= largest > 0.0 ? largest : 1.0;
  return out;
}

}  // namespace

std::vector<double> multi_component_layout(const SparseGraph& graph, const Tensor& x, std::int64_t dim,
                                           std::uint64_t seed, std::string& why) {
  constexpr index_t kMaxComponents = 2000;  // the meta-layout is a dense eigenproblem of this order
  const index_t n = graph.n;
  const auto [c, component] = neighbors::connected_components(graph);
  if (c == 1) return spectral_layout(graph, dim, seed, why);
  if (c > kMaxComponents) {
    why = "the graph has " + std::to_string(c) + " connected components (more than " + std::to_string(kMaxComponents) +
          " to lay out one by one)";
    return {};
  }
  // Component centres: spectral positions of the centroids when there are many, otherwise the
  // vertices +-e_l of a cross-polytope, which keep every pair of components equally far apart.
  std::vector<double> meta(static_cast<std::size_t>(c * dim), 0.0);
  if (c > 2 * dim) {
    meta = component_positions(x, component, c, dim);
  } else {
    const index_t half = (c + 1) / 2;
    for (index_t l = 0; l < c; ++l) meta[l * dim + (l % half)] = l < half ? 1.0 : -1.0;
  }
  std::vector<double> y(static_cast<std::size_t>(n * dim));
  std::vector<std::vector<index_t>> members(static_cast<std::size_t>(c));
  for (index_t i = 0; i < n; ++i) members[component[i]].push_back(i);
  std::vector<index_t> local(static_cast<std::size_t>(n), -1);
  detail::SplitMix64 rng(seed, 0xc0);
  index_t laid_out = 0;
  for (index_t l = 0; l < c; ++l) {
    // Half the distance to the nearest other centre: the component's own layout fits in it.
    double nearest = std::numeric_limits<double>::infinity();
    for (index_t other = 0; other < c; ++other) {
      const double dist = std::sqrt(detail::squared_distance(&meta[l * dim], &meta[other * dim], dim));
      if (other != l && dist > 0.0) nearest = std::min(nearest, dist);
    }
    const double range = std::isfinite(nearest) ? nearest / 2.0 : 1.0;
    const std::vector<index_t>& rows = members[l];
    const index_t m = static_cast<index_t>(rows.size());
    std::vector<double> own;
    if (m >= 2 * dim && m > dim + 1) {
      std::vector<std::int64_t> r, col;
      std::vector<double> val;
      for (index_t t = 0; t < m; ++t) local[rows[t]] = t;
      for (index_t t = 0; t < m; ++t)
        for (index_t e = graph.indptr[rows[t]]; e < graph.indptr[rows[t] + 1]; ++e)
          r.push_back(t), col.push_back(local[graph.indices[e]]), val.push_back(graph.values[e]);
      std::string ignored;
      own = spectral_layout(SparseGraph::from_triplets(m, r, col, val), dim, seed + static_cast<std::uint64_t>(l), ignored);
    }
    if (own.empty()) {  // too small for eigenvectors (or the solver failed): uniform in the box
      own.resize(static_cast<std::size_t>(m * dim));
      for (double& value : own) value = 2.0 * rng.uniform() - 1.0;
    } else {
      ++laid_out;
    }
    double largest = 0.0;
    for (const double value : own) largest = std::max(largest, std::abs(value));
    const double expansion = largest > 0.0 ? range / largest : 1.0;
    for (index_t t = 0; t < m; ++t)
      for (index_t k = 0; k < dim; ++k) y[rows[t] * dim + k] = own[t * dim + k] * expansion + meta[l * dim + k];
  }
  why = std::to_string(c) + " connected components laid out one by one (" + std::to_string(laid_out) +
        " spectrally, the rest at random around their centre)";
  return y;
}

// ---- step 6: the layout ------------------------------------------------------------------------

SparseGraph prune_light_edges(const SparseGraph& graph, std::int64_t n_epochs) {
  CAKE_CHECK(n_epochs >= 1, "prune_light_edges: n_epochs must be at least 1, got ", n_epochs);
  SparseGraph kept;
  kept.n = graph.n;
  kept.indptr.assign(1, 0);
  const double cut = graph.nnz() == 0 ? 0.0
                                       : *std::max_element(graph.values.begin(), graph.values.end()) /
                                             static_cast<double>(n_epochs);
  for (index_t i = 0; i < graph.n; ++i) {
    for (index_t e = graph.indptr[i]; e < graph.indptr[i + 1]; ++e)
      if (graph.values[e] >= cut) {
        kept.indices.push_back(graph.indices[e]);
        kept.values.push_back(graph.values[e]);
      }
    kept.indptr.push_back(kept.nnz());
  }
  return kept;
}

std::vector<double> make_epochs_per_sample(const std::vector<double>& weights, std::int64_t n_epochs) {
  std::vector<double> result(weights.size(), -1.0);
  if (weights.empty()) return result;
  const double max_w = *std::max_element(weights.begin(), weights.end());
  for (std::size_t e = 0; e < weights.size(); ++e) {
    const double n_samples = static_cast<double>(n_epochs) * (weights[e] / max_w);
    if (n_samples > 0.0) result[e] = static_cast<double>(n_epochs) / n_samples;
  }
  return result;
}

namespace {
inline double clip(double v) { return std::clamp(v, -4.0, 4.0); }
}  // namespace

namespace {

// Step 6's SGD on the edges (head[e], tail[e]) of weights `weight`: the head rows live in
// `head_y`, the tail rows and the negative samples in `tail_y` (n_tail rows of dim). With
// `moving_tail` (fit: head_y, tail_y and moving_tail are one layout) an edge pulls both ends;
// with nullptr the tail rows stay put (transform: new points placed in a fixed layout,
// umap-learn's move_other=False).
void sgd_on_edges(double* head_y, const double* tail_y, double* moving_tail, index_t n_tail, index_t dim,
                  const std::vector<index_t>& head, const std::vector<index_t>& tail, const std::vector<double>& weight,
                  const LayoutOptions& o) {
  const std::vector<double> epochs_per_sample = make_epochs_per_sample(weight, o.n_epochs);
  const std::size_t n_edges = epochs_per_sample.size();
  std::vector<double> epochs_per_negative(n_edges), next_sample(epochs_per_sample), next_negative(n_edges);
  for (std::size_t e = 0; e < n_edges; ++e) {
    epochs_per_negative[e] = epochs_per_sample[e] / static_cast<double>(o.negative_sample_rate);
    next_negative[e] = epochs_per_negative[e];
  }
  detail::SplitMix64 rng(o.seed, 0x5eed);
  const double a = o.a, b = o.b;
  for (index_t epoch = 0; epoch < o.n_epochs; ++epoch) {
    const double alpha = o.initial_alpha * (1.0 - static_cast<double>(epoch) / static_cast<double>(o.n_epochs));
    const double now = static_cast<double>(epoch);
    for (std::size_t e = 0; e < n_edges; ++e) {
      if (epochs_per_sample[e] <= 0.0 || next_sample[e] > now) continue;
      const index_t j = head[e], k = tail[e];
      double* current = &head_y[static_cast<std::size_t>(j * dim)];
      const double* other = &tail_y[static_cast<std::size_t>(k * dim)];
      // Attraction along the edge: d/dy_i of -w log v_ij.
      double dist_sq = 0.0;
      for (index_t c = 0; c < dim; ++c) dist_sq += (current[c] - other[c]) * (current[c] - other[c]);
      double coeff = 0.0;
      if (dist_sq > 0.0) {
        const double pow_b = std::pow(dist_sq, b);
        coeff = -2.0 * a * b * pow_b / dist_sq / (a * pow_b + 1.0);  // dist_sq^(b - 1) = pow_b / dist_sq
      }
      for (index_t c = 0; c < dim; ++c) {
        const double g = clip(coeff * (current[c] - other[c]));
        current[c] += g * alpha;
        if (moving_tail) moving_tail[k * dim + c] -= g * alpha;
      }
      next_sample[e] += epochs_per_sample[e];
      // Repulsion from random points: d/dy_i of -(1 - v_ik) log(1 - v_ik), as if w_ik = 0.
      const auto n_negative = static_cast<index_t>((now - next_negative[e]) / epochs_per_negative[e]);
      for (index_t p = 0; p < n_negative; ++p) {
        const auto kk = static_cast<index_t>(rng.below(static_cast<std::uint64_t>(n_tail)));
        const double* neg = &tail_y[static_cast<std::size_t>(kk * dim)];
        double d2 = 0.0;
        for (index_t c = 0; c < dim; ++c) d2 += (current[c] - neg[c]) * (current[c] - neg[c]);
        if (d2 <= 0.0) continue;  // itself, or a point at the same place: no direction to push
        const double rep = 2.0 * o.gamma * b / ((0.001 + d2) * (a * std::pow(d2, b) + 1.0));
        for (index_t c = 0; c < dim; ++c) current[c] += clip(rep * (current[c] - neg[c])) * alpha;
      }
      next_negative[e] += static_cast<double>(n_negative) * epochs_per_negative[e];
    }
    if (o.on_epoch) o.on_epoch(epoch + 1, o.n_epochs);
  }
}

}  // namespace

void optimize_layout(std::vector<double>& y, std::int64_t dim, const SparseGraph& graph, const LayoutOptions& o) {
  const index_t n = graph.n;
  CAKE_CHECK(static_cast<index_t>(y.size()) == n * dim, "optimize_layout: the layout has ", y.size(),
             " values, expected ", n, " x ", dim);
  CAKE_CHECK(o.n_epochs >= 1, "optimize_layout: n_epochs must be at least 1, got ", o.n_epochs);
  if (graph.nnz() == 0) return;
  // Edges as (head, tail) in CSR order; those lighter than max w / n_epochs would be sampled
  // less than once and are dropped (umap-learn).
  std::vector<index_t> head, tail;
  std::vector<double> weight;
  const double max_w = *std::max_element(graph.values.begin(), graph.values.end());
  for (index_t i = 0; i < n; ++i)
    for (index_t e = graph.indptr[i]; e < graph.indptr[i + 1]; ++e)
      if (graph.values[e] >= max_w / static_cast<double>(o.n_epochs)) {
        head.push_back(i);
        tail.push_back(graph.indices[e]);
        weight.push_back(graph.values[e]);
      }
  sgd_on_edges(y.data(), y.data(), /*moving_tail=*/y.data(), n, dim, head, tail, weight, o);
}

std::vector<double> transform_memberships(const KnnResult& to_reference, double local_connectivity) {
  // A new point is not among its own neighbours, so one fewer neighbour is assumed connected
  // (umap-learn's transform: local_connectivity - 1, at least 0, which leaves rho at 0).
  const SmoothKnn smooth = smooth_knn_dist(to_reference, std::max(0.0, local_connectivity - 1.0));
  const index_t m = to_reference.n, k = to_reference.k;
  std::vector<double> weights(static_cast<std::size_t>(m * k));
  for (index_t i = 0; i < m; ++i)
    for (index_t t = 0; t < k; ++t) {
      const double excess = to_reference.distances[static_cast<std::size_t>(i * k + t)] - smooth.rho[i];
      weights[static_cast<std::size_t>(i * k + t)] = excess <= 0.0 || smooth.sigma[i] == 0.0 ? 1.0 : std::exp(-excess / smooth.sigma[i]);
    }
  return weights;
}

void optimize_layout_toward(std::vector<double>& y_new, const std::vector<double>& y_reference, std::int64_t dim,
                            const KnnResult& to_reference, const std::vector<double>& weights, const LayoutOptions& o) {
  const index_t m = to_reference.n, k = to_reference.k, n = static_cast<index_t>(y_reference.size()) / std::max<index_t>(dim, 1);
  CAKE_CHECK(static_cast<index_t>(y_new.size()) == m * dim, "optimize_layout_toward: the new layout has ", y_new.size(),
             " values, expected ", m, " x ", dim);
  CAKE_CHECK(weights.size() == to_reference.indices.size(), "optimize_layout_toward: ", weights.size(),
             " weights for ", to_reference.indices.size(), " neighbours");
  CAKE_CHECK(o.n_epochs >= 1, "optimize_layout_toward: n_epochs must be at least 1, got ", o.n_epochs);
  if (weights.empty()) return;
  std::vector<index_t> head, tail;
  std::vector<double> weight;
  const double max_w = *std::max_element(weights.begin(), weights.end());
  for (index_t i = 0; i < m; ++i)
    for (index_t t = 0; t < k; ++t)
      if (weights[static_cast<std::size_t>(i * k + t)] >= max_w / static_cast<double>(o.n_epochs)) {
        head.push_back(i);
        tail.push_back(to_reference.indices[static_cast<std::size_t>(i * k + t)]);
        weight.push_back(weights[static_cast<std::size_t>(i * k + t)]);
      }
  sgd_on_edges(y_new.data(), y_reference.data(), /*moving_tail=*/nullptr, n, dim, head, tail, weight, o);
}

double cross_entropy(const std::vector<double>& y, std::int64_t dim, const SparseGraph& graph, double a, double b) {
  constexpr double kEps = 1e-12;
  const index_t n = graph.n;
  double total = 0.0;
  std::vector<double> row(static_cast<std::size_t>(n));
  for (index_t i = 0; i < n; ++i) {
    std::fill(row.begin(), row.end(), 0.0);
    for (index_t e = graph.indptr[i]; e < graph.indptr[i + 1]; ++e) row[graph.indices[e]] = graph.values[e];
    for (index_t j = 0; j < n; ++j) {
      if (j == i) continue;
      const double d2 = detail::squared_distance(&y[i * dim], &y[j * dim], dim);
      const double v = std::clamp(1.0 / (1.0 + a * std::pow(d2, b)), kEps, 1.0 - kEps);
      const double w = row[j];
      if (w > 0.0) total += w * std::log(w / v);
      if (w < 1.0) total += (1.0 - w) * std::log((1.0 - w) / (1.0 - v));
    }
  }
  return total;
}

}  // namespace umap

// ---- the estimator -------------------------------------------------------------------------------

namespace {

void check_options(const UMAPOptions& o) {
  CAKE_CHECK(o.n_neighbors >= 2, "UMAP: n_neighbors must be at least 2, got ", o.n_neighbors);
  CAKE_CHECK(o.n_components >= 1, "UMAP: n_components must be at least 1, got ", o.n_components);
  CAKE_CHECK(o.metric == "euclidean" || o.metric == "cosine", "UMAP: unknown metric \"", o.metric,
             "\" (expected \"euclidean\" or \"cosine\")");
  CAKE_CHECK(o.n_epochs >= 0, "UMAP: n_epochs must be >= 0 (0: automatic), got ", o.n_epochs);
  CAKE_CHECK(o.learning_rate > 0.0, "UMAP: learning_rate must be positive, got ", o.learning_rate);
  CAKE_CHECK(o.init == "spectral" || o.init == "random" || o.init == "pca", "UMAP: unknown init \"", o.init,
             "\" (expected \"spectral\", \"random\" or \"pca\")");
  CAKE_CHECK(o.spread > 0.0, "UMAP: spread must be positive, got ", o.spread);
  CAKE_CHECK(o.min_dist >= 0.0 && o.min_dist <= o.spread, "UMAP: min_dist must be in [0, spread = ", o.spread,
             "], got ", o.min_dist);
  CAKE_CHECK(o.set_op_mix_ratio >= 0.0 && o.set_op_mix_ratio <= 1.0, "UMAP: set_op_mix_ratio must be in [0, 1], got ",
             o.set_op_mix_ratio);
  CAKE_CHECK(o.local_connectivity >= 0.0, "UMAP: local_connectivity must be >= 0, got ", o.local_connectivity);
  CAKE_CHECK(o.repulsion_strength >= 0.0, "UMAP: repulsion_strength must be >= 0, got ", o.repulsion_strength);
  CAKE_CHECK(o.negative_sample_rate >= 1, "UMAP: negative_sample_rate must be at least 1, got ", o.negative_sample_rate);
  CAKE_CHECK(o.a >= 0.0 && o.b >= 0.0 && (o.a > 0.0) == (o.b > 0.0),
             "UMAP: give both a and b (positive) or neither, got a = ", o.a, ", b = ", o.b);
  CAKE_CHECK(o.nn_method == "auto" || o.nn_method == "exact" || o.nn_method == "nn_descent", "UMAP: unknown nn_method \"",
             o.nn_method, "\" (expected \"auto\", \"exact\" or \"nn_descent\")");
  CAKE_CHECK(o.exact_max_samples >= 0, "UMAP: exact_max_samples must be >= 0, got ", o.exact_max_samples);
}

// umap-learn's noisy_scale_coords: scale so that the largest |coordinate| is 10, add N(0, 1e-4^2).
void scale_with_noise(std::vector<double>& y) {
  double largest = 0.0;
  for (const double v : y) largest = std::max(largest, std::abs(v));
  const double expansion = largest > 0.0 ? 10.0 / largest : 1.0;
  const std::vector<double> noise = detail::normal_draws(static_cast<std::int64_t>(y.size()));
  for (std::size_t i = 0; i < y.size(); ++i) y[i] = y[i] * expansion + 1e-4 * noise[i];
}

// Every start is mapped to [0, 10] per dimension before the SGD (umap-learn 0.5).
void rescale_to_box(std::vector<double>& y, index_t n, index_t dim) {
  for (index_t c = 0; c < dim; ++c) {
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (index_t i = 0; i < n; ++i) lo = std::min(lo, y[i * dim + c]), hi = std::max(hi, y[i * dim + c]);
    const double range = hi - lo;
    for (index_t i = 0; i < n; ++i) y[i * dim + c] = range > 0.0 ? 10.0 * (y[i * dim + c] - lo) / range : 5.0;
  }
}

}  // namespace

UMAP::UMAP(UMAPOptions options) : options_(std::move(options)) { check_options(options_); }

UMAP& UMAP::fit(const Tensor& X_in) {
  const UMAPOptions& o = options_;
  const Tensor X = detail::data_matrix(X_in, "UMAP.fit", 2);
  const index_t n = X.size(0), dim = o.n_components;
  CAKE_CHECK(o.n_neighbors <= n, "UMAP.fit: n_neighbors (", o.n_neighbors, ", the point itself included) must be at most ",
             "the number of samples (", n, ")");
  auto say = [&](const std::string& text) {
    if (o.on_message) o.on_message("UMAP: " + text);
  };
  detail::SeedScope scope(o.random_state);
  const auto seeds = detail::integer_draws(0, std::numeric_limits<std::int64_t>::max(), 3);
  init_used_.clear();

  // Step 1: the k-NN graph.
  used_nn_descent_ = o.nn_method == "nn_descent" || (o.nn_method == "auto" && n > o.exact_max_samples);
  say(std::string(used_nn_descent_ ? "NN-descent" : "exact") + " k-NN (n_neighbors " + std::to_string(o.n_neighbors) +
      ", " + o.metric + ") of " + std::to_string(n) + " points");
  knn_ = used_nn_descent_
             ? neighbors::nn_descent(X, o.n_neighbors,
                                     {.metric = o.metric, .random_state = static_cast<std::uint64_t>(seeds[0])})
             : neighbors::exact_knn(X, o.n_neighbors, o.metric);

  // Steps 2-3: the fuzzy simplicial set.
  graph_ = umap::fuzzy_simplicial_set(knn_, o.local_connectivity, o.set_op_mix_ratio);
  say("fuzzy simplicial set with " + std::to_string(graph_.nnz()) + " edges");

  // Step 4: the curve.
  if (o.a > 0.0) {
    a_ = o.a, b_ = o.b;
  } else {
    std::tie(a_, b_) = umap::find_ab_params(o.spread, o.min_dist);
  }
  {
    std::ostringstream text;
    text << "a = " << a_ << ", b = " << b_ << " (min_dist " << o.min_dist << ", spread " << o.spread << ")";
    say(text.str());
  }

  // The graph the start and the SGD see: without the edges the SGD would sample less than once
  // (umap-learn cuts at max w / n_epochs, or at max w / its default epochs when n_epochs <= 10).
  const std::int64_t default_epochs = n <= 10000 ? 500 : 200;
  n_epochs_ = o.n_epochs > 0 ? o.n_epochs : default_epochs;
  const SparseGraph layout_graph = umap::prune_light_edges(graph_, n_epochs_ > 10 ? n_epochs_ : default_epochs);

  // Step 5: the start.
  std::vector<double> y;
  if (o.init_embedding.defined()) {
    CAKE_CHECK(o.init_embedding.sizes() == (Shape{n, dim}), "UMAP.fit: init_embedding must have shape [", n, ", ", dim,
               "], got ", o.init_embedding.sizes());
    const Tensor e = o.init_embedding.detach().cpu().to(kFloat64).contiguous();
    y.assign(e.data_ptr<double>(), e.data_ptr<double>() + n * dim);
    init_used_ = "given";
  } else if (o.init == "spectral") {
    std::string why;
    y = umap::multi_component_layout(layout_graph, X, dim, static_cast<std::uint64_t>(seeds[1]), why);
    if (y.empty()) {
      init_used_ = "random (" + why + ")";
    } else {
      scale_with_noise(y);
      init_used_ = why.empty() ? "spectral" : "spectral (" + why + ")";
    }
  } else if (o.init == "pca") {
    CAKE_CHECK(X.size(1) >= dim, "UMAP.fit: init=\"pca\" needs at least ", dim, " features for ", dim,
               " components, got shape ", X.sizes(), "; use init=\"spectral\" or \"random\"");
    const Tensor z = decomposition::PCA({.n_components = dim}).fit_transform(X).to(kFloat64).contiguous();
    y.assign(z.data_ptr<double>(), z.data_ptr<double>() + n * dim);
    scale_with_noise(y);
    init_used_ = "pca";
  }
  if (y.empty()) {
    if (init_used_.empty()) init_used_ = "random";
    const std::vector<double> u = detail::uniform_draws(n * dim);
    y.resize(u.size());
    for (std::size_t i = 0; i < u.size(); ++i) y[i] = 20.0 * u[i] - 10.0;
  }
  say("initial layout: " + init_used_);
  rescale_to_box(y, n, dim);

  // Step 6: the SGD.
  say("optimising the layout for " + std::to_string(n_epochs_) + " epochs");
  umap::optimize_layout(y, dim, layout_graph,
                        {.a = a_, .b = b_, .gamma = o.repulsion_strength, .initial_alpha = o.learning_rate,
                         .negative_sample_rate = o.negative_sample_rate, .n_epochs = n_epochs_,
                         .seed = static_cast<std::uint64_t>(seeds[2]), .on_epoch = o.on_epoch});
  CAKE_CHECK(std::all_of(y.begin(), y.end(), [](double v) { return std::isfinite(v); }),
             "UMAP.fit: the layout became non-finite (learning_rate ", o.learning_rate, " too large?)");
  Tensor out = empty({n, dim}, kFloat64);
  std::copy(y.begin(), y.end(), out.data_ptr<double>());
  embedding_ = X.dtype() == kFloat64 ? out : out.to(X.dtype());
  data_ = X;  // transform's reference points
  return *this;
}

Tensor UMAP::fit_transform(const Tensor& X) { return fit(X).embedding_; }

Tensor UMAP::transform(const Tensor& X_in) const {
  check_fitted("UMAP.transform");
  const UMAPOptions& o = options_;
  const Tensor X = detail::data_matrix(X_in, "UMAP.transform", 1);
  CAKE_CHECK(X.size(1) == data_.size(1), "UMAP.transform: X has shape ", X.sizes(), " but this UMAP was fitted on ",
             data_.size(1), " features (shape ", data_.sizes(), ")");
  const index_t m = X.size(0), n = data_.size(0), dim = o.n_components;
  detail::SeedScope scope(o.random_state);
  const auto seed = detail::integer_draws(0, std::numeric_limits<std::int64_t>::max(), 4)[3];  // fit takes 0-2

  // Each new point's neighbours among the fitted points and its fuzzy memberships to them.
  const KnnResult to_fitted = neighbors::exact_knn_query(X, data_, o.n_neighbors, o.metric);
  const std::vector<double> weights = umap::transform_memberships(to_fitted, o.local_connectivity);

  // The start: the membership-weighted mean of the neighbours' places (umap-learn's
  // init_graph_transform).
  const Tensor fitted = embedding_.to(kFloat64).contiguous();
  const std::vector<double> y_fitted(fitted.data_ptr<double>(), fitted.data_ptr<double>() + n * dim);
  const index_t k = to_fitted.k;
  std::vector<double> y(static_cast<std::size_t>(m * dim), 0.0);
  for (index_t i = 0; i < m; ++i) {
    double total = 0.0;
    for (index_t t = 0; t < k; ++t) total += weights[static_cast<std::size_t>(i * k + t)];
    for (index_t t = 0; t < k; ++t) {
      const double share = total > 0.0 ? weights[static_cast<std::size_t>(i * k + t)] / total : (t == 0 ? 1.0 : 0.0);
      const index_t j = to_fitted.indices[static_cast<std::size_t>(i * k + t)];
      for (index_t c = 0; c < dim; ++c) y[static_cast<std::size_t>(i * dim + c)] += share * y_fitted[static_cast<std::size_t>(j * dim + c)];
    }
  }

  // A short SGD with the fitted layout held still: a third of the epochs (100 up to 10,000 new
  // points, 30 above, by default) at a quarter of the learning rate, as umap-learn.
  const std::int64_t epochs = o.n_epochs > 0 ? std::max<std::int64_t>(1, o.n_epochs / 3) : (m <= 10000 ? 100 : 30);
  umap::optimize_layout_toward(y, y_fitted, dim, to_fitted, weights,
                               {.a = a_, .b = b_, .gamma = o.repulsion_strength, .initial_alpha = o.learning_rate / 4.0,
                                .negative_sample_rate = o.negative_sample_rate, .n_epochs = epochs,
                                .seed = static_cast<std::uint64_t>(seed)});
  CAKE_CHECK(std::all_of(y.begin(), y.end(), [](double v) { return std::isfinite(v); }),
             "UMAP.transform: the layout became non-finite (learning_rate ", o.learning_rate, " too large?)");
  Tensor out = empty({m, dim}, kFloat64);
  std::copy(y.begin(), y.end(), out.data_ptr<double>());
  return X.dtype() == kFloat64 ? out : out.to(X.dtype());
}

void UMAP::check_fitted(const char* who) const {
  CAKE_CHECK(embedding_.defined(), who, ": this UMAP is not fitted yet; call fit first");
}
const Tensor& UMAP::embedding() const {
  check_fitted("UMAP.embedding");
  return embedding_;
}
const SparseGraph& UMAP::graph() const {
  check_fitted("UMAP.graph");
  return graph_;
}
const KnnResult& UMAP::knn() const {
  check_fitted("UMAP.knn");
  return knn_;
}
double UMAP::a() const {
  check_fitted("UMAP.a");
  return a_;
}
double UMAP::b() const {
  check_fitted("UMAP.b");
  return b_;
}
std::int64_t UMAP::n_epochs() const {
  check_fitted("UMAP.n_epochs");
  return n_epochs_;
}
const std::string& UMAP::init_used() const {
  check_fitted("UMAP.init_used");
  return init_used_;
}
bool UMAP::used_nn_descent() const {
  check_fitted("UMAP.used_nn_descent");
  return used_nn_descent_;
}

}  // namespace cake::manifold
