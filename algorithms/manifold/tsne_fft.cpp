// tsne_fft.cpp: the FFT-accelerated interpolation gradient of t-SNE (FIt-SNE, Linderman et al.
// 2019) for 1-D and 2-D embeddings; tsne.h has the maths. One call is five steps:
//   1. the grid: bounding box, intervals, node spacing (make_grid);
//   2. per point: its interval and the Lagrange weights of its interval's nodes (interpolation_weights);
//   3. spread the charges (1, y, |y|^2) onto the nodes (spread_charges);
//   4. convolve every charge grid with the kernel K = (1 + r^2)^-2 by FFT (convolve);
//   5. interpolate the potentials back to the points, giving the repulsion and Z (gather_potentials),
// then the shared attractive half (kl_gradient_from_repulsion).
#include <algorithm>
#include <array>
#include <cmath>
#include <optional>

#include "cake/algorithms/detail/common.h"
#include "cake/algorithms/detail/fft.h"
#include "cake/algorithms/manifold/tsne.h"

namespace cake::manifold::tsne {

namespace detail = algorithms::detail;  // the shared kernels (algorithms/detail/)

using detail::Complex;

// The buffers of one caller, sized for the last grid and reused (see FftWorkspace).
struct FftWorkspace::State {
  std::vector<std::int64_t> interval;    // [n x dims] the interval of each point along each dimension
  std::vector<double> weight;            // [n x dims x p] Lagrange weights of the interval's p nodes
  std::vector<std::int64_t> row_start;   // points bucketed by interval along dimension 0 (CSR)
  std::vector<std::int64_t> row_point;
  std::vector<Complex> charges;          // [packed x L^dims] two real charge grids per complex grid
  std::vector<Complex> kernel;           // [L^dims] the circulant kernel, then its DFT
  std::vector<double> repulsion;         // [n x dims]
  std::vector<double> node_scale;        // [p] 1 / prod_{m != j} (s_j - s_m), Lagrange denominators
  std::vector<double> near_kernel;       // [p x p] K at node offsets (the self-interaction)
  std::int64_t planned_length = 0;       // L the plans below were made for
  std::optional<detail::Fft> fft_1d;
  std::optional<detail::Fft2d> fft_2d;
};

FftWorkspace::FftWorkspace() : state_(std::make_unique<State>()) {}
FftWorkspace::~FftWorkspace() = default;
FftWorkspace::FftWorkspace(FftWorkspace&&) noexcept = default;
FftWorkspace& FftWorkspace::operator=(FftWorkspace&&) noexcept = default;

namespace {

// At most this many intervals per dimension: an embedding that spreads far (a diverging run)
// gets wider intervals, hence less accuracy, rather than a grid that exhausts memory
// (2-D: 500 intervals of 3 nodes pad to 3000^2 complex values, 144 MB per grid).
constexpr std::int64_t kMaxIntervals1d = 100000;
constexpr std::int64_t kMaxIntervals2d = 500;

// The equispaced grid over the embedding's bounding box. Interval b covers
// [lo + b width, lo + (b + 1) width); its nodes sit at the centres of p equal sub-intervals,
// lo + (b p + j + 1/2) spacing, so the nodes of all intervals together are equispaced too.
struct Grid {
  double lo = 0.0, centre = 0.0;  // box start and centre (the same box along every dimension)
  double width = 1.0;             // of an interval
  double spacing = 1.0;           // between nodes, width / p
  std::int64_t intervals = 0;     // per dimension
  std::int64_t nodes = 0;         // per dimension: intervals * p
  std::int64_t length = 0;        // padded FFT length per dimension, >= 2 nodes
};

Grid make_grid(const std::vector<double>& y, int dims, const FftOptions& o) {
  const auto [min_it, max_it] = std::minmax_element(y.begin(), y.end());
  CAKE_CHECK(std::all_of(y.begin(), y.end(), [](double v) { return std::isfinite(v); }),
             "TSNE: fft: the embedding holds non-finite values (the optimisation diverged; try a smaller learning_rate)");
  double extent = *max_it - *min_it;
  if (!(extent > 0.0)) extent = 1.0;  // all points at one place: any box holds them
  Grid g;
  g.lo = *min_it;
  g.centre = *min_it + 0.5 * extent;
  const double wanted = std::max(static_cast<double>(o.min_num_intervals), extent / o.intervals_per_integer);
  const std::int64_t cap = dims == 1 ? kMaxIntervals1d : kMaxIntervals2d;
  // next_fast_length keeps 2 p intervals FFT-friendly whenever p is (the default p = 3 is).
  g.intervals = detail::next_fast_length(std::min(static_cast<std::int64_t>(std::ceil(std::min(wanted, 1e9))), cap));
  g.width = extent / static_cast<double>(g.intervals);
  g.spacing = g.width / static_cast<double>(o.n_interpolation_points);
  g.nodes = g.intervals * o.n_interpolation_points;
  // A circular convolution of length L >= 2 nodes - 1 equals the linear one on the first
  // `nodes` entries; 2 nodes keeps the kernel's circulant embedding symmetric.
  g.length = detail::next_fast_length(2 * g.nodes);
  return g;
}

// Step 2. For every point and dimension: its interval b and the weights L_j(u) of the
// interval's nodes at the point's position u in [0, 1] inside the interval,
//     L_j(u) = prod_{m != j} (u - s_m) / (s_j - s_m),   s_j = (j + 1/2) / p,
// so that f(y_i) ~ sum_j L_j(u_i) f(node_j) for any smooth f (Lagrange interpolation); also
// the points bucketed by their interval along dimension 0 (a counting sort, stable).
template <int Dim>
void interpolation_weights(const std::vector<double>& y, std::int64_t n, const Grid& g, std::int64_t p,
                           FftWorkspace::State& s) {
  s.node_scale.resize(static_cast<std::size_t>(p));
  for (std::int64_t j = 0; j < p; ++j) {
    double denominator = 1.0;
    for (std::int64_t m = 0; m < p; ++m)
      if (m != j) denominator *= static_cast<double>(j - m) / static_cast<double>(p);
    s.node_scale[static_cast<std::size_t>(j)] = 1.0 / denominator;
  }
  s.interval.resize(static_cast<std::size_t>(n * Dim));
  s.weight.resize(static_cast<std::size_t>(n * Dim * p));
  parallel_for(0, n, detail::grain_for(Dim * p * p * 2), [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t i = lo; i < hi; ++i)
      for (int a = 0; a < Dim; ++a) {
        const double t = (y[static_cast<std::size_t>(i * Dim + a)] - g.lo) / g.width;
        const std::int64_t b = std::clamp<std::int64_t>(static_cast<std::int64_t>(t), 0, g.intervals - 1);
        const double u = t - static_cast<double>(b);
        s.interval[static_cast<std::size_t>(i * Dim + a)] = b;
        double* w = &s.weight[static_cast<std::size_t>((i * Dim + a) * p)];
        for (std::int64_t j = 0; j < p; ++j) {
          double product = s.node_scale[static_cast<std::size_t>(j)];
          for (std::int64_t m = 0; m < p; ++m)
            if (m != j) product *= u - (static_cast<double>(m) + 0.5) / static_cast<double>(p);
          w[j] = product;
        }
      }
  });
  s.row_start.assign(static_cast<std::size_t>(g.intervals + 1), 0);
  for (std::int64_t i = 0; i < n; ++i) ++s.row_start[static_cast<std::size_t>(s.interval[static_cast<std::size_t>(i * Dim)] + 1)];
  for (std::int64_t b = 0; b < g.intervals; ++b) s.row_start[static_cast<std::size_t>(b + 1)] += s.row_start[static_cast<std::size_t>(b)];
  s.row_point.resize(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    std::int64_t& next = s.row_start[static_cast<std::size_t>(s.interval[static_cast<std::size_t>(i * Dim)])];
    s.row_point[static_cast<std::size_t>(next++)] = i;
  }
  // The fill advanced every start to the next bucket's: shift back.
  for (std::int64_t b = g.intervals; b > 0; --b) s.row_start[static_cast<std::size_t>(b)] = s.row_start[static_cast<std::size_t>(b - 1)];
  s.row_start[0] = 0;
}

// The charges of point i, relative to the box centre (the sums are translation invariant, and
// small coordinates keep |y|^2 from swamping the other terms of Z): 1, y (Dim values), |y|^2.
template <int Dim>
std::array<double, Dim + 2> point_charges(const std::vector<double>& y, std::int64_t i, double centre) {
  std::array<double, Dim + 2> v;
  v[0] = 1.0;
  double sq = 0.0;
  for (int a = 0; a < Dim; ++a) {
    const double c = y[static_cast<std::size_t>(i * Dim + a)] - centre;
    v[static_cast<std::size_t>(1 + a)] = c;
    sq += c * c;
  }
  v[Dim + 1] = sq;
  return v;
}

// Step 3. w_l = sum_i L_l(y_i) v(y_i) on every node l: charge 2k in the real and 2k + 1 in the
// imaginary part of complex grid k (the convolution with a real kernel keeps them apart).
// Points of different intervals along dimension 0 touch disjoint node rows, so the intervals
// run in parallel without races and every node is summed in the same order on any thread count.
template <int Dim>
void spread_charges(const std::vector<double>& y, const Grid& g, std::int64_t p, FftWorkspace::State& s) {
  constexpr int kCharges = Dim + 2, kPacked = (kCharges + 1) / 2;
  const std::int64_t grid_size = Dim == 1 ? g.length : g.length * g.length;
  s.charges.assign(static_cast<std::size_t>(kPacked * grid_size), Complex{});
  const std::int64_t per_interval = std::max<std::int64_t>(1, static_cast<std::int64_t>(s.row_point.size()) / g.intervals);
  parallel_for(0, g.intervals, detail::grain_for(per_interval * p * p * kCharges), [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t b = lo; b < hi; ++b)
      for (std::int64_t t = s.row_start[static_cast<std::size_t>(b)]; t < s.row_start[static_cast<std::size_t>(b + 1)]; ++t) {
        const std::int64_t i = s.row_point[static_cast<std::size_t>(t)];
        const std::array<double, kCharges> v = point_charges<Dim>(y, i, g.centre);
        std::array<Complex, kPacked> packed;
        for (int k = 0; k < kPacked; ++k) packed[k] = {v[2 * k], 2 * k + 1 < kCharges ? v[2 * k + 1] : 0.0};
        const double* w0 = &s.weight[static_cast<std::size_t>(i * Dim * p)];
        for (std::int64_t j0 = 0; j0 < p; ++j0) {
          const std::int64_t row = b * p + j0;
          if constexpr (Dim == 1) {
            for (int k = 0; k < kPacked; ++k) s.charges[static_cast<std::size_t>(k * grid_size + row)] += w0[j0] * packed[k];
          } else {
            const double* w1 = w0 + p;
            const std::int64_t first_column = s.interval[static_cast<std::size_t>(i * Dim + 1)] * p;
            for (std::int64_t j1 = 0; j1 < p; ++j1) {
              const double w = w0[j0] * w1[j1];
              const std::int64_t node = row * g.length + first_column + j1;
              for (int k = 0; k < kPacked; ++k) s.charges[static_cast<std::size_t>(k * grid_size + node)] += w * packed[k];
            }
          }
        }
      }
  });
}

