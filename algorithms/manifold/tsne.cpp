// tsne.cpp: t-SNE's steps: nearest neighbours, perplexity calibration, joint probabilities, the
// exact and Barnes-Hut gradients (with the space-partitioning tree), the attractive step shared
// with the FFT gradient (tsne_fft.cpp), and scikit-learn's gradient descent with momentum and
// gains. See tsne.h for the maths and the references.
#include "cake/algorithms/manifold/tsne.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <numeric>

#include "cake/algorithms/detail/common.h"
#include "cake/algorithms/decomposition/pca.h"
#include "cake/algorithms/detail/one_thread.h"
#include "cake/algorithms/detail/device_steps.h"
#include "cake/tensor/creation.h"

namespace cake::manifold {

namespace detail = algorithms::detail;  // the shared kernels (algorithms/detail/)
using decomposition::PCA;  // the PCA initialisation (algorithms/decomposition/)

namespace tsne {

namespace {
constexpr double kMachineEpsilon = std::numeric_limits<double>::epsilon();
constexpr double kFloat32Tiny = 1.1754943508222875e-38;  // numpy.finfo(float32).tiny, the floor in the BH error
}  // namespace

// ---- perplexity calibration ----------------------------------------------------------------

std::vector<double> binary_search_perplexity(const std::vector<double>& sq_dist, std::int64_t n, std::int64_t k,
                                             double perplexity, bool skip_diagonal) {
  constexpr int kSteps = 100;
  constexpr double kTolerance = 1e-5;
  const double desired_entropy = std::log(perplexity);
  std::vector<double> p(static_cast<std::size_t>(n * k), 0.0);
  parallel_for(0, n, detail::grain_for(100 * k), [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t i = lo; i < hi; ++i) {
      const double* d = &sq_dist[static_cast<std::size_t>(i * k)];
      double* pi = &p[static_cast<std::size_t>(i * k)];
      double beta = 1.0, beta_min = -std::numeric_limits<double>::infinity(), beta_max = std::numeric_limits<double>::infinity();
      for (int step = 0; step < kSteps; ++step) {
        // H(P_i) = log sum_j exp(-d_j beta) + beta sum_j d_j p_j (entropy in nats).
        double sum_p = 0.0;
        for (std::int64_t j = 0; j < k; ++j) {
          pi[j] = (skip_diagonal && j == i) ? 0.0 : std::exp(-d[j] * beta);
          sum_p += pi[j];
        }
        if (sum_p == 0.0) sum_p = 1e-8;  // every neighbour underflowed: beta is far too large
        double sum_dp = 0.0;
        for (std::int64_t j = 0; j < k; ++j) {
          pi[j] /= sum_p;
          sum_dp += d[j] * pi[j];
        }
        const double entropy_diff = std::log(sum_p) + beta * sum_dp - desired_entropy;
        if (std::abs(entropy_diff) <= kTolerance) break;
        if (entropy_diff > 0.0) {  // too flat: sharpen (larger beta)
          beta_min = beta;
          beta = std::isinf(beta_max) ? beta * 2.0 : (beta + beta_max) / 2.0;
        } else {
          beta_max = beta;
          beta = std::isinf(beta_min) ? beta / 2.0 : (beta + beta_min) / 2.0;
        }
      }
    }
  });
  return p;
}

std::vector<double> joint_probabilities(const std::vector<double>& sq_dist, std::int64_t n, double perplexity) {
  std::vector<double> p = binary_search_perplexity(sq_dist, n, n, perplexity, /*skip_diagonal=*/true);
  double sum = 0.0;
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = i + 1; j < n; ++j) {
      const double v = p[static_cast<std::size_t>(i * n + j)] + p[static_cast<std::size_t>(j * n + i)];
      p[static_cast<std::size_t>(i * n + j)] = p[static_cast<std::size_t>(j * n + i)] = v;
      sum += 2.0 * v;
    }
  sum = std::max(sum, kMachineEpsilon);
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = 0; j < n; ++j) {
      double& v = p[static_cast<std::size_t>(i * n + j)];
      v = i == j ? 0.0 : std::max(v / sum, kMachineEpsilon);
    }
  return p;
}

