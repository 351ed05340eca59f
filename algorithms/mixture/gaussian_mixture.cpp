// gaussian_mixture.cpp: EM for Gaussian mixtures. The steps, each a function below:
//   initial responsibilities (k-means labels, k-means++ seeds, random)  -> initial_responsibilities
//   M-step: weights, means, covariances from responsibilities           -> m_step
//   precision Cholesky factors from covariances                          -> compute_precision_cholesky
//   E-step: log densities, log-sum-exp, responsibilities                 -> e_step
// Equation numbers refer to Bishop (2006), chapter 9; see gaussian_mixture.h.
#include "cake/algorithms/mixture/gaussian_mixture.h"
#include "cake/algorithms/mixture/detail/gaussian_mixture_em.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <optional>

#include "cake/algorithms/detail/common.h"
#include "cake/algorithms/cluster/kmeans.h"
#include "cake/algorithms/cluster/kmeans_steps.h"
#include "cake/algorithms/detail/device_steps.h"
#include "cake/tensor/linalg.h"

namespace cake::mixture {

namespace detail = algorithms::detail;  // the shared kernels (algorithms/detail/)
namespace kmeans = cluster::kmeans;  // the k-means initialisation (algorithms/cluster/)
using cluster::KMeans;

namespace {

enum class CovarianceType { Full, Tied, Diag, Spherical };

CovarianceType parse_covariance_type(const std::string& name) {
  if (name == "full") return CovarianceType::Full;
  if (name == "tied") return CovarianceType::Tied;
  if (name == "diag") return CovarianceType::Diag;
  if (name == "spherical") return CovarianceType::Spherical;
  CAKE_FAIL("GaussianMixture: unknown covariance_type \"", name,
            "\" (expected \"full\", \"tied\", \"diag\" or \"spherical\")");
}

// The parameters, row-major float64. Covariance-shaped arrays hold K x D x D (full), D x D
// (tied), K x D (diag) or K (spherical) values.
struct Model {
  CovarianceType type = CovarianceType::Full;
  std::int64_t k = 0, d = 0;
  std::vector<double> weights, means, covariances, prec_chol;

