// nn_descent.cpp: exact k-NN by blocked GEMM and approximate k-NN by NN-descent (Dong, Moses &
// Li 2011). See nn_descent.h for the method and its references.
#include "cake/algorithms/neighbors/nn_descent.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "cake/algorithms/detail/common.h"
#include "cake/algorithms/detail/splitmix.h"

namespace cake::neighbors {

namespace detail = algorithms::detail;
using index_t = std::int64_t;

namespace {

void check_metric(const std::string& metric, const char* who) {
  CAKE_CHECK(metric == "euclidean" || metric == "cosine", who, ": unknown metric \"", metric,
             "\" (expected \"euclidean\" or \"cosine\")");
}

// The rows as float32 [n, d], each scaled to unit length for cosine (then |u - v|^2 / 2 is
// 1 - cos(u, v), so both metrics search by squared Euclidean distance).
std::vector<float> prepared_rows(const Tensor& input, const std::string& metric, index_t k, const char* who) {
  const Tensor x = detail::data_matrix(input, who, std::max<index_t>(k, 1)).to(kFloat32).contiguous();
  const index_t n = x.size(0), d = x.size(1);
  std::vector<float> rows(x.data_ptr<float>(), x.data_ptr<float>() + n * d);
  if (metric == "cosine")
    for (index_t i = 0; i < n; ++i) {
      double s = 0.0;
      for (index_t j = 0; j < d; ++j) s += static_cast<double>(rows[i * d + j]) * rows[i * d + j];
      if (s > 0.0)
        for (index_t j = 0; j < d; ++j) rows[i * d + j] = static_cast<float>(rows[i * d + j] / std::sqrt(s));
    }
  return rows;
}

// The metric's distance from a squared Euclidean distance between prepared rows.
double metric_distance(double squared, const std::string& metric) {
  return metric == "cosine" ? 0.5 * squared : std::sqrt(std::max(squared, 0.0));
}

double squared_distance(const float* a, const float* b, index_t d) {
  double s = 0.0;
  for (index_t j = 0; j < d; ++j) {
    const double diff = static_cast<double>(a[j]) - static_cast<double>(b[j]);
    s += diff * diff;
  }
  return s;
}

// Row i's neighbours sorted nearest first, i itself first among equals (so it is entry 0).
void sort_row(index_t i, index_t k, index_t* index, double* dist) {
  std::vector<std::pair<double, index_t>> row(static_cast<std::size_t>(k));
  for (index_t t = 0; t < k; ++t) row[t] = {dist[t], index[t]};
  std::sort(row.begin(), row.end(), [i](const auto& a, const auto& b) {
    if (a.first != b.first) return a.first < b.first;
    if ((a.second == i) != (b.second == i)) return a.second == i;
    return a.second < b.second;
  });
  for (index_t t = 0; t < k; ++t) index[t] = row[t].second, dist[t] = row[t].first;
}

// The exact searches' selection: for rows lo..hi of a block of squared distances [hi - lo, n]
// (from for_each_distance_block), the columns of the k smallest, in no order, into
// indices[i * k ...]. With itself_first, row i's own column counts as -1, so a sample is its
// own first neighbour even where the GEMM form rounds its distance above 0.
void select_nearest(const float* block, index_t lo, index_t hi, index_t n, index_t k, bool itself_first,
                    index_t* indices) {
  std::vector<std::pair<float, index_t>> row(static_cast<std::size_t>(n));
  for (index_t i = lo; i < hi; ++i) {
    for (index_t j = 0; j < n; ++j) row[j] = {itself_first && j == i ? -1.0f : block[(i - lo) * n + j], j};
    std::nth_element(row.begin(), row.begin() + (k - 1), row.end());
    for (index_t t = 0; t < k; ++t) indices[i * k + t] = row[t].second;
  }
}

// ---- NN-descent's neighbour lists ---------------------------------------------------------------

// Per point, a max-heap of its k best candidates by squared distance (root = the worst kept),
// with the "new" flag of the incremental search. Stored flat, [n, k].
struct NeighborHeaps {
  index_t n, k;
  std::vector<index_t> index;
  std::vector<double> dist;
  std::vector<unsigned char> is_new;