SparseMatrix joint_probabilities_nn(const std::vector<std::int64_t>& neighbors, const std::vector<double>& sq_dist,
                                    std::int64_t n, std::int64_t k, double perplexity) {
  const std::vector<double> conditional = binary_search_perplexity(sq_dist, n, k, perplexity, /*skip_diagonal=*/false);
  // P + P^T: every (i, j, p_{j|i}) also lands at (j, i). Bucket by row, then merge equal columns.
  struct Entry {
    std::int64_t column;
    double value;
  };
  std::vector<std::int64_t> row_count(static_cast<std::size_t>(n + 1), 0);
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t t = 0; t < k; ++t) {
      ++row_count[static_cast<std::size_t>(i + 1)];
      ++row_count[static_cast<std::size_t>(neighbors[static_cast<std::size_t>(i * k + t)] + 1)];
    }
  std::partial_sum(row_count.begin(), row_count.end(), row_count.begin());
  std::vector<Entry> entries(static_cast<std::size_t>(row_count.back()));
  std::vector<std::int64_t> fill(row_count.begin(), row_count.end() - 1);
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t t = 0; t < k; ++t) {
      const std::int64_t j = neighbors[static_cast<std::size_t>(i * k + t)];
      const double v = conditional[static_cast<std::size_t>(i * k + t)];
      entries[static_cast<std::size_t>(fill[static_cast<std::size_t>(i)]++)] = {j, v};
      entries[static_cast<std::size_t>(fill[static_cast<std::size_t>(j)]++)] = {i, v};
    }
  SparseMatrix p;
  p.n = n;
  p.row_start.assign(1, 0);
  double sum = 0.0;
  for (std::int64_t i = 0; i < n; ++i) {
    auto first = entries.begin() + row_count[static_cast<std::size_t>(i)];
    auto last = entries.begin() + row_count[static_cast<std::size_t>(i + 1)];
    std::sort(first, last, [](const Entry& a, const Entry& b) { return a.column < b.column; });
    for (auto it = first; it != last;) {
      double v = 0.0;
      const std::int64_t column = it->column;
      for (; it != last && it->column == column; ++it) v += it->value;
      p.column.push_back(column);
      p.value.push_back(v);
      sum += v;
    }
    p.row_start.push_back(static_cast<std::int64_t>(p.column.size()));
  }
  sum = std::max(sum, kMachineEpsilon);
  for (double& v : p.value) v /= sum;
  return p;
}

// NOTE [ t-SNE's sums in point order ]
// Z and the error are sums over all points. Each point's share is computed by whichever thread
// has it, and the shares are then added in point order. Per-thread partial sums would group the
// terms by thread, so their rounding would depend on the thread count, and the descent turns a
// last-bit difference into another embedding.
namespace {
double sum_in_point_order(const std::vector<double>& shares) {
  double total = 0.0;
  for (const double share : shares) total += share;
  return total;
}
}  // namespace

// ---- exact gradient ---------------------------------------------------------------------------

double kl_gradient_exact(const std::vector<double>& p, const std::vector<double>& y, std::int64_t n,
                         std::int64_t dims, double* grad, bool compute_error) {
  // Student t with dof = max(dims - 1, 1): w_ij = (1 + d_ij^2 / dof)^(-(dof + 1) / 2), q = w / Z.
  const double dof = std::max<double>(static_cast<double>(dims - 1), 1.0);
  const double exponent = (dof + 1.0) / 2.0;
  std::vector<double> w(static_cast<std::size_t>(n * n), 0.0);
  std::vector<double> row_z(static_cast<std::size_t>(n), 0.0);
  parallel_for(0, n, detail::grain_for(n * (dims + 4)), [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t i = lo; i < hi; ++i)
      for (std::int64_t j = 0; j < n; ++j) {
        if (i == j) continue;
        double d2 = 0.0;
        for (std::int64_t a = 0; a < dims; ++a) {
          const double diff = y[static_cast<std::size_t>(i * dims + a)] - y[static_cast<std::size_t>(j * dims + a)];
          d2 += diff * diff;
        }
        const double v = dof == 1.0 ? 1.0 / (1.0 + d2) : std::pow(1.0 + d2 / dof, -exponent);
        w[static_cast<std::size_t>(i * n + j)] = v;
        row_z[static_cast<std::size_t>(i)] += v;
      }
  });
  const double z = sum_in_point_order(row_z);
  // dC/dy_i = (2 (dof + 1) / dof) sum_j (p_ij - q_ij) w_ij^(2 / (dof + 1)) ... for dof = 1 this
  // is eq. (5); scikit-learn uses w_ij itself as the kernel factor, which we follow.
  const double c = 2.0 * (dof + 1.0) / dof;
  std::vector<double> row_kl(static_cast<std::size_t>(compute_error ? n : 0), 0.0);
  parallel_for(0, n, detail::grain_for(n * (dims + 4)), [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t i = lo; i < hi; ++i) {
      double* g = grad + i * dims;
      for (std::int64_t a = 0; a < dims; ++a) g[a] = 0.0;
      for (std::int64_t j = 0; j < n; ++j) {
        if (i == j) continue;
        const double wij = w[static_cast<std::size_t>(i * n + j)];
        const double q = std::max(wij / z, kMachineEpsilon);
        const double pij = p[static_cast<std::size_t>(i * n + j)];
        if (compute_error) row_kl[static_cast<std::size_t>(i)] += pij * std::log(std::max(pij, kMachineEpsilon) / q);
        const double f = (pij - q) * wij;
        for (std::int64_t a = 0; a < dims; ++a)
          g[a] += f * (y[static_cast<std::size_t>(i * dims + a)] - y[static_cast<std::size_t>(j * dims + a)]);
      }
      for (std::int64_t a = 0; a < dims; ++a) g[a] *= c;
    }
  });
  return compute_error ? sum_in_point_order(row_kl) : std::numeric_limits<double>::quiet_NaN();
}

// ---- Barnes-Hut ---------------------------------------------------------------------------------

namespace {

// A space-partitioning tree over points in Dim dimensions (a quadtree for Dim = 2): every cell
// is split at its centre into 2^Dim children; a cell with one point, or with points that all
// coincide, is a leaf. Each cell stores its points' count and centre of mass, which is all the
// Barnes-Hut approximation needs. Built top-down by partitioning an index array, children of a
// cell stored next to each other.
template <int Dim>
class SpaceTree {
 public:
  static constexpr int kChildren = 1 << Dim;
  static constexpr int kMaxDepth = 48;

