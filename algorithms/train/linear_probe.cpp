// linear_probe.cpp: the softmax regression objective and its two solvers (see linear_probe.h).
#include "cake/algorithms/train/linear_probe.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>
#include <numeric>

#include "cake/tensor/blas.h"
#include "cake/tensor/creation.h"
#include "cake/tensor/native/elementwise.h"
#include "cake/tensor/parallel.h"

namespace cake::train {

using metrics::Labels;
namespace {

// The features as one contiguous float64 CPU tensor (no copy when they already are one: a probe on
// 60000 x 9216 conv features is 4.4 GB), and its rows.
struct Features {
  Tensor host;
  const double* data = nullptr;
  std::int64_t n = 0, d = 0;
};

Features to_features(const Tensor& x, const char* op) {
  CAKE_CHECK(x.defined() && x.dim() == 2, op, ": expected features [N, D], got ",
             x.defined() ? shape_str(x.sizes()) : "an undefined tensor");
  CAKE_CHECK(x.is_floating_point(), op, ": features must be float32 or float64, got ", dtype_name(x.dtype()));
  const Tensor host = native::contiguous(native::to_dtype(native::to_device(x.detach(), kCPU), kFloat64));
  Features f{host, host.data_ptr<double>(), host.size(0), host.size(1)};
  CAKE_CHECK(std::all_of(f.data, f.data + host.numel(), [](double v) { return std::isfinite(v); }), op,
             ": the features hold a non-finite value");
  return f;
}

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  return std::inner_product(a.begin(), a.end(), b.begin(), 0.0);
}
double max_abs(const std::vector<double>& v) {
  double m = 0.0;
  for (double x : v) m = std::max(m, std::abs(x));
  return m;
}

// The objective over theta = [W (K x D, row-major), b (K)].
class SoftmaxObjective {
 public:
  static constexpr std::int64_t kBlockBytes = std::int64_t{2} << 20;  // rows of X per block: about 2 MB

  SoftmaxObjective(const Features& x, std::vector<std::int64_t> y, std::int64_t classes, double l2, bool intercept)
      : x_(x), y_(std::move(y)), k_(classes), l2_(l2), intercept_(intercept),
        logits_(static_cast<std::size_t>(x.n * classes)) {}

  std::size_t size() const { return static_cast<std::size_t>(k_ * x_.d + k_); }

  // Returns f(theta) and writes its gradient. Each thread takes a contiguous share of the rows
  // and walks it in blocks small enough to stay in cache between the two products (logits, then
  // the gradient), so X is read from memory once per evaluation instead of twice (the objective
  // is memory-bound for wide features); BLAS runs single-threaded inside (NOTE [ BLAS inside
  // parallel regions ] in tensor/blas.h), so the threads meet once per evaluation, not per block.
  double operator()(const std::vector<double>& theta, std::vector<double>& grad) {
    const std::int64_t n = x_.n, d = x_.d, k = k_;
    const double* w = theta.data();
    const std::size_t threads = static_cast<std::size_t>(std::max(1, get_num_threads()));
    partial_grad_.resize(threads);
    partial_loss_.assign(threads, 0.0);
    for (auto& g : partial_grad_) g.assign(size(), 0.0);
    const std::int64_t block = std::clamp<std::int64_t>(kBlockBytes / (8 * std::max<std::int64_t>(d, 1)), 16, 4096);
    {
      blas::SingleThreaded single_threaded_blas;
      parallel_for(0, n, block, [&](std::int64_t lo, std::int64_t hi) {
        const auto t = static_cast<std::size_t>(thread_index());
        for (std::int64_t start = lo; start < hi; start += block)
          partial_loss_[t] += add_block(theta, start, std::min(block, hi - start), partial_grad_[t]);
      });
    }
    // grad = sum of the blocks' G^T [X 1] + l2 [W 0]; f = mean cross-entropy + (l2 / 2) |W|^2.
    grad.assign(size(), 0.0);
    for (std::int64_t j = 0; j < k * d; ++j) grad[j] = l2_ * w[j];
    for (const auto& g : partial_grad_)
      for (std::size_t j = 0; j < grad.size(); ++j) grad[j] += g[j];
    double loss = 0.0, penalty = 0.0;
    for (double l : partial_loss_) loss += l;
    for (std::int64_t j = 0; j < k * d; ++j) penalty += w[j] * w[j];
    return loss / static_cast<double>(n) + 0.5 * l2_ * penalty;
  }