// Step 4. phi_l = sum_m K(node_l - node_m) w_m, a Toeplitz product (K depends on l - m only),
// as a circular convolution: the kernel vector c_t = K(t h) for |t| < nodes (indices t and
// L - t), 0 between, so that (c * w)_l = phi_l for l < nodes; convolution = pointwise product
// of DFTs. The circulant is even, so its DFT is real.
template <int Dim>
void convolve(const Grid& g, FftWorkspace::State& s) {
  constexpr int kPacked = (Dim + 3) / 2;
  const std::int64_t L = g.length, grid_size = Dim == 1 ? L : L * L;
  if (s.planned_length != L) {
    if constexpr (Dim == 1) s.fft_1d.emplace(L); else s.fft_2d.emplace(L, L);
    s.planned_length = L;
  }
  // Signed offset in nodes of circulant index t, or -1 where the embedding is zero.
  auto offset = [&](std::int64_t t) -> std::int64_t { return t < g.nodes ? t : (t > L - g.nodes ? L - t : -1); };
  auto kernel = [&](double r2) {
    const double w = 1.0 / (1.0 + r2);
    return w * w;
  };
  s.kernel.resize(static_cast<std::size_t>(grid_size));
  const double h2 = g.spacing * g.spacing;
  parallel_for(0, Dim == 1 ? 1 : L, detail::grain_for(4 * L), [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t r = lo; r < hi; ++r) {
      const std::int64_t dr = Dim == 1 ? 0 : offset(r);
      for (std::int64_t c = 0; c < L; ++c) {
        const std::int64_t dc = offset(c);
        const bool inside = dr >= 0 && dc >= 0;
        s.kernel[static_cast<std::size_t>(r * L + c)] = inside ? kernel(h2 * static_cast<double>(dr * dr + dc * dc)) : 0.0;
      }
    }
  });
  if constexpr (Dim == 1) {
    s.fft_1d->forward(s.kernel.data());
    for (int k = 0; k < kPacked; ++k) s.fft_1d->forward(s.charges.data() + k * grid_size);
  } else {
    s.fft_2d->forward(s.kernel.data());
    s.fft_2d->forward(s.charges.data(), g.nodes, kPacked);  // rows >= nodes are zero
  }
  parallel_for(0, grid_size, detail::grain_for(4 * kPacked), [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t t = lo; t < hi; ++t) {
      const double spectrum = s.kernel[static_cast<std::size_t>(t)].real();
      for (int k = 0; k < kPacked; ++k) s.charges[static_cast<std::size_t>(k * grid_size + t)] *= spectrum;
    }
  });
  if constexpr (Dim == 1) {
    for (int k = 0; k < kPacked; ++k) s.fft_1d->inverse(s.charges.data() + k * grid_size);
  } else {
    s.fft_2d->inverse(s.charges.data(), g.nodes, kPacked);  // only rows < nodes are read back
  }
}