  struct Cell {
    std::array<double, Dim> center_of_mass;
    double width_sq;             // squared longest side of the cell
    std::int64_t count;
    std::int32_t first_child;    // -1 for a leaf
    std::int32_t child_count;
  };

  void build(const double* y, std::int64_t n) {
    cells_.clear();
    index_.resize(static_cast<std::size_t>(n));
    std::iota(index_.begin(), index_.end(), 0);
    scratch_.resize(static_cast<std::size_t>(n));
    std::array<double, Dim> lo, hi;
    lo.fill(std::numeric_limits<double>::infinity());
    hi.fill(-std::numeric_limits<double>::infinity());
    for (std::int64_t i = 0; i < n; ++i)
      for (int a = 0; a < Dim; ++a) {
        lo[a] = std::min(lo[a], y[i * Dim + a]);
        hi[a] = std::max(hi[a], y[i * Dim + a]);
      }
    for (int a = 0; a < Dim; ++a) hi[a] = std::max(hi[a] + 1e-3 * std::abs(hi[a]), hi[a] + 1e-3);  // as scikit-learn
    cells_.push_back({});
    build_cell(0, y, 0, n, lo, hi, 0);
  }

  // The repulsion on a point at `yi` (scikit-learn's compute_gradient_negative for one point):
  // adds sum over summarised cells of N_cell q^2 (yi - com) to force, returns sum N_cell q,
  // where q = 1 / (1 + |yi - com|^2). A cell is summarised when it is a leaf or when
  // width^2 / distance^2 < angle^2; a leaf at the point itself (or a duplicate) is skipped.
  double repulsion(const double* yi, double angle_sq, double* force) const {
    std::array<std::int32_t, kMaxDepth * (kChildren - 1) + 2> stack;
    std::int32_t top = 0;
    stack[static_cast<std::size_t>(top++)] = 0;
    double sum_q = 0.0;
    std::array<double, Dim> f{};
    while (top > 0) {
      const Cell& cell = cells_[static_cast<std::size_t>(stack[static_cast<std::size_t>(--top)])];
      std::array<double, Dim> diff;
      double d2 = 0.0;
      bool duplicate = true;
      for (int a = 0; a < Dim; ++a) {
        diff[a] = yi[a] - cell.center_of_mass[a];
        d2 += diff[a] * diff[a];
        duplicate = duplicate && std::abs(diff[a]) <= 1e-6;
      }
      const bool leaf = cell.first_child < 0;
      if (leaf && duplicate) {
        // The leaf at the point itself: its other points coincide with it (duplicates in the
        // data, or all points at one place at the start), each with q = 1 / (1 + 0) and no
        // force. Skipping them, as a leaf of one point must be, would leave Z = 0 when every
        // point coincides, and 0 / 0 = NaN forces.
        sum_q += static_cast<double>(cell.count - 1) / (1.0 + d2);
        continue;
      }
      if (leaf || cell.width_sq < angle_sq * d2) {
        const double q = 1.0 / (1.0 + d2);
        const double size = static_cast<double>(cell.count);
        sum_q += size * q;
        const double mult = size * q * q;
        for (int a = 0; a < Dim; ++a) f[a] += mult * diff[a];
      } else {
        for (std::int32_t c = 0; c < cell.child_count; ++c) stack[static_cast<std::size_t>(top++)] = cell.first_child + c;
      }
    }
    for (int a = 0; a < Dim; ++a) force[a] = f[a];
    return sum_q;
  }

  const std::vector<Cell>& cells() const { return cells_; }