  // L = |[X 1]|_2^2 / (2N) + l2, the largest singular value by power iteration on [X 1]^T [X 1].
  double lipschitz() const {
    const std::int64_t n = x_.n, d = x_.d;
    const std::int64_t cols = d + (intercept_ ? 1 : 0);
    std::vector<double> v(static_cast<std::size_t>(cols), 1.0 / std::sqrt(static_cast<double>(cols))), xv(n), next(cols);
    double sigma2 = 0.0;
    for (int iteration = 0; iteration < 50; ++iteration) {
      for (std::int64_t i = 0; i < n; ++i) {
        const double* row = x_.data + i * d;
        xv[i] = std::inner_product(row, row + d, v.begin(), intercept_ ? v[d] : 0.0);
      }
      std::fill(next.begin(), next.end(), 0.0);
      for (std::int64_t i = 0; i < n; ++i) {
        const double* row = x_.data + i * d;
        for (std::int64_t j = 0; j < d; ++j) next[j] += row[j] * xv[i];
        if (intercept_) next[d] += xv[i];
      }
      sigma2 = std::sqrt(dot(next, next));
      if (sigma2 == 0.0) break;
      for (std::int64_t j = 0; j < cols; ++j) v[j] = next[j] / sigma2;
    }
    // Power iteration approaches sigma^2 from below; 5% headroom keeps 1/L a safe step.
    return 1.05 * sigma2 / (2.0 * static_cast<double>(n)) + l2_;
  }

 private:
  // Rows [start, start + rows): adds G^T [X 1] of the block to grad, G = (P - Y) / N, and returns
  // the block's summed cross-entropy.
  double add_block(const std::vector<double>& theta, std::int64_t start, std::int64_t rows, std::vector<double>& grad) {
    const std::int64_t n = x_.n, d = x_.d, k = k_;
    const double* w = theta.data();
    const double* b = theta.data() + k * d;
    const double* x = x_.data + start * d;
    double* z_block = logits_.data() + start * k;
    // logits = X W^T + b
    for (std::int64_t i = 0; i < rows; ++i) std::copy_n(b, k, z_block + i * k);
    if (d > 0) blas::gemm<double>(false, true, rows, k, d, 1.0, x, d, w, d, 1.0, z_block, k);
    // Cross-entropy via a stable log-sum-exp; the logits become G in place.
    double loss = 0.0;
    for (std::int64_t i = 0; i < rows; ++i) {
      double* z = z_block + i * k;
      const std::int64_t label = y_[start + i];
      const double top = *std::max_element(z, z + k);
      double sum = 0.0;
      for (std::int64_t c = 0; c < k; ++c) sum += std::exp(z[c] - top);
      const double log_sum = top + std::log(sum);
      loss += log_sum - z[label];
      for (std::int64_t c = 0; c < k; ++c) z[c] = std::exp(z[c] - log_sum) / static_cast<double>(n);
      z[label] -= 1.0 / static_cast<double>(n);
      if (intercept_)
        for (std::int64_t c = 0; c < k; ++c) grad[k * d + c] += z[c];
    }
    if (d > 0) blas::gemm<double>(true, false, k, d, rows, 1.0, z_block, k, x, d, 1.0, grad.data(), d);
    return loss;
  }

