// pca.cpp: the three PCA solvers (thin SVD, covariance eigendecomposition, randomized SVD), the
// sign convention, and the transforms. See pca.h for the maths and the references.
#include "cake/algorithms/decomposition/pca.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "cake/algorithms/detail/common.h"
#include "cake/tensor/linalg.h"

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
  // PCA needs S and Vh only: the R-factor SVD skips forming U [n, r] (tensor/linalg.h).
  const auto [s_raw, vh_raw] = linalg::singular_values_and_right_vectors(centred_t.t(), /*overwrite_input=*/true);
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
    blas::SingleThreaded single_threaded_blas;  // NOTE [ BLAS inside parallel regions ]
    for_each_centred_block(x, n, d, mean, 2048, d * d, [&](std::int64_t lo, std::int64_t hi, const T* block) {
      auto& acc = partial[static_cast<std::size_t>(detail::thread_index())];
      if (acc.empty()) acc.assign(static_cast<std::size_t>(d * d), 0.0);
      std::vector<T> g(static_cast<std::size_t>(d * d));
      blas::gram<T>(d, hi - lo, T(1), block, d, T(0), g.data(), d, /*fill_both=*/false);
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

// Randomized SVD (Halko, Martinsson & Tropp 2011) through cake::linalg::randomized_svd, with
// the centring implicit (column_shift = the mean): the centred matrix is never formed.
template <class T>
Decomposition solve_randomized(const T* x, std::int64_t n, std::int64_t d, const std::vector<double>& mean,
                               std::int64_t k, const PCAOptions& o) {
  const std::int64_t r = std::min(n, d);
  std::vector<double> shift = mean;
  const linalg::SvdResult svd = linalg::randomized_svd(
      from_blob(const_cast<T*>(x), {n, d}, dtype_of<T>()), k,
      {.oversamples = o.n_oversamples,
       .power_iterations = o.iterated_power,
       .normalizer = o.power_iteration_normalizer,
       .column_shift = from_blob(shift.data(), {d}, kFloat64),
       .compute_u = false});
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
    blas::SingleThreaded single_threaded_blas;  // NOTE [ BLAS inside parallel regions ]
    for_each_centred_block(X.data_ptr<T>(), n, d, mean, 256, d * k, [&](std::int64_t lo, std::int64_t hi, const T* block) {
      blas::gemm<T>(false, true, hi - lo, k, d, T(1), block, d, v, d, T(0), z + lo * k, k);
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
    blas::gemm<T>(false, false, n, d, k, T(1), Z.data_ptr<T>(), k, components_.data_ptr<T>(), d, T(1), x, d);
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