 private:
  void build_cell(std::int32_t id, const double* y, std::int64_t begin, std::int64_t end,
                  const std::array<double, Dim>& lo, const std::array<double, Dim>& hi, int depth) {
    Cell cell{};
    cell.count = end - begin;
    bool coincide = true;
    const double* first = y + index_[static_cast<std::size_t>(begin)] * Dim;
    for (std::int64_t t = begin; t < end; ++t) {
      const double* p = y + index_[static_cast<std::size_t>(t)] * Dim;
      for (int a = 0; a < Dim; ++a) {
        cell.center_of_mass[a] += p[a];
        coincide = coincide && p[a] == first[a];
      }
    }
    for (int a = 0; a < Dim; ++a) {
      cell.center_of_mass[a] /= static_cast<double>(cell.count);
      cell.width_sq = std::max(cell.width_sq, (hi[a] - lo[a]) * (hi[a] - lo[a]));
    }
    cell.first_child = -1;
    cell.child_count = 0;
    if (cell.count == 1 || coincide || depth >= kMaxDepth) {
      cells_[static_cast<std::size_t>(id)] = cell;
      return;
    }
    // Counting sort of the points into the 2^Dim quadrants (bit a set: upper half along a).
    std::array<double, Dim> mid;
    for (int a = 0; a < Dim; ++a) mid[a] = 0.5 * (lo[a] + hi[a]);
    std::array<std::int64_t, kChildren + 1> start{};
    auto quadrant = [&](std::int64_t point) {
      int q = 0;
      for (int a = 0; a < Dim; ++a)
        if (y[point * Dim + a] >= mid[a]) q |= 1 << a;
      return q;
    };
    for (std::int64_t t = begin; t < end; ++t) ++start[static_cast<std::size_t>(quadrant(index_[static_cast<std::size_t>(t)]) + 1)];
    for (int q = 0; q < kChildren; ++q) start[static_cast<std::size_t>(q + 1)] += start[static_cast<std::size_t>(q)];
    std::array<std::int64_t, kChildren> next;
    for (int q = 0; q < kChildren; ++q) next[static_cast<std::size_t>(q)] = begin + start[static_cast<std::size_t>(q)];
    for (std::int64_t t = begin; t < end; ++t) {
      const std::int64_t point = index_[static_cast<std::size_t>(t)];
      scratch_[static_cast<std::size_t>(next[static_cast<std::size_t>(quadrant(point))]++)] = point;
    }
    std::copy(scratch_.begin() + begin, scratch_.begin() + end, index_.begin() + begin);

    cell.first_child = static_cast<std::int32_t>(cells_.size());
    std::array<int, kChildren> used;
    for (int q = 0; q < kChildren; ++q)
      if (start[static_cast<std::size_t>(q + 1)] > start[static_cast<std::size_t>(q)]) used[static_cast<std::size_t>(cell.child_count++)] = q;
    cells_.resize(cells_.size() + static_cast<std::size_t>(cell.child_count));
    cells_[static_cast<std::size_t>(id)] = cell;
    for (int c = 0; c < cell.child_count; ++c) {
      const int q = used[static_cast<std::size_t>(c)];
      std::array<double, Dim> child_lo = lo, child_hi = hi;
      for (int a = 0; a < Dim; ++a) (q >> a & 1 ? child_lo[a] : child_hi[a]) = mid[a];
      build_cell(cell.first_child + c, y, begin + start[static_cast<std::size_t>(q)], begin + start[static_cast<std::size_t>(q + 1)],
                 child_lo, child_hi, depth + 1);
    }
  }

  std::vector<Cell> cells_;
  std::vector<std::int64_t> index_, scratch_;
};

// The attractive half of eq. (5) exactly over the sparse P, combined with the repulsive forces
// and Z of an approximation (Barnes-Hut or FFT), and the error sum p log(p / q) when asked.
template <int Dim>
double gradient_from_repulsion(const SparseMatrix& p, const std::vector<double>& y, std::int64_t n,
                               const double* repulsion, double z, double* grad, bool compute_error) {
  const double dof = std::max(static_cast<double>(Dim - 1), 1.0);
  const double exponent = (dof + 1.0) / 2.0;
  std::vector<double> row_kl(static_cast<std::size_t>(compute_error ? n : 0), 0.0);
  const double c = 2.0 * (dof + 1.0) / dof;
  parallel_for(0, n, detail::grain_for(static_cast<std::int64_t>(p.column.size()) / std::max<std::int64_t>(n, 1) * 4 * Dim), [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t i = lo; i < hi; ++i) {
      std::array<double, Dim> attraction{};
      const double* yi = &y[static_cast<std::size_t>(i * Dim)];
      for (std::int64_t e = p.row_start[static_cast<std::size_t>(i)]; e < p.row_start[static_cast<std::size_t>(i + 1)]; ++e) {
        const std::int64_t j = p.column[static_cast<std::size_t>(e)];
        const double pij = p.value[static_cast<std::size_t>(e)];
        std::array<double, Dim> diff;
        double d2 = 0.0;
        for (int a = 0; a < Dim; ++a) {
          diff[a] = yi[a] - y[static_cast<std::size_t>(j * Dim + a)];
          d2 += diff[a] * diff[a];
        }
        double q = dof / (dof + d2);
        if (dof != 1.0) q = std::pow(q, exponent);
        if (compute_error)
          row_kl[static_cast<std::size_t>(i)] += pij * std::log(std::max(pij, kFloat32Tiny) / std::max(q / z, kFloat32Tiny));
        for (int a = 0; a < Dim; ++a) attraction[a] += pij * q * diff[a];
      }
      for (int a = 0; a < Dim; ++a) grad[i * Dim + a] = c * (attraction[a] - repulsion[i * Dim + a] / z);
    }
  });
  return compute_error ? sum_in_point_order(row_kl) : std::numeric_limits<double>::quiet_NaN();
}

template <int Dim>
double barnes_hut(const SparseMatrix& p, const std::vector<double>& y, std::int64_t n, double angle, double* grad,
                  bool compute_error) {
  SpaceTree<Dim> tree;
  tree.build(y.data(), n);
  // Repulsive forces and Z = sum_ij (1 + d_ij^2)^-1, one tree walk per point.
  std::vector<double> negative(static_cast<std::size_t>(n * Dim));
  std::vector<double> point_z(static_cast<std::size_t>(n));
  parallel_for(0, n, detail::grain_for(200 * Dim), [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t i = lo; i < hi; ++i)
      point_z[static_cast<std::size_t>(i)] =
          tree.repulsion(&y[static_cast<std::size_t>(i * Dim)], angle * angle, &negative[static_cast<std::size_t>(i * Dim)]);
  });
  const double z = sum_in_point_order(point_z);
  return gradient_from_repulsion<Dim>(p, y, n, negative.data(), z, grad, compute_error);
}

}  // namespace

