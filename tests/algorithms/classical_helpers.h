// classical_helpers.h: small utilities shared by the classical-algorithm tests: tensors from the
// generated fixtures, label agreement up to a permutation, and a naive trustworthiness.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <vector>

#include "helpers.h"

namespace cake::testing {

inline Tensor matrix(const std::vector<double>& values, std::int64_t rows, std::int64_t cols, DType dtype = kFloat64) {
  return tensor(values, {rows, cols}).to(dtype);
}

// Fraction of points whose predicted label maps to the true one under the best one-to-one
// relabelling (brute force over permutations: for the handful of clusters in these tests).
inline double best_match_accuracy(const std::vector<std::int64_t>& truth, const std::vector<std::int64_t>& pred, int k) {
  std::vector<int> perm(static_cast<std::size_t>(k));
  std::iota(perm.begin(), perm.end(), 0);
  double best = 0.0;
  do {
    std::size_t hits = 0;
    for (std::size_t i = 0; i < truth.size(); ++i)
      if (pred[i] >= 0 && pred[i] < k && perm[static_cast<std::size_t>(pred[i])] == truth[i]) ++hits;
    best = std::max(best, static_cast<double>(hits) / static_cast<double>(truth.size()));
  } while (std::next_permutation(perm.begin(), perm.end()));
  return best;
}

// Trustworthiness T(k) (Venna & Kaski 2001), as sklearn.manifold.trustworthiness: penalises
// points that are among the k nearest in the embedding but not in the input, by their input rank.
inline double reference_trustworthiness(const Tensor& X_in, const Tensor& Y_in, std::int64_t k) {
  const Tensor X = X_in.to(kFloat64).contiguous(), Y = Y_in.to(kFloat64).contiguous();
  const std::int64_t n = X.size(0), dx = X.size(1), dy = Y.size(1);
  const double* x = X.data_ptr<double>();
  const double* y = Y.data_ptr<double>();
  auto dist = [](const double* a, const double* b, std::int64_t d) {
    double s = 0.0;
    for (std::int64_t j = 0; j < d; ++j) s += (a[j] - b[j]) * (a[j] - b[j]);
    return s;
  };
  double penalty = 0.0;
  std::vector<std::int64_t> order(static_cast<std::size_t>(n)), rank(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](std::int64_t a, std::int64_t b) {
      const double da = a == i ? -1.0 : dist(x + i * dx, x + a * dx, dx), db = b == i ? -1.0 : dist(x + i * dx, x + b * dx, dx);
      return da < db;
    });
    for (std::int64_t r = 0; r < n; ++r) rank[static_cast<std::size_t>(order[static_cast<std::size_t>(r)])] = r;  // self has rank 0
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](std::int64_t a, std::int64_t b) {
      const double da = a == i ? -1.0 : dist(y + i * dy, y + a * dy, dy), db = b == i ? -1.0 : dist(y + i * dy, y + b * dy, dy);
      return da < db;
    });
    for (std::int64_t t = 1; t <= k; ++t) {
      const std::int64_t r = rank[static_cast<std::size_t>(order[static_cast<std::size_t>(t)])];
      if (r > k) penalty += static_cast<double>(r - k);
    }
  }
  const double nn = static_cast<double>(n), kk = static_cast<double>(k);
  return 1.0 - penalty * 2.0 / (nn * kk * (2.0 * nn - 3.0 * kk - 1.0));
}

}  // namespace cake::testing