// Step 5. phi_c(y_i) = sum_l L_l(y_i) phi_c(node_l), then (tsne.h)
//     repulsion_i = y_i phi_1 - phi_y,   z_i = (1 + |y_i|^2) phi_1 - 2 y_i . phi_y + phi_|y|^2,
// and returns Z = sum_i (z_i - K~(y_i, y_i)). The interpolation replaces K by
// K~(y, z) = sum_{l,m} L_l(y) K(node_l - node_m) L_m(z), so z_i holds the term j = i as
// K~(y_i, y_i), not K(0) = 1: FIt-SNE subtracts N, which leaves an error of sum_i (K~_ii - 1),
// up to ~10% of K(0) per point when intervals are as wide as the kernel (width 1); in a sparse
// embedding that is several percent of Z. Subtracting K~_ii itself (p^2d products from a
// small table of K at node offsets) removes it.
template <int Dim>
double gather_potentials(const std::vector<double>& y, std::int64_t n, const Grid& g, std::int64_t p,
                         FftWorkspace::State& s) {
  constexpr int kCharges = Dim + 2;
  const std::int64_t grid_size = Dim == 1 ? g.length : g.length * g.length;
  s.repulsion.resize(static_cast<std::size_t>(n * Dim));
  // K at node offsets within one interval: near[d0 p + d1] = K(h^2 (d0^2 + d1^2)), d < p.
  s.near_kernel.resize(static_cast<std::size_t>(p * p));
  for (std::int64_t d0 = 0; d0 < p; ++d0)
    for (std::int64_t d1 = 0; d1 < p; ++d1) {
      const double w = 1.0 / (1.0 + g.spacing * g.spacing * static_cast<double>(d0 * d0 + (Dim == 1 ? 0 : d1 * d1)));
      s.near_kernel[static_cast<std::size_t>(d0 * p + d1)] = w * w;
    }
  auto self_interaction = [&](const double* w0) {  // K~(y_i, y_i) = sum_{l, m} L_l L_m K(node_l - node_m)
    double sum = 0.0;
    for (std::int64_t j0 = 0; j0 < p; ++j0)
      for (std::int64_t m0 = 0; m0 < p; ++m0) {
        const double w = w0[j0] * w0[m0];
        const double* row = &s.near_kernel[static_cast<std::size_t>(std::abs(j0 - m0) * p)];
        if constexpr (Dim == 1) {
          sum += w * row[0];
        } else {
          const double* w1 = w0 + p;
          double inner = 0.0;
          for (std::int64_t j1 = 0; j1 < p; ++j1)
            for (std::int64_t m1 = 0; m1 < p; ++m1) inner += w1[j1] * w1[m1] * row[std::abs(j1 - m1)];
          sum += w * inner;
        }
      }
    return sum;
  };
  // Each point's share of Z, added in point order afterwards (NOTE [ t-SNE's sums in point order ]
  // in tsne.cpp): per-thread partial sums would round by the thread count.
  std::vector<double> point_z(static_cast<std::size_t>(n));
  parallel_for(0, n, detail::grain_for(p * p * kCharges * 2), [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t i = lo; i < hi; ++i) {
      std::array<double, kCharges> phi{};
      const double* w0 = &s.weight[static_cast<std::size_t>(i * Dim * p)];
      const std::int64_t first_row = s.interval[static_cast<std::size_t>(i * Dim)] * p;
      auto add_node = [&](double w, std::int64_t node) {
        for (int c = 0; c < kCharges; ++c) {
          const Complex value = s.charges[static_cast<std::size_t>((c / 2) * grid_size + node)];
          phi[static_cast<std::size_t>(c)] += w * (c % 2 == 0 ? value.real() : value.imag());
        }
      };
      for (std::int64_t j0 = 0; j0 < p; ++j0) {
        if constexpr (Dim == 1) {
          add_node(w0[j0], first_row + j0);
        } else {
          const double* w1 = w0 + p;
          const std::int64_t first_column = s.interval[static_cast<std::size_t>(i * Dim + 1)] * p;
          for (std::int64_t j1 = 0; j1 < p; ++j1) add_node(w0[j0] * w1[j1], (first_row + j0) * g.length + first_column + j1);
        }
      }
      const std::array<double, kCharges> v = point_charges<Dim>(y, i, g.centre);
      double zi = (1.0 + v[Dim + 1]) * phi[0] + phi[Dim + 1];
      for (int a = 0; a < Dim; ++a) {
        s.repulsion[static_cast<std::size_t>(i * Dim + a)] = v[static_cast<std::size_t>(1 + a)] * phi[0] - phi[static_cast<std::size_t>(1 + a)];
        zi -= 2.0 * v[static_cast<std::size_t>(1 + a)] * phi[static_cast<std::size_t>(1 + a)];
      }
      point_z[static_cast<std::size_t>(i)] = zi - self_interaction(w0);
    }
  });
  double z = 0.0;
  for (const double share : point_z) z += share;
  return z;
}