double kl_gradient_barnes_hut(const SparseMatrix& p, const std::vector<double>& y, std::int64_t n, std::int64_t dims,
                              double angle, double* grad, bool compute_error) {
  switch (dims) {
    case 1: return barnes_hut<1>(p, y, n, angle, grad, compute_error);
    case 2: return barnes_hut<2>(p, y, n, angle, grad, compute_error);
    case 3: return barnes_hut<3>(p, y, n, angle, grad, compute_error);
    default: CAKE_FAIL("TSNE: barnes_hut supports 1 to 3 output dimensions, got ", dims, "; use method=\"exact\"");
  }
}

double kl_gradient_from_repulsion(const SparseMatrix& p, const std::vector<double>& y, std::int64_t n,
                                  std::int64_t dims, const double* repulsion, double z, double* grad,
                                  bool compute_error) {
  switch (dims) {
    case 1: return gradient_from_repulsion<1>(p, y, n, repulsion, z, grad, compute_error);
    case 2: return gradient_from_repulsion<2>(p, y, n, repulsion, z, grad, compute_error);
    case 3: return gradient_from_repulsion<3>(p, y, n, repulsion, z, grad, compute_error);
    default: CAKE_FAIL("TSNE: the sparse gradient supports 1 to 3 output dimensions, got ", dims);
  }
}

}  // namespace tsne

// ---- the estimator --------------------------------------------------------------------------

namespace {

// Squared distances that t-SNE calibrates on: |x_i - x_j|^2 for euclidean (and sqeuclidean),
// 1 - cos for cosine, the given values for precomputed.
template <class T>
std::vector<double> all_distances(const T* x, std::int64_t n, std::int64_t d, const std::string& metric) {
  std::vector<double> out(static_cast<std::size_t>(n * n));
  if (metric == "precomputed") {
    for (std::int64_t i = 0; i < n * n; ++i) out[static_cast<std::size_t>(i)] = static_cast<double>(x[i]);
    return out;
  }
  std::vector<double> norm(static_cast<std::size_t>(n), 1.0);
  if (metric == "cosine")
    for (std::int64_t i = 0; i < n; ++i) {
      double s = 0.0;
      for (std::int64_t j = 0; j < d; ++j) s += static_cast<double>(x[i * d + j]) * x[i * d + j];
      norm[static_cast<std::size_t>(i)] = s > 0.0 ? std::sqrt(s) : 1.0;
    }
  parallel_for(0, n, detail::grain_for(n * d), [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t i = lo; i < hi; ++i)
      for (std::int64_t j = 0; j < n; ++j) {
        double s = 0.0;
        for (std::int64_t a = 0; a < d; ++a) {
          const double diff = static_cast<double>(x[i * d + a]) / norm[static_cast<std::size_t>(i)] -
                              static_cast<double>(x[j * d + a]) / norm[static_cast<std::size_t>(j)];
          s += diff * diff;
        }
        out[static_cast<std::size_t>(i * n + j)] = metric == "cosine" ? 0.5 * s : s;
      }
  });
  return out;
}

// The k nearest neighbours of every point (itself excluded), nearest first, with the distances
// t-SNE uses (as all_distances). Exact: all distances by blocked GEMM, a partial selection per
// row, then the k chosen distances recomputed from the differences for precision.
template <class T>
void nearest_neighbors(const T* x_in, std::int64_t n, std::int64_t d, std::int64_t k, const std::string& metric,
                       std::vector<std::int64_t>& index, std::vector<double>& dist) {
  index.assign(static_cast<std::size_t>(n * k), 0);
  dist.assign(static_cast<std::size_t>(n * k), 0.0);
  auto select = [&](std::int64_t i, std::vector<std::pair<double, std::int64_t>>& row) {
    std::nth_element(row.begin(), row.begin() + k, row.end());
    std::sort(row.begin(), row.begin() + k);
    for (std::int64_t t = 0; t < k; ++t) index[static_cast<std::size_t>(i * k + t)] = row[static_cast<std::size_t>(t)].second;
  };
  if (metric == "precomputed") {
    parallel_for(0, n, detail::grain_for(4 * n), [&](std::int64_t lo, std::int64_t hi) {
      std::vector<std::pair<double, std::int64_t>> row;
      for (std::int64_t i = lo; i < hi; ++i) {
        row.clear();
        for (std::int64_t j = 0; j < n; ++j)
          if (j != i) row.emplace_back(static_cast<double>(x_in[i * n + j]), j);
        select(i, row);
        for (std::int64_t t = 0; t < k; ++t)
          dist[static_cast<std::size_t>(i * k + t)] = static_cast<double>(x_in[i * n + index[static_cast<std::size_t>(i * k + t)]]);
      }
    });
    return;
  }
  // Centre (euclidean) or normalise rows (cosine), in float64, for the GEMM form's precision.
  std::vector<double> x(static_cast<std::size_t>(n * d));
  const std::vector<double> mean = detail::column_means(x_in, n, d);
  for (std::int64_t i = 0; i < n; ++i) {
    double s = 0.0;
    for (std::int64_t j = 0; j < d; ++j) {
      const double v = metric == "cosine" ? static_cast<double>(x_in[i * d + j]) : static_cast<double>(x_in[i * d + j]) - mean[static_cast<std::size_t>(j)];
      x[static_cast<std::size_t>(i * d + j)] = v;
      s += v * v;
    }
    if (metric == "cosine" && s > 0.0)
      for (std::int64_t j = 0; j < d; ++j) x[static_cast<std::size_t>(i * d + j)] /= std::sqrt(s);
  }
  std::vector<double> sq(static_cast<std::size_t>(n));
  detail::row_squared_norms(x.data(), n, d, sq.data());
  detail::for_each_distance_block(x.data(), sq.data(), n, d, x.data(), sq.data(), n,
                                  [&](int, std::int64_t lo, std::int64_t hi, const double* block) {
                                    std::vector<std::pair<double, std::int64_t>> row;
                                    for (std::int64_t i = lo; i < hi; ++i) {
                                      row.clear();
                                      for (std::int64_t j = 0; j < n; ++j)
                                        if (j != i) row.emplace_back(block[(i - lo) * n + j], j);
                                      select(i, row);
                                    }
                                  });
  parallel_for(0, n, detail::grain_for(k * d), [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t i = lo; i < hi; ++i)
      for (std::int64_t t = 0; t < k; ++t) {
        const std::int64_t j = index[static_cast<std::size_t>(i * k + t)];
        const double s = detail::squared_distance(&x[static_cast<std::size_t>(i * d)], &x[static_cast<std::size_t>(j * d)], d);
        dist[static_cast<std::size_t>(i * k + t)] = metric == "cosine" ? 0.5 * s : s;
      }
  });
}

