// pca.cpp: the three PCA solvers (thin SVD, covariance eigendecomposition, randomized SVD), the
// sign convention, and the transforms. See pca.h for the maths and the references.
#include "algorithms/decomposition/pca.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "algorithms/detail/lapack.h"
#include "algorithms/detail/common.h"
#include "tensor/cpu/lapack.h"
#include "tensor/linalg.h"

namespace cake::decomposition {

namespace detail = algorithms::detail;  // the shared kernels (algorithms/detail/)

namespace {

// What every solver produces: the top k principal directions (rows of components, k x d,
// float64), their singular values, and the total variance of the data (for the ratios).
struct Decomposition {
  std::vector<double> components;  // k x d
  std::vector<double> singular;    // k
  std::vector<double> variance;    // k: S^2 / (N - 1)
  double total_variance = 0.0;
  double noise_variance = 0.0;
};

// Calls f(lo, hi, block) for blocks of `rows` rows of X - mean (block: (hi - lo) x d, a per-thread
// buffer), in parallel; the centred matrix is never stored whole.
template <class T, class F>
void for_each_centred_block(const T* x, std::int64_t n, std::int64_t d, const std::vector<double>& mean,
                            std::int64_t rows, std::int64_t work_per_row, const F& f) {
  const std::int64_t blocks = (n + rows - 1) / rows;
  parallel_for(0, blocks, detail::grain_for(rows * work_per_row), [&](std::int64_t block_lo, std::int64_t block_hi) {
    std::vector<T> buf(static_cast<std::size_t>(rows * d));
    for (std::int64_t b = block_lo; b < block_hi; ++b) {
      const std::int64_t lo = b * rows, hi = std::min(n, lo + rows);
      for (std::int64_t i = lo; i < hi; ++i)
        for (std::int64_t j = 0; j < d; ++j)
          buf[static_cast<std::size_t>((i - lo) * d + j)] =
              static_cast<T>(static_cast<double>(x[i * d + j]) - mean[static_cast<std::size_t>(j)]);
      f(lo, hi, static_cast<const T*>(buf.data()));
    }
  });
}

// svd_flip on the components (scikit-learn >= 1.5, u_based_decision=False): make the entry of
// largest magnitude in each row positive. Returns the sign applied to each row.
std::vector<double> flip_signs(std::vector<double>& components, std::int64_t k, std::int64_t d) {
  std::vector<double> signs(static_cast<std::size_t>(k), 1.0);
  for (std::int64_t i = 0; i < k; ++i) {
    double* row = &components[static_cast<std::size_t>(i * d)];
    const std::int64_t j = std::max_element(row, row + d, [](double a, double b) { return std::abs(a) < std::abs(b); }) - row;
    if (row[j] < 0) {
      signs[static_cast<std::size_t>(i)] = -1.0;
      for (std::int64_t t = 0; t < d; ++t) row[t] = -row[t];
    }
  }
  return signs;
}

// Orthonormal basis of the columns of a row-major rows x cols matrix, in place (reduced QR).
template <class T>
void orthonormalize_columns(std::int64_t rows, std::int64_t cols, T* a) {
  const Tensor q = linalg::qr(from_blob(a, {rows, cols}, dtype_of<T>())).Q.contiguous();
  std::copy(q.data_ptr<T>(), q.data_ptr<T>() + rows * cols, a);
}

// The "permuted L" of an LU factorisation P A = L U of a row-major rows x cols matrix (rows >=
// cols), in place: A becomes P^T L, which spans the column space of A and is well conditioned.
// It is scipy.linalg.lu(A, permute_l=True)[0], the cheap normaliser of randomized power
// iterations (Halko et al. 2011, section 4.5; scikit-learn's power_iteration_normalizer="LU").
template <class T>
void permuted_lower_of_lu(std::int64_t rows, std::int64_t cols, T* a) {
  // LAPACK is column-major: the transpose of our buffer.
  std::vector<T> col(static_cast<std::size_t>(rows * cols));
  for (std::int64_t i = 0; i < rows; ++i)
    for (std::int64_t j = 0; j < cols; ++j) col[static_cast<std::size_t>(j * rows + i)] = a[i * cols + j];
  std::vector<int> pivots(static_cast<std::size_t>(cols));
  int info = 0;
  lapack::getrf(static_cast<int>(rows), static_cast<int>(cols), col.data(), static_cast<int>(rows), pivots.data(), info);
  CAKE_CHECK(info >= 0, "PCA: LU factorisation (LAPACK ?getrf) of a ", rows, "x", cols, " matrix failed (info ", info, ")");
  // L: unit diagonal, the factor below it, zeros above (a zero pivot only makes U singular).
  for (std::int64_t i = 0; i < rows; ++i)
    for (std::int64_t j = 0; j < cols; ++j)
      a[i * cols + j] = i > j ? col[static_cast<std::size_t>(j * rows + i)] : (i == j ? T(1) : T(0));
  // Row i was swapped with row pivots[i] - 1 for i = 0, 1, ...; undo in reverse order.
  for (std::int64_t i = cols - 1; i >= 0; --i) {
    const std::int64_t p = pivots[static_cast<std::size_t>(i)] - 1;
    if (p != i) std::swap_ranges(a + i * cols, a + (i + 1) * cols, a + p * cols);
  }
}

// Thin SVD of the centred data.
template <class T>
Decomposition solve_full(const T* x, std::int64_t n, std::int64_t d, const std::vector<double>& mean, std::int64_t k) {
  const std::int64_t r = std::min(n, d);
  // The centred data written transposed, X_c^T [d, n]: X_c column-major, as LAPACK reads it.
  Tensor centred_t = empty({d, n}, dtype_of<T>());
  T* at = centred_t.data_ptr<T>();
  for_each_centred_block(x, n, d, mean, 1024, d, [&](std::int64_t lo, std::int64_t hi, const T* block) {
    for (std::int64_t j = 0; j < d; ++j)
      for (std::int64_t i = lo; i < hi; ++i) at[j * n + i] = block[(i - lo) * d + j];
  });
  // PCA needs S and Vh only: the R-factor SVD skips forming U [n, r] (detail/lapack.h).
  const auto [s_raw, vh_raw] = detail::singular_values_and_right_vectors(centred_t.t(), /*overwrite_input=*/true);
  const Tensor s_values = s_raw.to(kFloat64).contiguous(), vh = vh_raw.to(kFloat64).contiguous();
  const double* s = s_values.data_ptr<double>();
  const double* vt = vh.data_ptr<double>();
  Decomposition out;
  const double dof = static_cast<double>(std::max<std::int64_t>(n - 1, 1));
  for (std::int64_t i = 0; i < r; ++i) out.total_variance += s[i] * s[i] / dof;
  out.components.assign(vt, vt + k * d);
  for (std::int64_t i = 0; i < k; ++i) {
    out.singular.push_back(s[i]);
    out.variance.push_back(s[i] * s[i] / dof);
  }
  double rest = 0.0;
  for (std::int64_t i = k; i < r; ++i) rest += s[i] * s[i] / dof;
  out.noise_variance = k < r ? rest / static_cast<double>(r - k) : 0.0;
  return out;
}

// Eigendecomposition of the covariance C = X_c^T X_c / (N - 1). The Gram matrix is accumulated
// one block of rows at a time (syrk in the data's precision, summed across blocks in float64).
template <class T>
Decomposition solve_covariance_eigh(const T* x, std::int64_t n, std::int64_t d, const std::vector<double>& mean,
                                    std::int64_t k) {
  std::vector<std::vector<double>> partial(static_cast<std::size_t>(detail::max_threads()));
  {
    detail::BlasSingleThread single_threaded_blas;  // NOTE [ BLAS inside parallel regions ]
    for_each_centred_block(x, n, d, mean, 2048, d * d, [&](std::int64_t lo, std::int64_t hi, const T* block) {
      auto& acc = partial[static_cast<std::size_t>(detail::thread_index())];
      if (acc.empty()) acc.assign(static_cast<std::size_t>(d * d), 0.0);
      std::vector<T> g(static_cast<std::size_t>(d * d));
      detail::gram<T>(d, hi - lo, T(1), block, d, T(0), g.data(), d, /*fill_both=*/false);
      for (std::int64_t a = 0; a < d; ++a)
        for (std::int64_t b = a; b < d; ++b) acc[static_cast<std::size_t>(a * d + b)] += static_cast<double>(g[static_cast<std::size_t>(a * d + b)]);
    });
  }
  std::vector<double> c(static_cast<std::size_t>(d * d));
  detail::reduce_partials(partial, c.data(), d * d);
  const double dof = static_cast<double>(std::max<std::int64_t>(n - 1, 1));
  for (std::int64_t a = 0; a < d; ++a)
    for (std::int64_t b = a; b < d; ++b) c[static_cast<std::size_t>(b * d + a)] = c[static_cast<std::size_t>(a * d + b)] /= dof;
  const linalg::EighResult eig = linalg::eigh(from_blob(c.data(), {d, d}, kFloat64));  // ascending
  const Tensor w_tensor = eig.eigenvalues.contiguous(), v_tensor = eig.eigenvectors.contiguous();
  const std::vector<double> w(w_tensor.data_ptr<double>(), w_tensor.data_ptr<double>() + d);
  const double* v = v_tensor.data_ptr<double>();  // eigenvectors in columns
  Decomposition out;
  for (double value : w) out.total_variance += std::max(value, 0.0);
  for (std::int64_t i = 0; i < k; ++i) {
    const std::int64_t col = d - 1 - i;  // largest first
    const double variance = std::max(w[static_cast<std::size_t>(col)], 0.0);  // rounding can go below 0
    out.variance.push_back(variance);
    out.singular.push_back(std::sqrt(variance * dof));
    for (std::int64_t j = 0; j < d; ++j) out.components.push_back(v[j * d + col]);
  }
  const std::int64_t r = std::min(n, d);
  double rest = 0.0;
  for (std::int64_t i = k; i < r; ++i) rest += std::max(w[static_cast<std::size_t>(d - 1 - i)], 0.0);
  out.noise_variance = k < r ? rest / static_cast<double>(r - k) : 0.0;
  return out;
}

// Randomized SVD (Halko, Martinsson & Tropp 2011). The centring is implicit: with A = X - 1 m^T,
//   A Q   = X Q - 1 (m^T Q),        A^T Y = X^T Y - m (1^T Y),
// so the centred matrix is never formed.
template <class T>
Decomposition solve_randomized(const T* x, std::int64_t n, std::int64_t d, const std::vector<double>& mean,
                               std::int64_t k, const PCAOptions& o) {
  const std::int64_t r = std::min(n, d);
  const std::int64_t l = std::min(k + o.n_oversamples, r);  // sketch width
  const std::int64_t iterations = o.iterated_power >= 0 ? o.iterated_power : (static_cast<double>(k) < 0.1 * static_cast<double>(r) ? 7 : 4);
  std::string normalizer = o.power_iteration_normalizer;
  if (normalizer == "auto") normalizer = iterations <= 2 ? "none" : "LU";
  std::vector<T> m(mean.begin(), mean.end());

  auto times_a = [&](const std::vector<T>& q, std::vector<T>& y) {  // y [n x l] = A q, q [d x l]
    y.resize(static_cast<std::size_t>(n * l));
    detail::gemm<T>(false, false, n, l, d, T(1), x, d, q.data(), l, T(0), y.data(), l);
    std::vector<T> mq(static_cast<std::size_t>(l));
    detail::gemm<T>(false, false, 1, l, d, T(1), m.data(), d, q.data(), l, T(0), mq.data(), l);
    parallel_for(0, n, detail::grain_for(l), [&](std::int64_t lo, std::int64_t hi) {
      for (std::int64_t i = lo; i < hi; ++i)
        for (std::int64_t j = 0; j < l; ++j) y[static_cast<std::size_t>(i * l + j)] -= mq[static_cast<std::size_t>(j)];
    });
  };
  auto times_a_t = [&](const std::vector<T>& y, std::vector<T>& z) {  // z [d x l] = A^T y, y [n x l]
    z.resize(static_cast<std::size_t>(d * l));
    detail::gemm<T>(true, false, d, l, n, T(1), x, d, y.data(), l, T(0), z.data(), l);
    std::vector<double> col(static_cast<std::size_t>(l), 0.0);
    for (std::int64_t i = 0; i < n; ++i)
      for (std::int64_t j = 0; j < l; ++j) col[static_cast<std::size_t>(j)] += static_cast<double>(y[static_cast<std::size_t>(i * l + j)]);
    for (std::int64_t a = 0; a < d; ++a)
      for (std::int64_t j = 0; j < l; ++j)
        z[static_cast<std::size_t>(a * l + j)] -= static_cast<T>(mean[static_cast<std::size_t>(a)] * col[static_cast<std::size_t>(j)]);
  };
  auto normalize = [&](std::vector<T>& a, std::int64_t rows) {
    if (normalizer == "LU") permuted_lower_of_lu(rows, l, a.data());
    else if (normalizer == "QR") orthonormalize_columns(rows, l, a.data());
  };

  // Algorithm 4.3/4.4: Q spans the range of (A A^T)^q A Omega for a Gaussian Omega.
  const std::vector<double> omega = detail::normal_draws(d * l);
  std::vector<T> q(omega.begin(), omega.end()), y;
  for (std::int64_t it = 0; it < iterations; ++it) {
    times_a(q, y);
    normalize(y, n);
    times_a_t(y, q);
    normalize(q, d);
  }
  times_a(q, y);
  orthonormalize_columns(n, l, y.data());  // Q [n x l]
  // Algorithm 5.1: B = Q^T A [l x d] = Q^T X - (Q^T 1) m^T, then B = U_B S V^T.
  std::vector<T> b(static_cast<std::size_t>(l * d));
  detail::gemm<T>(true, false, l, d, n, T(1), y.data(), l, x, d, T(0), b.data(), d);
  std::vector<double> qsum(static_cast<std::size_t>(l), 0.0);
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = 0; j < l; ++j) qsum[static_cast<std::size_t>(j)] += static_cast<double>(y[static_cast<std::size_t>(i * l + j)]);
  for (std::int64_t j = 0; j < l; ++j)
    for (std::int64_t a = 0; a < d; ++a) b[static_cast<std::size_t>(j * d + a)] -= static_cast<T>(qsum[static_cast<std::size_t>(j)] * mean[static_cast<std::size_t>(a)]);
  const linalg::SvdResult svd = linalg::svd(from_blob(b.data(), {l, d}, dtype_of<T>()));
  const Tensor s_values = svd.S.to(kFloat64).contiguous(), vh = svd.Vh.to(kFloat64).contiguous();
  const double* s = s_values.data_ptr<double>();
  const double* vt = vh.data_ptr<double>();