template <int Dim>
double fft_gradient(const SparseMatrix& p, const std::vector<double>& y, std::int64_t n, const FftOptions& o,
                    double* grad, bool compute_error, FftWorkspace::State& s) {
  const Grid g = make_grid(y, Dim, o);
  interpolation_weights<Dim>(y, n, g, o.n_interpolation_points, s);
  spread_charges<Dim>(y, g, o.n_interpolation_points, s);
  convolve<Dim>(g, s);
  const double z = gather_potentials<Dim>(y, n, g, o.n_interpolation_points, s);
  return kl_gradient_from_repulsion(p, y, n, Dim, s.repulsion.data(), z, grad, compute_error);
}

void check_fft_arguments(const SparseMatrix& p, const std::vector<double>& y, std::int64_t n, std::int64_t dims,
                         const FftOptions& o) {
  CAKE_CHECK(dims == 1 || dims == 2, "TSNE: fft supports 1 or 2 output dimensions, got ", dims,
             "; use method=\"barnes_hut\" or \"exact\"");
  CAKE_CHECK(n >= 1 && static_cast<std::int64_t>(y.size()) == n * dims, "TSNE: fft expects an embedding of ", n, " x ",
             dims, " values, got ", y.size());
  CAKE_CHECK(p.n == n && static_cast<std::int64_t>(p.row_start.size()) == n + 1, "TSNE: fft expects P of ", n,
             " rows, got ", p.n);
  CAKE_CHECK(o.n_interpolation_points >= 1, "TSNE: n_interpolation_points must be at least 1, got ", o.n_interpolation_points);
  CAKE_CHECK(o.min_num_intervals >= 1, "TSNE: min_num_intervals must be at least 1, got ", o.min_num_intervals);
  CAKE_CHECK(o.intervals_per_integer > 0.0, "TSNE: intervals_per_integer must be positive, got ", o.intervals_per_integer);
}

}  // namespace

double kl_gradient_fft(const SparseMatrix& p, const std::vector<double>& y, std::int64_t n, std::int64_t dims,
                       const FftOptions& options, double* grad, bool compute_error, FftWorkspace& workspace) {
  check_fft_arguments(p, y, n, dims, options);
  return dims == 1 ? fft_gradient<1>(p, y, n, options, grad, compute_error, workspace.state())
                   : fft_gradient<2>(p, y, n, options, grad, compute_error, workspace.state());
}

double kl_gradient_fft(const SparseMatrix& p, const std::vector<double>& y, std::int64_t n, std::int64_t dims,
                       const FftOptions& options, double* grad, bool compute_error) {
  FftWorkspace workspace;
  return kl_gradient_fft(p, y, n, dims, options, grad, compute_error, workspace);
}

}  // namespace cake::manifold::tsne