// scikit-learn's _gradient_descent: momentum, gains (+0.2 where the gradient changed sign
// against the update, x0.8 where it kept it, floored at min_gain = 0.01), convergence checked
// every 50 iterations on the error and the gradient norm. Returns (error, last iteration); the
// error at each check is appended to `errors`.
template <class Objective>
std::pair<double, std::int64_t> gradient_descent(const Objective& objective, std::vector<double>& y,
                                                 std::int64_t first_iteration, std::int64_t n_iter,
                                                 std::int64_t n_iter_without_progress, double momentum,
                                                 double learning_rate, double min_grad_norm,
                                                 std::vector<double>& errors,
                                                 const std::function<void(std::int64_t, std::int64_t)>& on_iteration,
                                                 std::int64_t total_iterations) {
  constexpr std::int64_t kCheckEvery = 50;
  constexpr double kMinGain = 0.01;
  const std::size_t size = y.size();
  std::vector<double> update(size, 0.0), gains(size, 1.0), grad(size);
  double error = std::numeric_limits<double>::max(), best_error = std::numeric_limits<double>::max();
  std::int64_t best_iteration = first_iteration, i = first_iteration;
  for (i = first_iteration; i < n_iter; ++i) {
    const bool check = (i + 1) % kCheckEvery == 0;
    error = objective(y, grad.data(), check || i == n_iter - 1);
    double grad_norm_sq = 0.0;
    for (std::size_t t = 0; t < size; ++t) {
      const bool sign_flipped = update[t] * grad[t] < 0.0;
      gains[t] = std::max(sign_flipped ? gains[t] + 0.2 : gains[t] * 0.8, kMinGain);
      grad[t] *= gains[t];
      grad_norm_sq += grad[t] * grad[t];
      update[t] = momentum * update[t] - learning_rate * grad[t];
      y[t] += update[t];
    }
    // A step too large for the forces overflows; once one coordinate is inf or NaN every
    // force is, and the run would end with an embedding of NaN. Stop at once instead.
    const bool error_ok = !(check || i == n_iter - 1) || std::isfinite(error);
    CAKE_CHECK(error_ok && std::isfinite(grad_norm_sq) &&
                   std::all_of(y.begin(), y.end(), [](double v) { return std::isfinite(v); }),
               "TSNE: the optimisation diverged at iteration ", i + 1, ": the ",
               error_ok ? "embedding" : "KL divergence", " became non-finite (learning_rate ", learning_rate,
               " is too large for these data; try a smaller one)");
    if (on_iteration) on_iteration(i + 1, total_iterations);
    if (check) {
      errors.push_back(error);
      if (error < best_error) {
        best_error = error;
        best_iteration = i;
      } else if (i - best_iteration > n_iter_without_progress) {
        break;
      }
      if (std::sqrt(grad_norm_sq) <= min_grad_norm) break;
    }
  }
  return {error, std::min(i, n_iter - 1)};
}

