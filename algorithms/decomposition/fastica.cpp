#include "cake/algorithms/decomposition/fastica.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#include "cake/algorithms/detail/common.h"
#include "cake/tensor/creation.h"
#include "cake/tensor/linalg.h"
#include "cake/tensor/parallel.h"

namespace cake::decomposition {

namespace detail = algorithms::detail;  // the shared kernels (algorithms/detail/)

using blas::gemm;
using index_t = std::int64_t;

ICAAlgorithm parse_ica_algorithm(const std::string& name) {
  if (name == "parallel") return ICAAlgorithm::Parallel;
  if (name == "deflation") return ICAAlgorithm::Deflation;
  CAKE_FAIL("FastICA: unknown algorithm '", name, "' (expected parallel or deflation)");
}
ICAFunction parse_ica_function(const std::string& name) {
  if (name == "logcosh") return ICAFunction::LogCosh;
  if (name == "exp") return ICAFunction::Exp;
  if (name == "cube") return ICAFunction::Cube;
  CAKE_FAIL("FastICA: unknown fun '", name, "' (expected logcosh, exp or cube)");
}
ICAWhiten parse_ica_whiten(const std::string& name) {
  if (name == "unit-variance") return ICAWhiten::UnitVariance;
  if (name == "arbitrary-variance") return ICAWhiten::ArbitraryVariance;
  if (name == "false" || name == "none") return ICAWhiten::None;
  CAKE_FAIL("FastICA: unknown whiten '", name, "' (expected unit-variance, arbitrary-variance or false)");
}
WhitenSolver parse_whiten_solver(const std::string& name) {
  if (name == "svd") return WhitenSolver::SVD;
  if (name == "eigh") return WhitenSolver::Eigh;
  CAKE_FAIL("FastICA: unknown whiten_solver '", name, "' (expected svd or eigh)");
}

namespace {

// ---- The contrast functions -------------------------------------------------------------------

// Replaces every u of U [k, n] by g(u) and writes mean_n g'(u) of each row into g_prime_mean.
// Work is split into fixed blocks of samples whose partial sums are added in block order, so
// the result does not depend on the number of threads.
template <class T, class G>
void apply_contrast(T* u, index_t k, index_t n, T* g_prime_mean, const G& g) {
  constexpr index_t kBlock = 2048;
  const index_t blocks = (n + kBlock - 1) / kBlock;
  std::vector<double> partial(static_cast<std::size_t>(k * blocks));
  parallel_for(0, k * blocks, 1, [&](index_t lo, index_t hi) {
    for (index_t job = lo; job < hi; ++job) {
      const index_t row = job / blocks, block = job % blocks;
      T* p = u + row * n + block * kBlock;
      const index_t len = std::min(kBlock, n - block * kBlock);
      double sum = 0;
      for (index_t i = 0; i < len; ++i) sum += g(p[i]);
      partial[job] = sum;
    }
  });
  for (index_t row = 0; row < k; ++row) {
    double sum = 0;
    for (index_t b = 0; b < blocks; ++b) sum += partial[row * blocks + b];
    g_prime_mean[row] = static_cast<T>(sum / static_cast<double>(n));
  }
}

// g(u) in place, returns g'(u) (Hyvärinen & Oja 2000, eqs. 39-41).
template <class T>
void contrast(ICAFunction fun, T alpha, T* u, index_t k, index_t n, T* g_prime_mean) {
  switch (fun) {
    case ICAFunction::LogCosh:
      apply_contrast(u, k, n, g_prime_mean, [alpha](T& v) {
        const T t = std::tanh(alpha * v);
        v = t;
        return alpha * (T(1) - t * t);
      });
      break;
    case ICAFunction::Exp:
      apply_contrast(u, k, n, g_prime_mean, [](T& v) {
        const T sq = v * v, e = std::exp(-sq / 2);
        v = v * e;
        return (T(1) - sq) * e;
      });
      break;
    case ICAFunction::Cube:
      apply_contrast(u, k, n, g_prime_mean, [](T& v) {
        const T sq = v * v;
        v = v * sq;
        return T(3) * sq;
      });
      break;
  }
}

// ---- Step 1: whitening --------------------------------------------------------------------------

// K = D^-1 U^T restricted to the top n_components directions, with U the left singular vectors
// of the centred data transposed (features x samples) and D its singular values; the sign of
// each direction is fixed by its first entry (scikit-learn's u *= sign(u[0])).
template <class T>
Tensor whitening_matrix(Tensor centred, index_t n_components, WhitenSolver solver) {
  const index_t f = centred.size(1);
  Tensor u, d;  // u [f, r] columns, d [r] descending
  if (solver == WhitenSolver::SVD) {
    // centred = U_x diag(s) Vh: the left singular vectors of centred^T are Vh^T.
    auto [s, vh] = linalg::singular_values_and_right_vectors(centred, /*overwrite_input=*/true);
    u = vh.t().contiguous();
    d = s;
  } else {
    // The covariance route: eigenvectors of Xc^T Xc with eigenvalues d^2, largest first.
    Tensor cov = empty({f, f}, centred.dtype());
    blas::gram<T>(f, centred.size(0), T(1), centred.data_ptr<T>(), f, T(0), cov.data_ptr<T>(), f);
    auto [w, v] = linalg::eigh(cov);
    u = empty({f, f}, centred.dtype());
    d = empty({f}, centred.dtype());
    const T eps = std::numeric_limits<T>::epsilon();
    for (index_t j = 0; j < f; ++j) {
      const index_t src = f - 1 - j;
      d.data_ptr<T>()[j] = std::sqrt(std::max(w.data_ptr<T>()[src], eps));  // degenerate directions: eps
      for (index_t i = 0; i < f; ++i) u.data_ptr<T>()[i * f + j] = v.data_ptr<T>()[i * f + src];
    }
  }
  const index_t r = u.size(1);
  Tensor k = empty({n_components, f}, centred.dtype());
  const T* pu = u.data_ptr<T>();
  const T* pd = d.data_ptr<T>();
  // K divides by the singular values: a zero one (constant data, dependent features, fewer
  // samples than components) would make the whitened data inf and every later step NaN (then
  // LAPACK refuses it with an opaque code). The rank with numpy's matrix_rank cutoff.
  const T cutoff = static_cast<T>(std::max(centred.size(0), f)) * std::numeric_limits<T>::epsilon() * (r > 0 ? pd[0] : T(0));
  index_t rank = 0;
  while (rank < r && pd[rank] > cutoff) ++rank;
  CAKE_CHECK(rank >= n_components, "FastICA.fit: ",
             rank == 0 ? std::string("the data are constant (zero variance), nothing to whiten")
                       : "the centred data have rank " + std::to_string(rank) + ", fewer than the " +
                             std::to_string(n_components) + " components to whiten (constant or linearly dependent "
                             "features, or too few samples); set n_components to at most " + std::to_string(rank));
  T* pk = k.data_ptr<T>();
  for (index_t j = 0; j < n_components; ++j) {
    const T sign = pu[j] < 0 ? T(-1) : T(1);
    for (index_t i = 0; i < f; ++i) pk[j * f + i] = sign * pu[i * r + j] / pd[j];
  }
  return k;
}

// ---- Step 2: the fixed-point iterations -------------------------------------------------------------

// W <- (W W^T)^-1/2 W (Hyvärinen 1999, eq. 22): the orthogonal matrix closest to W's rows.
template <class T>
void symmetric_decorrelation(T* w, index_t k) {
  Tensor gram = empty({k, k}, dtype_of<T>());
  gemm<T>(false, true, k, k, k, T(1), w, k, w, k, T(0), gram.data_ptr<T>(), k);
  auto [s, u] = linalg::eigh(gram);
  const T* ps = s.data_ptr<T>();
  const T* pu = u.data_ptr<T>();
  // M = U diag(s^-1/2) U^T, clipping s at the smallest normal number as scikit-learn does.
  std::vector<T> scaled(static_cast<std::size_t>(k * k)), m(static_cast<std::size_t>(k * k)),
      copy(w, w + k * k);
  for (index_t i = 0; i < k; ++i)
    for (index_t j = 0; j < k; ++j)
      scaled[i * k + j] = pu[i * k + j] / std::sqrt(std::max(ps[j], std::numeric_limits<T>::min()));
  gemm<T>(false, true, k, k, k, T(1), scaled.data(), k, pu, k, T(0), m.data(), k);
  gemm<T>(false, false, k, k, k, T(1), m.data(), k, copy.data(), k, T(0), w, k);
}

// All components at once (scikit-learn's _ica_par). z is [k, n]; w [k, k] holds the start and
// receives the result. Returns the number of iterations.
template <class T>
index_t ica_parallel(const T* z, index_t k, index_t n, T* w, ICAFunction fun, T alpha, index_t max_iter, double tol) {
  symmetric_decorrelation(w, k);
  std::vector<T> u(static_cast<std::size_t>(k * n)), g_prime(static_cast<std::size_t>(k)),
      next(static_cast<std::size_t>(k * k));
  index_t it = 0;
  for (; it < max_iter; ++it) {
    gemm<T>(false, false, k, n, k, T(1), w, k, z, n, T(0), u.data(), n);  // U = W Z
    contrast(fun, alpha, u.data(), k, n, g_prime.data());                 // U <- g(U)
    // W+ = E[g(W z) z^T] - diag(E[g'(W z)]) W  (eq. 20 for every row)
    gemm<T>(false, true, k, k, n, T(1) / static_cast<T>(n), u.data(), n, z, n, T(0), next.data(), k);
    for (index_t i = 0; i < k; ++i)
      for (index_t j = 0; j < k; ++j) next[i * k + j] -= g_prime[i] * w[i * k + j];
    symmetric_decorrelation(next.data(), k);
    // Converged when every row keeps its direction: max_i | |<w+_i, w_i>| - 1 | < tol.
    double change = 0;
    for (index_t i = 0; i < k; ++i)
      change = std::max(change, std::abs(std::abs(double(blas::dot<T>(k, next.data() + i * k, w + i * k))) - 1.0));
    std::copy(next.begin(), next.end(), w);
    if (change < tol) break;
  }
  return std::min(it + 1, max_iter);
}

// One component at a time, each kept orthogonal to the ones found (scikit-learn's _ica_def,
// Hyvärinen 1999 eq. 21). Returns the largest iteration count of the components.
template <class T>
index_t ica_deflation(const T* z, index_t k, index_t n, T* w, ICAFunction fun, T alpha, index_t max_iter, double tol) {
  std::vector<T> start(w, w + k * k), u(static_cast<std::size_t>(n)), next(static_cast<std::size_t>(k)),
      coefficients(static_cast<std::size_t>(k));
  index_t most = 0;
  for (index_t j = 0; j < k; ++j) {
    T* wj = w + j * k;
    std::copy(start.begin() + j * k, start.begin() + (j + 1) * k, wj);
    blas::scal<T>(k, T(1) / blas::nrm2<T>(k, wj), wj);
    index_t it = 0;
    for (; it < max_iter; ++it) {
      T g_prime = 0;
      blas::gemv<T>(true, k, n, T(1), z, n, wj, T(0), u.data());  // u = w^T Z
      contrast(fun, alpha, u.data(), 1, n, &g_prime);
      blas::gemv<T>(false, k, n, T(1) / static_cast<T>(n), z, n, u.data(), T(0), next.data());
      blas::axpy<T>(k, -g_prime, wj, next.data());
      // Gram-Schmidt against the components already found (all coefficients first).
      if (j > 0) {
        blas::gemv<T>(false, j, k, T(1), w, k, next.data(), T(0), coefficients.data());
        blas::gemv<T>(true, j, k, T(-1), w, k, coefficients.data(), T(1), next.data());
      }
      blas::scal<T>(k, T(1) / blas::nrm2<T>(k, next.data()), next.data());
      const double change = std::abs(std::abs(static_cast<double>(blas::dot<T>(k, next.data(), wj))) - 1.0);
      std::copy(next.begin(), next.end(), wj);
      if (change < tol) break;
    }
    most = std::max(most, std::min(it + 1, max_iter));
  }
  return most;
}

// ---- Data-space helpers ------------------------------------------------------------------------------

template <class T>
Tensor column_means(const Tensor& x) {
  const index_t n = x.size(0), f = x.size(1);
  const T* p = x.data_ptr<T>();
  std::vector<double> sums(static_cast<std::size_t>(f), 0.0);
  for (index_t i = 0; i < n; ++i)
    for (index_t j = 0; j < f; ++j) sums[j] += p[i * f + j];
  Tensor mean = empty({f}, x.dtype());
  for (index_t j = 0; j < f; ++j) mean.data_ptr<T>()[j] = static_cast<T>(sums[j] / static_cast<double>(n));
  return mean;
}

template <class T>
Tensor centred_copy(const Tensor& x, const Tensor& mean) {
  const index_t n = x.size(0), f = x.size(1);
  Tensor out = empty({n, f}, x.dtype());
  const T* px = x.data_ptr<T>();
  const T* pm = mean.data_ptr<T>();
  T* po = out.data_ptr<T>();
  parallel_for(0, n, 256, [&](index_t lo, index_t hi) {
    for (index_t i = lo; i < hi; ++i)
      for (index_t j = 0; j < f; ++j) po[i * f + j] = px[i * f + j] - pm[j];
  });
  return out;
}

// scale * M (X - mean)^T [r, n] for M [r, f], without forming X - mean: M X^T minus the
// column M mean, one GEMM on the data as given.
template <class T>
Tensor project_centred(const Tensor& x, const Tensor& mean, const Tensor& m, T scale) {
  const index_t n = x.size(0), f = x.size(1), r = m.size(0);
  Tensor out = empty({r, n}, x.dtype());
  T* po = out.data_ptr<T>();
  gemm<T>(false, true, r, n, f, scale, m.data_ptr<T>(), f, x.data_ptr<T>(), f, T(0), po, n);
  std::vector<T> shift(static_cast<std::size_t>(r));
  blas::gemv<T>(false, r, f, scale, m.data_ptr<T>(), f, mean.data_ptr<T>(), T(0), shift.data());
  for (index_t a = 0; a < r; ++a)
    for (index_t i = 0; i < n; ++i) po[a * n + i] -= shift[a];
  return out;
}

// Each source (column of S [n, k]) to unit population variance, and its unmixing row with it.
template <class T>
void scale_to_unit_variance(Tensor& sources, Tensor& components) {
  const index_t n = sources.size(0), k = sources.size(1), f = components.size(1);
  T* ps = sources.data_ptr<T>();
  T* pc = components.data_ptr<T>();
  std::vector<double> sum(static_cast<std::size_t>(k), 0.0), sum_sq(static_cast<std::size_t>(k), 0.0);
  for (index_t i = 0; i < n; ++i)
    for (index_t j = 0; j < k; ++j) {
      sum[j] += ps[i * k + j];
      sum_sq[j] += double(ps[i * k + j]) * ps[i * k + j];
    }
  std::vector<T> inv_std(static_cast<std::size_t>(k));
  for (index_t j = 0; j < k; ++j) {
    const double mean = sum[j] / static_cast<double>(n);
    inv_std[j] = static_cast<T>(1.0 / std::sqrt(std::max(sum_sq[j] / static_cast<double>(n) - mean * mean, 1e-300)));
  }
  for (index_t i = 0; i < n; ++i)
    for (index_t j = 0; j < k; ++j) ps[i * k + j] *= inv_std[j];
  for (index_t j = 0; j < k; ++j)
    for (index_t c = 0; c < f; ++c) pc[j * f + c] *= inv_std[j];
}

// The Moore-Penrose pseudo-inverse of A [k, f] through its SVD, with numpy's cutoff
// (singular values below max(k, f) eps s_max count as zero).
template <class T>
Tensor pseudo_inverse(const Tensor& a) {
  auto [u, s, vh] = linalg::svd(a);
  const index_t k = a.size(0), f = a.size(1), r = s.size(0);
  const T* ps = s.data_ptr<T>();
  const T cutoff = static_cast<T>(std::max(k, f)) * std::numeric_limits<T>::epsilon() * (r > 0 ? ps[0] : T(0));
  // pinv = Vh^T diag(1/s) U^T: scale the rows of Vh, then one GEMM.
  Tensor scaled = vh.clone();
  T* pv = scaled.data_ptr<T>();
  for (index_t i = 0; i < r; ++i) {
    const T inv = ps[i] > cutoff ? T(1) / ps[i] : T(0);
    for (index_t j = 0; j < f; ++j) pv[i * f + j] *= inv;
  }
  Tensor out = empty({f, k}, a.dtype());
  gemm<T>(true, true, f, k, r, T(1), pv, f, u.data_ptr<T>(), r, T(0), out.data_ptr<T>(), k);
  return out;
}

}  // namespace

// ---- The estimator ----------------------------------------------------------------------------------

FastICA::FastICA(FastICAOptions options) : options_(std::move(options)) {
  CAKE_CHECK(options_.n_components >= 0, "FastICA: n_components must be >= 0 (0: all), got ", options_.n_components);
  CAKE_CHECK(options_.max_iter >= 1, "FastICA: max_iter must be at least 1, got ", options_.max_iter);
  CAKE_CHECK(options_.tol > 0, "FastICA: tol must be positive, got ", options_.tol);
  CAKE_CHECK(options_.fun_alpha >= 1 && options_.fun_alpha <= 2, "FastICA: fun_alpha must be in [1, 2], got ",
             options_.fun_alpha);
}

Tensor FastICA::fit_transform(const Tensor& input) {
  Tensor x = detail::data_matrix(input, "FastICA.fit", 2);
  const index_t n = x.size(0), f = x.size(1);
  const bool whiten = options_.whiten != ICAWhiten::None;
  const index_t k = !whiten ? f : options_.n_components > 0 ? std::min(options_.n_components, std::min(n, f))
                                                              : std::min(n, f);
  Tensor sources;
  visit_floating(x.dtype(), "FastICA.fit", [&]<class T>() {
    // Step 1: centre and whiten (only when whitening, as scikit-learn). Z [k, n] holds the
    // whitened samples as columns, scaled by sqrt(n) so that Z Z^T / n = I.
    Tensor mean = whiten ? column_means<T>(x) : zeros({f}, x.dtype());
    Tensor kmat, z;
    if (whiten) {
      kmat = whitening_matrix<T>(centred_copy<T>(x, mean), k, options_.whiten_solver);
      z = project_centred<T>(x, mean, kmat, std::sqrt(static_cast<T>(n)));
    } else {
      z = x.t().contiguous();
    }
    // Step 2: the unmixing matrix W of the whitened data.
    Tensor w = initial_unmixing(x.dtype(), k);
    const T alpha = static_cast<T>(options_.fun_alpha);
    n_iter_ = options_.algorithm == ICAAlgorithm::Parallel
                  ? ica_parallel<T>(z.data_ptr<T>(), k, n, w.data_ptr<T>(), options_.fun, alpha, options_.max_iter,
                                    options_.tol)
                  : ica_deflation<T>(z.data_ptr<T>(), k, n, w.data_ptr<T>(), options_.fun, alpha, options_.max_iter,
                                     options_.tol);
    // Back in data space: components = W K, sources S = (X - mean) components^T.
    Tensor components = w;
    if (whiten) {
      components = empty({k, f}, x.dtype());
      gemm<T>(false, false, k, f, k, T(1), w.data_ptr<T>(), k, kmat.data_ptr<T>(), f, T(0),
              components.data_ptr<T>(), f);
    }
    sources = project_centred<T>(x, mean, components, T(1)).t().contiguous();
    // Step 3: unit-variance sources, the unmixing rows scaled with them.
    if (options_.whiten == ICAWhiten::UnitVariance) scale_to_unit_variance<T>(sources, components);
    components_ = components;
    mean_ = mean;
    whitening_ = kmat;
    mixing_ = pseudo_inverse<T>(components_);
  });
  return sources;
}

Tensor FastICA::initial_unmixing(DType dtype, std::int64_t k) const {
  if (options_.w_init.defined()) {
    CAKE_CHECK(options_.w_init.sizes() == (Shape{k, k}), "FastICA: w_init must have shape [", k, ", ", k, "], got ",
               options_.w_init.sizes());
    return options_.w_init.detach().cpu().to(dtype).contiguous().clone();
  }
  detail::SeedScope seed(options_.random_state);
  return randn({k, k}, dtype);
}

FastICA& FastICA::fit(const Tensor& x) {
  fit_transform(x);
  return *this;
}

Tensor FastICA::transform(const Tensor& input) const {
  const Tensor& comp = components();
  Tensor x = detail::data_matrix(input, "FastICA.transform");
  CAKE_CHECK(x.size(1) == comp.size(1), "FastICA.transform: the model was fitted on ", comp.size(1),
             " features, the data has shape ", x.sizes());
  x = x.to(comp.dtype()).contiguous();
  return visit_floating(comp.dtype(), "FastICA.transform", [&]<class T>() {
    return project_centred<T>(x, mean_, comp, T(1)).t().contiguous();
  });
}

Tensor FastICA::inverse_transform(const Tensor& s_input) const {
  const Tensor& a = mixing();
  CAKE_CHECK(s_input.dim() == 2 && s_input.size(1) == a.size(1), "FastICA.inverse_transform: expected sources of "
             "shape [n, ", a.size(1), "], got ", s_input.sizes());
  Tensor s = s_input.detach().cpu().to(a.dtype()).contiguous();
  Tensor out = empty({s.size(0), a.size(0)}, a.dtype());
  visit_floating(a.dtype(), "FastICA.inverse_transform", [&]<class T>() {
    gemm<T>(false, true, s.size(0), a.size(0), a.size(1), T(1), s.data_ptr<T>(), a.size(1), a.data_ptr<T>(),
            a.size(1), T(0), out.data_ptr<T>(), a.size(0));
  });
  return out + mean_.unsqueeze(0);
}

const Tensor& FastICA::components() const {
  CAKE_CHECK(components_.defined(), "FastICA: components() before fit()");
  return components_;
}
const Tensor& FastICA::mixing() const {
  CAKE_CHECK(mixing_.defined(), "FastICA: mixing() before fit()");
  return mixing_;
}
const Tensor& FastICA::mean() const {
  CAKE_CHECK(mean_.defined(), "FastICA: mean() before fit()");
  return mean_;
}
const Tensor& FastICA::whitening() const {
  CAKE_CHECK(components_.defined(), "FastICA: whitening() before fit()");
  return whitening_;
}

}  // namespace cake::decomposition