  Decomposition out;
  const double dof = static_cast<double>(std::max<std::int64_t>(n - 1, 1));
  out.components.assign(vt, vt + k * d);
  double explained = 0.0;
  for (std::int64_t i = 0; i < k; ++i) {
    out.singular.push_back(s[i]);
    out.variance.push_back(s[i] * s[i] / dof);
    explained += out.variance.back();
  }
  // The total variance is not in the sketch: sum of the column variances, one pass.
  std::vector<std::vector<double>> partial(static_cast<std::size_t>(detail::max_threads()), std::vector<double>(1, 0.0));
  parallel_for(0, n, detail::grain_for(d), [&](std::int64_t lo, std::int64_t hi) {
    double acc = 0.0;
    for (std::int64_t i = lo; i < hi; ++i)
      for (std::int64_t j = 0; j < d; ++j) {
        const double v = static_cast<double>(x[i * d + j]) - mean[static_cast<std::size_t>(j)];
        acc += v * v;
      }
    partial[static_cast<std::size_t>(detail::thread_index())][0] += acc;
  });
  detail::reduce_partials(partial, &out.total_variance, 1);
  out.total_variance /= dof;
  out.noise_variance = k < r ? (out.total_variance - explained) / static_cast<double>(r - k) : 0.0;
  return out;
}

std::string choose_solver(const std::string& requested, std::int64_t n, std::int64_t d, std::int64_t k) {
  if (requested != "auto") return requested;
  if (d <= 1000 && n >= 10 * d) return "covariance_eigh";
  if (std::max(n, d) <= 500 || static_cast<double>(k) >= 0.8 * static_cast<double>(std::min(n, d))) return "full";
  return "randomized";
}

Tensor vector_tensor(const std::vector<double>& v, const Shape& shape, DType dtype = kFloat64) {
  Tensor t = empty(shape, kFloat64);
  std::copy(v.begin(), v.end(), t.data_ptr<double>());
  return dtype == kFloat64 ? t : t.to(dtype);
}

}  // namespace