void check_options(const TSNEOptions& o) {
  CAKE_CHECK(o.n_components >= 1, "TSNE: n_components must be at least 1, got ", o.n_components);
  CAKE_CHECK(o.perplexity > 0.0, "TSNE: perplexity must be positive, got ", o.perplexity);
  CAKE_CHECK(o.early_exaggeration >= 1.0, "TSNE: early_exaggeration must be at least 1, got ", o.early_exaggeration);
  CAKE_CHECK(o.learning_rate == -1.0 || o.learning_rate > 0.0, "TSNE: learning_rate must be positive or -1 (auto), got ",
             o.learning_rate);
  CAKE_CHECK(o.n_iter >= 250, "TSNE: n_iter must be at least 250, got ", o.n_iter);
  CAKE_CHECK(o.metric == "euclidean" || o.metric == "sqeuclidean" || o.metric == "cosine" || o.metric == "precomputed",
             "TSNE: unknown metric \"", o.metric, "\" (expected \"euclidean\", \"sqeuclidean\", \"cosine\" or \"precomputed\")");
  CAKE_CHECK(o.init == "pca" || o.init == "random", "TSNE: unknown init \"", o.init, "\" (expected \"pca\" or \"random\")");
  CAKE_CHECK(o.method == "barnes_hut" || o.method == "exact" || o.method == "fft", "TSNE: unknown method \"", o.method,
             "\" (expected \"barnes_hut\", \"exact\" or \"fft\")");
  CAKE_CHECK(o.angle >= 0.0 && o.angle <= 1.0, "TSNE: angle must be in [0, 1], got ", o.angle);
  CAKE_CHECK(o.method == "exact" || o.n_components <= 3, "TSNE: barnes_hut supports n_components <= 3, got ",
             o.n_components, "; use method=\"exact\"");
  CAKE_CHECK(o.method != "fft" || o.n_components <= 2, "TSNE: fft supports n_components <= 2, got ", o.n_components,
             "; use method=\"barnes_hut\" or \"exact\"");
  CAKE_CHECK(o.n_interpolation_points >= 1, "TSNE: n_interpolation_points must be at least 1, got ",
             o.n_interpolation_points);
  CAKE_CHECK(o.min_num_intervals >= 1, "TSNE: min_num_intervals must be at least 1, got ", o.min_num_intervals);
  CAKE_CHECK(o.intervals_per_integer > 0.0, "TSNE: intervals_per_integer must be positive, got ", o.intervals_per_integer);
  if (o.method == "fft") {
    // The grid has min_num_intervals x n_interpolation_points nodes per dimension at least:
    // beyond the limit each iteration costs seconds (and hundreds of MB) whatever N is.
    const std::int64_t max_nodes = o.n_components == 1 ? kTsneFftMaxNodes1d : kTsneFftMaxNodes2d;
    CAKE_CHECK(o.n_interpolation_points <= max_nodes && o.min_num_intervals <= max_nodes / o.n_interpolation_points,
               "TSNE: fft: min_num_intervals (", o.min_num_intervals, ") x n_interpolation_points (",
               o.n_interpolation_points, ") must be at most ", max_nodes, " grid nodes per dimension in ",
               o.n_components, "-D (the defaults are 50 x 3)");
  }
  CAKE_CHECK(!(o.metric == "precomputed" && o.init == "pca" && !o.init_embedding.defined()),
             "TSNE: init=\"pca\" needs feature vectors; with metric=\"precomputed\" use init=\"random\"");
}

}  // namespace

TSNE::TSNE(TSNEOptions options) : options_(std::move(options)) { check_options(options_); }