  NeighborHeaps(index_t n_, index_t k_)
      : n(n_), k(k_), index(static_cast<std::size_t>(n_ * k_), -1),
        dist(static_cast<std::size_t>(n_ * k_), std::numeric_limits<double>::infinity()),
        is_new(static_cast<std::size_t>(n_ * k_), 0) {}

  double worst(index_t i) const { return dist[static_cast<std::size_t>(i * k)]; }

  // Offers j at squared distance d to i's list: kept when closer than the worst and not there
  // yet. Returns whether the list changed.
  bool push(index_t i, index_t j, double d) {
    index_t* idx = &index[static_cast<std::size_t>(i * k)];
    double* dst = &dist[static_cast<std::size_t>(i * k)];
    unsigned char* flag = &is_new[static_cast<std::size_t>(i * k)];
    if (!(d < dst[0])) return false;
    for (index_t t = 0; t < k; ++t)
      if (idx[t] == j) return false;
    // Replace the root and sift it down.
    index_t pos = 0;
    while (true) {
      const index_t left = 2 * pos + 1, right = left + 1;
      index_t swap = pos;
      double largest = d;
      if (left < k && dst[left] > largest) swap = left, largest = dst[left];
      if (right < k && dst[right] > largest) swap = right;
      if (swap == pos) break;
      idx[pos] = idx[swap], dst[pos] = dst[swap], flag[pos] = flag[swap];
      pos = swap;
    }
    idx[pos] = j, dst[pos] = d, flag[pos] = 1;
    return true;
  }
};

// Candidate lists of at most m entries per point, keeping the m of smallest random priority
// among those offered: a uniform sample without replacement (the sampling of Dong et al.,
// section 3.4).
struct CandidateLists {
  index_t m;
  std::vector<index_t> index;
  std::vector<double> priority;

  CandidateLists(index_t n, index_t m_)
      : m(m_), index(static_cast<std::size_t>(n * m_), -1),
        priority(static_cast<std::size_t>(n * m_), std::numeric_limits<double>::infinity()) {}