PCA::PCA(PCAOptions options) : options_(std::move(options)) {
  const PCAOptions& o = options_;
  CAKE_CHECK(o.n_components == -1 || o.n_components >= 1, "PCA: n_components must be positive (or -1 for all), got ",
             o.n_components);
  CAKE_CHECK(o.svd_solver == "auto" || o.svd_solver == "full" || o.svd_solver == "covariance_eigh" ||
                 o.svd_solver == "randomized",
             "PCA: unknown svd_solver \"", o.svd_solver, "\" (expected \"auto\", \"full\", \"covariance_eigh\" or \"randomized\")");
  CAKE_CHECK(o.power_iteration_normalizer == "auto" || o.power_iteration_normalizer == "QR" ||
                 o.power_iteration_normalizer == "LU" || o.power_iteration_normalizer == "none",
             "PCA: unknown power_iteration_normalizer \"", o.power_iteration_normalizer,
             "\" (expected \"auto\", \"QR\", \"LU\" or \"none\")");
  CAKE_CHECK(o.n_oversamples >= 0, "PCA: n_oversamples must be non-negative, got ", o.n_oversamples);
}

PCA& PCA::fit(const Tensor& X_in) {
  const Tensor X = detail::data_matrix(X_in, "PCA.fit", 1);
  const std::int64_t n = X.size(0), d = X.size(1);
  const std::int64_t k = options_.n_components == -1 ? std::min(n, d) : options_.n_components;
  CAKE_CHECK(k <= std::min(n, d), "PCA.fit: n_components=", k, " must be at most min(n_samples, n_features) = ",
             std::min(n, d), " for data of shape ", X.sizes());
  solver_ = choose_solver(options_.svd_solver, n, d, k);
  detail::SeedScope seed(options_.random_state);
  Decomposition result;
  std::vector<double> mean;
  visit_floating(X.dtype(), "PCA.fit", [&]<class T>() {
    const T* x = X.data_ptr<T>();
    mean = detail::column_means(x, n, d);
    if (solver_ == "full") result = solve_full(x, n, d, mean, k);
    else if (solver_ == "covariance_eigh") result = solve_covariance_eigh(x, n, d, mean, k);
    else result = solve_randomized(x, n, d, mean, k, options_);
  });
  flip_signs(result.components, k, d);
  std::vector<double> ratio(result.variance.size());
  for (std::size_t i = 0; i < ratio.size(); ++i)
    ratio[i] = result.total_variance > 0.0 ? result.variance[i] / result.total_variance : 0.0;
  components_ = vector_tensor(result.components, {k, d}, X.dtype());
  explained_variance_ = vector_tensor(result.variance, {k});
  explained_variance_ratio_ = vector_tensor(ratio, {k});
  singular_values_ = vector_tensor(result.singular, {k});
  mean_ = vector_tensor(mean, {d}, X.dtype());
  noise_variance_ = result.noise_variance;
  n_samples_ = n;
  n_features_ = d;
  return *this;
}