TSNE& TSNE::fit(const Tensor& X_in) {
  const TSNEOptions& o = options_;
  const Tensor X = detail::data_matrix(X_in, "TSNE.fit", 2);
  const std::int64_t n = X.size(0), d = X.size(1), dims = o.n_components;
  if (o.metric == "precomputed") {
    CAKE_CHECK(d == n, "TSNE.fit: metric=\"precomputed\" expects a square distance matrix, got shape ", X.sizes());
    CAKE_CHECK(X.min().item<double>() >= 0.0, "TSNE.fit: a precomputed distance matrix must be non-negative");
  }
  CAKE_CHECK(o.init != "pca" || o.init_embedding.defined() || d >= dims, "TSNE.fit: init=\"pca\" needs at least ",
             dims, " features for ", dims, " components, got shape ", X.sizes(), "; use init=\"random\"");
  CAKE_CHECK(o.perplexity < static_cast<double>(n), "TSNE.fit: perplexity (", o.perplexity,
             ") must be less than the number of samples (", n, ")");
  detail::SeedScope seed(o.random_state);
  learning_rate_ = o.learning_rate > 0.0 ? o.learning_rate : std::max(static_cast<double>(n) / o.early_exaggeration / 4.0, 50.0);

  // Input similarities.
  std::vector<double> p_dense;
  tsne::SparseMatrix p_sparse;
  const bool exact = o.method == "exact";
  visit_floating(X.dtype(), "TSNE.fit", [&]<class T>() {
    const T* x = X.data_ptr<T>();
    if (exact) {
      p_dense = tsne::joint_probabilities(all_distances(x, n, d, o.metric), n, o.perplexity);
    } else {
      const std::int64_t k = std::min<std::int64_t>(n - 1, static_cast<std::int64_t>(3.0 * o.perplexity + 1.0));
      std::vector<std::int64_t> neighbors;
      std::vector<double> dist;
      nearest_neighbors(x, n, d, k, o.metric, neighbors, dist);
      p_sparse = tsne::joint_probabilities_nn(neighbors, dist, n, k, o.perplexity);
    }
  });

  // Initial embedding: given, PCA scaled so that the first coordinate has std 1e-4, or N(0, 1e-4^2).
  std::vector<double> y(static_cast<std::size_t>(n * dims));
  if (o.init_embedding.defined()) {
    CAKE_CHECK(o.init_embedding.sizes() == (Shape{n, dims}), "TSNE.fit: init_embedding must have shape [", n, ", ",
               dims, "], got ", o.init_embedding.sizes());
    const Tensor e = o.init_embedding.detach().cpu().to(kFloat64).contiguous();
    std::copy(e.data_ptr<double>(), e.data_ptr<double>() + n * dims, y.begin());
  } else if (o.init == "pca") {
    // On one thread, so that the start, and from it the whole descent, does not depend on the
    // thread count (algorithms/detail/one_thread.h).
    const Tensor z =
        detail::on_one_thread([&] { return PCA({.n_components = dims}).fit_transform(X); }).to(kFloat64).contiguous();
    const double* zp = z.data_ptr<double>();
    double mean = 0.0, var = 0.0;
    for (std::int64_t i = 0; i < n; ++i) mean += zp[i * dims] / static_cast<double>(n);
    for (std::int64_t i = 0; i < n; ++i) var += (zp[i * dims] - mean) * (zp[i * dims] - mean) / static_cast<double>(n);
    const double scale = var > 0.0 ? 1e-4 / std::sqrt(var) : 1.0;
    for (std::int64_t i = 0; i < n * dims; ++i) y[static_cast<std::size_t>(i)] = zp[i] * scale;
  } else {
    const std::vector<double> z = detail::normal_draws(n * dims);
    for (std::size_t i = 0; i < y.size(); ++i) y[i] = 1e-4 * z[i];
  }

  // Optimisation: 250 iterations of early exaggeration with momentum 0.5, then the rest at 0.8.
  double exaggeration = o.early_exaggeration;
  const tsne::FftOptions fft_options{.n_interpolation_points = o.n_interpolation_points,
                                     .min_num_intervals = o.min_num_intervals,
                                     .intervals_per_integer = o.intervals_per_integer};
  tsne::FftWorkspace fft_workspace;  // grids and plans reused across iterations
  // The exact gradient on a device: P lives there (rescaled with the exaggeration below), the
  // embedding goes there and the gradient comes back each step (n x dims numbers each way).
  const bool on_device = exact && !o.device.is_cpu();
  Tensor p_device = on_device ? tensor(p_dense, {n, n}).to(o.device) : Tensor();
  auto objective = [&](const std::vector<double>& yy, double* grad, bool compute_error) {
    if (on_device) {
      const algorithms::detail::TsneGradient g = algorithms::detail::tsne_exact_gradient(p_device, tensor(yy, {n, dims}).to(o.device));
      const Tensor host = g.gradient.to(kCPU).contiguous();
      std::copy(host.data_ptr<double>(), host.data_ptr<double>() + n * dims, grad);
      return compute_error ? g.kl.to(kCPU).item<double>() : std::numeric_limits<double>::quiet_NaN();
    }
    if (exact) return tsne::kl_gradient_exact(p_dense, yy, n, dims, grad, compute_error);
    if (o.method == "fft")
      return tsne::kl_gradient_fft(p_sparse, yy, n, dims, fft_options, grad, compute_error, fft_workspace);
    return tsne::kl_gradient_barnes_hut(p_sparse, yy, n, dims, o.angle, grad, compute_error);
  };
  auto scale_p = [&](double factor) {
    for (double& v : p_dense) v *= factor;
    for (double& v : p_sparse.value) v *= factor;
    if (p_device.defined()) p_device = p_device * factor;
  };
  constexpr std::int64_t kExplorationIterations = 250;
  scale_p(exaggeration);
  kl_history_.clear();
  auto [kl, it] = gradient_descent(objective, y, 0, kExplorationIterations, kExplorationIterations, 0.5, learning_rate_,
                                   o.min_grad_norm, kl_history_, o.on_iteration, o.n_iter);
  scale_p(1.0 / exaggeration);
  if (it < kExplorationIterations || o.n_iter - kExplorationIterations > 0) {
    std::tie(kl, it) = gradient_descent(objective, y, it + 1, o.n_iter, o.n_iter_without_progress, 0.8, learning_rate_,
                                        o.min_grad_norm, kl_history_, o.on_iteration, o.n_iter);
  }
  kl_divergence_ = kl;
  n_iter_ = it;
  Tensor out = empty({n, dims}, kFloat64);
  std::copy(y.begin(), y.end(), out.data_ptr<double>());
  embedding_ = X.dtype() == kFloat64 ? out : out.to(X.dtype());
  return *this;
}

Tensor TSNE::fit_transform(const Tensor& X) { return fit(X).embedding_; }

void TSNE::check_fitted(const char* who) const {
  CAKE_CHECK(embedding_.defined(), who, ": this TSNE is not fitted yet; call fit first");
}
const Tensor& TSNE::embedding() const {
  check_fitted("TSNE.embedding");
  return embedding_;
}
double TSNE::kl_divergence() const {
  check_fitted("TSNE.kl_divergence");
  return kl_divergence_;
}
const std::vector<double>& TSNE::kl_history() const {
  check_fitted("TSNE.kl_history");
  return kl_history_;
}
std::int64_t TSNE::n_iter() const {
  check_fitted("TSNE.n_iter");
  return n_iter_;
}
double TSNE::learning_rate() const {
  check_fitted("TSNE.learning_rate");
  return learning_rate_;
}

}  // namespace cake::manifold
