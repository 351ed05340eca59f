// metrics.cpp: label-based scores from a sparse contingency table; distance-based scores from
// blocks of pairwise distances, one GEMM per block.
#include "cake/algorithms/metrics/metrics.h"

#include <algorithm>
#include <atomic>
#include <cfloat>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>

#include "cake/algorithms/metrics/hungarian.h"
#include "cake/data/sampler.h"
#include "cake/tensor/creation.h"
#include "cake/tensor/native/elementwise.h"
#include "cake/tensor/pairwise.h"
#include "cake/tensor/parallel.h"

namespace cake::metrics {

Labels::Labels(const Tensor& labels) {
  CAKE_CHECK(labels.defined(), "metrics: the labels tensor is undefined");
  CAKE_CHECK(labels.dim() == 1, "metrics: expected labels of shape [N], got ", labels.sizes());
  CAKE_CHECK(is_integral(labels.dtype()), "metrics: labels must be integers (int64, uint8 or bool), got ",
             dtype_name(labels.dtype()));
  const Tensor host = native::contiguous(native::to_dtype(native::to_device(labels.detach(), kCPU), kInt64));
  const std::int64_t* p = host.data_ptr<std::int64_t>();
  values_.assign(p, p + host.numel());
}

namespace {

// ---- labels -> dense ids ---------------------------------------------------------------------
struct Encoded {
  std::vector<std::int64_t> ids;      // ids[s] in [0, K): position of the sample's value in `classes`
  std::vector<std::int64_t> classes;  // the sorted distinct values
  std::vector<std::int64_t> counts;   // samples per class
};

Encoded encode(const std::vector<std::int64_t>& values) {
  Encoded e;
  e.classes = values;
  std::sort(e.classes.begin(), e.classes.end());
  e.classes.erase(std::unique(e.classes.begin(), e.classes.end()), e.classes.end());
  e.counts.assign(e.classes.size(), 0);
  e.ids.resize(values.size());
  for (std::size_t s = 0; s < values.size(); ++s) {
    e.ids[s] = std::lower_bound(e.classes.begin(), e.classes.end(), values[s]) - e.classes.begin();
    ++e.counts[e.ids[s]];
  }
  return e;
}

void check_pair(const Labels& a, const Labels& b, const char* op) {
  CAKE_CHECK(a.size() == b.size(), op, ": labels_true has ", a.size(), " entries but labels_pred has ", b.size());
  CAKE_CHECK(a.size() > 0, op, ": empty labels");
}

// ---- the contingency table, sparse: only the non-zero cells --------------------------------
// A clustering with a cluster per sample has an N x N table; its non-zeros are at most N.
struct Cell {
  std::int64_t row, col, count;
};
struct Table {
  Encoded truth, pred;
  std::vector<Cell> cells;
  std::int64_t n = 0;
};

Table make_table(const Labels& labels_true, const Labels& labels_pred, const char* op) {
  check_pair(labels_true, labels_pred, op);
  Table t{encode(labels_true.values()), encode(labels_pred.values()), {}, labels_true.size()};
  const auto cols = static_cast<std::int64_t>(t.pred.classes.size());
  std::vector<std::int64_t> keys(static_cast<std::size_t>(t.n));
  for (std::int64_t s = 0; s < t.n; ++s) keys[s] = t.truth.ids[s] * cols + t.pred.ids[s];
  std::sort(keys.begin(), keys.end());
  for (std::size_t s = 0; s < keys.size();) {
    std::size_t end = s;
    while (end < keys.size() && keys[end] == keys[s]) ++end;
    t.cells.push_back({keys[s] / cols, keys[s] % cols, static_cast<std::int64_t>(end - s)});
    s = end;
  }
  return t;
}

// The sparse table of a dense one (as summed over the ranks of a distributed run); the cells
// come in make_table's order (row-major), so the scores are computed in the same order.
Table table_from(const ContingencyTable& dense, const char* op) {
  const Tensor counts = dense.counts.detach().cpu().to(kInt64).contiguous();
  const auto rows = static_cast<std::int64_t>(dense.row_labels.size());
  const auto cols = static_cast<std::int64_t>(dense.col_labels.size());
  CAKE_CHECK(counts.dim() == 2 && counts.size(0) == rows && counts.size(1) == cols, op, ": the counts have shape ",
             counts.sizes(), " but the table names ", rows, " classes and ", cols, " clusters");
  Table t;
  t.truth.classes = dense.row_labels;
  t.pred.classes = dense.col_labels;
  t.truth.counts.assign(static_cast<std::size_t>(rows), 0);
  t.pred.counts.assign(static_cast<std::size_t>(cols), 0);
  const std::int64_t* c = counts.data_ptr<std::int64_t>();
  for (std::int64_t i = 0; i < rows; ++i)
    for (std::int64_t j = 0; j < cols; ++j) {
      const std::int64_t v = c[i * cols + j];
      CAKE_CHECK(v >= 0, op, ": negative count ", v, " in the contingency table");
      if (v == 0) continue;
      t.cells.push_back({i, j, v});
      t.truth.counts[static_cast<std::size_t>(i)] += v;
      t.pred.counts[static_cast<std::size_t>(j)] += v;
      t.n += v;
    }
  CAKE_CHECK(t.n > 0, op, ": the contingency table is empty");
  // make_table lists only values that occur; a row or column of zeros would count as a class.
  const auto occurs = [](std::int64_t v) { return v > 0; };
  CAKE_CHECK(std::all_of(t.truth.counts.begin(), t.truth.counts.end(), occurs) &&
                 std::all_of(t.pred.counts.begin(), t.pred.counts.end(), occurs),
             op, ": every class and cluster of the table must hold at least one sample");
  return t;
}

// Dense n_ij as doubles, rows x cols, for the Hungarian method.
std::vector<double> dense_counts(const Table& t) {
  const std::size_t rows = t.truth.classes.size(), cols = t.pred.classes.size();
  CAKE_CHECK(rows * cols <= (std::size_t{1} << 28), "acc: a ", rows, " x ", cols,
             " contingency table is too large for the assignment");
  std::vector<double> dense(rows * cols, 0.0);
  for (const Cell& c : t.cells) dense[c.row * cols + c.col] = static_cast<double>(c.count);
  return dense;
}

// H = -sum_k p_k log p_k with p_k = counts_k / N (sklearn.metrics.cluster.entropy).
double entropy(const std::vector<std::int64_t>& counts, std::int64_t n) {
  if (counts.size() <= 1) return 0.0;
  const double log_n = std::log(static_cast<double>(n));
  double h = 0.0;
  for (std::int64_t c : counts) {
    const double p = static_cast<double>(c) / static_cast<double>(n);
    h -= p * (std::log(static_cast<double>(c)) - log_n);
  }
  return h;
}

double mutual_information(const Table& t) {
  if (t.truth.classes.size() == 1 || t.pred.classes.size() == 1) return 0.0;  // MI <= min(H) = 0
  const double n = static_cast<double>(t.n), log_n = std::log(n);
  double mi = 0.0;
  for (const Cell& c : t.cells) {
    // n_ij/N * log(N n_ij / (a_i b_j)); terms below machine epsilon are rounding noise and are
    // dropped, as scikit-learn does, so that independent labellings give exactly 0.
    const double p = static_cast<double>(c.count) / n;
    const double term = p * (std::log(static_cast<double>(c.count)) + log_n -
                             std::log(static_cast<double>(t.truth.counts[c.row])) -
                             std::log(static_cast<double>(t.pred.counts[c.col])));
    if (std::abs(term) >= DBL_EPSILON) mi += term;
  }
  return std::max(mi, 0.0);
}

// E[I] of two labellings with the table's class sizes a_i and cluster sizes b_j when samples
// are assigned at random (the hypergeometric model; Vinh, Epps & Bailey 2010, eq. 24a):
//   E[I] = sum_ij sum_n n/N log(N n / (a_i b_j)) P(n | a_i, b_j, N),  n = max(1, a_i + b_j - N) .. min(a_i, b_j),
//   P(n | a, b, N) = a! b! (N-a)! (N-b)! / (N! n! (a-n)! (b-n)! (N-a-b+n)!).
// The inner sum depends on the sizes (a_i, b_j) alone, so each pair of distinct sizes is
// summed once and weighted by how many (i, j) have it: N samples have at most about sqrt(2N)
// distinct sizes a side, which bounds the work even for a cluster per sample. P is stepped
// from one n to the next by the ratio P(n+1)/P(n) = (a-n)(b-n) / ((n+1)(N-a-b+n+1)), in logs,
// because far from its mode it underflows.
double expected_mutual_information(const Table& t) {
  if (t.truth.classes.size() == 1 || t.pred.classes.size() == 1) return 0.0;  // a zero entropy: I = 0 always
  const auto how_many_of_each_size = [](const std::vector<std::int64_t>& counts) {
    std::map<std::int64_t, std::int64_t> sizes;
    for (std::int64_t c : counts) ++sizes[c];
    return sizes;
  };
  const double n = static_cast<double>(t.n), log_n = std::log(n), log_factorial_n = std::lgamma(n + 1);
  const auto log_factorial = [](double v) { return std::lgamma(v + 1); };
  double emi = 0.0;
  for (const auto& [a_size, rows] : how_many_of_each_size(t.truth.counts))
    for (const auto& [b_size, cols] : how_many_of_each_size(t.pred.counts)) {
      const double a = static_cast<double>(a_size), b = static_cast<double>(b_size);
      const std::int64_t first = std::max<std::int64_t>(1, a_size + b_size - t.n), last = std::min(a_size, b_size);
      double log_p = log_factorial(a) + log_factorial(b) + log_factorial(n - a) + log_factorial(n - b) - log_factorial_n -
                     log_factorial(static_cast<double>(first)) - log_factorial(a - static_cast<double>(first)) -
                     log_factorial(b - static_cast<double>(first)) - log_factorial(n - a - b + static_cast<double>(first));
      double sum = 0.0;
      for (std::int64_t k = first; k <= last; ++k) {
        const double nij = static_cast<double>(k);
        sum += nij / n * (std::log(nij) + log_n - std::log(a) - std::log(b)) * std::exp(log_p);
        if (k < last) log_p += std::log((a - nij) * (b - nij)) - std::log((nij + 1) * (n - a - b + nij + 1));
      }
      emi += static_cast<double>(rows) * static_cast<double>(cols) * sum;
    }
  return emi;
}

// ---- feature matrices ------------------------------------------------------------------------
struct Matrix {
  std::vector<double> data;  // row-major rows x cols
  std::int64_t rows = 0, cols = 0;
  const double* row(std::int64_t i) const { return data.data() + i * cols; }
};

Matrix to_matrix(const Tensor& x, const char* op, const char* name) {
  CAKE_CHECK(x.defined() && x.dim() == 2, op, ": expected ", name, " of shape [N, D], got ",
             x.defined() ? shape_str(x.sizes()) : "an undefined tensor");
  CAKE_CHECK(x.is_floating_point(), op, ": ", name, " must be float32 or float64, got ", dtype_name(x.dtype()));
  CAKE_CHECK(x.size(1) > 0, op, ": ", name, " has no features (shape ", x.sizes(), ")");
  const Tensor host = native::contiguous(native::to_dtype(native::to_device(x.detach(), kCPU), kFloat64));
  Matrix m{{}, host.size(0), host.size(1)};
  const double* p = host.data_ptr<double>();
  m.data.assign(p, p + host.numel());
  for (std::size_t i = 0; i < m.data.size(); ++i)
    CAKE_CHECK(std::isfinite(m.data[i]), op, ": ", name, " holds a non-finite value at row ",
               static_cast<std::int64_t>(i) / m.cols);
  return m;
}

std::vector<double> squared_norms(const Matrix& m) {
  std::vector<double> norms(static_cast<std::size_t>(m.rows));
  for (std::int64_t i = 0; i < m.rows; ++i) {
    const double* r = m.row(i);
    norms[i] = std::inner_product(r, r + m.cols, r, 0.0);
  }
  return norms;
}

// Calls visit(first_row, rows, d2) for the blocks of rows of `m`, where d2 is the rows x N block
// of squared distances |x_i - x_j|^2 from cake::pairwise (tensor/pairwise.h). Blocks of about
// 8 MB each (one per thread at a time), so memory is O(N) however large N is, and each GEMM is
// tall enough to run at speed; blocks run in parallel, so `visit` must be safe to call from
// several threads. Rounding can leave a tiny non-zero self-distance: set to exactly 0.
template <class Visit>
void for_each_distance_block(const Matrix& m, const Visit& visit) {
  const std::int64_t n = m.rows;
  if (n == 0) return;
  const std::vector<double> norms = squared_norms(m);
  const std::int64_t rows = std::clamp<std::int64_t>((std::int64_t{1} << 20) / n, 16, n);
  pairwise::distance_blocks(m.data.data(), norms.data(), n, m.cols, m.data.data(), norms.data(), n, rows,
                            static_cast<double*>(nullptr), [&](int, std::int64_t lo, std::int64_t hi, double* d2) {
                              for (std::int64_t i = lo; i < hi; ++i) d2[(i - lo) * n + i] = 0.0;
                              visit(lo, hi - lo, static_cast<const double*>(d2));
                            });
}

// for_each_distance_block over two views of the same samples, the data X and its embedding Z:
// visit(first_row, rows, dx, dz) also gets the embedding's squared distances for the same rows,
// computed alongside, so that neither N x N matrix is ever stored.
template <class Visit>
void for_each_paired_distance_block(const Matrix& x, const Matrix& z, const Visit& visit) {
  const std::int64_t n = z.rows;
  const std::vector<double> z_norms = squared_norms(z);
  for_each_distance_block(x, [&](std::int64_t first, std::int64_t rows, const double* dx) {
    std::vector<double> dz(static_cast<std::size_t>(rows * n));
    pairwise::squared_distances(z.row(first), rows, z_norms.data() + first, z.data.data(), n, z_norms.data(), z.cols,
                                dz.data());
    visit(first, rows, dx, static_cast<const double*>(dz.data()));
  });
}

// The k nearest other samples of sample i, from its row of squared distances, nearest first;
// equal distances are ordered by index so that results never depend on the sort.
void nearest_others(const double* d2_row, std::int64_t i, std::int64_t n, std::int64_t k,
                    std::vector<std::int64_t>& scratch, std::vector<std::int64_t>& out) {
  scratch.clear();
  for (std::int64_t j = 0; j < n; ++j)
    if (j != i) scratch.push_back(j);
  auto closer = [&](std::int64_t a, std::int64_t b) { return d2_row[a] < d2_row[b] || (d2_row[a] == d2_row[b] && a < b); };
  std::nth_element(scratch.begin(), scratch.begin() + (k - 1), scratch.end(), closer);
  std::sort(scratch.begin(), scratch.begin() + k, closer);
  out.assign(scratch.begin(), scratch.begin() + k);
}

void check_cluster_count(std::size_t clusters, std::int64_t n, const char* op) {
  CAKE_CHECK(clusters >= 2 && static_cast<std::int64_t>(clusters) <= n - 1, op, ": needs 2 <= clusters <= samples - 1, got ",
             clusters, " clusters for ", n, " samples");
}

std::vector<double> silhouette_values(const Matrix& x, const Labels& labels) {
  CAKE_CHECK(labels.size() == x.rows, "silhouette: ", x.rows, " samples but ", labels.size(), " labels");
  const Encoded e = encode(labels.values());
  const std::size_t clusters = e.classes.size();
  check_cluster_count(clusters, x.rows, "silhouette");
  const std::int64_t n = x.rows;
  std::vector<double> s(static_cast<std::size_t>(n), 0.0);
  for_each_distance_block(x, [&](std::int64_t first, std::int64_t rows, const double* d2) {
    parallel_for(0, rows, 8, [&](std::int64_t lo, std::int64_t hi) {
      std::vector<double> sums(clusters);  // sum of distances from sample i to each cluster
      for (std::int64_t r = lo; r < hi; ++r) {
        const std::int64_t i = first + r;
        std::fill(sums.begin(), sums.end(), 0.0);
        const double* row = d2 + r * n;
        for (std::int64_t j = 0; j < n; ++j) sums[e.ids[j]] += std::sqrt(row[j]);
        const std::int64_t own = e.ids[i];
        if (e.counts[own] == 1) continue;  // a sample alone in its cluster scores 0
        const double a = sums[own] / static_cast<double>(e.counts[own] - 1);
        double b = std::numeric_limits<double>::infinity();
        for (std::size_t k = 0; k < clusters; ++k)
          if (static_cast<std::int64_t>(k) != own) b = std::min(b, sums[k] / static_cast<double>(e.counts[k]));
        const double scale = std::max(a, b);
        s[i] = scale > 0 ? (b - a) / scale : 0.0;
      }
    });
  });
  return s;
}

Matrix take_rows(const Matrix& m, const std::int64_t* rows, std::int64_t count) {
  Matrix out{std::vector<double>(static_cast<std::size_t>(count * m.cols)), count, m.cols};
  for (std::int64_t r = 0; r < count; ++r) std::copy_n(m.row(rows[r]), m.cols, out.data.begin() + r * m.cols);
  return out;
}

}  // namespace

// ---- comparing two labellings ----------------------------------------------------------------

ContingencyTable contingency_matrix(const Labels& labels_true, const Labels& labels_pred) {
  const Table t = make_table(labels_true, labels_pred, "contingency_matrix");
  const auto rows = static_cast<std::int64_t>(t.truth.classes.size());
  const auto cols = static_cast<std::int64_t>(t.pred.classes.size());
  ContingencyTable out{zeros({rows, cols}, kInt64), t.truth.classes, t.pred.classes};
  std::int64_t* p = out.counts.data_ptr<std::int64_t>();
  for (const Cell& c : t.cells) p[c.row * cols + c.col] = c.count;
  return out;
}

Tensor confusion_matrix(const Labels& y_true, const Labels& y_pred, std::int64_t num_classes) {
  check_pair(y_true, y_pred, "confusion_matrix");
  std::vector<std::int64_t> classes;
  if (num_classes > 0) {
    classes.resize(static_cast<std::size_t>(num_classes));
    std::iota(classes.begin(), classes.end(), 0);
    for (const Labels* labels : {&y_true, &y_pred})
      for (std::int64_t v : labels->values())
        CAKE_CHECK(v >= 0 && v < num_classes, "confusion_matrix: label ", v, " is outside [0, ", num_classes, ")");
  } else {
    CAKE_CHECK(num_classes == -1, "confusion_matrix: num_classes must be positive or -1, got ", num_classes);
    classes = y_true.values();
    classes.insert(classes.end(), y_pred.values().begin(), y_pred.values().end());
    std::sort(classes.begin(), classes.end());
    classes.erase(std::unique(classes.begin(), classes.end()), classes.end());
  }
  const auto k = static_cast<std::int64_t>(classes.size());
  Tensor out = zeros({k, k}, kInt64);
  std::int64_t* p = out.data_ptr<std::int64_t>();
  auto index_of = [&](std::int64_t v) { return std::lower_bound(classes.begin(), classes.end(), v) - classes.begin(); };
  for (std::int64_t s = 0; s < y_true.size(); ++s) ++p[index_of(y_true.values()[s]) * k + index_of(y_pred.values()[s])];
  return out;
}

double mutual_information(const Labels& labels_true, const Labels& labels_pred) {
  return mutual_information(make_table(labels_true, labels_pred, "mutual_information"));
}

namespace {

// The normaliser avg(H(true), H(pred)) of NMI and AMI.
double averaged_entropy(const Table& t, NmiAverage average) {
  const double h_true = entropy(t.truth.counts, t.n), h_pred = entropy(t.pred.counts, t.n);
  switch (average) {
    case NmiAverage::Arithmetic: return (h_true + h_pred) / 2;
    case NmiAverage::Geometric: return std::sqrt(h_true * h_pred);
    case NmiAverage::Min: return std::min(h_true, h_pred);
    case NmiAverage::Max: return std::max(h_true, h_pred);
  }
  return 0.0;
}

double nmi_of(const Table& t, NmiAverage average) {
  // Neither labelling splits the data: the same (trivial) partition.
  if (t.truth.classes.size() == 1 && t.pred.classes.size() == 1) return 1.0;
  const double mi = mutual_information(t);
  if (mi == 0.0) return 0.0;
  // I(U; V) <= min(H(U), H(V)) <= every normaliser, so NMI <= 1; rounding in the two sums can
  // put an exact match a few ulps above, which would read as "better than perfect".
  return std::min(1.0, mi / averaged_entropy(t, average));
}

double ari_of(const Table& t) {
  // Pair counts (sklearn's pair_confusion_matrix): over ordered pairs of distinct samples,
  // tp = same class and same cluster, fp = different class but same cluster, fn = same class
  // but different cluster, tn = the rest. Exact in int64 for N below 3e9.
  const std::int64_t n = t.n;
  std::int64_t sum_squares = 0, same_cluster = 0, same_class = 0;
  for (const Cell& c : t.cells) {
    sum_squares += c.count * c.count;
    same_cluster += c.count * t.pred.counts[c.col];
    same_class += c.count * t.truth.counts[c.row];
  }
  const std::int64_t tp = sum_squares - n;
  const std::int64_t fp = same_cluster - sum_squares;
  const std::int64_t fn = same_class - sum_squares;
  const std::int64_t tn = n * n - fp - fn - sum_squares;
  if (fn == 0 && fp == 0) return 1.0;  // identical partitions (including both trivial)
  // Hubert & Arabie's ARI written with pair counts; products in double (they exceed int64).
  const double TP = static_cast<double>(tp), TN = static_cast<double>(tn);
  const double FP = static_cast<double>(fp), FN = static_cast<double>(fn);
  return 2.0 * (TP * TN - FN * FP) / ((TP + FN) * (FN + TN) + (TP + FP) * (FP + TN));
}

double ami_of(const Table& t, NmiAverage average) {
  if (t.truth.classes.size() == 1 && t.pred.classes.size() == 1) return 1.0;  // the same (trivial) partition
  const double mi = mutual_information(t), emi = expected_mutual_information(t);
  // avg(H) >= E[I] in exact arithmetic; when the two meet (a match as likely as chance allows,
  // such as a cluster per sample) rounding decides the sign, and the quotient keeps it, as
  // scikit-learn's adjusted_mutual_info_score does, at least one machine epsilon away from 0.
  double denominator = averaged_entropy(t, average) - emi;
  denominator = denominator < 0 ? std::min(denominator, -DBL_EPSILON) : std::max(denominator, DBL_EPSILON);
  return (mi - emi) / denominator;
}

double fowlkes_mallows_of(const Table& t) {
  // Over ordered pairs of distinct samples: TP = same class and same cluster, TP + FP = same
  // cluster, TP + FN = same class.
  double sum_squares = 0.0, same_cluster = 0.0, same_class = 0.0;
  for (const Cell& c : t.cells) sum_squares += static_cast<double>(c.count) * static_cast<double>(c.count);
  for (std::int64_t b : t.pred.counts) same_cluster += static_cast<double>(b) * static_cast<double>(b);
  for (std::int64_t a : t.truth.counts) same_class += static_cast<double>(a) * static_cast<double>(a);
  const double n = static_cast<double>(t.n), tp = sum_squares - n;
  return tp != 0.0 ? std::sqrt(tp / (same_cluster - n)) * std::sqrt(tp / (same_class - n)) : 0.0;
}

double acc_of(const Table& t) {
  const auto assignment = algorithms::linear_sum_assignment(
      dense_counts(t), static_cast<std::int64_t>(t.truth.classes.size()),
      static_cast<std::int64_t>(t.pred.classes.size()), /*maximize=*/true);
  return assignment.total / static_cast<double>(t.n);
}

double purity_of(const Table& t) {
  std::vector<std::int64_t> majority(t.pred.classes.size(), 0);  // largest n_ij of cluster j
  for (const Cell& c : t.cells) majority[c.col] = std::max(majority[c.col], c.count);
  return static_cast<double>(std::accumulate(majority.begin(), majority.end(), std::int64_t{0})) /
         static_cast<double>(t.n);
}

VMeasure v_measure_of(const Table& t, double beta) {
  CAKE_CHECK(beta > 0, "v_measure: beta must be positive, got ", beta);
  const double h_true = entropy(t.truth.counts, t.n), h_pred = entropy(t.pred.counts, t.n);
  const double mi = mutual_information(t);
  VMeasure v;
  v.homogeneity = h_true != 0.0 ? mi / h_true : 1.0;
  v.completeness = h_pred != 0.0 ? mi / h_pred : 1.0;
  const double sum = v.homogeneity + v.completeness;
  v.v_measure = sum == 0.0 ? 0.0 : (1 + beta) * v.homogeneity * v.completeness / (beta * v.homogeneity + v.completeness);
  return v;
}

}  // namespace

double nmi(const Labels& labels_true, const Labels& labels_pred, NmiAverage average) {
  return nmi_of(make_table(labels_true, labels_pred, "nmi"), average);
}
double ari(const Labels& labels_true, const Labels& labels_pred) {
  return ari_of(make_table(labels_true, labels_pred, "ari"));
}
double acc(const Labels& labels_true, const Labels& labels_pred) {
  return acc_of(make_table(labels_true, labels_pred, "acc"));
}
double ami(const Labels& labels_true, const Labels& labels_pred, NmiAverage average) {
  return ami_of(make_table(labels_true, labels_pred, "ami"), average);
}
double expected_mutual_information(const Labels& labels_true, const Labels& labels_pred) {
  return expected_mutual_information(make_table(labels_true, labels_pred, "expected_mutual_information"));
}
double fowlkes_mallows(const Labels& labels_true, const Labels& labels_pred) {
  return fowlkes_mallows_of(make_table(labels_true, labels_pred, "fowlkes_mallows"));
}

ClusteringScores clustering_scores(const ContingencyTable& table) {
  const Table t = table_from(table, "clustering_scores");
  const VMeasure v = v_measure_of(t, 1.0);
  return {.nmi = nmi_of(t, NmiAverage::Arithmetic),
          .ari = ari_of(t),
          .acc = acc_of(t),
          .purity = purity_of(t),
          .homogeneity = v.homogeneity,
          .completeness = v.completeness,
          .v_measure = v.v_measure,
          .ami = ami_of(t, NmiAverage::Arithmetic),
          .fowlkes_mallows = fowlkes_mallows_of(t),
          .n_samples = t.n};
}

Tensor map_clusters_to_classes(const Labels& labels_true, const Labels& labels_pred) {
  const Table t = make_table(labels_true, labels_pred, "map_clusters_to_classes");
  const auto rows = static_cast<std::int64_t>(t.truth.classes.size());
  const auto cols = static_cast<std::int64_t>(t.pred.classes.size());
  const auto assignment = algorithms::linear_sum_assignment(dense_counts(t), rows, cols, /*maximize=*/true);
  std::vector<std::int64_t> class_of_cluster(static_cast<std::size_t>(cols), -1);
  for (std::int64_t r = 0; r < rows; ++r)
    if (assignment.row_to_col[r] >= 0) class_of_cluster[assignment.row_to_col[r]] = t.truth.classes[r];
  Tensor out = make_empty({t.n}, kInt64, kCPU);
  std::int64_t* p = out.data_ptr<std::int64_t>();
  for (std::int64_t s = 0; s < t.n; ++s) p[s] = class_of_cluster[t.pred.ids[s]];
  return out;
}

double purity(const Labels& labels_true, const Labels& labels_pred) {
  return purity_of(make_table(labels_true, labels_pred, "purity"));
}

VMeasure homogeneity_completeness_v_measure(const Labels& labels_true, const Labels& labels_pred, double beta) {
  CAKE_CHECK(beta > 0, "v_measure: beta must be positive, got ", beta);
  return v_measure_of(make_table(labels_true, labels_pred, "homogeneity_completeness_v_measure"), beta);
}
double homogeneity(const Labels& labels_true, const Labels& labels_pred) {
  return homogeneity_completeness_v_measure(labels_true, labels_pred).homogeneity;
}
double completeness(const Labels& labels_true, const Labels& labels_pred) {
  return homogeneity_completeness_v_measure(labels_true, labels_pred).completeness;
}
double v_measure(const Labels& labels_true, const Labels& labels_pred, double beta) {
  return homogeneity_completeness_v_measure(labels_true, labels_pred, beta).v_measure;
}

// ---- scoring a clustering from the data alone ------------------------------------------------

Tensor silhouette_samples(const Tensor& X, const Labels& labels) {
  const std::vector<double> s = silhouette_values(to_matrix(X, "silhouette_samples", "X"), labels);
  return tensor(s, {static_cast<std::int64_t>(s.size())}, kFloat64);
}

double silhouette(const Tensor& X, const Labels& labels, SilhouetteOptions options) {
  Matrix x = to_matrix(X, "silhouette", "X");
  CAKE_CHECK(labels.size() == x.rows, "silhouette: ", x.rows, " samples but ", labels.size(), " labels");
  CAKE_CHECK(options.sample_size >= 0, "silhouette: sample_size must be non-negative, got ", options.sample_size);
  if (options.sample_size > 0 && options.sample_size < x.rows) {
    // The score of a random subset, as sklearn's silhouette_score(sample_size=...).
    const Tensor order = data::seeded_permutation(x.rows, options.seed, 0);
    const std::int64_t* pick = order.data_ptr<std::int64_t>();
    std::vector<std::int64_t> sub_labels(static_cast<std::size_t>(options.sample_size));
    for (std::int64_t r = 0; r < options.sample_size; ++r) sub_labels[r] = labels.values()[pick[r]];
    x = take_rows(x, pick, options.sample_size);
    const std::vector<double> s = silhouette_values(x, Labels(std::move(sub_labels)));
    return std::accumulate(s.begin(), s.end(), 0.0) / static_cast<double>(s.size());
  }
  const std::vector<double> s = silhouette_values(x, labels);
  return std::accumulate(s.begin(), s.end(), 0.0) / static_cast<double>(s.size());
}

namespace {

// The mean of each cluster's rows, row-major [clusters, D].
std::vector<double> cluster_means(const Matrix& x, const Encoded& e) {
  const std::int64_t d = x.cols;
  std::vector<double> means(e.classes.size() * static_cast<std::size_t>(d), 0.0);
  for (std::int64_t i = 0; i < x.rows; ++i)
    for (std::int64_t c = 0; c < d; ++c) means[e.ids[i] * d + c] += x.row(i)[c];
  for (std::size_t j = 0; j < e.classes.size(); ++j)
    for (std::int64_t c = 0; c < d; ++c) means[j * d + c] /= static_cast<double>(e.counts[j]);
  return means;
}

}  // namespace

double davies_bouldin(const Tensor& X, const Labels& labels) {
  const Matrix x = to_matrix(X, "davies_bouldin", "X");
  CAKE_CHECK(labels.size() == x.rows, "davies_bouldin: ", x.rows, " samples but ", labels.size(), " labels");
  const Encoded e = encode(labels.values());
  const std::size_t k = e.classes.size();
  check_cluster_count(k, x.rows, "davies_bouldin");
  const std::int64_t d = x.cols;
  const std::vector<double> centroids = cluster_means(x, e);
  std::vector<double> spread(k, 0.0);
  auto distance = [&](const double* a, const double* b) {
    double sum = 0.0;
    for (std::int64_t c = 0; c < d; ++c) sum += (a[c] - b[c]) * (a[c] - b[c]);
    return std::sqrt(sum);
  };
  // s_j: mean distance of cluster j's points to its centroid.
  for (std::int64_t i = 0; i < x.rows; ++i) spread[e.ids[i]] += distance(x.row(i), &centroids[e.ids[i] * d]);
  for (std::size_t j = 0; j < k; ++j) spread[j] /= static_cast<double>(e.counts[j]);
  std::vector<double> between(k * k);
  for (std::size_t a = 0; a < k; ++a)
    for (std::size_t b = 0; b < k; ++b) between[a * k + b] = distance(&centroids[a * d], &centroids[b * d]);
  // Degenerate cases, as sklearn: all clusters are points, or all centroids coincide.
  auto all_zero = [](const std::vector<double>& v) {
    return std::all_of(v.begin(), v.end(), [](double value) { return std::abs(value) <= 1e-8; });
  };
  if (all_zero(spread) || all_zero(between)) return 0.0;
  double total = 0.0;
  for (std::size_t a = 0; a < k; ++a) {
    double worst = 0.0;  // coinciding centroids (distance 0) are skipped, as sklearn's inf
    for (std::size_t b = 0; b < k; ++b)
      if (b != a && between[a * k + b] > 0) worst = std::max(worst, (spread[a] + spread[b]) / between[a * k + b]);
    total += worst;
  }
  return total / static_cast<double>(k);
}

double calinski_harabasz(const Tensor& X, const Labels& labels) {
  const Matrix x = to_matrix(X, "calinski_harabasz", "X");
  CAKE_CHECK(labels.size() == x.rows, "calinski_harabasz: ", x.rows, " samples but ", labels.size(), " labels");
  const Encoded e = encode(labels.values());
  const std::size_t k = e.classes.size();
  check_cluster_count(k, x.rows, "calinski_harabasz");
  const std::int64_t d = x.cols;
  const std::vector<double> means = cluster_means(x, e);
  std::vector<double> mean(static_cast<std::size_t>(d), 0.0);  // of all samples
  for (std::size_t j = 0; j < k; ++j)
    for (std::int64_t c = 0; c < d; ++c) mean[c] += static_cast<double>(e.counts[j]) * means[j * d + c] / static_cast<double>(x.rows);
  double between = 0.0, within = 0.0;  // sum_k n_k |c_k - c|^2, sum_i |x_i - c_k(i)|^2
  for (std::size_t j = 0; j < k; ++j)
    for (std::int64_t c = 0; c < d; ++c) {
      const double gap = means[j * d + c] - mean[c];
      between += static_cast<double>(e.counts[j]) * gap * gap;
    }
  for (std::int64_t i = 0; i < x.rows; ++i)
    for (std::int64_t c = 0; c < d; ++c) {
      const double gap = x.row(i)[c] - means[e.ids[i] * d + c];
      within += gap * gap;
    }
  if (within == 0.0) return 1.0;  // every cluster a single repeated point: sklearn's convention
  return between * static_cast<double>(x.rows - static_cast<std::int64_t>(k)) / (within * static_cast<double>(k - 1));
}

// ---- scoring an embedding --------------------------------------------------------------------

double trustworthiness(const Tensor& X, const Tensor& embedding, std::int64_t n_neighbors) {
  const Matrix x = to_matrix(X, "trustworthiness", "X");
  const Matrix z = to_matrix(embedding, "trustworthiness", "embedding");
  CAKE_CHECK(x.rows == z.rows, "trustworthiness: X has ", x.rows, " samples but the embedding has ", z.rows);
  const std::int64_t n = x.rows, k = n_neighbors;
  CAKE_CHECK(k >= 1 && 2 * k < n, "trustworthiness: n_neighbors (", k, ") must be at least 1 and below n_samples / 2 (",
             n, " samples)");
  std::atomic<std::int64_t> penalty{0};
  for_each_paired_distance_block(x, z, [&](std::int64_t first, std::int64_t rows, const double* dx, const double* dz) {
    parallel_for(0, rows, 4, [&](std::int64_t lo, std::int64_t hi) {
      std::vector<std::int64_t> scratch, neighbours;
      std::int64_t local = 0;
      for (std::int64_t r = lo; r < hi; ++r) {
        const std::int64_t i = first + r;
        nearest_others(dz + r * n, i, n, k, scratch, neighbours);
        // r(i, j) = 1 + the number of other samples closer to i in X than j is.
        const double* xrow = dx + r * n;
        for (std::int64_t j : neighbours) {
          std::int64_t rank = 1;
          for (std::int64_t l = 0; l < n; ++l)
            rank += l != i && (xrow[l] < xrow[j] || (xrow[l] == xrow[j] && l < j));
          local += std::max<std::int64_t>(0, rank - k);
        }
      }
      penalty += local;
    });
  });
  const double nd = static_cast<double>(n), kd = static_cast<double>(k);
  return 1.0 - 2.0 / (nd * kd * (2.0 * nd - 3.0 * kd - 1.0)) * static_cast<double>(penalty.load());
}

double knn_preservation(const Tensor& X, const Tensor& embedding, std::int64_t n_neighbors) {
  const Matrix x = to_matrix(X, "knn_preservation", "X");
  const Matrix z = to_matrix(embedding, "knn_preservation", "embedding");
  CAKE_CHECK(x.rows == z.rows, "knn_preservation: X has ", x.rows, " samples but the embedding has ", z.rows);
  const std::int64_t n = x.rows, k = n_neighbors;
  CAKE_CHECK(k >= 1 && k < n, "knn_preservation: n_neighbors (", k, ") must be in [1, n_samples - 1] (", n,
             " samples)");
  std::atomic<std::int64_t> kept{0};
  for_each_paired_distance_block(x, z, [&](std::int64_t first, std::int64_t rows, const double* dx, const double* dz) {
    parallel_for(0, rows, 4, [&](std::int64_t lo, std::int64_t hi) {
      std::vector<std::int64_t> scratch, in_x, in_z;
      std::int64_t local = 0;
      for (std::int64_t r = lo; r < hi; ++r) {
        nearest_others(dx + r * n, first + r, n, k, scratch, in_x);
        nearest_others(dz + r * n, first + r, n, k, scratch, in_z);
        std::sort(in_x.begin(), in_x.end());
        std::sort(in_z.begin(), in_z.end());
        std::vector<std::int64_t> common;
        std::set_intersection(in_x.begin(), in_x.end(), in_z.begin(), in_z.end(), std::back_inserter(common));
        local += static_cast<std::int64_t>(common.size());
      }
      kept += local;
    });
  });
  return static_cast<double>(kept.load()) / (static_cast<double>(n) * static_cast<double>(k));
}

double knn_accuracy(const Tensor& embedding, const Labels& labels, std::int64_t k) {
  const Matrix z = to_matrix(embedding, "knn_accuracy", "embedding");
  CAKE_CHECK(labels.size() == z.rows, "knn_accuracy: ", z.rows, " samples but ", labels.size(), " labels");
  CAKE_CHECK(k >= 1 && k < z.rows, "knn_accuracy: k must be in [1, samples - 1], got ", k, " for ", z.rows, " samples");
  const std::vector<std::int64_t>& y = labels.values();
  std::atomic<std::int64_t> correct{0};
  for_each_distance_block(z, [&](std::int64_t first, std::int64_t rows, const double* d2) {
    parallel_for(0, rows, 8, [&](std::int64_t lo, std::int64_t hi) {
      std::vector<std::int64_t> scratch, neighbours, votes;
      std::int64_t local = 0;
      for (std::int64_t r = lo; r < hi; ++r) {
        const std::int64_t i = first + r;
        nearest_others(d2 + r * z.rows, i, z.rows, k, scratch, neighbours);
        // Majority vote; sorting the k labels groups equal votes, and scanning in increasing
        // label order keeps the smaller label on a tie.
        votes.clear();
        for (std::int64_t j : neighbours) votes.push_back(y[j]);
        std::sort(votes.begin(), votes.end());
        std::int64_t best = votes[0], best_count = 0;
        for (std::size_t s = 0; s < votes.size();) {
          std::size_t e = s;
          while (e < votes.size() && votes[e] == votes[s]) ++e;
          if (static_cast<std::int64_t>(e - s) > best_count) {
            best_count = static_cast<std::int64_t>(e - s);
            best = votes[s];
          }
          s = e;
        }
        local += best == y[i];
      }
      correct += local;
    });
  });
  return static_cast<double>(correct.load()) / static_cast<double>(z.rows);
}

}  // namespace cake::metrics