Tensor PCA::fit_transform(const Tensor& X) { return fit(X).transform(X); }

Tensor PCA::transform(const Tensor& X_in) const {
  check_fitted("PCA.transform");
  const Tensor X = detail::data_matrix(X_in, "PCA.transform", 0, n_features_).to(components_.dtype()).contiguous();
  const std::int64_t n = X.size(0), d = n_features_, k = components_.size(0);
  Tensor out = empty({n, k}, X.dtype());
  const double* ev = explained_variance_.data_ptr<double>();
  visit_floating(X.dtype(), "PCA.transform", [&]<class T>() {
    std::vector<double> mean(static_cast<std::size_t>(d));
    for (std::int64_t j = 0; j < d; ++j) mean[static_cast<std::size_t>(j)] = static_cast<double>(mean_.data_ptr<T>()[j]);
    std::vector<T> scale(static_cast<std::size_t>(k), T(1));
    if (options_.whiten)
      for (std::int64_t i = 0; i < k; ++i) scale[static_cast<std::size_t>(i)] = ev[i] > 0.0 ? static_cast<T>(1.0 / std::sqrt(ev[i])) : T(0);
    const T* v = components_.data_ptr<T>();
    T* z = out.data_ptr<T>();
    detail::BlasSingleThread single_threaded_blas;  // NOTE [ BLAS inside parallel regions ]
    for_each_centred_block(X.data_ptr<T>(), n, d, mean, 256, d * k, [&](std::int64_t lo, std::int64_t hi, const T* block) {
      detail::gemm<T>(false, true, hi - lo, k, d, T(1), block, d, v, d, T(0), z + lo * k, k);
      if (options_.whiten)
        for (std::int64_t i = lo; i < hi; ++i)
          for (std::int64_t j = 0; j < k; ++j) z[i * k + j] *= scale[static_cast<std::size_t>(j)];
    });
  });
  return out;
}

