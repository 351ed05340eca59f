#include "cake/algorithms/decomposition/nmf.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <tuple>
#include <vector>

#include "cake/algorithms/detail/common.h"
#include "cake/tensor/creation.h"
#include "cake/tensor/linalg.h"
#include "cake/tensor/parallel.h"

namespace cake::decomposition {

namespace detail = algorithms::detail;  // the shared kernels (algorithms/detail/)

using blas::gemm;
using index_t = std::int64_t;

NMFInit parse_nmf_init(const std::string& name) {
  if (name == "auto" || name == "None") return NMFInit::Auto;
  if (name == "nndsvd") return NMFInit::NNDSVD;
  if (name == "nndsvda") return NMFInit::NNDSVDA;
  if (name == "nndsvdar") return NMFInit::NNDSVDAR;
  if (name == "random") return NMFInit::Random;
  CAKE_FAIL("NMF: unknown init '", name, "' (expected auto, nndsvd, nndsvda, nndsvdar or random)");
}

NMFSolver parse_nmf_solver(const std::string& name) {
  if (name == "cd") return NMFSolver::CoordinateDescent;
  if (name == "mu") return NMFSolver::MultiplicativeUpdate;
  CAKE_FAIL("NMF: unknown solver '", name, "' (expected cd or mu)");
}

namespace {

// ---- Step 1: initialisation --------------------------------------------------------------------

template <class T>
T mean_of(const Tensor& x) {
  const T* p = x.data_ptr<T>();
  double s = 0;
  for (index_t i = 0; i < x.numel(); ++i) s += p[i];
  return static_cast<T>(s / static_cast<double>(x.numel()));
}

// NNDSVD (Boutsidis & Gallopoulos 2008, Table 1): the leading singular triplet gives the first
// factor (it can be chosen non-negative, Perron-Frobenius); each later triplet (u, s, v) is
// split into its positive and negative parts and the pair (u+, v+) or (u-, v-) with the larger
// norm product m is kept, scaled by sqrt(s m). Zeros are then kept (NNDSVD), filled with the
// mean of X (NNDSVDA) or with small random values (NNDSVDAR).
template <class T>
std::pair<Tensor, Tensor> nndsvd(const Tensor& x, index_t k, NMFInit variant) {
  const index_t m = x.size(0), n = x.size(1);
  auto [u, s, vh] = linalg::randomized_svd(x, k, {.normalizer = "QR"});
  Tensor w = zeros({m, k}, x.dtype()), h = zeros({k, n}, x.dtype());
  T* pw = w.data_ptr<T>();
  T* ph = h.data_ptr<T>();
  const T* pu = u.data_ptr<T>();
  const T* ps = s.data_ptr<T>();
  const T* pv = vh.data_ptr<T>();
  auto norm_of_part = [](auto get, index_t len, bool positive) {
    double sum = 0;
    for (index_t i = 0; i < len; ++i) {
      const double v = positive ? std::max<double>(get(i), 0) : std::max<double>(-get(i), 0);
      sum += v * v;
    }
    return std::sqrt(sum);
  };
  for (index_t j = 0; j < k; ++j) {
    auto uj = [&](index_t i) { return pu[i * k + j]; };
    auto vj = [&](index_t i) { return pv[j * n + i]; };
    if (j == 0) {
      const T root = std::sqrt(ps[0]);
      for (index_t i = 0; i < m; ++i) pw[i * k] = root * std::abs(uj(i));
      for (index_t i = 0; i < n; ++i) ph[i] = root * std::abs(vj(i));
      continue;
    }
    const double up = norm_of_part(uj, m, true), un = norm_of_part(uj, m, false);
    const double vp = norm_of_part(vj, n, true), vn = norm_of_part(vj, n, false);
    const bool positive = up * vp > un * vn;
    const double mass = positive ? up * vp : un * vn;
    const double unorm = positive ? up : un, vnorm = positive ? vp : vn;
    if (mass == 0) continue;  // no usable part: left at zero, filled below
    const double scale = std::sqrt(static_cast<double>(ps[j]) * mass);
    const double sign = positive ? 1.0 : -1.0;
    for (index_t i = 0; i < m; ++i)
      pw[i * k + j] = static_cast<T>(scale * std::max(sign * uj(i), 0.0) / unorm);
    for (index_t i = 0; i < n; ++i) ph[j * n + i] = static_cast<T>(scale * std::max(sign * vj(i), 0.0) / vnorm);
  }
  // Tiny entries are zeros (Boutsidis & Gallopoulos' threshold, scikit-learn's eps = 1e-6).
  const T eps = T(1e-6);
  const T avg = mean_of<T>(x);
  std::vector<double> noise;
  index_t next_noise = 0;
  if (variant == NMFInit::NNDSVDAR) noise = detail::normal_draws(m * k + k * n);
  auto fill = [&](T* p, index_t count) {
    for (index_t i = 0; i < count; ++i) {
      if (p[i] >= eps) continue;
      if (variant == NMFInit::NNDSVD) p[i] = 0;
      else if (variant == NMFInit::NNDSVDA) p[i] = avg;
      else p[i] = std::abs(avg * static_cast<T>(noise[next_noise++]) / T(100));
    }
  };
  fill(pw, m * k);
  fill(ph, k * n);
  return {w, h};
}

template <class T>
std::pair<Tensor, Tensor> random_init(const Tensor& x, index_t k) {
  // Entries |N(0, 1)| sqrt(mean(X) / k), so that W H has X's mean scale.
  const T avg = std::sqrt(mean_of<T>(x) / static_cast<T>(k));
  Tensor h = (randn({k, x.size(1)}, x.dtype()).abs() * static_cast<double>(avg)).contiguous();
  Tensor w = (randn({x.size(0), k}, x.dtype()).abs() * static_cast<double>(avg)).contiguous();
  return {w, h};
}


// ---- Step 2: the solvers ------------------------------------------------------------------------

// The elastic-net weights of one factor (scikit-learn 1.2's _compute_regularization).
struct Penalty {
  double l1 = 0, l2 = 0;
};

// ||X - W H||_F, computed exactly through the residual (the expansion
// ||X||^2 - 2 tr(W^T X H^T) + tr(W^T W H H^T) cancels badly when the fit is good).
template <class T>
double frobenius_error(const T* x, const T* w, const T* h, index_t n, index_t f, index_t k, std::vector<T>& residual) {
  residual.assign(x, x + n * f);
  gemm<T>(false, false, n, f, k, T(-1), w, k, h, f, T(1), residual.data(), f);
  std::vector<double> row_sums(static_cast<std::size_t>(n));
  parallel_for(0, n, 64, [&](index_t lo, index_t hi) {
    for (index_t i = lo; i < hi; ++i) {
      double s = 0;
      for (index_t j = 0; j < f; ++j) s += static_cast<double>(residual[i * f + j]) * residual[i * f + j];
      row_sums[i] = s;
    }
  });
  double total = 0;
  for (double v : row_sums) total += v;  // in row order: the same sum for any thread count
  return std::sqrt(total);
}

// One cycle of coordinate descent over every entry of A [rows, k] for min 1/2 ||M - A B^T||^2,
// given G = B^T B [k, k] and C = M B [rows, k] (scikit-learn's _update_cdnmf_fast). For entry
// (i, t) the gradient is g_t = (a_i G)_t - c_it and the exact minimiser along the coordinate,
// projected on a >= 0, is max(0, a_it - g_t / G_tt). The row's gradient vector is formed once
// and, after each coordinate moves by delta, updated by delta G[t, :] (G is symmetric): the same
// k^2 multiply-adds per row as recomputing each g_t, but as vectorised AXPYs instead of short
// dot products. Rows are independent: they run in parallel.
// Returns the sum of |projected gradient| (the stopping measure).
template <class T>
double coordinate_descent_cycle(T* a, index_t rows, index_t k, const T* gram, const T* c) {
  std::vector<double> row_violation(static_cast<std::size_t>(rows));
  parallel_for(0, rows, 256, [&](index_t lo, index_t hi) {
    std::vector<T> grad(static_cast<std::size_t>(k));
    for (index_t i = lo; i < hi; ++i) {
      T* ai = a + i * k;
      for (index_t t = 0; t < k; ++t) grad[t] = -c[i * k + t];
      for (index_t r = 0; r < k; ++r) {
        const T ar = ai[r];
        if (ar == 0) continue;
        const T* gram_r = gram + r * k;
        for (index_t t = 0; t < k; ++t) grad[t] += ar * gram_r[t];
      }
      double violation = 0;
      for (index_t t = 0; t < k; ++t) {
        const T g = grad[t];
        violation += std::abs(ai[t] == 0 ? std::min(T(0), g) : g);  // the projected gradient
        const T hess = gram[t * k + t];
        if (hess == 0) continue;
        const T updated = std::max(ai[t] - g / hess, T(0));
        const T delta = updated - ai[t];
        if (delta == 0) continue;
        ai[t] = updated;
        const T* gram_t = gram + t * k;
        for (index_t r = 0; r < k; ++r) grad[r] += delta * gram_t[r];
      }
      row_violation[i] = violation;
    }
  });
  double total = 0;
  for (double v : row_violation) total += v;
  return total;
}

// The Gram matrix B^T B [k, k] of B [rows, k], with the l2 penalty on its diagonal.
template <class T>
void penalised_gram(const T* b, index_t rows, index_t k, double l2, std::vector<T>& gram) {
  gram.resize(static_cast<std::size_t>(k * k));
  gemm<T>(true, false, k, k, rows, T(1), b, k, b, k, T(0), gram.data(), k);
  if (l2 != 0)
    for (index_t t = 0; t < k; ++t) gram[t * k + t] += static_cast<T>(l2);
}

struct SolveResult {
  index_t n_iter = 0;
};

// scikit-learn's _fit_coordinate_descent: per iteration one cycle over W (for M = X, B = H^T)
// then one over H^T (M = X^T, B = W). W [n, k] and H [k, f] are updated in place.
// NOTE [One pass over X]: the W cycle needs X H^T and the H cycle needs X^T W with the *new* W.
// Since the W cycle is independent row by row, both products are formed in one pass over X in
// row blocks: the block's X H^T, the cycle on the block's rows of W, then X_b^T W_b added into
// X^T W while X_b is still in cache. X is read from memory once per iteration instead of twice
// (it is the only large operand: the products are memory-bound for small k); the arithmetic
// is scikit-learn's, up to the order of the sum in X^T W.
// Each thread takes a contiguous share of the blocks and keeps its own X^T W, summed in thread
// order afterwards: one parallel region per iteration. BLAS runs single-threaded throughout:
// its products here are small, and multi-threaded ones kept OpenBLAS's threads and OpenMP's
// spinning against each other on two cores (perf: a third of the time in sched_yield and
// barriers).
template <class T>
SolveResult solve_coordinate_descent(const T* x, index_t n, index_t f, index_t k, T* w, T* h, bool update_h,
                                     Penalty pw, Penalty ph, index_t max_iter, double tol) {
  // H is kept transposed, [f, k], so that both cycles are the same row-wise routine.
  std::vector<T> ht(static_cast<std::size_t>(f * k)), gram, xtw(static_cast<std::size_t>(f * k));
  for (index_t t = 0; t < k; ++t)
    for (index_t j = 0; j < f; ++j) ht[j * k + t] = h[t * f + j];
  // Rows per block: about 1 MiB of X, so that the block stays in cache between its two products.
  const index_t block = std::clamp<index_t>((index_t{1} << 20) / static_cast<index_t>(sizeof(T) * f), 32, 4096);
  const index_t blocks = (n + block - 1) / block;
  const int threads = detail::max_threads();
  std::vector<std::vector<T>> partial_xtw(static_cast<std::size_t>(threads));
  std::vector<double> partial_violation(static_cast<std::size_t>(threads));
  blas::SingleThreaded single_threaded_blas;  // NOTE [ BLAS inside parallel regions ]
  double first_violation = 0;
  index_t it = 1;
  for (; it <= max_iter; ++it) {
    penalised_gram<T>(ht.data(), f, k, pw.l2, gram);
    std::fill(partial_violation.begin(), partial_violation.end(), 0.0);
    for (std::vector<T>& part : partial_xtw) part.assign(static_cast<std::size_t>(f * k), T(0));
    parallel_for(0, blocks, 1, [&](index_t block_lo, index_t block_hi) {
      const int thread = detail::thread_index();
      std::vector<T>& my_xtw = partial_xtw[static_cast<std::size_t>(thread)];
      std::vector<T> cross(static_cast<std::size_t>(block * k));
      for (index_t b = block_lo; b < block_hi; ++b) {
        const index_t r0 = b * block, rows = std::min(block, n - r0);
        const T* xb = x + r0 * f;
        T* wb = w + r0 * k;
        gemm<T>(false, false, rows, k, f, T(1), xb, f, ht.data(), k, T(0), cross.data(), k);  // X_b H^T
        if (pw.l1 != 0)
          for (index_t i = 0; i < rows * k; ++i) cross[i] -= static_cast<T>(pw.l1);
        partial_violation[static_cast<std::size_t>(thread)] +=
            coordinate_descent_cycle(wb, rows, k, gram.data(), cross.data());
        if (update_h)  // X^T W += X_b^T W_b
          gemm<T>(true, false, f, k, rows, T(1), xb, f, wb, k, T(1), my_xtw.data(), k);
      }
    });
    double violation = 0;
    for (double v : partial_violation) violation += v;
    if (update_h) {
      std::fill(xtw.begin(), xtw.end(), T(0));
      for (const std::vector<T>& part : partial_xtw)  // thread order: the same sum every run
        for (std::size_t i = 0; i < part.size(); ++i) xtw[i] += part[i];
      penalised_gram<T>(w, n, k, ph.l2, gram);
      if (ph.l1 != 0)
        for (T& v : xtw) v -= static_cast<T>(ph.l1);
      violation += coordinate_descent_cycle(ht.data(), f, k, gram.data(), xtw.data());
    }
    if (it == 1) first_violation = violation;
    if (first_violation == 0 || violation / first_violation <= tol) break;
  }
  for (index_t t = 0; t < k; ++t)
    for (index_t j = 0; j < f; ++j) h[t * f + j] = ht[j * k + t];
  return {std::min(it, max_iter)};
}

// Lee & Seung's multiplicative step for one factor: A <- A * numerator / denominator, with the
// penalty added to the denominator and exact zeros there replaced by float32's epsilon (as
// scikit-learn does), so a zero gradient leaves the entry unchanged instead of dividing by 0.
template <class T>
void multiplicative_step(T* a, const T* numerator, T* denominator, index_t count, Penalty penalty) {
  const T tiny = std::numeric_limits<float>::epsilon();
  parallel_for(0, count, 16384, [&](index_t lo, index_t hi) {
    for (index_t i = lo; i < hi; ++i) {
      T den = denominator[i];
      if (penalty.l1 > 0) den += static_cast<T>(penalty.l1);
      if (penalty.l2 > 0) den += static_cast<T>(penalty.l2) * a[i];
      if (den == 0) den = tiny;
      a[i] *= numerator[i] / den;
    }
  });
}

// scikit-learn's _fit_multiplicative_update for the Frobenius loss.
template <class T>
SolveResult solve_multiplicative(const T* x, index_t n, index_t f, index_t k, T* w, T* h, bool update_h,
                                 Penalty pw, Penalty ph, index_t max_iter, double tol) {
  std::vector<T> residual, xht(static_cast<std::size_t>(n * k)), hht(static_cast<std::size_t>(k * k)),
      w_den(static_cast<std::size_t>(n * k)), wtx(static_cast<std::size_t>(k * f)),
      wtw(static_cast<std::size_t>(k * k)), h_den(static_cast<std::size_t>(k * f));
  const double error_at_init = frobenius_error(x, w, h, n, f, k, residual);
  double previous_error = error_at_init;
  index_t it = 1;
  for (; it <= max_iter; ++it) {
    // W <- W * (X H^T) / (W H H^T)
    gemm<T>(false, true, n, k, f, T(1), x, f, h, f, T(0), xht.data(), k);
    gemm<T>(false, true, k, k, f, T(1), h, f, h, f, T(0), hht.data(), k);
    gemm<T>(false, false, n, k, k, T(1), w, k, hht.data(), k, T(0), w_den.data(), k);
    multiplicative_step(w, xht.data(), w_den.data(), n * k, pw);
    if (update_h) {
      // H <- H * (W^T X) / (W^T W H)
      gemm<T>(true, false, k, f, n, T(1), w, k, x, f, T(0), wtx.data(), f);
      gemm<T>(true, false, k, k, n, T(1), w, k, w, k, T(0), wtw.data(), k);
      gemm<T>(false, false, k, f, k, T(1), wtw.data(), k, h, f, T(0), h_den.data(), f);
      multiplicative_step(h, wtx.data(), h_den.data(), k * f, ph);
    }
    if (tol > 0 && it % 10 == 0) {
      const double error = frobenius_error(x, w, h, n, f, k, residual);
      if ((previous_error - error) / error_at_init < tol) break;
      previous_error = error;
    }
  }
  return {std::min(it, max_iter)};
}

}  // namespace

std::tuple<Tensor, Tensor, Tensor> randomized_svd(const Tensor& input, std::int64_t k, std::int64_t oversamples,
                                                  std::int64_t power_iterations) {
  // Kept for existing callers; the implementation is cake::linalg::randomized_svd.
  Tensor x = detail::data_matrix(input, "randomized_svd");
  linalg::SvdResult r = linalg::randomized_svd(
      x, k, {.oversamples = oversamples, .power_iterations = power_iterations, .normalizer = "QR"});
  return {r.U, r.S, r.Vh};
}

std::pair<Tensor, Tensor> nmf_initialize(const Tensor& input, std::int64_t k, NMFInit init,
                                         std::optional<std::uint64_t> random_state) {
  Tensor x = detail::data_matrix(input, "nmf_initialize");
  const index_t n = x.size(0), f = x.size(1);
  CAKE_CHECK(k >= 1, "NMF: n_components must be at least 1, got ", k);
  if (init == NMFInit::Auto) init = k <= std::min(n, f) ? NMFInit::NNDSVDA : NMFInit::Random;
  CAKE_CHECK(init == NMFInit::Random || k <= std::min(n, f), "NMF: the NNDSVD initialisations need n_components <= "
             "min(n_samples, n_features) = ", std::min(n, f), ", got ", k, " (use init = random)");
  detail::SeedScope seed(random_state);
  return visit_floating(x.dtype(), "nmf_initialize", [&]<class T>() {
    return init == NMFInit::Random ? random_init<T>(x, k) : nndsvd<T>(x, k, init);
  });
}

// ---- The estimator ----------------------------------------------------------------------------------

NMF::NMF(NMFOptions options) : options_(options) {
  CAKE_CHECK(options_.n_components >= 0, "NMF: n_components must be >= 0 (0: all features), got ",
             options_.n_components);
  CAKE_CHECK(options_.max_iter >= 1, "NMF: max_iter must be at least 1, got ", options_.max_iter);
  CAKE_CHECK(options_.tol >= 0, "NMF: tol must be >= 0, got ", options_.tol);
  CAKE_CHECK(options_.alpha_W >= 0 && options_.alpha_H.value_or(0) >= 0, "NMF: alpha_W and alpha_H must be >= 0");
  CAKE_CHECK(options_.l1_ratio >= 0 && options_.l1_ratio <= 1, "NMF: l1_ratio must be in [0, 1], got ",
             options_.l1_ratio);
}

namespace {

Tensor checked_nonnegative(const Tensor& input, const char* who) {
  Tensor x = detail::data_matrix(input, who);
  visit_floating(x.dtype(), who, [&]<class T>() {
    const T* p = x.data_ptr<T>();
    const T* lowest = std::min_element(p, p + x.numel());
    CAKE_CHECK(*lowest >= 0, who, ": NMF needs non-negative data, found ", *lowest, " at flat index ", lowest - p,
               " of shape ", x.sizes());
  });
  return x;
}

}  // namespace

Tensor NMF::fit_transform(const Tensor& input) {
  Tensor x = checked_nonnegative(input, "NMF.fit");
  const index_t n = x.size(0), f = x.size(1);
  n_components_ = options_.n_components > 0 ? options_.n_components : f;
  const index_t k = n_components_;
  auto [w, h] = nmf_initialize(x, k, options_.init, options_.random_state);
  const double alpha_h = options_.alpha_H.value_or(options_.alpha_W);
  const Penalty pw{static_cast<double>(f) * options_.alpha_W * options_.l1_ratio,
                   static_cast<double>(f) * options_.alpha_W * (1 - options_.l1_ratio)};
  const Penalty ph{static_cast<double>(n) * alpha_h * options_.l1_ratio,
                   static_cast<double>(n) * alpha_h * (1 - options_.l1_ratio)};
  visit_floating(x.dtype(), "NMF.fit", [&]<class T>() {
    const T* px = x.data_ptr<T>();
    T* pw_ = w.data_ptr<T>();
    T* ph_ = h.data_ptr<T>();
    const SolveResult result =
        options_.solver == NMFSolver::CoordinateDescent
            ? solve_coordinate_descent<T>(px, n, f, k, pw_, ph_, true, pw, ph, options_.max_iter, options_.tol)
            : solve_multiplicative<T>(px, n, f, k, pw_, ph_, true, pw, ph, options_.max_iter, options_.tol);
    n_iter_ = result.n_iter;
    std::vector<T> residual;
    reconstruction_err_ = frobenius_error(px, pw_, ph_, n, f, k, residual);
  });
  components_ = h;
  return w;
}

NMF& NMF::fit(const Tensor& x) {
  fit_transform(x);
  return *this;
}

Tensor NMF::transform(const Tensor& input) const {
  const Tensor& h = components();
  Tensor x = checked_nonnegative(input, "NMF.transform");
  CAKE_CHECK(x.size(1) == h.size(1), "NMF.transform: the model was fitted on ", h.size(1),
             " features, the data has shape ", x.sizes());
  CAKE_CHECK(x.dtype() == h.dtype(), "NMF.transform: the model was fitted on ", dtype_name(h.dtype()),
             " data, got ", dtype_name(x.dtype()));
  const index_t n = x.size(0), f = x.size(1), k = n_components_;
  Tensor h_copy = h.clone();
  Tensor w = zeros({n, k}, x.dtype());
  const Penalty pw{static_cast<double>(f) * options_.alpha_W * options_.l1_ratio,
                   static_cast<double>(f) * options_.alpha_W * (1 - options_.l1_ratio)};
  visit_floating(x.dtype(), "NMF.transform", [&]<class T>() {
    const T* px = x.data_ptr<T>();
    if (options_.solver == NMFSolver::CoordinateDescent) {
      solve_coordinate_descent<T>(px, n, f, k, w.data_ptr<T>(), h_copy.data_ptr<T>(), false, pw, {}, options_.max_iter,
                                  options_.tol);
    } else {
      // Multiplicative updates cannot leave zero: start from the mean scale instead.
      w.fill_(std::sqrt(mean_of<T>(x) / static_cast<T>(k)));
      solve_multiplicative<T>(px, n, f, k, w.data_ptr<T>(), h_copy.data_ptr<T>(), false, pw, {}, options_.max_iter,
                              options_.tol);
    }
  });
  return w;
}

Tensor NMF::inverse_transform(const Tensor& w_input) const {
  const Tensor& h = components();
  CAKE_CHECK(w_input.dim() == 2 && w_input.size(1) == h.size(0), "NMF.inverse_transform: expected W of shape [n, ",
             h.size(0), "], got ", w_input.sizes());
  Tensor w = w_input.detach().cpu().to(h.dtype()).contiguous();
  Tensor out = empty({w.size(0), h.size(1)}, h.dtype());
  visit_floating(h.dtype(), "NMF.inverse_transform", [&]<class T>() {
    gemm<T>(false, false, w.size(0), h.size(1), h.size(0), T(1), w.data_ptr<T>(), h.size(0), h.data_ptr<T>(),
            h.size(1), T(0), out.data_ptr<T>(), h.size(1));
  });
  return out;
}

const Tensor& NMF::components() const {
  CAKE_CHECK(components_.defined(), "NMF: components() before fit()");
  return components_;
}

}  // namespace cake::decomposition
