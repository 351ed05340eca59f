#include "cake/algorithms/decomposition/dictionary_learning.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "cake/algorithms/detail/common.h"
#include "cake/algorithms/detail/sparse_codes.h"
#include "cake/tensor/creation.h"
#include "cake/tensor/linalg.h"
#include "cake/tensor/parallel.h"

namespace cake::decomposition {

namespace detail = algorithms::detail;  // the shared kernels (algorithms/detail/)

using blas::gemm;
using index_t = std::int64_t;

SparseCodingAlgorithm parse_sparse_coding_algorithm(const std::string& name) {
  if (name == "omp") return SparseCodingAlgorithm::OMP;
  if (name == "lasso_cd") return SparseCodingAlgorithm::LassoCD;
  if (name == "threshold") return SparseCodingAlgorithm::Threshold;
  CAKE_FAIL("sparse coding: unknown algorithm '", name, "' (expected omp, lasso_cd or threshold)");
}

namespace {

// ---- All samples --------------------------------------------------------------------------------

template <class T>
Tensor encode(const Tensor& x, const Tensor& dictionary, SparseCodingAlgorithm algorithm, index_t n_nonzero,
              double alpha, index_t max_iter, bool positive, const Tensor& init, double lasso_tol) {
  const index_t n = x.size(0), f = x.size(1), k = dictionary.size(0);
  const T* px = x.data_ptr<T>();
  const T* pd = dictionary.data_ptr<T>();
  // b = D x for every sample: the [n, k] correlations, one GEMM.
  std::vector<T> corr(static_cast<std::size_t>(n * k));
  gemm<T>(false, true, n, k, f, T(1), px, f, pd, f, T(0), corr.data(), k);
  Tensor code = init.defined() ? init.detach().cpu().to(x.dtype()).contiguous().clone() : zeros({n, k}, x.dtype());
  T* pc = code.data_ptr<T>();
  if (algorithm == SparseCodingAlgorithm::Threshold) {
    const T a = static_cast<T>(alpha);
    for (index_t i = 0; i < n * k; ++i) {
      const T v = corr[i];
      T s = v > a ? v - a : v < -a ? v + a : T(0);
      if (positive) s = std::max(s, T(0));
      pc[i] = s;
    }
    return code;
  }
  std::vector<T> gram(static_cast<std::size_t>(k * k));
  gemm<T>(false, true, k, k, f, T(1), pd, f, pd, f, T(0), gram.data(), k);
  parallel_for(0, n, 16, [&](index_t lo, index_t hi) {
    std::vector<T> lower, gamma, work;
    std::vector<index_t> active;
    for (index_t i = lo; i < hi; ++i) {
      if (algorithm == SparseCodingAlgorithm::OMP) {
        detail::omp_code<T>(gram.data(), corr.data() + i * k, k, n_nonzero, pc + i * k, lower, active, gamma, work);
      } else {
        const T x_norm2 = blas::dot<T>(f, px + i * f, px + i * f);
        detail::lasso_code<T>(gram.data(), corr.data() + i * k, k, static_cast<T>(alpha), positive, x_norm2,
                              max_iter, lasso_tol, pc + i * k, work);
      }
    }
  });
  return code;
}

// [max(c, 0), max(-c, 0)]: the positive and negative parts side by side, 2k columns.
Tensor split_signs(const Tensor& code) {
  const index_t n = code.size(0), k = code.size(1);
  Tensor out = empty({n, 2 * k}, code.dtype());
  out.narrow(1, 0, k).copy_(code.clamp_min(0.0));
  out.narrow(1, k, k).copy_((-code).clamp_min(0.0));
  return out;
}

// ---- Dictionary learning steps ----------------------------------------------------------------------

// One pass of block coordinate descent over the atoms (Mairal et al. 2009, Alg. 2; scikit-learn's
// _update_dict): with A = C^T C and B = X^T C, d_k <- d_k + (b_k - D^T a_k) / A_kk, projected on
// {|d| <= 1}; an atom no sample uses is replaced by a random sample plus 1% noise, and its
// codes are zeroed.
template <class T>
void update_dictionary(T* dict, index_t k, index_t f, const T* x, index_t n, T* code, bool positive) {
  std::vector<T> a(static_cast<std::size_t>(k * k)), b(static_cast<std::size_t>(f * k)),
      ad(static_cast<std::size_t>(f));
  gemm<T>(true, false, k, k, n, T(1), code, k, code, k, T(0), a.data(), k);  // C^T C
  gemm<T>(true, false, f, k, n, T(1), x, f, code, k, T(0), b.data(), k);     // X^T C
  for (index_t atom = 0; atom < k; ++atom) {
    T* d = dict + atom * f;
    const T akk = a[atom * k + atom];
    if (akk > T(1e-6)) {  // 1e-6 as in SPAMS and scikit-learn
      blas::gemv<T>(true, k, f, T(1), dict, f, a.data() + atom * k, T(0), ad.data());  // D^T a_k
      for (index_t j = 0; j < f; ++j) d[j] += (b[j * k + atom] - ad[j]) / akk;
    } else {
      const index_t pick = std::min<index_t>(n - 1, static_cast<index_t>(detail::uniform_draws(1)[0] * n));
      const T* sample = x + pick * f;
      double mean = 0, sq = 0;
      for (index_t j = 0; j < f; ++j) mean += sample[j], sq += double(sample[j]) * sample[j];
      mean /= double(f);
      double sd = std::sqrt(std::max(sq / double(f) - mean * mean, 0.0));
      if (sd == 0) sd = 1;
      const std::vector<double> noise = detail::normal_draws(f);
      for (index_t j = 0; j < f; ++j) d[j] = sample[j] + static_cast<T>(0.01 * sd) * static_cast<T>(noise[j]);
      for (index_t i = 0; i < n; ++i) code[i * k + atom] = 0;
    }
    if (positive)
      for (index_t j = 0; j < f; ++j) d[j] = std::max(d[j], T(0));
    const T norm = blas::nrm2<T>(f, d);
    if (norm > T(1)) blas::scal<T>(f, T(1) / norm, d);
  }
}

// 1/2 ||X - C D||^2 + alpha ||C||_1
template <class T>
double dictionary_cost(const T* x, index_t n, index_t f, const T* code, const T* dict, index_t k, double alpha) {
  std::vector<T> residual(x, x + n * f);
  gemm<T>(false, false, n, f, k, T(-1), code, k, dict, f, T(1), residual.data(), f);
  double sq = 0, l1 = 0;
  for (T v : residual) sq += double(v) * v;
  for (index_t i = 0; i < n * k; ++i) l1 += std::abs(double(code[i]));
  return 0.5 * sq + alpha * l1;
}

void check_coding_options(const char* who, std::optional<std::int64_t> n_nonzero, std::optional<double> alpha,
                          std::int64_t max_iter) {
  CAKE_CHECK(!n_nonzero || *n_nonzero >= 1, who, ": n_nonzero_coefs must be at least 1, got ", n_nonzero.value_or(0));
  CAKE_CHECK(!alpha || *alpha >= 0, who, ": alpha must be >= 0, got ", alpha.value_or(0));
  CAKE_CHECK(max_iter >= 1, who, ": max_iter must be at least 1, got ", max_iter);
}

}  // namespace

Tensor sparse_encode(const Tensor& input, const Tensor& dictionary_input, SparseCodingAlgorithm algorithm,
                     std::optional<std::int64_t> n_nonzero_coefs, std::optional<double> alpha, std::int64_t max_iter,
                     bool positive, const Tensor& init, double lasso_tol) {
  check_coding_options("sparse_encode", n_nonzero_coefs, alpha, max_iter);
  Tensor x = detail::data_matrix(input, "sparse_encode");
  Tensor dictionary = detail::data_matrix(dictionary_input, "sparse_encode (dictionary)").to(x.dtype()).contiguous();
  const index_t f = x.size(1), k = dictionary.size(0);
  CAKE_CHECK(dictionary.size(1) == f, "sparse_encode: the dictionary has shape ", dictionary.sizes(),
             " but the data has shape ", x.sizes(), " (atoms are rows with one entry per feature)");
  CAKE_CHECK(!(positive && algorithm == SparseCodingAlgorithm::OMP),
             "sparse_encode: positive codes are not supported by omp (use lasso_cd or threshold)");
  CAKE_CHECK(!init.defined() || init.sizes() == (Shape{x.size(0), k}), "sparse_encode: init must have shape [",
             x.size(0), ", ", k, "], got ", init.defined() ? init.sizes() : Shape{});
  // scikit-learn's default sparsity: a tenth of the features, at least one, at most k.
  const index_t n_nonzero = std::min(n_nonzero_coefs.value_or(std::max<index_t>(f / 10, 1)), k);
  return visit_floating(x.dtype(), "sparse_encode", [&]<class T>() {
    return encode<T>(x, dictionary, algorithm, n_nonzero, alpha.value_or(1.0), max_iter, positive,
                     algorithm == SparseCodingAlgorithm::LassoCD ? init : Tensor(), lasso_tol);
  });
}

// ---- SparseCoder -----------------------------------------------------------------------------------------

SparseCoder::SparseCoder(Tensor dictionary, SparseCoderOptions options)
    : dictionary_(detail::data_matrix(dictionary, "SparseCoder (dictionary)")), options_(options) {
  check_coding_options("SparseCoder", options_.transform_n_nonzero_coefs, options_.transform_alpha,
                       options_.transform_max_iter);
}

Tensor SparseCoder::transform(const Tensor& x) const {
  Tensor code = sparse_encode(x, dictionary_, options_.transform_algorithm, options_.transform_n_nonzero_coefs,
                              options_.transform_alpha, options_.transform_max_iter, options_.positive_code);
  return options_.split_sign ? split_signs(code) : code;
}

// ---- DictionaryLearning ------------------------------------------------------------------------------------

DictionaryLearning::DictionaryLearning(DictionaryLearningOptions options) : options_(options) {
  CAKE_CHECK(options_.n_components >= 0, "DictionaryLearning: n_components must be >= 0 (0: all features), got ",
             options_.n_components);
  CAKE_CHECK(options_.alpha >= 0, "DictionaryLearning: alpha must be >= 0, got ", options_.alpha);
  CAKE_CHECK(options_.max_iter >= 1, "DictionaryLearning: max_iter must be at least 1, got ", options_.max_iter);
  check_coding_options("DictionaryLearning", options_.transform_n_nonzero_coefs, options_.transform_alpha,
                       options_.transform_max_iter);
}

DictionaryLearning& DictionaryLearning::fit(const Tensor& input) {
  Tensor x = detail::data_matrix(input, "DictionaryLearning.fit");
  const index_t n = x.size(0), f = x.size(1);
  const index_t k = options_.n_components > 0 ? options_.n_components : f;
  error_.clear();
  detail::SeedScope seed(options_.random_state);
  visit_floating(x.dtype(), "DictionaryLearning.fit", [&]<class T>() {
    const T* px = x.data_ptr<T>();
    // Start from the SVD X = U S V^T: codes U, atoms S V^T (signs made deterministic by
    // scikit-learn's svd_flip: the largest |entry| of each column of U is positive).
    auto [u, s, vh] = linalg::svd(x);
    const index_t r = s.size(0), use = std::min(k, r);
    Tensor code = zeros({n, k}, x.dtype());
    Tensor dict = zeros({k, f}, x.dtype());
    T* pc = code.data_ptr<T>();
    T* pd = dict.data_ptr<T>();
    const T* pu = u.data_ptr<T>();
    const T* pv = vh.data_ptr<T>();
    for (index_t j = 0; j < use; ++j) {
      index_t largest = 0;
      for (index_t i = 1; i < n; ++i)
        if (std::abs(pu[i * r + j]) > std::abs(pu[largest * r + j])) largest = i;
      const T sign = pu[largest * r + j] < 0 ? T(-1) : T(1);
      for (index_t i = 0; i < n; ++i) pc[i * k + j] = sign * pu[i * r + j];
      for (index_t c = 0; c < f; ++c) pd[j * f + c] = sign * s.data_ptr<T>()[j] * pv[j * f + c];
    }
    index_t it = 0;
    for (; it < options_.max_iter; ++it) {
      code = encode<T>(x, dict, SparseCodingAlgorithm::LassoCD, 0, options_.alpha, options_.transform_max_iter,
                       options_.positive_code, code, 1e-4);
      update_dictionary<T>(pd, k, f, px, n, code.data_ptr<T>(), options_.positive_dict);
      error_.push_back(dictionary_cost<T>(px, n, f, code.data_ptr<T>(), pd, k, options_.alpha));
      if (it > 0) {
        const double decrease = error_[error_.size() - 2] - error_.back();
        if (decrease < options_.tol * error_.back()) break;
      }
    }
    n_iter_ = std::min(it + 1, options_.max_iter);
    components_ = dict;
  });
  return *this;
}

Tensor DictionaryLearning::fit_transform(const Tensor& x) { return fit(x).transform(x); }

Tensor DictionaryLearning::transform(const Tensor& x) const {
  Tensor code = sparse_encode(x, components(), options_.transform_algorithm, options_.transform_n_nonzero_coefs,
                              options_.transform_alpha.value_or(options_.alpha), options_.transform_max_iter,
                              options_.positive_code);
  return options_.split_sign ? split_signs(code) : code;
}

const Tensor& DictionaryLearning::components() const {
  CAKE_CHECK(components_.defined(), "DictionaryLearning: components() before fit()");
  return components_;
}

}  // namespace cake::decomposition
