// linear_probe.h: multinomial logistic regression, the "linear probe" of a representation.
//
//   using namespace cake::metrics;
//   LogisticRegression probe({.l2 = 1e-4});
//   probe.fit(train_codes, train_labels);             // codes [N, D] from a frozen encoder
//   double accuracy = probe.score(test_codes, test_labels);
//   // or in one call:
//   double a = linear_probe(train_codes, train_labels, test_codes, test_labels);
//
// Is the code z informative about the class y? Fit y ~ softmax(W z + b) on labelled codes and
// report held-out accuracy (Shen 2024: "Logistic regression: y = sigma(W z + b)"). The model
// minimises the mean cross-entropy plus an L2 penalty on W (not on b):
//   f(W, b) = (1/N) sum_i [ logsumexp_k(W_k z_i + b_k) - (W_{y_i} z_i + b_{y_i}) ] + (l2/2) |W|_F^2
// whose gradient is dW = (P - Y)^T Z / N + l2 W and db = (P - Y)^T 1 / N, with P the softmax
// probabilities and Y the one-hot labels. f is convex, strictly so in W when l2 > 0, so the
// solvers below reach the same probabilities. In scikit-learn's parametrisation
// (LogisticRegression(C=..., multi_class='multinomial')) this is l2 = 1 / (C N).
//
// Solvers, in float64 with BLAS for the two products per step:
//   LBFGS            limited-memory BFGS (Nocedal & Wright, "Numerical Optimization", alg. 7.4
//                    and 7.5) with a backtracking Armijo line search; the default.
//   GradientDescent  full-batch steps of size 1/L, L = |[Z 1]|_2^2 / (2N) + l2 the Lipschitz
//                    constant of the gradient (the softmax Hessian has norm at most 1/2), so
//                    every step decreases f; slower, kept as the readable baseline.
#pragma once

#include <cstdint>
#include <vector>

#include "cake/algorithms/metrics/metrics.h"
#include "cake/tensor/tensor.h"

namespace cake::train {

enum class LogisticSolver { LBFGS, GradientDescent };

struct LogisticRegressionOptions {
  double l2 = 1e-4;                 // weight of (1/2)|W|^2 next to the MEAN cross-entropy
  std::int64_t max_iter = 1000;     // solver iterations
  double tolerance = 1e-6;          // stop when max |gradient entry| falls below this
  LogisticSolver solver = LogisticSolver::LBFGS;
  double learning_rate = 0.0;       // GradientDescent: 0 means 1/L (always safe)
  std::int64_t history = 10;        // LBFGS: correction pairs kept
  bool fit_intercept = true;
};

class LogisticRegression {
 public:
  explicit LogisticRegression(LogisticRegressionOptions options = {});

  // X: float32/float64 [N, D]; y: N labels with at least two distinct values (any values).
  LogisticRegression& fit(const Tensor& X, const metrics::Labels& y);

  Tensor decision_function(const Tensor& X) const;  // logits, float64 [N, K]
  Tensor predict_proba(const Tensor& X) const;      // float64 [N, K], columns in classes() order
  Tensor predict(const Tensor& X) const;            // int64 [N], values from classes()
  double score(const Tensor& X, const metrics::Labels& y) const;  // accuracy of predict(X)

  const Tensor& coef() const { return coef_; }            // W, float64 [K, D]
  const Tensor& intercept() const { return intercept_; }  // b, float64 [K]
  const std::vector<std::int64_t>& classes() const { return classes_; }  // sorted label values
  std::int64_t n_iter() const { return n_iter_; }
  double loss() const { return loss_; }        // f at the solution
  bool converged() const { return converged_; }  // the gradient tolerance was reached

 private:
  void check_fitted(const char* op) const;
  LogisticRegressionOptions options_;
  Tensor coef_, intercept_;
  std::vector<std::int64_t> classes_;
  std::int64_t n_iter_ = 0;
  double loss_ = 0.0;
  bool converged_ = false;
};

// Fits a LogisticRegression on the training pair and returns its accuracy on the test pair.
double linear_probe(const Tensor& train_x, const metrics::Labels& train_y, const Tensor& test_x, const metrics::Labels& test_y,
                    LogisticRegressionOptions options = {});

}  // namespace cake::train

// Compatibility: the spellings from before algorithms/ was split into family namespaces
// (docs/architecture.md, "The algorithms: families and namespaces"). They name the same
// entities; new code uses cake::train.
namespace cake::metrics {
using ::cake::train::LogisticSolver;
using ::cake::train::LogisticRegressionOptions;
using ::cake::train::LogisticRegression;
using ::cake::train::linear_probe;
}  // namespace cake::metrics