Tensor PCA::inverse_transform(const Tensor& Z_in) const {
  check_fitted("PCA.inverse_transform");
  const std::int64_t k = components_.size(0), d = n_features_;
  CAKE_CHECK(Z_in.defined() && Z_in.dim() == 2 && Z_in.size(1) == k, "PCA.inverse_transform: expected [N, ", k,
             "] projections, got ", Z_in.defined() ? Z_in.sizes() : Shape{});
  Tensor Z = Z_in.detach().cpu().to(components_.dtype()).contiguous();
  const std::int64_t n = Z.size(0);
  Tensor out = empty({n, d}, Z.dtype());
  const double* ev = explained_variance_.data_ptr<double>();
  visit_floating(Z.dtype(), "PCA.inverse_transform", [&]<class T>() {
    if (options_.whiten) {  // undo the scaling: Z diag(sqrt(variance))
      Z = Z.clone();
      T* z = Z.data_ptr<T>();
      for (std::int64_t i = 0; i < n; ++i)
        for (std::int64_t j = 0; j < k; ++j) z[i * k + j] *= static_cast<T>(std::sqrt(ev[j]));
    }
    T* x = out.data_ptr<T>();
    const T* mu = mean_.data_ptr<T>();
    for (std::int64_t i = 0; i < n; ++i) std::copy(mu, mu + d, x + i * d);
    detail::gemm<T>(false, false, n, d, k, T(1), Z.data_ptr<T>(), k, components_.data_ptr<T>(), d, T(1), x, d);
  });
  return out;
}