  std::vector<std::vector<double>> partial_grad_;  // per thread
  std::vector<double> partial_loss_;
  const Features& x_;
  std::vector<std::int64_t> y_;
  std::int64_t k_;
  double l2_;
  bool intercept_;
  std::vector<double> logits_;
};

struct SolverResult {
  std::int64_t iterations = 0;
  double loss = 0.0;
  bool converged = false;
};

SolverResult gradient_descent(SoftmaxObjective& f, std::vector<double>& theta, const LogisticRegressionOptions& o) {
  const double step = o.learning_rate > 0 ? o.learning_rate : 1.0 / f.lipschitz();
  std::vector<double> grad;
  SolverResult r;
  r.loss = f(theta, grad);
  for (r.iterations = 0; r.iterations < o.max_iter; ++r.iterations) {
    if (max_abs(grad) < o.tolerance) {
      r.converged = true;
      break;
    }
    for (std::size_t j = 0; j < theta.size(); ++j) theta[j] -= step * grad[j];
    r.loss = f(theta, grad);
  }
  r.converged = r.converged || max_abs(grad) < o.tolerance;
  return r;
}

SolverResult lbfgs(SoftmaxObjective& f, std::vector<double>& theta, const LogisticRegressionOptions& o) {
  constexpr double kArmijo = 1e-4;  // sufficient decrease: f(x + t d) <= f(x) + c t g.d
  // scikit-learn passes ftol = 64 machine epsilons to L-BFGS-B.
  constexpr double kRelativeReduction = 64 * std::numeric_limits<double>::epsilon();
  std::vector<double> grad, next_theta(theta.size()), next_grad, direction(theta.size());
  std::deque<std::vector<double>> s_history, y_history;  // x_{k+1} - x_k and g_{k+1} - g_k
  std::deque<double> rho_history;                        // 1 / (y.s)
  SolverResult r;
  r.loss = f(theta, grad);
  for (r.iterations = 0; r.iterations < o.max_iter; ++r.iterations) {
    if (max_abs(grad) < o.tolerance) {
      r.converged = true;
      break;
    }
    // Two-loop recursion: direction = -H g with H the L-BFGS inverse-Hessian estimate,
    // H0 = (s.y / y.y) I scaled from the newest pair (Nocedal & Wright eq. 7.20).
    direction = grad;
    std::vector<double> alpha(s_history.size());
    for (std::size_t m = s_history.size(); m-- > 0;) {
      alpha[m] = rho_history[m] * dot(s_history[m], direction);
      for (std::size_t j = 0; j < direction.size(); ++j) direction[j] -= alpha[m] * y_history[m][j];
    }
    const double gamma = s_history.empty() ? 1.0 / std::max(1.0, std::sqrt(dot(grad, grad)))
                                           : dot(s_history.back(), y_history.back()) / dot(y_history.back(), y_history.back());
    for (double& v : direction) v *= gamma;
    for (std::size_t m = 0; m < s_history.size(); ++m) {
      const double beta = rho_history[m] * dot(y_history[m], direction);
      for (std::size_t j = 0; j < direction.size(); ++j) direction[j] += s_history[m][j] * (alpha[m] - beta);
    }
    for (double& v : direction) v = -v;
    double slope = dot(grad, direction);
    if (slope >= 0) {  // not a descent direction (round-off): restart from steepest descent
      s_history.clear(), y_history.clear(), rho_history.clear();
      for (std::size_t j = 0; j < direction.size(); ++j) direction[j] = -grad[j];
      slope = -dot(grad, grad);
    }
    // Backtracking line search from the full quasi-Newton step.
    double t = 1.0, next_loss = 0.0;
    bool accepted = false;
    for (int halving = 0; halving < 50 && !accepted; ++halving, t *= 0.5) {
      for (std::size_t j = 0; j < theta.size(); ++j) next_theta[j] = theta[j] + t * direction[j];
      next_loss = f(next_theta, next_grad);
      accepted = next_loss <= r.loss + kArmijo * t * slope;
    }
    if (!accepted) break;  // no decrease possible at double precision: as good as it gets
    std::vector<double> s(theta.size()), y(theta.size());
    for (std::size_t j = 0; j < theta.size(); ++j) {
      s[j] = next_theta[j] - theta[j];
      y[j] = next_grad[j] - grad[j];
    }
    const double sy = dot(s, y);
    if (sy > 1e-12 * std::sqrt(dot(s, s) * dot(y, y))) {  // keep H positive definite
      s_history.push_back(std::move(s));
      y_history.push_back(std::move(y));
      rho_history.push_back(1.0 / sy);
      if (static_cast<std::int64_t>(s_history.size()) > o.history) {
        s_history.pop_front(), y_history.pop_front(), rho_history.pop_front();
      }
    }
    theta.swap(next_theta);
    grad.swap(next_grad);
    // The second stopping rule of L-BFGS-B (and so of scikit-learn's lbfgs solver): the loss
    // no longer falls by more than round-off, relative to its size. Without it the solver can
    // creep along at the floor of double precision until max_iter.
    const double previous_loss = r.loss;
    r.loss = next_loss;
    if (previous_loss - next_loss <= kRelativeReduction * std::max({std::abs(previous_loss), std::abs(next_loss), 1.0})) {
      r.converged = true;
      ++r.iterations;
      break;
    }
  }
  r.converged = r.converged || max_abs(grad) < o.tolerance;
  return r;
}

}  // namespace

LogisticRegression::LogisticRegression(LogisticRegressionOptions options) : options_(options) {
  CAKE_CHECK(options_.l2 >= 0, "LogisticRegression: l2 must be non-negative, got ", options_.l2);
  CAKE_CHECK(options_.max_iter >= 0, "LogisticRegression: max_iter must be non-negative, got ", options_.max_iter);
  CAKE_CHECK(options_.tolerance > 0, "LogisticRegression: tolerance must be positive, got ", options_.tolerance);
  CAKE_CHECK(options_.history >= 1, "LogisticRegression: history must be at least 1, got ", options_.history);
  CAKE_CHECK(options_.learning_rate >= 0, "LogisticRegression: learning_rate must be non-negative (0 = 1/L), got ",
             options_.learning_rate);
}