  void offer(index_t i, index_t j, double p) {
    index_t* idx = &index[static_cast<std::size_t>(i * m)];
    double* pr = &priority[static_cast<std::size_t>(i * m)];
    if (!(p < pr[0])) return;
    for (index_t t = 0; t < m; ++t)
      if (idx[t] == j) return;
    index_t pos = 0;
    while (true) {
      const index_t left = 2 * pos + 1, right = left + 1;
      index_t swap = pos;
      double largest = p;
      if (left < m && pr[left] > largest) swap = left, largest = pr[left];
      if (right < m && pr[right] > largest) swap = right;
      if (swap == pos) break;
      idx[pos] = idx[swap], pr[pos] = pr[swap];
      pos = swap;
    }
    idx[pos] = j, pr[pos] = p;
  }
  bool contains(index_t i, index_t j) const {
    const index_t* idx = &index[static_cast<std::size_t>(i * m)];
    for (index_t t = 0; t < m; ++t)
      if (idx[t] == j) return true;
    return false;
  }
  // The filled entries of i's list (unfilled ones hold -1).
  std::vector<index_t> members(index_t i) const {
    std::vector<index_t> out;
    for (index_t t = 0; t < m; ++t)
      if (index[static_cast<std::size_t>(i * m + t)] >= 0) out.push_back(index[static_cast<std::size_t>(i * m + t)]);
    return out;
  }
};

struct Update {
  index_t p, q;
  double d;
};

}  // namespace

KnnResult exact_knn(const Tensor& x, std::int64_t k, const std::string& metric) {
  check_metric(metric, "exact_knn");
  const Tensor checked = detail::data_matrix(x, "exact_knn", 1);
  const index_t n = checked.size(0), d = checked.size(1);
  CAKE_CHECK(k >= 1 && k <= n, "exact_knn: k (which counts each sample itself) must be in [1, ", n, "], got ", k);
  std::vector<float> rows = prepared_rows(checked, metric, k, "exact_knn");
  // Centre for the GEMM form's precision (|x|^2 - 2 x.y + |y|^2 cancels badly far from 0).
  if (metric == "euclidean") {
    const std::vector<double> mean = detail::column_means(rows.data(), n, d);
    for (index_t i = 0; i < n; ++i)
      for (index_t j = 0; j < d; ++j) rows[i * d + j] = static_cast<float>(rows[i * d + j] - mean[static_cast<std::size_t>(j)]);
  }
  std::vector<float> sq(static_cast<std::size_t>(n));
  detail::row_squared_norms(rows.data(), n, d, sq.data());
  KnnResult out{.n = n, .k = k, .indices = std::vector<index_t>(static_cast<std::size_t>(n * k)),
                .distances = std::vector<double>(static_cast<std::size_t>(n * k))};
  detail::for_each_distance_block(rows.data(), sq.data(), n, d, rows.data(), sq.data(), n,
                                  [&](int, index_t lo, index_t hi, const float* block) {
                                    select_nearest(block, lo, hi, n, k, /*itself_first=*/true, out.indices.data());
                                  });
  parallel_for(0, n, detail::grain_for(k * (d + 8)), [&](index_t lo, index_t hi) {
    for (index_t i = lo; i < hi; ++i) {
      for (index_t t = 0; t < k; ++t) {
        const index_t j = out.indices[i * k + t];
        out.distances[i * k + t] = j == i ? 0.0 : metric_distance(squared_distance(&rows[i * d], &rows[j * d], d), metric);
      }
      sort_row(i, k, &out.indices[i * k], &out.distances[i * k]);
    }
  });
  return out;
}

KnnResult exact_knn_query(const Tensor& queries, const Tensor& reference, std::int64_t k, const std::string& metric) {
  check_metric(metric, "exact_knn_query");
  const Tensor q = detail::data_matrix(queries, "exact_knn_query", 1);
  const Tensor r = detail::data_matrix(reference, "exact_knn_query", 1);
  CAKE_CHECK(q.size(1) == r.size(1), "exact_knn_query: the queries have shape ", q.sizes(), " and the reference ",
             r.sizes(), "; they need the same number of features");
  const index_t m = q.size(0), n = r.size(0), d = r.size(1);
  CAKE_CHECK(k >= 1 && k <= n, "exact_knn_query: k must be in [1, ", n, "] (the reference's rows), got ", k);
  std::vector<float> query_rows = prepared_rows(q, metric, 1, "exact_knn_query");
  std::vector<float> reference_rows = prepared_rows(r, metric, k, "exact_knn_query");
  // Both centred on the reference's mean, for the GEMM form's precision (as exact_knn).
  if (metric == "euclidean") {
    const std::vector<double> mean = detail::column_means(reference_rows.data(), n, d);
    for (std::vector<float>* rows : {&query_rows, &reference_rows})
      for (std::size_t t = 0; t < rows->size(); ++t)
        (*rows)[t] = static_cast<float>((*rows)[t] - mean[t % static_cast<std::size_t>(d)]);
  }
  std::vector<float> query_sq(static_cast<std::size_t>(m)), reference_sq(static_cast<std::size_t>(n));
  detail::row_squared_norms(query_rows.data(), m, d, query_sq.data());
  detail::row_squared_norms(reference_rows.data(), n, d, reference_sq.data());
  KnnResult out{.n = m, .k = k, .indices = std::vector<index_t>(static_cast<std::size_t>(m * k)),
                .distances = std::vector<double>(static_cast<std::size_t>(m * k))};
  detail::for_each_distance_block(query_rows.data(), query_sq.data(), m, d, reference_rows.data(), reference_sq.data(), n,
                                  [&](int, index_t lo, index_t hi, const float* block) {
                                    select_nearest(block, lo, hi, n, k, /*itself_first=*/false, out.indices.data());
                                  });
  // The chosen k recomputed directly, nearest first (ties by reference index).
  parallel_for(0, m, detail::grain_for(k * (d + 8)), [&](index_t lo, index_t hi) {
    std::vector<std::pair<double, index_t>> row(static_cast<std::size_t>(k));
    for (index_t i = lo; i < hi; ++i) {
      for (index_t t = 0; t < k; ++t) {
        const index_t j = out.indices[i * k + t];
        row[t] = {metric_distance(squared_distance(&query_rows[i * d], &reference_rows[j * d], d), metric), j};
      }
      std::sort(row.begin(), row.end());
      for (index_t t = 0; t < k; ++t) out.indices[i * k + t] = row[t].second, out.distances[i * k + t] = row[t].first;
    }
  });
  return out;
}

KnnResult nn_descent(const Tensor& x, std::int64_t k, const NNDescentOptions& options) {
  check_metric(options.metric, "nn_descent");
  const Tensor checked = detail::data_matrix(x, "nn_descent", 1);
  const index_t n = checked.size(0), d = checked.size(1);
  CAKE_CHECK(k >= 1 && k <= n, "nn_descent: k (which counts each sample itself) must be in [1, ", n, "], got ", k);
  CAKE_CHECK(options.max_candidates >= 0, "nn_descent: max_candidates must be >= 0, got ", options.max_candidates);
  CAKE_CHECK(options.n_iters >= 0, "nn_descent: n_iters must be >= 0, got ", options.n_iters);
  CAKE_CHECK(options.delta >= 0.0, "nn_descent: delta must be >= 0, got ", options.delta);
  const std::vector<float> rows = prepared_rows(checked, options.metric, k, "nn_descent");
  std::uint64_t seed = 0;
  {
    detail::SeedScope scope(options.random_state);
    seed = static_cast<std::uint64_t>(detail::integer_draws(0, std::numeric_limits<std::int64_t>::max(), 1)[0]);
  }
  const index_t max_candidates = options.max_candidates > 0 ? options.max_candidates : std::min<index_t>(60, k);
  const index_t n_iters = options.n_iters > 0
                              ? options.n_iters
                              : std::max<index_t>(5, static_cast<index_t>(std::lround(std::log2(static_cast<double>(n)))));
  auto sqdist = [&](index_t a, index_t b) { return squared_distance(&rows[a * d], &rows[b * d], d); };

  // Start: each point itself (distance 0, never "new": it joins nothing) and k - 1 random others.
  NeighborHeaps heaps(n, k);
  {
    detail::SplitMix64 rng(seed, 0);
    for (index_t i = 0; i < n; ++i) {
      heaps.push(i, i, 0.0);
      heaps.is_new[static_cast<std::size_t>(i * k)] = 0;
      for (index_t tries = 0; heaps.worst(i) == std::numeric_limits<double>::infinity() && tries < 4 * k; ++tries) {
        const index_t j = static_cast<index_t>(rng.below(static_cast<std::uint64_t>(n)));
        if (j != i) heaps.push(i, j, sqdist(i, j));
      }
      for (index_t j = 0; heaps.worst(i) == std::numeric_limits<double>::infinity() && j < n; ++j)
        if (j != i) heaps.push(i, j, sqdist(i, j));  // small n: fill in order
      // The self entry may have been flagged when pushed; it never needs a join.
      for (index_t t = 0; t < k; ++t)
        if (heaps.index[static_cast<std::size_t>(i * k + t)] == i) heaps.is_new[static_cast<std::size_t>(i * k + t)] = 0;
    }
  }

  constexpr index_t kBlock = 16384;  // points whose joins run against one frozen copy of the lists
  constexpr index_t kChunk = 256;    // points per task; fixed, so the result ignores the thread count
  for (index_t iteration = 0; iteration < n_iters; ++iteration) {
    // Candidates: sampled new and old neighbours, forward and reverse (Dong et al., Algorithm 2).
    CandidateLists fresh(n, max_candidates), old(n, max_candidates);
    detail::SplitMix64 rng(seed, static_cast<std::uint64_t>(iteration + 1));
    for (index_t i = 0; i < n; ++i)
      for (index_t t = 0; t < k; ++t) {
        const index_t j = heaps.index[static_cast<std::size_t>(i * k + t)];
        if (j < 0 || j == i) continue;
        const double priority = rng.uniform();
        CandidateLists& list = heaps.is_new[static_cast<std::size_t>(i * k + t)] ? fresh : old;
        list.offer(i, j, priority);
        list.offer(j, i, priority);
      }
    // Sampled new neighbours take part now and are old from here on.
    for (index_t i = 0; i < n; ++i)
      for (index_t t = 0; t < k; ++t) {
        const std::size_t e = static_cast<std::size_t>(i * k + t);
        if (heaps.is_new[e] && fresh.contains(i, heaps.index[e])) heaps.is_new[e] = 0;
      }

    index_t changes = 0;
    for (index_t block_lo = 0; block_lo < n; block_lo += kBlock) {
      const index_t block_hi = std::min(n, block_lo + kBlock);
      const index_t n_chunks = (block_hi - block_lo + kChunk - 1) / kChunk;
      std::vector<std::vector<Update>> updates(static_cast<std::size_t>(n_chunks));
      // Local joins: every new-new and new-old pair among a point's candidates; an update only
      // when it would enter one of the two lists as they stand (frozen during this phase).
      parallel_for(0, n_chunks, 1, [&](index_t c_lo, index_t c_hi) {
        for (index_t c = c_lo; c < c_hi; ++c) {
          std::vector<Update>& out = updates[static_cast<std::size_t>(c)];
          for (index_t v = block_lo + c * kChunk; v < std::min(block_hi, block_lo + (c + 1) * kChunk); ++v) {
            const std::vector<index_t> nv = fresh.members(v), ov = old.members(v);
            for (std::size_t a = 0; a < nv.size(); ++a) {
              const index_t p = nv[a];
              auto consider = [&](index_t q) {
                if (p == q) return;
                const double dpq = sqdist(p, q);
                if (dpq < heaps.worst(p) || dpq < heaps.worst(q)) out.push_back({p, q, dpq});
              };
              for (std::size_t b = a + 1; b < nv.size(); ++b) consider(nv[b]);
              for (const index_t q : ov) consider(q);
            }
          }
        }
      });
      for (const std::vector<Update>& chunk : updates)
        for (const Update& u : chunk) {
          changes += heaps.push(u.p, u.q, u.d);
          changes += heaps.push(u.q, u.p, u.d);
        }
    }
    if (static_cast<double>(changes) <= options.delta * static_cast<double>(n * k)) break;
  }

  KnnResult out{.n = n, .k = k, .indices = std::move(heaps.index), .distances = std::move(heaps.dist)};
  parallel_for(0, n, detail::grain_for(k * 16), [&](index_t lo, index_t hi) {
    for (index_t i = lo; i < hi; ++i) {
      for (index_t t = 0; t < k; ++t) out.distances[i * k + t] = metric_distance(out.distances[i * k + t], options.metric);
      sort_row(i, k, &out.indices[i * k], &out.distances[i * k]);
    }
  });
  return out;
}

double knn_recall(const KnnResult& approx, const KnnResult& exact) {
  CAKE_CHECK(approx.n == exact.n && approx.k == exact.k, "knn_recall: the results must have the same n and k, got (",
             approx.n, ", ", approx.k, ") and (", exact.n, ", ", exact.k, ")");
  index_t found = 0;
  for (index_t i = 0; i < exact.n; ++i) {
    std::vector<index_t> a(approx.indices.begin() + i * approx.k, approx.indices.begin() + (i + 1) * approx.k);
    std::vector<index_t> e(exact.indices.begin() + i * exact.k, exact.indices.begin() + (i + 1) * exact.k);
    std::sort(a.begin(), a.end());
    std::sort(e.begin(), e.end());
    std::vector<index_t> common;
    std::set_intersection(a.begin(), a.end(), e.begin(), e.end(), std::back_inserter(common));
    found += static_cast<index_t>(common.size());
  }
  return exact.n * exact.k == 0 ? 1.0 : static_cast<double>(found) / static_cast<double>(exact.n * exact.k);
}

}  // namespace cake::neighbors