  std::int64_t covariance_size() const {
    switch (type) {
      case CovarianceType::Full: return k * d * d;
      case CovarianceType::Tied: return d * d;
      case CovarianceType::Diag: return k * d;
      case CovarianceType::Spherical: return k;
    }
    return 0;
  }
  Shape covariance_shape() const {
    switch (type) {
      case CovarianceType::Full: return {k, d, d};
      case CovarianceType::Tied: return {d, d};
      case CovarianceType::Diag: return {k, d};
      case CovarianceType::Spherical: return {k};
    }
    return {};
  }
};

const char* kIllDefined =
    "GaussianMixture: fitting failed because some components have an ill-defined empirical covariance (for "
    "instance caused by singleton or collapsed samples); try fewer components or a larger reg_covar";

// The lower Cholesky factor L (A = L L^T) of the d x d row-major matrix at `a`, or nothing when
// A is not positive definite.
std::optional<Tensor> cholesky_lower(std::int64_t d, const double* a) {
  try {
    return linalg::cholesky(from_blob(const_cast<double*>(a), {d, d}, kFloat64)).contiguous();
  } catch (const Error&) {
    return std::nullopt;
  }
}

// P with Sigma^-1 = P P^T, P upper triangular: Sigma = L L^T (Cholesky), P = L^-T.
void precision_cholesky_full(std::int64_t d, const double* covariance, double* p) {
  const std::optional<Tensor> l = cholesky_lower(d, covariance);
  CAKE_CHECK(l.has_value(), kIllDefined);
  const Tensor l_inverse = linalg::solve_triangular(*l, eye(d, -1, kFloat64), /*upper=*/false).contiguous();
  const double* li = l_inverse.data_ptr<double>();
  for (std::int64_t i = 0; i < d; ++i)
    for (std::int64_t j = 0; j < d; ++j) p[i * d + j] = li[j * d + i];
}

void compute_precision_cholesky(Model& m) {
  const std::int64_t d = m.d;
  m.prec_chol.assign(static_cast<std::size_t>(m.covariance_size()), 0.0);
  switch (m.type) {
    case CovarianceType::Full:
      for (std::int64_t c = 0; c < m.k; ++c)
        precision_cholesky_full(d, &m.covariances[static_cast<std::size_t>(c * d * d)],
                                &m.prec_chol[static_cast<std::size_t>(c * d * d)]);
      break;
    case CovarianceType::Tied: precision_cholesky_full(d, m.covariances.data(), m.prec_chol.data()); break;
    case CovarianceType::Diag:
    case CovarianceType::Spherical:
      for (std::size_t i = 0; i < m.covariances.size(); ++i) {
        CAKE_CHECK(m.covariances[i] > 0.0, kIllDefined);
        m.prec_chol[i] = 1.0 / std::sqrt(m.covariances[i]);
      }
      break;
  }
}

// sum_j log (P_k)_jj per component: half the log-determinant of the precision.
std::vector<double> log_det_precision_cholesky(const Model& m) {
  const std::int64_t d = m.d;
  std::vector<double> out(static_cast<std::size_t>(m.k), 0.0);
  for (std::int64_t c = 0; c < m.k; ++c) {
    double s = 0.0;
    switch (m.type) {
      case CovarianceType::Full:
        for (std::int64_t j = 0; j < d; ++j) s += std::log(m.prec_chol[static_cast<std::size_t>(c * d * d + j * d + j)]);
        break;
      case CovarianceType::Tied:
        for (std::int64_t j = 0; j < d; ++j) s += std::log(m.prec_chol[static_cast<std::size_t>(j * d + j)]);
        break;
      case CovarianceType::Diag:
        for (std::int64_t j = 0; j < d; ++j) s += std::log(m.prec_chol[static_cast<std::size_t>(c * d + j)]);
        break;
      case CovarianceType::Spherical: s = static_cast<double>(d) * std::log(m.prec_chol[static_cast<std::size_t>(c)]); break;
    }
    out[static_cast<std::size_t>(c)] = s;
  }
  return out;
}

// ---- E-step ---------------------------------------------------------------------------------
// For every row i: the weighted log densities w_ik = log pi_k + log N(x_i | mu_k, Sigma_k), their
// log-sum-exp log p(x_i) (9.28's summand), and the responsibilities exp(w_ik - log p(x_i))
// (9.23), one block of rows at a time so the n x K x D intermediate is never stored. Writes
// resp [n x K] and log p [n] (either may be null) and returns the log-likelihood sum_i log p(x_i).
double e_step(const Model& m, const double* x, std::int64_t n, double* resp, double* log_prob) {
  const std::int64_t k = m.k, d = m.d;
  const std::vector<double> log_det = log_det_precision_cholesky(m);
  std::vector<double> constant(static_cast<std::size_t>(k));
  for (std::int64_t c = 0; c < k; ++c)
    constant[static_cast<std::size_t>(c)] = std::log(m.weights[static_cast<std::size_t>(c)]) + log_det[static_cast<std::size_t>(c)] -
                                            0.5 * static_cast<double>(d) * std::log(2.0 * std::numbers::pi);

  // full / tied: y = x P - mu P. Concatenating the K factors into P_all [D x K*D] turns the
  // whole block into one GEMM; mu_k P_k is computed once here.
  const bool triangular = m.type == CovarianceType::Full || m.type == CovarianceType::Tied;
  const std::int64_t width = m.type == CovarianceType::Full ? k * d : d;
  std::vector<double> p_all, mu_p(static_cast<std::size_t>(k * d));
  if (triangular) {
    p_all.resize(static_cast<std::size_t>(d * width));
    for (std::int64_t c = 0; c < (m.type == CovarianceType::Full ? k : 1); ++c)
      for (std::int64_t i = 0; i < d; ++i)
        for (std::int64_t j = 0; j < d; ++j)
          p_all[static_cast<std::size_t>(i * width + c * d + j)] = m.prec_chol[static_cast<std::size_t>(c * d * d + i * d + j)];
    for (std::int64_t c = 0; c < k; ++c) {
      const double* pc = m.type == CovarianceType::Full ? &m.prec_chol[static_cast<std::size_t>(c * d * d)] : m.prec_chol.data();
      blas::gemm<double>(false, false, 1, d, d, 1.0, &m.means[static_cast<std::size_t>(c * d)], d, pc, d, 0.0,
                           &mu_p[static_cast<std::size_t>(c * d)], d);
    }
  }
  std::vector<double> precision;  // diag: K x D, spherical: K (squared factors)
  if (!triangular) {
    precision = m.prec_chol;
    for (double& v : precision) v *= v;
  }

  const std::int64_t rows = 256;
  const std::int64_t blocks = (n + rows - 1) / rows;
  std::vector<std::vector<double>> total(static_cast<std::size_t>(detail::max_threads()), std::vector<double>(1, 0.0));
  blas::SingleThreaded single_threaded_blas;  // NOTE [ BLAS inside parallel regions ]
  parallel_for(0, blocks, detail::grain_for(rows * k * (width + d)), [&](std::int64_t block_lo, std::int64_t block_hi) {
    std::vector<double> y(triangular ? static_cast<std::size_t>(rows * width) : 0);
    std::vector<double> w(static_cast<std::size_t>(k));
    double local = 0.0;
    for (std::int64_t b = block_lo; b < block_hi; ++b) {
      const std::int64_t lo = b * rows, hi = std::min(n, lo + rows);
      if (triangular) blas::gemm<double>(false, false, hi - lo, width, d, 1.0, x + lo * d, d, p_all.data(), width, 0.0, y.data(), width);
      for (std::int64_t i = lo; i < hi; ++i) {
        const double* xi = x + i * d;
        for (std::int64_t c = 0; c < k; ++c) {
          double maha = 0.0;  // squared Mahalanobis distance |(x - mu_k)^T P_k|^2
          if (triangular) {
            const double* yi = &y[static_cast<std::size_t>((i - lo) * width + (m.type == CovarianceType::Full ? c * d : 0))];
            const double* mp = &mu_p[static_cast<std::size_t>(c * d)];
#pragma omp simd reduction(+ : maha)
            for (std::int64_t j = 0; j < d; ++j) maha += (yi[j] - mp[j]) * (yi[j] - mp[j]);
          } else {
            const double* mu = &m.means[static_cast<std::size_t>(c * d)];
            if (m.type == CovarianceType::Diag) {
              const double* pr = &precision[static_cast<std::size_t>(c * d)];
#pragma omp simd reduction(+ : maha)
              for (std::int64_t j = 0; j < d; ++j) maha += (xi[j] - mu[j]) * (xi[j] - mu[j]) * pr[j];
            } else {
#pragma omp simd reduction(+ : maha)
              for (std::int64_t j = 0; j < d; ++j) maha += (xi[j] - mu[j]) * (xi[j] - mu[j]);
              maha *= precision[static_cast<std::size_t>(c)];
            }
          }
          w[static_cast<std::size_t>(c)] = constant[static_cast<std::size_t>(c)] - 0.5 * maha;
        }
        // log-sum-exp: factor out the largest term so that exp never overflows and at least
        // one term is exactly 1.
        // The responsibilities (9.23) reuse those exponentials: gamma_ik = exp(w_ik - top) / s.
        const double top = *std::max_element(w.begin(), w.end());
        double s = 0.0;
        for (std::int64_t c = 0; c < k; ++c) s += w[static_cast<std::size_t>(c)] = std::exp(w[static_cast<std::size_t>(c)] - top);
        const double lse = top + std::log(s);
        local += lse;
        if (log_prob) log_prob[i] = lse;
        if (resp)
          for (std::int64_t c = 0; c < k; ++c) resp[i * k + c] = w[static_cast<std::size_t>(c)] / s;
      }
    }
    total[static_cast<std::size_t>(detail::thread_index())][0] += local;
  });
  double sum = 0.0;
  detail::reduce_partials(total, &sum, 1);
  return sum;
}

// ---- M-step ---------------------------------------------------------------------------------
// Weights, means and covariances from the responsibilities (9.24 - 9.27), then the precision
// factors. `x_gram` is X_c^T X_c for X centred by `x_mean` (only the tied model reads it). The
// rows may be one shard of the data: every sum over rows goes through `sum_over_shards`.
void m_step(Model& m, const double* x, std::int64_t n, const double* resp, double reg_covar,
            const std::vector<double>& x_mean, const std::vector<double>& x_gram, const em::SumOverShards& sum_over_shards) {
  const std::int64_t k = m.k, d = m.d;
  // N_k = sum_i gamma_ik and the weighted sums sum_i gamma_ik x_i, in one parallel pass with
  // per-thread partials. (As a GEMM, resp^T X is a 10 x 50 x 60000 product of a shape OpenBLAS
  // handles badly, and its threads then spin against ours: perf showed a third of the E-M time
  // in sched_yield and the OpenMP barrier.)
  std::vector<std::vector<double>> partial_sums(static_cast<std::size_t>(detail::max_threads()));
  parallel_for(0, n, detail::grain_for(k * d), [&](std::int64_t lo, std::int64_t hi) {
    auto& acc = partial_sums[static_cast<std::size_t>(detail::thread_index())];
    acc.assign(static_cast<std::size_t>(k + k * d), 0.0);  // [N_k | sums]
    for (std::int64_t i = lo; i < hi; ++i)
      for (std::int64_t c = 0; c < k; ++c) {
        const double r = resp[i * k + c];
        acc[static_cast<std::size_t>(c)] += r;
        double* sum = &acc[static_cast<std::size_t>(k + c * d)];
#pragma omp simd
        for (std::int64_t j = 0; j < d; ++j) sum[j] += r * x[i * d + j];
      }
  });
  std::vector<double> totals(static_cast<std::size_t>(k + k * d));
  detail::reduce_partials(partial_sums, totals.data(), k + k * d);
  sum_over_shards(totals);
  // N_k, with scikit-learn's 10 eps so that an empty component divides by a tiny number, not 0.
  std::vector<double> nk(static_cast<std::size_t>(k));
  for (std::int64_t c = 0; c < k; ++c)
    nk[static_cast<std::size_t>(c)] = totals[static_cast<std::size_t>(c)] + 10.0 * std::numeric_limits<double>::epsilon();
  m.means.assign(totals.begin() + k, totals.end());
  for (std::int64_t c = 0; c < k; ++c)
    for (std::int64_t j = 0; j < d; ++j) m.means[static_cast<std::size_t>(c * d + j)] /= nk[static_cast<std::size_t>(c)];
  m.weights = nk;
  double total = 0.0;
  for (double v : nk) total += v;
  for (double& v : m.weights) v /= total;

  m.covariances.assign(static_cast<std::size_t>(m.covariance_size()), 0.0);
  switch (m.type) {
    case CovarianceType::Full: {
      // Sigma_k = W_k^T W_k / N_k with W_k = sqrt(gamma_k) (X - mu_k), the centred form (9.25).
      // One parallel pass over blocks of rows: each thread forms a block of W_k for every k and
      // adds its Gram matrix (syrk, single-threaded BLAS) into its own partial Sigma_k, summed
      // in thread order afterwards. (A multi-threaded syrk per component, with a parallel fill
      // before each, kept the two thread pools spinning against each other.)
      const std::int64_t rows = 256;
      const std::int64_t blocks = (n + rows - 1) / rows;
      std::vector<std::vector<double>> partial(static_cast<std::size_t>(detail::max_threads()));
      blas::SingleThreaded single_threaded_blas;  // NOTE [ BLAS inside parallel regions ]
      parallel_for(0, blocks, 1, [&](std::int64_t block_lo, std::int64_t block_hi) {
        auto& acc = partial[static_cast<std::size_t>(detail::thread_index())];
        acc.assign(static_cast<std::size_t>(k * d * d), 0.0);
        std::vector<double> wbuf(static_cast<std::size_t>(rows * d));
        for (std::int64_t b = block_lo; b < block_hi; ++b) {
          const std::int64_t lo = b * rows, hi = std::min(n, lo + rows);
          for (std::int64_t c = 0; c < k; ++c) {
            const double* mu = &m.means[static_cast<std::size_t>(c * d)];
            for (std::int64_t i = lo; i < hi; ++i) {
              const double s = std::sqrt(resp[i * k + c]);
              for (std::int64_t j = 0; j < d; ++j) wbuf[static_cast<std::size_t>((i - lo) * d + j)] = s * (x[i * d + j] - mu[j]);
            }
            blas::gram<double>(d, hi - lo, 1.0, wbuf.data(), d, 1.0, &acc[static_cast<std::size_t>(c * d * d)], d,
                                 /*fill_both=*/false);
          }
        }
      });
      detail::reduce_partials(partial, m.covariances.data(), k * d * d);
      sum_over_shards(m.covariances);
      for (std::int64_t c = 0; c < k; ++c) {
        double* cov = &m.covariances[static_cast<std::size_t>(c * d * d)];
        const double inv = 1.0 / nk[static_cast<std::size_t>(c)];
        for (std::int64_t a = 0; a < d; ++a)
          for (std::int64_t j = a; j < d; ++j) cov[a * d + j] = cov[j * d + a] = cov[a * d + j] * inv;  // upper -> both
        for (std::int64_t j = 0; j < d; ++j) cov[j * d + j] += reg_covar;
      }
      break;
    }
    case CovarianceType::Tied: {
      // Sigma = (sum_i x x^T - sum_k N_k mu_k mu_k^T) / N, written around the data mean m:
      // (X_c^T X_c - sum_k N_k (mu_k - m)(mu_k - m)^T) / N, which does not cancel digits.
      m.covariances = x_gram;
      std::vector<double> dm(static_cast<std::size_t>(d));
      for (std::int64_t c = 0; c < k; ++c) {
        for (std::int64_t j = 0; j < d; ++j)
          dm[static_cast<std::size_t>(j)] = m.means[static_cast<std::size_t>(c * d + j)] - x_mean[static_cast<std::size_t>(j)];
        const double w = nk[static_cast<std::size_t>(c)];
        for (std::int64_t a = 0; a < d; ++a)
          for (std::int64_t b = 0; b < d; ++b)
            m.covariances[static_cast<std::size_t>(a * d + b)] -= w * dm[static_cast<std::size_t>(a)] * dm[static_cast<std::size_t>(b)];
      }
      for (double& v : m.covariances) v /= total;
      for (std::int64_t j = 0; j < d; ++j) m.covariances[static_cast<std::size_t>(j * d + j)] += reg_covar;
      break;
    }
    case CovarianceType::Diag:
    case CovarianceType::Spherical: {
      // sigma_kj^2 = sum_i gamma_ik (x_ij - mu_kj)^2 / N_k, accumulated per thread.
      std::vector<std::vector<double>> partial(static_cast<std::size_t>(detail::max_threads()));
      parallel_for(0, n, detail::grain_for(3 * k * d), [&](std::int64_t lo, std::int64_t hi) {
        auto& acc = partial[static_cast<std::size_t>(detail::thread_index())];
        acc.assign(static_cast<std::size_t>(k * d), 0.0);
        for (std::int64_t i = lo; i < hi; ++i)
          for (std::int64_t c = 0; c < k; ++c) {
            const double r = resp[i * k + c];
            const double* mu = &m.means[static_cast<std::size_t>(c * d)];
            double* a = &acc[static_cast<std::size_t>(c * d)];
#pragma omp simd
            for (std::int64_t j = 0; j < d; ++j) a[j] += r * (x[i * d + j] - mu[j]) * (x[i * d + j] - mu[j]);
          }
      });
      std::vector<double> var(static_cast<std::size_t>(k * d));
      detail::reduce_partials(partial, var.data(), k * d);
      sum_over_shards(var);
      for (std::int64_t c = 0; c < k; ++c)
        for (std::int64_t j = 0; j < d; ++j) {
          double& v = var[static_cast<std::size_t>(c * d + j)];
          v = v / nk[static_cast<std::size_t>(c)] + reg_covar;
        }
      if (m.type == CovarianceType::Diag) {
        m.covariances = var;
      } else {
        for (std::int64_t c = 0; c < k; ++c) {
          double s = 0.0;
          for (std::int64_t j = 0; j < d; ++j) s += var[static_cast<std::size_t>(c * d + j)];
          m.covariances[static_cast<std::size_t>(c)] = s / static_cast<double>(d);
        }
      }
      break;
    }
  }
  compute_precision_cholesky(m);
}

// ---- initialisation -------------------------------------------------------------------------
// Responsibilities to start EM from (scikit-learn's _initialize_parameters): one-hot k-means
// labels, one-hot k-means++ seeds or random data points, or random rows normalised to sum 1.
std::vector<double> initial_responsibilities(const GaussianMixtureOptions& o, const Tensor& X64) {
  const std::int64_t n = X64.size(0), d = X64.size(1), k = o.n_components;
  std::vector<double> resp(static_cast<std::size_t>(n * k), 0.0);
  if (o.init_params == "kmeans") {
    KMeans km({.n_clusters = k, .n_init = 1});
    const Tensor labels = km.fit_predict(X64);
    const std::int64_t* l = labels.data_ptr<std::int64_t>();
    for (std::int64_t i = 0; i < n; ++i) resp[static_cast<std::size_t>(i * k + l[i])] = 1.0;
  } else if (o.init_params == "random") {
    const std::vector<double> u = detail::uniform_draws(n * k);
    for (std::int64_t i = 0; i < n; ++i) {
      double s = 0.0;
      for (std::int64_t c = 0; c < k; ++c) s += u[static_cast<std::size_t>(i * k + c)];
      for (std::int64_t c = 0; c < k; ++c) resp[static_cast<std::size_t>(i * k + c)] = u[static_cast<std::size_t>(i * k + c)] / s;
    }
  } else {
    std::vector<std::int64_t> seeds;
    if (o.init_params == "random_from_data") {
      seeds = detail::permutation(n);
      seeds.resize(static_cast<std::size_t>(k));
    } else {  // k-means++: the rows it chose as centres
      const kmeans::Dataset<double> data(X64.data_ptr<double>(), n, d);
      seeds = kmeans::kmeans_plus_plus(data, k).indices;
    }
    for (std::int64_t c = 0; c < k; ++c) resp[static_cast<std::size_t>(seeds[static_cast<std::size_t>(c)] * k + c)] = 1.0;
  }
  return resp;
}


std::vector<double> to_vector(const Tensor& t) {
  const Tensor c = t.detach().cpu().to(kFloat64).contiguous();
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

// Precision matrices given by the user -> their Cholesky factors (lower, Lambda = L L^T).
void set_precisions(Model& m, const Tensor& precisions) {
  CAKE_CHECK(precisions.sizes() == m.covariance_shape(), "GaussianMixture: precisions_init must have shape ",
             m.covariance_shape(), " for covariance_type, got ", precisions.sizes());
  m.prec_chol = to_vector(precisions);
  const std::int64_t d = m.d;
  if (m.type == CovarianceType::Full || m.type == CovarianceType::Tied) {
    const std::int64_t count = m.type == CovarianceType::Full ? m.k : 1;
    for (std::int64_t c = 0; c < count; ++c) {
      double* block = &m.prec_chol[static_cast<std::size_t>(c * d * d)];
      const std::optional<Tensor> l = cholesky_lower(d, block);
      CAKE_CHECK(l.has_value(), "GaussianMixture: precisions_init[", c, "] is not symmetric positive definite");
      std::copy(l->data_ptr<double>(), l->data_ptr<double>() + d * d, block);
    }
  } else {
    for (double& v : m.prec_chol) {
      CAKE_CHECK(v > 0.0, "GaussianMixture: precisions_init must be positive, got ", v);
      v = std::sqrt(v);
    }
  }
}

void check_options(const GaussianMixtureOptions& o) {
  CAKE_CHECK(o.n_components >= 1, "GaussianMixture: n_components must be at least 1, got ", o.n_components);
  CAKE_CHECK(o.tol >= 0.0, "GaussianMixture: tol must be non-negative, got ", o.tol);
  CAKE_CHECK(o.reg_covar >= 0.0, "GaussianMixture: reg_covar must be non-negative, got ", o.reg_covar);
  CAKE_CHECK(o.max_iter >= 0, "GaussianMixture: max_iter must be non-negative, got ", o.max_iter);
  CAKE_CHECK(o.n_init >= 1, "GaussianMixture: n_init must be at least 1, got ", o.n_init);
  CAKE_CHECK(o.init_params == "kmeans" || o.init_params == "k-means++" || o.init_params == "random" ||
                 o.init_params == "random_from_data",
             "GaussianMixture: unknown init_params \"", o.init_params,
             "\" (expected \"kmeans\", \"k-means++\", \"random\" or \"random_from_data\")");
  parse_covariance_type(o.covariance_type);
}

Model model_from(const GaussianMixtureOptions& o, std::int64_t d) {
  Model m;
  m.type = parse_covariance_type(o.covariance_type);
  m.k = o.n_components;
  m.d = d;
  return m;
}

// X_c^T X_c and the column means, for the tied M-step.
void centred_gram(const double* x, std::int64_t n, std::int64_t d, std::vector<double>& mean, std::vector<double>& gram) {
  mean = detail::column_means(x, n, d);
  std::vector<double> xc(static_cast<std::size_t>(n * d));
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = 0; j < d; ++j) xc[static_cast<std::size_t>(i * d + j)] = x[i * d + j] - mean[static_cast<std::size_t>(j)];
  gram.assign(static_cast<std::size_t>(d * d), 0.0);
  blas::gram<double>(d, n, 1.0, xc.data(), d, 0.0, gram.data(), d);
}

}  // namespace

GaussianMixture::GaussianMixture(GaussianMixtureOptions options) : options_(std::move(options)) {
  check_options(options_);
}

Tensor GaussianMixture::as_float64(const Tensor& X, const char* who) const {
  check_fitted(who);
  return detail::data_matrix(X, who, 0, n_features_).to(kFloat64).contiguous();
}

GaussianMixture& GaussianMixture::fit(const Tensor& X) {
  fit_predict(X);
  return *this;
}

Tensor GaussianMixture::fit_predict(const Tensor& X_in) {
  const GaussianMixtureOptions& o = options_;
  const Tensor X = detail::data_matrix(X_in, "GaussianMixture.fit", std::max<std::int64_t>(2, o.n_components))
                       .to(kFloat64)
                       .contiguous();
  const std::int64_t n = X.size(0), d = X.size(1);
  em::check_feature_count(o, d);
  const bool warm = o.warm_start && weights_.defined();
  if (warm) CAKE_CHECK(d == n_features_, "GaussianMixture.fit: warm_start with ", d, " features, fitted with ", n_features_);
  detail::SeedScope seed(o.random_state);

  em::Rows rows{X.data_ptr<double>(), n, d, n, {}, {}, {}};  // x, n, d, n_total
  if (parse_covariance_type(o.covariance_type) == CovarianceType::Tied) centred_gram(rows.x, n, d, rows.mean, rows.centred_gram);
  if (!o.device.is_cpu()) rows.x_device = X.to(o.device);  // X goes to the device once
  const GaussianMixtureState previous{weights_, means_, covariances_, precisions_cholesky_, converged_, n_iter_,
                                      lower_bound_, lower_bound_history_};
  GaussianMixtureState fitted = em::fit(
      o, rows, [&](std::int64_t) { return initial_responsibilities(o, X); }, [](std::vector<double>&) {},
      warm ? &previous : nullptr);
  adopt(std::move(fitted), d);
  // A final E-step, so that fit_predict(X) agrees with fit(X).predict(X).
  labels_ = predict(X);
  return labels_;
}

GaussianMixture::GaussianMixture(GaussianMixtureOptions options, GaussianMixtureState fitted)
    : options_(std::move(options)) {
  check_options(options_);
  CAKE_CHECK(fitted.means.defined() && fitted.means.dim() == 2 && fitted.means.size(0) == options_.n_components,
             "GaussianMixture: the fitted means must have shape [", options_.n_components, ", D]");
  const std::int64_t d = fitted.means.size(1);
  adopt(std::move(fitted), d);
}

void GaussianMixture::adopt(GaussianMixtureState fitted, std::int64_t n_features) {
  weights_ = std::move(fitted.weights);
  means_ = std::move(fitted.means);
  covariances_ = std::move(fitted.covariances);
  precisions_cholesky_ = std::move(fitted.precisions_cholesky);
  converged_ = fitted.converged;
  n_iter_ = fitted.n_iter;
  lower_bound_ = fitted.lower_bound;
  lower_bound_history_ = std::move(fitted.lower_bound_history);
  n_features_ = n_features;
  labels_ = Tensor();
}

namespace em {

void check_feature_count(const GaussianMixtureOptions& o, std::int64_t d) {
  // A full or tied covariance is D x D, factored in O(D^3) every iteration: beyond a few
  // thousand features that is gigabytes and hours (20000 features: 3.2 GB a component), so it
  // is refused with the ways out instead of appearing to hang.
  constexpr std::int64_t kMaxDenseCovarianceFeatures = 4096;
  CAKE_CHECK(d <= kMaxDenseCovarianceFeatures || o.covariance_type == "diag" || o.covariance_type == "spherical",
             "GaussianMixture.fit: covariance_type=\"", o.covariance_type, "\" with ", d, " features needs ",
             d, " x ", d, " covariance matrices (", static_cast<double>(d) * static_cast<double>(d) * 8e-9,
             " GB each); use covariance_type \"diag\" or \"spherical\", or reduce the dimension first (PCA) to at most ",
             kMaxDenseCovarianceFeatures);
}

GaussianMixtureState fit(const GaussianMixtureOptions& o, const Rows& rows, const InitialResponsibilities& initial,
                         const SumOverShards& sum_over_shards, const GaussianMixtureState* start) {
  check_options(o);
  const double* x = rows.x;
  const std::int64_t n = rows.n, d = rows.d, k = o.n_components;
  const double n_total = static_cast<double>(rows.n_total);
  std::vector<double> resp(static_cast<std::size_t>(n * k));
  // The mean log-likelihood of the current parameters over all shards (9.28, divided by N).
  // The E-step runs on the CPU, or where rows.x_device lives (GaussianMixtureOptions::device):
  // each step sends the K components' parameters there and brings the responsibilities back for
  // the CPU's M-step.
  auto mean_log_likelihood = [&](const Model& m) {
    std::vector<double> sum(1);
    if (!rows.x_device.defined()) {
      sum[0] = e_step(m, x, n, resp.data(), nullptr);
    } else {
      const algorithms::detail::LogResponsibilities lr = algorithms::detail::gmm_log_responsibilities(
          rows.x_device, detail::to_tensor(m.weights, {k}), detail::to_tensor(m.means, {k, d}),
          detail::to_tensor(m.prec_chol, m.covariance_shape()), o.covariance_type);
      const Tensor host = lr.log_resp.exp().to(kCPU, kFloat64).contiguous();
      std::copy(host.data_ptr<double>(), host.data_ptr<double>() + n * k, resp.begin());
      sum[0] = lr.log_prob_norm.sum().to(kCPU, kFloat64).item<double>();
    }
    sum_over_shards(sum);
    return sum[0] / n_total;
  };

  Model best;
  std::vector<double> best_history;
  double best_bound = -std::numeric_limits<double>::infinity();
  std::int64_t best_iter = 0;
  bool any_converged = false;
  const std::int64_t runs = start != nullptr ? 1 : o.n_init;
  for (std::int64_t run = 0; run < runs; ++run) {
    Model m = model_from(o, d);
    double bound = -std::numeric_limits<double>::infinity();
    if (start != nullptr) {
      m.weights = to_vector(start->weights);
      m.means = to_vector(start->means);
      m.covariances = to_vector(start->covariances);
      m.prec_chol = to_vector(start->precisions_cholesky);
      bound = start->lower_bound;
    } else {
      // _initialize: parameters from the initial responsibilities, then the user's overrides.
      m_step(m, x, n, initial(run).data(), o.reg_covar, rows.mean, rows.centred_gram, sum_over_shards);
      if (o.weights_init.defined()) {
        CAKE_CHECK(o.weights_init.sizes() == Shape{k}, "GaussianMixture: weights_init must have shape [", k, "], got ",
                   o.weights_init.sizes());
        m.weights = to_vector(o.weights_init);
      }
      if (o.means_init.defined()) {
        CAKE_CHECK(o.means_init.sizes() == (Shape{k, d}), "GaussianMixture: means_init must have shape [", k, ", ", d,
                   "], got ", o.means_init.sizes());
        m.means = to_vector(o.means_init);
      }
      if (o.precisions_init.defined()) set_precisions(m, o.precisions_init);
    }
    std::int64_t iter = 0;
    bool converged = false;
    std::vector<double> history;
    for (iter = 1; iter <= o.max_iter; ++iter) {
      const double previous = bound;
      bound = mean_log_likelihood(m);  // the E-step: resp of this shard's rows
      history.push_back(bound);
      m_step(m, x, n, resp.data(), o.reg_covar, rows.mean, rows.centred_gram, sum_over_shards);
      if (std::abs(bound - previous) < o.tol) {
        converged = true;
        break;
      }
    }
    if (iter > o.max_iter) iter = o.max_iter;
    if (bound > best_bound || best_bound == -std::numeric_limits<double>::infinity()) {
      best_bound = bound;
      best = m;
      best_iter = iter;
      best_history = std::move(history);
    }
    any_converged = any_converged || converged;
  }

  const Shape cov_shape = best.covariance_shape();
  GaussianMixtureState state;
  state.weights = detail::to_tensor(best.weights, {k});
  state.means = detail::to_tensor(best.means, {k, d});
  state.covariances = best.covariances.empty() ? Tensor() : detail::to_tensor(best.covariances, cov_shape);
  state.precisions_cholesky = detail::to_tensor(best.prec_chol, cov_shape);
  state.converged = any_converged;
  state.n_iter = best_iter;
  state.lower_bound = best_bound;
  state.lower_bound_history = std::move(best_history);
  return state;
}

namespace {
Model fitted_model(const GaussianMixtureOptions& o, const GaussianMixtureState& state, std::int64_t d) {
  Model m = model_from(o, d);
  m.weights = to_vector(state.weights);
  m.means = to_vector(state.means);
  m.prec_chol = to_vector(state.precisions_cholesky);
  return m;
}
}  // namespace

Tensor predict(const GaussianMixtureOptions& o, const GaussianMixtureState& state, const double* x, std::int64_t n,
               std::int64_t d) {
  const Model m = fitted_model(o, state, d);
  std::vector<double> resp(static_cast<std::size_t>(n * m.k));
  if (n > 0) e_step(m, x, n, resp.data(), nullptr);
  Tensor labels = empty({n}, kInt64);
  std::int64_t* l = labels.data_ptr<std::int64_t>();
  for (std::int64_t i = 0; i < n; ++i) {
    const double* r = &resp[static_cast<std::size_t>(i * m.k)];
    l[i] = std::max_element(r, r + m.k) - r;
  }
  return labels;
}

double sum_log_likelihood(const GaussianMixtureOptions& o, const GaussianMixtureState& state, const double* x,
                          std::int64_t n, std::int64_t d) {
  return n > 0 ? e_step(fitted_model(o, state, d), x, n, nullptr, nullptr) : 0.0;
}

}  // namespace em

const Tensor& GaussianMixture::labels() const {
  check_fitted("GaussianMixture.labels");
  return labels_;
}

void GaussianMixture::check_fitted(const char* who) const {
  CAKE_CHECK(weights_.defined(), who, ": this GaussianMixture is not fitted yet; call fit first");
}

namespace {
Model model_of(const GaussianMixtureOptions& o, std::int64_t d, const Tensor& weights, const Tensor& means,
               const Tensor& prec_chol) {
  Model m = model_from(o, d);
  m.weights = to_vector(weights);
  m.means = to_vector(means);
  m.prec_chol = to_vector(prec_chol);
  return m;
}
}  // namespace

Tensor GaussianMixture::predict_proba(const Tensor& X_in) const {
  const Tensor X = as_float64(X_in, "GaussianMixture.predict_proba");
  const Model m = model_of(options_, n_features_, weights_, means_, precisions_cholesky_);
  Tensor resp = empty({X.size(0), m.k}, kFloat64);
  if (X.size(0) > 0) e_step(m, X.data_ptr<double>(), X.size(0), resp.data_ptr<double>(), nullptr);
  return resp;
}

Tensor GaussianMixture::predict(const Tensor& X) const {
  const Tensor resp = predict_proba(X);
  const std::int64_t n = resp.size(0), k = resp.size(1);
  Tensor labels = empty({n}, kInt64);
  const double* r = resp.data_ptr<double>();
  std::int64_t* l = labels.data_ptr<std::int64_t>();
  for (std::int64_t i = 0; i < n; ++i) l[i] = std::max_element(r + i * k, r + (i + 1) * k) - (r + i * k);
  return labels;
}

Tensor GaussianMixture::score_samples(const Tensor& X_in) const {
  const Tensor X = as_float64(X_in, "GaussianMixture.score_samples");
  const Model m = model_of(options_, n_features_, weights_, means_, precisions_cholesky_);
  Tensor out = empty({X.size(0)}, kFloat64);
  if (X.size(0) > 0) e_step(m, X.data_ptr<double>(), X.size(0), nullptr, out.data_ptr<double>());
  return out;
}

double GaussianMixture::score(const Tensor& X_in) const {
  const Tensor X = as_float64(X_in, "GaussianMixture.score");
  CAKE_CHECK(X.size(0) > 0, "GaussianMixture.score: no samples");
  const Model m = model_of(options_, n_features_, weights_, means_, precisions_cholesky_);
  return e_step(m, X.data_ptr<double>(), X.size(0), nullptr, nullptr) / static_cast<double>(X.size(0));
}

std::int64_t GaussianMixture::n_parameters() const {
  check_fitted("GaussianMixture.n_parameters");
  const std::int64_t k = options_.n_components, d = n_features_;
  std::int64_t cov = 0;
  switch (parse_covariance_type(options_.covariance_type)) {
    case CovarianceType::Full: cov = k * d * (d + 1) / 2; break;
    case CovarianceType::Tied: cov = d * (d + 1) / 2; break;
    case CovarianceType::Diag: cov = k * d; break;
    case CovarianceType::Spherical: cov = k; break;
  }
  return cov + k * d + k - 1;
}

double GaussianMixture::bic(const Tensor& X) const {
  const double n = static_cast<double>(X.size(0));
  return -2.0 * score(X) * n + static_cast<double>(n_parameters()) * std::log(n);
}

double GaussianMixture::aic(const Tensor& X) const {
  const double n = static_cast<double>(X.size(0));
  return -2.0 * score(X) * n + 2.0 * static_cast<double>(n_parameters());
}

std::pair<Tensor, Tensor> GaussianMixture::sample(std::int64_t n) const {
  check_fitted("GaussianMixture.sample");
  CAKE_CHECK(n >= 1, "GaussianMixture.sample: n must be at least 1, got ", n);
  const std::int64_t k = options_.n_components, d = n_features_;
  const CovarianceType type = parse_covariance_type(options_.covariance_type);
  const std::vector<double> w = to_vector(weights_), mu = to_vector(means_), cov = to_vector(covariances_);
  // Component counts: n categorical draws from the weights (a multinomial draw).
  std::vector<std::int64_t> counts(static_cast<std::size_t>(k), 0);
  for (double u : detail::uniform_draws(n)) {
    double acc = 0.0;
    std::int64_t c = 0;
    while (c < k - 1 && u >= (acc += w[static_cast<std::size_t>(c)])) ++c;
    ++counts[static_cast<std::size_t>(c)];
  }
  Tensor samples = empty({n, d}, kFloat64), components = empty({n}, kInt64);
  double* out = samples.data_ptr<double>();
  std::int64_t* label = components.data_ptr<std::int64_t>();
  const std::vector<double> z = detail::normal_draws(n * d);
  // x = mu_k + L z with Sigma_k = L L^T (full, tied), or mu_k + sigma z (diag, spherical).
  std::vector<double> chol;
  std::int64_t row = 0;
  for (std::int64_t c = 0; c < k; ++c) {
    if (type == CovarianceType::Full || (type == CovarianceType::Tied && c == 0)) {
      const std::int64_t offset = type == CovarianceType::Full ? c * d * d : 0;
      const std::optional<Tensor> l = cholesky_lower(d, &cov[static_cast<std::size_t>(offset)]);
      CAKE_CHECK(l.has_value(), "GaussianMixture.sample: covariance ", c, " is not positive definite");
      chol.assign(l->data_ptr<double>(), l->data_ptr<double>() + d * d);
    }
    for (std::int64_t s = 0; s < counts[static_cast<std::size_t>(c)]; ++s, ++row) {
      const double* zr = &z[static_cast<std::size_t>(row * d)];
      double* xr = out + row * d;
      for (std::int64_t j = 0; j < d; ++j) {
        double v = mu[static_cast<std::size_t>(c * d + j)];
        switch (type) {
          case CovarianceType::Full:
          case CovarianceType::Tied:
            for (std::int64_t t = 0; t <= j; ++t) v += chol[static_cast<std::size_t>(j * d + t)] * zr[t];
            break;
          case CovarianceType::Diag: v += std::sqrt(cov[static_cast<std::size_t>(c * d + j)]) * zr[j]; break;
          case CovarianceType::Spherical: v += std::sqrt(cov[static_cast<std::size_t>(c)]) * zr[j]; break;
        }
        xr[j] = v;
      }
      label[row] = c;
    }
  }
  return {samples, components};
}

const Tensor& GaussianMixture::weights() const {
  check_fitted("GaussianMixture.weights");
  return weights_;
}
const Tensor& GaussianMixture::means() const {
  check_fitted("GaussianMixture.means");
  return means_;
}
const Tensor& GaussianMixture::covariances() const {
  check_fitted("GaussianMixture.covariances");
  return covariances_;
}
const Tensor& GaussianMixture::precisions_cholesky() const {
  check_fitted("GaussianMixture.precisions_cholesky");
  return precisions_cholesky_;
}
Tensor GaussianMixture::precisions() const {
  check_fitted("GaussianMixture.precisions");
  const std::vector<double> p = to_vector(precisions_cholesky_);
  const std::int64_t k = options_.n_components, d = n_features_;
  std::vector<double> out(p.size());
  switch (parse_covariance_type(options_.covariance_type)) {
    case CovarianceType::Full:
    case CovarianceType::Tied: {
      const std::int64_t count = options_.covariance_type == "full" ? k : 1;
      for (std::int64_t c = 0; c < count; ++c)
        blas::gemm<double>(false, true, d, d, d, 1.0, &p[static_cast<std::size_t>(c * d * d)], d,
                             &p[static_cast<std::size_t>(c * d * d)], d, 0.0, &out[static_cast<std::size_t>(c * d * d)], d);
      break;
    }
    case CovarianceType::Diag:
    case CovarianceType::Spherical:
      for (std::size_t i = 0; i < p.size(); ++i) out[i] = p[i] * p[i];
      break;
  }
  return detail::to_tensor(out, precisions_cholesky_.sizes());
}
bool GaussianMixture::converged() const {
  check_fitted("GaussianMixture.converged");
  return converged_;
}
std::int64_t GaussianMixture::n_iter() const {
  check_fitted("GaussianMixture.n_iter");
  return n_iter_;
}
double GaussianMixture::lower_bound() const {
  check_fitted("GaussianMixture.lower_bound");
  return lower_bound_;
}

const std::vector<double>& GaussianMixture::lower_bound_history() const {
  check_fitted("GaussianMixture.lower_bound_history");
  return lower_bound_history_;
}

}  // namespace cake::mixture