LogisticRegression& LogisticRegression::fit(const Tensor& X, const Labels& y) {
  const Features x = to_features(X, "LogisticRegression::fit");
  CAKE_CHECK(y.size() == x.n, "LogisticRegression::fit: ", x.n, " samples (X ", X.sizes(), ") but ", y.size(),
             " labels");
  classes_ = y.values();
  std::sort(classes_.begin(), classes_.end());
  classes_.erase(std::unique(classes_.begin(), classes_.end()), classes_.end());
  CAKE_CHECK(classes_.size() >= 2, "LogisticRegression::fit: needs at least 2 classes, got ", classes_.size());
  std::vector<std::int64_t> ids(static_cast<std::size_t>(x.n));
  for (std::int64_t i = 0; i < x.n; ++i)
    ids[i] = std::lower_bound(classes_.begin(), classes_.end(), y.values()[i]) - classes_.begin();

  const auto k = static_cast<std::int64_t>(classes_.size());
  SoftmaxObjective objective(x, std::move(ids), k, options_.l2, options_.fit_intercept);
  std::vector<double> theta(objective.size(), 0.0);  // W = 0, b = 0: uniform probabilities
  const SolverResult result = options_.solver == LogisticSolver::LBFGS ? lbfgs(objective, theta, options_)
                                                                       : gradient_descent(objective, theta, options_);
  n_iter_ = result.iterations;
  loss_ = result.loss;
  converged_ = result.converged;
  coef_ = tensor(std::vector<double>(theta.begin(), theta.begin() + k * x.d), {k, x.d}, kFloat64);
  intercept_ = tensor(std::vector<double>(theta.begin() + k * x.d, theta.end()), {k}, kFloat64);
  return *this;
}

void LogisticRegression::check_fitted(const char* op) const {
  CAKE_CHECK(coef_.defined(), "LogisticRegression::", op, ": call fit first");
}

Tensor LogisticRegression::decision_function(const Tensor& X) const {
  check_fitted("decision_function");
  const Features x = to_features(X, "LogisticRegression::decision_function");
  const std::int64_t k = coef_.size(0), d = coef_.size(1);
  CAKE_CHECK(x.d == d, "LogisticRegression::decision_function: fitted on ", d, " features, got X ", X.sizes());
  Tensor logits = make_empty({x.n, k}, kFloat64, kCPU);
  double* z = logits.data_ptr<double>();
  const double* b = intercept_.data_ptr<double>();
  for (std::int64_t i = 0; i < x.n; ++i) std::copy_n(b, k, z + i * k);
  if (x.n > 0 && d > 0)
    blas::gemm<double>(false, true, x.n, k, d, 1.0, x.data, d, coef_.data_ptr<double>(), d, 1.0, z, k);
  return logits;
}

Tensor LogisticRegression::predict_proba(const Tensor& X) const {
  Tensor p = decision_function(X);
  const std::int64_t n = p.size(0), k = p.size(1);
  double* z = p.data_ptr<double>();
  for (std::int64_t i = 0; i < n; ++i) {
    double* row = z + i * k;
    const double top = *std::max_element(row, row + k);
    double sum = 0.0;
    for (std::int64_t c = 0; c < k; ++c) sum += (row[c] = std::exp(row[c] - top));
    for (std::int64_t c = 0; c < k; ++c) row[c] /= sum;
  }
  return p;
}

Tensor LogisticRegression::predict(const Tensor& X) const {
  const Tensor logits = decision_function(X);
  const std::int64_t n = logits.size(0), k = logits.size(1);
  const double* z = logits.data_ptr<double>();
  Tensor out = make_empty({n}, kInt64, kCPU);
  std::int64_t* p = out.data_ptr<std::int64_t>();
  for (std::int64_t i = 0; i < n; ++i) p[i] = classes_[std::max_element(z + i * k, z + (i + 1) * k) - (z + i * k)];
  return out;
}

double LogisticRegression::score(const Tensor& X, const Labels& y) const {
  const Tensor predicted = predict(X);
  CAKE_CHECK(y.size() == predicted.numel(), "LogisticRegression::score: ", predicted.numel(), " samples but ",
             y.size(), " labels");
  CAKE_CHECK(y.size() > 0, "LogisticRegression::score: no samples");
  const std::int64_t* p = predicted.data_ptr<std::int64_t>();
  std::int64_t correct = 0;
  for (std::int64_t i = 0; i < y.size(); ++i) correct += p[i] == y.values()[i];
  return static_cast<double>(correct) / static_cast<double>(y.size());
}

double linear_probe(const Tensor& train_x, const Labels& train_y, const Tensor& test_x, const Labels& test_y,
                    LogisticRegressionOptions options) {
  return LogisticRegression(options).fit(train_x, train_y).score(test_x, test_y);
}

}  // namespace cake::train