void PCA::check_fitted(const char* who) const {
  CAKE_CHECK(components_.defined(), who, ": this PCA is not fitted yet; call fit first");
}
const Tensor& PCA::components() const {
  check_fitted("PCA.components");
  return components_;
}
const Tensor& PCA::explained_variance() const {
  check_fitted("PCA.explained_variance");
  return explained_variance_;
}
const Tensor& PCA::explained_variance_ratio() const {
  check_fitted("PCA.explained_variance_ratio");
  return explained_variance_ratio_;
}
const Tensor& PCA::singular_values() const {
  check_fitted("PCA.singular_values");
  return singular_values_;
}
const Tensor& PCA::mean() const {
  check_fitted("PCA.mean");
  return mean_;
}
double PCA::noise_variance() const {
  check_fitted("PCA.noise_variance");
  return noise_variance_;
}
std::int64_t PCA::n_components() const {
  check_fitted("PCA.n_components");
  return components_.size(0);
}

Tensor l2_normalize_rows(const Tensor& X_in) {
  const Tensor X = detail::data_matrix(X_in, "l2_normalize_rows", 0);
  const std::int64_t n = X.size(0), d = X.size(1);
  Tensor out = empty({n, d}, X.dtype());
  visit_floating(X.dtype(), "l2_normalize_rows", [&]<class T>() {
    const T* x = X.data_ptr<T>();
    T* y = out.data_ptr<T>();
    parallel_for(0, n, detail::grain_for(d), [&](std::int64_t lo, std::int64_t hi) {
      for (std::int64_t i = lo; i < hi; ++i) {
        double s = 0.0;
        for (std::int64_t j = 0; j < d; ++j) s += static_cast<double>(x[i * d + j]) * x[i * d + j];
        const double inv = s > 0.0 ? 1.0 / std::sqrt(s) : 0.0;
        for (std::int64_t j = 0; j < d; ++j) y[i * d + j] = static_cast<T>(x[i * d + j] * inv);
      }
    });
  });
  return out;
}

Tensor pca_whiten_l2(const Tensor& X, std::int64_t dim, std::optional<std::uint64_t> random_state) {
  PCA pca({.n_components = dim, .whiten = true, .random_state = random_state});
  return l2_normalize_rows(pca.fit_transform(X));
}

}  // namespace cake::decomposition
